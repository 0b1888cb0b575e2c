// Shora's own script: small on purpose. Every page works without it; it only adds
// conveniences. No inline scripts anywhere (the Content-Security-Policy forbids them).
"use strict";
document.addEventListener("focusin", function (event) {
  // A read-only token field selects itself, ready to copy.
  var target = event.target;
  if ((target instanceof HTMLInputElement || target instanceof HTMLTextAreaElement) && target.classList.contains("token")) {
    target.select();
  }
});

// A link to this node's join or admit page carries its token in the fragment, which
// the browser never sends to a server. Move it into the form's field, and out of the
// address bar. A page in between (the passphrase, after a redirect that kept the
// fragment) keeps it for this tab in sessionStorage until the form's page opens.
(function () {
  var TOKEN = /^#shora:(invite|join)\//i;
  var KEY = "shora-token-from-link";
  var hash = window.location.hash;
  var field = document.querySelector("textarea[data-from-fragment]");
  var token = "";
  if (TOKEN.test(hash)) {
    token = hash.slice(1);
    window.history.replaceState(null, "", window.location.pathname + window.location.search);
  }
  if (!field) {
    if (token) {
      window.sessionStorage.setItem(KEY, token);
    }
    return;
  }
  if (!token) {
    token = window.sessionStorage.getItem(KEY) || "";
  }
  var prefix = field.getAttribute("data-from-fragment");
  if (token && token.toLowerCase().indexOf(prefix) === 0 && !field.value) {
    field.value = token;
    window.sessionStorage.removeItem(KEY);
  }
})();

// Share buttons: the system's share sheet where there is one (Web Share API), else
// copy to the clipboard; without this script the field selects itself (above).
document.querySelectorAll("button[data-share]").forEach(function (button) {
  var field = document.getElementById(button.getAttribute("data-share"));
  var status = button.parentNode.querySelector("[role=status]");
  if (!field) {
    return;
  }
  var canShare = typeof navigator.share === "function";
  button.textContent = button.getAttribute(canShare ? "data-share-label" : "data-copy-label");
  button.hidden = false;
  button.addEventListener("click", function () {
    var said = function () {
      if (status) {
        status.textContent = button.getAttribute("data-copied");
      }
    };
    if (canShare) {
      navigator.share({ text: field.value }).catch(function () {});
    } else if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(field.value).then(said, function () {
        field.select();
      });
    } else {
      field.select();
      if (document.execCommand("copy")) {
        said();
      }
    }
  });
});

// The panic shortcut: Esc three times within two seconds destroys the profile at once
// (the same request as the panic page's button; without this script, that page), on
// the pages that offer Panic (one person's node; in community mode, an unlocked profile).
(function () {
  var presses = [];
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") {
      return;
    }
    var now = Date.now();
    presses = presses.filter(function (t) { return now - t < 2000; });
    presses.push(now);
    var csrf = document.querySelector("input[name=csrf]");
    if (presses.length < 3 || !csrf || !document.querySelector("a.panic")) {
      return;
    }
    presses = [];
    var form = document.createElement("form");
    form.method = "post";
    form.action = "/panic";
    [["csrf", csrf.value], ["confirm", "yes"]].forEach(function (pair) {
      var field = document.createElement("input");
      field.type = "hidden";
      field.name = pair[0];
      field.value = pair[1];
      form.appendChild(field);
    });
    document.body.appendChild(form);
    form.submit();
  });
})();

// A page that waits (to be admitted) looks again every few seconds, and so becomes the
// council's home once it has arrived; never while a field has the focus (someone is
// copying or typing), nor while the tab is hidden. Without this script, a refresh tag.
document.querySelectorAll("[data-refresh]").forEach(function (element) {
  var seconds = parseInt(element.getAttribute("data-refresh"), 10);
  var url = element.getAttribute("data-refresh-url") || window.location.pathname;
  if (!(seconds > 0) || url.charAt(0) !== "/" || url.charAt(1) === "/") {
    return;
  }
  window.setInterval(function () {
    var active = document.activeElement;
    var busy = active && (active.tagName === "INPUT" || active.tagName === "TEXTAREA" || active.tagName === "SELECT");
    var selected = window.getSelection && String(window.getSelection()) !== "";
    if (!document.hidden && !busy && !selected) {
      window.location.replace(url);
    }
  }, seconds * 1000);
});

// Installing to the home screen: a service worker that keeps the static files (style,
// scripts, fonts) for the next visit, and nothing else (static/sw.js). A secure
// context only: the node's own https:// address on the local network, or this computer.
if ("serviceWorker" in navigator && window.isSecureContext) {
  navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch(function () {});
}
