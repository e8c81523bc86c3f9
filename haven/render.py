"""Rendering: page specs -> bytes, on every core (workers from `haven/pool.py`, which die with
the build)."""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import replace

from .model import Diagnostic, Output
from .pool import process_pool, start_method
from .site.templates import TemplateProblem

# -- pages ---------------------------------------------------------------------------------------


class TemplateErrors(Exception):
    """Pages that could not be rendered; raised after every page has been tried."""

    def __init__(self, diagnostics: list[Diagnostic]):
        super().__init__(f"{len(diagnostics)} template error(s)")
        self.diagnostics = diagnostics


# Set just before the worker processes are forked, so they inherit the specs and the site
# instead of receiving them through pipes.
_WORK: tuple | None = None
# Below this many pages, starting worker processes costs more than it saves.
PARALLEL_PAGES = 200


def _render_range(bounds: tuple[int, int]) -> list[tuple[int, bytes | None, Diagnostic | None]]:
    todo, specs, site = _WORK
    results = []
    for index in todo[bounds[0] : bounds[1]]:
        spec = specs[index]
        try:
            results.append((index, spec.build(spec.inputs, site), None))
        except TemplateProblem as problem:
            results.append((index, None, problem.diagnostic))
    return results


def render_pages(
    outputs: Sequence[Output], todo: Sequence[int], specs: Sequence, site
) -> Iterator[Output]:
    """Every output with its bytes (kept ones as they are), in no particular order.

    `todo` are the indices of the outputs to render, each from the spec at the same index.
    Pages are rendered in batches, each handed on as soon as it is done, so the whole site is
    never held in memory at once. When there are many, the build process renders batches beside
    `cpu_count - 1` forked workers: every forked worker ends up with a private copy of much of
    what it inherits (about 80 MiB at 4,000 articles), so one fewer is that much less memory.
    Raises `TemplateErrors` at the end when a page could not be rendered.
    """
    global _WORK
    pending = set(todo)
    for index, item in enumerate(outputs):
        if index not in pending:
            yield item
    problems: list[tuple[int, Diagnostic]] = []
    step = max(16, -(-len(todo) // 16))
    queued = deque((lo, min(lo + step, len(todo))) for lo in range(0, len(todo), step))
    method = start_method()
    forks = method == "fork" and len(todo) >= PARALLEL_PAGES
    helpers = (os.cpu_count() or 1) - 1 if forks else 0
    running: deque = deque()
    pool = None
    _WORK = (todo, specs, site)
    try:
        if helpers > 0:
            pool = process_pool(helpers, "fork")
        while queued or running:
            while pool is not None and queued and len(running) < 2 * helpers:
                running.append(pool.submit(_render_range, queued.popleft()))
            if running and (running[0].done() or not queued):
                batch = running.popleft().result()
            else:
                batch = _render_range(queued.popleft())
            for index, data, problem in batch:
                if problem is not None:
                    problems.append((index, problem))
                else:
                    yield replace(outputs[index], data=data)
    finally:
        _WORK = None
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    if problems:
        raise TemplateErrors(_once_each(problems, outputs))


def _once_each(
    problems: list[tuple[int, Diagnostic]], outputs: Sequence[Output]
) -> list[Diagnostic]:
    """One diagnostic per template error, saying how many pages it stopped and naming one."""
    pages: dict[Diagnostic, list[str]] = {}
    for index, problem in sorted(problems, key=lambda item: item[0]):
        pages.setdefault(problem, []).append(outputs[index].path)
    out = []
    for problem, paths in pages.items():
        where = paths[0] if len(paths) == 1 else f"{len(paths)} pages, the first {paths[0]}"
        out.append(replace(problem, message=f"{problem.message} (rendering {where})"))
    return out
