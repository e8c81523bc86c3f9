"""axe-core (WCAG 2.2 AA rules) on every kind of page in both colour schemes, and the keyboard path."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from .conftest import ARTICLE, TOPIC, open_context

AXE_OPTIONS = {
    "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]},
    "resultTypes": ["violations"],
}
PAGES = {
    "home": "/",
    "article": ARTICLE,
    "topic": TOPIC,
    "topics": "/tags/",
    "search": "/search/",  # with results and the support panel: tests/browser/test_search.py
    "page": "/about/",
    "help": "/get-help/",
    "404": "/no-such-page/",
}
AXE = Axe()

# Elements a keyboard user can reach with Tab, visible ones only (checked in the page).
INTERACTIVE = (
    "a[href], button:not([disabled]), input:not([disabled]):not([type=hidden]), "
    "select:not([disabled]), textarea:not([disabled]), summary, [tabindex]:not([tabindex='-1'])"
)


@pytest.fixture(scope="module")
def axe_page(browser, site):
    """One page reused by every axe run of this module (a context per run costs more than axe)."""
    context, net = open_context(browser, site, viewport={"width": 1280, "height": 800})
    yield context.new_page()
    context.close()
    assert net.blocked == [], f"third-party requests: {net.blocked}"


def describe(violations: list[dict]) -> str:
    """One line per violation and failing node: what a person needs to find and fix it."""
    lines = []
    for v in violations:
        lines.append(f"{v['id']} ({v['impact']}): {v['help']} [{v['helpUrl']}]")
        for node in v["nodes"]:
            lines.append(
                f"    {', '.join(map(str, node['target']))}: {node.get('failureSummary', '')}"
            )
    return "\n".join(lines)


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("name", list(PAGES))
def test_axe_reports_no_wcag_violations(axe_page, site, name, scheme):
    page = axe_page
    page.emulate_media(color_scheme=scheme)
    response = page.goto(site.url(PAGES[name]))
    assert response.status == (404 if name == "404" else 200)
    if name == "article":
        # The article stands for the richest page: check it still has what it was chosen for.
        expect(page.locator(".content-note")).to_have_count(1)
        expect(page.locator("nav.toc")).to_have_count(1)
    assert page.evaluate("matchMedia('(prefers-color-scheme: dark)').matches") == (scheme == "dark")

    results = AXE.run(page, options=AXE_OPTIONS)

    violations = results.response["violations"]
    assert results.violations_count == 0, f"{name} ({scheme}):\n" + describe(violations)


def interactive_in(page, scope: str) -> list[str]:
    """Marks and returns the ids (data-kbd) of the visible interactive elements inside `scope`."""
    return page.evaluate(
        """([scope, selector]) => {
          const out = [];
          document.querySelectorAll(scope).forEach((root) => {
            root.querySelectorAll(selector).forEach((el) => {
              const box = el.getBoundingClientRect();
              const style = getComputedStyle(el);
              if (box.width === 0 || box.height === 0 || style.visibility === 'hidden') return;
              // Inside a closed <details> (the phone's menu): laid out, but not shown.
              if (el.checkVisibility && !el.checkVisibility()) return;
              const id = 'k' + (out.length + 1);
              el.setAttribute('data-kbd', id);
              out.push(id);
            });
          });
          return out;
        }""",
        [scope, INTERACTIVE],
    )


# Outline and shadow of every marked element before anything is focused.
UNFOCUSED_STYLES = """() => Object.fromEntries([...document.querySelectorAll('[data-kbd]')].map((el) => {
  const s = getComputedStyle(el);
  return [el.getAttribute('data-kbd'),
          {style: s.outlineStyle, width: parseFloat(s.outlineWidth), shadow: s.boxShadow}];
}))"""

# The focused element: its mark, whether it can be seen at all (opacity of it and its ancestors),
# and whether the sticky exit button covers all of it (WCAG 2.4.11 Focus Not Obscured).
FOCUS_STATE = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  let opacity = 1;
  for (let n = el; n && n.nodeType === 1; n = n.parentElement) {
    opacity *= parseFloat(getComputedStyle(n).opacity);
  }
  const r = el.getBoundingClientRect();
  const s = getComputedStyle(el);
  const exit = document.querySelector('.exit-this-page__button');
  let covered = false;
  if (exit && el !== exit) {
    const e = exit.getBoundingClientRect();
    covered = r.top >= e.top && r.bottom <= e.bottom && r.left >= e.left && r.right <= e.right;
  }
  return {id: el.getAttribute('data-kbd'), text: (el.innerText || el.value || '').trim(),
          cls: String(el.className), footer: !!el.closest('.site-footer'),
          invisible: opacity === 0, covered, style: {style: s.outlineStyle,
          width: parseFloat(s.outlineWidth), shadow: s.boxShadow}};
}"""


@dataclass
class Walk:
    """What pressing Tab from the top of a page went through, up to the site footer."""

    first: dict
    second: dict
    missing: list[str]  # interactive elements of the header and main never reached
    no_indicator: list[str]  # reached, but focused looks the same as unfocused
    covered: list[str]  # reached, but entirely under the sticky exit button
    invisible: list[str]  # focus landed on something that cannot be seen (opacity 0)


_walks: dict[tuple[str, int], Walk] = {}


def visible_focus(before: dict, after: dict) -> bool:
    """An outline (the site's 3px ring, or the browser's own 'auto' ring) or a new box-shadow."""
    if after["style"] == "auto":
        return True
    if after["style"] not in ("none", "") and after["width"] >= 2:
        return True
    return after["shadow"] != before["shadow"] and after["shadow"] != "none"


def tab_walk(browser, site, path: str, width: int) -> Walk:
    """Tab from the top of `path` at `width` until focus reaches the footer (cached per module)."""
    if (path, width) in _walks:
        return _walks[path, width]
    context, net = open_context(browser, site, viewport={"width": width, "height": 800})
    page = context.new_page()
    try:
        page.goto(site.url(path))
        if path.startswith("/search/"):
            expect(page.locator("#search input").first).to_be_visible()
        expected = interactive_in(page, ".site-header, main")
        assert expected, "no interactive elements found in the header and main"
        unfocused = page.evaluate(UNFOCUSED_STYLES)
        page.keyboard.press("Tab")
        first = page.evaluate(FOCUS_STATE)
        page.keyboard.press("Tab")
        second = page.evaluate(FOCUS_STATE)
        reached: set[str] = set()
        no_indicator, covered, invisible = [], [], []
        for _ in range(len(expected) + 40):  # bounded: a focus trap fails instead of hanging
            page.keyboard.press("Tab")
            state = page.evaluate(FOCUS_STATE)
            if state is None:
                continue
            if state["footer"]:
                break
            label = f"{state['text']!r} ({state['cls']})"
            if state["invisible"]:
                invisible.append(label)
            if state["covered"]:
                covered.append(label)
            if state["id"] is None:
                continue
            reached.add(state["id"])
            if not state["invisible"] and not visible_focus(unfocused[state["id"]], state["style"]):
                no_indicator.append(label)
        missing = [
            page.locator(f"[data-kbd={k}]").evaluate("el => el.outerHTML.slice(0, 120)")
            for k in expected
            if k not in reached
        ]
        assert net.blocked == [], f"third-party requests: {net.blocked}"
    finally:
        context.close()
    _walks[path, width] = Walk(first, second, missing, no_indicator, covered, invisible)
    return _walks[path, width]


KEYBOARD_PAGES = ["/", ARTICLE, "/get-help/", "/search/"]


@pytest.mark.parametrize("path", KEYBOARD_PAGES)
@pytest.mark.parametrize("width", [375, 1280])
def test_keyboard_reaches_everything_with_a_visible_focus(browser, site, path, width):
    walk = tab_walk(browser, site, path, width)

    assert walk.first["text"] == "Skip to main content", walk.first
    assert walk.second["text"] == "Exit this page", walk.second
    assert "js-exit-skiplink" in walk.second["cls"], walk.second
    assert walk.missing == [], f"not reachable by Tab: {walk.missing}"
    assert walk.no_indicator == [], f"no visible focus indicator: {walk.no_indicator}"
    assert walk.covered == [], f"focused element hidden under the exit button: {walk.covered}"


@pytest.mark.parametrize("path", KEYBOARD_PAGES)
def test_tab_never_lands_on_an_invisible_element(browser, site, path):
    walk = tab_walk(browser, site, path, 1280)

    assert walk.invisible == [], f"focus on an invisible element: {walk.invisible}"


def test_skip_link_moves_focus_into_main(page, site):
    page.goto(site.url(ARTICLE))
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")

    assert page.evaluate("location.hash") == "#main"
    page.keyboard.press("Tab")
    inside_main = page.evaluate("() => !!document.activeElement.closest('main')")
    assert inside_main, page.evaluate("document.activeElement.outerHTML")
