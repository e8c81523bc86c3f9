"""The search index: one Pagefind bundle of the site's records, built in batches, then spliced.

Records in, bundle files and diagnostics out, a cache folder (`update`). Three paths, all giving
the bundle Pagefind writes for the whole site when given the records in URL order:

- **Cold** (no usable cache, or more than a third of the pages changed): the records go to
  Pagefind in URL order, `BATCH_SIZE` at a time, each batch to a new `pagefind --service`
  process, so Pagefind's memory is bounded by the batch (about 90 MiB), not the site (1.3 GiB at
  4,000 articles). Each batch becomes a *block* of the index: its pages, and per word a *run*
  (the word's postings on those pages, as Pagefind encoded them). Blocks laid end to end are the
  whole site's index: postings are per page, so only the page numbers (and the meta-field ids
  when batches saw different fields) differ, and those are fixed where runs meet.
- **Splice** (an edit): only the changed records go to Pagefind (in batches as above); their old
  postings leave the runs of their block and the new ones enter; pages added or removed renumber
  the pages after them. Chunks are cut again with Pagefind's rule, and a chunk whose words did
  not change keeps its file: an appended sentence rewrites a few chunks of hundreds.
- **Whole site** (a Pagefind release Haven was not tested with, see bundle.TESTED_VERSIONS): one
  Pagefind process indexes every record and its bundle is published as written. Slow and
  memory-hungry, but it needs nothing of Pagefind's private format.

A no-op does none of this: the pipeline keeps the previous bundle while `records_key` is unchanged.

The cache (`.cache/haven/search/`): `state.cbor` (a small header, then the `State` as data:
records' keys and digests, pages, blocks, runs, and the digest of every file of the bundle) and one
`pack-*` file holding every file of the bundle end to end (one file, because writing 4,000
small files cost more than indexing them), so a build into a fresh output folder (the dev
server's, or CI's) needs no Pagefind at all. The state is saved only once the site is written
(`Update.commit`), under a lock, and only if no other build saved one meanwhile; new files are
appended to the pack, never written over the bytes a saved state names, so an interrupted build
leaves the previous cache usable. A cache that cannot be read, was written by another Haven or
Pagefind, or whose pack misses a file is discarded with a warning and the index rebuilt.
"""

from __future__ import annotations

import bisect
import fcntl
import hashlib
import json
import os
import secrets
import tempfile
import time
from array import array
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from itertools import accumulate
from operator import itemgetter
from pathlib import Path

import cbor2

from ..model import ERROR, WARNING, Diagnostic, Output
from . import bundle, pagefind
from .bundle import FormatError
from .records import RecordSource, record_html, record_terms

BUNDLE_DIR = "pagefind"
BATCH_SIZE = 250  # pages a Pagefind process indexes: about 90 MiB of its memory
SPLICE_SHARE = 3  # more than 1/3 of the pages changed: a cold build costs less than splicing
CACHE_DIR = ".cache/haven/search"
SOURCE = "haven/search"  # what an Output of the index names as its source
_CODE = hashlib.blake2b(
    b"".join(Path(__file__).with_name(n).read_bytes() for n in ("index.py", "bundle.py")),
    digest_size=8,
).hexdigest()
FORMAT = f"haven-search/{_CODE}"  # a cache written by other code is not read
_FIRST, _SECOND, _THIRD = itemgetter(0), itemgetter(1), itemgetter(2)
_SCRATCH = "haven-search-"  # a temporary cache, when the project's cannot be written


def digest(data: bytes) -> str:
    """The digest the writer keeps for a file (haven/writer.py): a reusable file is named by it."""
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def engine_key(binary) -> str:
    """What besides the records decides the bundle: this code and the Pagefind binary."""
    try:
        st = os.stat(binary) if binary is not None else None
    except OSError:
        st = None
    return f"{FORMAT} {binary} {st and (st.st_size, st.st_mtime_ns)}"


# -- the state ---------------------------------------------------------------------------------


class Page:
    """An indexed page: its fragment (full hash and file digest) and what the meta file and the
    filter files need of it."""

    __slots__ = ("fragment", "digest", "word_count", "filters", "fields")

    def __init__(self, fragment: str, file_digest: str, word_count: int, filters, fields):
        self.fragment, self.digest, self.word_count = fragment, file_digest, word_count
        self.filters: dict[str, list[str]] = filters
        self.fields: tuple[str, ...] = fields


class Word:
    """A word's postings: per block a run `(pages, body, size, meta)`, and its diacritic variants.

    `pages` are the block's page indexes the word is on; `body` is the CBOR of its postings there
    as Pagefind wrote them, less the first posting's page delta (which depends on what comes
    before the block); `size` is what the word weighs in Pagefind's chunking; `meta` says whether
    a posting has meta-field locations. Variants (`café` under `cafe`) are rare: they are kept
    decoded, per page URL, as `(form, locs, meta_locs)`.
    """

    __slots__ = ("runs", "variants")

    def __init__(self) -> None:
        self.runs: dict[int, tuple] = {}
        self.variants: dict[str, list[tuple]] | None = None


@dataclass
class State:
    """What the cache keeps: enough to write every file of the bundle and to splice an edit."""

    pagefind: str  # the version that indexed the pages
    site_language: str = ""  # site.yaml's, which the records are written in
    language: str = ""  # Pagefind's name for it (`en-gb` for `en-GB`), in the files' names
    generation: str = ""
    version: str = ""  # the meta file's version field
    entry: dict = field(default_factory=dict)  # pagefind-entry.json, as a template
    assets: dict[str, str] = field(default_factory=dict)  # path -> digest (scripts, wasm)
    fields: list[str] = field(default_factory=list)  # meta fields, sorted
    blocks: list[list[str]] = field(default_factory=list)  # URLs of each block's pages, sorted
    block_of: dict[str, int] = field(default_factory=dict)
    pages: dict[str, Page] = field(default_factory=dict)
    records: dict[str, tuple] = field(default_factory=dict)  # url -> (key, digest, terms)
    words: dict[str, Word] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)  # the words, sorted
    variant_words: set[str] = field(default_factory=set)
    chunks: list[tuple] = field(default_factory=list)  # (first, last, count, hash, digest)
    filters: dict[str, tuple[str, str]] = field(default_factory=dict)  # name -> (hash, digest)
    files: dict[str, str] = field(default_factory=dict)  # bundle path -> digest
    pack: str = ""  # the cache's file holding every file of the bundle, end to end
    stored: dict[str, tuple[int, int]] = field(default_factory=dict)  # digest -> (offset, size)


@dataclass
class Update:
    """What `update` gives the build: the bundle's files as outputs, the records' vocabulary
    terms (for search/data.json), problems, and `commit()` to call once the site is written."""

    outputs: list[Output]
    terms: list[tuple[str, ...]]
    diagnostics: list[Diagnostic]
    commit: Callable[[], State | None] = lambda: None
    indexed: int = 0  # records Pagefind read in this build
    path: str = ""  # 'cold', 'splice', 'kept' or 'whole site'


# -- the cache folder -------------------------------------------------------------------------


class _Lock:
    """One build at a time reads or writes the cache (the dev server and a CLI build may race)."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / "lock"

    def __enter__(self):
        self.fh = open(self.path, "a+b")  # noqa: SIM115 - closed in __exit__
        fcntl.flock(self.fh, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc) -> None:
        fcntl.flock(self.fh, fcntl.LOCK_UN)
        self.fh.close()


STATE_FILE = "state.cbor"


def _header(folder: Path) -> dict | None:
    try:
        with open(folder / STATE_FILE, "rb") as fh:
            head = cbor2.CBORDecoder(fh).decode()
        return head if isinstance(head, dict) else None
    except Exception:  # noqa: BLE001 - a damaged cache is never trusted, whatever the damage
        return None


def _load(folder: Path, version: str) -> tuple[State | None, str]:
    """The cached state, or None and why it was not usable ('' when there is none)."""
    path = folder / STATE_FILE
    if not path.exists():
        return None, ""
    try:
        with open(path, "rb") as fh:
            head = cbor2.CBORDecoder(fh).decode()
            if head.get("format") != FORMAT or head.get("pagefind") != version:
                # Haven or Pagefind was upgraded: expected, so not a warning (as for the store).
                return None, ""
            body = fh.read()
        if hashlib.blake2b(body, digest_size=16).hexdigest() != head.get("digest"):
            return None, "it cannot be read (its digest does not match)"
        state = _decode_state(bundle.loads(body))
        if state.generation != head.get("generation"):
            return None, "its parts do not match"
    except Exception as exc:  # noqa: BLE001 - a damaged cache is never trusted
        return None, f"it cannot be read ({type(exc).__name__})"
    try:
        size = (folder / state.pack).stat().st_size if state.pack else 0
    except OSError:
        size = -1
    lost = [
        p for p, d in state.files.items() if d not in state.stored or sum(state.stored[d]) > size
    ]
    if lost:
        return None, f"its copy of {lost[0]} is missing"
    return state, ""


def _save(folder: Path, state: State) -> None:
    body = bundle.dumps(_encode_state(state))
    head = {
        "format": FORMAT,
        "pagefind": state.pagefind,
        "generation": state.generation,
        "digest": hashlib.blake2b(body, digest_size=16).hexdigest(),
    }
    tmp = folder / f"{STATE_FILE}.{os.getpid()}.tmp"
    with open(tmp, "wb") as fh:
        fh.write(bundle.dumps(head))
        fh.write(body)
    os.replace(tmp, folder / STATE_FILE)


# The state is saved as data (CBOR), never as a pickle: a cache restored from elsewhere (CI) must
# not be able to run code. Page lists are arrays of native integers, as `array.tobytes` gives.
_SCALARS = ("pagefind", "site_language", "language", "generation", "version", "pack")


def _encode_state(st: State) -> dict:
    words = {}
    for w, word in st.words.items():
        runs = [
            [b, pages.typecode, pages.tobytes(), body, size, meta]
            for b, (pages, body, size, meta) in word.runs.items()
        ]
        words[w] = [runs, word.variants]
    return {
        **{name: getattr(st, name) for name in _SCALARS},
        "entry": st.entry,
        "assets": st.assets,
        "fields": st.fields,
        "blocks": st.blocks,
        "pages": {
            url: [p.fragment, p.digest, p.word_count, p.filters, list(p.fields)]
            for url, p in st.pages.items()
        },
        "records": {url: list(r) for url, r in st.records.items()},
        "words": words,
        "chunks": [list(c) for c in st.chunks],
        "filters": {name: list(f) for name, f in st.filters.items()},
        "files": st.files,
        "stored": {d: list(place) for d, place in st.stored.items()},
    }


def _decode_state(data: dict) -> State:
    """The state from its data; any value of the wrong shape raises (and the cache is not used)."""
    st = State(**{name: str(data[name]) for name in _SCALARS})
    st.entry, st.fields, st.blocks = dict(data["entry"]), list(data["fields"]), data["blocks"]
    st.assets, st.files = dict(data["assets"]), dict(data["files"])
    for b, urls in enumerate(st.blocks):
        for url in urls:
            st.block_of[url] = b
    for url, (fragment, file_digest, count, filters, fields) in data["pages"].items():
        st.pages[url] = Page(
            str(fragment), str(file_digest), int(count), dict(filters), tuple(fields)
        )
    st.records = {url: (key, dg, tuple(terms)) for url, (key, dg, terms) in data["records"].items()}
    for w, (runs, variants) in data["words"].items():
        word = st.words[w] = Word()
        for b, typecode, pages, body, size, meta in runs:
            word.runs[int(b)] = (array(typecode, pages), bytes(body), int(size), bool(meta))
        if variants:
            word.variants = {url: [tuple(v) for v in forms] for url, forms in variants.items()}
            st.variant_words.add(w)
    st.order = sorted(st.words)
    st.chunks = [tuple(c) for c in data["chunks"]]
    st.filters = {name: tuple(f) for name, f in data["filters"].items()}
    st.stored = {d: (int(off), int(size)) for d, (off, size) in data["stored"].items()}
    return st


def _compact(folder: Path, state: State) -> None:
    """Forget the files of older bundles; once they are most of the pack, copy the state's own
    files to a new pack (the old one is removed once the state naming the new one is saved)."""
    refs = set(state.files.values())
    state.stored = {d: place for d, place in state.stored.items() if d in refs}
    live = sum(size for _offset, size in state.stored.values())
    path = folder / state.pack
    if not state.pack or path.stat().st_size <= 2 * live + (1 << 20):
        return
    stored, name = {}, f"pack-{secrets.token_hex(8)}"
    with open(path, "rb") as src, open(folder / name, "wb") as dst:
        for d, (offset, size) in sorted(state.stored.items(), key=lambda item: item[1]):
            src.seek(offset)
            stored[d] = (dst.tell(), size)
            dst.write(src.read(size))
    state.pack, state.stored = name, stored


def _collect(folder: Path, state: State) -> None:
    """Remove the packs the saved state does not name."""
    for entry in os.scandir(folder):
        if entry.name.startswith("pack-") and entry.name != state.pack:
            try:
                os.unlink(entry.path)
            except OSError:
                pass


# -- the entry point ---------------------------------------------------------------------------


def update(
    sources: Sequence[RecordSource],
    *,
    language: str,
    cache: Path,
    previous: dict[str, str],
    clean: bool = False,
    reporter=None,
) -> Update:
    """The bundle for `sources`: files under `pagefind/` as outputs (those whose digest is in
    `previous`, the last build's, are kept), and the records' vocabulary terms.

    The state this process saved last is used while the cache's state file is still the one it
    wrote (a dev server's next build); else the state is read from `cache`.
    """
    binary = pagefind.find_pagefind()
    if binary is None:
        return _failed(
            "the Pagefind binary was not found",
            "install it with `pip install 'pagefind[bin]'`, or set PAGEFIND_BINARY_PATH",
        )
    if not sources:
        return _failed("nothing to index: the site has no published page")
    version = pagefind.pagefind_version(binary)
    deadline = time.monotonic() + pagefind.TIMEOUT_SECONDS
    stage = reporter.stage if reporter is not None else (lambda _name: None)
    if version not in bundle.TESTED_VERSIONS:
        return _whole_site(sources, language, binary, deadline, stage)
    cache = Path(cache)
    diagnostics: list[Diagnostic] = []
    try:
        with _Lock(cache):
            head = _header(cache)
            base = head.get("generation") if head else None
            kept = _KEPT.pop(cache, None)  # a failed build must not leave it half-spliced
            state = kept[1] if kept and kept[0] == _signature(cache) else None
            if clean:
                state = None
            elif state is None or state.generation != base:
                state, why = _load(cache, version)
                if why:
                    diagnostics.append(_discarded(cache, why))

            def index(state: State | None):
                job = _Job(cache, version, language, binary, deadline, stage, state)
                try:
                    job.run(sources)
                finally:
                    job.close()
                return job, *job.outputs(previous)

            job, outputs, damaged = index(state)
            if damaged:  # a cached bundle file is missing or changed: index every record
                diagnostics.append(_discarded(cache, damaged))
                job, outputs, _ = index(None)
    except pagefind.PagefindError as exc:
        return _failed(exc.message, exc.hint)
    except OSError as exc:
        where = CACHE_DIR if cache.as_posix().endswith(CACHE_DIR) else str(cache)
        if cache.name.startswith(_SCRATCH):  # not even a temporary folder can be written
            return _failed(f"cannot write the search index's files in {where}: {exc.strerror}")
        # A cache that cannot be written only makes builds slower: index without it.
        problem = Diagnostic(
            WARNING,
            where,
            None,
            None,
            f"the search cache cannot be written ({exc.strerror or exc}): the index is built "
            "without it, so every build indexes every page",
            code="search-cache",
        )
        with tempfile.TemporaryDirectory(prefix=_SCRATCH) as work:
            done = update(
                sources,
                language=language,
                cache=Path(work),
                previous=previous,
                clean=True,
                reporter=reporter,
            )
        _KEPT.pop(Path(work), None)
        done.commit = lambda: None
        done.diagnostics[:0] = [*diagnostics, problem]
        return done
    except FormatError as exc:
        # Pagefind wrote what the tested version does not: publish its own whole-site bundle.
        diagnostics.append(
            Diagnostic(
                WARNING,
                BUNDLE_DIR,
                None,
                None,
                f"Pagefind {version}'s bundle is not as expected ({exc}): indexed in one run",
                code="search-index",
            )
        )
        done = _whole_site(sources, language, binary, deadline, stage)
        done.diagnostics[:0] = diagnostics
        return done
    new = job.state
    return Update(
        outputs,
        [new.records[s.url][2] for s in sources],
        diagnostics,
        commit=lambda: _commit(cache, new, base),
        indexed=job.indexed,
        path=job.path,
    )


def _commit(folder: Path, state: State, base: str | None) -> State | None:
    """Save the state, unless another build saved one since this one read it; return the state
    a long-running process may keep (None: read it again next time)."""
    with _Lock(folder):
        head = _header(folder)
        if (head.get("generation") if head else None) != base:
            return None
        state.generation = secrets.token_hex(8)
        _compact(folder, state)
        _save(folder, state)
        _collect(folder, state)
        _KEPT.clear()
        _KEPT[folder] = (_signature(folder), state)
    return state


# The state this process saved last, with its file's signature: a dev server's next build
# splices into it without reading the cache again.
_KEPT: dict[Path, tuple[tuple, State]] = {}


def _signature(folder: Path) -> tuple:
    try:
        st = os.stat(folder / STATE_FILE)
    except OSError:
        return ()
    return (st.st_size, st.st_mtime_ns, st.st_ino)


def _failed(message: str, hint: str | None = None) -> Update:
    problem = Diagnostic(ERROR, BUNDLE_DIR, None, None, message, hint=hint, code="search-index")
    return Update([], [], [problem])


def _discarded(folder: Path, why: str) -> Diagnostic:
    return Diagnostic(
        WARNING,
        CACHE_DIR if folder.as_posix().endswith(CACHE_DIR) else str(folder),
        None,
        None,
        f"the search cache was not used: {why}; the index is built again",
        code="search-cache",
    )


def _whole_site(sources, language, binary, deadline, stage) -> Update:
    """One Pagefind process for every record; its bundle published as it wrote it."""
    stage("indexing")
    made = [(s.url, s.make()) for s in sorted(sources, key=lambda s: s.url)]
    pages = [(url, record_html(record, language)) for url, record in made]
    what = f"indexing {len(pages)} search record(s)"
    try:
        with pagefind.Service(binary, deadline) as service:
            files = service.index(pages, what)
    except pagefind.PagefindError as exc:
        return _failed(exc.message, exc.hint)
    if bundle.ENTRY not in files:
        return _failed(f"Pagefind finished but wrote no {BUNDLE_DIR}/{bundle.ENTRY}")
    outputs = [Output(f"{BUNDLE_DIR}/{p}", data, SOURCE) for p, data in sorted(files.items())]
    by_url = dict(made)
    terms = [record_terms(by_url[s.url]) for s in sources]
    return Update(outputs, terms, [], indexed=len(pages), path="whole site")


# -- building and splicing ---------------------------------------------------------------------


class _Job:
    """One update of the state: what it changed, and the new files it made (digest -> bytes)."""

    def __init__(self, cache, version, language, binary, deadline, stage, state):
        self.cache, self.binary, self.deadline, self.stage = cache, binary, deadline, stage
        self.version, self.language = version, language
        self.state: State = state if state is not None else State(version, language)
        self.cold = state is None or state.site_language != language
        self.made: dict[str, bytes] = {}
        self.indexed = 0
        self.path = "kept"
        self._pack = None

    def keep(self, data: bytes) -> str:
        """Keep a file of the new bundle in the cache's pack; return its digest."""
        st = self.state
        name = digest(data)
        if name in self.made or name in st.stored:
            self.made.setdefault(name, data)
            return name
        if self._pack is None:
            if not st.pack:
                st.pack, st.stored = f"pack-{secrets.token_hex(8)}", {}
            # Appended: the bytes the last saved state names stay where they are.
            self._pack = open(self.cache / st.pack, "ab")  # noqa: SIM115 - closed by close()
        st.stored[name] = (self._pack.tell(), len(data))
        self._pack.write(data)
        self.made[name] = data
        return name

    def close(self) -> None:
        if self._pack is not None:
            self._pack.close()
            self._pack = None

    # -- which records changed

    def run(self, sources: Sequence[RecordSource]) -> None:
        """Bring the state to `sources`: splice what changed, or build it all again."""
        by_url = {s.url: s for s in sources}
        records: dict[str, tuple] = {}
        changed: dict[str, str] = {}  # url -> html, for Pagefind

        def make(url: str) -> str:
            source = by_url[url]
            record = source.make()
            doc = record_html(record, self.language)
            records[url] = (source.key, digest(doc.encode("utf-8")), record_terms(record))
            return doc

        if not self.cold:
            known = self.state.records
            for url, source in by_url.items():
                old = known.get(url)
                if old is not None and old[0] == source.key:
                    records[url] = old
                    continue
                doc = make(url)
                if old is None or old[1] != records[url][1]:
                    changed[url] = doc
            removed = set(known) - set(by_url)
            share = max(BATCH_SIZE, len(self.state.pages) // SPLICE_SHARE)
            self.cold = len(changed) + len(removed) > share
        if self.cold:
            # Records are made batch by batch, while Pagefind indexes the batch before.
            self.state = State(self.version, self.language)
            self._cold(sorted(by_url), lambda url: changed.pop(url, None) or make(url))
            self.path = "cold"
        elif changed or removed:
            self._splice(changed, removed)
            self.path = "splice"
        self.state.records = records

    def _batches(self, urls: list[str], html_of: Callable[[str], str]) -> Iterable[bundle.Read]:
        """Pagefind's bundle of each batch of `urls` (sorted), each by a new process. While
        Pagefind indexes a batch, Haven makes the next batch's records and reads the last
        batch's bundle; one Pagefind process runs at a time."""
        batches = [urls[i : i + BATCH_SIZE] for i in range(0, len(urls), BATCH_SIZE)]
        self.stage("indexing")

        def pages(n: int) -> list[tuple[str, str]]:
            return [(u, html_of(u)) for u in batches[n]]

        def start(n: int, pages: list[tuple[str, str]]):
            what = f"indexing {len(pages)} search record(s)"
            if len(batches) > 1:
                what += f" (batch {n + 1} of {len(batches)})"
            service = pagefind.Service(self.binary, self.deadline)
            try:
                return service, service.begin(pages, what)
            except BaseException:
                service.close(kill=True)
                raise

        running = start(0, pages(0)) if batches else None
        try:
            for n in range(len(batches)):
                service, job = running
                running = None
                try:
                    upcoming = pages(n + 1) if n + 1 < len(batches) else None
                    files = service.finish(job)
                except BaseException:
                    service.close(kill=True)
                    raise
                service.close()
                self.indexed += len(batches[n])
                if upcoming is not None:
                    running = start(n + 1, upcoming)
                yield bundle.read_bundle(files)
        finally:
            if running is not None:
                running[0].close(kill=True)

    def _pages_of(self, read: bundle.Read) -> list[tuple[str, Page]]:
        """Each page of a batch: its URL and what the state keeps of it (its fragment stored)."""
        out = []
        for (data, raw), (_name, count) in zip(read.fragments, read.pages, strict=True):
            try:
                fragment = json.loads(raw)
                url = fragment["url"]
            except (ValueError, KeyError, TypeError):
                raise FormatError("a fragment without a URL") from None
            page = Page(
                bundle.full_hash(raw),
                self.keep(data),
                count,
                fragment.get("filters") or {},
                tuple(fragment.get("meta") or {}),
            )
            out.append((url, page))
        return out

    def _assets(self, read: bundle.Read) -> None:
        st = self.state
        if read.language and st.language and read.language != st.language:
            raise FormatError(f"pages in {read.language} and {st.language}")
        if read.language:
            st.language, st.version, st.entry = read.language, read.version, read.entry
        if not st.assets and read.assets:
            st.assets = {path: self.keep(data) for path, data in sorted(read.assets.items())}

    def _cold(self, urls: list[str], html_of: Callable[[str], str]) -> None:
        st = self.state
        block_fields: list[list[str]] = []
        for read in self._batches(urls, html_of):
            self._assets(read)
            b = len(st.blocks)
            found = self._pages_of(read)
            urls = [url for url, _ in found]
            st.blocks.append(urls)
            block_fields.append(read.fields)
            for url, page in found:
                st.pages[url] = page
                st.block_of[url] = b
            for w, postings, variants, body in read.words:
                word = st.words.get(w)
                if word is None:
                    word = st.words[w] = Word()
                if postings:
                    word.runs[b] = _run_of(postings, body)
                if variants:
                    self._add_variants(w, word, variants, urls)
        st.fields = sorted({f for p in st.pages.values() for f in p.fields})
        for b, fields in enumerate(block_fields):
            if fields != st.fields:
                self._remap_block(b, fields, st.fields)
        st.order = sorted(st.words)
        self._write(None)

    def _add_variants(self, w: str, word: Word, variants, urls: list[str]) -> None:
        if word.variants is None:
            word.variants = {}
        self.state.variant_words.add(w)
        for form, postings in variants:
            page = 0
            for delta, locs, meta in postings:
                page += delta
                word.variants.setdefault(urls[page], []).append((form, locs, meta))

    def _remap_block(self, b: int, old: list[str], new: list[str]) -> None:
        """Meta-field ids of block `b`'s postings, from `old` field order to `new`."""
        st = self.state
        # A field no page keeps is only on pages about to leave the index: any id will do.
        ids = [new.index(f) if f in new else 0 for f in old]
        for word in st.words.values():
            run = word.runs.get(b)
            if run is not None and run[3]:
                word.runs[b] = _make_run(
                    [(p, locs, _fields(m, ids)) for p, locs, m in _postings(run)]
                )
            if word.variants:
                for url in st.blocks[b]:
                    if url in word.variants:
                        word.variants[url] = [
                            (f, locs, _fields(m, ids)) for f, locs, m in word.variants[url]
                        ]

    def _splice(self, pages: dict[str, str], removed: set[str]) -> None:
        st = self.state
        fresh: dict[str, tuple] = {}  # url -> (page, fields, {word: (locs, meta)}, variants)
        for read in self._batches(sorted(pages), pages.__getitem__):
            self._assets(read)
            found = self._pages_of(read)
            per_page: list[dict] = [{} for _ in found]
            variants: list[dict] = [{} for _ in found]
            for w, postings, forms, _body in read.words:
                page = 0
                for delta, locs, meta in postings:
                    page += delta
                    per_page[page][w] = (locs, meta)
                for form, vpostings in forms:
                    page = 0
                    for delta, locs, meta in vpostings:
                        page += delta
                        variants[page].setdefault(w, []).append((form, locs, meta))
            for i, (url, page) in enumerate(found):
                fresh[url] = (page, read.fields, per_page[i], variants[i])
        gone = (removed | set(pages)) & set(st.pages)  # old versions leave the index
        kept = [p for url, p in st.pages.items() if url not in gone]
        fields = sorted(
            {f for p in kept for f in p.fields} | {f for v in fresh.values() for f in v[0].fields}
        )
        renumbered = False
        if fields != st.fields:
            for b in range(len(st.blocks)):
                self._remap_block(b, st.fields, fields)
            st.fields = fields
            renumbered = True  # every meta location may have changed: assemble every chunk
        dirty: set[str] = set()
        targets: dict[int, list[str]] = {}
        for url in fresh:
            b = st.block_of[url] if url in st.pages else self._block_for(url)
            targets.setdefault(b, []).append(url)
        for url in gone:
            targets.setdefault(st.block_of[url], [])
        for url in gone:
            del st.pages[url]
            del st.block_of[url]
            for w in list(st.variant_words):
                word = st.words[w]
                if word.variants and word.variants.pop(url, None) is not None:
                    dirty.add(w)
                    if not word.variants:
                        word.variants = None
                        st.variant_words.discard(w)
        for b, adding in sorted(targets.items()):
            renumbered |= self._splice_block(b, gone, adding, fresh, dirty)
        for url, (page, _fields_of, _postings, forms) in fresh.items():
            st.pages[url] = page
            for w, vs in forms.items():
                word = st.words.get(w)
                if word is None:
                    word = st.words[w] = Word()
                if word.variants is None:
                    word.variants = {}
                ids = [fields.index(f) for f in _fields_of]
                word.variants[url] = [(f, locs, _fields(m, ids)) for f, locs, m in vs]
                st.variant_words.add(w)
                dirty.add(w)
        for w in dirty:
            word = st.words.get(w)
            if word is not None and not word.runs and not word.variants:
                del st.words[w]
                i = bisect.bisect_left(st.order, w)
                if i < len(st.order) and st.order[i] == w:
                    del st.order[i]
            elif word is not None:
                i = bisect.bisect_left(st.order, w)
                if i == len(st.order) or st.order[i] != w:
                    st.order.insert(i, w)
        self._write(None if renumbered else dirty)

    def _block_for(self, url: str) -> int:
        """The block a new page joins: the last one whose first page sorts before it."""
        st = self.state
        best = 0
        for b, urls in enumerate(st.blocks):
            if urls and urls[0] <= url:
                best = b
            elif urls:
                break
        return best

    def _splice_block(self, b, gone, adding, fresh, dirty) -> bool:
        """Take the old versions out of block `b` and put `adding` in; True if its pages moved."""
        st = self.state
        old = st.blocks[b]
        new = sorted([u for u in old if u not in gone] + adding)
        index = {u: i for i, u in enumerate(new)}
        moved = new != old
        # Pages from `shift` on have another number: every run reaching them is made again.
        shift = next((i for i, (x, y) in enumerate(zip(old, new, strict=False)) if x != y), None)
        if shift is None and len(old) != len(new):
            shift = min(len(old), len(new))
        out_old = [i for i, u in enumerate(old) if u in gone]
        adds: dict[str, list] = {}
        for url in adding:
            page, fields_of, postings, _forms = fresh[url]
            ids = [st.fields.index(f) for f in fields_of]
            for w, (locs, meta) in postings.items():
                adds.setdefault(w, []).append((index[url], locs, _fields(meta, ids)))
        todo = set(adds)
        for w, word in st.words.items():
            run = word.runs.get(b)
            if run is None or w in todo:
                continue
            pages = run[0]
            if shift is not None and pages[-1] >= shift:
                todo.add(w)
                continue
            for i in out_old:
                j = bisect.bisect_left(pages, i)
                if j < len(pages) and pages[j] == i:
                    todo.add(w)
                    break
        for w in todo:
            word = st.words.get(w)
            if word is None:
                word = st.words[w] = Word()
            run = word.runs.get(b)
            items, dropped = [], []
            if run is not None:
                for p, locs, meta in _postings(run):
                    url = old[p]
                    if url not in gone:
                        items.append((index[url], locs, meta))
                    else:
                        dropped.append((index.get(url), locs, meta))
            added = adds.get(w, [])
            if not moved and sorted(dropped) == sorted(added):
                continue  # the edited pages have this word where they had it: same bytes
            items.extend(added)
            if items:
                items.sort(key=lambda item: item[0])
                word.runs[b] = _make_run(items)
            else:
                word.runs.pop(b, None)
            dirty.add(w)
        st.blocks[b] = new
        for url in adding:
            st.block_of[url] = b
        return moved

    # -- writing the bundle

    def _write(self, dirty: set[str] | None) -> None:
        """Every file of the bundle, named; new ones stored. `dirty`: the words whose postings
        changed (None: any may have, so every chunk is assembled again)."""
        st = self.state
        lang = st.language
        urls = [u for block in st.blocks for u in block]
        starts, n = [], 0
        for block in st.blocks:
            starts.append(n)
            n += len(block)
        number = {u: i for i, u in enumerate(urls)}
        files: dict[str, str] = {}
        fragments = bundle.short_names(lang, [st.pages[u].fragment for u in urls], step=1)
        for url, name in zip(urls, fragments, strict=True):
            files[f"fragment/{name}.pf_fragment"] = st.pages[url].digest

        sizes = [sum(run[2] for run in st.words[w].runs.values()) for w in st.order]
        known = {(c[0], c[1], c[2]): c for c in st.chunks}
        by_hash = {c[3]: c[4] for c in st.chunks}
        stale = sorted(dirty) if dirty is not None else None
        chunks: list = []
        todo: list[tuple[int, str, bytes]] = []
        for a, z in bundle.chunk_bounds(st.order, sizes):
            first, last = st.order[a], st.order[z - 1]
            old = known.get((first, last, z - a))
            if old is not None and stale is not None:
                i = bisect.bisect_left(stale, first)
                if i == len(stale) or stale[i] > last:
                    chunks.append(old)  # none of its words changed: the same file
                    continue
            payload = b"\x81" + bundle.array(z - a)
            payload += b"".join([self._word(w, starts, number) for w in st.order[a:z]])
            h = bundle.full_hash(payload)
            chunks.append((first, last, z - a, h, by_hash.get(h)))
            if chunks[-1][4] is None:
                todo.append((len(chunks) - 1, h, payload))
        if todo:
            self.stage("compressing the search index")
        # zlib lets other threads run while it compresses: both cores share the work.
        with ThreadPoolExecutor(max_workers=min(len(todo), os.cpu_count() or 1) or 1) as pool:
            packed = list(pool.map(lambda item: bundle.pack(item[2]), todo))
        for (i, _hash, _payload), data in zip(todo, packed, strict=True):
            chunks[i] = (*chunks[i][:4], self.keep(data))
        st.chunks = chunks
        ranges = bundle.chunk_ranges([(c[0], c[1]) for c in chunks])
        names = bundle.short_names(lang, [c[3] for c in chunks], step=2)
        meta_chunks = []
        for c, (frm, to), name in zip(chunks, ranges, names, strict=True):
            files[f"index/{name}.pf_index"] = c[4]
            meta_chunks.append([frm, to, name])

        values: dict[str, dict[str, list[int]]] = {}
        for i, url in enumerate(urls):
            for name, vals in st.pages[url].filters.items():
                slot = values.setdefault(name, {})
                for v in vals:
                    slot.setdefault(v, []).append(i)
        filters: dict[str, tuple[str, str]] = {}
        for name in sorted(values):
            payload = bundle.filter_payload(name, sorted(values[name].items()))
            h = bundle.full_hash(payload)
            old = st.filters.get(name)
            filters[name] = old if old and old[0] == h else (h, self.keep(bundle.pack(payload)))
        st.filters = filters
        meta_filters = []
        fnames = bundle.short_names(lang, [filters[n][0] for n in filters], step=2)
        for name, fname in zip(filters, fnames, strict=True):
            files[f"filter/{fname}.pf_filter"] = filters[name][1]
            meta_filters.append([name, fname])

        pages = [[name, st.pages[u].word_count] for u, name in zip(urls, fragments, strict=True)]
        payload = bundle.meta_payload(st.version, pages, meta_chunks, meta_filters, st.fields)
        meta = bundle.meta_name(lang, payload)
        files[f"pagefind.{meta}.pf_meta"] = self.keep(bundle.pack(payload))
        files[bundle.ENTRY] = self.keep(bundle.write_entry(st.entry, lang, meta, len(urls)))
        files.update(st.assets)
        st.files = files

    def _word(self, w: str, starts: list[int], number: dict[str, int]) -> bytes:
        """One word of a chunk: `[word, postings, variants]`, the runs laid end to end."""
        word = self.state.words[w]
        runs = sorted(word.runs.items())
        parts = [b"\x83", bundle.text(w), bundle.array(sum(len(r[0]) for _, r in runs))]
        last = 0
        for b, (pages, body, _size, _meta) in runs:
            first = starts[b] + pages[0]
            parts += (b"\x83", bundle.uint(first - last), body)
            last = starts[b] + pages[-1]
        if not word.variants:
            parts.append(b"\x80")
            return b"".join(parts)
        order: list[str] = []
        postings: dict[str, list] = {}
        for url, forms in sorted(word.variants.items(), key=lambda item: number[item[0]]):
            # A page lists its forms found in the text first, then those only in meta fields,
            # each group sorted; the site's list takes each form at its first page.
            local = sorted(f for f, locs, _m in forms if locs) + sorted(
                f for f, locs, _m in forms if not locs
            )
            for form in local:
                if form not in postings:
                    order.append(form)
                    postings[form] = []
            for form, locs, meta in forms:
                postings[form].append((number[url], locs, meta))
        variants = []
        for form in order:
            entries, last = [], 0
            for page, locs, meta in sorted(postings[form], key=lambda item: item[0]):
                entries.append([page - last, locs, meta])
                last = page
            variants.append([form, entries])
        parts.append(bundle.dumps(variants))
        return b"".join(parts)

    # -- the build's outputs

    def outputs(self, previous: dict[str, str]) -> tuple[list[Output], str]:
        """Every file of the bundle as an output, kept where the last build has the same bytes;
        and what is wrong with the cache if a file it should hold is missing or changed."""
        outputs = []
        for path, name in sorted(self.state.files.items()):
            out = f"{BUNDLE_DIR}/{path}"
            if previous.get(out) == name:
                outputs.append(Output(out, None, SOURCE, reuse=name))
                continue
            data = self.made.get(name)
            if data is None:
                data = self._read(name)
                if data is None or digest(data) != name:
                    return [], f"its copy of {path} was changed or lost"
            outputs.append(Output(out, data, SOURCE))
        return outputs, ""

    def _read(self, name: str) -> bytes | None:
        st = self.state
        try:
            offset, size = st.stored[name]
            with open(self.cache / st.pack, "rb") as fh:
                fh.seek(offset)
                return fh.read(size)
        except (KeyError, OSError):
            return None


# -- runs ----------------------------------------------------------------------------------------


def _run_of(postings: list, body: bytes | None = None) -> tuple:
    """A run from postings whose page deltas start at the block's first page; `body`, when
    given, is their encoding after the first delta, as Pagefind wrote it."""
    numbers = list(accumulate(map(_FIRST, postings)))
    pages = array("H" if numbers[-1] < 0x10000 else "I", numbers)  # "H": half the cache
    locs, meta_locs = list(map(_SECOND, postings)), list(map(_THIRD, postings))
    size = len(postings) + sum(map(len, locs)) + sum(map(len, meta_locs))
    if body is None:
        raw = bundle.dumps(postings)
        body = raw[bundle.head_size(len(postings)) + 1 + bundle.head_size(postings[0][0]) :]
    return (pages, body, size, any(meta_locs))


def _make_run(items: list[tuple]) -> tuple:
    """A run from `(page, locs, meta_locs)`, sorted by page."""
    postings, last = [], 0
    for page, locs, meta in items:
        postings.append([page - last, locs, meta])
        last = page
    return _run_of(postings)


def _postings(run: tuple) -> list[tuple]:
    """A run's postings as `(page, locs, meta_locs)`."""
    pages, body = run[0], run[1]
    decoded = bundle.loads(bundle.array(len(pages)) + b"\x83" + bundle.uint(pages[0]) + body)
    return [(p, e[1], e[2]) for p, e in zip(pages, decoded, strict=True)]


def _fields(meta: list[int], ids: list[int]) -> list[int]:
    """Meta locations with their field ids (the negative markers, -id - 1) renumbered."""
    return [-ids[-x - 1] - 1 if x < 0 else x for x in meta] if meta else meta
