"""Markup stage: a Markdown body -> sanitised HTML plus what later stages need (`Rendered`).

One Python-Markdown instance per process, reused with `reset()`, its processors wrapped to skip
text they cannot act on (`_speed_up`: same output, 40% of the work). The source is scanned once
with code blanked out (`_Source`), which gives links, citations and lint findings their lines;
the HTML is sanitised by nh3 and then walked once by a regex (nh3's output is normalised, so
that is safe) to apply typography and to collect headings, plain text and the answers.
The instance and its per-render state are module-level: use processes, not threads (a dev-server
build renders in one thread at a time).

A body that cannot be rendered raises `MarkupError` naming the file and line: nesting deeper than
`MAX_NESTING` is refused before Python-Markdown sees it, a render that takes longer than
`RENDER_SECONDS` is stopped (`_Deadline`, which works in any thread and any process), and any
failure inside Python-Markdown discards the instance, so nothing of it reaches the next render.
"""

from __future__ import annotations

import bisect
import copy
import ctypes
import functools
import html
import importlib.metadata as _metadata
import os
import re
import threading
import time
import unicodedata
import xml.etree.ElementTree as etree
from dataclasses import dataclass

import markdown
import nh3
from markdown.blockprocessors import BlockProcessor
from markdown.extensions import Extension
from markdown.extensions.codehilite import CodeHiliteExtension
from markdown.extensions.fenced_code import FencedBlockPreprocessor
from markdown.extensions.tables import TableExtension
from markdown.extensions.toc import render_inner_html, slugify_unicode, strip_tags
from markdown.inlinepatterns import (
    ImageInlineProcessor,
    ImageReferenceInlineProcessor,
    InlineProcessor,
    LinkInlineProcessor,
    ReferenceInlineProcessor,
    ShortImageReferenceInlineProcessor,
    ShortReferenceInlineProcessor,
)
from markdown.preprocessors import Preprocessor
from markdown.treeprocessors import InlineProcessor as _MarkdownInlineProcessor
from markdown.treeprocessors import Treeprocessor
from markdown.util import AtomicString, Registry
from pygments.formatters import get_formatter_by_name

from ..model import ERROR, WARNING, Citation, Diagnostic, Heading, Link, Question, Rendered

# Part of the render cache key: bump RULES when this module's output changes; the libraries'
# versions are included because their output is part of ours.
RULES = "2"
# A body's render time is bounded: one that takes longer is an error (normal articles take a
# few milliseconds; this is a safety net for input that makes Python-Markdown slow).
RENDER_SECONDS = 10.0
# Lists and quotes nested deeper than this are refused before rendering: Python-Markdown
# recurses once per level and fails at a few hundred.
MAX_NESTING = 32


class MarkupError(Exception):
    """A body that could not be rendered; `diagnostic` names its file and line."""

    def __init__(self, diagnostic: Diagnostic):
        super().__init__(diagnostic.format())
        self.diagnostic = diagnostic


VERSION = "-".join(
    [RULES, markdown.__version__, _metadata.version("nh3"), _metadata.version("pygments")]
)

# ---------------------------------------------------------------------------------------------
# The sanitiser's allowlist. The raw-HTML warning is computed from the same tables, so what we
# say was removed is what nh3 removes.

_HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")
ALLOWED_TAGS = frozenset(
    {
        *_HEADINGS,
        *"a abbr aside b bdi bdo blockquote br caption cite code col colgroup data dd del".split(),
        *"details dfn div dl dt em figcaption figure hr i img ins kbd li mark ol p pre q rp".split(),
        *"rt ruby s samp section small span strong sub summary sup table tbody td tfoot th".split(),
        *"thead time tr u ul var wbr".split(),
    }
)
# Removed together with their content, not just unwrapped.
_CLEAN_CONTENT_TAGS = frozenset(
    {"script", "style", "iframe", "object", "embed", "template", "noscript", "textarea"}
)
_GLOBAL_ATTRS = frozenset({"lang", "dir"})
ALLOWED_ATTRS: dict[str, frozenset[str]] = {
    "*": _GLOBAL_ATTRS,
    **{h: frozenset({"id"}) for h in _HEADINGS},
    "a": frozenset({"href", "title", "id", "class", "rel", "hreflang"}),
    "img": frozenset({"src", "alt", "title", "width", "height"}),
    "div": frozenset({"class", "id"}),
    "span": frozenset({"class"}),
    "code": frozenset({"class"}),
    "pre": frozenset({"class"}),
    "sup": frozenset({"id", "class"}),
    "li": frozenset({"id", "value"}),
    "ol": frozenset({"start", "reversed", "type", "id"}),
    "ul": frozenset({"id"}),
    "p": frozenset({"id"}),
    "dl": frozenset({"id"}),
    "dt": frozenset({"id"}),
    "table": frozenset({"id"}),
    "figure": frozenset({"id"}),
    "section": frozenset({"class", "id", "aria-labelledby"}),
    "aside": frozenset({"class", "id", "aria-labelledby"}),
    "details": frozenset({"open", "id"}),
    "abbr": frozenset({"title"}),
    "dfn": frozenset({"title", "id"}),
    "time": frozenset({"datetime"}),
    "data": frozenset({"value"}),
    "th": frozenset({"align", "colspan", "rowspan", "scope"}),
    "td": frozenset({"align", "colspan", "rowspan"}),
    "col": frozenset({"span"}),
    "colgroup": frozenset({"span"}),
    "blockquote": frozenset({"cite"}),
    "q": frozenset({"cite"}),
    "ins": frozenset({"cite", "datetime"}),
    "del": frozenset({"cite", "datetime"}),
}
# Attributes allowed only with these values (nh3 wants them kept out of ALLOWED_ATTRS).
_ATTR_VALUES = {"img": {"loading": {"lazy", "eager"}}}
URL_SCHEMES = frozenset({"http", "https", "mailto", "tel"})

_CLEANER = nh3.Cleaner(
    tags=set(ALLOWED_TAGS),
    clean_content_tags=set(_CLEAN_CONTENT_TAGS),
    attributes={tag: set(names) for tag, names in ALLOWED_ATTRS.items()},
    tag_attribute_values=_ATTR_VALUES,
    link_rel=None,  # links.py adds rel="noreferrer" to external links only
    url_schemes=set(URL_SCHEMES),
    strip_comments=True,
)

# ---------------------------------------------------------------------------------------------
# Source scanning: code blanked out, so that every regex below sees prose only.

_KEY = r"[A-Za-z0-9_:.-]+"
_CITE_RE = re.compile(rf"\[(@{_KEY}(?:[ \t]*;[ \t]*@{_KEY})*)\]")
_CITE_KEY_RE = re.compile(rf"@({_KEY})")
_FENCE_RE = FencedBlockPreprocessor.FENCED_BLOCK_RE
_CODE_SPAN_RE = re.compile(r"(?<![\\`])(`+)(?!`)((?:(?!\n[ \t]*\n).)+?)(?<!`)\1(?!`)", re.S)
_COMMENT_RE = re.compile(r"<!--.*?(?:-->|$)", re.S)
_ESCAPE_RE = re.compile(r"\\[\\`*_{}\[\]()<>#+\-.!@:|]")
_LIST_START_RE = re.compile(r"[ ]{0,3}(?:[*+-]|\d+[.)])[ \t]|[ ]{0,3}\[\^[^\]]+\]:|:[ \t]")
_INDENT_RE = re.compile(r"(?: {4}|\t)")
_BLANK_RE = re.compile(r"[ \t]*$")


def _blank(text: str) -> str:
    """Same length, newlines kept, everything else a space."""
    return re.sub(r"[^\n]", " ", text)


@dataclass
class _Source:
    """The body with code (fenced, indented, spans) and backslash escapes blanked out."""

    body: str
    masked: str
    starts: list[int]  # offset of each line start
    open_comment: int | None = None  # offset of a `<!--` that is never closed

    def line(self, pos: int) -> int:
        """0-based line index of an offset."""
        return bisect.bisect_right(self.starts, pos) - 1

    def col(self, pos: int) -> int:
        return pos - self.starts[self.line(pos)] + 1

    def text_of_line(self, index: int) -> str:
        end = self.body.find("\n", self.starts[index])
        return self.body[self.starts[index] : end if end >= 0 else len(self.body)]


def _scan(body: str) -> _Source:
    text = body
    if "```" in text or "~~~" in text:
        text = _FENCE_RE.sub(lambda m: _blank(m.group(0)), text)
    open_comment = None
    if "<!--" in text:  # comments are dropped: neither links nor raw HTML to report

        def comment(m: re.Match) -> str:
            nonlocal open_comment
            if not m.group(0).endswith("-->"):
                open_comment = m.start()
            return _blank(m.group(0))

        text = _COMMENT_RE.sub(comment, text)
    lines = text.split("\n")
    _blank_indented_code(lines)
    text = "\n".join(lines)
    if "`" in text:
        text = _CODE_SPAN_RE.sub(lambda m: _blank(m.group(0)), text)
    if "\\" in text:
        text = _ESCAPE_RE.sub("  ", text)
    starts = [0]
    starts.extend(m.end() for m in re.finditer("\n", body))
    return _Source(body, text, starts, open_comment)


def _blank_indented_code(lines: list[str]) -> None:
    """Blank indented code blocks in place, following Python-Markdown's block rules.

    An indented block after a blank line is code, unless it continues a list item, a footnote
    or a definition, where it is code only when indented twice.
    """
    prev_blank = True
    container = False  # the last unindented block opened a list item / footnote / definition
    in_code = False
    for i, line in enumerate(lines):
        if _BLANK_RE.match(line):
            prev_blank = True
            continue
        indented = _INDENT_RE.match(line) is not None
        if in_code and indented:
            lines[i] = _blank(line)
            prev_blank = False
            continue
        in_code = False
        if indented and prev_blank:
            deep = line.startswith(("        ", "\t\t", "    \t", "\t    "))
            if not container or deep:
                in_code = True
                lines[i] = _blank(line)
        elif not indented:
            if _LIST_START_RE.match(line):
                container = True
            elif prev_blank:
                container = False
        prev_blank = False


# ---------------------------------------------------------------------------------------------
# Links as the editor wrote them.

# Starts at the `[` (an image's `!` changes nothing here), so a search jumps from bracket to bracket.
_INLINE_LINK_RE = re.compile(
    r"\[((?:[^\[\]\n]|\[[^\[\]\n]*\])*)\]\([ \t]*"
    r"(<[^>\n]*>|(?:[^\s()]|\([^\s()]*\))*)"
    r"""(?:\s+(?:"[^"\n]*"|'[^'\n]*'|\([^)\n]*\)))?[ \t]*\)"""
)
_REF_DEF_RE = re.compile(r"^[ ]{0,3}\[([^\]^\n][^\]\n]*)\]:[ \t]*\n?[ \t]*<?([^\s>]+)>?", re.M)
_AUTOLINK_RE = re.compile(r"<((?:[Ff]|[Hh][Tt])[Tt][Pp][Ss]?://[^<>\s]*)>|<([^<> !]+@[^@<> ]+)>")
# No '<' outside quotes: a run of unclosed tags ('<a <a <a') is then rejected at each '<'
# instead of scanning to the end of the body from every one of them.
_TAG_RE = re.compile(r"""<(/?)([A-Za-z][A-Za-z0-9-]*)(\s(?:[^<>"']|"[^"]*"|'[^']*')*)?/?>""")
_ATTR_RE = re.compile(r"""([^\s=/>"']+)(?:\s*=\s*("[^"]*"|'[^']*'|[^\s>"']+))?""")


def _attrs(text: str | None) -> list[tuple[str, str, int]]:
    """(lower-cased name, unquoted value, offset of the value) of each attribute."""
    found = []
    for m in _ATTR_RE.finditer(text or ""):
        value, at = m.group(2) or "", m.start(2)
        if value[:1] in "\"'" and value:
            value, at = value[1:-1], at + 1
        found.append((m.group(1).lower(), value, at))
    return found


def _find_links(src: _Source, body_line: int) -> list[tuple[int, Link]]:
    """(offset of the href, Link) for every link and image outside code."""
    found: list[tuple[int, Link]] = []
    masked, body = src.masked, src.body

    def add(pos: int, href: str, text: str = "") -> None:
        found.append((pos, Link(href=href, line=body_line + src.line(pos), text=text)))

    def inline(start: int, end: int) -> None:
        for m in _INLINE_LINK_RE.finditer(masked, start, end):
            href, at = body[m.start(2) : m.end(2)], m.start(2)
            if href.startswith("<"):
                href, at = href[1:-1], at + 1
            add(at, href, body[m.start(1) : m.end(1)].strip())
            if "](" in m.group(1):  # an image inside the link text
                inline(m.start(1), m.end(1))

    if "](" in masked:
        inline(0, len(masked))
    if "]:" in masked:
        for m in _REF_DEF_RE.finditer(masked):
            add(m.start(2), body[m.start(2) : m.end(2)], m.group(1))
    if "<" in masked:
        for m in _AUTOLINK_RE.finditer(masked):
            if m.group(1):
                add(m.start(1), m.group(1), m.group(1))
            else:
                address = m.group(2)
                href = address if address.lower().startswith("mailto:") else "mailto:" + address
                add(m.start(2), href, address)
        for m in _TAG_RE.finditer(masked):
            name = m.group(2).lower()
            if m.group(1) or name not in ("a", "img"):
                continue
            for attr, value, at in _attrs(m.group(3)):
                if attr == ("href" if name == "a" else "src"):
                    add(m.start(3) + at, value)
    found.sort(key=lambda item: item[0])
    return found


def _unsafe_scheme(href: str) -> str | None:
    """The scheme of `href` after entity decoding when the sanitiser will drop it, else None."""
    value = re.sub(r"[\x00-\x20\x7f]+", "", html.unescape(href)).lower()
    m = re.match(r"([a-z][a-z0-9+.-]*):", value)
    if m and m.group(1) not in URL_SCHEMES:
        return m.group(1)
    return None


# ---------------------------------------------------------------------------------------------
# Lints over the source (warnings only).

_AUTHOR = r"[A-Z][\w'’-]+(?:\s+(?:and|&)\s+[A-Z][\w'’-]+)?"
_YEAR = r"(?:19|20)\d\d[a-z]?"
# '(Kim et al.', '(Kim et al., 2019)', '(Smith, 2020)', '(Smith and Jones 2020;'
_PAREN_CITATION_RE = re.compile(
    rf"\(\s*(?:see\s+)?{_AUTHOR}(?:\s+et\s+al\b\.?(?:,?\s*{_YEAR}\)?)?|,?\s+{_YEAR}\s*[);])"
)
# 'Kim et al. (2019)'
_ETAL_CITATION_RE = re.compile(rf"\b[A-Z][\w'’-]+\s+et\s+al\b\.?\s*\({_YEAR}\)")
_VAGUE_RE = re.compile(
    r"\b(?:studies\s+(?:show|have\s+shown)|research\s+(?:shows|has\s+shown)"
    r"|experts\s+(?:agree|say))\b",
    re.I,
)
# `_VAGUE_RE` has no literal prefix, so a search tries it at every offset. These pieces of its
# phrases rule it out first with substring tests on the lower-cased text; they avoid i, k and s,
# which IGNORECASE also matches to other letters (ı, İ, K, ſ).
_VAGUE_PIECES = ("tud", "earch", "xpert")
_PARAGRAPH_BREAK_RE = re.compile(r"\n(?:[ \t]*\n)+")


def _paragraphs(text: str):
    """(offset, text) of each blank-line-separated block."""
    start = 0
    for m in _PARAGRAPH_BREAK_RE.finditer(text):
        yield start, text[start : m.start()]
        start = m.end()
    yield start, text[start:]


def _citation_lint(src: _Source, path: str, body_line: int) -> list[Diagnostic]:
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
    if any(piece in lower for piece in _VAGUE_PIECES) and _VAGUE_RE.search(masked):
        for start, paragraph in _paragraphs(masked):
            if _CITE_RE.search(paragraph):
                continue
            for m in _VAGUE_RE.finditer(paragraph):
                warn(
                    start + m.start(),
                    f"'{m.group(0)}' with no citation in the same paragraph",
                    "add a [@key] citation from the bibliography, or say who found what",
                )
    return out


def _raw_html_lint(src: _Source, path: str, body_line: int, links) -> list[Diagnostic]:
    """Warn where the sanitiser will change raw HTML the editor wrote, by line."""
    removed: dict[int, list[str]] = {}
    masked = src.masked
    if "<" in masked:
        for m in _TAG_RE.finditer(masked):
            if m.group(1):
                continue
            name = m.group(2).lower()
            items = removed.setdefault(src.line(m.start()), [])
            if name not in ALLOWED_TAGS:
                extra = " with its content" if name in _CLEAN_CONTENT_TAGS else ""
                items.append(f"<{name}> removed{extra}")
                continue
            allowed = ALLOWED_ATTRS.get(name, frozenset()) | _GLOBAL_ATTRS
            allowed |= _ATTR_VALUES.get(name, {}).keys()
            for attr, value, _at in _attrs(m.group(3)):
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


# ---------------------------------------------------------------------------------------------
# Structure: what would make the render fail or its output wrong, found in the source by line.

_VOID_TAGS = frozenset(
    "area base br col embed hr img input link meta param source track wbr".split()
)
_CONTAINER_RE = re.compile(r"[ ]{0,3}(?:>|(?:[*+-]|\d{1,9}[.)])(?=[ \t]|$))[ \t]?")


def _nesting(src: _Source) -> tuple[int, int, int | None]:
    """How deeply lines nest (indentation, quotes, list markers): the deepest (depth, 0-based
    line), and the first line deeper than MAX_NESTING (None when none is)."""
    best, first = (0, 0), None
    for index, line in enumerate(src.masked.split("\n")):
        if "\t" in line:
            line = line.expandtabs(4)
        stripped = line.lstrip(" ")
        if not stripped:
            continue
        indent = len(line) - len(stripped)
        depth, rest = indent // 4, line[indent - indent % 4 :]
        while (m := _CONTAINER_RE.match(rest)) and m.end():
            depth += 1
            rest = rest[m.end() :]
        if depth > best[0]:
            best = (depth, index)
        if first is None and depth > MAX_NESTING:
            first = index
    return best[0], best[1], first


def _open_html_block(src: _Source, block_tags) -> tuple[str, int] | None:
    """(tag, offset) of a raw HTML block that is never closed, or None.

    A block-level tag at the start of a line opens a raw block that Python-Markdown passes on
    as it is until the matching closing tag: without one, the rest of the body would be
    published as raw text with its Markdown unrendered.
    """
    masked = src.masked
    current: list | None = None  # [name, depth, offset]
    block_end = -1
    for m in _TAG_RE.finditer(masked):
        name = m.group(2).lower()
        closing = bool(m.group(1))
        if current is not None:
            if name == current[0]:
                if closing:
                    current[1] -= 1
                    if current[1] == 0:
                        current, block_end = None, m.end()
                elif not m.group(0).endswith("/>"):
                    current[1] += 1
            continue
        if closing or name in _VOID_TAGS or name not in block_tags or m.group(0).endswith("/>"):
            continue
        line_start = masked.rfind("\n", 0, m.start()) + 1
        before = masked[line_start : m.start()]
        after_block = block_end >= line_start and not masked[block_end : m.start()].strip()
        if (len(before) <= 3 and not before.strip()) or after_block:
            current = [name, 1, m.start()]
    return None if current is None else (current[0], current[2])


def _structure_errors(src: _Source, path: str, body_line: int, block_tags) -> list[Diagnostic]:
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
    if "<" in src.masked:
        found = _open_html_block(src, block_tags)
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


def _failure(path: str, line: int, message: str, hint: str, code: str) -> MarkupError:
    return MarkupError(Diagnostic(ERROR, path, line, None, message, hint=hint, code=code))


# ---------------------------------------------------------------------------------------------
# A bounded render time, in the main thread (a timer signal) and in any other (a watchdog).


class _Overtime(BaseException):
    """Raised into a render that ran out of time (a BaseException: no `except Exception` in a
    library can swallow it)."""


_ALARM = {"armed": False}


def _on_alarm(signum, frame) -> None:
    if _ALARM["armed"]:
        raise _Overtime


class _Watchdog:
    """One thread per process that raises `_Overtime` into renders past their deadline.

    Python checks for such an exception between bytecodes, so this stops Python-Markdown's
    loops wherever they run; a forked worker starts its own watchdog on first use.
    """

    def __init__(self) -> None:
        self.pid = -1
        self.cond = threading.Condition()
        self.jobs: dict[object, tuple[int, float]] = {}  # token -> (thread id, deadline)
        self.fired: set[object] = set()

    def start(self) -> None:
        if self.pid == os.getpid():
            return
        self.cond, self.jobs, self.fired = threading.Condition(), {}, set()
        self.pid = os.getpid()
        threading.Thread(target=self._run, name="haven-render-deadline", daemon=True).start()

    def _run(self) -> None:
        cond = self.cond
        with cond:
            while True:
                if not self.jobs:
                    cond.wait()
                    continue
                token, (ident, when) = min(self.jobs.items(), key=lambda item: item[1][1])
                delay = when - time.monotonic()
                if delay > 0:
                    cond.wait(delay)
                    continue
                del self.jobs[token]
                self.fired.add(token)
                _RAISE_IN(ident, _Overtime)


_WATCHDOG = _Watchdog()
# PyThreadState_SetAsyncExc(thread id, exception): with NULL, it withdraws one not yet raised.
_RAISE_IN = ctypes.PYFUNCTYPE(ctypes.c_int, ctypes.c_ulong, ctypes.py_object)(
    ("PyThreadState_SetAsyncExc", ctypes.pythonapi)
)
_WITHDRAW = ctypes.PYFUNCTYPE(ctypes.c_int, ctypes.c_ulong, ctypes.c_void_p)(
    ("PyThreadState_SetAsyncExc", ctypes.pythonapi)
)


class _Deadline:
    """`with _Deadline(seconds):` raises `_Overtime` in the block once `seconds` have passed.

    In the main thread a timer signal does it (no thread is started: a build forks its workers
    later); in any other thread, or when the timer is in use already, the watchdog does.
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.alarm = False
        self.previous = None

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            import signal

            if signal.getitimer(signal.ITIMER_REAL)[0] == 0 and signal.getsignal(
                signal.SIGALRM
            ) in (signal.SIG_DFL, signal.SIG_IGN, None, _on_alarm):
                self.previous = signal.signal(signal.SIGALRM, _on_alarm)
                self.alarm = _ALARM["armed"] = True
                signal.setitimer(signal.ITIMER_REAL, self.seconds)
                return self
        _WATCHDOG.start()
        self.token, self.ident = object(), threading.get_ident()
        with _WATCHDOG.cond:
            _WATCHDOG.jobs[self.token] = (self.ident, time.monotonic() + self.seconds)
            _WATCHDOG.cond.notify()
        return self

    def __exit__(self, *exc) -> None:
        if self.alarm:
            import signal

            _ALARM["armed"] = False
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, self.previous or signal.SIG_DFL)
            return
        with _WATCHDOG.cond:
            _WATCHDOG.jobs.pop(self.token, None)
            fired = self.token in _WATCHDOG.fired
            _WATCHDOG.fired.discard(self.token)
        if fired:  # raised, but perhaps not yet delivered: withdraw it
            _WITHDRAW(self.ident, None)


# ---------------------------------------------------------------------------------------------
# Python-Markdown extension: heading ids, citations, the question-and-answer section.

_FAQ_TITLES = frozenset(
    {
        "questions",
        "questions and answers",
        "common questions",
        "faq",
        "faqs",
        "frequently asked questions",
    }
)


def is_faq_title(text: str) -> bool:
    """True for a `##` heading text that starts the question-and-answer section."""
    return " ".join(text.split()).strip(" ?:").casefold() in _FAQ_TITLES


# Ids the theme puts on every article page; a heading never takes one of them.
TEMPLATE_IDS = frozenset(
    {
        "main",
        "summary",
        "references",
        "get-help",
        "get-help-end",
        "get-help-end-title",
        "cn-title",
        "toc-title",
        "related-title",
        "related-topics-title",
        "latest-title",
        "topics-title",
        "help-pointer-title",
        "regions-title",
        "regions",
        "other-countries",
        "other-countries-title",
        "get-help-title",
        "search",
        "site-search-q",
        "top",
        "exit-status",
    }
)


class _State:
    """Per-render state of the extension, cleared by `Markdown.reset()`."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.ids: set[str] = set(TEMPLATE_IDS)
        self.counts: dict[str, int] = {}  # base id -> the last number tried for it
        self.numbers: dict[str, int] = {}
        self.uses: dict[str, int] = {}
        self.brackets = _Brackets()

    def slugify(self, value: str, separator: str) -> str:
        """Unicode-keeping NFC slug, unique in this document: `x`, `x-1`, `x-2`; never empty."""
        base = unicodedata.normalize(
            "NFC", slugify_unicode(unicodedata.normalize("NFC", value), "-")
        )
        base = base.strip("-") or "section"
        slug = base
        if slug in self.ids:
            # Ids are only ever added, so the numbers tried before for this base are still
            # taken: counting on from the last one gives the same id as counting from 1.
            n = self.counts.get(base, 0)
            while slug in self.ids:
                n += 1
                slug = f"{base}-{n}"
            self.counts[base] = n
        self.ids.add(slug)
        return slug

    def number(self, key: str) -> int:
        if key not in self.numbers:
            self.numbers[key] = len(self.numbers) + 1
        return self.numbers[key]


_BRACKET_RE = re.compile(r"[\[\]]")


class _Brackets:
    """Where each `[` of a text is closed, found in one pass instead of one scan per `[`.

    Python-Markdown's link patterns look for the `]` that closes a `[` by scanning the rest of
    the text, once for every `[` (and once per pattern): a run of unclosed brackets cost time
    growing with its square. The table is kept for the last text; a match replaces a part before
    the position asked about, so positions are kept from the end of the text, where the texts
    Python-Markdown asks about next still agree.
    """

    def __init__(self) -> None:
        self.text = ""
        self.close: dict[int, int] = {}  # distance from the end: after a '[' -> at its ']'
        self.paren_text = ""
        self.paren = -1

    def unclosable(self, data: str, index: int) -> bool:
        """True when `data` has no `)`, `"` or `'` at or after `index`."""
        if data is not self.paren_text:
            last = max(data.rfind(")"), data.rfind('"'), data.rfind("'"))
            self.paren_text, self.paren = data, last
        return self.paren < index

    def closing(self, data: str, index: int) -> int:
        """Index in `data` of the `]` closing the `[` just before `index`; -1 when none does."""
        tail = len(data) - index
        text = self.text
        if not (data is text or (tail < len(text) and text.endswith(data[index - 1 :]))):
            self._table(data)
        at = self.close.get(tail)
        return -1 if at is None else len(data) - at

    def _table(self, text: str) -> None:
        size, stack, close = len(text), [], {}
        for m in _BRACKET_RE.finditer(text):
            if m.group() == "[":
                stack.append(m.end())
            elif stack:
                close[size - stack.pop()] = size - m.start()
        self.text, self.close = text, close


class _FastBrackets:
    """Mixin for Python-Markdown's link patterns: `getText` through `_Brackets`.

    Returns what the original returns: the text up to the closing `]`, the index after it, and
    whether one was found (the rest of the text and its end when not).
    """

    state: _State

    def getText(self, data: str, index: int) -> tuple[str, int, bool]:  # noqa: N802
        if index < 1 or data[index - 1] != "[":
            return super().getText(data, index)
        end = self.state.brackets.closing(data, index)
        if end < 0:
            return data[index:], len(data), False
        return data[index:end], end + 1, True

    def getLink(self, data: str, index: int) -> tuple[str, str | None, int, bool]:  # noqa: N802
        # Without a `)` after `index`, and without a quote (which lets the original end a
        # link in other ways), the original scans to the end and finds nothing.
        if self.state.brackets.unclosable(data, index):
            return "", None, len(data) if data.startswith("(", index) else index, False
        return super().getLink(data, index)


# Python-Markdown's link patterns with their documented names and priorities (the same in every
# release since 3.0); registering under the same name replaces the original.
_LINK_PATTERNS = {
    "reference": (ReferenceInlineProcessor, 170),
    "link": (LinkInlineProcessor, 160),
    "image_link": (ImageInlineProcessor, 150),
    "image_reference": (ImageReferenceInlineProcessor, 140),
    "short_reference": (ShortReferenceInlineProcessor, 130),
    "short_image_ref": (ShortImageReferenceInlineProcessor, 125),
}


@functools.cache
def _fast(cls: type) -> type:
    return type(f"Fast{cls.__name__}", (_FastBrackets, cls), {})


class _CitationProcessor(InlineProcessor):
    """`[@a; @b]` -> `<sup class="cite"><a href="#ref-a" id="cite-a-1">1</a>, ...</sup>`."""

    def __init__(self, state: _State, md) -> None:
        super().__init__(_CITE_RE.pattern, md)
        self.state = state

    def handleMatch(self, m, data):  # noqa: N802 (Python-Markdown's name)
        sup = etree.Element("sup", {"class": "cite"})
        keys = _CITE_KEY_RE.findall(m.group(1))
        for i, key in enumerate(keys):
            use = self.state.uses[key] = self.state.uses.get(key, 0) + 1
            a = etree.SubElement(sup, "a", {"href": f"#ref-{key}", "id": f"cite-{key}-{use}"})
            a.text = AtomicString(str(self.state.number(key)))
            if i < len(keys) - 1:
                a.tail = ", "
        return sup, m.start(0), m.end(0)


class _FaqTreeprocessor(Treeprocessor):
    """Wrap the question-and-answer section: `<section class="faq">`, answers in divs."""

    def run(self, root):
        children = list(root)
        if not any(c.tag == "h2" and is_faq_title("".join(c.itertext())) for c in children):
            return None
        new, i = [], 0
        while i < len(children):
            el = children[i]
            i += 1
            if not (el.tag == "h2" and is_faq_title("".join(el.itertext()))):
                new.append(el)
                continue
            section = etree.Element(
                "section", {"class": "faq", "aria-labelledby": el.get("id", "")}
            )
            section.text = "\n"
            section.tail = el.tail
            section.append(el)
            answer = None
            while i < len(children):
                child = children[i]
                if child.tag in ("h1", "h2") or "footnote" in (child.get("class") or "").split():
                    break
                i += 1
                if child.tag == "h3":
                    section.append(child)
                    answer = etree.SubElement(section, "div", {"class": "faq-answer"})
                    answer.text = answer.tail = "\n"
                elif answer is not None:
                    answer.append(child)
                else:
                    section.append(child)
            new.append(section)
        root[:] = new
        return None


def _without_refs(el: etree.Element) -> etree.Element:
    """A copy of a heading without citation and footnote markers (they are not its name)."""
    if next(el.iter("sup"), None) is None:
        return el
    el = copy.deepcopy(el)
    for parent in el.iter():
        for child in list(parent):
            if child.tag == "sup" and (
                child.get("class") == "cite" or child.get("id", "").startswith("fnref")
            ):
                _drop_keeping_tail(parent, child)
    return el


def _drop_keeping_tail(parent: etree.Element, child: etree.Element) -> None:
    index = list(parent).index(child)
    if child.tail:
        if index:
            before = parent[index - 1]
            before.tail = (before.tail or "") + child.tail
        else:
            parent.text = (parent.text or "") + child.tail
    parent.remove(child)


# Characters that rendering a heading's text to HTML would change (escapes, placeholders).
_HEADING_MARKUP = ("&", "<", ">", "\x02", "\x03")


class _HeadingIdTreeprocessor(Treeprocessor):
    """Unicode heading ids, unique in the document: `x`, `x-1`, `x-2`; never empty.

    This replaces the `toc` extension (same `slugify_unicode`, about 0.25 ms per article
    cheaper): toc would put citation numbers into ids and suffix duplicates with '_1'.
    """

    def __init__(self, state: _State, md) -> None:
        super().__init__(md)
        self.state = state

    def run(self, root):
        headings = []
        for el in root.iter():
            ident = el.get("id")
            if ident:
                self.state.ids.add(ident)
            elif ident is None and el.tag in _HEADINGS:
                headings.append(el)
        for el in headings:
            text = el.text or ""
            if len(el) or _has(text, _HEADING_MARKUP):
                name = html.unescape(strip_tags(render_inner_html(_without_refs(el), self.md)))
            else:  # what rendering and stripping give for plain text, 20 us cheaper
                name = " ".join(text.split())
            el.set("id", self.state.slugify(name, "-"))
        return None


class _HavenExtension(Extension):
    def __init__(self, state: _State) -> None:
        super().__init__()
        self.state = state

    def extendMarkdown(self, md):  # noqa: N802 (Python-Markdown's name)
        md.registerExtension(self)
        for name, (cls, priority) in _LINK_PATTERNS.items():
            if name in md.inlinePatterns and type(md.inlinePatterns[name]) is cls:
                fast = _fast(cls)(md.inlinePatterns[name].pattern, md)
                fast.state = self.state
                md.inlinePatterns.register(fast, name, priority)
        # After escapes (180) and code spans (190), before reference links (170).
        md.inlinePatterns.register(_CitationProcessor(self.state, md), "haven-cite", 175)
        # After attr_list (8), so explicit `{#id}`s are kept and never reused.
        md.treeprocessors.register(_HeadingIdTreeprocessor(self.state, md), "haven-ids", 6)
        # After the ids, so the h2 already has its id.
        md.treeprocessors.register(_FaqTreeprocessor(md), "haven-faq", 4)

    def reset(self) -> None:
        self.state.reset()


_FORMATTERS: dict[str, object] = {}


def _html_formatter(lang_str: str = "", **options):
    """Pygments' HTML formatter for these options, built once per process.

    Building one computes its whole style sheet, which costs more than highlighting a short
    block. `lang_str` is ignored, as codehilite's default ("html", by name) ignores it.
    """
    key = repr(sorted(options.items()))
    if key not in _FORMATTERS:
        _FORMATTERS[key] = get_formatter_by_name("html", **options)
    return _FORMATTERS[key]


_MD: markdown.Markdown | None = None
_STATE = _State()


def _markdown() -> markdown.Markdown:
    """The process's Markdown instance, created on first use."""
    global _MD
    if _MD is None:
        md = _build_markdown(_STATE)
        # The speed-ups reach into Python-Markdown's internals: apply them only to the releases
        # whose output tests/test_markup_perf.py compared; any other release runs as it is.
        _MD = _speed_up(md) if markdown.__version__.startswith(SPED_UP_RELEASES) else md
    return _MD


SPED_UP_RELEASES = ("3.11.",)


def _build_markdown(state: _State) -> markdown.Markdown:
    """Python-Markdown with our extensions, as it builds itself."""
    return markdown.Markdown(
        extensions=[
            TableExtension(use_align_attribute=True),  # align="", not style=""
            "footnotes",
            "def_list",
            "attr_list",
            "fenced_code",
            CodeHiliteExtension(
                css_class="highlight",
                guess_lang=False,
                linenums=False,
                noclasses=False,
                pygments_formatter=_html_formatter,
            ),
            "sane_lists",
            _HavenExtension(state),
        ],
        output_format="html",
    )


# ---------------------------------------------------------------------------------------------
# Python-Markdown tries every block processor on every block and every inline pattern on every
# text, which is most of its cost. Each entry below names what a processor or pattern cannot
# act on without (any one of them), so it is skipped where none is present: the output is the
# same, and `convert` takes 40% of the time it did (2.5 -> 1.0 ms per article of the benchmark).
# A name not listed is always run.

_PRE_MARKERS = {
    "fenced_code_block": ("```", "~~~"),
    "html_block": ("<", "&"),  # without them the HTML parser gives the text back as it was
}
_BLOCK_MARKERS = {
    # These tests scan the whole block with a `(^|\n)` regex, or split it into rows.
    "table": ("|",),
    "hashheader": ("#",),
    "deflist": (":",),
    "quote": (">",),
    "footnote": ("[^",),
    "reference": ("]:",),
    "setextheader": ("\n=", "\n-"),
    # Three `-`, `_` or `*`, each after the last or up to two spaces after it.
    "hr": ("--", "- -", "-  -", "__", "_ _", "_  _", "**", "* *", "*  *"),
}
# Looked for in the preprocessed source (`md.lines`), which every text of the tree comes from.
_TREE_MARKERS = {
    "attr_list": ("{",),
    "unescape": ("\\",),  # restores what the `escape` pattern hid
}
_INLINE_MARKERS = {
    "backtick": ("`",),
    "escape": ("\\",),
    "reference": ("[",),
    "link": ("[",),
    "image_link": ("![",),
    "image_reference": ("![",),
    "short_reference": ("[",),
    "short_image_ref": ("![",),
    "autolink": ("<",),
    "automail": ("<",),
    "linebreak": ("  \n",),
    "html": ("<",),
    "entity": ("&",),
    "em_strong": ("*", "_"),
    "footnote": ("[^",),
    "haven-cite": ("[@",),
}


def _has(text: str, markers: tuple[str, ...]) -> bool:
    """True when `text` contains one of the markers."""
    for marker in markers:
        if marker in text:
            return True
    return False


class _Marked:
    """A wrapper: whatever it does not define comes from the processor it wraps (`.RE` ...)."""

    inner: object

    def __getattr__(self, name):
        if "inner" not in self.__dict__:
            raise AttributeError(name)
        return getattr(self.inner, name)


class _MarkedPreprocessor(_Marked, Preprocessor):
    """A preprocessor run only on a source with one of its markers."""

    def __init__(self, inner: Preprocessor, markers: tuple[str, ...]) -> None:
        super().__init__(inner.md)
        self.inner, self.markers = inner, markers

    def run(self, lines):
        return self.inner.run(lines) if _has("\n".join(lines), self.markers) else lines


class _MarkedBlockProcessor(_Marked, BlockProcessor):
    """A block processor tried only on blocks with one of its markers."""

    def __init__(self, inner: BlockProcessor, markers: tuple[str, ...]) -> None:
        super().__init__(inner.parser)
        self.inner, self.markers = inner, markers

    def test(self, parent, block):
        return _has(block, self.markers) and self.inner.test(parent, block)

    def run(self, parent, blocks):
        return self.inner.run(parent, blocks)


class _MarkedTreeprocessor(_Marked, Treeprocessor):
    """A treeprocessor run only when the preprocessed source has one of its markers."""

    def __init__(self, inner: Treeprocessor, markers: tuple[str, ...]) -> None:
        super().__init__(inner.md)
        self.inner, self.markers = inner, markers

    def run(self, root):
        return self.inner.run(root) if _has("\n".join(self.md.lines), self.markers) else None


class _MarkedInlineProcessor(_MarkdownInlineProcessor):
    """Python-Markdown's inline pass, skipping a pattern on a text that lacks its markers."""

    def __init__(self, md, patterns: list) -> None:
        super().__init__(md)
        self.patterns = patterns  # (pattern, markers or None), in priority order
        # When every pattern has markers, a text without any of their characters (most list
        # items, cells and headings) needs no pattern at all.
        self.any_marker = None
        if patterns and all(markers for _, markers in patterns):
            chars = "".join(sorted({m[-1] for _, markers in patterns for m in markers}))
            self.any_marker = re.compile(f"[{re.escape(chars)}]")

    # Replaces the private `InlineProcessor.__handleInline`, which the base class calls for every
    # text (also from `__applyPattern`, for the text inside a match).
    def _InlineProcessor__handleInline(self, data, patternIndex=0):  # noqa: N802, N803
        if isinstance(data, AtomicString) or (self.any_marker and not self.any_marker.search(data)):
            return data
        patterns, start = self.patterns, 0
        while patternIndex < len(patterns):
            pattern, markers = patterns[patternIndex]
            if markers is not None:
                for marker in markers:  # `_has`, inlined: this runs ~1,000 times per article
                    if marker in data:
                        break
                else:
                    patternIndex, start = patternIndex + 1, 0
                    continue
            data, matched, start = self._InlineProcessor__applyPattern(
                pattern, data, patternIndex, start
            )
            if not matched:
                patternIndex += 1
        return data


def _ranked(registry) -> list[tuple[str, object, float]]:
    """(name, item, priority) in priority order (`Registry` has no public way to name them)."""
    items = list(registry)  # sorts
    return [
        (entry.name, item, entry.priority)
        for entry, item in zip(registry._priority, items, strict=True)
    ]


class _ListedRegistry(Registry):
    """A registry that keeps its sorted list between changes: the block parser iterates its
    processors once per block, and `Registry` builds a new list every time."""

    def __init__(self, registry: Registry) -> None:
        super().__init__()
        self._listed = None
        for name, item, priority in _ranked(registry):
            self.register(item, name, priority)

    def register(self, item, name, priority):
        self._listed = None
        super().register(item, name, priority)

    def deregister(self, name, strict=True):
        self._listed = None
        super().deregister(name, strict)

    def __iter__(self):
        if self._listed is None:
            self._listed = list(super().__iter__())
        return iter(self._listed)


def _speed_up(md: markdown.Markdown) -> markdown.Markdown:
    """The same instance, doing less for the same output.

    The processors and patterns listed above skip what they cannot act on; the block parser's
    registry keeps its list; `is_block_level` looks tags up about 200 times per article, in a
    set rather than a list.
    """
    for registry, markers, wrap in (
        (md.preprocessors, _PRE_MARKERS, _MarkedPreprocessor),
        (md.parser.blockprocessors, _BLOCK_MARKERS, _MarkedBlockProcessor),
        (md.treeprocessors, _TREE_MARKERS, _MarkedTreeprocessor),
    ):
        for name, item, priority in _ranked(registry):
            if name in markers:
                registry.register(wrap(item, markers[name]), name, priority)
    patterns = [(item, _INLINE_MARKERS.get(name)) for name, item, _ in _ranked(md.inlinePatterns)]
    priority = next(p for name, _, p in _ranked(md.treeprocessors) if name == "inline")
    md.treeprocessors.register(_MarkedInlineProcessor(md, patterns), "inline", priority)
    md.parser.blockprocessors = _ListedRegistry(md.parser.blockprocessors)
    md.block_level_elements = frozenset(md.block_level_elements)
    return md


# ---------------------------------------------------------------------------------------------
# One pass over nh3's normalised output: typography, headings, plain text, answers.

_TOKEN_RE = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9]*)([^>]*)>|([^<]+)|<")
_ID_RE = re.compile(r'\sid="([^"]*)"')
_BLOCK_TAGS = frozenset(
    {
        *_HEADINGS,
        *"p li dt dd div section aside blockquote pre table tr td th caption ul ol dl".split(),
        *"br hr figure figcaption details summary".split(),
    }
)
_RAW_TAGS = frozenset({"code", "pre", "kbd", "samp", "var"})  # no typography inside
_ATTR_TAGS = frozenset({"a", "div", "section", "h2", "h3", "h4", "h5", "h6"})
_TRACKED_TAGS = _BLOCK_TAGS | _RAW_TAGS | _ATTR_TAGS | {"sup"}
_OPENING_CONTEXT = frozenset(" \t\n([{\u2014\u2013-/\u00a0“‘")
_QUOTE_RE = re.compile("[\"']")
_SPACE_BEFORE_PUNCT_RE = re.compile(r" ([.,;:!?)])")
_WORD_RE = re.compile(r"\w[\w'’-]*")


def _quotes(text: str, prev: str) -> str:
    """Curly quotes decided by the character before each quote (`prev` starts the segment)."""

    def curl(m: re.Match) -> str:
        i, c = m.start(), m.group(0)
        before = text[i - 1] if i else prev
        after = text[i + 1 : i + 2]  # '' when markup follows: '"<em>'
        if before in _OPENING_CONTEXT and not after.isspace():
            if c == "'" and after.isdigit():
                return "’"  # '90s
            return "“" if c == '"' else "‘"
        return "”" if c == '"' else "’"

    return _QUOTE_RE.sub(curl, text)


def _smarten(text: str, prev: str) -> str:
    """Dashes, ellipses and curly quotes in one text segment (HTML-escaped, no tags)."""
    if "-" in text:
        text = text.replace("---", "—").replace("--", "–")
    if "..." in text:
        text = text.replace("...", "…")
    if '"' in text or "'" in text:
        text = _quotes(text, prev)
    return text


@dataclass
class _Walked:
    html: str
    headings: list[Heading]
    text: str
    words: int
    answers: list[tuple[str, str, str, str]]  # (id, question, answer html, answer text)


def _walk(clean: str) -> _Walked:
    out: list[str] = []
    text: list[str] = []
    prose: list[str] = []  # text that counts as words (no code)
    headings: list[Heading] = []
    raw = 0  # depth inside code-like tags: no typography
    hidden = 0  # depth inside tags whose text is not body text (pre, sup)
    in_code = 0
    backref = False
    prev = " "
    heading: tuple[int, str, list[str]] | None = None
    faq = 0  # depth of <section> inside a question-and-answer section
    question: tuple[str, str] | None = None
    answer: tuple[int, list[str]] | None = None  # (index in out, text pieces)
    answer_divs = 0
    answers: list[tuple[str, str, str, str]] = []

    for m in _TOKEN_RE.finditer(clean):
        piece = m.group(4)
        if piece is not None:
            if not raw and not backref:
                piece = _smarten(piece, prev)
            prev = piece[-1]
            out.append(piece)
            if hidden or backref:
                continue
            plain = html.unescape(piece) if "&" in piece else piece
            text.append(plain)
            if not in_code:
                prose.append(plain)
            if heading is not None:
                heading[2].append(plain)
            if answer is not None:
                answer[1].append(plain)
            continue
        token = m.group(0)
        name = m.group(2)
        if name not in _TRACKED_TAGS:
            out.append(token if name else "&lt;")  # a lone '<' is not produced by nh3
            continue
        closing = m.group(1) == "/"
        if name in _BLOCK_TAGS:
            prev = " "
            text.append("\n")
            prose.append(" ")
            if answer is not None:
                answer[1].append("\n")
        if name in _RAW_TAGS:
            raw += -1 if closing else 1
            if name == "code" and not hidden:
                in_code += -1 if closing else 1
        if name == "pre" or name == "sup":
            hidden += -1 if closing else 1
        if not closing:
            if name not in _ATTR_TAGS:
                pass
            elif name == "a":
                backref = 'class="footnote-backref"' in token
            elif name == "div":
                if answer is not None:
                    answer_divs += 1
                elif faq and 'class="faq-answer"' in token:
                    out.append(token)
                    answer, answer_divs = (len(out), []), 1
                    continue
            elif name == "section":
                if faq or 'class="faq"' in token:
                    faq += 1
            else:  # h2..h6
                ident = _ID_RE.search(token)
                heading = (int(name[1]), html.unescape(ident.group(1)) if ident else "", [])
        elif name == "a":
            backref = False
        elif name == "div":
            if answer is not None:
                answer_divs -= 1
                if answer_divs == 0:
                    qid, qtext = question or ("", "")
                    answer_text = _tidy_text("".join(answer[1]))
                    answers.append((qid, qtext, "".join(out[answer[0] :]).strip(), answer_text))
                    answer = question = None
        elif name == "section":
            faq = max(faq - 1, 0)
        elif heading is not None and name in _HEADINGS:
            label = " ".join("".join(heading[2]).split())
            headings.append(Heading(heading[0], heading[1], label))
            if faq and heading[0] == 3:
                question = (heading[1], label)
            heading = None
        out.append(token)
    words = len(_WORD_RE.findall("".join(prose)))
    return _Walked("".join(out), headings, _tidy_text("".join(text)), words, answers)


def _tidy_text(text: str) -> str:
    """One line per block, single spaces, no space left where a citation mark was removed."""
    lines = (" ".join(line.split()) for line in text.split("\n"))
    return _SPACE_BEFORE_PUNCT_RE.sub(r"\1", "\n".join(line for line in lines if line))


# ---------------------------------------------------------------------------------------------


def _question_lines(src: _Source) -> list[int]:
    """0-based lines of the `###` questions of ATX `##` question-and-answer headings, in order."""
    lines, in_faq = [], False
    for m in re.finditer(r"^(#{1,6})(?!#)[ \t]*(.*?)[ \t#]*$", src.masked, re.M):
        level = len(m.group(1))
        if level <= 2:
            in_faq = level == 2 and is_faq_title(src.body[m.start(2) : m.end(2)])
        elif level == 3 and in_faq:
            lines.append(src.line(m.start()))
    return lines


_TABLE_WRAP = '<div class="table-wrap" role="region" tabindex="0" aria-label="Table">'


def render(body: str, *, path: str, body_line: int) -> Rendered:
    """Render a Markdown body to sanitised HTML and the facts later stages need. Pure.

    Raises MarkupError, naming the file and line, for a body that cannot be rendered.
    """
    src = _scan(body)
    _depth, index, too_deep = _nesting(src)
    if too_deep is not None:
        raise _failure(
            path,
            body_line + too_deep,
            f"lists or quotes nested more than {MAX_NESTING} levels deep from this line on; "
            "Python-Markdown cannot render that",
            "nest less deeply: split the list, or use headings",
            "too-deep",
        )
    try:
        with _Deadline(RENDER_SECONDS):
            return _render(body, src, path, body_line)
    except _Overtime:
        _discard()
        raise _failure(
            path,
            body_line,
            f"rendering this body took longer than {RENDER_SECONDS:g} seconds and was stopped",
            "look for long runs of unclosed brackets '[' or '<'; split a very long article",
            "render-time",
        ) from None
    except RecursionError:
        _discard()
        raise _failure(
            path,
            body_line + index,
            "this body is nested too deeply to render (the deepest line is here)",
            "nest lists, quotes and emphasis less deeply",
            "too-deep",
        ) from None
    except Exception as exc:
        _discard()
        raise _failure(
            path,
            body_line,
            f"Python-Markdown failed on this body: {type(exc).__name__}: {exc}",
            "this is a bug in Haven or Python-Markdown; simplify the body to find the part "
            "that causes it",
            "markup-internal",
        ) from None
    except BaseException:
        _discard()  # interrupted half-way: the instance's state cannot be trusted
        raise


def _discard() -> None:
    """Forget the process's Markdown instance: a failed render may have left state in it."""
    global _MD, _STATE
    _MD, _STATE = None, _State()


_RESERVED_ID_RE = re.compile(
    r'\sid="(?:'
    + "|".join(re.escape(i) for i in sorted(TEMPLATE_IDS, key=len, reverse=True))
    + ')"'
)


def _render(body: str, src: _Source, path: str, body_line: int) -> Rendered:
    md = _markdown()
    md.reset()
    links = _find_links(src, body_line)

    citations: list[Citation] = []
    if "[@" in src.masked:
        for m in _CITE_RE.finditer(src.masked):
            for key in _CITE_KEY_RE.findall(m.group(1)):
                if key not in _STATE.numbers:
                    number = _STATE.number(key)
                    citations.append(Citation(key, body_line + src.line(m.start()), number))

    diagnostics = _raw_html_lint(src, path, body_line, links)
    diagnostics += _citation_lint(src, path, body_line)
    diagnostics += _structure_errors(src, path, body_line, md.block_level_elements)

    clean = _CLEANER.clean(md.convert(body))
    if ' id="' in clean:
        # Raw HTML (or an explicit `{#id}`) must not take an id the theme's page already has.
        clean = _RESERVED_ID_RE.sub("", clean)
    walked = _walk(clean)

    questions = []
    qlines = _question_lines(src)
    if len(qlines) != len(walked.answers):
        qlines = [None] * len(walked.answers)
    for (qid, qtext, answer_html, answer_text), qline in zip(walked.answers, qlines, strict=True):
        questions.append(Question(qid, qtext, answer_html, answer_text))
        if not answer_html:
            line = body_line + qline if qline is not None else body_line
            diagnostics.append(
                Diagnostic(
                    WARNING,
                    path,
                    line,
                    None,
                    f"question '{qtext}' has no answer",
                    hint="write the answer below the ### question, or remove the question",
                    code="empty-answer",
                    source_line=src.text_of_line(qline) if qline is not None else None,
                )
            )
    diagnostics.sort(key=lambda d: (d.line or 0, d.col or 0))
    html_out = walked.html
    if "<table" in html_out:
        # A wide table scrolls inside a region that keyboard users can reach and name.
        html_out = html_out.replace("<table", _TABLE_WRAP + "<table").replace(
            "</table>", "</table></div>"
        )
    return Rendered(
        html=html_out,
        headings=tuple(walked.headings),
        words=walked.words,
        links=tuple(link for _pos, link in links),
        citations=tuple(citations),
        questions=tuple(questions),
        text=walked.text,
        diagnostics=tuple(diagnostics),
    )


# ---------------------------------------------------------------------------------------------

LIGHT_STYLE = "default"  # every token colour >= 4.5:1 on its background (WCAG AA)
DARK_STYLE = "github-dark"  # every token colour >= 6:1 on its background


@functools.cache
def pygments_css() -> str:
    """Stylesheet for `.highlight` code blocks: light, plus dark under prefers-color-scheme."""
    from pygments.formatters import HtmlFormatter

    def rules(style: str) -> list[str]:
        formatter = HtmlFormatter(style=style, cssclass="highlight")
        return formatter.get_background_style_defs(".highlight") + formatter.get_token_style_defs(
            ".highlight"
        )

    light, dark = rules(LIGHT_STYLE), rules(DARK_STYLE)
    dark_selectors = {rule.split("{", 1)[0].strip() for rule in dark}
    # A token the dark style leaves unstyled must not keep its light colour.
    resets = [
        f"{selector} {{ color: inherit; background-color: transparent }}"
        for selector in dict.fromkeys(rule.split("{", 1)[0].strip() for rule in light)
        if selector not in dark_selectors
    ]
    body = "\n".join("  " + rule for rule in resets + dark)
    return "\n".join(light) + "\n@media (prefers-color-scheme: dark) {\n" + body + "\n}\n"
