"""The internal link checker on small built sites written into tmp_path."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from haven.check.links import (
    DEFAULT_SEVERITY,
    LinkcheckSettings,
    check_site,
    css_urls,
    read_manifest,
    refresh_url,
    srcset_urls,
)
from haven.errors import UsageError
from haven.model import ERROR, WARNING

SITE_URL = "https://haven.example.org/"


def page(body: str, head: str = "", nav: str = '<a href="/">Home</a>') -> str:
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>t</title>'
        f'{head}</head><body><nav>{nav}</nav><main id="main">{body}</main></body></html>'
    )


def write_site(root: Path, files: dict[str, str], manifest: dict | None) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    if manifest is not None:
        (root / ".haven-build.json").write_text(json.dumps(manifest), encoding="utf-8")
    return root


def found(problems) -> set[tuple]:
    return {(p.severity, p.kind, p.source, p.line, p.page, p.target) for p in problems}


@pytest.fixture
def no_network(monkeypatch):
    """Internal checks must never open a socket."""

    def refuse(*args, **kwargs):
        raise AssertionError("the internal link check touched the network")

    monkeypatch.setattr(socket, "socket", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


# -- the catalogue's fixtures (bad-inputs rows 34, 35) -------------------------------------


def test_missing_page_and_asset_are_reported_with_source_and_line(tmp_path, no_network):
    trust = page(
        '<p><a href="/articles/other/">fine</a> '
        '<a href="/articles/advanced-breathing/">gone</a> '
        '<img src="/img/breathing.png" alt="A diagram"> <img src="/img/ok.png" alt="ok"></p>'
    )
    site = write_site(
        tmp_path / "_site",
        {
            "index.html": page('<a href="/articles/trust/">t</a><a href="/articles/other/">o</a>'),
            "articles/trust/index.html": trust,
            "articles/other/index.html": page("<p>other</p>"),
            "img/ok.png": "png",
        },
        {
            "base_path": "/",
            "pages": {
                "articles/trust/index.html": {
                    "source": "content/articles/trust.md",
                    "links": [
                        ["other.md", 7],
                        ["advanced-breathing.md", 9],
                        ["../img/breathing.png", 12],
                        ["../img/ok.png", 13],
                    ],
                }
            },
            "unpublished": [],
        },
    )
    problems = check_site(site, LinkcheckSettings())
    assert found(problems) == {
        (
            ERROR,
            "broken-link",
            "content/articles/trust.md",
            9,
            "articles/trust/index.html",
            "/articles/advanced-breathing/",
        ),
        (
            ERROR,
            "missing-asset",
            "content/articles/trust.md",
            12,
            "articles/trust/index.html",
            "/img/breathing.png",
        ),
    }
    broken = next(p for p in problems if p.kind == "broken-link")
    assert broken.message == (
        "broken link 'advanced-breathing.md' (-> '/articles/advanced-breathing/'): no such page"
    )
    image = next(p for p in problems if p.kind == "missing-asset")
    assert image.message.startswith("missing image '../img/breathing.png'")


def test_fragments_exact_case_unicode_and_special(tmp_path, no_network):
    other = page(
        '<h2 id="setting-limits">Setting limits</h2><h2 id="心の健康">心の健康</h2>'
        '<a name="legacy"></a><h2 id="ánimo">Ánimo</h2>'
    )
    trust = page(
        '<p id="intro">'
        '<a href="/articles/other/#setting-limits">1</a>'  # fine
        '<a href="/articles/other/#missing">2</a>'  # missing
        '<a href="/articles/other/#Setting-Limits">3</a>'  # case-only mismatch
        '<a href="/articles/other/#%E5%BF%83%E3%81%AE%E5%81%A5%E5%BA%B7">4</a>'  # encoded Unicode
        '<a href="#">5</a><a href="#top">5b</a><a href="#intro">5c</a>'  # same page, allowed
        '<a href="#nowhere">6</a>'  # same page, missing
        '<a href="/articles/other/#legacy">7</a>'  # <a name>
        '<a href="/articles/other/#a%CC%81nimo">8</a>'  # NFD spelling of an NFC id
        "</p>"
    )
    site = write_site(
        tmp_path / "_site",
        {
            "index.html": page('<a href="/articles/trust/">t</a><a href="/articles/other/">o</a>'),
            "articles/trust/index.html": trust,
            "articles/other/index.html": other,
        },
        {
            "base_path": "/",
            "pages": {
                "articles/trust/index.html": {
                    "source": "content/articles/trust.md",
                    "links": [
                        ["other.md#setting-limits", 5],
                        ["other.md#missing", 6],
                        ["other.md#Setting-Limits", 7],
                        ["other.md#心の健康", 8],
                        ["#nowhere", 11],
                    ],
                }
            },
        },
    )
    problems = check_site(site, LinkcheckSettings())
    page_path = "articles/trust/index.html"
    src = "content/articles/trust.md"
    assert found(problems) == {
        (ERROR, "missing-fragment", src, 6, page_path, "/articles/other/#missing"),
        (ERROR, "missing-fragment", src, 7, page_path, "/articles/other/#Setting-Limits"),
        (ERROR, "missing-fragment", src, 11, page_path, "#nowhere"),
    }
    case = next(p for p in problems if p.line == 7)
    assert "did you mean '#setting-limits'? fragments are case-sensitive" in case.message
    same = next(p for p in problems if p.line == 11)
    assert "this page has no id 'nowhere'" in same.message


def test_unicode_paths_are_decoded_and_nfc_normalised(tmp_path, no_network):
    article = page(
        '<a href="/tags/%C3%A1nimo/">encoded NFC</a>'
        '<a href="/tags/a%CC%81nimo/">encoded NFD</a>'
        '<a href="/tags/ánimo/">raw</a>'
        '<a href="/tags/%E5%BF%83%E3%81%AE%E5%81%A5%E5%BA%B7/">kanji</a>'
        '<a href="../../tags/心の健康/">relative</a>'
        '<a href="/tags/%E5%BF%83/">missing</a>'
        '<img src="/img/caf%C3%A9.png" alt="">'
    )
    site = write_site(
        tmp_path / "_site",
        {
            "index.html": page('<a href="/articles/x/">x</a>'),
            "articles/x/index.html": article,
            "tags/ánimo/index.html": page("<p>a</p>"),
            "tags/心の健康/index.html": page("<p>k</p>"),
            "img/café.png": "png",
        },
        {"base_path": "/", "pages": {}},
    )
    problems = check_site(site, LinkcheckSettings())
    assert found(problems) == {
        (ERROR, "broken-link", None, None, "articles/x/index.html", "/tags/%E5%BF%83/"),
    }


def test_sub_path_base_path(tmp_path, no_network):
    article = page(
        '<a href="/haven/articles/b/">with base</a>'
        '<a href="../b/#part">relative</a>'
        '<a href="/articles/b/">without base</a>'
        '<a href="/haven">base itself</a>'
        '<img src="/haven/img/x.png" alt="x">',
        head='<link rel="canonical" href="https://example.org/haven/articles/a/">'
        '<link rel="stylesheet" href="/haven/css/site.css">',
        nav='<a href="/haven/">Home</a>',
    )
    site = write_site(
        tmp_path / "_site",
        {
            "index.html": page('<a href="/haven/articles/a/">a</a>', nav=""),
            "articles/a/index.html": article,
            "articles/b/index.html": page('<h2 id="part">p</h2>', nav='<a href="/haven/">H</a>'),
            "img/x.png": "png",
            "css/site.css": "body{background:url(../img/x.png)}main{background:url(/img/x.png)}",
            "sitemap.xml": "<urlset><url><loc>https://example.org/haven/articles/a/</loc></url>"
            "<url><loc>https://example.org/haven/articles/zzz/</loc></url></urlset>",
        },
        {
            "base_path": "/haven/",
            "pages": {
                "articles/a/index.html": {
                    "source": "content/articles/a.md",
                    "links": [["b.md", 3], ["b.md#part", 4], ["/articles/b/", 5]],
                }
            },
        },
    )
    problems = check_site(site, LinkcheckSettings(), site_url="https://example.org/haven/")
    assert found(problems) == {
        (ERROR, "broken-link", "content/articles/a.md", 5, "articles/a/index.html", "/articles/b/"),
        (ERROR, "missing-asset", None, None, "css/site.css", "/img/x.png"),
        (ERROR, "broken-link", None, None, "sitemap.xml", "/haven/articles/zzz/"),
    }
    outside = next(p for p in problems if p.page == "articles/a/index.html")
    assert "outside the site's base path '/haven/'" in outside.message
    # The argument wins over the manifest: served at the root, every /haven/ link breaks.
    at_root = check_site(site, LinkcheckSettings(), base_path="/")
    assert ("broken-link", "/haven/articles/b/") in {(p.kind, p.target) for p in at_root}


def test_schemes_empty_links_mail_tel_and_unpublished(tmp_path, no_network):
    body = (
        '<a href="">empty</a>'
        '<a href="jav&#x09;ascript:alert(1)">js</a>'
        '<a href="JaVaScRiPt:alert(2)">js2</a>'
        '<a href="data:text/html,hi">data</a>'
        '<img src="data:image/png;base64,iVBORw0KGgo=" alt="inline">'
        '<a href="mailto:help@example.org?subject=Hi">mail ok</a>'
        '<a href="mailto:someone">mail bad</a>'
        '<a href="mailto:">mail empty</a>'
        '<a href="tel:+44-116-123">tel ok</a><a href="tel:116%20123">tel ok 2</a>'
        '<a href="tel:call-us">tel bad</a>'
        '<a href="sms:+447700900123">sms</a>'
        '<a href="ftp://example.org/x">ftp</a>'
        '<a href="/articles/a-draft/">draft</a>'
        '<a href="https://www.bbc.co.uk/weather">quick exit</a>'
        '<a href="//cdn.example.net/x.js">protocol-relative</a>'
        '<a href="https://haven.example.org/articles/x/">own absolute</a>'
        '<a href="https://haven.example.org/articles/nope/">own absolute, broken</a>'
    )
    site = write_site(
        tmp_path / "_site",
        {
            "index.html": page('<a href="/articles/x/">x</a>'),
            "articles/x/index.html": page(body),
        },
        {
            "base_path": "/",
            "pages": {
                "articles/x/index.html": {
                    "source": "content/articles/x.md",
                    "links": [["mailto:someone", 20], ["a-draft.md", 21]],
                }
            },
            "unpublished": ["/articles/a-draft/"],
        },
    )
    problems = check_site(site, LinkcheckSettings(), site_url=SITE_URL)
    src, pg = "content/articles/x.md", "articles/x/index.html"
    assert found(problems) == {
        (ERROR, "empty-link", src, None, pg, ""),
        (ERROR, "unsafe-url", src, None, pg, "jav\tascript:alert(1)"),
        (ERROR, "unsafe-url", src, None, pg, "JaVaScRiPt:alert(2)"),
        (ERROR, "unsafe-url", src, None, pg, "data:text/html,hi"),
        (ERROR, "bad-mailto", src, 20, pg, "mailto:someone"),
        (ERROR, "bad-mailto", src, None, pg, "mailto:"),
        (ERROR, "bad-tel", src, None, pg, "tel:call-us"),
        (ERROR, "unsafe-url", src, None, pg, "ftp://example.org/x"),
        (ERROR, "unpublished-link", src, 21, pg, "/articles/a-draft/"),
        (ERROR, "broken-link", src, None, pg, "https://haven.example.org/articles/nope/"),
    }
    draft = next(p for p in problems if p.kind == "unpublished-link")
    assert "draft or future article" in draft.message
    assert "'a-draft.md'" in draft.message


def test_assets_in_srcset_poster_css_refresh_and_style(tmp_path, no_network):
    files = {
        "index.html": page(
            '<a href="/a/">a</a><a href="/old/">old</a>',
            head='<link rel="stylesheet" href="/css/site.css"><link rel="icon" href="/img/fav.svg">'
            '<script src="/js/missing.js"></script>',
        ),
        "a/index.html": page(
            '<img src="/img/ok.png" srcset="/img/ok.png 1x, /img/ok-2x.png 2x" alt="">'
            '<picture><source srcset="/img/a.webp 600w,/img/b.webp 1200w"></picture>'
            '<video poster="/img/poster.png" src="/media/clip.mp4"></video>'
            '<div style="background-image: url(&quot;/img/bg.png&quot;)"></div>'
            "<style>.x{background:url('/img/ok.png')} .y{mask:url(#m)}</style>"
        ),
        "old/index.html": '<meta http-equiv="refresh" content="0; url=/gone/">',
        "css/site.css": "@import 'print.css'; body{background:url(../img/ok.png)}"
        ' .f{src:url("/fonts/missing.woff2") format("woff2"), url(data:font/woff2;base64,AA==)}',
        "css/print.css": "",
        "img/ok.png": "",
        "img/fav.svg": "",
        "img/a.webp": "",
        "media/clip.mp4": "",
    }
    site = write_site(tmp_path / "_site", files, {"base_path": "/", "pages": {}})
    problems = check_site(site, LinkcheckSettings())
    assert found(problems) == {
        (ERROR, "missing-asset", None, None, "index.html", "/js/missing.js"),
        (ERROR, "missing-asset", None, None, "a/index.html", "/img/ok-2x.png"),
        (ERROR, "missing-asset", None, None, "a/index.html", "/img/b.webp"),
        (ERROR, "missing-asset", None, None, "a/index.html", "/img/poster.png"),
        (ERROR, "missing-asset", None, None, "a/index.html", "/img/bg.png"),
        (ERROR, "missing-asset", None, None, "css/site.css", "/fonts/missing.woff2"),
        (ERROR, "broken-link", None, None, "old/index.html", "/gone/"),
    }


def test_orphans_missing_alt_and_severity_settings(tmp_path, no_network):
    files = {
        "index.html": page('<a href="/seen/">seen</a>'),
        "404.html": page("<p>not found</p>"),
        "seen/index.html": page('<a href="/seen/">self</a><img src="/p.png">'),
        "lonely/index.html": page('<a href="/lonely/#main">only itself</a>'),
        "pagefind/fragment.html": page("<p>internal</p>"),
        "p.png": "",
    }
    manifest = {
        "base_path": "/",
        "pages": {
            "lonely/index.html": {"source": "content/pages/lonely.md", "links": []},
            "seen/index.html": {"source": "content/pages/seen.md", "links": [["p.png", 4]]},
        },
    }
    site = write_site(tmp_path / "_site", files, manifest)
    assert found(check_site(site, LinkcheckSettings())) == {
        (WARNING, "orphan", "content/pages/lonely.md", None, "lonely/index.html", ""),
        (ERROR, "missing-alt", "content/pages/seen.md", 4, "seen/index.html", "/p.png"),
    }
    settings, errors = LinkcheckSettings.from_mapping(
        {"orphans": "ignore", "severity": {"missing-alt": "warning"}}
    )
    assert errors == []
    assert found(check_site(site, settings)) == {
        (WARNING, "missing-alt", "content/pages/seen.md", 4, "seen/index.html", "/p.png"),
    }


def test_same_broken_link_twice_maps_to_both_lines_and_template_links_to_the_file(tmp_path):
    body = '<a href="/articles/nope/">one</a><p>…</p><a href="/articles/nope/">two</a>'
    site = write_site(
        tmp_path / "_site",
        {
            "index.html": page('<a href="/articles/x/">x</a>'),
            "articles/x/index.html": page(body, nav='<a href="/">H</a><a href="/abuot/">About</a>'),
        },
        {
            "base_path": "/",
            "pages": {
                "articles/x/index.html": {
                    "source": "content/articles/x.md",
                    "links": [["nope.md", 5], ["nope.md", 9]],
                }
            },
        },
    )
    lines = {(p.target, p.line) for p in check_site(site, LinkcheckSettings())}
    assert lines == {("/articles/nope/", 5), ("/articles/nope/", 9), ("/abuot/", None)}


def test_case_mismatch_in_a_path_is_broken_with_a_hint(tmp_path):
    site = write_site(
        tmp_path / "_site",
        {
            "index.html": page('<a href="/Articles/Trust/">t</a><a href="/articles/trust/">t</a>'),
            "articles/trust/index.html": page("<p>t</p>"),
        },
        {"base_path": "/", "pages": {}},
    )
    [problem] = check_site(site, LinkcheckSettings())
    assert (problem.kind, problem.target) == ("broken-link", "/Articles/Trust/")
    assert "did you mean 'articles/trust/index.html'? paths are case-sensitive" in problem.message


# -- the manifest ----------------------------------------------------------------------------


def test_absent_manifest_reports_pages_only(tmp_path):
    site = write_site(
        tmp_path / "_site",
        {"index.html": page('<a href="/nope/">x</a>')},
        manifest=None,
    )
    assert found(check_site(site, LinkcheckSettings())) == {
        (WARNING, "no-manifest", None, None, "", ""),
        (ERROR, "broken-link", None, None, "index.html", "/nope/"),
    }


@pytest.mark.parametrize(
    "text, why",
    [
        ("{not json", "cannot read it"),
        ("[1, 2]", "expected a JSON object"),
        ('{"pages": []}', "'pages' must be an object"),
        ('{"pages": {"index.html": {"links": []}}}', "1 malformed entries"),
        ('{"base_path": 3}', "'base_path' must be a path"),
        ('{"unpublished": "x"}', "'unpublished' must be a list"),
    ],
)
def test_malformed_manifest_is_a_clear_problem_and_the_check_goes_on(tmp_path, text, why):
    site = write_site(tmp_path / "_site", {"index.html": page('<a href="/nope/">x</a>')}, None)
    (site / ".haven-build.json").write_text(text, encoding="utf-8")
    problems = check_site(site, LinkcheckSettings())
    kinds = sorted((p.kind, p.severity) for p in problems)
    assert kinds == [("bad-manifest", ERROR), ("broken-link", ERROR)]
    bad = next(p for p in problems if p.kind == "bad-manifest")
    assert why in bad.message and "build again" in bad.message


def test_manifest_is_read_with_its_fields(tmp_path):
    site = write_site(
        tmp_path,
        {},
        {
            "generator": "haven 0.1.0",
            "base_path": "/haven",
            "pages": {"a/index.html": {"source": "content/pages/a.md", "links": [["b.md", 3]]}},
            "unpublished": ["/articles/d"],
        },
    )
    manifest, problems = read_manifest(site)
    assert problems == []
    assert manifest.base_path == "/haven/"
    assert manifest.pages["a/index.html"].links == (("b.md", 3),)
    assert manifest.unpublished == frozenset({"/articles/d/"})


def test_missing_output_folder_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError, match="no built site here"):
        check_site(tmp_path / "_site", LinkcheckSettings())


def test_a_clean_site_has_no_problems_and_is_deterministic(tmp_path, no_network):
    files = {
        "index.html": page('<a href="/a/">a</a><a href="/b/#x">b</a>'),
        "a/index.html": page('<a href="../b/">b</a>'),
        "b/index.html": page('<h2 id="x">x</h2><a href="https://www.bbc.co.uk/weather">exit</a>'),
        "feed.xml": "<feed><link href='/nowhere/'/></feed>",
    }
    site = write_site(tmp_path / "_site", files, {"base_path": "/", "pages": {}})
    assert check_site(site, LinkcheckSettings()) == []


# -- settings --------------------------------------------------------------------------------


def test_settings_defaults_and_repo_mapping():
    repo = {
        "orphans": "warning",
        "external": {
            "per_host": 2,
            "timeout": 10,
            "cache_ttl_hours": 24,
            "exclude": [],
            "accept": [200, 204],
        },
    }
    settings, errors = LinkcheckSettings.from_mapping(repo)
    assert errors == []
    assert settings.level("orphan") == WARNING
    assert settings.external.per_host == 2
    assert settings.external.accept == (200, 204)
    assert settings.external.timeout == 10.0
    assert LinkcheckSettings.from_mapping(None) == (LinkcheckSettings(), [])
    assert dict(LinkcheckSettings().severity) == dict(DEFAULT_SEVERITY)


def test_settings_errors_name_the_key():
    _, errors = LinkcheckSettings.from_mapping(
        {
            "orphans": "loud",
            "colour": True,
            "severity": {"broken-lnk": "error", "missing-alt": "fatal"},
            "external": {
                "per_host": "x",
                "timeout": 0,
                "retries": True,
                "accept": [200, "204"],
                "exclude": ["(unclosed"],
                "cache_ttl_hours": -1,
                "speed": 3,
            },
        }
    )
    assert errors == [
        "linkcheck.colour: unknown key (expected severity, orphans or external)",
        "linkcheck.orphans: expected one of error, warning, ignore, got 'loud'",
        "linkcheck.severity.broken-lnk: unknown kind of problem (known: "
        + ", ".join(sorted(DEFAULT_SEVERITY))
        + ")",
        "linkcheck.severity.missing-alt: expected one of error, warning, ignore, got 'fatal'",
        "linkcheck.external.per_host: expected a whole number >= 1, got 'x'",
        "linkcheck.external.timeout: expected a number of seconds > 0, got 0",
        "linkcheck.external.retries: expected a whole number >= 0, got True",
        "linkcheck.external.accept: expected HTTP status codes (100-599), got '204'",
        "linkcheck.external.exclude: '(unclosed' is not a valid regular expression "
        "(missing ), unterminated subpattern at position 0)",
        "linkcheck.external.cache_ttl_hours: expected a number of hours >= 0, got -1",
        "linkcheck.external.speed: unknown key (expected one of: per_host, timeout, "
        "connect_timeout, retries, max_redirects, cache_ttl_hours, accept, exclude, "
        "budget_seconds, allow_private)",
    ]
    assert LinkcheckSettings.from_mapping([1])[1] == ["linkcheck: expected a mapping, got [1]"]
    assert LinkcheckSettings.from_mapping({"orphans": "ignore", "severity": {"orphan": "error"}})[
        1
    ] == ["linkcheck.severity.orphan: conflicts with linkcheck.orphans ('ignore')"]


# -- small parsers ---------------------------------------------------------------------------


def test_srcset_css_and_refresh_parsing():
    assert srcset_urls("a.png 1x, b.png 2x") == ["a.png", "b.png"]
    assert srcset_urls("a.png,b.png 2x") == ["a.png,b.png"]
    assert srcset_urls(" a.png 600w,\n b.png 1200w ") == ["a.png", "b.png"]
    assert srcset_urls("x.png") == ["x.png"]
    assert css_urls(
        "a{b:url( 'x.png' )} c{d:url(y.svg#i)} @import \"z.css\"; e{f:url(data:x)}"
    ) == [
        "x.png",
        "y.svg#i",
        "z.css",
    ]
    assert refresh_url("0; url=/next/") == "/next/"
    assert refresh_url("5;URL='/a b/'") == "/a b/"
    assert refresh_url("10") == ""


def test_same_url_in_different_attributes_is_judged_per_attribute(tmp_path, no_network):
    pixel = "data:image/png;base64,iVBORw0KGgo="
    site = write_site(
        tmp_path / "_site",
        {
            "index.html": page(
                f'<img src="{pixel}" alt=""><a href="{pixel}">pixel</a>'
                '<a href="https://example.org/other-site/">same host, other site</a>'
                '<a href="https://example.org/haven/nope/">own site, broken</a>',
                nav="",
            )
        },
        {"base_path": "/haven/", "pages": {}},
    )
    problems = check_site(site, LinkcheckSettings(), site_url="https://example.org/haven/")
    assert found(problems) == {
        (ERROR, "unsafe-url", None, None, "index.html", pixel),
        (ERROR, "broken-link", None, None, "index.html", "https://example.org/haven/nope/"),
    }


def test_two_problems_about_one_image_share_its_line(tmp_path):
    site = write_site(
        tmp_path / "_site",
        {
            "index.html": page('<a href="/a/">a</a>'),
            "a/index.html": page('<img src="/gone.png"><p>text</p><img src="/gone.png">'),
        },
        {
            "base_path": "/",
            "pages": {
                "a/index.html": {
                    "source": "content/pages/a.md",
                    "links": [["/gone.png", 3], ["/gone.png", 8]],
                }
            },
        },
    )
    assert {(p.kind, p.line) for p in check_site(site, LinkcheckSettings())} == {
        ("missing-asset", 3),
        ("missing-asset", 8),
        ("missing-alt", 3),
        ("missing-alt", 8),
    }


def test_every_external_kind_has_a_default_severity():
    from haven.check.external import KINDS

    assert set(KINDS) <= set(DEFAULT_SEVERITY)


def test_a_vague_link_is_not_pinned_on_an_unrelated_line(tmp_path):
    site = write_site(
        tmp_path / "_site",
        {"a/index.html": page('<a href="#">top</a>', nav='<a href="/">Home</a>')},
        {
            "base_path": "/",
            "pages": {"a/index.html": {"source": "content/pages/a.md", "links": [["#", 3]]}},
        },
    )
    assert found(check_site(site, LinkcheckSettings())) == {
        (ERROR, "broken-link", "content/pages/a.md", None, "a/index.html", "/"),
        (WARNING, "orphan", "content/pages/a.md", None, "a/index.html", ""),
    }


def test_links_repeated_on_every_page_are_judged_on_each_page(tmp_path, no_network):
    """A link found sound once is not checked again, but what depends on the page still is."""
    nav = '<a href="/">Home</a><a href="/a/">A</a><a href="/a/#top-part">A, top</a>'
    site = write_site(
        tmp_path / "_site",
        {
            "index.html": page('<a href="/b/">b</a><a href="x/">x</a>', nav=nav),
            "a/index.html": page('<h2 id="top-part">t</h2><a href="#top-part">here</a>', nav=nav),
            "b/index.html": page(
                '<a href="x/">x</a><a href="#top-part">gone</a><a href="#:~:text=x">x</a>', nav=nav
            ),
            "b/x/index.html": page('<a href="../">up</a>', nav=nav),
            "lonely/index.html": page('<a href="/lonely/">me</a>', nav=nav),
        },
        None,
    )
    problems = check_site(site)
    assert {(p.kind, p.page, p.target) for p in problems} == {
        ("no-manifest", "", ""),
        ("broken-link", "index.html", "x/"),  # the same relative link is fine from b/
        ("missing-fragment", "b/index.html", "#top-part"),  # an id of a/, not of b/
        ("orphan", "lonely/index.html", ""),  # its only link is to itself
    }
