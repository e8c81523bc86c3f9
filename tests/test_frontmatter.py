"""Front matter: splitting, YAML safety, and the declared fields (haven.sources.frontmatter, haven.sources.schema).

One test per bad input, each asserting the file:line:col, the key and the message an editor sees.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sitekit import given

from haven.model import ERROR, WARNING
from haven.sources.frontmatter import INVALID, split
from haven.sources.schema import FIELDS, PAGE_FIELDS, fields_reference, validate

PATH = "content/articles/x.md"
TZ = ZoneInfo("Europe/London")
NOTES = {"sexual-violence", "suicide", "violence"}
TITLE = "title: Trust after trauma"
DATE = "date: 2024-03-15"
SUMMARY = "summary: What trust can feel like."
TAGS = "tags: [selfcare]"
BASE = (TITLE, DATE, SUMMARY, TAGS)


def doc(*lines: str, body: str = "Body text.\n") -> bytes:
    """A source file whose front matter is `lines`: the first of them is on line 2."""
    return ("---\n" + "".join(line + "\n" for line in lines) + "---\n" + body).encode()


def load(raw: bytes, kind: str = "article"):
    """(front matter, meta, formatted diagnostics, diagnostics) as the content stage sees them."""
    fm, diags = split(raw, PATH)
    meta = None
    if fm is not None:
        typed, more = validate(fm, kind, PATH, timezone=TZ, content_notes=NOTES)
        meta = given(typed)
        diags = diags + more
    return fm, meta, [d.format() for d in diags], diags


def only(raw: bytes, kind: str = "article"):
    """The single diagnostic that `raw` produces."""
    _, _, _, diags = load(raw, kind)
    assert len(diags) == 1, [d.format() for d in diags]
    return diags[0]


# --- splitting --------------------------------------------------------------------------------


def test_valid_article_gives_data_lines_and_body():
    fm, meta, texts, _ = load(doc(*BASE, body="# Heading\n\nText.\n"))
    assert texts == []
    assert fm.data == {
        "title": "Trust after trauma",
        "date": date(2024, 3, 15),
        "summary": "What trust can feel like.",
        "tags": ["selfcare"],
    }
    assert fm.key_lines == {"title": 2, "date": 3, "summary": 4, "tags": 5}
    assert fm.key_cols == {"title": 1, "date": 1, "summary": 1, "tags": 1}
    assert fm.body == "# Heading\n\nText.\n"
    assert fm.body_line == 7
    assert fm.lines[fm.body_line - 1] == "# Heading"
    assert meta["date"] == datetime(2024, 3, 15, tzinfo=TZ)


def test_bom_is_stripped_silently():
    plain = doc(*BASE)
    fm, _, texts, _ = load(b"\xef\xbb\xbf" + plain)
    ref, _, _, _ = load(plain)
    assert texts == []
    assert (fm.data, fm.body, fm.body_line, fm.key_lines) == (
        ref.data,
        ref.body,
        ref.body_line,
        ref.key_lines,
    )
    assert "\ufeff" not in fm.body and "\ufeff" not in fm.lines[0]


@pytest.mark.parametrize("newline", [b"\r\n", b"\r"])
def test_crlf_and_lone_cr_read_like_lf(newline):
    plain = doc(*BASE, body="Line one.\n\nLine two.\n")
    fm, _, texts, _ = load(plain.replace(b"\n", newline))
    ref, _, _, _ = load(plain)
    assert texts == []
    assert fm.body == "Line one.\n\nLine two.\n"
    assert (fm.data, fm.body_line, fm.key_lines, fm.lines) == (
        ref.data,
        ref.body_line,
        ref.key_lines,
        ref.lines,
    )


def test_invalid_utf8_names_byte_and_line():
    d = only(b"---\ntitle: x\n---\n\xff caf\xe9")
    assert d.format() == (
        "content/articles/x.md:4:1: error: not valid UTF-8 at byte 17 (line 4) "
        "(re-save the file as UTF-8)"
    )
    assert d.code == "not-utf8"


def test_truncated_multibyte_character_in_front_matter():
    d = only(b"---\ntitle: caf\xc3\n---\n")
    assert (d.line, d.col, d.code) == (2, 11, "not-utf8")
    assert "at byte 14" in d.message


def test_nul_byte_is_refused_as_binary():
    d = only(b"---\ntitle: x\x00y\n---\n")
    assert d.format() == (
        "content/articles/x.md:2:9: error: contains a NUL byte at byte 12 (line 2); "
        "is it a binary file? (only UTF-8 text files can be .md sources)"
    )


def test_missing_front_matter():
    d = only(b"# Trust after trauma\n\nText.\n")
    assert d.format() == (
        "content/articles/x.md:1: error: front matter required: start the file with --- "
        "(begin with a line of ---, then title:, date:, summary: and tags:, then ---)"
    )
    assert d.source_line == "# Trust after trauma"


def test_toml_front_matter_gets_a_hint():
    d = only(b"+++\ntitle = 'x'\n+++\n")
    assert d.code == "no-front-matter"
    assert d.hint == "this is TOML front matter (+++); Haven reads YAML between lines of ---"


def test_keys_without_opening_fence_get_a_hint():
    d = only(b"title: x\ndate: 2024-01-01\n---\nBody\n")
    assert d.hint == "add a line with --- above the first key and another after the last key"


def test_blank_lines_before_the_fence_get_a_hint():
    d = only(b"\n\n---\ntitle: x\n---\n")
    assert (d.line, d.hint) == (1, "remove the blank lines above the --- on line 3")


def test_unclosed_front_matter_names_line_1():
    d = only(b"---\ntitle: x\ndate: 2024-01-01\n")
    assert d.format() == (
        "content/articles/x.md:1:1: error: the front matter that opens here is never closed "
        "(add a line with --- after the last key)"
    )


def test_dots_close_front_matter_too():
    fm, _, texts, _ = load(b"---\n" + "\n".join(BASE).encode() + b"\n...\nBody\n")
    assert texts == [] and fm.body == "Body\n" and fm.body_line == 7


def test_file_of_only_front_matter_has_empty_body():
    fm, meta, texts, _ = load(("---\n" + "\n".join(BASE) + "\n---").encode())
    assert texts == []
    assert (fm.body, fm.body_line) == ("", 7)
    assert meta["title"] == "Trust after trauma"


def test_empty_front_matter_reports_every_required_key():
    _, meta, texts, _ = load(b"---\n---\nBody\n")
    assert meta == {}
    assert texts == [
        "content/articles/x.md:1: error: 'title': required key is missing "
        '(add title: "Trust after trauma")',
        "content/articles/x.md:1: error: 'date': required key is missing (add date: 2026-11-26)",
        "content/articles/x.md:1: error: 'summary': required key is missing "
        '(add summary: "What trust can feel like after trauma, and small ways to rebuild it.")',
        "content/articles/x.md:1: error: 'tags': required key is missing "
        "(add tags: [selfcare, boundaries])",
    ]


# --- YAML syntax --------------------------------------------------------------------------------


def test_unquoted_colon_in_value_points_at_the_colon_in_the_file():
    d = only(doc(TITLE, DATE, "summary: Note: this matters", TAGS))
    assert d.location() == "content/articles/x.md:4:14"
    assert d.message.startswith("invalid YAML front matter: mapping values are not allowed")
    assert d.hint == 'quote values that contain ": "'
    assert (d.severity, d.code, d.source_line) == (
        ERROR,
        "yaml-syntax",
        "summary: Note: this matters",
    )


def test_tab_indentation():
    d = only(doc(TITLE, "\tdate: 2024-03-15", SUMMARY, TAGS))
    assert (d.line, d.col, d.hint) == (3, 1, "indent with spaces, not tabs")
    assert d.message.startswith("invalid YAML front matter:")


def test_indented_key_gets_an_indentation_hint():
    d = only(doc(TITLE, "  date: 2024-03-15", SUMMARY, TAGS))
    assert (d.line, d.col) == (3, 7)
    assert d.hint == "check the indentation: top-level keys start at the left edge"


def test_unclosed_bracket_points_at_the_bracket():
    d = only(doc(TITLE, DATE, "tags: [selfcare, boundaries", SUMMARY))
    assert d.location() == "content/articles/x.md:4:7"
    assert d.hint == "close the list opened here with ']', or quote the value if '[' is part of it"


def test_unclosed_quote_points_at_the_quote():
    d = only(doc('title: "Trust after trauma', DATE, SUMMARY, TAGS))
    assert (d.line, d.col, d.hint) == (2, 8, "close the quotation mark opened here")


def test_value_starting_with_at_sign():
    d = only(doc("title: @handle", DATE, SUMMARY, TAGS))
    assert (d.line, d.col) == (2, 8)
    assert d.hint == "quote values that start with '@'"


def test_backslash_in_double_quotes():
    d = only(doc(r'title: "C:\path"', DATE, SUMMARY, TAGS))
    assert d.line == 2
    assert d.hint == "write \\\\ for a backslash inside double quotes, or use single quotes"


def test_control_character_is_named():
    d = only(doc("title: a\x0bb", DATE, SUMMARY, TAGS))
    assert d.format() == (
        "content/articles/x.md:2:9: error: contains the invisible control character U+000B "
        "(delete it, or retype the text around it)"
    )


@pytest.mark.parametrize(
    "lines, read_as",
    [(("- a", "- b"), "a list"), (("just some text",), "plain text")],
)
def test_front_matter_that_is_not_a_mapping(lines, read_as):
    d = only(doc(*lines))
    assert d.format() == (
        "content/articles/x.md:2:1: error: front matter must be a mapping of key: value lines "
        f"(it was read as {read_as}; write one 'key: value' per line)"
    )


def test_duplicate_key_warns_at_the_second_and_keeps_it():
    fm, meta, texts, _ = load(doc(TITLE, DATE, SUMMARY, TAGS, "title: Second title"))
    assert texts == [
        "content/articles/x.md:6:1: warning: 'title': 'title' is given twice (also on line 2); "
        "this value is used (remove one of them)"
    ]
    assert meta["title"] == "Second title"
    assert fm.key_lines["title"] == 6


def test_key_that_yaml_reads_as_a_boolean():
    _, _, texts, _ = load(doc(*BASE, "yes: 1"))
    assert texts == [
        "content/articles/x.md:6:1: error: the key 'yes' is read by YAML as true/false, not a "
        "name (use one of the field names from `python build.py fields`)"
    ]


# --- YAML safety -------------------------------------------------------------------------------


def alias_bomb(levels: int) -> bytes:
    lines = [
        TITLE,
        DATE,
        SUMMARY,
        'a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]',
    ]
    for n in range(1, levels + 1):
        lines.append(f"a{n}: &a{n} [" + ", ".join([f"*a{n - 1}"] * 9) + "]")
    lines.append(f"tags: *a{levels}")
    return doc(*lines)


def test_alias_bomb_on_tags_is_refused_before_anything_is_built():
    fm, meta, _, diags = load(alias_bomb(8))
    assert fm is None and meta is None
    assert [d.format() for d in diags] == [
        "content/articles/x.md:5:5: error: 'a0': YAML anchors (&a0) are not allowed in front "
        "matter (remove '&a0' and write values out in full)"
    ]


def test_alias_is_refused():
    d = only(doc(TITLE, DATE, SUMMARY, "tags: *common"))
    assert d.format() == (
        "content/articles/x.md:5:7: error: 'tags': YAML aliases (*common) are not allowed in "
        "front matter (write the value out in full)"
    )
    assert d.code == "yaml-alias"


def test_python_tag_is_refused_and_never_run(tmp_path):
    marker = tmp_path / "pwned"
    d = only(doc(f'title: !!python/object/apply:os.system ["touch {marker}"]', DATE, SUMMARY, TAGS))
    assert (d.line, d.col, d.key, d.code) == (2, 8, "title", "yaml-tag")
    assert d.message == (
        "the YAML tag '!!python/object/apply:os.system' is not allowed in front matter"
    )
    assert not marker.exists()


def test_unknown_local_tag_is_refused():
    d = only(doc("title: !ENV HOME", DATE, SUMMARY, TAGS))
    assert (d.line, d.code, d.message) == (
        2,
        "yaml-tag",
        "the YAML tag '!ENV' is not allowed in front matter",
    )


def test_standard_str_tag_is_allowed():
    _, meta, texts, _ = load(doc("title: !!str yes", DATE, SUMMARY, TAGS))
    assert texts == [] and meta["title"] == "yes"


def test_deep_nesting_is_refused():
    d = only(doc(TITLE, DATE, SUMMARY, "tags: " + "[" * 30000 + "]" * 30000))
    assert (d.line, d.key, d.code) == (5, "tags", "too-deep")
    assert len(d.source_line) < 400  # a huge line is shown cut short


def test_front_matter_over_64_kib_is_refused():
    d = only(doc(*BASE, "author: " + "a" * 70000))
    assert (d.line, d.code) == (1, "front-matter-too-large")
    assert d.message == "front matter is longer than 64 KiB"


# --- impossible dates and '#' comments ----------------------------------------------------------


def test_impossible_date_is_reported_at_its_value_and_other_fields_still_checked():
    fm, meta, texts, _ = load(doc(TITLE, "date: 2026-02-30", SUMMARY, TAGS, "tagz: [x]"))
    assert fm.data["date"] is INVALID
    assert texts == [
        "content/articles/x.md:3:7: error: 'date': 2026-02-30 is not a valid date "
        "(February 2026 has 28 days)",
        "content/articles/x.md:6:1: error: 'tagz': unknown key (did you mean 'tags'?)",
    ]
    assert "date" not in meta


def test_month_13():
    d = only(doc(TITLE, "date: 2026-13-01", SUMMARY, TAGS))
    assert d.format() == (
        "content/articles/x.md:3:7: error: 'date': 2026-13-01 is not a valid date "
        "(there is no month 13: months run from 01 to 12)"
    )


@pytest.mark.parametrize(
    "value, message, code",
    [
        ("0b_", "0b_ is not a valid number", "bad-number"),
        ("!!int", " is not a valid number", "bad-number"),
        ("!!bool maybe", "maybe is not a valid true/false value", "bad-value"),
        ("!!timestamp soon", "soon is not a valid date", "bad-date"),
        ("2024-01-01 25:00:00", "2024-01-01 25:00:00 is not a valid date", "bad-date"),
    ],
)
def test_values_pyyaml_cannot_build_are_errors_not_tracebacks(value, message, code):
    d = only(doc(*BASE, f"author: {value}"))
    assert (d.line, d.col, d.key, d.code, d.message) == (6, 9, "author", code, message)


def test_impossible_date_inside_a_list_names_the_key():
    d = only(doc(*BASE, "content_notes: [violence, 2024-02-31]"))
    assert (d.line, d.col, d.key, d.code) == (6, 27, "content_notes", "bad-date")


def test_value_cut_short_by_a_comment_warns():
    _, meta, texts, _ = load(doc("title: Update #2", DATE, SUMMARY, TAGS))
    assert texts == [
        "content/articles/x.md:2:15: warning: 'title': value after '#' was treated as a "
        'comment; quote it (write title: "Update #2")'
    ]
    assert meta["title"] == "Update"


def test_real_comment_after_a_boolean_does_not_warn():
    _, meta, texts, _ = load(doc(*BASE, "draft: true  # until the review"))
    assert texts == [] and meta["draft"] is True


def test_bare_hashtag_in_tags_is_a_comment():
    _, meta, texts, _ = load(doc(TITLE, DATE, SUMMARY, "tags: #selfcare"))
    assert sorted(texts) == [
        "content/articles/x.md:5:6: error: 'tags': at least one topic is needed "
        '(write tags: ["#selfcare"])',
        "content/articles/x.md:5:7: warning: 'tags': tags is empty because '#selfcare' is a "
        'YAML comment (write tags: ["#selfcare"])',
    ]
    assert "tags" not in meta


def test_several_bare_hashtags_get_one_fix():
    _, _, _, diags = load(doc(TITLE, DATE, SUMMARY, "tags: #selfcare #sleep"))
    warning = next(d for d in diags if d.severity == WARNING)
    assert warning.hint == 'write tags: ["#selfcare", "#sleep"]'


def test_hashtag_list_item_is_a_comment():
    _, _, texts, _ = load(doc(TITLE, DATE, SUMMARY, "tags:", "  - #selfcare", "  - sleep"))
    assert sorted(texts) == [
        "content/articles/x.md:6:4: error: 'tags': tag 1 is empty "
        "(remove the empty item, or quote one that starts with '#')",
        "content/articles/x.md:6:5: warning: 'tags': this list item is empty because "
        "'#selfcare' is a YAML comment (write - \"#selfcare\")",
    ]


# --- fields: title and text --------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, what, shown",
    [("yes", "a boolean", "true"), ("2024", "a number", "2024"), ("1.10", "a number", "1.1")],
)
def test_title_that_yaml_reads_as_another_type_is_kept_as_written(value, what, shown):
    _, meta, texts, _ = load(doc(f"title: {value}", DATE, SUMMARY, TAGS))
    assert meta["title"] == value
    assert texts == [
        f"content/articles/x.md:2:8: warning: 'title': title is {what} (YAML read '{value}' as "
        f'{shown}); quote it (write title: "{value}")'
    ]


@pytest.mark.parametrize("value", ["", "''", '"   "'])
def test_empty_title(value):
    d = only(doc(f"title: {value}".rstrip(), DATE, SUMMARY, TAGS))
    assert (d.line, d.key, d.code, d.message) == (2, "title", "empty", "title is empty")


def test_title_as_a_list():
    d = only(doc("title: [Draft]", DATE, SUMMARY, TAGS))
    assert (d.line, d.col, d.key) == (2, 8, "title")
    assert d.message == "title must be text, not a list"


def test_long_summary_warns():
    _, meta, texts, _ = load(doc(TITLE, DATE, "summary: " + "word " * 70, TAGS))
    assert texts == [
        "content/articles/x.md:4:10: warning: 'summary': summary is 349 characters long; "
        "listings and link previews show about 300 (shorten it to 300 characters or fewer)"
    ]
    assert len(meta["summary"]) == 349


def test_empty_optional_text_is_dropped_with_a_warning():
    _, meta, texts, _ = load(doc(*BASE, "author:"))
    assert "author" not in meta
    assert texts == [
        "content/articles/x.md:6:8: warning: 'author': author is empty and is ignored "
        "(fill it in, e.g. author: Sam Rivera, or remove the line)"
    ]


# --- fields: dates ------------------------------------------------------------------------------


def test_date_forms_become_aware_datetimes_in_the_site_timezone():
    _, meta, texts, _ = load(
        doc(TITLE, "date: 2024-07-01", SUMMARY, TAGS, "updated: 2024-07-02 10:30")
    )
    assert texts == []
    assert meta["date"] == datetime(2024, 7, 1, tzinfo=TZ)
    assert meta["date"].utcoffset() == timedelta(hours=1)  # BST
    assert meta["updated"] == datetime(2024, 7, 2, 10, 30, tzinfo=TZ)


def test_date_with_offset_keeps_its_instant():
    _, meta, texts, _ = load(doc(TITLE, "date: 2024-01-15T10:00:00+05:00", SUMMARY, TAGS))
    assert texts == []
    assert meta["date"] == datetime(2024, 1, 15, 5, 0, tzinfo=UTC)
    assert meta["date"].tzinfo is TZ


def test_quoted_iso_date_is_accepted():
    _, meta, texts, _ = load(doc(TITLE, 'date: "2024-01-15T09:00Z"', SUMMARY, TAGS))
    assert texts == [] and meta["date"] == datetime(2024, 1, 15, 9, tzinfo=UTC)


@pytest.mark.parametrize("value", ["15/01/2024", "tuesday", "2024-1-5x"])
def test_date_in_another_format(value):
    d = only(doc(TITLE, f"date: {value}", SUMMARY, TAGS))
    assert d.format() == (
        f"content/articles/x.md:3:7: error: 'date': '{value}' is not a date (write it as "
        "YYYY-MM-DD, or YYYY-MM-DDTHH:MM:SS+01:00 with a time and offset)"
    )


def test_quoted_impossible_date():
    d = only(doc(TITLE, 'date: "2024-02-30"', SUMMARY, TAGS))
    assert d.format() == (
        "content/articles/x.md:3:7: error: 'date': 2024-02-30 is not a valid date "
        "(February 2024 has 29 days)"
    )


def test_year_alone_is_not_a_date():
    d = only(doc(TITLE, "date: 2024", SUMMARY, TAGS))
    assert (d.line, d.key, d.code) == (3, "date", "bad-date")
    assert d.message == "'2024' is not a date (a number)"


def test_updated_before_date_warns():
    _, meta, texts, _ = load(doc(*BASE, "updated: 2024-01-01"))
    assert "updated" in meta
    assert texts == [
        "content/articles/x.md:6:10: warning: 'updated': updated (2024-01-01) is before date "
        "(2024-03-15) (check both dates; updated is when the article last changed)"
    ]


def test_review_dates_are_plain_dates_and_must_be_in_order():
    _, meta, texts, _ = load(doc(*BASE, "last_reviewed: 2024-06-01", "next_review: 2025-06-01"))
    assert texts == []
    assert meta["last_reviewed"] == date(2024, 6, 1) and meta["next_review"] == date(2025, 6, 1)
    assert not isinstance(meta["last_reviewed"], datetime)

    _, meta, texts, _ = load(doc(*BASE, "last_reviewed: 2024-06-01", "next_review: 2024-05-01"))
    assert "next_review" not in meta
    assert texts == [
        "content/articles/x.md:7:14: error: 'next_review': next_review (2024-05-01) must be after "
        "last_reviewed (2024-06-01) (set next_review to the date of the next planned review)"
    ]


# --- fields: tags, content notes ----------------------------------------------------------------


def test_tags_as_a_string_become_one_tag():
    _, meta, texts, _ = load(doc(TITLE, DATE, SUMMARY, "tags: sleep"))
    assert meta["tags"] == ["sleep"]
    assert texts == [
        "content/articles/x.md:5:7: warning: 'tags': tags should be a list (write tags: [sleep])"
    ]


def test_tags_as_a_comma_string_are_split():
    _, meta, texts, _ = load(doc(TITLE, DATE, SUMMARY, "tags: Self-Care, mental health ,"))
    assert meta["tags"] == ["Self-Care", "mental health"]
    assert texts == [
        "content/articles/x.md:5:7: warning: 'tags': tags should be a list; 'Self-Care, mental "
        "health ,' was split at the commas (write tags: [Self-Care, mental health])"
    ]


def test_tags_keep_their_spelling_stripped():
    _, meta, texts, _ = load(doc(TITLE, DATE, SUMMARY, 'tags: ["#SelfCare ", " Ánimo", 2024]'))
    assert texts == [] and meta["tags"] == ["#SelfCare", "Ánimo", "2024"]


@pytest.mark.parametrize("value", ["tags: []", "tags:"])
def test_no_tags(value):
    d = only(doc(TITLE, DATE, SUMMARY, value))
    assert (d.line, d.key, d.message) == (5, "tags", "at least one topic is needed")


def test_every_bad_tag_item_is_named():
    _, meta, texts, _ = load(doc(TITLE, DATE, SUMMARY, "tags: [a, [b], {c: d}, null]"))
    assert "tags" not in meta
    assert texts == [
        "content/articles/x.md:5:11: error: 'tags': tag 2 is a list; each must be a single word "
        "or phrase (write tags: [selfcare, boundaries])",
        "content/articles/x.md:5:16: error: 'tags': tag 3 is a mapping; each must be a single "
        "word or phrase (write tags: [selfcare, boundaries])",
        "content/articles/x.md:5:24: error: 'tags': tag 4 is empty (remove the empty item, or "
        "quote one that starts with '#')",
    ]


def test_tags_as_a_mapping():
    d = only(doc(TITLE, DATE, SUMMARY, "tags: {a: b}"))
    assert (d.line, d.col, d.message) == (5, 7, "tags must be a list, not a mapping")


def test_unknown_content_note_suggests_the_nearest():
    _, meta, texts, _ = load(doc(*BASE, "content_notes: [violence, suicde]"))
    assert "content_notes" not in meta
    assert texts == [
        "content/articles/x.md:6:27: error: 'content_notes': unknown content note 'suicde' "
        "(did you mean 'suicide'?)"
    ]


def test_content_notes_known_keys_and_a_single_string():
    _, meta, texts, _ = load(doc(*BASE, "content_notes: [violence, suicide, violence]"))
    assert texts == [] and meta["content_notes"] == ["violence", "suicide"]
    _, meta, texts, _ = load(doc(*BASE, "content_notes: suicide"))
    assert meta["content_notes"] == ["suicide"]
    assert texts == [
        "content/articles/x.md:6:16: warning: 'content_notes': content_notes should be a list "
        "(write content_notes: [suicide])"
    ]


def test_content_notes_without_a_vocabulary():
    fm, _ = split(doc(*BASE, "content_notes: [violence]"), PATH)
    _, diags = validate(fm, "article", PATH, timezone=TZ, content_notes=())
    assert [d.hint for d in diags] == ["declare content notes in site.yaml under content_notes"]


# --- fields: slug, draft, image, unknown keys, pages --------------------------------------------


@pytest.mark.parametrize(
    "value, problem",
    [
        ("../../outside/pwned", "contains a slash"),
        ("/abs/x", "contains a slash"),
        ('"a\\\\..\\\\b"', "contains a slash"),
        ("..", "contains '..'"),
        (".hidden", "starts with '.' (a hidden file)"),
        ("'%2e%2e'", "contains '%'"),
        ("my post", "contains a space"),
        ('"a\\0b"', "contains U+0000"),
        ("''", "is empty"),
    ],
)
def test_bad_slugs(value, problem):
    d = only(doc(*BASE, f"slug: {value}"))
    assert (d.line, d.col, d.key, d.code) == (6, 7, "slug", "bad-slug")
    assert d.message.endswith(f"is not a valid slug: it {problem}")
    assert d.hint.startswith("allowed: Unicode letters and digits, '-', '_' and '.'")


def test_unicode_slug_is_kept_in_nfc():
    _, meta, texts, _ = load(doc(*BASE, "slug: a\u0301nimo-心の健康"))
    assert texts == [] and meta["slug"] == "\u00e1nimo-心の健康"


def test_draft_must_be_a_real_boolean():
    d = only(doc(*BASE, 'draft: "false"'))
    assert d.format() == (
        "content/articles/x.md:6:8: error: 'draft': draft must be true or false without quotes, "
        'not the text "false" (write draft: false)'
    )


@pytest.mark.parametrize(
    "value, message",
    [
        ('"javascript:alert(1)"', "'javascript:' addresses are not allowed in image"),
        ('"JaVa\\tScRiPt:alert(1)"', "'javascript:' addresses are not allowed in image"),
        ('"data:image/png;base64,AAAA"', "'data:' addresses are not allowed in image"),
        ("http://example.com/x.png", "'http:' addresses are not allowed in image"),
        (
            "//evil.example/x.png",
            "'//evil.example/x.png' is an address on another site without https:",
        ),
        ("images/x.png", "image 'images/x.png' must start with / (a path on this site)"),
    ],
)
def test_unsafe_or_unclear_image_addresses(value, message):
    d = only(doc(*BASE, f"image: {value}", "image_alt: A mug of tea"))
    assert (d.line, d.col, d.key, d.message) == (6, 8, "image", message)


def test_image_on_this_site_with_alt_text():
    _, meta, texts, _ = load(doc(*BASE, "image: /images/tea.jpg", "image_alt: A mug of tea"))
    assert texts == []
    assert (meta["image"], meta["image_alt"]) == ("/images/tea.jpg", "A mug of tea")


def test_image_from_another_site_warns():
    _, meta, texts, _ = load(doc(*BASE, "image: https://cdn.example/x.png", "image_alt: A mug"))
    assert meta["image"] == "https://cdn.example/x.png"
    assert [t.split(": warning: ")[0] for t in texts] == ["content/articles/x.md:6:8"]
    assert "cdn.example" in texts[0]


def test_image_without_alt_text():
    d = only(doc(*BASE, "image: /images/tea.jpg"))
    assert d.format() == (
        "content/articles/x.md:6:8: error: 'image': image has no image_alt (add image_alt: a "
        "short description of the image for people who cannot see it)"
    )


@pytest.mark.parametrize(
    "key, hint",
    [
        ("tag", "did you mean 'tags'?"),
        ("Title", "did you mean 'title'?"),
        ("menu", "menu is used only on pages; remove it"),
        ("permalink", "`python build.py fields` lists the fields"),
    ],
)
def test_unknown_keys(key, hint):
    _, _, _, diags = load(doc(*BASE, f"{key}: x"))
    d = next(d for d in diags if d.code == "unknown-key")
    assert d.format() == f"content/articles/x.md:6:1: error: '{key}': unknown key ({hint})"


def test_page_fields():
    raw = doc("title: About us", "menu: 2", "layout: help", "summary: Who we are.")
    _, meta, texts, _ = load(raw, kind="page")
    assert texts == []
    assert meta == {"title": "About us", "summary": "Who we are.", "menu": 2, "layout": "help"}


def test_page_with_article_only_fields_and_bad_values():
    raw = doc("title: About", "date: 2024-01-01", "menu: '2'", "layout: hepl")
    _, _, texts, _ = load(raw, kind="page")
    assert texts == [
        "content/articles/x.md:3:1: error: 'date': unknown key (date is used only on articles; "
        "remove it)",
        "content/articles/x.md:4:7: error: 'menu': menu must be a whole number without quotes, "
        'not "2" (write menu: 2)',
        "content/articles/x.md:5:9: error: 'layout': unknown layout 'hepl' (did you mean 'help'?)",
    ]


@pytest.mark.parametrize("value", ["0", "-1", "true"])
def test_menu_must_be_a_positive_whole_number(value):
    d = only(doc("title: About", f"menu: {value}"), kind="page")
    assert (d.line, d.key) == (3, "menu")


def test_every_field_is_in_the_reference():
    text = fields_reference()
    for f in FIELDS:
        assert f"  {f.name}  [" in text
        assert f.example in text
    assert text.index("Articles (") < text.index("Pages (")
    assert "  menu  [optional]" in text.split("Pages (")[1]
    assert set(PAGE_FIELDS) >= {"title", "menu", "layout", "draft", "content_notes"}
