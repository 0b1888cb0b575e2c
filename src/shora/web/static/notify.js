// An optional browser notification while this page is open: only after the person
// clicks "notify me", and only from the count this same node serves. Nothing is sent
// anywhere else; the Notification API shows it on this machine.
(function () {
  "use strict";
  var button = document.getElementById("notify-me");
  if (!button || !("Notification" in window)) return;
  button.hidden = false;
  var url = button.getAttribute("data-count");
  var known = -1;
  function poll() {
    fetch(url, { credentials: "same-origin", headers: { "X-Shora-Poll": "1" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (!data) return;
        if (known >= 0 && data.unread > known) {
          new Notification(document.title, { body: button.getAttribute("data-text") });
        }
        known = data.unread;
      })
      .catch(function () {});
  }
  button.addEventListener("click", function () {
    Notification.requestPermission().then(function (answer) {
      if (answer !== "granted") return;
      button.disabled = true;
      poll();
      setInterval(poll, 30000);
    });
  });
})();
