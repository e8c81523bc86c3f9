"""Search: the records Haven indexes, the help data the browser loads, and Pagefind's index of them."""

from __future__ import annotations

import gzip
import json
import os
import textwrap
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from selectolax.lexbor import LexborHTMLParser as HTMLParser
from sitekit import SITE_YAML, article, make_site, run, snapshot

from haven import search
from haven.config import DEFAULT_CRISIS_TERMS, load_config
from haven.errors import ConfigError
from haven.model import ERROR

needs_pagefind = pytest.mark.skipif(
    search.find_pagefind() is None, reason="Pagefind binary not installed (pagefind[bin])"
)
NOW = datetime(2026, 11, 20, tzinfo=UTC)
SEARCH_YAML = SITE_YAML.replace("search: false", "search: true")

# Words that appear in one place only, so a test can say where each one went.
BODY = """\
Feeling watched is common after trauma, and it can ease with time [@zwornik2019].

## Noticing the body

A racing heart is one sign.[^1] Breathing slowly can help [@zwornik2019; @quillfeather2021].

```
codeword_inside_a_block
```

[^1]: Footnotes carry asides such as xylographic detail.

## Questions

### Will it pass?

For many people it eases over months.
"""
REFERENCES = """\
- key: zwornik2019
  authors: Zwornik, T. K.; Hartmannsdottir, F.
  year: 2019
  title: Vigilance in the quietest rooms
  doi: 10.1/a
- key: quillfeather2021
  authors: Quillfeather, H.
  year: 2021
  title: Breath and the startled body
  doi: 10.1/b
"""
GET_HELP = """\
---
title: Get help
summary: Lines you can call or text now.
layout: help
---

If you are worried about someone else, you can call too.
"""


def site(tmp_path: Path, files: dict[str, str] | None = None, yaml: str = SEARCH_YAML) -> Path:
    """A small site with search on: one article citing two references, Get help, a draft."""
    return make_site(
        tmp_path / "site",
        {
            "content/articles/watched.md": article(
                "Feeling watched after trauma",
                summary="Why the body stays alert, and what helps it settle.",
                body=BODY,
                tags=("selfcare", "communication"),
                extra="content_notes: [suicide]\n",
            ),
            "content/articles/draft.md": article(
                "Marmalade drafting notes", body="Not ready.", extra="draft: true\n"
            ),
            "content/articles/later.md": article(
                "Scheduled lighthouse piece", date="2099-01-01", body="Not yet."
            ),
            "content/references.yaml": REFERENCES,
            "content/pages/get-help.md": GET_HELP,
            **(files or {}),
        },
        site_yaml=yaml,
    )


def records_of(root: Path, now: datetime = NOW, *, drafts: bool = False):
    """The search records of the site in `root`, as the pipeline makes them."""
    from haven.bodies import render_all
    from haven.sources.discover import load_content

    config = load_config(root)
    docs, _ = load_content(root, config, {}, {})
    docs = [d for d in docs if drafts or not d.draft]
    rendered, _ = render_all(root, docs, clean=True)
    return search.make_records(
        config,
        [d for d in docs if d.kind == "page"],
        [d for d in docs if d.kind == "article"],
        html_of=lambda path: rendered[path].html,
        topics_of=lambda path: ["Self-care", "Communication"],
        now=now,
    )


def record_text(record: search.SearchRecord) -> str:
    return " ".join(
        [record.title, record.summary, *(f"{s.heading} {s.text}" for s in record.sections)]
    )


def fragments(out: Path) -> dict[str, dict]:
    """Pagefind's stored page fragments (gzip: a signature, then JSON), by URL."""
    found = {}
    for path in sorted((out / "pagefind/fragment").glob("*.pf_fragment")):
        data = json.loads(gzip.decompress(path.read_bytes())[len(b"pagefind_dcd") :])
        found[data["url"]] = data
    return found


def index_bytes(out: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted((out / "pagefind/index").glob("*")))


def words_of(out: Path) -> bytes:
    """Every word of Pagefind's word index, uncompressed."""
    return b"".join(
        gzip.decompress(p.read_bytes()) for p in sorted((out / "pagefind/index").glob("*"))
    )


def data_json(out: Path) -> dict:
    return json.loads((out / search.DATA_PATH).read_text(encoding="utf-8"))


# -- records ----------------------------------------------------------------------------------


def test_body_sections_split_at_headings_without_citations_footnotes_or_code():
    from haven import markup

    r = markup.render(BODY, path="content/articles/x.md", body_line=6)

    sections = search.body_sections(r.html)

    assert [(s.level, s.anchor, s.heading) for s in sections] == [
        (0, "", ""),
        (2, "noticing-the-body", "Noticing the body"),
        (2, "questions", "Questions"),
        (3, "will-it-pass", "Will it pass?"),
    ]
    assert sections[0].text == (
        "Feeling watched is common after trauma, and it can ease with time."
    )
    assert sections[1].text == "A racing heart is one sign. Breathing slowly can help."
    everything = " ".join(s.text for s in sections)
    assert "xylographic" not in everything  # the footnote
    assert "codeword_inside_a_block" not in everything
    assert not any(c.isdigit() for c in everything)  # no citation or footnote numbers


def test_records_hold_the_body_and_never_the_references(tmp_path):
    records = records_of(site(tmp_path))

    (watched,) = [r for r in records if r.kind == "article"]
    assert watched.url == "/articles/watched/"
    assert watched.summary == "Why the body stays alert, and what helps it settle."
    assert watched.topics == ("Self-care", "Communication")
    assert watched.content_note == "This page talks about suicide."
    text = record_text(watched)
    assert "A racing heart is one sign." in text
    for reference in ("Zwornik", "Hartmannsdottir", "Quillfeather", "quietest rooms", "10.1/"):
        assert reference not in text


def test_get_help_comes_first_and_answers_every_crisis_term(tmp_path):
    records = records_of(site(tmp_path))

    first = records[0]
    assert (first.url, first.kind, first.title) == ("/get-help/", "help", "Get help")
    assert [r.kind for r in records] == ["help", "page", "article"]
    # Its own text, then every region's emergency number and lines.
    assert "If you are worried about someone else, you can call too." in record_text(first)
    assert "Test line. Call 116 123." in record_text(first)
    for term in (*DEFAULT_CRISIS_TERMS, "helpline", "hotline"):
        assert term in first.keywords
    html = search.record_html(first, "en")
    weighted = HTMLParser(html).css_first(f'[data-pagefind-weight="{search.KEYWORD_WEIGHT}"]')
    assert "suicide" in weighted.text() and "hotline" in weighted.text()
    # A filter with one value, for the browser to ask for the help pages alone.
    assert HTMLParser(html).css_first('[data-pagefind-filter="help"]').text() == "yes"
    article = next(r for r in records if r.kind == "article")
    assert 'data-pagefind-filter="help"' not in search.record_html(article, "en")
    assert search.KEYWORD_WEIGHT == 10  # Pagefind's highest: above any article's title (7)


def test_get_help_is_indexed_even_without_its_page_file(tmp_path):
    root = site(tmp_path)
    (root / "content/pages/get-help.md").unlink()

    first = records_of(root)[0]

    assert (first.url, first.title) == ("/get-help/", "Get help")
    assert "Call 116 123" in record_text(first)


def test_drafts_and_scheduled_articles_are_never_records(tmp_path):
    root = site(tmp_path)

    urls = [r.url for r in records_of(root, drafts=True)]

    assert "/articles/draft/" not in urls and "/articles/later/" not in urls
    assert "/articles/watched/" in urls


def test_record_html_escapes_every_part():
    hostile = '</title><script>alert(1)</script> & "x"'
    record = search.SearchRecord(
        url="/articles/x/",
        kind="article",
        title=hostile,
        summary=hostile,
        sections=(search.Section(2, 'a"b', hostile, hostile),),
        topics=(hostile,),
        content_note=hostile,
    )

    html = search.record_html(record, 'en"')

    assert "<script>" not in html
    tree = HTMLParser(html)
    assert tree.css_first("h1").text() == hostile
    assert tree.css_first("h2").attributes["id"] == 'a"b'
    assert tree.css_first('[data-pagefind-filter="topic"]').text() == hostile


# -- what the browser loads -------------------------------------------------------------------


def test_vocabulary_is_titles_topics_and_headings_most_used_first():
    records = [
        search.SearchRecord(
            "/a/",
            "article",
            "Trauma and trust",
            sections=(search.Section(2, "x", "Trust", "zebra"),),
        ),
        search.SearchRecord("/b/", "article", "Trauma", topics=("Self-care",)),
    ]

    words = search.vocabulary(records)

    assert words == ["trauma", "trust", "care", "self"]  # 'and' is too short; body words never
    assert search.vocabulary(records, limit=20) == ["trauma", "trust"]  # bytes of JSON


def test_search_data_has_the_panel_lines_crisis_terms_and_vocabulary(tmp_path):
    yaml = SEARCH_YAML + textwrap.dedent(
        """\
        emergency:
          GB: "999"
          US: "911"
        regions:
          GB: United Kingdom
          US: United States
        crisis_terms: [Self-Harm, "  KILL   myself "]
        """
    )
    yaml = yaml.replace(
        "support:\n",
        "support:\n  - name: Other line\n    region: US\n    phone: '988'\n"
        "    last_verified: 2026-11-01\n",
    )
    config = load_config(site(tmp_path, yaml=yaml))

    data = json.loads(search.search_data(config, records_of(config.root)))

    assert data["crisis"] == ["kill myself", "self harm"]
    help_ = data["help"]
    assert help_["region"] == "United Kingdom"
    assert [line["name"] for line in help_["lines"]] == ["Test line"]  # the default region's only
    assert help_["lines"][0]["tel"] == "116123"
    assert help_["emergency"] == [  # every region's, the default region first
        {"region": "United Kingdom", "number": "999", "tel": "999"},
        {"region": "United States", "number": "911", "tel": "911"},
    ]
    assert "feeling" in data["words"] and "noticing" in data["words"]
    # Words that ask for a line put Get help first: the lines' names and numbers, 'helpline'.
    for word in ("other", "line", "116123", "988", "999", "911", "helpline", "hotline"):
        assert word in data["pin"], word


def test_crisis_terms_default_and_bad_values_name_the_key(tmp_path):
    base = "title: T\nbase_url: https://example.org/\n"
    (tmp_path / "site.yaml").write_text(base, encoding="utf-8")
    assert load_config(tmp_path).crisis_terms == DEFAULT_CRISIS_TERMS
    for term in ("suicide", "kill myself", "rape", "sexual assault", "abuse", "self-harm"):
        assert term in DEFAULT_CRISIS_TERMS

    (tmp_path / "site.yaml").write_text(base + "crisis_terms: ['---', 7]\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path)
    assert [d.format() for d in info.value.diagnostics] == [
        "site.yaml:3: error: 'crisis_terms': '---' has no letters or digits"
    ]
    (tmp_path / "site.yaml").write_text(base + "crisis_terms: suicide\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path)
    assert "'crisis_terms': expected a list, got str" in info.value.diagnostics[0].format()


def test_header_box_and_search_page_carry_no_query(tmp_path):
    root = site(tmp_path, yaml=SITE_YAML)  # search: false
    assert run(root) == 0
    out = root / "_site"
    page = HTMLParser((out / "articles/watched/index.html").read_text(encoding="utf-8"))
    assert page.css("form[role=search]") == [] and page.css("script[src*=search]") == []

    root.joinpath("site.yaml").write_text(SEARCH_YAML, encoding="utf-8")
    assert run(root) == 0
    page = HTMLParser((out / "articles/watched/index.html").read_text(encoding="utf-8"))
    form = page.css_first("header form[role=search]")
    assert (form.attributes["action"], form.attributes["method"]) == ("/search/", "get")
    assert form.attributes["data-base"] == "/"
    assert form.css("[name]") == []  # without JavaScript, submitting carries nothing
    assert form.css_first("input").attributes["autocomplete"] == "off"
    assert page.css_first('script[src="/static/js/search.js"][defer]') is not None
    search_page = HTMLParser((out / "search/index.html").read_text(encoding="utf-8"))
    box = search_page.css_first("#search")
    assert box.css("[name]") == []
    assert all(i.attributes["autocomplete"] == "off" for i in box.css("input"))
    assert "hidden" in box.css_first("form").attributes  # shown by the script
    hrefs = [a.attributes["href"] for a in search_page.css("main a")]
    assert "/get-help/" in hrefs and "/tags/" in hrefs
    nojs = search_page.css_first(".search-nojs")
    assert "needs JavaScript" in nojs.text() and "hidden" not in nojs.attributes


def test_scripts_use_no_storage_and_never_write_the_address():
    from haven.check.audit import STORAGE_APIS

    project = Path(__file__).resolve().parents[1]
    for name in ("search.js", "search-ui.js"):
        script = (project / "static/js" / name).read_text(encoding="utf-8")
        assert not STORAGE_APIS.search(script), name
        for trick in ("window.name", "pushState", "replaceState", "location.hash", "?q=", "#q="):
            assert trick not in script, (name, trick)


# -- the index in a build ----------------------------------------------------------------------


@needs_pagefind
def test_build_indexes_records_not_pages(tmp_path):
    root = site(tmp_path)
    assert run(root) == 0
    out = root / "_site"

    pages = fragments(out)
    assert sorted(pages) == ["/articles/watched/", "/get-help/", "/online-safety/"]
    watched = pages["/articles/watched/"]
    assert watched["meta"]["title"] == "Feeling watched after trauma"
    assert watched["meta"]["summary"] == "Why the body stays alert, and what helps it settle."
    assert watched["meta"]["content_note"] == "This page talks about suicide."
    assert sorted(watched["filters"]["topic"]) == ["Communication", "Self-care"]
    assert [a["id"] for a in watched["anchors"]][:1] == ["noticing-the-body"]
    # Nothing of the theme or of the reference list reached the index.
    for text in (watched["content"], pages["/get-help/"]["content"]):
        for chrome in ("Skip to main content", "Exit this page", "Zwornik", "Quillfeather"):
            assert chrome not in text
    words = words_of(out)
    for absent in (b"zwornik", b"quillfeather", b"hartmannsdottir", b"xylographic"):
        assert absent not in words
    assert b"race" in words  # Pagefind stores stems
    assert "Call 116 123" in pages["/get-help/"]["content"]
    # Drafts and scheduled articles are neither indexed nor in the vocabulary.
    assert "/articles/draft/" not in pages and "/articles/later/" not in pages
    assert b"marmalade" not in words and b"lighthouse" not in words
    vocabulary = data_json(out)["words"]
    assert "feeling" in vocabulary and "noticing" in vocabulary
    assert "marmalade" not in vocabulary and "lighthouse" not in vocabulary


@needs_pagefind
def test_drafts_stay_out_of_search_even_when_the_build_shows_them(tmp_path):
    root = site(tmp_path)

    assert run(root, "build", "--drafts", "--future") == 0

    out = root / "_site"
    assert (out / "articles/draft/index.html").is_file()
    assert "/articles/draft/" not in fragments(out) and "/articles/later/" not in fragments(out)
    assert "marmalade" not in data_json(out)["words"]
    assert "lighthouse" not in data_json(out)["words"]


@needs_pagefind
def test_index_is_kept_when_only_the_theme_changes_and_made_again_for_content(tmp_path):
    root = site(tmp_path)
    assert run(root) == 0
    out = root / "_site"
    entry = out / "pagefind/pagefind-entry.json"
    first = entry.stat().st_ino

    css = root / "static/css/site.css"
    css.write_text(css.read_text(encoding="utf-8") + "\n/* edited */\n", encoding="utf-8")
    assert run(root) == 0
    assert entry.stat().st_ino == first  # the same file, linked into the new folder

    source = root / "content/articles/watched.md"
    source.write_text(
        source.read_text(encoding="utf-8").replace("racing heart", "pounding heart"),
        encoding="utf-8",
    )
    assert run(root) == 0
    words = words_of(out)
    assert b"pound" in words and b"race" not in words


@needs_pagefind
def test_clean_builds_give_the_same_index_byte_for_byte(tmp_path):
    root = site(tmp_path)
    assert run(root, "build", "--clean") == 0
    first = snapshot(root / "_site", skip=())
    # Pagefind writes a filter's values in its hash map's order, different from run to run;
    # Haven writes the index's filters itself, sorted, so every build is the same.
    for n in range(3):
        assert run(root, "build", "--clean", "--output", str(tmp_path / f"again-{n}")) == 0
        assert snapshot(tmp_path / f"again-{n}", skip=()) == first


@needs_pagefind
def test_a_failing_pagefind_names_itself_and_keeps_the_previous_site(tmp_path, capsys, monkeypatch):
    root = site(tmp_path)
    assert run(root) == 0
    before = snapshot(root / "_site", skip=())
    fake = tmp_path / "pagefind"
    fake.write_text("#!/bin/sh\necho 'Error: the disk is on fire' >&2\nexit 3\n", encoding="utf-8")
    fake.chmod(0o755)
    (root / "content/articles/watched.md").write_text(
        article("Feeling watched after trauma", body="Changed."), encoding="utf-8"
    )
    capsys.readouterr()

    monkeypatch.setenv("PAGEFIND_BINARY_PATH", str(fake))
    assert run(root) == 1

    err = capsys.readouterr().err
    assert (
        "pagefind: error: Pagefind failed (exit 3) indexing 3 search record(s): "
        "Error: the disk is on fire" in err
    )
    assert snapshot(root / "_site", skip=()) == before
    assert not list(tmp_path.joinpath("site").glob("_site.tmp-*"))


# -- running Pagefind ---------------------------------------------------------------------------

RECORDS = [
    search.SearchRecord(
        "/get-help/", "help", "Get help", "Lines to call.", keywords=("suicide", "hotline")
    ),
    search.SearchRecord(
        "/articles/trust/",
        "article",
        "Trust after trauma",
        "Rebuilding trust takes time.",
        (search.Section(2, "time", "Time", "Trust can grow back slowly."),),
        ("Self-care",),
    ),
]


def page_count(site: Path) -> int:
    entry = json.loads((site / "pagefind/pagefind-entry.json").read_text(encoding="utf-8"))
    return sum(lang["page_count"] for lang in entry["languages"].values())


def sources(records) -> list[search.RecordSource]:
    return [search.RecordSource(r.url, r.url, lambda r=r: r) for r in records]


def update(tmp_path: Path, records=RECORDS) -> search.Update:
    """The index step alone, as a build runs it."""
    return search.update(
        sources(records), language="en", cache=tmp_path / "cache", previous={}, clean=True
    )


@needs_pagefind
def test_index_records_writes_pagefinds_own_bundle(tmp_path):
    out = tmp_path / "site"
    out.mkdir()

    assert search.index_records(RECORDS, out) == []

    bundle = out / "pagefind"
    for name in ("pagefind.js", "pagefind-worker.js", "pagefind-entry.json"):
        assert (bundle / name).is_file(), name
    assert page_count(out) == 2
    assert list((bundle / "filter").glob("*.pf_filter"))  # the topic filter
    assert sorted(fragments(out)) == ["/articles/trust/", "/get-help/"]
    assert sorted(p.name for p in out.iterdir()) == ["pagefind"]  # the records stayed private


@needs_pagefind
def test_index_records_starts_clean_without_writing_through_hard_links(tmp_path):
    out = tmp_path / "site"
    (out / "pagefind/fragment").mkdir(parents=True)
    stale = out / "pagefind/fragment/en_stale.pf_fragment"
    stale.write_text("stale", encoding="utf-8")
    live = tmp_path / "live-pagefind.js"
    live.write_text("the published copy", encoding="utf-8")
    os.link(live, out / "pagefind/pagefind.js")  # as the writer may link unchanged files

    assert search.index_records(RECORDS, out) == []

    assert not stale.exists()
    assert live.read_text(encoding="utf-8") == "the published copy"
    assert page_count(out) == 2


@needs_pagefind
def test_pagefind_settings_from_the_environment_are_ignored(tmp_path, monkeypatch):
    monkeypatch.setenv("PAGEFIND_OUTPUT_SUBDIR", "elsewhere")
    monkeypatch.setenv("PAGEFIND_KEEP_INDEX_URL", "true")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pagefind.yml").write_text("output_subdir: elsewhere-too\n", encoding="utf-8")

    done = update(tmp_path)

    assert done.diagnostics == []
    paths = {o.path for o in done.outputs}
    assert "pagefind/pagefind-entry.json" in paths
    assert not any("elsewhere" in p for p in paths) and not (tmp_path / "elsewhere-too").exists()
    urls = [
        json.loads(gzip.decompress(o.data)[len(b"pagefind_dcd") :])["url"]
        for o in done.outputs
        if o.path.startswith("pagefind/fragment/")
    ]
    assert sorted(urls) == ["/articles/trust/", "/get-help/"]  # not /articles/trust/index.html


def fake_pagefind(tmp_path: Path, script: str) -> Path:
    fake = tmp_path / "fake-pagefind"
    fake.write_text("#!/bin/sh\n" + script, encoding="utf-8")
    fake.chmod(0o755)
    return fake


def test_a_pagefind_that_hangs_is_stopped_and_named(tmp_path, monkeypatch):
    pid_file = tmp_path / "pid"
    answer = "[ \"$1\" = --version ] && echo 'pagefind 1.5.2' && exit 0\n"
    fake = fake_pagefind(tmp_path, f"{answer}echo $$ > {pid_file}\nexec sleep 60\n")
    monkeypatch.setattr(search.pagefind, "find_pagefind", lambda: fake)
    monkeypatch.setattr(search.pagefind, "TIMEOUT_SECONDS", 1)

    (problem,) = update(tmp_path).diagnostics

    assert problem.format() == (
        "pagefind: error: Pagefind did not finish indexing 2 search record(s) within 1 seconds"
    )
    pid = int(pid_file.read_text())
    deadline = time.monotonic() + 5
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(pid), "the Pagefind process outlived the build"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/status")
    return not (status.is_file() and "State:\tZ" in status.read_text())


def test_a_pagefind_that_stops_without_answering_is_an_error(tmp_path, monkeypatch):
    monkeypatch.setattr(
        search.pagefind, "find_pagefind", lambda: fake_pagefind(tmp_path, "exit 0\n")
    )

    (problem,) = update(tmp_path).diagnostics

    assert problem.message == "Pagefind failed (exit 0) indexing 2 search record(s): no output"


def test_missing_binary_gives_a_clean_diagnostic(tmp_path, monkeypatch):
    monkeypatch.setattr(search.pagefind, "find_pagefind", lambda: None)

    done = update(tmp_path)

    assert [d.format() for d in done.diagnostics] == [
        "pagefind: error: the Pagefind binary was not found (install it with "
        "`pip install 'pagefind[bin]'`, or set PAGEFIND_BINARY_PATH)"
    ]
    assert done.outputs == []


def test_binary_that_cannot_run_gives_a_clean_diagnostic(tmp_path, monkeypatch):
    not_a_program = tmp_path / "pagefind"
    not_a_program.write_text("not a program", encoding="utf-8")
    not_a_program.chmod(0o644)
    monkeypatch.setattr(search.pagefind, "find_pagefind", lambda: not_a_program)

    (problem,) = update(tmp_path).diagnostics

    assert problem.severity == ERROR and problem.path == "pagefind"
    assert problem.message.startswith(f"could not run Pagefind ({not_a_program}): ")


def test_nothing_to_index_and_a_missing_folder_are_named(tmp_path):
    (problem,) = search.index_records(RECORDS, tmp_path / "nothing-here")
    assert problem.severity == ERROR and "not a folder" in problem.message
    (problem,) = search.index_records([], tmp_path)
    assert problem.message == "nothing to index: the site has no published page"
    (problem,) = update(tmp_path, []).diagnostics
    assert problem.message == "nothing to index: the site has no published page"


def test_find_pagefind_honours_the_binary_path_variable(tmp_path, monkeypatch):
    fake = tmp_path / "my-pagefind"
    fake.write_text("#!/bin/sh\n", encoding="utf-8")
    monkeypatch.setenv("PAGEFIND_BINARY_PATH", str(fake))

    assert search.find_pagefind() == fake
