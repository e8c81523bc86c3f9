"""The files of static/: listed once, checked, and copied as they are to /static/ in the site.

A broken symlink, a pipe, a socket or a device is an error naming the file, never read (reading
a pipe would wait forever); a symlink that leaves the project is skipped.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from .model import ERROR, Diagnostic, Output

_SPECIAL_FILES = (
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)


def scan_static(root: Path) -> tuple[list[tuple[str, Path, os.stat_result]], list[Diagnostic]]:
    """The files of static/ as (path below static/, path, stat), and one error per file that
    cannot be published: a broken symlink, a pipe, socket or device (reading a pipe would wait
    forever). Symlinks that leave the project are skipped, as before."""
    base = root / "static"
    found: list[tuple[str, Path, os.stat_result]] = []
    diags: list[Diagnostic] = []
    if not base.is_dir():
        return found, diags
    real_root = root.resolve()

    def error(rel: str, message: str, hint: str, code: str) -> None:
        diags.append(Diagnostic(ERROR, f"static/{rel}", None, None, message, hint=hint, code=code))

    def walk_error(exc: OSError) -> None:
        rel = Path(exc.filename).relative_to(base).as_posix() if exc.filename else "."
        error(
            rel, f"cannot read this folder: {exc.strerror}", "check its permissions", "unreadable"
        )

    for dirpath, dirnames, files in os.walk(base, onerror=walk_error):
        dirnames.sort()
        for name in sorted(files):
            path = Path(dirpath, name)
            rel = path.relative_to(base).as_posix()
            try:
                if path.is_symlink():
                    try:
                        target = path.resolve(strict=True)
                    except (OSError, RuntimeError):
                        error(
                            rel,
                            f"broken symlink: it points to {os.readlink(path)}, which does not exist",
                            "point it at an existing file inside the project, or remove it",
                            "broken-symlink",
                        )
                        continue
                    if not target.is_relative_to(real_root):
                        continue
                st = path.stat()
            except OSError as exc:
                error(
                    rel,
                    f"cannot read this file: {exc.strerror}",
                    "check its permissions",
                    "unreadable",
                )
                continue
            kind = next((what for test, what in _SPECIAL_FILES if test(st.st_mode)), None)
            if kind is not None:
                error(
                    rel,
                    f"this is {kind}, not a file: static/ may hold only files",
                    "remove it from static/",
                    "special-file",
                )
                continue
            found.append((rel, path, st))
    return found, diags


def static_outputs(root: Path, static=None) -> tuple[list[Output], list[Diagnostic]]:
    """Files of static/, copied as they are to /static/ in the site, and the ones unreadable."""
    if static is None:
        static, _ = scan_static(root)
    outputs, diags = [], []
    for rel, path, _st in static:
        try:
            # Never blocks: a file replaced by a pipe since the scan is refused, not waited on.
            fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
            try:
                if not stat.S_ISREG(os.fstat(fd).st_mode):
                    raise IsADirectoryError(0, "not a regular file")
                with os.fdopen(fd, "rb", closefd=False) as fh:
                    data = fh.read()
            finally:
                os.close(fd)
        except OSError as exc:
            diags.append(
                Diagnostic(
                    ERROR,
                    f"static/{rel}",
                    None,
                    None,
                    f"cannot read this file: {exc.strerror or exc}",
                    hint="check its permissions",
                    code="unreadable",
                )
            )
            continue
        outputs.append(Output(f"static/{rel}", data, f"static/{rel}"))
    return outputs, diags


# -- Markdown rendering with a cache and a process pool ----------------------------------------
