"""Search: the records a reader can find, the browser's help data, and Pagefind's index of them.

Haven makes the index input itself, as data: one `SearchRecord` per published page (Get help
first, then the other standalone pages, then the articles), holding the title, the summary, the
body's text section by section (without citation marks, footnotes or code), the topic labels as
filters and the content note. Navigation, support blocks, reference lists and every other part of
the theme never reach the index, whatever the templates look like.

Each record is written as a small HTML document (headings kept, so Pagefind's heading weights and
section results still work) into a working folder beside the staging folder, and one run of the Pagefind binary indexes that
folder into the staging folder's `pagefind/`, before the writer swaps it into place: a failure
leaves the published site as it was. Pagefind's Python API (`pagefind.index.PagefindIndex`) was
measured for this and not used: its client reads one reply per 100 ms poll (0.1 s a record, 400 s
at 4,000 articles), and a service that dies leaves its caller waiting until a timeout. One process
with a timeout, killed on any exception, outlives no build.

The same records give `search/data.json`, which the search script loads with the first query: the
site's own vocabulary (titles, topic labels, headings) for "did you mean", the crisis terms of
`site.yaml`, and the lines the support panel shows.

Sub-paths: Pagefind stores site-relative result URLs (`/articles/x/`); the search script passes
the site's base path as Pagefind's `baseUrl`, so the same index works at `/haven/`.

Pagefind dies with the build (on Linux): a `kill -9` of the build leaves no Pagefind writing into
a staging folder; its working folder carries the writer's staging mark, so the next build
removes it.
"""

from __future__ import annotations

import hashlib
import html
import json
import os
import re
import shutil
import subprocess
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

from .config import SiteConfig
from .model import ERROR, Diagnostic, Document, Output
from .render import die_with_parent
from .writer import link_tree

BUNDLE_DIR = "pagefind"
STAGING_MARK = ".haven-staging"  # as haven/writer.py marks its staging folders
DATA_PATH = "search/data.json"  # output path of the browser's help data
TIMEOUT_SECONDS = 600
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
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
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


def make_records(
    config: SiteConfig,
    pages: Sequence[Document],
    articles: Sequence[Document],
    *,
    html_of: Callable[[str], str],
    topics_of: Callable[[str], Sequence[str]],
    now: datetime,
) -> list[SearchRecord]:
    """A record per published page: Get help first, then the other pages, then the articles.

    Drafts and articles dated after `now` are left out even when the build shows them
    (`--drafts`, `--future`): search finds only what is published.
    """
    notes = config.content_notes
    help_pages, others, found = [], [], []
    for doc in sorted(pages, key=lambda d: d.slug):
        if doc.draft:
            continue
        record = _page_record(config, doc, html_of(doc.path))
        (help_pages if record.kind == "help" else others).append(record)
    if not any(r.url == "/get-help/" for r in help_pages):
        help_pages.append(_help_record(config, "Get help", "Support services you can contact now."))
    help_pages.sort(key=lambda r: (r.url != "/get-help/", r.url))
    for doc in sorted(articles, key=lambda d: d.slug):
        if doc.draft or (doc.date is not None and doc.date > now):
            continue
        labels = [notes[k].label for k in doc.meta.content_notes if k in notes]
        found.append(
            SearchRecord(
                url=f"/articles/{doc.slug}/",
                kind="article",
                title=doc.title,
                summary=doc.meta.summary,
                sections=body_sections(html_of(doc.path)),
                topics=tuple(topics_of(doc.path)),
                content_note=f"This page talks about {_join(labels)}." if labels else "",
            )
        )
    return [*help_pages, *others, *found]


def _page_record(config: SiteConfig, doc: Document, body_html: str) -> SearchRecord:
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


def records_key(
    config: SiteConfig,
    pages: Sequence[Document],
    articles: Sequence[Document],
    *,
    body_keys: dict[str, str],
    topics_of: Callable[[str], Sequence[str]],
    now: datetime,
) -> str:
    """A digest of everything the records and the help data are made of (not the records).

    Equal keys give the same index: the build keeps the previous one without reading a body.
    """
    h = hashlib.blake2b(digest_size=16)

    def add(*parts: object) -> None:
        h.update(repr(parts).encode("utf-8"))

    add(_SOURCE, _pagefind_version(), config.language, config.base_path)
    add(config.crisis_terms, config.default_region, sorted(config.emergency.items()))
    add(config.support, sorted(config.regions.items()))
    add(sorted((k, n.label) for k, n in config.content_notes.items()))
    for doc in [*pages, *articles]:
        if doc.draft or (doc.kind == "article" and doc.date is not None and doc.date > now):
            continue
        add(doc.path, doc.slug, doc.title, body_keys.get(doc.path, doc.digest))
        add(doc.meta.summary, doc.meta.layout, doc.meta.content_notes)
        if doc.kind == "article":
            add(tuple(topics_of(doc.path)))
    return h.hexdigest()


def _pagefind_version() -> str:
    try:
        from importlib.metadata import version

        return version("pagefind_bin")
    except Exception:  # no wheel: a binary on PATH, whose version the key cannot know
        return str(find_pagefind())


# -- what the browser loads ---------------------------------------------------------------------


def vocabulary(records: Iterable[SearchRecord], limit: int = VOCABULARY_BYTES) -> list[str]:
    """Words of the titles, topic labels and headings, most used first, within `limit` bytes."""
    counts: Counter[str] = Counter()
    for r in records:
        texts = [r.title, *r.topics, *(s.heading for s in r.sections)]
        for text in texts:
            for word in _WORD.findall(unicodedata.normalize("NFC", text).lower()):
                if len(word) >= 4:
                    counts[word.replace("’", "'")] += 1
    words, size = [], 2
    for word, _count in sorted(counts.items(), key=lambda item: (-item[1], item[0])):
        size += len(json.dumps(word, ensure_ascii=False).encode("utf-8")) + 1
        if size > limit:
            break
        words.append(word)
    return words


def normalise_term(term: str) -> str:
    """How a crisis term and a query are compared: lower case, words separated by one space."""
    text = unicodedata.normalize("NFKC", term).lower()
    return " ".join(re.sub(r"[^\w]+|_", " ", text).split())


def search_data(config: SiteConfig, records: Sequence[SearchRecord]) -> bytes:
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


def find_pagefind() -> Path | None:
    """The Pagefind binary: $PAGEFIND_BINARY_PATH, the `pagefind_bin` wheel, or one on PATH."""
    try:
        from pagefind.service import get_executable
    except ImportError:
        get_executable = None
    if get_executable is not None:
        try:
            found = get_executable()
        except OSError:  # pagefind_bin raises when its binary is missing from the wheel
            found = None
        if found is not None and Path(found).is_file():
            return Path(found)
    for name in ("pagefind_extended", "pagefind"):
        if external := shutil.which(name):
            return Path(external)
    return None


def index_records(
    records: Sequence[SearchRecord], site_dir: Path, *, language: str = "en", quiet: bool = True
) -> list[Diagnostic]:
    """Index `records` into `site_dir/pagefind/`; problems come back as data, naming the step."""
    site_dir = Path(site_dir).resolve()
    if not site_dir.is_dir():
        return [_error(f"cannot index into {site_dir}: not a folder")]
    if not records:
        return [_error("nothing to index: the site has no published page")]
    binary = find_pagefind()
    if binary is None:
        return [
            _error(
                "the Pagefind binary was not found",
                hint="install it with `pip install 'pagefind[bin]'`, or set PAGEFIND_BINARY_PATH",
            )
        ]
    # Pagefind overwrites an existing bundle file by file and leaves stale ones behind: start
    # clean, so nothing stale survives and nothing is written through a hard link the writer may
    # share with the live site.
    bundle = site_dir / BUNDLE_DIR
    try:
        if bundle.is_symlink() or bundle.is_file():
            bundle.unlink()
        elif bundle.exists():
            shutil.rmtree(bundle)
    except OSError as exc:
        return [_error(f"cannot remove the old search index {bundle}: {exc.strerror or exc}")]
    # Beside the staging folder, named like one of the writer's and marked as one: if the build
    # is killed, the next build removes it.
    work = site_dir.with_name(f"{site_dir.name}-pagefind")
    try:
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir()
        (work / STAGING_MARK).touch()
    except OSError as exc:
        return [_error(f"cannot make Pagefind's working folder {work}: {exc.strerror or exc}")]
    try:
        folder = Path(work, "records")
        try:
            for record in records:
                rel = record.url.strip("/")
                target = folder / rel / "index.html" if rel else folder / "index.html"
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(record_html(record, language), encoding="utf-8")
        except OSError as exc:
            return [_error(f"cannot write the search records in {folder}: {exc.strerror or exc}")]
        cwd = Path(work, "cwd")
        cwd.mkdir()
        problems = _run_pagefind(binary, folder, bundle, cwd, len(records), quiet)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if problems:
        return problems
    if not (bundle / "pagefind-entry.json").is_file():
        return [_error("Pagefind finished but wrote no pagefind/pagefind-entry.json")]
    return []


def _run_pagefind(
    binary: Path, folder: Path, bundle: Path, cwd: Path, count: int, quiet: bool
) -> list[Diagnostic]:
    command = [str(binary), "--site", str(folder), "--output-path", str(bundle)]
    if quiet:
        command.append("--quiet")
    # An empty working directory, and no PAGEFIND_* variables, so a stray pagefind.yml or an
    # environment setting cannot change the index (or switch on `--serve`).
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("PAGEFIND_")}
    env["NO_COLOR"] = "1"
    what = f"indexing {count} search record(s)"
    try:
        # run() kills the process on a timeout and on any exception (Ctrl-C included), so no
        # Pagefind process outlives the build.
        done = subprocess.run(
            command,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            encoding="utf-8",
            errors="replace",
            timeout=TIMEOUT_SECONDS,
            preexec_fn=die_with_parent,
        )
    except subprocess.TimeoutExpired:
        return [_error(f"Pagefind did not finish {what} within {TIMEOUT_SECONDS} seconds")]
    except OSError as exc:
        return [_error(f"could not run Pagefind ({binary}): {exc.strerror or exc}")]
    finally:
        shutil.rmtree(cwd, ignore_errors=True)
    if done.returncode != 0:
        detail = _clean(done.stderr) or _clean(done.stdout) or "no output"
        return [
            _error(
                f"Pagefind failed (exit {done.returncode}) {what}: {detail}",
                hint=f"run `{binary} --site DIR` on a folder of HTML pages to see more",
            )
        ]
    return []


def _clean(output: str) -> str:
    """Pagefind's messages on one line: colours removed, duplicate lines dropped."""
    lines = []
    for line in _ANSI.sub("", output).splitlines():
        line = line.strip()
        if line and line not in lines:
            lines.append(line)
    return " ".join(lines)


def _error(message: str, hint: str | None = None) -> Diagnostic:
    return Diagnostic(ERROR, BUNDLE_DIR, None, None, message, hint=hint, code="search-index")


# -- the build's search step ---------------------------------------------------------------------


class IndexStep:
    """The writer's `before_swap` for search: keep the previous index, or index the records."""

    def __init__(self, out: Path, keeps: bool, records, make, language: str, reporter):
        self.out, self.keeps, self.records, self.make = out, keeps, records, make
        self.language, self.reporter = language, reporter

    def __call__(self, staging: Path, changed: list[str]) -> list[Diagnostic]:
        if self.keeps and link_tree(self.out / BUNDLE_DIR, staging / BUNDLE_DIR):
            return []
        self.reporter.stage("indexing")
        records = self.records if self.records is not None else self.make()
        return index_records(records, staging, language=self.language)


def index_step(config, out, previous, pages, articles, bodies, taxonomy, now, reporter):
    """The search records' key, `search/data.json` as an output, and the writer's index step.

    `previous` is the output folder's build state ({} for a clean build).

    The index and the data change only with what the records are made of (titles, summaries,
    bodies, topics, support lines): a template or a stylesheet edit keeps the previous index.
    """

    def topics_of(path: str) -> list[str]:
        return [taxonomy.topics[k].label for k in taxonomy.by_article.get(path, ())]

    def html_of(path: str) -> str:
        found = bodies.store.body_html(bodies.keys[path])
        return found if found is not None else bodies.body_of(path).html

    def make() -> list:
        return make_records(config, pages, articles, html_of=html_of, topics_of=topics_of, now=now)

    key = records_key(config, pages, articles, body_keys=bodies.keys, topics_of=topics_of, now=now)
    old = previous
    old_data = old.get("digests", {}).get(DATA_PATH)
    keeps = bool(
        old.get("search") == key
        and old_data
        and (out / BUNDLE_DIR / "pagefind-entry.json").is_file()
    )
    records = None
    if keeps:
        output = Output(DATA_PATH, None, "haven/search.py", reuse=old_data)
    else:
        reporter.stage("search records")
        records = make()
        output = Output(DATA_PATH, search_data(config, records), "haven/search.py")
    return key, output, IndexStep(out, keeps, records, make, config.language, reporter)
