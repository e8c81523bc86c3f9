"""Haven's Python-Markdown: the extensions it loads, and its own (heading ids, citations, the
question-and-answer section), through the public extension API only.

Everything a render changes lives in a `RenderState` made for that render (`Parser.convert`):
the heading ids taken, the citation numbers, the bracket table. The `Markdown` instance itself
is reused between renders, reset each time.
"""

from __future__ import annotations

import copy
import functools
import html
import re
import unicodedata
import xml.etree.ElementTree as etree

import markdown
from markdown.extensions import Extension
from markdown.extensions.codehilite import CodeHiliteExtension
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
from markdown.treeprocessors import Treeprocessor
from markdown.util import AtomicString

from .highlight import html_formatter
from .sanitise import HEADINGS, TEMPLATE_IDS

_KEY = r"[A-Za-z0-9_:.-]+"
CITE_RE = re.compile(rf"\[(@{_KEY}(?:[ \t]*;[ \t]*@{_KEY})*)\]")
CITE_KEY_RE = re.compile(rf"@({_KEY})")

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


def has_any(text: str, markers) -> bool:
    """True when `text` contains one of the markers."""
    for marker in markers:
        if marker in text:
            return True
    return False


class RenderState:
    """What one render's processors share: ids taken, citation numbers, the bracket table."""

    def __init__(self, citation_numbers: dict[str, int] | None = None) -> None:
        self.ids: set[str] = set(TEMPLATE_IDS)
        self.counts: dict[str, int] = {}  # base id -> the last number tried for it
        # Citation numbers by first use in the source (positions.citations): the parser meets
        # citations in the order of its tree, which is not the order of the source.
        self.numbers: dict[str, int] = dict(citation_numbers or {})
        self.uses: dict[str, int] = {}
        self.brackets = Brackets()

    def slugify(self, value: str) -> str:
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
        """The citation number of `key`: the next one when the source scan did not see it."""
        if key not in self.numbers:
            self.numbers[key] = len(self.numbers) + 1
        return self.numbers[key]


_BRACKET_RE = re.compile(r"[\[\]]")


class Brackets:
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
    """Mixin for Python-Markdown's link patterns: `getText` through `Brackets`.

    Returns what the original returns: the text up to the closing `]`, the index after it, and
    whether one was found (the rest of the text and its end when not).
    """

    haven: HavenExtension

    def getText(self, data: str, index: int) -> tuple[str, int, bool]:  # noqa: N802
        if index < 1 or data[index - 1] != "[":
            return super().getText(data, index)
        end = self.haven.state.brackets.closing(data, index)
        if end < 0:
            return data[index:], len(data), False
        return data[index:end], end + 1, True

    def getLink(self, data: str, index: int) -> tuple[str, str | None, int, bool]:  # noqa: N802
        # Without a `)` after `index`, and without a quote (which lets the original end a
        # link in other ways), the original scans to the end and finds nothing.
        if self.haven.state.brackets.unclosable(data, index):
            return "", None, len(data) if data.startswith("(", index) else index, False
        return super().getLink(data, index)


# Python-Markdown's link patterns with their documented names and priorities (the same in every
# release since 3.0); registering under the same name replaces the original.
LINK_PATTERNS = {
    "reference": (ReferenceInlineProcessor, 170),
    "link": (LinkInlineProcessor, 160),
    "image_link": (ImageInlineProcessor, 150),
    "image_reference": (ImageReferenceInlineProcessor, 140),
    "short_reference": (ShortReferenceInlineProcessor, 130),
    "short_image_ref": (ShortImageReferenceInlineProcessor, 125),
}


@functools.cache
def fast_brackets(cls: type) -> type:
    """`cls` (one of Python-Markdown's link patterns) finding its brackets through `Brackets`."""
    return type(f"Fast{cls.__name__}", (_FastBrackets, cls), {})


class _CitationProcessor(InlineProcessor):
    """`[@a; @b]` -> `<sup class="cite"><a href="#ref-a" id="cite-a-1">1</a>, ...</sup>`."""

    def __init__(self, haven: HavenExtension, md) -> None:
        super().__init__(CITE_RE.pattern, md)
        self.haven = haven

    def handleMatch(self, m, data):  # noqa: N802 (Python-Markdown's name)
        state = self.haven.state
        sup = etree.Element("sup", {"class": "cite"})
        keys = CITE_KEY_RE.findall(m.group(1))
        for i, key in enumerate(keys):
            use = state.uses[key] = state.uses.get(key, 0) + 1
            a = etree.SubElement(sup, "a", {"href": f"#ref-{key}", "id": f"cite-{key}-{use}"})
            a.text = AtomicString(str(state.number(key)))
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

    def __init__(self, haven: HavenExtension, md) -> None:
        super().__init__(md)
        self.haven = haven

    def run(self, root):
        state = self.haven.state
        headings = []
        for el in root.iter():
            ident = el.get("id")
            if ident:
                state.ids.add(ident)
            elif ident is None and el.tag in HEADINGS:
                headings.append(el)
        for el in headings:
            text = el.text or ""
            if len(el) or has_any(text, _HEADING_MARKUP):
                name = html.unescape(strip_tags(render_inner_html(_without_refs(el), self.md)))
            else:  # what rendering and stripping give for plain text, 20 us cheaper
                name = " ".join(text.split())
            el.set("id", state.slugify(name))
        return None


class HavenExtension(Extension):
    """Heading ids, `[@key]` citations, the question-and-answer section, faster link patterns."""

    def __init__(self) -> None:
        super().__init__()
        self.state = RenderState()

    def extendMarkdown(self, md):  # noqa: N802 (Python-Markdown's name)
        md.registerExtension(self)
        for name, (cls, priority) in LINK_PATTERNS.items():
            if name in md.inlinePatterns and type(md.inlinePatterns[name]) is cls:
                fast = fast_brackets(cls)(md.inlinePatterns[name].pattern, md)
                fast.haven = self
                md.inlinePatterns.register(fast, name, priority)
        # After escapes (180) and code spans (190), before reference links (170).
        md.inlinePatterns.register(_CitationProcessor(self, md), "haven-cite", 175)
        # After attr_list (8), so explicit `{#id}`s are kept and never reused.
        md.treeprocessors.register(_HeadingIdTreeprocessor(self, md), "haven-ids", 6)
        # After the ids, so the h2 already has its id.
        md.treeprocessors.register(_FaqTreeprocessor(md), "haven-faq", 4)

    def reset(self) -> None:
        self.state = RenderState()


class Parser:
    """A configured Python-Markdown and its Haven extension, reused from render to render."""

    def __init__(self) -> None:
        self.haven = HavenExtension()
        self.md = markdown.Markdown(
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
                    pygments_formatter=html_formatter,
                ),
                "sane_lists",
                self.haven,
            ],
            output_format="html",
        )

    def convert(self, body: str, citation_numbers: dict[str, int]) -> str:
        """`body` as HTML, with a fresh state; citations numbered from `citation_numbers` on."""
        self.md.reset()
        self.haven.state = RenderState(citation_numbers)
        return self.md.convert(body)
