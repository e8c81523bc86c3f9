/* Haven search, loaded by the search page and by static/js/search.js with a first search from the
   header box. The query is searched in this page: it is never put in the address, the history or
   a request. The search page shows results under its own box; the header box shows them at the
   top of the page it is on. The first search loads Pagefind and search/data.json (crisis terms,
   the support panel's lines, the site's vocabulary). */
(function () {
  "use strict";
  if (window.HavenSearch) return;
  var header = document.querySelector("form.site-search");
  var root = document.getElementById("search");
  var cfg = root || header;
  if (!cfg || !window.fetch || !window.Promise) return;
  // Every address comes from the site's base path, so the site works under a sub-path too.
  var base = cfg.getAttribute("data-base") || "/";
  var urls = {
    help: base + "get-help/",
    topics: base + "tags/",
    az: cfg.getAttribute("data-az")
  };
  var PAGE = 10;
  var loading = null;
  var views = [];

  function load() {
    if (!loading) {
      var css = new Promise(function (done) {
        if (document.querySelector("link[data-search-css]")) return done();
        var link = document.createElement("link");
        link.rel = "stylesheet";
        link.href = base + "static/css/search.css";
        link.setAttribute("data-search-css", "");
        link.onload = link.onerror = function () { done(); };
        document.head.appendChild(link);
      });
      loading = Promise.all([
        import(base + "pagefind/pagefind.js").then(function (pf) {
          return pf.options({ baseUrl: base, excerptLength: 24 })
            .then(function () { return pf; });
        }),
        fetch(base + "search/data.json", { credentials: "same-origin" }).then(function (r) {
          if (!r.ok) throw new Error("search data: " + r.status);
          return r.json();
        }),
        css
      ]);
      loading.catch(function () { loading = null; });
    }
    return loading;
  }

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    for (var k in attrs || {}) node.setAttribute(k, attrs[k]);
    if (text) node.textContent = text;
    return node;
  }

  function link(href, text) { return el("a", { href: href }, text); }

  function norm(text) {
    return String(text).normalize("NFKC").toLowerCase().replace(/[^\p{L}\p{N}]+/gu, " ").trim();
  }

  // Edit distance with transpositions, giving up once it exceeds `max`.
  function distance(a, b, max) {
    if (Math.abs(a.length - b.length) > max) return max + 1;
    var prev2 = null, prev = [], i, j;
    for (j = 0; j <= b.length; j++) prev[j] = j;
    for (i = 1; i <= a.length; i++) {
      var row = [i], best = i;
      for (j = 1; j <= b.length; j++) {
        var cost = a[i - 1] === b[j - 1] ? 0 : 1;
        var d = Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + cost);
        if (prev2 && i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
          d = Math.min(d, prev2[j - 2] + 1);
        }
        row[j] = d;
        if (d < best) best = d;
      }
      if (best > max) return max + 1;
      prev2 = prev;
      prev = row;
    }
    return prev[b.length];
  }

  // A crisis term matches as whole words ('self harm', 'self-harm', 'selfharm'); a long single
  // word also with one typing slip ('sucide').
  function crisis(query, terms) {
    var q = norm(query), words = q.split(" ");
    return terms.some(function (t) {
      if ((" " + q + " ").indexOf(" " + t + " ") >= 0) return true;
      if (words.indexOf(t.replace(/ /g, "")) >= 0) return true;
      return t.indexOf(" ") < 0 && t.length >= 6 && words.some(function (w) {
        return w.length >= 5 && distance(w, t, 1) <= 1;
      });
    });
  }

  // Words of the query the site's vocabulary does not know (and so may be misspelt).
  function unknown(query, vocab) {
    var known = {};
    vocab.forEach(function (w) { known[w] = true; });
    return norm(query).split(" ").filter(function (w) {
      return w.length >= 4 && !known[w] && !/\d/.test(w);
    });
  }

  // "Did you mean": each word that finds nothing on its own, replaced by the closest known word.
  function suggest(query, vocab, lost) {
    var changed = false;
    var out = norm(query).split(" ").map(function (w) {
      if (lost.indexOf(w) < 0) return w;
      var max = w.length < 5 ? 1 : 2, best = null, bestD = max + 1;
      for (var i = 0; i < vocab.length && bestD > 1; i++) {
        var d = distance(w, vocab[i], Math.min(max, bestD - 1));
        if (d < bestD) { best = vocab[i]; bestD = d; }
      }
      if (best) { changed = true; return best; }
      return w;
    });
    return changed ? out.join(" ") : "";
  }

  // Pagefind's excerpt is HTML with <mark>: keep the marks, make everything else text.
  function excerpt(node, html) {
    var tpl = document.createElement("template");
    tpl.innerHTML = html;
    Array.prototype.forEach.call(tpl.content.childNodes, function (n) {
      node.appendChild(n.nodeName === "MARK" ? el("mark", {}, n.textContent)
        : document.createTextNode(n.textContent));
    });
  }

  function helpPanel(help, level) {
    var box = el("section", { "class": "search-help", "aria-labelledby": "search-help-title" });
    box.appendChild(el("h" + level, { id: "search-help-title" }, "You can talk to someone now"));
    if (help.emergency.length) {
      var p = el("p", {}, "If you are in immediate danger, call ");
      help.emergency.forEach(function (e, i) {
        if (i) p.appendChild(document.createTextNode(i === help.emergency.length - 1 ? " or " : ", "));
        p.appendChild(link("tel:" + e.tel, e.number));
        p.appendChild(document.createTextNode(" (" + e.region + ")"));
      });
      p.appendChild(document.createTextNode("."));
      box.appendChild(p);
    }
    if (help.lines.length) {
      var ul = el("ul", { "class": "search-help__lines" });
      help.lines.forEach(function (s) {
        var li = el("li");
        li.appendChild(el("strong", {}, s.name));
        if (s.phone) {
          li.appendChild(document.createTextNode(": call "));
          li.appendChild(link("tel:" + s.tel, s.phone));
        }
        if (s.text) {
          li.appendChild(document.createTextNode(s.phone ? " or text " : ": text "));
          li.appendChild(link("sms:" + s.sms, s.text));
        }
        li.appendChild(document.createTextNode(s.hours ? ", " + s.hours.charAt(0).toLowerCase() + s.hours.slice(1) + "." : "."));
        ul.appendChild(li);
      });
      box.appendChild(ul);
    }
    var more = el("p");
    more.appendChild(link(urls.help, "Get help: every support line" + (help.region ? ", for every region" : "")));
    box.appendChild(more);
    return box;
  }

  function ways(intro) {
    var box = el("div", { "class": "search-ways" });
    box.appendChild(el("p", {}, intro));
    var ul = el("ul");
    [[urls.help, "Get help now"], [urls.topics, "Browse by topic"], [urls.az, "All articles, A to Z"]]
      .forEach(function (w) { if (w[0]) { var li = el("li"); li.appendChild(link(w[0], w[1])); ul.appendChild(li); } });
    box.appendChild(ul);
    return box;
  }

  // One place results are shown: under the search page's box, or at the top of another page.
  function View(box, input, level, topic) {
    this.box = box;
    this.input = input;
    this.level = level;
    this.topic = topic;
    this.token = 0;
    this.top = el("div", { "class": "search-top" });
    this.status = el("p", { "class": "search-status", role: "status" });
    this.out = el("div", { "class": "search-output" });
    box.appendChild(this.top);
    box.appendChild(this.status);
    box.appendChild(this.out);
    views.push(this);
  }

  View.prototype.clear = function () {
    this.token++;
    this.status.textContent = "";
    this.top.textContent = "";
    this.out.textContent = "";
  };

  View.prototype.run = function (query) {
    var view = this, token = ++this.token;
    query = query.trim();
    if (!query) return this.clear();
    this.status.textContent = "Searching\u2026";
    load().then(function (got) {
      var pf = got[0], data = got[1];
      var filters = view.topic && view.topic.value ? { topic: [view.topic.value] } : {};
      var words = data.words.concat(data.crisis.filter(function (t) { return t.indexOf(" ") < 0; }));
      var doubtful = unknown(query, words);
      var urgent = crisis(query, data.crisis);
      // For a crisis term or a word that asks for a line, the help pages come first: asked for
      // on their own, beside the search of the whole site.
      var help = urgent || norm(query).split(" ").some(function (w) { return data.pin.indexOf(w) >= 0; })
        ? pf.search(query, { filters: { help: "yes" } }) : null;
      return Promise.all([pf.search(query, { filters: filters }), help].concat(doubtful.map(function (w) {
        return pf.search(w);
      }))).then(function (found) {
        if (token !== view.token) return;
        var lost = doubtful.filter(function (w, i) { return !found[i + 2] || !found[i + 2].results.length; });
        view.show(query, data, {
          results: found[0] ? found[0].results : [],
          first: found[1] && !view.filtered() ? found[1].results : [],
          urgent: urgent,
          better: lost.length ? suggest(query, words, lost) : ""
        });
      });
    }).catch(function () {
      if (token !== view.token) return;
      view.top.textContent = view.out.textContent = "";
      view.status.textContent = "Search is not available right now.";
      view.out.appendChild(ways("You can still find what you need:"));
    });
  };

  View.prototype.filtered = function () { return !!(this.topic && this.topic.value); };

  View.prototype.show = function (query, data, found) {
    var view = this, out = this.out, top = this.top, results = found.results, better = found.better;
    top.textContent = out.textContent = "";
    if (found.urgent) top.appendChild(helpPanel(data.help, this.level));
    if (better && better !== norm(query)) {
      var p = el("p", { "class": "search-suggest" }, "Did you mean ");
      var b = el("button", { type: "button", "class": "search-suggest__word" }, better);
      b.addEventListener("click", function () {
        view.input.value = better;
        view.input.focus();
        view.run(better);
      });
      p.appendChild(b);
      p.appendChild(document.createTextNode("?"));
      top.appendChild(p);
    }
    var n = results.length, token = this.token;
    if (!n) {
      this.status.textContent = "Nothing on this site matches \u201c" + query + "\u201d.";
      out.appendChild(ways("You could try other words, or:"));
      return;
    }
    var list = el("ol", { "class": "search-results" });
    out.appendChild(list);
    var more = el("button", { type: "button", "class": "search-more" }, "Show more results");
    var shown = 0, pinned = {};
    var head = Promise.all(found.first.map(function (r) { return r.data(); })).then(function (items) {
      items.forEach(function (d) { pinned[d.url] = true; list.appendChild(view.result(d)); });
    });
    function page() {
      var slice = results.slice(shown, shown + PAGE);
      shown += slice.length;
      more.hidden = true;
      return Promise.all([head].concat(slice.map(function (r) { return r.data(); }))).then(function (items) {
        var first = null;
        items.slice(1).forEach(function (d) {
          if (pinned[d.url]) return;
          var li = view.result(d);
          first = first || li.querySelector("a");
          list.appendChild(li);
        });
        more.hidden = shown >= n;
        return first;
      });
    }
    more.addEventListener("click", function () {
      page().then(function (first) { if (first) first.focus(); });
    });
    // The count is announced once the first results are there to be read.
    page().then(function () {
      if (token !== view.token) return;
      view.status.textContent = n + (n === 1 ? " result" : " results") + " for \u201c" + query + "\u201d";
    }, function () {
      if (token === view.token) view.status.textContent = "Search is not available right now.";
    });
    out.appendChild(more);
    if (this.footer) out.appendChild(ways("Not what you need?"));
  };

  View.prototype.result = function (d) {
    var meta = d.meta || {};
    var li = el("li", { "class": "search-result" });
    var h = el("h" + this.level, { "class": "search-result__title" });
    h.appendChild(link(d.url, meta.title || d.url));
    li.appendChild(h);
    if (meta.content_note) {
      li.appendChild(el("p", { "class": "search-result__note" },
        "Content note: " + meta.content_note.replace(/^This page /, "")));
    }
    var p = el("p", { "class": "search-result__excerpt" });
    if (meta.kind === "help" || !/<mark>/.test(d.excerpt || "")) p.textContent = meta.summary || "";
    else excerpt(p, d.excerpt);
    if (p.textContent) li.appendChild(p);
    var subs = (d.sub_results || []).filter(function (s) { return s.url.indexOf("#") > 0; }).slice(0, 2);
    if (subs.length) {
      var ul = el("ul", { "class": "search-result__sections", "aria-label": "Sections of " + (meta.title || "this page") });
      subs.forEach(function (s) { var item = el("li"); item.appendChild(link(s.url, s.title)); ul.appendChild(item); });
      li.appendChild(ul);
    }
    return li;
  };

  var pageView = null, inPlace = null;

  if (root) {
    var form = root.querySelector("form");
    var input = root.querySelector("input[type=search]");
    var topic = root.querySelector("select");
    pageView = new View(root.querySelector(".search-results-box"), input, 2, topic);
    // The filter goes under the support panel, which must be the first thing after the box.
    var filter = root.querySelector(".search-filter");
    if (filter) pageView.box.insertBefore(filter, pageView.status);
    form.hidden = false;
    Array.prototype.forEach.call(document.querySelectorAll(".search-nojs"), function (n) { n.hidden = true; });
    var timer = 0;
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      clearTimeout(timer);
      pageView.run(input.value);
    });
    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () { pageView.run(input.value); }, 300);
    });
    if (topic) {
      topic.addEventListener("change", function () { pageView.run(input.value); });
      load().then(function (got) { return got[0].filters(); }).then(function (f) {
        Object.keys((f && f.topic) || {}).sort().forEach(function (label) {
          topic.appendChild(el("option", { value: label }, label + " (" + f.topic[label] + ")"));
        });
      }).catch(function () {});
    }
  }

  function openInPlace(query) {
    var main = document.querySelector("main");
    if (!main) return;
    if (!inPlace) {
      var box = el("section", { "class": "search-inplace", "aria-labelledby": "search-inplace-title", tabindex: "-1" });
      var bar = el("div", { "class": "search-inplace__bar" });
      bar.appendChild(el("h2", { id: "search-inplace-title" }, "Search results"));
      var close = el("button", { type: "button", "class": "search-inplace__close" }, "Close search results");
      bar.appendChild(close);
      box.appendChild(bar);
      main.insertBefore(box, main.firstChild);
      inPlace = new View(box, header.querySelector("input"), 3, null);
      inPlace.footer = true;
      close.addEventListener("click", function () {
        inPlace.clear();
        box.hidden = true;
        header.querySelector("input").value = "";
        header.querySelector("input").focus();
      });
    }
    inPlace.box.hidden = false;
    inPlace.run(query);
    inPlace.box.focus();
  }

  // Called by static/js/search.js when the header box is submitted.
  window.HavenSearch = {
    fromHeader: function (q, input) {
      if (pageView) {
        pageView.input.value = q;
        input.value = "";
        pageView.run(q);
        pageView.input.focus();
      } else if (header) {
        openInPlace(q);
      }
    }
  };

  // Leaving the page (a result, Back, the quick exit) forgets the query: a page kept for Back
  // must not show it to the next person who uses the device.
  window.addEventListener("pagehide", function () {
    Array.prototype.forEach.call(document.querySelectorAll("input[type=search]"), function (i) { i.value = ""; });
    views.forEach(function (v) { v.clear(); });
    if (inPlace) inPlace.box.hidden = true;
  });
})();
