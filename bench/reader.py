"""What a reader pays for a search on the built site: requests, bytes and time to the first result.

Debian's Chromium (Playwright) opens `/search/` on a local server, types a query into the page's
own box, and waits for the first result; then a second query. The server throttles every
response (a round trip of latency, then the bytes at the link's speed, shared by all connections),
so requests made inside Pagefind's web worker are slowed and counted like the page's own; a
browser-side throttle (CDP) would not see them. Each run uses a fresh browser context: nothing
cached. `python bench/reader.py SITE_DIR [--runs 3]` prints the medians.
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
# (round trip in seconds, bytes per second): Lighthouse's "slow 4G" (150 ms, 1.6 Mbit/s).
PROFILES = {"unthrottled": None, "slow 4G": (0.150, 1.6e6 / 8)}
QUERIES = ("boundaries", "gentle")  # words of the benchmark's corpus (bench/corpus.py)
RESULT = "#search .search-result__title a"
STATUS = "#search .search-status"
CHUNK = 16 * 1024


class _Link:
    """One shared link: each chunk of every response waits for its turn at the link's speed."""

    def __init__(self, profile) -> None:
        self.profile = profile
        self.free = 0.0
        self.lock = threading.Lock()
        self.log: list[tuple[str, int]] = []  # (path, bytes sent), in order

    def send(self, wfile, data: bytes) -> None:
        rate = self.profile[1]
        for i in range(0, len(data), CHUNK):
            part = data[i : i + CHUNK]
            with self.lock:
                start = max(time.monotonic(), self.free)
                self.free = start + len(part) / rate
                done = self.free
            delay = done - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            try:
                wfile.write(part)
            except (BrokenPipeError, ConnectionResetError):
                return  # the browser went away (the run is over)


def _handler(site: Path, link: _Link):
    class Handler(SimpleHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as a real host

        def log_message(self, *args):
            pass

        def copyfile(self, source, outputfile):
            data = source.read()
            link.log.append((self.path, len(data)))
            if link.profile is None:
                outputfile.write(data)
            else:
                link.send(outputfile, data)

        def send_head(self):
            if link.profile is not None:
                time.sleep(link.profile[0])  # the request's round trip
            return super().send_head()

    return partial(Handler, directory=str(site))


def measure(site: Path, runs: int = 3) -> dict[str, dict[str, float]]:
    """Per profile: median requests, KB and seconds of the first query and of the next one."""
    from playwright.sync_api import sync_playwright

    results: dict[str, dict[str, float]] = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-background-networking"]
        )
        try:
            for name, profile in PROFILES.items():
                link = _Link(profile)
                server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(site, link))
                server.daemon_threads = True
                threading.Thread(target=server.serve_forever, daemon=True).start()
                origin = f"http://127.0.0.1:{server.server_address[1]}"
                rows = []
                try:
                    for _ in range(runs):
                        rows.append(_one(browser, origin, link))
                finally:
                    server.shutdown()
                    server.server_close()
                results[name] = {k: statistics.median(r[k] for r in rows) for k in rows[0]}
        finally:
            browser.close()
    return results


def _one(browser, origin: str, link: _Link) -> dict[str, float]:
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(120_000)
    try:
        started = time.perf_counter()
        page.goto(origin + "/search/", wait_until="networkidle")
        row: dict[str, float] = {
            "page seconds": time.perf_counter() - started,
            "page requests": len(link.log),
            "page KB": sum(size for _path, size in link.log) / 1024,
        }
        box = page.get_by_role("searchbox", name="Search this site")
        for n, query in enumerate(QUERIES):
            box.fill(query)
            before = len(link.log)
            started = time.perf_counter()
            box.press("Enter")
            page.locator(STATUS).filter(has_text=f"\u201c{query}\u201d").wait_for()
            page.locator(RESULT).first.wait_for()
            row[f"q{n + 1} seconds"] = time.perf_counter() - started
            page.wait_for_load_state("networkidle")
            sent = link.log[before:]
            row[f"q{n + 1} requests"] = len(sent)
            row[f"q{n + 1} KB"] = sum(size for _path, size in sent) / 1024
        return row
    finally:
        context.close()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("site", type=Path)
    p.add_argument("--runs", type=int, default=3)
    args = p.parse_args(argv)
    for name, row in measure(args.site, args.runs).items():
        print(name, {k: round(v, 3) for k, v in row.items()})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
