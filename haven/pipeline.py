"""build_site: load -> render -> group -> plan -> write. Read everything, then write."""

from __future__ import annotations

import difflib
import gc
import hashlib
import os
import re
import stat
import time
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

from . import __version__, markup
from .config import SiteConfig, load_config
from .errors import ContentError
from .incremental.store import Brief, Store
from .links import resolve_md, rewrite_links
from .model import (
    ERROR,
    INFO,
    WARNING,
    BuildOptions,
    BuildResult,
    Diagnostic,
    Document,
    Output,
    Rendered,
)
from .render import process_pool
from .site.paths import resolve_paths
from .site.plan import (
    PlanMemo,
    SitePlan,
    TemplateErrors,
    TemplateProblem,
    article_url,
    make_environment,
    plan_site,
    render_outputs,
)
from .sources.discover import load_content
from .sources.references import REFERENCES_FILE, load_references
from .taxonomy import Taxonomy, build_taxonomy, related_articles
from .writer import WRITING, built_name, link_tree, marker_signature, read_state, write_site

__all__ = ["Session", "build_site", "render_all"]
RESERVED_SLUGS = {
    "tags",
    "articles",
    "search",
    "feeds",
    "get-help",
    "404",
    "404.html",
    "feed.xml",
    "sitemap.xml",
    "robots.txt",
    "pagefind",
    "static",
    "__haven",
}
# Below this many bodies to render, starting worker processes costs more than it saves.
POOL_THRESHOLD = 64


class NullReporter:
    """Build logic never prints; the CLI passes a reporter that shows progress."""

    def stage(self, name: str) -> None:
        pass


@dataclass
class Session:
    """What a long-running process (the dev server) keeps between its builds.

    With a session, parsed front matter, the facts of rendered bodies, related articles and the
    last build's input key stay in memory instead of being read from and written to `.cache/`.
    """

    store: Store
    content: dict = field(default_factory=dict)
    stats: dict = field(default_factory=dict)  # path -> (size, times, inode) at the last read
    last: dict = field(default_factory=dict)
    related: dict = field(default_factory=dict)
    plans: dict = field(default_factory=dict)  # output folder -> PlanMemo of its last write

    @classmethod
    def for_project(cls, root: Path) -> Session:
        return cls(Store.for_project(Path(root).resolve()))


def build_site(
    root: Path, options: BuildOptions | None = None, reporter=None, session: Session | None = None
) -> BuildResult:
    """Build the site in `root` into its output folder; raise ContentError with every problem."""
    # A build allocates hundreds of thousands of objects that live until it ends (documents,
    # briefs, keys): the cycle collector would traverse them again and again for nothing. At
    # 4,000 articles it was half the time of an edit's rebuild.
    enabled = gc.isenabled()
    gc.disable()
    options = options or BuildOptions()
    root = root.resolve()
    if session is not None and not options.clean:
        store = session.store
    else:
        store = Store.for_project(root, clean=options.clean)
        if session is not None:
            session.store = store
    try:
        return _build(root, options, reporter, session, store)
    finally:
        if session is None:
            store.close()  # its last connection: SQLite folds the write-ahead log in
        if enabled:
            gc.enable()


def _build(root: Path, options: BuildOptions, reporter, session: Session | None, store: Store):
    started = time.perf_counter()
    started_at = time.time_ns()  # sources changed after this are newer than the build
    reporter = reporter or NullReporter()
    config = load_config(root)
    now = options.now or datetime.now(tz=config.timezone)
    out = Path(options.output) if options.output else Path(config.output_dir)
    out = out if out.is_absolute() else root / out

    reporter.stage("reading")
    if session is not None:
        content_cache = {} if options.clean else session.content
    else:
        content_cache = {} if options.clean else store.documents()
    known_docs = set(content_cache)
    # A source whose size, times and inode are those of its last read is not read again.
    if options.clean:
        stats = {}
    else:
        stats = session.stats if session is not None else _stored(store, "stats")
    known_stats = dict(stats)
    docs, diags = load_content(root, config, content_cache, stats)
    current = {(d.path, d.digest) for d in docs}
    live = {key: value for key, value in content_cache.items() if key[:2] in current}
    if session is not None:
        session.content, session.stats = live, stats
    else:
        added = {key: content_cache[key] for key in set(live) - known_docs}
        removed = list(known_docs - set(live))
        if added or removed:
            store.update_documents(added, removed)
        if stats != known_stats:
            paths = {d.path for d in docs}
            store.put("stats", {p: v for p, v in stats.items() if p in paths})
    refs, ref_diags = load_references(root)
    diags += ref_diags

    articles, pages, unpublished, drafts, future = _select(docs, options, now)
    published = [*articles, *pages]
    slug_diags = _check_slugs(articles, pages)
    diags += slug_diags

    static, static_diags = scan_static(root)
    diags += static_diags
    paths, path_diags = resolve_paths(config, articles, unpublished)
    diags += path_diags

    # Nothing that a page depends on changed since the last build into this folder: done.
    inputs_digest = _shared_digest(root, options)
    inputs = _inputs_key(out, options, inputs_digest, static, docs, articles, pages, now)
    if options.clean:
        last = {}
    else:
        last = session.last if session is not None else _stored(store, "last-build")
    clean_so_far = not any(d.severity == ERROR for d in diags)
    if (
        clean_so_far
        and last.get("inputs") == inputs
        and last.get("marker") == _marker_digest(out)
        and isinstance(last.get("result"), BuildResult)
    ):
        result = last["result"]
        store.put(built_name(out), started_at)
        return replace(
            result,
            diagnostics=result.diagnostics + tuple(store.take_notes()),
            pages_written=0,
            files_unchanged=result.pages_written + result.files_unchanged,
            markdown_rendered=0,
            seconds=time.perf_counter() - started,
        )

    reporter.stage("rendering")
    # Under the dev server, other threads are running: forking them can deadlock a worker.
    start = "forkserver" if options.serve else "fork"
    targets = {unicodedata.normalize("NFC", d.rel): article_url(d) for d in published}
    bodies = render_bodies(
        store, published, targets=targets, base_path=config.base_path, start_method=start
    )
    for doc in published:
        diags += bodies.briefs[doc.path].diagnostics

    taxonomy, related, topics_key = _taxonomy(store, session, articles, config)
    diags += taxonomy.diagnostics

    # Sources that failed to load make no page; say so rather than "no such file".
    failed = {
        d.path.removeprefix("content/")
        for d in diags
        if d.severity == ERROR and d.path.startswith("content/")
    }
    diags += _link_diagnostics(config, published, bodies, unpublished, failed)
    diags += _check_citations(refs, published, bodies.briefs, report_unused=not failed)

    reporter.stage("planning")
    env, template_diags = make_environment(root, config)
    diags += template_diags
    previous = {} if options.clean else _previous_pages(store, out)
    # What decides which pages exist and what each lists: with the same, an edit of a body
    # re-plans only that document's page.
    structure = hashlib.blake2b(
        repr(
            (
                inputs_digest,
                topics_key,
                [d.path for d in articles],
                [d.path for d in pages],
                sorted(u for u, _ in unpublished.values()),
                [d.path for d in articles if options.serve and d.date > now],
            )
        ).encode(),
        digest_size=16,
    ).hexdigest()
    plans = session.plans if session is not None else _stored(store, "plans")
    memo = None if options.clean else plans.get(str(out))
    if not isinstance(memo, PlanMemo) or memo.marker != marker_signature(out):
        memo = None
    plan = SitePlan(
        config,
        articles,
        pages,
        bodies.briefs,
        bodies.body_of,
        bodies.html_keys,
        taxonomy,
        refs,
        now,
        serve=options.serve,
        unpublished=[u for u, _ in unpublished.values()],
        parallel=not options.serve,
        inputs_digest=inputs_digest,
        previous=previous,
        related=related,
        paths=paths,
    )
    page_plan = None
    if not template_diags:
        page_plan, memo = plan_site(plan, env, memo, structure)
        static_files, static_diags = static_outputs(root, static)
        page_plan.outputs += static_files
        diags += static_diags
        page_plan.outputs.append(
            Output(
                "static/css/pygments.css", markup.pygments_css().encode("utf-8"), "haven/markup/"
            )
        )
        # A slug collision or a reserved slug was reported above, once, with its lines.
        reported = {d.path for d in slug_diags}
        diags += _check_collisions(page_plan.outputs, reported)

    if options.strict:
        diags = [replace(d, severity=ERROR) if d.severity == WARNING else d for d in diags]
    diags = sorted(diags, key=_order)
    errors = [d for d in diags if d.severity == ERROR]
    if errors:
        # The cache's own warnings come after --strict: a cache problem only costs time.
        raise ContentError(f"{len(errors)} error(s)", diags + store.take_notes())

    reporter.stage("writing")
    search_key, before_swap = False, None
    if config.search and not options.serve:
        search_key, before_swap = _search_index(
            config, out, options, pages, articles, bodies, taxonomy, now, page_plan, reporter, store
        )
    manifest = dict(page_plan.manifest, generator=f"haven {__version__}", search=search_key)

    # A few pages to replace: write them into the folder itself, without copying the site.
    # (A new search index is written into the staging folder, so it keeps the staged write.)
    keep_index = before_swap is not None and before_swap.keeps
    in_place = bool(previous) and (before_swap is None or keep_index)
    in_place = in_place and len(page_plan.jobs) <= max(64, len(page_plan.outputs) // 8)
    try:
        stats = write_site(
            render_outputs(page_plan, parallel=not options.serve),
            out,
            root=root,
            manifest=manifest,
            store=store,
            keep_files=config.keep_files,
            before_swap=before_swap,  # not called when the writer replaces files in place
            in_place=in_place,
        )
    except TemplateErrors as exc:
        raise ContentError(
            f"{len(exc.diagnostics)} error(s)",
            sorted([*diags, *exc.diagnostics], key=_order) + store.take_notes(),
        ) from None
    if drafts or future:
        diags.append(
            Diagnostic(
                INFO,
                "content",
                None,
                None,
                f"skipped {len(drafts)} draft(s) and {len(future)} future article(s): "
                + ", ".join(drafts + future),
            )
        )
    result = BuildResult(
        ok=True,
        diagnostics=tuple(diags),
        pages_written=stats.written,
        files_unchanged=stats.unchanged,
        articles=len(articles),
        topics=sum(1 for t in taxonomy.topics.values() if t.articles),
        drafts_skipped=len(drafts),
        future_skipped=len(future),
        markdown_rendered=bodies.rendered,
        seconds=time.perf_counter() - started,
    )
    last = {"inputs": inputs, "marker": _marker_digest(out), "result": result}
    plans = {str(out): replace(memo, marker=marker_signature(out))}
    if session is not None:
        session.last, session.plans = last, plans
    else:
        store.put("last-build", last)
        store.put("plans", plans)
    store.put(built_name(out), started_at)
    # Notes (a stale lock recovered, the cache's own warnings) belong to this build only: the
    # result kept for a no-op build does not repeat them.
    return replace(result, diagnostics=result.diagnostics + stats.notes + tuple(store.take_notes()))


def _stored(store: Store, name: str) -> dict:
    """A dictionary the store keeps ({} when absent or not a dictionary)."""
    value = store.get(name)
    return value if isinstance(value, dict) else {}


class _IndexStep:
    """The writer's `before_swap` for search: keep the previous index, or index the records."""

    def __init__(self, out: Path, keeps: bool, records, make, language: str, reporter):
        self.out, self.keeps, self.records, self.make = out, keeps, records, make
        self.language, self.reporter = language, reporter

    def __call__(self, staging: Path, changed: list[str]) -> list[Diagnostic]:
        from .search import BUNDLE_DIR, index_records

        if self.keeps and link_tree(self.out / BUNDLE_DIR, staging / BUNDLE_DIR):
            return []
        self.reporter.stage("indexing")
        records = self.records if self.records is not None else self.make()
        return index_records(records, staging, language=self.language)


def _search_index(
    config, out, options, pages, articles, bodies, taxonomy, now, plan, reporter, store
):
    """The search records' key, `search/data.json` added to the plan, and the index step.

    The index and the data change only with what the records are made of (titles, summaries,
    bodies, topics, support lines): a template or a stylesheet edit keeps the previous index.
    """
    from . import search

    def topics_of(path: str) -> list[str]:
        return [taxonomy.topics[k].label for k in taxonomy.by_article.get(path, ())]

    def html_of(path: str) -> str:
        found = bodies.store.body_html(bodies.keys[path])
        return found if found is not None else bodies.body_of(path).html

    def make() -> list:
        return search.make_records(
            config, pages, articles, html_of=html_of, topics_of=topics_of, now=now
        )

    key = search.records_key(
        config, pages, articles, body_keys=bodies.keys, topics_of=topics_of, now=now
    )
    old = {} if options.clean or not out.is_dir() else read_state(store, out)
    old_data = old.get("digests", {}).get(search.DATA_PATH)
    keeps = bool(
        old.get("search") == key
        and old_data
        and (out / search.BUNDLE_DIR / "pagefind-entry.json").is_file()
    )
    records = None
    if keeps:
        plan.outputs.append(Output(search.DATA_PATH, None, "haven/search.py", reuse=old_data))
    else:
        reporter.stage("search records")
        records = make()
        data = search.search_data(config, records)
        plan.outputs.append(Output(search.DATA_PATH, data, "haven/search.py"))
    return key, _IndexStep(out, keeps, records, make, config.language, reporter)


def _shared_digest(root: Path, options: BuildOptions) -> str:
    """What every page depends on: versions, templates, site.yaml and the bibliography."""
    h = hashlib.blake2b(digest_size=16)
    for part in (__version__, getattr(markup, "VERSION", "1"), str(options.serve)):
        h.update(part.encode() + b"\0")
    h.update(_folder_digest(root / "templates").encode())
    for name in ("site.yaml", REFERENCES_FILE):
        path = root / name
        h.update(name.encode() + b"\0" + (path.read_bytes() if path.is_file() else b"") + b"\0")
    return h.hexdigest()


_SIGNATURES: dict[tuple, bytes] = {}  # the dev server asks again for every build


def _topic_signature(doc: Document) -> bytes:
    """What the topics and related articles read of an article."""
    memo = (doc.path, doc.digest, doc.date)  # the date also depends on site.yaml's time zone
    sig = _SIGNATURES.get(memo)
    if sig is None:
        sig = _SIGNATURES[memo] = (
            f"{doc.path}\0{doc.date!r}\0{doc.tags!r}\0{doc.key_lines.get('tags')}\0".encode()
        )
    return sig


def _taxonomy(
    store: Store, session: Session | None, articles: Sequence[Document], config: SiteConfig
) -> tuple[Taxonomy, dict[str, list[str]], str]:
    """Topics and related articles: they change only when topics, dates or the vocabulary do."""
    h = hashlib.blake2b(repr(config.topics).encode(), digest_size=16)
    h.update(b"".join(map(_topic_signature, articles)))
    key = h.hexdigest()
    cache = session.related if session is not None else _stored(store, "topics")
    if (
        cache.get("key") == key
        and isinstance(cache.get("taxonomy"), Taxonomy)
        and isinstance(cache.get("related"), dict)
    ):
        return cache["taxonomy"], cache["related"], key
    taxonomy = build_taxonomy(articles, config.topics)
    dates = {d.path: d.date for d in articles}
    related = {d.path: related_articles(d.path, taxonomy, dates) for d in articles}
    found = {"key": key, "taxonomy": taxonomy, "related": related}
    if session is not None:
        session.related = found
    else:
        store.put("topics", found)
    return taxonomy, related, key


def _inputs_key(
    out: Path, options: BuildOptions, shared: str, static, docs, articles, pages, now
) -> str:
    """One digest of everything the output depends on; equal keys give identical sites.

    `shared` is `_shared_digest`: versions, templates, site.yaml and the bibliography; `static`
    is `scan_static`'s list of the files in static/.
    """
    h = hashlib.blake2b(digest_size=16)

    def add(*parts: object) -> None:
        for part in parts:
            h.update(part if isinstance(part, bytes) else str(part).encode("utf-8"))
            h.update(b"\0")

    add(shared, out, options.drafts, options.future, options.strict)
    for rel, _path, st in static:
        add(rel, st.st_size, st.st_mtime_ns)
    h.update("\0".join(f"{d.path}\0{d.digest}" for d in docs).encode("utf-8"))
    # What is published, and what the dev server marks as scheduled, move with the clock.
    h.update(b"\0published\0")
    h.update("\0".join(d.path for d in [*articles, *pages]).encode("utf-8"))
    h.update(b"\0scheduled\0")
    h.update("\0".join(d.path for d in articles if d.date > now).encode("utf-8"))
    return h.hexdigest()


def _marker_digest(out: Path) -> str:
    """Identity of the output folder's manifest: it changes whenever a build writes the folder."""
    if (out / WRITING).exists():
        return ""  # a write into the folder was interrupted: its manifest is not to be trusted
    sig = marker_signature(out)
    return repr(sig) if sig else ""


def _previous_pages(store: Store, out: Path) -> dict[str, tuple[str, str]]:
    """What the previous build wrote: page path -> (inputs fingerprint, file digest)."""
    state = read_state(store, out) if out.is_dir() else {}
    prints, digests = state.get("fingerprints"), state.get("digests")
    if state.get("generator") != f"haven {__version__}" or not isinstance(prints, dict):
        return {}
    return {
        path: (key, digests[path])
        for path, key in prints.items()
        if path in digests and isinstance(key, str) and isinstance(digests[path], str)
    }


def _folder_digest(folder: Path) -> str:
    """One digest of every file's name and bytes in `folder`."""
    h = hashlib.blake2b(digest_size=16)
    for path in sorted(folder.rglob("*")) if folder.is_dir() else ():
        if path.is_file():
            try:
                data = path.read_bytes()
            except OSError:  # make_environment reports it
                data = b"\0unreadable"
            h.update(path.relative_to(folder).as_posix().encode() + b"\0" + data)
    return h.hexdigest()


def _order(d: Diagnostic):
    return (d.path, d.line or 0, d.col or 0, d.message)


def _select(docs: Sequence[Document], options: BuildOptions, now: datetime):
    """Published articles (newest first) and pages; what was left out and why."""
    articles, pages, drafts, future = [], [], [], []
    unpublished: dict[str, tuple[str, str]] = {}
    for doc in docs:
        if doc.kind == "page":
            if doc.draft and not options.drafts:
                drafts.append(doc.path)
                unpublished[doc.rel] = (article_url(doc), "a draft")
            else:
                pages.append(doc)
            continue
        if doc.draft and not options.drafts:
            drafts.append(doc.path)
            unpublished[doc.rel] = (article_url(doc), "a draft")
        elif doc.date > now and not options.future:
            future.append(doc.path)
            unpublished[doc.rel] = (article_url(doc), f"scheduled for {doc.date:%Y-%m-%d}")
        else:
            articles.append(doc)
    articles.sort(key=lambda d: (d.date, d.path), reverse=True)
    return articles, pages, unpublished, drafts, future


def _check_slugs(articles: Sequence[Document], pages: Sequence[Document]) -> list[Diagnostic]:
    diags = []
    seen: dict[str, Document] = {}
    for doc in [*articles, *pages]:
        url = article_url(doc)
        if doc.kind == "page" and doc.slug in RESERVED_SLUGS and doc.slug != "get-help":
            diags.append(
                Diagnostic(
                    ERROR,
                    doc.path,
                    None,
                    None,
                    f"slug '{doc.slug}' is reserved for the site's own pages",
                    key="slug",
                    hint="choose another slug",
                    code="reserved-path",
                )
            )
        elif url in seen:
            # One error, on the file whose `slug:` line made the clash when one has such a line.
            first = seen[url]
            here, other = (
                (first, doc) if _slug_line(first) and not _slug_line(doc) else (doc, first)
            )
            there = other.path + (f":{_slug_line(other)}" if _slug_line(other) else "")
            how = "" if _slug_line(other) else " (its slug comes from its file name)"
            diags.append(
                Diagnostic(
                    ERROR,
                    here.path,
                    _slug_line(here),
                    None,
                    f"{url} is also the address of {there}{how}",
                    key="slug",
                    hint="give one of them another slug",
                    code="duplicate-path",
                )
            )
        seen.setdefault(url, doc)
    return diags


def _slug_line(doc: Document) -> int | None:
    return doc.key_lines.get("slug")


def _check_collisions(outputs: Sequence[Output], reported=frozenset()) -> list[Diagnostic]:
    seen: dict[str, Output] = {}
    diags = []
    for item in outputs:
        key = item.path.casefold()
        if key in seen and not {item.source, seen[key].source} & set(reported):
            other = seen[key]
            diags.append(
                Diagnostic(
                    ERROR,
                    item.source or "?",
                    None,
                    None,
                    f"writes {item.path}, which {other.source or '?'} writes too",
                    hint="rename one of them",
                    code="duplicate-path",
                )
            )
        else:
            seen[key] = item
    return diags


def _link_diagnostics(
    config: SiteConfig,
    docs: Sequence[Document],
    bodies: Bodies,
    unpublished: dict[str, tuple[str, str]],
    failed: set[str] = frozenset(),
) -> list[Diagnostic]:
    """`.md` links that lead to no page, each named with why."""
    severity = ERROR if config.broken_md_links == ERROR else WARNING
    diags: list[Diagnostic] = []
    for doc in docs:
        for href, reason in bodies.missing.get(doc.path, ()):
            links = bodies.briefs[doc.path].links
            line = next((link.line for link in links if link.href == href), None)
            target = resolve_md(href, doc.rel)
            hint = "check the file name, relative to this file"
            if target in unpublished:
                message = f"link to {href!r}, which is {unpublished[target][1]} and not published"
                hint = "publish it first, or remove the link for now"
            elif target in failed:
                message = (
                    f"link to {href!r}: content/{target} has errors, so no page is made from it"
                )
                hint = "fix the errors reported for that file"
            else:
                message = f"link to {href!r}: {reason}"
            diags.append(
                Diagnostic(
                    severity, doc.path, line, None, message, hint=hint, code="broken-md-link"
                )
            )
    return diags


_FENCE = re.compile(r"^\s{0,3}(```|~~~)")
_H1 = re.compile(r"^\s{0,3}#(?!#)\s")


def _body_headings(path: str, body: str, body_line: int) -> list[Diagnostic]:
    """A `# heading` in the body would be a second <h1>: the title is the page's only one."""
    diags = []
    if "#" not in body:
        return diags
    fenced = False
    for i, line in enumerate(body.split("\n")):
        if _FENCE.match(line):
            fenced = not fenced
        elif not fenced and _H1.match(line):
            diags.append(
                Diagnostic(
                    WARNING,
                    path,
                    body_line + i,
                    1,
                    "a '# heading' in the body makes a second main heading",
                    hint="the title is the page's heading; start sections with '## '",
                    code="body-h1",
                    source_line=line,
                )
            )
    return diags


def _check_citations(
    refs, docs: Sequence[Document], rendered: dict[str, Brief], *, report_unused: bool = True
) -> list[Diagnostic]:
    diags = []
    used: set[str] = set()
    for doc in docs:
        for cit in rendered[doc.path].citations:
            used.add(cit.key)
            if cit.key not in refs:
                close = difflib.get_close_matches(cit.key, list(refs), n=1)
                diags.append(
                    Diagnostic(
                        ERROR,
                        doc.path,
                        cit.line,
                        None,
                        f"unknown reference '@{cit.key}'",
                        hint=f"did you mean '@{close[0]}'?"
                        if close
                        else f"add it to {REFERENCES_FILE}",
                        code="unknown-reference",
                    )
                )
    for key, ref in sorted(refs.items()) if report_unused else ():
        if key not in used:
            diags.append(
                Diagnostic(
                    WARNING,
                    REFERENCES_FILE,
                    ref.line,
                    None,
                    f"reference '{key}' is not cited by any article",
                    hint="cite it or remove it",
                    code="unused-reference",
                )
            )
    return diags


_SPECIAL_FILES = (
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)


def scan_static(root: Path) -> tuple[list[tuple[str, Path, os.stat_result]], list[Diagnostic]]:
    """The files of static/ as (path below static/, path, stat), and one error per file that
    cannot be published: a broken symlink, a pipe, socket or device (reading a pipe would wait
    forever). Symlinks that leave the project are skipped, as before."""
    base = root / "static"
    found: list[tuple[str, Path, os.stat_result]] = []
    diags: list[Diagnostic] = []
    if not base.is_dir():
        return found, diags
    real_root = root.resolve()

    def error(rel: str, message: str, hint: str, code: str) -> None:
        diags.append(Diagnostic(ERROR, f"static/{rel}", None, None, message, hint=hint, code=code))

    def walk_error(exc: OSError) -> None:
        rel = Path(exc.filename).relative_to(base).as_posix() if exc.filename else "."
        error(
            rel, f"cannot read this folder: {exc.strerror}", "check its permissions", "unreadable"
        )

    for dirpath, dirnames, files in os.walk(base, onerror=walk_error):
        dirnames.sort()
        for name in sorted(files):
            path = Path(dirpath, name)
            rel = path.relative_to(base).as_posix()
            try:
                if path.is_symlink():
                    try:
                        target = path.resolve(strict=True)
                    except (OSError, RuntimeError):
                        error(
                            rel,
                            f"broken symlink: it points to {os.readlink(path)}, which does not exist",
                            "point it at an existing file inside the project, or remove it",
                            "broken-symlink",
                        )
                        continue
                    if not target.is_relative_to(real_root):
                        continue
                st = path.stat()
            except OSError as exc:
                error(
                    rel,
                    f"cannot read this file: {exc.strerror}",
                    "check its permissions",
                    "unreadable",
                )
                continue
            kind = next((what for test, what in _SPECIAL_FILES if test(st.st_mode)), None)
            if kind is not None:
                error(
                    rel,
                    f"this is {kind}, not a file: static/ may hold only files",
                    "remove it from static/",
                    "special-file",
                )
                continue
            found.append((rel, path, st))
    return found, diags


def static_outputs(root: Path, static=None) -> tuple[list[Output], list[Diagnostic]]:
    """Files of static/, copied as they are to /static/ in the site, and the ones unreadable."""
    if static is None:
        static, _ = scan_static(root)
    outputs, diags = [], []
    for rel, path, _st in static:
        try:
            # Never blocks: a file replaced by a pipe since the scan is refused, not waited on.
            fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
            try:
                if not stat.S_ISREG(os.fstat(fd).st_mode):
                    raise IsADirectoryError(0, "not a regular file")
                with os.fdopen(fd, "rb", closefd=False) as fh:
                    data = fh.read()
            finally:
                os.close(fd)
        except OSError as exc:
            diags.append(
                Diagnostic(
                    ERROR,
                    f"static/{rel}",
                    None,
                    None,
                    f"cannot read this file: {exc.strerror or exc}",
                    hint="check its permissions",
                    code="unreadable",
                )
            )
            continue
        outputs.append(Output(f"static/{rel}", data, f"static/{rel}"))
    return outputs, diags


# -- Markdown rendering with a cache and a process pool ----------------------------------------

_RENDER_SALT = "2"  # bump when what _render_one adds to markup.render changes


_KEYS: dict[tuple[str, int, str], str] = {}  # a long-running server asks again for every build


def _cache_key(doc: Document) -> str:
    memo = (doc.path, doc.body_line, doc.digest)
    key = _KEYS.get(memo)
    if key is None:
        key = _KEYS[memo] = _body_key(doc)
    return key


def _body_key(doc: Document) -> str:
    h = hashlib.blake2b(digest_size=16)
    # The file's digest stands for its body: editing the front matter renders the body again,
    # which costs one body, while hashing every body of the site costs every build.
    for part in (
        __version__,
        getattr(markup, "VERSION", "1"),
        _RENDER_SALT,
        doc.path,
        str(doc.body_line),
        doc.digest,
    ):
        h.update(part.encode("utf-8"))
        h.update(b"\0")
    return h.hexdigest()


def _render_one(args: tuple[str, str, int]) -> Rendered | Diagnostic:
    """A rendered body, or the error that stopped it (data: it crosses from worker processes)."""
    body, path, body_line = args
    try:
        r = markup.render(body, path=path, body_line=body_line)
    except markup.MarkupError as exc:
        return exc.diagnostic
    extra = _body_headings(path, body, body_line)
    return replace(r, diagnostics=r.diagnostics + tuple(extra)) if extra else r


def _render_stream(
    docs: Sequence[Document], start_method: str
) -> Iterator[tuple[Document, Rendered | Diagnostic]]:
    """Each document with its rendered body (or its error), in order: on every core when there
    are many, in workers that die with the build."""
    jobs = [(doc.body, doc.path, doc.body_line) for doc in docs]
    if len(jobs) < POOL_THRESHOLD or (os.cpu_count() or 1) < 2:
        for doc, job in zip(docs, jobs, strict=True):
            yield doc, _render_one(job)
        return
    with process_pool(os.cpu_count() or 2, start_method) as pool:
        chunk = max(1, min(64, len(jobs) // 32))
        yield from zip(docs, pool.map(_render_one, jobs, chunksize=chunk), strict=True)


@dataclass
class Bodies:
    """What the render stage hands on: every body's brief, and the rest on demand."""

    store: Store
    keys: dict[str, str]  # Document.path -> cache key of its body
    briefs: dict[str, Brief]  # Document.path -> words, links, citations, diagnostics
    html_keys: dict[str, str]  # Document.path -> digest of the link-rewritten HTML
    missing: dict[str, list[tuple[str, str]]]  # Document.path -> unresolved `.md` links
    rendered: int  # bodies that went through Python-Markdown in this build
    docs: dict[str, Document] = field(default_factory=dict)
    targets: dict[str, str] = field(default_factory=dict)
    base_path: str = "/"

    def body_of(self, path: str) -> Rendered:
        """The rendered body of a document, with its links rewritten (and no plain text).

        The cache is shared: another build (the CLI beside the dev server, with other drafts)
        may have pruned the row or rewritten the links for its own targets. What is read is
        checked against this build's digest and made again when it differs.
        """
        key = self.keys[path]
        facts = self.store.rendered(key, with_text=False)
        if facts is None:
            again = _render_again(self.store, key, self.docs[path])
            if isinstance(again, Diagnostic):
                raise TemplateProblem(again)
            facts = replace(again, text="")
        html = self.store.linked_html(path)
        if html is None or _html_digest(html) != self.html_keys[path]:
            html, _ = rewrite_links(
                facts.html,
                doc_rel=self.docs[path].rel,
                targets=self.targets,
                base_path=self.base_path,
            )
        return replace(facts, html=html)


def _render_again(store: Store, key: str, doc: Document) -> Rendered | Diagnostic:
    """A body whose stored row another build pruned: render it and store it back."""
    result = _render_one((doc.body, doc.path, doc.body_line))
    if isinstance(result, Rendered):
        store.put_bodies([(key, result)])
    return result


def _html_digest(html: str) -> str:
    return hashlib.blake2b(html.encode("utf-8"), digest_size=16).hexdigest()


def render_bodies(
    store: Store,
    docs: Sequence[Document],
    *,
    targets: dict[str, str],
    base_path: str,
    start_method: str = "fork",
) -> Bodies:
    """Render each body not in the store, rewrite the links of each body whose targets moved.

    Rendered bodies go to the store in batches as they come back from the workers, so the HTML
    of the whole site is never held at once.
    """
    keys = {doc.path: _cache_key(doc) for doc in docs}
    known = store.briefs()
    todo = [doc for doc in docs if keys[doc.path] not in known]
    states = store.link_states()
    html_keys: dict[str, str] = {}
    missing: dict[str, list[tuple[str, str]]] = {}
    bodies: list[tuple[str, Rendered]] = []
    links: list[tuple[str, object, str]] = []

    def link(doc: Document, raw: str) -> None:
        lookups: dict[str, str | None] = {}
        new_html, miss = rewrite_links(
            raw, doc_rel=doc.rel, targets=targets, base_path=base_path, lookups=lookups
        )
        digest = _html_digest(new_html)
        state = (keys[doc.path], doc.rel, base_path, tuple(sorted(lookups.items())), miss, digest)
        links.append((doc.path, state, new_html))
        html_keys[doc.path], missing[doc.path] = digest, miss

    def flush() -> None:
        store.put_bodies(bodies)
        store.put_links(links)
        bodies.clear()
        links.clear()

    failed: dict[str, Brief] = {}
    for doc, result in _render_stream(todo, start_method):
        if isinstance(result, Diagnostic):
            # Nothing of a failed render is stored; the build stops with this error.
            failed[doc.path] = Brief(0, (), (), (result,))
            html_keys[doc.path], missing[doc.path] = "", []
            continue
        bodies.append((keys[doc.path], result))
        link(doc, result.html)
        if len(bodies) >= 256:
            flush()
    flush()
    fresh = {doc.path for doc in todo}
    for doc in docs:
        if doc.path in fresh:
            continue
        state = states.get(doc.path)
        if (
            isinstance(state, tuple)
            and len(state) == 6
            and state[:3] == (keys[doc.path], doc.rel, base_path)
            and all(targets.get(source) == url for source, url in state[3])
        ):
            html_keys[doc.path], missing[doc.path] = state[5], state[4]
            continue
        raw = store.body_html(keys[doc.path])
        if raw is None:  # pruned by another build since its brief was read
            again = _render_again(store, keys[doc.path], doc)
            if isinstance(again, Diagnostic):
                failed[doc.path] = Brief(0, (), (), (again,))
                html_keys[doc.path], missing[doc.path] = "", []
                continue
            raw = again.html
        link(doc, raw)
    flush()
    briefs = store.briefs()
    used = set(keys.values())
    if len(briefs) != len(used):
        store.keep_bodies(used)
    if len(store.link_states()) != len(docs):
        store.keep_links(set(keys))
    return Bodies(
        store,
        keys,
        {doc.path: failed.get(doc.path) or briefs[keys[doc.path]] for doc in docs},
        html_keys,
        missing,
        len(todo),
        {doc.path: doc for doc in docs},
        targets,
        base_path,
    )


def render_all(
    root: Path, docs: Sequence[Document], *, clean: bool = False, start_method: str = "fork"
) -> tuple[dict[str, Rendered], int]:
    """Every body rendered, HTML and plain text included (for `check`); cached in .cache/.

    A body that cannot be rendered is left out (the build reports it).
    """
    store = Store.for_project(root, clean=clean)
    keys = {doc.path: _cache_key(doc) for doc in docs}
    known = store.briefs()
    todo = [doc for doc in docs if keys[doc.path] not in known]
    batch: list[tuple[str, Rendered]] = []
    rendered: dict[str, Rendered] = {}
    for doc, result in _render_stream(todo, start_method):
        if isinstance(result, Rendered):
            batch.append((keys[doc.path], result))
            rendered[doc.path] = result
    store.put_bodies(batch)
    for doc in docs:
        if doc.path not in rendered:
            found = store.rendered(keys[doc.path])
            if found is None:  # pruned meanwhile, or the store cannot be read
                found = _render_one((doc.body, doc.path, doc.body_line))
            if isinstance(found, Rendered):
                rendered[doc.path] = found
    store.close()
    return rendered, len(todo)
