"""Ranking in Chromium: Haven's merged and spliced search index answers a fixed set of queries
exactly as the index Pagefind writes for the whole site, on the project's own site and on a
generated one."""

from __future__ import annotations

import importlib.util
import re
import shutil
import sys
import threading
from datetime import UTC, datetime
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from haven import search
from haven.model import BuildOptions
from haven.pipeline import build_site
from haven.search import bundle, index

from .conftest import REPO, SITE_FILES

# Crisis words, words a reader in need types, misspellings, a word no page uses, and two-word
# queries; words from the sites' headings are added per site.
QUERIES = [
    "suicide",
    "kill myself",
    "rape",
    "self-harm",
    "abuse",
    "assault",
    "trauma",
    "988",
    "samaritans",
    "helpline",
    "hotline",
    "trama",
    "sucide",
    "samaritns",
    "flashbak",
    "xyzzy",
    "sleep problems",
    "feel",
]
WAIT_MS = 30_000

COMPARE_JS = """
async ([a, b, queries]) => {
  const load = async (base) => {
    const pf = await import(base + "pagefind.js");
    await pf.options({ basePath: base, baseUrl: "/", excerptLength: 24 });
    await pf.init();
    return pf;
  };
  const [pa, pb] = [await load(a), await load(b)];
  const run = async (pf, q, options) => {
    const found = await pf.search(q, options);
    const top = await Promise.all(found.results.slice(0, 5).map(async (r) => (await r.data()).url));
    return { all: found.results.map((r) => [r.id, Math.round(r.score * 1e4) / 1e4]), top };
  };
  const out = { filters: [await pa.filters(), await pb.filters()] };
  for (const q of queries) {
    out[q] = [await run(pa, q), await run(pb, q)];
    const help = { filters: { help: "yes" } };
    out[q + " (help)"] = [await run(pa, q, help), await run(pb, q, help)];
  }
  return out;
}
"""


def _heading_words(root: Path, count: int = 6) -> list[str]:
    """Words of the first headings of the site's articles (what a reader scanning a page sees)."""
    words = []
    for path in sorted((root / "content/articles").glob("*.md")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.startswith("## "):
                found = [w for w in re.findall(r"[A-Za-z]{6,}", line) if w.lower() not in words]
                if found:
                    words.append(found[0].lower())
                    break
        if len(words) == count:
            break
    return words


def _build_pair(root: Path, now: datetime, edit, batch: int) -> tuple[Path, Path]:
    """Haven's bundle (built in batches of `batch`, then spliced by `edit`) and Pagefind's own
    bundle of the same records (one process for the whole site)."""
    real_size, real_versions = index.BATCH_SIZE, bundle.TESTED_VERSIONS
    installed = search.pagefind_version(search.find_pagefind())
    try:
        index.BATCH_SIZE = batch
        # The release installed is the one under test (see tests/conftest.py).
        bundle.TESTED_VERSIONS = real_versions | {installed}
        assert build_site(root, BuildOptions(now=now)).ok
        edit(root)
        assert build_site(root, BuildOptions(now=now)).ok
        bundle.TESTED_VERSIONS = frozenset()
        whole = root / "_whole"
        assert build_site(root, BuildOptions(now=now, clean=True, output=str(whole))).ok
    finally:
        index.BATCH_SIZE, bundle.TESTED_VERSIONS = real_size, real_versions
    return root / "_site", whole


def _edit_own(root: Path) -> None:
    first = sorted((root / "content/articles").glob("*.md"))[1]
    text = first.read_text(encoding="utf-8")
    cut = text.index("\n\n", len(text) // 2)
    first.write_text(text[:cut] + "\n\nSome readers describe flashbacks at night.\n" + text[cut:])
    (root / "content/articles/aa-first.md").write_text(
        "---\ntitle: 'A first page'\ndate: 2026-01-10\nsummary: 'First.'\n"
        'tags: ["#gettinghelp"]\n---\n\nThe Samaritans and a helpline.\n',
        encoding="utf-8",
    )


def _edit_generated(root: Path) -> None:
    paths = sorted((root / "content/articles").glob("*.md"))
    with open(paths[7], "a", encoding="utf-8") as fh:
        fh.write("\nA sentence about trauma and sleep, added by the test.\n")
    text = paths[40].read_text(encoding="utf-8")
    cut = text.index("\n---\n", 4) + 5
    paths[40].write_text(text[:cut] + "\nFirst, a word on samaritans.\n" + text[cut:])
    (root / "content/articles/aa-first.md").write_text(
        "---\ntitle: 'A first page'\ndate: 2026-01-10\nsummary: 'First.'\n"
        'tags: ["#gettinghelp"]\n---\n\nSleep, trauma and a helpline.\n',
        encoding="utf-8",
    )


@pytest.fixture(scope="module")
def sites(tmp_path_factory):
    """The project's own site and a generated one, each as Haven's bundle and Pagefind's own,
    served from one folder."""
    if search.find_pagefind() is None:
        pytest.skip("Pagefind binary not installed (pagefind[bin])")
    work = tmp_path_factory.mktemp("ranking")
    own = work / "own"
    own.mkdir()
    for name in SITE_FILES:
        src = REPO / name
        (shutil.copytree if src.is_dir() else shutil.copy2)(src, own / name)
    pairs = {"own": _build_pair(own, datetime.now(tz=UTC), _edit_own, batch=6)}
    spec = importlib.util.spec_from_file_location("haven_bench_corpus", REPO / "bench/corpus.py")
    corpus = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = corpus
    spec.loader.exec_module(corpus)
    generated = corpus.make_corpus(work / "generated", 150)
    pairs["generated"] = _build_pair(
        generated, datetime(2026, 11, 2, tzinfo=UTC), _edit_generated, batch=32
    )
    (work / "index.html").write_text("<!doctype html><title>ranking</title>", encoding="utf-8")

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(Quiet, directory=str(work)))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    origin = f"http://127.0.0.1:{server.server_address[1]}"
    words = {"own": _heading_words(own), "generated": _heading_words(generated)}
    try:
        yield origin, work, pairs, words
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("name", ["own", "generated"])
def test_queries_rank_as_in_pagefinds_whole_site_index(browser, sites, name):
    origin, work, pairs, words = sites
    haven, whole = pairs[name]
    queries = QUERIES + words[name]
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(WAIT_MS)
    try:
        page.goto(origin + "/index.html")
        base = [f"/{p.relative_to(work).as_posix()}/pagefind/" for p in (haven, whole)]
        found = page.evaluate(COMPARE_JS, [base[0], base[1], queries])
    finally:
        context.close()

    filters = found.pop("filters")
    assert filters[0] == filters[1] and filters[0]["topic"]  # the topic labels and their counts
    differ = [q for q, (a, b) in found.items() if a != b]
    assert differ == [], {q: found[q] for q in differ[:3]}
    # The queries mean something: most find pages, and a crisis word finds Get help first.
    assert sum(bool(a["top"]) for a, _ in found.values()) > len(found) // 2
    assert found["samaritans (help)"][0]["top"][:1] == ["/get-help/"]
    assert found["xyzzy"][0]["all"] == []
