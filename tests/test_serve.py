"""Dev server: real sockets on a free loopback port, a fake build function, a tiny project.

Every wait is bounded by a socket timeout or a deadline; nothing asserts on elapsed time.
"""

from __future__ import annotations

import http.client
import os
import shutil
import threading
import time
from pathlib import Path

import pytest

from haven.errors import ContentError, UsageError
from haven.model import ERROR, BuildOptions, BuildResult, Diagnostic
from haven.serve import (
    DevServer,
    bind_warning,
    dev_csp,
    inject_overlay,
    mime_type,
    overlay_html,
    resolve_request,
    serve,
)

TIMEOUT = 10  # seconds: the bound on every wait in this module
SECRET = "root:x:0:0:do-not-serve-me"
PAGE_404 = "<!doctype html><html><body><h1>Page not found (site 404)</h1></body></html>"


# -- a tiny project and a fake pipeline --------------------------------------------------------


class FakeBuild:
    """Stands in for haven.pipeline.build_site: same signature, same atomic swap, same errors."""

    def __init__(self) -> None:
        self.calls: list[BuildOptions] = []
        self.crash = False

    def __call__(self, root: Path, options: BuildOptions, reporter=None) -> BuildResult:
        self.calls.append(options)
        if self.crash:
            raise RuntimeError("boom in the pipeline")
        source = (root / "content" / "articles" / "hello.md").read_text(encoding="utf-8")
        if "BROKEN" in source:
            raise ContentError(
                "1 error(s)",
                [
                    Diagnostic(
                        ERROR,
                        "content/articles/hello.md",
                        3,
                        7,
                        "expected YYYY-MM-DD, got <soon> & later",
                        key="date",
                    )
                ],
            )
        out = Path(options.output)
        out = out if out.is_absolute() else root / out
        staging = out.with_name(out.name + ".staging")
        shutil.rmtree(staging, ignore_errors=True)
        files = {
            "index.html": page("Home", "<a href='/articles/hello/'>hello</a>"),
            "articles/hello/index.html": page("Hello", source),
            "404.html": PAGE_404,
            "css/site.css": "body { margin: 0 }",
            "js/exit.js": "// exit",
            "img/logo.svg": "<svg xmlns='http://www.w3.org/2000/svg'/>",
            "feed.xml": "<feed/>",
            "data.json": "{}",
            "pagefind/pagefind.wasm": "\0asm",
            "pagefind/index/en_1.pf_index": "x",
            "pagefind/pagefind.en_1.pf_meta": "x",
            "pagefind/fragment/en_1.pf_fragment": "x",
            "fonts/a.woff2": "x",
            "img/a.png": "x",
            "img/a.jpg": "x",
            "img/a.webp": "x",
        }
        for rel, text in files.items():
            target = staging / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        if out.exists():
            old = out.with_name(out.name + ".old")
            out.rename(old)
            staging.rename(out)
            shutil.rmtree(old)
        else:
            out.parent.mkdir(parents=True, exist_ok=True)
            staging.rename(out)
        return BuildResult(ok=True, diagnostics=(), pages_written=len(files))


def page(title: str, body: str) -> str:
    return (
        "<!doctype html><html><head><title>" + title + "</title>"
        '<script src="/__haven/reload.js" defer></script></head>'
        "<body><main>" + body + "</main></body></html>"
    )


class Lines:
    """Collects what the server prints."""

    def __init__(self) -> None:
        self.out: list[str] = []
        self.err: list[str] = []

    def __call__(self, line: str, *, err: bool = False) -> None:
        (self.err if err else self.out).append(line)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "site"
    (root / "content" / "articles").mkdir(parents=True)
    (root / "templates").mkdir()
    (root / "static").mkdir()
    (root / "site.yaml").write_text("title: Test\n", encoding="utf-8")
    (root / "templates" / "base.html").write_text("<html></html>", encoding="utf-8")
    save(root / "content" / "articles" / "hello.md", "first version")
    (tmp_path / "secret.txt").write_text(SECRET, encoding="utf-8")
    (root / "secret.txt").write_text(SECRET, encoding="utf-8")
    return root


@pytest.fixture
def fake() -> FakeBuild:
    return FakeBuild()


@pytest.fixture
def dev(project: Path, fake: FakeBuild):
    server = DevServer(project, port=0, build=fake, base_path="/", echo=Lines())
    server.start()
    yield server
    server.stop()


def save(path: Path, text: str) -> None:
    """Save the way editors do: write a temporary file, then rename it over the original."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def request(server: DevServer, path: str, method: str = "GET"):
    """A raw request: http.client sends the path exactly as given (no normalising)."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=TIMEOUT)
    try:
        conn.request(method, path)
        resp = conn.getresponse()
        headers = {k.lower(): v for k, v in resp.getheaders()}
        return resp.status, headers, resp.read().decode("utf-8", errors="replace")
    finally:
        conn.close()


class Events:
    """A client of /__haven/events, reading one server-sent event at a time."""

    def __init__(self, server: DevServer) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=TIMEOUT)
        self.conn.request("GET", "/__haven/events")
        self.resp = self.conn.getresponse()
        assert self.resp.status == 200
        assert self.resp.getheader("Content-Type").startswith("text/event-stream")

    def next(self) -> tuple[str, str]:
        event, data = "message", []
        while True:
            raw = self.resp.readline()  # bounded by the socket timeout
            if not raw:
                raise EOFError("the event stream closed")
            line = raw.decode("utf-8").rstrip("\n")
            if not line:
                if data:
                    return event, "\n".join(data)
                continue
            if line.startswith(":"):
                continue  # keep-alive comment
            name, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if name == "event":
                event = value
            elif name == "data":
                data.append(value)

    def reload_until(self, condition) -> str:
        """Read `reload` events until `condition()` holds after one; return that event's data."""
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            event, data = self.next()
            if event == "reload" and condition():
                return data
        raise AssertionError("no reload event after which the condition held")

    def close(self) -> None:
        self.conn.close()


# -- serving ------------------------------------------------------------------------------------


def test_builds_into_private_folder_with_serve_options(dev: DevServer, fake: FakeBuild) -> None:
    options = fake.calls[0]
    assert options.serve and options.drafts and options.future
    assert Path(options.output) == dev.root / ".cache" / "serve" / "site"
    assert (dev.root / ".cache" / "serve" / "site" / "index.html").is_file()
    assert not (dev.root / "_site").exists()


def test_binds_loopback_and_prints_url(dev: DevServer) -> None:
    assert dev.address[0] == "127.0.0.1"
    assert dev.port != 0
    assert f"Serving http://127.0.0.1:{dev.port}/ (Ctrl-C to stop)" in dev.echo.out


def test_all_interfaces_needs_a_warning() -> None:
    assert "serving on all interfaces" in bind_warning("0.0.0.0")
    assert "serving on all interfaces" in bind_warning("::")
    assert bind_warning("127.0.0.1") is None
    assert bind_warning("localhost") is None


def test_port_in_use_is_a_usage_error(dev: DevServer, project: Path, fake: FakeBuild) -> None:
    other = DevServer(project, port=dev.port, build=fake, base_path="/", echo=Lines())
    with pytest.raises(UsageError, match=f"cannot listen on 127.0.0.1:{dev.port}"):
        other.start()
    other.stop()


@pytest.mark.parametrize(
    ("path", "ctype"),
    [
        ("/", "text/html; charset=utf-8"),
        ("/css/site.css", "text/css; charset=utf-8"),
        ("/js/exit.js", "text/javascript; charset=utf-8"),
        ("/img/logo.svg", "image/svg+xml"),
        ("/feed.xml", "application/xml; charset=utf-8"),
        ("/data.json", "application/json"),
        ("/pagefind/pagefind.wasm", "application/wasm"),
        ("/pagefind/index/en_1.pf_index", "application/octet-stream"),
        ("/pagefind/pagefind.en_1.pf_meta", "application/octet-stream"),
        ("/pagefind/fragment/en_1.pf_fragment", "application/octet-stream"),
        ("/fonts/a.woff2", "font/woff2"),
        ("/img/a.png", "image/png"),
        ("/img/a.jpg", "image/jpeg"),
        ("/img/a.webp", "image/webp"),
    ],
)
def test_files_have_the_right_type_and_no_store(dev: DevServer, path: str, ctype: str) -> None:
    status, headers, _ = request(dev, path)
    assert status == 200
    assert headers["content-type"] == ctype
    assert headers["cache-control"] == "no-store"
    assert headers["x-content-type-options"] == "nosniff"


def test_page_content_and_head(dev: DevServer) -> None:
    status, headers, body = request(dev, "/articles/hello/")
    assert status == 200 and "first version" in body
    assert "haven-error-overlay" not in body
    assert int(headers["content-length"]) == len(body.encode())

    status, headers, body = request(dev, "/articles/hello/", method="HEAD")
    assert status == 200 and body == "" and int(headers["content-length"]) > 0


def test_directory_without_slash_redirects(dev: DevServer) -> None:
    status, headers, _ = request(dev, "/articles/hello")
    assert status == 301
    assert headers["location"] == "/articles/hello/"

    status, headers, _ = request(dev, "/articles/hello?q=1")
    assert status == 301 and headers["location"] == "/articles/hello/?q=1"


def test_missing_path_gets_the_sites_404_page(dev: DevServer) -> None:
    for path in ("/no-such-page/", "/articles/nope", "/css/missing.css"):
        status, headers, body = request(dev, path)
        assert status == 404
        assert headers["content-type"] == "text/html; charset=utf-8"
        assert "Page not found (site 404)" in body


def test_directory_without_index_is_not_listed(dev: DevServer) -> None:
    status, _, body = request(dev, "/pagefind/")
    assert status == 404 and "pagefind.wasm" not in body


@pytest.mark.parametrize(
    "path",
    [
        "/../../etc/passwd",
        "/../secret.txt",
        "/../../../secret.txt",
        "/articles/../../../secret.txt",
        "/%2e%2e/%2e%2e/etc/passwd",
        "/%2e%2e/%2e%2e/%2e%2e/secret.txt",
        "/%2E%2E/%2E%2E/%2E%2E/secret.txt",
        "/..%2f..%2f..%2fsecret.txt",
        "/..%2F..%2Fetc/passwd",
        "/..%5c..%5c..%5csecret.txt",
        "/..\\..\\..\\secret.txt",
        "/index.html%00.png",
        "/%c0%ae%c0%ae/%c0%ae%c0%ae/secret.txt",  # overlong UTF-8 for '.'
        "//etc/passwd",
        "/./index.html",
        "/etc/passwd",
    ],
)
def test_traversal_is_refused_with_the_404_page(dev: DevServer, path: str) -> None:
    status, _, body = request(dev, path)
    assert status == 404
    assert SECRET not in body
    assert "Page not found (site 404)" in body


def test_symlink_leading_outside_is_refused(dev: DevServer, project: Path) -> None:
    out = dev.output
    os.symlink(project.parent / "secret.txt", out / "leak.txt")
    outside_dir = project.parent / "outside"
    outside_dir.mkdir()
    (outside_dir / "index.html").write_text(SECRET, encoding="utf-8")
    os.symlink(outside_dir, out / "elsewhere")
    os.symlink(out / "css" / "site.css", out / "alias.css")  # inside: fine

    for path in ("/leak.txt", "/elsewhere/", "/elsewhere/index.html", "/elsewhere"):
        status, _, body = request(dev, path)
        assert status == 404, path
        assert SECRET not in body
    status, headers, body = request(dev, "/alias.css")
    assert status == 200 and "margin" in body


def test_open_redirect_is_not_possible(dev: DevServer) -> None:
    status, headers, _ = request(dev, "//evil.example/articles/hello")
    assert status == 404 and "location" not in headers


def test_internal_assets_come_from_memory(dev: DevServer) -> None:
    status, headers, body = request(dev, "/__haven/reload.js")
    assert status == 200 and headers["content-type"] == "text/javascript; charset=utf-8"
    assert "EventSource" in body and "location.reload()" in body

    status, headers, body = request(dev, "/__haven/overlay.css")
    assert status == 200 and headers["content-type"] == "text/css; charset=utf-8"
    assert "#haven-error-overlay" in body

    assert request(dev, "/__haven/nothing")[0] == 404


def test_base_path(project: Path, fake: FakeBuild) -> None:
    with DevServer(project, port=0, build=fake, base_path="/haven", echo=Lines()) as server:
        assert server.url.endswith("/haven/")
        status, _, body = request(server, "/haven/articles/hello/")
        assert status == 200 and "first version" in body
        assert request(server, "/haven")[1]["location"] == "/haven/"
        assert request(server, "/")[1]["location"] == "/haven/"
        assert request(server, "/articles/hello/")[0] == 404
        assert request(server, "/haven/__haven/reload.js")[0] == 200


# -- rebuilds, reload events, errors ------------------------------------------------------------


def test_edit_rebuilds_and_sends_reload_after_the_build(dev: DevServer, project: Path) -> None:
    events = Events(dev)
    try:
        event, hello = events.next()
        assert event == "hello"

        save(project / "content" / "articles" / "hello.md", "second version")
        version = events.reload_until(
            lambda: "second version" in request(dev, "/articles/hello/")[2]
        )
        assert version != hello
    finally:
        events.close()


def test_site_yaml_edit_rebuilds(dev: DevServer, project: Path, fake: FakeBuild) -> None:
    events = Events(dev)
    try:
        events.next()
        before = len(fake.calls)
        save(project / "site.yaml", "title: Renamed\n")
        events.reload_until(lambda: len(fake.calls) > before)
    finally:
        events.close()


def test_broken_edit_keeps_last_good_page_with_overlay(dev: DevServer, project: Path) -> None:
    article = project / "content" / "articles" / "hello.md"
    events = Events(dev)
    try:
        events.next()
        save(article, "BROKEN edit")
        events.reload_until(lambda: bool(dev.errors))

        status, _, body = request(dev, "/articles/hello/")
        assert status == 200
        assert "first version" in body  # the last good build
        assert '<div id="haven-error-overlay" role="alert"' in body
        assert body.index("haven-error-overlay") < body.rindex("</body>")
        assert "content/articles/hello.md:3:7" in body
        assert "expected YYYY-MM-DD, got &lt;soon&gt; &amp; later" in body
        assert "<soon>" not in body
        assert 'href="/__haven/overlay.css"' in body and "style=" not in body
        # every HTML page shows it, the 404 page included; other files are untouched
        assert "haven-error-overlay" in request(dev, "/")[2]
        assert "haven-error-overlay" in request(dev, "/missing/")[2]
        assert "haven-error-overlay" not in request(dev, "/css/site.css")[2]
        # the terminal shows the compiler-style line
        expected = "content/articles/hello.md:3:7: error: 'date': expected YYYY-MM-DD"
        assert any(line.startswith(expected) for line in dev.echo.err)

        save(article, "fixed version")
        events.reload_until(lambda: "fixed version" in request(dev, "/articles/hello/")[2])
        assert "haven-error-overlay" not in request(dev, "/articles/hello/")[2]
        assert dev.errors == ()
    finally:
        events.close()


def test_a_crashing_build_does_not_stop_the_server(dev: DevServer, fake: FakeBuild) -> None:
    fake.crash = True
    assert dev.rebuild() is False
    status, _, body = request(dev, "/")
    assert status == 200
    assert "internal error: RuntimeError: boom in the pipeline" in body
    assert any("Traceback" in line for line in dev.echo.err)

    fake.crash = False
    assert dev.rebuild() is True
    assert "haven-error-overlay" not in request(dev, "/")[2]


def test_first_build_broken_then_fixed(project: Path, fake: FakeBuild) -> None:
    article = project / "content" / "articles" / "hello.md"
    save(article, "BROKEN from the start")
    with DevServer(project, port=0, build=fake, base_path="/", echo=Lines()) as server:
        status, _, body = request(server, "/")
        assert status == 404  # nothing good was ever built
        assert "haven-error-overlay" in body and "/__haven/reload.js" in body

        events = Events(server)
        try:
            events.next()
            save(article, "now it works")
            events.reload_until(lambda: request(server, "/articles/hello/")[0] == 200)
        finally:
            events.close()


def test_stop_ends_event_streams(project: Path, fake: FakeBuild) -> None:
    server = DevServer(project, port=0, build=fake, base_path="/", echo=Lines())
    server.start()
    events = Events(server)
    try:
        assert events.next()[0] == "hello"
        server.stop()
        with pytest.raises(EOFError):
            events.next()
    finally:
        events.close()
        server.stop()


def test_serve_runs_until_stopped(project: Path, fake: FakeBuild, capsys) -> None:
    ready, stop = threading.Event(), threading.Event()
    result: list[int] = []
    thread = threading.Thread(
        target=lambda: result.append(serve(project, port=0, build=fake, ready=ready, stop=stop))
    )
    thread.start()
    try:
        assert ready.wait(TIMEOUT)
        out = capsys.readouterr().out
        line = next(x for x in out.splitlines() if x.startswith("Serving "))
        url = line.split()[1]
        assert url.startswith("http://127.0.0.1:") and line.endswith("(Ctrl-C to stop)")
        port = int(url.rsplit(":", 1)[1].split("/")[0])
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
        conn.request("GET", "/")
        assert conn.getresponse().status == 200
        conn.close()
    finally:
        stop.set()
        thread.join(TIMEOUT)
    assert result == [0]


# -- pure helpers -------------------------------------------------------------------------------


def test_resolve_request_maps_paths(tmp_path: Path) -> None:
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "b" / "index.html").write_text("x")
    (tmp_path / "心の健康").mkdir()
    (tmp_path / "心の健康" / "index.html").write_text("x")

    assert resolve_request(tmp_path, "/", "/a/b/").path == tmp_path / "a" / "b" / "index.html"
    assert resolve_request(tmp_path, "/", "/a/b/?x=1#y").kind == "file"
    assert resolve_request(tmp_path, "/", "/a/b").location == "/a/b/"
    assert resolve_request(tmp_path, "/", "/%E5%BF%83%E3%81%AE%E5%81%A5%E5%BA%B7/").kind == "file"
    assert resolve_request(tmp_path, "/", "/a/%ff/").kind == "missing"  # not UTF-8
    assert resolve_request(tmp_path, "/", "http://x/a/b/").kind == "missing"
    assert resolve_request(tmp_path / "absent", "/", "/").kind == "missing"


def test_mime_type_fallback() -> None:
    assert mime_type("x.HTML") == "text/html; charset=utf-8"
    assert mime_type("x.unknown") == "application/octet-stream"


def test_overlay_escapes_and_limits() -> None:
    diags = [
        Diagnostic(ERROR, f"content/articles/<{i}>.md", i, None, 'bad "value" <b>', hint="x&y")
        for i in range(1, 60)
    ]
    overlay = overlay_html(diags, "/")
    assert "<b>" not in overlay and "&lt;b&gt;" in overlay and "x&amp;y" in overlay
    assert "content/articles/&lt;1&gt;.md:1" in overlay
    assert "59 errors" in overlay and "and 9 more" in overlay
    assert inject_overlay("<p>x</p></BODY></html>", "[O]") == "<p>x</p>[O]</BODY></html>"
    assert inject_overlay("<p>no body end</p>", "[O]") == "<p>no body end</p>[O]"


def test_dev_csp_allows_the_event_stream_on_loopback() -> None:
    strict = (
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "script-src 'self'; connect-src 'none'; upgrade-insecure-requests\">"
    )
    loosened = dev_csp(strict)
    assert "connect-src 'self'" in loosened and "upgrade-insecure-requests" not in loosened
    assert "script-src 'self'" in loosened
    relaxed = '<meta http-equiv="Content-Security-Policy" content="default-src \'self\'">'
    assert dev_csp(relaxed) == relaxed
