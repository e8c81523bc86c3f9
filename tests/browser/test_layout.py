"""Layout and weight: reflow without horizontal scrolling, screenshots, page budget, network."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from .conftest import ARTICLE, TOPIC, open_context, same_origin

WIDTHS = [320, 375, 1280]  # 320 CSS px is WCAG 1.4.10's reflow width
REFLOW_PAGES = {"home": "/", "article": ARTICLE, "topic": TOPIC, "help": "/get-help/"}
BUDGET_BYTES = 60 * 1024  # an article's HTML, CSS and JS, uncompressed, Pagefind excluded


@pytest.fixture(scope="module", params=WIDTHS, ids=lambda w: f"{w}px")
def sized_page(request, browser, site):
    """One page per width, reused by this module's tests at that width."""
    width = request.param
    context, net = open_context(browser, site, viewport={"width": width, "height": 800})
    page = context.new_page()
    yield width, page
    context.close()
    assert net.blocked == [], f"third-party requests: {net.blocked}"


@pytest.mark.parametrize("name", list(REFLOW_PAGES))
def test_no_horizontal_scrolling(sized_page, site, name):
    width, page = sized_page
    page.goto(site.url(REFLOW_PAGES[name]))

    sizes = page.evaluate(
        "() => ({scroll: document.documentElement.scrollWidth, inner: window.innerWidth})"
    )
    wide = page.evaluate(
        """() => [...document.querySelectorAll('body *')]
            .filter((el) => el.getBoundingClientRect().right > window.innerWidth + 1
                            && getComputedStyle(el).position !== 'absolute')
            .slice(0, 5).map((el) => el.tagName.toLowerCase() + '.' + el.className)"""
    )
    assert sizes["inner"] == width
    assert sizes["scroll"] <= sizes["inner"], f"{name} at {width}px: {sizes}, too wide: {wide}"


@pytest.mark.parametrize("width", [375, 1280])
@pytest.mark.parametrize("name", ["home", "article"])
def test_screenshots_for_review(browser, site, artifacts, name, width):
    context, net = open_context(browser, site, viewport={"width": width, "height": 800})
    try:
        page = context.new_page()
        page.goto(site.url(REFLOW_PAGES[name]))
        expect(page.locator("h1")).to_be_visible()

        path = artifacts / f"{name}-{width}.png"
        page.screenshot(path=str(path), full_page=True)
    finally:
        context.close()

    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert net.blocked == []


# Uncompressed sizes of the document and of every CSS and JS file it loaded, from the page's own
# Resource Timing entries (complete once `load` has fired, unlike response events).
LOADED_SIZES = """() => [performance.getEntriesByType('navigation')[0],
                   ...performance.getEntriesByType('resource')]
  .map((e) => ({url: e.name, size: e.decodedBodySize, type: e.initiatorType}))"""


def test_article_weight_is_within_budget(page, site):
    page.goto(site.url(ARTICLE), wait_until="load")

    entries = page.evaluate(LOADED_SIZES)

    loaded = {
        urlsplit(e["url"]).path: e["size"]
        for e in entries
        if same_origin(e["url"], site)
        and (e["type"] == "navigation" or urlsplit(e["url"]).path.endswith((".css", ".js")))
    }
    assert {ARTICLE, "/static/css/site.css", "/static/js/exit.js"} <= loaded.keys(), entries
    assert not any(p.startswith("/pagefind/") for p in loaded), loaded
    # The measurement is the files' real size (a check on the check).
    for path, size in loaded.items():
        file = (
            site.out / path.strip("/") / "index.html"
            if path.endswith("/")
            else site.out / path.strip("/")
        )
        assert size == file.stat().st_size, (path, size)
    total = sum(loaded.values())
    assert total <= BUDGET_BYTES, f"{total} bytes > {BUDGET_BYTES}: {loaded}"


def test_every_page_stays_on_127_0_0_1_without_console_errors(browser, site):
    # Every page the build wrote (and a missing one), plus search with a query: the site must not
    # ask any third party for anything, and its CSP must not block any of its own resources.
    context, net = open_context(browser, site)
    page = context.new_page()
    errors: list[str] = []
    page.on(
        "console", lambda m: errors.append(f"{page.url}: {m.text}") if m.type == "error" else None
    )
    page.on("pageerror", lambda e: errors.append(f"{page.url}: {e}"))
    hosts: set[str] = set()
    page.on(
        "request",
        lambda r: (
            None if r.url.startswith("data:") else hosts.add(urlsplit(r.url).hostname or r.url)
        ),
    )
    try:
        paths = site.page_paths()
        assert len(paths) > 20, paths
        for path in paths:
            response = page.goto(site.url(path))
            assert response.status == 200, path
        page.goto(site.url("/search/"))
        page.locator("#search-q").fill("trust")
        expect(page.locator(".search-result").first).to_be_visible()
        page.goto(site.url("/no-such-page/"))
    finally:
        context.close()

    assert net.blocked == [], f"third-party requests: {net.blocked}"
    assert hosts == {"127.0.0.1"}, hosts
    # The 404 responses themselves are logged as console errors by Chromium: they are expected.
    errors = [e for e in errors if "404 (Not Found)" not in e]
    assert errors == [], "\n".join(errors)
