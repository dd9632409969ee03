// Conversations: keep the newest message in view. New messages arrive through htmx
// polling (see templates/messaging/_poller.html); this only scrolls and tidies up.
(function () {
  "use strict";

  function thread() {
    return document.getElementById("message-list");
  }

  function scrollToEnd() {
    var list = thread();
    if (list) {
      list.scrollTop = list.scrollHeight;
    }
  }

  function nearEnd(list) {
    return list.scrollHeight - list.scrollTop - list.clientHeight < 120;
  }

  document.addEventListener("DOMContentLoaded", scrollToEnd);

  var wasNearEnd = true;
  document.addEventListener("htmx:beforeRequest", function () {
    var list = thread();
    wasNearEnd = !list || nearEnd(list);
  });
  document.addEventListener("htmx:oobAfterSwap", function (event) {
    var list = thread();
    if (!list || event.detail.target !== list) {
      return;
    }
    var empty = list.querySelector(".thread-empty");
    if (empty && list.querySelector("[data-testid=message]")) {
      empty.remove();
    }
    if (wasNearEnd) {
      scrollToEnd();
    }
  });
})();
