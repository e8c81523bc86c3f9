"""Browser tests: build the project's own site into tmp, serve it on 127.0.0.1, drive Chromium.

Playwright drives Debian's Chromium at /usr/bin/chromium (CI installs it with apt-get), or the
browser that HAVEN_CHROMIUM names (a hosted runner's own Chrome); a browser downloaded by
Playwright is never used. Without it every browser test is skipped, except under
CI=true, where a missing browser fails the run. Every request that is not to 127.0.0.1 is blocked
and recorded; the quick-exit destination is answered with a stub page instead.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from haven.config import load_config
from haven.model import BuildOptions
from haven.pipeline import build_site

CHROMIUM = Path(os.environ.get("HAVEN_CHROMIUM") or "/usr/bin/chromium")
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
REPO = Path(__file__).resolve().parents[2]
SITE_FILES = ("site.yaml", "content", "templates", "static")
ARTIFACTS = REPO / "tests" / "artifacts"
TIMEOUT_MS = 10_000  # every wait is bounded: a broken page fails in seconds, not minutes
EXIT_STUB = (
    "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Weather</title></head>"
    "<body><h1>Weather stub</h1></body></html>"
)

# Pages every browser test module can name; the article has a content note and a table of contents.
ARTICLE = "/articles/sexual-trust-after-trauma/"
ARTICLE_TITLE = "Sexual trust and intimacy after trauma"
TOPIC = "/tags/sexualtrust/"


@dataclass(frozen=True)
class Site:
    """A built copy of the project's site, served over HTTP on 127.0.0.1."""

    out: Path  # the output folder
    origin: str  # 'http://127.0.0.1:PORT'
    prefix: str  # '/' or '/haven/': the path the site is served under
    exit_url: str  # exit_this_page.url from site.yaml
    exit_history: str  # 'replace' | 'assign'

    def url(self, path: str = "/") -> str:
        """Absolute URL of a site-relative path such as '/about/'."""
        return self.origin + self.prefix.rstrip("/") + path

    def page_paths(self) -> list[str]:
        """Site-relative URLs of every HTML page written (index.html files and 404.html)."""
        paths = []
        for f in sorted(self.out.rglob("*.html")):
            rel = f.relative_to(self.out).as_posix()
            if rel.startswith("pagefind/"):
                continue
            paths.append("/" + rel.removesuffix("index.html"))
        return paths


@dataclass
class Net:
    """What a browser context asked the network for, beyond 127.0.0.1."""

    exit_url: str
    blocked: list[str] = field(default_factory=list)  # off-site requests, aborted
    exits: list[str] = field(default_factory=list)  # requests to the exit URL, stubbed

    def handle(self, route) -> None:
        url = route.request.url
        if urlsplit(url).hostname == "127.0.0.1":
            route.continue_()
        elif url.split("#")[0] == self.exit_url:
            self.exits.append(url)
            route.fulfill(status=200, content_type="text/html; charset=utf-8", body=EXIT_STUB)
        else:
            self.blocked.append(url)
            route.abort()


def _handler(directory: Path, prefix: str):
    """A static file handler for `directory` mounted at `prefix`, with 404.html for misses."""

    class Handler(SimpleHTTPRequestHandler):
        def translate_path(self, path: str) -> str:
            bare = urlsplit(path).path
            if not bare.startswith(prefix):
                return str(directory / "__outside_the_prefix__")
            return super().translate_path("/" + path[len(prefix) :])

        def send_error(self, code, message=None, explain=None):
            page = directory / "404.html"
            if code != 404 or not page.is_file():
                return super().send_error(code, message, explain)
            body = page.read_bytes()
            self.send_response(404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def log_message(self, format, *args):
            pass  # keep test output quiet

    return partial(Handler, directory=str(directory))


def build_variant(
    work: Path, *, base_url: str | None = None, exit_history: str | None = None
) -> Path:
    """Copy the project's site into `work`, change site.yaml as asked, build it, return `_site`."""
    work.mkdir(parents=True)
    for name in SITE_FILES:
        src = REPO / name
        if src.is_dir():
            shutil.copytree(src, work / name)
        else:
            shutil.copy2(src, work / name)
    config = work / "site.yaml"
    text = config.read_text(encoding="utf-8")
    # Edit the lines rather than round-trip YAML, so the file stays the editor's file.
    if base_url is not None:
        text = _replace_line(text, "base_url: ", f"base_url: {base_url}")
    if exit_history is not None:
        text = _replace_line(text, "  history: ", f"  history: {exit_history}")
    config.write_text(text, encoding="utf-8")
    out = work / "_site"
    result = build_site(work, BuildOptions(output=str(out)))
    assert result.ok, [d.format() for d in result.diagnostics]
    return out


def _replace_line(text: str, start: str, new: str) -> str:
    lines = text.splitlines(keepends=True)
    hits = [i for i, line in enumerate(lines) if line.startswith(start)]
    assert len(hits) == 1, f"site.yaml: expected one line starting {start!r}, found {len(hits)}"
    lines[hits[0]] = new + "\n"
    return "".join(lines)


def _serve(tmp_path_factory, name: str, prefix: str = "/", **changes) -> Iterator[Site]:
    work = tmp_path_factory.mktemp("browser") / name
    out = build_variant(work, **changes)
    config = load_config(work)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(out, prefix))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name=f"http-{name}", daemon=True)
    thread.start()
    try:
        yield Site(
            out=out,
            origin=f"http://127.0.0.1:{server.server_address[1]}",
            prefix=prefix,
            exit_url=config.exit_this_page.url,
            exit_history=config.exit_this_page.history,
        )
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture(scope="session")
def site(tmp_path_factory) -> Iterator[Site]:
    """The project's site as configured (base_url unchanged), served at the root."""
    yield from _serve(tmp_path_factory, "root")


@pytest.fixture(scope="session")
def sub_site(tmp_path_factory) -> Iterator[Site]:
    """The same site built for https://example.org/haven/ and served under /haven/."""
    yield from _serve(
        tmp_path_factory, "haven", prefix="/haven/", base_url="https://example.org/haven/"
    )


@pytest.fixture(scope="session")
def assign_site(tmp_path_factory) -> Iterator[Site]:
    """The site with `exit_this_page.history: assign`, so Back returns to the exited page."""
    yield from _serve(tmp_path_factory, "assign", exit_history="assign")


@pytest.fixture(scope="session")
def browser():
    """One Debian Chromium for the whole session."""
    if not CHROMIUM.exists():
        reason = f"no browser at {CHROMIUM}: apt-get install chromium, or set HAVEN_CHROMIUM"
        if os.environ.get("CI") == "true":
            pytest.fail(reason + " (CI=true: browser tests must run)", pytrace=False)
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        # Playwright turns the back/forward cache off by default; keep it on, as in a reader's
        # browser, so Back after a quick exit restores the page the way it really does.
        chromium = p.chromium.launch(
            executable_path=str(CHROMIUM),
            args=LAUNCH_ARGS,
            ignore_default_args=["--disable-back-forward-cache"],
        )
        yield chromium
        chromium.close()


def open_context(browser, site: Site, **options):
    """A new browser context whose off-site requests are blocked and recorded in a `Net`."""
    context = browser.new_context(**options)
    context.set_default_timeout(TIMEOUT_MS)
    context.set_default_navigation_timeout(TIMEOUT_MS)
    net = Net(site.exit_url)
    context.route("**/*", net.handle)
    return context, net


@pytest.fixture
def net_context(browser, site):
    """(context, net) for one test, at a 1280 x 800 desktop size."""
    context, net = open_context(browser, site, viewport={"width": 1280, "height": 800})
    yield context, net
    context.close()


@pytest.fixture
def page(net_context):
    """A fresh page in a fresh context; asserts afterwards that nothing went off-site."""
    context, net = net_context
    yield context.new_page()
    assert net.blocked == [], f"third-party requests: {net.blocked}"


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """tests/artifacts/ (git-ignored): screenshots for a person to look at."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


def same_origin(url: str, site: Site) -> bool:
    """Whether `url` is on the test server (any path, not only under the site's prefix)."""
    return url.startswith(site.origin + "/")
