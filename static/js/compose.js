/*
 * socialsite compose form (templates/posts/compose.html).
 *
 * - Photos (up to data-max-media) or one video, previewed through object URLs, each photo
 *   with its own alt text; the filter picker previews the filter on the thumbnails with the
 *   CSS classes of posts.css (the server applies the real filter while processing).
 * - On submit, each file goes to POST /api/v1/media (the session cookie and the X-CSRFToken
 *   header authenticate it), one request per file with its status shown beside it; then the
 *   form is submitted with the media ids (name="media_ids") and the content type.
 * - "Tag people" completes usernames from GET data-people-url?q=.
 * Without JavaScript the form still posts text. No inline code (CSP script-src 'self').
 */
(function () {
  "use strict";

  var FILTER_CLASSES = ["none", "grayscale", "sepia", "vivid", "cool", "warm", "fade"].map(function (n) {
    return "filter-" + n;
  });

  function init(form) {
    var mediaUrl = form.dataset.mediaUrl;
    var maxMedia = parseInt(form.dataset.maxMedia, 10) || 10;
    var fieldset = form.querySelector("[data-compose-media]");
    var fileInput = form.querySelector("[data-compose-files]");
    var previews = form.querySelector("[data-compose-previews]");
    var status = form.querySelector("[data-compose-status]");
    var submit = form.querySelector("[data-compose-submit]");
    var contentType = form.querySelector('input[name="content_type"]');
    var csrf = form.querySelector('input[name="csrfmiddlewaretoken"]').value;
    var entries = [];
    var busy = false;
    var nextId = 1;

    fieldset.hidden = false;

    function setStatus(text, isError) {
      status.textContent = text || "";
      status.classList.toggle("compose__status--error", !!isError);
    }

    function currentFilter() {
      var checked = form.querySelector('input[name="filter"]:checked');
      return checked ? checked.value : "";
    }

    function applyFilter(element) {
      FILTER_CLASSES.forEach(function (name) {
        element.classList.remove(name);
      });
      element.classList.add("filter-" + (currentFilter() || "none"));
    }

    function setEntryStatus(entry, text, state) {
      entry.status.textContent = text;
      entry.status.className = "compose-preview__status" + (state ? " compose-preview__status--" + state : "");
    }

    function removeEntry(entry) {
      URL.revokeObjectURL(entry.url);
      entry.item.remove();
      entries = entries.filter(function (other) {
        return other !== entry;
      });
      setStatus("");
      if (!entries.length) fileInput.focus();
    }

    function addEntry(file) {
      var kind = file.type.indexOf("video/") === 0 ? "video" : "image";
      var entry = { id: nextId++, file: file, kind: kind, url: URL.createObjectURL(file), mediaId: null, sent: "" };
      var item = document.createElement("li");
      item.className = "compose-preview";
      var media = document.createElement(kind === "video" ? "video" : "img");
      media.className = "compose-preview__media";
      media.src = entry.url;
      if (kind === "video") {
        media.muted = true;
        media.controls = true;
        media.setAttribute("aria-label", "Preview of " + file.name);
      } else {
        media.alt = "Preview of " + file.name;
      }
      applyFilter(media);
      item.appendChild(media);
      if (kind === "image") {
        var label = document.createElement("label");
        var alt = document.createElement("input");
        alt.id = "compose-alt-" + entry.id;
        alt.type = "text";
        alt.maxLength = 1000;
        alt.setAttribute("data-alt-text", "");
        label.htmlFor = alt.id;
        label.textContent = "Alt text for " + file.name;
        item.appendChild(label);
        item.appendChild(alt);
        entry.alt = alt;
      }
      entry.status = document.createElement("p");
      entry.status.setAttribute("aria-live", "polite");
      item.appendChild(entry.status);
      setEntryStatus(entry, "Ready to upload");
      var remove = document.createElement("button");
      remove.type = "button";
      remove.className = "btn btn--ghost btn--small";
      remove.textContent = "Remove ";
      var hidden = document.createElement("span");
      hidden.className = "sr-only";
      hidden.textContent = file.name;
      remove.appendChild(hidden);
      remove.addEventListener("click", function () {
        removeEntry(entry);
      });
      item.appendChild(remove);
      entry.item = item;
      entry.media = media;
      previews.appendChild(item);
      entries.push(entry);
    }

    fileInput.addEventListener("change", function () {
      var files = Array.prototype.slice.call(fileInput.files);
      fileInput.value = "";
      var problem = "";
      files.forEach(function (file) {
        var isVideo = file.type.indexOf("video/") === 0;
        var hasVideo = entries.some(function (e) {
          return e.kind === "video";
        });
        if (isVideo && entries.length) problem = "A video is posted on its own: remove the other files first.";
        else if (!isVideo && hasVideo) problem = "A video is posted on its own: remove it to add photos.";
        else if (entries.length >= maxMedia) problem = "At most " + maxMedia + " photos per post.";
        else addEntry(file);
      });
      setStatus(problem, !!problem);
    });

    form.addEventListener("change", function (event) {
      if (event.target.name === "filter") {
        entries.forEach(function (entry) {
          applyFilter(entry.media);
        });
      }
    });

    function upload(entry) {
      var altText = entry.alt ? entry.alt.value.trim() : "";
      var signature = currentFilter() + "\u0000" + altText;
      if (entry.mediaId && entry.sent === signature) return Promise.resolve(true);
      var body = new FormData();
      body.append("file", entry.file);
      body.append("alt_text", altText);
      if (entry.kind === "image" || currentFilter()) body.append("filter", currentFilter());
      setEntryStatus(entry, "Uploading…");
      return fetch(mediaUrl, {
        method: "POST",
        body: body,
        credentials: "same-origin",
        headers: { "X-CSRFToken": csrf, Accept: "application/json" },
      })
        .then(function (response) {
          return response
            .json()
            .catch(function () {
              return {};
            })
            .then(function (data) {
              if (!response.ok) {
                throw new Error((data.error && data.error.message) || "Upload failed (" + response.status + ").");
              }
              if (data.status === "failed") throw new Error(data.error || "This file couldn't be processed.");
              entry.mediaId = data.id;
              entry.sent = signature;
              setEntryStatus(entry, data.status === "ready" ? "Uploaded" : "Uploaded · processing…", "done");
              return true;
            });
        })
        .catch(function (error) {
          entry.mediaId = null;
          setEntryStatus(entry, error.message || "Upload failed.", "error");
          return false;
        });
    }

    form.addEventListener("submit", function (event) {
      form.querySelectorAll('input[name="media_ids"]').forEach(function (input) {
        input.remove();
      });
      if (!entries.length) {
        contentType.value = "text";
        return; // a text post: the plain form submission
      }
      event.preventDefault();
      if (busy) return;
      busy = true;
      submit.disabled = true;
      setStatus("Uploading " + entries.length + " file" + (entries.length > 1 ? "s" : "") + "…");
      var results = [];
      entries
        .reduce(function (chain, entry) {
          return chain.then(function () {
            return upload(entry).then(function (ok) {
              results.push(ok);
            });
          });
        }, Promise.resolve())
        .then(function () {
          if (results.indexOf(false) !== -1) {
            busy = false;
            submit.disabled = false;
            setStatus("Some files couldn't be uploaded. Remove them or try again.", true);
            return;
          }
          entries.forEach(function (entry) {
            var input = document.createElement("input");
            input.type = "hidden";
            input.name = "media_ids";
            input.value = entry.mediaId;
            form.appendChild(input);
          });
          contentType.value = entries[0].kind === "video" ? "video" : "image";
          setStatus("Publishing…");
          form.submit();
        });
    });

    initPeopleSearch(form);
  }

  function initPeopleSearch(form) {
    var input = form.querySelector("[data-people-search]");
    var list = form.querySelector("[data-people-results]");
    var url = form.dataset.peopleUrl;
    if (!input || !list || !url) return;
    var timer = null;
    var sequence = 0;

    function lastToken() {
      var parts = input.value.split(",");
      return parts[parts.length - 1].trim().replace(/^@/, "");
    }

    function hide() {
      list.hidden = true;
      list.textContent = "";
    }

    function choose(username) {
      var parts = input.value.split(",");
      parts[parts.length - 1] = username;
      input.value =
        parts
          .map(function (part) {
            return part.trim();
          })
          .filter(Boolean)
          .join(", ") + ", ";
      hide();
      input.focus();
    }

    function show(results) {
      list.textContent = "";
      results.forEach(function (person) {
        var item = document.createElement("li");
        var button = document.createElement("button");
        button.type = "button";
        button.className = "people-results__option";
        button.textContent = person.name + " (@" + person.username + ")";
        button.dataset.username = person.username;
        button.addEventListener("click", function () {
          choose(person.username);
        });
        item.appendChild(button);
        list.appendChild(item);
      });
      list.hidden = results.length === 0;
    }

    function search() {
      var token = lastToken();
      var mine = ++sequence;
      if (!token) return hide();
      fetch(url + "?q=" + encodeURIComponent(token), {
        credentials: "same-origin",
        headers: { Accept: "application/json" },
      })
        .then(function (response) {
          return response.ok ? response.json() : { results: [] };
        })
        .then(function (data) {
          if (mine === sequence) show(data.results || []);
        })
        .catch(hide);
    }

    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(search, 150);
    });
    input.addEventListener("keydown", function (event) {
      if (event.key === "ArrowDown" && !list.hidden) {
        event.preventDefault();
        var first = list.querySelector("button");
        if (first) first.focus();
      } else if (event.key === "Escape") {
        hide();
      }
    });
    list.addEventListener("keydown", function (event) {
      var buttons = Array.prototype.slice.call(list.querySelectorAll("button"));
      var index = buttons.indexOf(document.activeElement);
      if (event.key === "ArrowDown" && index < buttons.length - 1) {
        event.preventDefault();
        buttons[index + 1].focus();
      } else if (event.key === "ArrowUp") {
        event.preventDefault();
        (index > 0 ? buttons[index - 1] : input).focus();
      } else if (event.key === "Escape") {
        hide();
        input.focus();
      }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var form = document.getElementById("compose-form");
    if (form) init(form);
  });
})();
