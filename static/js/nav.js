/*
 * socialsite's top bar on phones (templates/base.html): the More menu is a <details>, which works
 * without JavaScript; this closes it as a menu closes: when a tap, a click or the focus lands
 * outside it, and on Escape (the focus back on its button). No inline code (CSP script-src 'self').
 */
(function () {
  "use strict";

  function openMenus() {
    return document.querySelectorAll("details.header-more[open]");
  }

  function closeOutside(event) {
    openMenus().forEach(function (menu) {
      if (!menu.contains(event.target)) menu.removeAttribute("open");
    });
  }

  document.addEventListener("click", closeOutside);
  document.addEventListener("focusin", closeOutside);
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    openMenus().forEach(function (menu) {
      menu.removeAttribute("open");
      var summary = menu.querySelector("summary");
      if (summary) summary.focus();
    });
  });
})();
