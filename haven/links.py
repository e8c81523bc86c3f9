"""Links stage: `.md` hrefs in rendered HTML -> site URLs; base path; rel="noreferrer".

Runs after markup, so a Markdown cache entry never depends on other documents. Works on the
HTML that `haven.markup.render` returns (normalised by nh3: attributes double-quoted, `>`
escaped inside them), so a regex over tags is safe here.
"""

from __future__ import annotations

import html
import posixpath
import re
import unicodedata
from collections.abc import Mapping, Sequence
from urllib.parse import unquote

from . import urls
from .config import SiteConfig
from .model import ERROR, WARNING, Diagnostic, Document

_TAG_RE = re.compile(r"""<(a|img)\b((?:[^>"']|"[^"]*"|'[^']*')*)>""", re.I)
_HREF_RE = re.compile(r"""(\s(?:href|src)\s*=\s*)("[^"]*"|'[^']*')""", re.I)
_REL_RE = re.compile(r"""\srel\s*=\s*("[^"]*"|'[^']*')""", re.I)
_SCHEME_RE = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")
# Characters left as they are in a path: RFC 3986 pchar and '/', plus '%' so that a path that
# is already percent-encoded is not encoded twice.
_PATH_SAFE = "/%!$&'()*+,;=:@-._~"


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def _is_markdown(path: str) -> bool:
    return path.lower().endswith(".md")


def resolve_md(href: str, doc_rel: str) -> str | None:
    """Content-relative source path an `.md` href points at ('articles/x.md'), None when outside."""
    path = _nfc(unquote(href.partition("#")[0].partition("?")[0]))
    if path.startswith("/"):
        joined = path.lstrip("/")  # root-relative: relative to content/
    else:
        joined = posixpath.join(posixpath.dirname(doc_rel), path)
    resolved = posixpath.normpath(joined)
    if resolved == ".." or resolved.startswith("../") or resolved in (".", ""):
        return None
    return resolved


def rewrite_links(
    html_text: str,
    *,
    doc_rel: str,
    targets: Mapping[str, str],
    base_path: str,
    lookups: dict[str, str | None] | None = None,
) -> tuple[str, list[tuple[str, str]]]:
    """Rewrite `.md`, root-relative and external links of one document's HTML.

    Returns the new HTML and `(href, reason)` for each `.md` link that resolves to no target.
    `lookups`, when given, receives every source path looked up and what it gave: the result
    depends on nothing else of `targets`, so a cache can tell when it is still valid.
    """
    if "<a" not in html_text and "<img" not in html_text:
        return html_text, []
    lookup = targets  # keys NFC, as the caller builds them once for all documents
    doc_rel = _nfc(doc_rel)
    missing: list[tuple[str, str]] = []

    def fix_tag(tag: re.Match) -> str:
        attrs = tag.group(2)
        m = _HREF_RE.search(attrs)
        if not m:
            return tag.group(0)
        quoted = m.group(2)
        href = html.unescape(quoted[1:-1])
        stripped = href.strip()
        new_href, external = stripped, False
        lower = stripped.lower()
        if not stripped or stripped.startswith("#"):
            return tag.group(0)
        if lower.startswith(("http://", "https://", "//")):
            external = tag.group(1).lower() == "a"
        elif _SCHEME_RE.match(stripped):
            return tag.group(0)  # mailto:, tel: (nothing else survives the sanitiser)
        elif _is_markdown(stripped.partition("#")[0].partition("?")[0]):
            source = resolve_md(stripped, doc_rel)
            url = lookup.get(source) if source else None
            if lookups is not None and source:
                lookups[source] = url
            if url is None:
                reason = (
                    f"no page is made from content/{source}"
                    if source
                    else "points outside content/"
                )
                missing.append((href, reason))
                return tag.group(0)
            _path, hash_, fragment = stripped.partition("#")
            new_href = urls.href(url, base_path) + hash_ + fragment
        elif stripped.startswith("/"):
            new_href = urls.href(stripped, base_path)
        else:
            return tag.group(0)  # a relative link to something else (an image beside the text)
        attrs = attrs[: m.start(2)] + '"' + html.escape(new_href) + '"' + attrs[m.end(2) :]
        if external:
            attrs = _add_noreferrer(attrs)
        return f"<{tag.group(1)}{attrs}>"

    return _TAG_RE.sub(fix_tag, html_text), missing


def _add_noreferrer(attrs: str) -> str:
    """Merge 'noreferrer' into the rel attribute of a tag's attribute text."""
    m = _REL_RE.search(attrs)
    if not m:
        tail = "/" if attrs.rstrip().endswith("/") else ""
        body = attrs.rstrip()[: -1 if tail else None].rstrip()
        return f'{body} rel="noreferrer"' + (" /" if tail else "")
    tokens = html.unescape(m.group(1)[1:-1]).split()
    if "noreferrer" in (t.lower() for t in tokens):
        return attrs
    value = html.escape(" ".join([*tokens, "noreferrer"]))
    return attrs[: m.start(1)] + f'"{value}"' + attrs[m.end(1) :]


def broken_links(
    config: SiteConfig,
    docs: Sequence[Document],
    bodies,
    unpublished: dict[str, tuple[str, str]],
    failed: set[str] = frozenset(),
) -> list[Diagnostic]:
    """`.md` links that lead to no page, each named with why."""
    severity = ERROR if config.broken_md_links == ERROR else WARNING
    diags: list[Diagnostic] = []
    for doc in docs:
        for href, reason in bodies.missing.get(doc.path, ()):
            links = bodies.briefs[doc.path].links
            line = next((link.line for link in links if link.href == href), None)
            target = resolve_md(href, doc.rel)
            hint = "check the file name, relative to this file"
            if target in unpublished:
                message = f"link to {href!r}, which is {unpublished[target][1]} and not published"
                hint = "publish it first, or remove the link for now"
            elif target in failed:
                message = (
                    f"link to {href!r}: content/{target} has errors, so no page is made from it"
                )
                hint = "fix the errors reported for that file"
            else:
                message = f"link to {href!r}: {reason}"
            diags.append(
                Diagnostic(
                    severity, doc.path, line, None, message, hint=hint, code="broken-md-link"
                )
            )
    return diags
