// The verify page's service worker (served as /verify/sw.js; hand-written). It keeps the page,
// its script, the verifier and the operator's lists for offline use: after one visit a
// certificate is checked with no network at all. Online, every one of them comes from the
// network first and refreshes its copy, so the lists are as fresh as the connection allows;
// the page says as of when the revocation list it used was made. The server fills in FILES
// (what to keep) and VERSION (a digest of the script and the verifier: a new one replaces the
// old copies).
"use strict";
const FILES = __FILES__;
const CACHE = "sagat-verify-" + __VERSION__;

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches.open(CACHE).then((c) => c.addAll(FILES)).then(() => self.skipWaiting())
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(
        keys.filter((k) => k.startsWith("sagat-verify-") && k !== CACHE).map((k) => caches.delete(k))
      ))
      .then(() => self.clients.claim())
  );
});

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== self.location.origin) {
    return;
  }
  const file = FILES.find((f) => new URL(f, self.location).pathname === url.pathname);
  if (!file) {
    return;
  }
  // The page in each language it was opened in (/verify?lang=ru) is kept as its own copy;
  // offline, a language never opened falls back to the page as first kept.
  const key = url.pathname + url.search;
  event.respondWith(
    fetch(event.request)
      .then((response) => {
        if (response.ok) {
          const copy = response.clone();
          caches.open(CACHE).then((c) => c.put(key, copy));
        }
        return response;
      })
      .catch(() => caches.open(CACHE)
        .then((c) => c.match(key).then((kept) => kept || c.match(file)))
        .then((kept) => kept || Response.error()))
  );
});
