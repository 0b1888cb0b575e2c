// Scan a QR code with the camera into a form field (the join and admit pages).
// The browser's own BarcodeDetector where it has one; otherwise jsQR (vendored in this
// directory, loaded only when needed). Frames never leave this page: no request goes
// anywhere but this node, and the camera stops as soon as a code is read.
"use strict";
(function () {
  var box = document.querySelector("[data-scan]");
  if (!box || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    return; // no camera API: the box stays hidden, the text field is there
  }
  var field = document.getElementById(box.getAttribute("data-scan"));
  var start = box.querySelector(".scan-start");
  var stop = box.querySelector(".scan-stop");
  var video = box.querySelector(".scan-video");
  var status = box.querySelector("[role=status]");
  var canvas = document.createElement("canvas");
  var stream = null;
  var detector = null;
  box.hidden = false;

  function loadDecoder() {
    if (window.jsQR) {
      return Promise.resolve();
    }
    return new Promise(function (resolve, reject) {
      var script = document.createElement("script");
      script.src = box.getAttribute("data-decoder");
      script.onload = resolve;
      script.onerror = reject;
      document.head.appendChild(script);
    });
  }

  function finish() {
    if (stream) {
      stream.getTracks().forEach(function (track) { track.stop(); });
    }
    stream = null;
    video.hidden = true;
    stop.hidden = true;
    start.hidden = false;
  }

  function found(text) {
    // A link carries its token in the fragment; the field takes what follows "#".
    var at = text.indexOf("#");
    field.value = at >= 0 ? text.slice(at + 1) : text;
    field.dispatchEvent(new Event("input", { bubbles: true }));
    finish();
    field.focus();
  }

  function readFrame() {
    if (!stream) {
      return;
    }
    if (video.readyState < 2) {
      window.requestAnimationFrame(readFrame);
      return;
    }
    if (detector) {
      detector.detect(video).then(function (codes) {
        if (codes.length) {
          found(codes[0].rawValue);
        } else {
          window.setTimeout(readFrame, 150);
        }
      }, function () { window.setTimeout(readFrame, 150); });
      return;
    }
    canvas.width = video.videoWidth;
    canvas.height = video.videoHeight;
    var context = canvas.getContext("2d", { willReadFrequently: true });
    context.drawImage(video, 0, 0, canvas.width, canvas.height);
    var image = context.getImageData(0, 0, canvas.width, canvas.height);
    var code = window.jsQR(image.data, image.width, image.height, { inversionAttempts: "dontInvert" });
    if (code && code.data) {
      found(code.data);
    } else {
      window.setTimeout(readFrame, 150);
    }
  }

  start.addEventListener("click", function () {
    var ready = Promise.resolve();
    if ("BarcodeDetector" in window) {
      ready = window.BarcodeDetector.getSupportedFormats().then(function (formats) {
        if (formats.indexOf("qr_code") >= 0) {
          detector = new window.BarcodeDetector({ formats: ["qr_code"] });
        }
      }, function () {});
    }
    ready.then(function () {
      return detector ? null : loadDecoder();
    }).then(function () {
      return navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false });
    }).then(function (media) {
      stream = media;
      video.srcObject = media;
      video.hidden = false;
      stop.hidden = false;
      start.hidden = true;
      status.textContent = "";
      return video.play();
    }).then(readFrame, function () {
      finish();
      status.textContent = box.getAttribute("data-failed");
    });
  });
  stop.addEventListener("click", finish);
})();
