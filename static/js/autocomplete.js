/*
 * socialsite @mention and #hashtag autocomplete for <textarea data-autocomplete> (or any
 * textarea inside an element with data-autocomplete). The attribute's value, if any, is the
 * endpoint; GET /api/v1/search/autocomplete by default (the session cookie authenticates it).
 *
 * Typing @ma or #gold asks the server (debounced) and shows a listbox under the textarea. The
 * textarea keeps focus and points at the highlighted option with aria-activedescendant:
 * Up/Down move, Enter or Tab insert "@username " or "#tag ", Escape closes.
 * Loaded once by each page with such a textarea (compose, post detail, comment thread): it
 * listens on the document, so textareas that htmx swaps in work too. No inline code (CSP).
 */
(function () {
  "use strict";

  if (window.socialsiteAutocomplete) return;
  window.socialsiteAutocomplete = true;

  var SELECTOR = "textarea[data-autocomplete], [data-autocomplete] textarea";
  var DEFAULT_URL = "/api/v1/search/autocomplete";
  var DELAY_MS = 150;
  var LIMIT = 8;
  // The word being typed before the caret, as posts/text.py recognizes mentions and hashtags.
  var MENTION = /(?:^|[^\p{L}\p{N}\p{M}_@/])@([\p{L}\p{N}\p{M}_][\p{L}\p{N}\p{M}_.+-]*)$/u;
  var HASHTAG = /(?:^|[^\p{L}\p{N}\p{M}_&#/])#([\p{L}\p{N}\p{M}_]+)$/u;
  var states = new WeakMap();
  var nextId = 1;

  function endpoint(textarea) {
    var holder = textarea.closest("[data-autocomplete]");
    return (holder && holder.dataset.autocomplete) || DEFAULT_URL;
  }

  function setup(textarea) {
    var state = states.get(textarea);
    if (state) return state;
    var id = "autocomplete-" + nextId++;
    var host = textarea.parentElement;
    host.classList.add("autocomplete-host");
    var list = document.createElement("ul");
    list.id = id;
    list.className = "autocomplete";
    list.setAttribute("role", "listbox");
    list.setAttribute("aria-label", "Suggestions");
    list.hidden = true;
    var status = document.createElement("span");
    status.className = "sr-only";
    status.setAttribute("role", "status");
    host.appendChild(list);
    host.appendChild(status);
    textarea.setAttribute("aria-autocomplete", "list");
    textarea.setAttribute("aria-controls", id);
    state = {
      textarea: textarea,
      list: list,
      status: status,
      items: [], // the results shown
      active: -1, // the highlighted one
      token: null, // the @word or #word they replace
      timer: 0,
      request: null, // the AbortController of the lookup in flight
    };
    list.addEventListener("mousedown", function (event) {
      event.preventDefault(); // keep the focus (and the caret) in the textarea
      var option = event.target.closest("[role=option]");
      if (option) choose(state, Number(option.dataset.index));
    });
    states.set(textarea, state);
    return state;
  }

  function tokenAt(textarea) {
    if (textarea.selectionStart !== textarea.selectionEnd) return null;
    var before = textarea.value.slice(0, textarea.selectionStart);
    var mention = MENTION.exec(before);
    var match = mention || HASHTAG.exec(before);
    if (!match) return null;
    return {
      kind: mention ? "user" : "hashtag",
      word: match[1].replace(/[.+-]+$/, ""), // "@ana." asks for ana
      start: before.length - match[1].length - 1,
      end: before.length,
    };
  }

  function close(state) {
    clearTimeout(state.timer);
    if (state.request) state.request.abort();
    state.request = null;
    state.items = [];
    state.active = -1;
    state.token = null;
    state.list.hidden = true;
    state.list.replaceChildren();
    state.textarea.removeAttribute("aria-activedescendant");
  }

  function highlight(state, index) {
    state.active = index;
    Array.prototype.forEach.call(state.list.children, function (option, i) {
      option.setAttribute("aria-selected", i === index ? "true" : "false");
      if (i === index) {
        state.textarea.setAttribute("aria-activedescendant", option.id);
        option.scrollIntoView({ block: "nearest" });
      }
    });
  }

  function option(state, item, index) {
    var li = document.createElement("li");
    li.id = state.list.id + "-" + index;
    li.className = "autocomplete__option";
    li.setAttribute("role", "option");
    li.dataset.index = String(index);
    var label = document.createElement("span");
    var detail = document.createElement("span");
    detail.className = "autocomplete__detail";
    if (state.token.kind === "user") {
      if (item.avatar_url) {
        var img = document.createElement("img");
        img.className = "autocomplete__avatar";
        img.src = item.avatar_url;
        img.alt = "";
        li.appendChild(img);
      }
      label.textContent = item.display_name || item.username;
      detail.textContent = "@" + item.username;
    } else {
      label.textContent = "#" + item.name;
      detail.textContent = item.posts_count + (item.posts_count >= 1000 ? "+ posts" : item.posts_count === 1 ? " post" : " posts");
    }
    li.append(label, " ", detail);
    return li;
  }

  function show(state, items) {
    if (!items.length) {
      close(state);
      return;
    }
    state.items = items;
    state.list.replaceChildren.apply(
      state.list,
      items.map(function (item, i) {
        return option(state, item, i);
      })
    );
    state.list.style.top = state.textarea.offsetTop + state.textarea.offsetHeight + 2 + "px";
    state.list.hidden = false;
    highlight(state, 0);
    var count = items.length + (items.length === 1 ? " suggestion" : " suggestions");
    state.status.textContent = count + ". Up and down to choose, Enter to insert.";
  }

  function lookup(state) {
    var token = state.token;
    if (state.request) state.request.abort();
    var request = new AbortController();
    state.request = request;
    var params = new URLSearchParams({ query: token.word, type: token.kind, limit: String(LIMIT) });
    fetch(endpoint(state.textarea) + "?" + params, {
      credentials: "same-origin",
      headers: { Accept: "application/json" },
      signal: request.signal,
    })
      .then(function (response) {
        return response.ok ? response.json() : { results: [] };
      })
      .then(function (body) {
        if (state.request !== request) return; // a newer word was typed meanwhile
        state.request = null;
        show(state, body.results || []);
      })
      .catch(function () {
        if (state.request === request) close(state);
      });
  }

  function update(textarea) {
    var state = setup(textarea);
    var token = tokenAt(textarea);
    clearTimeout(state.timer);
    if (!token) {
      close(state);
      return;
    }
    if (state.request) state.request.abort(); // its answer is for a shorter word
    state.request = null;
    state.token = token;
    state.timer = setTimeout(function () {
      lookup(state);
    }, DELAY_MS);
  }

  function choose(state, index) {
    var item = state.items[index];
    var token = state.token;
    if (!item || !token) return;
    var text = token.kind === "user" ? "@" + item.username + " " : "#" + item.name + " ";
    close(state);
    state.textarea.setRangeText(text, token.start, token.end, "end");
    state.textarea.dispatchEvent(new Event("input", { bubbles: true })); // counters, our own close
    state.textarea.focus();
  }

  document.addEventListener("input", function (event) {
    if (event.target.matches && event.target.matches(SELECTOR)) update(event.target);
  });

  document.addEventListener("keydown", function (event) {
    var state = event.target.matches && event.target.matches(SELECTOR) && states.get(event.target);
    if (!state || state.list.hidden || event.isComposing) return;
    var count = state.items.length;
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      highlight(state, (state.active + (event.key === "ArrowDown" ? 1 : -1) + count) % count);
    } else if ((event.key === "Enter" || event.key === "Tab") && !event.shiftKey && state.active >= 0) {
      choose(state, state.active);
    } else if (event.key === "Escape") {
      close(state);
    } else {
      return;
    }
    event.preventDefault();
  });

  document.addEventListener("focusout", function (event) {
    var state = event.target.matches && event.target.matches(SELECTOR) && states.get(event.target);
    if (state) close(state);
  });

  // A click moves the caret, maybe off the word (or onto another one).
  document.addEventListener("click", function (event) {
    if (event.target.matches && event.target.matches(SELECTOR) && states.get(event.target)) update(event.target);
  });

  function init(root) {
    root.querySelectorAll(SELECTOR).forEach(setup);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () {
      init(document);
    });
  } else {
    init(document);
  }
  document.addEventListener("htmx:load", function (event) {
    init(event.target);
  });
})();
