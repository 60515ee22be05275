/*
 * socialsite notifications in the browser, on top of the shared socket (static/js/realtime.js).
 *
 * Every signed-in page (templates/base.html loads this file): the header bell
 * (<a data-notifications-bell data-count=N>, rendered with the unread count) follows the socket:
 *   - notification.new: +1, and the line's text is announced to screen readers;
 *   - notification.read: the event's unread_count (read here, on another tab or device);
 *   - notification.deleted: the event's unread_count;
 *   - resume (docs/realtime.md "Gaps and resync"): the socket action `notifications.resume` with
 *     the newest notification id this page holds replays, on this socket, the notifications made
 *     since (as notification.new, each counted once by id); its reply carries the unread count. On
 *     the first open (to learn the newest id and catch what came since the page was rendered), after
 *     every reconnect, and on session.resync (the server dropped an event for this socket).
 * /notifications/ (<div data-notifications-list data-live>, the newest page only): the list is
 * reloaded in place (the same URL with HX-Request: true answers the list alone) when a
 * notification arrives, is read or is withdrawn, after a reconnect and on session.resync.
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

  // Resume: the newest notification id held, and the ids seen lately (a replay may repeat one).
  var lastId = null;
  var seen = {};
  var seenOrder = [];
  var SEEN_MAX = 500;

  function remember(id) {
    if (!id || seen[id]) return false;
    seen[id] = true;
    seenOrder.push(id);
    if (seenOrder.length > SEEN_MAX) delete seen[seenOrder.shift()];
    if (lastId === null || id > lastId) lastId = id; // UUIDv7: later ids sort after earlier ones
    return true;
  }

  var resuming = false;

  function resume() {
    if (resuming) return;
    resuming = true;
    rt.request("notifications.resume", { after: lastId })
      .then(function (frame) {
        var data = frame.data || {};
        if (data.last_id && (lastId === null || data.last_id > lastId)) lastId = data.last_id;
        if (typeof data.unread_count === "number") setCount(data.unread_count);
        resuming = false;
        if (data.more) resume();
      })
      .catch(function () {
        resuming = false; // the socket closed: the next open resumes
        fetchCount();
      });
  }

  rt.on("notification.new", function (data) {
    if (!remember(data && data.id)) return; // replayed, and already counted
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
  rt.on("open", resume);
  rt.on("session.resync", resume);

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
    rt.on("session.resync", reload);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", initList);
  else initList();
})();
