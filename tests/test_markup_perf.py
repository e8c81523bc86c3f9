"""Markup's shortcuts: Python-Markdown doing less work must give exactly the same output.

`markup.speedup` gives each body a parser without the processors and patterns whose markers the
body lacks, marks texts no pattern left can match as atomic, and tries block processors only on
blocks with their markers. These tests compare it with Python-Markdown as Haven configures it
(`extensions.Parser`), on inputs chosen to reach every processor and pattern, check the premises
the shortcuts rest on, and check that any other Python-Markdown release renders the plain way.
"""

from __future__ import annotations

import ast
import random
import re
import threading
import tomllib
from pathlib import Path

import markdown
import pytest
from pygments import highlight
from pygments.formatters import get_formatter_by_name
from pygments.lexers import get_lexer_by_name

from haven import markup
from haven.markup import extensions, lints, render, rendering, speedup
from haven.markup import highlight as markup_highlight

PATH = "content/articles/x.md"
PACKAGE = Path(markup.__file__).parent
PROJECT = PACKAGE.parent.parent

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


def convert(parser, text: str) -> str:
    return parser.convert(text, {})


def fast_parser(text: str):
    """The parser the speed-up picks for `text` (a new one: no state carried between tests)."""
    key = speedup.choose(text)
    return extensions.Parser() if key is None else speedup.parser(key)


def test_the_installed_release_is_sped_up():
    """The tests below compare the speed-up with plain Python-Markdown on this release."""
    assert markdown.__version__.startswith(speedup.SPED_UP_RELEASES)
    assert speedup.enabled()
    assert speedup.choose("Plain words.") is not None


@pytest.mark.parametrize("text", SNIPPETS)
def test_each_snippet_converts_as_python_markdown_does(text):
    assert convert(fast_parser(text), text) == convert(extensions.Parser(), text)


@pytest.mark.parametrize("text", SNIPPETS)
def test_each_snippet_converts_the_same_with_every_pattern_left_in(text):
    # The speed-up without anything removed: the block wrappers and the atomic texts alone.
    assert convert(speedup.parser(frozenset()), text) == convert(extensions.Parser(), text)


def test_documents_mixing_the_snippets_convert_as_python_markdown_does():
    plain, parsers = extensions.Parser(), {}
    rng = random.Random(7)
    for _ in range(300):
        parts = rng.choices(SNIPPETS, k=rng.randint(2, 8))
        text = rng.choice(["\n\n", "\n", "\n\n    "]).join(parts)
        key = speedup.choose(text)
        if key not in parsers:
            parsers[key] = speedup.parser(key)
        # Parsers are reused, as rendering.py reuses them: nothing may carry over.
        assert convert(parsers[key], text) == convert(plain, text), text


def test_random_markdown_converts_as_python_markdown_does():
    alphabet = list("ab \n#*_`[]()!@<>&\\\"'-.:|{}^=~;/\t\r") + [
        *("[@k]", "](x.md)", "## ", "- ", "> ", "    ", "```\n", "<b>", "</b>", "<div>"),
        *("</div>", "[^n]", "\n[^n]: ", "&amp;", "  \n", "\t\n", "1. ", "***", "\n===", "{: #x}"),
        *("[r]: /u", "[r]", "![i](p.png)", "<http://x.y>", "<a@b.c>", "\\[", "Term\n: def"),
        *("|a|b|\n|-|-|\n|1|2|", "\x02", "\u00a0"),
    ]
    plain = extensions.Parser()
    rng = random.Random(11)
    for _ in range(1500):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 60)))
        assert convert(fast_parser(text), text) == convert(plain, text), text


def test_a_body_is_given_the_patterns_its_markers_call_for():
    removed = speedup.choose("Words with a [link](x.md) and a [@cite].")
    assert ("inlinePatterns", "link") not in removed
    assert ("inlinePatterns", "haven-cite") not in removed
    assert ("inlinePatterns", "em_strong") in removed
    assert ("inlinePatterns", "linebreak") in removed
    assert ("treeprocessors", "attr_list") in removed
    # A tab becomes spaces before parsing: a tab before a line end is a line break.
    assert ("inlinePatterns", "linebreak") not in speedup.choose("Line\t\nnext")
    # Characters Python-Markdown deletes or changes first: the plain way.
    assert speedup.choose("a\r\nb") is None
    assert speedup.choose("[\x02^1]") is None


def test_the_tables_name_every_processor_and_pattern_of_the_configuration():
    md = extensions.Parser().md
    registries = {
        "preprocessors": md.preprocessors,
        "blockprocessors": md.parser.blockprocessors,
        "treeprocessors": md.treeprocessors,
        "inlinePatterns": md.inlinePatterns,
    }
    for kind, names in speedup.KNOWN.items():
        assert sorted(names) == sorted(_names(registries[kind], names)), kind
    for kind, name in speedup.REMOVABLE:
        assert name in registries[kind], (kind, name)
    assert set(speedup.BLOCK_MARKERS) <= set(speedup.KNOWN["blockprocessors"])


def _names(registry, candidates) -> list[str]:
    """The names in `registry`, given the names it may hold (a registry lists items only)."""
    found = [name for name in candidates if name in registry]
    assert len(found) == len(registry)
    return found


def _order(registry, candidates) -> list[str]:
    """The candidates `registry` holds, in its order."""
    present = [name for name in candidates if name in registry]
    return sorted(present, key=registry.get_index_for_name)


def test_the_sped_up_parser_keeps_every_processor_in_its_place():
    plain, fast = extensions.Parser().md, speedup.parser(frozenset()).md
    for kind in ("preprocessors", "inlinePatterns"):
        names = speedup.KNOWN[kind]
        assert _order(getattr(plain, kind), names) == _order(getattr(fast, kind), names)
    names = speedup.KNOWN["treeprocessors"]
    added = _order(fast.treeprocessors, (*names, "haven-plain-text"))
    assert _order(plain.treeprocessors, names) == [n for n in added if n != "haven-plain-text"]
    blocks = speedup.KNOWN["blockprocessors"]
    assert _order(plain.parser.blockprocessors, blocks) == _order(
        fast.parser.blockprocessors, blocks
    )
    tree = fast.treeprocessors
    assert tree.get_index_for_name("haven-plain-text") + 1 == tree.get_index_for_name("inline")


def test_a_parser_without_patterns_keeps_the_order_of_the_rest():
    removed = frozenset({("inlinePatterns", "escape"), ("inlinePatterns", "em_strong")})
    fast = speedup.parser(removed).md
    names = [n for n in speedup.KNOWN["inlinePatterns"] if n not in ("escape", "em_strong")]
    assert _order(fast.inlinePatterns, names) == _order(
        extensions.Parser().md.inlinePatterns, names
    )


def test_every_listed_block_processor_is_wrapped():
    blocks = speedup.parser(frozenset()).md.parser.blockprocessors
    for name in speedup.KNOWN["blockprocessors"]:
        wrapped = type(blocks[name]).__name__ == "_MarkedBlockProcessor"
        assert wrapped == (name in speedup.BLOCK_MARKERS), name


def test_another_release_renders_the_plain_way(monkeypatch):
    body = "## Heading\n\nText with *em*, a [link](x.md) and [@k].\n"
    sped_up = render(body, path=PATH, body_line=1)
    monkeypatch.setattr(markdown, "__version__", "3.12.0")
    assert not speedup.enabled.__wrapped__()
    monkeypatch.setattr(speedup, "enabled", speedup.enabled.__wrapped__)
    assert speedup.choose(body) is None
    assert render(body, path=PATH, body_line=1) == sped_up


def test_html_block_gives_back_text_without_angle_brackets_or_ampersands():
    md = extensions.Parser().md
    rng = random.Random(3)
    alphabet = list("ab;#x19 \n>-!/?]['\"`=\t\r") + ["\n\n", "-->", "]]>", "?>", "é"]
    for _ in range(2000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 30)))
        md.reset()
        assert md.preprocessors["html_block"].run(text.split("\n")) == text.split("\n")


def test_vague_pieces_avoid_letters_that_ignorecase_matches_to_others():
    every_char = "".join(map(chr, range(0x110000)))
    for letter in set("".join(lints.VAGUE_PIECES)):
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
        assert lints.VAGUE_RE.fullmatch(phrase)
        assert any(piece in phrase for piece in lints.VAGUE_PIECES), phrase


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
    shared = markup_highlight.html_formatter(lang_str="language-python", **options)
    assert markup_highlight.html_formatter(**options) is shared
    assert markup_highlight.html_formatter(hl_lines=[1], **options) is not shared
    lexer = get_lexer_by_name("python")
    code = "x = 'a'\nprint(x)\n"
    assert highlight(code, lexer, shared) == highlight(
        code, lexer, get_formatter_by_name("html", **options)
    )


# --- the package's contract --------------------------------------------------------------------


def test_no_private_name_of_a_library_is_used():
    """Attributes starting with `_` are read only from our own objects (`self`)."""
    for path in sorted(PACKAGE.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and node.attr.startswith("_"):
                dunder = node.attr.startswith("__") and node.attr.endswith("__")
                own = isinstance(node.value, ast.Name) and node.value.id == "self"
                assert dunder or own, f"{path.name}:{node.lineno}: .{node.attr}"
            if isinstance(node, ast.FunctionDef | ast.ClassDef):
                assert not re.match(r"_[A-Za-z]+__", node.name), f"{path.name}: {node.name}"


def test_no_dependency_has_an_upper_version_cap():
    project = tomllib.loads((PROJECT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    requirements = project["dependencies"] + [
        r for group in project["optional-dependencies"].values() for r in group
    ]
    for requirement in requirements:
        assert not any(cap in requirement for cap in ("<", "~=", "==", "===")), requirement


def test_renders_in_parallel_threads_share_no_state():
    bodies = [f"## Same\n\nCited [@k{i}] and [@k{i + 1}].\n\n## Same\n" for i in range(6)]
    expected = [render(body, path=PATH, body_line=1) for body in bodies]
    results: dict[int, list] = {}

    def work(n: int) -> None:
        results[n] = [render(body, path=PATH, body_line=1) for body in bodies * 20]

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for n in range(4):
        assert results[n] == expected * 20
    assert [c.number for c in expected[3].citations] == [1, 2]
    assert [h.id for h in expected[3].headings] == ["same", "same-1"]


def test_a_failed_render_leaves_the_next_one_as_a_fresh_parser_gives_it(monkeypatch):
    body = "Text [@a] and [@b].\n\n## Same\n\n## Same\n"
    before = render(body, path=PATH, body_line=1)

    def fail(self, root):
        raise ValueError("boom")

    monkeypatch.setattr(extensions._FaqTreeprocessor, "run", fail)
    with pytest.raises(markup.MarkupError, match="boom"):
        render(body, path=PATH, body_line=1)
    monkeypatch.undo()
    assert render(body, path=PATH, body_line=1) == before
    assert rendering.MAX_PARSERS >= 1
