"""Incremental builds: after every kind of edit, the output equals a clean build byte for byte,
and a one-article edit renders one body and writes only the files that changed."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import pytest
from sitekit import SITE_YAML, article, make_site, snapshot

from haven.errors import ContentError
from haven.incremental.state import MemoryState
from haven.model import BuildOptions
from haven.pipeline import build_site
from haven.writer import MARKER, WRITING

SITE = SITE_YAML.replace(
    "topics:\n", "topics:\n  - key: trust\n    label: Trust\n    description: Trusting again.\n"
)
NOW = BuildOptions(now=datetime.fromisoformat("2026-06-01T00:00:00+00:00"))
TAGS = (("selfcare",), ("communication",), ("selfcare", "communication"), ("trust",))
REFS = (
    "- key: smith2020\n  authors: Smith, A.\n  year: 2020\n  title: On trust\n"
    "- key: jones2021\n  authors: Jones, B.\n  year: 2021\n  title: On care\n"
)


def corpus(n: int = 14) -> dict[str, str]:
    """Articles linked in a ring, over three topics, with citations: more than one topic page."""
    files = {
        f"content/articles/a{i:02d}.md": article(
            f"Article {i}",
            date=f"2026-01-{i + 1:02d}",
            tags=TAGS[i % len(TAGS)],
            body=f"## Part\n\nText {i} [@smith2020]. See [next](a{(i + 1) % n:02d}.md#part).\n",
        )
        for i in range(n)
    }
    files["content/references.yaml"] = REFS
    files["content/pages/about.md"] = "---\ntitle: About\nmenu: 1\n---\n\nAbout us [@jones2021].\n"
    return files


def clean_copy(root: Path, tmp_path: Path) -> dict[str, str]:
    """What a clean build of the same sources writes."""
    clean = tmp_path / f"clean-{len(list(tmp_path.iterdir()))}"
    shutil.copytree(root, clean, ignore=shutil.ignore_patterns("_site*", ".cache"))
    build_site(clean, NOW)
    return snapshot(clean / "_site", skip=())


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, (path, old)
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


ARTS = "content/articles"

# (name, change to the project) - applied one after another to the same project.
EDITS = [
    ("body", lambda r: edit(r / ARTS / "a03.md", "Text 3", "Text three, longer now")),
    ("title", lambda r: edit(r / ARTS / "a05.md", "Article 5", "Fifth article")),
    ("tags", lambda r: edit(r / ARTS / "a06.md", '"selfcare"', '"trust"')),
    ("date", lambda r: edit(r / ARTS / "a02.md", "2026-01-03", "2026-02-20")),
    ("summary", lambda r: edit(r / ARTS / "a13.md", "A short summary.", "Another summary.")),
    (
        "add",
        lambda r: (r / ARTS / "new.md").write_text(
            article("New one", date="2026-03-01", tags=("trust",), body="Fresh [@jones2021]."),
            encoding="utf-8",
        ),
    ),
    (
        "delete",
        lambda r: [(r / ARTS / "a09.md").unlink(), edit(r / ARTS / "a08.md", "a09.md", "a10.md")],
    ),
    (
        "rename a linked article",
        lambda r: [
            (r / ARTS / "a11.md").rename(r / ARTS / "eleven.md"),
            edit(r / ARTS / "a10.md", "a11.md", "eleven.md"),
        ],
    ),
    ("draft", lambda r: edit(r / ARTS / "new.md", "tags:", "draft: true\ntags:")),
    ("reference", lambda r: edit(r / "content/references.yaml", "On trust", "On trusting")),
    ("page", lambda r: edit(r / "content/pages/about.md", "About us", "Who we are")),
    ("site.yaml", lambda r: edit(r / "site.yaml", "page_size: 10", "page_size: 3")),
    (
        "template",
        lambda r: edit(
            r / "templates/article.html", "{% block head %}", "{% block head %}<!-- v2 -->"
        ),
    ),
    ("static", lambda r: (r / "static/css/extra.css").write_text("p { margin: 0 }\n")),
]


@pytest.mark.parametrize("search_on", [False, True], ids=["search-off", "search-on"])
@pytest.mark.parametrize("with_session", [False, True], ids=["cli", "dev-server-session"])
def test_every_kind_of_edit_gives_the_clean_build(tmp_path, monkeypatch, with_session, search_on):
    """With search on, `pagefind/` too: the index is spliced (in blocks of four pages here) and
    must equal the clean build's byte for byte."""
    if search_on:
        from haven import search

        if search.find_pagefind() is None:
            pytest.skip("Pagefind binary not installed (pagefind[bin])")
        monkeypatch.setattr(search.index, "BATCH_SIZE", 4)
    yaml = SITE.replace("search: false", "search: true") if search_on else SITE
    root = make_site(tmp_path / "site", corpus(), site_yaml=yaml)
    session = MemoryState.for_project(root) if with_session else None
    build_site(root, NOW, state=session)
    for name, change in EDITS:
        change(root)
        build_site(root, NOW, state=session)
        assert snapshot(root / "_site", skip=()) == clean_copy(root, tmp_path), name
        assert search_on == (root / "_site/pagefind/pagefind-entry.json").is_file()


def test_a_body_edit_renders_one_body_and_writes_only_what_changed(tmp_path):
    root = make_site(tmp_path / "site", corpus(), site_yaml=SITE)
    first = build_site(root, NOW)
    site = root / "_site"
    inodes = {p: p.stat().st_ino for p in site.rglob("*") if p.is_file()}
    edit(root / ARTS / "a03.md", "Text 3", "Text three")
    result = build_site(root, NOW)
    assert result.markdown_rendered == 1
    # The article itself; its neighbours and listings show only its title and summary.
    assert result.pages_written == 1
    assert result.pages_written + result.files_unchanged == first.pages_written
    changed = [p for p, ino in inodes.items() if p.exists() and p.stat().st_ino != ino]
    assert sorted(p.relative_to(site).as_posix() for p in changed) == [
        MARKER,
        "articles/a03/index.html",
    ]
    assert "Text three" in (site / "articles/a03/index.html").read_text()


def test_a_title_edit_updates_every_page_that_shows_it(tmp_path):
    root = make_site(tmp_path / "site", corpus(), site_yaml=SITE)
    build_site(root, NOW)
    edit(root / ARTS / "a05.md", "Article 5", "Fifth article")
    result = build_site(root, NOW)
    site = root / "_site"
    showing = sorted(
        p.relative_to(site).as_posix()
        for p in site.rglob("*")
        if p.is_file() and "Fifth article" in p.read_text(errors="replace")
    )
    # The article, its two neighbours, the A-Z, its topic's page and feed, the site's feed.
    assert showing == [
        "articles/a04/index.html",
        "articles/a05/index.html",
        "articles/a06/index.html",
        "articles/index.html",
        "feed.xml",
        "tags/communication/feed.xml",
        "tags/communication/index.html",
    ]
    assert result.markdown_rendered == 1  # the body cache is keyed by the file's digest
    assert result.pages_written == len(showing)


def test_an_interrupted_write_in_place_is_repaired_by_the_next_build(tmp_path):
    root = make_site(tmp_path / "site", corpus(), site_yaml=SITE)
    build_site(root, NOW)
    site = root / "_site"
    # As if a build had been stopped half-way through replacing files.
    (site / WRITING).touch()
    (site / "articles/a07/index.html").write_text("half written")
    (site / "tags/index.html").unlink()
    result = build_site(root, NOW)
    assert not (site / WRITING).exists()
    assert result.pages_written > 0
    assert snapshot(site, skip=()) == clean_copy(root, tmp_path)


def test_a_template_error_in_an_edit_leaves_the_output_as_it_was(tmp_path):
    root = make_site(tmp_path / "site", corpus(), site_yaml=SITE)
    build_site(root, NOW)
    before = snapshot(root / "_site", skip=())
    edit(root / ARTS / "a03.md", "Text 3", "Text three")
    template = root / "templates/article.html"
    edit(template, "{% block head %}", "{% block head %}{{ page.nothing.here }}")
    with pytest.raises(ContentError) as err:
        build_site(root, NOW)
    assert any(d.path == "templates/article.html" for d in err.value.diagnostics)
    assert snapshot(root / "_site", skip=()) == before
    assert not (root / "_site" / WRITING).exists()


def test_a_removed_cache_is_rebuilt_not_trusted(tmp_path):
    root = make_site(tmp_path / "site", corpus(), site_yaml=SITE)
    build_site(root, NOW)
    shutil.rmtree(root / ".cache")
    edit(root / ARTS / "a03.md", "Text 3", "Text three")
    result = build_site(root, NOW)
    assert result.markdown_rendered == 16  # 14 articles, about and online safety
    assert snapshot(root / "_site", skip=()) == clean_copy(root, tmp_path)


def test_a_damaged_cache_file_costs_time_not_the_build(tmp_path):
    root = make_site(tmp_path / "site", corpus(), site_yaml=SITE)
    build_site(root, NOW)
    for path in (root / ".cache/haven").glob("*"):
        if path.is_file():
            path.write_bytes(b"not a cache")
    edit(root / ARTS / "a03.md", "Text 3", "Text three")
    build_site(root, NOW)
    assert snapshot(root / "_site", skip=()) == clean_copy(root, tmp_path)


def test_a_build_with_nothing_changed_touches_nothing(tmp_path):
    root = make_site(tmp_path / "site", corpus(), site_yaml=SITE)
    build_site(root, NOW)
    site = root / "_site"
    stamps = {p: p.stat().st_mtime_ns for p in site.rglob("*")}
    os.utime(root / ARTS / "a01.md")  # touched, not changed
    result = build_site(root, NOW)
    assert (result.markdown_rendered, result.pages_written) == (0, 0)
    assert {p: p.stat().st_mtime_ns for p in site.rglob("*")} == stamps


def test_a_scheduled_article_appears_once_its_date_passes_with_no_file_changed(tmp_path):
    files = corpus(4)
    files[f"{ARTS}/later.md"] = article("Later", date="2026-07-01", tags=("trust",))
    root = make_site(tmp_path / "site", files, site_yaml=SITE)
    build_site(root, NOW)
    assert not (root / "_site/articles/later").exists()
    assert build_site(root, NOW).pages_written == 0  # nothing to do, known from stats alone
    after = BuildOptions(now=datetime.fromisoformat("2026-07-02T00:00:00+00:00"))
    assert build_site(root, after).pages_written > 0
    assert (root / "_site/articles/later/index.html").is_file()
    # and back: a build dated before an article it published leaves that article out again
    result = build_site(root, NOW)
    assert result.pages_written > 0 and not (root / "_site/articles/later").exists()
    assert snapshot(root / "_site", skip=()) == clean_copy(root, tmp_path)


def test_a_build_with_nothing_to_do_imports_no_stage_it_does_not_need(tmp_path):
    """A no-op is a walk and a stat per file: Markdown, Jinja, search and the renderer unloaded."""
    root = make_site(tmp_path / "site", corpus(4), site_yaml=SITE)
    build_site(root, NOW)
    probe = (
        "import sys\n"
        "from datetime import datetime\n"
        "from haven.model import BuildOptions\n"
        "from pathlib import Path\n"
        "from haven.pipeline import build_site\n"
        f"now = datetime.fromisoformat({NOW.now.isoformat()!r})\n"
        f"result = build_site(Path({str(root)!r}), BuildOptions(now=now))\n"
        "assert result.pages_written == 0, result\n"
        "heavy = ('markdown', 'jinja2', 'pygments', 'pagefind', 'haven.markup', 'haven.search',"
        " 'haven.render', 'haven.site.templates', 'haven.bodies')\n"
        "print(sorted(m for m in heavy if m in sys.modules))\n"
    )
    run = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "[]"


def test_a_body_edit_renders_only_that_article(tmp_path):
    root = make_site(tmp_path / "site", corpus(), site_yaml=SITE)
    session = MemoryState.for_project(root)
    build_site(root, NOW, state=session)
    site = root / "_site"
    stamps = {p: p.stat().st_mtime_ns for p in site.rglob("*") if p.is_file()}
    edit(root / ARTS / "a03.md", "Text 3", "Text three")
    result = build_site(root, NOW, state=session)
    changed = {
        p.relative_to(site).as_posix()
        for p in site.rglob("*")
        if p.is_file() and p.stat().st_mtime_ns != stamps.get(p)
    }
    assert changed - {".haven"} == {"articles/a03/index.html"} and result.pages_written == 1
    assert snapshot(site, skip=()) == clean_copy(root, tmp_path)


def test_the_dev_server_and_a_cli_build_share_the_cache_safely(tmp_path):
    """A CLI build prunes the dev server's drafts from the shared cache and rewrites links for
    its own targets; the server's next build must still equal a fresh one."""
    files = corpus()
    files[f"{ARTS}/draft.md"] = article("Draft", extra="draft: true\n", body="See [a](a01.md).")
    files[f"{ARTS}/a00.md"] = files[f"{ARTS}/a00.md"].replace("a01.md#part", "draft.md")
    root = make_site(tmp_path / "site", files, site_yaml=SITE)
    dev = tmp_path / "dev"
    serve = BuildOptions(now=NOW.now, serve=True, drafts=True, future=True, output=str(dev))
    session = MemoryState.for_project(root)
    build_site(root, serve, state=session)
    with pytest.raises(ContentError):  # outside the server, a00 links to a draft
        build_site(root, NOW)
    # Titles of the neighbours of a00 and of the draft: both pages are rendered again.
    for name in ("a01", "a08", "a09"):
        edit(root / ARTS / f"{name}.md", f"Article {int(name[1:])}", f"Renamed {name}")
    build_site(root, serve, state=session)
    fresh = tmp_path / "fresh"
    shutil.copytree(root, fresh, ignore=shutil.ignore_patterns("_site*", ".cache"))
    build_site(fresh, replace(serve, output=str(tmp_path / "dev-fresh")))
    assert snapshot(dev, skip=()) == snapshot(tmp_path / "dev-fresh", skip=())
    assert 'href="/articles/draft/"' in (dev / "articles/a00/index.html").read_text()


def test_rows_removed_under_a_running_server_are_made_again(tmp_path):
    import sqlite3

    root = make_site(tmp_path / "site", corpus(), site_yaml=SITE)
    session = MemoryState.for_project(root)
    build_site(root, NOW, state=session)
    db = sqlite3.connect(root / ".cache/haven/store.sqlite")
    db.execute("DELETE FROM body")
    db.execute("DELETE FROM link")
    db.commit()
    db.close()
    edit(root / ARTS / "a05.md", "Article 5", "Fifth article")  # re-renders its neighbours
    build_site(root, NOW, state=session)
    assert snapshot(root / "_site", skip=()) == clean_copy(root, tmp_path)


def test_library_versions_in_the_code_key_are_importlib_metadatas():
    """The code key reads versions from the dist-info folders' names: the same answers."""
    from importlib import metadata

    from haven.environment import installed_versions

    names = (
        "jinja2",
        "markdown",
        "nh3",
        "pygments",
        "pyyaml",
        "PyYAML",
        "pagefind",
        "no-such-dist",
    )
    expected = {}
    for name in names:
        try:
            expected[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            expected[name] = "none"
    assert installed_versions(names) == expected
    assert expected["no-such-dist"] == "none" and expected["markdown"] != "none"
