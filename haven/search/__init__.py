"""Search: the records a reader can find, the browser's help data, and Pagefind's index of them.

The interface the build uses is `index_step`: the published documents in; the search index's
files and `search/data.json` as outputs, problems, and a step to save the search cache once the
site is written, out; `.cache/haven/search/` in between. Under it: `record_sources` (records,
made only when needed), `records_key`, `search_data`, and `update`. The parts:

- `records.py`: what is indexed, and `search/data.json`;
- `index.py`: the bundle, built in batches and spliced on an edit, and its cache;
- `bundle.py`: Pagefind's file format, which Pagefind does not publish (the debt, and its gate);
- `pagefind.py`: running Pagefind.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from ..errors import BuildError
from ..model import ERROR, Diagnostic, Output
from .index import BUNDLE_DIR, CACHE_DIR, SOURCE, State, Update, engine_key, update
from .pagefind import PagefindError, Service, find_pagefind, pagefind_version
from .records import (
    DATA_PATH,
    HELP_WORDS,
    KEYWORD_WEIGHT,
    VOCABULARY_BYTES,
    RecordSource,
    SearchRecord,
    Section,
    body_sections,
    make_records,
    normalise_term,
    record_html,
    record_sources,
    record_terms,
    records_key,
    search_data,
    vocabulary,
)

__all__ = [
    "BUNDLE_DIR",
    "CACHE_DIR",
    "DATA_PATH",
    "HELP_WORDS",
    "KEYWORD_WEIGHT",
    "VOCABULARY_BYTES",
    "PagefindError",
    "RecordSource",
    "SOURCE",
    "SearchRecord",
    "Section",
    "Service",
    "State",
    "Update",
    "body_sections",
    "engine_key",
    "find_pagefind",
    "index_records",
    "index_step",
    "make_records",
    "normalise_term",
    "pagefind_version",
    "record_html",
    "record_sources",
    "record_terms",
    "records_key",
    "search_data",
    "update",
    "vocabulary",
]


class Step:
    """The search index's part of a build: its key (the manifest's `search`), its outputs, how
    many of them are new, warnings, and `commit()` to call once the site is written."""

    def __init__(self, key: str, outputs: list[Output], done: Update | None = None):
        self.key, self.outputs, self.done = key, outputs, done
        self.written = sum(1 for o in outputs if o.data is not None)
        self.warnings = [d for d in done.diagnostics if d.severity != ERROR] if done else []

    def commit(self) -> None:
        if self.done is not None:
            self.done.commit()


def index_step(
    config, root, out, previous, pages, articles, bodies, taxonomy, now, reporter, clean
):
    """The search index and `search/data.json` for a build, as outputs.

    `previous` is the output folder's manifest (`haven.manifest.Manifest`; None for a clean
    build), whose `search` is the key the folder's index was made with. Both change only with
    what the records are made of (titles, summaries, bodies, topics, support lines): a template
    or a stylesheet edit keeps the previous ones without reading a body, and an edit indexes only
    the records it changed. A failure is a BuildError naming the step.
    """

    def topics_of(path: str) -> list[str]:
        return [taxonomy.topics[k].label for k in taxonomy.by_article.get(path, ())]

    def html_of(path: str) -> str:
        found = bodies.store.body_html(bodies.keys[path])
        return found if found is not None else bodies.body_of(path).html

    sources = record_sources(
        config,
        pages,
        articles,
        html_of=html_of,
        topics_of=topics_of,
        now=now,
        body_keys=bodies.keys,
    )
    key = records_key(sources, engine_key(find_pagefind()))
    digests = dict(previous.digests) if previous is not None else {}
    entry = f"{BUNDLE_DIR}/pagefind-entry.json"
    same = previous is not None and previous.search == key
    if same and DATA_PATH in digests and (out / entry).is_file():
        kept = [
            Output(path, None, SOURCE, reuse=digests[path])
            for path in sorted(digests)
            if path.startswith(f"{BUNDLE_DIR}/") or path == DATA_PATH
        ]
        return Step(key, kept)
    reporter.stage("search index")
    cache = Path(root) / CACHE_DIR
    done = update(
        sources,
        language=config.language,
        cache=cache,
        previous=digests,
        clean=clean,
        reporter=reporter,
    )
    errors = [d for d in done.diagnostics if d.severity == ERROR]
    if errors:
        raise BuildError("the search index failed", errors)
    data = Output(DATA_PATH, search_data(config, done.terms), SOURCE)
    return Step(key, [*done.outputs, data], done)


def index_records(records, site_dir: Path, *, language: str = "en") -> list[Diagnostic]:
    """Pagefind's own whole-site bundle of `records` (in URL order, one process) written into
    `site_dir/pagefind/`: what Haven's merged and spliced bundles are compared with."""
    import time

    from . import pagefind

    site_dir = Path(site_dir)
    if not site_dir.is_dir():
        return [_error(f"cannot index into {site_dir}: not a folder")]
    if not records:
        return [_error("nothing to index: the site has no published page")]
    binary = pagefind.find_pagefind()
    if binary is None:
        return [
            _error(
                "the Pagefind binary was not found",
                "install it with `pip install 'pagefind[bin]'`, or set PAGEFIND_BINARY_PATH",
            )
        ]
    pages = [(r.url, record_html(r, language)) for r in sorted(records, key=lambda r: r.url)]
    deadline = time.monotonic() + pagefind.TIMEOUT_SECONDS
    try:
        with pagefind.Service(binary, deadline) as service:
            files = service.index(pages, f"indexing {len(pages)} search record(s)")
    except pagefind.PagefindError as exc:
        return [_error(exc.message, exc.hint)]
    # A fresh folder: nothing stale survives, and nothing is written through a hard link the
    # folder may share with a published site.
    shutil.rmtree(site_dir / BUNDLE_DIR, ignore_errors=True)
    for path, data in files.items():
        target = site_dir / BUNDLE_DIR / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return []


def _error(message: str, hint: str | None = None) -> Diagnostic:
    return Diagnostic(ERROR, BUNDLE_DIR, None, None, message, hint=hint, code="search-index")
