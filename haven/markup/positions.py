"""Where things are in the source: the one scan that gives every line number of a render.

`scan` blanks what Python-Markdown treats as code (fenced, indented, spans), comments and
backslash escapes, keeping offsets, so every search below sees prose only and every offset maps
to a line and column of the body. Links, citations, questions, nesting and unclosed raw HTML
are found here; lints.py reports what it finds with the same `Source`.

The lines cannot come from Python-Markdown itself: it keeps no positions, and what it passes
through untouched (raw HTML blocks) still holds links that check must find by line.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass

from markdown.extensions.fenced_code import FencedBlockPreprocessor

from ..model import Citation, Link
from .extensions import CITE_KEY_RE, CITE_RE, is_faq_title

_FENCE_RE = FencedBlockPreprocessor.FENCED_BLOCK_RE
_CODE_SPAN_RE = re.compile(r"(?<![\\`])(`+)(?!`)((?:(?!\n[ \t]*\n).)+?)(?<!`)\1(?!`)", re.S)
_COMMENT_RE = re.compile(r"<!--.*?(?:-->|$)", re.S)
_ESCAPE_RE = re.compile(r"\\[\\`*_{}\[\]()<>#+\-.!@:|]")
_LIST_START_RE = re.compile(r"[ ]{0,3}(?:[*+-]|\d+[.)])[ \t]|[ ]{0,3}\[\^[^\]]+\]:|:[ \t]")
_INDENT_RE = re.compile(r"(?: {4}|\t)")
_BLANK_RE = re.compile(r"[ \t]*$")
_NOT_NEWLINE_RE = re.compile(r"[^\n]")


def _blank(text: str) -> str:
    """Same length, newlines kept, everything else a space."""
    return _NOT_NEWLINE_RE.sub(" ", text)


@dataclass
class Source:
    """The body with code (fenced, indented, spans) and backslash escapes blanked out."""

    body: str
    masked: str
    starts: list[int]  # offset of each line start
    open_comment: int | None = None  # offset of a `<!--` that is never closed

    def line(self, pos: int) -> int:
        """0-based line index of an offset."""
        return bisect.bisect_right(self.starts, pos) - 1

    def col(self, pos: int) -> int:
        """1-based column of an offset."""
        return pos - self.starts[self.line(pos)] + 1

    def text_of_line(self, index: int) -> str:
        """The body's line at a 0-based index, as the editor wrote it."""
        end = self.body.find("\n", self.starts[index])
        return self.body[self.starts[index] : end if end >= 0 else len(self.body)]


def scan(body: str) -> Source:
    """The body's `Source`: code, comments and escapes blanked, line starts known."""
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
    return Source(body, text, starts, open_comment)


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
TAG_RE = re.compile(r"""<(/?)([A-Za-z][A-Za-z0-9-]*)(\s(?:[^<>"']|"[^"]*"|'[^']*')*)?/?>""")
_ATTR_RE = re.compile(r"""([^\s=/>"']+)(?:\s*=\s*("[^"]*"|'[^']*'|[^\s>"']+))?""")


def attrs(text: str | None) -> list[tuple[str, str, int]]:
    """(lower-cased name, unquoted value, offset of the value) of each attribute."""
    found = []
    for m in _ATTR_RE.finditer(text or ""):
        value, at = m.group(2) or "", m.start(2)
        if value[:1] in "\"'" and value:
            value, at = value[1:-1], at + 1
        found.append((m.group(1).lower(), value, at))
    return found


def links(src: Source, body_line: int) -> list[tuple[int, Link]]:
    """(offset of the href, Link) for every link and image outside code, in source order."""
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
        for m in TAG_RE.finditer(masked):
            name = m.group(2).lower()
            if m.group(1) or name not in ("a", "img"):
                continue
            for attr, value, at in attrs(m.group(3)):
                if attr == ("href" if name == "a" else "src"):
                    add(m.start(3) + at, value)
    found.sort(key=lambda item: item[0])
    return found


# ---------------------------------------------------------------------------------------------
# Citations, questions.


def citations(src: Source, body_line: int) -> list[Citation]:
    """Each cited key at its first use outside code, numbered in that order from 1."""
    found: list[Citation] = []
    if "[@" in src.masked:
        seen: set[str] = set()
        for m in CITE_RE.finditer(src.masked):
            for key in CITE_KEY_RE.findall(m.group(1)):
                if key not in seen:
                    seen.add(key)
                    found.append(Citation(key, body_line + src.line(m.start()), len(seen)))
    return found


_ATX_RE = re.compile(r"^(#{1,6})(?!#)[ \t]*(.*?)[ \t#]*$", re.M)


def question_lines(src: Source) -> list[int]:
    """0-based lines of the `###` questions of ATX `##` question-and-answer headings, in order."""
    lines, in_faq = [], False
    if "#" not in src.masked:
        return lines
    for m in _ATX_RE.finditer(src.masked):
        level = len(m.group(1))
        if level <= 2:
            in_faq = level == 2 and is_faq_title(src.body[m.start(2) : m.end(2)])
        elif level == 3 and in_faq:
            lines.append(src.line(m.start()))
    return lines


# ---------------------------------------------------------------------------------------------
# Structure: what would make the render fail or its output wrong.

_VOID_TAGS = frozenset(
    "area base br col embed hr img input link meta param source track wbr".split()
)
_CONTAINER_RE = re.compile(r"[ ]{0,3}(?:>|(?:[*+-]|\d{1,9}[.)])(?=[ \t]|$))[ \t]?")


def nesting(src: Source, limit: int) -> tuple[int, int, int | None]:
    """(deepest nesting, its 0-based line, first line nested deeper than `limit` or None)."""
    # Nesting counts indentation, quote markers and list markers, as Python-Markdown recurses.
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
        if first is None and depth > limit:
            first = index
    return best[0], best[1], first


def open_html_block(src: Source, block_tags) -> tuple[str, int] | None:
    """(tag, offset) of a raw HTML block that is never closed, or None."""
    # A block-level tag at the start of a line opens a raw block that Python-Markdown passes on
    # as it is until the matching closing tag: without one, the rest of the body would be
    # published as raw text with its Markdown unrendered.
    masked = src.masked
    if "<" not in masked:
        return None
    current: list | None = None  # [name, depth, offset]
    block_end = -1
    for m in TAG_RE.finditer(masked):
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
