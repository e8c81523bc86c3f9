"""The writer: atomic swap, unchanged files kept, marker, refusals, lock."""

import os
from pathlib import Path

import pytest

from haven.errors import BuildError, UsageError
from haven.incremental.store import Store
from haven.manifest import Manifest
from haven.model import Output
from haven.writer import MARKER, MARKER_TEXT, read_state, write_site


def snapshot(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def build(tmp_path: Path, files: dict[str, str], **kwargs):
    outputs = [Output(path, text.encode()) for path, text in files.items()]
    return write_site(outputs, tmp_path / "_site", root=tmp_path, manifest=Manifest(), **kwargs)


def test_writes_files_and_marker(tmp_path):
    stats = build(tmp_path, {"index.html": "home", "a/index.html": "a"})
    out = tmp_path / "_site"
    assert (out / "index.html").read_text() == "home"
    assert (out / MARKER).read_text() == MARKER_TEXT  # says it is Haven's, and nothing more
    assert stats.written == 2 and stats.unchanged == 0
    state = read_state(Store.for_project(tmp_path), out)
    assert set(state.digests) == {"index.html", "a/index.html"}


def test_unchanged_files_keep_their_mtime_and_stale_files_go(tmp_path):
    build(tmp_path, {"index.html": "home", "old/index.html": "old"})
    out = tmp_path / "_site"
    past = 1_000_000_000
    os.utime(out / "index.html", (past, past))
    stats = build(tmp_path, {"index.html": "home", "new/index.html": "new"})
    assert (out / "index.html").stat().st_mtime == past
    assert not (out / "old").exists()
    assert (out / "new/index.html").read_text() == "new"
    assert stats.unchanged == 1 and stats.written == 1


def test_failure_before_swap_leaves_previous_output_identical(tmp_path):
    build(tmp_path, {"index.html": "home"})
    before = snapshot(tmp_path / "_site")

    def explode(staging, changed):
        raise RuntimeError("interrupted")

    with pytest.raises(RuntimeError):
        build(tmp_path, {"index.html": "changed"}, before_swap=explode)
    assert snapshot(tmp_path / "_site") == before
    assert [p.name for p in tmp_path.iterdir() if ".tmp-" in p.name] == []


def test_refuses_a_folder_it_did_not_make(tmp_path):
    out = tmp_path / "_site"
    out.mkdir()
    (out / "precious.txt").write_text("keep me")
    with pytest.raises(UsageError) as info:
        build(tmp_path, {"index.html": "home"})
    assert "was not built by Haven" in info.value.diagnostics[0].message
    assert (out / "precious.txt").read_text() == "keep me"


@pytest.mark.parametrize("name", [".", "content", "templates", "static"])
def test_refuses_project_and_source_folders(tmp_path, name):
    (tmp_path / name).mkdir(exist_ok=True)
    with pytest.raises(UsageError):
        write_site(
            [Output("index.html", b"x")], tmp_path / name, root=tmp_path, manifest=Manifest()
        )


def test_refuses_paths_that_escape(tmp_path):
    with pytest.raises(BuildError):
        build(tmp_path, {"../escape.html": "x"})
    assert not (tmp_path / "escape.html").exists()


def test_keep_files_survive(tmp_path):
    build(tmp_path, {"index.html": "home"})
    (tmp_path / "_site" / "CNAME").write_text("example.org")
    build(tmp_path, {"index.html": "home"}, keep_files=["CNAME"])
    assert (tmp_path / "_site" / "CNAME").read_text() == "example.org"


def test_leftover_staging_folder_is_cleaned(tmp_path):
    build(tmp_path, {"index.html": "home"})
    leftover = tmp_path / "_site.tmp-99999"
    leftover.mkdir()
    (leftover / ".haven-staging").touch()
    build(tmp_path, {"index.html": "home"})
    assert not leftover.exists()


def test_lock_refuses_a_concurrent_build(tmp_path):
    import fcntl

    build(tmp_path, {"index.html": "home"})
    fd = os.open(tmp_path / "_site.lock", os.O_RDWR)
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        with pytest.raises(BuildError) as info:
            build(tmp_path, {"index.html": "other"})
        assert "another build is writing" in str(info.value)
    finally:
        os.close(fd)
    assert (tmp_path / "_site/index.html").read_text() == "home"
