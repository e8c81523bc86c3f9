"""Running Pagefind: its binary, the version it reports, and its `--service` protocol.

Haven talks to `pagefind --service` itself (base64 JSON messages ended by a comma, both ways; the
protocol of Pagefind's own Python and Node wrappers). The `pagefind` package's Python client
was measured and not used: it reads one reply per 100 ms poll (0.1 s a record, 400 s at 4,000
articles), and a service that dies leaves its caller waiting until a timeout. Here requests are
written by one thread and replies read by another, so a batch of pages costs what Pagefind
spends on it.

No Pagefind process outlives the build that started it: every wait has a deadline, after which
the process is killed; any exception (Ctrl-C included) kills it too; and Pagefind's service
exits by itself when its input closes, which the operating system does when the build process
dies, however it dies.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path

TIMEOUT_SECONDS = 600  # for a whole build's indexing, however many processes it takes
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_VERSIONS: dict[tuple, str | None] = {}


class PagefindError(Exception):
    """Pagefind could not be run, failed, or did not answer in time."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message, self.hint = message, hint


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


def pagefind_version(binary: Path) -> str | None:
    """The version the binary reports (`pagefind --version`), or None when it says none."""
    try:
        st = binary.stat()
    except OSError:
        return None
    memo = (str(binary), st.st_size, st.st_mtime_ns, st.st_ino)
    if memo not in _VERSIONS:
        try:
            done = subprocess.run(
                [str(binary), "--version"],
                env=_environment(),
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                errors="replace",
                timeout=10,
            )
            found = (
                re.search(r"\b(\d+\.\d+\.\d+\S*)", done.stdout) if done.returncode == 0 else None
            )
        except (OSError, subprocess.SubprocessError):
            found = None
        _VERSIONS[memo] = found.group(1) if found else None
    return _VERSIONS[memo]


def _environment() -> dict[str, str]:
    # No PAGEFIND_* variables, so an environment setting cannot change the index.
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("PAGEFIND_")}
    env["NO_COLOR"] = "1"
    return env


def clean_output(output: str) -> str:
    """Pagefind's messages on one line: colours removed, duplicate lines dropped."""
    lines = []
    for line in _ANSI.sub("", output).splitlines():
        line = line.strip()
        if line and line not in lines:
            lines.append(line)
    return " ".join(lines)


class Service:
    """One `pagefind --service` process. Use it in a `with` block: leaving it ends the process."""

    def __init__(self, binary: Path, deadline: float) -> None:
        self.binary, self.deadline = binary, deadline
        self._work = tempfile.TemporaryDirectory(prefix="haven-pagefind-")
        self._stderr = tempfile.TemporaryFile()
        try:
            # An empty working directory, so a stray pagefind.yml cannot change the index.
            self.proc = subprocess.Popen(
                [str(binary), "--service"],
                cwd=self._work.name,
                env=_environment(),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=self._stderr,
                bufsize=0,
            )
        except OSError as exc:
            self._work.cleanup()
            self._stderr.close()
            raise PagefindError(
                f"could not run Pagefind ({binary}): {exc.strerror or exc}"
            ) from None
        self._next = 0
        self._replies: dict[int, dict] = {}
        self._problems: list[str] = []
        self._closed = False
        self._cv = threading.Condition()
        self._outbox: list[bytes | None] = []
        self._reader = threading.Thread(target=self._read, name="haven-pagefind-read", daemon=True)
        self._writer = threading.Thread(
            target=self._write, name="haven-pagefind-write", daemon=True
        )
        self._reader.start()
        self._writer.start()

    def __enter__(self) -> Service:
        return self

    def __exit__(self, exc_type, *_exc) -> None:
        self.close(kill=exc_type is not None)

    # -- plumbing

    def _read(self) -> None:
        buf = bytearray()
        out = self.proc.stdout
        try:
            while chunk := out.read(1 << 16):
                buf += chunk
                while (end := buf.find(b",")) >= 0:
                    raw = bytes(buf[:end])
                    del buf[: end + 1]
                    try:
                        msg = json.loads(base64.b64decode(raw))
                        ident = msg.get("message_id")
                        payload = msg["payload"]
                    except (ValueError, KeyError, TypeError, AttributeError):
                        with self._cv:
                            self._problems.append("Pagefind sent a reply Haven cannot read")
                        continue
                    with self._cv:
                        if isinstance(ident, int):
                            self._replies[ident] = payload
                        else:
                            self._problems.append(str(payload.get("message", payload)))
                        self._cv.notify_all()
        except (OSError, ValueError):
            pass
        finally:
            with self._cv:
                self._closed = True
                self._cv.notify_all()

    def _write(self) -> None:
        stdin = self.proc.stdin
        while True:
            with self._cv:
                while not self._outbox:
                    self._cv.wait()
                data = self._outbox.pop(0)
            if data is None:
                break
            try:
                stdin.write(data)
            except (OSError, ValueError):
                return  # the process went away: its reader reports how
        try:
            stdin.close()
        except OSError:
            pass

    def send(self, payload: dict) -> int:
        """Queue a request; its reply comes through `wait`."""
        self._next += 1
        message = json.dumps({"message_id": self._next, "payload": payload}).encode("utf-8")
        with self._cv:
            self._outbox.append(base64.b64encode(message) + b",")
            self._cv.notify_all()
        return self._next

    def wait(self, ident: int, what: str, page: str = "") -> dict:
        """The reply to request `ident`; a PagefindError if it failed, the process stopped or
        the deadline passed (the process is then killed)."""
        with self._cv:
            while ident not in self._replies:
                if self._closed:
                    break
                left = self.deadline - time.monotonic()
                if left <= 0:
                    self.kill()
                    raise PagefindError(
                        f"Pagefind did not finish {what} within {TIMEOUT_SECONDS} seconds"
                    )
                self._cv.wait(min(left, 1.0))
            reply = self._replies.pop(ident, None)
        if reply is None:
            raise self._stopped(what)
        if reply.get("type") == "Error":
            where = f" at {page}" if page else ""
            message = reply.get("message") or "no message"
            raise PagefindError(f"Pagefind failed {what}{where}: {message}")
        return reply

    def _stopped(self, what: str) -> PagefindError:
        try:
            code = self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.kill()
            code = self.proc.returncode
        self._stderr.seek(0)
        detail = clean_output(self._stderr.read().decode("utf-8", "replace"))
        detail = detail or "; ".join(self._problems) or "no output"
        return PagefindError(
            f"Pagefind failed (exit {code}) {what}: {detail}",
            hint=f"run `{self.binary} --site DIR` on a folder of HTML pages to see more",
        )

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()

    def close(self, kill: bool = False) -> None:
        """End the process: close its input (it exits), or kill it."""
        with self._cv:
            self._outbox.append(None)
            self._cv.notify_all()
        if kill:
            self.kill()
        else:
            try:
                self.proc.wait(timeout=max(1.0, min(10.0, self.deadline - time.monotonic())))
            except subprocess.TimeoutExpired:
                self.kill()
        self._reader.join(timeout=5)
        self._writer.join(timeout=5)
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        self._stderr.close()
        self._work.cleanup()

    # -- the API

    def index(self, pages: list[tuple[str, str]], what: str) -> dict[str, bytes]:
        """Index `pages` ((url, html) in the order Pagefind numbers them) into a new index, and
        return its bundle: path -> bytes, as Pagefind would write them."""
        return self.finish(self.begin(pages, what))

    def begin(self, pages: list[tuple[str, str]], what: str) -> tuple:
        """Send `pages` to a new index; Pagefind works on them until `finish`."""
        index_id = self.wait(self.send({"type": "NewIndex", "config": None}), what)["index_id"]
        pending = [
            (
                url,
                self.send(
                    {"type": "AddFile", "index_id": index_id, "url": url, "file_contents": doc}
                ),
            )
            for url, doc in pages
        ]
        return what, index_id, pending, self.send({"type": "GetFiles", "index_id": index_id})

    def finish(self, job: tuple) -> dict[str, bytes]:
        """The bundle of the index `begin` started."""
        what, index_id, pending, files = job
        for url, ident in pending:
            self.wait(ident, what, url)
        reply = self.wait(files, what)
        # A service kept running (the dev server's) gives the memory back.
        self.wait(self.send({"type": "DeleteIndex", "index_id": index_id}), what)
        try:
            return {f["path"]: base64.b64decode(f["content"]) for f in reply["files"]}
        except (KeyError, TypeError, ValueError):
            raise PagefindError(f"Pagefind sent files Haven cannot read {what}") from None
