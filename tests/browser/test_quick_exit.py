"""Quick exit ("Exit this page", after GOV.UK): button, Shift x3, history, no-JS and print."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect

from .conftest import ARTICLE, EXIT_STUB, open_context

BUTTON = ".exit-this-page__button"
CLOCK_START = datetime(2026, 1, 1, tzinfo=UTC)
STATUS = "[data-exit-status]"


class ExitRoute:
    """Answers the exit URL for one page; with `hold`, keeps the request pending until released."""

    def __init__(self, page, url: str, hold: bool = False):
        self.hits: list[str] = []
        self.pending = []
        self.hold = hold
        page.route(url, self.handle)

    def handle(self, route) -> None:
        self.hits.append(route.request.url)
        if self.hold:
            self.pending.append(route)
        else:
            self.fulfil(route)

    @staticmethod
    def fulfil(route) -> None:
        route.fulfill(status=200, content_type="text/html; charset=utf-8", body=EXIT_STUB)

    def release(self) -> None:
        while self.pending:
            self.fulfil(self.pending.pop())


# Reports the page the moment the overlay gets its text, while the exit URL is still loading.
# (Playwright cannot evaluate in a page whose navigation is pending, so the page calls us.)
REPORT_EXIT = """new MutationObserver(() => {
  const overlay = document.querySelector('.exit-overlay');
  if (!overlay || !overlay.textContent || window.__exitReported) return;
  window.__exitReported = true;
  window.reportExit({
    text: overlay.textContent,
    role: overlay.getAttribute('role'),
    overlay_shown: overlay.getClientRects().length > 0,
    body_class: document.body.className,
    shown: [...document.body.children]
      .filter((el) => el !== overlay && el.getClientRects().length > 0)
      .map((el) => el.tagName.toLowerCase() + '.' + el.className),
  });
}).observe(document, {childList: true, subtree: true, characterData: true});"""


def wait_until(page, condition, seconds: float = 10) -> None:
    """Let Playwright deliver events until `condition()` holds (bounded, then it fails)."""
    for _ in range(int(seconds * 20)):
        if condition():
            return
        page.wait_for_timeout(50)
    raise AssertionError(f"condition not met within {seconds} s")


def goto_with_paused_clock(page, url: str) -> None:
    """Open `url` under a fake clock that moves only when the test says (`clock.run_for`).

    A clock left running would add real time between key presses on a busy machine.
    """
    page.clock.install(time=CLOCK_START)
    page.goto(url)
    page.clock.pause_at(CLOCK_START + timedelta(minutes=1))


def on_stub(page) -> None:
    expect(page.get_by_role("heading", name="Weather stub")).to_be_visible()


def test_exit_url_is_configured_off_site(site):
    # The stub below stands in for this URL; everything else off-site is blocked.
    assert site.exit_url.startswith("https://")
    assert "127.0.0.1" not in site.exit_url
    assert site.exit_history == "replace"


def test_button_hides_the_page_then_goes_to_the_exit_url(page, site):
    reports: list[dict] = []
    page.expose_function("reportExit", lambda state: reports.append(state))
    page.add_init_script(REPORT_EXIT)
    exit_route = ExitRoute(page, site.exit_url, hold=True)
    page.goto(site.url(ARTICLE))
    expect(page.locator("main")).to_be_visible()

    page.locator(BUTTON).click(no_wait_after=True)

    # The page's report and the held request reach us as separate events, in either order.
    wait_until(page, lambda: reports and exit_route.pending)
    assert len(reports) == 1, reports
    state = reports[0]
    assert (state["text"], state["role"], state["overlay_shown"]) == ("Loading.", "alert", True)
    assert "exit-hide" in state["body_class"].split(), state
    assert state["shown"] == [], f"still visible behind the overlay: {state['shown']}"
    assert exit_route.hits == [site.exit_url]
    assert exit_route.pending, "the exit URL was answered before the check"

    exit_route.release()
    page.wait_for_url(site.exit_url)
    on_stub(page)


def test_exit_skip_link_exits_too(page, site):
    exit_route = ExitRoute(page, site.exit_url)
    page.goto(site.url("/"))

    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")

    page.wait_for_url(site.exit_url)
    on_stub(page)
    assert exit_route.hits == [site.exit_url]


def test_shift_three_times_exits(page, site):
    exit_route = ExitRoute(page, site.exit_url)
    page.goto(site.url(ARTICLE))
    status = page.locator(STATUS)

    page.keyboard.press("Shift")
    expect(status).to_have_text(re.compile(r"Shift pressed 1 time\. Press Shift 2 more times"))
    expect(page.locator(".exit-this-page__indicator span.is-on")).to_have_count(1)
    page.keyboard.press("Shift")
    expect(status).to_have_text(re.compile(r"Shift pressed 2 times\. Press Shift 1 more time"))
    expect(page.locator(".exit-this-page__indicator span.is-on")).to_have_count(2)
    page.keyboard.press("Shift")

    page.wait_for_url(site.exit_url)
    on_stub(page)
    assert exit_route.hits == [site.exit_url]


@pytest.mark.parametrize(
    "keys",
    [
        ["Shift", "a", "Shift", "Shift"],  # another key starts the count again
        ["Shift", "Shift+A", "Shift", "Shift"],  # typing a capital letter is not a Shift press
    ],
    ids=["other-key", "shift-a"],
)
def test_another_key_between_shifts_does_not_exit(page, site, keys):
    exit_route = ExitRoute(page, site.exit_url)
    page.goto(site.url(ARTICLE))

    for key in keys:
        page.keyboard.press(key)

    # The handler runs synchronously on keyup: once the status shows the last press, an exit would
    # already have started.
    expect(page.locator(STATUS)).to_have_text(re.compile(r"^Shift pressed 2 times\."))
    expect(page.locator(".exit-overlay")).to_have_count(0)
    assert page.url == site.url(ARTICLE)
    assert exit_route.hits == []


def test_typing_capitals_in_the_search_box_does_not_exit(page, site):
    exit_route = ExitRoute(page, site.exit_url)
    page.goto(site.url("/"))
    box = page.get_by_role("searchbox", name="Search articles")
    box.focus()

    for key in ("Shift+T", "Shift+R", "Shift+U", "Shift+S", "Shift+T"):
        page.keyboard.press(key)

    expect(box).to_have_value("TRUST")
    expect(page.locator(".exit-overlay")).to_have_count(0)
    assert exit_route.hits == []


def test_shift_presses_more_than_five_seconds_apart_do_not_exit(page, site):
    # Playwright's fake clock: the 5 s timeout passes without waiting 5 s.
    exit_route = ExitRoute(page, site.exit_url)
    goto_with_paused_clock(page, site.url(ARTICLE))
    status = page.locator(STATUS)

    page.keyboard.press("Shift")
    page.keyboard.press("Shift")
    expect(status).to_have_text(re.compile(r"^Shift pressed 2 times\."))
    page.clock.run_for(5100)
    expect(status).to_have_text("Exit this page shortcut timed out.")
    expect(page.locator(".exit-this-page__indicator span.is-on")).to_have_count(0)
    page.keyboard.press("Shift")

    expect(status).to_have_text(re.compile(r"^Shift pressed 1 time\."))
    expect(page.locator(".exit-overlay")).to_have_count(0)
    assert exit_route.hits == []


def test_the_timer_restarts_on_each_press(page, site):
    # 4.9 s between presses is within the limit each time: the third press exits.
    exit_route = ExitRoute(page, site.exit_url)
    goto_with_paused_clock(page, site.url(ARTICLE))
    status = page.locator(STATUS)

    page.keyboard.press("Shift")
    expect(status).to_have_text(re.compile(r"^Shift pressed 1 time\."))
    page.clock.run_for(4900)
    page.keyboard.press("Shift")
    expect(status).to_have_text(re.compile(r"^Shift pressed 2 times\."))
    page.clock.run_for(4900)
    page.keyboard.press("Shift")

    page.wait_for_url(site.exit_url)
    assert exit_route.hits == [site.exit_url]


def test_without_javascript_the_button_is_a_working_link(browser, site):
    context, net = open_context(browser, site, java_script_enabled=False)
    page = context.new_page()
    try:
        page.goto(site.url(ARTICLE))
        button = page.locator(BUTTON)
        expect(button).to_be_visible()
        expect(button).to_have_attribute("href", site.exit_url)
        rel = button.get_attribute("rel").split()
        assert "nofollow" in rel and "noreferrer" in rel

        button.click()

        page.wait_for_url(site.exit_url)
        on_stub(page)
        assert net.exits == [site.exit_url]
        assert net.blocked == []
    finally:
        context.close()


def test_with_replace_back_does_not_return_to_the_exited_page(page, site):
    exit_route = ExitRoute(page, site.exit_url)
    page.goto(site.url("/"))
    page.goto(site.url(ARTICLE))
    page.locator(BUTTON).click()
    page.wait_for_url(site.exit_url)

    page.go_back(wait_until="commit")  # a page restored from the bfcache fires no load event

    # The article's history entry was replaced: Back skips it and lands on the page before.
    page.wait_for_url(site.url("/"), wait_until="commit")
    expect(page.locator(".exit-overlay")).to_have_count(0)
    assert exit_route.hits == [site.exit_url]


def test_with_assign_back_returns_to_a_usable_page(browser, assign_site):
    site = assign_site
    assert site.exit_history == "assign"
    context, net = open_context(browser, site)
    page = context.new_page()
    try:
        exit_route = ExitRoute(page, site.exit_url)
        page.add_init_script(
            "addEventListener('pageshow', (e) => { window.__restored = e.persisted; });"
        )
        page.goto(site.url(ARTICLE))
        page.locator(BUTTON).click()
        page.wait_for_url(site.exit_url)

        page.go_back(wait_until="commit")  # a page restored from the bfcache fires no load event

        page.wait_for_url(site.url(ARTICLE), wait_until="commit")
        # Restored as it was left (overlay and all) from the back/forward cache: exit.js's
        # pageshow handler is what makes it usable again.
        page.wait_for_function("window.__restored !== undefined")
        assert page.evaluate("window.__restored") is True, "not restored from the bfcache"
        expect(page.locator(".exit-overlay")).to_have_count(0)
        expect(page.locator("body")).not_to_have_class(re.compile(r"\bexit-hide\b"))
        expect(page.locator("main")).to_be_visible()
        expect(page.locator(BUTTON)).to_be_visible()
        expect(page.locator(STATUS)).to_have_text("")
        # And the shortcut works again from a clean count.
        for _ in range(3):
            page.keyboard.press("Shift")
        page.wait_for_url(site.exit_url)
        assert exit_route.hits == [site.exit_url, site.exit_url]
        assert net.blocked == []
    finally:
        context.close()


def test_print_hides_the_exit_button(page, site):
    page.goto(site.url(ARTICLE))
    expect(page.locator(BUTTON)).to_be_visible()

    page.emulate_media(media="print")

    expect(page.locator(BUTTON)).to_be_hidden()
    expect(page.locator("main")).to_be_visible()


@pytest.mark.parametrize(
    ("link", "target"),
    [("Skip to support options", "get-help"), ("Read the summary", "summary")],
)
def test_content_note_links_move_to_their_targets(page, site, link, target):
    page.set_viewport_size({"width": 375, "height": 700})
    page.goto(site.url(ARTICLE))
    note = page.locator(".content-note")
    expect(note).to_be_visible()
    expect(page.locator(f"#{target}")).to_have_count(1)
    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")  # start away from the target

    note.get_by_role("link", name=link).focus()
    page.keyboard.press("Enter")

    page.wait_for_function(f"location.hash === '#{target}'")
    box = page.locator(f"#{target}").bounding_box()
    exit_box = page.locator(BUTTON).bounding_box()
    viewport = page.viewport_size
    assert 0 <= box["y"] < viewport["height"], box
    assert box["y"] >= exit_box["y"] + exit_box["height"] - 1, "target is under the exit button"
    # The next Tab continues from the target: focus goes to the first link at or after it.
    page.keyboard.press("Tab")
    expected = page.evaluate(
        """(id) => {
          const target = document.getElementById(id);
          const links = [...document.querySelectorAll('a[href], button, input, select, textarea')];
          const next = links.find((el) => el.getClientRects().length &&
            (target.contains(el) ||
             target.compareDocumentPosition(el) & Node.DOCUMENT_POSITION_FOLLOWING));
          return next === document.activeElement ? true : next.outerHTML;
        }""",
        target,
    )
    assert expected is True, (expected, page.evaluate("document.activeElement.outerHTML"))
