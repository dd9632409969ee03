// Upload progress for forms marked data-upload-progress.
//
// Local storage: the form is sent with XMLHttpRequest so the browser can report how much of
// the files has gone up.
//
// S3 (the form also has data-direct-upload="<start URL>"): each chosen file goes straight to
// the bucket first: one presigned POST for a small file, or a multipart upload whose parts
// are sent in turn, a failed part retried. Then the form is sent with the uploads' tokens in
// place of the files, so the web server never carries the bytes.
//
// Without JavaScript the form posts normally.
(function () {
  "use strict";

  var PART_ATTEMPTS = 3;

  function showResponse(xhr) {
    var target = xhr.getResponseHeader("X-Redirect-To"); // the server redirected (see UploadFormRedirectMiddleware)
    if (target) {
      window.location.assign(target);
      return;
    }
    var page = new DOMParser().parseFromString(xhr.responseText, "text/html");
    document.title = page.title;
    document.body.replaceWith(page.body); // the same page with the form's messages
    if (window.htmx) { window.htmx.process(document.body); } // the new body's polling and swaps
    window.scrollTo(0, 0);
  }

  function Progress(form) {
    this.form = form;
    this.bar = form.querySelector(".upload-progress");
    this.fill = this.bar && this.bar.querySelector(".progress-bar");
    this.status = form.querySelector(".upload-status");
  }
  Progress.prototype.show = function () {
    if (this.bar) { this.bar.hidden = false; }
  };
  Progress.prototype.set = function (loaded, total, text) {
    var percent = total ? Math.min(100, Math.round((loaded / total) * 100)) : 0;
    if (this.fill) {
      this.fill.style.width = percent + "%";
      this.fill.textContent = percent + "%";
      this.bar.setAttribute("aria-valuenow", String(percent));
    }
    if (this.status && text) { this.status.textContent = text; }
  };
  Progress.prototype.reset = function () {
    if (this.bar) { this.bar.hidden = true; }
    if (this.status) { this.status.textContent = ""; }
    this.set(0, 0);
  };

  function setBusy(form, busy) {
    form.querySelectorAll("button[type=submit]").forEach(function (button) { button.disabled = busy; });
  }

  function showError(form, message) {
    var box = form.querySelector(".upload-error");
    if (!box) {
      box = document.createElement("div");
      box.className = "alert alert-danger upload-error";
      box.setAttribute("role", "alert");
      form.prepend(box);
    }
    box.textContent = message;
    box.scrollIntoView({ block: "nearest" });
  }

  function csrfToken(form) {
    var input = form.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  // A request through XMLHttpRequest, for its upload progress events.
  function send(method, url, body, headers, onProgress) {
    return new Promise(function (resolve, reject) {
      var xhr = new XMLHttpRequest();
      xhr.open(method, url);
      Object.keys(headers || {}).forEach(function (name) { xhr.setRequestHeader(name, headers[name]); });
      if (onProgress) {
        xhr.upload.addEventListener("progress", function (event) {
          onProgress(event.loaded, event.lengthComputable ? event.total : 0);
        });
      }
      xhr.addEventListener("load", function () { resolve(xhr); });
      xhr.addEventListener("error", function () { reject(new Error("network")); });
      xhr.send(body);
    });
  }

  function postJSON(form, url, payload) {
    return send("POST", url, JSON.stringify(payload), {
      "Content-Type": "application/json",
      "X-CSRFToken": csrfToken(form),
    }).then(function (xhr) {
      var answer = {};
      try { answer = JSON.parse(xhr.responseText); } catch (error) { answer = {}; }
      if (xhr.status >= 400) {
        var refused = new Error("refused");
        refused.userMessage = answer.error || "The upload was refused (error " + xhr.status + ").";
        throw refused;
      }
      return answer;
    });
  }

  function wait(ms) {
    return new Promise(function (resolve) { window.setTimeout(resolve, ms); });
  }

  // One part of a multipart upload, tried up to PART_ATTEMPTS times.
  function sendPart(url, blob, onProgress, attempt) {
    return send("PUT", url, blob, {}, onProgress).then(function (xhr) {
      if (xhr.status >= 300) { throw new Error("part " + xhr.status); }
    }).catch(function (error) {
      if (attempt >= PART_ATTEMPTS) { throw error; }
      onProgress(0);
      return wait(1000 * attempt).then(function () { return sendPart(url, blob, onProgress, attempt + 1); });
    });
  }

  function uploadFile(form, startUrl, file, report) {
    return postJSON(form, startUrl, { name: file.name, size: file.size }).then(function (start) {
      var sent;
      if (start.post) {
        var body = new FormData();
        Object.keys(start.post.fields).forEach(function (name) { body.append(name, start.post.fields[name]); });
        body.append("file", file);
        sent = send("POST", start.post.url, body, {}, function (loaded) {
          report(Math.min(loaded, file.size), file.name);
        }).then(function (xhr) {
          if (xhr.status >= 300) { throw new Error("post " + xhr.status); }
        });
      } else {
        var done = 0;
        sent = start.parts.reduce(function (previous, url, index) {
          return previous.then(function () {
            var from = index * start.part_size;
            var part = file.slice(from, Math.min(file.size, from + start.part_size));
            var label = file.name + ": part " + (index + 1) + " of " + start.parts.length;
            return sendPart(url, part, function (loaded) { report(done + loaded, label); }, 1).then(function () {
              done += part.size;
              report(done, label);
            });
          });
        }, Promise.resolve());
      }
      return sent.then(function () { return postJSON(form, start.complete_url, {}); });
    });
  }

  function directUpload(form, data, progress) {
    var startUrl = form.getAttribute("data-direct-upload");
    var chosen = [];
    form.querySelectorAll("input[type=file]").forEach(function (input) {
      Array.prototype.forEach.call(input.files || [], function (file) { chosen.push({ field: input.name, file: file }); });
    });
    var total = chosen.reduce(function (sum, item) { return sum + item.file.size; }, 0);
    var before = 0;
    var tokens = {};
    return chosen.reduce(function (previous, item) {
      return previous.then(function () {
        return uploadFile(form, startUrl, item.file, function (loaded, label) {
          progress.set(before + loaded, total, "Uploading " + label + "…");
        }).then(function (answer) {
          before += item.file.size;
          (tokens[item.field] = tokens[item.field] || []).push(answer.token);
        });
      });
    }, Promise.resolve()).then(function () {
      // The form carries the tokens (and those kept from an earlier try), not the files.
      Object.keys(tokens).concat(chosen.map(function (item) { return item.field; })).forEach(function (field) {
        var kept = data.getAll(field).filter(function (value) { return typeof value === "string" && value; });
        data.delete(field);
        kept.concat(tokens[field] || []).forEach(function (token) { data.append(field, token); });
        tokens[field] = [];
      });
      progress.set(total, total, "Uploaded. Sending the form…");
    });
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.matches("form[data-upload-progress]") || !window.FormData) {
      return;
    }
    event.preventDefault();
    var progress = new Progress(form);
    var data = new FormData(form);
    if (event.submitter && event.submitter.name) {
      data.append(event.submitter.name, event.submitter.value);
    }
    setBusy(form, true);
    progress.show();

    var ready = form.hasAttribute("data-direct-upload") ? directUpload(form, data, progress) : Promise.resolve();
    ready.then(function () {
      var direct = form.hasAttribute("data-direct-upload");
      return send(form.method || "post", form.action || window.location.href, data, { "X-Upload-Form": "1" },
                  function (loaded, total) {
        if (!direct) { progress.set(loaded, total); }
      }).then(showResponse);
    }).catch(function (error) {
      setBusy(form, false);
      progress.reset();
      showError(form, (error && error.userMessage) ||
        "The upload did not go through. Check your connection and try again.");
    });
  });
})();
