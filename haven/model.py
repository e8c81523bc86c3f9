"""Plain data that flows one way through the pipeline.

config -> content (Document) -> markup (Rendered) -> links -> taxonomy (Topic) -> pages (Output) -> writer
Every record is frozen; records refer to each other by key (a source path or a topic key).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .sources.schema import Meta

ERROR = "error"
WARNING = "warning"
INFO = "info"


@dataclass(frozen=True)
class Diagnostic:
    """One problem found in one file, reported compiler style."""

    severity: str  # ERROR | WARNING | INFO
    path: str  # project-relative POSIX path: 'content/articles/x.md', 'site.yaml'
    line: int | None
    col: int | None
    message: str
    key: str | None = None  # front-matter or config key the problem is about
    hint: str | None = None  # what to do about it ("did you mean 'tags'?")
    code: str = ""  # machine-readable kind: 'yaml-syntax', 'unknown-key', 'bad-date', ...
    source_line: str | None = None  # the offending line of the file, shown with a caret

    def location(self) -> str:
        """`path:line:col` with whatever parts are known."""
        loc = self.path
        if self.line:
            loc += f":{self.line}"
            if self.col:
                loc += f":{self.col}"
        return loc

    def format(self) -> str:
        """`content/articles/x.md:4:16: error: 'summary': message (hint)` on one line."""
        text = f"{self.location()}: {self.severity}: "
        if self.key:
            text += f"'{self.key}': "
        text += self.message
        if self.hint:
            text += f" ({self.hint})"
        return text


@dataclass(frozen=True)
class Document:
    """A Markdown source with validated front matter: an article or a standalone page."""

    kind: str  # 'article' | 'page'
    path: str  # project-relative POSIX path, e.g. 'content/articles/trust.md'
    rel: str  # path relative to content/, e.g. 'articles/trust.md' (what .md links resolve against)
    slug: str
    meta: Meta  # the front matter, typed (haven/sources/schema.py declares its fields)
    body: str  # Markdown body: BOM stripped, LF newlines
    body_line: int  # 1-based line of the source file where the body starts
    digest: str  # sha256 hex of the raw file bytes (cache key)
    key_lines: Mapping[str, int] = field(default_factory=dict)  # front-matter key -> source line

    # Cached: a build asks each document for these tens of thousands of times (sorting, keys).
    @functools.cached_property
    def title(self) -> str:
        return self.meta.title

    @functools.cached_property
    def date(self) -> datetime | None:
        """Aware datetime in the site timezone (articles always have one)."""
        return self.meta.date

    @property
    def draft(self) -> bool:
        return self.meta.draft

    @property
    def tags(self) -> tuple[str, ...]:
        return self.meta.tags


@dataclass(frozen=True)
class Heading:
    level: int  # 2..6
    id: str  # NFC, Unicode kept ('心の健康')
    text: str  # plain text of the heading


@dataclass(frozen=True)
class Link:
    """A link or image reference as the editor wrote it, with the source line it is on."""

    href: str
    line: int  # line in the source file (front matter included)
    text: str = ""


@dataclass(frozen=True)
class Citation:
    key: str  # bibliography key, without '@'
    line: int  # source line of the first use
    number: int  # 1-based, numbered by first use


@dataclass(frozen=True)
class Question:
    """One question of the question-and-answer section."""

    id: str
    question: str  # plain text
    answer_html: str
    answer_text: str  # plain text, for FAQPage JSON-LD


@dataclass(frozen=True)
class Rendered:
    """Markdown rendered to sanitised HTML, plus what later stages need to know about it."""

    html: str
    headings: tuple[Heading, ...]  # h2 and below, in order, for the table of contents
    words: int
    links: tuple[Link, ...]
    citations: tuple[Citation, ...]
    questions: tuple[Question, ...]
    text: str  # plain text of the body (readability, search, word counts)
    diagnostics: tuple[Diagnostic, ...] = ()


@dataclass(frozen=True)
class Topic:
    """A hashtag topic: one key however it is spelled."""

    key: str  # normalised identity, e.g. 'selfcare'
    slug: str  # path segment under /tags/ (NFC; fallback 't-<hash>' when the key is empty)
    label: str  # display label (vocabulary label, else most frequent spelling)
    description: str  # vocabulary description, '' when none
    in_vocabulary: bool
    articles: tuple[str, ...] = field(
        default=()
    )  # Document.path of published articles, newest first
    hashtag: str = ""  # '#TraumaInformedCare': declared in site.yaml, else from the label


@dataclass(frozen=True)
class Output:
    """One file of the built site: a path below the output folder and its bytes."""

    path: str  # POSIX path relative to the output folder, e.g. 'articles/x/index.html'
    data: bytes | None  # None: the previous build's file is kept (see `reuse`)
    source: str | None = None  # project-relative path of the file it came from, for reports
    reuse: str | None = None  # digest of the previous build's file, when its inputs are unchanged


@dataclass(frozen=True)
class BuildOptions:
    drafts: bool = False
    future: bool = False
    strict: bool = False
    clean: bool = False
    check: bool = False
    now: datetime | None = None  # judged once per build; tests pin it
    output: str | None = None  # overrides site.yaml output_dir
    serve: bool = False  # dev server build: banners for drafts, live-reload script


@dataclass(frozen=True)
class BuildResult:
    ok: bool
    diagnostics: tuple[Diagnostic, ...]
    pages_written: int = 0
    files_unchanged: int = 0
    articles: int = 0
    topics: int = 0
    drafts_skipped: int = 0
    future_skipped: int = 0
    markdown_rendered: int = 0  # cache misses: how many bodies went through Python-Markdown
    seconds: float = 0.0


def add_years(day: date, years: int) -> date:
    """The same calendar day `years` later (29 February becomes 28 February)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def aware(value: date | datetime, tz) -> datetime:
    """A date or datetime as an aware datetime in `tz` (date-only means 00:00 there)."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=tz)
    return datetime(value.year, value.month, value.day, tzinfo=tz)


@dataclass(frozen=True)
class Problem:
    """One finding of `check` (links, fragments, privacy, reviews ...), as data with a severity."""

    severity: str  # ERROR | WARNING
    kind: str  # 'broken-link', 'missing-fragment', 'orphan', 'missing-alt', 'external-404', ...
    page: str  # output-relative path of the page it was found in ('' for site-wide findings)
    target: str  # the href / src / value at fault ('' when none)
    message: str
    source: str | None = None  # project-relative source file an editor must fix
    line: int | None = None  # line in that source file, where known

    def as_dict(self) -> dict:
        return {
            "severity": self.severity,
            "kind": self.kind,
            "source": self.source,
            "line": self.line,
            "page": self.page,
            "target": self.target,
            "message": self.message,
        }
