"""Search records: what a reader can find, and the browser's help data.

Haven makes the index input itself, as data: one `SearchRecord` per published page (Get help
first, then the other standalone pages, then the articles), holding the title, the summary, the
body's text section by section (without citation marks, footnotes or code), the topic labels as
filters and the content note. Navigation, support blocks, reference lists and every other part of
the theme never reach the index, whatever the templates look like. Each record is given to
Pagefind as a small HTML document (`record_html`: headings kept, so Pagefind's heading weights and
section results still work); haven/search/index.py turns the records into the index.

The same records give `search/data.json`, which the search script loads with the first query: the
site's own vocabulary (titles, topic labels, headings) for "did you mean", the crisis terms of
`site.yaml`, and the lines the support panel shows.

Sub-paths: Pagefind stores site-relative result URLs (`/articles/x/`); the search script passes
the site's base path as Pagefind's `baseUrl`, so the same index works at `/haven/`.
"""

from __future__ import annotations

import hashlib
import html
import json
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from functools import lru_cache, partial
from itertools import chain
from pathlib import Path

from ..config import SiteConfig
from ..model import Document

DATA_PATH = "search/data.json"  # output path of the browser's help data
KEYWORD_WEIGHT = 10  # Pagefind's highest: Get help outranks any article for a crisis word
VOCABULARY_BYTES = 12_000  # the vocabulary's share of the search page's weight budget
# What a reader looking for a line may type, beyond the crisis terms: all lead to Get help.
HELP_WORDS = (
    "help",
    "get help",
    "helpline",
    "hotline",
    "crisis line",
    "phone number",
    "emergency",
    "talk to someone",
    "support",
)
# This module's own source: editing how records are made or written makes a new index.
_SOURCE = hashlib.blake2b(Path(__file__).read_bytes(), digest_size=8).hexdigest()
_TOKEN = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9]*)([^>]*)>|([^<]+)")
_ID = re.compile(r'\sid="([^"]*)"')
_HEADINGS = {"h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}
_BLOCKS = frozenset("p li dt dd td th caption blockquote div section br tr ul ol dl table".split())
_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?")


@dataclass(frozen=True)
class Section:
    """One part of a page's body: the text under a heading (level 0: before the first one)."""

    level: int
    anchor: str  # the heading's id, for a result that leads to the section
    heading: str
    text: str


@dataclass(frozen=True)
class SearchRecord:
    """What the index holds of one page, and nothing of the theme around it."""

    url: str  # site-relative, '/articles/x/'
    kind: str  # 'help' | 'page' | 'article'
    title: str
    summary: str = ""
    sections: tuple[Section, ...] = ()
    topics: tuple[str, ...] = ()  # topic labels: the `topic` filter
    content_note: str = ""  # 'This page talks about ...', shown with the result
    keywords: tuple[str, ...] = ()  # words the page answers without using (Get help)


# -- records ----------------------------------------------------------------------------------


def body_sections(body_html: str) -> tuple[Section, ...]:
    """The text of a rendered body, split at its headings; citation marks, footnotes and code left out.

    `body_html` is what `markup.render` gives (sanitised by nh3, so every tag is well formed).
    """
    sections: list[Section] = []
    level, anchor, heading = 0, "", ""
    parts: list[str] = []
    title: list[str] | None = None  # text of the heading being read
    skip, skip_name, skip_depth = False, "", 0
    for m in _TOKEN.finditer(body_html):
        text = m.group(4)
        if text is not None:
            if skip:
                continue
            (title if title is not None else parts).append(html.unescape(text))
            continue
        closing, name, attrs = m.group(1) == "/", m.group(2).lower(), m.group(3)
        if skip:
            if name == skip_name:
                skip_depth += -1 if closing else 1
                skip = skip_depth > 0
            continue
        if not closing and _skipped(name, attrs):
            skip, skip_name, skip_depth = True, name, 1
            continue
        if name in _HEADINGS:
            if not closing:
                _close(sections, level, anchor, heading, parts)
                found = _ID.search(attrs)
                level, anchor = _HEADINGS[name], html.unescape(found.group(1)) if found else ""
                heading, parts, title = "", [], []
            elif title is not None:
                heading, title = _squash("".join(title)), None
        elif name in _BLOCKS:
            (title if title is not None else parts).append(" ")
    _close(sections, level, anchor, heading, parts)
    return tuple(sections)


def _skipped(name: str, attrs: str) -> bool:
    """Citation marks and footnote references (`sup`), the footnotes themselves, code blocks."""
    return (
        name == "sup"
        or name == "pre"
        or (name == "div" and 'class="footnote"' in attrs)
        or (name == "section" and 'class="footnotes"' in attrs)
    )


def _close(sections: list[Section], level: int, anchor: str, heading: str, parts: list[str]):
    text = _squash("".join(parts))
    if text or heading:
        sections.append(Section(level, anchor, heading, text))


def _squash(text: str) -> str:
    """Single spaces, and none left before punctuation where a citation mark was removed."""
    return re.sub(r" ([.,;:!?)])", r"\1", " ".join(text.split()))


@dataclass(frozen=True)
class RecordSource:
    """A record not made yet: its URL, a digest of everything it is made of, and how to make it.

    The index keeps each record's key: a record whose key is unchanged is not made again.
    """

    url: str
    key: str
    make: Callable[[], SearchRecord]


def record_sources(
    config: SiteConfig,
    pages: Sequence[Document],
    articles: Sequence[Document],
    *,
    html_of: Callable[[str], str],
    topics_of: Callable[[str], Sequence[str]],
    now: datetime,
    body_keys: dict[str, str] | None = None,
) -> list[RecordSource]:
    """A source per published page: Get help first, then the other pages, then the articles.

    Drafts and articles dated after `now` are left out even when the build shows them
    (`--drafts`, `--future`): search finds only what is published. `body_keys` (path -> key of
    the rendered body) stand for the bodies in the keys; without them the file's digest does.
    """
    body_keys = body_keys or {}
    shared = hashlib.blake2b(repr(_shared_key(config)).encode("utf-8"), digest_size=16).digest()
    notes = config.content_notes
    help_pages, others, found = [], [], []

    def key(*parts: object) -> str:
        h = hashlib.blake2b(shared, digest_size=16)
        h.update(repr(parts).encode("utf-8"))
        return h.hexdigest()

    for doc in sorted(pages, key=lambda d: d.slug):
        if doc.draft:
            continue
        is_help = doc.meta.layout == "help" or doc.slug == "get-help"
        source = RecordSource(
            f"/{doc.slug}/",
            key(
                doc.path,
                doc.slug,
                doc.title,
                body_keys.get(doc.path, doc.digest),
                is_help,
                doc.meta.summary,
            ),
            partial(_page_record, config, doc, html_of),
        )
        (help_pages if is_help else others).append(source)
    if not any(s.url == "/get-help/" for s in help_pages):
        summary = "Support services you can contact now."
        help_pages.append(
            RecordSource(
                "/get-help/", key("get-help"), partial(_help_record, config, "Get help", summary)
            )
        )
    help_pages.sort(key=lambda s: (s.url != "/get-help/", s.url))
    for doc in sorted(articles, key=lambda d: d.slug):
        if doc.draft or (doc.date is not None and doc.date > now):
            continue
        labels = tuple(notes[k].label for k in doc.meta.content_notes if k in notes)
        topics = tuple(topics_of(doc.path))
        found.append(
            RecordSource(
                f"/articles/{doc.slug}/",
                key(
                    doc.path,
                    doc.slug,
                    doc.title,
                    body_keys.get(doc.path, doc.digest),
                    doc.meta.summary,
                    labels,
                    topics,
                ),
                partial(_article_record, doc, html_of, topics, labels),
            )
        )
    return [*help_pages, *others, *found]


def make_records(
    config: SiteConfig,
    pages: Sequence[Document],
    articles: Sequence[Document],
    *,
    html_of: Callable[[str], str],
    topics_of: Callable[[str], Sequence[str]],
    now: datetime,
) -> list[SearchRecord]:
    """A record per published page: Get help first, then the other pages, then the articles."""
    sources = record_sources(config, pages, articles, html_of=html_of, topics_of=topics_of, now=now)
    return [s.make() for s in sources]


def _shared_key(config: SiteConfig) -> tuple:
    """What every record may be made of beyond its own document: this module and site.yaml's
    support lines, crisis terms, regions and content-note labels."""
    return (
        _SOURCE,
        config.language,
        config.crisis_terms,
        config.default_region,
        sorted(config.emergency.items()),
        config.support,
        sorted(config.regions.items()),
    )


def _article_record(doc: Document, html_of, topics: tuple, labels: tuple) -> SearchRecord:
    return SearchRecord(
        url=f"/articles/{doc.slug}/",
        kind="article",
        title=doc.title,
        summary=doc.meta.summary,
        sections=body_sections(html_of(doc.path)),
        topics=topics,
        content_note=f"This page talks about {_join(labels)}." if labels else "",
    )


def _page_record(config: SiteConfig, doc: Document, html_of) -> SearchRecord:
    body_html = html_of(doc.path)
    if doc.meta.layout == "help" or doc.slug == "get-help":
        record = _help_record(config, doc.title, doc.meta.summary, f"/{doc.slug}/")
        return replace(record, sections=body_sections(body_html) + record.sections)
    return SearchRecord(
        url=f"/{doc.slug}/",
        kind="page",
        title=doc.title,
        summary=doc.meta.summary,
        sections=body_sections(body_html),
    )


def _help_record(config: SiteConfig, title: str, summary: str, url: str = "/get-help/"):
    """Get help: its own text, then every region's emergency number and lines, as the page lists them."""
    sections = []
    for code in _regions(config):
        name = config.regions.get(code, code)
        parts = []
        if code in config.emergency:
            parts.append(f"If you are in immediate danger, call {config.emergency[code]}.")
        for s in config.support:
            if s.region != code:
                continue
            parts.append(f"{s.name}{f' ({s.area})' if s.area else ''}.")
            parts += [f"{s.what}." if s.what else "", f"Call {s.phone}." if s.phone else ""]
            parts += [f"Text {s.text}." if s.text else "", f"{s.hours}." if s.hours else ""]
            parts.append(f"{s.cost}." if s.cost else "")
        sections.append(Section(2, "", name, _squash(" ".join(parts))))
    return SearchRecord(
        url=url,
        kind="help",
        title=title,
        summary=summary,
        sections=tuple(sections),
        keywords=tuple(dict.fromkeys((*config.crisis_terms, *HELP_WORDS))),
    )


def _regions(config: SiteConfig) -> list[str]:
    """The site's default region first, then the others in order of their codes."""
    codes = sorted({s.region for s in config.support} | set(config.emergency))
    return sorted(codes, key=lambda c: c != config.default_region)


def _join(labels: Sequence[str]) -> str:
    """As the theme joins them: a comma before the last "and" when a label has one of its own."""
    if len(labels) < 2:
        return "".join(labels)
    last = ", and " if len(labels) > 2 or any(" and " in x for x in labels) else " and "
    return ", ".join(labels[:-1]) + last + labels[-1]


def records_key(sources: Sequence[RecordSource], pagefind: str | None) -> str:
    """A digest of every record's key and of the Pagefind that indexes them (not the records).

    Equal keys give the same index and help data: the build keeps the previous ones without
    reading a body.
    """
    h = hashlib.blake2b(repr(pagefind).encode("utf-8"), digest_size=16)
    for s in sources:
        h.update(f"\0{s.url}\0{s.key}".encode())
    return h.hexdigest()


# -- what the browser loads ---------------------------------------------------------------------


def record_terms(record: SearchRecord) -> tuple[str, ...]:
    """The words a record gives the vocabulary: those of its title, topic labels and headings
    (the index keeps them for the records it does not make again)."""
    texts = (record.title, *record.topics, *(s.heading for s in record.sections if s.heading))
    return tuple(chain.from_iterable(map(_words, texts)))


def vocabulary(
    records: Iterable[SearchRecord | tuple[str, ...]], limit: int = VOCABULARY_BYTES
) -> list[str]:
    """Words of the titles, topic labels and headings, most used first, within `limit` bytes.

    Each item is a record or its `record_terms`.
    """
    counts = Counter(
        chain.from_iterable(record_terms(r) if isinstance(r, SearchRecord) else r for r in records)
    )
    words, size = [], 2
    for word, _count in sorted(counts.items(), key=lambda item: (-item[1], item[0])):
        size += len(json.dumps(word, ensure_ascii=False).encode("utf-8")) + 1
        if size > limit:
            break
        words.append(word)
    return words


@lru_cache(maxsize=1 << 12)
def _words(text: str) -> tuple[str, ...]:
    """The vocabulary's words of one title, label or heading (topic labels come back often)."""
    found = _WORD.findall(unicodedata.normalize("NFC", text).lower())
    return tuple(w.replace("’", "'") for w in found if len(w) >= 4)


def normalise_term(term: str) -> str:
    """How a crisis term and a query are compared: lower case, words separated by one space."""
    text = unicodedata.normalize("NFKC", term).lower()
    return " ".join(re.sub(r"[^\w]+|_", " ", text).split())


def search_data(config: SiteConfig, records: Iterable[SearchRecord | tuple[str, ...]]) -> bytes:
    """`search/data.json`: the crisis terms, the support panel's lines and the vocabulary."""

    default = config.default_region
    lines = [
        {
            "name": s.name + (f" ({s.area})" if s.area else ""),
            "phone": s.phone,
            "tel": s.tel,
            "text": s.text,
            "sms": s.sms,
            "hours": s.hours,
        }
        for s in config.support
        if s.region == default
    ]
    # Words that ask for a line: Get help comes first for them (and for every crisis term).
    pins = set(map(normalise_term, HELP_WORDS))
    for s in config.support:
        pins.update(w for w in normalise_term(s.name).split() if len(w) >= 4 or w.isdigit())
        pins.update(x for x in (s.tel, s.sms) if x)
    pins.update(re.sub(r"[^\d]", "", n) for n in config.emergency.values())
    data = {
        "crisis": sorted({t for t in map(normalise_term, config.crisis_terms) if t}),
        "pin": sorted(w for w in pins if w),
        "help": {
            "region": config.regions.get(default, default) if default else "",
            "lines": lines,
            "emergency": [
                {
                    "region": config.regions.get(code, code),
                    "number": config.emergency[code],
                    "tel": re.sub(r"[^\d+]", "", config.emergency[code]),
                }
                for code in _regions(config)
                if code in config.emergency
            ],
        },
        "words": vocabulary(records),
    }
    return (
        json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":")) + "\n"
    ).encode("utf-8")


# -- Pagefind ---------------------------------------------------------------------------------


def record_html(record: SearchRecord, language: str) -> str:
    """The small HTML document Pagefind reads for one record."""
    e = html.escape
    out = [
        f'<!doctype html>\n<html lang="{e(language)}"><head><meta charset="utf-8">'
        f"<title>{e(record.title)}</title></head>\n<body data-pagefind-body>\n"
        f"<h1>{e(record.title)}</h1>\n"
    ]
    if record.summary:
        out.append(f'<p data-pagefind-meta="summary">{e(record.summary)}</p>\n')
    for s in record.sections:
        if s.level:
            ident = f' id="{e(s.anchor)}"' if s.anchor else ""
            out.append(f"<h{s.level}{ident}>{e(s.heading)}</h{s.level}>\n")
        if s.text:
            out.append(f"<p>{e(s.text)}</p>\n")
    if record.keywords:
        words = ", ".join(record.keywords)
        out.append(f'<p data-pagefind-weight="{KEYWORD_WEIGHT}">{e(words)}</p>\n')
    out.append("<div data-pagefind-ignore>")
    out.append(f'<span data-pagefind-meta="kind">{e(record.kind)}</span>')
    if record.kind == "help":
        # One value only, so the filter's file is the same on every run: the browser asks for
        # the help pages alone, to put them first.
        out.append('<span data-pagefind-filter="help">yes</span>')
    if record.content_note:
        out.append(f'<span data-pagefind-meta="content_note">{e(record.content_note)}</span>')
    for label in record.topics:
        out.append(f'<span data-pagefind-filter="topic">{e(label)}</span>')
    out.append("</div>\n</body></html>\n")
    return "".join(out)
