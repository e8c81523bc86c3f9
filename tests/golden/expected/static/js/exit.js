/* Haven: "Exit this page", after GOV.UK Frontend's component.
   Click the button or the exit skip link (or press Enter or Space on either), or press Shift 3
   times within 5 seconds, and the page is hidden behind a blank overlay while the browser goes to
   the neutral exit URL. Without JavaScript both are ordinary links, which Enter follows. No
   storage, no network: nothing here leaves a trace of its own. */
(function () {
  "use strict";

  var TIMEOUT = 5000; // GOV.UK: 5 seconds to press Shift 3 times, restarted on each press
  var root = document.querySelector("[data-exit-this-page]");
  var button = root && root.querySelector(".exit-this-page__button");
  var statusEl = root && root.querySelector("[data-exit-status]");
  var presses = 0;
  var timer = null;
  var lastKeyWasModified = false;

  if (document.documentElement.hasAttribute("data-exit-ready")) return; // loaded twice
  document.documentElement.setAttribute("data-exit-ready", "");

  function announce(text) {
    if (statusEl) statusEl.textContent = text;
  }

  function showCount(n) {
    if (!root) return;
    root.classList.toggle("is-counting", n > 0);
    var dots = root.querySelectorAll(".exit-this-page__indicator span");
    for (var i = 0; i < dots.length; i++) dots[i].classList.toggle("is-on", i < n);
  }

  function resetCount() {
    if (timer) clearTimeout(timer);
    timer = null;
    presses = 0;
    showCount(0);
  }

  function historyMode(el) {
    // The element's own setting wins, then <body>'s, then the configured one on the component.
    var mode = (el && el.getAttribute("data-exit-history")) ||
      document.body.getAttribute("data-exit-history") ||
      (root && root.getAttribute("data-history"));
    return mode === "assign" ? "assign" : "replace";
  }

  function exitPage(el) {
    var url = el.href;
    resetCount();
    announce("");
    document.body.classList.add("exit-hide");
    var overlay = document.createElement("div");
    overlay.className = "exit-overlay";
    overlay.setAttribute("role", "alert");
    document.body.appendChild(overlay);
    // Set after insertion: screen readers announce a live region's change more reliably.
    overlay.textContent = "Loading.";
    if (historyMode(el) === "assign") {
      window.location.href = url;
    } else {
      // replace: the sensitive page is not one Back press away (earlier pages stay in history).
      window.location.replace(url);
    }
  }

  document.addEventListener("click", function (event) {
    var target = event.target;
    var el = target && target.closest && target.closest(".exit-this-page__button, .js-exit-skiplink");
    if (!el) return;
    event.preventDefault();
    exitPage(el);
  });

  // Space on an exit control leaves too, as it would on a real button (GOV.UK's Button does the
  // same): screen-reader users press Space on buttons, and it must not scroll the page instead.
  // Enter follows the link, and so comes through the click handler above.
  document.addEventListener("keydown", function (event) {
    if (event.key !== " " && event.key !== "Spacebar") return;
    var target = event.target;
    var el = target && target.closest && target.closest(".exit-this-page__button, .js-exit-skiplink");
    if (!el) return;
    event.preventDefault();
    if (!event.repeat) exitPage(el);
  });

  function onKeyup(event) {
    var isShift = event.key === "Shift" || event.keyCode === 16;
    if (isShift && !lastKeyWasModified) {
      presses += 1;
      showCount(presses);
      if (timer) clearTimeout(timer);
      if (presses >= 3) {
        exitPage(button);
        return;
      }
      announce("Shift pressed " + presses + (presses === 1 ? " time" : " times") +
        ". Press Shift " + (3 - presses) + (presses === 2 ? " more time" : " more times") + " to exit this page.");
      timer = setTimeout(function () {
        resetCount();
        announce("Exit this page shortcut timed out.");
      }, TIMEOUT);
    } else if (presses > 0) {
      // Any other key (or Shift released after Shift+A) starts the count again.
      resetCount();
      announce("");
    }
    // A Shift keyup that follows a Shift-modified key (Shift+A) is part of typing, not a press.
    lastKeyWasModified = event.shiftKey;
  }

  if (root && button && root.getAttribute("data-shortcut") === "true") {
    document.addEventListener("keyup", onKeyup, true);
  }

  // Restored from the back/forward cache: undo the overlay so the page is usable again.
  window.addEventListener("pageshow", function () {
    var overlays = document.querySelectorAll(".exit-overlay");
    for (var i = 0; i < overlays.length; i++) overlays[i].remove();
    document.body.classList.remove("exit-hide");
    resetCount();
    lastKeyWasModified = false;
    announce("");
  });
})();
