/*
 * socialsite notifications in the browser, on top of the shared socket (static/js/realtime.js).
 *
 * Every signed-in page (templates/base.html loads this file): the header bell
 * (<a data-notifications-bell data-count=N>, rendered with the unread count) follows the socket:
 *   - notification.new: +1, and the line's text is announced to screen readers;
 *   - notification.read: the event's unread_count (read here, on another tab or device);
 *   - notification.deleted: the event's unread_count;
 *   - after a reconnect (realtime:open with reconnected): GET /api/v1/notifications/unread-count,
 *     since events sent while the socket was down are not replayed.
 * /notifications/ (<div data-notifications-list data-live>, the newest page only): the list is
 * reloaded in place (the same URL with HX-Request: true answers the list alone) when a
 * notification arrives, is read or is withdrawn, and after a reconnect.
 * No inline code anywhere (the CSP is script-src 'self').
 */
(function () {
  "use strict";

  var rt = window.realtime;
  if (!rt || !rt.enabled) return;

  var UNREAD_URL = "/api/v1/notifications/unread-count";
  var BADGE_MAX = 99;

  function debounce(fn, ms) {
    var timer = null;
    return function () {
      clearTimeout(timer);
      timer = setTimeout(fn, ms);
    };
  }

  // --- The header bell (every page) ----------------------------------------------------------------

  function bell() {
    return document.querySelector("[data-notifications-bell]");
  }

  function current() {
    var link = bell();
    return link ? Math.max(0, parseInt(link.getAttribute("data-count"), 10) || 0) : 0;
  }

  function setCount(count) {
    var link = bell();
    if (!link) return;
    count = Math.max(0, Math.floor(Number(count)) || 0);
    link.setAttribute("data-count", String(count));
    link.setAttribute("aria-label", count ? "Notifications, " + count + " unread" : "Notifications");
    var badge = link.querySelector("[data-notifications-unread]");
    if (!badge) return;
    badge.textContent = count > BADGE_MAX ? BADGE_MAX + "+" : String(count);
    badge.hidden = count === 0;
  }

  function announce(text) {
    var region = document.querySelector("[data-notifications-announce]");
    if (!region || !text) return;
    region.textContent = "";
    // A fresh text node after a tick, so the same words twice are announced twice.
    setTimeout(function () {
      region.textContent = "New notification: " + text;
    }, 50);
  }

  var fetchCount = debounce(function () {
    fetch(UNREAD_URL, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        return response.ok ? response.json() : null;
      })
      .then(function (body) {
        if (body && typeof body.unread_count === "number") setCount(body.unread_count);
      })
      .catch(function () {});
  }, 200);

  rt.on("notification.new", function (data) {
    setCount(current() + 1);
    announce(data && data.text);
  });
  rt.on("notification.read", function (data) {
    if (data && typeof data.unread_count === "number") setCount(data.unread_count);
    else fetchCount();
  });
  rt.on("notification.deleted", function (data) {
    if (data && typeof data.unread_count === "number") setCount(data.unread_count);
    else fetchCount();
  });
  rt.on("open", function (detail) {
    if (detail && detail.reconnected) fetchCount();
  });

  // --- /notifications/ ---------------------------------------------------------------------------

  function initList() {
    var box = document.querySelector("[data-notifications-list][data-live]");
    if (!box) return;

    var reload = debounce(function () {
      fetch(window.location.pathname + window.location.search, {
        credentials: "same-origin",
        headers: { Accept: "text/html", "HX-Request": "true" },
      })
        .then(function (response) {
          return response.ok ? response.text() : null;
        })
        .then(function (html) {
          if (html === null) return;
          box.innerHTML = html;
          if (window.htmx) window.htmx.process(box);
        })
        .catch(function () {});
    }, 300);

    ["notification.new", "notification.read", "notification.deleted"].forEach(function (event) {
      rt.on(event, reload);
    });
    rt.on("open", function (detail) {
      if (detail && detail.reconnected) reload();
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", initList);
  else initList();
})();
