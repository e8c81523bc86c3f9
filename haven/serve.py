"""Dev server: build into a private folder, serve it on loopback, rebuild on change, live reload.

`python build.py serve` builds with drafts, future articles and the live-reload script into
`.cache/serve/site` (never the published `_site`), serves that folder with the standard library's
`ThreadingHTTPServer`, watches `content/`, `templates/`, `static/` and `site.yaml`, rebuilds on
change and tells open pages to reload through server-sent events. A broken edit never stops the
server: the last good site stays up and every HTML page gets an error overlay until the next good
build.
"""

from __future__ import annotations

import errno
import html
import os
import queue
import re
import secrets
import socket
import sys
import threading
import time
import traceback
import unicodedata
import webbrowser
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from socket import AF_INET6
from urllib.parse import unquote

from watchfiles import Change, DefaultFilter
from watchfiles._rust_notify import RustNotify  # documented "Rust backend" API of watchfiles

from .errors import HavenError, UsageError
from .model import ERROR, WARNING, BuildOptions, BuildResult, Diagnostic
from .urls import normalise_base_path

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
SERVE_DIR = ".cache/serve/site"
WATCHED_DIRS = ("content", "templates", "static")
CONFIG_FILE = "site.yaml"
INTERNAL = "__haven/"

# The watcher yields once no new change arrived for one step; so a save waits one to two steps
# before the rebuild starts. Small enough to be invisible, large enough to group an editor's
# write-rename-delete burst into one build.
STEP_MS = 10
MAX_GROUP_MS = 300  # a long burst (git checkout) is cut into builds at most this far apart
KEEPALIVE_S = 15.0
# A connection that sends nothing for this long is closed, so half-sent requests (a stalled
# browser tab, a port scanner) give their threads back instead of holding one each forever.
REQUEST_TIMEOUT_S = 10.0
MAX_OVERLAY_ITEMS = 50

BuildFn = Callable[..., BuildResult]
Echo = Callable[..., None]

MIME_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".htm": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".json": "application/json",
    ".webmanifest": "application/manifest+json",
    ".xml": "application/xml; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".webp": "image/webp",
    ".avif": "image/avif",
    ".gif": "image/gif",
    ".ico": "image/x-icon",
    ".woff2": "font/woff2",
    ".woff": "font/woff",
    ".wasm": "application/wasm",
    # Pagefind's index chunks are compressed binary, never something a browser should sniff.
    ".pf_meta": "application/octet-stream",
    ".pf_fragment": "application/octet-stream",
    ".pf_index": "application/octet-stream",
    ".pf_filter": "application/octet-stream",
}
DEFAULT_MIME = "application/octet-stream"

RELOAD_JS = """\
// Haven dev server: reload this page after each rebuild. Served from memory, never published.
(function () {
  "use strict";
  var script = document.currentScript;
  var url = new URL("events", script ? script.src : location.href);
  var seen = null;
  var source = new EventSource(url);
  // "hello" carries the server's build version on every (re)connection: a different one means
  // the server restarted or rebuilt while this page was not listening.
  source.addEventListener("hello", function (event) {
    if (seen !== null && event.data !== seen) {
      location.reload();
    }
    seen = event.data;
  });
  source.addEventListener("reload", function () {
    location.reload();
  });
})();
"""

OVERLAY_CSS = """\
/* Haven dev server: the build-error overlay. Served from memory, never published. */
#haven-error-overlay {
  position: fixed;
  inset: auto 0 0 0;
  z-index: 2147483647;
  max-height: 60vh;
  overflow: auto;
  margin: 0;
  padding: 1rem 1.25rem 1.25rem;
  border-top: 0.375rem solid #a4161a;
  background: #ffffff;
  color: #1b1b1b;
  box-shadow: 0 -0.25rem 1.5rem rgb(0 0 0 / 0.3);
  font: 1rem/1.5 system-ui, -apple-system, "Segoe UI", sans-serif;
}
#haven-error-overlay h2 {
  margin: 0 0 0.25rem;
  font-size: 1.25rem;
  color: #a4161a;
}
#haven-error-overlay p { margin: 0 0 0.75rem; }
#haven-error-overlay ol { margin: 0; padding-left: 1.5rem; }
#haven-error-overlay li { margin: 0 0 0.5rem; }
#haven-error-overlay code,
#haven-error-overlay pre {
  font: 0.9375rem/1.4 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace;
  overflow-wrap: anywhere;
}
#haven-error-overlay pre {
  margin: 0.25rem 0 0;
  padding: 0.25rem 0.5rem;
  background: #f3f3f3;
  white-space: pre-wrap;
}
"""

FALLBACK_PAGE = """\
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<script src="{base}__haven/reload.js" defer></script>
</head>
<body>
<main>
<h1>{title}</h1>
<p>{text}</p>
</main>
</body>
</html>
"""


# -- pure helpers ---------------------------------------------------------------------------------


def bind_warning(host: str) -> str | None:
    """The warning line to print when `host` exposes the server beyond this machine."""
    if host in ("", "0.0.0.0", "::", "[::]"):
        return (
            f"warning: serving on all interfaces ({host or '0.0.0.0'}): anyone on your network "
            "can read drafts; use the default 127.0.0.1 unless you mean it"
        )
    return None


def mime_type(path: str | Path) -> str:
    """Content-Type for a file served by the dev server."""
    return MIME_TYPES.get(Path(path).suffix.lower(), DEFAULT_MIME)


@dataclass(frozen=True)
class Target:
    """What a request path maps to: a file, a redirect, or nothing (the 404 page)."""

    kind: str  # 'file' | 'redirect' | 'missing'
    path: Path | None = None
    location: str | None = None


MISSING = Target("missing")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_ENCODED_SEPARATORS = ("%2f", "%5c", "%00")


def _inside(real: str, root: str) -> bool:
    return real == root or real.startswith(root.rstrip(os.sep) + os.sep)


def resolve_request(folder: Path, base_path: str, raw: str) -> Target:
    """Map a raw request target to a file inside `folder`, refusing anything that could escape it.

    Refused (answered with the 404 page): `..` and `.` segments, their percent-encoded forms,
    encoded slashes and backslashes, backslashes, NUL and other control characters, `//`,
    invalid UTF-8, and any path whose real location (symlinks followed) is outside `folder`.
    """
    path, _, query = raw.partition("?")
    path = path.partition("#")[0]
    lowered = path.lower()
    if (
        not path.startswith("/")
        or "//" in path
        or "\\" in path
        or _CONTROL.search(path)
        or any(seq in lowered for seq in _ENCODED_SEPARATORS)
    ):
        return MISSING
    try:
        decoded = unquote(path, errors="strict")
    except UnicodeDecodeError:
        return MISSING
    segments = decoded.split("/")
    if "\\" in decoded or _CONTROL.search(decoded) or any(s in (".", "..") for s in segments):
        return MISSING

    suffix = f"?{query}" if query else ""
    if base_path != "/" and decoded in ("/", base_path.rstrip("/")):
        return Target("redirect", location=base_path + suffix)
    if not decoded.startswith(base_path):
        return MISSING
    # Output paths are NFC on disk; a browser may send what the editor typed.
    rel = unicodedata.normalize("NFC", decoded[len(base_path) :])
    parts = [p for p in rel.split("/") if p]

    root = os.path.realpath(folder)
    real = os.path.realpath(os.path.join(root, *parts))
    if not _inside(real, root):
        return MISSING
    if os.path.isdir(real):
        if not path.endswith("/"):
            return Target("redirect", location=path + "/" + suffix)
        real = os.path.realpath(os.path.join(real, "index.html"))
        if not _inside(real, root):
            return MISSING
    if os.path.isfile(real):
        return Target("file", path=Path(real))
    return MISSING


def overlay_html(diagnostics: Iterable[Diagnostic], base_path: str = "/") -> str:
    """The error overlay: a same-origin stylesheet link and a `role="alert"` list of problems."""
    diagnostics = list(diagnostics)
    errors = [d for d in diagnostics if d.severity == ERROR] or diagnostics
    items = []
    for d in errors[:MAX_OVERLAY_ITEMS]:
        text = d.message if not d.key else f"'{d.key}': {d.message}"
        if d.hint:
            text += f" ({d.hint})"
        item = (
            f"<li><code>{html.escape(d.location())}</code> "
            f"{html.escape(d.severity)}: {html.escape(text)}"
        )
        if d.source_line:
            item += f"<pre>{html.escape(d.source_line)}</pre>"
        items.append(item + "</li>")
    if len(errors) > MAX_OVERLAY_ITEMS:
        items.append(f"<li>and {len(errors) - MAX_OVERLAY_ITEMS} more (see the terminal)</li>")
    count = f"{len(errors)} error" + ("" if len(errors) == 1 else "s")
    return (
        f'<link rel="stylesheet" href="{html.escape(base_path)}__haven/overlay.css">\n'
        '<div id="haven-error-overlay" role="alert" aria-labelledby="haven-error-title">\n'
        f'<h2 id="haven-error-title">The site did not build: {count}</h2>\n'
        "<p>You are looking at the last good build. Fix the problems below and save; "
        "this page reloads by itself.</p>\n"
        f"<ol>\n{chr(10).join(items)}\n</ol>\n</div>\n"
    )


def inject_overlay(page: str, overlay: str) -> str:
    """Insert `overlay` before the last `</body>` (or at the end when there is none)."""
    at = page.lower().rfind("</body>")
    return page + overlay if at < 0 else page[:at] + overlay + page[at:]


_META = re.compile(r"<meta\b[^>]*>", re.IGNORECASE)
_CSP_EQUIV = re.compile(r"""http-equiv\s*=\s*["']?content-security-policy""", re.IGNORECASE)
_CONTENT = re.compile(r"""(\bcontent\s*=\s*)("[^"]*"|'[^']*')""", re.IGNORECASE)


def dev_csp(page: str) -> str:
    """Loosen a page's CSP `<meta>` just enough for live reload over plain-HTTP loopback.

    `connect-src 'none'` would block the EventSource, and `upgrade-insecure-requests` would send
    every request of the page to https://127.0.0.1, where nothing listens.
    """

    def loosen_policy(match: re.Match) -> str:
        quote, policy = match.group(2)[0], match.group(2)[1:-1]
        policy = re.sub(r"connect-src\s+'none'", "connect-src 'self'", policy)
        policy = re.sub(r";?\s*upgrade-insecure-requests\s*", "", policy)
        return match.group(1) + quote + policy + quote

    def loosen_meta(match: re.Match) -> str:
        tag = match.group(0)
        return _CONTENT.sub(loosen_policy, tag, count=1) if _CSP_EQUIV.search(tag) else tag

    return _META.sub(loosen_meta, page)


def _listen_problem(host: str, port: int, exc: OSError) -> str:
    """Why the server cannot listen on host:port, and what to do, from the socket's error."""
    where = f"cannot listen on {host}:{port}: {exc.strerror or exc}"
    if isinstance(exc, socket.gaierror) or exc.errno == errno.EADDRNOTAVAIL:
        return f"{where} (--host must be an address of this computer, such as 127.0.0.1)"
    if exc.errno == errno.EACCES:
        return f"{where} (ports below 1024 need administrator rights; try --port 8000)"
    return f"{where} (is another server running? try --port 0 for any free port)"


def _echo(line: str, *, err: bool = False) -> None:
    print(line, file=sys.stderr if err else sys.stdout, flush=True)


def _force_polling() -> bool:
    value = os.environ.get("WATCHFILES_FORCE_POLLING", "")
    return bool(value) and value.lower() not in ("false", "disable", "disabled")


# -- live reload ----------------------------------------------------------------------------------


class EventHub:
    """Fan-out of server-sent events: one queue per open `/__haven/events` stream."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queues: set[queue.Queue] = set()
        self._closed = False

    def subscribe(self) -> queue.Queue:
        q: queue.Queue = queue.Queue()
        with self._lock:
            if self._closed:
                q.put(None)
            self._queues.add(q)
        return q

    def unsubscribe(self, q: queue.Queue) -> None:
        with self._lock:
            self._queues.discard(q)

    def publish(self, event: str, data: str) -> int:
        """Send one event to every listener; return how many there were."""
        message = f"event: {event}\ndata: {data}\n\n"
        with self._lock:
            for q in self._queues:
                q.put(message)
            return len(self._queues)

    def close(self) -> None:
        """End every stream (None tells the handler to hang up)."""
        with self._lock:
            self._closed = True
            for q in self._queues:
                q.put(None)


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True  # an open event stream must not keep the process alive
    request_queue_size = 64  # a page opens many connections at once; 5 drops some on reload
    dev: DevServer

    def handle_error(self, request, client_address) -> None:
        """A browser that goes away mid-response is normal: say nothing; anything else, one line."""
        exc = sys.exc_info()[1]
        if isinstance(exc, ConnectionError | TimeoutError):
            return
        self.dev.echo(
            f"warning: a request from {client_address[0]} failed: {type(exc).__name__}: {exc}",
            err=True,
        )


class _HTTPServer6(_HTTPServer):
    address_family = AF_INET6


class _Handler(BaseHTTPRequestHandler):
    server: _HTTPServer
    server_version = "haven-dev"
    sys_version = ""

    def setup(self) -> None:
        self.timeout = self.server.dev.request_timeout  # the socket timeout of this connection
        super().setup()

    def log_message(self, format, *args):  # noqa: A002 - stdlib signature
        pass  # one line per request would bury the build errors the terminal is for

    def do_GET(self) -> None:
        self._respond(head=False)

    def do_HEAD(self) -> None:
        self._respond(head=True)

    def _respond(self, *, head: bool) -> None:
        dev = self.server.dev
        base = dev.base_path
        path = self.path.partition("?")[0]
        for prefix in {base + INTERNAL, "/" + INTERNAL}:
            if path.startswith(prefix):
                self._internal(path[len(prefix) :], head=head)
                return

        target = resolve_request(dev.output, base, self.path)
        if target.kind == "redirect":
            self.send_response(HTTPStatus.MOVED_PERMANENTLY)
            self.send_header("Location", target.location or base)
            self.send_header("Content-Length", "0")
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            return
        if target.kind == "file" and target.path is not None:
            try:
                data = target.path.read_bytes()
            except OSError:  # swapped away between the lookup and the read
                data = None
            if data is not None:
                self._send(HTTPStatus.OK, mime_type(target.path), data, head=head)
                return
        self._not_found(head=head)

    def _not_found(self, *, head: bool) -> None:
        dev = self.server.dev
        page = resolve_request(dev.output, dev.base_path, dev.base_path + "404.html")
        data = None
        if page.kind == "file" and page.path is not None:
            try:
                data = page.path.read_bytes()
            except OSError:
                data = None
        if data is None:
            data = FALLBACK_PAGE.format(
                title="Page not found",
                base=html.escape(dev.base_path),
                text="Nothing is built at this address yet.",
            ).encode("utf-8")
        self._send(HTTPStatus.NOT_FOUND, MIME_TYPES[".html"], data, head=head)

    def _internal(self, name: str, *, head: bool) -> None:
        if name == "reload.js":
            self._send(HTTPStatus.OK, MIME_TYPES[".js"], RELOAD_JS.encode(), head=head)
        elif name == "overlay.css":
            self._send(HTTPStatus.OK, MIME_TYPES[".css"], OVERLAY_CSS.encode(), head=head)
        elif name == "events" and not head:
            self._events()
        else:
            self._not_found(head=head)

    def _send(self, status: HTTPStatus, ctype: str, data: bytes, *, head: bool) -> None:
        if ctype.startswith("text/html"):
            data = self.server.dev.decorate_html(data)
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        self.end_headers()
        if not head:
            self.wfile.write(data)

    def _events(self) -> None:
        dev = self.server.dev
        q = dev.hub.subscribe()  # before "hello", so no rebuild can fall in between
        self.close_connection = True
        try:
            self.send_response(HTTPStatus.OK)
            self.send_header("Content-Type", "text/event-stream; charset=utf-8")
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(f"retry: 500\nevent: hello\ndata: {dev.version}\n\n".encode())
            self.wfile.flush()
            while True:
                try:
                    message = q.get(timeout=KEEPALIVE_S)
                except queue.Empty:
                    message = ": keep-alive\n\n"
                if message is None:
                    break
                self.wfile.write(message.encode())
                self.wfile.flush()
        except OSError:
            pass  # the page went away
        finally:
            dev.hub.unsubscribe(q)


# -- the server -----------------------------------------------------------------------------------


class DevServer:
    """Build, serve, watch, rebuild. `start()` returns once the site is served; `stop()` ends it."""

    def __init__(
        self,
        root: Path,
        *,
        host: str = DEFAULT_HOST,
        port: int = DEFAULT_PORT,
        build: BuildFn | None = None,
        output: Path | None = None,
        base_path: str | None = None,
        reporter=None,
        echo: Echo = _echo,
        step_ms: int = STEP_MS,
        request_timeout: float = REQUEST_TIMEOUT_S,
    ) -> None:
        self.root = Path(root).resolve()
        self.output = Path(output) if output else self.root / SERVE_DIR
        self.host = host.removeprefix("[").removesuffix("]")  # [::1] as a browser writes it
        self.port = port
        self.request_timeout = request_timeout
        self.hub = EventHub()
        self.errors: tuple[Diagnostic, ...] = ()
        self.builds = 0
        self.last_build_seconds = 0.0
        self._state = None  # what the pipeline keeps in memory between this server's builds
        self._build = build or self._build_in_session
        self._fixed_base = normalise_base_path(base_path) if base_path is not None else None
        self.base_path = self._fixed_base or "/"
        self._reporter = reporter
        self.echo = echo
        self._step_ms = step_ms
        self._token = secrets.token_hex(4)  # tells pages that the server restarted
        self._lock = threading.Lock()
        self._build_lock = threading.Lock()  # one build at a time, whoever asks
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._pending: set[str] = set()
        self._warnings_seen: set[str] = set()
        self._threads: list[threading.Thread] = []
        self._watchers: list[RustNotify] = []
        self._httpd: _HTTPServer | None = None

    # -- lifecycle

    @property
    def address(self) -> tuple[str, int]:
        """(host, port) the socket is bound to."""
        assert self._httpd is not None, "start() first"
        return self._httpd.socket.getsockname()[:2]

    @property
    def url(self) -> str:
        host = self.host if self.host not in ("", "0.0.0.0", "::") else DEFAULT_HOST
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{self.port}{self.base_path}"

    @property
    def version(self) -> str:
        return f"{self._token}.{self.builds}"

    def start(self) -> None:
        """Bind the socket, start watching, build once, then serve in a background thread."""
        if not 0 <= self.port <= 65535:
            raise UsageError(
                f"--port {self.port} is not a port: use a number from 1 to 65535, "
                "or 0 for any free port"
            )
        server_cls = _HTTPServer6 if ":" in self.host else _HTTPServer
        try:
            self._httpd = server_cls((self.host, self.port), _Handler)
        except OSError as exc:
            raise UsageError(_listen_problem(self.host, self.port, exc)) from exc
        self._httpd.dev = self
        self.port = self._httpd.server_address[1]
        warning = bind_warning(self.host)
        if warning:
            self.echo(warning, err=True)

        # Watch before the first build, so an edit made while it runs is not lost.
        self._start_watchers()
        self.rebuild(initial=True)
        # A short poll keeps stop() quick; an idle wake-up every 50 ms costs nothing measurable.
        self._spawn(lambda: self._httpd.serve_forever(poll_interval=0.05), "haven-http")
        self._spawn(self._build_loop, "haven-build")
        self.echo(f"Serving {self.url} (Ctrl-C to stop)")

    def stop(self) -> None:
        """Stop watching, close every event stream and the socket; safe to call twice."""
        self._stop.set()
        self._wake.set()
        self.hub.close()
        if self._httpd is not None:
            if any(t.name == "haven-http" for t in self._threads):
                self._httpd.shutdown()
            self._httpd.server_close()
        for thread in self._threads:
            thread.join(timeout=5)
        self._threads.clear()
        for watcher in self._watchers:
            watcher.close()
        self._watchers.clear()

    def __enter__(self) -> DevServer:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def _spawn(self, target: Callable[[], None], name: str) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    # -- watching

    def _start_watchers(self) -> None:
        dirs = [str(self.root / d) for d in WATCHED_DIRS if (self.root / d).is_dir()]
        # Two watchers: the source folders recursively; the project folder itself only one level
        # deep, for site.yaml (editors replace it by rename, which a watch on the file would miss)
        # without hearing every write into .cache/ or _site/.
        plan = [(dirs, True), ([str(self.root)], False)]
        for paths, recursive in plan:
            if not paths:
                continue
            watcher = RustNotify(paths, False, _force_polling(), 300, recursive, True)
            self._watchers.append(watcher)
            self._spawn(lambda w=watcher, r=recursive: self._watch(w, r), "haven-watch")

    def _watch(self, watcher: RustNotify, recursive: bool) -> None:
        keep = DefaultFilter()  # drops editor swap files, .git, __pycache__ ...
        top = {CONFIG_FILE, *WATCHED_DIRS}
        while not self._stop.is_set():
            try:
                raw = watcher.watch(MAX_GROUP_MS, self._step_ms, 1000, self._stop)
            except Exception as exc:  # a dying watcher must not take the server down
                self.echo(f"warning: file watching stopped: {exc}", err=True)
                return
            if raw in ("stop", "signal"):
                return
            if raw == "timeout":
                continue
            changed = {
                path
                for change, path in raw
                if keep(Change(change), path) and (recursive or Path(path).name in top)
            }
            if changed:
                with self._lock:
                    self._pending |= changed
                self._wake.set()

    def _build_loop(self) -> None:
        while True:
            self._wake.wait()
            if self._stop.is_set():
                return
            self._wake.clear()
            with self._lock:
                changed, self._pending = self._pending, set()
            self.rebuild(changed)

    # -- building

    def _build_in_session(self, root: Path, options: BuildOptions, reporter=None) -> BuildResult:
        from .incremental.state import MemoryState
        from .pipeline import build_site

        if self._state is None:
            self._state = MemoryState.for_project(root)
        return build_site(root, options, reporter, state=self._state)

    def rebuild(self, changed: Iterable[str] = (), *, initial: bool = False) -> bool:
        """Build once; on success swap in the new site, on failure keep the last good one.

        Either way, send `reload` to open pages afterwards (never before the build is done).
        """
        with self._build_lock:
            return self._rebuild(changed, initial)

    def _rebuild(self, changed: Iterable[str], initial: bool) -> bool:
        started = time.perf_counter()
        options = BuildOptions(serve=True, drafts=True, future=True, output=str(self.output))
        result: BuildResult | None = None
        try:
            result = self._build(self.root, options, self._reporter)
        except HavenError as exc:
            errors = exc.diagnostics or (Diagnostic(ERROR, "(build)", None, None, str(exc)),)
        except Exception as exc:  # a bug in the pipeline must not kill the server either
            self.echo(traceback.format_exc().rstrip(), err=True)
            errors = (
                Diagnostic(
                    ERROR,
                    "(haven)",
                    None,
                    None,
                    f"internal error: {type(exc).__name__}: {exc}",
                    hint="this is a bug in Haven; the traceback is in the terminal",
                ),
            )
        else:
            errors = tuple(d for d in result.diagnostics if d.severity == ERROR)
            if not result.ok and not errors:
                errors = (Diagnostic(ERROR, "(build)", None, None, "the build failed"),)
        elapsed = time.perf_counter() - started

        with self._lock:
            self.errors = errors
            self.builds += 1
            self.last_build_seconds = elapsed
        if not errors:
            self._refresh_base_path()
        self._report(result, errors, changed, elapsed, initial)
        self.hub.publish("reload", self.version)
        return not errors

    def _refresh_base_path(self) -> None:
        if self._fixed_base is not None:
            return
        try:
            from .config import load_config

            self.base_path = normalise_base_path(load_config(self.root).base_path)
        except (ImportError, HavenError):
            pass  # keep the one we had: the build just succeeded, so this is transient

    def _report(self, result, errors, changed, elapsed, initial) -> None:
        ms = round(elapsed * 1000)
        what = "built" if initial else "rebuilt"
        # An editor's save is often write-temp-then-rename: name the files that are still there.
        paths = [p for p in changed if os.path.exists(p)] or list(changed)
        names = sorted(os.path.relpath(p, self.root) for p in paths)
        cause = f" after {', '.join(names[:3])}" + (" ..." if len(names) > 3 else "")
        cause = cause if names else ""
        if errors:
            for d in errors:
                self.echo(d.format(), err=True)
            count = sum(d.severity == ERROR for d in errors) or len(errors)
            plural = "" if count == 1 else "s"
            kept = "still serving the last good build" if not initial else "serving what exists"
            self.echo(f"build failed{cause}: {count} error{plural}; {kept}", err=True)
            return
        warnings = [d.format() for d in result.diagnostics if d.severity == WARNING]
        new = [w for w in warnings if w not in self._warnings_seen]
        self._warnings_seen = set(warnings)
        for line in new:
            self.echo(line, err=True)
        count = f", {len(warnings)} warning(s)" if warnings else ""
        self.echo(f"{what} in {ms} ms{cause}{count}")

    # -- serving

    def decorate_html(self, data: bytes) -> bytes:
        """What every HTML response goes through: the dev CSP tweak, and the overlay when broken."""
        page = dev_csp(data.decode("utf-8", errors="surrogateescape"))
        errors = self.errors
        if errors:
            page = inject_overlay(page, overlay_html(errors, self.base_path))
        return page.encode("utf-8", errors="surrogateescape")


def serve(
    root: Path,
    *,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    build: BuildFn | None = None,
    open_browser: bool = False,
    ready: threading.Event | None = None,
    stop: threading.Event | None = None,
) -> int:
    """`python build.py serve`: serve until Ctrl-C (or `stop` is set); return the exit code.

    Ctrl-C gives 130, as for every other command.
    """
    stop = stop or threading.Event()
    dev = DevServer(root, host=host, port=port, build=build)
    code = 0
    try:
        dev.start()
        if open_browser:
            threading.Thread(target=webbrowser.open, args=(dev.url,), daemon=True).start()
        if ready is not None:
            ready.set()
        while not stop.wait(0.25):
            pass
    except KeyboardInterrupt:
        _echo("stopped")
        code = 130
    finally:
        dev.stop()
    return code
