"""Search: run Pagefind over a built folder, writing its offline index into `pagefind/`.

Pagefind indexes only the elements marked `data-pagefind-body` (the article templates mark
them) and reads topic filters from `data-pagefind-filter="topic"`. It runs on the staging folder
before the writer swaps it into place, so a failure never reaches the published site.

Sub-paths: Pagefind stores site-relative result URLs (`/articles/x/`), and its scripts take their
bundle path from their own `<script src>` and the result base URL from the part of that path
before `pagefind/`. Loading `{{ url('/pagefind/pagefind-ui.js') }}` is therefore enough for the
site to search correctly at `/haven/`; `ui_options()` gives the same values explicitly.

Pagefind dies with the build (on Linux): a `kill -9` of the build leaves no Pagefind writing into
a staging folder; that folder and Pagefind's working folder beside it carry the writer's staging
mark, so the next build removes them.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

from .model import ERROR, Diagnostic
from .pool import die_with_parent

BUNDLE_DIR = "pagefind"
STAGING_MARK = ".haven-staging"  # as haven/writer.py marks its staging folders
TIMEOUT_SECONDS = 600
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def find_pagefind() -> Path | None:
    """The Pagefind binary: $PAGEFIND_BINARY_PATH, the `pagefind_bin` wheel, or one on PATH."""
    try:
        from pagefind.service import get_executable
    except ImportError:
        get_executable = None
    if get_executable is not None:
        try:
            found = get_executable()
        except OSError:  # pagefind_bin raises when its binary is missing from the wheel
            found = None
        if found is not None and Path(found).is_file():
            return Path(found)
    for name in ("pagefind_extended", "pagefind"):
        if external := shutil.which(name):
            return Path(external)
    return None


def ui_options(base_path: str = "/") -> dict[str, str]:
    """Options for `new PagefindUI(...)` (`bundlePath`, `baseUrl`) for a site under `base_path`."""
    base = "/" + base_path.strip("/") + "/" if base_path.strip("/") else "/"
    return {"bundlePath": f"{base}{BUNDLE_DIR}/", "baseUrl": base}


def index_site(site_dir: Path, *, base_path: str = "/", quiet: bool = True) -> list[Diagnostic]:
    """Index the HTML under `site_dir` into `site_dir/pagefind/`; problems come back as data.

    `base_path` is not passed to Pagefind (see the module docstring: the index is the same at
    any sub-path); it is accepted so the pipeline can hand every stage the same settings.
    """
    site_dir = Path(site_dir).resolve()
    if not site_dir.is_dir():
        return [_error(f"cannot index {site_dir}: not a folder")]
    binary = find_pagefind()
    if binary is None:
        return [
            _error(
                "the Pagefind binary was not found",
                hint="install it with `pip install 'pagefind[bin]'`, or set PAGEFIND_BINARY_PATH",
            )
        ]
    # Pagefind overwrites an existing bundle file by file and leaves stale ones behind: start
    # clean, so nothing stale survives and nothing is written through a hard link the writer may
    # share with the live site.
    bundle = site_dir / BUNDLE_DIR
    try:
        if bundle.is_symlink() or bundle.is_file():
            bundle.unlink()
        elif bundle.exists():
            shutil.rmtree(bundle)
    except OSError as exc:
        return [_error(f"cannot remove the old search index {bundle}: {exc.strerror or exc}")]
    command = [str(binary), "--site", str(site_dir), "--output-subdir", BUNDLE_DIR]
    if quiet:
        command.append("--quiet")
    # An empty working directory, and no PAGEFIND_* variables, so a stray pagefind.yml or an
    # environment setting cannot change the index (or switch on `--serve`).
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("PAGEFIND_")}
    env["NO_COLOR"] = "1"
    # Beside the site, named like a staging folder of the writer and marked as one: if the
    # build is killed, the next build removes it with the staging folder.
    cwd = site_dir.with_name(f"{site_dir.name}-pagefind")
    try:
        shutil.rmtree(cwd, ignore_errors=True)
        cwd.mkdir()
        (cwd / STAGING_MARK).touch()
        done = subprocess.run(
            command,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            encoding="utf-8",
            errors="replace",
            timeout=TIMEOUT_SECONDS,
            preexec_fn=die_with_parent,
        )
    except subprocess.TimeoutExpired:
        return [_error(f"Pagefind did not finish within {TIMEOUT_SECONDS} seconds")]
    except OSError as exc:
        return [_error(f"could not run Pagefind ({binary}): {exc.strerror or exc}")]
    finally:
        shutil.rmtree(cwd, ignore_errors=True)
    if done.returncode != 0:
        detail = _clean(done.stderr) or _clean(done.stdout) or "no output"
        return [
            _error(
                f"Pagefind failed (exit {done.returncode}): {detail}",
                hint="the site needs at least one HTML page; run `pagefind --site DIR` to see more",
            )
        ]
    if not (bundle / "pagefind-entry.json").is_file():
        return [_error("Pagefind finished but wrote no pagefind/pagefind-entry.json")]
    return []


def _clean(output: str) -> str:
    """Pagefind's messages on one line: colours removed, duplicate lines dropped."""
    lines = []
    for line in _ANSI.sub("", output).splitlines():
        line = line.strip()
        if line and line not in lines:
            lines.append(line)
    return " ".join(lines)


def _error(message: str, hint: str | None = None) -> Diagnostic:
    return Diagnostic(ERROR, BUNDLE_DIR, None, None, message, hint=hint, code="search-index")
