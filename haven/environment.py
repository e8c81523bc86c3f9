"""What is installed, and in which Python Haven runs. Standard library only: this runs before
anything Haven depends on may be importable.

`python build.py` is what an editor types. The quick start installs Haven's dependencies into
`.venv/` beside the project (`python3 -m haven.bootstrap`), so a Python that lacks them hands the
command to that environment's Python instead of failing on its first import.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIX = "run `python3 -m haven.bootstrap` once, then `.venv/bin/python build.py`"


def installed_versions(names: Sequence[str]) -> dict[str, str]:
    """Each distribution's installed version ('none' when it is not installed).

    Read from the names of the `<name>-<version>.dist-info` folders on `sys.path`, as the wheel
    format lays them out, the first one found winning as for imports. importlib.metadata reads
    the same folders but imports the e-mail parser first, which cost a fifth of a no-op build;
    it answers only for a name installed some other way.
    """
    wanted = {_normal(name): name for name in names}
    found: dict[str, str] = {}
    for entry in sys.path:
        try:
            listing = os.listdir(entry or ".")
        except OSError:
            continue
        for item in listing:
            if not item.endswith(".dist-info"):
                continue
            name, dash, version = item[: -len(".dist-info")].partition("-")
            key = wanted.get(_normal(name))
            if dash and version and key is not None and key not in found:
                found[key] = version
    for name in names:
        if name not in found:
            from importlib import metadata

            try:
                found[name] = metadata.version(name)
            except metadata.PackageNotFoundError:
                found[name] = "none"
    return {name: found[name] for name in names}


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name).lower()


def use_project_environment(root: Path = ROOT) -> None:
    """Run this command again with `root/.venv`'s Python when that environment exists and the
    running Python lacks one of Haven's dependencies; otherwise return and let it run here."""
    env = root / ".venv"
    python = env / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    if python.exists() and not _same(Path(sys.prefix), env) and missing_dependencies(root):
        os.execv(python, [str(python), *sys.argv])


def missing_dependencies(root: Path = ROOT) -> list[str]:
    """The distributions pyproject.toml requires that the running Python does not have."""
    import tomllib

    try:
        with open(root / "pyproject.toml", "rb") as fh:
            required = tomllib.load(fh)["project"]["dependencies"]
    except (OSError, KeyError, TypeError, ValueError):
        return []
    names = [re.match(r"[A-Za-z0-9._-]*", spec).group(0) for spec in required]
    return [name for name, version in installed_versions(names).items() if version == "none"]


def _same(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return False
