"""Links stage: `.md` links -> site URLs, base path, external rel."""

from __future__ import annotations

import pytest

from haven.links import rewrite_links
from haven.markup import render
from haven.urls import href as url_path

TARGETS = {
    "articles/trust.md": "/articles/trust/",
    "articles/other.md": "/articles/other/",
    "articles/guides/deep.md": "/articles/deep/",
    "articles/心の健康.md": "/articles/心の健康/",
    "articles/año nuevo.md": "/articles/año-nuevo/",
    "pages/about.md": "/about/",
}


def rw(html: str, base_path: str = "/", doc_rel: str = "articles/trust.md"):
    return rewrite_links(html, doc_rel=doc_rel, targets=TARGETS, base_path=base_path)


@pytest.mark.parametrize(
    "href, expected",
    [
        ("other.md", "/articles/other/"),
        ("other.md#a-section", "/articles/other/#a-section"),
        ("./other.md", "/articles/other/"),
        ("../pages/about.md#team", "/about/#team"),
        ("guides/deep.md", "/articles/deep/"),
        ("/articles/other.md", "/articles/other/"),
        (
            "%E5%BF%83%E3%81%AE%E5%81%A5%E5%BA%B7.md",
            "/articles/%E5%BF%83%E3%81%AE%E5%81%A5%E5%BA%B7/",
        ),
        ("心の健康.md#心", "/articles/%E5%BF%83%E3%81%AE%E5%81%A5%E5%BA%B7/#心"),
        ("an\u0303o%20nuevo.md", "/articles/a%C3%B1o-nuevo/"),
    ],
)
def test_md_links_become_site_urls(href, expected):
    html, missing = rw(f'<p><a href="{href}">x</a></p>')
    assert html == f'<p><a href="{expected}">x</a></p>'
    assert missing == []


def test_links_resolve_relative_to_the_documents_folder():
    html, missing = rw('<a href="../other.md">x</a>', doc_rel="articles/guides/deep.md")
    assert html == '<a href="/articles/other/">x</a>'
    assert missing == []


def test_sub_path_base_prefixes_md_and_root_relative_links():
    html, _ = rw(
        '<a href="other.md#x">a</a> <a href="/tags/">b</a> <img src="/img/p.png" alt="">',
        base_path="/haven/",
    )
    assert '<a href="/haven/articles/other/#x">a</a>' in html
    assert '<a href="/haven/tags/">b</a>' in html
    assert '<img src="/haven/img/p.png" alt="">' in html


def test_missing_targets_are_reported_and_left_alone():
    source = '<a href="missing.md#x">a</a> <a href="../../outside.md">b</a>'
    html, missing = rw(source)
    assert html == source
    assert missing == [
        ("missing.md#x", "no page is made from content/articles/missing.md"),
        ("../../outside.md", "points outside content/"),
    ]


def test_external_links_get_noreferrer_merged():
    html, _ = rw(
        '<a href="https://example.org/">a</a> <a href="http://x.example" rel="nofollow">b</a> '
        '<a href="https://y.example" rel="noreferrer">c</a> <img src="https://z.example/i.png">'
    )
    assert '<a href="https://example.org/" rel="noreferrer">a</a>' in html
    assert '<a href="http://x.example" rel="nofollow noreferrer">b</a>' in html
    assert '<a href="https://y.example" rel="noreferrer">c</a>' in html
    assert '<img src="https://z.example/i.png">' in html


@pytest.mark.parametrize(
    "tag",
    ['<a href="#top">x</a>', '<a href="mailto:a@b.example">x</a>', '<a href="tel:+441234">x</a>'],
)
def test_fragments_mailto_and_tel_are_untouched(tag):
    assert rw(tag, base_path="/haven/") == (tag, [])


def test_ampersands_in_hrefs_stay_escaped():
    html, _ = rw('<a href="/search/?q=a&amp;b=c">x</a>', base_path="/haven/")
    assert html == '<a href="/haven/search/?q=a&amp;b=c">x</a>'


def test_works_on_rendered_markdown():
    rendered = render(
        "See [other](other.md#why) and [site](https://example.org).\n",
        path="content/articles/trust.md",
        body_line=5,
    )
    html, missing = rw(rendered.html, base_path="/haven/")
    assert '<a href="/haven/articles/other/#why">other</a>' in html
    assert '<a href="https://example.org" rel="noreferrer">site</a>' in html
    assert missing == []


@pytest.mark.parametrize(
    "path, base, expected",
    [
        ("/", "/", "/"),
        ("/tags/", "/haven/", "/haven/tags/"),
        ("/tags/心の健康/", "/", "/tags/%E5%BF%83%E3%81%AE%E5%81%A5%E5%BA%B7/"),
        ("/tags/a\u0301nimo/", "haven", "/haven/tags/%C3%A1nimo/"),
        ("/feed.xml", "", "/feed.xml"),
        ("/search/?q=x#r", "/haven", "/haven/search/?q=x#r"),
        ("/already%20encoded/", "/", "/already%20encoded/"),
    ],
)
def test_url_path(path, base, expected):
    assert url_path(path, base) == expected
