"""Every key of Haven's incremental builds, in one place, each saying what it covers.

A key is a digest of everything its value is made of. None has a hand-bumped version: `code()`
is a digest of Haven's own source files and of the versions of the libraries whose output is
part of Haven's, so any change to the code that makes a value changes the keys of such values.

| key | covers | keeps |
|---|---|---|
| `code()` | Haven's source (every `haven/**/*.py`), the versions of jinja2, markdown, nh3, pygments, pyyaml, and Unicode's | the store's schema: another code version starts an empty store |
| `document_key` (haven/sources/discover.py) | source path, sha256 of its bytes, and what validation reads of site.yaml (time zone, size limit, content notes) | parsed front matter and body (table `doc`) |
| file stats (haven/sources/discover.py) | size, modification and change times, inode | a source is not read again while its stat is the same |
| `body_key` | `code()`, source path, body line, sha256 of the file | a rendered body (table `body`) |
| link state (haven/pipeline.py, `render_bodies`) | body key, source path, base path, and the URL of every target the rewrite looked up | the body's HTML with its links rewritten (table `link`) |
| `topics_key` | the vocabulary, and each article's path, date, tags and the line of its tags | topics and related articles |
| `shared_key` | `code()`, every file of templates/, site.yaml, the bibliography, preview or not | part of every page key |
| page key (haven/site/plan.py, `PageSpec.key`) | `shared_key` with the site context, the page's path and builder, and its inputs | a page kept from the last build |
| `inputs_key` | `shared_key`, the output folder, build options, files of static/, every source's digest, what is published and scheduled | a build that does nothing |
| `stat_key` | `shared_key`, the output folder, build options, the stat (size, times, inode) of every source and static file, the walks' problems; valid while no article's date is crossed | a build that does nothing, known before a source is parsed |
| search records key (haven/search.py, `records_key`) | the records' fields, the support lines, crisis terms, search code and Pagefind's version | the search index |
"""

from __future__ import annotations

import functools
import hashlib
import os
import unicodedata
from collections.abc import Iterable, Sequence
from pathlib import Path

from ..config import SiteConfig
from ..environment import installed_versions
from ..model import BuildOptions, Document

_PACKAGE = Path(__file__).resolve().parent.parent
# Libraries whose output is part of Haven's output or of what it caches.
_LIBRARIES = ("jinja2", "markdown", "nh3", "pygments", "pyyaml")


def digest(*parts: object) -> str:
    """A short digest of values: bytes as they are, anything else as text, each delimited."""
    h = hashlib.blake2b(digest_size=16)
    for part in parts:
        h.update(part if isinstance(part, bytes) else str(part).encode("utf-8"))
        h.update(b"\0")
    return h.hexdigest()


@functools.cache
def code() -> str:
    """The version of everything Haven computes: its own source and its libraries' versions."""
    h = hashlib.blake2b(digest_size=16)
    for path in sorted(_PACKAGE.rglob("*.py")):
        h.update(path.relative_to(_PACKAGE).as_posix().encode() + b"\0" + path.read_bytes())
    for name, version in installed_versions(_LIBRARIES).items():
        h.update(f"{name}={version}\0".encode())
    # Unicode's tables (Python's own) decide heading ids, slugs and what counts as a word.
    h.update(f"unicode={unicodedata.unidata_version}\0".encode())
    return h.hexdigest()


def folder_digest(folder: Path) -> str:
    """One digest of every file's name and bytes in `folder`."""
    h = hashlib.blake2b(digest_size=16)
    for path in sorted(folder.rglob("*")) if folder.is_dir() else ():
        if path.is_file():
            try:
                data = path.read_bytes()
            except OSError:  # the template stage reports it
                data = b"\0unreadable"
            h.update(path.relative_to(folder).as_posix().encode() + b"\0" + data)
    return h.hexdigest()


def shared_key(root: Path, preview: bool, files: Iterable[str]) -> str:
    """What every page depends on besides its inputs: code, templates, `files`, preview."""
    parts: list[object] = [code(), preview, folder_digest(root / "templates")]
    for name in files:
        path = root / name
        parts += [name, path.read_bytes() if path.is_file() else b""]
    return digest(*parts)


def body_key(doc: Document) -> str:
    """A rendered body's key. The file's digest stands for its body: editing the front matter
    renders the body again, which costs one body, while hashing every body costs every build."""
    return digest(code(), doc.path, doc.body_line, doc.digest)


def topics_key(config: SiteConfig, articles: Sequence[Document]) -> str:
    """What the topics and related articles read: the vocabulary, each article's tags and date."""
    return digest(
        repr(config.topics),
        *(f"{d.path}\0{d.date!r}\0{d.tags!r}\0{d.key_lines.get('tags')}" for d in articles),
    )


def inputs_key(
    shared: str,
    out: Path,
    options: BuildOptions,
    static: Sequence,
    docs: Sequence[Document],
    published: Sequence[Document],
    scheduled: Sequence[Document],
) -> str:
    """One digest of everything the output depends on; equal keys give identical sites.

    `static` is the list of files in static/ (with their stats); what is published, and what the
    preview marks as scheduled, move with the clock.
    """
    return digest(
        shared,
        out,
        options.drafts,
        options.future,
        options.strict,
        *(f"{rel}\0{st.st_size}\0{st.st_mtime_ns}" for rel, _path, st in static),
        "\0".join(f"{d.path}\0{d.digest}" for d in docs),
        "published",
        "\0".join(d.path for d in published),
        "scheduled",
        "\0".join(d.path for d in scheduled),
    )


def stat_key(
    shared: str,
    out: Path,
    options: BuildOptions,
    sources: Sequence,
    static: Sequence,
    problems: Sequence,
) -> str:
    """`inputs_key` known from file stats alone, so a build with nothing to do parses nothing.

    A file rewritten with the same bytes changes this key but not `inputs_key`: that build then
    finds nothing to do the longer way. What moves with the clock is the caller's to bound (the
    dates of articles on either side of the build's time).
    """
    parts: list[object] = [shared, out, options.drafts, options.future, options.strict]
    for src in sources:
        try:
            st = os.stat(src.file)
            parts.append(
                f"{src.path}\0{src.kind}\0{st.st_size}\0{st.st_mtime_ns}\0{st.st_ctime_ns}\0{st.st_ino}"
            )
        except OSError as exc:
            parts.append(f"{src.path}\0{exc.errno}")
    parts += (f"{rel}\0{st.st_size}\0{st.st_mtime_ns}\0{st.st_ino}" for rel, _path, st in static)
    parts += (repr(d) for d in problems)
    return digest(*parts)
