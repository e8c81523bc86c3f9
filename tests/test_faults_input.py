"""Faults at the edges: site.yaml, front matter and dates, the command line, `new`, the dev
server's HTTP side and `check --external`. Each bad input ends in Haven's own error naming the
file and line (or the key, or the option), leaves the previous output byte for byte as it was,
and the next good build equals a clean build. Hypothesis then throws generated front matter and
site.yaml at a small site with the same three promises.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from datetime import date, datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sitekit import SITE_YAML, article, make_site, snapshot

from haven.check import external
from haven.check.external import PRIVATE, ExternalSettings, check_urls
from haven.cli import main
from haven.errors import HavenError
from haven.model import BuildResult
from haven.pipeline import build_site
from haven.scaffold import slugify
from haven.serve import DevServer
from haven.urls import RESERVED_SLUGS

TIMEOUT = 10  # seconds: the bound on every wait here; nothing asserts on elapsed time
FILES = {
    "content/articles/first.md": article("First", tags=("selfcare",), body="## Part\n\nOne."),
    "content/articles/second.md": article(
        "Second",
        date="2026-01-12",
        tags=("communication",),
        body="Two, see [one](first.md).",
        extra="last_reviewed: 2026-01-02\n",  # its next review comes from review.interval_years
    ),
}
EDGE = "content/articles/edge.md"
INTERNALS = ("Traceback", "internal error", "out of range for month", "must be in 1..12")


# -- one built site, copied for each test --------------------------------------------------------


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[Path, dict[str, str]]:
    """A tiny site built once, clean, and the digest of every file of that clean build."""
    root = make_site(tmp_path_factory.mktemp("faults") / "site", FILES)
    assert main(["build", "--root", str(root), "-q"]) == 0
    return root, snapshot(root / "_site")


@pytest.fixture
def site(built, tmp_path: Path) -> Path:
    root = tmp_path / "site"
    shutil.copytree(built[0], root, symlinks=True)
    return root


@pytest.fixture
def clean(built) -> dict[str, str]:
    return built[1]


def cli(capsys, root: Path, command: str, *args: str) -> tuple[int, str]:
    """Run one command on `root`; its exit code and everything it printed."""
    capsys.readouterr()
    code = main([command, "--root", str(root), *args])
    out, err = capsys.readouterr()
    return code, out + err


def edit(root: Path, rel: str, old: str, new: str) -> None:
    path = root / rel
    text = path.read_text(encoding="utf-8")
    assert old in text, (rel, old)
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def refused(capsys, root: Path, *args: str, code: int, command: str = "build") -> str:
    """Run a build (or another command) that must fail: the exit code, no Python internals,
    and the previous output byte for byte as it was. Returns what it printed."""
    before = snapshot(root / "_site")
    got, printed = cli(capsys, root, command, *(["-q"] if command == "build" else []), *args)
    assert got == code, printed
    assert not any(word in printed for word in INTERNALS), printed
    assert snapshot(root / "_site") == before
    return printed


def recovers(capsys, root: Path, clean: dict[str, str]) -> None:
    """With the fault undone, the next build succeeds and equals a clean build."""
    code, printed = cli(capsys, root, "build", "-q")
    assert code == 0, printed
    assert snapshot(root / "_site") == clean


# -- fault 5: dates at the edges of the calendar -------------------------------------------------


@pytest.mark.parametrize(
    "line, key",
    [
        ("date: 0001-01-01", "date"),
        ("date: 9999-12-31", "date"),
        ('date: "0001-01-01T00:00:00+05:00"', "date"),
        ("updated: 9999-12-31T23:00:00-05:00", "updated"),
        ("updated: 0001-01-01T00:30:00+01:00", "updated"),
        ("last_reviewed: 9999-12-31", "last_reviewed"),  # + interval_years would pass 9999
        ("last_reviewed: 0001-01-01", "last_reviewed"),
        ("next_review: 9999-12-31", "next_review"),
        ("updated: 0000-01-01", "updated"),
    ],
)
def test_dates_at_the_edges_of_the_calendar_name_file_line_and_key(site, clean, capsys, line, key):
    name = line.split(":", 1)[0]
    lines = [
        "---",
        'title: "Edge"',
        "date: 2026-01-05",
        'summary: "At the edge."',
        'tags: ["selfcare"]',
    ]
    lines = [x for x in lines if not x.startswith(f"{name}:")] + [line, "---", "", "Text."]
    (site / EDGE).write_text("\n".join(lines) + "\n", encoding="utf-8")
    at = lines.index(line) + 1
    printed = refused(capsys, site, code=1)
    assert f"{EDGE}:{at}:{len(name) + 3}: error: '{key}': " in printed
    assert "is outside 1900 to 2999" in printed
    (site / EDGE).unlink()
    recovers(capsys, site, clean)


def test_the_last_review_plus_its_interval_stays_inside_the_calendar(site, clean, capsys):
    text = (site / "site.yaml").read_text(encoding="utf-8")
    (site / "site.yaml").write_text(text + "review:\n  interval_years: 8000\n", encoding="utf-8")
    printed = refused(capsys, site, code=2)
    line = text.count("\n") + 2
    assert (
        f"site.yaml:{line}: error: 'review.interval_years': expected a whole number from 1 to 100, got 8000"
        in printed
    )
    # The latest review date and the longest interval still give a date every format can show.
    (site / "site.yaml").write_text(text + "review:\n  interval_years: 100\n", encoding="utf-8")
    edit(site, "content/articles/first.md", "---\n\n", "last_reviewed: 2999-12-31\n---\n\n")
    code, printed = cli(capsys, site, "build", "-q")
    assert code == 0, printed
    assert "3099" in (site / "_site" / "articles" / "first" / "index.html").read_text("utf-8")


def test_a_support_line_checked_in_year_one_is_a_site_yaml_error(site, clean, capsys):
    edit(site, "site.yaml", "last_verified: 2026-11-01", "last_verified: 0001-01-01")
    line = (
        (site / "site.yaml").read_text("utf-8").split("\n").index("    last_verified: 0001-01-01")
    )
    printed = refused(capsys, site, code=2)
    assert f"site.yaml:{line + 1}:20: error: 'support[0].last_verified': 0001-01-01" in printed
    edit(site, "site.yaml", "last_verified: 0001-01-01", "last_verified: 2026-11-01")
    recovers(capsys, site, clean)


@pytest.mark.parametrize(
    "now, env",
    [("0001-01-01T00:00:00+05:00", None), ("tomorrow", None), (None, "abc"), (None, "9" * 15)],
)
def test_now_and_source_date_epoch_are_usage_errors(site, capsys, monkeypatch, now, env):
    if env is not None:
        monkeypatch.setenv("SOURCE_DATE_EPOCH", env)
    printed = refused(capsys, site, *(["--now", now] if now else []), code=2)
    assert ("--now" if now else "SOURCE_DATE_EPOCH") in printed


def test_a_now_without_offset_is_read_in_the_sites_time_zone(site, capsys):
    code, printed = cli(capsys, site, "build", "-q", "--now", "2026-01-11")
    assert code == 0, printed
    assert not (site / "_site" / "articles" / "second").exists()  # 2026-01-12 is still to come


@pytest.mark.parametrize("port", ["99999", "65536", "-1", "eighty"])
def test_serve_refuses_a_port_that_is_not_one(site, capsys, port):
    printed = refused(capsys, site, "--port", port, code=2, command="serve")
    assert f"argument --port: '{port}' is not a port" in printed


def test_serve_refuses_a_port_in_use_and_a_host_that_is_not_this_computer(site, capsys):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        printed = refused(capsys, site, "--port", str(port), code=2, command="serve")
    assert f"error: cannot listen on 127.0.0.1:{port}: Address already in use" in printed
    # 203.0.113.1 is set aside for documentation: never an address of this computer.
    printed = refused(capsys, site, "--host", "203.0.113.1", code=2, command="serve")
    assert "cannot listen on 203.0.113.1:8000" in printed
    assert "--host must be an address of this computer" in printed


# -- fault 6: silent wrong output ----------------------------------------------------------------


@pytest.mark.parametrize(
    "output, why",
    [
        ("static/out", "is inside static/"),
        ("content/site", "is inside content/"),
        ("templates/x", "is inside templates/"),
        (".", "is the project folder itself"),
        ("..", "holds the project"),
        ("../..", "holds the project"),
    ],
)
def test_output_inside_the_sources_or_around_the_project_is_refused(
    site, clean, capsys, output, why
):
    inside = sorted(p.relative_to(site) for p in site.rglob("*") if ".cache" not in p.parts)
    printed = refused(capsys, site, "--output", output, code=2)
    assert printed.startswith(f"error: --output {output}")
    assert why in printed and "output_dir" not in printed
    assert sorted(p.relative_to(site) for p in site.rglob("*") if ".cache" not in p.parts) == (
        inside
    )
    # The same folders in site.yaml are named by their key and line.
    text = (site / "site.yaml").read_text("utf-8")
    (site / "site.yaml").write_text(text + f"output_dir: {output}\n", encoding="utf-8")
    printed = refused(capsys, site, code=2)
    line = text.count("\n") + 1
    assert f"site.yaml:{line}: error: 'output_dir': {output}" in printed and why in printed
    (site / "site.yaml").write_text(text, encoding="utf-8")
    recovers(capsys, site, clean)


def test_an_output_folder_the_writer_refuses_is_blamed_on_the_option(site, tmp_path, capsys):
    foreign = tmp_path / "photos"
    foreign.mkdir()
    (foreign / "holiday.jpg").write_bytes(b"\xff\xd8")
    printed = refused(capsys, site, "--output", str(foreign), code=2)
    assert printed.startswith(f"error: --output {foreign}: ")
    assert "output_dir" not in printed and "site.yaml" not in printed
    assert [p.name for p in foreign.iterdir()] == ["holiday.jpg"]


def test_a_missing_content_folder_is_an_error_not_an_empty_site(site, clean, capsys):
    (site / "content").rename(site / "content-moved")
    printed = refused(capsys, site, code=1)
    assert "content/: error: the content folder is missing" in printed
    assert "git checkout -- content" in printed
    (site / "content-moved").rename(site / "content")
    recovers(capsys, site, clean)


@pytest.mark.parametrize(
    "url, why",
    [
        ("https://example.org/?utm=1", "has a query"),
        ("https://example.org/#top", "has a fragment"),
        ("https://example.org/a/../", "'..' segment"),
        ("https://example.org/a/%2e%2e/", "'..' segment"),
        ("https://user:secret@example.org/", "user name or password"),
        ("https://example.org:99999/", "port"),
        ('https://example.org/"onload="x', "quotes"),
    ],
)
def test_base_url_must_be_a_plain_address(site, clean, capsys, url, why):
    edit(site, "site.yaml", "base_url: https://example.org/", f"base_url: '{url}'")
    printed = refused(capsys, site, code=2)
    assert "site.yaml:2: error: 'base_url': " in printed and why in printed
    edit(site, "site.yaml", f"base_url: '{url}'", "base_url: https://example.org/")
    recovers(capsys, site, clean)


@pytest.mark.parametrize(
    "line, key",
    [
        ("search: false", "search"),
        ("    label: Communication", "topics[1].label"),
        ('    phone: "116 123"', "support[0].phone"),
    ],
)
def test_a_key_given_twice_names_both_lines(site, clean, capsys, line, key):
    first = SITE_YAML.split("\n").index(line) + 1
    edit(site, "site.yaml", f"{line}\n", f"{line}\n{line}\n")
    printed = refused(capsys, site, code=2)
    assert (
        f"site.yaml:{first + 1}: error: '{key}': this key is given twice, on lines "
        f"{first} and {first + 1}" in printed
    )
    edit(site, "site.yaml", f"{line}\n{line}\n", f"{line}\n")
    recovers(capsys, site, clean)


@pytest.mark.parametrize("language", ['en"x', "en_GB", "english language", "e", "en-"])
def test_language_must_be_a_bcp47_tag(site, clean, capsys, language):
    text = (site / "site.yaml").read_text("utf-8")
    (site / "site.yaml").write_text(f"{text}language: '{language}'\n", encoding="utf-8")
    printed = refused(capsys, site, code=2)
    line = text.count("\n") + 1
    assert f"site.yaml:{line}: error: 'language': '{language}' is not a BCP 47 language tag" in (
        printed
    )
    (site / "site.yaml").write_text(text, encoding="utf-8")
    recovers(capsys, site, clean)


@pytest.mark.parametrize("language", ["cy", "en-GB", "zh-Hant-TW", "sr-Latn", "es-419"])
def test_real_language_tags_are_accepted(site, capsys, language):
    text = (site / "site.yaml").read_text("utf-8")
    (site / "site.yaml").write_text(f"{text}language: {language}\n", encoding="utf-8")
    code, printed = cli(capsys, site, "build", "-q")
    assert code == 0, printed
    assert f'<html lang="{language}"' in (site / "_site" / "index.html").read_text("utf-8")


@pytest.mark.parametrize("slug", sorted(RESERVED_SLUGS))
def test_new_never_writes_a_page_that_breaks_the_next_build(site, clean, capsys, slug):
    """`new "<reserved>" --page` is refused, or writes a page that builds."""
    before = sorted(p.name for p in (site / "content" / "pages").iterdir())
    code, printed = cli(capsys, site, "new", slug.upper(), "--page")
    if code == 2:
        assert "which the site's own pages use" in printed
        assert sorted(p.name for p in (site / "content" / "pages").iterdir()) == before
        recovers(capsys, site, clean)
    else:
        assert code == 0 and slugify(slug) not in RESERVED_SLUGS - {"get-help"}
        built, printed = cli(capsys, site, "build", "-q")
        assert built == 0, printed


def test_new_refuses_a_slug_an_existing_page_or_article_already_has(site, clean, capsys):
    (site / "content" / "pages" / "contact.md").write_text(
        "---\ntitle: Contact\nslug: talk-to-us\n---\n\nWrite to us.\n", encoding="utf-8"
    )
    (site / "content" / "articles" / "sub").mkdir()
    (site / "content" / "articles" / "sub" / "x.md").write_text(
        article("X", extra="slug: Staying-Safe\n"), encoding="utf-8"
    )
    pages = sorted((site / "content").rglob("*.md"))
    code, printed = cli(capsys, site, "new", "Talk to us", "--page")
    assert code == 2
    assert "error: content/pages/contact.md already has the slug 'talk-to-us'" in printed
    code, printed = cli(capsys, site, "new", "Staying safe", "--tags", "selfcare")
    assert code == 2
    assert "error: content/articles/sub/x.md already has the slug 'staying-safe'" in printed
    code, printed = cli(capsys, site, "new", "Online Safety", "--page")
    assert code == 2 and "content/pages/online-safety.md already exists" in printed
    assert sorted((site / "content").rglob("*.md")) == pages


def test_new_writes_only_inside_a_haven_project(tmp_path, capsys):
    elsewhere = tmp_path / "not-a-site" / "deeper"
    code = main(["new", "Hello", "--tags", "selfcare", "--root", str(elsewhere)])
    printed = capsys.readouterr().err
    assert code == 2
    assert f"error: {elsewhere} is not a Haven project (it has no site.yaml)" in printed
    assert list(tmp_path.iterdir()) == []


def test_new_keeps_long_titles_in_other_scripts_within_a_valid_slug(site, capsys):
    code, printed = cli(capsys, site, "new", "心" * 120, "--tags", "selfcare")
    assert code == 0, printed
    code, printed = cli(capsys, site, "build", "-q")
    assert code == 0 and "error" not in printed, printed


# -- fault 7: every section of site.yaml is read at build time, with its key's own line ---------


@pytest.mark.parametrize(
    "addition, message",
    [
        (
            "linkcheck:\n  external:\n    per_hots: 3\n",
            ":{3}: error: 'linkcheck.external.per_hots': unknown key",
        ),
        ("linkcheck:\n  orphan: warning\n", ":{2}: error: 'linkcheck.orphan': unknown key"),
        (
            "linkcheck:\n  severity:\n    broken-link: loud\n",
            ":{3}: error: 'linkcheck.severity.broken-link': expected one of error, warning, ignore",
        ),
        (
            "review:\n  soon_days: 30\n  intervl_years: 2\n",
            ":{3}: error: 'review.intervl_years': unknown key (did you mean 'interval_years'?)",
        ),
        (
            "readability:\n  smog_max: .inf\n",
            ":{2}: error: 'readability.smog_max': expected a number, got inf",
        ),
    ],
)
def test_every_section_is_checked_at_build_time_with_the_nested_keys_line(
    site, clean, capsys, addition, message
):
    text = (site / "site.yaml").read_text("utf-8")
    (site / "site.yaml").write_text(text + addition, encoding="utf-8")
    printed = refused(capsys, site, code=2)
    first = text.count("\n")
    expected = "site.yaml" + message.format(*range(first, first + 5))
    assert expected in printed
    (site / "site.yaml").write_text(text, encoding="utf-8")
    recovers(capsys, site, clean)


def test_errors_in_lists_name_the_item_and_its_line(site, capsys):
    edit(site, "site.yaml", '    phone: "116 123"', '    phone: "call us"')
    edit(site, "site.yaml", "    label: Communication", "    lable: Communication")
    printed = refused(capsys, site, code=2)
    lines = (site / "site.yaml").read_text("utf-8").split("\n")
    phone = lines.index('    phone: "call us"') + 1
    label = lines.index("    lable: Communication") + 1
    assert f"site.yaml:{phone}: error: 'support[0].phone': 'call us' is not a phone number" in (
        printed
    )
    assert f"site.yaml:{label}: error: 'topics[1].lable': unknown key" in printed


# -- fault 8: the dev server and external links --------------------------------------------------


def _fake_build(root: Path, options, reporter=None) -> BuildResult:
    out = Path(options.output)
    out.mkdir(parents=True, exist_ok=True)
    (out / "index.html").write_text("<!doctype html><html><body>hi</body></html>")
    (out / "big.bin").write_bytes(b"x" * (8 * 1024 * 1024))
    return BuildResult(ok=True, diagnostics=())


def _handler_threads() -> int:
    return sum("process_request" in t.name for t in threading.enumerate())


def _wait_for_handlers(count: int) -> None:
    deadline = time.monotonic() + TIMEOUT
    while _handler_threads() > count and time.monotonic() < deadline:
        time.sleep(0.01)


def test_half_sent_requests_time_out_and_free_their_threads(tmp_path):
    printed: list[str] = []
    dev = DevServer(
        tmp_path,
        port=0,
        build=_fake_build,
        base_path="/",
        echo=lambda line, err=False: printed.append(line),
        request_timeout=0.2,
    )
    with dev:
        held = []
        for _ in range(50):
            sock = socket.create_connection(("127.0.0.1", dev.port), timeout=TIMEOUT)
            sock.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # never the blank line
            held.append(sock)
        for sock in held:
            assert sock.recv(1024) == b""  # the server hung up on it
            sock.close()
        _wait_for_handlers(0)
        assert _handler_threads() == 0
        conn = http.client.HTTPConnection("127.0.0.1", dev.port, timeout=TIMEOUT)
        conn.request("GET", "/")
        assert conn.getresponse().status == 200
        conn.close()
    assert not [line for line in printed if "warning" in line or "Traceback" in line]


def test_a_client_that_goes_away_is_not_a_traceback(tmp_path, capfd):
    printed: list[str] = []
    dev = DevServer(
        tmp_path,
        port=0,
        build=_fake_build,
        base_path="/",
        echo=lambda line, err=False: printed.append(line),
    )
    with dev:
        for _ in range(3):
            sock = socket.create_connection(("127.0.0.1", dev.port), timeout=TIMEOUT)
            sock.sendall(b"GET /big.bin HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            assert sock.recv(1024).startswith(b"HTTP/1.0 200")
            # Close with a reset, mid-response, as a browser does when the reader moves on.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            sock.close()
        _wait_for_handlers(0)
    out, err = capfd.readouterr()
    assert "Traceback" not in out + err and "Error" not in out + err
    assert not [line for line in printed if "warning" in line]


def test_ctrl_c_stops_the_dev_server_with_exit_code_130(site):
    # Python ignores SIGINT in a child started from a shell job; restore the usual handler.
    code = (
        "import signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
        "from haven.cli import main; sys.exit(main(sys.argv[1:]))"
    )
    child = subprocess.Popen(
        [sys.executable, "-c", code, "serve", "--root", str(site), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        for line in child.stdout:
            if line.startswith("Serving "):
                break
        child.send_signal(signal.SIGINT)
        out, err = child.communicate(timeout=TIMEOUT)
    finally:
        child.kill()
    assert child.returncode == 130
    assert "stopped" in out and "Traceback" not in err


class _Handler(BaseHTTPRequestHandler):
    seen: list[str] = []

    def log_message(self, *args):
        pass

    def do_HEAD(self):
        self.do_GET()

    def do_GET(self):
        type(self).seen.append(self.path)
        if self.path == "/hop":
            self.send_response(302)
            self.send_header("Location", f"http://localhost:{self.server.server_port}/inside")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()


@pytest.fixture
def local_server():
    _Handler.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


FAST = ExternalSettings(timeout=2, connect_timeout=2, retries=0, cache_ttl_hours=0)


def test_external_checks_refuse_loopback_by_address_not_by_name(local_server):
    port = local_server.server_port
    urls = {f"http://127.0.0.1:{port}/": (), f"http://localhost:{port}/named": ()}
    results = check_urls(urls, FAST)
    assert {r.kind for r in results.values()} == {PRIVATE}
    named = results[f"http://localhost:{port}/named"].message
    assert named.startswith("not checked: localhost resolves to ")
    assert "loopback" in named and "allow_private: true" in named
    assert _Handler.seen == []  # nothing was fetched
    allowed = check_urls(urls, ExternalSettings(**{**FAST.__dict__, "allow_private": True}))
    assert {r.kind for r in allowed.values()} == {None}
    assert sorted(_Handler.seen) == ["/", "/named"]  # one HEAD each, once allowed


def test_external_checks_refuse_a_redirect_to_a_private_address(local_server, monkeypatch):
    port = local_server.server_port
    real = external._resolve

    def first_hop_allowed(host, port_, allow_private):
        # Stands in for a public host: only the literal 127.0.0.1 is let through.
        return real(host, port_, allow_private or host == "127.0.0.1")

    monkeypatch.setattr(external, "_resolve", first_hop_allowed)
    result = check_urls({f"http://127.0.0.1:{port}/hop": ()}, FAST)[f"http://127.0.0.1:{port}/hop"]
    assert result.kind == PRIVATE and "localhost resolves to" in result.message
    assert "/inside" not in _Handler.seen


def test_check_external_reports_a_private_support_line_without_fetching_it(
    site, capsys, local_server
):
    port = local_server.server_port
    edit(site, "site.yaml", "url: https://help.example.net/", f"url: http://127.0.0.1:{port}/")
    text = (site / "site.yaml").read_text("utf-8")
    exclude = "linkcheck:\n  external:\n    exclude: ['^https:']\n    cache_ttl_hours: 0\n"
    (site / "site.yaml").write_text(text + exclude, encoding="utf-8")  # no network in tests
    code, printed = cli(capsys, site, "build", "-q", "--check", "--external")
    assert "external-private" in printed and f"127.0.0.1:{port}" in printed
    assert "Traceback" not in printed and code == 0
    assert _Handler.seen == []


# -- fault 9: messages in the editor's words -----------------------------------------------------


@pytest.mark.parametrize(
    "text, hint",
    [
        ("title: Fixture: site\n", 'quote values that contain ": "'),
        ("review:\n  soon_days: 3\n   interval_years: 2\n", "check the indentation"),
        ("title: [Fixture\n", "close the list opened here with ']'"),
        ("title: Fixture\n\tpage_size: 3\n", "indent with spaces, not tabs"),
    ],
)
def test_the_quote_hint_is_only_for_a_colon_in_a_value(site, capsys, text, hint):
    edit(site, "site.yaml", "title: Fixture site\n", text)
    printed = refused(capsys, site, code=2)
    assert f"({hint}" in printed
    if "quote values" not in hint:
        assert "quote values" not in printed


@pytest.mark.parametrize(
    "line, hint",
    [
        ('summary: "A: b" c', "check the indentation"),
        ("summary: A short: summary.", 'quote values that contain ": "'),
        ("  summary: indented", "check the indentation"),
        ("summary: [unclosed", "close the list opened here"),
    ],
)
def test_front_matter_quote_hint_only_for_a_colon_in_a_value(site, capsys, line, hint):
    edit(site, "content/articles/first.md", "summary: 'A short summary.'", line)
    printed = refused(capsys, site, code=1)
    assert "content/articles/first.md:4:" in printed and f"({hint}" in printed
    if "quote values" not in hint:
        assert "quote values" not in printed


@pytest.mark.parametrize(
    "value, why",
    [
        ("2026-02-30", "February 2026 has 28 days"),
        ('"2024-02-30"', "February 2024 has 29 days"),
        ('"2026-13-01"', "there is no month 13: months run from 01 to 12"),
        ("0000-01-01", "the year 0000 is outside 1900 to 2999"),
        ('"2026-01-01T24:00:00+00:00"', "there is no hour 24: hours run from 00 to 23"),
        ("2026-01-01 10:00:00 +25", "the offset from UTC must be less than 24 hours"),
    ],
)
def test_impossible_dates_are_explained_in_the_editors_words(site, capsys, value, why):
    edit(site, "content/articles/first.md", "date: 2026-01-10", f"date: {value}")
    printed = refused(capsys, site, code=1)
    shown = value.strip('"')
    assert f"content/articles/first.md:3:7: error: 'date': {shown} is not a valid date ({why}" in (
        printed
    )


@pytest.mark.parametrize(
    "value",
    [
        "2026-01-05T10:00:00+0530",
        '"2026-01-05T10:00:00+05:30"',
        "2026-01-05 10:00:00 -5",
        '"2026-01-05T23:59:59.5Z"',
        "1900-01-01",
        "2999-12-31T23:59:59-23:59",
    ],
)
def test_real_dates_in_every_accepted_form_still_build(site, capsys, value):
    edit(site, "content/articles/first.md", "date: 2026-01-10", f"date: {value}")
    code, printed = cli(capsys, site, "build", "-q", "--future")
    assert code == 0, printed


# -- property-based: generated front matter and site.yaml ----------------------------------------

TRICKY = [
    "#selfcare",
    "a: b",
    "[",
    "{",
    "]",
    "!!python/object/apply:os.system ['true']",
    "&anchor x",
    "*anchor",
    "---",
    "...",
    "yes",
    "~",
    "0b_",
    "1e9999",
    "-.inf",
    ".nan",
    "0001-01-01",
    "9999-12-31",
    "9999-12-31T23:59:59-23:59",
    "0001-01-01T00:00:00+23:59",
    "2026-02-30",
    "2026-01-01T25:00:00",
    '"',
    "'",
    "\\",
    "%YAML 1.1",
    "@at",
    "`tick",
    "|",
    ">",
    "<script>alert(1)</script>",
    "{{ site.title }}",
    "../../etc/passwd",
    "\u202e",
    "",
]
_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)
_moments = st.one_of(
    st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31)).map(date.isoformat),
    st.builds(
        lambda d, minutes: datetime(
            d.year, d.month, d.day, 23, 59, tzinfo=timezone(minutes)
        ).isoformat(),
        st.dates(min_value=date(1, 1, 2), max_value=date(9999, 12, 30)),
        st.integers(-1439, 1439).map(lambda m: timedelta(minutes=m)),
    ),
)
_scalars = st.one_of(
    st.sampled_from(TRICKY),
    _text,
    _moments,
    st.integers(-(10**30), 10**30).map(str),
    st.floats().map(repr),
    st.sampled_from(["true", "false", "null"]),
)


def _flow(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """YAML flow lists and mappings of `inner`, written out as text."""
    return st.one_of(
        st.lists(inner, max_size=3).map(lambda xs: "[" + ", ".join(xs) + "]"),
        st.dictionaries(st.sampled_from(["a", "key", "label"]), inner, max_size=2).map(
            lambda d: "{" + ", ".join(f"{k}: {v}" for k, v in d.items()) + "}"
        ),
    )


_values = st.recursive(_scalars, _flow, max_leaves=4)
_quoted = st.one_of(_values, _scalars.map(lambda s: yaml.safe_dump(s).removesuffix("\n...\n")))
_FIELDS = ["title", "date", "summary", "tags", "updated", "slug", "draft", "author", "image",
           "image_alt", "content_notes", "reviewed_by", "last_reviewed", "next_review", "menu",
           "layout", "tagz"]  # fmt: skip
_BASE_FM = {
    "title": '"Fuzzed"',
    "date": "2026-01-05",
    "summary": '"A summary."',
    "tags": '["selfcare"]',
}
# Values an editor could mean, at the edges of what is allowed: these get past validation, so
# dates, text and slugs reach the feeds, the sitemap, JSON-LD and the templates.
_in_range = st.dates(min_value=date(1900, 1, 1), max_value=date(2999, 12, 31))
_offset = st.integers(-1439, 1439).map(lambda m: timezone(timedelta(minutes=m)))
_json = st.text(max_size=40).map(lambda t: json.dumps(t, ensure_ascii=False))
# Where conversions to another time zone, review intervals and date formats could overflow.
EDGE_DATES = [
    "0001-01-01",
    "0001-01-01T00:00:00+23:59",
    "1899-12-31T23:59:59-23:59",
    "1900-01-01T00:00:00+23:59",
    "2999-12-31T23:59:59-23:59",
    "2999-12-31",
    "3000-01-01",
    "9997-06-01",
    "9999-12-31",
    "9999-12-31T23:59:59-23:59",
]
_dates = st.one_of(
    st.sampled_from(EDGE_DATES),
    st.sampled_from(EDGE_DATES),  # twice: the edges weigh double
    _in_range.map(date.isoformat),
    st.builds(
        lambda d, tz: datetime(d.year, d.month, d.day, tzinfo=tz).isoformat(), _in_range, _offset
    ),
)
_PLAUSIBLE = {
    "date": _dates,
    "updated": _dates,
    "last_reviewed": _dates,
    "next_review": _dates,
    "title": _json,
    "summary": _json,
    "author": _json,
    "reviewed_by": _json,
    "slug": st.text(st.characters(whitelist_categories=("Ll", "Lo", "Nd")), min_size=1, max_size=20),
    "tags": st.lists(_json, min_size=1, max_size=3).map(lambda xs: "[" + ", ".join(xs) + "]"),
    "draft": st.sampled_from(["true", "false"]),
}  # fmt: skip


@st.composite
def _front_matter(draw) -> str:
    if draw(st.integers(0, 4)) == 0:  # anything at all between the fences
        lines = draw(st.lists(st.one_of(_text, st.sampled_from(TRICKY)), max_size=5))
        return "---\n" + "\n".join(lines) + "\n---\n\nBody.\n"
    fields = dict(_BASE_FM)
    dates = st.sampled_from(["date", "updated", "last_reviewed", "next_review"])
    for key in draw(st.lists(st.one_of(dates, st.sampled_from(_FIELDS)), max_size=4)):
        plausible = _PLAUSIBLE.get(key)
        if plausible is not None and draw(st.integers(0, 2)):
            fields[key] = draw(plausible)
        else:
            fields[key] = draw(_quoted).strip()
    return "---\n" + "".join(f"{k}: {v}\n" for k, v in fields.items()) + "---\n\nBody text.\n"


FUZZ = settings(
    max_examples=int(os.environ.get("HAVEN_FUZZ_EXAMPLES", 80)),  # more for a long hunt
    deadline=None,
    database=None,  # nothing written into the worktree
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _build_or_haven_error(root: Path) -> tuple[BuildResult | None, HavenError | None]:
    """Build; any exception that is not Haven's own error fails the test by propagating."""
    try:
        result = build_site(root)
    except HavenError as exc:
        event(f"refused: {type(exc).__name__}")  # --hypothesis-show-statistics shows the mix
        return None, exc
    event("built")
    return result, None


def _every_error_names_a_file(root: Path, exc: HavenError) -> None:
    assert exc.diagnostics, f"an error without diagnostics: {exc}"
    for d in exc.diagnostics:
        assert d.path and (root / d.path).exists(), d.format()


@FUZZ
@given(text=_front_matter())
def test_fuzzed_front_matter_gives_haven_errors_and_changes_nothing(site, text):
    path = site / "content" / "articles" / "fuzz.md"
    path.write_text(text, encoding="utf-8")
    before = snapshot(site / "_site")
    result, exc = _build_or_haven_error(site)
    if exc is not None:
        _every_error_names_a_file(site, exc)
        assert snapshot(site / "_site") == before
    else:
        assert result.ok
    path.unlink()


_SITE_PATHS = [
    ("title",),
    ("base_url",),
    ("description",),
    ("language",),
    ("timezone",),
    ("output_dir",),
    ("page_size",),
    ("home_articles",),
    ("max_file_size",),
    ("broken_md_links",),
    ("author",),
    ("default_region",),
    ("topics",),
    ("topics", 0, "key"),
    ("topics", 1, "aliases"),
    ("content_notes", 0, "support_first"),
    ("exit_this_page", "url"),
    ("exit_this_page", "history"),
    ("support", 0, "phone"),
    ("support", 0, "last_verified"),
    ("support", 0, "region"),
    ("emergency",),
    ("regions",),
    ("review",),
    ("review", "interval_years"),
    ("review", "soon_days"),
    ("review", "support_max_age_days"),
    ("readability", "smog_max"),
    ("linkcheck",),
    ("linkcheck", "external", "timeout"),
    ("linkcheck", "severity", "orphan"),
    ("keep_files",),
    ("unknown_key",),
]
_OUTPUTS = ["_site", "public", ".", "..", "content", "static/x", "templates", "_site/../content"]
_plain = st.one_of(
    st.sampled_from(TRICKY),
    _text,
    _moments,
    st.integers(-(10**20), 10**20),
    st.floats(),
    st.booleans(),
    st.none(),
    st.sampled_from(["UTC", "Pacific/Kiritimati", "Etc/GMT+12", "Mars/Base", "en-GB", "http://x"]),
)


def _nested(inner: st.SearchStrategy) -> st.SearchStrategy:
    """Lists and mappings of `inner`, as site.yaml sections hold."""
    keys = st.sampled_from(["key", "label", "GB", "external", "x"])
    return st.one_of(st.lists(inner, max_size=3), st.dictionaries(keys, inner, max_size=3))


_data = st.recursive(_plain, _nested, max_leaves=5)


def _set(data, path, value) -> None:
    for part in path[:-1]:
        if isinstance(data, dict):
            data = data.setdefault(part, {})
        elif isinstance(data, list) and isinstance(part, int) and part < len(data):
            data = data[part]
        else:
            return
    last = path[-1]
    if isinstance(data, dict) or (
        isinstance(data, list) and isinstance(last, int) and last < len(data)
    ):
        data[last] = value


_SITE_PLAUSIBLE = {
    ("title",): st.text(min_size=1, max_size=30).filter(str.strip),
    ("description",): st.text(max_size=60),
    ("author",): st.text(max_size=30),
    ("base_url",): st.sampled_from(
        ["https://example.org/sub/path/", "http://localhost:8000/", "https://例え.jp/ハ/"]
    ),
    ("language",): st.sampled_from(["en", "cy", "zh-Hant-TW", "x-private", "en-GB-oxendict"]),
    ("timezone",): st.sampled_from(
        ["UTC", "Pacific/Kiritimati", "Etc/GMT+12", "Asia/Kathmandu", "America/St_Johns"]
    ),
    ("output_dir",): st.sampled_from(_OUTPUTS),
    ("page_size",): st.integers(1, 10**12),
    ("home_articles",): st.integers(1, 10**12),
    ("support", 0, "last_verified"): st.one_of(st.sampled_from(EDGE_DATES), _in_range),
    # Around the bounds, and past what a date can hold (last_reviewed + 9,000 years).
    ("review", "interval_years"): st.sampled_from([1, 100, 101, 7974, 10**9]),
    ("review", "soon_days"): st.sampled_from([0, 36500, 36501, 10**7]),
    ("review", "support_max_age_days"): st.sampled_from([1, 36500, 10**7]),
    ("readability", "smog_max"): st.floats(-1e300, 1e300),
    ("exit_this_page", "history"): st.sampled_from(["replace", "assign"]),
}


@st.composite
def _site_yaml(draw) -> str:
    data = yaml.safe_load(SITE_YAML)
    # Half the time a key with edge values of its own, so that more builds get past site.yaml.
    paths = st.one_of(st.sampled_from(_SITE_PATHS), st.sampled_from(list(_SITE_PLAUSIBLE)))
    for path in draw(st.lists(paths, min_size=1, max_size=3)):
        plausible = _SITE_PLAUSIBLE.get(path)
        if path == ("output_dir",) or (plausible is not None and draw(st.integers(0, 3))):
            value = draw(plausible)
        else:
            value = draw(_data)
        _set(data, path, value)
    data["search"] = False  # Pagefind is another suite's subject, and slow
    text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
    if draw(st.integers(0, 3)) == 0:  # and a typing slip somewhere in the file
        lines = text.split("\n")
        at = draw(st.integers(0, len(lines) - 1))
        lines.insert(at, draw(st.one_of(st.sampled_from(TRICKY), _text)))
        text = "\n".join(lines)
    return text


@FUZZ
@given(text=_site_yaml())
def test_fuzzed_site_yaml_gives_haven_errors_and_changes_nothing(site, text):
    original = (site / "site.yaml").read_text(encoding="utf-8")
    (site / "site.yaml").write_text(text, encoding="utf-8")
    others = {p for p in site.iterdir() if p.name not in ("_site", ".cache")}
    before = snapshot(site / "_site")
    try:
        result, exc = _build_or_haven_error(site)
        if exc is not None:
            _every_error_names_a_file(site, exc)
            assert snapshot(site / "_site") == before
            assert {p for p in site.iterdir() if p.name not in ("_site", ".cache")} == others
        else:
            assert result.ok
    finally:
        (site / "site.yaml").write_text(original, encoding="utf-8")
        for extra in {p for p in site.iterdir() if p.name not in ("_site", ".cache")} - others:
            shutil.rmtree(extra) if extra.is_dir() else extra.unlink()
