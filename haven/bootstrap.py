"""Set up Haven in a virtual environment with nothing but python3: `python3 -m haven.bootstrap`.

Debian and Ubuntu refuse `pip install` into the system Python (PEP 668), and their python3 may
come without pip or ensurepip. This makes `.venv/` beside the project, brings pip into it from the
package index when the system Python cannot, and installs Haven (with `--test`, its test tools
too) in editable mode. Standard library only: it runs before any dependency is installed.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import os
import re
import subprocess
import sys
import tempfile
import urllib.request
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
INDEX = "https://pypi.org/simple"


def _python(env: Path) -> Path:
    return env / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def _works(python: Path, *args: str) -> bool:
    try:
        return subprocess.run([python, *args], capture_output=True, timeout=60).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def _pip_wheel(index: str) -> tuple[str, str]:
    """URL and sha256 of the newest pip wheel on the index (PEP 691 JSON, else PEP 503 HTML)."""
    request = urllib.request.Request(
        f"{index.rstrip('/')}/pip/",
        headers={"Accept": "application/vnd.pypi.simple.v1+json, text/html;q=0.1"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        kind = response.headers.get("Content-Type", "")
        body = response.read().decode("utf-8")
        base = response.geturl()
    if "json" in kind:
        files = [
            (f["url"], f.get("hashes", {}).get("sha256", "")) for f in json.loads(body)["files"]
        ]
    else:
        files = [
            (url, digest)
            for url, digest in re.findall(r'href="([^"#]+)#sha256=([0-9a-f]{64})"', body)
        ]
    wheels = [
        (urllib.request.urljoin(base, url), digest)
        for url, digest in files
        if re.search(r"/pip-[\d.]+-py3-none-any\.whl$", url) and digest
    ]
    if not wheels:
        raise SystemExit(f"bootstrap: no pip wheel found at {index}/pip/")

    def version(item: tuple[str, str]) -> tuple[int, ...]:
        found = re.search(r"/pip-([\d.]+)-py3", item[0])
        return tuple(int(p) for p in found.group(1).split(".") if p.isdigit())

    return max(wheels, key=version)


def _bring_pip(python: Path) -> None:
    """Install pip into a virtual environment made without it, from the package index."""
    index = os.environ.get("PIP_INDEX_URL", INDEX)
    url, digest = _pip_wheel(index)
    print(f"bootstrap: this Python has no ensurepip; fetching {url.rsplit('/', 1)[-1]}")
    with urllib.request.urlopen(url, timeout=120) as response:
        data = response.read()
    if hashlib.sha256(data).hexdigest() != digest:
        raise SystemExit(f"bootstrap: {url} does not match its published sha256; not installed")
    with tempfile.TemporaryDirectory() as tmp:
        wheel = Path(tmp, url.rsplit("/", 1)[-1])
        wheel.write_bytes(data)
        # A pip wheel runs from its own archive: use it to install itself.
        subprocess.run([python, f"{wheel}/pip", "install", "-q", str(wheel)], check=True)


def make_env(env: Path) -> Path:
    """A working virtual environment with pip at `env`, made when there is none."""
    python = _python(env)
    if _works(python, "-m", "pip", "--version"):
        return python
    with_pip = importlib.util.find_spec("ensurepip") is not None
    print(f"bootstrap: creating {env}")
    venv.EnvBuilder(with_pip=with_pip, clear=env.exists()).create(env)
    if not _works(python, "-m", "pip", "--version"):
        _bring_pip(python)
    return python


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m haven.bootstrap", description=__doc__)
    parser.add_argument("--test", action="store_true", help="also install the test tools")
    parser.add_argument("--venv", default=str(ROOT / ".venv"), help="where (default: .venv)")
    args = parser.parse_args(argv)
    if sys.version_info < (3, 11):  # noqa: UP036 (it runs under whatever python3 is)
        print(f"bootstrap: Haven needs Python 3.11 or newer; this is {sys.version.split()[0]}")
        return 2
    python = make_env(Path(args.venv))
    target = f"{ROOT}[test]" if args.test else str(ROOT)
    done = subprocess.run([python, "-m", "pip", "install", "-q", "-e", target])
    return done.returncode


if __name__ == "__main__":
    raise SystemExit(main())
