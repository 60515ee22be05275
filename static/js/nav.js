/*
 * socialsite's top bar on phones (templates/base.html): the More menu is a <details>, which works
 * without JavaScript; this closes it when a tap, a click or the focus lands outside it, as a menu
 * does. (Escape closes every details.menu: static/js/chat.js.) No inline code (CSP script-src 'self').
 */
(function () {
  "use strict";

  function closeOutside(event) {
    document.querySelectorAll("details.header-more[open]").forEach(function (menu) {
      if (!menu.contains(event.target)) menu.removeAttribute("open");
    });
  }

  document.addEventListener("click", closeOutside);
  document.addEventListener("focusin", closeOutside);
})();
