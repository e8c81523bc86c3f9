"""Golden output: the whole site built from tests/golden/site, compared byte for byte.

The expected tree in tests/golden/expected/ is committed, so a change to the generator or the
theme that changes any output byte shows up here, file by file. When a change is meant, rebuild
the expected tree and commit it with the change that explains it:

    HAVEN_GOLDEN=update python -m pytest tests/test_golden.py

Pagefind's own files are left out (`pagefind/`): two runs of Pagefind over the same pages write
their filter files in a different order; `search/data.json`, which Haven writes, is compared.
"""

from __future__ import annotations

import os
import shutil
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from haven.model import BuildOptions
from haven.pipeline import build_site

PROJECT = Path(__file__).resolve().parent.parent
GOLDEN = PROJECT / "tests" / "golden"
NOW = datetime(2026, 12, 1, 9, 30, tzinfo=ZoneInfo("Europe/London"))
LEFT_OUT = ("pagefind/",)


def _tree(folder: Path) -> dict[str, bytes]:
    files = {}
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder).as_posix()
        if path.is_file() and not rel.startswith(LEFT_OUT):
            files[rel] = path.read_bytes()
    return files


def _build(tmp_path: Path) -> Path:
    root = tmp_path / "golden"
    shutil.copytree(GOLDEN / "site", root)
    shutil.copytree(PROJECT / "templates", root / "templates")
    shutil.copytree(PROJECT / "static", root / "static", dirs_exist_ok=True)
    (root / "_site").mkdir()
    (root / "_site" / "CNAME").write_text("example.org\n")
    (root / "_site" / ".haven").write_text("")  # an empty folder of ours, kept files only
    result = build_site(root, BuildOptions(now=NOW, clean=True))
    assert result.ok
    return root / "_site"


def test_the_golden_site_is_built_byte_for_byte(tmp_path):
    out = _build(tmp_path)
    built = _tree(out)
    expected_dir = GOLDEN / "expected"
    if os.environ.get("HAVEN_GOLDEN") == "update":
        shutil.rmtree(expected_dir, ignore_errors=True)
        for rel, data in built.items():
            target = expected_dir / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
    expected = _tree(expected_dir)
    assert sorted(built) == sorted(expected), "files added or missing"
    changed = [rel for rel in built if built[rel] != expected[rel]]
    assert changed == [], f"{len(changed)} file(s) differ from tests/golden/expected: {changed}"
