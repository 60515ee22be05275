/* socialsite's service worker, served at /sw.js (socialsite/pwa.py puts self.SW_CONFIG first:
 * version, precache, offline, static, hashed, icon).
 *
 * - install: precache the offline page and the static files most pages load, in a cache named
 *   after the version (a hash of those files), so a deploy that changes them installs a new one;
 * - activate: delete the caches of older versions, take control of open pages;
 * - fetch: a page (navigation) goes to the network, and the offline page answers when that
 *   fails; pages are never cached (they are someone's). A static file: hashed names (production)
 *   from the cache first, unhashed ones (development) from the network first. Nothing else
 *   (API, sockets, media, other origins) is touched.
 * - push: show the notification the server sent ({title, body, url, tag}, notifications/push.py);
 *   notificationclick: focus a tab already on its page, or open one.
 */
(function () {
  "use strict";

  var config = self.SW_CONFIG;
  var CACHE = "socialsite-" + config.version;
  var PREFIX = "socialsite-";

  self.addEventListener("install", function (event) {
    event.waitUntil(
      caches.open(CACHE).then(function (cache) {
        var offline = new Request(config.offline, { credentials: "omit" });
        return cache.addAll([offline].concat(config.precache));
      }).then(function () {
        return self.skipWaiting();
      })
    );
  });

  self.addEventListener("activate", function (event) {
    event.waitUntil(
      caches.keys().then(function (names) {
        return Promise.all(names.filter(function (name) {
          return name.indexOf(PREFIX) === 0 && name !== CACHE;
        }).map(function (name) { return caches.delete(name); }));
      }).then(function () {
        return self.clients.claim();
      })
    );
  });

  function offlinePage() {
    return caches.open(CACHE).then(function (cache) {
      return cache.match(config.offline);
    }).then(function (page) {
      return page || new Response("You are offline.", { status: 503, headers: { "Content-Type": "text/plain" } });
    });
  }

  function fromNetwork(request, cache) {
    return fetch(request).then(function (response) {
      if (response.ok && response.type === "basic") {
        cache.put(request, response.clone());
      }
      return response;
    });
  }

  function staticFile(request) {
    return caches.open(CACHE).then(function (cache) {
      if (config.hashed) {
        return cache.match(request).then(function (hit) {
          return hit || fromNetwork(request, cache);
        });
      }
      return fromNetwork(request, cache).catch(function () {
        return cache.match(request).then(function (hit) {
          return hit || Response.error();
        });
      });
    });
  }

  self.addEventListener("fetch", function (event) {
    var request = event.request;
    if (request.method !== "GET") {
      return;
    }
    var url = new URL(request.url);
    if (url.origin !== self.location.origin) {
      return;
    }
    if (request.mode === "navigate") {
      event.respondWith(fetch(request).catch(offlinePage));
      return;
    }
    if (url.pathname.indexOf(config.static) === 0) {
      event.respondWith(staticFile(request));
    }
  });

  function sameOriginPath(url) {
    try {
      var target = new URL(url || "/", self.location.origin);
      return target.origin === self.location.origin ? target.href : self.location.origin + "/";
    } catch (error) {
      return self.location.origin + "/";
    }
  }

  self.addEventListener("push", function (event) {
    var data = {};
    if (event.data) {
      try {
        data = event.data.json();
      } catch (error) {
        data = { body: event.data.text() };
      }
    }
    var title = data.title || "socialsite";
    event.waitUntil(self.registration.showNotification(title, {
      body: data.body || "",
      icon: config.icon,
      badge: config.icon,
      tag: data.tag || undefined,
      renotify: Boolean(data.tag),
      data: { url: sameOriginPath(data.url) }
    }));
  });

  self.addEventListener("notificationclick", function (event) {
    event.notification.close();
    var url = sameOriginPath(event.notification.data && event.notification.data.url);
    event.waitUntil(
      self.clients.matchAll({ type: "window", includeUncontrolled: true }).then(function (windows) {
        for (var i = 0; i < windows.length; i += 1) {
          if (windows[i].url === url && "focus" in windows[i]) {
            return windows[i].focus();
          }
        }
        return self.clients.openWindow(url);
      })
    );
  });
}());
