/*
 * socialsite direct messages in the browser, on top of the shared socket (static/js/realtime.js).
 *
 * Every signed-in page (templates/base.html loads this file):
 *   - the "Messages" nav badge (unread inbox messages + requests waiting) follows message.new,
 *     message.read, message.deleted, conversation.* and session.resync events:
 *     GET /api/v1/conversations/unread;
 *   - a message.new from someone else is acknowledged with the socket action `message.delivered`
 *     (this device received it), so the sender's ✓ turns into ✓✓.
 * The inbox (<div data-chat-inbox>): the conversation list is reloaded in place (the same URL with
 * HX-Request: true answers the list fragment) when a message or conversation event arrives, and on
 * session.resync.
 * A conversation (<section data-chat data-conversation-id=…>):
 *   - sends over the socket (`message.send` with a client_id, so a retry is the same message) and
 *     falls back to POST /api/v1/messages with the same client_id when the socket can't answer;
 *     without JavaScript the form posts to the page's send view;
 *   - appends message.new / the message.sent reply, de-duplicated by message id (and client_id for
 *     the pending bubble), and applies message.updated / message.deleted; a message whose `kind`
 *     isn't "text" is a line about the group (renamed, added, removed, left, a new admin), shown
 *     centered from the <template data-chat-system-template>;
 *   - turns the ticks on the viewer's own messages (sent ✓, delivered ✓✓, read ✓✓ highlighted) from
 *     each member's cursors (message.delivered / message.read carry up_to_seq; a member's own
 *     message means they have read everything before it);
 *   - shows "ana is typing…" for `expires_in` seconds, sends typing.start at most every 2 s while
 *     the viewer types and typing.stop on send or blur;
 *   - marks the conversation read (POST /api/v1/conversations/<id>/read, session + CSRF token) while
 *     the page is visible;
 *   - reactions: the React picker and the chips are forms (they work without JavaScript); here they
 *     send `message.react` over the socket (REST when it can't answer), and `message.reaction`
 *     events redraw a message's chips from the summary (mine: my id in its user_ids);
 *   - Reply on a message fills the form's hidden reply_to and shows "Replying to …" above the box;
 *     a reply shows a quoted line (a deleted target: "deleted"), a link to the message it answers;
 *   - opens at the "New messages" line when there are more unread messages than fit, else at the newest;
 *   - loads older pages when the top of the log scrolls into view (the page's own ?before=<seq>,
 *     as a fragment);
 *   - fetches what was missed (docs/realtime.md "Gaps and resync"): GET /api/v1/users/me/messages?
 *     conversation_id=&after=<seq held through>, following `next`, then refreshes the newest page's
 *     statuses; after every socket open, at once when a message.new's seq shows a hole, and when
 *     the server says session.resync (it dropped an event for this socket);
 *   - tells the server it is looking at the conversation (`conversation.view` with its id, on every
 *     socket open and every 60 s while the newest page is visible; `null` when hidden or left), so
 *     its messages make no `message` notification for this viewer.
 * No inline code anywhere (the CSP is script-src 'self').
 */
(function () {
  "use strict";

  var rt = window.realtime;
  if (!rt || !rt.enabled) return;

  var UNREAD_URL = "/api/v1/conversations/unread";
  var TYPING_EVERY_MS = 2000;
  var VIEW_EVERY_MS = 60000; // under messaging.viewing.VIEW_TTL (90 s)
  var STATUS_RANK = { sending: 0, sent: 1, delivered: 2, read: 3 };
  var STATUS_LABEL = { sending: "Sending", sent: "Sent", delivered: "Delivered", read: "Read" };
  var TICK_MARK = { sending: "…", sent: "✓", delivered: "✓✓", read: "✓✓" };

  // --- Helpers ----------------------------------------------------------------------------------

  function csrfToken() {
    try {
      return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || "";
    } catch (err) {
      return "";
    }
  }

  function debounce(fn, ms) {
    var timer = null;
    return function () {
      clearTimeout(timer);
      timer = setTimeout(fn, ms);
    };
  }

  /** A same-origin path for a URL the API built (its `next` may name another scheme behind a proxy). */
  function localPath(url) {
    var parsed = new URL(url, window.location.href);
    return parsed.pathname + parsed.search;
  }

  function request(method, url, body) {
    var headers = { Accept: "application/json" };
    var init = { method: method, credentials: "same-origin", headers: headers };
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      headers["X-CSRFToken"] = csrfToken();
      init.body = JSON.stringify(body);
    }
    return fetch(url, init).then(function (response) {
      return response
        .json()
        .catch(function () {
          return {};
        })
        .then(function (data) {
          if (response.ok) return data;
          var error = new Error((data.error && data.error.message) || "HTTP " + response.status);
          error.status = response.status;
          error.code = data.error && data.error.code;
          throw error;
        });
    });
  }

  function fetchFragment(url) {
    return fetch(url, {
      credentials: "same-origin",
      headers: { Accept: "text/html", "HX-Request": "true" },
    }).then(function (response) {
      if (!response.ok) {
        var error = new Error("HTTP " + response.status);
        error.status = response.status;
        throw error;
      }
      return response.text();
    });
  }

  function fragment(html) {
    var holder = document.createElement("template");
    holder.innerHTML = html;
    return holder.content;
  }

  function newClientId() {
    if (window.crypto && typeof window.crypto.randomUUID === "function") return "web-" + window.crypto.randomUUID();
    return "web-" + Date.now().toString(36) + "-" + Math.random().toString(36).slice(2, 12);
  }

  function pad(n) {
    return n < 10 ? "0" + n : String(n);
  }

  function localTime(timeEl) {
    var when = new Date(timeEl.getAttribute("datetime"));
    if (isNaN(when.getTime())) return;
    timeEl.textContent = pad(when.getHours()) + ":" + pad(when.getMinutes());
    timeEl.title = when.toLocaleString();
  }

  /** Retry soon when the server failed (5xx, server_error), not when it refused (4xx). */
  function retryable(err) {
    return !err.status || err.status >= 500 || err.status === 429 || err.code === "server_error";
  }

  // Socket actions without a reply (message.delivered): retried a few times if the server answers
  // them with a server_error, which carries the frame's ref.
  var unacked = {}; // ref -> {action, data, tries}
  var nextAckRef = 1;

  function sendAck(action, data, tries) {
    var ref = "chat" + nextAckRef++;
    unacked[ref] = { action: action, data: data, tries: tries || 0 };
    setTimeout(function () {
      delete unacked[ref]; // no error by now: it went through
    }, 15000);
    rt.send(action, data, ref);
  }

  rt.on("error", function (data) {
    var failed = data && data.ref !== undefined && unacked[String(data.ref)];
    if (!failed) return;
    delete unacked[String(data.ref)];
    if (data.code === "server_error" && failed.tries < 3) {
      setTimeout(function () {
        sendAck(failed.action, failed.data, failed.tries + 1);
      }, 1000 * (failed.tries + 1));
    }
  });

  var me = null; // the viewer's user id, from session.ready or the page
  rt.on("session.ready", function (data) {
    if (data && data.user_id) me = String(data.user_id);
  });

  // Any form that asks first (deleting a post, blocking, leaving a group): <form data-confirm="...">.
  // htmx's hx-confirm covers htmx forms (unfollow). chat.js is on every page.
  document.addEventListener("submit", function (e) {
    var form = e.target;
    var question = form && form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) e.preventDefault();
  });

  // Escape closes an open <details class="menu"> (the profile's ••• menu) and returns focus to it.
  document.addEventListener("keydown", function (e) {
    if (e.key !== "Escape") return;
    document.querySelectorAll("details.menu[open]").forEach(function (menu) {
      menu.removeAttribute("open");
      var summary = menu.querySelector("summary");
      if (summary) summary.focus();
    });
  });

  // --- The nav badge and delivered receipts (every page) -----------------------------------------

  var openConversation = null; // set by the conversation page: its id while the page is visible

  function setBadge(count) {
    var link = document.querySelector("[data-chat-nav]");
    if (!link) return;
    var badge = link.querySelector("[data-chat-unread]");
    if (!count) {
      if (badge) badge.remove();
      return;
    }
    if (!badge) {
      badge = document.createElement("span");
      badge.className = "badge";
      badge.setAttribute("data-chat-unread", "");
      link.appendChild(badge);
    }
    badge.textContent = String(count);
    var label = document.createElement("span");
    label.className = "sr-only";
    label.textContent = " unread";
    badge.appendChild(label);
  }

  var refreshBadge = debounce(function () {
    request("GET", UNREAD_URL)
      .then(function (totals) {
        setBadge((totals.inbox || 0) + (totals.requests || 0));
      })
      .catch(function () {});
  }, 300);

  rt.on("message.new", function (data) {
    if (!data || !data.conversation_id) return;
    if (me === null || String(data.sender_id) === me) return;
    // An open, visible conversation reads it at once: that covers delivered, and its message.read
    // refreshes the badge.
    if (openConversation === String(data.conversation_id)) return;
    // This device has it: the sender's tick turns to delivered.
    sendAck("message.delivered", { conversation_id: data.conversation_id, message_id: data.id });
    refreshBadge();
  });
  rt.on("message.read", function (data) {
    if (data && me !== null && String(data.user_id) === me) refreshBadge(); // read here or on another device
  });
  // session.resync: the server dropped an event for this socket; any of these may be it.
  ["message.deleted", "conversation.new", "conversation.updated", "session.resync"].forEach(function (event) {
    rt.on(event, refreshBadge);
  });
  rt.on("open", function (detail) {
    if (detail && detail.reconnected) refreshBadge();
  });

  // --- The inbox ---------------------------------------------------------------------------------

  function initInbox() {
    var box = document.querySelector("[data-chat-inbox]");
    if (!box) return;
    var tabCount = document.querySelector("[data-chat-requests-count]");

    var reload = debounce(function () {
      fetchFragment(window.location.pathname + window.location.search)
        .then(function (html) {
          box.innerHTML = html;
          if (window.htmx) window.htmx.process(box);
          var list = box.querySelector("[data-chat-list]");
          if (tabCount && list) tabCount.textContent = "(" + list.getAttribute("data-requests-count") + ")";
        })
        .catch(function () {});
    }, 250);

    [
      "message.new",
      "message.updated",
      "message.deleted",
      "message.read",
      "message.delivered",
      "conversation.new",
      "conversation.updated",
      "session.resync",
    ].forEach(function (event) {
      rt.on(event, reload);
    });
    // Also on the first open: what changed between rendering the page and the socket joining.
    rt.on("open", reload);
  }

  // --- A conversation ----------------------------------------------------------------------------

  function initConversation() {
    var root = document.querySelector("[data-chat]");
    if (!root) return;
    var conversationId = root.getAttribute("data-conversation-id");
    var live = root.hasAttribute("data-live");
    me = me || root.getAttribute("data-user-id");
    var isGroup = root.getAttribute("data-kind") === "group";
    var log = root.querySelector("[data-chat-log]");
    var scroller = root.querySelector("[data-chat-scroll]");
    var template = root.querySelector("[data-chat-template]");
    var systemTemplate = root.querySelector("[data-chat-system-template]");
    var form = root.querySelector("[data-chat-form]");
    var textarea = form && form.querySelector("textarea");
    var errors = form && form.querySelector("[data-chat-errors]");
    var typingLine = root.querySelector("[data-chat-typing]");
    var myRead = Number(root.getAttribute("data-read-seq")) || 0;
    var myDelivered = Number(root.getAttribute("data-delivered-seq")) || 0;
    var receipts = {};

    function loadReceipts(json) {
      var rows = [];
      try {
        rows = JSON.parse(json || "[]");
      } catch (err) {
        rows = [];
      }
      var next = {};
      rows.forEach(function (row) {
        var known = receipts[row.user_id] || {};
        next[row.user_id] = {
          username: row.username,
          joined_seq: row.joined_seq,
          left_seq: row.left_seq,
          delivered_seq: Math.max(row.delivered_seq, known.delivered_seq || 0),
          read_seq: Math.max(row.read_seq, known.read_seq || 0),
        };
      });
      receipts = next;
    }
    loadReceipts(root.getAttribute("data-receipts"));

    // Messages on the page -----------------------------------------------------------------------

    function items() {
      return log.querySelectorAll("[data-message-id]");
    }

    function findMessage(id) {
      if (!id) return null;
      var all = items();
      for (var i = 0; i < all.length; i++) if (all[i].getAttribute("data-message-id") === id) return all[i];
      return null;
    }

    function findPending(clientId) {
      if (!clientId) return null;
      var all = log.querySelectorAll("[data-client-id]");
      for (var i = 0; i < all.length; i++) if (all[i].getAttribute("data-client-id") === clientId) return all[i];
      return null;
    }

    function seqOf(el) {
      return Number(el.getAttribute("data-seq")) || 0;
    }

    function lastSeq() {
      var last = 0;
      Array.prototype.forEach.call(items(), function (el) {
        last = Math.max(last, seqOf(el));
      });
      return last;
    }

    /** The seq up to which every message is on the page, from the oldest one held: a resync's after=. */
    function heldThrough() {
      var seqs = [];
      Array.prototype.forEach.call(items(), function (el) {
        if (seqOf(el)) seqs.push(seqOf(el));
      });
      if (!seqs.length) return 0;
      seqs.sort(function (a, b) {
        return a - b;
      });
      var through = seqs[0];
      for (var i = 1; i < seqs.length && seqs[i] <= through + 1; i++) through = seqs[i];
      return through;
    }

    function newestMessage() {
      var newest = null;
      Array.prototype.forEach.call(items(), function (el) {
        if (seqOf(el) && (!newest || seqOf(el) > seqOf(newest))) newest = el;
      });
      return newest;
    }

    function urlFor(pattern, id) {
      return root.getAttribute(pattern).replace("00000000-0000-0000-0000-000000000000", id);
    }

    function setTicks(el, status, force) {
      var ticks = el.querySelector("[data-ticks]");
      if (!ticks) return;
      var current = ticks.getAttribute("data-status") || "sending";
      if (!force && (STATUS_RANK[status] || 0) <= (STATUS_RANK[current] || 0)) return; // ticks only move on
      ticks.setAttribute("data-status", status);
      ticks.className = "ticks ticks--" + status;
      ticks.title = STATUS_LABEL[status];
      ticks.querySelector("[data-ticks-mark]").textContent = TICK_MARK[status];
      ticks.querySelector("[data-ticks-label]").textContent = STATUS_LABEL[status];
    }

    /** Who was there when message `seq` was sent, whether or not they still are (as
     * messaging.selectors.receipts_of): leaving doesn't turn a read message back to sent. */
    function recipientsOf(seq, senderId) {
      return Object.keys(receipts).filter(function (userId) {
        var row = receipts[userId];
        return userId !== senderId && row.joined_seq < seq && (row.left_seq == null || row.left_seq >= seq);
      });
    }

    /** The least advanced recipient's cursor decides. */
    function statusFor(seq, senderId) {
      var recipients = recipientsOf(seq, senderId);
      if (!recipients.length) return "sent";
      var read = recipients.every(function (userId) {
        return receipts[userId].read_seq >= seq;
      });
      if (read) return "read";
      var delivered = recipients.every(function (userId) {
        return receipts[userId].delivered_seq >= seq;
      });
      return delivered ? "delivered" : "sent";
    }

    function refreshTicks() {
      Array.prototype.forEach.call(log.querySelectorAll("[data-ticks]"), function (ticks) {
        var el = ticks.closest("[data-message-id]");
        var seq = seqOf(el);
        if (!seq) return;
        setTicks(el, statusFor(seq, me));
        var readers = recipientsOf(seq, me).filter(function (userId) {
          return receipts[userId].read_seq >= seq;
        });
        if (readers.length && isGroup) {
          // In a group, who has read it, not only whether everyone has.
          ticks.title = "Read by " + readers.map(function (userId) {
            return "@" + receipts[userId].username;
          }).join(", ");
        }
      });
    }

    function applyState(el, data) {
      var content = el.querySelector("[data-message-content]");
      if (el.hasAttribute("data-kind")) return; // a line about the group never changes
      var edited = el.querySelector("[data-message-edited]");
      if (data.deleted) {
        el.classList.add("chat-message--deleted");
        content.textContent = "This message was deleted.";
        if (edited) edited.hidden = true;
        var tools = el.querySelector("[data-message-tools]");
        if (tools) tools.remove();
        renderReactions(el, []);
        markQuotesDeleted(String(data.id));
      } else {
        content.textContent = data.content;
        if (edited) edited.hidden = !data.edited;
        if (data.reactions) renderReactions(el, data.reactions);
      }
      if (data.status && String(data.sender_id) === me) setTicks(el, data.status);
    }

    // Reactions and replies -----------------------------------------------------------------------

    /** The chips under a message, from a summary [{emoji, count, user_ids}] (the viewer's: aria-pressed). */
    function renderReactions(el, reactions) {
      var box = el.querySelector("[data-reactions]");
      var id = el.getAttribute("data-message-id");
      if (!box || !id) return;
      box.innerHTML = "";
      (reactions || []).forEach(function (reaction) {
        var mine = (reaction.user_ids || []).map(String).indexOf(me) !== -1;
        var form = document.createElement("form");
        form.method = "post";
        form.action = urlFor("data-react-url", id);
        form.className = "chat-reactions__form";
        form.setAttribute("data-react-form", "");
        var token = document.createElement("input");
        token.type = "hidden";
        token.name = "csrfmiddlewaretoken";
        token.value = csrfToken();
        form.appendChild(token);
        if (!mine) {
          var on = document.createElement("input");
          on.type = "hidden";
          on.name = "on";
          on.value = "1";
          form.appendChild(on);
        }
        var button = document.createElement("button");
        button.type = "submit";
        button.name = "emoji";
        button.value = reaction.emoji;
        button.className = "chat-reaction" + (mine ? " chat-reaction--mine" : "");
        button.setAttribute("aria-pressed", mine ? "true" : "false");
        button.setAttribute("data-reaction", reaction.emoji);
        var face = document.createElement("span");
        face.setAttribute("aria-hidden", "true");
        face.textContent = reaction.emoji;
        var label = document.createElement("span");
        label.className = "sr-only";
        label.textContent = " reacted " + reaction.emoji + (mine ? ", including you" : "");
        button.appendChild(face);
        button.appendChild(document.createTextNode(" " + reaction.count));
        button.appendChild(label);
        form.appendChild(button);
        box.appendChild(form);
      });
      box.hidden = !(reactions && reactions.length);
    }

    function markQuotesDeleted(id) {
      Array.prototype.forEach.call(log.querySelectorAll("[data-quote-id]"), function (quote) {
        if (quote.getAttribute("data-quote-id") !== id) return;
        var excerpt = quote.querySelector("[data-quote-excerpt]");
        if (excerpt) excerpt.textContent = "deleted";
      });
    }

    function renderQuote(el, replyTo) {
      var quote = el.querySelector("[data-message-quote]");
      if (!quote) return;
      if (!replyTo) {
        quote.remove();
        return;
      }
      quote.hidden = false;
      quote.href = "#message-" + replyTo.id;
      quote.setAttribute("data-quote-id", replyTo.id);
      quote.querySelector("[data-quote-sender]").textContent =
        (replyTo.sender && (replyTo.sender.display_name || replyTo.sender.username)) || "";
      quote.querySelector("[data-quote-excerpt]").textContent = replyTo.deleted ? "deleted" : replyTo.excerpt;
    }

    function react(form, emoji) {
      var el = form.closest("[data-message-id]");
      var id = el && el.getAttribute("data-message-id");
      if (!id || !emoji) return;
      var on = Boolean(form.querySelector("input[name=on]"));
      var picker = form.closest("details");
      if (picker) picker.removeAttribute("open");
      var apply = function (body) {
        if (body && body.reactions) renderReactions(el, body.reactions);
      };
      var overRest = function () {
        var url = "/api/v1/messages/" + encodeURIComponent(id) + "/reactions";
        var call = on
          ? request("POST", url, { emoji: emoji })
          : request("DELETE", url + "/" + encodeURIComponent(emoji), {});
        return call.then(apply).catch(function (err) {
          showError(err.message || "Couldn't react. Try again.");
        });
      };
      if (!rt.connected) {
        overRest();
        return;
      }
      rt.request("message.react", { message_id: id, emoji: emoji, on: on })
        .then(function (frame) {
          apply(frame.data);
        })
        .catch(function (err) {
          if (err.code && err.code !== "server_error") showError(err.message);
          else overRest();
        });
    }

    log.addEventListener("submit", function (e) {
      var form = e.target;
      if (!form.hasAttribute || !form.hasAttribute("data-react-form") || !live) return;
      e.preventDefault();
      react(form, e.submitter && e.submitter.value);
    });

    var replyInput = form && form.querySelector("[data-chat-reply-to]");
    var replying = root.querySelector("[data-chat-replying]");
    var replyTarget = null; // {id, sender: {display_name}, excerpt, deleted} while replying

    function excerptOf(el) {
      var text = (el.querySelector("[data-message-content]").textContent || "").replace(/\s+/g, " ").trim();
      return text.length > 120 ? text.slice(0, 119) + "…" : text;
    }

    function startReply(el) {
      if (!replyInput || !replying || !textarea) return;
      replyTarget = {
        id: el.getAttribute("data-message-id"),
        sender: { display_name: el.getAttribute("data-sender-name") || "" },
        excerpt: excerptOf(el),
        deleted: false,
      };
      replyInput.value = replyTarget.id;
      replying.querySelector("[data-replying-sender]").textContent = replyTarget.sender.display_name;
      replying.querySelector("[data-replying-excerpt]").textContent = replyTarget.excerpt;
      replying.hidden = false;
      textarea.focus();
    }

    function stopReply() {
      replyTarget = null;
      if (replyInput) replyInput.value = "";
      if (replying) replying.hidden = true;
    }

    log.addEventListener("click", function (e) {
      var button = e.target.closest && e.target.closest("[data-reply]");
      if (!button || !live) return;
      var el = button.closest("[data-message-id]");
      if (el && el.getAttribute("data-message-id")) startReply(el);
    });
    if (replying) {
      replying.querySelector("[data-reply-cancel]").addEventListener("click", function () {
        stopReply();
        if (textarea) textarea.focus();
      });
    }
    if (live) {
      Array.prototype.forEach.call(log.querySelectorAll("[data-reply]"), function (button) {
        button.hidden = false;
      });
    }

    /** A line about the group (kind other than "text"): centered text, no sender, ticks or actions. */
    function buildSystem(data) {
      var el = systemTemplate.content.firstElementChild.cloneNode(true);
      el.id = "message-" + data.id;
      el.setAttribute("data-message-id", data.id);
      el.setAttribute("data-seq", data.seq || "");
      el.setAttribute("data-sender-id", data.sender_id);
      el.setAttribute("data-kind", data.kind);
      el.querySelector("[data-message-content]").textContent = data.content;
      return el;
    }

    function build(data) {
      if (data.kind && data.kind !== "text" && systemTemplate) return buildSystem(data);
      var el = template.content.firstElementChild.cloneNode(true);
      var mine = String(data.sender_id) === me;
      el.id = data.id ? "message-" + data.id : "";
      el.setAttribute("data-message-id", data.id || "");
      el.setAttribute("data-seq", data.seq || "");
      el.setAttribute("data-sender-id", data.sender_id);
      if (data.sender) el.setAttribute("data-sender-name", data.sender.display_name || data.sender.username || "");
      renderQuote(el, data.reply_to);
      if (mine) {
        el.classList.add("chat-message--mine");
        if (data.client_id) el.setAttribute("data-client-id", data.client_id);
      }
      var sender = el.querySelector("[data-message-sender]");
      if (isGroup && !mine && data.sender) sender.textContent = data.sender.display_name || data.sender.username;
      else sender.remove();
      var time = el.querySelector("time");
      time.setAttribute("datetime", data.created_at || new Date().toISOString());
      localTime(time);
      var actions = el.querySelector("[data-message-actions]");
      var tools = el.querySelector("[data-message-tools]");
      if (!mine) {
        el.querySelector("[data-ticks]").remove();
        actions.remove();
      } else if (!data.id) {
        tools.hidden = true; // not sent yet
        setTicks(el, "sending", true);
      }
      if (data.id) wireActions(el, data.id);
      applyState(el, data);
      return el;
    }

    function wireActions(el, id) {
      var tools = el.querySelector("[data-message-tools]");
      var picker = el.querySelector("[data-react-picker] form");
      if (tools) tools.hidden = false;
      if (picker && !picker.getAttribute("action")) picker.action = urlFor("data-react-url", id);
      var actions = el.querySelector("[data-message-actions]");
      if (!actions) return;
      var edit = actions.querySelector("[data-edit-link]");
      var del = actions.querySelector("[data-delete-form]");
      if (!edit || !del) return; // rendered by the server: already wired
      edit.href = urlFor("data-edit-url", id);
      del.action = urlFor("data-delete-url", id);
      del.setAttribute("hx-post", del.action);
      actions.hidden = false;
      if (window.htmx) window.htmx.process(actions);
    }

    function insertInOrder(el) {
      var seq = seqOf(el);
      var all = items();
      for (var i = all.length - 1; i >= 0; i--) {
        var other = seqOf(all[i]);
        if (other && seq && other < seq) {
          all[i].after(el);
          return;
        }
      }
      if (!seq || !all.length) {
        log.appendChild(el);
        return;
      }
      // Older than everything held: it belongs on an older page; only keep it if none is left to load.
      if (!log.querySelector("[data-chat-older]")) all[0].before(el);
    }

    function removeEmpty() {
      var empty = log.querySelector("[data-chat-empty]");
      if (empty) empty.remove();
    }

    /** Put a message (event, reply or REST payload) on the page once: by id, else its pending bubble. */
    function upsert(data) {
      if (!data || String(data.conversation_id) !== conversationId) return null;
      var el = findMessage(String(data.id));
      if (el) {
        applyState(el, data);
        return el;
      }
      el = build(data);
      var pending = String(data.sender_id) === me ? findPending(data.client_id) : null;
      if (pending && !pending.getAttribute("data-message-id")) {
        pending.replaceWith(el);
      } else {
        insertInOrder(el);
      }
      removeEmpty();
      return el;
    }

    function scrollToNewest() {
      // With column-reverse (messaging.css) the newest message is at scrollTop 0.
      if (getComputedStyle(scroller).flexDirection === "column-reverse") scroller.scrollTop = 0;
      else scroller.scrollTop = scroller.scrollHeight;
    }

    Array.prototype.forEach.call(log.querySelectorAll("time[datetime]"), localTime);

    // Receipts -------------------------------------------------------------------------------------

    function advance(userId, field, seq) {
      var row = receipts[userId];
      if (!row) return;
      row[field] = Math.max(row[field] || 0, seq);
      if (field === "read_seq") row.delivered_seq = Math.max(row.delivered_seq || 0, seq);
    }

    function visible() {
      return document.visibilityState === "visible";
    }

    // A message request isn't marked read (the sender would learn it was seen) until accepted or answered.
    var readFailures = 0;
    var markRead = debounce(function () {
      if (!live || !visible() || root.hasAttribute("data-request")) return;
      var newest = lastSeq();
      if (newest <= myRead) return;
      request("POST", root.getAttribute("data-read-url"), {})
        .then(function (body) {
          readFailures = 0;
          myRead = Math.max(myRead, body.read_seq || 0);
          myDelivered = Math.max(myDelivered, myRead);
        })
        .catch(function (err) {
          if (!retryable(err) || readFailures >= 4) return;
          readFailures += 1;
          setTimeout(markRead, 1000 * readFailures);
        });
    }, 150);

    function acknowledge() {
      // Opened in a background tab: received, not read yet.
      var newest = newestMessage();
      if (newest && seqOf(newest) > myDelivered && !visible()) {
        myDelivered = seqOf(newest);
        sendAck("message.delivered", {
          conversation_id: conversationId,
          message_id: newest.getAttribute("data-message-id"),
        });
      }
      markRead();
    }

    function trackVisibility() {
      openConversation = live && visible() && !root.hasAttribute("data-request") ? conversationId : null;
    }
    trackVisibility();

    // Viewing: while the newest messages are on screen, the server hears `conversation.view` with this
    // conversation (again every VIEW_EVERY_MS, as its mark expires), so no `message` notification is
    // made for what the viewer sees arrive; `null` when the tab is hidden or left. A new socket knows
    // nothing of it, so every (re)open says it again.
    var viewTimer = null;

    function sendView(id) {
      if (!rt.connected) return; // the next realtime:open says it
      try {
        rt.send("conversation.view", { conversation_id: id });
      } catch (err) {
        // a socket closing under the page: the server forgets the mark when it closes
      }
    }

    function updateView() {
      clearInterval(viewTimer);
      viewTimer = null;
      if (live && visible()) {
        sendView(conversationId);
        viewTimer = setInterval(function () {
          if (live && visible()) sendView(conversationId);
        }, VIEW_EVERY_MS);
      } else {
        sendView(null);
      }
    }

    function stopViewing() {
      clearInterval(viewTimer);
      viewTimer = null;
      sendView(null);
    }

    document.addEventListener("visibilitychange", function () {
      trackVisibility();
      if (visible()) markRead();
      updateView();
    });
    window.addEventListener("focus", markRead);
    window.addEventListener("pagehide", stopViewing);
    rt.on("open", updateView);
    updateView();

    // Typing -----------------------------------------------------------------------------------------

    var typists = {}; // user id -> {name, timer}

    function renderTyping() {
      if (!typingLine) return;
      var names = Object.keys(typists).map(function (userId) {
        return typists[userId].name;
      });
      if (!names.length) typingLine.textContent = "";
      else if (names.length === 1) typingLine.textContent = names[0] + " is typing…";
      else if (names.length === 2) typingLine.textContent = names[0] + " and " + names[1] + " are typing…";
      else typingLine.textContent = names.length + " people are typing…";
    }

    function stopShowing(userId) {
      if (!typists[userId]) return;
      clearTimeout(typists[userId].timer);
      delete typists[userId];
      renderTyping();
    }

    var typingSentAt = 0;
    var typingOn = false;

    function typingStart() {
      if (!rt.connected || !textarea.value.trim()) return;
      var now = Date.now();
      if (now - typingSentAt < TYPING_EVERY_MS) return;
      typingSentAt = now;
      typingOn = true;
      rt.send("typing.start", { conversation_id: conversationId });
    }

    function typingStop() {
      if (!typingOn) return;
      typingOn = false;
      typingSentAt = 0;
      if (rt.connected) rt.send("typing.stop", { conversation_id: conversationId });
    }

    // Sending ----------------------------------------------------------------------------------------

    function showError(message) {
      if (!errors) return;
      errors.innerHTML = "";
      if (!message) return;
      var list = document.createElement("ul");
      list.className = "errorlist";
      var item = document.createElement("li");
      item.textContent = message;
      list.appendChild(item);
      errors.appendChild(list);
    }

    function failed(pending, content, message) {
      pending.remove();
      if (!textarea.value) textarea.value = content;
      showError(message);
    }

    function sendOverRest(payload, pending) {
      return request("POST", "/api/v1/messages", payload)
        .then(upsert)
        .catch(function (err) {
          failed(pending, payload.content, err.message || "Your message couldn't be sent. Try again.");
        });
    }

    function send(content) {
      var payload = { conversation_id: conversationId, content: content, client_id: newClientId() };
      var quoted = replyTarget;
      if (quoted) payload.reply_to = quoted.id;
      stopReply();
      var pending = build({
        reply_to: quoted,
        id: "",
        seq: "",
        conversation_id: conversationId,
        sender_id: me,
        content: content,
        client_id: payload.client_id,
        created_at: new Date().toISOString(),
        edited: false,
        deleted: false,
      });
      pending.classList.add("chat-message--pending");
      log.appendChild(pending);
      removeEmpty();
      scrollToNewest();
      if (!rt.connected) {
        sendOverRest(payload, pending);
        return;
      }
      rt.request("message.send", payload)
        .then(function (frame) {
          upsert(frame.data);
        })
        .catch(function (err) {
          // The server refused it: say why. The socket or the server failed: the same client_id over
          // REST sends it, or returns it if it did go through.
          if (err.code && err.code !== "server_error") failed(pending, content, err.message);
          else sendOverRest(payload, pending);
        });
    }

    if (form && textarea && live) {
      form.addEventListener("submit", function (e) {
        e.preventDefault();
        var content = textarea.value;
        if (!content.trim()) {
          showError("Write something first.");
          return;
        }
        showError("");
        textarea.value = "";
        typingStop();
        send(content);
        textarea.focus();
      });
      textarea.addEventListener("keydown", function (e) {
        if (e.key === "Enter" && !e.shiftKey && !e.ctrlKey && !e.altKey && !e.metaKey && !e.isComposing) {
          e.preventDefault();
          form.requestSubmit();
        }
      });
      textarea.addEventListener("input", function () {
        if (textarea.value.trim()) typingStart();
        else typingStop();
      });
      textarea.addEventListener("blur", typingStop);
    }

    // Older pages ------------------------------------------------------------------------------------

    var loadingOlder = false;
    var observer = null;

    function watchOlder() {
      var older = log.querySelector("[data-chat-older]");
      if (!older) return;
      if (observer) observer.observe(older);
    }

    function loadOlder() {
      var older = log.querySelector("[data-chat-older]");
      if (!older || loadingOlder) return;
      var link = older.querySelector("[data-chat-older-link]");
      loadingOlder = true;
      fetchFragment(link.href)
        .then(function (html) {
          var nodes = Array.prototype.slice.call(fragment(html).children);
          nodes.forEach(function (node) {
            var id = node.getAttribute("data-message-id");
            if (id && findMessage(id)) return;
            older.before(node);
            Array.prototype.forEach.call(node.querySelectorAll("time[datetime]"), localTime);
            if (window.htmx) window.htmx.process(node);
          });
          if (observer) observer.unobserve(older);
          older.remove();
          refreshTicks();
          watchOlder();
        })
        .catch(function () {
          link.textContent = "Couldn't load older messages. Try again";
        })
        .then(function () {
          loadingOlder = false;
        });
    }

    if ("IntersectionObserver" in window) {
      observer = new IntersectionObserver(
        function (entries) {
          entries.forEach(function (entry) {
            if (entry.isIntersecting) loadOlder();
          });
        },
        { root: scroller, rootMargin: "200px 0px 0px 0px" }
      );
      watchOlder();
    }
    log.addEventListener("click", function (e) {
      var link = e.target.closest && e.target.closest("[data-chat-older-link]");
      if (!link) return;
      e.preventDefault();
      loadOlder();
    });

    // Members and title (conversation.updated) --------------------------------------------------------

    var refreshInfo = debounce(function () {
      fetch(root.getAttribute("data-page-url"), { credentials: "same-origin", headers: { Accept: "text/html" } })
        .then(function (response) {
          if (response.status === 404) {
            window.location.href = root.getAttribute("data-inbox-url"); // no longer a member
            return null;
          }
          return response.ok ? response.text() : null;
        })
        .then(function (html) {
          if (!html) return;
          var page = new DOMParser().parseFromString(html, "text/html");
          var fresh = page.querySelector("[data-chat]");
          var info = page.querySelector("[data-chat-info]");
          if (!fresh) return;
          loadReceipts(fresh.getAttribute("data-receipts"));
          ["[data-chat-title]", "[data-chat-subtitle]"].forEach(function (selector) {
            var now = root.querySelector(selector);
            var then = fresh.querySelector(selector);
            if (now && then) now.innerHTML = then.innerHTML;
          });
          var mine = document.querySelector("[data-chat-info]");
          if (mine && info) {
            mine.innerHTML = info.innerHTML;
            if (window.htmx) window.htmx.process(mine);
          }
          refreshTicks();
        })
        .catch(function () {});
    }, 200);

    function acceptedByReply() {
      root.removeAttribute("data-request");
      var banner = root.querySelector("[data-chat-request]");
      if (banner) banner.remove();
      trackVisibility();
    }

    // Events -----------------------------------------------------------------------------------------

    function forThis(data) {
      return data && String(data.conversation_id) === conversationId;
    }

    rt.on("message.new", function (data) {
      if (!forThis(data)) return;
      var sender = String(data.sender_id);
      var system = data.kind && data.kind !== "text";
      if (!system) advance(sender, "read_seq", data.seq); // sending reads everything before it
      if (sender === me) {
        myRead = Math.max(myRead, data.seq);
        if (!system) acceptedByReply();
      } else if (!system) {
        stopShowing(sender);
      }
      if (live) upsert(data);
      // A hole below it: an event was lost on the way (a full server queue). Fetch it now.
      if (live && lastSeq() > heldThrough()) resync(false);
      refreshTicks();
      if (sender !== me) {
        myDelivered = Math.max(myDelivered, data.seq); // acknowledged by the every-page handler
        markRead();
      }
    });
    rt.on("message.updated", function (data) {
      if (!forThis(data)) return;
      var el = findMessage(String(data.id));
      if (el) applyState(el, data);
    });
    rt.on("message.deleted", function (data) {
      if (!forThis(data)) return;
      var el = findMessage(String(data.id));
      if (el) applyState(el, data);
    });
    rt.on("message.reaction", function (data) {
      if (!forThis(data)) return;
      var el = findMessage(String(data.message_id));
      if (el && !el.classList.contains("chat-message--deleted")) renderReactions(el, data.reactions);
    });
    rt.on("message.delivered", function (data) {
      if (!forThis(data)) return;
      advance(String(data.user_id), "delivered_seq", data.up_to_seq);
      refreshTicks();
    });
    rt.on("message.read", function (data) {
      if (!forThis(data)) return;
      advance(String(data.user_id), "read_seq", data.up_to_seq);
      if (String(data.user_id) === me) myRead = Math.max(myRead, data.up_to_seq);
      refreshTicks();
    });
    rt.on("typing", function (data) {
      if (!forThis(data) || String(data.user_id) === me) return;
      var userId = String(data.user_id);
      stopShowing(userId);
      if (data.state !== "start") return;
      typists[userId] = {
        name: data.username,
        timer: setTimeout(function () {
          stopShowing(userId);
        }, (Number(data.expires_in) || 6) * 1000),
      };
      renderTyping();
    });
    rt.on("conversation.updated", function (data) {
      if (!forThis(data)) return;
      // Removed (or left on another device): the page turns read-only, without the composer.
      if (live && me !== null && data.left && String(data.left) === me) window.location.reload();
      else refreshInfo();
    });

    // After the socket (re)joins, on a seq hole and on session.resync: what was missed, then the newest
    // page's current state (edits, deletions, ticks). One at a time; a call meanwhile runs it once more.
    var syncing = false;
    var syncAgain = false;

    function resync(reconnected) {
      if (!live) return;
      if (reconnected) refreshInfo();
      if (syncing) {
        syncAgain = true;
        return;
      }
      syncing = true;
      var base = root.getAttribute("data-messages-url") + "?conversation_id=" + encodeURIComponent(conversationId);

      function follow(url) {
        return request("GET", url).then(function (body) {
          (body.results || []).forEach(upsert);
          if (body.next) return follow(localPath(body.next));
          return null;
        });
      }

      follow(base + "&limit=50&after=" + heldThrough())
        .then(function () {
          return request("GET", base + "&limit=50");
        })
        .then(function (body) {
          (body.results || []).forEach(function (data) {
            var el = findMessage(String(data.id));
            if (el) applyState(el, data);
          });
          refreshTicks();
          markRead();
        })
        .catch(function () {})
        .then(function () {
          syncing = false;
          if (syncAgain) {
            syncAgain = false;
            resync(false);
          }
        });
    }

    // Also on the first open, which closes the gap between rendering the page and the socket joining.
    rt.on("open", function (detail) {
      resync(Boolean(detail && detail.reconnected));
    });
    // The server dropped an event for this socket: any message, edit, receipt or member change.
    rt.on("session.resync", function () {
      resync(true);
    });

    /** On a phone the composer sticks to the bottom of the viewport (messaging.css): bring the page to
     * where the composer's own place is on screen, so it doesn't cover the newest messages. */
    function showComposer() {
      if (!form || !typingLine || !window.matchMedia("(max-width: 767px)").matches) return;
      if (root.querySelector("[data-chat-search-results]")) return; // reading search results
      var stuckAt = parseFloat(getComputedStyle(form).bottom) || 0;
      var overlap = typingLine.getBoundingClientRect().bottom + form.offsetHeight - (window.innerHeight - stuckAt);
      if (overlap > 0) window.scrollBy(0, overlap);
    }

    /** The "New messages" line above the view (more unread than fit): start the view at it. */
    function showUnread() {
      var divider = log.querySelector("[data-chat-unread-divider]");
      if (!divider) return;
      var above = divider.getBoundingClientRect().top - scroller.getBoundingClientRect().top;
      if (above < 0) scroller.scrollTop += above - 8;
    }

    if (live) {
      scrollToNewest();
      showUnread();
      showComposer();
      acknowledge();
    }
  }

  function init() {
    initInbox();
    initConversation();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
