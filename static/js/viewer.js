/*
 * Post photos (templates/posts/_post_media.html). Each photo is a link to its full-size variant,
 * which works without JavaScript; this opens it in a full-screen <dialog> instead: the close
 * button and Escape close it, the arrow keys, the buttons and a horizontal swipe (pointer events)
 * move between the post's photos, the alt text is the caption, the <dialog> keeps the focus and
 * gives it back to the photo that opened it. It also moves a card carousel's position dots as the
 * strip scrolls (the scrolling itself is CSS scroll-snap). Delegated from the document, so cards
 * added later (the live feed, htmx) work too. No inline code (CSP script-src 'self').
 */
(function () {
  "use strict";

  var SWIPE = 40; // px of horizontal travel that counts as a swipe
  var dialog = null;
  var state = { items: [], index: 0, opener: null };

  function button(className, label, text) {
    var element = document.createElement("button");
    element.type = "button";
    element.className = "viewer__button " + className;
    element.setAttribute("aria-label", label);
    element.textContent = text;
    return element;
  }

  function build() {
    dialog = document.createElement("dialog");
    dialog.className = "viewer";
    dialog.setAttribute("aria-label", "Photo viewer");
    dialog.setAttribute("data-viewer", "");
    var close = button("viewer__close", "Close", "×");
    var count = document.createElement("p");
    count.className = "viewer__count";
    count.setAttribute("data-viewer-count", "");
    var figure = document.createElement("figure");
    figure.className = "viewer__figure";
    var image = document.createElement("img");
    image.className = "viewer__image";
    image.setAttribute("data-viewer-image", "");
    var caption = document.createElement("figcaption");
    caption.className = "viewer__caption";
    caption.setAttribute("data-viewer-caption", "");
    figure.append(image, caption);
    var prev = button("viewer__prev", "Previous photo", "‹");
    var next = button("viewer__next", "Next photo", "›");
    dialog.append(close, count, figure, prev, next);
    document.body.append(dialog);

    close.addEventListener("click", function () { dialog.close(); });
    prev.addEventListener("click", function () { show(state.index - 1); });
    next.addEventListener("click", function () { show(state.index + 1); });
    dialog.addEventListener("keydown", function (event) {
      if (event.key === "ArrowLeft") { event.preventDefault(); show(state.index - 1); }
      if (event.key === "ArrowRight") { event.preventDefault(); show(state.index + 1); }
    });
    dialog.addEventListener("close", function () {
      image.removeAttribute("src");
      if (state.opener && document.contains(state.opener)) state.opener.focus();
      state.opener = null;
    });

    var start = null;
    var swiped = false;
    dialog.addEventListener("pointerdown", function (event) {
      start = { x: event.clientX, y: event.clientY, id: event.pointerId };
      swiped = false;
    });
    dialog.addEventListener("pointerup", function (event) {
      if (!start || start.id !== event.pointerId) return;
      var dx = event.clientX - start.x;
      var dy = event.clientY - start.y;
      start = null;
      if (Math.abs(dx) >= SWIPE && Math.abs(dx) > Math.abs(dy)) {
        swiped = true;
        show(state.index + (dx < 0 ? 1 : -1));
      }
    });
    dialog.addEventListener("pointercancel", function () { start = null; });
    // A tap on the dark area around the photo closes, as a tap outside a sheet does.
    dialog.addEventListener("click", function (event) {
      if (swiped) { swiped = false; return; }
      if (event.target === dialog || event.target === figure) dialog.close();
    });
  }

  function show(index) {
    var items = state.items;
    if (index < 0 || index >= items.length) return;
    state.index = index;
    var link = items[index];
    var thumb = link.querySelector("img");
    var alt = thumb ? thumb.getAttribute("alt") || "" : "";
    var image = dialog.querySelector("[data-viewer-image]");
    image.src = link.href;
    image.alt = alt;
    if (thumb && thumb.getAttribute("width")) {
      image.width = Number(thumb.getAttribute("width"));
      image.height = Number(thumb.getAttribute("height"));
    }
    var caption = dialog.querySelector("[data-viewer-caption]");
    caption.textContent = alt;
    caption.hidden = !alt;
    var count = dialog.querySelector("[data-viewer-count]");
    count.textContent = items.length > 1 ? "Photo " + (index + 1) + " of " + items.length : "";
    dialog.querySelector(".viewer__prev").hidden = index === 0;
    dialog.querySelector(".viewer__next").hidden = index === items.length - 1;
  }

  function open(link) {
    if (!dialog) build();
    var group = link.closest("[data-viewer-group]");
    state.items = group ? Array.prototype.slice.call(group.querySelectorAll("a[data-viewer-item]")) : [link];
    state.opener = link;
    show(Math.max(0, state.items.indexOf(link)));
    dialog.showModal();
  }

  document.addEventListener("click", function (event) {
    if (event.defaultPrevented || event.button !== 0) return;
    if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return; // a new tab: the link's own job
    var link = event.target.closest && event.target.closest("a[data-viewer-item]");
    if (!link || typeof HTMLDialogElement === "undefined") return;
    event.preventDefault();
    open(link);
  });

  // Carousel dots: the one for the photo the strip shows is aria-current.
  document.addEventListener(
    "scroll",
    function (event) {
      var strip = event.target;
      if (!(strip instanceof Element) || !strip.hasAttribute("data-carousel")) return;
      var dots = strip.parentElement.querySelectorAll("[data-carousel-dots] > *");
      var index = Math.round(strip.scrollLeft / Math.max(1, strip.clientWidth));
      dots.forEach(function (dot, position) {
        if (position === index) dot.setAttribute("aria-current", "true");
        else dot.removeAttribute("aria-current");
      });
    },
    true
  );
})();
