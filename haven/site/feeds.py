"""Discovery outputs: Atom feeds, sitemap.xml, robots.txt and JSON-LD dicts.

Pure functions: records in, bytes (or plain dicts for templates) out; nothing here reads the clock
or the disk, so two builds of the same content give byte-identical files. XML is built with
`xml.etree.ElementTree`, never by pasting strings, and characters that XML 1.0 forbids are
stripped first (an ElementTree serialiser would happily write them and break every feed reader).
"""

from __future__ import annotations

import html
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from urllib.parse import quote, urlsplit, urlunsplit

from .. import __version__
from ..model import Question

ATOM_NS = "http://www.w3.org/2005/Atom"
SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"
_XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"

# XML 1.0 `Char` excludes C0 controls other than tab/LF/CR, lone surrogates and U+FFFE/U+FFFF.
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
# Reserved and unreserved URI characters plus '%', so quoting an already-encoded URL is a no-op.
_URI_SAFE = "!#$%&'()*+,/:;=?@[]~-._"
# When a feed has no entries there is no newest date; a fixed one keeps the bytes stable.
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class FeedEntry:
    """One article as a feed sees it: plain-text fields, labels already resolved."""

    title: str
    url: str  # absolute
    published: datetime  # aware
    updated: datetime  # aware
    summary: str  # plain text
    topics: tuple[str, ...]  # topic labels
    content_notes: tuple[str, ...]  # content-note labels, e.g. 'sexual assault and rape'
    author: str | None
    content_html: str | None = None  # sanitised article HTML with absolute links, if wanted


def xml_text(value: str) -> str:
    """`value` without the characters XML 1.0 cannot carry (control characters, surrogates)."""
    return _XML_ILLEGAL.sub("", value)


def uri(url: str) -> str:
    """`url` as plain ASCII: non-ASCII path/query percent-encoded (UTF-8), host IDNA-encoded.

    Existing `%XX` escapes are kept, so calling it twice changes nothing.
    """
    parts = urlsplit(xml_text(url).strip())
    netloc = parts.netloc
    if not netloc.isascii():
        userinfo, _, hostport = netloc.rpartition("@")
        host, colon, port = hostport.partition(":")
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            host = quote(host, safe="")
        netloc = (quote(userinfo, safe=_URI_SAFE) + "@" if userinfo else "") + host + colon + port
    return urlunsplit(
        (
            parts.scheme,
            netloc,
            quote(parts.path, safe=_URI_SAFE),
            quote(parts.query, safe=_URI_SAFE),
            quote(parts.fragment, safe=_URI_SAFE),
        )
    )


def content_note_text(labels: Iterable[str]) -> str:
    """'Content note: talks about a; b. ' or '' when there are none."""
    # Semicolons, because labels such as 'sexual assault and rape' already contain 'and'.
    listed = "; ".join(label.strip() for label in labels if label.strip())
    return f"Content note: talks about {listed}. " if listed else ""


def _rfc3339(moment: datetime) -> str:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"feed dates must be timezone-aware, got {moment!r}")
    return moment.isoformat(timespec="seconds")


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrib: str) -> ET.Element:
    element = ET.SubElement(parent, tag, {k: xml_text(v) for k, v in attrib.items()})
    if text is not None:
        element.text = xml_text(text)
    return element


def _serialise(root: ET.Element) -> bytes:
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"


def newest_first(entries: Iterable[FeedEntry]) -> list[FeedEntry]:
    """Entries by publication date, newest first; ties broken by URL so the order is stable."""
    by_url = sorted(entries, key=lambda e: e.url)
    return sorted(by_url, key=lambda e: e.published, reverse=True)


def atom_feed(
    *,
    title: str,
    subtitle: str,
    site_url: str,
    feed_url: str,
    entries: Sequence[FeedEntry],
    language: str,
    limit: int = 20,
    author: str | None = None,
) -> bytes:
    """An Atom 1.0 feed (RFC 4287) of the `limit` newest entries, as UTF-8 bytes.

    `updated` is the newest entry's update time, never the build time. `author` (default: the
    feed title, i.e. the site's name) is the feed-level author that RFC 4287 requires when an
    entry has none of its own.
    """
    kept = newest_first(entries)[: max(limit, 0)]
    feed = ET.Element("feed", {"xmlns": ATOM_NS, _XML_LANG: xml_text(language)})
    _sub(feed, "title", title, type="text")
    if subtitle:
        _sub(feed, "subtitle", subtitle, type="text")
    _sub(feed, "link", rel="alternate", type="text/html", href=uri(site_url))
    _sub(feed, "link", rel="self", type="application/atom+xml", href=uri(feed_url))
    _sub(feed, "id", uri(feed_url))
    newest = max((max(e.updated, e.published) for e in kept), default=_EPOCH)
    _sub(feed, "updated", _rfc3339(newest))
    _sub(_sub(feed, "author"), "name", author or title)
    _sub(feed, "generator", "Haven", version=__version__)
    for entry in kept:
        _atom_entry(feed, entry)
    return _serialise(feed)


def _atom_entry(feed: ET.Element, entry: FeedEntry) -> None:
    item = _sub(feed, "entry")
    _sub(item, "title", entry.title, type="text")
    _sub(item, "link", rel="alternate", type="text/html", href=uri(entry.url))
    # The article URL is the id: it is already the permanent identity of the article.
    _sub(item, "id", uri(entry.url))
    _sub(item, "published", _rfc3339(entry.published))
    _sub(item, "updated", _rfc3339(max(entry.updated, entry.published)))
    if entry.author:
        _sub(_sub(item, "author"), "name", entry.author)
    for label in entry.topics:
        _sub(item, "category", term=label, label=label)
    note = content_note_text(entry.content_notes)
    _sub(item, "summary", (note + entry.summary).strip(), type="text")
    if entry.content_html is not None:
        # Readers that show `content` never show `summary`, so the note goes in here too.
        lead = f"<p><strong>{html.escape(note.strip())}</strong></p>\n" if note else ""
        _sub(item, "content", lead + entry.content_html, type="html")


def sitemap(urls: Sequence[tuple[str, datetime | date | None]]) -> bytes:
    """`sitemap.xml`: one `<url>` per absolute URL, in the given order, duplicates dropped.

    A `lastmod` is written when known (W3C datetime; a naive value is written as its date).
    """
    root = ET.Element("urlset", {"xmlns": SITEMAP_NS})
    seen: set[str] = set()
    for url, lastmod in urls:
        loc = uri(url)
        if loc in seen:
            continue
        seen.add(loc)
        item = _sub(root, "url")
        _sub(item, "loc", loc)
        if lastmod is not None:
            _sub(item, "lastmod", _w3c_datetime(lastmod))
    return _serialise(root)


def _w3c_datetime(value: datetime | date) -> str:
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            return value.date().isoformat()
        return value.isoformat(timespec="seconds")
    return value.isoformat()


def robots_txt(sitemap_url: str) -> bytes:
    """`robots.txt` that allows everything and names the sitemap.

    Crawlers only read it at the root of a host, so under a sub-path it is harmless but unused.
    """
    # uri() percent-encodes CR/LF, so a strange base URL cannot inject extra directives.
    return f"User-agent: *\nDisallow:\n\nSitemap: {uri(sitemap_url)}\n".encode("ascii")


# JSON-LD: plain dicts; templates serialise them with `|tojson`, which escapes `<`, `>`, `&`
# and `'`, so a title containing `</script>` cannot end the script element.

_CONTEXT = "https://schema.org"


def _iso_date(value: date | datetime) -> str:
    return value.date().isoformat() if isinstance(value, datetime) else value.isoformat()


def _iso_moment(value: date | datetime) -> str:
    return value.isoformat(timespec="seconds") if isinstance(value, datetime) else value.isoformat()


def website_jsonld(name: str, url: str, description: str) -> dict:
    """schema.org `WebSite` for the home page."""
    data = {"@context": _CONTEXT, "@type": "WebSite", "name": name, "url": url}
    if description:
        data["description"] = description
    return data


def article_jsonld(
    *,
    title: str,
    description: str,
    url: str,
    published: date | datetime,
    modified: date | datetime | None,
    author: str | None,
    language: str,
    topics: Sequence[str],
    image: str | None,
    reviewed_by: str | None,
    last_reviewed: date | datetime | None,
    publisher_name: str,
    publisher_url: str,
) -> dict:
    """schema.org `Article`, or `MedicalWebPage` when the article records a review.

    `image` is an absolute URL; dates are written as given (the audit compares them with the
    visible dates, so nothing here adjusts them).
    """
    reviewed = bool(reviewed_by) or last_reviewed is not None
    publisher = {"@type": "Organization", "name": publisher_name, "url": publisher_url}
    data: dict = {
        "@context": _CONTEXT,
        "@type": "MedicalWebPage" if reviewed else "Article",
        "headline": title,
        "name": title,
        "description": description,
        "url": url,
        "inLanguage": language,
        "datePublished": _iso_moment(published),
        "dateModified": _iso_moment(modified if modified is not None else published),
        # Without a named writer, the organisation is the author (as schema.org allows).
        "author": {"@type": "Person", "name": author} if author else publisher,
        "publisher": publisher,
    }
    if not reviewed:
        data["mainEntityOfPage"] = url  # an Article sits on a page; a WebPage is the page
    if topics:
        data["keywords"] = list(topics)
    if image:
        data["image"] = image
    if last_reviewed is not None:
        data["lastReviewed"] = _iso_date(last_reviewed)
    if reviewed_by:
        data["reviewedBy"] = {"@type": "Person", "name": reviewed_by}
    return data


def faq_jsonld(questions: Sequence[Question]) -> dict | None:
    """schema.org `FAQPage` from the question-and-answer section, or None when there is none."""
    if not questions:
        return None
    return {
        "@context": _CONTEXT,
        "@type": "FAQPage",
        "mainEntity": [
            {
                "@type": "Question",
                "name": q.question,
                "acceptedAnswer": {"@type": "Answer", "text": q.answer_text},
            }
            for q in questions
        ],
    }


def breadcrumb_jsonld(items: Sequence[tuple[str, str]]) -> dict:
    """schema.org `BreadcrumbList` from (name, absolute URL) pairs, outermost first."""
    return {
        "@context": _CONTEXT,
        "@type": "BreadcrumbList",
        "itemListElement": [
            {"@type": "ListItem", "position": n, "name": name, "item": url}
            for n, (name, url) in enumerate(items, start=1)
        ],
    }
