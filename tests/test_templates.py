"""The theme: every template rendered with a realistic context, the way haven/site/plan.py renders it.

The environment is the pipeline's own (haven/site/templates.py: autoescape for every template,
StrictUndefined, the `url`/`abs_url`/`once` globals, the `iso`/`date_display` filters), with the
site under the sub-path `/haven/` so that a URL written by hand in a template shows up as one
without the prefix.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime
from pathlib import Path
from urllib.parse import quote

import pytest
from jinja2 import Environment
from markupsafe import Markup
from selectolax.lexbor import LexborHTMLParser as HTMLParser

from haven.config import parse_config
from haven.site.templates import make_environment

ROOT = Path(__file__).resolve().parents[1]
TEMPLATES = ROOT / "templates"
STATIC = ROOT / "static"

BASE_PATH = "/haven"
ORIGIN = "https://haven.example.org"
EXIT_URL = "https://www.bbc.co.uk/weather"
CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; "
    "script-src 'self' 'wasm-unsafe-eval'; object-src 'none'; base-uri 'none'; form-action 'self'"
)
EVIL = "</script><script>alert(1)</script> & \"quoted\" 'x'"


def url(path: str) -> str:
    return BASE_PATH + quote(path, safe="/#?=&")


def abs_url(path: str) -> str:
    return ORIGIN + url(path)


def iso(value: date | datetime) -> str:
    return value.isoformat()


def date_display(value: date | datetime) -> str:
    return f"{value.day} {value:%B %Y}"


def make_env() -> Environment:
    config = parse_config(ROOT, {"title": "Haven", "base_url": f"{ORIGIN}{BASE_PATH}/"})
    env, problems = make_environment(ROOT, config)
    assert problems == []
    return env


# --- a realistic context, per docs/architecture.md "Template context" ---------------------------


def topic(key: str, label: str, words: list[str], count: int = 2, description: str = "") -> dict:
    return {
        "key": key,
        "slug": key,
        "label": label,
        "hashtag": "#" + "".join(words),
        "hashtag_words": words,
        "url": f"/tags/{key}/",
        "count": count,
        "description": description,
    }


SELFCARE = topic(
    "selfcare", "Self-care", ["Self", "Care"], 3, "Small, realistic ways to be kind to yourself."
)
CONSENT = topic("consent", "Consent", ["Consent"], 1, "Consent as an ongoing conversation.")
KOKORO = topic("心の健康", "心の健康", ["心の健康"], 1)

NOTES = [
    {"key": "sexual-violence", "label": "sexual assault and rape"},
    {"key": "self-harm", "label": "self-harm"},
]


def summary(slug: str, title: str, notes=(), topics=(SELFCARE,)) -> dict:
    return {
        "title": title,
        "url": f"/articles/{slug}/",
        "date": datetime(2026, 11, 2, 9, 0, tzinfo=UTC),
        "summary": f"A short summary of {title.lower()}.",
        "topics": list(topics),
        "content_notes": list(notes),
        "reading_minutes": 4,
    }


def site(**overrides) -> dict:
    value = {
        "title": "Haven",
        "description": "Calm, sourced information about trauma, trust, consent and communication.",
        "language": "en",
        "base_url": ORIGIN + BASE_PATH + "/",
        "base_path": BASE_PATH + "/",
        "nav": [
            {"title": "Home", "url": "/"},
            {"title": "Articles A to Z", "url": "/articles/"},
            {"title": "Topics", "url": "/tags/"},
            {"title": "Search", "url": "/search/"},
            {"title": "About", "url": "/about/"},
            {"title": "Contact", "url": "/contact/"},
        ],
        "exit": {"enabled": True, "url": EXIT_URL, "history": "replace", "shortcut": True},
        "support": [
            {
                "name": "988 Suicide & Crisis Lifeline",
                "region": "US",
                "what": "Suicidal thoughts, a mental health crisis, or worry about someone else",
                "phone": "988",
                "tel": "988",
                "text": "988",
                "sms": "988",
                "url": "https://988lifeline.org/",
                "hours": "24 hours a day, every day",
                "cost": "Free",
                "last_verified": date(2026, 11, 1),
                "source": "https://988lifeline.org/",
                "area": "",
                "content_notes": ["suicide"],
            },
            {
                "name": "RAINN National Sexual Assault Hotline",
                "region": "US",
                "what": "Support after sexual assault or abuse",
                "phone": "800-656-4673",
                "tel": "+18006564673",
                "text": None,
                "sms": None,
                "url": "https://rainn.org/",
                "hours": "24 hours a day, every day",
                "cost": "Free and confidential",
                "last_verified": date(2026, 11, 1),
                "source": "https://rainn.org/",
                "area": "",
                "content_notes": ["sexual-violence"],
            },
            {
                "name": "Samaritans",
                "region": "GB",
                "what": "Someone to talk to about anything that is troubling you",
                "phone": "116 123",
                "tel": "116123",
                "text": None,
                "sms": None,
                "url": "https://www.samaritans.org/",
                "hours": "Day or night, 365 days a year",
                "cost": "Free",
                "last_verified": date(2026, 11, 1),
                "source": "https://www.samaritans.org/",
                "area": "",
                "content_notes": ["suicide"],
            },
        ],
        "default_region": "US",
        "emergency": {"US": "911", "GB": "999"},
        "regions": ["GB", "US"],
        "region_names": {"GB": "United Kingdom", "US": "United States"},
        "region_order": ["US", "GB"],
        "emergency_numbers": [
            {"number": "911", "tel": "911", "regions": ["United States"]},
            {"number": "999", "tel": "999", "regions": ["United Kingdom"]},
        ],
        "search": True,
        "live_reload": False,
        "pages": {
            slug: f"/{slug}/"
            for slug in ("about", "contact", "online-safety", "editorial-policy", "accessibility")
        },
    }
    value.update(overrides)
    return value


def page(kind: str, title: str, url_: str, **overrides) -> dict:
    value = {
        "kind": kind,
        "title": title,
        "url": url_,
        "canonical": abs_url(url_),
        "description": f"About {title}",
        "jsonld": [],
        "og_type": "article" if kind == "article" else "website",
        "banner": "",
    }
    value.update(overrides)
    return value


ARTICLE_BODY = (
    '<h2 id="what-trust-means">What trust means</h2>\n<p>Trust grows slowly<sup><a href="#ref-kim2020">1</a></sup>.</p>\n'
    '<h2 id="after-trauma">After trauma</h2>\n<p>It can feel harder.</p>\n'
    '<h2 id="心の健康">心の健康</h2>\n<p>Text.</p>\n'
    '<h2 id="questions">Questions</h2>\n<h3 id="q-1">Is it my fault?</h3>\n<p>No.</p>\n'
)


def article(**overrides) -> dict:
    value = {
        "title": "Trust after trauma",
        "url": "/articles/trust-after-trauma/",
        "summary": "Why trust can feel hard after trauma, and small steps that may help.",
        "date": datetime(2026, 11, 2, 9, 0, tzinfo=UTC),
        "updated": datetime(2026, 11, 20, 9, 0, tzinfo=UTC),
        "author": "A. Writer",
        "reviewed_by": "Dr B. Reviewer, clinical psychologist",
        "last_reviewed": date(2026, 11, 1),
        "next_review": date(2029, 11, 1),
        "reading_minutes": 6,
        "words": 1200,
        "topics": [SELFCARE, CONSENT, KOKORO],
        "content": Markup(ARTICLE_BODY),
        "toc": [
            {"level": 2, "id": "what-trust-means", "text": "What trust means"},
            {"level": 2, "id": "after-trauma", "text": "After trauma"},
            {"level": 2, "id": "心の健康", "text": "心の健康"},
        ],
        "questions": [],
        "references": [
            {
                "number": 1,
                "key": "kim2020",
                "id": "ref-kim2020",
                "html": Markup(
                    'Kim J. Trust. <i>J Trauma</i>. 2020. <a href="https://doi.org/10.1/x">https://doi.org/10.1/x</a>'
                ),
            }
        ],
        "content_notes": list(NOTES),
        "support_first": True,
        "image": None,
        "image_alt": None,
        "paths": [],
    }
    value.update(overrides)
    return value


def context(kind: str, **overrides) -> tuple[str, dict]:
    """(template name, context) for one page kind, with `overrides` applied to the top level."""
    s = overrides.pop("site", None) or site()
    if kind == "home":
        name, ctx = (
            "index.html",
            {
                "page": page("home", "Haven", "/"),
                "articles": [
                    summary("trust-after-trauma", "Trust after trauma", NOTES),
                    summary("boundaries", "Saying no", topics=(CONSENT,)),
                ],
                "topics": [CONSENT, SELFCARE, KOKORO],
                "paths": [
                    {
                        "id": "if-something-happened-recently",
                        "title": "If something happened recently",
                        "description": "Gentle first steps.",
                        "articles": [
                            summary("trust-after-trauma", "Trust after trauma", NOTES),
                            summary("boundaries", "Saying no", topics=(CONSENT,)),
                        ],
                    }
                ],
            },
        )
    elif kind == "article":
        a = overrides.pop("article", None) or article()
        name, ctx = (
            "article.html",
            {
                "page": page("article", a["title"], a["url"]),
                "article": a,
                "related": [summary("boundaries", "Saying no", topics=(CONSENT,))],
                "prev": summary("older", "An older article"),
                "next": None,
            },
        )
    elif kind == "topic":
        name, ctx = (
            "topic.html",
            {
                "page": page("topic", "Self-care (page 2 of 3)", "/tags/selfcare/page/2/"),
                "topic": SELFCARE,
                "articles": [summary("a", "Resting"), summary("b", "Sleep", NOTES[1:])],
                "pagination": {
                    "number": 2,
                    "count": 3,
                    "prev_url": "/tags/selfcare/",
                    "next_url": "/tags/selfcare/page/3/",
                },
                "related_topics": [CONSENT],
            },
        )
    elif kind == "topics":
        name, ctx = (
            "topics.html",
            {
                "page": page("topics", "Topics", "/tags/"),
                "topics": [CONSENT, SELFCARE, KOKORO],
            },
        )
    elif kind in ("page", "help"):
        name = "page.html" if kind == "page" else "help.html"
        ctx = {
            "page": page(kind, "About Haven" if kind == "page" else "Get help", "/about/"),
            "doc": {
                "title": "About Haven" if kind == "page" else "Get help",
                "summary": "Who writes this site and why.",
                "content": Markup('<h2 id="who">Who we are</h2><p>Editors.</p>'),
                "toc": [],
                "references": [],
            },
        }
        if kind == "help":
            ctx["page"]["url"] = "/get-help/"
    elif kind == "search":
        name, ctx = "search.html", {"page": page("search", "Search", "/search/")}
    elif kind == "404":
        name, ctx = "404.html", {"page": page("404", "Page not found", "/404.html")}
    elif kind == "articles":
        name, ctx = (
            "articles.html",
            {
                "page": page("articles", "Articles A to Z", "/articles/"),
                "letters": [
                    {
                        "letter": "S",
                        "id": "letter-S",
                        "articles": [summary("boundaries", "Saying no", NOTES[1:])],
                    },
                    {
                        "letter": "T",
                        "id": "letter-T",
                        "articles": [summary("trust-after-trauma", "Trust after trauma", NOTES)],
                    },
                ],
                "count": 2,
            },
        )
    elif kind == "feeds":
        name, ctx = (
            "feeds.html",
            {
                "page": page("feeds", "Follow new articles", "/feeds/"),
                "feed": abs_url("/feed.xml"),
                "topic_feeds": [
                    {**t, "feed": abs_url(f"/tags/{t['slug']}/feed.xml")}
                    for t in (CONSENT, SELFCARE, KOKORO)
                ],
            },
        )
    else:  # pragma: no cover - a typo in a test
        raise ValueError(kind)
    ctx["site"] = s
    ctx.update(overrides)
    return name, ctx


def render(kind: str, **overrides) -> str:
    name, ctx = context(kind, **overrides)
    return make_env().get_template(name).render(ctx)


def parse(html: str) -> HTMLParser:
    return HTMLParser(html)


KINDS = ["home", "article", "topic", "topics", "page", "help", "search", "404", "articles", "feeds"]


def all_nodes(tree: HTMLParser):
    return tree.root.traverse(include_text=False)


# --- every page ----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_every_page_has_landmarks_language_and_one_h1(kind):
    tree = parse(render(kind))
    assert tree.css_first("html").attributes["lang"] == "en"
    assert tree.css_first("meta[charset]").attributes["charset"] == "utf-8"
    assert "width=device-width" in tree.css_first('meta[name="viewport"]').attributes["content"]
    assert len(tree.css("body > header.site-header")) == 1
    assert len(tree.css("body > main#main")) == 1
    assert len(tree.css("body > footer.site-footer")) == 1
    assert tree.css_first('nav[aria-label="Main"]') is not None
    assert len(tree.css("h1")) == 1
    assert tree.css_first('link[rel="canonical"]').attributes["href"].startswith(ORIGIN + "/haven/")
    feed = tree.css_first('link[rel="alternate"][type="application/atom+xml"]')
    assert feed.attributes["href"] == "/haven/feed.xml"


@pytest.mark.parametrize("kind", KINDS)
def test_headings_never_skip_a_level_and_ids_are_unique(kind):
    tree = parse(render(kind))
    levels = [int(n.tag[1]) for n in all_nodes(tree) if re.fullmatch(r"h[1-6]", n.tag)]
    assert levels[0] == 1
    for before, after in zip(levels, levels[1:], strict=False):
        assert after <= before + 1, levels
    ids = [n.attributes["id"] for n in all_nodes(tree) if n.attributes.get("id")]
    assert len(ids) == len(set(ids)), sorted(ids)


@pytest.mark.parametrize("kind", KINDS)
def test_skip_link_first_then_exit_link_then_sticky_exit_control(kind):
    tree = parse(render(kind))
    body_children = [n for n in tree.body.iter(include_text=False)]
    assert body_children[0].tag == "a"
    assert body_children[0].attributes["href"] == "#main"
    assert body_children[0].text() == "Skip to main content"
    exit_link = body_children[1]
    assert exit_link.tag == "a" and "js-exit-skiplink" in exit_link.attributes["class"].split()
    assert "skip-link" in exit_link.attributes["class"].split()
    assert exit_link.attributes["href"] == EXIT_URL
    assert set(exit_link.attributes["rel"].split()) == {"nofollow", "noreferrer"}
    component = body_children[2]
    assert component.tag == "div" and "data-exit-this-page" in component.attributes
    assert component.attributes["data-history"] == "replace"
    assert component.attributes["data-shortcut"] == "true"
    button = component.css_first("a.exit-this-page__button")
    assert button.attributes["href"] == EXIT_URL
    assert button.attributes["role"] == "button"
    assert button.attributes["draggable"] == "false"
    assert set(button.attributes["rel"].split()) == {"nofollow", "noreferrer"}
    assert button.text(deep=True).split() == ["Emergency", "Exit", "this", "page"]
    assert button.css_first("span.visually-hidden").text() == "Emergency"
    assert component.css_first('[role="status"][data-exit-status]') is not None
    assert body_children[3].tag == "header"
    # The shortcut is explained next to the header, with a link to the online-safety page.
    hint = tree.css_first(".exit-hint")
    assert "Press Shift 3 times to leave quickly" in hint.text()
    assert hint.css_first("a").attributes["href"] == "/haven/online-safety/"
    scripts = [s.attributes["src"] for s in tree.css("script[src]")]
    assert "/haven/static/js/exit.js" in scripts
    assert all("defer" in s.attributes for s in tree.css("script[src]"))


def test_exit_control_left_out_when_disabled_and_history_mode_passed_on():
    s = site(exit={"enabled": False, "url": EXIT_URL, "history": "replace", "shortcut": True})
    tree = parse(render("article", site=s))
    assert tree.css(".js-exit-skiplink") == []
    assert tree.css("[data-exit-this-page]") == []
    assert tree.css(".exit-hint") == []
    assert not any("exit.js" in n.attributes["src"] for n in tree.css("script[src]"))
    s = site(exit={"enabled": True, "url": EXIT_URL, "history": "assign", "shortcut": False})
    tree = parse(render("article", site=s))
    component = tree.css_first("[data-exit-this-page]")
    assert component.attributes["data-history"] == "assign"
    assert component.attributes["data-shortcut"] == "false"
    assert "Shift" not in tree.css_first(".exit-hint").text()


@pytest.mark.parametrize("kind", KINDS)
def test_csp_and_referrer_meta_come_first_in_head(kind):
    tree = parse(render(kind))
    head = [n for n in tree.head.iter(include_text=False)]
    assert head[0].tag == "meta" and "charset" in head[0].attributes
    csp = head[1]
    assert csp.attributes["http-equiv"] == "Content-Security-Policy"
    assert csp.attributes["content"] == CSP
    assert "frame-ancestors" not in csp.attributes["content"]
    assert head[2].attributes == {"name": "referrer", "content": "no-referrer"}


@pytest.mark.parametrize("kind", KINDS)
def test_no_inline_style_handlers_or_scripts(kind):
    html = render(kind, site=site(live_reload=True))
    tree = parse(html)
    for node in all_nodes(tree):
        for name in node.attributes:
            assert name != "style", node.html
            assert not name.startswith("on"), node.html
        assert node.attributes.get("target") != "_blank"
    for script in tree.css("script"):
        if "src" in script.attributes:
            assert script.text() == ""
            assert script.attributes["src"].startswith("/haven/")
        else:
            assert script.attributes.get("type") == "application/ld+json"
    assert tree.css("style") == []


@pytest.mark.parametrize("kind", KINDS)
def test_every_site_relative_url_goes_through_url(kind):
    tree = parse(render(kind))
    for node in all_nodes(tree):
        for name in ("href", "src", "action"):
            value = node.attributes.get(name)
            if value and value.startswith("/"):
                assert value.startswith("/haven/"), node.html


def test_title_of_home_is_the_site_title_and_others_add_it():
    assert parse(render("home")).css_first("title").text() == "Haven"
    assert parse(render("topics")).css_first("title").text() == "Topics | Haven"


def test_navigation_marks_the_current_page_and_get_help_now_stands_outside_it():
    navs, helps = [], []
    for kind in KINDS:
        tree = parse(render(kind))
        links = tree.css('nav[aria-label="Main"] a')
        navs.append([a.text() for a in links])
        current = [
            a.attributes["href"] for a in links if a.attributes.get("aria-current") == "page"
        ]
        expected = {"home": ["/haven/"], "topics": ["/haven/tags/"], "search": ["/haven/search/"]}
        expected.update(page=["/haven/about/"], articles=["/haven/articles/"])
        assert current == expected.get(kind, []), kind
        # Get help now: in the header, before the menu and outside it, the same on every page.
        bar = tree.css_first("header.site-header .site-header__bar")
        parts = [n for n in bar.iter(include_text=False)]
        assert [p.attributes.get("class") for p in parts] == ["brand", "help-now", "site-menu"]
        assert parts[1].tag == "a" and parts[1].text() == "Get help now"
        assert parts[2].tag == "details" and parts[2].css_first("nav.site-nav") is not None
        assert parts[2].css_first(".help-now") is None
        helps.append(parts[1].html)
    assert all(n == navs[0] for n in navs) and "Get help" not in navs[0]
    assert navs[0][:2] == ["Home", "Articles A to Z"]
    assert set(helps) == {'<a class="help-now" href="/haven/get-help/">Get help now</a>'}


def test_menu_is_a_disclosure_that_needs_no_javascript():
    tree = parse(render("article"))
    menu = tree.css_first("header details.site-menu")
    assert "open" not in menu.attributes  # closed until opened; wide screens show it by CSS
    children = [n for n in menu.iter(include_text=False)]
    assert children[0].tag == "summary" and children[0].text() == "Menu"
    body = children[1]
    assert [n.tag for n in body.iter(include_text=False)][:2] == ["nav", "form"]
    assert body.css_first(".exit-hint") is not None
    css = CSS.read_text()
    assert re.search(r"@supports selector\(::details-content\)", css)
    assert re.search(r"\.site-menu::details-content\s*{[^}]*content-visibility:\s*visible", css)


def test_search_form_in_header_is_labelled_and_leads_to_search_page():
    tree = parse(render("article"))
    form = tree.css_first("header form[role=search]")
    assert form.attributes["action"] == "/haven/search/"
    field = form.css_first("input[type=search]")
    assert form.css_first(f'label[for="{field.attributes["id"]}"]') is not None
    # Nothing of what is typed travels with the form (see tests/test_search.py).
    assert form.css("[name]") == []
    assert parse(render("article", site=site(search=False))).css("form[role=search]") == []


def test_footer_links():
    tree = parse(render("home"))
    hrefs = {a.text(): a.attributes["href"] for a in tree.css("footer a")}
    assert hrefs == {
        "About": "/haven/about/",
        "Contact": "/haven/contact/",
        "Get help": "/haven/get-help/",
        "Online safety": "/haven/online-safety/",
        "Editorial policy": "/haven/editorial-policy/",
        "Accessibility": "/haven/accessibility/",
        "Follow new articles": "/haven/feeds/",
    }
    # No visible link leads to raw XML: feeds are explained on /feeds/ (the <link> stays).
    for kind in KINDS:
        tree = parse(render(kind))
        assert tree.css('a[href$=".xml"]') == [], kind


def test_banner_and_live_reload_only_on_the_dev_server():
    tree = parse(render("article"))
    assert tree.css(".dev-banner") == []
    assert not any("__haven" in s.attributes["src"] for s in tree.css("script[src]"))
    name, ctx = context("article")
    ctx["page"]["banner"] = "Draft"
    ctx["site"]["live_reload"] = True
    tree = parse(make_env().get_template(name).render(ctx))
    assert tree.css_first("main .dev-banner strong").text() == "Draft"
    assert "defer" in tree.css_first('script[src="/haven/__haven/reload.js"]').attributes
    # A context without `banner` at all still renders (the key is dev-server only).
    del ctx["page"]["banner"]
    assert parse(make_env().get_template(name).render(ctx)).css(".dev-banner") == []


# --- escaping ------------------------------------------------------------------------------------


def test_hostile_title_is_escaped_in_title_h1_attributes_and_json_ld():
    a = article(title=EVIL, summary=EVIL, author=EVIL, content_notes=[{"key": "x", "label": EVIL}])
    name, ctx = context("article", article=a)
    ctx["page"].update(title=EVIL, description=EVIL)
    ctx["page"]["jsonld"] = [
        {"@context": "https://schema.org", "@type": "Article", "headline": EVIL}
    ]
    html = make_env().get_template(name).render(ctx)
    assert "<script>alert(1)" not in html
    assert "</script><script>" not in html
    tree = parse(html)
    assert tree.css_first("title").text() == f"{EVIL} | Haven"
    assert tree.css_first("h1").text() == EVIL
    assert tree.css_first("#summary").text() == EVIL
    for selector in (
        'meta[name="description"]',
        'meta[property="og:title"]',
        'meta[name="twitter:title"]',
    ):
        assert tree.css_first(selector).attributes["content"] == EVIL
    blocks = tree.css('script[type="application/ld+json"]')
    assert len(blocks) == 1
    assert json.loads(blocks[0].text())["headline"] == EVIL
    # Only the template's own scripts exist: exit.js, search.js and the one JSON-LD block.
    assert len(tree.css("script")) == 3


def test_json_ld_blocks_one_per_item_and_none_when_empty():
    assert parse(render("home")).css('script[type="application/ld+json"]') == []
    name, ctx = context("article")
    ctx["page"]["jsonld"] = [{"@type": "MedicalWebPage"}, {"@type": "FAQPage"}]
    tree = parse(make_env().get_template(name).render(ctx))
    types = [json.loads(s.text())["@type"] for s in tree.css('script[type="application/ld+json"]')]
    assert types == ["MedicalWebPage", "FAQPage"]


# --- article -------------------------------------------------------------------------------------


def test_article_parts_in_order():
    tree = parse(render("article"))
    art = tree.css_first("main article")
    assert art.css_first("h1").text() == "Trust after trauma"
    assert art.css_first("p#summary.standfirst") is not None
    times = art.css(".article__meta time")
    assert [t.attributes["datetime"] for t in times] == [
        "2026-11-02T09:00:00+00:00",
        "2026-11-20T09:00:00+00:00",
    ]
    assert times[0].text() == "2 November 2026"
    meta = art.css_first(".article__meta").text()
    assert "By A. Writer" in meta and "6 minute read" in meta
    toc = art.css_first("nav.toc")
    assert toc.attributes["aria-labelledby"] == "toc-title" and tree.css_first("#toc-title")
    assert [a.attributes["href"] for a in toc.css("a")] == [
        "#what-trust-means",
        "#after-trauma",
        "#心の健康",
    ]
    assert art.css_first(".prose h2#after-trauma") is not None  # content is not escaped
    refs = art.css_first("section#references")
    assert refs.css_first("h2").text() == "References"
    item = refs.css_first("ol > li#ref-kim2020")
    assert item.css_first("i").text() == "J Trauma"
    assert item.css_first("a").attributes["href"] == "https://doi.org/10.1/x"
    review = art.css_first(".review").text()
    assert "Page last reviewed: 1 November 2026" in review
    assert "Next review due: 1 November 2029" in review
    assert "Reviewed by Dr B. Reviewer, clinical psychologist." in review
    related = tree.css_first("section.related")
    assert related.css_first("h3 a").attributes["href"] == "/haven/articles/boundaries/"
    prev_next = tree.css("nav.prev-next a")
    assert [a.attributes["href"] for a in prev_next] == ["/haven/articles/older/"]


def test_article_without_optional_parts():
    a = article(
        updated=None,
        author=None,
        reviewed_by=None,
        last_reviewed=None,
        next_review=None,
        toc=[],
        references=[],
        content_notes=[],
        support_first=False,
        topics=[],
    )
    name, ctx = context("article", article=a)
    ctx.update(related=[], prev=None, next=None)
    tree = parse(make_env().get_template(name).render(ctx))
    assert tree.css(".toc") == tree.css("#references") == tree.css(".content-note") == []
    assert tree.css(".related") == tree.css(".prev-next") == tree.css(".hashtags") == []
    assert "Updated" not in tree.css_first(".article__meta").text()
    assert "By " not in tree.css_first(".article__meta").text()
    review = tree.css_first(".review")
    assert "Page last reviewed" not in review.text() and "Reviewed by" not in review.text()


def test_an_article_without_a_review_says_so_in_one_line_with_the_policy():
    a = article(reviewed_by=None, last_reviewed=None, next_review=None)
    tree = parse(render("article", article=a))
    line = tree.css_first(".review .review__none")
    assert line.text() == (
        "This page has not been reviewed yet. How we write and review our content"
    )
    assert line.css_first("a").attributes["href"] == "/haven/editorial-policy/"
    # Without an editorial policy page, the sentence alone, and no link to nowhere.
    s = site(pages={"contact": "/contact/"})
    tree = parse(render("article", article=a, site=s))
    assert tree.css_first(".review__none").text() == "This page has not been reviewed yet."
    assert tree.css('a[href="/haven/editorial-policy/"]') == []
    # A recorded review is shown instead, NHS style.
    tree = parse(render("article"))
    assert tree.css(".review__none") == []
    assert "Page last reviewed: 1 November 2026" in tree.css_first(".review").text()


def test_hashtags_link_to_topics_and_are_search_filters():
    tree = parse(render("article"))
    tags = tree.css("article .article__header .hashtags a")
    assert [t.text() for t in tags] == ["#SelfCare", "#Consent", "#心の健康"]
    # A line may break between the words of a hashtag, never inside one.
    assert tags[0].html.endswith('<span aria-hidden="true">#</span>Self<wbr>Care</a>')
    assert [t.attributes["href"] for t in tags] == [
        "/haven/tags/selfcare/",
        "/haven/tags/consent/",
        "/haven/tags/%E5%BF%83%E3%81%AE%E5%81%A5%E5%BA%B7/",
    ]
    # Filters show the topic's plain label, without the '#': the one vocabulary of the site.
    filters = [t.attributes["data-pagefind-filter"] for t in tags]
    assert filters == ["topic:Self-care", "topic:Consent", "topic:心の健康"]
    # The '#' is not read out by screen readers.
    assert tags[0].css_first("span").attributes["aria-hidden"] == "true"


def test_only_the_article_is_indexed_by_pagefind():
    tree = parse(render("article"))
    bodies = tree.css("[data-pagefind-body]")
    assert [b.tag for b in bodies] == ["article"]
    assert tree.css_first("main > article") == bodies[0]
    note = tree.css_first('[data-pagefind-meta="content_note"]')
    assert note.text() == "This page talks about sexual assault and rape, and self-harm."
    for kind in ("home", "topic", "topics", "page", "help", "search", "404"):
        assert parse(render(kind)).css("[data-pagefind-body]") == [], kind
        assert parse(render(kind)).css("[data-pagefind-filter]") == [], kind


def test_content_note_after_standfirst_with_links_that_resolve():
    tree = parse(render("article"))
    note = tree.css_first("aside.content-note")
    assert note.attributes["aria-labelledby"] == "cn-title"
    assert note.css_first("h2#cn-title").text() == "About this page"
    assert (
        note.css("p")[0].text() == "This page talks about sexual assault and rape, and self-harm."
    )
    links = note.css("a")
    assert [(a.text(), a.attributes["href"]) for a in links] == [
        ("Skip to support options", "#get-help"),
        ("Read the summary", "#summary"),
    ]
    assert tree.css_first("#get-help") is not None and tree.css_first("#summary") is not None
    order = [
        n for n in all_nodes(tree) if n.attributes.get("id") in ("summary", "cn-title", "get-help")
    ]
    assert [n.attributes["id"] for n in order] == ["summary", "cn-title", "get-help"]
    three = [
        {"key": "a", "label": "one"},
        {"key": "b", "label": "two"},
        {"key": "c", "label": "three"},
    ]
    tree = parse(render("article", article=article(content_notes=three)))
    assert tree.css_first(".content-note p").text() == "This page talks about one, two, and three."


def test_content_notes_shown_in_listings():
    tree = parse(render("home"))
    notes = [n.text() for n in tree.css(".card .card__note")]
    assert notes == ["Content note: talks about sexual assault and rape, and self-harm."]
    tree = parse(render("topic"))
    assert [n.text() for n in tree.css(".card__note")] == ["Content note: talks about self-harm."]


def test_support_block_once_at_the_top_when_support_first_else_at_the_end():
    tree = parse(render("article"))
    blocks = tree.css("section.get-help")
    assert [b.attributes["id"] for b in blocks] == ["get-help"]
    assert blocks[0].parent.tag == "article"  # before the content
    assert blocks[0].attributes["aria-labelledby"] == "get-help-title"
    order = [n.attributes.get("id") for n in all_nodes(tree) if n.attributes.get("id")]
    assert order.index("get-help") < order.index("what-trust-means")
    tree = parse(render("article", article=article(support_first=False)))
    blocks = tree.css("section.get-help")
    assert [b.attributes["id"] for b in blocks] == ["get-help"]
    assert blocks[0].parent.tag == "main"  # after the article


def test_support_block_is_region_neutral():
    tree = parse(render("article", article=article(support_first=False, content_notes=[])))
    block = tree.css_first("#get-help")
    # Every region's emergency number in one line, the site's own region first.
    emergency = block.css_first(".get-help__emergency")
    assert emergency.text() == "In an emergency, call 911 (United States) or 999 (United Kingdom)."
    assert [a.attributes["href"] for a in emergency.css("a")] == ["tel:911", "tel:999"]
    # The default region's lines, in site.yaml's order when no content note matches.
    assert block.css_first(".get-help__region").text() == "United States support lines:"
    names = [h.text() for h in block.css(".service__name")]
    assert names == ["988 Suicide & Crisis Lifeline", "RAINN National Sexual Assault Hotline"]
    tels = [(a.attributes["href"], a.text()) for a in block.css('.services a[href^="tel:"]')]
    assert tels == [("tel:988", "988"), ("tel:+18006564673", "800-656-4673")]
    assert [a.attributes["href"] for a in block.css('a[href^="sms:"]')] == ["sms:988"]
    assert "Samaritans" not in block.text()  # the others are one link away
    web = block.css_first('a[href="https://988lifeline.org/"]')
    assert set(web.attributes["rel"].split()) >= {"noreferrer", "noopener"}
    other = block.css_first('a[href="/haven/get-help/#regions"]')
    assert other.text() == "Support in other countries"


def test_support_lines_for_the_page_content_notes_come_first():
    notes = [{"key": "sexual-violence", "label": "sexual assault and rape"}]
    tree = parse(render("article", article=article(content_notes=notes)))
    names = [h.text() for h in tree.css("#get-help .service__name")]
    assert names == ["RAINN National Sexual Assault Hotline", "988 Suicide & Crisis Lifeline"]


def test_emergency_numbers_shared_by_regions_are_said_once():
    s = site(
        emergency_numbers=[
            {"number": "911", "tel": "911", "regions": ["United States", "Canada"]},
            {"number": "999", "tel": "999", "regions": ["United Kingdom"]},
            {"number": "000", "tel": "000", "regions": ["Australia"]},
        ]
    )
    tree = parse(render("article", site=s))
    assert tree.css_first(".get-help__emergency").text() == (
        "In an emergency, call 911 (United States, Canada), 999 (United Kingdom) or 000 (Australia)."
    )


def test_help_page_opens_with_the_numbers_default_region_first():
    tree = parse(render("help"))
    main = tree.css_first("main")
    # Before any prose: where-are-you links, then each region's emergency number and lines.
    switch = main.css_first("nav#regions")
    jump = [a.attributes["href"] for a in switch.css("a")]
    assert jump == ["#region-us", "#region-gb", "#other-countries"]
    regions = main.css("section.region")
    ids = [r.css_first("h2").attributes["id"] for r in regions]
    assert ids == ["region-us", "region-gb", "other-countries-title"]
    us, gb, other = regions
    assert us.css_first("h2").text() == "United States"
    assert us.css_first(".region__emergency a").attributes["href"] == "tel:911"
    assert len(us.css(".service")) == 2
    assert gb.css_first("h2").text() == "United Kingdom"
    assert gb.css_first(".region__emergency a").attributes["href"] == "tel:999"
    assert [h.text() for h in gb.css(".service__name")] == ["Samaritans"]
    assert gb.css_first('a[href^="tel:1"]').attributes["href"] == "tel:116123"
    # Any other country: a directory, without a referrer.
    link = other.css_first('a[href="https://findahelpline.com/"]')
    assert "noreferrer" in link.attributes["rel"].split()
    # The prose comes last.
    html = main.html
    assert html.index('href="tel:') < html.index('id="other-countries"') < html.index("Who we are")


def test_help_page_names_the_area_of_a_line():
    s = site()
    s["support"][2] = {**s["support"][2], "area": "Scotland"}
    tree = parse(render("help", site=s))
    assert tree.css_first("#region-gb").parent.css_first(".service__area").text() == "For Scotland"


def test_an_article_in_a_path_shows_its_part_and_the_path_neighbours():
    paths = [
        {
            "title": "Relationships and trust",
            "url": "/#path-relationships-and-trust",
            "number": 2,
            "count": 5,
            "prev": summary("first", "The first one"),
            "next": summary("third", "The third one"),
        }
    ]
    name, ctx = context("article", article=article(paths=paths))
    ctx.update(prev=None, next=None)  # the planner drops the dated neighbours for a path
    tree = parse(make_env().get_template(name).render(ctx))
    part = tree.css_first(".article__header .article__path")
    assert part.text() == "Part 2 of 5 in Relationships and trust"
    assert part.css_first("a").attributes["href"] == "/haven/#path-relationships-and-trust"
    nav = tree.css_first("nav.path-nav")
    label = tree.css_first(f"#{nav.attributes['aria-labelledby']}")
    assert label.text() == "Relationships and trust: part 2 of 5"
    assert [(a.attributes["href"], a.text()) for a in nav.css("li a")] == [
        ("/haven/articles/first/", "Previous in this path The first one"),
        ("/haven/articles/third/", "Next in this path The third one"),
    ]
    assert tree.css('nav[aria-label="More articles"]') == []
    # Not in a path: the dated neighbours, as before.
    tree = parse(render("article"))
    assert tree.css(".article__path") == tree.css(".path-nav") == []
    assert tree.css_first('nav[aria-label="More articles"] a').text().startswith("Previous article")


def test_articles_a_to_z_lists_each_with_its_summary_and_content_note():
    tree = parse(render("articles"))
    assert tree.css_first("h1").text() == "Articles A to Z"
    letters = [a.attributes["href"] for a in tree.css('nav[aria-label="Letters"] a')]
    assert letters == ["#letter-S", "#letter-T"]
    sections = tree.css("section.az-letter")
    assert [s.css_first("h2").text() for s in sections] == ["S", "T"]
    card = sections[1].css_first(".card")
    assert card.css_first("h3 a").attributes["href"] == "/haven/articles/trust-after-trauma/"
    assert card.css_first(".card__summary").text() == "A short summary of trust after trauma."
    assert card.css_first(".card__note").text() == (
        "Content note: talks about sexual assault and rape, and self-harm."
    )
    assert "All 2 articles" in tree.css_first(".standfirst").text()


def test_feeds_page_explains_feeds_and_gives_every_address_as_text():
    tree = parse(render("feeds"))
    main = tree.css_first("main")
    assert main.css_first("h1").text() == "Follow new articles"
    assert main.css_first(".feed-address code").text() == ORIGIN + "/haven/feed.xml"
    rows = main.css(".feed-list li")
    assert [r.attributes["id"] for r in rows] == ["feed-consent", "feed-selfcare", "feed-心の健康"]
    assert rows[1].css_first("code").text() == ORIGIN + "/haven/tags/selfcare/feed.xml"
    assert rows[1].css_first(".feed-list__label").text() == "Self-care"
    assert main.css('a[href$=".xml"]') == []  # addresses to copy, not links to raw XML
    assert "may see that you follow" in main.text()  # what following leaves behind


def test_shift_hint_is_marked_for_keyboards_only():
    tree = parse(render("article"))
    keys = tree.css_first(".exit-hint .exit-hint__keys")
    assert keys.text() == "Press Shift 3 times to leave quickly."
    css = CSS.read_text()
    assert re.search(r"\.exit-hint__keys\s*{\s*display:\s*none", css)
    assert re.search(
        r"@media \(hover: hover\) and \(pointer: fine\)\s*{\s*\.exit-hint__keys\s*{\s*display:\s*inline",
        css,
    )


# --- listings ------------------------------------------------------------------------------------


def test_topic_page_pagination_feed_and_related_topics():
    tree = parse(render("topic"))
    # The label is the heading; the hashtag, in CamelCase, is shown beside the count.
    assert tree.css_first("h1").text() == "Self-care"
    assert tree.css_first(".topic-label").text().startswith("#SelfCare · 3 articles")
    assert "Small, realistic ways" in tree.css_first(".standfirst").text()
    cards = tree.css(".cards .card")
    assert [c.css_first("h2 a").attributes["href"] for c in cards] == [
        "/haven/articles/a/",
        "/haven/articles/b/",
    ]
    nav = tree.css_first("nav.pagination")
    assert nav.css_first('a[rel="prev"]').attributes["href"] == "/haven/tags/selfcare/"
    assert nav.css_first('a[rel="next"]').attributes["href"] == "/haven/tags/selfcare/page/3/"
    assert "Page 2 of 3" in nav.text()
    assert tree.css_first('link[rel="prev"]').attributes["href"] == "/haven/tags/selfcare/"
    follow = tree.css_first(".feed-link a")
    assert follow.attributes["href"] == "/haven/feeds/#feed-selfcare"
    assert follow.text() == "Follow new articles on Self-care"
    alternates = [link.attributes["href"] for link in tree.css('link[rel="alternate"]')]
    assert "/haven/tags/selfcare/feed.xml" in alternates
    related = tree.css_first('section[aria-labelledby="related-topics-title"] a')
    assert related.attributes["href"] == "/haven/tags/consent/"


def test_topic_first_and_only_pages():
    name, ctx = context("topic")
    ctx["pagination"] = {
        "number": 1,
        "count": 3,
        "prev_url": None,
        "next_url": "/tags/selfcare/page/2/",
    }
    tree = parse(make_env().get_template(name).render(ctx))
    assert tree.css('a[rel="prev"]') == []
    assert tree.css_first('a[rel="next"]').attributes["href"] == "/haven/tags/selfcare/page/2/"
    ctx["pagination"] = {"number": 1, "count": 1, "prev_url": None, "next_url": None}
    assert parse(make_env().get_template(name).render(ctx)).css("nav.pagination") == []


def test_topics_index_lists_every_topic_with_its_count():
    tree = parse(render("topics"))
    items = tree.css(".topic-list > li")
    assert [i.css_first("h2 a").text() for i in items] == ["Consent", "Self-care", "心の健康"]
    assert [i.css_first(".topic-list__meta").text() for i in items] == [
        "#Consent · 1 article",
        "#SelfCare · 3 articles",
        "#心の健康 · 1 article",
    ]


def test_home_leads_with_start_here_paths_then_latest_articles_and_topics():
    tree = parse(render("home"))
    assert tree.css_first("h1").text() == "Haven"
    headings = [h.text() for h in tree.css("main h2")]
    assert headings == ["Start here", "Latest articles", "Topics"]
    path = tree.css_first(".start-here li.path")
    assert path.attributes["id"] == "path-if-something-happened-recently"
    assert path.css_first("h3").text() == "If something happened recently"
    links = [a.attributes["href"] for a in path.css("ol a")]
    assert links == ["/haven/articles/trust-after-trauma/", "/haven/articles/boundaries/"]
    assert path.css_first(".path__note").text() == (
        "Talks about sexual assault and rape, and self-harm."
    )
    assert tree.css_first('.start-here a[href="/haven/articles/"]') is not None
    assert len(tree.css("#latest-title + ul .card")) == 2
    items = tree.css(".hashtags--cloud li")
    assert [(li.css_first("a").text(), li.css_first(".count").text()) for li in items] == [
        ("#Consent", "1 article"),
        ("#SelfCare", "3 articles"),
        ("#心の健康", "1 article"),
    ]
    assert tree.css(".start-here") and not parse(render("home", paths=[])).css(".start-here")


def test_search_page_loads_search_and_works_without_javascript():
    tree = parse(render("search"))
    assert tree.css_first("div#search") is not None
    srcs = [s.attributes["src"] for s in tree.css("script[src]")]
    assert srcs.index("/haven/static/js/search-ui.js") < srcs.index("/haven/static/js/search.js")
    assert tree.css_first('link[rel="stylesheet"][href="/haven/static/css/search.css"]')
    assert "hidden" in tree.css_first("#search form").attributes  # shown by the script
    assert 'href="/haven/tags/"' in tree.css_first("main").html
    tree = parse(render("search", site=site(search=False)))
    assert tree.css("div#search") == [] and not any(
        "search-ui" in s for s in map(str, tree.css("script"))
    )
    assert tree.css_first('main a[href="/haven/tags/"]') is not None


def test_not_found_page_links_somewhere_useful():
    tree = parse(render("404"))
    hrefs = [a.attributes["href"] for a in tree.css("main a")]
    assert hrefs == [
        "/haven/",
        "/haven/articles/",
        "/haven/tags/",
        "/haven/search/",
        "/haven/get-help/",
    ]
    assert tree.css_first('meta[name="robots"]').attributes["content"] == "noindex"


# --- static assets -------------------------------------------------------------------------------

CSS = STATIC / "css" / "site.css"


def test_css_within_budget_and_article_page_within_60_kb():
    css = CSS.read_bytes()
    assert len(css) < 15_000
    body = Markup(
        "".join(f"<h2 id='s{i}'>Section {i}</h2><p>{'word ' * 180}</p>" for i in range(8))
    )
    html = render("article", article=article(content=body)).encode()
    exit_js = (STATIC / "js" / "exit.js").read_bytes()
    assert len(html) + len(css) + len(exit_js) < 60_000


def _custom_properties(block: str) -> dict[str, str]:
    return dict(re.findall(r"--([\w-]+):\s*(#[0-9a-fA-F]{6})\s*;", block))


def _contrast(a: str, b: str) -> float:
    def luminance(hex_colour: str) -> float:
        channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
        lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]

    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_colour_schemes_meet_wcag_aa_contrast():
    css = CSS.read_text()
    light = _custom_properties(css.split("@media (prefers-color-scheme: dark)")[0])
    dark = {
        **light,
        **_custom_properties(css.split("@media (prefers-color-scheme: dark)")[1].split("}")[0]),
    }
    for scheme in (light, dark):
        for bg in ("bg", "surface", "note"):
            for fg in ("text", "muted", "link", "visited"):
                assert _contrast(scheme[fg], scheme[bg]) >= 4.5, (fg, bg, scheme[fg])
            for ui in ("border", "focus"):
                assert _contrast(scheme[ui], scheme[bg]) >= 3, (ui, bg)
        assert _contrast(scheme["exit-text"], scheme["exit"]) >= 4.5
        assert _contrast(scheme["exit-text"], scheme["exit-hover"]) >= 4.5
        assert _contrast(scheme["button-text"], scheme["button"]) >= 4.5


def test_css_covers_focus_motion_print_and_sticky_exit():
    css = CSS.read_text()
    assert re.search(r":focus-visible\s*{[^}]*outline:\s*3px solid", css)
    assert re.search(r"html\s*{[^}]*scroll-padding-top:", css)
    assert re.search(r"\.exit-this-page\s*{[^}]*position:\s*sticky", css)
    assert "@media (prefers-reduced-motion: reduce)" in css
    print_block = css.split("@media print")[1]
    assert (
        ".exit-this-page" in print_block
        and ".site-nav" in print_block
        and "attr(href)" in print_block
    )
    assert "@import" not in css and "url(" not in css  # no third-party (or any) fetches from CSS
    assert "font-face" not in css


@pytest.mark.parametrize("name", ["exit.js", "search.js"])
def test_scripts_leave_no_trace(name):
    js = (STATIC / "js" / name).read_text()
    for api in (
        "localStorage",
        "sessionStorage",
        "document.cookie",
        "indexedDB",
        "fetch(",
        "XMLHttpRequest",
        "sendBeacon",
    ):
        assert api not in js


def test_exit_script_follows_the_gov_uk_behaviour():
    js = (STATIC / "js" / "exit.js").read_text()
    assert 'addEventListener("keyup", onKeyup, true)' in js  # capture phase
    assert "5000" in js and "location.replace(url)" in js and "location.href = url" in js
    assert 'addEventListener("pageshow"' in js
    assert 'overlay.setAttribute("role", "alert")' in js


def test_logo_and_favicon_are_self_contained_svg():
    for name in ("logo.svg", "favicon.svg"):
        svg = (STATIC / "img" / name).read_text()
        assert svg.lstrip().startswith("<svg") and 'xmlns="http://www.w3.org/2000/svg"' in svg
        assert "href" not in svg and "<script" not in svg


def test_article_image_goes_through_url_and_abs_url():
    tree = parse(
        render("article", article=article(image="/static/img/hero.jpg", image_alt="A calm lake"))
    )
    assert tree.css_first('meta[property="og:image"]').attributes["content"] == (
        ORIGIN + "/haven/static/img/hero.jpg"
    )
    img = tree.css_first("article img.article__image")
    assert img.attributes == {
        "class": "article__image",
        "src": "/haven/static/img/hero.jpg",
        "alt": "A calm lake",
    }
    assert parse(render("article")).css('meta[property="og:image"]') == []


def test_support_block_for_a_region_without_services_still_points_to_help():
    tree = parse(render("article", site=site(default_region="IE")))
    block = tree.css_first("#get-help")
    assert block.css("ul") == [] and block.css('.services a[href^="tel:"]') == []
    assert (
        block.css_first('a[href="/haven/get-help/#regions"]').text() == "Support in other countries"
    )


def test_pygments_stylesheet_only_when_the_body_has_code():
    sheet = 'link[rel="stylesheet"][href="/haven/static/css/pygments.css"]'
    assert parse(render("article")).css(sheet) == []
    code = Markup('<div class="highlight"><pre><span class="k">print</span></pre></div>')
    assert len(parse(render("article", article=article(content=code))).css(sheet)) == 1
