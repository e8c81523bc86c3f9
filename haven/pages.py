"""Plan every output page as data: template contexts rendered to `Output` records, no disk I/O."""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import sys
import traceback
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from . import feeds
from .config import SiteConfig
from .links import url_path
from .model import ERROR, Diagnostic, Document, Output, Rendered, add_years
from .references import Reference
from .taxonomy import Taxonomy, related_articles, related_topics

TEMPLATES = (
    "base.html",
    "index.html",
    "article.html",
    "topic.html",
    "topics.html",
    "page.html",
    "help.html",
    "search.html",
    "404.html",
)
WORDS_PER_MINUTE = 200


class TemplateProblem(Exception):
    def __init__(self, diagnostic: Diagnostic):
        super().__init__(diagnostic.message)
        self.diagnostic = diagnostic


def date_display(value: date | datetime | None) -> str:
    if value is None:
        return ""
    return f"{value.day} {value:%B %Y}"


def iso(value: date | datetime | None) -> str:
    return "" if value is None else value.isoformat()


def make_environment(root: Path, config: SiteConfig) -> tuple[jinja2.Environment, list[Diagnostic]]:
    """A Jinja2 environment with autoescape on for every template, whatever its extension."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(root / "templates")),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    base_path = config.base_path
    base_url = config.base_url.rstrip("/")
    env.globals["url"] = lambda path: url_path(path, base_path)
    env.globals["abs_url"] = lambda path: _abs(base_url, base_path, path)
    env.filters["date_display"] = date_display
    env.filters["iso"] = iso
    diags = []
    for name in env.list_templates():
        if not name.endswith((".html", ".xml")):
            continue
        try:
            env.get_template(name)
        except jinja2.TemplateSyntaxError as exc:
            diags.append(
                Diagnostic(
                    ERROR,
                    f"templates/{exc.name or name}",
                    exc.lineno,
                    None,
                    f"template syntax error: {exc.message}",
                    code="template",
                )
            )
    for name in TEMPLATES:
        if not (root / "templates" / name).exists():
            diags.append(
                Diagnostic(
                    ERROR,
                    f"templates/{name}",
                    None,
                    None,
                    "template is missing",
                    hint="every page kind needs its template",
                    code="template",
                )
            )
    return env, diags


def _abs(base_url: str, base_path: str, path: str) -> str:
    """Absolute URL of a site-relative path: base_url already carries the base path."""
    href = url_path(path, base_path)
    origin = (
        base_url[: len(base_url) - len(base_path.rstrip("/"))] if base_path != "/" else base_url
    )
    return origin + href


def render_template(env: jinja2.Environment, name: str, context: dict[str, Any]) -> bytes:
    """Render; a template error becomes a Diagnostic naming the template and line."""
    try:
        return env.get_template(name).render(context).encode("utf-8")
    except jinja2.TemplateError as exc:
        raise TemplateProblem(_template_diagnostic(exc, name)) from None
    except Exception as exc:  # a filter or global raised: still the template's line
        raise TemplateProblem(_template_diagnostic(exc, name)) from None


def _template_diagnostic(exc: BaseException, name: str) -> Diagnostic:
    line = getattr(exc, "lineno", None)
    where = getattr(exc, "name", None) or name
    for frame in reversed(traceback.extract_tb(sys.exc_info()[2])):
        if "/templates/" in frame.filename.replace("\\", "/"):
            where = frame.filename.replace("\\", "/").rsplit("/templates/", 1)[1]
            line = frame.lineno
            break
    message = getattr(exc, "message", None) or str(exc)
    return Diagnostic(
        ERROR, f"templates/{where}", line, None, f"{type(exc).__name__}: {message}", code="template"
    )


@dataclass
class SitePlan:
    """Everything the page planner needs, gathered by the pipeline."""

    config: SiteConfig
    articles: Sequence[Document]  # published, newest first
    pages: Sequence[Document]  # published standalone pages
    rendered: dict[str, Rendered]
    html: dict[str, str]  # Document.path -> body HTML with links rewritten
    taxonomy: Taxonomy
    references: dict[str, Reference]
    now: datetime
    serve: bool = False
    unpublished: Sequence[str] = ()
    parallel: bool = True  # render pages in forked worker processes (not under the dev server)
    templates_digest: str = ""  # changes whenever any template changes
    previous: Mapping[str, tuple[str, str]] = field(default_factory=dict)  # path -> (key, digest)
    diagnostics: list[Diagnostic] = field(default_factory=list)


def article_url(doc: Document) -> str:
    return f"/articles/{doc.slug}/" if doc.kind == "article" else f"/{doc.slug}/"


def topic_url(slug: str, page: int = 1) -> str:
    return f"/tags/{slug}/" if page == 1 else f"/tags/{slug}/page/{page}/"


class Planner:
    def __init__(self, plan: SitePlan, env: jinja2.Environment):
        self.p = plan
        self.env = env
        c = plan.config
        self.site = self._site_context()
        self.topic_summaries = {
            key: {
                "key": t.key,
                "slug": t.slug,
                "label": t.label,
                "hashtag": "#" + t.key,
                "url": topic_url(t.slug),
                "count": len(t.articles),
                "description": t.description,
            }
            for key, t in plan.taxonomy.topics.items()
            if t.articles
        }
        self.by_path = {d.path: d for d in plan.articles}
        self.dates = {d.path: d.date for d in plan.articles}
        self.summaries = {d.path: self._summary(d) for d in plan.articles}
        self.outputs: list[Output] = []
        self.sources: dict[str, dict] = {}
        self.fingerprints: dict[str, str] = {}
        self.ref_html = {key: ref.html() for key, ref in plan.references.items()}
        self.jobs: list[tuple[int, str, dict[str, Any]]] = []  # (output index, template, context)
        self.sitemap: list[tuple[str, datetime | None]] = []
        self.abs = lambda path: _abs(c.base_url.rstrip("/"), c.base_path, path)

    # -- contexts -------------------------------------------------------------------------------

    def _site_context(self) -> dict[str, Any]:
        c = self.p.config
        nav = [{"title": "Home", "url": "/"}, {"title": "Topics", "url": "/tags/"}]
        if c.search:
            nav.append({"title": "Search", "url": "/search/"})
        menu = sorted(
            (d for d in self.p.pages if d.meta.get("menu") and d.slug != "get-help"),
            key=lambda d: (d.meta["menu"], d.slug),
        )
        nav += [{"title": d.title, "url": article_url(d)} for d in menu]
        nav.append({"title": "Get help", "url": "/get-help/"})
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
            }
            for s in c.support
        ]
        e = c.exit_this_page
        return {
            "title": c.title,
            "description": c.description,
            "language": c.language,
            "base_url": c.base_url,
            "base_path": c.base_path,
            "nav": nav,
            "exit": {
                "enabled": e.enabled,
                "url": e.url,
                "history": e.history,
                "shortcut": e.shortcut,
            },
            "support": support,
            "default_region": c.default_region,
            "emergency": dict(c.emergency),
            "regions": sorted({s.region for s in c.support}),
            "search": c.search,
            "live_reload": self.p.serve,
            # Published standalone pages by slug: the theme links only to pages that exist.
            "pages": {d.slug: article_url(d) for d in self.p.pages},
        }

    def _topics_of(self, doc: Document) -> list[dict]:
        return [
            self.topic_summaries[k]
            for k in self.p.taxonomy.by_article.get(doc.path, ())
            if k in self.topic_summaries
        ]

    def _notes_of(self, doc: Document) -> list[dict]:
        notes = self.p.config.content_notes
        return [
            {"key": k, "label": notes[k].label}
            for k in doc.meta.get("content_notes", ())
            if k in notes
        ]

    def _summary(self, doc: Document) -> dict[str, Any]:
        words = self.p.rendered[doc.path].words
        return {
            "title": doc.title,
            "url": article_url(doc),
            "date": doc.date,
            "summary": doc.meta.get("summary", ""),
            "topics": self._topics_of(doc),
            "content_notes": self._notes_of(doc),
            "reading_minutes": max(1, round(words / WORDS_PER_MINUTE)),
        }

    def _banner(self, doc: Document) -> str:
        if not self.p.serve:
            return ""
        if doc.draft:
            return "Draft"
        if doc.date and doc.date > self.p.now:
            return "Scheduled"
        return ""

    def _page(
        self,
        kind: str,
        title: str,
        url: str,
        description: str,
        jsonld=(),
        og_type="website",
        banner: str = "",
    ) -> dict[str, Any]:
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

    def emit(
        self,
        path: str,
        template: str,
        context: dict[str, Any],
        source: str | None = None,
        lastmod: datetime | None = None,
        sitemap: bool = True,
    ) -> None:
        context = {"site": self.site, **context}
        key = hashlib.blake2b(
            f"{self.p.templates_digest}\0{template}\0{context!r}".encode(), digest_size=16
        ).hexdigest()
        self.fingerprints[path] = key
        old_key, old_digest = self.p.previous.get(path, (None, None))
        if old_key == key and old_digest:
            # Same templates, same data: the page would come out byte for byte the same.
            self.outputs.append(Output(path, None, source or f"templates/{template}", old_digest))
            if sitemap:
                self.sitemap.append((self.abs(context["page"]["url"]), lastmod))
            return
        # Rendered later, all together, so both cores can share the work (render_pages).
        self.jobs.append((len(self.outputs), template, context))
        self.outputs.append(Output(path, b"", source or f"templates/{template}"))
        if sitemap:
            self.sitemap.append((self.abs(context["page"]["url"]), lastmod))

    # -- page kinds -----------------------------------------------------------------------------

    def article(self, doc: Document, index: int) -> None:
        p, c = self.p, self.p.config
        r = p.rendered[doc.path]
        url = article_url(doc)
        h2 = [h for h in r.headings if h.level == 2]
        toc = h2 if len(h2) >= 3 else []
        notes = self._notes_of(doc)
        meta = doc.meta
        last_reviewed = meta.get("last_reviewed")
        next_review = meta.get("next_review") or (
            add_years(last_reviewed, c.review.interval_years) if last_reviewed else None
        )
        refs = self._references(r)
        updated = meta.get("updated")
        article = {
            "title": doc.title,
            "url": url,
            "summary": meta.get("summary", ""),
            "date": doc.date,
            "updated": updated,
            "author": meta.get("author") or c.author,
            "reviewed_by": meta.get("reviewed_by", ""),
            "last_reviewed": last_reviewed,
            "next_review": next_review,
            "words": r.words,
            "reading_minutes": max(1, round(r.words / WORDS_PER_MINUTE)),
            "topics": self._topics_of(doc),
            "content": Markup(p.html[doc.path]),
            "toc": toc,
            "questions": list(r.questions),
            "references": refs,
            "content_notes": notes,
            "support_first": any(c.content_notes[n["key"]].support_first for n in notes),
            "image": meta.get("image"),
            "image_alt": meta.get("image_alt", ""),
        }
        jsonld = [
            feeds.article_jsonld(
                title=doc.title,
                description=article["summary"],
                url=self.abs(url),
                published=doc.date,
                modified=updated or doc.date,
                author=article["author"] or None,
                language=c.language,
                topics=[t["label"] for t in article["topics"]],
                image=self._image_abs(meta.get("image")),
                reviewed_by=article["reviewed_by"] or None,
                last_reviewed=last_reviewed,
                publisher_name=c.title,
                publisher_url=c.base_url,
            )
        ]
        if r.questions:
            jsonld.append(feeds.faq_jsonld(r.questions))
        related = related_articles(doc.path, p.taxonomy, self.dates)
        arts = p.articles
        context = {
            "page": self._page(
                "article", doc.title, url, article["summary"], jsonld, "article", self._banner(doc)
            ),
            "article": article,
            "related": [self.summaries[x] for x in related],
            "prev": self.summaries[arts[index + 1].path] if index + 1 < len(arts) else None,
            "next": self.summaries[arts[index - 1].path] if index > 0 else None,
        }
        self.emit(
            f"articles/{doc.slug}/index.html",
            "article.html",
            context,
            doc.path,
            updated or doc.date,
        )
        self.sources[f"articles/{doc.slug}/index.html"] = {
            "source": doc.path,
            "links": [[link.href, link.line] for link in r.links],
        }

    def _references(self, r: Rendered) -> list[dict[str, Any]]:
        """The numbered references a body cites, in the order of first citation."""
        refs = self.ref_html
        return [
            {"number": c.number, "key": c.key, "id": f"ref-{c.key}", "html": refs[c.key]}
            for c in sorted(r.citations, key=lambda x: x.number)
            if c.key in refs
        ]

    def _image_abs(self, image: str | None) -> str | None:
        if not image:
            return None
        return image if "://" in image else self.abs(image)

    def standalone(self, doc: Document) -> None:
        r = self.p.rendered[doc.path]
        url = article_url(doc)
        layout = doc.meta.get("layout", "page")
        toc = (
            [h for h in r.headings if h.level == 2]
            if sum(h.level == 2 for h in r.headings) >= 3
            else []
        )
        context = {
            "page": self._page(
                "help" if layout == "help" else "page",
                doc.title,
                url,
                doc.meta.get("summary", "") or self.p.config.description,
                banner=self._banner(doc),
            ),
            "doc": {
                "title": doc.title,
                "summary": doc.meta.get("summary", ""),
                "content": Markup(self.p.html[doc.path]),
                "toc": toc,
                "references": self._references(r),
            },
        }
        self.emit(f"{doc.slug}/index.html", f"{layout}.html", context, doc.path)
        self.sources[f"{doc.slug}/index.html"] = {
            "source": doc.path,
            "links": [[link.href, link.line] for link in r.links],
        }

    def home(self) -> None:
        c = self.p.config
        latest = [self.summaries[d.path] for d in self.p.articles[: c.home_articles]]
        jsonld = [feeds.website_jsonld(c.title, c.base_url, c.description)]
        context = {
            "page": self._page("home", c.title, "/", c.description, jsonld),
            "articles": latest,
            "topics": self._sorted_topics(),
        }
        self.emit("index.html", "index.html", context)

    def _sorted_topics(self) -> list[dict]:
        return sorted(
            self.topic_summaries.values(), key=lambda t: (t["label"].casefold(), t["key"])
        )

    def topics(self) -> None:
        context = {
            "page": self._page(
                "topics",
                "Topics",
                "/tags/",
                "Every topic on the site, with the number of articles.",
            ),
            "topics": self._sorted_topics(),
        }
        self.emit("tags/index.html", "topics.html", context)
        size = self.p.config.page_size
        for key, summary in self.topic_summaries.items():
            topic = self.p.taxonomy.topics[key]
            paths = topic.articles
            count = max(1, -(-len(paths) // size))
            related = [
                self.topic_summaries[k]
                for k in related_topics(key, self.p.taxonomy)
                if k in self.topic_summaries
            ]
            for n in range(1, count + 1):
                url = topic_url(topic.slug, n)
                pagination = {
                    "number": n,
                    "count": count,
                    "prev_url": topic_url(topic.slug, n - 1) if n > 1 else None,
                    "next_url": topic_url(topic.slug, n + 1) if n < count else None,
                }
                title = (
                    summary["hashtag"] if n == 1 else f"{summary['hashtag']} (page {n} of {count})"
                )
                context = {
                    "page": self._page(
                        "topic", title, url, topic.description or f"Articles about {topic.label}."
                    ),
                    "topic": summary,
                    "articles": [self.summaries[x] for x in paths[(n - 1) * size : n * size]],
                    "pagination": pagination,
                    "related_topics": related,
                }
                self.emit(
                    url.lstrip("/") + "index.html",
                    "topic.html",
                    context,
                    lastmod=self.dates[paths[0]] if paths else None,
                )

    def feeds(self) -> None:
        c = self.p.config

        def entries(paths: Sequence[str]) -> list[feeds.FeedEntry]:
            out = []
            for path in paths[:20]:
                doc = self.by_path[path]
                s = self.summaries[path]
                out.append(
                    feeds.FeedEntry(
                        title=doc.title,
                        url=self.abs(s["url"]),
                        published=doc.date,
                        updated=doc.meta.get("updated") or doc.date,
                        summary=s["summary"],
                        topics=tuple(t["label"] for t in s["topics"]),
                        content_notes=tuple(n["label"] for n in s["content_notes"]),
                        author=doc.meta.get("author") or c.author or None,
                    )
                )
            return out

        self.outputs.append(
            Output(
                "feed.xml",
                feeds.atom_feed(
                    title=c.title,
                    subtitle=c.description,
                    site_url=c.base_url,
                    feed_url=self.abs("/feed.xml"),
                    entries=entries([d.path for d in self.p.articles]),
                    author=c.title,
                    language=c.language,
                ),
            )
        )
        for key, summary in self.topic_summaries.items():
            topic = self.p.taxonomy.topics[key]
            self.outputs.append(
                Output(
                    f"tags/{topic.slug}/feed.xml",
                    feeds.atom_feed(
                        title=f"{c.title}: {summary['hashtag']}",
                        subtitle=topic.description,
                        site_url=self.abs(summary["url"]),
                        feed_url=self.abs(f"/tags/{topic.slug}/feed.xml"),
                        entries=entries(topic.articles),
                        author=c.title,
                        language=c.language,
                    ),
                )
            )
        self.outputs.append(Output("sitemap.xml", feeds.sitemap(self.sitemap)))
        self.outputs.append(Output("robots.txt", feeds.robots_txt(self.abs("/sitemap.xml"))))

    def fixed_pages(self) -> None:
        c = self.p.config
        if c.search:
            self.emit(
                "search/index.html",
                "search.html",
                {"page": self._page("search", "Search", "/search/", "Search the articles.")},
            )
        if not any(d.slug == "get-help" for d in self.p.pages):
            self.emit(
                "get-help/index.html",
                "help.html",
                {
                    "page": self._page(
                        "help", "Get help", "/get-help/", "Support services you can contact now."
                    ),
                    "doc": {
                        "title": "Get help",
                        "summary": "",
                        "content": Markup(""),
                        "toc": [],
                        "references": [],
                    },
                },
            )
        self.emit(
            "404.html",
            "404.html",
            {
                "page": self._page(
                    "404", "Page not found", "/404.html", "This page could not be found."
                )
            },
            sitemap=False,
        )


def plan_site(plan: SitePlan, env: jinja2.Environment) -> tuple[list[Output], dict]:
    """Every page, feed and sitemap of the site, plus the manifest's page -> source map."""
    planner = Planner(plan, env)
    for index, doc in enumerate(plan.articles):
        planner.article(doc, index)
    for doc in plan.pages:
        planner.standalone(doc)
    planner.home()
    planner.topics()
    planner.fixed_pages()
    planner.feeds()
    outputs = planner.outputs
    for index, data, problem in render_pages(env, planner.jobs, parallel=plan.parallel):
        if problem is not None:
            plan.diagnostics.append(problem)
        outputs[index] = replace(outputs[index], data=data)
    outputs = [o for o in outputs if o.data is not None or o.reuse]
    manifest = {
        "base_path": plan.config.base_path,
        "pages": planner.sources,
        "unpublished": sorted(plan.unpublished),
        "fingerprints": planner.fingerprints,
    }
    return outputs, manifest


# Set just before the worker processes are forked, so they inherit the templates and contexts
# instead of receiving them through pipes.
_WORK: tuple[jinja2.Environment, list] | None = None
# Below this many pages, starting worker processes costs more than it saves.
PARALLEL_PAGES = 200


def _render_range(bounds: tuple[int, int]) -> list[tuple[int, bytes | None, Diagnostic | None]]:
    env, jobs = _WORK
    results = []
    for index, template, context in jobs[bounds[0] : bounds[1]]:
        try:
            results.append((index, render_template(env, template, context), None))
        except TemplateProblem as problem:
            results.append((index, None, problem.diagnostic))
    return results


def render_pages(env: jinja2.Environment, jobs: list, *, parallel: bool = True):
    """Render every planned page: in forked worker processes when there are many."""
    global _WORK
    _WORK = (env, jobs)
    try:
        workers = os.cpu_count() or 1
        if not parallel or workers < 2 or len(jobs) < PARALLEL_PAGES:
            return _render_range((0, len(jobs)))
        step = -(-len(jobs) // (workers * 4))
        ranges = [(lo, min(lo + step, len(jobs))) for lo in range(0, len(jobs), step)]
        ctx = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
            return [item for chunk in pool.map(_render_range, ranges) for item in chunk]
    finally:
        _WORK = None
