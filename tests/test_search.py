"""Pagefind indexing of a built folder, and its failures as clean diagnostics."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from haven import search
from haven.model import ERROR

needs_pagefind = pytest.mark.skipif(
    search.find_pagefind() is None, reason="Pagefind binary not installed (pagefind[bin])"
)

ARTICLE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title></head>
<body><nav><a href="/">Home</a> menu words that must not be indexed</nav>
<main><article data-pagefind-body><h1>{title}</h1><p>{text}</p>
<p><a href="/tags/{topic}/" data-pagefind-filter="topic">#{topic}</a></p></article></main>
</body></html>
"""


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def tiny_site(root: Path) -> Path:
    """Two articles with `data-pagefind-body` and a home page without it."""
    write(
        root / "articles/trust/index.html",
        ARTICLE.format(
            title="Trust after trauma", text="Rebuilding trust takes time.", topic="selfcare"
        ),
    )
    write(
        root / "articles/consent/index.html",
        ARTICLE.format(title="Consent", text="Consent can be withdrawn.", topic="consent"),
    )
    write(root / "index.html", "<!doctype html><html lang='en'><body><h1>Home</h1></body></html>")
    return root


def page_count(site: Path) -> int:
    entry = json.loads((site / "pagefind/pagefind-entry.json").read_text(encoding="utf-8"))
    return sum(lang["page_count"] for lang in entry["languages"].values())


@needs_pagefind
def test_index_site_writes_the_bundle_for_marked_pages(tmp_path):
    site = tiny_site(tmp_path / "site")

    assert search.index_site(site) == []

    bundle = site / "pagefind"
    for name in ("pagefind.js", "pagefind-ui.js", "pagefind-ui.css", "pagefind-entry.json"):
        assert (bundle / name).is_file(), name
    assert page_count(site) == 2  # the home page has no data-pagefind-body
    assert list((bundle / "fragment").glob("*.pf_fragment"))
    assert list((bundle / "filter").glob("*.pf_filter"))  # the topic filter was read


@needs_pagefind
def test_reindexing_replaces_the_old_bundle_without_writing_through_hard_links(tmp_path):
    site = tiny_site(tmp_path / "site")
    live = tmp_path / "live-pagefind-ui.js"
    live.write_text("the published copy", encoding="utf-8")
    stale = site / "pagefind/fragment/en_stale.pf_fragment"
    write(stale, "stale")
    os.link(live, site / "pagefind/pagefind-ui.js")  # as the writer may link unchanged files

    assert search.index_site(site, base_path="/haven/") == []

    assert not stale.exists()
    assert live.read_text(encoding="utf-8") == "the published copy"
    assert (site / "pagefind/pagefind-ui.js").read_text(encoding="utf-8") != "the published copy"
    assert page_count(site) == 2


@needs_pagefind
def test_pagefind_settings_from_the_environment_are_ignored(tmp_path, monkeypatch):
    site = tiny_site(tmp_path / "site")
    monkeypatch.setenv("PAGEFIND_OUTPUT_SUBDIR", "elsewhere")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pagefind.yml").write_text("output_subdir: elsewhere-too\n", encoding="utf-8")

    assert search.index_site(site) == []

    assert (site / "pagefind/pagefind-entry.json").is_file()
    assert not (site / "elsewhere").exists() and not (site / "elsewhere-too").exists()


@needs_pagefind
def test_folder_without_html_gives_a_clean_diagnostic(tmp_path):
    site = tmp_path / "site"
    write(site / "style.css", "body { color: black; }")

    (problem,) = search.index_site(site)

    assert problem.severity == ERROR
    assert problem.path == "pagefind"
    assert problem.code == "search-index"
    assert problem.format().startswith("pagefind: error: Pagefind failed (exit 1): ")
    assert "html" in problem.message.lower()
    assert "\x1b[" not in problem.message and "\n" not in problem.message


def test_missing_binary_gives_a_clean_diagnostic(tmp_path, monkeypatch):
    site = tiny_site(tmp_path / "site")
    monkeypatch.setattr(search, "find_pagefind", lambda: None)

    (problem,) = search.index_site(site)

    assert problem.format() == (
        "pagefind: error: the Pagefind binary was not found (install it with "
        "`pip install 'pagefind[bin]'`, or set PAGEFIND_BINARY_PATH)"
    )
    assert not (site / "pagefind").exists()


def test_binary_that_cannot_run_gives_a_clean_diagnostic(tmp_path, monkeypatch):
    site = tiny_site(tmp_path / "site")
    not_a_program = tmp_path / "pagefind"
    not_a_program.write_text("not a program", encoding="utf-8")
    not_a_program.chmod(0o644)
    monkeypatch.setattr(search, "find_pagefind", lambda: not_a_program)

    (problem,) = search.index_site(site)

    assert problem.severity == ERROR and problem.path == "pagefind"
    assert problem.message.startswith(f"could not run Pagefind ({not_a_program}): ")


def test_missing_site_folder_gives_a_diagnostic(tmp_path):
    (problem,) = search.index_site(tmp_path / "nothing-here")
    assert problem.severity == ERROR
    assert "not a folder" in problem.message


def test_find_pagefind_honours_the_binary_path_variable(tmp_path, monkeypatch):
    fake = tmp_path / "my-pagefind"
    fake.write_text("#!/bin/sh\n", encoding="utf-8")
    monkeypatch.setenv("PAGEFIND_BINARY_PATH", str(fake))

    assert search.find_pagefind() == fake


def test_ui_options_follow_the_base_path():
    assert search.ui_options("/") == {"bundlePath": "/pagefind/", "baseUrl": "/"}
    assert search.ui_options("/haven/") == {"bundlePath": "/haven/pagefind/", "baseUrl": "/haven/"}
    assert search.ui_options("haven") == search.ui_options("/haven/")
