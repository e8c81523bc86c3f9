/* Haven's header search box: on every page, so kept small. Submitting it loads the search script
   (static/js/search-ui.js), which shows the results in this page; the words are never put in the
   address or the history. Without JavaScript the form leads to /search/ and carries nothing, as
   the box has no name. */
(function () {
  "use strict";
  var form = document.querySelector("form.site-search");
  if (!form || !window.Promise) return;
  var input = form.querySelector("input");
  var ui = null;

  function load() {
    if (!ui) {
      ui = new Promise(function (done, fail) {
        if (window.HavenSearch) return done(window.HavenSearch);
        var script = document.createElement("script");
        script.src = (form.getAttribute("data-base") || "/") + "static/js/search-ui.js";
        script.onload = function () {
          if (window.HavenSearch) done(window.HavenSearch); else fail();
        };
        script.onerror = fail;
        document.head.appendChild(script);
      });
      ui.catch(function () { ui = null; });
    }
    return ui;
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var query = input.value;
    if (!query.trim()) return input.focus();
    // A box in a collapsed menu (a <details> on small screens): close it so the results show.
    var menu = form.closest ? form.closest("details") : null;
    if (menu) menu.open = false;
    load().then(function (search) {
      search.fromHeader(query, input);
    }, function () {
      // No search here: the search page offers the other ways in, and is not told the words.
      window.location.assign(form.action);
    });
  });

  // A page kept for Back must not show the words to the next person who uses the device.
  window.addEventListener("pagehide", function () { input.value = ""; });
})();
