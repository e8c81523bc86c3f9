"""External link checks against a real HTTP server on 127.0.0.1 (nothing else is contacted)."""

from __future__ import annotations

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from haven.check.external import (
    BROKEN,
    DENIED_KIND,
    FRAGMENT,
    LOOP,
    MAX_BODY,
    RATE_LIMITED,
    REDIRECT,
    TIMEOUT,
    UNCHECKED,
    UNREACHABLE,
    ExternalSettings,
    check_urls,
    normalise_url,
    split_fragment,
)
from haven.check.links import LinkcheckSettings, check_site
from haven.model import ERROR, WARNING

HUGE = 1024**3  # what the huge endpoints offer; the checker must not take it
# The test servers listen on 127.0.0.1, which the checker fetches only when allowed to.
FAST = ExternalSettings(
    timeout=0.5,
    connect_timeout=0.5,
    retries=2,
    backoff=0.01,
    budget_seconds=60,
    per_host=2,
    allow_private=True,
)
PAGE = b'<!doctype html><h1 id="top-title">T</h1><h2 id="part">P</h2><a name="old"></a>'


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):  # keep pytest output clean
        pass

    def do_HEAD(self):
        self.route("HEAD")

    def do_GET(self):
        self.route("GET")

    def send(self, status, body=b"", headers=(), ctype="text/plain"):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command == "GET":
            self.wfile.write(body)

    def route(self, method):
        state = self.server.state
        path = self.path
        with state["lock"]:
            state["requests"].append((method, path))
            state["active"] += 1
            state["max_active"] = max(state["max_active"], state["active"])
        try:
            self.respond(method, path, state)
        except (BrokenPipeError, ConnectionResetError):
            pass
        finally:
            with state["lock"]:
                state["active"] -= 1

    def respond(self, method, path, state):
        if path == "/ok":
            self.send(200, b"fine")
        elif path == "/missing":
            self.send(404, b"no")
        elif path == "/gone":
            self.send(410, b"gone")
        elif path == "/moved":
            self.send(301, headers=[("Location", "/ok")])
        elif path == "/temporary":
            self.send(302, headers=[("Location", "/ok")])
        elif path == "/loop-a":
            self.send(302, headers=[("Location", "/loop-b")])
        elif path == "/loop-b":
            self.send(302, headers=[("Location", "/loop-a")])
        elif path == "/busy-once":
            with state["lock"]:
                state["busy"] += 1
                first = state["busy"] == 1
            if first:
                self.send(429, headers=[("Retry-After", "1")])
            else:
                self.send(200, b"now")
        elif path == "/always-busy":
            self.send(429, headers=[("Retry-After", "1")])
        elif path == "/come-back-tomorrow":
            self.send(429, headers=[("Retry-After", "86400")])
        elif path == "/unavailable":
            self.send(503, headers=[("Retry-After", "0")])
        elif path == "/slow":
            state["release"].wait(10)
            self.send(200, b"late")
        elif path == "/no-head":
            self.send(405 if method == "HEAD" else 200, b"get works")
        elif path == "/head-404":
            self.send(404 if method == "HEAD" else 200, b"get works")
        elif path == "/forbidden":
            self.send(403, b"robots go away")
        elif path in ("/huge", "/huge.html"):
            if method == "HEAD" and path == "/huge":
                self.send(405)
                return
            self.stream_huge(state, "text/html" if path.endswith(".html") else "video/mp4")
        elif path == "/page.html":
            self.send(200, PAGE, ctype="text/html; charset=utf-8")
        elif path.startswith("/pace/"):
            # Counted around the wait only, and released before the reply: a client that has its
            # reply may open the next request before this thread reaches `finally`.
            with state["lock"]:
                state["pacing"] += 1
                state["max_pacing"] = max(state["max_pacing"], state["pacing"])
            time.sleep(0.2)
            with state["lock"]:
                state["pacing"] -= 1
            self.send(200, b"paced")
        else:
            self.send(500, b"unexpected path in test server")

    def stream_huge(self, state, ctype):
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(HUGE))
        self.end_headers()
        chunk = b"<p>" + b"x" * (64 * 1024 - 3)
        try:
            sent = 0
            while sent < HUGE:
                self.wfile.write(chunk)
                sent += len(chunk)
                with state["lock"]:
                    state["huge_sent"] = sent
        finally:
            state["huge_done"].set()


@pytest.fixture
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    httpd.block_on_close = False
    httpd.state = {
        "lock": threading.Lock(),
        "requests": [],
        "active": 0,
        "max_active": 0,
        "pacing": 0,
        "max_pacing": 0,
        "busy": 0,
        "release": threading.Event(),
        "huge_sent": 0,
        "huge_done": threading.Event(),
    }
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{httpd.server_address[1]}"
    yield base, httpd.state
    httpd.state["release"].set()
    httpd.shutdown()
    httpd.server_close()


class Sleeps(list):
    """Records the waits the checker asks for instead of waiting."""

    def __call__(self, seconds):
        self.append(seconds)


def check(server_base, *paths, settings=FAST, sleep=None, **kwargs):
    sleep = sleep if sleep is not None else Sleeps()
    targets = {}
    for path in paths:
        url, frag = split_fragment(server_base + path)
        targets.setdefault(url, set()).add(frag)
    return check_urls(targets, settings, sleep=sleep, **kwargs)


def test_ok_broken_and_gone(server):
    base, state = server
    results = check(base, "/ok", "/missing", "/gone")
    assert results[base + "/ok"].kind is None
    assert results[base + "/ok"].status == 200
    assert (results[base + "/missing"].kind, results[base + "/missing"].status) == (BROKEN, 404)
    assert (results[base + "/gone"].kind, results[base + "/gone"].status) == (BROKEN, 410)
    # HEAD first; a failing HEAD is confirmed with a GET before calling the link broken.
    assert sorted(state["requests"]) == [
        ("GET", "/gone"),
        ("GET", "/missing"),
        ("HEAD", "/gone"),
        ("HEAD", "/missing"),
        ("HEAD", "/ok"),
    ]


def test_permanent_redirect_names_the_new_url_and_temporary_is_fine(server):
    base, _ = server
    results = check(base, "/moved", "/temporary")
    moved = results[base + "/moved"]
    assert moved.kind == REDIRECT
    assert moved.final_url == moved.moved_to == base + "/ok"
    assert moved.message == f"moved permanently to {base}/ok; update the link"
    assert results[base + "/temporary"].kind is None


def test_redirect_loop_is_detected_after_one_get(server):
    base, state = server
    result = check(base, "/loop-a")[base + "/loop-a"]
    assert result.kind == LOOP
    assert result.message == f"redirect loop: {base}/loop-a -> {base}/loop-b -> {base}/loop-a"
    assert state["requests"] == [
        ("HEAD", "/loop-a"),
        ("HEAD", "/loop-b"),
        ("GET", "/loop-a"),
        ("GET", "/loop-b"),
    ]


def test_too_many_redirects(server):
    base, _ = server
    settings = ExternalSettings(**{**FAST.__dict__, "max_redirects": 0})
    result = check(base, "/temporary", settings=settings)[base + "/temporary"]
    assert (result.kind, result.message) == (LOOP, "more than 0 redirects")


def test_429_honours_retry_after_then_succeeds(server):
    base, state = server
    sleeps = Sleeps()
    result = check(base, "/busy-once", sleep=sleeps)[base + "/busy-once"]
    assert result.kind is None
    assert sleeps == [1.0]
    assert state["requests"] == [("HEAD", "/busy-once"), ("HEAD", "/busy-once")]


def test_always_429_is_a_rate_limit_warning_after_the_retries(server):
    base, state = server
    sleeps = Sleeps()
    busy = check(base, "/always-busy", sleep=sleeps)[base + "/always-busy"]
    assert busy.kind == RATE_LIMITED
    assert "not verified" in busy.message
    assert sleeps == [1.0, 1.0]  # two retries
    tomorrow = check(base, "/come-back-tomorrow", sleep=sleeps)[base + "/come-back-tomorrow"]
    assert tomorrow.kind == RATE_LIMITED
    assert sleeps == [1.0, 1.0]  # a day-long Retry-After is reported, not waited for
    assert state["requests"].count(("HEAD", "/always-busy")) == 3
    assert state["requests"].count(("HEAD", "/come-back-tomorrow")) == 1


def test_a_retry_after_pauses_the_whole_host(server):
    base, state = server
    sleeps = Sleeps()  # records waits without waiting, so the host's pause is still pending
    settings = ExternalSettings(**{**FAST.__dict__, "per_host": 1, "retries": 1})
    results = check(base, "/always-busy", "/ok", settings=settings, sleep=sleeps)
    assert results[base + "/ok"].kind is None
    assert sleeps[0] == 1.0
    assert len(sleeps) == 2 and 0.5 < sleeps[1] <= 1.0  # /ok waited for the rest of the pause


def test_503_with_retry_after_is_retried_then_rate_limited(server):
    base, state = server
    sleeps = Sleeps()
    result = check(base, "/unavailable", sleep=sleeps)[base + "/unavailable"]
    assert result.kind == RATE_LIMITED
    assert sleeps == [0.0, 0.0]
    assert state["requests"].count(("HEAD", "/unavailable")) == 3


def test_slow_server_is_a_timeout_warning(server):
    base, state = server
    result = check(base, "/slow")[base + "/slow"]
    assert result.kind == TIMEOUT
    assert "timed out" in result.message
    assert state["requests"] == [("HEAD", "/slow")]  # no retry, no second method


def test_head_rejected_falls_back_to_get(server):
    base, state = server
    results = check(base, "/no-head", "/head-404")
    assert results[base + "/no-head"].kind is None
    assert results[base + "/head-404"].kind is None
    assert ("GET", "/no-head") in state["requests"]


def test_forbidden_is_a_denied_warning(server):
    base, _ = server
    result = check(base, "/forbidden")[base + "/forbidden"]
    assert (result.kind, result.status) == (DENIED_KIND, 403)


def test_huge_body_is_never_downloaded(server):
    base, state = server
    result = check(base, "/huge")[base + "/huge"]
    assert result.kind is None
    assert state["huge_done"].wait(5)  # the server noticed the checker hung up
    assert state["huge_sent"] < 32 * 1024 * 1024


def test_fragment_check_reads_at_most_a_mebibyte(server):
    base, state = server
    result = check(base, "/huge.html#deep")[base + "/huge.html"]
    assert result.kind is None
    assert result.unverified_fragments == ("deep",)
    assert result.missing_fragments == ()
    assert state["huge_done"].wait(5)
    assert state["huge_sent"] < 32 * 1024 * 1024
    assert MAX_BODY == 1024 * 1024


def test_fragments_of_external_pages(server):
    base, state = server
    result = check(base, "/page.html#part", "/page.html#old", "/page.html#nope", "/page.html#top")[
        base + "/page.html"
    ]
    assert result.kind is None
    assert result.missing_fragments == ("nope",)
    assert state["requests"] == [("GET", "/page.html")]  # one fetch for every fragment


def test_unreachable_host(server):
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there now
    url = f"http://127.0.0.1:{port}/x"
    result = check_urls({url: {""}}, FAST, sleep=Sleeps())[url]
    assert result.kind == UNREACHABLE
    assert result.message.startswith("cannot connect")


def test_per_host_limit(server):
    base, state = server
    # Generous timeouts: this test is about concurrency, not speed, and must hold on a busy machine.
    patient = ExternalSettings(**{**FAST.__dict__, "timeout": 10.0, "connect_timeout": 10.0})
    results = check(base, *[f"/pace/{i}" for i in range(6)], settings=patient)
    assert all(r.kind is None for r in results.values())
    assert state["max_pacing"] == 2


def test_exclusions_are_not_requested(server):
    base, state = server
    settings = ExternalSettings(**{**FAST.__dict__, "exclude": (r"/missing$",)})
    results = check(base, "/missing", "/ok", settings=settings)
    assert list(results) == [base + "/ok"]
    assert ("HEAD", "/missing") not in state["requests"]


def test_budget_exhausted_leaves_urls_unchecked(server):
    base, state = server
    settings = ExternalSettings(**{**FAST.__dict__, "budget_seconds": 1e-9})
    result = check(base, "/ok", settings=settings)[base + "/ok"]
    assert result.kind == UNCHECKED
    assert state["requests"] == []


def test_accepted_statuses_come_from_settings(server):
    base, _ = server
    settings = ExternalSettings(**{**FAST.__dict__, "accept": (200, 403)})
    assert check(base, "/forbidden", settings=settings)[base + "/forbidden"].kind is None


def test_cache_spares_the_host_until_the_ttl_runs_out(server, tmp_path):
    base, state = server
    cache = tmp_path / ".cache"
    first = check(base, "/ok", "/moved", "/missing", "/page.html#part", cache_dir=cache, now=1000.0)
    assert not any(r.from_cache for r in first.values())
    stored = json.loads((cache / "linkcheck-external.json").read_text())
    assert set(stored["urls"]) == {base + "/ok", base + "/moved", base + "/page.html"}
    before = len(state["requests"])
    again = check(base, "/ok", "/moved", "/missing", "/page.html#part", cache_dir=cache, now=2000.0)
    assert again[base + "/ok"].from_cache and again[base + "/ok"].kind is None
    assert again[base + "/moved"].from_cache and again[base + "/moved"].kind == REDIRECT
    assert again[base + "/page.html"].from_cache
    assert not again[base + "/missing"].from_cache  # failures are always checked again
    new = state["requests"][before:]
    assert {path for _, path in new} == {"/missing"}
    # A fragment the cache has not seen needs the page again.
    more = check(base, "/page.html#nope", cache_dir=cache, now=2000.0)[base + "/page.html"]
    assert not more.from_cache and more.missing_fragments == ("nope",)
    # After the time to live everything is checked again.
    before = len(state["requests"])
    check(base, "/ok", cache_dir=cache, now=1000.0 + 24 * 3600 + 1)
    assert state["requests"][before:] == [("HEAD", "/ok")]


def test_unreadable_cache_is_ignored(server, tmp_path):
    base, _ = server
    cache = tmp_path / ".cache"
    cache.mkdir()
    (cache / "linkcheck-external.json").write_text("{broken")
    assert check(base, "/ok", cache_dir=cache)[base + "/ok"].kind is None
    assert json.loads((cache / "linkcheck-external.json").read_text())["version"] == 2


def test_normalise_url():
    assert normalise_url("HTTPS://Example.ORG:443") == "https://example.org/"
    assert normalise_url("http://example.org:8080/a?b=1") == "http://example.org:8080/a?b=1"
    assert split_fragment("https://x.org/a#%C3%A1nimo") == ("https://x.org/a", "ánimo")


def test_check_site_maps_external_problems_to_sources(server, tmp_path):
    base, state = server
    site = tmp_path / "_site"
    (site / "articles" / "x").mkdir(parents=True)
    (site / "index.html").write_text('<a href="/articles/x/">x</a>', encoding="utf-8")
    (site / "articles" / "x" / "index.html").write_text(
        f'<a href="{base}/ok">ok</a><a href="{base}/missing">gone</a>'
        f'<a href="{base}/moved">moved</a><a href="{base}/page.html#nope">frag</a>'
        f'<a href="{base}/slow">slow</a><a href="https://haven.example.org/">own site</a>',
        encoding="utf-8",
    )
    (site / ".haven-build.json").write_text(
        json.dumps(
            {
                "base_path": "/",
                "pages": {
                    "articles/x/index.html": {
                        "source": "content/articles/x.md",
                        "links": [[f"{base}/missing", 4], [f"{base}/moved", 6]],
                    }
                },
            }
        ),
        encoding="utf-8",
    )
    settings = LinkcheckSettings(external=FAST)
    offline = check_site(site, settings, site_url="https://haven.example.org/")
    assert offline == [] and state["requests"] == []  # external checks are opt-in
    problems = check_site(
        site,
        settings,
        external=True,
        cache_dir=tmp_path / ".cache",
        site_url="https://haven.example.org/",
    )
    src, pg = "content/articles/x.md", "articles/x/index.html"
    assert {(p.severity, p.kind, p.source, p.line, p.page, p.target) for p in problems} == {
        (ERROR, BROKEN, src, 4, pg, f"{base}/missing"),
        (WARNING, REDIRECT, src, 6, pg, f"{base}/moved"),
        (WARNING, FRAGMENT, src, None, pg, f"{base}/page.html#nope"),
        (WARNING, TIMEOUT, src, None, pg, f"{base}/slow"),
    }
    moved = next(p for p in problems if p.kind == REDIRECT)
    assert moved.message == f"link '{base}/moved': moved permanently to {base}/ok; update the link"
    assert all(path != "/" for _, path in state["requests"])  # the own site was not fetched
    assert Path(tmp_path / ".cache" / "linkcheck-external.json").exists()
