"""The search index built in batches and spliced on an edit: it decodes equal to the bundle
Pagefind writes for the whole site, byte for byte equal to a clean build, and no Pagefind
process outlives a build."""

from __future__ import annotations

import importlib.util
import os
import pickle
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from datetime import UTC, datetime
from pathlib import Path

import cbor2
import pytest
from sitekit import PROJECT, SITE_YAML, article, make_site, run, snapshot

from haven import search
from haven.errors import BuildError
from haven.incremental.state import MemoryState
from haven.model import WARNING, BuildOptions
from haven.pipeline import build_site
from haven.search import bundle, index

pytestmark = pytest.mark.skipif(
    search.find_pagefind() is None, reason="Pagefind binary not installed (pagefind[bin])"
)
NOW = datetime(2026, 11, 20, tzinfo=UTC)
YAML = SITE_YAML.replace("search: false", "search: true")
ARTS = "content/articles"


def files(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()
    }


def described(out: Path) -> dict:
    """The site's search bundle, decoded (haven/search/bundle.py)."""
    return bundle.describe(files(out / "pagefind"))


def whole_site(root: Path, out: Path, monkeypatch, now: datetime = NOW) -> Path:
    """Pagefind's own bundle of the same records: one process for the whole site (the path
    Haven takes for a Pagefind it was not tested with), published as Pagefind wrote it."""
    with monkeypatch.context() as m:
        m.setattr(bundle, "TESTED_VERSIONS", frozenset())
        build_site(root, BuildOptions(now=now, clean=True, output=str(out)))
    return out


def clean_build(root: Path, tmp_path: Path) -> dict[str, str]:
    """What a clean build of the same sources writes, with the same batch size."""
    clean = tmp_path / f"clean-{len(list(tmp_path.iterdir()))}"
    shutil.copytree(root, clean, ignore=shutil.ignore_patterns("_site*", ".cache"))
    build_site(clean, BuildOptions(now=NOW))
    return snapshot(clean / "_site", skip=())


def body(i: int) -> str:
    words = ["calm", "breathing", "trust", "sleep", "memory", "anger", "shame", "support"]
    extra = " Café and naïve fiancée." if i % 5 == 0 else ""  # diacritic variants
    return (
        f"## Part {i}\n\nText {i} about {words[i % 8]} and {words[(i * 3) % 8]}.{extra}\n\n"
        f"## Later\n\nA {words[(i + 1) % 8]} paragraph, number {i}.\n"
    )


def small_site(tmp_path: Path, n: int = 12) -> Path:
    files_ = {
        f"{ARTS}/a{i:02d}.md": article(
            f"Article {i}",
            date=f"2026-{1 + i // 28:02d}-{i % 28 + 1:02d}",
            tags=(("selfcare",), ("communication",), ("selfcare", "communication"))[i % 3],
            body=body(i),
            extra="content_notes: [suicide]\n" if i % 4 == 1 else "",
        )
        for i in range(n)
    }
    files_["content/pages/get-help.md"] = (
        "---\ntitle: Get help\nlayout: help\n---\n\nYou can call a line now.\n"
    )
    return make_site(tmp_path / "site", files_, site_yaml=YAML)


@pytest.fixture
def batches_of(monkeypatch):
    """Index in batches of `n` pages, so a small site has several blocks to merge."""

    def set_size(n: int) -> None:
        monkeypatch.setattr(index, "BATCH_SIZE", n)

    return set_size


# -- merged bundle = Pagefind's own -------------------------------------------------------------


def test_batches_merge_into_the_bundle_pagefind_writes_for_the_whole_site(
    tmp_path, batches_of, monkeypatch
):
    root = small_site(tmp_path)
    batches_of(4)
    build_site(root, BuildOptions(now=NOW))
    reference = whole_site(root, tmp_path / "whole", monkeypatch)

    assert described(root / "_site") == described(reference)
    # More than one block, a variant (café) and a meta field some batches lack (content_note).
    state = _state(root)
    assert len(state.blocks) == 4 and state.variant_words and "content_note" in state.fields
    # The batch size changes nothing of what is published.
    batches_of(1000)
    one = tmp_path / "one-batch"
    build_site(root, BuildOptions(now=NOW, clean=True, output=str(one)))
    assert snapshot(one / "pagefind", skip=()) == snapshot(root / "_site/pagefind", skip=())


def test_the_projects_own_site_merges_and_splices_to_pagefinds_bundle(
    tmp_path, batches_of, monkeypatch
):
    root = tmp_path / "own"
    root.mkdir()
    for name in ("site.yaml", "content", "templates", "static"):
        src = PROJECT / name
        (shutil.copytree if src.is_dir() else shutil.copy2)(src, root / name)
    now = datetime.now(tz=UTC)  # the site's own articles are dated up to today
    batches_of(5)
    build_site(root, BuildOptions(now=now))
    reference = whole_site(root, tmp_path / "w1", monkeypatch, now)
    assert described(root / "_site") == described(reference)

    first = sorted((root / ARTS).glob("*.md"))[2]
    text = first.read_text(encoding="utf-8")
    cut = text.index("\n\n", len(text) // 2)
    first.write_text(text[:cut] + "\n\nA new paragraph on flashbacks.\n" + text[cut:])
    (root / ARTS / "aaa-new.md").write_text(
        article("A new first article", tags=("#gettinghelp",), body="Samaritans answer."),
        encoding="utf-8",
    )
    build_site(root, BuildOptions(now=now))
    reference = whole_site(root, tmp_path / "w2", monkeypatch, now)
    assert described(root / "_site") == described(reference)
    assert len(_state(root).blocks) > 1


# -- every kind of edit: splice = clean build = Pagefind's own ----------------------------------


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, (path, old)
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


EDITS = [
    (
        "sentence in the middle",
        lambda r: _edit(r / ARTS / "a03.md", "## Later", "Now more.\n\n## Later"),
    ),
    (
        "sentence at the end",
        lambda r: _edit(r / ARTS / "a05.md", "number 5.", "number 5. The end."),
    ),
    ("same page again", lambda r: _edit(r / ARTS / "a03.md", "Now more.", "Now much more.")),
    (
        "added before every page",
        lambda r: (r / ARTS / "a-first.md").write_text(
            article("A first", date="2026-02-01", body="Naïve words first."), encoding="utf-8"
        ),
    ),
    (
        "added after every page",
        lambda r: (r / ARTS / "zz-last.md").write_text(
            article("Z last", date="2026-02-02", body="Last words."), encoding="utf-8"
        ),
    ),
    ("deleted", lambda r: (r / ARTS / "a07.md").unlink()),
    ("renamed", lambda r: (r / ARTS / "a08.md").rename(r / ARTS / "m-eight.md")),
    ("title", lambda r: _edit(r / ARTS / "a02.md", "Article 2", "Second article")),
    ("topics", lambda r: _edit(r / ARTS / "a06.md", '"selfcare"', '"communication"')),
    (
        "topic label",
        lambda r: _edit(r / "site.yaml", "label: Self-care", "label: Caring for yourself"),
    ),
    ("last content note removed", lambda r: _remove_notes(r)),
    (
        "content note back",
        lambda r: _edit(r / ARTS / "a06.md", "tags:", "content_notes: [suicide]\ntags:"),
    ),
    ("diacritics gone", lambda r: _edit(r / ARTS / "a00.md", " Café and naïve fiancée.", "")),
    ("drafted", lambda r: _edit(r / ARTS / "a09.md", "tags:", "draft: true\ntags:")),
    ("support line", lambda r: _edit(r / "site.yaml", "name: Test line", "name: Test helpline")),
    ("template only", lambda r: _edit(r / "templates/base.html", "</body>", "<!-- v2 --></body>")),
]


def _remove_notes(root: Path) -> None:
    for path in (root / ARTS).glob("*.md"):
        text = path.read_text(encoding="utf-8")
        path.write_text(text.replace("content_notes: [suicide]\n", ""), encoding="utf-8")


@pytest.mark.parametrize("with_session", [False, True], ids=["cli", "dev-server-session"])
def test_every_kind_of_edit_splices_to_a_clean_build_and_pagefinds_bundle(
    tmp_path, batches_of, monkeypatch, with_session
):
    root = small_site(tmp_path)
    batches_of(3)
    session = MemoryState.for_project(root) if with_session else None
    build_site(root, BuildOptions(now=NOW), state=session)
    for name, change in EDITS:
        change(root)
        build_site(root, BuildOptions(now=NOW), state=session)
        assert snapshot(root / "_site", skip=()) == clean_build(root, tmp_path), name
        reference = whole_site(root, tmp_path / f"whole-{name}", monkeypatch)
        assert described(root / "_site") == described(reference), name


@pytest.fixture
def indexed(monkeypatch) -> list[int]:
    """How many records Pagefind read in each build (through the pipeline)."""
    seen: list[int] = []
    real = index.update

    def spy(*args, **kwargs):
        done = real(*args, **kwargs)
        seen.append(done.indexed)
        return done

    monkeypatch.setattr(search, "update", spy)
    return seen


def _corpus(tmp_path: Path, articles: int) -> Path:
    """The benchmark's generated site (bench/corpus.py): about 900 words an article."""
    spec = importlib.util.spec_from_file_location("haven_bench_corpus", PROJECT / "bench/corpus.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module.make_corpus(tmp_path / "corpus", articles)


def test_an_edit_indexes_only_the_changed_record_and_rewrites_few_files(
    tmp_path, batches_of, indexed
):
    root = _corpus(tmp_path, 80)
    batches_of(16)
    build_site(root, BuildOptions(now=NOW))
    bundle_dir = root / "_site/pagefind"
    before = {p: p.stat().st_ino for p in bundle_dir.rglob("*") if p.is_file()}
    with open(sorted((root / ARTS).glob("*.md"))[37], "a", encoding="utf-8") as fh:
        fh.write("\nOne more sentence about sleep.\n")

    build_site(root, BuildOptions(now=NOW))

    assert indexed == [86, 1]  # 80 articles and 6 pages; then the one edited
    after = {p: p.stat().st_ino for p in bundle_dir.rglob("*") if p.is_file()}
    new = sorted(p.relative_to(bundle_dir).parts[0] for p in after if before.get(p) != after[p])
    # The page's fragment, the chunks holding its changed words, the meta file and the entry.
    assert new.count("fragment") == 1 and new.count("pagefind-entry.json") == 1
    assert 1 <= new.count("index") < len(list((bundle_dir / "index").iterdir()))
    assert len(new) < len(after) // 4


def test_a_build_with_nothing_changed_starts_no_pagefind(tmp_path, monkeypatch):
    root = small_site(tmp_path)
    build_site(root, BuildOptions(now=NOW))
    monkeypatch.setattr(search.pagefind.Service, "__init__", _no_pagefind)
    css = root / "static/css/site.css"
    css.write_text(css.read_text(encoding="utf-8") + "\n/* theme edit */\n", encoding="utf-8")

    assert build_site(root, BuildOptions(now=NOW)).ok  # a theme edit keeps the index
    assert build_site(root, BuildOptions(now=NOW)).ok  # and so does a no-op


def _no_pagefind(*_args, **_kwargs):
    raise AssertionError("Pagefind was started")


def test_a_fresh_output_folder_is_filled_from_the_cache_without_pagefind(tmp_path, monkeypatch):
    root = small_site(tmp_path)
    build_site(root, BuildOptions(now=NOW))
    monkeypatch.setattr(search.pagefind.Service, "__init__", _no_pagefind)
    other = tmp_path / "elsewhere"

    build_site(root, BuildOptions(now=NOW, output=str(other)))

    assert snapshot(other / "pagefind", skip=()) == snapshot(root / "_site/pagefind", skip=())


# -- the cache: never trusted when damaged or foreign -------------------------------------------


def _state(root: Path) -> index.State:
    state, why = index._load(
        root / index.CACHE_DIR, search.pagefind_version(search.find_pagefind())
    )
    assert why == ""
    return state


def _damage_state(root: Path) -> None:
    path = root / index.CACHE_DIR / index.STATE_FILE
    path.write_bytes(path.read_bytes()[:300])


def _damage_pack(root: Path) -> None:
    (pack,) = (root / index.CACHE_DIR).glob("pack-*")
    data = bytearray(pack.read_bytes())
    data[len(data) // 2] ^= 0xFF
    pack.write_bytes(bytes(data[: len(data) // 2 + 1]))


def _foreign(root: Path) -> None:
    path = root / index.CACHE_DIR / index.STATE_FILE
    with open(path, "rb") as fh:
        head = cbor2.CBORDecoder(fh).decode()
        body = fh.read()
    head["format"] = "haven-search/an-older-haven"
    path.write_bytes(cbor2.dumps(head) + body)


def _pickle(root: Path) -> None:
    """A pickle where the state should be: it must be refused unread, never loaded (code)."""
    marker = root / "pickle-ran"
    payload = pickle.dumps(_Touch(str(marker)))
    (root / index.CACHE_DIR / index.STATE_FILE).write_bytes(payload)


class _Touch:
    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


def _garbage(root: Path) -> None:
    (root / index.CACHE_DIR / index.STATE_FILE).write_bytes(b"not a cache at all")


@pytest.mark.parametrize(
    "damage, why",
    [
        (_damage_state, "cannot be read"),
        (_garbage, "cannot be read"),
        (_damage_pack, "its copy of"),
        (_pickle, "cannot be read"),
    ],
    ids=["truncated state", "garbage", "truncated pack", "a pickle"],
)
def test_a_damaged_or_foreign_cache_is_discarded_with_a_warning(tmp_path, damage, why):
    root = small_site(tmp_path)
    build_site(root, BuildOptions(now=NOW))
    damage(root)
    shutil.rmtree(root / "_site")  # so the bundle's files must come from the cache
    _edit(root / ARTS / "a03.md", "Text 3", "Text three")

    result = build_site(root, BuildOptions(now=NOW))

    warnings = [d for d in result.diagnostics if d.code == "search-cache"]
    assert len(warnings) == 1 and warnings[0].severity == WARNING
    assert not (root / "pickle-ran").exists()
    assert why in warnings[0].message and "built again" in warnings[0].message
    assert snapshot(root / "_site", skip=()) == clean_build(root, tmp_path)


def test_a_cache_from_other_code_is_made_again_without_a_warning(tmp_path):
    """After an upgrade of Haven or Pagefind the cache is simply rebuilt, as the store is."""
    root = small_site(tmp_path)
    build_site(root, BuildOptions(now=NOW))
    _foreign(root)
    shutil.rmtree(root / "_site")
    _edit(root / ARTS / "a03.md", "Text 3", "Text three")

    result = build_site(root, BuildOptions(now=NOW))

    assert not [d for d in result.diagnostics if d.code == "search-cache"]
    assert snapshot(root / "_site", skip=()) == clean_build(root, tmp_path)
    assert build_site(root, BuildOptions(now=NOW)).pages_written == 0


def test_a_pack_whose_bytes_changed_is_not_published(tmp_path):
    root = small_site(tmp_path)
    build_site(root, BuildOptions(now=NOW))
    (pack,) = (root / index.CACHE_DIR).glob("pack-*")
    data = bytearray(pack.read_bytes())
    data[100] ^= 0xFF  # same size: only the digest can tell
    pack.write_bytes(bytes(data))
    other = tmp_path / "fresh"

    result = build_site(root, BuildOptions(now=NOW, output=str(other)))

    assert [d.code for d in result.diagnostics if d.severity == WARNING] == ["search-cache"]
    assert "changed or lost" in next(
        d.message for d in result.diagnostics if d.code == "search-cache"
    )
    assert snapshot(other / "pagefind", skip=()) == snapshot(root / "_site/pagefind", skip=())


def test_a_build_that_fails_leaves_the_search_cache_as_it_was(tmp_path):
    root = small_site(tmp_path)
    build_site(root, BuildOptions(now=NOW))
    state = (root / index.CACHE_DIR / index.STATE_FILE).read_bytes()
    _edit(root / ARTS / "a03.md", "Text 3", "Text three")
    _edit(root / "templates/article.html", "{% block head %}", "{% block head %}{{ x.y.z }}")

    with pytest.raises(Exception):  # noqa: B017 - the template error, whatever its class
        build_site(root, BuildOptions(now=NOW))

    assert (root / index.CACHE_DIR / index.STATE_FILE).read_bytes() == state
    _edit(root / "templates/article.html", "{{ x.y.z }}", "")
    build_site(root, BuildOptions(now=NOW))
    assert snapshot(root / "_site", skip=()) == clean_build(root, tmp_path)


def test_a_build_that_saved_meanwhile_wins_over_an_older_one(tmp_path):
    root = small_site(tmp_path)
    build_site(root, BuildOptions(now=NOW))
    cache = root / index.CACHE_DIR
    sources = _sources(root)
    one = index.update(sources, language="en", cache=cache, previous={})
    two = index.update(sources[:-1], language="en", cache=cache, previous={})
    assert two.commit() is not None
    saved = (cache / index.STATE_FILE).read_bytes()

    assert one.commit() is None  # read before `two` saved: not saved over it
    assert (cache / index.STATE_FILE).read_bytes() == saved


def _sources(root: Path) -> list:
    from haven.bodies import render_all
    from haven.config import load_config
    from haven.sources.discover import load_content

    config = load_config(root)
    docs, _ = load_content(root, config, {}, {})
    docs = [d for d in docs if not d.draft]
    rendered, _ = render_all(root, docs, clean=True)
    return search.record_sources(
        config,
        [d for d in docs if d.kind == "page"],
        [d for d in docs if d.kind == "article"],
        html_of=lambda path: rendered[path].html,
        topics_of=lambda path: ["Self-care"],
        now=NOW,
    )


def test_a_cache_folder_that_cannot_be_written_costs_time_not_the_build(tmp_path):
    root = small_site(tmp_path)
    (root / ".cache/haven").mkdir(parents=True)
    (root / index.CACHE_DIR).write_text("a file where the folder should be", encoding="utf-8")

    result = build_site(root, BuildOptions(now=NOW))

    (problem,) = [d for d in result.diagnostics if d.code == "search-cache"]
    assert problem.severity == WARNING and problem.path == ".cache/haven/search"
    assert problem.message.startswith("the search cache cannot be written (")
    assert snapshot(root / "_site", skip=()) == clean_build(root, tmp_path)
    assert build_site(root, BuildOptions(now=NOW, strict=True)).ok  # a warning, even --strict


def test_a_language_with_a_region_is_merged_and_spliced(tmp_path, batches_of, monkeypatch):
    root = small_site(tmp_path)
    _edit(root / "site.yaml", "title: Fixture site", "title: Fixture site\nlanguage: en-GB")
    batches_of(4)
    build_site(root, BuildOptions(now=NOW))
    _edit(root / ARTS / "a03.md", "## Later", "Colour and behaviour.\n\n## Later")

    result = build_site(root, BuildOptions(now=NOW))

    assert not [d for d in result.diagnostics if d.code and d.code.startswith("search")]
    assert _state(root).language == "en-gb"  # Pagefind's name, in the files' names
    reference = whole_site(root, tmp_path / "whole", monkeypatch)
    assert described(root / "_site") == described(reference)
    assert snapshot(root / "_site", skip=()) == clean_build(root, tmp_path)


# -- an untested Pagefind ------------------------------------------------------------------------


def test_an_untested_pagefind_indexes_the_whole_site_in_one_run(tmp_path, monkeypatch):
    root = small_site(tmp_path)
    build_site(root, BuildOptions(now=NOW))
    merged = described(root / "_site")
    started: list = []
    real = search.pagefind.Service.__init__

    def count(self, *args, **kwargs):
        started.append(1)
        real(self, *args, **kwargs)

    monkeypatch.setattr(search.pagefind.Service, "__init__", count)
    monkeypatch.setattr(search.pagefind, "pagefind_version", lambda _binary: "9.0.0")
    _edit(root / ARTS / "a03.md", "Text 3", "Text three")

    assert build_site(root, BuildOptions(now=NOW)).ok

    assert len(started) == 1
    _edit(root / ARTS / "a03.md", "Text three", "Text 3")
    assert build_site(root, BuildOptions(now=NOW)).ok
    assert described(root / "_site") == merged
    assert (root / index.CACHE_DIR / index.STATE_FILE).is_file()  # the tested path's, untouched


def test_pagefinds_version_is_read_from_the_binary(tmp_path):
    version = search.pagefind_version(search.find_pagefind())
    assert re.fullmatch(r"\d+\.\d+\.\d+\S*", version)
    fake = tmp_path / "pagefind"
    fake.write_text("#!/bin/sh\necho 'pagefind 7.1.0-beta.2'\n", encoding="utf-8")
    fake.chmod(0o755)
    assert search.pagefind_version(fake) == "7.1.0-beta.2"
    fake.write_text("#!/bin/sh\nexit 1\n", encoding="utf-8")
    os.utime(fake, ns=(1, 1))
    assert search.pagefind_version(fake) is None


# -- no Pagefind process outlives a build ------------------------------------------------------


def _fake_pagefind(tmp_path: Path, script: str) -> Path:
    fake = tmp_path / "fake-pagefind"
    fake.write_text("#!/bin/sh\n" + script, encoding="utf-8")
    fake.chmod(0o755)
    return fake


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/status")
    return not (status.is_file() and "State:\tZ" in status.read_text())


def _gone(pid: int, seconds: float = 5) -> bool:
    deadline = time.monotonic() + seconds
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not _alive(pid)


def test_a_pagefind_that_hangs_is_killed_and_named(tmp_path, monkeypatch):
    root = small_site(tmp_path)
    pid_file = tmp_path / "pid"
    fake = _fake_pagefind(
        tmp_path,
        f"[ \"$1\" = --version ] && echo 'pagefind 1.5.2' && exit 0\necho $$ > {pid_file}\nexec sleep 60\n",
    )
    monkeypatch.setattr(search.pagefind, "find_pagefind", lambda: fake)
    monkeypatch.setattr(search.pagefind, "TIMEOUT_SECONDS", 1)

    with pytest.raises(BuildError) as err:
        build_site(root, BuildOptions(now=NOW))

    (problem,) = err.value.diagnostics
    assert problem.format() == (
        "pagefind: error: Pagefind did not finish indexing 14 search record(s) within 1 seconds"
    )
    assert _gone(int(pid_file.read_text()))
    assert not (root / "_site").exists()


def test_ctrl_c_while_indexing_kills_pagefind(tmp_path, monkeypatch):
    root = small_site(tmp_path)
    started: list = []
    real_begin = search.pagefind.Service.begin

    def begin(self, pages, what):
        real_begin(self, pages, what)
        started.append(self.proc.pid)
        raise KeyboardInterrupt

    monkeypatch.setattr(search.pagefind.Service, "begin", begin)

    with pytest.raises(KeyboardInterrupt):
        build_site(root, BuildOptions(now=NOW))

    assert started and all(_gone(pid) for pid in started)


def test_pagefind_ends_when_the_build_process_is_killed(tmp_path):
    """The service exits when its input closes: so it does when its parent dies, however."""
    script = textwrap.dedent(
        f"""
        import sys, time
        sys.path.insert(0, {str(PROJECT)!r})
        from haven.search import pagefind
        service = pagefind.Service(pagefind.find_pagefind(), time.monotonic() + 60)
        print(service.proc.pid, flush=True)
        time.sleep(60)
        """
    )
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    pid = int(child.stdout.readline())
    assert _alive(pid)

    child.send_signal(signal.SIGKILL)
    child.wait()

    assert _gone(pid)


def test_a_failing_pagefind_is_named_and_the_site_kept(tmp_path, monkeypatch, capsys):
    root = small_site(tmp_path)
    assert run(root) == 0
    before = snapshot(root / "_site", skip=())
    fake = _fake_pagefind(
        tmp_path,
        "[ \"$1\" = --version ] && echo 'pagefind 1.5.2' && exit 0\n"
        "echo 'Error: the disk is on fire' >&2\nexit 3\n",
    )
    monkeypatch.setenv("PAGEFIND_BINARY_PATH", str(fake))
    _edit(root / ARTS / "a03.md", "Text 3", "Text three")
    capsys.readouterr()

    assert run(root) == 1

    err = capsys.readouterr().err
    assert "pagefind: error: Pagefind failed (exit 3) indexing 1 search record(s): " in err
    assert "Error: the disk is on fire" in err
    assert snapshot(root / "_site", skip=()) == before


# -- the dev server ------------------------------------------------------------------------------


def test_the_dev_server_indexes_and_splices_each_save(tmp_path):
    from haven.serve import DevServer

    root = small_site(tmp_path)
    log: list[str] = []
    dev = DevServer(root, port=0, echo=lambda line, err=False: log.append(line))
    dev.start()
    try:
        out = dev.output
        assert (out / "pagefind/pagefind-entry.json").is_file()
        builds = dev.builds
        _edit(root / ARTS / "a05.md", "number 5.", "number 5. A zebracrossing sentence.")
        deadline = time.monotonic() + 20
        while dev.builds == builds and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not dev.errors, [d.format() for d in dev.errors]
    finally:
        dev.stop()
    words = b"".join(bundle.unpack(p.read_bytes()) for p in (out / "pagefind/index").iterdir())
    assert b"zebracross" in words
