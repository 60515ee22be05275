/*
 * socialsite home feed: the "N new posts" button.
 *
 * The page opts in with <section data-feed-live data-new-url="/feed/new" data-newest-cursor="...">.
 * Every `feed.new_post` event from the shared realtime client (static/js/realtime.js) for a post
 * not on the page yet counts once; the button says how many. A click fetches the server-rendered
 * cards newer than the newest cursor (GET data-new-url?since=cursor), puts them on top, keeps the
 * new cursor and resets the count. Too many to add in place (the fragment says data-feed-reload):
 * the page reloads instead. Events sent while the socket was down are not replayed, so after a
 * reconnect the newer posts are fetched once to count what was missed.
 * No inline code (the CSP is script-src 'self').
 */
(function () {
  "use strict";

  function init() {
    var feed = document.querySelector("[data-feed-live]");
    if (!feed || !window.realtime) return;
    var button = feed.querySelector("[data-feed-new]");
    var list = feed.querySelector("[data-feed-posts]");
    if (!button || !list) return;
    var waiting = {}; // post id -> true: announced, not on the page yet
    var loading = false;

    function onPage(postId) {
      var cards = list.querySelectorAll("[data-post-id]");
      for (var i = 0; i < cards.length; i++) {
        if (cards[i].getAttribute("data-post-id") === postId) return true;
      }
      return false;
    }

    function render() {
      Object.keys(waiting).forEach(function (postId) {
        if (onPage(postId)) delete waiting[postId];
      });
      var count = Object.keys(waiting).length;
      button.hidden = count === 0;
      button.textContent = count === 1 ? "1 new post" : count + " new posts";
    }

    function announce(postId) {
      if (!postId || onPage(postId)) return;
      waiting[postId] = true;
      render();
    }

    /** GET the cards newer than the page's newest cursor: resolves with the fragment's root. */
    function fetchNewer() {
      var url = new URL(feed.dataset.newUrl, window.location.href);
      if (feed.dataset.newestCursor) url.searchParams.set("since", feed.dataset.newestCursor);
      return fetch(url.href, { credentials: "same-origin", headers: { Accept: "text/html" } })
        .then(function (response) {
          if (!response.ok) throw new Error("HTTP " + response.status);
          return response.text();
        })
        .then(function (html) {
          var holder = document.createElement("template");
          holder.innerHTML = html;
          var batch = holder.content.querySelector("[data-feed-batch]");
          if (!batch) throw new Error("unexpected response");
          return batch;
        });
    }

    function load() {
      if (loading) return;
      loading = true;
      button.disabled = true;
      fetchNewer()
        .then(function (batch) {
          if (batch.hasAttribute("data-feed-reload")) {
            window.location.reload();
            return;
          }
          var first = list.firstElementChild;
          Array.prototype.slice.call(batch.children).forEach(function (card) {
            if (onPage(card.getAttribute("data-post-id"))) return;
            list.insertBefore(card, first);
            if (window.htmx) window.htmx.process(card);
          });
          if (batch.dataset.newestCursor) feed.dataset.newestCursor = batch.dataset.newestCursor;
          var empty = feed.querySelector("[data-feed-empty]");
          if (empty && list.querySelector("[data-post-id]")) empty.remove();
          waiting = {};
          render();
        })
        .catch(function () {
          button.hidden = false;
          button.textContent = "Couldn't load the new posts. Try again";
        })
        .then(function () {
          loading = false;
          button.disabled = false;
        });
    }

    window.realtime.on("feed.new_post", function (data) {
      if (data && data.post_id) announce(String(data.post_id));
    });
    window.realtime.on("open", function (detail) {
      if (!detail || !detail.reconnected) return;
      fetchNewer()
        .then(function (batch) {
          if (batch.hasAttribute("data-feed-reload")) {
            button.hidden = false;
            button.textContent = "New posts";
            return;
          }
          Array.prototype.forEach.call(batch.children, function (card) {
            announce(card.getAttribute("data-post-id"));
          });
        })
        .catch(function () {});
    });
    button.addEventListener("click", load);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
