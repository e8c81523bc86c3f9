"""Issue 13 (points 2 to 7), built end to end: help first, start-here paths, the A-Z, topics as
words, honest review status, feeds explained and a sitemap of indexable pages only.

Fixture sites have several regions (a default one that is not first by name, two regions that
share an emergency number, a line for one area, lines for content notes), so that nothing here
passes by accident on a one-region site.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from selectolax.lexbor import LexborHTMLParser
from sitekit import article, make_site, run

from haven.config import load_config
from haven.errors import ConfigError

REGIONS_YAML = """\
title: Fixture site
base_url: https://example.org/
search: false
timezone: UTC
topics:
  - key: selfcare
    label: Self-care
    description: Looking after yourself.
  - key: traumainformedcare
    label: Trauma-informed care
    description: Services that work with trauma in mind.
  - key: sexualtrust
    label: Closeness and safety
    description: Feeling safe with someone.
    hashtag: "#SexualTrust"
content_notes:
  - key: suicide
    label: suicide
    support_first: true
  - key: sexual-violence
    label: sexual assault and rape
exit_this_page:
  url: https://www.bbc.co.uk/weather
default_region: GB
support:
  - name: Samaritans
    region: GB
    phone: "116 123"
    url: https://help.example.net/samaritans/
    last_verified: 2026-11-01
    content_notes: [suicide]
  - name: Rape support line
    region: GB
    area: England and Wales
    phone: "0808 500 2222"
    last_verified: 2026-11-01
    content_notes: [sexual-violence]
  - name: Lifeline
    region: US
    phone: "988"
    last_verified: 2026-11-01
  - name: Crisis line
    region: CA
    phone: "988"
    last_verified: 2026-11-01
  - name: Irish line
    region: IE
    phone: "116 123"
    last_verified: 2026-11-01
emergency:
  GB: "999"
  US: "911"
  CA: "911"
  IE: "112"
regions:
  GB: United Kingdom
  US: United States
  CA: Canada
  IE: Ireland
"""

PATHS_YAML = """\
start_here:
  - title: If something happened recently
    description: First steps.
    articles:
      - first.md
      - second.md
      - third.md
  - title: Supporting someone
    articles:
      - second.md
"""

POLICY = "---\ntitle: Editorial policy\n---\n\nHow we write.\n"
GET_HELP = "---\ntitle: Get help\nlayout: help\n---\n\n## Before you call\n\nTake your time.\n"


def html(root: Path, rel: str) -> LexborHTMLParser:
    return LexborHTMLParser((root / "_site" / rel).read_text(encoding="utf-8"))


def site_with(tmp_path: Path, files: dict[str, str], extra_yaml: str = "") -> Path:
    return make_site(
        tmp_path,
        {
            "content/pages/editorial-policy.md": POLICY,
            "content/pages/get-help.md": GET_HELP,
            **files,
        },
        site_yaml=REGIONS_YAML + extra_yaml,
    )


def three_articles(**extra: str) -> dict[str, str]:
    return {
        "content/articles/first.md": article(
            "First", date="2026-01-01", extra=extra.get("first", "")
        ),
        "content/articles/second.md": article(
            "Second", date="2026-01-02", extra=extra.get("second", "")
        ),
        "content/articles/third.md": article("Third", date="2026-01-03"),
        "content/articles/zebra.md": article("Zebra crossings", date="2026-01-04"),
    }


# --- 2. help first ---------------------------------------------------------------------------------


def test_get_help_opens_with_the_default_region_then_the_others_then_any_country(tmp_path):
    root = site_with(tmp_path, three_articles())
    assert run(root) == 0
    main = html(root, "get-help/index.html").css_first("main")
    jump = [a.attributes["href"] for a in main.css("nav#regions a")]
    # The site's own region first, then the others by name, then every other country.
    assert jump == ["#region-gb", "#region-ca", "#region-ie", "#region-us", "#other-countries"]
    regions = main.css("section.region")
    assert [r.css_first("h2").text() for r in regions] == [
        "United Kingdom",
        "Canada",
        "Ireland",
        "United States",
        "Another country",
    ]
    emergency = [r.css_first(".region__emergency a") for r in regions[:4]]
    assert [a.attributes["href"] for a in emergency] == ["tel:999", "tel:911", "tel:112", "tel:911"]
    gb = regions[0]
    assert [h.text() for h in gb.css(".service__name")] == ["Samaritans", "Rape support line"]
    assert gb.css_first(".service__area").text() == "For England and Wales"
    assert regions[4].css_first('a[href="https://findahelpline.com/"]') is not None
    # Every number comes before the page's own prose.
    text = main.html
    assert text.rindex('href="tel:') < text.index("Before you call")


def test_article_support_block_is_shown_once_region_neutral_with_matching_lines_first(tmp_path):
    files = three_articles(
        first="content_notes: [sexual-violence]\n", second="content_notes: [suicide]\n"
    )
    root = site_with(tmp_path, files)
    assert run(root) == 0
    # Not support_first: once, after the article, the line for its content note first.
    first = html(root, "articles/first/index.html")
    blocks = first.css("section.get-help")
    assert len(blocks) == 1 and blocks[0].parent.tag == "main"
    block = blocks[0]
    assert block.css_first(".get-help__emergency").text() == (
        "In an emergency, call 999 (United Kingdom), 911 (Canada, United States) or 112 (Ireland)."
    )
    assert block.css_first(".get-help__region").text() == "United Kingdom support lines:"
    assert [h.text() for h in block.css(".service__name")] == ["Rape support line", "Samaritans"]
    assert "Lifeline" not in block.text()
    assert block.css_first('a[href="/get-help/#regions"]').text() == "Support in other countries"
    # support_first: once, at the top of the article, before its first paragraph.
    second = html(root, "articles/second/index.html")
    blocks = second.css("section.get-help")
    assert len(blocks) == 1 and blocks[0].parent.tag == "article"
    assert [h.text() for h in blocks[0].css(".service__name")] == [
        "Samaritans",
        "Rape support line",
    ]
    page = second.html
    assert page.index('id="get-help"') < page.index("Some text.")
    # The content note's link goes to the one block.
    assert second.css_first('.content-note a[href="#get-help"]') is not None


def test_get_help_now_is_the_same_on_every_page_and_outside_the_menu(tmp_path):
    root = site_with(tmp_path, three_articles())
    assert run(root) == 0
    seen = set()
    pages = sorted((root / "_site").rglob("*.html"))
    assert len(pages) > 10
    for path in pages:
        tree = LexborHTMLParser(path.read_text(encoding="utf-8"))
        links = tree.css("a.help-now")
        assert len(links) == 1, path
        assert links[0].parent.attributes.get("class") == "wrap site-header__bar", path
        assert tree.css_first("details.site-menu a.help-now") is None
        seen.add(links[0].html)
    assert seen == {'<a class="help-now" href="/get-help/">Get help now</a>'}


# --- 4. paths and the A-Z ------------------------------------------------------------------------------


def test_start_here_paths_lead_the_home_page_and_replace_dated_neighbours(tmp_path, capsys):
    root = site_with(tmp_path, three_articles(), PATHS_YAML)
    assert run(root) == 0
    home = html(root, "index.html")
    assert [h.text() for h in home.css("main h2")][:2] == ["Start here", "Latest articles"]
    path = home.css_first("#path-if-something-happened-recently")
    assert [a.text() for a in path.css("ol a")] == ["First", "Second", "Third"]
    assert path.css_first(".path__description").text() == "First steps."
    # The second article: part 2 of 3 in one path, part 1 of 1 in the other.
    second = html(root, "articles/second/index.html")
    parts = [p.text() for p in second.css(".article__path")]
    assert parts == [
        "Part 2 of 3 in If something happened recently",
        "Part 1 of 1 in Supporting someone",
    ]
    navs = second.css("nav.path-nav")
    assert [a.attributes["href"] for a in navs[0].css("li a")] == [
        "/articles/first/",
        "/articles/third/",
    ]
    assert navs[1].css("li a") == []
    assert second.css('nav[aria-label="More articles"]') == []
    # Outside every path: the dated neighbours, as before.
    zebra = html(root, "articles/zebra/index.html")
    assert zebra.css(".path-nav") == []
    dated = [a.attributes["href"] for a in zebra.css('nav[aria-label="More articles"] a')]
    assert dated == ["/articles/third/"]


def test_a_path_naming_a_missing_article_warns_with_the_line_and_fails_strict_and_check(
    tmp_path, capsys
):
    missing = PATHS_YAML.replace("      - third.md\n", "      - thrid.md\n      - draft.md\n")
    files = {
        **three_articles(),
        "content/articles/draft.md": article("Draft", extra="draft: true\n"),
    }
    root = site_with(tmp_path, files, missing)
    line = (REGIONS_YAML + missing).splitlines().index("      - thrid.md") + 1
    assert run(root) == 0
    err = capsys.readouterr().err
    assert (
        f"site.yaml:{line}: warning: 'start_here[0].articles[2]': start-here path 'If something "
        "happened recently': no article content/articles/thrid.md; the path skips it (check the "
        "file name below content/articles/)"
    ) in err
    assert (
        f"site.yaml:{line + 1}: warning: 'start_here[0].articles[3]': start-here path 'If "
        "something happened recently': 'draft.md' is a draft and not published"
    ) in err
    # The path skips what is missing: first and second, part N of 2.
    first = html(root, "articles/first/index.html")
    assert first.css_first(".article__path").text() == (
        "Part 1 of 2 in If something happened recently"
    )
    assert run(root, "check", "--format", "json") == 1
    report = json.loads(capsys.readouterr().out)
    found = [p for p in report["problems"] if p["kind"] == "start-here-missing"]
    assert [(p["severity"], p["source"], p["line"]) for p in found] == [
        ("error", "site.yaml", line),
        ("error", "site.yaml", line + 1),
    ]
    assert run(root, "build", "--strict") == 1
    assert "error: 'start_here[0].articles[2]'" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("paths", "key", "message"),
    [
        (
            "start_here:\n  - title: A\n    articles: [first]\n",
            "start_here[0].articles[0]",
            "such as what-is-trauma.md",
        ),
        (
            "start_here:\n  - title: A\n    articles: []\n",
            "start_here[0].articles",
            "at least one article",
        ),
        (
            "start_here:\n  - title: A\n    articles:\n      - first.md\n      - first.md\n",
            "start_here[0].articles[1]",
            "in this path twice",
        ),
        (
            "start_here:\n  - title: A\n    articles: [first.md]\n  - title: a\n    articles: [second.md]\n",
            "start_here[1].title",
            "also the title of path 0",
        ),
        ("start_here:\n  - articles: [first.md]\n", "start_here[0]", "missing required key title"),
        (
            "start_here:\n  - title: A\n    article: [first.md]\n",
            "start_here[0].article",
            "unknown key",
        ),
    ],
)
def test_start_here_mistakes_are_site_yaml_errors_with_key_and_line(tmp_path, paths, key, message):
    root = site_with(tmp_path, three_articles(), paths)
    with pytest.raises(ConfigError) as caught:
        load_config(root)
    found = [d for d in caught.value.diagnostics if d.key == key]
    assert found and message in found[0].message + (found[0].hint or ""), caught.value.diagnostics
    text = (REGIONS_YAML + paths).splitlines()
    assert found[0].line is not None and found[0].line > text.index("start_here:")


def test_articles_a_to_z_lists_every_published_article_with_summary_and_notes(tmp_path):
    files = {
        **three_articles(first="content_notes: [suicide]\n"),
        "content/articles/apple.md": article("Über alles", date="2026-01-05"),
        "content/articles/later.md": article("A draft", extra="draft: true\n"),
        "content/articles/digit.md": article("3 small steps", date="2026-01-06"),
    }
    root = site_with(tmp_path, files)
    assert run(root) == 0
    az = html(root, "articles/index.html")
    sections = az.css("section.az-letter")
    assert [s.css_first("h2").text() for s in sections] == ["0-9", "F", "S", "T", "U", "Z"]
    titles = [a.text() for a in az.css(".card h3 a")]
    assert titles == ["3 small steps", "First", "Second", "Third", "Über alles", "Zebra crossings"]
    first = sections[1].css_first(".card")
    assert first.css_first(".card__summary").text() == "A short summary."
    assert first.css_first(".card__note").text() == "Content note: talks about suicide."
    letters = [a.attributes["href"] for a in az.css('nav[aria-label="Letters"] a')]
    assert letters == [f"#{s.attributes['aria-labelledby']}" for s in sections]
    # In the navigation of every page, and in the sitemap.
    assert html(root, "index.html").css_first('nav[aria-label="Main"] a[href="/articles/"]')
    assert "https://example.org/articles/" in (root / "_site/sitemap.xml").read_text()


# --- 5. topics as words --------------------------------------------------------------------------------


def test_topics_show_labels_and_camel_case_hashtags_everywhere(tmp_path):
    files = {
        "content/articles/one.md": article("One", tags=["traumainformedcare", "sexualtrust"]),
        "content/articles/two.md": article("Two", tags=["#TraumaInformedCare"]),
    }
    root = site_with(tmp_path, files)
    assert run(root) == 0
    tags = html(root, "articles/one/index.html").css(".article__header .hashtags a")
    assert [t.text() for t in tags] == ["#TraumaInformedCare", "#SexualTrust"]
    assert "Trauma<wbr>Informed<wbr>Care" in tags[0].html
    assert [t.attributes["href"] for t in tags] == [
        "/tags/traumainformedcare/",
        "/tags/sexualtrust/",
    ]
    topic = html(root, "tags/traumainformedcare/index.html")
    assert topic.css_first("h1").text() == "Trauma-informed care"
    assert topic.css_first("title").text() == "Trauma-informed care | Fixture site"
    assert topic.css_first(".topic-label").text().startswith("#TraumaInformedCare · 2 articles")
    index = html(root, "tags/index.html")
    assert [a.text() for a in index.css(".topic-list__title a")] == [
        "Closeness and safety",
        "Trauma-informed care",
    ]
    feed = ET.parse(root / "_site/tags/traumainformedcare/feed.xml").getroot()
    ns = {"a": "http://www.w3.org/2005/Atom"}
    assert feed.find("a:title", ns).text == "Fixture site: Trauma-informed care"
    labels = {c.get("label") for c in feed.iterfind("a:entry/a:category", ns)}
    assert labels == {"Trauma-informed care", "Closeness and safety"}


@pytest.mark.parametrize(
    ("hashtag", "message"),
    [
        ('"#Trauma care"', "is not one word"),
        ('"#CareInformed"', "is not a spelling of the key 'traumainformedcare'"),
    ],
)
def test_a_declared_hashtag_must_spell_the_topic(tmp_path, hashtag, message):
    yaml_text = REGIONS_YAML.replace(
        "    description: Services that work with trauma in mind.\n",
        f"    description: Services that work with trauma in mind.\n    hashtag: {hashtag}\n",
    )
    root = make_site(tmp_path, {}, site_yaml=yaml_text)
    with pytest.raises(ConfigError) as caught:
        load_config(root)
    (d,) = caught.value.diagnostics
    assert d.key == "topics[1].hashtag" and message in d.message
    assert d.line == yaml_text.splitlines().index(f"    hashtag: {hashtag}") + 1


# --- 6. review status ------------------------------------------------------------------------------


def test_an_unreviewed_article_says_so_and_a_reviewed_one_shows_its_review(tmp_path):
    files = {
        "content/articles/a.md": article("A"),
        "content/articles/b.md": article(
            "B",
            extra='reviewed_by: "Dr C. Reviewer"\nlast_reviewed: 2026-01-05\n',
        ),
    }
    root = site_with(tmp_path, files)
    assert run(root) == 0
    line = html(root, "articles/a/index.html").css_first(".review .review__none")
    assert line.text() == "This page has not been reviewed yet. How we write and review our content"
    assert line.css_first("a").attributes["href"] == "/editorial-policy/"
    reviewed = html(root, "articles/b/index.html").css_first(".review")
    assert reviewed.css(".review__none") == []
    assert "Page last reviewed: 5 January 2026" in reviewed.text()


# --- 3 and 7. feeds explained, sitemap of indexable pages ------------------------------------------------


def test_feeds_page_replaces_every_visible_link_to_raw_xml(tmp_path):
    root = site_with(tmp_path, three_articles())
    assert run(root) == 0
    feeds = html(root, "feeds/index.html")
    assert feeds.css_first(".feed-address code").text() == "https://example.org/feed.xml"
    assert feeds.css_first("#feed-selfcare code").text() == (
        "https://example.org/tags/selfcare/feed.xml"
    )
    for path in (root / "_site").rglob("*.html"):
        tree = LexborHTMLParser(path.read_text(encoding="utf-8"))
        assert tree.css('a[href$=".xml"]') == [], path
    # Feed readers still find the feeds from every page.
    home = html(root, "index.html")
    assert home.css_first('link[rel="alternate"]').attributes["href"] == "/feed.xml"
    assert home.css_first('footer a[href="/feeds/"]').text() == "Follow new articles"
    topic = html(root, "tags/selfcare/index.html")
    assert topic.css_first('.feed-link a[href="/feeds/#feed-selfcare"]') is not None


def test_sitemap_lists_exactly_the_pages_that_may_be_indexed(tmp_path):
    root = site_with(tmp_path, three_articles())
    text = REGIONS_YAML.replace("search: false", "search: true")
    (root / "site.yaml").write_text(text, encoding="utf-8")
    assert run(root) == 0
    site = root / "_site"
    ns = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9"}
    listed = {
        loc.text.removeprefix("https://example.org")
        for loc in ET.parse(site / "sitemap.xml").getroot().iterfind("s:url/s:loc", ns)
    }
    indexable, noindex = set(), set()
    for path in site.rglob("*.html"):
        rel = path.relative_to(site).as_posix()
        if rel.startswith("pagefind/"):
            continue
        url = "/" + rel.removesuffix("index.html")
        robots = LexborHTMLParser(path.read_text()).css_first('meta[name="robots"]')
        if robots is not None and "noindex" in robots.attributes["content"]:
            noindex.add(url)
        else:
            indexable.add(url)
    assert noindex == {"/search/", "/404.html"}
    assert listed == indexable
    assert {"/articles/", "/feeds/", "/get-help/"} <= listed


def test_feeds_is_a_reserved_slug(tmp_path, capsys):
    root = site_with(tmp_path, {"content/pages/feeds.md": "---\ntitle: Feeds\n---\n\nMine.\n"})
    assert run(root) == 1
    assert re.search(
        r"content/pages/feeds\.md: error: 'slug': slug 'feeds' is reserved", capsys.readouterr().err
    )
