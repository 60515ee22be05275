/*
 * socialsite realtime client: one WebSocket per page, shared by every script on it.
 *
 * Protocol: docs/realtime.md. The page opts in with <body data-ws-url="/ws/"> (a relative
 * path becomes ws: or wss: to match the page). Every server frame {"event": E, "data": D}
 * is dispatched on `document` as CustomEvent("realtime:" + E, {detail: D}). Pages listen:
 *
 *   document.addEventListener("realtime:follow.new", (e) => showToast(e.detail.user));
 *   document.addEventListener("realtime:open", (e) => { if (e.detail.reconnected) refetch(); });
 *   window.realtime.send("ping", {ts: Date.now()});
 *
 * "realtime:open" fires once the server has said session.ready (the socket is subscribed to
 * this user's events); "realtime:close" fires when it drops. Events sent while a socket was
 * down are not replayed: on a reconnect, fetch what may have been missed through the REST API.
 * Do the same on "realtime:session.resync": the server had to drop an event for this socket (a
 * full queue) and says so (docs/realtime.md "Gaps and resync").
 * No dependencies, no inline code (the CSP is script-src 'self').
 */
(function () {
  "use strict";

  var MIN_DELAY_MS = 1000;
  var MAX_DELAY_MS = 30000;
  var MAX_QUEUE = 100;
  var REQUEST_TIMEOUT_MS = 15000;
  // Closes after which retrying cannot help: not signed in (4401), origin refused (4403).
  var FINAL_CLOSE_CODES = { 4401: true, 4403: true };

  var socket = null;
  var ready = false; // session.ready received on the current socket
  var everReady = false;
  var stopped = false;
  var attempt = 0;
  var retryTimer = null;
  var queue = []; // frames waiting for a ready socket
  var pending = {}; // ref -> {resolve, reject, timer}, for request()
  var nextRef = 1;

  function socketUrl(path) {
    var url = new URL(path, window.location.href);
    if (url.protocol === "https:") url.protocol = "wss:";
    else if (url.protocol === "http:") url.protocol = "ws:";
    return url.href;
  }

  function emit(name, detail) {
    document.dispatchEvent(new CustomEvent("realtime:" + name, { detail: detail }));
  }

  function backoffDelay() {
    // Exponential, capped, with "equal jitter": somewhere in [half, full] of the step.
    var step = Math.min(MAX_DELAY_MS, MIN_DELAY_MS * Math.pow(2, attempt));
    attempt += 1;
    return Math.round(step / 2 + Math.random() * (step / 2));
  }

  function transmit(frame) {
    socket.send(JSON.stringify(frame));
  }

  function flushQueue() {
    while (ready && queue.length) transmit(queue.shift());
  }

  function settle(ref, error, frame) {
    var waiter = pending[ref];
    if (!waiter) return;
    delete pending[ref];
    clearTimeout(waiter.timer);
    if (error) waiter.reject(error);
    else waiter.resolve(frame);
  }

  function failAllPending(reason) {
    Object.keys(pending).forEach(function (ref) {
      settle(ref, new Error(reason));
    });
  }

  function onMessage(message) {
    var frame;
    try {
      frame = JSON.parse(message.data);
    } catch (err) {
      return; // the server only sends JSON; ignore anything else
    }
    if (!frame || typeof frame.event !== "string") return;
    var data = frame.data || {};

    if (frame.event === "session.ready") {
      ready = true;
      attempt = 0; // authenticated and subscribed: the next drop starts the backoff afresh
      flushQueue();
    }
    // A reply carries the request's ref at the top level; an error carries it in data.
    if (frame.ref !== undefined) settle(String(frame.ref), null, frame);
    if (frame.event === "error" && data.ref !== undefined) {
      var error = new Error(data.message || data.code);
      error.code = data.code;
      settle(String(data.ref), error);
    }

    emit(frame.event, data);
    if (frame.event === "session.ready") {
      emit("open", { reconnected: everReady, user_id: data.user_id });
      everReady = true;
    }
  }

  function scheduleReconnect() {
    if (stopped || retryTimer !== null) return null;
    var delay = backoffDelay();
    retryTimer = setTimeout(function () {
      retryTimer = null;
      connect();
    }, delay);
    return delay;
  }

  function onClose(closeEvent) {
    var wasReady = ready;
    socket = null;
    ready = false;
    failAllPending("realtime socket closed");
    var final = FINAL_CLOSE_CODES[closeEvent.code] === true;
    var delay = final ? null : scheduleReconnect();
    emit("close", {
      code: closeEvent.code,
      reason: closeEvent.reason,
      wasOpen: wasReady,
      reconnectInMs: delay,
    });
  }

  function wsPath() {
    return (document.body && document.body.dataset.wsUrl) || "";
  }

  function connect() {
    var path = wsPath();
    if (!path || stopped || socket) return;
    if (retryTimer !== null) {
      clearTimeout(retryTimer);
      retryTimer = null;
    }
    try {
      socket = new WebSocket(socketUrl(path));
    } catch (err) {
      socket = null;
      scheduleReconnect();
      return;
    }
    socket.addEventListener("message", onMessage);
    socket.addEventListener("close", onClose);
  }

  function frameFor(action, data, ref) {
    var frame = { action: String(action), data: data || {} };
    if (ref !== undefined && ref !== null) frame.ref = ref;
    return frame;
  }

  function enqueue(frame) {
    queue.push(frame);
    if (queue.length > MAX_QUEUE) queue.shift(); // keep the newest
  }

  /**
   * Send an action; queued (newest MAX_QUEUE kept) until the socket is ready.
   * Returns true if it went out now, false if queued or if this page has no socket.
   */
  function send(action, data, ref) {
    if (!wsPath()) return false;
    var frame = frameFor(action, data, ref);
    if (ready) {
      transmit(frame);
      return true;
    }
    enqueue(frame);
    connect();
    return false;
  }

  /** Send an action and resolve with the reply frame that echoes its ref (or reject on error). */
  function request(action, data, timeoutMs) {
    var ref = "r" + nextRef++;
    return new Promise(function (resolve, reject) {
      if (!wsPath()) {
        reject(new Error("this page has no realtime socket"));
        return;
      }
      pending[ref] = {
        resolve: resolve,
        reject: reject,
        timer: setTimeout(function () {
          settle(ref, new Error("realtime request timed out"));
        }, timeoutMs || REQUEST_TIMEOUT_MS),
      };
      send(action, data, ref);
    });
  }

  /** Subscribe to one event; returns a function that unsubscribes. */
  function on(event, handler) {
    var listener = function (e) {
      handler(e.detail, e);
    };
    document.addEventListener("realtime:" + event, listener);
    return function () {
      document.removeEventListener("realtime:" + event, listener);
    };
  }

  /** Close for good (no reconnect) until start() is called. */
  function stop() {
    stopped = true;
    if (retryTimer !== null) {
      clearTimeout(retryTimer);
      retryTimer = null;
    }
    if (socket) socket.close(1000, "client stopped");
  }

  function start() {
    stopped = false;
    attempt = 0;
    connect();
  }

  // Back online or back in view: try now instead of waiting out the backoff.
  function retrySoon() {
    if (!stopped && !socket) {
      attempt = 0;
      connect();
    }
  }
  window.addEventListener("online", retrySoon);
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible") retrySoon();
  });
  // An open socket keeps a page out of the back/forward cache; close it on the way out.
  window.addEventListener("pagehide", function (e) {
    if (e.persisted) stop();
  });
  window.addEventListener("pageshow", function (e) {
    if (e.persisted) start();
  });

  window.realtime = {
    send: send,
    request: request,
    on: on,
    start: start,
    stop: stop,
    get connected() {
      return ready;
    },
    get enabled() {
      return Boolean(wsPath());
    },
  };

  connect();
})();
