"""The manifest: what a build records of its output folder, and a `check` that reads only that and
the folder (never the sources, never the build's code)."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import textwrap
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sitekit import SITE_YAML, article, make_site, run
from sitekit import meta as make_meta

from haven.check import collect_problems
from haven.config import LinkcheckSettings, load_config
from haven.incremental.store import CACHE_DIR, STORE_FILE, Brief, Store
from haven.manifest import (
    MARKER,
    Finding,
    Manifest,
    Placeholder,
    read_manifest,
    record_build,
    state_name,
    write_manifest,
)
from haven.model import ERROR, WARNING, BuildOptions, Diagnostic, Document, Link
from haven.pipeline import build_site

NOW = datetime(2026, 11, 26, tzinfo=UTC)
PATHS_YAML = """\
start_here:
  - title: First steps
    articles:
      - a.md
      - missing.md
"""
A = article(
    "A",
    summary="TODO: one or two sentences for listings and search",
    body="## Start\n\nSee [B](b.md#steps).\n\nSome text, then  TODO: the ending.\n",
    extra=(
        "last_reviewed: 2026-01-01\nnext_review: 2026-12-01\nreviewed_by: Dr Rivera\n"
        "content_notes: [suicide]\n"
    ),
)
B = article("B", date="2026-01-12", body="## Steps\n\nOne small step. Back to [A](a.md).\n")
DRAFT = article("Draft", extra="draft: true\n")
# Modules of the build: `check` must not load one, even indirectly.
BUILD_MODULES = (
    "haven.pipeline",
    "haven.markup",
    "haven.scaffold",
    "haven.sources",
    "haven.site",
    "haven.taxonomy",
    "haven.links",
    "haven.writer",
    "haven.search",
    "haven.render",
)
# ... but for what `config` itself loads to read site.yaml: the topics' identity (`tag_key`,
# `hashtag_for`). The YAML reader it shares with front matter is `haven.yamlsafe`.
THROUGH_CONFIG = {"haven.taxonomy"}
# What the issue names: `check` must never load one of these, whatever it runs.
NEVER = ("haven.pipeline", "haven.markup", "haven.scaffold", "haven.sources", "haven.site")


@pytest.fixture
def site(tmp_path):
    files = {"content/articles/a.md": A, "content/articles/b.md": B, "content/articles/d.md": DRAFT}
    root = make_site(tmp_path / "site", files, site_yaml=SITE_YAML + PATHS_YAML)
    assert run(root) == 0
    return root


def manifest_of(root: Path, out: str = "_site") -> Manifest | None:
    store = Store.for_project(root)
    try:
        return read_manifest(store, root / out)
    finally:
        store.close()


def loaded_by(site: Path, code: str) -> tuple[list[str], list[str]]:
    """Run `code` in a fresh interpreter (with `root`): the modules of the build it loaded, and
    the kinds of the problems it printed."""
    script = textwrap.dedent(
        f"""
        import json, sys
        from pathlib import Path
        root = Path({str(site)!r})
        problems = []
        {code}
        print(json.dumps({{"kinds": sorted({{p.kind for p in problems}}),
                           "modules": sorted(sys.modules)}}))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    build = [
        m for m in report["modules"] if any(m == b or m.startswith(b + ".") for b in BUILD_MODULES)
    ]
    return build, report["kinds"]


def test_importing_check_loads_no_stage_of_the_build():
    code = "import sys, haven.check; print('\\n'.join(sorted(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    loaded = done.stdout.split()
    assert "haven.check" in loaded and "haven.manifest" in loaded
    assert [m for m in loaded if m.startswith(NEVER)] == []


def test_check_loads_nothing_of_the_build(site):
    """`check` imported and run over a built site, in a fresh interpreter."""
    by_config, _ = loaded_by(site, "from haven.config import load_config; load_config(root)")
    assert set(by_config) == THROUGH_CONFIG
    by_check, kinds = loaded_by(
        site, "from haven.check import collect_problems; problems = collect_problems(root)"
    )
    assert set(by_check) == THROUGH_CONFIG
    # It did check: the manifest's findings and placeholders, reading levels, the folder's links.
    assert {"start-here-missing", "placeholder", "reading-level"} <= set(kinds)


def test_the_manifest_records_what_check_judges(site):
    m = manifest_of(site)
    assert m is not None and m.trusted
    a = m.sources["content/articles/a.md"]
    assert (a.kind, a.title, a.url) == ("article", "A", "/articles/a/")
    assert (a.reviewed_by, a.last_reviewed, a.next_review) == (
        "Dr Rivera",
        date(2026, 1, 1),
        date(2026, 12, 1),
    )
    lines = A.splitlines()
    assert a.review_line == lines.index("next_review: 2026-12-01") + 1
    assert a.reviewed_by_line == lines.index("reviewed_by: Dr Rivera") + 1
    assert a.content_notes == ("suicide",)
    body = next(n for n, line in enumerate(lines, 1) if "  TODO" in line)
    summary = next(n for n, line in enumerate(lines, 1) if line.startswith("summary:"))
    column = lines[body - 1].index("TODO") + 1
    assert a.placeholders == (Placeholder(summary, None), Placeholder(body, column))
    assert m.pages["articles/a/index.html"].source == "content/articles/a.md"
    link = next(n for n, line in enumerate(lines, 1) if "b.md#steps" in line)
    assert m.pages["articles/a/index.html"].links == (("b.md#steps", link),)
    assert "content/articles/d.md" not in m.sources and m.unpublished == ("/articles/d/",)
    [finding] = m.findings
    assert (finding.kind, finding.source, finding.target) == (
        "start-here-missing",
        "site.yaml",
        "start_here[0].articles[1]",
    )
    # The body's plain text, for reading levels, is in the store under the recorded key.
    store = Store.for_project(site)
    assert "One small step" in store.body_text(m.sources["content/articles/b.md"].text_key)
    store.close()


def test_check_reports_what_the_build_recorded(site):
    found = {(p.severity, p.kind, p.source, p.line) for p in collect_problems(site, now=NOW)}
    lines = SITE_YAML + PATHS_YAML
    missing = lines.splitlines().index("      - missing.md") + 1
    assert (ERROR, "start-here-missing", "site.yaml", missing) in found
    due = A.splitlines().index("next_review: 2026-12-01") + 1
    assert (WARNING, "review-due-soon", "content/articles/a.md", due) in found
    recorded = manifest_of(site).sources["content/articles/a.md"].placeholders
    assert {line for (_, kind, _, line) in found if kind == "placeholder"} == {
        p.line for p in recorded
    }


def _damage_types(row: dict) -> dict:
    entry = row["sources"]["content/articles/a.md"]
    entry[3] = 42  # a title that is not text
    return row


@pytest.mark.parametrize(
    "damage",
    [
        lambda row: "{not json",
        lambda row: json.dumps(dict(row, format="another version")),
        lambda row: json.dumps(_damage_types(row)),
        lambda row: json.dumps({k: v for k, v in row.items() if k != "findings"}),
    ],
    ids=["not JSON", "another format", "wrong type", "missing field"],
)
def test_a_damaged_or_foreign_manifest_is_discarded(site, damage):
    store = Store.for_project(site)
    name = state_name(site / "_site")
    store.put_json(name, damage(store.get_json(name)))
    store.close()
    assert manifest_of(site) is None
    problems = collect_problems(site, now=NOW)
    assert "no-manifest" in {p.kind for p in problems}
    # Nothing recorded is used: no start-here or placeholder from the damaged row.
    assert not {"start-here-missing", "placeholder"} & {p.kind for p in problems}
    # The next build trusts nothing of it: every file is written again, then recorded anew.
    (site / "content/articles/b.md").write_text(B + "\nOne more line.\n")
    result = build_site(site, BuildOptions(now=NOW))
    assert result.files_unchanged == 0 and result.pages_written > 5
    assert manifest_of(site).sources["content/articles/a.md"].title == "A"
    assert "no-manifest" not in {p.kind for p in collect_problems(site, now=NOW)}


def test_without_a_manifest_check_says_what_it_cannot_check(site):
    (site / CACHE_DIR / STORE_FILE).unlink()
    problems = collect_problems(site, now=NOW)
    kinds = {p.kind for p in problems}
    assert "no-manifest" in kinds
    # Which articles are published is not known: no path entry is reported missing.
    assert not {"start-here-missing", "placeholder", "review-due-soon", "reading-level"} & kinds
    [note] = [p for p in problems if p.kind == "no-manifest"]
    assert "start-here paths, reading levels and placeholders are not checked" in note.message


def test_a_body_the_store_no_longer_has_is_named_not_measured(site):
    db = sqlite3.connect(site / CACHE_DIR / STORE_FILE)
    db.execute("DELETE FROM body")
    db.commit()
    db.close()
    problems = collect_problems(site, now=NOW)
    unmeasured = [p for p in problems if p.kind == "reading-level" and "not measured" in p.message]
    assert {p.source for p in unmeasured} == {"content/articles/a.md", "content/articles/b.md"}
    assert all(p.severity == WARNING for p in unmeasured)


def test_an_edit_is_recorded_by_the_next_build(site):
    path = site / "content/articles/a.md"
    path.write_text(A.replace("next_review: 2026-12-01", "next_review: 2027-06-01"))
    assert run(site) == 0
    a = manifest_of(site).sources["content/articles/a.md"]
    assert a.next_review == date(2027, 6, 1)
    kinds = {
        p.kind for p in collect_problems(site, now=NOW) if p.source == str(path.relative_to(site))
    }
    assert "review-due-soon" not in kinds


# -- records: made once per source, reused while their inputs are unchanged --------------------


def document(path: str, digest: str, meta: dict | None = None) -> Document:
    base = {"title": Path(path).stem.upper(), "date": datetime(2026, 1, 1, tzinfo=UTC)}
    return Document(
        "article",
        path,
        path.removeprefix("content/"),
        Path(path).stem,
        make_meta(**{**base, **(meta or {})}),
        "Body.\n",
        6,
        digest,
        {"title": 2},
    )


def record(config, docs, previous=None):
    briefs = {d.path: Brief(2, (Link("x.md", 7),), (), ()) for d in docs}
    return record_build(
        config,
        docs,
        pages={d.path: f"articles/{d.slug}/index.html" for d in docs},
        url_of=lambda d: f"/articles/{d.slug}/",
        briefs=briefs,
        text_keys={d.path: f"key-{d.digest}" for d in docs},
        unpublished=["/articles/z/"],
        findings=[Diagnostic(WARNING, "site.yaml", 3, None, "m", key="k", code="c")],
        fingerprints={"articles/a/index.html": "f"},
        search=None,
        previous=previous,
    )


def test_records_of_unchanged_sources_are_kept_and_changed_ones_made_again(tmp_path):
    config = load_config(make_site(tmp_path / "one", theme=False))
    a, b = document("content/articles/a.md", "1"), document("content/articles/b.md", "2")
    first = record(config, [a, b])
    edited = document("content/articles/b.md", "3", {"reviewed_by": "Sam"})
    second = record(config, [a, edited], previous=first)
    assert second.sources["content/articles/a.md"] is first.sources["content/articles/a.md"]
    assert second.pages["articles/a/index.html"] is first.pages["articles/a/index.html"]
    assert second.sources["content/articles/b.md"].reviewed_by == "Sam"
    assert second.findings == (Finding("c", "k", "m", "site.yaml", 3),)
    # Other settings: every record is made again (the same, here).
    other = load_config(make_site(tmp_path / "two", site_yaml=SITE_YAML + "author: Jo\n"))
    third = record(other, [a, edited], previous=second)
    assert third.sources["content/articles/a.md"] is not second.sources["content/articles/a.md"]
    assert third.sources == second.sources


def test_the_one_writer_and_the_one_reader_agree(tmp_path):
    config = load_config(make_site(tmp_path, theme=False))
    made = record(
        config, [document("content/articles/a.md", "1", {"last_reviewed": date(2026, 1, 2)})]
    )
    out = tmp_path / "_site"
    out.mkdir()
    (out / MARKER).write_text("x")
    store = Store(None)
    written = write_manifest(store, out, made)
    store.memo.clear()  # read the row, not the writer's copy
    read = read_manifest(store, out)
    assert read == written == made and read.trusted
    assert read.sources["content/articles/a.md"].last_reviewed == date(2026, 1, 2)
    (out / MARKER).write_text("y")  # another marker: the folder is not the one recorded
    store.memo.clear()
    assert read_manifest(store, out).trusted is False


def test_check_uses_the_linkcheck_settings_that_config_read(tmp_path):
    yaml = SITE_YAML + "linkcheck:\n  orphans: error\n  severity:\n    missing-alt: ignore\n"
    root = make_site(
        tmp_path, {"content/articles/a.md": article("A", body="![](/static/x.png)")}, site_yaml=yaml
    )
    (root / "static" / "lonely.html").write_text("<!doctype html><title>x</title><p>x</p>\n")
    settings = load_config(root).linkcheck
    assert isinstance(settings, LinkcheckSettings)
    assert (settings.level("orphan"), settings.level("missing-alt")) == (ERROR, "ignore")
    assert run(root) == 0
    found = {(p.kind, p.severity) for p in collect_problems(root, now=NOW)}
    assert ("orphan", ERROR) in found and not any(k == "missing-alt" for k, _ in found)
