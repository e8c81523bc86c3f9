"""The only module that writes the site: stage in a sibling folder, then swap it in whole.

A failed or interrupted build leaves the previous output byte-identical. Files whose bytes did not
change are hard-linked from the previous output, so their modification time stays and rsync or a
CDN upload sends only what changed.

A rebuild that changes a few files (an edit) writes just those into the folder, after every page
has been rendered without error: copying 5,000 links to change 30 files is most of the time of
such a build.
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
from dataclasses import dataclass
from pathlib import Path

from .errors import BuildError, UsageError
from .model import ERROR, Diagnostic, Output

MARKER = ".haven-build.json"
WRITING = ".haven-writing"  # present while files are replaced in place
STAGING_MARK = ".haven-staging"


@dataclass(frozen=True)
class WriteStats:
    written: int
    unchanged: int


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
    if out.is_dir() and any(out.iterdir()) and not (out / MARKER).is_file():
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


def safe_join(base: str, rel: str) -> str:
    """base/rel, refusing absolute paths and '..' so nothing is written outside `base`."""
    if rel.startswith("/") or "\\" in rel or any(p in ("", ".", "..") for p in rel.split("/")):
        raise BuildError(f"unsafe output path {rel!r}")
    return f"{base}/{rel}"


def _digest(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


_MANIFESTS: dict[str, tuple[tuple, dict]] = {}  # marker path -> (its stat, its contents)


def marker_signature(out: Path) -> tuple:
    """Size, times and inode of the marker: a new build replaces it, so they all change."""
    try:
        st = os.stat(out / MARKER)
    except OSError:
        return ()
    return (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)


def read_manifest(out: Path) -> dict:
    """The manifest of a built folder ({} when there is none). Shared: do not modify it."""
    key = str(out / MARKER)
    sig = marker_signature(out)
    known = _MANIFESTS.get(key)
    if known is not None and sig and known[0] == sig:
        return known[1]
    try:
        data = json.loads((out / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    if sig:
        _MANIFESTS[key] = (sig, data)
    return data


class _Lock:
    """An exclusive lock beside the output folder: two builds never write it at once."""

    def __init__(self, out: Path):
        self.path = out.with_name(out.name + ".lock")
        self.fd = -1

    def __enter__(self):
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self.fd)
            holder = self.path.read_text(errors="replace").strip() or "?"
            raise BuildError(
                f"another build is writing {self.path.with_suffix('')} (pid {holder})",
                [
                    Diagnostic(
                        ERROR,
                        str(self.path.name),
                        None,
                        None,
                        f"another build is writing the output (pid {holder})",
                        hint="wait for it to finish",
                    )
                ],
            ) from None
        os.ftruncate(self.fd, 0)
        os.write(self.fd, str(os.getpid()).encode())
        return self

    def __exit__(self, *exc):
        fcntl.flock(self.fd, fcntl.LOCK_UN)
        os.close(self.fd)


def _clean_leftovers(out: Path) -> None:
    """Remove staging and old folders left by interrupted builds (only ones we made).

    Called under the lock, so no other build is using them.
    """
    for pattern in (".tmp-*", ".old-*"):
        for sibling in out.parent.glob(out.name + pattern):
            if sibling.is_dir() and (
                (sibling / STAGING_MARK).exists() or (sibling / MARKER).exists()
            ):
                shutil.rmtree(sibling, ignore_errors=True)


def write_site(
    outputs: Iterable[Output],
    out: Path,
    *,
    root: Path,
    manifest: dict,
    keep_files: Sequence[str] = (),
    before_swap: Callable[[Path, list[str]], list[Diagnostic]] | None = None,
    in_place: bool = False,
) -> WriteStats:
    """Write `outputs` as the new content of `out`.

    By default the site is written into a staging sibling and swapped in whole; `outputs` may be
    a generator, consumed once, and an exception it raises leaves `out` untouched.
    `before_swap(staging, changed)` runs on the complete staging folder (the search index is built
    there); diagnostics it returns with severity error abort the build and leave `out` untouched.

    `in_place=True` is for a rebuild that changes a few files: every output is produced first,
    then only the changed files are replaced in `out`, each by a rename, with a `.haven-writing`
    flag present meanwhile so that an interrupted write is detected and repaired by the next build.
    """
    out = out.resolve()
    check_output_folder(out, root)
    out.parent.mkdir(parents=True, exist_ok=True)
    with _Lock(out):
        _clean_leftovers(out)
        old = read_manifest(out) if out.is_dir() and not (out / WRITING).exists() else {}
        if in_place and old.get("digests") and old.get("search") == manifest.get("search"):
            return _write_in_place(list(outputs), out, old, manifest)
        return _write_staged(outputs, out, old, manifest, keep_files, before_swap)


def _write_staged(outputs, out, old, manifest, keep_files, before_swap) -> WriteStats:
    old_digests: dict[str, str] = old.get("digests", {})
    staging = out.with_name(f"{out.name}.tmp-{os.getpid()}")
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir()
    (staging / STAGING_MARK).touch()
    written = unchanged = 0
    changed: list[str] = []
    digests: dict[str, str] = {}
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
        if (
            not changed
            and set(digests) == set(old_digests)
            and all(old.get(key) == value for key, value in manifest.items())
            and not (out / WRITING).exists()
        ):
            # Byte for byte what is there already: leave the folder alone.
            shutil.rmtree(staging, ignore_errors=True)
            return WriteStats(0, unchanged)
        for name in keep_files:
            src = out / name
            if src.exists() and not (staging / name).exists():
                (shutil.copytree if src.is_dir() else shutil.copy2)(src, staging / name)
        if before_swap is not None:
            problems = before_swap(staging, changed)
            errors = [d for d in problems if d.severity == ERROR]
            if errors:
                raise BuildError("a build step failed", errors)
            written_extra, unchanged_extra = _relink_generated(staging, out, set(digests))
            written += written_extra
            unchanged += unchanged_extra
        manifest = dict(manifest, digests=digests)
        _write_marker(staging, manifest)
        (staging / STAGING_MARK).unlink()
        _swap(staging, out)
        _MANIFESTS.pop(str(staging / MARKER), None)
        _MANIFESTS[str(out / MARKER)] = (marker_signature(out), manifest)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return WriteStats(written, unchanged)


def _write_in_place(items: list[Output], out: Path, old: dict, manifest: dict) -> WriteStats:
    old_digests: dict[str, str] = old["digests"]
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
    manifest = dict(manifest, digests=digests)
    if not todo and not gone and all(old.get(k) == v for k, v in manifest.items()):
        return WriteStats(0, len(items))
    base = str(out)
    targets = [(item, safe_join(base, item.path)) for item in todo]
    with _DeferInterrupt():
        flag = out / WRITING
        flag.touch()
        for item, target in targets:
            os.makedirs(os.path.dirname(target), exist_ok=True)
            tmp = f"{target}.haven-tmp"
            with open(tmp, "wb") as fh:
                fh.write(item.data)
            os.replace(tmp, target)
        for rel in gone:
            target = safe_join(base, rel)
            try:
                os.unlink(target)
            except FileNotFoundError:
                pass
            _prune_empty_dirs(os.path.dirname(target), base)
        _write_marker(out, manifest)
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


_ENCODED: dict[str, tuple[object, str]] = {}  # manifest key -> (value, its JSON), last written


def _encode(manifest: dict) -> str:
    """json.dumps(manifest, ensure_ascii=False, sort_keys=True), reusing the JSON of each value
    that equals the one last written: an edit changes two of the manifest's 2 MB."""
    parts = []
    for key in sorted(manifest):
        value = manifest[key]
        known = _ENCODED.get(key)
        if known is not None and known[0] == value:
            text = known[1]
        else:
            text = json.dumps(value, ensure_ascii=False, sort_keys=True)
            # A copy: a caller changing its dict later must not make the next compare lie.
            _ENCODED[key] = (dict(value) if isinstance(value, dict) else value, text)
        parts.append(f"{json.dumps(key, ensure_ascii=False)}: {text}")
    return "{" + ", ".join(parts) + "}"


def _write_marker(folder: Path, manifest: dict) -> None:
    tmp = folder / f"{MARKER}.tmp"
    tmp.write_text(_encode(manifest), encoding="utf-8")
    os.replace(tmp, folder / MARKER)
    sig = marker_signature(folder)
    if sig:  # the next build reads it back: keep it (a swapped folder is found by its new path)
        _MANIFESTS[str(folder / MARKER)] = (sig, manifest)


def link_tree(src: Path, dst: Path) -> bool:
    """Hard-link every file of the folder `src` into `dst` (a folder of a previous build)."""
    try:
        for dirpath, _dirs, files in os.walk(src):
            rel = Path(dirpath).relative_to(src)
            (dst / rel).mkdir(parents=True, exist_ok=True)
            for name in files:
                os.link(Path(dirpath, name), dst / rel / name)
        return True
    except OSError:
        shutil.rmtree(dst, ignore_errors=True)
        return False


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
            if rel in planned or rel in (MARKER, STAGING_MARK):
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
