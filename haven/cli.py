"""Command line: build | check | serve | new | fields. main(argv) -> exit code; no logic of its own."""

from __future__ import annotations

import argparse
import os
import sys
import time
import traceback
from datetime import UTC, date, datetime
from pathlib import Path

from . import __version__
from .environment import FIX
from .errors import HavenError, UsageError
from .model import ERROR, INFO, WARNING, BuildOptions, Diagnostic

EXIT_OK, EXIT_ERRORS, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # argparse exits 2 on usage errors, as we want, with our wording
        self.print_usage(sys.stderr)
        raise SystemExit(f"{self.prog}: error: {message}") from None


def _port(value: str) -> int:
    try:
        port = int(value)
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(
            f"{value!r} is not a port: use a number from 1 to 65535, or 0 for any free port"
        )
    return port


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="build.py", description="Haven: build, check and preview the site.")
    p.add_argument("--version", action="version", version=f"haven {__version__}")
    sub = p.add_subparsers(dest="command")

    def common(sp):
        sp.add_argument("--root", default=".", help="the site's folder (default: current folder)")
        sp.add_argument("--output", "-o", help="output folder (default: output_dir in site.yaml)")
        sp.add_argument("--debug", action="store_true", help="show Python tracebacks")
        sp.add_argument("--quiet", "-q", action="store_true", help="print errors only")

    b = sub.add_parser("build", help="build the site (the default command)")
    common(b)
    b.add_argument("--drafts", action="store_true", help="include drafts")
    b.add_argument("--future", action="store_true", help="include future-dated articles")
    b.add_argument("--strict", action="store_true", help="treat warnings as errors")
    b.add_argument("--clean", action="store_true", help="ignore the incremental cache")
    b.add_argument("--check", action="store_true", help="check links after building")
    b.add_argument("--external", action="store_true", help="with --check: check external links")
    b.add_argument(
        "--format",
        choices=("text", "json", "junit"),
        default="text",
        help="with --check: report format",
    )
    b.add_argument(
        "--now", help="judge 'future' against this ISO date-time (for reproducible builds)"
    )

    c = sub.add_parser("check", help="check the built site: links, fragments, assets, policies")
    common(c)
    c.add_argument("--external", action="store_true", help="also check links to other sites")
    c.add_argument("--strict", action="store_true", help="treat warnings as errors")
    c.add_argument("--format", choices=("text", "json", "junit"), default="text")

    s = sub.add_parser("serve", help="live preview on 127.0.0.1 with reload on save")
    s.add_argument("--root", default=".")
    s.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    s.add_argument("--port", type=_port, default=8000, help="0 picks any free port")
    s.add_argument("--debug", action="store_true")

    n = sub.add_parser("new", help="start a new article (or page) from a complete template")
    n.add_argument("title")
    n.add_argument("--tags", default="", help="comma-separated topics, e.g. selfcare,communication")
    n.add_argument("--page", action="store_true", help="a standalone page instead of an article")
    n.add_argument("--root", default=".")
    n.add_argument("--debug", action="store_true")

    f = sub.add_parser("fields", help="print the front-matter reference")
    f.add_argument("--debug", action="store_true")
    return p


def _color(stream) -> bool:
    return stream.isatty() and "NO_COLOR" not in os.environ and os.environ.get("TERM") != "dumb"


_COLORS = {ERROR: "\033[31m", WARNING: "\033[33m", INFO: "\033[36m"}


def format_diagnostic(d: Diagnostic, color: bool = False) -> str:
    """The compiler-style line, then the source line with a caret where we know the column."""
    head = d.format()
    if color:
        head = head.replace(
            f" {d.severity}:", f" {_COLORS.get(d.severity, '')}{d.severity}\033[0m:", 1
        )
    lines = [head]
    if d.source_line is not None and d.line:
        text = d.source_line.rstrip("\n")
        lines.append(f"  {d.line:>4} | {text}")
        if d.col:
            lines.append(f"       | {' ' * (d.col - 1)}^")
    return "\n".join(lines)


def print_diagnostics(diags, *, quiet: bool = False) -> None:
    color = _color(sys.stderr)
    for d in diags:
        if quiet and d.severity != ERROR:
            continue
        print(format_diagnostic(d, color), file=sys.stderr)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _parse_now(value: str | None, root: Path) -> datetime | None:
    from .yamlsafe import EARLIEST_YEAR, LATEST_YEAR, date_problem

    if value:
        problem = date_problem(value)
        try:
            now = None if problem else datetime.fromisoformat(value)
        except ValueError:
            now = None
        if now is None:
            raise UsageError(
                f"--now expects an ISO date-time such as 2026-11-26T09:00:00+00:00, got {value!r}"
                + (f": {problem}" if problem else "")
            )
        if now.tzinfo is None:  # read it where the site's dates are read
            from .config import load_config

            now = now.replace(tzinfo=load_config(root).timezone)
        return now
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch:
        try:
            now = datetime.fromtimestamp(int(epoch), tz=UTC)
        except (ValueError, OverflowError, OSError):
            now = None
        if now is None or date_problem(now.date().isoformat()):
            raise UsageError(
                f"SOURCE_DATE_EPOCH must be a number of seconds since 1970 (a date from "
                f"{EARLIEST_YEAR} to {LATEST_YEAR}), got {epoch!r}"
            )
        return now
    return None


class _Progress:
    """Shows the build's stage on a terminal once a build has run for a second."""

    def __init__(self, enabled: bool):
        self.enabled = enabled and sys.stderr.isatty()
        self.start = time.monotonic()
        self.shown = False

    def stage(self, name: str) -> None:
        if self.enabled and time.monotonic() - self.start > 1.0:
            print(f"\r\033[K{name}...", end="", file=sys.stderr, flush=True)
            self.shown = True

    def done(self) -> None:
        if self.shown:
            print("\r\033[K", end="", file=sys.stderr, flush=True)


def cmd_build(args) -> int:
    from .pipeline import build_site

    root = Path(args.root)
    if args.output:
        from .config import output_problem

        problem = output_problem(root, args.output)
        if problem:
            raise UsageError(f"--output {problem} (use a folder of its own such as _site)")
    options = BuildOptions(
        drafts=args.drafts,
        future=args.future,
        strict=args.strict,
        clean=args.clean,
        now=_parse_now(args.now, root),
        output=args.output,
    )
    progress = _Progress(not args.quiet)
    try:
        result = build_site(root, options, progress)
    except UsageError as exc:
        # The writer names output_dir when it refuses a folder; here the folder came from --output.
        blamed = [d for d in exc.diagnostics if d.key == "output_dir"]
        if args.output and blamed:
            d = blamed[0]
            raise UsageError(
                f"--output {args.output}: {d.message}" + (f" ({d.hint})" if d.hint else "")
            ) from None
        raise
    finally:
        progress.done()
    print_diagnostics(result.diagnostics, quiet=args.quiet)
    warnings = sum(d.severity == WARNING for d in result.diagnostics)
    if not args.quiet:
        # With a machine-readable check report on stdout, the summary goes to stderr.
        stream = sys.stderr if args.check and args.format != "text" else sys.stdout
        print(
            f"Built {_plural(result.pages_written + result.files_unchanged, 'file')} "
            f"({result.pages_written} written, {result.files_unchanged} unchanged): "
            f"{_plural(result.articles, 'article')}, {_plural(result.topics, 'topic')}, "
            f"{result.drafts_skipped} drafts and {result.future_skipped} future articles skipped, "
            f"{_plural(warnings, 'warning')}, in {result.seconds:.2f} s",
            file=stream,
        )
    if args.check:
        return cmd_check(args)
    return EXIT_OK


def cmd_check(args) -> int:
    from .check import run_check

    root = Path(args.root)
    text, errors = run_check(
        root,
        output=args.output,
        external=args.external,
        strict=args.strict,
        fmt=args.format,
        color=_color(sys.stdout),
    )
    print(text)
    return EXIT_ERRORS if errors else EXIT_OK


def cmd_serve(args) -> int:
    from .serve import serve

    return serve(Path(args.root), host=args.host, port=args.port)


def cmd_new(args) -> int:
    from .scaffold import new_article

    tags = [t.strip() for t in args.tags.split(",") if t.strip()]
    if not tags and not args.page:
        raise UsageError("an article needs at least one topic: --tags selfcare,communication")
    path = new_article(Path(args.root), args.title, tags, today=date.today(), page=args.page)
    print(path)
    return EXIT_OK


def cmd_fields(args) -> int:
    from .sources.schema import fields_reference

    print(fields_reference())
    return EXIT_OK


COMMANDS = {
    "build": cmd_build,
    "check": cmd_check,
    "serve": cmd_serve,
    "new": cmd_new,
    "fields": cmd_fields,
}


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0].startswith("-") and argv[0] not in ("-h", "--help", "--version"):
        argv.insert(0, "build")
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:
        if isinstance(exc.code, str):
            print(exc.code, file=sys.stderr)
            return EXIT_USAGE
        return exc.code or 0
    if args.command is None:
        args = _parser().parse_args(["build"])
    try:
        return COMMANDS[args.command](args)
    except HavenError as exc:
        if exc.diagnostics:
            print_diagnostics(exc.diagnostics)
        else:
            print(f"error: {exc}", file=sys.stderr)
        errors = sum(d.severity == ERROR for d in exc.diagnostics)
        warnings = sum(d.severity == WARNING for d in exc.diagnostics)
        if exc.diagnostics:
            print(
                f"Build failed: {_plural(errors, 'error')}, {_plural(warnings, 'warning')}; "
                "the previous output was left as it was.",
                file=sys.stderr,
            )
        if getattr(args, "debug", False):
            traceback.print_exc()
        return exc.exit_code
    except BrokenPipeError:  # `build.py check | head`: the reader has gone, nothing to report
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except KeyboardInterrupt:
        print("interrupted; the previous output was left as it was", file=sys.stderr)
        return EXIT_INTERRUPTED
    except ModuleNotFoundError as exc:
        if (exc.name or "haven").partition(".")[0] == "haven":
            raise
        # A stage imports its libraries when it first needs them: this Python lacks Haven's.
        print(
            f"error: {exc.name!r}, which Haven needs, is not installed for {sys.executable}\n"
            f"  fix: {FIX}",
            file=sys.stderr,
        )
        return EXIT_USAGE
    except Exception:
        if getattr(args, "debug", False):
            raise
        print(
            "internal error in Haven (run again with --debug for the traceback):", file=sys.stderr
        )
        print(f"  {traceback.format_exc().strip().splitlines()[-1]}", file=sys.stderr)
        return EXIT_ERRORS
