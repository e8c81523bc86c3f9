"""Faults of the build core: the published folder, the build state in the cache, Markdown that
breaks or slows Python-Markdown, worker processes and the lock, static files, templates, caches
that are damaged or cannot be written. Each fault ends in a clear error or warning naming the
file (and line), a failed build leaves the output and the build state byte for byte as they were,
and the next good build equals a clean build. Hypothesis then throws generated Markdown bodies at
a small site with the same promises.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import markdown
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from markdown.inlinepatterns import LINK_RE, LinkInlineProcessor
from sitekit import article, make_site, run, snapshot

from haven import bodies, markup
from haven.check import collect_problems
from haven.errors import HavenError
from haven.incremental.state import MemoryState
from haven.incremental.store import CACHE_DIR, STORE_FILE, Store
from haven.markup import extensions, limits
from haven.model import ERROR, WARNING, BuildOptions
from haven.pipeline import build_site
from haven.writer import (
    LEGACY_MARKER,
    MARKER,
    MARKER_TEXT,
    STAGING_MARK,
    built_name,
    read_state,
)

NOW = BuildOptions(now=datetime(2026, 6, 1, tzinfo=UTC))
TIMEOUT = 30  # seconds: the bound on every wait here; nothing asserts on elapsed time
REFS = "- key: smith2020\n  authors: Smith, A.\n  year: 2020\n  title: On trust\n"
SAMPLE = "First paragraph.\n\nSecond, with [a link](b.md) and a citation [@smith2020].\n"
FILES = {
    "content/articles/a.md": article("A", body="## Start\n\n" + SAMPLE),
    "content/articles/b.md": article("B", date="2026-01-12", body="See [A](a.md#start)."),
    "content/pages/about.md": "---\ntitle: About\n---\n\nAbout us.\n",
    "content/references.yaml": REFS,
}
FAULT = "content/articles/fault.md"
PROJECT = Path(__file__).resolve().parent.parent


# -- one site built once, copied for each test -------------------------------------------------


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    root = make_site(tmp_path_factory.mktemp("faults-core") / "site", FILES)
    build_site(root, NOW)
    return root


@pytest.fixture
def site(built, tmp_path) -> Path:
    root = tmp_path / "site"
    shutil.copytree(built, root, symlinks=True)
    # A copy's marker has a new inode: build once so the build state names this folder.
    build_site(root, NOW)
    return root


def tree(folder: Path) -> dict[str, str]:
    """Every file below `folder` (dotfiles and the search index too) and its digest."""
    return snapshot(folder, skip=())


def build_state(root: Path) -> dict[str, str]:
    """The rows of the store that say what the next build may trust (by name, as stored)."""
    path = root / CACHE_DIR / STORE_FILE
    if not path.exists():
        return {}
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        rows = db.execute(
            "SELECT name, value FROM state WHERE name LIKE 'site:%' OR name LIKE 'built:%' "
            "OR name IN ('last-build', 'plans')"
        ).fetchall()
    finally:
        db.close()
    return {name: hashlib.sha256(value.encode()).hexdigest() for name, value in rows}


def frozen(root: Path) -> tuple:
    """The output folder, its siblings and the build state: what a failed build must not move."""
    siblings = sorted(p.name for p in root.iterdir() if p.name.startswith("_site"))
    return tree(root / "_site"), siblings, build_state(root)


def fails(root: Path, options: BuildOptions = NOW, session: MemoryState | None = None):
    """Build, expecting Haven's own error: every diagnostic names a file, nothing moved."""
    before = frozen(root)
    with pytest.raises(HavenError) as info:
        build_site(root, options, state=session)
    for d in info.value.diagnostics:
        assert d.path and os.path.lexists(root / d.path), d.format()
    assert frozen(root) == before
    return [d for d in info.value.diagnostics if d.severity == ERROR]


def clean_build(root: Path, tmp_path: Path) -> dict[str, str]:
    """What a clean build of the same sources writes."""
    clean = tmp_path / f"clean-{len(list(tmp_path.iterdir()))}"
    shutil.copytree(root, clean, ignore=shutil.ignore_patterns("_site*", ".cache"), symlinks=True)
    build_site(clean, NOW)
    return tree(clean / "_site")


def recovers(root: Path, tmp_path: Path, session: MemoryState | None = None):
    """The next good build succeeds and writes what a clean build writes."""
    result = build_site(root, NOW, state=session)
    assert tree(root / "_site") == clean_build(root, tmp_path)
    return result


def cli(capsys, root: Path, *args: str) -> tuple[int, str]:
    capsys.readouterr()
    code = run(root, *args)
    out, err = capsys.readouterr()
    return code, out + err


# -- A. the published folder holds the site and a marker, nothing more -------------------------


def test_the_published_folder_holds_no_build_state(tmp_path):
    files = {
        **FILES,
        "content/articles/secret-draft.md": article("Secret draft", extra="draft: true\n"),
        "content/articles/announced-later.md": article("Later", date="2027-03-01"),
    }
    root = make_site(tmp_path / "site", files)
    build_site(root, NOW)
    site = root / "_site"
    assert (site / MARKER).read_text() == MARKER_TEXT
    assert not (site / LEGACY_MARKER).exists()
    published = b"".join(p.read_bytes() for p in site.rglob("*") if p.is_file())
    for private in (b"secret-draft", b"announced-later", b"content/articles", b"fingerprints"):
        assert private not in published
    state = read_state(Store.for_project(root), site)
    assert state.pages["articles/a/index.html"].source == "content/articles/a.md"
    assert sorted(state.unpublished) == ["/articles/announced-later/", "/articles/secret-draft/"]


def test_the_build_state_is_kept_per_output_folder(site, tmp_path):
    other = BuildOptions(now=NOW.now, clean=True, output=str(tmp_path / "elsewhere"))
    build_site(site, other)  # --clean into another folder forgets nothing of _site/
    (site / "content/articles/b.md").write_text(article("B", date="2026-01-12", body="Edited."))
    result = build_site(site, NOW)
    assert result.pages_written == 1 and result.markdown_rendered == 1
    assert tree(site / "_site") == clean_build(site, tmp_path)


def test_a_folder_with_the_old_marker_is_recognised_once(site, tmp_path):
    old = site / "_site"
    (old / MARKER).unlink()
    (old / LEGACY_MARKER).write_text('{"generator": "haven 0.1.0", "pages": {}}')
    (old / "stale.html").write_text("left by an old build")
    result = recovers(site, tmp_path)
    assert not (old / LEGACY_MARKER).exists() and not (old / "stale.html").exists()
    assert any(d.code == "old-marker" and d.severity == WARNING for d in result.diagnostics)
    assert not any(d.code == "old-marker" for d in build_site(site, NOW).diagnostics)


def test_without_the_cache_a_build_is_full_and_check_says_what_it_cannot(site, tmp_path, capsys):
    shutil.rmtree(site / ".cache")
    result = recovers(site, tmp_path)
    assert result.pages_written > 5  # nothing was trusted, everything written again
    shutil.rmtree(site / ".cache")
    code, printed = cli(capsys, site, "check")
    assert code == 0, printed
    assert "no record of how this folder was built" in printed
    assert "reading levels and placeholders are not checked" in printed


def test_a_copied_folder_is_checked_against_the_state_not_trusted(site, tmp_path):
    site_dir = site / "_site"
    copy = site / "copy"
    shutil.copytree(site_dir, copy)  # new inodes: as a CI cache restores it
    shutil.rmtree(site_dir)
    copy.rename(site_dir)
    page = site_dir / "articles/a/index.html"
    page.write_bytes(page.read_bytes().replace(b"First paragraph", b"Tampered paragraph"))
    recovers(site, tmp_path)
    assert b"First paragraph" in page.read_bytes()


def restore(site_dir: Path) -> None:
    """As a CI cache restores a folder: the same files and times, new inodes."""
    copy = site_dir.with_name("copy")
    shutil.copytree(site_dir, copy)
    shutil.rmtree(site_dir)
    copy.rename(site_dir)


def test_a_folder_restored_whole_is_trusted_again_and_left_as_it_is(site):
    site_dir = site / "_site"
    restore(site_dir)
    files = {p: p.stat().st_ino for p in site_dir.rglob("*") if p.is_file()}
    assert build_site(site, NOW).pages_written == 0
    # Not staged afresh: every file is the one restored (a staged folder would hold new links).
    assert {p: p.stat().st_ino for p in site_dir.rglob("*") if p.is_file()} == files
    assert read_state(Store.for_project(site), site_dir).trusted


def test_a_restored_folder_holding_a_file_of_its_own_is_written_afresh(site):
    site_dir = site / "_site"
    restore(site_dir)
    (site_dir / "stray.html").write_text("not built by Haven")
    build_site(site, NOW)
    assert not (site_dir / "stray.html").exists()
    assert (site_dir / "articles/a/index.html").is_file()


def test_check_warns_when_the_site_is_older_than_its_sources(site, capsys):
    assert not [p for p in collect_problems(site, now=NOW.now) if p.kind == "stale-site"]
    # As if the last build of _site/ were ten seconds older (file times may be whole seconds).
    store = Store.for_project(site)
    name = built_name(site / "_site")
    store.put(name, store.get(name) - 10**10)
    store.close()
    # Previewing with `serve` builds into .cache/serve/site, never _site/.
    (site / "content/articles/b.md").write_text(article("B", body="Edited while previewing."))
    build_site(site, BuildOptions(now=NOW.now, serve=True, output=".cache/serve/site"))
    code, printed = cli(capsys, site, "check")
    assert "[stale-site]" in printed and "content/articles/b.md" in printed
    assert "build --check" in printed
    build_site(site, NOW)
    assert not [p for p in collect_problems(site, now=NOW.now) if p.kind == "stale-site"]


# -- fault 1: Markdown nested too deeply; a failed render leaves nothing behind ----------------

DEEP = "\n".join("    " * i + "- item" for i in range(400))


def test_a_body_nested_too_deeply_is_an_error_on_its_line(site, tmp_path):
    (site / FAULT).write_text(article("Fault", body="Intro.\n\n" + DEEP))
    [error] = fails(site)
    assert (error.path, error.code) == (FAULT, "too-deep")
    # The body starts on line 8; its list, on line 10, nests one level deeper on each line.
    assert error.line == 10 + markup.MAX_NESTING  # the first line nested deeper than allowed
    (site / FAULT).unlink()
    recovers(site, tmp_path)


def _in_a_thread(target):
    """Run `target` as the dev server runs its builds: in a thread that is not the main one."""
    outcome = {}

    def go():
        try:
            outcome["value"] = target()
        except BaseException as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=go)
    thread.start()
    thread.join(TIMEOUT)
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")


@pytest.mark.parametrize("where", ["build process", "forked workers", "dev-server thread"])
def test_a_recursion_error_leaves_no_state_in_any_process(site, tmp_path, monkeypatch, where):
    monkeypatch.setattr(limits, "MAX_NESTING", 10**6)  # let the body reach Python-Markdown
    if where == "forked workers":
        monkeypatch.setattr(bodies, "POOL_THRESHOLD", 1)
        # Forked even if an earlier test left a thread running (which would pick a fork server).
        monkeypatch.setattr(bodies, "start_method", lambda: "fork")
    # The body that fails comes first; the same process then renders the others.
    (site / "content/articles/0-fault.md").write_text(article("Fault", body=DEEP))
    for i in range(4):
        (site / f"content/articles/more{i}.md").write_text(article(f"M{i}", body=SAMPLE))
    session = MemoryState.for_project(site) if where == "dev-server thread" else None

    def attempt():
        return fails(site, session=session)

    errors = _in_a_thread(attempt) if session else attempt()
    assert [(e.path, e.code) for e in errors] == [("content/articles/0-fault.md", "too-deep")]
    assert errors[0].line == 8 + 399  # the deepest line (the body starts on line 8)
    fresh = markup.render(SAMPLE, path="x.md", body_line=1)
    assert "<p>First paragraph.</p>" in fresh.html and 'href="#ref-smith2020"' in fresh.html
    (site / "content/articles/0-fault.md").unlink()
    if session:
        _in_a_thread(lambda: build_site(site, NOW, state=session))
        assert tree(site / "_site") == clean_build(site, tmp_path)
    else:
        recovers(site, tmp_path)


# -- fault 2: no process outlives a build; a stale lock is recovered ----------------------------

SLOW_WORKERS = """
import os, sys, time
from pathlib import Path
from haven import bodies, cli, render

root, flag, pool = sys.argv[1], Path(sys.argv[2]), sys.argv[3]
build = os.getpid()
if pool == "bodies":
    bodies.POOL_THRESHOLD = 2
    real_one = bodies._render_one

    def _render_one(job):
        flag.write_text("working")
        time.sleep(60)
        return real_one(job)

    bodies._render_one = _render_one
else:  # the page renderers, forked while the build holds the output's lock
    render.PARALLEL_PAGES = 1
    real_range = render._render_range

    def _render_range(bounds):
        if os.getpid() != build:
            flag.write_text("working")
            time.sleep(60)
        return real_range(bounds)

    render._render_range = _render_range
sys.exit(cli.main(["build", "--root", root]))
"""


def _children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat[stat.rfind(")") + 2 :].split()[1]) == pid:
                found.append(int(entry))
    return found


def _running(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rfind(")") + 2] != "Z"  # a zombie has ended


def _wait(condition, what: str) -> None:
    end = time.monotonic() + TIMEOUT
    while not condition():
        assert time.monotonic() < end, what
        time.sleep(0.05)


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="one CPU: no worker processes")
@pytest.mark.parametrize("pool", ["bodies", "pages"])
def test_kill_9_of_a_build_leaves_no_process_and_no_lock(site, tmp_path, pool):
    for i in range(4):
        (site / f"content/articles/more{i}.md").write_text(article(f"M{i}", body=f"Text {i}."))
    flag = tmp_path / "flag"
    proc = subprocess.Popen(
        [sys.executable, "-c", SLOW_WORKERS, str(site), str(flag), pool],
        cwd=PROJECT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait(flag.exists, "no worker started")
        workers = _children(proc.pid)
        assert workers
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(TIMEOUT)
    finally:
        proc.kill()
    _wait(lambda: not any(_running(pid) for pid in workers), "a worker outlived the build")
    recovers(site, tmp_path)


LOCKER = """
import fcntl, json, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT)
fcntl.flock(fd, fcntl.LOCK_EX)
stat = open(f"/proc/{os.getpid()}/stat").read()
start = stat[stat.rfind(")") + 2 :].split()[19]
holder = {"live": (os.getpid(), start), "gone": (int(sys.argv[2]), None), "reused": (os.getpid(), "1")}
pid, start = holder[sys.argv[3]]
os.ftruncate(fd, 0)
os.write(fd, json.dumps({"pid": pid, "start": start}).encode())
print("locked", flush=True)
time.sleep(60)
"""


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
@pytest.mark.parametrize("holder", ["live", "gone", "reused"])
def test_a_lock_whose_holder_is_gone_is_recovered_with_a_note(site, tmp_path, holder):
    nobody = int(Path("/proc/sys/kernel/pid_max").read_text()) + 1  # a pid no process has
    locker = subprocess.Popen(
        [sys.executable, "-c", LOCKER, str(site / "_site.lock"), str(nobody), holder],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert locker.stdout.readline().strip() == "locked"
        (site / "content/articles/b.md").write_text(article("B", body="Changed."))
        if holder == "live":
            [error] = fails(site)
            assert error.code == "lock" and f"pid {locker.pid}" in error.message
            return
        result = recovers(site, tmp_path)
        [note] = [d for d in result.diagnostics if d.code == "stale-lock"]
        assert note.severity == WARNING and note.path == "_site.lock"
    finally:
        locker.kill()
        locker.wait()


def test_leftover_staging_folders_of_a_killed_build_and_its_pagefind_are_removed(site, tmp_path):
    for name in ("_site.tmp-99999", "_site.tmp-99999-pagefind"):
        (site / name / "pagefind").mkdir(parents=True)
        (site / name / STAGING_MARK).touch()
    (site / "content/articles/b.md").write_text(article("B", body="Changed."))
    recovers(site, tmp_path)
    assert sorted(p.name for p in site.iterdir() if p.name.startswith("_site")) == [
        "_site",
        "_site.lock",
    ]


# -- fault 3: `slug:` added to a standalone page -------------------------------------------------


@pytest.mark.parametrize("with_session", [False, True], ids=["cli", "dev-server-session"])
def test_a_slug_added_to_a_page_keeps_incremental_builds_working(site, tmp_path, with_session):
    session = MemoryState.for_project(site) if with_session else None
    build_site(site, NOW, state=session)
    about = site / "content/pages/about.md"
    about.write_text("---\ntitle: About\nslug: who-we-are\n---\n\nAbout us.\n")
    for _ in range(2):
        build_site(site, NOW, state=session)
        assert tree(site / "_site") == clean_build(site, tmp_path)
    assert (site / "_site/who-we-are/index.html").is_file()
    about.write_text("---\ntitle: About\n---\n\nAbout us.\n")
    build_site(site, NOW, state=session)
    assert tree(site / "_site") == clean_build(site, tmp_path)


# -- fault 4: costs that grew faster than the input; a bounded render time ---------------------


def test_many_identical_headings_count_on_from_the_last_number():
    r = markup.render("## Same\n\nx\n\n" * 3000 + "## Same 1\n", path="x.md", body_line=1)
    ids = [h.id for h in r.headings]
    assert ids[:3] == ["same", "same-1", "same-2"] and ids[2999] == "same-2999"
    assert ids[3000] == "same-1-1"  # the id 'same-1' is taken: the usual suffix follows
    assert len(set(ids)) == len(ids)


@pytest.mark.parametrize("run_of", ["[", "[x ", "![", "![x ", "[@", "[@key ", "[a]("])
def test_long_runs_of_unclosed_brackets_render(run_of):
    r = markup.render("Start " + run_of * 20000 + " end.", path="x.md", body_line=1)
    assert r.html.startswith("<p>Start ") and r.html.endswith("end.</p>")


@given(text=st.text(alphabet="[]()!\\@ab\n", max_size=40))
@settings(max_examples=200, deadline=None, database=None)
def test_the_bracket_table_finds_what_python_markdown_finds(text):
    """The fast `getText` gives what Python-Markdown's own gives, at every `[`."""
    md = markdown.Markdown()
    md.treeprocessors["inline"].stashed_nodes = {}  # as during a conversion
    stock = LinkInlineProcessor(LINK_RE, md)
    fast = extensions.fast_brackets(LinkInlineProcessor)(LINK_RE, md)
    fast.haven = extensions.HavenExtension()
    for index in (i + 1 for i, c in enumerate(text) if c == "["):
        assert fast.getText(text, index) == stock.getText(text, index)
    for index in range(len(text) + 1):
        assert fast.getLink(text, index) == stock.getLink(text, index)


@pytest.mark.parametrize("where", ["build process", "forked workers", "dev-server thread"])
def test_a_render_over_its_time_is_stopped_and_named(site, tmp_path, monkeypatch, where):
    # One input that is still slow in Python-Markdown: a long run of '[a](' closed at the end.
    monkeypatch.setattr(limits, "RENDER_SECONDS", 0.3)
    if where == "forked workers":
        monkeypatch.setattr(bodies, "POOL_THRESHOLD", 1)
        # Forked even if an earlier test left a thread running (which would pick a fork server).
        monkeypatch.setattr(bodies, "start_method", lambda: "fork")
    (site / FAULT).write_text(article("Fault", body="[a](" * 40000 + ")"))
    (site / "content/articles/more.md").write_text(article("More", body=SAMPLE))
    session = MemoryState.for_project(site) if where == "dev-server thread" else None
    errors = _in_a_thread(lambda: fails(site, session=session)) if session else fails(site)
    assert [(e.path, e.code) for e in errors] == [(FAULT, "render-time")]
    assert "longer than 0.3 seconds" in errors[0].message
    (site / FAULT).write_text(article("Fault", body="Shorter now."))
    monkeypatch.setattr(limits, "RENDER_SECONDS", 10.0)
    if session:
        _in_a_thread(lambda: build_site(site, NOW, state=session))
        assert tree(site / "_site") == clean_build(site, tmp_path)
    else:
        recovers(site, tmp_path)


def test_a_pipe_in_static_is_an_error_not_a_hang(site, tmp_path):
    os.mkfifo(site / "static/pipe")
    before = frozen(site)
    done = subprocess.run(
        [sys.executable, "build.py", "--root", str(site)],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        timeout=TIMEOUT * 2,
    )
    assert done.returncode == 1
    assert "static/pipe: error: this is a named pipe (FIFO), not a file" in done.stderr
    assert frozen(site) == before
    (site / "static/pipe").unlink()
    recovers(site, tmp_path)


# -- fault 5: templates, static files, caches and outputs that cannot be used ------------------


def test_a_binary_template_is_an_error_naming_it(site, tmp_path):
    template = site / "templates/topic.html"
    text = template.read_bytes()
    template.write_bytes(b"{% extends 'base.html' %}\n\xff\xfe\x00\x89PNG")
    [error] = fails(site)
    assert (error.path, error.line) == ("templates/topic.html", 2)
    assert "not UTF-8 text" in error.message
    template.write_bytes(text)
    recovers(site, tmp_path)


@pytest.mark.parametrize("kind", ["dangling symlink", "socket", "unreadable"])
def test_a_file_in_static_that_cannot_be_copied_is_an_error_naming_it(
    site, tmp_path, monkeypatch, kind
):
    target = site / "static/bad.css"
    if kind == "dangling symlink":
        target.symlink_to(site / "static/gone.css")
        expected = "broken symlink"
    elif kind == "socket":
        sock = socket.socket(socket.AF_UNIX)
        monkeypatch.chdir(site / "static")  # a socket's path must be short
        sock.bind("bad.css")
        expected = "this is a socket, not a file"
    else:
        target.write_text("p {}")
        real_open = os.open

        def refuse(path, *args, **kwargs):
            if str(path) == str(target):
                raise PermissionError(13, "Permission denied", str(path))
            return real_open(path, *args, **kwargs)

        monkeypatch.setattr(os, "open", refuse)  # root reads any file: refuse it here
        expected = "cannot read this file: Permission denied"
    [error] = fails(site)
    assert error.path == "static/bad.css" and expected in error.message
    target.unlink()
    monkeypatch.undo()
    recovers(site, tmp_path)


@pytest.mark.parametrize("how", ["cache is a file", "store is a folder"])
def test_a_cache_that_cannot_be_used_only_costs_time(site, tmp_path, how):
    shutil.rmtree(site / ".cache/haven")
    if how == "cache is a file":
        shutil.rmtree(site / ".cache")
        (site / ".cache").write_text("not a folder")
    else:
        (site / CACHE_DIR / STORE_FILE).mkdir(parents=True)
    (site / "content/articles/b.md").write_text(article("B", body="Changed."))
    strict = BuildOptions(now=NOW.now, strict=True)  # a cache problem is never an error
    result = build_site(site, strict)
    [note] = [d for d in result.diagnostics if d.code == "cache"]
    assert note.severity == WARNING and note.path == f"{CACHE_DIR}/{STORE_FILE}"
    assert "cannot use the build cache" in note.message
    assert tree(site / "_site") == clean_build(site, tmp_path)


def test_an_output_that_cannot_be_written_is_an_error_naming_it(site, capsys):
    (site / "blocked").write_text("a file where a folder must go")
    code, printed = cli(capsys, site, "build", "--output", "blocked/site")
    assert code == 1
    assert "blocked: error: cannot write the output: a file is where a folder must go" in printed
    assert "internal error" not in printed


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into any folder")
def test_a_read_only_project_fails_naming_the_output(site, tmp_path):
    (site / "content/articles/b.md").write_text(article("B", body="Changed."))
    os.chmod(site, 0o555)
    try:
        [error] = fails(site)
        assert error.code == "write-error"
    finally:
        os.chmod(site, 0o755)


def test_a_damaged_store_is_discarded_with_a_warning_and_made_again(site, tmp_path):
    store = site / CACHE_DIR / STORE_FILE
    data = bytearray(store.read_bytes())
    data[100:] = bytes(len(data) - 100)  # the header stays; every page of the tables is lost
    store.write_bytes(bytes(data))
    (site / "content/articles/b.md").write_text(article("B", body="Changed."))
    result = recovers(site, tmp_path)
    [note] = [d for d in result.diagnostics if d.code == "cache"]
    assert note.severity == WARNING and "damaged" in note.message
    assert not [d for d in build_site(site, NOW).diagnostics if d.code == "cache"]


class _Touch:
    """Unpickling this creates a file: what a cache restored from elsewhere could hold."""

    def __init__(self, path: Path):
        self.path = path

    def __reduce__(self):
        return (Path.touch, (self.path,))


def test_foreign_rows_are_discarded_and_never_run(site, tmp_path):
    ran = tmp_path / "ran"
    db = sqlite3.connect(site / CACHE_DIR / STORE_FILE)
    with db:
        for table in ("doc", "state"):
            column = "key" if table == "doc" else "name"
            (key,) = db.execute(f"SELECT {column} FROM {table} LIMIT 1").fetchone()
            foreign = json.dumps({"r": ["system", [f"touch {ran}"]]})
            db.execute(f"UPDATE {table} SET value=? WHERE {column}=?", (foreign, key))
        db.execute("UPDATE body SET brief='not json'")
    db.close()
    # What Haven before 0.2 kept: pickles, one of which would run code if it were loaded.
    (site / CACHE_DIR / "last-build.pickle").write_bytes(pickle.dumps(_Touch(ran)))
    (site / CACHE_DIR / "jinja").mkdir()
    (site / "content/articles/b.md").write_text(article("B", body="Changed."))
    result = recovers(site, tmp_path)
    assert not ran.exists()
    assert any(d.code == "cache" and "discarded" in d.message for d in result.diagnostics)
    assert {p.name.split("-")[0] for p in (site / CACHE_DIR).iterdir()} == {STORE_FILE}


def test_the_cache_holds_json_data_only(site):
    db = sqlite3.connect(site / CACHE_DIR / STORE_FILE)
    values = [v for (v,) in db.execute("SELECT value FROM state UNION ALL SELECT value FROM doc")]
    values += [v for row in db.execute("SELECT brief, facts FROM body") for v in row]
    values += [v for (v,) in db.execute("SELECT state FROM link")]
    db.close()
    assert values and all(isinstance(v, str) and json.loads(v) is not None for v in values)


# -- fault 6: what would publish the wrong thing -------------------------------------------------


def test_an_unclosed_comment_is_an_error_and_the_note_is_not_published(site, tmp_path):
    body = "Intro.\n\n<!-- note for editors: ask Sam before publishing\n\nMore text.\n"
    (site / FAULT).write_text(article("Fault", body=body))
    [error] = fails(site)
    assert (error.path, error.line, error.code) == (FAULT, 10, "unclosed-comment")
    assert not any(b"ask Sam" in p.read_bytes() for p in (site / "_site").rglob("*.html"))
    (site / FAULT).write_text(article("Fault", body=body.replace("publishing", "publishing -->")))
    recovers(site, tmp_path)
    assert not any(b"ask Sam" in p.read_bytes() for p in (site / "_site").rglob("*.html"))


def test_an_unclosed_div_is_an_error_on_its_line(site, tmp_path):
    body = 'Intro.\n\n<div class="note">\n\nSome *text*.\n\n## Later\n\nMore.\n'
    (site / FAULT).write_text(article("Fault", body=body))
    [error] = fails(site)
    assert (error.path, error.line, error.code) == (FAULT, 10, "unclosed-html")
    assert "</div>" in error.hint
    (site / FAULT).write_text(article("Fault", body=body.replace("*text*.", "*text*.\n\n</div>")))
    recovers(site, tmp_path)


def test_raw_html_cannot_take_the_themes_ids(site, tmp_path):
    body = 'Intro.\n\n<div id="main">Mine.</div>\n\n<p id="summary">Also mine.</p>\n'
    (site / FAULT).write_text(article("Fault", body=body))
    result = recovers(site, tmp_path)
    warned = {d.line for d in result.diagnostics if d.path == FAULT and d.code == "raw-html"}
    assert warned == {10, 12}
    page = (site / "_site/articles/fault/index.html").read_text()
    assert page.count('id="main"') == 1 and page.count('id="summary"') == 1


# -- fault 9: one error per cause ---------------------------------------------------------------


def test_a_template_error_is_reported_once_with_the_pages_it_stops(site, tmp_path, capsys):
    template = site / "templates/article.html"
    text = template.read_text()
    template.write_text(text.replace("{% block head %}", "{% block head %}{{ article.nope.x }}"))
    for i in range(3):
        (site / f"content/articles/more{i}.md").write_text(article(f"M{i}", body=f"Text {i}."))
    [error] = fails(site)
    assert error.path == "templates/article.html" and error.line
    assert "rendering 5 pages, the first articles/" in error.message
    template.write_text(text)
    recovers(site, tmp_path)


def test_a_slug_collision_is_one_error_naming_both_slug_lines(site, tmp_path):
    (site / "content/pages/team.md").write_text("---\ntitle: Team\nslug: about\n---\n\nUs.\n")
    [error] = fails(site)
    assert (error.path, error.line, error.key) == ("content/pages/team.md", 3, "slug")
    assert "/about/ is also the address of content/pages/about.md" in error.message
    (site / "content/pages/team.md").write_text("---\ntitle: Team\nslug: team\n---\n\nUs.\n")
    recovers(site, tmp_path)


# -- property-based fuzzing of Markdown bodies --------------------------------------------------

TOKENS = [
    "word ",
    "Two words. ",
    "\n",
    "\n\n",
    "    ",
    "  ",
    "- ",
    "1. ",
    "> ",
    "## ",
    "### ",
    "# ",
    "*",
    "**",
    "_",
    "`",
    "```\n",
    "~~~",
    "[",
    "]",
    "(",
    ")",
    "![",
    "[@",
    "[@smith2020]",
    "[@nobody]",
    "[a](b.md)",
    "[x](a.md#start)",
    "[broken](nowhere.md)",
    "<",
    ">",
    "</",
    "<div>",
    "</div>",
    '<div id="main">',
    "<p>",
    "<span>",
    "<!--",
    "-->",
    "<script>",
    "&",
    "&amp;",
    "\\",
    "|",
    "| a | b |\n|---|---|\n",
    ":",
    "{#id}",
    "[^1]",
    "[^1]: note\n",
    "---\n",
    "\t",
    "é",
    "心",
    "\u200b",
    "## Questions\n\n### Why?\n",
]
BODIES = st.one_of(
    st.lists(st.sampled_from(TOKENS), max_size=40).map("".join),
    st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=200),
)


@pytest.fixture(scope="module")
def fuzz_site(built, tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("fuzz") / "site"
    shutil.copytree(built, root, symlinks=True)
    build_site(root, NOW)
    return root


@settings(
    max_examples=int(os.environ.get("HAVEN_FUZZ_EXAMPLES", 30)),
    deadline=None,
    database=None,  # nothing written into the worktree
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(body=BODIES)
def test_fuzzed_bodies_build_or_fail_cleanly(fuzz_site, body):
    root = fuzz_site
    path = root / FAULT
    path.write_text(article("Fuzz", body=body or "x"), encoding="utf-8")
    before = frozen(root)
    try:
        result = build_site(root, NOW)
    except HavenError as exc:
        assert exc.diagnostics, exc
        for d in exc.diagnostics:
            assert d.path and (root / d.path).exists(), d.format()
        assert frozen(root) == before
    else:
        assert result.ok
        for d in result.diagnostics:
            assert d.path, d.format()
    finally:
        path.unlink()
