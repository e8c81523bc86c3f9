"""The build cache in `.cache/haven/store.sqlite`: what earlier builds computed, keyed by inputs.

One SQLite file (standard library) holds every piece of incremental state:
- `doc`: parsed and validated sources;
- `body`: rendered bodies, whose facts are loaded together (word counts, links, citations) while
  the large parts (HTML, plain text) are read one at a time when a page that shows them is
  rendered: a one-edit rebuild reads the facts of 4,000 articles and the HTML of a few pages;
- `link`: body HTML with its links rewritten;
- `state`: named values (source stats, topics, plans, the last build, each output folder's build
  state, `check`'s findings per page and reading levels, compiled templates).

Every value is data: JSON, with tagged forms for tuples, sets, dates and the project's own
records (`to_json` / `from_json`), never a pickle, so a cache restored from elsewhere (a CI cache)
cannot run code. A row that does not decode is discarded; a damaged file is deleted and started
again; a cache that cannot be written only costs time. Each of these leaves a warning in
`Store.notes`, which the build reports and `--strict` never turns into an error.

Deleting `.cache/` is always safe: it only costs time.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib
import json
import os
import shutil
import sqlite3
import threading
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from ..model import WARNING, Citation, Diagnostic, Link, Rendered

CACHE_DIR = ".cache/haven"
STORE_FILE = "store.sqlite"

_INHERITED: list[sqlite3.Connection] = []


# -- values as JSON ------------------------------------------------------------------------------


class CacheDecodeError(ValueError):
    """A stored value that is not what this version of Haven writes: the row is discarded."""


# The records a cache may hold, by name, and the module of each (imported only when a value
# needs it: they import this module, and `check` needs none of the build's).
_RECORD_MODULES = {
    "Diagnostic": "model",
    "Document": "model",
    "Meta": "sources.schema",
    "Heading": "model",
    "Link": "model",
    "Citation": "model",
    "Question": "model",
    "Rendered": "model",
    "Topic": "model",
    "BuildResult": "model",
    "Taxonomy": "taxonomy",
    "Brief": "incremental.store",
}
_RECORDS: dict[str, type] = {}
_FIELDS: dict[type, tuple[str, ...] | None] = {}  # None: a NamedTuple (encoded as its items)
_MAKERS: dict[str, Any] = {}  # record name -> a function of its field values


def _record(name: str) -> type | None:
    """The record class of that name (registered on first use), or None if it is not one."""
    cls = _RECORDS.get(name)
    if cls is None and name in _RECORD_MODULES:
        module = importlib.import_module(f"haven.{_RECORD_MODULES[name]}")
        cls = getattr(module, name)
        names = (
            tuple(f.name for f in dataclasses.fields(cls))
            if dataclasses.is_dataclass(cls)
            else None
        )
        _RECORDS[name], _FIELDS[cls], _MAKERS[name] = cls, names, _maker(cls, names)
    return cls


def _maker(cls: type, names: tuple[str, ...] | None):
    """Build a record from its field values as unpickling would, without its `__init__` (a
    frozen dataclass's sets each field through a slow path); a wrong count raises."""
    if names is None:
        size = len(cls._fields)

        def make_tuple(values: list) -> Any:
            if len(values) != size:
                raise CacheDecodeError(f"{cls.__name__}: {len(values)} fields")
            return tuple.__new__(cls, values)

        return make_tuple

    def make(values: list) -> Any:
        if len(values) != len(names):
            raise CacheDecodeError(f"{cls.__name__}: {len(values)} fields")
        obj = object.__new__(cls)
        obj.__dict__.update(zip(names, values, strict=True))
        return obj

    return make


_LEAVES = frozenset({str, int, float, bool, type(None)})


def _enc(value: Any) -> Any:
    kind = type(value)
    if kind in _LEAVES:
        return value
    # Leaves are tested inline below: a call per string would be most of the time.
    if kind is list:
        return [v if type(v) in _LEAVES else _enc(v) for v in value]
    if kind is tuple:
        return {"t": [v if type(v) in _LEAVES else _enc(v) for v in value]}
    if kind is dict:
        if all(type(k) is str for k in value):
            return {"d": {k: v if type(v) in _LEAVES else _enc(v) for k, v in value.items()}}
        return {"m": [[_enc(k), _enc(v)] for k, v in value.items()]}
    if kind is frozenset or kind is set:
        return {"f" if kind is frozenset else "s": [_enc(v) for v in value]}
    if kind is datetime:
        zone = value.tzinfo
        return {"T": [value.isoformat(), zone.key if isinstance(zone, ZoneInfo) else None]}
    if kind is date:
        return {"D": value.isoformat()}
    if kind in _FIELDS or _record(kind.__name__) is kind:
        names = _FIELDS[kind]
        items = value if names is None else [getattr(value, n) for n in names]
        return {"r": [kind.__name__, [v if type(v) in _LEAVES else _enc(v) for v in items]]}
    raise TypeError(f"the cache cannot hold a {kind.__name__}")


_PLAIN = frozenset({str, int, float, bool, type(None)})


def _dec(value: Any) -> Any:
    kind = type(value)
    if kind is list:
        return [v if type(v) in _PLAIN else _dec(v) for v in value]
    if kind is not dict:
        return value
    if len(value) != 1:
        raise CacheDecodeError("not a tagged value")
    ((tag, data),) = value.items()
    if tag == "t":
        return tuple([v if type(v) in _PLAIN else _dec(v) for v in data])
    if tag == "d":
        return {k: v if type(v) in _PLAIN else _dec(v) for k, v in data.items()}
    if tag == "r":
        name, items = data
        make = _MAKERS.get(name)
        if make is None:
            if type(name) is not str or _record(name) is None:
                raise CacheDecodeError(f"unknown record {name!r}")
            make = _MAKERS[name]
        return make([v if type(v) in _PLAIN else _dec(v) for v in items])
    if tag == "m":
        return {_dec(k): _dec(v) for k, v in data}
    if tag == "f":
        return frozenset([_dec(v) for v in data])
    if tag == "s":
        return {_dec(v) for v in data}
    if tag == "T":
        moment, zone = data
        parsed = datetime.fromisoformat(moment)
        return parsed if zone is None else parsed.astimezone(ZoneInfo(zone))
    if tag == "D":
        return date.fromisoformat(data)
    raise CacheDecodeError(f"unknown tag {tag!r}")


def to_json(value: Any) -> str:
    """`value` (plain data, tuples, sets, dates and the project's records) as JSON text."""
    return json.dumps(_enc(value), ensure_ascii=False, separators=(",", ":"))


def from_json(text: str | bytes) -> Any:
    """The value `to_json` made; CacheDecodeError for anything else."""
    try:
        return _dec(json.loads(text))
    except CacheDecodeError:
        raise
    except (ValueError, TypeError, KeyError, AttributeError, RecursionError) as exc:
        raise CacheDecodeError(str(exc)) from None


# Parsed sources are loaded for every build, 4,000 at a time: a row is a plain list (key, the
# document's fields, its diagnostics), so that only the values that need it are decoded by tag.


def _encode_doc(key: tuple, value: tuple) -> str:
    doc, diags = value
    fields = None if doc is None else _enc(doc)["r"][1]
    return json.dumps([list(key), fields, [_enc(d) for d in diags]], ensure_ascii=False)


def _encode_brief(brief: Brief) -> str:
    words, links, citations, diags = brief
    return json.dumps(
        [
            words,
            [[link.href, link.line, link.text] for link in links],
            [[c.key, c.line, c.number] for c in citations],
            [_enc(d) for d in diags],
        ],
        ensure_ascii=False,
    )


def _decode_brief(text: str) -> Brief:
    words, links, citations, diags = json.loads(text)
    link, citation = (
        _record("Link") and _MAKERS["Link"],
        _record("Citation") and _MAKERS["Citation"],
    )
    diagnostics = tuple(_dec(d) for d in diags)
    if type(words) is not int or any(type(d) is not _record("Diagnostic") for d in diagnostics):
        raise CacheDecodeError("not a brief")
    return Brief(words, tuple(map(link, links)), tuple(map(citation, citations)), diagnostics)


def _decode_doc(text: str) -> tuple[tuple, tuple]:
    key, fields, diags = json.loads(text)
    if type(key) is not list or not all(type(part) is str for part in key):
        raise CacheDecodeError("not a document's key")
    doc = None
    if fields is not None:
        _record("Document")
        doc = _MAKERS["Document"]([v if type(v) in _PLAIN else _dec(v) for v in fields])
    diagnostics = [_dec(d) for d in diags]
    if diagnostics and any(type(d) is not _record("Diagnostic") for d in diagnostics):
        raise CacheDecodeError("not a diagnostic")
    return tuple(key), (doc, diagnostics)


# -- the store -----------------------------------------------------------------------------------


def _remove_pickles(folder: Path) -> None:
    """Remove the pickles and compiled templates that earlier Haven kept here: never read."""
    for old in folder.glob("*.pickle"):
        old.unlink(missing_ok=True)
    if (folder / "jinja").is_dir():
        shutil.rmtree(folder / "jinja", ignore_errors=True)


def _schema() -> int:
    """The store's schema version: derived from Haven's code, never bumped by hand."""
    from .keys import code

    return int(code()[:7], 16)  # SQLite's user_version is a signed 32-bit number


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


_TABLES = (
    "DROP TABLE IF EXISTS body; DROP TABLE IF EXISTS link; DROP TABLE IF EXISTS doc;"
    "DROP TABLE IF EXISTS state;"
    "CREATE TABLE doc (key TEXT PRIMARY KEY, value TEXT);"
    "CREATE TABLE body (key TEXT PRIMARY KEY, brief TEXT, facts TEXT, html TEXT, text TEXT);"
    "CREATE TABLE link (path TEXT PRIMARY KEY, state TEXT, html TEXT);"
    "CREATE TABLE state (name TEXT PRIMARY KEY, value TEXT);"
)


class Store:
    """Incremental state in `.cache/haven/store.sqlite` (see the module docstring).

    `path=None` keeps everything in memory (tests use it). `clean=True` (a build with `--clean`)
    trusts no body or link row written before it, while the file, with the build state of other
    output folders, stays. One connection per process: a forked page renderer opens its own.
    """

    def __init__(self, path: Path | None, *, clean: bool = False, label: str | None = None):
        self.path = path
        self.label = label or (str(path) if path is not None else ":memory:")
        self.notes: list[Diagnostic] = []  # warnings about the cache itself, for the build
        self.memo: dict[str, object] = {}  # decoded values its users keep while it is open
        self._pid = -1
        self._db: sqlite3.Connection | None = None
        self._lock = threading.Lock()
        self._briefs: dict[str, Brief] | None = None  # kept between builds of one process
        self._states: dict[str, object] | None = None
        self._memory = path is None  # True also once the file cannot be used
        self._writable = True
        self._discarded = 0  # rows that did not decode, since the last note
        if clean:
            self._briefs, self._states = {}, {}  # only what this build stores

    @classmethod
    def for_project(cls, root: Path, *, clean: bool = False) -> Store:
        return cls(root / CACHE_DIR / STORE_FILE, clean=clean, label=f"{CACHE_DIR}/{STORE_FILE}")

    # -- connection and trouble

    def _unlink_files(self) -> None:
        for suffix in ("", "-wal", "-shm", "-journal"):
            try:
                os.unlink(f"{self.path}{suffix}")
            except OSError:
                pass

    def _note(self, message: str, hint: str | None = None) -> None:
        note = Diagnostic(WARNING, self.label, None, None, message, hint=hint, code="cache")
        if note not in self.notes:
            self.notes.append(note)

    def take_notes(self) -> list[Diagnostic]:
        """The warnings gathered since the last call (damaged rows counted into one)."""
        if self._discarded:
            self._note(
                f"{self._discarded} cache entries that this version of Haven did not write "
                "were discarded",
                hint="nothing to do: they are made again",
            )
            self._discarded = 0
        notes, self.notes = self.notes, []
        return notes

    def _conn(self) -> sqlite3.Connection:
        if self._db is not None and self._pid == os.getpid():
            return self._db
        if self._db is not None:
            # Inherited through fork: never use it here, and never close it (the parent owns it).
            _INHERITED.append(self._db)
        self._db = None
        db = None
        if not self._memory:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                _remove_pickles(self.path.parent)
                db = self._open(str(self.path))
            except sqlite3.OperationalError as exc:
                self._unusable(exc)
            except sqlite3.DatabaseError as exc:
                # A damaged file: start again rather than fail the build.
                self._damaged(exc)
                try:
                    db = self._open(str(self.path))
                except sqlite3.DatabaseError as again:
                    self._unusable(again)
            except OSError as exc:
                self._unusable(exc)
        if db is None:
            db = self._open(":memory:")
        self._db, self._pid = db, os.getpid()
        return db

    @staticmethod
    def _open(target: str) -> sqlite3.Connection:
        db = sqlite3.connect(target, timeout=30, check_same_thread=False, isolation_level=None)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=OFF")  # a lost cache row only costs a re-render
            # Rows made by other code are not to be trusted: another version starts afresh.
            schema = _schema()
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version != schema:
                db.executescript(_TABLES + f"PRAGMA user_version={schema};")
            else:
                # A file that says it is ours but whose tables are damaged fails here, early.
                db.execute("SELECT name FROM state LIMIT 1").fetchall()
        except BaseException:
            db.close()
            raise
        return db

    def _damaged(self, exc: BaseException) -> None:
        self._note(
            f"the build cache was damaged ({exc}) and was discarded",
            hint="nothing to do: this build makes it again",
        )
        # The briefs and link states already read stay valid: a row they name that is gone
        # is made again when it is asked for.
        self._close_for_memory()
        self._unlink_files()

    def _unusable(self, exc: BaseException) -> None:
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        self._note(
            f"cannot use the build cache ({why}): this build keeps it in memory and will not "
            "speed up the next one",
            hint="make .cache/ writable, or delete it",
        )
        self._memory = True
        self._close_for_memory()

    def _cannot_write(self, exc: BaseException) -> None:
        self._note(
            f"cannot write the build cache ({exc}): the next build does again what this one did",
            hint="make .cache/ writable, or delete it",
        )
        self._writable = False

    def _read(self, query: str, args: tuple = (), *, one: bool = False):
        """Rows of a query; none when the file turns out damaged (it is then discarded)."""
        try:
            with self._lock:
                cursor = self._conn().execute(query, args)
                return cursor.fetchone() if one else cursor.fetchall()
        except sqlite3.OperationalError as exc:
            if "no such table" in str(exc):
                self._damaged(exc)
            else:
                self._unusable(exc)
            return None if one else []
        except sqlite3.DatabaseError as exc:
            self._damaged(exc)
            return None if one else []

    def _write(self, statements: list[tuple[str, list]]) -> None:
        """Run `executemany` statements in one transaction; trouble only costs the rows."""
        if not self._writable:
            return
        for attempt in (1, 2):
            try:
                with self._lock:
                    db = self._conn()
                    db.execute("BEGIN")
                    try:
                        for sql, rows in statements:
                            db.executemany(sql, rows)
                        db.execute("COMMIT")
                    except BaseException:
                        if db.in_transaction:
                            db.execute("ROLLBACK")
                        raise
                return
            except sqlite3.OperationalError as exc:
                if "no such table" not in str(exc):
                    self._cannot_write(exc)
                    return
                self._damaged(exc)
            except sqlite3.DatabaseError as exc:
                self._damaged(exc)
                if attempt == 2:
                    self._unusable(exc)

    def _close_for_memory(self) -> None:
        if self._db is not None and self._pid == os.getpid():
            self._db.close()
        self._db = None

    def _decode(self, text) -> Any:
        try:
            return from_json(text)
        except CacheDecodeError:
            self._discarded += 1
            raise

    def close(self) -> None:
        if self._db is not None and self._pid == os.getpid():
            self._db.close()
        self._db = None

    # -- named values

    def get(self, name: str, default: Any = None) -> Any:
        """A value stored with `put`, or `default` when absent or unreadable."""
        row = self._read("SELECT value FROM state WHERE name=?", (name,), one=True)
        if row is None:
            return default
        try:
            return self._decode(row[0])
        except CacheDecodeError:
            return default

    def put(self, name: str, value: Any) -> None:
        self.put_json(name, to_json(value))

    def get_json(self, name: str) -> Any:
        """A plain JSON value stored with `put_json` (no tags), or None."""
        row = self._read("SELECT value FROM state WHERE name=?", (name,), one=True)
        if row is None:
            return None
        try:
            return json.loads(row[0])
        except ValueError:
            self._discarded += 1
            return None

    def put_json(self, name: str, text: str) -> None:
        self._write([("INSERT OR REPLACE INTO state VALUES (?, ?)", [(name, text)])])

    def delete(self, name: str) -> None:
        self._write([("DELETE FROM state WHERE name=?", [(name,)])])

    # -- parsed sources (key: path, digest of the file's bytes, settings validation depends on)

    def documents(self) -> dict[tuple, tuple]:
        """Every stored (Document or None, diagnostics) by its key tuple."""
        out = {}
        for _id, text in self._read("SELECT key, value FROM doc"):
            try:
                key, value = _decode_doc(text)
            except (CacheDecodeError, ValueError, TypeError, KeyError, AttributeError):
                self._discarded += 1
                continue
            out[key] = value
        return out

    def update_documents(self, added: dict[tuple, tuple], removed: list[tuple]) -> None:
        rows = [(_row_id(key), _encode_doc(key, value)) for key, value in added.items()]
        self._write(
            [
                ("INSERT OR REPLACE INTO doc VALUES (?, ?)", rows),
                ("DELETE FROM doc WHERE key=?", [(_row_id(k),) for k in removed]),
            ]
        )

    # -- rendered bodies (key: digest of the Markdown body and where it sits)

    def briefs(self) -> dict[str, Brief]:
        """The brief of every stored body: what the planner needs of every document."""
        if self._briefs is None:
            briefs: dict[str, Brief] = {}
            for key, text in self._read("SELECT key, brief FROM body"):
                try:
                    briefs[key] = _decode_brief(text)
                except (CacheDecodeError, ValueError, TypeError, KeyError, AttributeError):
                    self._discarded += 1
            self._briefs = briefs
        return self._briefs

    def put_bodies(self, items: list[tuple[str, Rendered]]) -> None:
        rows = []
        for key, r in items:
            brief = Brief.of(r)
            if self._briefs is not None:
                self._briefs[key] = brief
            rows.append(
                (key, _encode_brief(brief), to_json(replace(r, html="", text="")), r.html, r.text)
            )
        self._write([("INSERT OR REPLACE INTO body VALUES (?, ?, ?, ?, ?)", rows)])

    def rendered(self, key: str, *, with_text: bool = True) -> Rendered | None:
        """One stored body whole: facts, HTML and (unless not wanted) plain text."""
        column = "text" if with_text else "''"
        row = self._read(f"SELECT facts, html, {column} FROM body WHERE key=?", (key,), one=True)
        if row is None:
            return None
        try:
            facts = self._decode(row[0])
        except CacheDecodeError:
            return None
        if not isinstance(facts, Rendered) or not isinstance(row[1], str):
            return None
        return replace(facts, html=row[1], text=row[2] or "")

    def body_html(self, key: str) -> str | None:
        row = self._read("SELECT html FROM body WHERE key=?", (key,), one=True)
        return row[0] if row is not None and isinstance(row[0], str) else None

    def body_text(self, key: str) -> str | None:
        """The plain text of one stored body (`check` measures reading levels on it)."""
        row = self._read("SELECT text FROM body WHERE key=?", (key,), one=True)
        return row[0] if row is not None and isinstance(row[0], str) else None

    def keep_bodies(self, keys: set[str]) -> None:
        """Forget the bodies no document has any more."""
        self._keep("body", "key", keys, self._briefs)

    def _keep(self, table: str, column: str, wanted: set[str], memo: dict | None) -> None:
        stored = {k for (k,) in self._read(f"SELECT {column} FROM {table}")}
        stale = [(k,) for k in stored - wanted]
        for (k,) in stale:
            (memo or {}).pop(k, None)
        if stale:
            self._write([(f"DELETE FROM {table} WHERE {column}=?", stale)])

    # -- link-rewritten HTML (key: the document's path; `state` says what it was made from)

    def link_states(self) -> dict[str, object]:
        if self._states is None:
            states: dict[str, object] = {}
            for path, text in self._read("SELECT path, state FROM link"):
                try:
                    states[path] = self._decode(text)
                except CacheDecodeError:
                    continue
            self._states = states
        return self._states

    def put_links(self, items: list[tuple[str, object, str]]) -> None:
        if self._states is not None:
            for path, state, _html in items:
                self._states[path] = state
        rows = [(path, to_json(state), html) for path, state, html in items]
        self._write([("INSERT OR REPLACE INTO link VALUES (?, ?, ?)", rows)])

    def linked_html(self, path: str) -> str | None:
        row = self._read("SELECT html FROM link WHERE path=?", (path,), one=True)
        return row[0] if row is not None and isinstance(row[0], str) else None

    def keep_links(self, paths: set[str]) -> None:
        """Forget the rewritten HTML of documents that are gone."""
        self._keep("link", "path", paths, self._states)
