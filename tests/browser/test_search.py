"""Search: Pagefind's interface finds articles, topic filters narrow results, no-JS fallback."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from .conftest import open_context

# 'cupboard' appears in one article only (checked against the built index's source below).
WORD = "cupboard"
WORD_ARTICLE = "/articles/conflict-and-repair/"
WORD_TITLE = "Conflict and repair in couples"
# The title link of each result, not the links to its sections (sub-results).
RESULT_LINK = "li.pagefind-ui__result > .pagefind-ui__result-inner > .pagefind-ui__result-title a"
MESSAGE = ".pagefind-ui__message"
WAIT = 10_000


def result_count(page) -> int:
    """The number in Pagefind's message, e.g. '18 results for feelings'."""
    text = page.locator(MESSAGE).inner_text()
    match = re.match(r"(\d+) results? for", text)
    assert match, f"unexpected Pagefind message: {text!r}"
    return int(match.group(1))


def test_the_distinctive_word_is_in_one_article_only(site):
    pages = [
        p
        for p in site.page_paths()
        if p.startswith("/articles/")
        and WORD in (site.out / p.strip("/") / "index.html").read_text(encoding="utf-8").lower()
    ]
    assert pages == [WORD_ARTICLE]


def test_query_in_the_address_shows_the_article(page, site):
    page.goto(site.url(f"/search/?q={WORD}"))

    link = page.locator(RESULT_LINK, has_text=WORD_TITLE)
    expect(link).to_be_visible(timeout=WAIT)
    expect(page.locator(MESSAGE)).to_have_text(re.compile(rf"^1 result for {WORD}"))
    assert link.get_attribute("href") == WORD_ARTICLE
    # The box shows the query, so the reader can change it.
    expect(page.get_by_role("textbox", name="Search articles").last).to_have_value(WORD)


def test_header_form_leads_to_results(page, site):
    page.goto(site.url("/"))

    box = page.get_by_role("searchbox", name="Search articles")
    box.fill(WORD)
    box.press("Enter")

    page.wait_for_url(re.compile(r"/search/\?q=" + WORD + "$"))
    expect(page.locator(RESULT_LINK, has_text=WORD_TITLE)).to_be_visible(timeout=WAIT)


def test_topic_filter_narrows_the_results(page, site):
    page.goto(site.url("/search/"))
    box = page.locator("#search input.pagefind-ui__search-input")
    expect(box).to_be_visible(timeout=WAIT)

    box.press_sequentially("feelings")

    expect(page.locator(MESSAGE)).to_have_text(
        re.compile(r"^\d+ results? for feelings"), timeout=WAIT
    )
    expect(page.locator(RESULT_LINK).first).to_be_visible()
    everything = result_count(page)
    assert everything >= 3, "pick a word that several articles share"

    filters = page.locator(".pagefind-ui__filter-panel")
    topic = filters.locator("details.pagefind-ui__filter-block", has_text="topic")
    if topic.get_attribute("open") is None:
        topic.locator("summary").click()
    label = topic.locator("label", has_text=re.compile(r"^Consent \(\d+\)$"))
    expected = int(re.search(r"\((\d+)\)", label.inner_text()).group(1))
    consent = topic.get_by_role("checkbox", name=label.inner_text())
    consent.check()

    expect(page.locator(MESSAGE)).to_have_text(
        re.compile(rf"^{expected} results? for feelings"), timeout=WAIT
    )
    assert 0 < expected < everything
    expect(page.locator(RESULT_LINK)).to_have_count(expected)
    # Every result left is an article about consent.
    for href in page.locator(RESULT_LINK).evaluate_all("els => els.map((a) => a.pathname)"):
        html = (site.out / href.strip("/") / "index.html").read_text(encoding="utf-8")
        assert 'href="/tags/consent/" data-pagefind-filter="topic:Consent"' in html, href


def test_search_works_under_a_sub_path(browser, sub_site):
    site = sub_site
    context, net = open_context(browser, site)
    page = context.new_page()
    try:
        page.goto(site.url(f"/search/?q={WORD}"))

        link = page.locator(RESULT_LINK, has_text=WORD_TITLE)
        expect(link).to_be_visible(timeout=WAIT)
        assert link.get_attribute("href") == "/haven" + WORD_ARTICLE
        link.click()
        page.wait_for_url(site.url(WORD_ARTICLE))
        expect(page.get_by_role("heading", level=1)).to_have_text(WORD_TITLE)
        assert net.blocked == []
    finally:
        context.close()


def test_without_javascript_search_points_to_the_topics(browser, site):
    context, net = open_context(browser, site, java_script_enabled=False)
    page = context.new_page()
    try:
        page.goto(site.url("/"))
        box = page.get_by_role("searchbox", name="Search articles")
        box.fill(WORD)
        box.press("Enter")

        page.wait_for_url(site.url(f"/search/?q={WORD}"))
        topics = page.get_by_role("link", name="browse all articles by topic")
        expect(topics).to_be_visible()
        topics.click()
        page.wait_for_url(site.url("/tags/"))
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        assert net.blocked == []
    finally:
        context.close()
