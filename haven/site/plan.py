"""Plan every output page as data: one spec per page, each keyed by the inputs it declares.

A `PageSpec` names a builder in haven/site/contexts.py and the frozen inputs it is made from.
The page's key is a digest of what every page shares (`shared`: code, templates, site.yaml, the
bibliography, the site context) and of those inputs, so a key lists nothing by hand: a field a
builder reads is in its inputs, and so in its key. A page whose key is the previous build's is
kept as it is; the others are rendered by haven/render.py. No disk I/O here.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from .. import urls
from ..config import SiteConfig
from ..model import Document, Output
from ..taxonomy import Taxonomy
from . import contexts as cx
from .paths import ReadingPath, places

# Templates whose pages carry <meta name="robots" content="noindex">: left out of the sitemap.
NOINDEX_TEMPLATES = frozenset({"search.html", "404.html"})


class PageSpec(NamedTuple):
    """One output file: where it goes, what makes it, and everything it is made of."""

    path: str  # output path, e.g. 'articles/x/index.html'
    build: Callable[[Any, cx.Site], bytes]  # a builder of haven/site/contexts.py
    inputs: Any  # frozen record: all the builder reads of the content
    source: str | None  # the file an editor would change: a source, or the template
    url: str | None = None  # in the sitemap when set
    lastmod: datetime | None = None

    def key(self, shared: str) -> str:
        """The page's fingerprint: equal keys make the same bytes."""
        ident = (shared, self.path, self.build.__module__, self.build.__qualname__, self.inputs)
        return hashlib.blake2b(repr(ident).encode(), digest_size=16).hexdigest()


@dataclass(frozen=True)
class SiteContent:
    """What the planner is given: the published documents and what was worked out of them."""

    config: SiteConfig
    articles: Sequence[Document]  # published, newest first
    pages: Sequence[Document]  # published standalone pages
    words: Mapping[str, int]  # Document.path -> words of its body
    html_keys: Mapping[str, str]  # Document.path -> digest of its link-rewritten body HTML
    taxonomy: Taxonomy
    related: Mapping[str, Sequence[str]]  # article path -> related articles' paths
    related_topics: Mapping[str, Sequence[str]]  # topic key -> topics sharing most articles
    paths: Sequence[ReadingPath]  # "start here" paths, published articles only
    banners: Mapping[str, str]  # Document.path -> 'Draft' / 'Scheduled' (preview builds only)


def summaries(
    content: SiteContent, memo: dict | None = None
) -> tuple[dict[str, cx.TopicSummary], dict[str, cx.ArticleSummary]]:
    """Every topic and article summary, made once and shared by every page that shows them.

    `memo` (kept by a long-running process) hands back the same summary object for the same
    inputs, so its digest is not worked out again; it holds the summaries of the last plan only.
    """
    memo = memo if memo is not None else {}
    # A topic kept by the taxonomy (the same object while topics are unchanged) keeps its summary.
    known = memo.get("topics", {})
    topics = {
        key: known[key][1] if key in known and known[key][0] is t else cx.topic_summary(t)
        for key, t in content.taxonomy.topics.items()
        if t.articles
    }
    memo["topics"] = {key: (content.taxonomy.topics[key], s) for key, s in topics.items()}
    by_article = content.taxonomy.by_article
    notes = tuple((k, n.label) for k, n in content.config.content_notes.items())
    old, kept = memo.get("articles", {}), {}
    articles: dict[str, cx.ArticleSummary] = {}
    for d in content.articles:
        mine = tuple(topics[k] for k in by_article.get(d.path, ()) if k in topics)
        ident = (d.digest, content.words[d.path], mine, notes)
        found = old.get(d.path)
        if found is None or found[0] != ident:
            found = (ident, cx.article_summary(d, ident[1], mine, content.config))
        articles[d.path] = found[1]
        kept[d.path] = found
    memo["articles"] = kept
    return topics, articles


def plan_pages(content: SiteContent, memo: dict | None = None) -> list[PageSpec]:
    """Every page, feed and sitemap of the site, in the order they are written.

    `memo`, kept by a long-running process between its builds, hands back last build's inputs
    record of a page whose parts are equal (and so its digest, worked out once). The parts are
    what the record is made of; summaries compare by identity first (`summaries` keeps one
    object per unchanged summary), so comparing costs little.
    """
    c = content.config
    memo = memo if memo is not None else {}
    topics, arts = summaries(content, memo.setdefault("summaries", {}))
    sorted_topics = tuple(sorted(topics.values(), key=lambda t: (t.label.casefold(), t.key)))
    where = places(content.paths)
    specs: list[PageSpec] = []
    old, made = memo.get("inputs", {}), {}

    def add(url, build, cls, parts, source=None, template=None, lastmod=None, make=None):
        path = urls.output_path(url)
        kept = old.get(path)
        if kept is not None and kept[0] == parts:
            inputs = kept[1]
        else:
            inputs = make() if make is not None else cls(*parts)
        made[path] = (parts, inputs)
        indexable = template not in NOINDEX_TEMPLATES
        specs.append(
            PageSpec(
                path,
                build,
                inputs,
                source or (f"templates/{template}" if template else None),
                url if indexable and template else None,
                lastmod,
            )
        )

    def body(doc: Document) -> tuple[str, str, str]:
        return (doc.path, doc.digest, content.html_keys.get(doc.path, ""))

    articles = content.articles
    for index, doc in enumerate(articles):
        mine = where.get(doc.path, [])
        prev = articles[index + 1].path if index + 1 < len(articles) and not mine else None
        nxt = articles[index - 1].path if index > 0 and not mine else None
        steps = tuple(
            (p.path.title, p.path.id, p.number, p.count,
             arts[p.prev] if p.prev else None, arts[p.next] if p.next else None)
            for p in mine
        )  # fmt: skip
        parts = (
            body(doc),
            arts[doc.path],
            tuple(arts[x] for x in content.related[doc.path]),
            arts[prev] if prev else None,
            arts[nxt] if nxt else None,
            steps,
            content.banners.get(doc.path, ""),
        )

        def article(parts=parts, doc=doc) -> cx.ArticlePage:
            ident, summary, related, before, after, steps, banner = parts
            here = tuple(cx.PathPlace(*step) for step in steps)
            return cx.ArticlePage(
                cx.Body(*ident, doc), summary, related, before, after, here, banner
            )

        add(arts[doc.path].url, cx.article, None, parts, doc.path, "article.html",
            doc.meta.updated or doc.date, article)  # fmt: skip
    for doc in content.pages:
        parts = (body(doc), content.banners.get(doc.path, ""))

        def page(parts=parts, doc=doc) -> cx.StandalonePage:
            return cx.StandalonePage(cx.Body(*parts[0], doc), parts[1])

        url = urls.document_url(doc.kind, doc.slug)
        add(url, cx.standalone, None, parts, doc.path, f"{doc.meta.layout}.html", make=page)
    paths = tuple(
        cx.ReadingPathView(p.id, p.title, p.description, tuple(arts[x] for x in p.articles))
        for p in content.paths
    )
    latest = tuple(arts[d.path] for d in articles[: c.home_articles])
    add("/", cx.home, cx.HomePage, (latest, sorted_topics, paths), template="index.html")
    az = tuple(
        arts[d.path] for d in sorted(articles, key=lambda d: (cx.sort_title(d.title), d.path))
    )
    newest = articles[0].date if articles else None
    add("/articles/", cx.articles_index, cx.AToZPage, (az,), None, "articles.html", newest)
    add("/feeds/", cx.feeds_page, cx.TopicsPage, (sorted_topics,), template="feeds.html")
    add("/tags/", cx.topics_index, cx.TopicsPage, (sorted_topics,), template="topics.html")
    size = c.page_size
    for key, summary in topics.items():
        members = content.taxonomy.topics[key].articles
        count = max(1, -(-len(members) // size))
        near = tuple(topics[k] for k in content.related_topics.get(key, ()) if k in topics)
        newest_here = arts[members[0]].date if members else None
        for n in range(1, count + 1):
            chunk = tuple(arts[x] for x in members[(n - 1) * size : n * size])
            add(urls.topic_url(summary.slug, n), cx.topic, cx.TopicPage,
                (summary, n, count, chunk, near), None, "topic.html", newest_here)  # fmt: skip
    if c.search:
        add("/search/", cx.search, cx.SearchPage, (True,), template="search.html")
    if not any(d.slug == "get-help" for d in content.pages):
        add("/get-help/", cx.default_help, tuple, (), template="help.html")
    add("/404.html", cx.not_found, tuple, (), template="404.html")
    newest_20 = tuple(arts[d.path] for d in articles[:20])
    add("/feed.xml", cx.feed, cx.FeedInputs, (None, newest_20))
    for key, summary in topics.items():
        members = content.taxonomy.topics[key].articles[:20]
        entries = tuple(arts[x] for x in members)
        add(urls.topic_feed_url(summary.slug), cx.feed, cx.FeedInputs, (summary, entries))
    origin = urls.absolute
    sitemap = tuple(
        (origin(c.base_url, c.base_path, s.url), s.lastmod) for s in specs if s.url is not None
    )
    add("/sitemap.xml", cx.sitemap, cx.SitemapInputs, (sitemap,))
    add("/robots.txt", cx.robots, tuple, ())
    memo["inputs"] = made
    return specs


def outputs(
    specs: Sequence[PageSpec], shared: str, previous: Mapping[str, tuple[str, str]]
) -> tuple[list[Output], list[int], dict[str, str]]:
    """Each spec as an `Output`: kept (`data=None`) when its key is the previous build's.

    Returns the outputs, the indices of those still to render, and every page's key.
    """
    out: list[Output] = []
    todo: list[int] = []
    keys: dict[str, str] = {}
    for spec in specs:
        key = keys[spec.path] = spec.key(shared)
        old_key, old_digest = previous.get(spec.path, (None, None))
        if old_key == key and old_digest:
            out.append(Output(spec.path, None, spec.source, old_digest))
        else:
            todo.append(len(out))
            out.append(Output(spec.path, b"", spec.source))
    return out, todo, keys
