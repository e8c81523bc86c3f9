"""The dev server driving the real pipeline on a fixture site: drafts, reload, overlay, recovery."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sitekit import article, make_site
from test_serve import Events, Lines, request

from haven.serve import DevServer


@pytest.fixture
def served(tmp_path):
    root = make_site(
        tmp_path / "site",
        {
            "content/articles/hello.md": article("Hello", body="First version."),
            "content/articles/draft.md": article("Work in progress", extra="draft: true\n"),
            "content/articles/later.md": article("Later", date="2999-01-01"),
        },
    )
    server = DevServer(root, port=0, echo=Lines())
    server.start()
    yield root, server
    server.stop()


def save(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def test_real_builds_show_drafts_reload_and_survive_a_broken_edit(served):
    root, server = served
    status, headers, body = request(server, "/articles/hello/")
    assert status == 200 and "First version." in body
    assert "/__haven/reload.js" in body
    assert "Draft" in request(server, "/articles/draft/")[2]
    assert "Scheduled" in request(server, "/articles/later/")[2]
    assert not (root / "_site").exists()  # the preview never touches the published folder

    events = Events(server)
    try:
        events.next()
        hello = root / "content/articles/hello.md"
        save(hello, article("Hello", body="Second version."))
        events.reload_until(lambda: "Second version." in request(server, "/articles/hello/")[2])

        save(hello, article("Hello", body="Broken.", date="2026-02-30"))
        events.reload_until(lambda: bool(server.errors))
        body = request(server, "/articles/hello/")[2]
        assert "Second version." in body and "haven-error-overlay" in body
        assert "content/articles/hello.md:3" in body

        save(hello, article("Hello", body="Third version."))
        events.reload_until(lambda: "Third version." in request(server, "/articles/hello/")[2])
        assert "haven-error-overlay" not in request(server, "/articles/hello/")[2]
    finally:
        events.close()
