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
  var ui = new window.PagefindUI({ element: "#search", showSubResults: true, showImages: false });
  // Pagefind's box is named only by its placeholder; give it a real accessible name.
  var input = el.querySelector("input[type=text], input[type=search], input:not([type])");
  if (input && !input.hasAttribute("aria-label")) input.setAttribute("aria-label", "Search articles");
  var q = new URLSearchParams(window.location.search).get("q");
  if (q && q.trim()) ui.triggerSearch(q.trim());
})();
