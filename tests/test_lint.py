"""The code base stays lint-clean and formatted (ruff), so reviews are about behaviour."""

import subprocess
import sys
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parent.parent


def ruff(*args: str) -> subprocess.CompletedProcess:
    # The ruff installed beside this Python, not whichever one is first on PATH.
    return subprocess.run(
        [sys.executable, "-m", "ruff", *args],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_ruff_check():
    result = ruff("check", ".")
    if "No module named ruff" in result.stderr:
        pytest.fail("ruff is not installed: python3 -m pip install -e '.[test]'")
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_format():
    result = ruff("format", "--check", ".")
    assert result.returncode == 0, result.stdout + result.stderr
