"""`python build.py` with a Python that lacks Haven's dependencies: handed to the project's .venv,
or a clear error naming what is missing and the fix."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from sitekit import make_site

from haven import cli

ROOT = Path(__file__).resolve().parent.parent

PROBE = """
import sys
from pathlib import Path
sys.path.insert(0, {haven!r})
from haven.environment import use_project_environment
use_project_environment(Path({root!r}))
print("ran here")
"""


def project(tmp_path: Path, requires: str) -> Path:
    root = tmp_path / "project"
    python = root / ".venv/bin/python"
    python.parent.mkdir(parents=True)
    python.write_text('#!/bin/sh\necho "handed to .venv:" "$@"\n')
    python.chmod(0o755)
    (root / "pyproject.toml").write_text(f'[project]\nname = "x"\ndependencies = ["{requires}"]\n')
    return root


def probe(root: Path) -> str:
    code = PROBE.format(haven=str(ROOT), root=str(root))
    done = subprocess.run([sys.executable, "-c", code, "build"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_a_python_lacking_a_dependency_hands_the_command_to_the_projects_venv(tmp_path):
    assert probe(project(tmp_path, "no-such-distribution>=1.0")) == "handed to .venv: -c build"


def test_a_python_with_every_dependency_runs_the_command_itself(tmp_path):
    assert probe(project(tmp_path, "pyyaml>=6.0")) == "ran here"


def test_a_missing_library_is_an_error_naming_it_and_the_fix(tmp_path, capsys, monkeypatch):
    root = make_site(tmp_path / "site", {})

    def build(args):
        raise ModuleNotFoundError("No module named 'markdown'", name="markdown")

    monkeypatch.setitem(cli.COMMANDS, "build", build)
    assert cli.main(["build", "--root", str(root)]) == 2
    err = capsys.readouterr().err
    assert "'markdown', which Haven needs, is not installed for" in err
    assert "python3 -m haven.bootstrap" in err and "internal error" not in err
