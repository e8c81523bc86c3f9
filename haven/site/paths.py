""" "Start here" paths: the articles `start_here:` in site.yaml names, resolved to published ones.

Pure: the same config and articles give the same paths and the same diagnostics. The build
reports an entry that names no published article as a warning (an error with --strict), and
`check` as an error, each with the line of site.yaml to fix.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ..model import WARNING, Diagnostic, Document


@dataclass(frozen=True)
class ReadingPath:
    """A path with the published articles it names, in its order."""

    id: str  # anchor on the home page: 'path-<id>'
    title: str
    description: str
    articles: tuple[str, ...]  # Document.path of each published article, in order


@dataclass(frozen=True)
class Place:
    """Where an article stands in one path: part `number` of `count`, and its neighbours."""

    path: ReadingPath
    number: int  # 1-based
    count: int
    prev: str | None  # Document.path
    next: str | None


def resolve_paths(
    config, articles: Sequence[Document], unpublished: Mapping[str, tuple[str, str]] = {}
) -> tuple[list[ReadingPath], list[Diagnostic]]:
    """Each `start_here` path with the published articles it names; a diagnostic for each other.

    `unpublished` maps a document's `rel` ('articles/x.md') to (url, why), as the pipeline
    knows it, so that the warning can say "a draft" rather than "no such file".
    """
    by_rel = {d.rel: d.path for d in articles}
    paths: list[ReadingPath] = []
    diags: list[Diagnostic] = []
    for i, spec in enumerate(config.start_here):
        found = []
        for j, name in enumerate(spec.articles):
            rel = "articles/" + name
            if rel in by_rel:
                found.append(by_rel[rel])
                continue
            if rel in unpublished:
                message = f"'{name}' is {unpublished[rel][1]} and not published"
                hint = "publish it, or take it out of the path for now"
            else:
                message = f"no article content/articles/{name}"
                hint = "check the file name below content/articles/"
            line = spec.lines[j] if j < len(spec.lines) else None
            diags.append(
                Diagnostic(
                    WARNING,
                    "site.yaml",
                    line,
                    None,
                    f"start-here path '{spec.title}': {message}; the path skips it",
                    key=f"start_here[{i}].articles[{j}]",
                    hint=hint,
                    code="start-here-missing",
                )
            )
        if found:
            paths.append(ReadingPath(spec.id, spec.title, spec.description, tuple(found)))
    return paths, diags


def places(paths: Sequence[ReadingPath]) -> dict[str, list[Place]]:
    """Document.path -> its place in each path that has it, in the order of site.yaml."""
    out: dict[str, list[Place]] = {}
    for path in paths:
        items = path.articles
        for n, doc in enumerate(items):
            out.setdefault(doc, []).append(
                Place(
                    path,
                    n + 1,
                    len(items),
                    items[n - 1] if n > 0 else None,
                    items[n + 1] if n + 1 < len(items) else None,
                )
            )
    return out
