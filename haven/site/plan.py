"""Plan every output page as data: template contexts rendered to `Output` records, no disk I/O."""

from __future__ import annotations

import functools
import hashlib
import os
import re
import stat
import sys
import traceback
import unicodedata
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from ..config import SiteConfig
from ..links import url_path
from ..model import ERROR, Diagnostic, Document, Output, Rendered, add_years
from ..render import process_pool
from ..sources.references import Reference
from ..taxonomy import Taxonomy, hashtag_words, related_topics
from . import feeds
from .paths import ReadingPath, places

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
    "articles.html",
    "feeds.html",
)
# Templates whose pages carry <meta name="robots" content="noindex">: left out of the sitemap.
NOINDEX_TEMPLATES = frozenset({"search.html", "404.html"})
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


class _BytecodeCache(jinja2.FileSystemBytecodeCache):
    """Jinja's bytecode cache, where a damaged or unwritable file only costs a compile."""

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        try:
            super().load_bytecode(bucket)
        except Exception:
            bucket.reset()

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        try:
            super().dump_bytecode(bucket)
        except OSError:
            pass


def _bytecode_cache() -> jinja2.BytecodeCache | None:
    """Compiled templates, in the user's own cache folder, never in the project's `.cache/`.

    Compiled templates are code: a project's `.cache/` may come from elsewhere (a CI cache), the
    user's own folder does not. Compiling is most of the time of an edit's rebuild.
    """
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    folder = os.path.join(base, "haven-templates")
    try:
        os.makedirs(folder, mode=0o700, exist_ok=True)
    except OSError:
        return None
    return _BytecodeCache(folder)


def make_environment(root: Path, config: SiteConfig) -> tuple[jinja2.Environment, list[Diagnostic]]:
    """A Jinja2 environment with autoescape on for every template, whatever its extension."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(root / "templates")),
        bytecode_cache=_bytecode_cache(),
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
    try:
        names = env.list_templates()
    except OSError as exc:
        names = []
        diags.append(
            Diagnostic(
                ERROR, "templates", None, None, f"cannot read: {exc.strerror}", code="template"
            )
        )
    for name in names:
        path = root / "templates" / name
        try:
            mode = os.stat(path).st_mode
        except OSError as exc:
            diags.append(_template_file_error(name, f"cannot read it: {exc.strerror}"))
            continue
        if not stat.S_ISREG(mode):
            # Reading a pipe would wait forever; any template may be included by another.
            diags.append(
                _template_file_error(name, "this is not a file (a pipe, socket or device)")
            )
            continue
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
        except UnicodeDecodeError as exc:
            data = exc.object if isinstance(exc.object, bytes) else b""
            line = data[: exc.start].count(b"\n") + 1
            byte = data[exc.start : exc.start + 1].hex() or "?"
            diags.append(
                Diagnostic(
                    ERROR,
                    f"templates/{name}",
                    line,
                    None,
                    f"template is not UTF-8 text (byte 0x{byte} on this line)",
                    hint="save it as UTF-8; a template is text, not an image or a binary file",
                    code="template",
                )
            )
        except OSError as exc:
            diags.append(_template_file_error(name, f"cannot read it: {exc.strerror}"))
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


def _template_file_error(name: str, message: str) -> Diagnostic:
    return Diagnostic(
        ERROR, f"templates/{name}", None, None, message, hint="fix or remove it", code="template"
    )


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
    rendered: Mapping[str, Any]  # Document.path -> its body's brief: words, links, citations
    body_of: Callable[[str], Rendered]  # Document.path -> rendered body, links rewritten
    html_keys: Mapping[str, str]  # Document.path -> digest of that HTML
    taxonomy: Taxonomy
    references: dict[str, Reference]
    now: datetime
    serve: bool = False
    unpublished: Sequence[str] = ()
    parallel: bool = True  # render pages in forked worker processes (not under the dev server)
    inputs_digest: str = ""  # templates, site.yaml, references and versions: shared by every page
    previous: Mapping[str, tuple[str, str]] = field(default_factory=dict)  # path -> (key, digest)
    related: Mapping[str, Sequence[str]] = field(default_factory=dict)  # path -> related articles
    diagnostics: list[Diagnostic] = field(default_factory=list)
    paths: Sequence[ReadingPath] = ()  # "start here" paths, published articles only


def article_url(doc: Document) -> str:
    return f"/articles/{doc.slug}/" if doc.kind == "article" else f"/{doc.slug}/"


def topic_url(slug: str, page: int = 1) -> str:
    return f"/tags/{slug}/" if page == 1 else f"/tags/{slug}/page/{page}/"


@dataclass
class PagePlan:
    """Every output of the site: reused ones final, the others still to render (`jobs`)."""

    outputs: list[Output]  # data b"" for a page still to render
    jobs: list[tuple[int, Callable[[], bytes]]]  # (index in outputs, what makes its bytes)
    manifest: dict


def _digest(value: object) -> str:
    """A short digest of a value's repr: the plain data of page keys repr the same every run."""
    return hashlib.blake2b(repr(value).encode(), digest_size=16).hexdigest()


class Planner:
    """Plans each page from a key of small inputs; builds a page's context only to render it.

    A page's key names everything its context is made of: the shared inputs (templates, site.yaml,
    references, versions) and, per page, the digests of the documents and body HTML it shows.
    When the key equals the previous build's, the page is not rendered again.
    """

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
                "hashtag": t.hashtag or "#" + t.key,
                "hashtag_words": hashtag_words(t.hashtag or "#" + t.key),
                "url": topic_url(t.slug),
                "count": len(t.articles),
                "description": t.description,
            }
            for key, t in plan.taxonomy.topics.items()
            if t.articles
        }
        self.topic_keys = {
            key: _digest(sorted(s.items())) for key, s in self.topic_summaries.items()
        }
        self.shared = hashlib.blake2b(
            f"{plan.inputs_digest}\0{self.site!r}".encode(), digest_size=16
        ).hexdigest()
        self.by_path = {d.path: d for d in plan.articles}
        self.dates = {d.path: d.date for d in plan.articles}
        self._summaries: dict[str, dict[str, Any]] = {}
        self._summary_keys: dict[str, str] = {}
        self.outputs: list[Output] = []
        self.sources: dict[str, dict] = {}
        self.fingerprints: dict[str, str] = {}
        self._ref_html: dict[str, str] | None = None
        self.jobs: list[tuple[int, Callable[[], bytes]]] = []
        self.sitemap: list[tuple[str, datetime | None]] = []
        self.abs = lambda path: _abs(c.base_url.rstrip("/"), c.base_path, path)
        self.places = places(plan.paths)

    # -- keys -----------------------------------------------------------------------------------

    def doc_key(self, doc: Document) -> tuple:
        """A document's front matter and body (its bytes) and its body HTML after link rewriting."""
        return (doc.path, doc.digest, self.p.html_keys.get(doc.path, ""))

    def summary_key(self, path: str) -> str:
        """Everything an article's summary (in listings, neighbours, feeds) is made of.

        Not the body: an edit that keeps the reading time changes no other page.
        """
        key = self._summary_keys.get(path)
        if key is None:
            doc = self.by_path[path]
            meta = doc.meta
            key = _digest(
                (
                    path,
                    doc.slug,
                    doc.title,
                    doc.date,
                    meta.updated,
                    meta.summary,
                    meta.author,
                    list(meta.content_notes),
                    max(1, round(self.p.rendered[path].words / WORDS_PER_MINUTE)),
                    [self.topic_keys.get(k) for k in self.p.taxonomy.by_article.get(path, ())],
                )
            )
            self._summary_keys[path] = key
        return key

    # -- contexts -------------------------------------------------------------------------------

    def _site_context(self) -> dict[str, Any]:
        c = self.p.config
        nav = [
            {"title": "Home", "url": "/"},
            {"title": "Articles A to Z", "url": "/articles/"},
            {"title": "Topics", "url": "/tags/"},
        ]
        if c.search:
            nav.append({"title": "Search", "url": "/search/"})
        menu = sorted(
            (d for d in self.p.pages if d.meta.menu and d.slug != "get-help"),
            key=lambda d: (d.meta.menu, d.slug),
        )
        nav += [{"title": d.title, "url": article_url(d)} for d in menu]
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
            "region_names": dict(sorted(names.items())),
            "region_order": order,
            "emergency_numbers": emergency,
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
        return [{"key": k, "label": notes[k].label} for k in doc.meta.content_notes if k in notes]

    def summary(self, path: str) -> dict[str, Any]:
        found = self._summaries.get(path)
        if found is None:
            doc = self.by_path[path]
            words = self.p.rendered[doc.path].words
            found = self._summaries[path] = {
                "title": doc.title,
                "url": article_url(doc),
                "date": doc.date,
                "summary": doc.meta.summary,
                "topics": self._topics_of(doc),
                "content_notes": self._notes_of(doc),
                "reading_minutes": max(1, round(words / WORDS_PER_MINUTE)),
            }
        return found

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
        key: object,
        make: Callable[[], bytes],
        source: str | None,
        *,
        url: str | None = None,
        lastmod: datetime | None = None,
    ) -> None:
        """One output: reused when its key is the previous build's, else rendered by `make`.

        `url` puts the page in the sitemap.
        """
        fingerprint = _digest((self.shared, path, key))
        self.fingerprints[path] = fingerprint
        if url is not None:
            self.sitemap.append((self.abs(url), lastmod))
        old_key, old_digest = self.p.previous.get(path, (None, None))
        if old_key == fingerprint and old_digest:
            # Same inputs: the page would come out byte for byte the same.
            self.outputs.append(Output(path, None, source, old_digest))
            return
        # Rendered later, all together, so both cores can share the work (render_outputs).
        self.jobs.append((len(self.outputs), make))
        self.outputs.append(Output(path, b"", source))

    def page(self, path, template, key, context, source=None, *, url=None, lastmod=None) -> None:
        """A page made from `template`; `context()` is called only if it must be rendered."""

        def make() -> bytes:
            return render_template(self.env, template, {"site": self.site, **context()})

        if template in NOINDEX_TEMPLATES:
            url = None  # a page that asks not to be indexed is not offered to crawlers
        self.emit(
            path, (template, key), make, source or f"templates/{template}", url=url, lastmod=lastmod
        )

    # -- page kinds -----------------------------------------------------------------------------

    def article(self, doc: Document, index: int) -> None:
        arts = self.p.articles
        related = self.p.related[doc.path]
        prev = arts[index + 1].path if index + 1 < len(arts) else None
        nxt = arts[index - 1].path if index > 0 else None
        mine = self.places.get(doc.path, [])
        if mine:
            prev = nxt = None  # the path's neighbours stand instead of the chronological ones
        key = (
            self.doc_key(doc),
            self.summary_key(doc.path),
            [self.summary_key(x) for x in related],
            prev and self.summary_key(prev),
            nxt and self.summary_key(nxt),
            self._banner(doc),
            [
                (
                    p.path.id,
                    p.number,
                    p.count,
                    p.prev and self.summary_key(p.prev),
                    p.next and self.summary_key(p.next),
                )
                for p in mine
            ],
        )
        updated = doc.meta.updated
        self.page(
            f"articles/{doc.slug}/index.html",
            "article.html",
            key,
            lambda: self._article_context(doc, related, prev, nxt),
            doc.path,
            url=article_url(doc),
            lastmod=updated or doc.date,
        )
        self.sources[f"articles/{doc.slug}/index.html"] = {
            "source": doc.path,
            "links": [[link.href, link.line] for link in self.p.rendered[doc.path].links],
        }

    def _article_context(self, doc: Document, related, prev, nxt) -> dict[str, Any]:
        p, c = self.p, self.p.config
        r = p.body_of(doc.path)
        url = article_url(doc)
        h2 = [h for h in r.headings if h.level == 2]
        toc = h2 if len(h2) >= 3 else []
        notes = self._notes_of(doc)
        meta = doc.meta
        last_reviewed = meta.last_reviewed
        next_review = meta.next_review or (
            add_years(last_reviewed, c.review.interval_years) if last_reviewed else None
        )
        refs = self._references(r)
        updated = meta.updated
        article = {
            "title": doc.title,
            "url": url,
            "summary": meta.summary,
            "date": doc.date,
            "updated": updated,
            "author": meta.author or c.author,
            "reviewed_by": meta.reviewed_by or "",
            "last_reviewed": last_reviewed,
            "next_review": next_review,
            "words": r.words,
            "reading_minutes": max(1, round(r.words / WORDS_PER_MINUTE)),
            "topics": self._topics_of(doc),
            "content": Markup(r.html),
            "toc": toc,
            "questions": list(r.questions),
            "references": refs,
            "content_notes": notes,
            "support_first": any(c.content_notes[n["key"]].support_first for n in notes),
            "image": meta.image,
            "image_alt": meta.image_alt,
            "paths": [
                {
                    "title": p.path.title,
                    "url": f"/#path-{p.path.id}",
                    "number": p.number,
                    "count": p.count,
                    "prev": self.summary(p.prev) if p.prev else None,
                    "next": self.summary(p.next) if p.next else None,
                }
                for p in self.places.get(doc.path, [])
            ],
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
                image=self._image_abs(meta.image),
                reviewed_by=article["reviewed_by"] or None,
                last_reviewed=last_reviewed,
                publisher_name=c.title,
                publisher_url=c.base_url,
            )
        ]
        if r.questions:
            jsonld.append(feeds.faq_jsonld(r.questions))
        return {
            "page": self._page(
                "article", doc.title, url, article["summary"], jsonld, "article", self._banner(doc)
            ),
            "article": article,
            "related": [self.summary(x) for x in related],
            "prev": self.summary(prev) if prev else None,
            "next": self.summary(nxt) if nxt else None,
        }

    def _references(self, r: Rendered) -> list[dict[str, Any]]:
        """The numbered references a body cites, in the order of first citation."""
        if self._ref_html is None:
            self._ref_html = {key: ref.html() for key, ref in self.p.references.items()}
        refs = self._ref_html
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
        layout = doc.meta.layout
        url = article_url(doc)

        def context() -> dict[str, Any]:
            r = self.p.body_of(doc.path)
            toc = (
                [h for h in r.headings if h.level == 2]
                if sum(h.level == 2 for h in r.headings) >= 3
                else []
            )
            return {
                "page": self._page(
                    "help" if layout == "help" else "page",
                    doc.title,
                    url,
                    doc.meta.summary or self.p.config.description,
                    banner=self._banner(doc),
                ),
                "doc": {
                    "title": doc.title,
                    "summary": doc.meta.summary,
                    "content": Markup(r.html),
                    "toc": toc,
                    "references": self._references(r),
                },
            }

        self.page(
            f"{doc.slug}/index.html",
            f"{layout}.html",
            (self.doc_key(doc), self._banner(doc)),
            context,
            doc.path,
            url=url,
        )
        self.sources[f"{doc.slug}/index.html"] = {
            "source": doc.path,
            "links": [[link.href, link.line] for link in self.p.rendered[doc.path].links],
        }

    def home(self) -> None:
        c = self.p.config
        latest = [d.path for d in self.p.articles[: c.home_articles]]

        def context() -> dict[str, Any]:
            jsonld = [feeds.website_jsonld(c.title, c.base_url, c.description)]
            return {
                "page": self._page("home", c.title, "/", c.description, jsonld),
                "articles": [self.summary(x) for x in latest],
                "topics": self._sorted_topics(),
                "paths": [
                    {
                        "id": p.id,
                        "title": p.title,
                        "description": p.description,
                        "articles": [self.summary(x) for x in p.articles],
                    }
                    for p in self.p.paths
                ],
            }

        paths = [(p.id, [self.summary_key(x) for x in p.articles]) for p in self.p.paths]
        key = ([self.summary_key(x) for x in latest], self._all_topics_key(), paths)
        self.page("index.html", "index.html", key, context, url="/")

    def articles_index(self) -> None:
        """/articles/: every published article, A to Z, under the letter it starts with."""
        order = sorted(self.p.articles, key=lambda d: (_sort_title(d.title), d.path))
        paths = [d.path for d in order]

        def context() -> dict[str, Any]:
            letters: list[dict[str, Any]] = []
            for path in paths:
                s = self.summary(path)
                letter = _letter(s["title"])
                if not letters or letters[-1]["letter"] != letter:
                    letters.append({"letter": letter, "id": _letter_id(letter), "articles": []})
                letters[-1]["articles"].append(s)
            return {
                "page": self._page(
                    "articles",
                    "Articles A to Z",
                    "/articles/",
                    "Every article on the site, from A to Z, with its summary and content notes.",
                ),
                "letters": letters,
                "count": len(paths),
            }

        self.page(
            "articles/index.html",
            "articles.html",
            [self.summary_key(x) for x in paths],
            context,
            url="/articles/",
            lastmod=self.p.articles[0].date if self.p.articles else None,
        )

    def feeds_page(self) -> None:
        """/feeds/: what a feed is, and the address of each, so a click never ends in raw XML."""

        def context() -> dict[str, Any]:
            return {
                "page": self._page(
                    "feeds",
                    "Follow new articles",
                    "/feeds/",
                    "How to follow new articles in a feed reader, without signing up.",
                ),
                "feed": self.abs("/feed.xml"),
                "topic_feeds": [
                    {**t, "feed": self.abs(f"/tags/{t['slug']}/feed.xml")}
                    for t in self._sorted_topics()
                ],
            }

        self.page("feeds/index.html", "feeds.html", self._all_topics_key(), context, url="/feeds/")

    def _all_topics_key(self) -> list:
        return sorted(self.topic_keys.values())

    def _sorted_topics(self) -> list[dict]:
        return sorted(
            self.topic_summaries.values(), key=lambda t: (t["label"].casefold(), t["key"])
        )

    def topics(self) -> None:
        def index_context() -> dict[str, Any]:
            return {
                "page": self._page(
                    "topics",
                    "Topics",
                    "/tags/",
                    "Every topic on the site, with the number of articles.",
                ),
                "topics": self._sorted_topics(),
            }

        self.page(
            "tags/index.html", "topics.html", self._all_topics_key(), index_context, url="/tags/"
        )
        size = self.p.config.page_size
        for key in self.topic_summaries:
            topic = self.p.taxonomy.topics[key]
            paths = topic.articles
            count = max(1, -(-len(paths) // size))
            related = [k for k in related_topics(key, self.p.taxonomy) if k in self.topic_summaries]
            for n in range(1, count + 1):
                url = topic_url(topic.slug, n)
                chunk = paths[(n - 1) * size : n * size]
                page_key = (
                    self.topic_keys[key],
                    [self.topic_keys[k] for k in related],
                    [self.summary_key(x) for x in chunk],
                    n,
                    count,
                )
                self.page(
                    url.lstrip("/") + "index.html",
                    "topic.html",
                    page_key,
                    functools.partial(self._topic_context, key, n, count, chunk, related),
                    url=url,
                    lastmod=self.dates[paths[0]] if paths else None,
                )

    def _topic_context(self, key, n, count, chunk, related) -> dict[str, Any]:
        summary = self.topic_summaries[key]
        topic = self.p.taxonomy.topics[key]
        url = topic_url(topic.slug, n)
        pagination = {
            "number": n,
            "count": count,
            "prev_url": topic_url(topic.slug, n - 1) if n > 1 else None,
            "next_url": topic_url(topic.slug, n + 1) if n < count else None,
        }
        title = summary["label"] if n == 1 else f"{summary['label']} (page {n} of {count})"
        return {
            "page": self._page(
                "topic", title, url, topic.description or f"Articles about {topic.label}."
            ),
            "topic": summary,
            "articles": [self.summary(x) for x in chunk],
            "pagination": pagination,
            "related_topics": [self.topic_summaries[k] for k in related],
        }

    def feeds(self) -> None:
        c = self.p.config

        def entries(paths: Sequence[str]) -> list[feeds.FeedEntry]:
            out = []
            for path in paths:
                doc = self.by_path[path]
                s = self.summary(path)
                out.append(
                    feeds.FeedEntry(
                        title=doc.title,
                        url=self.abs(s["url"]),
                        published=doc.date,
                        updated=doc.meta.updated or doc.date,
                        summary=s["summary"],
                        topics=tuple(t["label"] for t in s["topics"]),
                        content_notes=tuple(n["label"] for n in s["content_notes"]),
                        author=doc.meta.author or c.author or None,
                    )
                )
            return out

        newest = [d.path for d in self.p.articles[:20]]
        self.emit(
            "feed.xml",
            ("feed", [self.summary_key(x) for x in newest]),
            lambda: feeds.atom_feed(
                title=c.title,
                subtitle=c.description,
                site_url=c.base_url,
                feed_url=self.abs("/feed.xml"),
                entries=entries(newest),
                author=c.title,
                language=c.language,
            ),
            None,
        )
        for key, summary in self.topic_summaries.items():
            topic = self.p.taxonomy.topics[key]
            paths = topic.articles[:20]

            def make(topic=topic, summary=summary, paths=paths) -> bytes:
                return feeds.atom_feed(
                    title=f"{c.title}: {summary['label']}",
                    subtitle=topic.description,
                    site_url=self.abs(summary["url"]),
                    feed_url=self.abs(f"/tags/{topic.slug}/feed.xml"),
                    entries=entries(paths),
                    author=c.title,
                    language=c.language,
                )

            self.emit(
                f"tags/{topic.slug}/feed.xml",
                ("feed", self.topic_keys[key], [self.summary_key(x) for x in paths]),
                make,
                None,
            )
        sitemap = list(self.sitemap)
        self.emit("sitemap.xml", ("sitemap", sitemap), lambda: feeds.sitemap(sitemap), None)
        robots = self.abs("/sitemap.xml")
        self.emit("robots.txt", ("robots", robots), lambda: feeds.robots_txt(robots), None)

    def fixed_pages(self) -> None:
        c = self.p.config
        if c.search:
            self.page(
                "search/index.html",
                "search.html",
                (),
                lambda: {
                    "page": self._page("search", "Search", "/search/", "Search the articles."),
                    # The A-Z of articles, when the site has one, for readers without JavaScript.
                    "az": any(o.path == "articles/index.html" for o in self.outputs),
                },
                url="/search/",
            )
        if not any(d.slug == "get-help" for d in self.p.pages):
            self.page(
                "get-help/index.html",
                "help.html",
                (),
                lambda: {
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
                url="/get-help/",
            )
        self.page(
            "404.html",
            "404.html",
            (),
            lambda: {
                "page": self._page(
                    "404", "Page not found", "/404.html", "This page could not be found."
                )
            },
        )


def _sort_title(title: str) -> tuple[str, str]:
    """Titles sort as readers look for them: without case or accents, 'Über' beside 'Uber'."""
    folded = unicodedata.normalize("NFKD", title.casefold())
    plain = "".join(c for c in folded if not unicodedata.combining(c))
    return ("".join(c for c in plain if c.isalnum() or c == " ").strip(), title)


def _letter(title: str) -> str:
    """The A-Z heading an article stands under: its first letter, '0-9' for a digit."""
    first = next((c for c in _sort_title(title)[0] if c.isalnum()), "")
    if not first:
        return "#"
    return "0-9" if first.isdigit() else first.upper()


def _letter_id(letter: str) -> str:
    return "letter-" + ("digits" if letter == "0-9" else "other" if letter == "#" else letter)


@dataclass(frozen=True)
class PlanMemo:
    """What a full plan found, so that the next plan can redo only the pages of edited bodies.

    Valid for the output folder as it was written with it (`marker`, set by the pipeline) and for
    the same `structure`: the same shared inputs, documents in the same order, the same topics.
    """

    structure: str
    entries: tuple[tuple[str, str | None], ...]  # (output path, source) in output order
    doc_keys: Mapping[str, tuple]
    summary_keys: Mapping[str, str]
    fingerprints: Mapping[str, str]
    sources: Mapping[str, dict]
    marker: tuple = ()


def plan_site(
    plan: SitePlan, env: jinja2.Environment, memo: PlanMemo | None = None, structure: str = ""
) -> tuple[PagePlan, PlanMemo]:
    """Every page, feed and sitemap of the site as data, plus the manifest's page -> source map.

    Nothing is rendered here: `render_outputs` renders the planned jobs. With the `memo` of the
    previous plan and the same `structure`, when the edited documents show the same summary
    everywhere else, only their own pages are planned again.
    """
    planner = Planner(plan, env)
    if memo and memo.structure == structure:
        quick = _replan(planner, memo, structure)
        if quick is not None:
            return quick
        # The attempt planned the edited documents' pages already: start again from nothing,
        # or they would be planned twice (a page whose slug changed, as a duplicate path).
        planner = Planner(plan, env)
    for index, doc in enumerate(plan.articles):
        planner.article(doc, index)
    for doc in plan.pages:
        planner.standalone(doc)
    planner.home()
    planner.articles_index()
    planner.feeds_page()
    planner.topics()
    planner.fixed_pages()
    planner.feeds()
    memo = PlanMemo(
        structure,
        tuple((o.path, o.source) for o in planner.outputs),
        {d.path: planner.doc_key(d) for d in [*plan.articles, *plan.pages]},
        {d.path: planner.summary_key(d.path) for d in plan.articles},
        planner.fingerprints,
        planner.sources,
    )
    return PagePlan(
        planner.outputs, planner.jobs, _manifest(plan, planner.sources, planner.fingerprints)
    ), memo


def _manifest(plan: SitePlan, sources, fingerprints) -> dict:
    return {
        "base_path": plan.config.base_path,
        "pages": sources,
        "unpublished": sorted(plan.unpublished),
        "fingerprints": fingerprints,
    }


def _replan(planner: Planner, memo: PlanMemo, structure: str):
    """Plan again only the pages of documents whose bytes or HTML changed; None when not enough."""
    plan = planner.p
    changed = [
        d for d in [*plan.articles, *plan.pages] if memo.doc_keys.get(d.path) != planner.doc_key(d)
    ]
    if len(changed) > 64:
        return None
    # An edited summary shows on other pages (listings, neighbours, feeds): plan them all.
    if any(
        planner.summary_key(d.path) != memo.summary_keys.get(d.path)
        for d in changed
        if d.kind == "article"
    ):
        return None
    previous = plan.previous
    if any(previous.get(path, ("",))[0] != key for path, key in memo.fingerprints.items()):
        return None  # the output folder is not the one this memo planned
    index = {d.path: i for i, d in enumerate(plan.articles)}
    for doc in changed:
        if doc.kind == "article":
            planner.article(doc, index[doc.path])
        else:
            planner.standalone(doc)
    fresh = {o.path: o for o in planner.outputs}
    makes = {planner.outputs[i].path: make for i, make in planner.jobs}
    if not set(fresh) <= {path for path, _ in memo.entries}:
        return None
    outputs: list[Output] = []
    jobs: list[tuple[int, Callable[[], bytes]]] = []
    for path, source in memo.entries:
        if path in makes:
            jobs.append((len(outputs), makes[path]))
        outputs.append(fresh.get(path) or Output(path, None, source, previous[path][1]))
    fingerprints = {**memo.fingerprints, **planner.fingerprints}
    sources = {**memo.sources, **planner.sources}
    new_memo = replace(
        memo,
        doc_keys={**memo.doc_keys, **{d.path: planner.doc_key(d) for d in changed}},
        fingerprints=fingerprints,
        sources=sources,
        marker=(),
    )
    return PagePlan(outputs, jobs, _manifest(plan, sources, fingerprints)), new_memo


class TemplateErrors(Exception):
    """Pages that could not be rendered; raised after every job has been tried."""

    def __init__(self, diagnostics: list[Diagnostic]):
        super().__init__(f"{len(diagnostics)} template error(s)")
        self.diagnostics = diagnostics


# Set just before the worker processes are forked, so they inherit the planner and its closures
# instead of receiving them through pipes.
_WORK: list | None = None
# Below this many pages, starting worker processes costs more than it saves.
PARALLEL_PAGES = 200


def _render_range(bounds: tuple[int, int]) -> list[tuple[int, bytes | None, Diagnostic | None]]:
    results = []
    for index, make in _WORK[bounds[0] : bounds[1]]:
        try:
            results.append((index, make(), None))
        except TemplateProblem as problem:
            results.append((index, None, problem.diagnostic))
    return results


def render_outputs(page_plan: PagePlan, *, parallel: bool = True) -> Iterator[Output]:
    """Every output with its bytes (reused ones as they are), in no particular order.

    Pages are rendered in batches, each handed on as soon as it is done, so the whole site is
    never held in memory at once. When there are many, the build process renders batches beside
    `cpu_count - 1` forked workers: every forked worker ends up with a private copy of much of
    what it inherits (about 80 MiB at 4,000 articles), so one fewer is that much less memory.
    Raises `TemplateErrors` at the end when a page could not be rendered.
    """
    global _WORK
    outputs, jobs = page_plan.outputs, page_plan.jobs
    pending = {index for index, _ in jobs}
    for index, item in enumerate(outputs):
        if index not in pending:
            yield item
    problems: list[tuple[int, Diagnostic]] = []
    step = max(16, -(-len(jobs) // 16))
    queued = deque((lo, min(lo + step, len(jobs))) for lo in range(0, len(jobs), step))
    helpers = (os.cpu_count() or 1) - 1 if parallel and len(jobs) >= PARALLEL_PAGES else 0
    running: deque = deque()
    pool = None
    _WORK = jobs
    try:
        if helpers > 0:
            pool = process_pool(helpers, "fork")
        while queued or running:
            while pool is not None and queued and len(running) < 2 * helpers:
                running.append(pool.submit(_render_range, queued.popleft()))
            if running and (running[0].done() or not queued):
                batch = running.popleft().result()
            else:
                batch = _render_range(queued.popleft())
            for index, data, problem in batch:
                if problem is not None:
                    problems.append((index, problem))
                else:
                    yield replace(outputs[index], data=data)
    finally:
        _WORK = None
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    if problems:
        raise TemplateErrors(_once_each(problems, outputs))


def _once_each(problems: list[tuple[int, Diagnostic]], outputs: list[Output]) -> list[Diagnostic]:
    """One diagnostic per template error, saying how many pages it stopped and naming one."""
    pages: dict[Diagnostic, list[str]] = {}
    for index, problem in sorted(problems, key=lambda item: item[0]):
        pages.setdefault(problem, []).append(outputs[index].path)
    out = []
    for problem, paths in pages.items():
        where = paths[0] if len(paths) == 1 else f"{len(paths)} pages, the first {paths[0]}"
        out.append(replace(problem, message=f"{problem.message} (rendering {where})"))
    return out
