"""Atom feeds, sitemap, robots.txt and JSON-LD: parsed back and checked as data."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime, timedelta, timezone

import jinja2
import pytest

from haven.model import Question
from haven.site.feeds import (
    FeedEntry,
    article_jsonld,
    atom_feed,
    breadcrumb_jsonld,
    faq_jsonld,
    robots_txt,
    sitemap,
    website_jsonld,
)

A = "{http://www.w3.org/2005/Atom}"
SM = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
SITE = "https://haven.example.org/"
HOSTILE = '</script><script>alert(1)</script> & "quotes" ]]> \x0b\x1f end'
PLUS5 = timezone(timedelta(hours=5))


def entry(n: int, **changes) -> FeedEntry:
    """Article n, published n days after 1 January 2026."""
    when = datetime(2026, 1, 1, 9, 30, tzinfo=UTC) + timedelta(days=n)
    fields = dict(
        title=f"Article {n}",
        url=f"{SITE}articles/a-{n}/",
        published=when,
        updated=when,
        summary=f"Summary {n}.",
        topics=("Self-care",),
        content_notes=(),
        author="A. Writer",
    )
    fields.update(changes)
    return FeedEntry(**fields)


def feed(entries, **changes) -> bytes:
    args = dict(
        title="Haven",
        subtitle="Calm, sourced information",
        site_url=SITE,
        feed_url=f"{SITE}feed.xml",
        entries=entries,
        language="en",
    )
    args.update(changes)
    return atom_feed(**args)


def entries_of(data: bytes) -> list[ET.Element]:
    return ET.fromstring(data).findall(f"{A}entry")


def test_hostile_title_and_summary_give_well_formed_xml_and_round_trip():
    data = feed([entry(1, title=HOSTILE, summary=HOSTILE, content_html=f"<p>{HOSTILE}</p>")])

    root = ET.fromstring(data)  # raises on invalid XML
    (item,) = root.findall(f"{A}entry")
    expected = '</script><script>alert(1)</script> & "quotes" ]]>  end'
    assert item.findtext(f"{A}title") == expected
    assert item.findtext(f"{A}summary") == expected
    assert item.findtext(f"{A}content") == f"<p>{expected}</p>"
    assert item.find(f"{A}content").get("type") == "html"
    assert b"\x0b" not in data and b"\x1f" not in data
    assert b"<script>" not in data  # only ever as escaped text
    assert data.startswith(b"<?xml version='1.0' encoding='utf-8'?>")


def test_feed_metadata_links_and_language():
    root = ET.fromstring(feed([entry(1), entry(2)]))

    assert root.tag == f"{A}feed"
    assert root.get("{http://www.w3.org/XML/1998/namespace}lang") == "en"
    assert root.findtext(f"{A}title") == "Haven"
    assert root.findtext(f"{A}subtitle") == "Calm, sourced information"
    assert root.findtext(f"{A}id") == f"{SITE}feed.xml"
    links = {link.get("rel"): link.get("href") for link in root.findall(f"{A}link")}
    assert links == {"alternate": SITE, "self": f"{SITE}feed.xml"}
    item = root.find(f"{A}entry")
    assert item.findtext(f"{A}id") == f"{SITE}articles/a-2/"
    assert item.find(f"{A}link").get("href") == f"{SITE}articles/a-2/"
    assert item.findtext(f"{A}author/{A}name") == "A. Writer"
    assert [c.get("term") for c in item.findall(f"{A}category")] == ["Self-care"]


def test_entries_newest_first_limited_and_feed_updated_from_entries():
    many = [entry(n) for n in range(25)]
    many[3] = entry(3, updated=datetime(2026, 6, 1, tzinfo=UTC))  # old, but edited recently

    root = ET.fromstring(feed(list(reversed(many)), limit=20))
    titles = [e.findtext(f"{A}title") for e in root.findall(f"{A}entry")]

    assert titles == [f"Article {n}" for n in range(24, 4, -1)]  # newest 20 by publication
    # Entry 3 fell out of the 20 newest, so it does not move the feed's date.
    assert root.findtext(f"{A}updated") == "2026-01-25T09:30:00+00:00"
    root = ET.fromstring(feed([entry(5), entry(3, updated=datetime(2026, 6, 1, tzinfo=UTC))]))
    assert root.findtext(f"{A}updated") == "2026-06-01T00:00:00+00:00"


def test_dates_keep_the_site_offset():
    when = datetime(2026, 3, 1, 8, 0, tzinfo=PLUS5)
    item = entries_of(feed([entry(1, published=when, updated=when + timedelta(days=2))]))[0]

    assert item.findtext(f"{A}published") == "2026-03-01T08:00:00+05:00"
    assert item.findtext(f"{A}updated") == "2026-03-03T08:00:00+05:00"


def test_naive_dates_are_refused():
    with pytest.raises(ValueError, match="timezone-aware"):
        feed([entry(1, published=datetime(2026, 1, 1), updated=datetime(2026, 1, 1))])


def test_same_input_gives_identical_bytes_whatever_the_order():
    items = [entry(n) for n in range(6)] + [entry(9, url=f"{SITE}articles/same-day/")]
    items.append(entry(9, url=f"{SITE}articles/also-same-day/"))

    first = feed(items)
    assert feed(list(reversed(items))) == first
    assert feed(items[3:] + items[:3]) == first
    same_day = [e.findtext(f"{A}id") for e in entries_of(first)[:2]]
    assert same_day == [f"{SITE}articles/also-same-day/", f"{SITE}articles/same-day/"]


def test_per_topic_feed():
    data = feed(
        [entry(1, topics=("Consent", "Communication")), entry(2, topics=("Consent",))],
        title="Haven: Consent",
        subtitle="Articles about consent",
        site_url=f"{SITE}tags/consent/",
        feed_url=f"{SITE}tags/consent/feed.xml",
        author="Haven",
    )
    root = ET.fromstring(data)

    assert root.findtext(f"{A}title") == "Haven: Consent"
    assert root.findtext(f"{A}id") == f"{SITE}tags/consent/feed.xml"
    assert root.find(f"{A}link[@rel='self']").get("href") == f"{SITE}tags/consent/feed.xml"
    assert root.find(f"{A}link[@rel='alternate']").get("href") == f"{SITE}tags/consent/"
    assert root.findtext(f"{A}author/{A}name") == "Haven"
    terms = [c.get("term") for c in root.findall(f"{A}entry")[1].findall(f"{A}category")]
    assert terms == ["Consent", "Communication"]


def test_content_notes_lead_the_summary_and_the_content():
    notes = ("sexual assault and rape", "suicide and suicidal thoughts")
    item = entries_of(feed([entry(1, content_notes=notes, content_html="<p>Body</p>")]))[0]

    assert item.findtext(f"{A}summary") == (
        "Content note: talks about sexual assault and rape; suicide and suicidal thoughts. "
        "Summary 1."
    )
    assert item.findtext(f"{A}content").startswith(
        "<p><strong>Content note: talks about sexual assault and rape; "
        "suicide and suicidal thoughts.</strong></p>"
    )
    plain = entries_of(feed([entry(2)]))[0]
    assert plain.findtext(f"{A}summary") == "Summary 2."
    assert plain.find(f"{A}content") is None


def test_feed_author_covers_entries_without_one_and_empty_feed_is_valid():
    root = ET.fromstring(feed([entry(1, author=None)]))
    assert root.findtext(f"{A}author/{A}name") == "Haven"
    assert root.find(f"{A}entry/{A}author") is None

    empty = ET.fromstring(feed([]))
    assert empty.findall(f"{A}entry") == []
    assert empty.findtext(f"{A}updated") == "1970-01-01T00:00:00+00:00"  # fixed, not the clock


def test_unicode_article_url_is_percent_encoded_in_feed():
    item = entries_of(feed([entry(1, url=f"{SITE}tags/心の健康/")]))[0]
    assert item.findtext(f"{A}id") == f"{SITE}tags/%E5%BF%83%E3%81%AE%E5%81%A5%E5%BA%B7/"


def test_sitemap_encodes_unicode_and_writes_lastmod():
    data = sitemap(
        [
            (SITE, datetime(2026, 2, 1, 12, 0, tzinfo=PLUS5)),
            (f"{SITE}tags/心の健康/", None),
            (f"{SITE}articles/caf%C3%A9/", date(2026, 1, 5)),  # already encoded: left alone
            ("https://bücher.example/über uns/", datetime(2026, 1, 5, 10, 0)),  # naive: date only
            (SITE, None),  # duplicate dropped
        ]
    )
    root = ET.fromstring(data)
    urls = [(u.findtext(f"{SM}loc"), u.findtext(f"{SM}lastmod")) for u in root]

    assert root.tag == f"{SM}urlset"
    assert urls == [
        (SITE, "2026-02-01T12:00:00+05:00"),
        (f"{SITE}tags/%E5%BF%83%E3%81%AE%E5%81%A5%E5%BA%B7/", None),
        (f"{SITE}articles/caf%C3%A9/", "2026-01-05"),
        ("https://xn--bcher-kva.example/%C3%BCber%20uns/", "2026-01-05"),
    ]
    assert data.isascii()


def test_robots_names_the_sitemap_and_cannot_be_injected():
    assert robots_txt(f"{SITE}sitemap.xml") == (
        b"User-agent: *\nDisallow:\n\nSitemap: https://haven.example.org/sitemap.xml\n"
    )
    text = robots_txt(f"{SITE}sitemap.xml\r\nDisallow: /").decode()
    assert [line for line in text.splitlines() if line.startswith("Disallow")] == ["Disallow:"]


ARTICLE = dict(
    title="Trust after trauma",
    description="How trust can be rebuilt.",
    url=f"{SITE}articles/trust/",
    published=datetime(2026, 1, 5, tzinfo=UTC),
    modified=datetime(2026, 2, 1, tzinfo=UTC),
    author="A. Writer",
    language="en",
    topics=["Healthy relationships", "Self-care"],
    image=f"{SITE}img/trust.png",
    reviewed_by=None,
    last_reviewed=None,
    publisher_name="Haven",
    publisher_url=SITE,
)


def test_article_jsonld_without_review_is_an_article():
    data = article_jsonld(**ARTICLE)

    assert data["@context"] == "https://schema.org"
    assert data["@type"] == "Article"
    assert data["headline"] == "Trust after trauma"
    assert data["mainEntityOfPage"] == f"{SITE}articles/trust/"
    assert data["datePublished"] == "2026-01-05T00:00:00+00:00"
    assert data["dateModified"] == "2026-02-01T00:00:00+00:00"
    assert data["author"] == {"@type": "Person", "name": "A. Writer"}
    assert data["publisher"] == {"@type": "Organization", "name": "Haven", "url": SITE}
    assert data["keywords"] == ["Healthy relationships", "Self-care"]
    assert data["image"] == f"{SITE}img/trust.png"
    assert data["inLanguage"] == "en"
    assert "lastReviewed" not in data and "reviewedBy" not in data


def test_article_jsonld_with_review_is_a_medical_web_page():
    data = article_jsonld(
        **{
            **ARTICLE,
            "reviewed_by": "Dr B. Reviewer",
            "last_reviewed": date(2026, 1, 20),
            "modified": None,
            "author": None,
            "image": None,
        }
    )

    assert data["@type"] == "MedicalWebPage"
    assert data["lastReviewed"] == "2026-01-20"
    assert data["reviewedBy"] == {"@type": "Person", "name": "Dr B. Reviewer"}
    assert data["dateModified"] == data["datePublished"]  # never modified: the publication date
    assert data["author"] == {"@type": "Organization", "name": "Haven", "url": SITE}
    assert "image" not in data and "mainEntityOfPage" not in data

    only_date = article_jsonld(
        **{**ARTICLE, "last_reviewed": datetime(2026, 1, 20, 15, tzinfo=UTC)}
    )
    assert only_date["@type"] == "MedicalWebPage"
    assert only_date["lastReviewed"] == "2026-01-20"  # a schema.org Date, not a DateTime


def test_faq_breadcrumb_and_website_jsonld():
    questions = [
        Question("q1", "Is it my fault?", "<p>No.</p>", "No."),
        Question("q2", "Can I say no later?", "<p>Yes, at any time.</p>", "Yes, at any time."),
    ]
    assert faq_jsonld(questions) == {
        "@context": "https://schema.org",
        "@type": "FAQPage",
        "mainEntity": [
            {
                "@type": "Question",
                "name": "Is it my fault?",
                "acceptedAnswer": {"@type": "Answer", "text": "No."},
            },
            {
                "@type": "Question",
                "name": "Can I say no later?",
                "acceptedAnswer": {"@type": "Answer", "text": "Yes, at any time."},
            },
        ],
    }
    assert faq_jsonld([]) is None

    crumbs = breadcrumb_jsonld([("Home", SITE), ("Consent", f"{SITE}tags/consent/")])
    assert crumbs["@type"] == "BreadcrumbList"
    assert [(i["position"], i["name"], i["item"]) for i in crumbs["itemListElement"]] == [
        (1, "Home", SITE),
        (2, "Consent", f"{SITE}tags/consent/"),
    ]

    assert website_jsonld("Haven", SITE, "Calm information") == {
        "@context": "https://schema.org",
        "@type": "WebSite",
        "name": "Haven",
        "url": SITE,
        "description": "Calm information",
    }


def test_jsonld_through_tojson_cannot_close_the_script_element():
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    template = env.from_string(
        '<script type="application/ld+json">{{ data|tojson }}</script>'
        '<script type="application/ld+json">{{ faq|tojson }}</script>'
    )
    data = article_jsonld(**{**ARTICLE, "title": HOSTILE, "description": "it's <b>\\ & more"})
    faq = faq_jsonld([Question("q", HOSTILE, "", "</script><!-- & ' answer")])

    page = template.render(data=data, faq=faq)
    blocks = re.findall(r'<script type="application/ld\+json">(.*?)</script>', page, re.S)

    assert page.count("</script>") == 2  # only the template's own
    assert "<script>alert" not in page and "<!--" not in page
    assert json.loads(blocks[0]) == data  # unchanged data, not HTML-escaped text
    assert json.loads(blocks[0])["headline"] == HOSTILE
    assert json.loads(blocks[1]) == faq
    assert json.dumps(data)  # plain JSON types only
