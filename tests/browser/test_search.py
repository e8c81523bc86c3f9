"""Search in Chromium: help first for crisis words, 'did you mean', and the words kept out of the
address bar and the history, from the header box and from the search page."""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect
from selectolax.lexbor import LexborHTMLParser as HTMLParser

from .conftest import ARTICLE, open_context, same_origin
from .test_accessibility import AXE_OPTIONS, describe

# 'cupboard' appears in one article only (checked against the built pages below).
WORD = "cupboard"
WORD_ARTICLE = "/articles/conflict-and-repair/"
WORD_TITLE = "Conflict and repair in couples"
RESULT_LINK = ".search-result__title a"
STATUS = ".search-status"
PANEL = ".search-help"
NONSENSE = "xqzvykwot"
BUDGET_BYTES = 60 * 1024  # as for an article: HTML, CSS, JS and search data, Pagefind excluded
WAIT = 10_000


def search_page(page, site, query: str) -> None:
    """Type `query` into the search page's own box and wait for the outcome."""
    page.goto(site.url("/search/"))
    box = page.get_by_role("searchbox", name="Search this site")
    box.fill(query)
    box.press("Enter")
    expect(page.locator(f"#search {STATUS}")).to_have_text(
        re.compile(r"results? for|Nothing on this site matches"), timeout=WAIT
    )


def header_search(page, query: str) -> None:
    """Type `query` into the header box of the page that is open, and wait for the results."""
    box = page.get_by_role("searchbox", name="Search articles")
    box.fill(query)
    box.press("Enter")
    expect(page.locator(f".search-inplace {STATUS}")).to_have_text(
        re.compile(r"results? for|Nothing on this site matches"), timeout=WAIT
    )


def result_paths(page) -> list[str]:
    return page.locator(RESULT_LINK).evaluate_all("els => els.map((a) => a.pathname)")


def history_urls(page) -> list[str]:
    """Every entry of the tab's session history, as the browser keeps it."""
    session = page.context.new_cdp_session(page)
    try:
        return [e["url"] for e in session.send("Page.getNavigationHistory")["entries"]]
    finally:
        session.detach()


def assert_not_remembered(page, query: str, urls_before: list[str]) -> None:
    """The query is in no address: not the current one, not the history, not a request."""
    assert query not in unquote(page.url) and "?" not in page.url and "#" not in page.url
    urls = history_urls(page)
    assert urls == urls_before, urls
    assert not any(query in unquote(u) for u in urls)


@pytest.fixture
def requests(page):
    """Every URL the page asks for."""
    seen: list[str] = []
    page.on("request", lambda r: seen.append(r.url))
    return seen


@pytest.mark.parametrize("query", ["rape", "suicide", "abuse"])
def test_crisis_words_show_the_support_panel_with_lines_and_get_help(page, site, query):
    search_page(page, site, query)

    panel = page.locator(f"#search {PANEL}")
    expect(panel).to_be_visible()
    expect(panel.get_by_role("heading")).to_have_text("You can talk to someone now")
    phones = panel.locator('a[href^="tel:"]')
    assert phones.count() >= 3  # every region's emergency number and the default region's lines
    hrefs = phones.evaluate_all("els => els.map((a) => a.getAttribute('href'))")
    assert all(re.fullmatch(r"tel:\+?\d+", h) for h in hrefs), hrefs
    assert {"tel:911", "tel:999", "tel:112", "tel:988"} <= set(hrefs)
    expect(panel.get_by_role("link", name=re.compile("^Get help"))).to_have_attribute(
        "href", "/get-help/"
    )
    # Above the results, and Get help is the first of them.
    box = page.locator("#search .search-results-box")
    order = box.evaluate(
        "b => [...b.querySelectorAll('.search-help, .search-results')].map((e) => e.className)"
    )
    assert order[0] == "search-help"
    assert result_paths(page)[0] == "/get-help/"


def test_an_ordinary_word_shows_no_panel(page, site):
    search_page(page, site, WORD)

    expect(page.locator(STATUS)).to_have_text(f"1 result for \u201c{WORD}\u201d")
    expect(page.locator(PANEL)).to_have_count(0)
    link = page.locator(RESULT_LINK)
    expect(link).to_have_text(WORD_TITLE)
    assert link.get_attribute("href") == WORD_ARTICLE


def test_the_distinctive_word_is_in_one_article_only(site):
    pages = [
        p
        for p in site.page_paths()
        if p.startswith("/articles/")
        and WORD in (site.out / p.strip("/") / "index.html").read_text(encoding="utf-8").lower()
    ]
    assert pages == [WORD_ARTICLE]


@pytest.mark.parametrize("query", ["988", "samaritans", "helpline", "hotline", "crisis"])
def test_words_for_a_line_find_get_help_first(page, site, query):
    search_page(page, site, query)

    assert result_paths(page)[0] == "/get-help/"
    first = page.locator(".search-result").first
    # Get help is shown by its summary, not by a list of the words that find it.
    excerpt = first.locator(".search-result__excerpt").inner_text()
    assert "hotline" not in excerpt and "suicide" not in excerpt


def test_a_misspelling_offers_the_word_the_site_uses(page, site):
    search_page(page, site, "trama")

    expect(page.locator(STATUS)).to_have_text("Nothing on this site matches \u201ctrama\u201d.")
    suggestion = page.get_by_role("button", name="trauma")
    expect(suggestion).to_be_visible()
    suggestion.click()

    expect(page.locator(STATUS)).to_have_text(re.compile(r"^\d+ results? for \u201ctrauma\u201d"))
    expect(page.get_by_role("searchbox", name="Search this site")).to_have_value("trauma")
    assert len(result_paths(page)) >= 3


@pytest.mark.parametrize("query", ["flashback", "hotline", "helpline"])
def test_every_result_uses_the_word_outside_its_references(page, site, query):
    search_page(page, site, query)

    # Reference lists are not indexed: an author's initial ('F.', 'H.') no longer makes a result.
    for path in result_paths(page):
        html = (site.out / path.strip("/") / "index.html").read_text(encoding="utf-8")
        main = HTMLParser(html).css_first("main")
        for node in main.css(".references, sup"):
            node.decompose()
        assert re.search(query[:-1], main.text().lower()), (query, path)


def test_no_results_offer_get_help_and_the_topics(page, site):
    search_page(page, site, NONSENSE)

    expect(page.locator(STATUS)).to_have_text(
        f"Nothing on this site matches \u201c{NONSENSE}\u201d."
    )
    ways = page.locator("#search .search-ways")
    expect(ways.get_by_role("link", name="Get help now")).to_have_attribute("href", "/get-help/")
    expect(ways.get_by_role("link", name="Browse by topic")).to_have_attribute("href", "/tags/")
    expect(page.locator(RESULT_LINK)).to_have_count(0)
    expect(page.locator(".search-suggest")).to_have_count(0)  # nothing close enough to suggest


def test_topic_filter_narrows_the_results(page, site):
    search_page(page, site, "feelings")
    everything = len(result_paths(page))
    assert everything >= 3, "pick a word that several articles share"
    topic = page.get_by_label("Topic")
    label = topic.locator("option", has_text=re.compile(r"^Consent \(\d+\)$")).inner_text()

    topic.select_option(label=label)

    expect(page.locator(STATUS)).to_have_text(
        re.compile(rf"^(?!{everything} )\d+ results? for \u201cfeelings\u201d")
    )
    paths = result_paths(page)
    assert 0 < len(paths) < everything
    for path in paths:
        html = (site.out / path.strip("/") / "index.html").read_text(encoding="utf-8")
        assert 'href="/tags/consent/"' in html, path


def test_header_search_shows_results_in_the_page_and_remembers_nothing(page, site, requests):
    page.goto(site.url(ARTICLE))
    before = history_urls(page)
    query = "suicide"

    header_search(page, query)

    results = page.locator(".search-inplace")
    expect(results).to_be_focused()
    expect(results.locator(PANEL)).to_be_visible()
    expect(results.locator('a[href^="tel:"]').first).to_be_visible()
    assert result_paths(page)[0] == "/get-help/"
    expect(results.get_by_role("link", name="Get help now")).to_be_visible()
    # Still the article, at its own address: nothing was navigated, pushed or sent.
    expect(page.get_by_role("heading", level=1)).to_have_count(1)
    assert_not_remembered(page, query, before)
    assert not any(query in unquote(u) for u in requests), requests
    assert page.evaluate("history.length") == len(before)

    results.get_by_role("button", name="Close search results").click()
    expect(results).to_be_hidden()
    expect(page.get_by_role("searchbox", name="Search articles")).to_have_value("")


def test_search_page_remembers_nothing(page, site, requests):
    page.goto(site.url("/search/"))
    before = history_urls(page)
    box = page.get_by_role("searchbox", name="Search this site")

    for query in ("consent", "suicide", "trama"):
        box.fill(query)
        box.press("Enter")
        expect(page.locator(STATUS)).to_contain_text(query, timeout=WAIT)

    assert_not_remembered(page, "consent", before)
    for query in ("consent", "suicide", "trama"):
        assert not any(query in unquote(u) for u in requests), query
    # The header box on the search page searches in the page's own box.
    header_search_box = page.get_by_role("searchbox", name="Search articles")
    header_search_box.fill(WORD)
    header_search_box.press("Enter")
    expect(box).to_have_value(WORD)
    expect(page.locator(RESULT_LINK)).to_have_text(WORD_TITLE)
    assert_not_remembered(page, WORD, before)


def test_back_after_a_result_shows_neither_the_words_nor_the_results(page, site):
    page.goto(site.url("/search/"))
    box = page.get_by_role("searchbox", name="Search this site")
    box.fill(WORD)
    box.press("Enter")
    page.locator(RESULT_LINK).click()
    page.wait_for_url(site.url(WORD_ARTICLE))

    page.go_back(wait_until="commit")  # a page from the back-forward cache fires no load

    expect(page).to_have_url(site.url("/search/"))
    expect(box).to_have_value("")
    expect(page.locator(RESULT_LINK)).to_have_count(0)
    assert WORD not in page.locator("main").inner_text().lower()


def test_without_javascript_search_points_to_help_topics_and_the_a_to_z(browser, site):
    context, net = open_context(browser, site, java_script_enabled=False)
    page = context.new_page()
    try:
        page.goto(site.url("/"))
        box = page.get_by_role("searchbox", name="Search articles")
        box.fill(WORD)
        box.press("Enter")

        page.wait_for_url(re.compile(r"/search/\??$"))
        assert WORD not in page.url
        expect(page.locator(".search-nojs")).to_be_visible()
        expect(page.locator("#search form")).to_be_hidden()
        main = page.locator("main")
        expect(main.get_by_role("link", name="Get help now")).to_have_attribute(
            "href", "/get-help/"
        )
        topics = main.get_by_role("link", name="Browse all articles by topic")
        if (site.out / "articles/index.html").is_file():
            expect(main.get_by_role("link", name="All articles, A to Z")).to_be_visible()
        topics.click()
        page.wait_for_url(site.url("/tags/"))
        assert net.blocked == []
    finally:
        context.close()


def test_search_works_under_a_sub_path(browser, sub_site):
    site = sub_site
    context, net = open_context(browser, site)
    page = context.new_page()
    try:
        search_page(page, site, WORD)

        link = page.locator(RESULT_LINK)
        expect(link).to_have_text(WORD_TITLE)
        assert link.get_attribute("href") == "/haven" + WORD_ARTICLE
        link.click()
        page.wait_for_url(site.url(WORD_ARTICLE))
        header_search(page, "988")
        assert result_paths(page)[0] == "/haven/get-help/"
        assert net.blocked == []
    finally:
        context.close()


AXE = Axe()


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_axe_reports_no_violations_with_results_panel_and_suggestion(browser, site, scheme):
    context, net = open_context(browser, site, viewport={"width": 1280, "height": 800})
    page = context.new_page()
    try:
        page.emulate_media(color_scheme=scheme)
        checks = []
        search_page(page, site, "abuse")  # panel and results
        expect(page.locator(PANEL)).to_be_visible()
        checks.append(("search page, crisis word", AXE.run(page, options=AXE_OPTIONS)))
        search_page(page, site, "trama")  # suggestion and no results
        checks.append(("search page, no results", AXE.run(page, options=AXE_OPTIONS)))
        page.goto(site.url(ARTICLE))
        header_search(page, "suicide")
        checks.append(("results in an article", AXE.run(page, options=AXE_OPTIONS)))
    finally:
        context.close()
    for name, results in checks:
        assert results.violations_count == 0, f"{name} ({scheme}):\n" + describe(
            results.response["violations"]
        )
    assert net.blocked == []


def test_phone_crisis_search_fits_the_screen(browser, site, artifacts):
    context, net = open_context(browser, site, viewport={"width": 375, "height": 812})
    page = context.new_page()
    try:
        search_page(page, site, "suicide")
        panel = page.locator(PANEL)
        expect(panel).to_be_visible()
        sizes = page.evaluate(
            "() => ({scroll: document.documentElement.scrollWidth, inner: window.innerWidth})"
        )
        assert sizes["scroll"] <= sizes["inner"] == 375, sizes
        # Every number is a link big enough to tap.
        for box in panel.locator('a[href^="tel:"]').evaluate_all(
            "els => els.map((a) => a.getBoundingClientRect().toJSON())"
        ):
            assert box["width"] >= 24 and box["height"] >= 20, box
        # The first screen, as the reader sees it when the panel appears.
        page.evaluate("() => window.scrollTo(0, 0)")
        path = artifacts / "search-crisis-375.png"
        page.screenshot(path=str(path))
    finally:
        context.close()
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert net.blocked == []


# Uncompressed sizes of the document and of every file it loaded (Resource Timing).
LOADED_SIZES = """() => [performance.getEntriesByType('navigation')[0],
                   ...performance.getEntriesByType('resource')]
  .map((e) => ({url: e.name, size: e.decodedBodySize}))"""


def test_search_page_weight_is_within_budget(page, site):
    search_page(page, site, "suicide")
    expect(page.locator(RESULT_LINK).first).to_be_visible()

    loaded: dict[str, int] = {}
    for e in page.evaluate(LOADED_SIZES):
        if same_origin(e["url"], site):
            path = urlsplit(e["url"]).path
            loaded[path] = loaded.get(path, 0) + e["size"]
    ours = {p: s for p, s in loaded.items() if not p.startswith("/pagefind/")}
    assert {
        "/search/",
        "/static/css/site.css",
        "/static/css/search.css",
        "/static/js/search.js",
        "/static/js/search-ui.js",
        "/search/data.json",
    } <= ours.keys(), loaded
    for path, size in ours.items():
        file = site.out / path.strip("/") / ("index.html" if path.endswith("/") else "")
        assert size == file.stat().st_size, (path, size)
    total = sum(ours.values())
    assert total <= BUDGET_BYTES, f"{total} bytes > {BUDGET_BYTES}: {ours}"
