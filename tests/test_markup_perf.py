"""Markup's shortcuts: Python-Markdown doing less work must give exactly the same output.

`markup._speed_up` wraps Python-Markdown's processors so that each skips text without its
markers. These tests compare it with Python-Markdown as it builds itself, on inputs chosen to
reach every processor and pattern, and check the premises the shortcuts rest on.
"""

from __future__ import annotations

import random
import re

import pytest
from pygments import highlight
from pygments.formatters import get_formatter_by_name
from pygments.lexers import get_lexer_by_name

from haven import markup
from haven.markup import render

PATH = "content/articles/x.md"

# One snippet per processor and pattern, with the near misses that a marker check must not skip.
SNIPPETS = [
    "Plain words only, with commas, colons: and full stops.",
    "| A | B |\n|:--|--:|\n| one | two |",
    "A | B\n--- | ---\n1 | 2",
    "| only |\n|---|\n| one |",
    "a \\| b | c\n---|---\nx | y",
    "Term\n: Definition with *emphasis*.\n\n    Indented more.",
    "Not a term: just a colon",
    "> quoted\n> > nested *em*",
    ">no space after the marker",
    "a > b, and x >= y",
    "Text with a note.[^n]\n\n[^n]: The note, with a [link](https://example.org).\n\n    More.",
    "[^orphan] and [^]: not a note",
    '[ref]: https://example.org/ "Title"\n\nSee [the ref][ref], [ref] and ![pic][ref].',
    "Setext one\n==========",
    "Setext two\n----------\nbody",
    "a\n=",
    "---",
    "- - -",
    "_  _  _",
    "* * *",
    "***",
    "self-care -- and --- dashes",
    "## Heading with `code` and *em*",
    "### Heading &amp; ampersand < angle \\# escaped",
    "## Heading [@kim2019] with a citation[^n]",
    "## Same\n\n## Same\n\n## Same {#custom}",
    "## ",
    "*em* _em_ **strong** __strong__ ***both*** snake_case_name 2*3*4",
    "Underscores alone: _em_ and __strong__",
    "Stars alone: *em* and **strong**",
    "`code` ``a ` b`` \\`not code\\` \\\\ \\* \\_ \\[ \\]",
    '[link](https://example.org "title") ![img](a.png) [a [nested] link](b.md#x)',
    "[![alt](img.png)](page.md) and [text](<with space.md>)",
    "<https://example.org/auto> <me@example.org> <span>raw</span> <b>x</b>",
    "&amp; &copy; &#169; &#xA9; AT&T & alone",
    "line one  \nline two\nline three",
    "Braces {: .cls} and {#id} and {not attrs",
    "Para\n{: #pid .cls }",
    "* item {: .x}\n* item two",
    "```python\nx = '*a*' [@k] {#i}\n```",
    "~~~\nplain ~~~ fence\n~~~",
    '``` { .python hl_lines="1" }\nx = 1\n```',
    "    indented code\n    *not em*",
    "<div>\nblock <b>html</b>\n</div>\n\nafter",
    "<!-- a comment -->\n\ntext",
    "Text &#99 no semicolon; &T and &#x1 end",
    "Cite [@smith2020] and [@a; @b], not [@] or [ @x].",
    "## Questions\n\n### Is it safe?\n\nYes, *mostly*.\n\n### Empty?\n\n## Next",
    "1. one\n2. two\n\n    para in item\n\n3) three",
    "- a\n\n        code in list\n- b",
    "Tab\tseparated\ttext and trailing spaces   \n",
    "Escaped \\<not html\\> and \\{braces\\}",
]


def plain_markdown():
    return markup._build_markdown(markup._State())


def fast_markdown():
    return markup._speed_up(markup._build_markdown(markup._State()))


def convert(md, text: str) -> str:
    md.reset()
    return md.convert(text)


@pytest.mark.parametrize("text", SNIPPETS)
def test_each_snippet_converts_as_python_markdown_does(text):
    assert convert(fast_markdown(), text) == convert(plain_markdown(), text)


def test_documents_mixing_the_snippets_convert_as_python_markdown_does():
    plain, fast = plain_markdown(), fast_markdown()
    rng = random.Random(7)
    for _ in range(150):
        parts = rng.choices(SNIPPETS, k=rng.randint(2, 8))
        text = rng.choice(["\n\n", "\n"]).join(parts)
        assert convert(fast, text) == convert(plain, text), text


def test_every_pattern_has_markers_so_plain_text_skips_them_all():
    md = markup._markdown()
    names = [name for name, _item, _priority in markup._ranked(md.inlinePatterns)]
    assert sorted(names) == sorted(markup._INLINE_MARKERS)
    assert md.treeprocessors["inline"].any_marker is not None


@pytest.mark.parametrize(
    ("table", "registry"),
    [
        ("_PRE_MARKERS", "preprocessors"),
        ("_TREE_MARKERS", "treeprocessors"),
    ],
)
def test_every_listed_processor_is_wrapped(table, registry):
    md = markup._markdown()
    for name in getattr(markup, table):
        assert isinstance(getattr(md, registry)[name], markup._Marked), name


def test_wrapping_keeps_every_processor_in_its_place():
    plain, fast = plain_markdown(), fast_markdown()
    for registry in (
        lambda md: md.preprocessors,
        lambda md: md.parser.blockprocessors,
        lambda md: md.treeprocessors,
        lambda md: md.inlinePatterns,
        lambda md: md.postprocessors,
    ):
        names = [
            [name for name, _item, _priority in markup._ranked(registry(md))]
            for md in (plain, fast)
        ]
        assert names[0] == names[1]


def test_every_listed_block_processor_is_wrapped():
    md = markup._markdown()
    for name in markup._BLOCK_MARKERS:
        assert isinstance(md.parser.blockprocessors[name], markup._MarkedBlockProcessor), name


def test_html_block_gives_back_text_without_angle_brackets_or_ampersands():
    md = plain_markdown()
    rng = random.Random(3)
    alphabet = list("ab;#x19 \n>-!/?]['\"`=\t\r") + ["\n\n", "-->", "]]>", "?>", "é"]
    for _ in range(2000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 30)))
        md.reset()
        assert md.preprocessors["html_block"].run(text.split("\n")) == text.split("\n")


def test_vague_pieces_avoid_letters_that_ignorecase_matches_to_others():
    every_char = "".join(map(chr, range(0x110000)))
    for letter in set("".join(markup._VAGUE_PIECES)):
        for char in re.findall(letter, every_char, re.IGNORECASE):
            assert char.lower() == letter, (letter, hex(ord(char)))
    for phrase in (
        "studies show",
        "studies have shown",
        "research shows",
        "research has shown",
        "experts agree",
        "experts say",
    ):
        assert markup._VAGUE_RE.fullmatch(phrase)
        assert any(piece in phrase for piece in markup._VAGUE_PIECES), phrase


@pytest.mark.parametrize(
    "phrase", ["Studies show", "ſtudies ſhow", "STUDİES SHOW", "Reſearch shows"]
)
def test_vague_claims_with_unusual_case_are_still_reported(phrase):
    rendered = render(f"{phrase} that rest helps.", path=PATH, body_line=1)
    assert [d.code for d in rendered.diagnostics] == ["citation-lint"]
    assert f"'{phrase}'" in rendered.diagnostics[0].message


def test_link_inside_image_link_text_keeps_both_hrefs_and_lines():
    rendered = render(
        "Intro.\n\n[![a chart](img/c.png)](data.md) and ![x](y.png)", path=PATH, body_line=5
    )
    assert [(link.href, link.line, link.text) for link in rendered.links] == [
        ("img/c.png", 7, "a chart"),  # in source order of the hrefs
        ("data.md", 7, "![a chart](img/c.png)"),
        ("y.png", 7, "x"),
    ]


def test_heading_ids_from_plain_text_and_from_markup_agree():
    body = (
        "## Plain heading\n\n### Heading &amp; ampersand < angle \\# escaped\n\n"
        "## Tabs\tand   spaces\n\n## Café – 心の健康\n\n## Heading with `code` and *em*\n\n"
        "## Heading [@kim2019] cited[^n]\n\n## \n\n[^n]: Note."
    )
    rendered = render(body, path=PATH, body_line=1)
    assert [heading.id for heading in rendered.headings] == [
        "plain-heading",
        "heading-ampersand-angle-escaped",
        "tabs-and-spaces",
        "café-心の健康",
        "heading-with-code-and-em",
        "heading-cited",
        "section",
    ]


def test_formatter_is_built_once_per_options_and_highlights_the_same():
    options = {"cssclass": "highlight", "style": "default", "noclasses": False, "wrapcode": True}
    shared = markup._html_formatter(lang_str="language-python", **options)
    assert markup._html_formatter(**options) is shared
    assert markup._html_formatter(hl_lines=[1], **options) is not shared
    lexer = get_lexer_by_name("python")
    code = "x = 'a'\nprint(x)\n"
    assert highlight(code, lexer, shared) == highlight(
        code, lexer, get_formatter_by_name("html", **options)
    )


def test_the_installed_release_is_sped_up():
    """pyproject.toml admits only releases the speed-ups were compared on."""
    import markdown

    assert markdown.__version__.startswith(markup.SPED_UP_RELEASES)
    assert isinstance(markup._markdown().block_level_elements, frozenset)
