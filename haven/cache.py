"""The build cache in `.cache/haven/`: what earlier builds computed, keyed by their inputs.

Two kinds of entry:
- small dictionaries pickled whole (`load_cache` / `save_cache`): parsed front matter, the last
  build's input key, readability scores;
- rendered bodies in one SQLite file (`Store`): the facts of every body are loaded together (word
  counts, headings, links, citations), while the large parts (HTML, plain text) are read one at a
  time when a page that shows them is rendered. A one-edit rebuild reads the facts of 4,000
  articles and the HTML of the few pages it renders, not 60 MB of pickles.

Deleting `.cache/` is always safe: it only costs time.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import sqlite3
import threading
from dataclasses import replace
from pathlib import Path
from typing import NamedTuple

from .model import Citation, Diagnostic, Link, Rendered

CACHE_DIR = ".cache/haven"
STORE_FILE = "store.sqlite"
_SCHEMA = 6  # bump when the meaning of a stored row changes

_INHERITED: list[sqlite3.Connection] = []

_UNPICKLE_ERRORS = (
    OSError,
    pickle.PickleError,
    EOFError,
    AttributeError,
    ImportError,
    TypeError,
    ValueError,
    IndexError,
)


def load_cache(root: Path, name: str) -> dict:
    """A cache of an earlier build (.cache/haven/NAME.pickle); empty when absent or unreadable."""
    try:
        with open(root / CACHE_DIR / f"{name}.pickle", "rb") as fh:
            data = pickle.load(fh)
        return data if isinstance(data, dict) else {}
    except _UNPICKLE_ERRORS:
        return {}


def save_cache(root: Path, name: str, data: dict) -> None:
    path = root / CACHE_DIR / f"{name}.pickle"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".tmp-{os.getpid()}")
        with open(tmp, "wb") as fh:
            pickle.dump(data, fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
    except OSError:
        pass  # a cache we cannot write only costs time


def _row_id(key: tuple) -> str:
    return hashlib.blake2b(repr(key).encode("utf-8"), digest_size=16).hexdigest()


class Brief(NamedTuple):
    """The part of a rendered body every build needs for every document, cheap to load."""

    words: int
    links: tuple[Link, ...]
    citations: tuple[Citation, ...]
    diagnostics: tuple[Diagnostic, ...]

    @classmethod
    def of(cls, r: Rendered) -> Brief:
        return cls(r.words, r.links, r.citations, r.diagnostics)


class Store:
    """Rendered Markdown bodies and link-rewritten HTML, in `.cache/haven/store.sqlite`.

    `path=None` keeps everything in memory (a build with `--clean` must not trust old rows, and
    tests use it). One connection per process: a forked page renderer opens its own.
    """

    def __init__(self, path: Path | None, *, clean: bool = False):
        self.path = path
        self._pid = -1
        self._db: sqlite3.Connection | None = None
        self._lock = threading.Lock()
        self._briefs: dict[str, Brief] | None = None  # kept between builds of one process
        self._states: dict[str, object] | None = None
        if path is not None and clean:
            for suffix in ("", "-wal", "-shm", "-journal"):
                try:
                    os.unlink(f"{path}{suffix}")
                except OSError:
                    pass

    @classmethod
    def for_project(cls, root: Path, *, clean: bool = False) -> Store:
        return cls(root / CACHE_DIR / STORE_FILE, clean=clean)

    # -- connection

    def _conn(self) -> sqlite3.Connection:
        if self._db is not None and self._pid == os.getpid():
            return self._db
        if self._db is not None:
            # Inherited through fork: never use it here, and never close it (the parent owns it).
            _INHERITED.append(self._db)
        target = ":memory:" if self.path is None else str(self.path)
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            db = self._open(target)
        except sqlite3.DatabaseError:
            # A damaged cache file: start again rather than fail the build.
            if self.path is None:
                raise
            self.path.unlink(missing_ok=True)
            db = self._open(target)
        self._db, self._pid = db, os.getpid()
        return db

    @staticmethod
    def _open(target: str) -> sqlite3.Connection:
        db = sqlite3.connect(target, timeout=30, check_same_thread=False, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=OFF")  # a lost cache row only costs a re-render
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version != _SCHEMA:
            db.executescript(
                "DROP TABLE IF EXISTS body; DROP TABLE IF EXISTS link; DROP TABLE IF EXISTS doc;"
                "CREATE TABLE doc (key TEXT PRIMARY KEY, value BLOB);"
                "CREATE TABLE body (key TEXT PRIMARY KEY, brief BLOB, facts BLOB, html TEXT, text TEXT);"
                "CREATE TABLE link (path TEXT PRIMARY KEY, state BLOB, html TEXT);"
                f"PRAGMA user_version={_SCHEMA};"
            )
        return db

    def close(self) -> None:
        if self._db is not None and self._pid == os.getpid():
            self._db.close()
        self._db = None

    # -- parsed sources (key: path, digest of the file's bytes, settings validation depends on)

    def documents(self) -> dict[tuple, tuple]:
        """Every stored (Document or None, diagnostics) by its key tuple."""
        with self._lock:
            rows = self._conn().execute("SELECT key, value FROM doc").fetchall()
        out = {}
        for _id, blob in rows:
            try:
                key, value = pickle.loads(blob)
            except (*_UNPICKLE_ERRORS, TypeError):
                continue
            if isinstance(key, tuple) and isinstance(value, tuple):
                out[key] = value
        return out

    def update_documents(self, added: dict[tuple, tuple], removed: list[tuple]) -> None:
        rows = [
            (_row_id(key), pickle.dumps((key, value), protocol=pickle.HIGHEST_PROTOCOL))
            for key, value in added.items()
        ]
        with self._lock:
            db = self._conn()
            db.execute("BEGIN")
            db.executemany("INSERT OR REPLACE INTO doc VALUES (?, ?)", rows)
            db.executemany("DELETE FROM doc WHERE key=?", [(_row_id(k),) for k in removed])
            db.execute("COMMIT")

    # -- rendered bodies (key: digest of the Markdown body and where it sits)

    def briefs(self) -> dict[str, Brief]:
        """The brief of every stored body: what the planner needs of every document."""
        if self._briefs is None:
            with self._lock:
                rows = self._conn().execute("SELECT key, brief FROM body").fetchall()
            self._briefs = {}
            for key, blob in rows:
                try:
                    self._briefs[key] = Brief(*pickle.loads(blob))
                except (*_UNPICKLE_ERRORS, TypeError):
                    continue
        return self._briefs

    def put_bodies(self, items: list[tuple[str, Rendered]]) -> None:
        rows = []
        for key, r in items:
            brief = Brief.of(r)
            if self._briefs is not None:
                self._briefs[key] = brief
            rows.append(
                (
                    key,
                    pickle.dumps(tuple(brief), protocol=pickle.HIGHEST_PROTOCOL),
                    pickle.dumps(replace(r, html="", text=""), protocol=pickle.HIGHEST_PROTOCOL),
                    r.html,
                    r.text,
                )
            )
        with self._lock:
            db = self._conn()
            db.execute("BEGIN")
            db.executemany("INSERT OR REPLACE INTO body VALUES (?, ?, ?, ?, ?)", rows)
            db.execute("COMMIT")

    def rendered(self, key: str, *, with_text: bool = True) -> Rendered | None:
        """One stored body whole: facts, HTML and (unless not wanted) plain text."""
        column = "text" if with_text else "''"
        with self._lock:
            row = (
                self._conn()
                .execute(f"SELECT facts, html, {column} FROM body WHERE key=?", (key,))
                .fetchone()
            )
        if row is None:
            return None
        try:
            facts = pickle.loads(row[0])
        except _UNPICKLE_ERRORS:
            return None
        return replace(facts, html=row[1], text=row[2])

    def body_html(self, key: str) -> str | None:
        with self._lock:
            row = self._conn().execute("SELECT html FROM body WHERE key=?", (key,)).fetchone()
        return None if row is None else row[0]

    def keep_bodies(self, keys: set[str]) -> None:
        """Forget the bodies no document has any more."""
        self._keep("body", "key", keys, self._briefs)

    def _keep(self, table: str, column: str, wanted: set[str], memo: dict | None) -> None:
        with self._lock:
            db = self._conn()
            stored = {k for (k,) in db.execute(f"SELECT {column} FROM {table}")}
            stale = [(k,) for k in stored - wanted]
            for (k,) in stale:
                (memo or {}).pop(k, None)
            if stale:
                db.execute("BEGIN")
                db.executemany(f"DELETE FROM {table} WHERE {column}=?", stale)
                db.execute("COMMIT")

    # -- link-rewritten HTML (key: the document's path; `state` says what it was made from)

    def link_states(self) -> dict[str, object]:
        if self._states is None:
            with self._lock:
                rows = self._conn().execute("SELECT path, state FROM link").fetchall()
            self._states = {}
            for path, blob in rows:
                try:
                    self._states[path] = pickle.loads(blob)
                except _UNPICKLE_ERRORS:
                    continue
        return self._states

    def put_links(self, items: list[tuple[str, object, str]]) -> None:
        if self._states is not None:
            for path, state, _html in items:
                self._states[path] = state
        rows = [
            (path, pickle.dumps(state, protocol=pickle.HIGHEST_PROTOCOL), html)
            for path, state, html in items
        ]
        with self._lock:
            db = self._conn()
            db.execute("BEGIN")
            db.executemany("INSERT OR REPLACE INTO link VALUES (?, ?, ?)", rows)
            db.execute("COMMIT")

    def linked_html(self, path: str) -> str | None:
        with self._lock:
            row = self._conn().execute("SELECT html FROM link WHERE path=?", (path,)).fetchone()
        return None if row is None else row[0]

    def keep_links(self, paths: set[str]) -> None:
        """Forget the rewritten HTML of documents that are gone."""
        self._keep("link", "path", paths, self._states)
