"""Site policies that `check` enforces for readers' safety: privacy, quick exit, support lines,
review dates, reading level and leftover placeholders. Findings are `Problem`s.

What is judged of each source (review dates, placeholders, ...) comes from the build's manifest
(`haven.manifest.SourceRecord`), never from reading or rendering the sources again."""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import date, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

from selectolax.lexbor import LexborHTMLParser

from ..manifest import Finding, SourceRecord
from ..model import ERROR, INFO, WARNING, Problem, add_years
from . import readability

# Elements whose URL attribute makes the browser fetch something as the page loads.
RESOURCE_ATTRS = (
    ("script", "src"),
    ("img", "src"),
    ("iframe", "src"),
    ("frame", "src"),
    ("video", "src"),
    ("video", "poster"),
    ("audio", "src"),
    ("source", "src"),
    ("track", "src"),
    ("embed", "src"),
    ("object", "data"),
    ("input", "src"),
)
_RESOURCE_SELECTOR = ", ".join(f"{tag}[{attr}]" for tag, attr in RESOURCE_ATTRS)
_RESOURCE_TAGS: dict[str, tuple[str, ...]] = {}
for _tag, _attr in RESOURCE_ATTRS:
    _RESOURCE_TAGS[_tag] = _RESOURCE_TAGS.get(_tag, ()) + (_attr,)
FETCHING_RELS = {
    "stylesheet",
    "icon",
    "preload",
    "prefetch",
    "modulepreload",
    "preconnect",
    "dns-prefetch",
    "manifest",
    "apple-touch-icon",
    "mask-icon",
}
STORAGE_APIS = re.compile(r"\b(localStorage|sessionStorage|indexedDB|document\.cookie)\b")
DATA_SCRIPT_TYPES = {"application/ld+json", "application/json"}


@functools.cache
def _external(url: str, own_host: str) -> bool:
    # Cached: every page repeats the same navigation and topic links.
    parts = urlsplit(url.strip())
    return bool(parts.netloc) and parts.netloc.lower() != own_host


def audit_html(
    page: str, html: bytes | str, *, own_host: str, exit_url: str | None, source: str | None = None
) -> list[Problem]:
    """Privacy and quick-exit rules for one built page."""
    tree = LexborHTMLParser(html)
    return audit_tree(page, tree, own_host=own_host, exit_url=exit_url, source=source)


def audit_tree(
    page: str,
    tree: LexborHTMLParser,
    *,
    own_host: str,
    exit_url: str | None,
    source: str | None = None,
) -> list[Problem]:
    """Privacy and quick-exit rules for one parsed page (`check` parses each page only once)."""
    problems: list[Problem] = []

    def add(severity: str, kind: str, target: str, message: str) -> None:
        problems.append(Problem(severity, kind, page, target, message, source))

    # One query for every resource attribute, then reported in the order of RESOURCE_ATTRS.
    resources: dict[tuple[str, str], list[str]] = {pair: [] for pair in RESOURCE_ATTRS}
    for node in tree.css(_RESOURCE_SELECTOR):
        attrs = node.attributes
        for attr in _RESOURCE_TAGS.get(node.tag, ()):
            if attr in attrs:
                resources[(node.tag, attr)].append(attrs[attr] or "")
    for (tag, attr), urls in resources.items():
        for url in urls:
            if _external(url, own_host):
                add(
                    ERROR,
                    "third-party-resource",
                    url,
                    f"<{tag} {attr}> loads from another host; readers' visits would be seen there",
                )
    for node in tree.css("img[srcset], source[srcset]"):
        for part in (node.attributes.get("srcset") or "").split(","):
            url = part.strip().split(" ")[0]
            if url and _external(url, own_host):
                add(ERROR, "third-party-resource", url, "srcset loads from another host")
    for node in tree.css("link[href]"):
        rels = set((node.attributes.get("rel") or "").lower().split())
        url = node.attributes.get("href") or ""
        if rels & FETCHING_RELS and _external(url, own_host):
            add(ERROR, "third-party-resource", url, "<link> loads from another host")
    for node in tree.css("style"):
        for url in re.findall(r"url\(\s*['\"]?([^'\")]+)", node.text() or ""):
            if _external(url, own_host):
                add(ERROR, "third-party-resource", url, "CSS url() loads from another host")
    for node in tree.css("script"):
        kind = (node.attributes.get("type") or "").lower()
        if "src" not in node.attributes and kind not in DATA_SCRIPT_TYPES:
            add(
                ERROR,
                "inline-script",
                "<script>",
                "inline script: the Content-Security-Policy blocks it; move it to static/js/",
            )
    elements = tree.css("*")
    names: set[str] = set()
    for node in elements:
        names.update(node.attributes)
    if not any(n.lower().startswith("on") or n.lower() == "style" for n in names):
        elements = tree.css("video[autoplay], audio[autoplay]")  # the page's only suspects
    for node in elements:
        attrs = node.attributes
        if not attrs:
            continue
        for name in attrs:
            low = name.lower()
            if low.startswith("on"):
                add(
                    ERROR,
                    "inline-handler",
                    f"{node.tag} {name}",
                    f"inline event handler {name}= on <{node.tag}>; use a script file",
                )
            elif low == "style":
                add(
                    ERROR,
                    "inline-style",
                    f"{node.tag} style",
                    f"inline style on <{node.tag}>; the Content-Security-Policy blocks it",
                )
        if node.tag in ("video", "audio") and "autoplay" in attrs:
            add(
                ERROR,
                "autoplay",
                node.tag,
                f"<{node.tag} autoplay>: media must never start by itself",
            )
    for node in tree.css("a[href]"):
        attrs = node.attributes
        url = attrs.get("href") or ""
        if (
            _external(url, own_host)
            and "noreferrer" not in (attrs.get("rel") or "").lower().split()
        ):
            add(WARNING, "referrer-leak", url, 'link to another site without rel="noreferrer"')
        if (attrs.get("target") or "") == "_blank":
            add(WARNING, "new-window", url, 'target="_blank" breaks the Back button; remove it')
    csp = tree.css_first('meta[http-equiv="Content-Security-Policy"]')
    if csp is None or "default-src 'self'" not in (csp.attributes.get("content") or ""):
        add(ERROR, "missing-csp", "", "no Content-Security-Policy meta with default-src 'self'")
    referrer = tree.css_first('meta[name="referrer"]')
    if referrer is None or referrer.attributes.get("content") != "no-referrer":
        add(ERROR, "missing-referrer-policy", "", 'no <meta name="referrer" content="no-referrer">')
    if exit_url:
        for selector, what in (
            (".exit-this-page__button", "Exit this page button"),
            (".js-exit-skiplink", "Exit this page skip link"),
        ):
            nodes = tree.css(f"a{selector}")
            if len(nodes) != 1:
                add(ERROR, "quick-exit", selector, f"expected one {what}, found {len(nodes)}")
                continue
            attrs = nodes[0].attributes
            rel = set((attrs.get("rel") or "").split())
            if attrs.get("href") != exit_url or not {"nofollow", "noreferrer"} <= rel:
                add(
                    ERROR,
                    "quick-exit",
                    attrs.get("href") or "",
                    f'{what} must link to {exit_url} with rel="nofollow noreferrer"',
                )
    return problems


def audit_site(
    out_dir: Path,
    *,
    config,
    records: Sequence[SourceRecord],
    sources: Mapping[str, str],
    now: datetime,
    scores: Mapping[str, tuple[float, float]],
    findings: Sequence[Finding] = (),
    page_problems: Callable[[str], Sequence[Problem]] | None = None,
) -> list[Problem]:
    """Every policy check over the built folder and the build's record of its sources.

    `records` are the manifest's published sources, `sources` maps each page to its source,
    `scores` each article's path to its (SMOG, Flesch) scores (see `reading_level`), `findings`
    are the build's own findings. `page_problems(page)` gives the findings of `audit_html` for
    one page, without a source (default: read and parse the file; `check` passes one that caches).
    """
    own_host, exit_url = page_policy(config)
    if page_problems is None:

        def page_problems(page: str) -> list[Problem]:
            data = (out_dir / page).read_bytes()
            return audit_html(page, data, own_host=own_host, exit_url=exit_url)

    problems: list[Problem] = []
    for page in _html_pages(out_dir):
        source = sources.get(page)
        problems += [replace(p, source=source) for p in page_problems(page)]
    problems += _static_scripts(out_dir)
    if exit_url and not (out_dir / "online-safety" / "index.html").exists():
        problems.append(
            Problem(
                ERROR,
                "quick-exit",
                "",
                "/online-safety/",
                "no Online safety page explains the quick exit",
                "content/pages/online-safety.md",
            )
        )
    problems += support_freshness(config, now.date())
    problems += review_dates(config, records, now.date())
    problems += build_findings(findings)
    problems += reading_levels(config, records, scores)
    problems += placeholders(records)
    return problems


def page_policy(config) -> tuple[str, str | None]:
    """(own host, quick-exit URL or None): the settings `audit_html` judges a page by."""
    own_host = urlsplit(config.base_url).netloc.lower()
    exit_url = config.exit_this_page.url if config.exit_this_page.enabled else None
    return own_host, exit_url


def _html_pages(out_dir: Path) -> Iterable[str]:
    for dirpath, dirnames, files in os.walk(out_dir):
        dirnames[:] = sorted(d for d in dirnames if d != "pagefind")
        rel = os.path.relpath(dirpath, out_dir).replace(os.sep, "/")
        prefix = "" if rel == "." else rel + "/"
        for name in sorted(files):
            if name.endswith(".html"):
                yield prefix + name


def _static_scripts(out_dir: Path) -> list[Problem]:
    problems = []
    for path in sorted((out_dir / "static").rglob("*.js")) if (out_dir / "static").is_dir() else ():
        text = path.read_text(encoding="utf-8", errors="replace")
        for match in STORAGE_APIS.finditer(text):
            rel = path.relative_to(out_dir).as_posix()
            line = text.count("\n", 0, match.start()) + 1
            problems.append(
                Problem(
                    ERROR,
                    "storage-api",
                    rel,
                    match.group(1),
                    f"{match.group(1)} leaves a trace on the reader's device",
                    rel,
                    line,
                )
            )
    return problems


def support_freshness(config, today: date) -> list[Problem]:
    """Support lines whose numbers were confirmed too long ago, or without saying where."""
    problems = []
    limit = config.review.support_max_age_days
    for _i, line in enumerate(config.support):
        if not line.source:
            # A date alone cannot be rechecked: the next editor needs the page the number was seen on.
            problems.append(
                Problem(
                    WARNING,
                    "support-unsourced",
                    "",
                    line.name,
                    f"support line '{line.name}' has no source: add source: with the address of "
                    "the page its number was checked on",
                    "site.yaml",
                    None,
                )
            )
        if line.last_verified is None:
            problems.append(
                Problem(
                    WARNING,
                    "support-unverified",
                    "",
                    line.name,
                    f"support line '{line.name}' has no last_verified date",
                    "site.yaml",
                    None,
                )
            )
        elif (today - line.last_verified).days > limit:
            problems.append(
                Problem(
                    WARNING,
                    "support-stale",
                    "",
                    line.name,
                    f"support line '{line.name}' was last verified on {line.last_verified} "
                    f"({(today - line.last_verified).days} days ago, limit {limit}): confirm the number "
                    "on the service's own site and update last_verified",
                    "site.yaml",
                    None,
                )
            )
    return problems


def review_dates(config, records: Iterable[SourceRecord], today: date) -> list[Problem]:
    """Overdue and soon-due reviews; a reviewer who is also the author."""
    problems = []
    soon = timedelta(days=config.review.soon_days)
    for doc in records:
        last = doc.last_reviewed
        if not last:
            continue
        due = doc.next_review or add_years(last, config.review.interval_years)
        line = doc.review_line
        if due < today:
            problems.append(
                Problem(
                    WARNING,
                    "review-overdue",
                    "",
                    str(due),
                    f"review was due on {due}",
                    doc.path,
                    line,
                )
            )
        elif due - today <= soon:
            problems.append(
                Problem(
                    WARNING,
                    "review-due-soon",
                    "",
                    str(due),
                    f"review is due on {due}, within {soon.days} days",
                    doc.path,
                    line,
                )
            )
        reviewer = doc.reviewed_by.strip().casefold()
        author = (doc.author or config.author or "").strip().casefold()
        if reviewer and reviewer == author:
            problems.append(
                Problem(
                    WARNING,
                    "reviewer-is-author",
                    "",
                    doc.reviewed_by,
                    "the reviewer is also the author; a review needs a second person",
                    doc.path,
                    doc.reviewed_by_line,
                )
            )
    return problems


def reading_level(text: str) -> tuple[float, float]:
    """(SMOG grade, Flesch reading ease) of plain text (haven/check/readability.py)."""
    return readability.smog_index(text), readability.flesch_reading_ease(text)


def reading_levels(
    config, records: Iterable[SourceRecord], scores: Mapping[str, tuple[float, float]]
) -> list[Problem]:
    """Each article's reading level: information, or a warning above the site's threshold.

    `scores` maps an article's path to its (SMOG, Flesch) scores; articles without are skipped.
    """
    problems = []
    limits = config.readability
    for doc in records:
        if doc.kind != "article" or doc.path not in scores:
            continue
        smog, flesch = scores[doc.path]
        message = (
            f"reading level: SMOG {smog:.1f} (at most {limits.smog_max:g}), "
            f"Flesch reading ease {flesch:.0f} (at least {limits.flesch_min:g})"
        )
        too_hard = smog > limits.smog_max or flesch < limits.flesch_min
        problems.append(
            Problem(
                WARNING if too_hard else INFO,
                "reading-level",
                "",
                f"SMOG {smog:.1f}",
                message + ("; use shorter sentences and everyday words" if too_hard else ""),
                doc.path,
                None,
            )
        )
    return problems


def placeholders(records: Iterable[SourceRecord]) -> list[Problem]:
    """Each `TODO` placeholder from `new` still in a published source (as the build found them)."""
    return [
        Problem(
            WARNING,
            "placeholder",
            "",
            "TODO",
            "placeholder text left from `new`: replace it",
            doc.path,
            placeholder.line,
        )
        for doc in records
        for placeholder in doc.placeholders
    ]


def build_findings(findings: Iterable[Finding]) -> list[Problem]:
    """What the build found and `check` reports as errors: a `start_here` entry of site.yaml
    that names no published article (a warning in the build, unless --strict)."""
    return [Problem(ERROR, f.kind, "", f.target, f.message, f.source, f.line) for f in findings]
