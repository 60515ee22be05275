/* The installable app on every page: registers the service worker (/sw.js, socialsite/pwa.py).
 *
 * And the push button on the notification settings page ([data-push]): permission is asked only
 * when the button is clicked, never on load. On: Notification.requestPermission(), then
 * PushManager.subscribe() with the server's VAPID key (data-vapid-key), then POST the
 * subscription to /api/v1/push/subscriptions (session cookie + CSRF token). Off: unsubscribe in
 * the browser and DELETE it on the server (?endpoint=). The status line says what happened.
 * Signing out (the form posting to /accounts/logout/) does the same first, so the next person on
 * a shared device doesn't get the account's pushes.
 */
(function () {
  "use strict";

  var supported = "serviceWorker" in navigator;

  if (supported) {
    window.addEventListener("load", function () {
      navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch(function (error) {
        console.warn("Service worker not registered:", error && error.message);
      });
    });
  }

  function csrfToken() {
    try {
      return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || "";
    } catch (error) {
      return "";
    }
  }

  function keyBytes(base64url) {
    var text = base64url.replace(/-/g, "+").replace(/_/g, "/");
    text += "====".slice(0, (4 - (text.length % 4)) % 4);
    var raw = atob(text);
    var bytes = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i += 1) {
      bytes[i] = raw.charCodeAt(i);
    }
    return bytes;
  }

  function send(url, method, body) {
    return fetch(url, {
      method: method,
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrfToken() },
      body: body === undefined ? undefined : JSON.stringify(body)
    }).then(function (response) {
      if (!response.ok) {
        return response.json().catch(function () { return {}; }).then(function (data) {
          var message = data && data.error && data.error.message;
          throw new Error(message || "The server said " + response.status + ".");
        });
      }
      return response;
    });
  }

  function setUpButton(root) {
    var button = root.querySelector("[data-push-toggle]");
    var status = root.querySelector("[data-push-status]");
    var url = root.getAttribute("data-subscriptions-url");
    var key = root.getAttribute("data-vapid-key");
    if (!button || !status) {
      return;
    }
    if (!supported || !("PushManager" in window) || !("Notification" in window)) {
      status.textContent = "This browser can't receive push notifications.";
      return;
    }
    if (!key) {
      status.textContent = "Push notifications are off on this server.";
      return;
    }

    function show(subscribed) {
      button.setAttribute("aria-pressed", subscribed ? "true" : "false");
      button.textContent = subscribed ? "Turn off push notifications" : "Turn on push notifications";
      root.setAttribute("data-push-state", subscribed ? "on" : "off");
      button.hidden = false;
    }

    function registration() {
      return navigator.serviceWorker.register("/sw.js", { scope: "/" }).then(function () {
        return navigator.serviceWorker.ready;
      });
    }

    function turnOn() {
      return Notification.requestPermission().then(function (permission) {
        if (permission !== "granted") {
          throw new Error("Notifications are blocked for this site: allow them in the browser's settings.");
        }
        return registration();
      }).then(function (reg) {
        return reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: keyBytes(key) });
      }).then(function (subscription) {
        return send(url, "POST", subscription.toJSON());
      }).then(function () {
        show(true);
        status.textContent = "Push notifications are on for this device.";
      });
    }

    function turnOff() {
      return registration().then(function (reg) {
        return reg.pushManager.getSubscription();
      }).then(function (subscription) {
        if (!subscription) {
          return null;
        }
        var endpoint = subscription.endpoint;
        return subscription.unsubscribe().then(function () {
          return send(url + "?endpoint=" + encodeURIComponent(endpoint), "DELETE");
        });
      }).then(function () {
        show(false);
        status.textContent = "Push notifications are off for this device.";
      });
    }

    button.addEventListener("click", function () {
      var on = root.getAttribute("data-push-state") === "on";
      button.disabled = true;
      status.textContent = on ? "Turning off…" : "Turning on…";
      (on ? turnOff() : turnOn()).catch(function (error) {
        status.textContent = "Couldn't change push notifications: " + (error && error.message ? error.message : error);
      }).then(function () {
        button.disabled = false;
      });
    });

    // Whether this browser is subscribed already: asks nothing of the user.
    navigator.serviceWorker.getRegistration("/").then(function (reg) {
      return reg ? reg.pushManager.getSubscription() : null;
    }).then(function (subscription) {
      show(Boolean(subscription) && Notification.permission === "granted");
    }).catch(function () {
      show(false);
    });
  }

  // Signing out: this browser's subscription belongs to the account signing out, and on a shared
  // device the next person must not get its pushes. Unsubscribe and forget it first (2 s at most).
  var LOGOUT_PATH = "/accounts/logout/";
  var SUBSCRIPTIONS_URL = "/api/v1/push/subscriptions";
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!supported || !(form instanceof HTMLFormElement) || form.hasAttribute("data-push-cleared")) {
      return;
    }
    if (new URL(form.action, window.location.href).pathname !== LOGOUT_PATH) {
      return;
    }
    event.preventDefault();
    var sent = false;
    function signOut() {
      if (!sent) {
        sent = true;
        form.setAttribute("data-push-cleared", "");
        form.submit();
      }
    }
    window.setTimeout(signOut, 2000);
    navigator.serviceWorker.getRegistration("/").then(function (reg) {
      return reg ? reg.pushManager.getSubscription() : null;
    }).then(function (subscription) {
      if (!subscription) {
        return null;
      }
      var endpoint = subscription.endpoint;
      return subscription.unsubscribe().then(function () {
        return send(SUBSCRIPTIONS_URL + "?endpoint=" + encodeURIComponent(endpoint), "DELETE");
      });
    }).catch(function () {
      return null;
    }).then(signOut);
  });

  document.addEventListener("DOMContentLoaded", function () {
    var roots = document.querySelectorAll("[data-push]");
    for (var i = 0; i < roots.length; i += 1) {
      setUpButton(roots[i]);
    }
  });
}());
