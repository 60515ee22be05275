/*
 * socialsite posts: a live character counter under every <textarea data-counter maxlength=N>.
 * No inline code (the CSP is script-src 'self'); likes and shares are plain HTMX forms.
 */
(function () {
  "use strict";

  function attachCounter(textarea) {
    var max = parseInt(textarea.getAttribute("maxlength"), 10);
    if (!max || textarea.dataset.counterReady) return;
    textarea.dataset.counterReady = "1";
    var counter = document.createElement("p");
    counter.className = "char-counter";
    counter.id = (textarea.id || "field") + "-counter";
    counter.setAttribute("aria-live", "polite");
    textarea.insertAdjacentElement("afterend", counter);
    var describedBy = textarea.getAttribute("aria-describedby");
    textarea.setAttribute("aria-describedby", (describedBy ? describedBy + " " : "") + counter.id);
    function update() {
      var left = max - textarea.value.length;
      counter.textContent = textarea.value.length + " / " + max + " characters";
      counter.classList.toggle("char-counter--near", left <= Math.max(20, max * 0.05));
    }
    textarea.addEventListener("input", update);
    update();
  }

  function attachAll(root) {
    root.querySelectorAll("textarea[data-counter]").forEach(attachCounter);
  }

  document.addEventListener("DOMContentLoaded", function () {
    attachAll(document);
  });
  document.addEventListener("htmx:load", function (event) {
    attachAll(event.target);
  });
})();
