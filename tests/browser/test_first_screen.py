"""The reader in distress, on a phone (issue 13, points 2 to 7): Get help now on the first screen
of every page, a header that leaves room for the page (collapsed menu, 200% text), Get help that
opens with the numbers, exit controls that answer Enter and Space, the Shift hint only where there
is a keyboard, no dead end of raw XML, and axe on the new pages and the open menu."""

from __future__ import annotations

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from .conftest import ARTICLE, EXIT_STUB, open_context

PHONE = {"width": 375, "height": 812}
DESKTOP = {"width": 1280, "height": 800}
BUTTON = ".exit-this-page__button"
AXE = Axe()
AXE_OPTIONS = {
    "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]},
    "resultTypes": ["violations"],
}

# The box of an element relative to the top of the page (not the viewport), rounded.
BOX = """(selector) => {
  const el = document.querySelector(selector);
  if (!el) return null;
  const r = el.getBoundingClientRect();
  return {x: Math.round(r.x), y: Math.round(r.y + scrollY), w: Math.round(r.width),
          h: Math.round(r.height), bottom: Math.round(r.bottom + scrollY)};
}"""


def phone_context(browser, site, **options):
    """A touch phone at 375 x 812 (no hover, a coarse pointer), as a reader in distress holds it."""
    return open_context(browser, site, viewport=PHONE, has_touch=True, is_mobile=True, **options)


def larger_text(page) -> None:
    """200% text: every size of the theme is in rem, so doubling the root size doubles them all.

    (Set through the CSSOM, which the Content-Security-Policy allows, unlike a <style>.)
    """
    page.evaluate("document.documentElement.style.fontSize = '200%'")


def stub_exit(page, site) -> list[str]:
    hits: list[str] = []

    def handle(route) -> None:
        hits.append(route.request.url)
        route.fulfill(status=200, content_type="text/html; charset=utf-8", body=EXIT_STUB)

    page.route(site.exit_url, handle)
    return hits


# --- Get help now, the same on the first screen of every page ---------------------------------------


def test_get_help_now_is_on_the_first_screen_of_every_page_in_the_same_place(browser, site):
    context, net = phone_context(browser, site)
    page = context.new_page()
    boxes, headers = {}, {}
    try:
        for path in site.page_paths():
            page.goto(site.url(path))
            link = page.locator(".help-now")
            expect(link).to_be_visible()
            expect(link).to_have_text("Get help now")
            box = page.evaluate(BOX, ".help-now")
            assert box["bottom"] <= PHONE["height"], (path, box)
            boxes[path] = box
            headers[path] = page.evaluate(BOX, "header.site-header")["bottom"]
            # The menu is collapsed: its links wait behind the Menu toggle.
            expect(page.locator(".site-menu__toggle")).to_be_visible()
            expect(page.locator('nav[aria-label="Main"] a').first).to_be_hidden()
    finally:
        context.close()
    assert len(boxes) > 20
    assert len({tuple(b.values()) for b in boxes.values()}) == 1, boxes
    # The exit button and the header together take under a third of the screen, on every page.
    assert max(headers.values()) < PHONE["height"] / 3, headers
    assert net.blocked == []


def test_on_a_wide_screen_the_menu_is_open_without_its_toggle(page, site):
    page.goto(site.url("/"))
    expect(page.locator(".site-menu__toggle")).to_be_hidden()
    nav = page.locator('nav[aria-label="Main"]')
    expect(nav.get_by_role("link", name="Articles A to Z")).to_be_visible()
    expect(page.get_by_role("searchbox", name="Search articles")).to_be_visible()
    help_box = page.evaluate(BOX, ".help-now")
    nav_box = page.evaluate(BOX, 'nav[aria-label="Main"]')
    assert help_box["bottom"] <= nav_box["y"], "Get help now stands above the navigation"
    nav.get_by_role("link", name="Articles A to Z").click()
    expect(page.locator("h1")).to_have_text("Articles A to Z")


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_the_menu_opens_by_tap_and_by_keyboard_with_or_without_javascript(
    browser, site, javascript
):
    context, net = phone_context(browser, site, java_script_enabled=javascript)
    page = context.new_page()
    try:
        page.goto(site.url(ARTICLE))
        toggle = page.locator(".site-menu__toggle")
        topics = page.locator('nav[aria-label="Main"]').get_by_role("link", name="Topics")
        expect(topics).to_be_hidden()
        toggle.tap()
        expect(topics).to_be_visible()
        toggle.tap()
        expect(topics).to_be_hidden()
        toggle.focus()
        page.keyboard.press("Enter")
        expect(topics).to_be_visible()
        # The open menu lies over the page, under the header, and is fully usable.
        body = page.evaluate(BOX, ".site-menu__body")
        assert body["y"] >= page.evaluate(BOX, ".site-header__bar")["bottom"] - 1
        topics.tap()
        page.wait_for_url(site.url("/tags/"))
        expect(page.locator("h1")).to_have_text("Topics")
    finally:
        context.close()
    assert net.blocked == []


@pytest.mark.parametrize("path", ["/", ARTICLE, "/get-help/"])
def test_at_200_percent_text_the_header_stays_usable(browser, site, path):
    context, net = phone_context(browser, site)
    page = context.new_page()
    try:
        page.goto(site.url(path))
        larger_text(page)
        sizes = page.evaluate(
            "() => ({scroll: document.documentElement.scrollWidth, inner: innerWidth,"
            " font: getComputedStyle(document.body).fontSize})"
        )
        assert sizes["font"] == "36px", sizes  # 1.125rem at 200%
        assert sizes["scroll"] <= sizes["inner"], f"horizontal scrolling at 200%: {sizes}"
        # Get help now is still on the first screen, whole, and the page starts on it too.
        help_box = page.evaluate(BOX, ".help-now")
        assert help_box["bottom"] <= PHONE["height"], help_box
        header = page.evaluate(BOX, "header.site-header")
        assert header["bottom"] < PHONE["height"] * 0.6, header
        # Nothing in the header row overlaps anything else.
        overlaps = page.evaluate(
            """() => {
              const els = [...document.querySelectorAll('.brand, .help-now, .site-menu__toggle')];
              const rs = els.map((el) => el.getBoundingClientRect());
              const out = [];
              for (let i = 0; i < rs.length; i++) for (let j = i + 1; j < rs.length; j++) {
                const a = rs[i], b = rs[j];
                if (a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom)
                  out.push([els[i].className, els[j].className]);
              }
              return out;
            }"""
        )
        assert overlaps == []
        page.locator(".site-menu__toggle").tap()
        search = page.locator('nav[aria-label="Main"]').get_by_role("link", name="Search")
        expect(search).to_be_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    finally:
        context.close()
    assert net.blocked == []


# --- Get help and the support block ---------------------------------------------------------------


def test_get_help_shows_a_number_on_the_first_screen_and_every_region_one_step_away(browser, site):
    context, net = phone_context(browser, site)
    page = context.new_page()
    try:
        page.goto(site.url("/get-help/"))
        emergency = page.locator("main .region__emergency a").first
        expect(emergency).to_be_in_viewport()
        first_line = page.locator("main .service__contact a[href^='tel:']").first
        expect(first_line).to_be_in_viewport()
        # Every other region is one tap away, and so is any other country.
        links = page.locator("nav#regions a")
        count = links.count()
        assert count >= 3
        last = links.nth(count - 1)
        expect(last).to_have_text("Another country")
        links.nth(1).tap()
        target = page.evaluate("location.hash")
        expect(page.locator(target)).to_be_in_viewport()
        expect(page.locator(f"section.region:has({target}) .region__emergency a")).to_be_visible()
        page.goto(site.url("/get-help/"))
        last.tap()
        other = page.locator("#other-countries")
        expect(other.get_by_role("link", name="Find A Helpline")).to_be_in_viewport()
    finally:
        context.close()
    assert net.blocked == []


def test_a_support_first_article_offers_support_once_near_the_top(browser, site):
    context, net = phone_context(browser, site)
    page = context.new_page()
    try:
        page.goto(site.url(ARTICLE))
        blocks = page.locator("section.get-help")
        expect(blocks).to_have_count(1)
        # Before the first paragraph of the article, and within the second screen.
        top = page.evaluate(BOX, "section.get-help")
        prose = page.evaluate(BOX, ".prose p")
        assert top["y"] < prose["y"]
        assert top["y"] < 2 * PHONE["height"], top
        emergency = page.locator(".get-help__emergency a")
        assert emergency.count() >= 2  # every region's number, in one line
    finally:
        context.close()
    assert net.blocked == []


# --- the exit controls: Enter and Space, with and without JavaScript ----------------------------------


@pytest.mark.parametrize("key", ["Enter", "Space"])
@pytest.mark.parametrize("control", ["button", "skip-link"])
def test_exit_controls_leave_on_enter_and_space(page, site, control, key):
    hits = stub_exit(page, site)
    page.goto(site.url(ARTICLE))
    if control == "button":
        page.locator(BUTTON).focus()
    else:
        page.keyboard.press("Tab")
        page.keyboard.press("Tab")
        assert "js-exit-skiplink" in page.evaluate("document.activeElement.className")

    page.keyboard.press(key)

    # Space used to scroll the page and stay: now both keys leave, once.
    page.wait_for_url(site.exit_url)
    expect(page.get_by_role("heading", name="Weather stub")).to_be_visible()
    assert hits == [site.exit_url]


@pytest.mark.parametrize("control", ["button", "skip-link"])
def test_without_javascript_enter_follows_each_exit_control(browser, site, control):
    context, net = open_context(browser, site, java_script_enabled=False, viewport=PHONE)
    page = context.new_page()
    try:
        page.goto(site.url(ARTICLE))
        if control == "button":
            page.locator(BUTTON).focus()
        else:
            page.keyboard.press("Tab")
            page.keyboard.press("Tab")
        page.keyboard.press("Enter")
        page.wait_for_url(site.exit_url)
        assert net.exits == [site.exit_url]
    finally:
        context.close()
    assert net.blocked == []


# --- the Shift hint: for keyboards only --------------------------------------------------------------


def test_the_shift_hint_is_shown_where_there_is_a_keyboard(page, site):
    page.goto(site.url("/"))
    hint = page.locator(".exit-hint__keys")
    expect(hint).to_be_visible()
    expect(hint).to_have_text("Press Shift 3 times to leave quickly.")
    expect(page.get_by_text("Press Shift 3 times")).to_be_visible()


def test_the_shift_hint_is_not_shown_or_read_on_a_touch_screen(browser, site):
    context, net = phone_context(browser, site)
    page = context.new_page()
    try:
        page.goto(site.url("/"))
        assert page.evaluate("matchMedia('(hover: none) and (pointer: coarse)').matches")
        page.locator(".site-menu__toggle").tap()
        expect(page.locator(".exit-hint")).to_be_visible()  # the Online safety link stays
        expect(page.locator(".exit-hint__keys")).to_be_hidden()
        # display: none also takes it out of what a screen reader can reach.
        snapshot = page.locator("header").aria_snapshot()
        assert "Shift" not in snapshot and "Online safety and quick exit" in snapshot
    finally:
        context.close()
    assert net.blocked == []


# --- no dead ends: feeds, the A-Z -----------------------------------------------------------------------


def test_following_the_feed_link_leads_to_a_page_not_raw_xml(page, site):
    page.goto(site.url("/"))
    with page.expect_navigation():
        page.locator("footer").get_by_role("link", name="Follow new articles").click()
    expect(page.locator("h1")).to_have_text("Follow new articles")
    assert page.evaluate("document.contentType") == "text/html"
    expect(page.locator(".feed-address code")).to_contain_text("/feed.xml")
    assert page.locator('a[href$=".xml"]').count() == 0


def test_articles_a_to_z_lists_every_article(page, site):
    page.goto(site.url("/articles/"))
    built = sorted(p.parent.name for p in (site.out / "articles").glob("*/index.html"))
    listed = page.locator(".az-letter .card h3 a").evaluate_all(
        "(links) => links.map((a) => a.getAttribute('href'))"
    )
    assert sorted(h.rstrip("/").rsplit("/", 1)[1] for h in listed) == built
    letters = page.locator('nav[aria-label="Letters"] a')
    letters.last.click()
    expect(page.locator(page.evaluate("location.hash"))).to_be_in_viewport()


# --- axe: the new pages, and the phone header with its menu open -------------------------------------


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("path", ["/articles/", "/feeds/", "/get-help/#regions"])
def test_axe_on_the_new_pages(page, site, path, scheme):
    page.emulate_media(color_scheme=scheme)
    page.goto(site.url(path))
    results = AXE.run(page, options=AXE_OPTIONS)
    assert results.violations_count == 0, results.generate_report()


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_axe_on_the_phone_header_with_the_menu_open(browser, site, scheme):
    context, net = phone_context(browser, site, color_scheme=scheme)
    page = context.new_page()
    try:
        page.goto(site.url(ARTICLE))
        page.locator(".site-menu__toggle").tap()
        expect(page.locator('nav[aria-label="Main"] a').first).to_be_visible()
        results = AXE.run(page, options=AXE_OPTIONS)
        assert results.violations_count == 0, results.generate_report()
    finally:
        context.close()
    assert net.blocked == []


# --- screenshots for docs/screenshots/ --------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "path"), [("home", "/"), ("article", ARTICLE), ("get-help", "/get-help/")]
)
def test_phone_first_screen_screenshots(browser, site, artifacts, name, path):
    # The first screen a phone shows (375 x 812, not the whole page): copied by hand into
    # docs/screenshots/ when the theme changes.
    context, net = phone_context(browser, site, device_scale_factor=1)
    try:
        page = context.new_page()
        page.goto(site.url(path))
        expect(page.locator("h1")).to_be_visible()
        target = artifacts / f"first-screen-{name}.png"
        page.screenshot(path=str(target))
    finally:
        context.close()
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert net.blocked == []
