"""Source lints: warnings (and the two structural errors) on the lines `positions` finds.

Warnings: hand-written citations and uncited "studies show" (`citation-lint`), raw HTML the
sanitiser will change (`raw-html`), links whose scheme it will drop (`unsafe-url`). Errors: a
`<!--` never closed (`unclosed-comment`), a raw HTML block never closed (`unclosed-html`).
"""

from __future__ import annotations

import html
import re

from ..model import ERROR, WARNING, Diagnostic, Link
from .extensions import CITE_RE
from .positions import TAG_RE, Source, attrs, open_html_block
from .sanitise import (
    ALLOWED_ATTRS,
    ALLOWED_TAGS,
    ATTR_VALUES,
    CLEAN_CONTENT_TAGS,
    GLOBAL_ATTRS,
    TEMPLATE_IDS,
    URL_SCHEMES,
)

_AUTHOR = r"[A-Z][\w'’-]+(?:\s+(?:and|&)\s+[A-Z][\w'’-]+)?"
_YEAR = r"(?:19|20)\d\d[a-z]?"
# '(Kim et al.', '(Kim et al., 2019)', '(Smith, 2020)', '(Smith and Jones 2020;'
_PAREN_CITATION_RE = re.compile(
    rf"\(\s*(?:see\s+)?{_AUTHOR}(?:\s+et\s+al\b\.?(?:,?\s*{_YEAR}\)?)?|,?\s+{_YEAR}\s*[);])"
)
# 'Kim et al. (2019)'
_ETAL_CITATION_RE = re.compile(rf"\b[A-Z][\w'’-]+\s+et\s+al\b\.?\s*\({_YEAR}\)")
VAGUE_RE = re.compile(
    r"\b(?:studies\s+(?:show|have\s+shown)|research\s+(?:shows|has\s+shown)"
    r"|experts\s+(?:agree|say))\b",
    re.I,
)
# `VAGUE_RE` has no literal prefix, so a search tries it at every offset. These pieces of its
# phrases rule it out first with substring tests on the lower-cased text; they avoid i, k and s,
# which IGNORECASE also matches to other letters (ı, İ, K, ſ).
VAGUE_PIECES = ("tud", "earch", "xpert")
_PARAGRAPH_BREAK_RE = re.compile(r"\n(?:[ \t]*\n)+")


def _paragraphs(text: str):
    """(offset, text) of each blank-line-separated block."""
    start = 0
    for m in _PARAGRAPH_BREAK_RE.finditer(text):
        yield start, text[start : m.start()]
        start = m.end()
    yield start, text[start:]


def citation_lint(src: Source, path: str, body_line: int) -> list[Diagnostic]:
    """Hand-written citations, and vague claims with no `[@key]` in their paragraph."""
    out = []

    def warn(pos: int, message: str, hint: str) -> None:
        index = src.line(pos)
        out.append(
            Diagnostic(
                WARNING,
                path,
                body_line + index,
                src.col(pos),
                message,
                hint=hint,
                code="citation-lint",
                source_line=src.text_of_line(index),
            )
        )

    masked = src.masked
    found = []
    if "(" in masked:
        found += _PAREN_CITATION_RE.finditer(masked)
        if "et al" in masked:
            found += _ETAL_CITATION_RE.finditer(masked)
    for m in sorted(found, key=lambda m: m.start()):
        warn(
            m.start(),
            f"'{m.group(0).strip()}' looks like a hand-written citation",
            "cite a bibliography entry with [@key] instead",
        )
    lower = masked.lower()
    if any(piece in lower for piece in VAGUE_PIECES) and VAGUE_RE.search(masked):
        for start, paragraph in _paragraphs(masked):
            if CITE_RE.search(paragraph):
                continue
            for m in VAGUE_RE.finditer(paragraph):
                warn(
                    start + m.start(),
                    f"'{m.group(0)}' with no citation in the same paragraph",
                    "add a [@key] citation from the bibliography, or say who found what",
                )
    return out


def _unsafe_scheme(href: str) -> str | None:
    """The scheme of `href` after entity decoding when the sanitiser will drop it, else None."""
    value = re.sub(r"[\x00-\x20\x7f]+", "", html.unescape(href)).lower()
    m = re.match(r"([a-z][a-z0-9+.-]*):", value)
    if m and m.group(1) not in URL_SCHEMES:
        return m.group(1)
    return None


def raw_html_lint(
    src: Source, path: str, body_line: int, links: list[tuple[int, Link]]
) -> list[Diagnostic]:
    """Warn where the sanitiser will change raw HTML the editor wrote, by line."""
    removed: dict[int, list[str]] = {}
    masked = src.masked
    if "<" in masked:
        for m in TAG_RE.finditer(masked):
            if m.group(1):
                continue
            name = m.group(2).lower()
            items = removed.setdefault(src.line(m.start()), [])
            if name not in ALLOWED_TAGS:
                extra = " with its content" if name in CLEAN_CONTENT_TAGS else ""
                items.append(f"<{name}> removed{extra}")
                continue
            allowed = ALLOWED_ATTRS.get(name, frozenset()) | GLOBAL_ATTRS
            allowed |= ATTR_VALUES.get(name, {}).keys()
            for attr, value, _at in attrs(m.group(3)):
                if attr not in allowed:
                    items.append(f"'{attr}' attribute removed from <{name}>")
                elif attr == "id" and value in TEMPLATE_IDS:
                    items.append(f'id="{value}" removed from <{name}>: the page uses that id')
    out = []
    for index, items in sorted(removed.items()):
        if items:
            out.append(
                Diagnostic(
                    WARNING,
                    path,
                    body_line + index,
                    None,
                    "raw HTML was sanitised: " + "; ".join(dict.fromkeys(items)),
                    hint="remove it from the source; scripts, styles, frames, event handlers "
                    "and style attributes are never published",
                    code="raw-html",
                    source_line=src.text_of_line(index),
                )
            )
    for pos, link in links:
        scheme = _unsafe_scheme(link.href)
        if scheme:
            out.append(
                Diagnostic(
                    WARNING,
                    path,
                    link.line,
                    src.col(pos),
                    f"link with {scheme}: URL removed",
                    hint="use an https:, mailto: or tel: link, or a relative one",
                    code="unsafe-url",
                    source_line=src.text_of_line(src.line(pos)),
                )
            )
    return out


def structure_errors(src: Source, path: str, body_line: int, block_tags) -> list[Diagnostic]:
    """An unclosed `<!--` (the note would be published) and an unclosed raw HTML block."""
    out = []

    def error(pos: int, message: str, hint: str, code: str) -> None:
        index = src.line(pos)
        out.append(
            Diagnostic(
                ERROR,
                path,
                body_line + index,
                src.col(pos),
                message,
                hint=hint,
                code=code,
                source_line=src.text_of_line(index),
            )
        )

    if src.open_comment is not None:
        error(
            src.open_comment,
            "this '<!--' comment is never closed, so its text would be published",
            "end the comment with '-->'",
            "unclosed-comment",
        )
    found = open_html_block(src, block_tags)
    if found is not None:
        name, pos = found
        error(
            pos,
            f"<{name}> is never closed: the rest of the body would be published as raw "
            "text, its Markdown unrendered",
            f"close it with </{name}>, or remove it",
            "unclosed-html",
        )
    return out
