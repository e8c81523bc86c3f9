"""`check`: the link checker and the site policies over a built site, as one report.

Each HTML page of the output is parsed once, for both. What a page gives (its ids and URLs for the
link checker, its policy findings) is kept in `.cache/haven/check-pages.pickle` under the file's
size, mtime and inode, so a check after a rebuild parses only the pages the build rewrote (the
writer writes a changed page as a new file and hard-links the others). Reading levels are kept
in `readability.pickle` under a digest of the article's body, so unchanged articles are neither
rendered nor measured again.
"""

from __future__ import annotations

import gc
import hashlib
import os
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime
from pathlib import Path

import selectolax
from selectolax.lexbor import LexborHTMLParser

from . import __version__, audit, linkcheck
from .audit import audit_site, audit_tree, page_policy, reading_level
from .cache import Store, load_cache, save_cache
from .config import load_config
from .content import load_content
from .errors import ConfigError, UsageError
from .linkcheck import LinkcheckSettings, PageScan, check_site, on_disk, scan_tree, sort_key
from .model import ERROR, INFO, Diagnostic, Document, Problem
from .report import failed, format_json, format_junit, format_text
from .scaffold import PLACEHOLDER, placeholder_problems
from .writer import read_manifest

PAGES_CACHE = "check-pages"
READABILITY_CACHE = "readability"
# Below this many articles to measure, starting worker processes costs more than it saves.
POOL_THRESHOLD = 64


def collect_problems(
    root: Path, *, output: str | None = None, external: bool = False, now: datetime | None = None
) -> list[Problem]:
    """Every finding of `check` for the site in `root`, built into its output folder."""
    # The caches hold hundreds of thousands of small objects that live until the end; the
    # cycle collector would walk them again and again (a sixth of a warm check) to free nothing.
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _collect(root, output=output, external=external, now=now)
    finally:
        if enabled:
            gc.enable()


def _collect(
    root: Path, *, output: str | None, external: bool, now: datetime | None
) -> list[Problem]:
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
    pages = PageCache(root, out, config)
    problems = check_site(
        out,
        settings,
        external=external,
        cache_dir=root / ".cache" / "linkcheck",
        site_url=config.base_url,
        scan=pages.links,
    )
    manifest = read_manifest(out)
    sources = {page: info.get("source") for page, info in manifest.get("pages", {}).items()}
    published = {info.get("source") for info in manifest.get("pages", {}).values()}
    docs = [d for d in documents(root, config) if d.path in published]
    problems += audit_site(
        out,
        config=config,
        documents=docs,
        sources=sources,
        now=now or datetime.now(config.timezone),
        scores=reading_scores(root, docs),
        placeholder_lines=placeholder_lines(docs),
        page_problems=pages.policies,
    )
    pages.save()
    return sorted(problems, key=sort_key)


class PageCache:
    """Each HTML page of the output parsed at most once, and only again when its file changes."""

    def __init__(self, root: Path, out: Path, config):
        self.root = root
        self.out = out
        self.own_host, self.exit_url = page_policy(config)
        self.key = _pages_key(self.own_host, self.exit_url)
        cached = load_cache(root, PAGES_CACHE)
        self.cached: dict = cached.get("pages", {}) if cached.get("key") == self.key else {}
        self.seen: dict[str, tuple] = {}  # page -> (file signature, PageScan, policy findings)
        self.parsed = 0  # pages read and parsed in this run (the rest came from the cache)

    def links(self, page: str) -> PageScan:
        """The link checker's view of a page."""
        return self._get(page)[1]

    def policies(self, page: str) -> tuple[Problem, ...]:
        """The policy findings of a page (`audit_html`), without a source file."""
        return self._get(page)[2]

    def _get(self, page: str) -> tuple:
        entry = self.seen.get(page)
        if entry is not None:
            return entry
        path = on_disk(self.out, page)
        try:
            st = os.stat(path)
            signature = (st.st_size, st.st_mtime_ns, st.st_ino)
            entry = self.cached.get(page)
            if entry is None or entry[0] != signature:
                # One parse serves both the link checker and the policies.
                tree = LexborHTMLParser(path.read_bytes())
                findings = audit_tree(page, tree, own_host=self.own_host, exit_url=self.exit_url)
                entry = (signature, scan_tree(tree), tuple(findings))
                self.parsed += 1
        except OSError as exc:
            raise UsageError(f"{path}: cannot read: {exc}") from exc
        self.seen[page] = entry
        return entry

    def save(self) -> None:
        """Keep this run's pages for the next check (pages no longer built are dropped)."""
        if self.parsed or len(self.seen) != len(self.cached):
            save_cache(self.root, PAGES_CACHE, {"key": self.key, "pages": _shared(self.seen)})


def _pages_key(own_host: str, exit_url: str | None) -> str:
    """What cached page results depend on besides the page: the checking code and settings."""
    h = hashlib.blake2b(digest_size=16)
    for part in (__version__, selectolax.__version__, own_host, exit_url or ""):
        h.update(part.encode("utf-8") + b"\0")
    for module in (linkcheck, audit):
        h.update(Path(module.__file__).read_bytes())
    return h.hexdigest()


def _shared(entries: dict[str, tuple]) -> dict[str, tuple]:
    """The entries with equal refs as one object: pickle then stores each only once."""
    one: dict = {}
    shared = {}
    for page, (signature, scan, findings) in entries.items():
        refs = tuple(one.setdefault(ref, ref) for ref in scan.refs)
        ids = frozenset(one.setdefault(i, i) for i in scan.ids)
        shared[page] = (signature, scan._replace(ids=ids, refs=refs), findings)
    return shared


def documents(root: Path, config) -> list[Document]:
    """The project's documents, unchanged ones from the build's cache (which check only reads)."""
    store = Store.for_project(root)
    try:
        docs, _ = load_content(root, config, store.documents())
    finally:
        store.close()
    return docs


def reading_scores(root: Path, docs: list[Document]) -> dict[str, tuple[float, float]]:
    """(SMOG, Flesch) of each article; only new or changed bodies are rendered and measured."""
    from importlib import metadata

    from . import markup

    articles = [d for d in docs if d.kind == "article"]
    # The plain text comes from the body through markup; the scores from textstat.
    salt = f"{__version__}\0{markup.VERSION}\0{metadata.version('textstat')}\0"
    keys = {}
    for doc in articles:
        text = f"{salt}{doc.path}\0{doc.body_line}\0{doc.body}"
        keys[doc.path] = hashlib.blake2b(text.encode("utf-8"), digest_size=16).hexdigest()
    scores = load_cache(root, READABILITY_CACHE)
    todo = [d for d in articles if keys[d.path] not in scores]
    if todo:
        from .pipeline import render_all

        rendered, _ = render_all(root, todo)
        measured = _measure([rendered[d.path].text for d in todo])
        for doc, score in zip(todo, measured, strict=True):
            scores[keys[doc.path]] = score
    if todo or len(scores) != len(keys):
        save_cache(root, READABILITY_CACHE, {k: scores[k] for k in keys.values()})
    return {path: scores[key] for path, key in keys.items()}


def _measure(texts: list[str]) -> list[tuple[float, float]]:
    """`reading_level` of each text, on every core when there are many: textstat is slow."""
    if len(texts) < POOL_THRESHOLD or (os.cpu_count() or 1) < 2:
        return [reading_level(text) for text in texts]
    import multiprocessing

    reading_level("Load the dictionary here. The workers then share it.")
    ctx = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=os.cpu_count(), mp_context=ctx) as pool:
        return list(pool.map(reading_level, texts, chunksize=len(texts) // 16 + 1))


def placeholder_lines(docs: list[Document]) -> dict[str, list[int]]:
    """Source lines that still hold a `TODO` placeholder from `new`, per document."""
    found = {}
    for doc in docs:
        lines = []
        if "TODO" in doc.body:  # what PLACEHOLDER looks for; most bodies have none
            lines = [doc.body_line - 1 + n for n in placeholder_problems(doc.body)]
        lines += [
            n
            for key, n in doc.key_lines.items()
            if isinstance(doc.meta.get(key), str) and PLACEHOLDER.search(doc.meta[key])
        ]
        if lines:
            found[doc.path] = sorted(lines)
    return found


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
