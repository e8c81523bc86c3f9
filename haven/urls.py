"""The one URL scheme of a Haven site: where each kind of page lives, and how a URL is written.

Site-relative URLs start with `/` and end with `/` for pages: `/`, `/articles/<slug>/`,
`/<page-slug>/`, `/tags/<slug>/`, `/tags/<slug>/page/<n>/`. `href()` adds the site's base path
and percent-encodes non-ASCII segments; `absolute()` gives the URL with the site's origin, for
canonical links, feeds and Open Graph.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Sequence
from urllib.parse import quote

from .model import ERROR, Diagnostic, Document, Output

# Characters left as they are in a path: RFC 3986 pchar and '/', plus '%' so that a path that
# is already percent-encoded is not encoded twice.
_PATH_SAFE = "/%!$&'()*+,;=:@-._~"
_SCHEME_RE = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def document_url(kind: str, slug: str) -> str:
    """Where an article or a standalone page is published."""
    return f"/articles/{slug}/" if kind == "article" else f"/{slug}/"


def topic_url(slug: str, page: int = 1) -> str:
    """A topic's page, or page `page` of it."""
    return f"/tags/{slug}/" if page == 1 else f"/tags/{slug}/page/{page}/"


def topic_feed_url(slug: str) -> str:
    return f"/tags/{slug}/feed.xml"


def output_path(url: str) -> str:
    """The file a site-relative page URL is written to: '/tags/x/' -> 'tags/x/index.html'."""
    return url.lstrip("/") + "index.html" if url.endswith("/") else url.lstrip("/")


def normalise_base_path(base_path: str) -> str:
    """'' or 'haven' or '/haven' -> '/' or '/haven/'."""
    inner = base_path.strip("/")
    return f"/{inner}/" if inner else "/"


@functools.lru_cache(maxsize=65536)
def href(path: str, base_path: str) -> str:
    """Site-relative URL ('/tags/心の健康/') -> href with the base path and encoded segments."""
    path = _nfc(path)
    if _SCHEME_RE.match(path) or path.startswith("//"):
        return path
    path, hash_, fragment = path.partition("#")
    path, qmark, query = path.partition("?")
    if not path.startswith("/"):
        path = "/" + path
    base = quote(_nfc(normalise_base_path(base_path)), safe=_PATH_SAFE)
    return base[:-1] + quote(path, safe=_PATH_SAFE) + qmark + query + hash_ + fragment


def absolute(base_url: str, base_path: str, path: str) -> str:
    """Absolute URL of a site-relative path: `base_url` already carries the base path."""
    base_url = base_url.rstrip("/")
    found = href(path, base_path)
    origin = (
        base_url[: len(base_url) - len(base_path.rstrip("/"))] if base_path != "/" else base_url
    )
    return origin + found


# A page's slug may not be one of the site's own segments.
RESERVED_SLUGS = {
    "tags",
    "articles",
    "search",
    "feeds",
    "get-help",
    "404",
    "404.html",
    "feed.xml",
    "sitemap.xml",
    "robots.txt",
    "pagefind",
    "static",
    "__haven",
}
# Below this many bodies to render, starting worker processes costs more than it saves.


def slug_problems(articles: Sequence[Document], pages: Sequence[Document]) -> list[Diagnostic]:
    """A page slug that is one of the site's own segments, or two sources at one address."""
    diags = []
    seen: dict[str, Document] = {}
    for doc in [*articles, *pages]:
        url = document_url(doc.kind, doc.slug)
        if doc.kind == "page" and doc.slug in RESERVED_SLUGS and doc.slug != "get-help":
            diags.append(
                Diagnostic(
                    ERROR,
                    doc.path,
                    None,
                    None,
                    f"slug '{doc.slug}' is reserved for the site's own pages",
                    key="slug",
                    hint="choose another slug",
                    code="reserved-path",
                )
            )
        elif url in seen:
            # One error, on the file whose `slug:` line made the clash when one has such a line.
            first = seen[url]
            here, other = (
                (first, doc) if _slug_line(first) and not _slug_line(doc) else (doc, first)
            )
            there = other.path + (f":{_slug_line(other)}" if _slug_line(other) else "")
            how = "" if _slug_line(other) else " (its slug comes from its file name)"
            diags.append(
                Diagnostic(
                    ERROR,
                    here.path,
                    _slug_line(here),
                    None,
                    f"{url} is also the address of {there}{how}",
                    key="slug",
                    hint="give one of them another slug",
                    code="duplicate-path",
                )
            )
        seen.setdefault(url, doc)
    return diags


def _slug_line(doc: Document) -> int | None:
    return doc.key_lines.get("slug")


def collisions(outputs: Sequence[Output], reported=frozenset()) -> list[Diagnostic]:
    """Two outputs at one path (case-folded), unless a source in `reported` was named already."""
    seen: dict[str, Output] = {}
    diags = []
    for item in outputs:
        key = item.path.casefold()
        if key in seen and not {item.source, seen[key].source} & set(reported):
            other = seen[key]
            diags.append(
                Diagnostic(
                    ERROR,
                    item.source or "?",
                    None,
                    None,
                    f"writes {item.path}, which {other.source or '?'} writes too",
                    hint="rename one of them",
                    code="duplicate-path",
                )
            )
        else:
            seen[key] = item
    return diags
