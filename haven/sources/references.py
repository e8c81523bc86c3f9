"""The bibliography (`content/references.yaml`) and how a reference is shown."""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml
from markupsafe import Markup, escape

from ..model import ERROR, WARNING, Diagnostic, Document

REFERENCES_FILE = "content/references.yaml"
_FIELDS = ("key", "authors", "year", "title", "container", "volume", "issue", "pages", "doi", "url")


@dataclass(frozen=True)
class Reference:
    key: str
    authors: str  # '' for a work with no author (a law, a web page of an organisation)
    year: str
    title: str
    container: str = ""
    volume: str = ""
    issue: str = ""
    pages: str = ""
    doi: str = ""
    url: str = ""
    line: int | None = None

    @property
    def link(self) -> str:
        return f"https://doi.org/{self.doi}" if self.doi else self.url

    def html(self) -> Markup:
        """`Authors (Year). Title. Container, volume(issue), pages. link` with every part escaped."""
        year = Markup(" (%s). ") % (self.year or "n.d.")
        title = escape(self.title.rstrip("."))
        # With no author, the title takes the author's place (APA style).
        if self.authors:
            parts = [escape(self.authors), year, title, Markup(". ")]
        else:
            parts = [title, year]
        if self.container:
            where = escape(self.container)
            if self.volume:
                where += Markup(", ") + escape(self.volume)
                if self.issue:
                    where += Markup("(%s)") % self.issue
            if self.pages:
                where += Markup(", ") + escape(self.pages)
            parts.append(Markup("<cite>%s</cite>. ") % where)
        if self.link:
            label = f"doi:{self.doi}" if self.doi else self.link
            parts.append(Markup('<a href="%s" rel="noreferrer">%s</a>') % (self.link, label))
        return Markup("").join(parts)


_PARSED: dict[str, tuple[str, tuple[dict[str, Reference], list[Diagnostic]]]] = {}


def load_references(root: Path) -> tuple[dict[str, Reference], list[Diagnostic]]:
    """Read the bibliography; a missing file is an empty bibliography."""
    path = root / REFERENCES_FILE
    if not path.exists():
        return {}, []
    text = path.read_text(encoding="utf-8-sig")
    # The dev server builds again on every save: parse the bibliography only when it changed.
    known = _PARSED.get(str(path))
    if known is not None and known[0] == text:
        refs, diags = known[1]
        return dict(refs), list(diags)
    result = _parse_references(text)
    _PARSED[str(path)] = (text, result)
    return dict(result[0]), list(result[1])


def _parse_references(text: str) -> tuple[dict[str, Reference], list[Diagnostic]]:
    diags: list[Diagnostic] = []
    try:
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)(text)
        try:
            node = loader.get_single_node()
            data = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
    except (yaml.YAMLError, ValueError) as exc:
        mark = getattr(exc, "problem_mark", None)
        return {}, [
            Diagnostic(
                ERROR,
                REFERENCES_FILE,
                mark.line + 1 if mark else None,
                None,
                f"invalid YAML: {getattr(exc, 'problem', None) or exc}",
            )
        ]
    if data is None:
        return {}, []
    if not isinstance(data, list):
        return {}, [Diagnostic(ERROR, REFERENCES_FILE, 1, None, "expected a list of references")]
    refs: dict[str, Reference] = {}
    for i, item in enumerate(data):
        line = node.value[i].start_mark.line + 1 if node is not None else None
        if not isinstance(item, dict) or not item.get("key"):
            diags.append(
                Diagnostic(ERROR, REFERENCES_FILE, line, None, "each reference needs a key")
            )
            continue
        unknown = set(item) - set(_FIELDS)
        if unknown:
            diags.append(
                Diagnostic(
                    ERROR,
                    REFERENCES_FILE,
                    line,
                    None,
                    f"unknown field {sorted(unknown)[0]!r}",
                    key=str(item["key"]),
                    hint=f"fields are {', '.join(_FIELDS)}",
                )
            )
        missing = [f for f in ("title",) if not item.get(f)]
        if missing:
            diags.append(
                Diagnostic(
                    ERROR,
                    REFERENCES_FILE,
                    line,
                    None,
                    f"missing {', '.join(missing)}",
                    key=str(item["key"]),
                )
            )
            continue
        key = str(item["key"])
        if key in refs:
            diags.append(
                Diagnostic(ERROR, REFERENCES_FILE, line, None, "key is used twice", key=key)
            )
        refs[key] = Reference(
            **{f: "" if item.get(f) is None else str(item[f]) for f in _FIELDS}, line=line
        )
    return refs, diags


def citation_problems(
    refs, docs: Sequence[Document], rendered: dict, *, report_unused: bool = True
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
