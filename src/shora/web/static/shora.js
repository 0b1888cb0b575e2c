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
