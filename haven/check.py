"""`check`: the link checker and the site policies over a built site, as one report."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from .audit import audit_site
from .config import load_config
from .content import load_content
from .errors import ConfigError
from .linkcheck import LinkcheckSettings, check_site, sort_key
from .model import ERROR, INFO, Diagnostic, Problem
from .report import failed, format_json, format_junit, format_text
from .scaffold import PLACEHOLDER, placeholder_problems
from .writer import read_manifest


def collect_problems(
    root: Path, *, output: str | None = None, external: bool = False, now: datetime | None = None
) -> list[Problem]:
    """Every finding of `check` for the site in `root`, built into its output folder."""
    from .pipeline import load_cache, render_all, save_cache

    root = root.resolve()
    config = load_config(root)
    settings, errors = LinkcheckSettings.from_mapping(config.linkcheck)
    if errors:
        raise ConfigError(
            "site.yaml has errors",
            [
                Diagnostic(ERROR, "site.yaml", None, None, message, key="linkcheck")
                for message in errors
            ],
        )
    out = Path(output) if output else Path(config.output_dir)
    out = out if out.is_absolute() else root / out
    problems = check_site(
        out,
        settings,
        external=external,
        cache_dir=root / ".cache" / "linkcheck",
        site_url=config.base_url,
    )
    manifest = read_manifest(out)
    sources = {page: info.get("source") for page, info in manifest.get("pages", {}).items()}
    published = {info.get("source") for info in manifest.get("pages", {}).values()}
    docs, _ = load_content(root, config, load_cache(root, "content"))
    docs = [d for d in docs if d.path in published]
    rendered, _ = render_all(root, docs)
    placeholders = {}
    for doc in docs:
        lines = [doc.body_line - 1 + n for n in placeholder_problems(doc.body)]
        lines += [
            n
            for key, n in doc.key_lines.items()
            if isinstance(doc.meta.get(key), str) and PLACEHOLDER.search(doc.meta[key])
        ]
        if lines:
            placeholders[doc.path] = sorted(lines)
    scores = load_cache(root, "readability")
    known = len(scores)
    problems += audit_site(
        out,
        config=config,
        documents=docs,
        rendered=rendered,
        sources=sources,
        now=now or datetime.now(config.timezone),
        placeholder_lines=placeholders,
        scores=scores,
    )
    if len(scores) != known:
        save_cache(root, "readability", scores)
    return sorted(problems, key=sort_key)


def run_check(
    root: Path,
    *,
    output: str | None = None,
    external: bool = False,
    strict: bool = False,
    fmt: str = "text",
    color: bool = False,
) -> tuple[str, bool]:
    """The report in the chosen format, and whether the check failed."""
    problems = collect_problems(root, output=output, external=external)
    if fmt == "json":
        text = format_json(problems)
    elif fmt == "junit":
        text = format_junit(problems, strict=strict)
    else:
        # Reading levels within the thresholds are one line here; JSON lists each.
        notes = [p for p in problems if p.severity == INFO]
        text = format_text([p for p in problems if p.severity != INFO], color=color)
        if notes:
            text += (
                f"{len(notes)} articles within the reading-level thresholds in site.yaml "
                "(--format json lists each)\n"
            )
    return text, failed(problems, strict=strict)
