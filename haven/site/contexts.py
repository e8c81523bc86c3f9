"""What each page shows: typed summaries, the inputs of each kind of page, and its context.

A page is made by a *builder*: a function of the page's inputs (a frozen record defined here) and
of what every page shares (`Site`: settings, templates, the site context, the bodies). The inputs
are the page's whole dependency on the content: the planner derives the page's key from them
(`haven/site/plan.py`), so a builder must read nothing of the content that is not in its inputs.
Summaries are the same records for listings, neighbours, feeds and keys alike.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import jinja2
from markupsafe import Markup

from .. import urls
from ..config import SiteConfig
from ..model import Document, Rendered, add_years
from ..sources.references import Reference
from ..sources.schema import LISTED
from ..taxonomy import Topic, hashtag_words
from . import feeds
from .templates import render_template

WORDS_PER_MINUTE = 200
# Names of common region codes, for a site.yaml without `regions:` (which wins when present).
REGION_NAMES = {
    "US": "United States",
    "GB": "United Kingdom",
    "IE": "Ireland",
    "CA": "Canada",
    "AU": "Australia",
    "NZ": "New Zealand",
}


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}  # one entry per record class


def field_names(cls: type) -> tuple[str, ...]:
    """The fields of a record that make up its key (all but those declared `repr=False`)."""
    names = _FIELD_NAMES.get(cls)
    if names is None:
        names = _FIELD_NAMES[cls] = tuple(f.name for f in dataclasses.fields(cls) if f.repr)
    return names


class Keyed:
    """A frozen record whose repr is a digest of its fields, worked out once: page keys stay
    short however many summaries a page lists, and still change with any field of any of them."""

    def __repr__(self) -> str:
        found = self.__dict__.get("_key")
        if found is None:
            values = tuple(getattr(self, name) for name in field_names(type(self)))
            found = hashlib.blake2b(repr(values).encode(), digest_size=12).hexdigest()
            object.__setattr__(self, "_key", found)
        return f"{type(self).__name__}#{found}"


@dataclass(frozen=True, repr=False)
class TopicSummary(Keyed):
    """A topic as listings, topic pages, feeds and search show it."""

    key: str
    slug: str
    label: str
    hashtag: str  # '#SelfCare'
    hashtag_words: tuple[str, ...]  # ('Self', 'Care'): where a line may break
    url: str
    count: int
    description: str


@dataclass(frozen=True, repr=False)
class NoteRef(Keyed):
    key: str
    label: str


@dataclass(frozen=True, repr=False)
class ArticleSummary(Keyed):
    """An article as listings, neighbours and feeds show it.

    Besides what is worked out here (URL, topics, note labels, reading time), it carries every
    front-matter field declared `listed` in haven/sources/schema.py, read as attributes
    (`summary.title`, `summary.updated`): declaring a field listed is all a listing needs.
    """

    path: str
    url: str
    topics: tuple[TopicSummary, ...]
    content_notes: tuple[NoteRef, ...]
    reading_minutes: int
    listed: tuple[tuple[str, Any], ...]

    def __getattr__(self, name: str) -> Any:
        for key, value in self.__dict__.get("listed", ()):
            if key == name:
                return value
        raise AttributeError(name)


@dataclass(frozen=True, repr=False)
class Body(Keyed):
    """A document and its rendered body, as a page reads them: keyed by the source's bytes and
    the body's link-rewritten HTML, which is all they are made of (with the shared settings)."""

    path: str
    digest: str  # of the source file
    html: str  # digest of the link-rewritten body HTML
    doc: Document = field(compare=False, repr=False)


def reading_minutes(words: int) -> int:
    return max(1, round(words / WORDS_PER_MINUTE))


def topic_summary(topic: Topic) -> TopicSummary:
    hashtag = topic.hashtag or "#" + topic.key
    return TopicSummary(
        topic.key,
        topic.slug,
        topic.label,
        hashtag,
        tuple(hashtag_words(hashtag)),
        urls.topic_url(topic.slug),
        len(topic.articles),
        topic.description,
    )


def article_summary(
    doc: Document, words: int, topics: tuple[TopicSummary, ...], config: SiteConfig
) -> ArticleSummary:
    notes = config.content_notes
    return ArticleSummary(
        doc.path,
        urls.document_url(doc.kind, doc.slug),
        topics,
        tuple(NoteRef(k, notes[k].label) for k in doc.meta.content_notes if k in notes),
        reading_minutes(words),
        tuple((name, getattr(doc.meta, name)) for name in LISTED),
    )


# -- what every page shares ----------------------------------------------------------------------


@dataclass
class Site:
    """What every builder may read besides its inputs: it goes into every page's key whole."""

    config: SiteConfig
    context: dict[str, Any]  # `site` in every template
    env: jinja2.Environment
    references: Mapping[str, Reference]
    body: Callable[[Body], Rendered]  # the rendered body, links rewritten (no plain text)

    def abs(self, path: str) -> str:
        return urls.absolute(self.config.base_url, self.config.base_path, path)

    def render(self, template: str, context: dict[str, Any]) -> bytes:
        return render_template(self.env, template, {"site": self.context, **context})

    @functools.cached_property
    def reference_html(self) -> dict[str, Markup]:
        return {key: ref.html() for key, ref in self.references.items()}

    def page(self, kind, title, url, description, jsonld=(), og_type="website", banner=""):
        """The `page` of every template's context."""
        return {
            "kind": kind,
            "title": title,
            "url": url,
            "canonical": self.abs(url),
            "description": description,
            "jsonld": list(jsonld),
            "og_type": og_type,
            "banner": banner,
        }


def site_context(config: SiteConfig, pages: list[Document], preview: bool) -> dict[str, Any]:
    """`site` in every template: settings, navigation, support lines, regions."""
    c = config
    nav = [
        {"title": "Home", "url": "/"},
        {"title": "Articles A to Z", "url": "/articles/"},
        {"title": "Topics", "url": "/tags/"},
    ]
    if c.search:
        nav.append({"title": "Search", "url": "/search/"})
    menu = sorted(
        (d for d in pages if d.meta.menu and d.slug != "get-help"),
        key=lambda d: (d.meta.menu, d.slug),
    )
    nav += [{"title": d.title, "url": urls.document_url(d.kind, d.slug)} for d in menu]
    # Get help is not in the menu: the header's "Get help now" link, outside the collapsed
    # menu, stands for it on every page.
    support = [
        {
            "name": s.name,
            "region": s.region,
            "what": s.what,
            "phone": s.phone,
            "tel": s.tel,
            "text": s.text,
            "sms": s.sms,
            "url": s.url,
            "hours": s.hours,
            "cost": s.cost,
            "last_verified": s.last_verified,
            "source": s.source,
            "area": s.area,
            "content_notes": list(s.content_notes),
        }
        for s in c.support
    ]
    e = c.exit_this_page
    codes = {s.region for s in c.support} | set(c.emergency)
    names = {code: c.regions.get(code) or REGION_NAMES.get(code, code) for code in codes}
    # The site's own region first, then the others by name: the order Get help shows them in.
    order = sorted(codes, key=lambda code: (code != c.default_region, names[code], code))
    emergency: list[dict[str, Any]] = []
    for code in order:
        number = c.emergency.get(code)
        if not number:
            continue
        same = next((n for n in emergency if n["number"] == number), None)
        if same is None:
            tel = re.sub(r"[^\d+]", "", number)
            emergency.append({"number": number, "tel": tel, "regions": [names[code]]})
        else:
            same["regions"].append(names[code])
    return {
        "title": c.title,
        "description": c.description,
        "language": c.language,
        "base_url": c.base_url,
        "base_path": c.base_path,
        "nav": nav,
        "exit": {"enabled": e.enabled, "url": e.url, "history": e.history, "shortcut": e.shortcut},
        "support": support,
        "default_region": c.default_region,
        "emergency": dict(c.emergency),
        "regions": sorted({s.region for s in c.support}),
        "region_names": dict(sorted(names.items())),
        "region_order": order,
        "emergency_numbers": emergency,
        "search": c.search,
        "live_reload": preview,
        # Published standalone pages by slug: the theme links only to pages that exist.
        "pages": {d.slug: urls.document_url(d.kind, d.slug) for d in pages},
    }


# -- the inputs of each kind of page, and its builder --------------------------------------------


@dataclass(frozen=True, repr=False)
class PathPlace(Keyed):
    """Where an article stands in a "start here" path: part `number` of `count`."""

    title: str
    id: str
    number: int
    count: int
    prev: ArticleSummary | None
    next: ArticleSummary | None


@dataclass(frozen=True, repr=False)
class ArticlePage(Keyed):
    body: Body
    summary: ArticleSummary
    related: tuple[ArticleSummary, ...]
    prev: ArticleSummary | None  # chronological neighbours, when the article is in no path
    next: ArticleSummary | None
    places: tuple[PathPlace, ...]
    banner: str


def _references(site: Site, r: Rendered) -> list[dict[str, Any]]:
    """The numbered references a body cites, in the order of first citation."""
    refs = site.reference_html
    return [
        {"number": c.number, "key": c.key, "id": f"ref-{c.key}", "html": refs[c.key]}
        for c in sorted(r.citations, key=lambda x: x.number)
        if c.key in refs
    ]


def _toc(r: Rendered) -> list:
    h2 = [h for h in r.headings if h.level == 2]
    return h2 if len(h2) >= 3 else []


def article(i: ArticlePage, site: Site) -> bytes:
    c, doc, s = site.config, i.body.doc, i.summary
    r = site.body(i.body)
    meta = doc.meta
    last_reviewed = meta.last_reviewed
    next_review = meta.next_review or (
        add_years(last_reviewed, c.review.interval_years) if last_reviewed else None
    )
    notes = [{"key": n.key, "label": n.label} for n in s.content_notes]
    author = meta.author or c.author
    article = {
        "title": doc.title,
        "url": s.url,
        "summary": meta.summary,
        "date": doc.date,
        "updated": meta.updated,
        "author": author,
        "reviewed_by": meta.reviewed_by or "",
        "last_reviewed": last_reviewed,
        "next_review": next_review,
        "words": r.words,
        "reading_minutes": reading_minutes(r.words),
        "topics": list(s.topics),
        "content": Markup(r.html),
        "toc": _toc(r),
        "questions": list(r.questions),
        "references": _references(site, r),
        "content_notes": notes,
        "support_first": any(c.content_notes[n["key"]].support_first for n in notes),
        "image": meta.image,
        "image_alt": meta.image_alt,
        "paths": [
            {
                "title": p.title,
                "url": f"/#path-{p.id}",
                "number": p.number,
                "count": p.count,
                "prev": p.prev,
                "next": p.next,
            }
            for p in i.places
        ],
    }
    image = meta.image
    jsonld = [
        feeds.article_jsonld(
            title=doc.title,
            description=meta.summary,
            url=site.abs(s.url),
            published=doc.date,
            modified=meta.updated or doc.date,
            author=author or None,
            language=c.language,
            topics=[t.label for t in s.topics],
            image=(image if "://" in image else site.abs(image)) if image else None,
            reviewed_by=meta.reviewed_by or None,
            last_reviewed=last_reviewed,
            publisher_name=c.title,
            publisher_url=c.base_url,
        )
    ]
    if r.questions:
        jsonld.append(feeds.faq_jsonld(r.questions))
    page = site.page("article", doc.title, s.url, meta.summary, jsonld, "article", i.banner)
    return site.render(
        "article.html",
        {
            "page": page,
            "article": article,
            "related": list(i.related),
            "prev": i.prev,
            "next": i.next,
        },
    )


@dataclass(frozen=True, repr=False)
class StandalonePage(Keyed):
    body: Body
    banner: str


def standalone(i: StandalonePage, site: Site) -> bytes:
    doc = i.body.doc
    r = site.body(i.body)
    layout = doc.meta.layout
    url = urls.document_url(doc.kind, doc.slug)
    page = site.page(
        "help" if layout == "help" else "page",
        doc.title,
        url,
        doc.meta.summary or site.config.description,
        banner=i.banner,
    )
    return site.render(
        f"{layout}.html",
        {
            "page": page,
            "doc": {
                "title": doc.title,
                "summary": doc.meta.summary,
                "content": Markup(r.html),
                "toc": _toc(r),
                "references": _references(site, r),
            },
        },
    )


@dataclass(frozen=True, repr=False)
class ReadingPathView(Keyed):
    id: str
    title: str
    description: str
    articles: tuple[ArticleSummary, ...]


@dataclass(frozen=True, repr=False)
class HomePage(Keyed):
    latest: tuple[ArticleSummary, ...]
    topics: tuple[TopicSummary, ...]  # sorted by label
    paths: tuple[ReadingPathView, ...]


def home(i: HomePage, site: Site) -> bytes:
    c = site.config
    jsonld = [feeds.website_jsonld(c.title, c.base_url, c.description)]
    return site.render(
        "index.html",
        {
            "page": site.page("home", c.title, "/", c.description, jsonld),
            "articles": list(i.latest),
            "topics": list(i.topics),
            "paths": [
                {
                    "id": p.id,
                    "title": p.title,
                    "description": p.description,
                    "articles": list(p.articles),
                }
                for p in i.paths
            ],
        },
    )


@dataclass(frozen=True, repr=False)
class AToZPage(Keyed):
    articles: tuple[ArticleSummary, ...]  # sorted by title


@functools.lru_cache(maxsize=65536)
def sort_title(title: str) -> tuple[str, str]:
    """Titles sort as readers look for them: without case or accents, 'Über' beside 'Uber'."""
    folded = unicodedata.normalize("NFKD", title.casefold())
    plain = "".join(ch for ch in folded if not unicodedata.combining(ch))
    return ("".join(ch for ch in plain if ch.isalnum() or ch == " ").strip(), title)


def _letter(title: str) -> str:
    """The A-Z heading an article stands under: its first letter, '0-9' for a digit."""
    first = next((ch for ch in sort_title(title)[0] if ch.isalnum()), "")
    if not first:
        return "#"
    return "0-9" if first.isdigit() else first.upper()


def _letter_id(letter: str) -> str:
    return "letter-" + ("digits" if letter == "0-9" else "other" if letter == "#" else letter)


def articles_index(i: AToZPage, site: Site) -> bytes:
    letters: list[dict[str, Any]] = []
    for s in i.articles:
        letter = _letter(s.title)
        if not letters or letters[-1]["letter"] != letter:
            letters.append({"letter": letter, "id": _letter_id(letter), "articles": []})
        letters[-1]["articles"].append(s)
    page = site.page(
        "articles",
        "Articles A to Z",
        "/articles/",
        "Every article on the site, from A to Z, with its summary and content notes.",
    )
    return site.render(
        "articles.html", {"page": page, "letters": letters, "count": len(i.articles)}
    )


@dataclass(frozen=True, repr=False)
class TopicsPage(Keyed):
    topics: tuple[TopicSummary, ...]  # sorted by label


def feeds_page(i: TopicsPage, site: Site) -> bytes:
    page = site.page(
        "feeds",
        "Follow new articles",
        "/feeds/",
        "How to follow new articles in a feed reader, without signing up.",
    )
    return site.render(
        "feeds.html",
        {
            "page": page,
            "feed": site.abs("/feed.xml"),
            "topic_feeds": [
                {**dataclasses.asdict(t), "feed": site.abs(urls.topic_feed_url(t.slug))}
                for t in i.topics
            ],
        },
    )


def topics_index(i: TopicsPage, site: Site) -> bytes:
    page = site.page(
        "topics", "Topics", "/tags/", "Every topic on the site, with the number of articles."
    )
    return site.render("topics.html", {"page": page, "topics": list(i.topics)})


@dataclass(frozen=True, repr=False)
class TopicPage(Keyed):
    topic: TopicSummary
    number: int
    count: int
    articles: tuple[ArticleSummary, ...]
    related: tuple[TopicSummary, ...]


def topic(i: TopicPage, site: Site) -> bytes:
    t, n, count = i.topic, i.number, i.count
    pagination = {
        "number": n,
        "count": count,
        "prev_url": urls.topic_url(t.slug, n - 1) if n > 1 else None,
        "next_url": urls.topic_url(t.slug, n + 1) if n < count else None,
    }
    title = t.label if n == 1 else f"{t.label} (page {n} of {count})"
    description = t.description or f"Articles about {t.label}."
    return site.render(
        "topic.html",
        {
            "page": site.page("topic", title, urls.topic_url(t.slug, n), description),
            "topic": t,
            "articles": list(i.articles),
            "pagination": pagination,
            "related_topics": list(i.related),
        },
    )


@dataclass(frozen=True, repr=False)
class FeedInputs(Keyed):
    topic: TopicSummary | None  # None: the site's own feed
    entries: tuple[ArticleSummary, ...]  # newest first


def feed(i: FeedInputs, site: Site) -> bytes:
    c = site.config
    entries = [
        feeds.FeedEntry(
            title=s.title,
            url=site.abs(s.url),
            published=s.date,
            updated=s.updated or s.date,
            summary=s.summary,
            topics=tuple(t.label for t in s.topics),
            content_notes=tuple(n.label for n in s.content_notes),
            author=s.author or c.author or None,
        )
        for s in i.entries
    ]
    if i.topic is None:
        return feeds.atom_feed(
            title=c.title,
            subtitle=c.description,
            site_url=c.base_url,
            feed_url=site.abs("/feed.xml"),
            entries=entries,
            author=c.title,
            language=c.language,
        )
    t = i.topic
    return feeds.atom_feed(
        title=f"{c.title}: {t.label}",
        subtitle=t.description,
        site_url=site.abs(t.url),
        feed_url=site.abs(urls.topic_feed_url(t.slug)),
        entries=entries,
        author=c.title,
        language=c.language,
    )


@dataclass(frozen=True, repr=False)
class SitemapInputs(Keyed):
    entries: tuple[tuple[str, datetime | None], ...]  # (absolute URL, last modified)


def sitemap(i: SitemapInputs, site: Site) -> bytes:
    return feeds.sitemap(list(i.entries))


def robots(i: tuple, site: Site) -> bytes:
    return feeds.robots_txt(site.abs("/sitemap.xml"))


@dataclass(frozen=True, repr=False)
class SearchPage(Keyed):
    az: bool  # the site has an A-Z of articles, linked for readers without JavaScript


def search(i: SearchPage, site: Site) -> bytes:
    page = site.page("search", "Search", "/search/", "Search the articles.")
    return site.render("search.html", {"page": page, "az": i.az})


def default_help(i: tuple, site: Site) -> bytes:
    """Get help, for a site without content/pages/get-help.md: the support lines alone."""
    page = site.page("help", "Get help", "/get-help/", "Support services you can contact now.")
    doc = {"title": "Get help", "summary": "", "content": Markup(""), "toc": [], "references": []}
    return site.render("help.html", {"page": page, "doc": doc})


def not_found(i: tuple, site: Site) -> bytes:
    page = site.page("404", "Page not found", "/404.html", "This page could not be found.")
    return site.render("404.html", {"page": page})
