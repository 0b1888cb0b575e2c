// Shora's service worker: it keeps the static files (style, scripts, fonts, icons) in
// a cache for the next visit, so that a cheap phone on a slow network fetches them once.
// Nothing else is ever cached: not a page, not a council's data, not the API. Any
// request outside /static/ is left to the network, untouched. The server fills in the
// version, which changes with the static files: an old cache is then dropped.
"use strict";
var CACHE = "shora-static-__VERSION__";

self.addEventListener("install", function () {
  self.skipWaiting();
});

self.addEventListener("activate", function (event) {
  event.waitUntil(
    caches.keys().then(function (names) {
      return Promise.all(names.filter(function (name) {
        return name !== CACHE;
      }).map(function (name) {
        return caches.delete(name);
      }));
    }).then(function () {
      return self.clients.claim();
    })
  );
});

self.addEventListener("fetch", function (event) {
  var request = event.request;
  var url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin || url.pathname.indexOf("/static/") !== 0) {
    return; // pages and data: the network only
  }
  event.respondWith(
    caches.open(CACHE).then(function (cache) {
      return cache.match(request).then(function (hit) {
        return hit || fetch(request).then(function (response) {
          if (response.ok && response.type === "basic") {
            cache.put(request, response.clone());
          }
          return response;
        });
      });
    })
  );
});
