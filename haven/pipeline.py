"""build_site: the recipe. Read everything, then write.

    read     site.yaml, sources (parsed ones kept in the state), the bibliography, static/
    render   Markdown bodies (haven/bodies.py), topics and related articles, reading paths
    check    addresses, links, citations: every problem in every file, in one run
    plan     one spec per page, each keyed by its inputs (haven/site/plan.py)
    write    the pages whose keys changed, rendered on every core, into the output folder

Each phase is one call into the stage that owns it. The state kept between builds is a `State`
(haven/incremental/state.py): on disk for a command-line build, in memory for the dev server.
"""

from __future__ import annotations

import gc
import time
import unicodedata
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from . import __version__
from .config import SiteConfig, load_config
from .errors import ContentError
from .incremental import keys
from .incremental.state import DiskState, State
from .model import ERROR, INFO, WARNING, BuildOptions, BuildResult, Diagnostic, Document, Output
from .sources.discover import discover, load_content
from .sources.references import REFERENCES_FILE
from .static import scan_static
from .writer import WRITING, built_name, marker_signature, read_state

if TYPE_CHECKING:
    from .manifest import Manifest
    from .site import plan

__all__ = ["State", "build_site"]


class NullReporter:
    """Build logic never prints; the CLI passes a reporter that shows progress."""

    def stage(self, name: str) -> None:
        pass


def build_site(
    root: Path, options: BuildOptions | None = None, reporter=None, state: State | None = None
) -> BuildResult:
    """Build the site in `root` into its output folder; raise ContentError with every problem."""
    # A build allocates hundreds of thousands of objects that live until it ends (documents,
    # briefs, keys): the cycle collector would traverse them again and again for nothing. At
    # 4,000 articles it was half the time of an edit's rebuild.
    enabled = gc.isenabled()
    gc.disable()
    options = options or BuildOptions()
    root = root.resolve()
    mine = state is None
    state = state or DiskState.for_project(root)
    try:
        return _build(root, options, reporter or NullReporter(), state)
    finally:
        if mine:
            state.close()
        if enabled:
            gc.enable()


def _build(root: Path, options: BuildOptions, reporter, state: State) -> BuildResult:
    started, started_at = time.perf_counter(), time.time_ns()
    config = load_config(root)
    now = options.now or datetime.now(tz=config.timezone)
    out = _output_folder(root, options, config)
    store, clean = state.store, options.clean

    reporter.stage("reading")
    # No file moved since the last build into this folder, and no article's date was crossed:
    # done, before a source is parsed or a stage imported (a walk and a stat per file).
    found, static = discover(root), scan_static(root)
    shared = keys.shared_key(root, options.serve, ("site.yaml", REFERENCES_FILE))
    stats = keys.stat_key(shared, out, options, found[0], static[0], found[1] + static[1])
    last = {} if clean else state.get("last-build")
    if _current(last, "stats", stats, now, out):
        store.put(built_name(out), started_at)
        return _unchanged(last["result"], store, started)

    # Imported here, not above: a build that finds nothing to do never needs them.
    from . import markup, search, urls
    from .bodies import render_bodies
    from .links import broken_links
    from .manifest import record_build
    from .render import TemplateErrors, render_pages
    from .site import contexts, plan
    from .site.paths import resolve_paths
    from .site.templates import make_environment
    from .sources import select
    from .sources.references import citation_problems, load_references
    from .static import static_outputs
    from .urls import collisions, slug_problems
    from .writer import write_site

    docs, diags = _read_sources(root, config, state, clean, found)
    refs, ref_diags = load_references(root)
    articles, pages, unpublished, drafts, future = select(docs, options, now)
    published = [*articles, *pages]
    static, static_diags = static
    paths, path_diags = resolve_paths(config, articles, unpublished)
    slug_diags = slug_problems(articles, pages)
    diags += ref_diags + static_diags + path_diags + slug_diags

    # Nothing that a page depends on changed (a file was touched, not edited): done.
    scheduled = [d for d in articles if d.date > now]
    inputs = keys.inputs_key(shared, out, options, static, docs, published, scheduled)
    window = _window(docs, now)
    if _current(last, "inputs", inputs, now, out) and not _errors(diags):
        state.put("last-build", dict(last, stats=stats, window=window))
        store.put(built_name(out), started_at)
        return _unchanged(last["result"], store, started)

    reporter.stage("rendering")
    targets = {
        unicodedata.normalize("NFC", d.rel): urls.document_url(d.kind, d.slug) for d in published
    }
    bodies = render_bodies(store, published, targets=targets, base_path=config.base_path)
    taxonomy, related, near = _topics(state, articles, config)

    # Sources that failed to load make no page; say so rather than "no such file".
    failed = {d.path.removeprefix("content/") for d in diags if d.severity == ERROR and d.path.startswith("content/")}  # fmt: skip
    diags += [d for doc in published for d in bodies.briefs[doc.path].diagnostics]
    diags += taxonomy.diagnostics
    diags += broken_links(config, published, bodies, unpublished, failed)
    diags += citation_problems(refs, published, bodies.briefs, report_unused=not failed)

    reporter.stage("planning")
    env, template_diags = make_environment(root, config)
    diags += template_diags
    previous = None if clean or not out.is_dir() else read_state(store, out)
    content = plan.SiteContent(
        config, articles, pages, {p: b.words for p, b in bodies.briefs.items()},
        bodies.html_keys, taxonomy, related, near, paths, _banners(published, options, now),
    )  # fmt: skip
    specs = plan.plan_pages(content, state.memo("summaries"))
    site = contexts.Site(
        config, contexts.site_context(config, pages, options.serve), env, refs,
        lambda body: bodies.body_of(body.path),
    )  # fmt: skip
    shared_site = keys.digest(shared, repr(site.context))
    outputs, todo, fingerprints = plan.outputs(specs, shared_site, _previous_pages(previous))
    files, read_diags = static_outputs(root, static)
    outputs += [*files, Output("static/css/pygments.css", markup.pygments_css().encode(), "haven/markup/")]  # fmt: skip
    diags += read_diags + collisions(outputs, {d.path for d in slug_diags})

    if options.strict:
        diags = [replace(d, severity=ERROR) if d.severity == WARNING else d for d in diags]
    diags = sorted(diags, key=_order)
    if _errors(diags) or template_diags:
        # The cache's own warnings come after --strict: a cache problem only costs time.
        raise ContentError(f"{len(_errors(diags))} error(s)", diags + store.take_notes())

    search_step = None
    if config.search:
        search_step = search.index_step(
            config, root, out, previous, pages, articles, bodies, taxonomy, now, reporter, clean
        )
        outputs += search_step.outputs
        diags += search_step.warnings
    reporter.stage("writing")
    # What the next build and `check` know of the folder (haven/manifest.py); `check` reports a
    # start-here entry naming no published article as it always has, draft or not.
    manifest = record_build(
        config, published, pages=_source_pages(specs),
        url_of=lambda d: targets[unicodedata.normalize("NFC", d.rel)], briefs=bodies.briefs,
        text_keys=bodies.keys, unpublished=[u for u, _ in unpublished.values()],
        findings=resolve_paths(config, articles)[1] if path_diags else (),
        fingerprints=fingerprints, search=search_step.key if search_step else None,
        previous=previous,
    )  # fmt: skip
    # A few pages to replace: write them into the folder itself, without copying the site.
    changed = len(todo) + (search_step.written if search_step else 0)
    in_place = previous is not None and changed <= max(64, len(outputs) // 8)
    try:
        written = write_site(
            render_pages(outputs, todo, specs, site), out, root=root, manifest=manifest,
            store=store, keep_files=config.keep_files, in_place=in_place,
        )  # fmt: skip
    except TemplateErrors as exc:
        diags = sorted([*diags, *exc.diagnostics], key=_order)
        raise ContentError(f"{len(exc.diagnostics)} error(s)", diags + store.take_notes()) from None
    if search_step is not None:
        search_step.commit()  # the search cache, once the site it describes is written
    if drafts or future:
        skipped = ", ".join(drafts + future)
        message = f"skipped {len(drafts)} draft(s) and {len(future)} future article(s): {skipped}"
        diags.append(Diagnostic(INFO, "content", None, None, message))
    result = BuildResult(
        ok=True,
        diagnostics=tuple(diags),
        pages_written=written.written,
        files_unchanged=written.unchanged,
        articles=len(articles),
        topics=sum(1 for t in taxonomy.topics.values() if t.articles),
        drafts_skipped=len(drafts),
        future_skipped=len(future),
        markdown_rendered=bodies.rendered,
        seconds=time.perf_counter() - started,
    )
    last = {"inputs": inputs, "stats": stats, "window": window, "marker": _marker(out)}
    state.put("last-build", dict(last, result=result))
    store.put(built_name(out), started_at)
    # Notes (a stale lock recovered, the cache's own warnings) belong to this build only: the
    # result kept for a no-op build does not repeat them.
    notes = written.notes + tuple(store.take_notes())
    return replace(result, diagnostics=result.diagnostics + notes)


# -- the phases' helpers ------------------------------------------------------------------------


def _output_folder(root: Path, options: BuildOptions, config: SiteConfig) -> Path:
    out = Path(options.output) if options.output else Path(config.output_dir)
    return out if out.is_absolute() else root / out


def _read_sources(root: Path, config: SiteConfig, state: State, clean: bool, found):
    """Every source, parsed: a source whose stat is that of its last read is not read again."""
    cache = {} if clean else state.documents()
    known = set(cache)
    stats = {} if clean else state.get("stats")
    before = dict(stats)
    docs, diags = load_content(root, config, cache, stats, found)
    current = {(d.path, d.digest) for d in docs}
    state.keep_documents(known, {k: v for k, v in cache.items() if k[:2] in current})
    if stats != before:
        paths = {d.path for d in docs}
        state.put("stats", {p: v for p, v in stats.items() if p in paths})
    return docs, diags


def _topics(state: State, articles: list[Document], config: SiteConfig):
    """Topics and related articles: they change only when topics, dates or the vocabulary do."""
    from .taxonomy import Taxonomy, build_taxonomy, related_articles, related_topics

    key = keys.topics_key(config, articles)
    found = state.get("topics")
    if found.get("key") == key and isinstance(found.get("taxonomy"), Taxonomy):
        return found["taxonomy"], found["related"], found["near"]
    taxonomy = build_taxonomy(articles, config.topics)
    dates = {d.path: d.date for d in articles}
    related = {d.path: related_articles(d.path, taxonomy, dates) for d in articles}
    near = {k: related_topics(k, taxonomy) for k, t in taxonomy.topics.items() if t.articles}
    state.put("topics", {"key": key, "taxonomy": taxonomy, "related": related, "near": near})
    return taxonomy, related, near


def _banners(docs: list[Document], options: BuildOptions, now: datetime) -> dict[str, str]:
    """'Draft' or 'Scheduled' over a page the preview shows and the site would not."""
    if not options.serve:
        return {}
    return {
        d.path: "Draft" if d.draft else "Scheduled"
        for d in docs
        if d.draft or (d.date and d.date > now)
    }


def _source_pages(specs: list[plan.PageSpec]) -> dict[str, str]:
    """Each source that makes a page of its own -> that page's output path (for check)."""
    from .site import contexts

    found = {}
    for spec in specs:
        body = getattr(spec.inputs, "body", None)
        if isinstance(body, contexts.Body):
            found[body.path] = spec.path
    return found


def _previous_pages(state: Manifest | None) -> dict[str, tuple[str, str]]:
    """What the previous build wrote: page path -> (its key, the digest of its bytes)."""
    if state is None or state.generator != f"haven {__version__}":
        return {}
    digests = state.digests
    return {
        path: (key, digests[path]) for path, key in state.fingerprints.items() if path in digests
    }


def _window(docs: list[Document], now: datetime) -> list[float | None]:
    """The times between which what is published stays as it is: the dates of the articles
    nearest to `now` on either side (a scheduled article appears once its date has passed)."""
    dates = [d.date.timestamp() for d in docs if d.date is not None]
    before = [t for t in dates if t <= now.timestamp()]
    after = [t for t in dates if t > now.timestamp()]
    return [max(before, default=None), min(after, default=None)]


def _current(last: dict, name: str, key: str, now: datetime, out: Path) -> bool:
    """Whether the last build into `out` stands: its key `name` is `key`, `now` lies in its
    window, and the folder is the one it wrote."""
    if last.get(name) != key or not isinstance(last.get("result"), BuildResult):
        return False
    window, t = last.get("window"), now.timestamp()
    if not (isinstance(window, list) and len(window) == 2):
        return False
    since, until = window
    if (since is not None and t < since) or (until is not None and t >= until):
        return False
    return last.get("marker") == _marker(out)


def _marker(out: Path) -> str:
    """Identity of the output folder's marker: it changes whenever a build writes the folder."""
    if (out / WRITING).exists():
        return ""  # a write into the folder was interrupted: its state is not to be trusted
    sig = marker_signature(out)
    return repr(sig) if sig else ""


def _unchanged(result: BuildResult, store, started: float) -> BuildResult:
    """The last build's result, for a build that found nothing to do."""
    return replace(
        result,
        diagnostics=result.diagnostics + tuple(store.take_notes()),
        pages_written=0,
        files_unchanged=result.pages_written + result.files_unchanged,
        markdown_rendered=0,
        seconds=time.perf_counter() - started,
    )


def _errors(diags: list[Diagnostic]) -> list[Diagnostic]:
    return [d for d in diags if d.severity == ERROR]


def _order(d: Diagnostic):
    return (d.path, d.line or 0, d.col or 0, d.message)
