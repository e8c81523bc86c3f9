"""Haven's benchmark (issue 7): `python bench/run.py --articles 1000 4000 [--runs 5]`.

For each corpus size: cold build, no-op rebuild, one-edit rebuild (its output compared byte for
byte with a clean build), dev-server save-to-reload, `check`, and peak memory. Builds run as
`python build.py ...` in subprocesses, so every figure includes interpreter start-up as an editor
sees it. Each figure is the median of `--runs` runs, with min and max.
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

from corpus import article_paths, make_corpus  # noqa: E402

HAVEN = Path(__file__).resolve().parent.parent
BUILD_PY = HAVEN / "build.py"
OUTPUT = "_site"
CLEAN_OUTPUT = "_clean"  # the reference clean build the one-edit output is compared with
MEASURES = ("cold", "noop", "edit", "serve", "check", "memory")
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
# Issue 7's targets: (measure, size, limit in seconds or MiB, wording).
TARGETS = (
    ("cold", 1000, 2.3, "cold build at 1,000 no slower than Eleventy (2.3 s)"),
    ("cold", 4000, 35.4 / 5, "cold build at 4,000 at least 5x faster than MkDocs/Pelican"),
    ("noop", 4000, 3.8 / 4, "no-op rebuild at 4,000 at most a quarter of Hugo's cold build"),
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


def run(cmd: list[str], *, sample_memory: bool = False) -> Run:
    """Run `cmd`; wall time, and peak memory from wait4 (and /proc sampling when asked).

    PSS (proportional set size) shares copy-on-write pages between the build and its forked
    workers, so the tree's sum is what the machine really spends, not a double count.
    """
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, stdin=subprocess.DEVNULL)
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
        seconds.values.append(r.seconds)
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
        fig.values.append(r.seconds)
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
        fig.values.append(r.seconds)
        fig.note = _summary_line(r)
        clean = root / CLEAN_OUTPUT
        shutil.rmtree(clean, ignore_errors=True)
        must(haven("build", "--root", str(root), "--clean", "--output", str(clean)), "clean build")
        differ, search = compare_trees(root / OUTPUT, clean)
        search_diffs = max(search_diffs, len(search))
        if differ:
            mismatches.append(
                f"{len(paths)} articles, edit {n + 1} ({article.name}): the incremental output "
                f"differs from a clean build in {len(differ)} file(s): {', '.join(differ[:10])}"
            )
            print(f"\n!!! MISMATCH: {mismatches[-1]}\n", file=sys.stderr, flush=True)
    fig.note += (
        "; output equal to a clean build"
        + (f" (except {search_diffs} Pagefind index file(s))" if search_diffs else "")
        if not any(f"{len(paths)} articles" in m for m in mismatches)
        else "; OUTPUT DIFFERS FROM A CLEAN BUILD"
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
        for n in range(runs):
            article = paths[(n * 104729 + 1) % len(paths)]
            time.sleep(0.5)  # let the watcher settle after the previous round
            started = time.perf_counter()
            append_sentence(article, 1000 + n)
            while next_event() != "reload":
                pass
            fig.values.append(time.perf_counter() - started)
            if dev.errors:
                raise SystemExit(f"dev server build failed: {dev.errors[0].format()}")
        conn.close()
    finally:
        dev.stop()
    fig.note = f"last rebuild {dev.last_build_seconds * 1000:.0f} ms inside the server"
    return fig


def measure_check(root: Path, runs: int) -> Figure:
    must(haven("build", "--root", str(root)), "build before check")
    fig = Figure()
    for _ in range(runs):
        r = haven("check", "--root", str(root))
        if r.returncode not in (0, 1):  # 1: findings, which is still a finished check
            must(r, "check")
        fig.values.append(r.seconds)
        tail = (r.stdout.strip().splitlines() or [""])[-1]
        fig.note = f"exit {r.returncode}: {tail[:90]}"
    return fig


# -- other generators ----------------------------------------------------------------------------


def _split(text: str) -> tuple[dict, str]:
    import yaml

    _, front, body = text.split("---\n", 2)
    return yaml.safe_load(front), body


def _articles(root: Path):
    for path in article_paths(root):
        meta, body = _split(path.read_text(encoding="utf-8"))
        yield path.stem, meta, body


def _yaml_front(meta: dict) -> str:
    import yaml

    data = {k: (str(v) if k == "date" else v) for k, v in meta.items()}
    return "---\n" + yaml.safe_dump(data, sort_keys=False, allow_unicode=True) + "---\n"


def _hugo(root: Path, dest: Path) -> list[str]:
    (dest / "content" / "articles").mkdir(parents=True)
    (dest / "hugo.toml").write_text('baseURL = "https://example.org/"\ntitle = "Bench"\n')
    layouts = dest / "layouts" / "_default"
    layouts.mkdir(parents=True)
    (layouts / "single.html").write_text("<!doctype html><title>{{ .Title }}</title>{{ .Content }}")
    (layouts / "list.html").write_text(
        "<!doctype html><title>{{ .Title }}</title>"
        '{{ range .Pages }}<a href="{{ .RelPermalink }}">{{ .Title }}</a>{{ end }}'
    )
    for slug, meta, body in _articles(root):
        (dest / "content" / "articles" / f"{slug}.md").write_text(_yaml_front(meta) + body)
    return ["hugo", "--quiet", "--source", str(dest), "--destination", str(dest / "public")]


def _eleventy(root: Path, dest: Path, command: list[str]) -> list[str]:
    (dest / "src" / "articles").mkdir(parents=True)
    for slug, meta, body in _articles(root):
        meta = dict(meta, tags=[t.lstrip("#") for t in meta["tags"]])
        (dest / "src" / "articles" / f"{slug}.md").write_text(_yaml_front(meta) + body)
    return [*command, f"--input={dest / 'src'}", f"--output={dest / '_site'}", "--quiet"]


def _jekyll(root: Path, dest: Path) -> list[str]:
    (dest / "_posts").mkdir(parents=True)
    (dest / "_config.yml").write_text("title: Bench\nmarkdown: kramdown\n")
    for slug, meta, body in _articles(root):
        (dest / "_posts" / f"{meta['date']}-{slug}.md").write_text(_yaml_front(meta) + body)
    return [
        "jekyll",
        "build",
        "--quiet",
        "--source",
        str(dest),
        "--destination",
        str(dest / "_site"),
    ]


def _mkdocs(root: Path, dest: Path) -> list[str]:
    (dest / "docs" / "articles").mkdir(parents=True)
    (dest / "docs" / "index.md").write_text("# Bench\n")
    (dest / "mkdocs.yml").write_text(
        "site_name: Bench\nmarkdown_extensions: [tables, footnotes, fenced_code, toc]\n"
    )
    for slug, meta, body in _articles(root):
        (dest / "docs" / "articles" / f"{slug}.md").write_text(f"# {meta['title']}\n\n{body}")
    return [
        "mkdocs",
        "build",
        "--quiet",
        "--config-file",
        str(dest / "mkdocs.yml"),
        "--site-dir",
        str(dest / "site"),
    ]


def _pelican(root: Path, dest: Path) -> list[str]:
    (dest / "content").mkdir(parents=True)
    (dest / "pelicanconf.py").write_text(
        "SITENAME = 'Bench'\nSITEURL = ''\nTIMEZONE = 'UTC'\nDEFAULT_LANG = 'en'\n"
    )
    for slug, meta, body in _articles(root):
        tags = ", ".join(t.lstrip("#") for t in meta["tags"])
        head = (
            f"Title: {meta['title']}\nDate: {meta['date']}\nTags: {tags}\n"
            f"Slug: {slug}\nSummary: {meta['summary']}\n\n"
        )
        (dest / "content" / f"{slug}.md").write_text(head + body)
    return [
        "pelican",
        str(dest / "content"),
        "--output",
        str(dest / "output"),
        "--settings",
        str(dest / "pelicanconf.py"),
        "--quiet",
    ]


def find_generators() -> dict[str, object]:
    """The other generators on PATH (none is ever installed by this script)."""
    found: dict[str, object] = {}
    if shutil.which("hugo"):
        found["Hugo"] = _hugo
    if shutil.which("eleventy"):
        found["Eleventy"] = lambda root, dest: _eleventy(root, dest, ["eleventy"])
    elif shutil.which("npx"):
        # --no-install and offline: only an Eleventy already installed counts, nothing is fetched.
        env = dict(os.environ, npm_config_offline="true")
        try:
            probe = subprocess.run(
                ["npx", "--no-install", "@11ty/eleventy", "--version"],
                capture_output=True,
                timeout=30,
                env=env,
                stdin=subprocess.DEVNULL,
            )
            if probe.returncode == 0:
                command = ["npx", "--no-install", "@11ty/eleventy"]
                found["Eleventy"] = lambda root, dest: _eleventy(root, dest, command)
        except (OSError, subprocess.TimeoutExpired):
            pass
    if shutil.which("jekyll"):
        found["Jekyll"] = _jekyll
    if shutil.which("mkdocs"):
        found["MkDocs"] = _mkdocs
    if shutil.which("pelican"):
        found["Pelican"] = _pelican
    return found


def measure_other(name: str, adapter, root: Path, work: Path, runs: int) -> Figure:
    """Cold builds of `name` on the same articles, fresh output each time."""
    dest = work / f"{name.lower()}-{len(article_paths(root))}"
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True)
    cmd = adapter(root, dest)
    fig = Figure()
    for _ in range(runs):
        for out in ("public", "_site", "site", "output"):
            shutil.rmtree(dest / out, ignore_errors=True)
        r = run(cmd)
        if r.returncode != 0:
            fig.note = f"failed (exit {r.returncode}): {r.stderr.strip()[-200:]}"
            return fig
        fig.values.append(r.seconds)
    return fig


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
        "--only", nargs="+", choices=MEASURES, default=list(MEASURES), help="measures to take"
    )
    p.add_argument("--workdir", help="where the corpora go (default: a folder in /tmp, removed)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--profile", type=int, metavar="N", help="only profile a cold build of N")
    args = p.parse_args(argv)

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
    others = find_generators()
    for n in args.articles:
        root = corpus(work, n, args.seed, args.skip_search)
        res = measure_all(root, args.runs, args.only, mismatches)
        if "cold" in args.only:
            for tool, adapter in others.items():
                print(f"  {n}: {tool} ...", flush=True)
                res[tool] = measure_other(tool, adapter, root, work, args.runs)
        results[n] = res
        print(table({n: res}, args.runs), flush=True)

    print()
    print(table(results, args.runs))
    print()
    print(comparison(results, others))
    print()
    print(targets(results))
    if mismatches:
        print("\n!!! ONE-EDIT REBUILD OUTPUT DIFFERS FROM A CLEAN BUILD:", file=sys.stderr)
        for m in mismatches:
            print(f"!!!   {m}", file=sys.stderr)
        return 1
    return 0


def measure_all(root: Path, runs: int, only: list[str], mismatches: list[str]) -> dict:
    """Every measure asked for, in a fixed order (each leaves the output the next one needs)."""
    n = len(article_paths(root))
    res: dict[str, Figure] = {}
    for name in MEASURES:
        if name not in only:
            continue
        # Other work on the machine shows up in the figures: say how busy it was.
        print(f"  {n}: {name} ... (load average {os.getloadavg()[0]:.1f})", flush=True)
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
    return res


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
        "| articles | measure | median | min | max | per article | runs | notes |",
        "|---:|---|---:|---:|---:|---:|---:|---|",
    ]
    for n, res in results.items():
        for key, (label, unit) in LABELS.items():
            fig = res.get(key)
            if fig is None or not fig.values:
                continue
            per = f"{fig.median / n * 1000:.2f} ms" if unit == "s" else ""
            rows.append(
                f"| {n:,} | {label} | {_fmt(fig.median, unit)} | {_fmt(min(fig.values), unit)} "
                f"| {_fmt(max(fig.values), unit)} | {per} | {len(fig.values)} | {fig.note} |"
            )
    return "\n".join(rows)


def comparison(results: dict[int, dict[str, Figure]], others: dict[str, object]) -> str:
    lines = []
    missing = [t for t in REFERENCE_SECONDS if t not in others]
    if missing:
        lines.append(
            f"Not found on PATH (not installed here): {', '.join(missing)}. Ratios against them use "
            "the REFERENCE FIGURES of issue 7, measured elsewhere on a 2-core machine, not here."
        )
    lines.append("")
    lines.append("| articles | generator | its cold build | Haven's cold build | Haven is |")
    lines.append("|---:|---|---:|---:|---|")
    for n, res in results.items():
        cold = res.get("cold")
        if cold is None or not cold.values:
            continue
        for tool, refs in REFERENCE_SECONDS.items():
            measured = res.get(tool)
            if measured is not None and measured.values:
                theirs, how = measured.median, "measured here"
            elif n in refs:
                theirs, how = refs[n], "reference figure"
            else:
                continue
            ratio = theirs / cold.median
            word = f"{ratio:.1f}x faster" if ratio >= 1 else f"{1 / ratio:.1f}x slower"
            lines.append(
                f"| {n:,} | {tool} ({how}) | {_fmt(theirs, 's')} | {_fmt(cold.median, 's')} "
                f"| {word} |"
            )
    mem = results.get(4000, {}).get("memory")
    if mem is not None and mem.values:
        refs = ", ".join(f"{t} {m} MiB" for t, m in REFERENCE_MIB_4000.items())
        lines.append("")
        lines.append(
            f"Peak memory at 4,000: Haven {mem.median:.0f} MiB (PSS of the process tree); "
            f"reference figures: {refs}."
        )
    return "\n".join(lines)


def targets(results: dict[int, dict[str, Figure]]) -> str:
    lines = ["| target | limit | measured | met |", "|---|---:|---:|---|"]
    for key, n, limit, text in TARGETS:
        fig = results.get(n, {}).get(key)
        if fig is None or not fig.values:
            continue
        unit = "MiB" if key == "memory" else "s"
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


if __name__ == "__main__":
    raise SystemExit(main())
