"""Pagefind's bundle format: the one module that knows how Pagefind lays out its files.

Haven merges Pagefind's output for batches of pages into one bundle and splices edited pages into
it, so it reads and writes a format Pagefind does not publish (pagefind/src/index/*.rs). That is
a debt, and it is contained here:

- `TESTED_VERSIONS` names the Pagefind releases whose bundles Haven's were compared with: the
  merged and the spliced bundle decode equal to Pagefind's own bundle of the same records
  (tests/test_search_index.py). For any other version, the index is one whole-site Pagefind run
  (haven/search/index.py), which needs nothing from this module: slow and memory-hungry, but
  correct.
- Every file is gzip of `SIGNATURE` followed by CBOR (minicbor's encoding of Rust structs as
  arrays); `cbor2` decodes and encodes it, and the few headers written by hand below are the
  CBOR standard's (RFC 8949), not Pagefind's.

The layout, as of Pagefind 1.5:
- `pagefind.<lang>_<hash>.pf_meta`: `[version, [[fragment, word_count]], [[from, to, chunk]],
  [[filter, file]], [[sort, [page]]], [meta field]]`, pages numbered in the order they were added;
- `index/<lang>_<hash>.pf_index`: `[[[word, [[page_delta, locs, meta_locs]], [[form, pages]]]]]`,
  words sorted, cut into chunks of `CHUNK_LOCATIONS` locations;
- `filter/<lang>_<hash>.pf_filter`: `[filter, [[value, [page]]]]`;
- `fragment/<lang>_<hash>.pf_fragment`: the page's JSON (url, content, meta, filters, ...);
- `pagefind-entry.json`: the version, and per language the meta file's hash and the page count.
"""

from __future__ import annotations

import hashlib
import io
import json
import zlib

import cbor2

TESTED_VERSIONS = frozenset({"1.5.2"})
SIGNATURE = b"pagefind_dcd"
CHUNK_LOCATIONS = 20_000  # Pagefind's default `index_chunk_size`
ENTRY = "pagefind-entry.json"
# The level Haven compresses its own files at. Pagefind uses 9; 4 gives the reader 5% more
# bytes for a tenth of the time, which an edit in the middle of a page (it moves every later
# word, so most chunks change) pays: 0.35 s against 3.3 s for 13 MB of index at 4,000 articles.
LEVEL = 4

loads = cbor2.loads
dumps = cbor2.dumps


class FormatError(Exception):
    """A file is not what this module expects of Pagefind's bundle."""


def unpack(data: bytes, name: str = "file") -> bytes:
    """The payload of a Pagefind file: gunzipped, the signature checked and removed."""
    try:
        raw = zlib.decompress(data, 47)  # gzip or zlib header, whichever it has
    except zlib.error as exc:
        raise FormatError(f"{name}: not gzip ({exc})") from None
    if not raw.startswith(SIGNATURE):
        raise FormatError(f"{name}: no Pagefind signature")
    return raw[len(SIGNATURE) :]


def decode(data: bytes, name: str = "file"):
    """A Pagefind file's CBOR, decoded."""
    try:
        return loads(unpack(data, name))
    except (ValueError, cbor2.CBORDecodeError) as exc:
        raise FormatError(f"{name}: bad CBOR ({exc})") from None


def pack(payload: bytes) -> bytes:
    """gzip of the signature and `payload`, with no time or name in the header (deterministic)."""
    z = zlib.compressobj(LEVEL, zlib.DEFLATED, 31)
    return z.compress(SIGNATURE) + z.compress(payload) + z.flush()


def full_hash(payload: bytes) -> str:
    """Pagefind's `full_hash`: SHA-1, each byte in hex without zero padding."""
    return "".join(format(b, "x") for b in hashlib.sha1(payload).digest())


def short_names(language: str, hashes: list[str], step: int = 2) -> list[str]:
    """File names as Pagefind gives them in order: `<lang>_` and 7 hex digits, `step` more at a
    time on a clash (2 for chunks and filters, 1 for fragments: pagefind/src/index/mod.rs)."""
    taken: set[str] = set()
    names = []
    for h in hashes:
        full = f"{language}_{h}"
        n = len(language) + 8
        while full[:n] in taken and n < len(full):
            n += step
        taken.add(full[:n])
        names.append(full[:n])
    return names


def meta_name(language: str, payload: bytes) -> str:
    """The meta file's hash: `<lang>_` and the first len(lang) + 8 digits of the payload's hash."""
    return f"{language}_{full_hash(payload)[: len(language) + 8]}"


# -- CBOR heads (RFC 8949, section 3): the few values spliced by hand --------------------------


def head(major: int, n: int) -> bytes:
    """The head of a data item: major type and argument, in the shortest form."""
    if n < 24:
        return bytes((major << 5 | n,))
    if n < 0x100:
        return bytes((major << 5 | 24, n))
    if n < 0x10000:
        return bytes((major << 5 | 25,)) + n.to_bytes(2, "big")
    if n < 0x100000000:
        return bytes((major << 5 | 26,)) + n.to_bytes(4, "big")
    return bytes((major << 5 | 27,)) + n.to_bytes(8, "big")


def head_size(n: int) -> int:
    """How many bytes `head(_, n)` takes."""
    return 1 if n < 24 else 2 if n < 0x100 else 3 if n < 0x10000 else 5 if n < 2**32 else 9


def uint(n: int) -> bytes:
    return head(0, n)


def text(s: str) -> bytes:
    data = s.encode("utf-8")
    return head(3, len(data)) + data


def array(n: int) -> bytes:
    return head(4, n)


# -- files -----------------------------------------------------------------------------------


def read_entry(data: bytes) -> dict:
    """`pagefind-entry.json`, parsed (key order kept, so it is written back the same)."""
    try:
        entry = json.loads(data)
    except ValueError as exc:
        raise FormatError(f"{ENTRY}: not JSON ({exc})") from None
    if not isinstance(entry, dict) or not isinstance(entry.get("languages"), dict):
        raise FormatError(f"{ENTRY}: no languages")
    return entry


def write_entry(template: dict, language: str, meta_hash: str, page_count: int) -> bytes:
    """`pagefind-entry.json` for one language, as serde_json writes it."""
    entry = dict(template)
    lang = dict(template["languages"].get(language) or {"hash": "", "wasm": None})
    lang["hash"], lang["page_count"] = meta_hash, page_count
    entry["languages"] = {language: lang}
    return json.dumps(entry, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def meta_payload(version, pages, chunks, filters, fields) -> bytes:
    """`pf_meta`: pages `[[fragment, word_count]]`, chunks `[[from, to, name]]`, filters
    `[[filter, name]]`; Haven's pages have no sort keys."""
    return dumps([version, pages, chunks, filters, [], fields])


def filter_payload(name: str, values: list[tuple[str, list[int]]]) -> bytes:
    return dumps([name, [[value, pages] for value, pages in values]])


def chunk_bounds(words: list[str], sizes: list[int]) -> list[tuple[int, int]]:
    """Pagefind's chunking: words in order, a chunk closed once it holds `CHUNK_LOCATIONS`
    locations (a word's count: each page's locations, meta locations, and one)."""
    bounds, start, size = [], 0, 0
    for i, n in enumerate(sizes):
        size += n
        if size >= CHUNK_LOCATIONS:
            bounds.append((start, i + 1))
            start, size = i + 1, 0
    if start < len(words):
        bounds.append((start, len(words)))
    return bounds


def chunk_ranges(first_last: list[tuple[str, str]]) -> list[list[str]]:
    """Each chunk's `[from, to]`, shortened as Pagefind does to the prefixes that tell
    neighbours apart (`to` only when it stays at or after `from`)."""
    ranges = [[a, b] for a, b in first_last]
    for left, right in zip(ranges, ranges[1:], strict=False):
        common = 0
        for x, y in zip(right[0], left[1], strict=False):
            if x != y:
                break
            common += 1
        to, frm = left[1][: common + 1], right[0][: common + 1]
        if to >= left[0]:
            left[1] = to
        right[0] = frm
    return ranges


# -- reading a bundle Pagefind wrote ---------------------------------------------------------


class Read:
    """A bundle as Pagefind wrote it, decoded: pages in Pagefind's order, words in word order."""

    __slots__ = ("language", "entry", "version", "pages", "fragments", "words", "fields", "assets")

    def __init__(self) -> None:
        self.language = ""
        self.entry: dict = {}
        self.version = ""
        self.pages: list[tuple[str, int]] = []  # (fragment name, word count)
        self.fragments: list[tuple[bytes, bytes]] = []  # (file bytes, JSON payload), page order
        # (word, [[page_delta, locs, meta_locs]], [[form, postings]], the postings' bytes after
        # the first page delta): the bytes as Pagefind wrote them, so they need no encoding
        self.words: list[tuple] = []
        self.fields: list[str] = []
        self.assets: dict[str, bytes] = {}  # the scripts and WebAssembly, as they are


def read_bundle(files: dict[str, bytes]) -> Read:
    """Decode the files of one Pagefind bundle (path -> bytes); FormatError if it is not the
    layout this module knows (several languages, sort keys, a missing file)."""
    read = Read()
    if ENTRY not in files:
        raise FormatError(f"no {ENTRY}")
    read.entry = read_entry(files[ENTRY])
    languages = read.entry["languages"]
    if len(languages) > 1:
        raise FormatError(f"{ENTRY}: more than one language ({', '.join(sorted(languages))})")
    for path, data in files.items():
        if path != ENTRY and not path.startswith(("fragment/", "index/", "filter/")):
            if not path.endswith(".pf_meta"):
                read.assets[path] = data
    if not languages:
        return read  # no page had a word to index
    ((read.language, lang),) = languages.items()
    meta_path = f"pagefind.{lang.get('hash')}.pf_meta"
    meta = decode(_file(files, meta_path), meta_path)
    if not (isinstance(meta, list) and len(meta) == 6):
        raise FormatError(f"{meta_path}: not six parts")
    read.version, pages, chunks, _filters, sorts, read.fields = meta
    if sorts:
        raise FormatError(f"{meta_path}: sort keys, which Haven does not merge")
    read.pages = [(name, count) for name, count in pages]
    for name, _count in read.pages:
        path = f"fragment/{name}.pf_fragment"
        data = _file(files, path)
        read.fragments.append((data, unpack(data, path)))
    for _from, _to, name in chunks:
        path = f"index/{name}.pf_index"
        read.words.extend(read_words(unpack(_file(files, path), path), path))
    return read


def read_words(raw: bytes, name: str = "chunk") -> list[tuple]:
    """A chunk's words, each with the bytes of its postings after the first page delta."""
    fp = io.BytesIO(raw)
    item = cbor2.CBORDecoder(fp).decode
    words = []
    try:
        if raw[0] != 0x81:
            raise ValueError("not a one-part array")
        count, i = _head(raw, 1, 4)
        for _ in range(count):
            if raw[i] != 0x83:
                raise ValueError("a word is not three parts")
            size, i = _head(raw, i + 1, 3)
            word = raw[i : i + size].decode("utf-8")
            fp.seek(i + size)
            start = fp.tell()
            postings = item()
            end = fp.tell()
            variants = item()
            i = fp.tell()
            body = b""
            if postings:
                body = raw[start + head_size(len(postings)) + 1 + head_size(postings[0][0]) : end]
            words.append((word, postings, variants, body))
    except (ValueError, IndexError, UnicodeDecodeError, cbor2.CBORDecodeError) as exc:
        raise FormatError(f"{name}: bad CBOR ({exc})") from None
    return words


def _head(raw: bytes, i: int, major: int) -> tuple[int, int]:
    """The argument of the data item at `i`, which must be of type `major`; and where it ends."""
    first = raw[i]
    if first >> 5 != major:
        raise ValueError(f"type {first >> 5} where {major} was expected")
    info = first & 31
    if info < 24:
        return info, i + 1
    width = {24: 1, 25: 2, 26: 4, 27: 8}.get(info)
    if width is None:
        raise ValueError("an indefinite length")
    return int.from_bytes(raw[i + 1 : i + 1 + width], "big"), i + 1 + width


def _file(files: dict[str, bytes], path: str) -> bytes:
    try:
        return files[path]
    except KeyError:
        raise FormatError(f"{path} is named but missing") from None


def describe(files: dict[str, bytes]) -> dict:
    """A bundle decoded into plain data, so two bundles can be compared: equal descriptions
    search alike. The filter files' names and the order of their values, which Pagefind takes
    from a hash map (different on every run), are left out; the meta file's and the entry's
    hash, which name the filter files, too."""
    read = read_bundle(files)
    entry = dict(read.entry)
    entry["languages"] = {k: {**v, "hash": None} for k, v in entry["languages"].items()}
    if not read.language:
        return {"entry": entry, "assets": read.assets}
    meta = decode(files[f"pagefind.{read.entry['languages'][read.language]['hash']}.pf_meta"])
    filters = {}
    for name, fname in meta[3]:
        fname_, values = decode(files[f"filter/{fname}.pf_filter"])
        filters[name] = sorted((value, pages) for value, pages in values)
    return {
        "entry": entry,
        "version": read.version,
        "pages": read.pages,
        "chunks": meta[2],
        "filters": filters,
        "fields": read.fields,
        "words": read.words,
        "fragments": [raw for _data, raw in read.fragments],
        "assets": read.assets,
    }
