"""An optional speed-up of Python-Markdown, through its public API, for the releases it was
compared on (`SPED_UP_RELEASES`); any other release renders the plain way.

Python-Markdown tries every block processor on every block and every inline pattern on every
text of the tree, which is most of its cost, and nearly all of those tries find nothing: a
pattern cannot match a text without its markers (`[` for a link, `*` or `_` for emphasis, ...).
So, for each body:

- a parser without the processors and patterns whose markers the body lacks
  (`Registry.deregister`, which keeps the order of what is left); a site needs a handful of
  such parsers, and rendering.py keeps them per thread, keyed by `choose(body)`;
- in it, a `Treeprocessor` just before the inline pass marks each text that lacks the markers of
  every pattern left as an `AtomicString`, which that pass skips;
- a block processor is tried only on blocks with one of its markers (a `BlockProcessor` wrapping
  it, registered in its place), from a registry that keeps its sorted list.

The output is the same, byte for byte: tests/test_markup_perf.py compares it with plain
Python-Markdown on snippets reaching every processor and pattern and on seeded documents mixing
them. The tables below describe the releases listed; a new release is added once those tests
pass with it, and until then it renders the plain way.
"""

from __future__ import annotations

import functools
import re

import markdown
from markdown.blockprocessors import BlockProcessor
from markdown.treeprocessors import Treeprocessor
from markdown.util import INLINE_PLACEHOLDER_PREFIX, AtomicString, Registry

from .extensions import Parser

SPED_UP_RELEASES = ("3.11.",)

# What an inline pattern needs in a text (any one of these) to match there.
INLINE_MARKERS = {
    "backtick": ("`",),
    "escape": ("\\",),
    "footnote": ("[^",),
    "haven-cite": ("[@",),
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
}
# (registry, name) of what a body's parser can go without -> what the body must contain (any
# one of these) for it to act. Python-Markdown's first preprocessor turns a tab into spaces, so
# a tab before a line end is the linebreak pattern's two spaces.
REMOVABLE = {
    ("preprocessors", "fenced_code_block"): ("```", "~~~"),
    # Without them the HTML parser gives the text back as it was.
    ("preprocessors", "html_block"): ("<", "&"),
    ("treeprocessors", "attr_list"): ("{",),
    ("treeprocessors", "unescape"): ("\\",),  # restores what the `escape` pattern hid
    **{("inlinePatterns", name): markers for name, markers in INLINE_MARKERS.items()},
    ("inlinePatterns", "linebreak"): ("  \n", "\t"),
}
# What a block processor's test looks for in the block (any one of these); it is not tried on
# a block without them.
BLOCK_MARKERS = {
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
# Every processor and pattern of our configuration in these releases, by registry.
KNOWN = {
    "preprocessors": ("normalize_whitespace", "fenced_code_block", "html_block"),
    "blockprocessors": (
        *"empty indent defindent code table hashheader setextheader hr olist ulist".split(),
        *"deflist quote footnote reference paragraph".split(),
    ),
    "treeprocessors": (
        *"footnote hilite inline footnote-duplicate prettify attr_list".split(),
        *"haven-ids haven-faq unescape".split(),
    ),
    "inlinePatterns": tuple(INLINE_MARKERS),
}
# Python-Markdown's first preprocessor deletes these, so the text it parses may hold a marker
# the body does not ('[\x02^'); CR becomes a line break.
_NORMALISED = ("\x02", "\x03", "\r")


@functools.cache
def enabled() -> bool:
    """True when the installed Python-Markdown is a release the tables above describe."""
    if not markdown.__version__.startswith(SPED_UP_RELEASES):
        return False
    md = Parser().md
    registries = {**_registries(md), "blockprocessors": md.parser.blockprocessors}
    return all(
        len(registries[kind]) == len(names) and all(name in registries[kind] for name in names)
        for kind, names in KNOWN.items()
    )


def _registries(md: markdown.Markdown) -> dict[str, Registry]:
    return {
        "preprocessors": md.preprocessors,
        "treeprocessors": md.treeprocessors,
        "inlinePatterns": md.inlinePatterns,
    }


def choose(body: str) -> frozenset[tuple[str, str]] | None:
    """What a parser for `body` can go without (the key of `parser`); None: the plain parser."""
    if not enabled() or any(c in body for c in _NORMALISED):
        return None
    unused = []
    for item, markers in REMOVABLE.items():
        for marker in markers:
            if marker in body:
                break
        else:
            unused.append(item)
    return frozenset(unused)


def parser(unused: frozenset[tuple[str, str]]) -> Parser:
    """A parser going without the `unused` processors and patterns, doing less for each body."""
    parser = Parser()
    md = parser.md
    registries = _registries(md)
    for kind, name in unused:
        registries[kind].deregister(name)
    _wrap_blocks(md.parser)
    markers = {
        marker
        for name, names in INLINE_MARKERS.items()
        if ("inlinePatterns", name) not in unused
        for marker in names
    }
    markers.add(INLINE_PLACEHOLDER_PREFIX)  # the inline pass also puts back what it stashed
    # Just before the inline pass (20), after every treeprocessor that adds text to the tree
    # (footnotes 50, code highlighting 30).
    md.treeprocessors.register(_SkipPlainText(md, markers), "haven-plain-text", 25)
    return parser


def _wrap_blocks(block_parser) -> None:
    """The block parser's processors again, each in `BLOCK_MARKERS` wrapped, in their order.

    A registry does not tell an item's priority, so every processor is registered again, in the
    order it had, under priorities that keep that order, into a registry that keeps its list
    between changes (the block parser goes through it once per block).
    """
    registry = block_parser.blockprocessors
    ordered = sorted(KNOWN["blockprocessors"], key=registry.get_index_for_name)
    listed = _ListedRegistry()
    for rank, name in enumerate(ordered):
        item = registry[name]
        if name in BLOCK_MARKERS:
            item = _MarkedBlockProcessor(item, BLOCK_MARKERS[name])
        listed.register(item, name, len(ordered) - rank)
    block_parser.blockprocessors = listed


class _ListedRegistry(Registry):
    """A `Registry` that keeps its sorted list until it changes (`Registry` builds a new one
    each time it is iterated)."""

    def __init__(self) -> None:
        super().__init__()
        self.listed: list | None = None

    def register(self, item, name: str, priority: float) -> None:
        self.listed = None
        super().register(item, name, priority)

    def deregister(self, name: str, strict: bool = True) -> None:
        self.listed = None
        super().deregister(name, strict)

    def __iter__(self):
        if self.listed is None:
            self.listed = list(super().__iter__())
        return iter(self.listed)


class _MarkedBlockProcessor(BlockProcessor):
    """A block processor tried only on blocks with one of its markers."""

    def __init__(self, inner: BlockProcessor, markers: tuple[str, ...]) -> None:
        super().__init__(inner.parser)
        self.inner, self.markers = inner, markers

    def test(self, parent, block):
        for marker in self.markers:
            if marker in block:
                return self.inner.test(parent, block)
        return False

    def run(self, parent, blocks):
        return self.inner.run(parent, blocks)


class _SkipPlainText(Treeprocessor):
    """Marks each text that no inline pattern left can match as an `AtomicString`."""

    def __init__(self, md, markers: set[str]) -> None:
        super().__init__(md)
        self.search = re.compile("|".join(re.escape(m) for m in sorted(markers))).search

    def run(self, root):
        search = self.search
        for el in root.iter():
            text = el.text
            if text and not isinstance(text, AtomicString) and not search(text):
                el.text = AtomicString(text)
            tail = el.tail
            if tail and not isinstance(tail, AtomicString) and not search(tail):
                el.tail = AtomicString(tail)
        return None
