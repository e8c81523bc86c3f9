"""Bodies: the Markdown of every published document, rendered once and kept in the store.

A body is rendered (on every core when there are many, in workers that die with the build) only
when the store has no row for its key (`keys.body_key`); its `.md` links are rewritten to URLs
(haven/links.py) only when a target it looked up moved. Rendered bodies go to the store in
batches as they come back, so the HTML of the whole site is never held at once. The pipeline
gets every body's brief (words, links, citations, warnings); HTML is read one page at a time.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from . import markup
from .incremental.keys import body_key
from .incremental.store import Brief, Store
from .links import rewrite_links
from .model import WARNING, Diagnostic, Document, Rendered
from .pool import process_pool, start_method
from .site.templates import TemplateProblem

POOL_THRESHOLD = 64


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
    docs: Sequence[Document],
) -> Iterator[tuple[Document, Rendered | Diagnostic]]:
    """Each document with its rendered body (or its error), in order: on every core when there
    are many, in workers that die with the build."""
    jobs = [(doc.body, doc.path, doc.body_line) for doc in docs]
    if len(jobs) < POOL_THRESHOLD or (os.cpu_count() or 1) < 2:
        for doc, job in zip(docs, jobs, strict=True):
            yield doc, _render_one(job)
        return
    with process_pool(os.cpu_count() or 2, start_method()) as pool:
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
) -> Bodies:
    """Render each body not in the store, rewrite the links of each body whose targets moved.

    Rendered bodies go to the store in batches as they come back from the workers, so the HTML
    of the whole site is never held at once.
    """
    keys = {doc.path: body_key(doc) for doc in docs}
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
    for doc, result in _render_stream(todo):
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
    root: Path, docs: Sequence[Document], *, clean: bool = False
) -> tuple[dict[str, Rendered], int]:
    """Every body rendered, HTML and plain text included (for `check`); cached in .cache/.

    A body that cannot be rendered is left out (the build reports it).
    """
    store = Store.for_project(root, clean=clean)
    keys = {doc.path: body_key(doc) for doc in docs}
    known = store.briefs()
    todo = [doc for doc in docs if keys[doc.path] not in known]
    batch: list[tuple[str, Rendered]] = []
    rendered: dict[str, Rendered] = {}
    for doc, result in _render_stream(todo):
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
