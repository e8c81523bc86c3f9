"""The only module that writes the site: stage in a sibling folder, then swap it in whole.

A failed or interrupted build leaves the previous output byte-identical. Files whose bytes did not
change are hard-linked from the previous output, so their modification time stays and rsync or a
CDN upload sends only what changed.

A rebuild that changes a few files (an edit) writes just those into the folder, after every page
has been rendered without error: copying 5,000 links to change 30 files is most of the time of
such a build.

The output holds only the site and `.haven`, a marker with one fixed line that proves the folder
is Haven's. What the build knows about the folder is its manifest (`haven/manifest.py`), which the
writer keeps in the cache once the folder is written, with the marker's stat signature; a folder
whose marker does not match (copied, restored, changed) has its files checked against the
manifest's digests first.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import signal
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from types import MappingProxyType

from .errors import BuildError, UsageError
from .incremental.store import Store
from .manifest import MARKER, WRITING, Manifest, read_manifest, state_name, write_manifest
from .manifest import built_name as built_name  # the pipeline's and the tests' name for it
from .manifest import marker_signature as marker_signature
from .model import ERROR, WARNING, Diagnostic, Output

MARKER_TEXT = "Built by Haven: its next build may replace everything in this folder.\n"
LEGACY_MARKER = ".haven-build.json"  # before the build state moved to the cache
STAGING_MARK = ".haven-staging"


@dataclass(frozen=True)
class WriteStats:
    written: int
    unchanged: int
    notes: tuple[Diagnostic, ...] = ()  # warnings: a stale lock recovered, an old marker removed


def check_output_folder(out: Path, root: Path) -> None:
    """Refuse an output folder that would destroy something the generator did not make."""
    out = out.resolve()
    root = root.resolve()
    forbidden = {
        root,
        root / "content",
        root / "templates",
        root / "static",
        Path.home(),
        Path("/"),
    }
    if out in forbidden or out in root.parents:
        raise UsageError(
            f"refusing to build into {out}: it holds other files",
            [
                Diagnostic(
                    ERROR,
                    "site.yaml",
                    None,
                    None,
                    f"output folder {out} is the project, a source folder or a parent",
                    key="output_dir",
                    hint="use a folder of its own such as _site",
                )
            ],
        )
    if out.is_symlink() or (out.exists() and not out.is_dir()):
        raise UsageError(
            f"{out} is not a folder",
            [
                Diagnostic(
                    ERROR,
                    "site.yaml",
                    None,
                    None,
                    f"output path {out} is not a folder",
                    key="output_dir",
                )
            ],
        )
    if out.is_dir() and any(out.iterdir()) and not is_ours(out):
        raise UsageError(
            f"refusing to replace {out}",
            [
                Diagnostic(
                    ERROR,
                    "site.yaml",
                    None,
                    None,
                    f"{out} is not empty and was not built by Haven (no {MARKER})",
                    key="output_dir",
                    hint="empty it yourself or choose another folder",
                )
            ],
        )


def is_ours(out: Path) -> bool:
    """True when the folder has Haven's marker (or the one earlier Haven wrote)."""
    return (out / MARKER).is_file() or (out / LEGACY_MARKER).is_file()


def safe_join(base: str, rel: str) -> str:
    """base/rel, refusing absolute paths and '..' so nothing is written outside `base`."""
    if rel.startswith("/") or "\\" in rel or any(p in ("", ".", "..") for p in rel.split("/")):
        raise BuildError(f"unsafe output path {rel!r}")
    return f"{base}/{rel}"


def _digest(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def read_state(store: Store, out: Path) -> Manifest | None:
    """The manifest of the output folder `out` for the next write; None when there is none to use.

    `trusted` is False when the marker is not the one the manifest was written with (the folder
    was copied or restored) and the folder is not exactly what the manifest says: only the files
    whose bytes still have the recorded digest are kept, and the writer then stages a whole new
    folder. A folder restored whole (a CI cache) holds every recorded file with its recorded
    bytes and nothing else: it is trusted again. Shared between callers: never modify it.
    """
    manifest = read_manifest(store, out)
    if manifest is None or manifest.trusted:
        return manifest
    name = f"verified:{state_name(out)}"
    known = store.memo.get(name)
    if known is not None and known[0] is manifest:
        return known[1]
    verified = _verified(Path(out).resolve(), manifest)
    store.memo[name] = (manifest, verified)
    return verified


def _verified(out: Path, manifest: Manifest) -> Manifest:
    """The manifest with only the files whose bytes are what it says; trusted when that is all
    of them and the folder holds no other file."""
    digests = {}
    for rel, digest in manifest.digests.items():
        try:
            if _digest((out / rel).read_bytes()) == digest:
                digests[rel] = digest
        except (OSError, ValueError):
            continue
    prints = {k: v for k, v in manifest.fingerprints.items() if k in digests}
    intact = (
        len(digests) == len(manifest.digests)
        and _files(out) == {*digests, MARKER}
        and _marker_text(out) == MARKER_TEXT
    )
    return replace(
        manifest,
        digests=MappingProxyType(digests),
        fingerprints=MappingProxyType(prints),
        trusted=intact,
    )


def _files(out: Path) -> set[str]:
    """Every file below `out`, as a relative POSIX path (links and special files included)."""
    found = set()
    base = len(str(out)) + 1
    for dirpath, _dirs, files in os.walk(out):
        found.update(f"{dirpath}/{name}"[base:] for name in files)
    return found


def _marker_text(out: Path) -> str | None:
    try:
        return (out / MARKER).read_text(encoding="utf-8")
    except (OSError, ValueError):
        return None


def _adopt(store: Store, out: Path, old: Manifest, manifest: Manifest) -> None:
    """A folder left as it was, but trusted only after its files were read (restored from a
    cache): record its marker, so the next build trusts it without reading them again."""
    if old.marker != marker_signature(out):
        write_manifest(store, out, manifest)


def _process_start(pid: int) -> str | None:
    """When a process started (clock ticks since boot, from /proc); None when unknown or gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            stat = fh.read().decode("ascii", "replace")
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses: count from the last ')'.
    fields = stat[stat.rfind(")") + 2 :].split()
    return fields[19] if len(fields) > 19 else None


def _alive(pid: int, start: str | None) -> bool:
    """True when `pid` runs and is the process that started at `start` (when that is known)."""
    if pid <= 0:
        return False
    if os.path.isdir("/proc/self"):
        now = _process_start(pid)
        return now is not None and (start is None or now == start)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


_HELD: set[int] = set()  # lock descriptors of this process, closed in any child it forks


def _close_held_locks() -> None:
    # A forked worker must not keep the output locked after its parent is gone.
    for fd in list(_HELD):
        try:
            os.close(fd)
        except OSError:
            pass
    _HELD.clear()


os.register_at_fork(after_in_child=_close_held_locks)


class _Lock:
    """An exclusive lock beside the output folder: two builds never write it at once.

    The lock file names its holder (pid and process start time). A lock held although its holder
    is gone (a process it started kept it) or whose pid now belongs to another process is stale:
    its file is removed and a new one locked, with a note.
    """

    def __init__(self, out: Path):
        self.path = out.with_name(out.name + ".lock")
        self.fd = -1
        self.notes: list[Diagnostic] = []

    def __enter__(self):
        for _attempt in range(5):
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                self._busy(fd)
                continue
            try:
                same = os.fstat(fd).st_ino == os.stat(self.path).st_ino
            except FileNotFoundError:
                same = False
            if not same:  # another build removed it as stale meanwhile: lock the new one
                os.close(fd)
                continue
            record = json.dumps({"pid": os.getpid(), "start": _process_start(os.getpid())})
            os.ftruncate(fd, 0)
            os.pwrite(fd, record.encode(), 0)
            self.fd = fd
            _HELD.add(fd)
            return self
        raise BuildError(f"cannot lock {self.path}", [self._diagnostic("cannot take the lock")])

    def _busy(self, fd: int) -> None:
        try:
            text = os.pread(fd, 200, 0).decode("utf-8", "replace").strip()
            st = os.fstat(fd)
        finally:
            os.close(fd)
        pid, start = _holder(text)
        # No record yet: a build has just taken the lock and is about to write it.
        if not text or _alive(pid, start):
            who = f"pid {pid}" if pid > 0 else "just starting"
            raise BuildError(
                f"another build is writing {self.path.with_suffix('')} ({who})",
                [
                    self._diagnostic(
                        f"another build is writing the output ({who})",
                        hint="wait for it to finish",
                    )
                ],
            ) from None
        try:
            if os.stat(self.path).st_ino == st.st_ino:
                os.unlink(self.path)
        except FileNotFoundError:
            pass
        self.notes.append(
            Diagnostic(
                WARNING,
                self.path.name,
                None,
                None,
                f"recovered a stale lock: pid {pid if pid > 0 else '?'} is no longer running",
                hint="nothing to do; a process it started may still be running",
                code="stale-lock",
            )
        )

    def _diagnostic(self, message: str, hint: str | None = None) -> Diagnostic:
        return Diagnostic(ERROR, self.path.name, None, None, message, hint=hint, code="lock")

    def __exit__(self, *exc):
        _HELD.discard(self.fd)
        os.ftruncate(self.fd, 0)  # a record names a holder only while it holds the lock
        fcntl.flock(self.fd, fcntl.LOCK_UN)
        os.close(self.fd)


def _holder(text: str) -> tuple[int, str | None]:
    """(pid, start time) from a lock file's record; a bare pid is how earlier Haven wrote it."""
    try:
        data = json.loads(text)
    except ValueError:
        data = text
    if isinstance(data, dict):
        pid, start = data.get("pid"), data.get("start")
        return (pid if isinstance(pid, int) else 0), (start if isinstance(start, str) else None)
    if isinstance(data, int):
        return data, None
    return 0, None


def _clean_leftovers(out: Path) -> None:
    """Remove staging and old folders left by interrupted builds (only ones we made).

    Called under the lock, so no other build is using them.
    """
    for pattern in (".tmp-*", ".old-*"):
        for sibling in out.parent.glob(out.name + pattern):
            if sibling.is_dir() and ((sibling / STAGING_MARK).exists() or is_ours(sibling)):
                shutil.rmtree(sibling, ignore_errors=True)


def write_site(
    outputs: Iterable[Output],
    out: Path,
    *,
    root: Path,
    manifest: Manifest,
    store: Store | None = None,
    keep_files: Sequence[str] = (),
    before_swap: Callable[[Path, list[str]], list[Diagnostic]] | None = None,
    in_place: bool = False,
) -> WriteStats:
    """Write `outputs` as the new content of `out`, then `manifest` (with the files' digests) as
    its record in `store`.

    By default the site is written into a staging sibling and swapped in whole; `outputs` may be
    a generator, consumed once, and an exception it raises leaves `out` untouched.
    `before_swap(staging, changed)` runs on the complete staging folder (a build step may add
    files there); diagnostics it returns with severity error abort the build and leave `out`
    untouched.

    `in_place=True` is for a rebuild that changes a few files: every output is produced first,
    then only the changed files are replaced in `out`, each by a rename, with a `.haven-writing`
    flag present meanwhile so that an interrupted write is detected and repaired by the next build.
    A file or folder that cannot be written is a BuildError naming it.
    """
    out = out.resolve()
    root = Path(root).resolve()
    check_output_folder(out, root)
    own = store is None
    store = store if store is not None else Store.for_project(root)
    try:
        try:
            out.parent.mkdir(parents=True, exist_ok=True)
            lock = _Lock(out)
            with lock:
                _clean_leftovers(out)
                old = read_state(store, out) if out.is_dir() else None
                if in_place and old is not None and old.trusted and old.digests:
                    stats = _write_in_place(list(outputs), out, old, manifest, store)
                else:
                    stats = _write_staged(
                        outputs, out, old, manifest, store, keep_files, before_swap
                    )
        except OSError as exc:
            raise _cannot_write(exc, out, root) from None
    finally:
        if own:
            store.close()
    return WriteStats(stats.written, stats.unchanged, tuple(lock.notes) + stats.notes)


def _cannot_write(exc: OSError, out: Path, root: Path) -> BuildError:
    """An I/O failure as an error naming the file or folder (project-relative when inside)."""
    target = Path(exc.filename) if exc.filename else out
    # A staging sibling is named as the output folder it stands for.
    parts = target.parts
    for i, part in enumerate(parts):
        if part.startswith(f"{out.name}.tmp-"):
            target = Path(*parts[:i], out.name, *parts[i + 1 :])
            break
    shown = target.relative_to(root).as_posix() if target.is_relative_to(root) else str(target)
    why = exc.strerror or str(exc)
    if isinstance(exc, (FileExistsError, NotADirectoryError)):
        why = "a file is where a folder must go"
    return BuildError(
        f"cannot write {shown}: {why}",
        [
            Diagnostic(
                ERROR,
                shown,
                None,
                None,
                f"cannot write the output: {why}",
                hint="check that the output folder and its parent are writable and not full",
                code="write-error",
            )
        ],
    )


def _write_staged(outputs, out, old, manifest, store, keep_files, before_swap) -> WriteStats:
    old_digests = old.digests if old is not None else {}
    staging = out.with_name(f"{out.name}.tmp-{os.getpid()}")
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir()
    (staging / STAGING_MARK).touch()
    written = unchanged = 0
    changed: list[str] = []
    digests: dict[str, str] = {}
    notes: list[Diagnostic] = []
    try:
        # Plain strings, not Path objects: this loop runs once per file of the site.
        made_dirs: set[str] = set()
        stage, old_root = str(staging), str(out)
        for item in outputs:
            target = safe_join(stage, item.path)
            parent = os.path.dirname(target)
            if parent not in made_dirs:
                os.makedirs(parent, exist_ok=True)
                made_dirs.add(parent)
            if item.data is None:
                # The page's inputs did not change: keep the previous build's file.
                if old_digests.get(item.path) != item.reuse or not _link(
                    f"{old_root}/{item.path}", target
                ):
                    raise BuildError(
                        f"cannot reuse {item.path} from the previous build; run again with --clean"
                    )
                digests[item.path] = item.reuse
                unchanged += 1
                continue
            digest = _digest(item.data)
            digests[item.path] = digest
            if old_digests.get(item.path) == digest and _link(f"{old_root}/{item.path}", target):
                unchanged += 1
                continue
            with open(target, "wb") as fh:
                fh.write(item.data)
            written += 1
            changed.append(item.path)
        legacy = (out / LEGACY_MARKER).exists()
        if (
            not changed
            and old is not None
            and old.trusted
            and not legacy
            and set(digests) == set(old_digests)
            and replace(manifest, digests=old_digests) == old
        ):
            # Byte for byte what is there already: leave the folder alone.
            shutil.rmtree(staging, ignore_errors=True)
            _adopt(store, out, old, replace(manifest, digests=old_digests))
            return WriteStats(0, unchanged)
        if legacy:
            notes.append(
                Diagnostic(
                    WARNING,
                    f"{out.name}/{LEGACY_MARKER}",
                    None,
                    None,
                    "removed: the build state is now kept in .cache/haven/, out of the "
                    f"published folder, which {MARKER} marks as Haven's",
                    code="old-marker",
                )
            )
        for name in keep_files:
            src = out / name
            if (
                name not in (LEGACY_MARKER, MARKER)
                and src.exists()
                and not (staging / name).exists()
            ):
                (shutil.copytree if src.is_dir() else shutil.copy2)(src, staging / name)
        if before_swap is not None:
            problems = before_swap(staging, changed)
            errors = [d for d in problems if d.severity == ERROR]
            if errors:
                raise BuildError("a build step failed", errors)
            written_extra, unchanged_extra = _relink_generated(staging, out, set(digests))
            written += written_extra
            unchanged += unchanged_extra
        _write_marker(staging)
        (staging / STAGING_MARK).unlink()
        _swap(staging, out)
        write_manifest(store, out, replace(manifest, digests=MappingProxyType(digests)))
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return WriteStats(written, unchanged, tuple(notes))


def _write_in_place(
    items: list[Output], out: Path, old: Manifest, manifest: Manifest, store: Store
) -> WriteStats:
    old_digests = old.digests
    digests: dict[str, str] = {}
    todo: list[Output] = []
    for item in items:
        if item.data is None:
            if old_digests.get(item.path) != item.reuse:
                raise BuildError(
                    f"cannot reuse {item.path} from the previous build; run again with --clean"
                )
            digests[item.path] = item.reuse
            continue
        digest = digests[item.path] = _digest(item.data)
        if old_digests.get(item.path) != digest:
            todo.append(item)
    gone = sorted(set(old_digests) - set(digests))
    manifest = replace(manifest, digests=MappingProxyType(digests))
    if not todo and not gone and manifest == old:
        _adopt(store, out, old, manifest)
        return WriteStats(0, len(items))
    base = str(out)
    targets = [(item, safe_join(base, item.path)) for item in todo]
    with _DeferInterrupt():
        flag = out / WRITING
        flag.touch()
        for item, target in targets:
            os.makedirs(os.path.dirname(target), exist_ok=True)
            tmp = f"{target}.haven-tmp"
            try:
                with open(tmp, "wb") as fh:
                    fh.write(item.data)
                os.replace(tmp, target)
            except OSError as exc:
                exc.filename = target  # name the page, not its temporary file
                raise
        for rel in gone:
            target = safe_join(base, rel)
            try:
                os.unlink(target)
            except FileNotFoundError:
                pass
            _prune_empty_dirs(os.path.dirname(target), base)
        _write_marker(out)
        # The manifest names the new marker before the flag goes: a build that finds the flag
        # trusts neither.
        write_manifest(store, out, manifest)
        flag.unlink()
    return WriteStats(len(todo), len(items) - len(todo))


class _DeferInterrupt:
    """Ctrl-C while files are being replaced in place is acted on once they all are."""

    def __enter__(self):
        self.pending = False
        self.previous = None
        if threading.current_thread() is threading.main_thread():
            self.previous = signal.signal(signal.SIGINT, self._note)
        return self

    def _note(self, *_args) -> None:
        self.pending = True

    def __exit__(self, *exc) -> None:
        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)
        if self.pending and exc[0] is None:
            raise KeyboardInterrupt


def _prune_empty_dirs(folder: str, base: str) -> None:
    while folder != base and folder.startswith(base + "/"):
        try:
            os.rmdir(folder)
        except OSError:
            return
        folder = os.path.dirname(folder)


def _write_marker(folder: Path) -> None:
    """The marker, replaced by rename: a new file each time, so its signature changes."""
    tmp = folder / f"{MARKER}.tmp"
    tmp.write_text(MARKER_TEXT, encoding="utf-8")
    os.replace(tmp, folder / MARKER)


def _link(src: Path, dst: Path) -> bool:
    try:
        os.link(src, dst)
        return True
    except OSError:
        return False


def _relink_generated(staging: Path, out: Path, planned: set[str]) -> tuple[int, int]:
    """Files a build step made (the search index): keep the old file where the bytes are equal."""
    written = unchanged = 0
    for dirpath, _dirs, files in os.walk(staging):
        for name in files:
            path = Path(dirpath, name)
            rel = path.relative_to(staging).as_posix()
            if rel in planned or rel in (MARKER, STAGING_MARK, LEGACY_MARKER):
                continue
            old = out / rel
            try:
                new_stat, old_stat = path.stat(), old.stat()
                if (new_stat.st_ino, new_stat.st_dev) == (old_stat.st_ino, old_stat.st_dev):
                    unchanged += 1  # already a link to the previous build's file
                    continue
                same = (
                    old_stat.st_size == new_stat.st_size and old.read_bytes() == path.read_bytes()
                )
            except OSError:
                same = False
            if same:
                tmp = path.with_name(name + ".relink")
                if _link(old, tmp):
                    os.replace(tmp, path)
                    unchanged += 1
                    continue
            written += 1
    return written, unchanged


def _swap(staging: Path, out: Path) -> None:
    """Two renames: the gap in which `out` does not exist is as short as it can be."""
    if not out.exists():
        os.replace(staging, out)
        return
    old = out.with_name(f"{out.name}.old-{os.getpid()}")
    os.replace(out, old)
    try:
        os.replace(staging, out)
    except BaseException:
        os.replace(old, out)
        raise
    shutil.rmtree(old, ignore_errors=True)
