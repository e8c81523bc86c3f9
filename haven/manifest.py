"""The manifest: what a build knows about the output folder it wrote, for the next build and `check`.

One typed record (`Manifest`, of frozen dataclasses) per output folder, kept out of
the published folder in the store (`state` row `site:<folder>` of `.cache/haven/store.sqlite`):

- for the next build: the generator, each page's fingerprint and each file's digest, the search
  records' key, and the stat signature of the folder's marker `.haven` when it was written (a
  folder whose marker differs was copied, restored or written by another build: not trusted);
- for `check`, which never runs the build: each page's source and links as the editor wrote them,
  the unpublished URLs, and per published source what the policies judge (kind, title, URL,
  review dates and reviewer, content notes, `TODO` placeholders, the store key of the body's
  plain text for reading levels), plus the build's own findings that `check` reports too (a
  start-here path naming no published article).

The build makes the record with `record_build` (pure; called once, by the pipeline, with what it
has already read), the writer stores it with `write_manifest` once the folder is written, and
`read_manifest` is the one reader. A row this code did not write (another version of Haven, a
damaged or edited cache) is discarded, never trusted: the build then rebuilds every page and
`check` says what it cannot check.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from types import MappingProxyType
from typing import Any

from . import __version__
from .incremental.store import Brief, Store
from .model import Diagnostic, Document

GENERATOR = f"haven {__version__}"
MARKER = ".haven"  # the one file the output holds besides the site: it marks the folder as ours
WRITING = ".haven-writing"  # present while the writer replaces files in place
# A row is read only when this very code wrote it: the format is the digest of this file.
FORMAT = hashlib.blake2b(Path(__file__).read_bytes(), digest_size=8).hexdigest()
_EMPTY: Mapping = MappingProxyType({})


@dataclass(frozen=True)
class PageRecord:
    """An output page made from a source: that source, and its links as the editor wrote them."""

    source: str  # project-relative path, 'content/articles/trust.md'
    links: tuple[tuple[str, int], ...] = ()  # (href as written, source line)


@dataclass(frozen=True)
class Placeholder:
    """A `TODO` left from `new` in a source (scaffold's detector, run by the build)."""

    line: int
    column: int | None = None  # 1-based, in the body; None for a front-matter value


@dataclass(frozen=True)
class SourceRecord:
    """What `check` judges of one published source, as the build read it."""

    path: str  # project-relative, 'content/articles/trust.md'
    digest: str  # sha256 of the file's bytes, as the build read them
    kind: str  # 'article' | 'page'
    title: str
    url: str  # site-relative, without the base path: '/articles/trust/'
    text_key: str  # the store's key of the body's plain text (reading levels)
    author: str = ""  # as written; '' falls back to site.yaml's author
    reviewed_by: str = ""
    reviewed_by_line: int | None = None
    last_reviewed: date | None = None
    next_review: date | None = None  # as written; None: last_reviewed plus the review interval
    review_line: int | None = None  # line of next_review, else of last_reviewed
    content_notes: tuple[str, ...] = ()
    placeholders: tuple[Placeholder, ...] = ()


@dataclass(frozen=True)
class Finding:
    """A problem the build found (in its words) that `check` reports as an error."""

    kind: str  # 'start-here-missing'
    target: str  # the key at fault: 'start_here[0].articles[2]'
    message: str
    source: str  # the file to fix: 'site.yaml'
    line: int | None = None


class Records(Mapping):
    """Records by key (output page or source path), each kept with its JSON form: a build takes
    the entries of unchanged sources from the previous manifest as they are, and the writer
    stores them without encoding them again. Equal when their JSON forms are."""

    def __init__(self, typed: dict[str, Any], stored: dict[str, list]):
        # Filled by `record_build` and `_decode` only; read-only once made.
        self.typed = typed  # key -> record
        self.stored = stored  # key -> the record as JSON data (see `_ENCODE`)

    def __getitem__(self, key: str) -> Any:
        return self.typed[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.typed.get(key, default)

    def __iter__(self):
        return iter(self.typed)

    def __len__(self) -> int:
        return len(self.typed)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Records):
            return self.stored == other.stored
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]


_NONE = Records({}, {})


def _none() -> Records:
    return _NONE


def _empty() -> Mapping:
    return _EMPTY


@dataclass(frozen=True)
class Manifest:
    """The build's record of one output folder."""

    generator: str = GENERATOR
    base_path: str = "/"
    pages: Records = field(default_factory=_none)  # output page -> PageRecord
    sources: Records = field(default_factory=_none)  # source path -> SourceRecord
    unpublished: tuple[str, ...] = ()  # site-relative URLs of drafts and scheduled articles
    findings: tuple[Finding, ...] = ()
    search: str | None = None  # key of the search records the index was made from; None: none
    fingerprints: Mapping[str, str] = field(default_factory=_empty)  # page -> its inputs' digest
    digests: Mapping[str, str] = field(default_factory=_empty)  # file -> digest of its bytes
    # What the records were made with (the detector's code and the site's settings): while it
    # is the same, a source whose bytes, URL and body key are unchanged keeps its records.
    records_key: str = ""
    # Not part of what was recorded: the marker's stat when it was, and whether it still is.
    marker: tuple[int, ...] = field(default=(), compare=False)
    trusted: bool = field(default=False, compare=False)


# -- what the build records (pure) --------------------------------------------------------------


def record_build(
    config,
    documents: Sequence[Document],
    *,
    pages: Mapping[str, str],
    url_of: Callable[[Document], str],
    briefs: Mapping[str, Brief],
    text_keys: Mapping[str, str],
    unpublished: Iterable[str],
    findings: Iterable[Diagnostic],
    fingerprints: Mapping[str, str],
    search: str | None,
    previous: Manifest | None = None,
) -> Manifest:
    """The manifest of a build (without digests: the writer adds them as it writes).

    `documents` are the published sources, `pages` maps each one's path to its output page
    ('articles/trust/index.html'), `url_of` gives its URL, `briefs` its links, `text_keys` the
    store keys of its body, `findings` the build's diagnostics that `check` reports too. The
    records of `previous` (the folder's manifest) are reused for each source whose bytes, page,
    URL and body key are unchanged, when made with the same code and settings.
    """
    from . import scaffold

    key = _records_key(config, scaffold)
    if previous is None or previous.records_key != key:
        previous = Manifest()
    old_pages, old_sources = previous.pages.typed, previous.sources.typed
    page_records, sources = Records({}, {}), Records({}, {})
    for doc in documents:
        path, url, page = doc.path, url_of(doc), pages.get(doc.path)
        if page is None:  # a source that makes no page of its own
            continue
        text_key = text_keys[path]
        old = old_sources.get(path)
        old_page = old_pages.get(page)
        if (
            old is not None
            and old.digest == doc.digest
            and old.url == url
            and old.text_key == text_key  # the body, as rendered: its links
            and old_page is not None
            and old_page.source == path
        ):
            sources.typed[path], sources.stored[path] = old, previous.sources.stored[path]
            page_records.typed[page] = old_page
            page_records.stored[page] = previous.pages.stored[page]
            continue
        links = tuple((link.href, link.line) for link in briefs[path].links)
        _add(page_records, page, _make(PageRecord, (path, links)))
        _add(sources, path, source_record(doc, url, text_key, scaffold.placeholders))
    return Manifest(
        GENERATOR,
        config.base_path,
        page_records,
        sources,
        tuple(sorted(unpublished)),
        tuple(Finding(d.code, d.key or "", d.message, d.path, d.line) for d in findings),
        search,
        MappingProxyType(dict(fingerprints)),
        _EMPTY,
        key,
    )


def _add(into: Records, key: str, record: Any) -> None:
    into.typed[key], into.stored[key] = record, _ENCODE[type(record)](record)


def _records_key(config, scaffold) -> str:
    """What records depend on besides their source: the detector, and the settings a source is
    validated with (all of site.yaml, as read)."""
    h = hashlib.blake2b(digest_size=16)
    h.update(Path(scaffold.__file__).read_bytes())
    h.update(repr(config).encode("utf-8"))
    return h.hexdigest()


def source_record(
    doc: Document,
    url: str,
    text_key: str,
    placeholders: Callable[[str], list[tuple[int, int]]] | None = None,
) -> SourceRecord:
    """What `check` judges of one source: review dates, reviewer, placeholders, ... (pure)."""
    if placeholders is None:
        from .scaffold import placeholders
    meta, lines = doc.meta, doc.key_lines
    found: list[Placeholder] = []
    for key, line in lines.items():
        value = getattr(meta, key, None)
        if isinstance(value, str) and "TODO" in value and placeholders(value):
            found.append(_make(Placeholder, (line, None)))
    if "TODO" in doc.body:  # what the detector looks for; most bodies have none
        offset = doc.body_line - 1
        found += [_make(Placeholder, (offset + n, col)) for n, col in placeholders(doc.body)]
    return _make(
        SourceRecord,
        (
            doc.path,
            doc.digest,
            doc.kind,
            doc.title,
            url,
            text_key,
            meta.author or "",
            meta.reviewed_by or "",
            lines.get("reviewed_by"),
            meta.last_reviewed,
            meta.next_review,
            lines.get("next_review") or lines.get("last_reviewed"),
            tuple(meta.content_notes or ()),
            tuple(sorted(found, key=lambda p: p.line)),
        ),
    )


def _make(cls: type, values: tuple) -> Any:
    """A frozen record from its field values in order, without the slow path of its `__init__`
    (which sets each field through `object.__setattr__`): a manifest holds thousands."""
    obj = object.__new__(cls)
    obj.__dict__.update(zip(_FIELDS[cls], values, strict=True))
    return obj


# -- the store: one writer, one reader ----------------------------------------------------------


def state_name(out: Path) -> str:
    """The name of a folder's manifest in the store."""
    return f"site:{Path(out).resolve()}"


def built_name(out: Path) -> str:
    """The name of when a build last wrote the folder or found it up to date (ns since 1970)."""
    return f"built:{Path(out).resolve()}"


def marker_signature(out: Path) -> tuple:
    """Device, inode, size and times of the marker: every write of the folder replaces it."""
    try:
        st = os.stat(Path(out) / MARKER)
    except OSError:
        return ()
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def write_manifest(store: Store, out: Path, manifest: Manifest) -> Manifest:
    """Keep `manifest` as the record of `out`, with the signature of its marker as it is now.

    Called by the writer only, under its lock, once the folder is written.
    """
    sig = marker_signature(out)
    manifest = replace(manifest, marker=sig, trusted=True)
    store.put_json(state_name(out), _encode(manifest))
    store.memo[state_name(out)] = (sig, manifest)
    return manifest


def read_manifest(store: Store, out: Path) -> Manifest | None:
    """The record of the output folder `out`, or None when there is none to use.

    None when the folder has no marker, when a write into it was interrupted, or when the row is
    not what this code writes. `trusted` is False when the marker is not the one the record was
    written with (the folder was copied or restored): its digests must be verified before use.
    Shared between callers (the dev server asks for every build): never modify it.
    """
    out = Path(out).resolve()
    if (out / WRITING).exists():
        return None  # a write into the folder was interrupted: rebuild every page
    sig = marker_signature(out)
    if not sig:
        return None
    name = state_name(out)
    known = store.memo.get(name)
    if known is not None and known[0] == sig:
        return known[1]
    manifest = _decode(store.get_json(name))
    if manifest is None:
        return None
    manifest = replace(manifest, trusted=manifest.marker == sig)
    store.memo[name] = (sig, manifest)
    return manifest


# -- JSON ---------------------------------------------------------------------------------------
# Records are written as lists of their fields, in order: the format digest guards the order.

_FIELDS = {
    cls: tuple(cls.__dataclass_fields__) for cls in (PageRecord, Placeholder, SourceRecord, Finding)
}
_ENCODED: dict[str, tuple[object, str]] = {}  # field -> (value, its JSON), as last written


def _encode(m: Manifest) -> str:
    """The record as JSON; a field equal to the one this process wrote last reuses its text (the
    dev server writes the record after every save, and an edit changes few of its 3 MB)."""
    fields = {
        "format": FORMAT,
        "generator": m.generator,
        "base_path": m.base_path,
        "pages": m.pages,
        "sources": m.sources,
        "unpublished": m.unpublished,
        "findings": m.findings,
        "search": m.search,
        "fingerprints": m.fingerprints,
        "digests": m.digests,
        "records_key": m.records_key,
        "marker": m.marker,
    }
    parts = []
    for key, value in fields.items():
        known = _ENCODED.get(key)
        if known is not None and known[0] == value:
            text = known[1]
        else:
            if isinstance(value, Records):
                data: Any = value.stored
            elif isinstance(value, Mapping):
                data = dict(value)
            elif key == "findings":
                data = [[f.kind, f.target, f.message, f.source, f.line] for f in value]
            else:
                data = value
            text = json.dumps(data, ensure_ascii=False, sort_keys=True)
            _ENCODED[key] = (value, text)
        parts.append(f'"{key}": {text}')
    return "{" + ", ".join(parts) + "}"


def _day(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None


_ENCODE: dict[type, Callable[[Any], list]] = {
    PageRecord: lambda r: [r.source, [list(link) for link in r.links]],
    SourceRecord: lambda r: [
        r.path,
        r.digest,
        r.kind,
        r.title,
        r.url,
        r.text_key,
        r.author,
        r.reviewed_by,
        r.reviewed_by_line,
        _day(r.last_reviewed),
        _day(r.next_review),
        r.review_line,
        list(r.content_notes),
        [[p.line, p.column] for p in r.placeholders],
    ],
}


class _Foreign(Exception):
    """A value that is not what this code writes."""


def _decode(data: Any) -> Manifest | None:
    """The manifest in a stored row; None for anything this code did not write."""
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        return None
    try:
        pages, sources = data["pages"], data["sources"]
        return Manifest(
            _text(data["generator"]),
            _text(data["base_path"]),
            Records({_text(p): _page(v) for p, v in pages.items()}, pages),
            Records({_text(p): _source(v) for p, v in sources.items()}, sources),
            tuple(map(_text, data["unpublished"])),
            tuple(_finding(*f) for f in data["findings"]),
            data["search"] if data["search"] is None else _text(data["search"]),
            MappingProxyType(_texts(data["fingerprints"])),
            MappingProxyType(_texts(data["digests"])),
            _text(data["records_key"]),
            tuple(_int(n) for n in data["marker"]),
        )
    except (_Foreign, KeyError, TypeError, ValueError, AttributeError):
        return None


def _text(value: Any) -> str:
    if type(value) is not str:
        raise _Foreign(value)
    return value


def _int(value: Any) -> int:
    if type(value) is not int:
        raise _Foreign(value)
    return value


def _line(value: Any) -> int | None:
    return None if value is None else _int(value)


def _texts(data: dict) -> dict[str, str]:
    if not all(type(k) is str and type(v) is str for k, v in data.items()):
        raise _Foreign(data)
    return data


def _page(entry: list) -> PageRecord:
    source, links = entry
    links = tuple(map(tuple, links))
    if type(source) is not str or not all(
        len(link) == 2 and type(link[0]) is str and type(link[1]) is int for link in links
    ):
        raise _Foreign(entry)
    return _make(PageRecord, (source, links))


def _source(entry: list) -> SourceRecord:
    (path, digest, kind, title, url, key, author, reviewer, reviewer_line) = entry[:9]
    (last, due, review_line, notes, placeholders) = entry[9:]
    if not (
        type(path) is str
        and type(digest) is str
        and type(kind) is str
        and type(title) is str
        and type(url) is str
        and type(key) is str
        and type(author) is str
        and type(reviewer) is str
        and all(type(note) is str for note in notes)
    ):
        raise _Foreign(entry)
    return _make(
        SourceRecord,
        (
            path,
            digest,
            kind,
            title,
            url,
            key,
            author,
            reviewer,
            _line(reviewer_line),
            None if last is None else date.fromisoformat(last),
            None if due is None else date.fromisoformat(due),
            _line(review_line),
            tuple(notes),
            tuple(_make(Placeholder, (_int(n), _line(c))) for n, c in placeholders),
        ),
    )


def _finding(kind: Any, target: Any, message: Any, source: Any, line: Any) -> Finding:
    return Finding(_text(kind), _text(target), _text(message), _text(source), _line(line))
