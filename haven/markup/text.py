"""After the sanitiser: typography, headings, plain text, words and answers, in one pass.

nh3's output is normalised (every tag well formed, attributes double-quoted, `<` and `>` in
text escaped), so a regex can walk it safely.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

from ..model import Heading
from .sanitise import HEADINGS

_TOKEN_RE = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9]*)([^>]*)>|([^<]+)|<")
_ID_RE = re.compile(r'\sid="([^"]*)"')
_BLOCK_TAGS = frozenset(
    {
        *HEADINGS,
        *"p li dt dd div section aside blockquote pre table tr td th caption ul ol dl".split(),
        *"br hr figure figcaption details summary".split(),
    }
)
_RAW_TAGS = frozenset({"code", "pre", "kbd", "samp", "var"})  # no typography inside
_ATTR_TAGS = frozenset({"a", "div", "section", "h2", "h3", "h4", "h5", "h6"})
_TRACKED_TAGS = _BLOCK_TAGS | _RAW_TAGS | _ATTR_TAGS | {"sup"}
_OPENING_CONTEXT = frozenset(" \t\n([{\u2014\u2013-/\u00a0“‘")
_QUOTE_RE = re.compile("[\"']")
_SPACE_BEFORE_PUNCT_RE = re.compile(r" (?=[.,;:!?)])")
_WORD_RE = re.compile(r"\w[\w'’-]*")
_TABLE_WRAP = '<div class="table-wrap" role="region" tabindex="0" aria-label="Table">'


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
class Walked:
    """The body's final HTML and what was read from it."""

    html: str
    headings: list[Heading]
    text: str
    words: int
    answers: list[tuple[str, str, str, str]]  # (id, question, answer html, answer text)


def walk(clean: str) -> Walked:
    """Typography, headings, plain text, word count and answers of sanitised HTML."""
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
        elif heading is not None and name in HEADINGS:
            label = " ".join("".join(heading[2]).split())
            headings.append(Heading(heading[0], heading[1], label))
            if faq and heading[0] == 3:
                question = (heading[1], label)
            heading = None
        out.append(token)
    words = len(_WORD_RE.findall("".join(prose)))
    body = "".join(out)
    if "<table" in body:
        # A wide table scrolls inside a region that keyboard users can reach and name.
        body = body.replace("<table", _TABLE_WRAP + "<table").replace("</table>", "</table></div>")
    return Walked(body, headings, _tidy_text("".join(text)), words, answers)


def _tidy_text(text: str) -> str:
    """One line per block, single spaces, no space left where a citation mark was removed."""
    lines = map(" ".join, map(str.split, text.split("\n")))
    return _SPACE_BEFORE_PUNCT_RE.sub("", "\n".join(filter(None, lines)))
