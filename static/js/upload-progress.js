// Upload progress for forms marked data-upload-progress: the form is sent with
// XMLHttpRequest so the browser can report how much of the files has gone up.
// Without JavaScript the form posts normally.
(function () {
  "use strict";

  function showResponse(xhr) {
    if (xhr.responseURL && xhr.responseURL !== window.location.href && xhr.status < 400) {
      window.location.assign(xhr.responseURL); // the server redirected: follow it
      return;
    }
    var page = new DOMParser().parseFromString(xhr.responseText, "text/html");
    document.title = page.title;
    document.body.replaceWith(page.body); // the same page with the form's messages
    window.scrollTo(0, 0);
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.matches("form[data-upload-progress]") || !window.FormData) {
      return;
    }
    event.preventDefault();
    var bar = form.querySelector(".upload-progress");
    var fill = bar && bar.querySelector(".progress-bar");
    var data = new FormData(form);
    if (event.submitter && event.submitter.name) {
      data.append(event.submitter.name, event.submitter.value);
    }
    form.querySelectorAll("button[type=submit]").forEach(function (button) { button.disabled = true; });
    if (bar) { bar.hidden = false; }

    var xhr = new XMLHttpRequest();
    xhr.open(form.method || "post", form.action || window.location.href);
    xhr.upload.addEventListener("progress", function (progress) {
      if (!progress.lengthComputable || !fill) { return; }
      var percent = Math.round((progress.loaded / progress.total) * 100);
      fill.style.width = percent + "%";
      fill.textContent = percent + "%";
      bar.setAttribute("aria-valuenow", String(percent));
    });
    xhr.addEventListener("load", function () { showResponse(xhr); });
    xhr.addEventListener("error", function () {
      form.querySelectorAll("button[type=submit]").forEach(function (button) { button.disabled = false; });
      if (bar) { bar.hidden = true; }
      window.alert("The upload did not go through. Check your connection and try again.");
    });
    xhr.send(data);
  });
})();
