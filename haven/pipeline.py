"""build_site: load -> render -> group -> plan -> write. Read everything, then write."""

from __future__ import annotations

import difflib
import hashlib
import os
import pickle
import re
import time
import unicodedata
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from datetime import datetime
from pathlib import Path

from . import __version__, markup
from .config import SiteConfig, load_config
from .content import load_content
from .errors import ContentError
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
from .pages import SitePlan, article_url, make_environment, plan_site
from .references import REFERENCES_FILE, load_references
from .taxonomy import build_taxonomy
from .writer import MARKER, link_tree, read_manifest, write_site

CACHE_DIR = ".cache/haven"
RESERVED_SLUGS = {
    "tags",
    "articles",
    "search",
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


def build_site(root: Path, options: BuildOptions | None = None, reporter=None) -> BuildResult:
    """Build the site in `root` into its output folder; raise ContentError with every problem."""
    started = time.perf_counter()
    options = options or BuildOptions()
    reporter = reporter or NullReporter()
    root = root.resolve()
    config = load_config(root)
    now = options.now or datetime.now(tz=config.timezone)
    out = Path(options.output) if options.output else Path(config.output_dir)
    out = out if out.is_absolute() else root / out

    reporter.stage("reading")
    content_cache = {} if options.clean else load_cache(root, "content")
    size = len(content_cache)
    docs, diags = load_content(root, config, content_cache)
    current = {(d.path, d.digest) for d in docs}
    live = {key: value for key, value in content_cache.items() if key[:2] in current}
    if len(content_cache) != size or len(live) != len(content_cache):
        save_cache(root, "content", live)
    refs, ref_diags = load_references(root)
    diags += ref_diags

    articles, pages, unpublished, drafts, future = _select(docs, options, now)
    diags += _check_slugs(articles, pages)

    # Nothing that a page depends on changed since the last build into this folder: done.
    inputs = _inputs_key(root, out, options, docs, articles, pages, now)
    last = {} if options.clean else load_cache(root, "last-build")
    clean_so_far = not any(d.severity == ERROR for d in diags)
    if clean_so_far and last.get("inputs") == inputs and last.get("marker") == _marker_digest(out):
        result = last["result"]
        return replace(
            result,
            pages_written=0,
            files_unchanged=result.pages_written + result.files_unchanged,
            markdown_rendered=0,
            seconds=time.perf_counter() - started,
        )

    reporter.stage("rendering")
    # Under the dev server, other threads are running: forking them can deadlock a worker.
    start = "forkserver" if options.serve else "fork"
    rendered, rendered_count = render_all(
        root, [*articles, *pages], clean=options.clean, start_method=start
    )
    for r in rendered.values():
        diags += r.diagnostics

    taxonomy = build_taxonomy(articles, config.topics)
    diags += taxonomy.diagnostics

    # Sources that failed to load make no page; say so rather than "no such file".
    failed = {
        d.path.removeprefix("content/")
        for d in diags
        if d.severity == ERROR and d.path.startswith("content/")
    }
    html, link_diags = _rewrite_all(config, [*articles, *pages], rendered, unpublished, failed)
    diags += link_diags
    diags += _check_citations(refs, [*articles, *pages], rendered, report_unused=not failed)
    diags += _body_headings([*articles, *pages])

    reporter.stage("planning")
    env, template_diags = make_environment(root, config)
    diags += template_diags
    previous = {} if options.clean else _previous_pages(out)
    plan = SitePlan(
        config,
        articles,
        pages,
        rendered,
        html,
        taxonomy,
        refs,
        now,
        serve=options.serve,
        unpublished=[u for u, _ in unpublished.values()],
        parallel=not options.serve,
        templates_digest=_folder_digest(root / "templates"),
        previous=previous,
    )
    outputs: list[Output] = []
    manifest: dict = {}
    if not template_diags:
        outputs, manifest = plan_site(plan, env)
        diags += plan.diagnostics
        outputs += static_outputs(root)
        outputs.append(
            Output(
                "static/css/pygments.css", markup.pygments_css().encode("utf-8"), "haven/markup.py"
            )
        )
        diags += _check_collisions(outputs)

    if options.strict:
        diags = [replace(d, severity=ERROR) if d.severity == WARNING else d for d in diags]
    diags = sorted(diags, key=_order)
    errors = [d for d in diags if d.severity == ERROR]
    if errors:
        raise ContentError(f"{len(errors)} error(s)", diags)

    reporter.stage("writing")
    manifest = dict(manifest, generator=f"haven {__version__}")
    before_swap = None
    if config.search and not options.serve:
        from .search import index_site

        def before_swap(staging: Path, changed: list[str]) -> list[Diagnostic]:
            # The index depends only on the pages: when none changed, keep the previous one.
            old_index = out / "pagefind"
            if not any(p.endswith(".html") for p in changed) and old_index.is_dir():
                if link_tree(old_index, staging / "pagefind"):
                    return []
            reporter.stage("indexing")
            return index_site(staging, base_path=config.base_path)

    stats = write_site(
        outputs,
        out,
        root=root,
        manifest=manifest,
        keep_files=config.keep_files,
        before_swap=before_swap,
    )
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
        markdown_rendered=rendered_count,
        seconds=time.perf_counter() - started,
    )
    save_cache(
        root, "last-build", {"inputs": inputs, "marker": _marker_digest(out), "result": result}
    )
    return result


def _inputs_key(root: Path, out: Path, options: BuildOptions, docs, articles, pages, now) -> str:
    """One digest of everything the output depends on; equal keys give identical sites."""
    h = hashlib.blake2b(digest_size=16)

    def add(*parts: object) -> None:
        for part in parts:
            h.update(part if isinstance(part, bytes) else str(part).encode("utf-8"))
            h.update(b"\0")

    add(
        __version__,
        getattr(markup, "VERSION", "1"),
        out,
        options.drafts,
        options.future,
        options.strict,
        options.serve,
    )
    for name in ("site.yaml", REFERENCES_FILE):
        path = root / name
        add(name, path.read_bytes() if path.is_file() else b"")
    add(_folder_digest(root / "templates"))
    static = root / "static"
    for path in sorted(static.rglob("*")) if static.is_dir() else ():
        st = path.stat()
        add(path.relative_to(static).as_posix(), st.st_size, st.st_mtime_ns)
    for doc in docs:
        add(doc.path, doc.digest)
    # What is published, and what the dev server marks as scheduled, move with the clock.
    add([d.path for d in [*articles, *pages]], [d.path for d in articles if d.date > now])
    return h.hexdigest()


def _marker_digest(out: Path) -> str:
    """Digest of the output folder's manifest: it changes whenever a build writes the folder."""
    try:
        return hashlib.blake2b((out / MARKER).read_bytes(), digest_size=16).hexdigest()
    except OSError:
        return ""


def _previous_pages(out: Path) -> dict[str, tuple[str, str]]:
    """What the previous build wrote: page path -> (inputs fingerprint, file digest)."""
    manifest = read_manifest(out) if out.is_dir() else {}
    prints, digests = manifest.get("fingerprints", {}), manifest.get("digests", {})
    if manifest.get("generator") != f"haven {__version__}":
        return {}
    return {path: (key, digests[path]) for path, key in prints.items() if path in digests}


def _folder_digest(folder: Path) -> str:
    """One digest of every file's name and bytes in `folder`."""
    h = hashlib.blake2b(digest_size=16)
    for path in sorted(folder.rglob("*")) if folder.is_dir() else ():
        if path.is_file():
            h.update(path.relative_to(folder).as_posix().encode() + b"\0" + path.read_bytes())
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
    seen: dict[str, str] = {}
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
            diags.append(
                Diagnostic(
                    ERROR,
                    doc.path,
                    None,
                    None,
                    f"{url} is also written by {seen[url]}",
                    key="slug",
                    hint="give one of them another slug",
                    code="duplicate-path",
                )
            )
        seen.setdefault(url, doc.path)
    return diags


def _check_collisions(outputs: Sequence[Output]) -> list[Diagnostic]:
    seen: dict[str, Output] = {}
    diags = []
    for item in outputs:
        key = item.path.casefold()
        if key in seen:
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


def _rewrite_all(
    config: SiteConfig,
    docs: Sequence[Document],
    rendered: dict[str, Rendered],
    unpublished: dict[str, tuple[str, str]],
    failed: set[str] = frozenset(),
):
    targets = {unicodedata.normalize("NFC", d.rel): article_url(d) for d in docs}
    severity = ERROR if config.broken_md_links == ERROR else WARNING
    html: dict[str, str] = {}
    diags: list[Diagnostic] = []
    for doc in docs:
        r = rendered[doc.path]
        new_html, missing = rewrite_links(
            r.html, doc_rel=doc.rel, targets=targets, base_path=config.base_path
        )
        html[doc.path] = new_html
        for href, reason in missing:
            line = next((link.line for link in r.links if link.href == href), None)
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
    return html, diags


_FENCE = re.compile(r"^\s{0,3}(```|~~~)")
_H1 = re.compile(r"^\s{0,3}#(?!#)\s")


def _body_headings(docs: Sequence[Document]) -> list[Diagnostic]:
    """A `# heading` in the body would be a second <h1>: the title is the page's only one."""
    diags = []
    for doc in docs:
        if "#" not in doc.body:
            continue
        fenced = False
        for i, line in enumerate(doc.body.split("\n")):
            if _FENCE.match(line):
                fenced = not fenced
            elif not fenced and _H1.match(line):
                diags.append(
                    Diagnostic(
                        WARNING,
                        doc.path,
                        doc.body_line + i,
                        1,
                        "a '# heading' in the body makes a second main heading",
                        hint="the title is the page's heading; start sections with '## '",
                        code="body-h1",
                        source_line=line,
                    )
                )
    return diags


def _check_citations(
    refs, docs: Sequence[Document], rendered: dict[str, Rendered], *, report_unused: bool = True
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


def static_outputs(root: Path) -> list[Output]:
    """Files of static/, copied as they are to /static/ in the site."""
    base = root / "static"
    outputs = []
    if not base.is_dir():
        return outputs
    for dirpath, dirnames, files in os.walk(base):
        dirnames.sort()
        for name in sorted(files):
            path = Path(dirpath, name)
            rel = path.relative_to(base).as_posix()
            if path.is_symlink() and not path.resolve().is_relative_to(root.resolve()):
                continue
            outputs.append(Output(f"static/{rel}", path.read_bytes(), f"static/{rel}"))
    return outputs


# -- Markdown rendering with a cache and a process pool ----------------------------------------


def _cache_key(doc: Document) -> str:
    h = hashlib.blake2b(digest_size=16)
    for part in (
        __version__,
        getattr(markup, "VERSION", "1"),
        doc.path,
        str(doc.body_line),
        doc.body,
    ):
        h.update(part.encode("utf-8"))
        h.update(b"\0")
    return h.hexdigest()


def _render_one(args: tuple[str, str, int]) -> Rendered:
    body, path, body_line = args
    return markup.render(body, path=path, body_line=body_line)


def render_all(
    root: Path, docs: Sequence[Document], *, clean: bool = False, start_method: str = "fork"
):
    """Render every body once; unchanged bodies come from the cache in .cache/."""
    cache: dict[str, Rendered] = {} if clean else load_cache(root, "markdown")
    keys = {doc.path: _cache_key(doc) for doc in docs}
    todo = [doc for doc in docs if keys[doc.path] not in cache]
    jobs = [(doc.body, doc.path, doc.body_line) for doc in todo]
    if len(jobs) >= POOL_THRESHOLD and (os.cpu_count() or 1) > 1:
        import multiprocessing

        ctx = multiprocessing.get_context(start_method)
        with ProcessPoolExecutor(max_workers=os.cpu_count(), mp_context=ctx) as pool:
            results = list(pool.map(_render_one, jobs, chunksize=max(1, len(jobs) // 32)))
    else:
        results = [_render_one(job) for job in jobs]
    for doc, result in zip(todo, results, strict=True):
        cache[keys[doc.path]] = result
    rendered = {doc.path: cache[keys[doc.path]] for doc in docs}
    if todo or len(cache) != len(rendered):
        save_cache(
            root, "markdown", {keys[p]: r for p, r in zip(keys, rendered.values(), strict=True)}
        )
    return rendered, len(todo)


def load_cache(root: Path, name: str) -> dict:
    """A cache of an earlier build (.cache/haven/NAME.pickle); empty when absent or unreadable."""
    try:
        with open(root / CACHE_DIR / f"{name}.pickle", "rb") as fh:
            data = pickle.load(fh)
        return data if isinstance(data, dict) else {}
    except (
        OSError,
        pickle.PickleError,
        EOFError,
        AttributeError,
        ImportError,
        TypeError,
        ValueError,
    ):
        return {}


def save_cache(root: Path, name: str, data: dict) -> None:
    path = root / CACHE_DIR / f"{name}.pickle"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".tmp-{os.getpid()}")
        with open(tmp, "wb") as fh:
            pickle.dump(data, fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
    except OSError:
        pass  # a cache we cannot write only costs time
