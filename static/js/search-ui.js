/* Haven: start Pagefind's search UI on the search page and run the query from ?q=. */
(function () {
  "use strict";
  var el = document.getElementById("search");
  if (!el) return;
  if (typeof window.PagefindUI !== "function") {
    // The index was not built (or failed to load): point to the topics instead of an empty box.
    var note = document.querySelector(".search-unavailable");
    if (note) note.hidden = false;
    return;
  }
  function escapeHtml(text) {
    return String(text).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }
  var ui = new window.PagefindUI({
    element: "#search",
    showSubResults: true,
    showImages: false,
    // Content notes travel with the result, so a reader can choose before opening a page.
    processResult: function (result) {
      if (result.meta && result.meta.content_note) {
        result.excerpt = "<strong class=\"search-note\">Content note: " +
          escapeHtml(result.meta.content_note.replace(/^This page /, "")) + "</strong> " + result.excerpt;
      }
      return result;
    }
  });
  // Pagefind's box is named only by its placeholder; give it a real accessible name.
  var input = el.querySelector("input[type=text], input[type=search], input:not([type])");
  if (input && !input.hasAttribute("aria-label")) input.setAttribute("aria-label", "Search articles");
  var q = new URLSearchParams(window.location.search).get("q");
  if (q && q.trim()) ui.triggerSearch(q.trim());
})();
