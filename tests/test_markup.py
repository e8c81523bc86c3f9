"""Markup stage: Markdown body -> sanitised HTML, ids, links, citations, questions, lint."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from haven.markup import pygments_css, render
from haven.model import WARNING, Heading, Link

PATH = "content/articles/x.md"


def r(body: str, body_line: int = 1):
    return render(body, path=PATH, body_line=body_line)


def codes(rendered) -> list[str]:
    return [d.code for d in rendered.diagnostics]


class _Tags(HTMLParser):
    """Every start tag with its attributes, as a browser's tokenizer sees them."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def tags(html: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = _Tags()
    parser.feed(html)
    return parser.tags


# --- heading ids -------------------------------------------------------------------------------


def test_unicode_heading_ids_are_kept_and_nfc():
    out = r("## 心の健康\n\n## A\u0301nimo y energi\u0301a\n")
    assert '<h2 id="心の健康">心の健康</h2>' in out.html
    assert 'id="ánimo-y-energía"' in out.html
    assert [h.id for h in out.headings] == ["心の健康", "ánimo-y-energía"]


def test_duplicate_headings_get_numbered_suffixes():
    out = r("## Safety\n\n## Safety\n\n### Safety\n")
    assert [h.id for h in out.headings] == ["safety", "safety-1", "safety-2"]


def test_punctuation_and_emoji_headings_never_get_an_empty_id():
    out = r("## !!!\n\n## 🙂\n")
    ids = [h.id for h in out.headings]
    assert all(ids) and len(set(ids)) == 2
    assert 'id=""' not in out.html


def test_headings_list_levels_and_plain_text_without_h1():
    out = r("# Title\n\n## One *two*\n\n#### Deep\n")
    assert out.headings == (Heading(2, "one-two", "One two"), Heading(4, "deep", "Deep"))


def test_ids_do_not_leak_between_renders():
    assert r("## Same\n").headings[0].id == "same"
    assert r("## Same\n").headings[0].id == "same"


def test_render_is_pure():
    body = '## A "b"\n\nText [@k] and [x](y.md).\n\n## FAQ\n\n### Q?\n\nA.\n'
    assert r(body) == r(body)


# --- sanitising --------------------------------------------------------------------------------

DANGEROUS = """Intro.

<script>alert('body')</script>

<img src="ok.png" alt="a" onerror="alert(1)">

<p style="color: red">styled</p>

<iframe src="https://evil.example/"></iframe>

[one](JaVaScRiPt:alert(1)) [two](&#106;avascript:alert(2)) [three](data:text/html;base64,PHNjcmlwdD4=)

<a href="vbscript:msgbox(1)">four</a> <a href="java&#x09;script:alert(3)">five</a>
"""


def test_sanitiser_removes_scripts_handlers_styles_frames_and_bad_urls():
    out = r(DANGEROUS)
    html = out.html.lower()
    assert "<script" not in html and "alert('body')" not in html
    assert "<iframe" not in html
    assert "onerror" not in html and "style=" not in html
    for _tag, attrs in tags(out.html):
        for name in ("href", "src"):
            value = (attrs.get(name) or "").replace("\t", "").lower()
            assert not value.startswith(("javascript:", "data:", "vbscript:")), attrs
    assert '<img src="ok.png" alt="a">' in out.html
    assert "styled" in out.html


def test_sanitised_raw_html_is_reported_with_its_line():
    out = r(DANGEROUS, body_line=10)
    raw = {d.line: d.message for d in out.diagnostics if d.code == "raw-html"}
    assert raw[12] == "raw HTML was sanitised: <script> removed with its content"
    assert "'onerror' attribute removed from <img>" in raw[14]
    assert "'style' attribute removed from <p>" in raw[16]
    assert "<iframe> removed" in raw[18]
    for d in out.diagnostics:
        assert d.severity == WARNING and d.path == PATH
    unsafe = [(d.line, d.message) for d in out.diagnostics if d.code == "unsafe-url"]
    assert (20, "link with javascript: URL removed") in unsafe
    assert (20, "link with data: URL removed") in unsafe
    assert (22, "link with vbscript: URL removed") in unsafe
    assert sum(1 for line, _ in unsafe if line == 20) == 3
    assert sum(1 for line, _ in unsafe if line == 22) == 2
    formatted = out.diagnostics[0].format()
    assert formatted.startswith(f"{PATH}:12: warning: raw HTML was sanitised")


def test_markdown_output_is_not_reported_and_survives_sanitising():
    body = (
        "## Heading\n\nText[^1] and *em*.\n\n| a | b |\n|:--|--:|\n| 1 | 2 |\n\n"
        'Term\n:   Definition\n\n```python\nx = 1\n```\n\n![alt](p.png "t")\n\n[^1]: Note.\n'
    )
    out = r(body)
    assert out.diagnostics == ()
    assert '<h2 id="heading">' in out.html
    assert '<sup id="fnref:1"><a class="footnote-ref" href="#fn:1">1</a></sup>' in out.html
    assert '<li id="fn:1">' in out.html and 'class="footnote-backref"' in out.html
    assert '<div class="footnote">' in out.html
    assert '<th align="left">' in out.html and '<td align="right">' in out.html
    assert "<dl>" in out.html and "<dt>Term</dt>" in out.html
    assert '<img alt="alt" src="p.png" title="t">' in out.html


def test_allowed_raw_html_passes_without_warning():
    body = '<details><summary>More</summary>\n\n<abbr title="post-traumatic">PTSD</abbr>\n\n</details>\n'
    out = r(body)
    assert "raw-html" not in codes(out)
    assert '<abbr title="post-traumatic">PTSD</abbr>' in out.html
    assert "<details>" in out.html and "<summary>More</summary>" in out.html


def test_html_inside_code_is_shown_not_warned():
    out = r("Use `<script>` rarely.\n\n```html\n<script>x()</script>\n```\n")
    assert codes(out) == []
    assert "<code>&lt;script&gt;</code>" in out.html


# --- code blocks and typography ------------------------------------------------------------------


def test_code_blocks_get_pygments_classes_and_no_inline_style():
    out = r('```python\ndef f(x):\n    return "s"  # c\n```\n')
    assert '<div class="highlight"><pre>' in out.html
    assert '<span class="k">def</span>' in out.html
    assert '<span class="c1"># c</span>' in out.html
    assert "style=" not in out.html


def test_unknown_language_is_not_guessed():
    out = r("```\nSELECT 1;\n```\n")
    assert '<div class="highlight">' in out.html
    assert '<span class="k">' not in out.html


def test_pygments_css_has_light_and_dark_rules_for_highlight():
    css = pygments_css()
    light, _, dark = css.partition("@media (prefers-color-scheme: dark)")
    assert ".highlight .k {" in light and ".highlight .k {" in dark
    assert ".highlight {" in dark
    assert "\npre {" not in css and not css.startswith("pre")


def test_smart_typography_in_text_only():
    body = (
        'She said "yes" -- it\'s fine --- really... '
        '`"code" -- x...` [l](a.md "it\'s \'x\' -- y")\n\n'
        "```\nprint(\"a\" -- 'b'...)\n```\n"
    )
    out = r(body)
    assert "She said “yes” – it’s fine — really…" in out.html
    assert '<code>"code" -- x...</code>' in out.html
    assert "print(\"a\" -- 'b'...)" in out.html
    assert "title=\"it's 'x' -- y\"" in out.html


def test_quotes_around_inline_markup():
    out = r("\"*Safe*\" and '**kind**' words from the '90s.\n")
    assert "“<em>Safe</em>” and ‘<strong>kind</strong>’ words from the ’90s." in out.html


def test_words_and_text_exclude_code_blocks():
    out = r("One two three.\n\n```\nnot counted here\n```\n\n- four\n- five\n")
    assert out.words == 5
    assert out.text == "One two three.\nfour\nfive"


# --- links ---------------------------------------------------------------------------------------


def test_links_carry_source_file_lines():
    body = (
        "First [a](one.md) and ![pic](img/p.png).\n"  # body line 0
        "\n"
        "See <https://example.org/x> or <help@example.org>.\n"  # 2
        '<a href="raw.md#s">raw</a> <img src="raw.png" alt="">\n'  # 3
        "\n"
        "```\n[in](fenced.md)\n```\n"  # 5-7
        "\n"
        "    [in](indented.md)\n"  # 9
        "\n"
        "Inline `[x](code.md)` and [ref][r] and [b](two.md#frag).\n"  # 11
        "\n"
        "[r]: three.md\n"  # 13
    )
    out = r(body, body_line=7)
    assert out.links == (
        Link("one.md", 7, "a"),
        Link("img/p.png", 7, "pic"),
        Link("https://example.org/x", 9, "https://example.org/x"),
        Link("mailto:help@example.org", 9, "help@example.org"),
        Link("raw.md#s", 10, ""),
        Link("raw.png", 10, ""),
        Link("two.md#frag", 18, "b"),
        Link("three.md", 20, "r"),
    )


def test_image_inside_link_and_list_continuation_are_found():
    body = "- item\n\n    [cont](cont.md)\n\n[![alt](pic.png)](big.png)\n"
    hrefs = [(link.href, link.line) for link in r(body).links]
    assert hrefs == [("cont.md", 3), ("pic.png", 5), ("big.png", 5)]


# --- citations -----------------------------------------------------------------------------------


def test_citations_numbered_by_first_use_and_reused():
    body = (
        "Trust grows [@felitti1998].\n\nAlso [@samhsa2014; @felitti1998].\n\nAgain [@samhsa2014].\n"
    )
    out = r(body, body_line=4)
    assert (
        '<sup class="cite"><a href="#ref-felitti1998" id="cite-felitti1998-1">1</a></sup>'
        in out.html
    )
    assert (
        '<sup class="cite"><a href="#ref-samhsa2014" id="cite-samhsa2014-1">2</a>, '
        '<a href="#ref-felitti1998" id="cite-felitti1998-2">1</a></sup>' in out.html
    )
    assert '<a href="#ref-samhsa2014" id="cite-samhsa2014-2">2</a>' in out.html
    assert [(c.key, c.line, c.number) for c in out.citations] == [
        ("felitti1998", 4, 1),
        ("samhsa2014", 6, 2),
    ]
    assert "[@" not in out.html


def test_citation_keys_with_punctuation_and_not_in_code():
    out = r("See [@who:2020.v2_a-b].\n\n`[@code]` and \\[@escaped]\n")
    assert [c.key for c in out.citations] == ["who:2020.v2_a-b"]
    assert 'href="#ref-who:2020.v2_a-b"' in out.html
    assert "<code>[@code]</code>" in out.html


# --- citation lint -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, found",
    [
        ("Trust is fragile (Kim et al.\n", "(Kim et al."),
        ("Trust is fragile (Kim et al., 2019).\n", "(Kim et al., 2019)"),
        ("Trust is fragile (Smith, 2020).\n", "(Smith, 2020)"),
        ("Trust is fragile (Smith and Jones 2020).\n", "(Smith and Jones 2020)"),
        ("Kim et al. (2019) found it.\n", "Kim et al. (2019)"),
    ],
)
def test_handwritten_citations_warn(text, found):
    out = r("Intro.\n\n" + text, body_line=3)
    lint = [d for d in out.diagnostics if d.code == "citation-lint"]
    assert len(lint) == 1
    assert lint[0].line == 5 and lint[0].severity == WARNING and lint[0].path == PATH
    assert f"'{found}'" in lint[0].message


@pytest.mark.parametrize(
    "phrase", ["Studies show", "Research has shown", "research shows", "Experts agree"]
)
def test_vague_claims_without_citation_warn(phrase):
    out = r(f"Intro.\n\n{phrase} that trust can return.\n", body_line=2)
    lint = [d for d in out.diagnostics if d.code == "citation-lint"]
    assert [(d.line, d.col) for d in lint] == [(4, 1)]
    assert phrase in lint[0].message


@pytest.mark.parametrize(
    "body",
    [
        "Studies show that trust can return [@felitti1998].\n",
        "Research shows this.\nIt is cited on the next line [@samhsa2014].\n",
        "The (Safety) plan (2020 edition) helps.\n",
        "Use `studies show (Smith, 2020)` as an example.\n",
        "```\nResearch shows (Kim et al.\n```\n",
        "We talk (often) with people, 2020 was hard.\n",
    ],
)
def test_citation_lint_quiet_cases(body):
    assert "citation-lint" not in codes(r(body))


def test_vague_claim_cited_in_another_paragraph_still_warns():
    out = r("Studies show it.\n\nLater [@felitti1998].\n")
    assert codes(out) == ["citation-lint"]


# --- questions and answers -----------------------------------------------------------------------

FAQ = """Intro.

## Common questions

Some words first.

### Is it my fault?

No. It is **never** your fault.

### Who can I talk to?

A helpline [@samhsa2014].

- one
- two

### Empty one?

## After

Not an answer.
"""


def test_question_section_structure():
    out = r(FAQ)
    html = out.html
    assert '<section aria-labelledby="common-questions" class="faq">' in html
    assert '<h2 id="common-questions">Common questions</h2>' in html
    section = html[html.index("<section") : html.index("</section>")]
    assert "<p>Some words first.</p>" in section
    assert re.search(
        r'<h3 id="is-it-my-fault">Is it my fault\?</h3>\s*<div class="faq-answer">\s*'
        r"<p>No\. It is <strong>never</strong> your fault\.</p>\s*</div>",
        section,
    )
    assert "Not an answer" not in section
    assert html.index("</section>") < html.index('<h2 id="after">')


def test_questions_are_collected_for_json_ld():
    out = r(FAQ)
    assert [q.id for q in out.questions] == ["is-it-my-fault", "who-can-i-talk-to", "empty-one"]
    first, second, empty = out.questions
    assert first.question == "Is it my fault?"
    assert first.answer_html == "<p>No. It is <strong>never</strong> your fault.</p>"
    assert first.answer_text == "No. It is never your fault."
    assert "<li>one</li>" in second.answer_html and 'class="cite"' in second.answer_html
    assert second.answer_text == "A helpline.\none\ntwo"
    assert empty.answer_html == "" and empty.answer_text == ""


def test_empty_answer_warns_with_line():
    out = r(FAQ, body_line=20)
    empty = [d for d in out.diagnostics if d.code == "empty-answer"]
    assert len(empty) == 1
    assert empty[0].line == 20 + 17 and "Empty one?" in empty[0].message


@pytest.mark.parametrize("title", ["FAQ", "Questions", "questions and answers", "Questions?"])
def test_question_section_titles(title):
    out = r(f"## {title}\n\n### Q\n\nA.\n")
    assert 'class="faq"' in out.html
    assert out.questions[0].answer_text == "A."


def test_no_question_section_for_other_headings():
    out = r("## About questions\n\n### Q\n\nA.\n")
    assert "faq" not in out.html and out.questions == ()


def test_footnotes_stay_outside_the_question_section():
    out = r("## FAQ\n\n### Q\n\nA[^1].\n\n[^1]: Note.\n")
    assert out.html.index("</section>") < out.html.index('<div class="footnote">')
    assert "Note." not in out.questions[0].answer_text
