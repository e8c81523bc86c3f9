"""End-to-end builds of tiny fixture sites: the HTML, the files written, exit codes, error text."""

from __future__ import annotations

import json
import re
import shutil
import unicodedata
from pathlib import Path
from urllib.parse import unquote

import pytest
from selectolax.lexbor import LexborHTMLParser
from sitekit import SITE_YAML, article, make_site, run, snapshot

from haven.check.links import check_site
from haven.incremental.store import Store
from haven.writer import MARKER_TEXT, read_state


def state(root: Path) -> dict:
    """What the last build recorded about root/_site (in .cache/haven/): check's manifest."""
    return read_state(Store.for_project(root), root / "_site")


def html(root: Path, rel: str) -> LexborHTMLParser:
    return LexborHTMLParser((root / "_site" / rel).read_text(encoding="utf-8"))


def titles(root: Path, rel: str) -> list[str]:
    return [
        a.text(strip=True)
        for a in html(root, rel).css("main h2 a, main h3 a")
        if "/articles/" in (a.attributes.get("href") or "")
    ]


def test_complete_site_from_a_few_files(tmp_path, capsys):
    root = make_site(
        tmp_path,
        {
            "content/articles/one.md": article("One", tags=["selfcare", "communication"]),
            "content/articles/two.md": article("Two", date="2026-01-11"),
            "content/pages/about.md": "---\ntitle: About\nmenu: 1\n---\n\nAbout us.\n",
        },
    )
    assert run(root) == 0
    out = capsys.readouterr().out
    assert re.search(
        r"Built \d+ files .*2 articles, 2 topics, 0 drafts and 0 future articles "
        r"skipped, 0 warnings, in [\d.]+ s",
        out,
    )
    site = root / "_site"
    for rel in [
        "index.html",
        "articles/one/index.html",
        "articles/two/index.html",
        "tags/index.html",
        "tags/selfcare/index.html",
        "tags/communication/index.html",
        "about/index.html",
        "get-help/index.html",
        "404.html",
        "feed.xml",
        "tags/selfcare/feed.xml",
        "sitemap.xml",
        "robots.txt",
        "static/css/site.css",
        "static/css/pygments.css",
        ".haven",  # the marker; the build state is in .cache/haven/
    ]:
        assert (site / rel).is_file(), rel
    assert titles(root, "tags/selfcare/index.html") == ["Two", "One"]
    nav = [a.text(strip=True) for a in html(root, "index.html").css("nav a")]
    assert {"Home", "Topics", "About", "Get help"} <= set(nav)
    assert check_site(site, site_url="https://example.org/", manifest=state(root)) == []


def test_tag_spellings_are_one_topic_and_drafts_and_future_are_left_out(tmp_path, capsys):
    root = make_site(
        tmp_path,
        {
            "content/articles/a.md": article("A", tags=["Self-Care"], date="2026-01-01"),
            "content/articles/b.md": article("B", tags=["#SelfCare"], date="2026-01-02"),
            "content/articles/c.md": article("C", tags=["self care"], date="2026-01-03"),
            "content/articles/d.md": article("D", tags=["selfcare"], extra="draft: true\n"),
            "content/articles/e.md": article("E", tags=["selfcare"], date="2999-01-01"),
        },
    )
    assert run(root, "build", "--now", "2026-06-01T00:00:00+00:00") == 0
    assert "1 drafts and 1 future articles skipped" in capsys.readouterr().out
    assert titles(root, "tags/selfcare/index.html") == ["C", "B", "A"]
    assert not (root / "_site/articles/d").exists() and not (root / "_site/articles/e").exists()
    feed = (root / "_site/feed.xml").read_text()
    assert "<title>D</title>" not in feed and "<title>E</title>" not in feed
    assert "/articles/d/" not in (root / "_site/sitemap.xml").read_text()
    assert run(root, "build", "--drafts", "--future", "--now", "2026-06-01T00:00:00+00:00") == 0
    assert titles(root, "tags/selfcare/index.html") == ["E", "D", "C", "B", "A"]


def test_unicode_topics_get_working_pages(tmp_path, capsys):
    root = make_site(
        tmp_path,
        {
            "content/articles/a.md": article("A", tags=["心の健康", "Ánimo", "año", "ano"]),
        },
        site_yaml=SITE_YAML.replace("topics:", "topics_unused:")
        .replace("topics_unused:", "x_topics:")
        .split("x_topics:")[0]
        + "content_notes: []\n",
    )
    assert run(root) == 0
    site = root / "_site"
    names = {unicodedata.normalize("NFC", p.name) for p in (site / "tags").iterdir()}
    assert {"心の健康", "ánimo", "año", "ano"} <= names
    hrefs = [
        a.attributes["href"] for a in html(root, "articles/a/index.html").css("a[href*='/tags/']")
    ]
    assert "/tags/%E5%BF%83%E3%81%AE%E5%81%A5%E5%BA%B7/" in hrefs
    for href in hrefs:
        assert (site / unquote(href).lstrip("/") / "index.html").is_file() or href == "/tags/"
    assert check_site(site, manifest=state(root)) == []


def test_empty_tag_gets_a_fallback_page_with_a_warning(tmp_path, capsys):
    root = make_site(tmp_path, {"content/articles/a.md": article("A", tags=["selfcare", "!!!"])})
    assert run(root) == 0
    err = capsys.readouterr().err
    assert re.search(
        r"content/articles/a.md:5: warning: 'tags': tag '!!!' has no letters or digits; "
        r"its page is /tags/t-[0-9a-f]{8}/",
        err,
    )
    assert not (root / "_site/tags/index.html").read_text().count("/tags//")
    assert len(list((root / "_site/tags").glob("t-*/index.html"))) == 1


def test_tags_as_a_string_and_as_a_yaml_comment(tmp_path, capsys):
    root = make_site(
        tmp_path,
        {
            "content/articles/a.md": "---\ntitle: A\ndate: 2026-01-01\nsummary: S.\ntags: selfcare\n---\nx\n",
            "content/articles/b.md": "---\ntitle: B\ndate: 2026-01-01\nsummary: S.\ntags: #selfcare\n---\nx\n",
        },
    )
    code = run(root)
    err = capsys.readouterr().err
    assert "content/articles/a.md:5" in err and "should be a list" in err
    assert "content/articles/b.md:5" in err and 'tags: ["#selfcare"]' in err
    assert code == 1  # b has no tags at all, which is an error


def test_every_error_in_every_file_and_previous_output_kept(tmp_path, capsys):
    root = make_site(tmp_path, {"content/articles/good.md": article("Good")})
    assert run(root) == 0
    before = snapshot(root / "_site", skip=())
    (root / "content/articles/bad1.md").write_text(
        "---\ntitle: Bad\ndate: 2026-02-30\nsummary: S.\ntags: [selfcare]\n---\nx\n"
    )
    (root / "content/articles/bad2.md").write_text(
        "---\ntitle: Bad two\ndate: 2026-01-01\nsumary: S.\ntags: [selfcare]\n---\nx\n"
    )
    (root / "content/articles/bad3.md").write_text(
        "---\ntitle: Bad: three\ndate: 2026-01-01\nsummary: S.\ntags: [selfcare]\n---\nx\n"
    )
    assert run(root) == 1
    err = capsys.readouterr().err
    assert "content/articles/bad1.md:3" in err and "'date'" in err
    assert "content/articles/bad2.md:4" in err and "did you mean 'summary'?" in err
    assert "content/articles/bad3.md:2" in err
    assert "Traceback" not in err
    assert "the previous output was left as it was" in err
    assert snapshot(root / "_site", skip=()) == before


def test_template_errors_name_the_template_and_line(tmp_path, capsys):
    root = make_site(tmp_path, {"content/articles/a.md": article("A")})
    page = root / "templates/page.html"
    page.write_text(page.read_text() + "\n{% if %}\n")
    assert run(root) == 1
    assert re.search(
        r"templates/page.html:\d+: error: template syntax error", capsys.readouterr().err
    )

    make_site(root, {})  # restore the theme
    base = root / "templates/article.html"
    lines = base.read_text().splitlines()
    at = next(i for i, line in enumerate(lines) if "{% block head %}" in line) + 1
    lines.insert(at, "{{ article.titel }}")
    base.write_text("\n".join(lines) + "\n")
    assert run(root) == 1
    err = capsys.readouterr().err
    assert f"templates/article.html:{at + 1}: error: UndefinedError" in err and "titel" in err


def test_hostile_title_is_escaped_everywhere(tmp_path, capsys):
    evil = '</script><script>alert(1)</script> & "quotes"'
    root = make_site(tmp_path, {"content/articles/x.md": article(evil, summary=evil)})
    assert run(root) == 0
    page = (root / "_site/articles/x/index.html").read_text()
    assert "<script>alert(1)" not in page
    tree = LexborHTMLParser(page)
    assert evil in tree.css_first("title").text()
    assert tree.css_first("h1").text(strip=True) == evil
    for node in tree.css('script[type="application/ld+json"]'):
        data = json.loads(node.text())
        if data.get("@type") in ("Article", "MedicalWebPage"):
            assert data["headline"] == evil
    import xml.etree.ElementTree as ET

    ET.fromstring((root / "_site/feed.xml").read_bytes())


def test_markdown_links_between_articles_are_rewritten_and_checked(tmp_path, capsys):
    root = make_site(
        tmp_path,
        {
            "content/articles/a.md": article(
                "A", body="See [B](b.md#why-it-matters) and [C](c.md).\n"
            ),
            "content/articles/b.md": article("B", body="## Why it matters\n\nText.\n"),
        },
    )
    assert run(root) == 1
    err = capsys.readouterr().err
    assert "content/articles/a.md:8: error: link to 'c.md'" in err
    (root / "content/articles/c.md").write_text(article("C", extra="draft: true\n"))
    assert run(root) == 1
    assert "which is a draft and not published" in capsys.readouterr().err
    (root / "site.yaml").write_text(SITE_YAML + "broken_md_links: warning\n")
    assert run(root) == 0
    link = html(root, "articles/a/index.html").css_first('a[href^="/articles/b/"]')
    assert link.attributes["href"] == "/articles/b/#why-it-matters"
    # The link to the draft is reported by check too.
    assert check_site(root / "_site", manifest=state(root))


def test_sub_path_base_url(tmp_path, capsys):
    root = make_site(
        tmp_path,
        {
            "content/articles/a.md": article("A", body="See [B](b.md).\n"),
            "content/articles/b.md": article("B"),
        },
        site_yaml=SITE_YAML.replace("https://example.org/", "https://example.org/haven/"),
    )
    assert run(root) == 0
    tree = html(root, "articles/a/index.html")
    local = [
        n.attributes.get("href") or n.attributes.get("src")
        for n in tree.css("a[href], link[href], script[src], img[src]")
    ]
    local = [u for u in local if u.startswith("/")]
    assert local and all(u.startswith("/haven/") for u in local)
    assert (
        tree.css_first('link[rel="canonical"]').attributes["href"]
        == "https://example.org/haven/articles/a/"
    )
    problems = check_site(
        root / "_site", site_url="https://example.org/haven/", manifest=state(root)
    )
    assert problems == []


def test_two_builds_are_byte_identical(tmp_path, capsys):
    files = {
        f"content/articles/a{i}.md": article(
            f"A{i}", date=f"2026-01-{i + 1:02d}", tags=["selfcare", "communication"][: 1 + i % 2]
        )
        for i in range(5)
    }
    one = make_site(tmp_path / "one", files)
    two = make_site(tmp_path / "two", files)
    assert run(one, "build", "--now", "2026-06-01T00:00:00+00:00") == 0
    assert run(two, "build", "--now", "2026-06-01T00:00:00+00:00") == 0
    assert snapshot(one / "_site", skip=()) == snapshot(two / "_site", skip=())


def test_paths_that_collide_or_are_reserved(tmp_path, capsys):
    root = make_site(
        tmp_path,
        {
            "content/articles/a.md": article("A", extra="slug: same\n"),
            "content/articles/b.md": article("B", extra="slug: same\n"),
            "content/pages/tags.md": "---\ntitle: Tags\n---\nx\n",
        },
    )
    assert run(root) == 1
    err = capsys.readouterr().err
    # One error for the clash, with the `slug:` lines of both files; one for the reserved slug.
    assert re.search(
        r"content/articles/[ab].md:6: error: 'slug': /articles/same/ is also the address of "
        r"content/articles/[ab].md:6",
        err,
    )
    assert "content/pages/tags.md" in err and "reserved" in err
    assert "Build failed: 2 errors" in err


@pytest.mark.parametrize("slug", ["../escape", "a/b", "/abs", "a\\\\b"])
def test_unsafe_slugs_are_errors(tmp_path, capsys, slug):
    root = make_site(tmp_path, {"content/articles/a.md": article("A", extra=f'slug: "{slug}"\n')})
    assert run(root) == 1
    assert "'slug'" in capsys.readouterr().err
    assert not (tmp_path / "escape").exists()


def test_strict_turns_warnings_into_errors(tmp_path, capsys):
    root = make_site(tmp_path, {"content/articles/a.md": article("A", tags=["notinvocabulary"])})
    assert run(root) == 0
    assert "is not in the vocabulary" in capsys.readouterr().err
    assert run(root, "build", "--strict") == 1


def test_exit_code_2_for_site_yaml_and_unsafe_output(tmp_path, capsys):
    root = make_site(
        tmp_path, {"content/articles/a.md": article("A")}, site_yaml=SITE_YAML + "colour: blue\n"
    )
    assert run(root) == 2
    assert "site.yaml:" in capsys.readouterr().err
    root = make_site(tmp_path / "b", {"content/articles/a.md": article("A")})
    (root / "mine").mkdir()
    (root / "mine" / "notes.txt").write_text("keep")
    assert run(root, "build", "--output", str(root / "mine")) == 2
    assert (root / "mine" / "notes.txt").read_text() == "keep"
    assert run(root, "build", "--bogus") == 2


def test_pagination_related_and_neighbours(tmp_path, capsys):
    files = {
        f"content/articles/a{i}.md": article(f"A{i}", date=f"2026-01-{i + 1:02d}") for i in range(5)
    }
    root = make_site(tmp_path, files, site_yaml=SITE_YAML.replace("page_size: 10", "page_size: 2"))
    assert run(root) == 0
    site = root / "_site"
    assert (site / "tags/selfcare/page/2/index.html").is_file()
    assert (site / "tags/selfcare/page/3/index.html").is_file()
    assert not (site / "tags/selfcare/page/4").exists()
    assert titles(root, "tags/selfcare/page/3/index.html") == ["A0"]
    page2 = html(root, "tags/selfcare/page/2/index.html")
    assert page2.css_first('a[rel="prev"]').attributes["href"] == "/tags/selfcare/"
    assert page2.css_first('a[rel="next"]').attributes["href"] == "/tags/selfcare/page/3/"
    middle = (site / "articles/a2/index.html").read_text()
    assert "/articles/a1/" in middle and "/articles/a3/" in middle


def test_article_features(tmp_path, capsys):
    body = """
    Intro with a citation [@doe2020].

    ## First

    Text.

    ## Second

    ```python
    print("hi")
    ```

    ## Third

    <span onclick="x()">raw</span> <script>alert(1)</script>

    ## Questions

    ### Is this a question?

    Yes, it is.
    """
    refs = "- key: doe2020\n  authors: Doe, J.\n  year: 2020\n  title: A study\n  doi: 10.1/x\n"
    root = make_site(
        tmp_path,
        {
            "content/articles/a.md": article("A", body=body, extra="content_notes: [suicide]\n"),
            "content/references.yaml": refs,
        },
    )
    assert run(root) == 0
    err = capsys.readouterr().err
    assert "content/articles/a.md" in err and "sanitised" in err
    tree = html(root, "articles/a/index.html")
    page = tree.html
    assert "<script>alert" not in page and "onclick" not in page
    assert [a.text() for a in tree.css(".toc a")] == ["First", "Second", "Third", "Questions"]
    assert tree.css_first("pre code, .highlight") is not None
    assert tree.css_first('#ref-doe2020 a[href="https://doi.org/10.1/x"]') is not None
    assert tree.css_first('sup.cite a[href="#ref-doe2020"]').text() == "1"
    kinds = [
        json.loads(n.text()).get("@type") for n in tree.css('script[type="application/ld+json"]')
    ]
    assert "FAQPage" in kinds
    assert "This page talks about suicide" in tree.css_first(".content-note").text()
    # support_first: the support block comes before the article body
    assert page.index('id="get-help"') < page.index('id="first"')


def test_unknown_citation_and_unused_reference(tmp_path, capsys):
    refs = "- key: used\n  authors: A\n  year: 2020\n  title: T\n- key: spare\n  authors: B\n  year: 2021\n  title: U\n"
    root = make_site(
        tmp_path,
        {
            "content/articles/a.md": article("A", body="One [@used].\n\nTwo [@usd].\n"),
            "content/references.yaml": refs,
        },
    )
    assert run(root) == 1
    err = capsys.readouterr().err
    assert (
        "content/articles/a.md:10: error: unknown reference '@usd' (did you mean '@used'?)" in err
    )
    assert (
        "content/references.yaml:5: warning: reference 'spare' is not cited by any article" in err
    )


def test_build_then_check_in_one_command(tmp_path, capsys):
    root = make_site(tmp_path, {"content/articles/a.md": article("A")})
    assert run(root, "build", "--check") == 0
    capsys.readouterr()
    assert run(root, "build", "--check", "--format", "json") == 0
    report = json.loads(capsys.readouterr().out)
    assert report["errors"] == 0
    (root / "templates/partials").mkdir(exist_ok=True)
    base = root / "templates/base.html"
    assert "</main>" in base.read_text()
    base.write_text(base.read_text().replace("</main>", '<a href="/nowhere/">x</a></main>', 1))
    assert run(root, "build", "--check") == 1
    out = capsys.readouterr().out
    assert "broken-link" in out and "/nowhere/" in out


def test_incremental_builds_equal_clean_builds(tmp_path, capsys):
    from haven.model import BuildOptions
    from haven.pipeline import build_site

    files = {
        f"content/articles/a{i}.md": article(
            f"A{i}", date=f"2026-01-{i + 1:02d}", body=f"Text {i}. See [next](a{(i + 1) % 4}.md)."
        )
        for i in range(4)
    }
    root = make_site(tmp_path / "inc", files)
    now = BuildOptions(
        now=__import__("datetime").datetime.fromisoformat("2026-06-01T00:00:00+00:00")
    )
    first = build_site(root, now)
    assert first.markdown_rendered == 5  # four articles and the online-safety page

    again = build_site(root, now)
    assert (again.markdown_rendered, again.pages_written) == (0, 0)

    arts = root / "content/articles"
    (arts / "a1.md").write_text(files["content/articles/a1.md"].replace("Text 1.", "Text one."))
    edited = build_site(root, now)
    assert edited.markdown_rendered == 1 and 0 < edited.pages_written < first.pages_written

    template = root / "templates/article.html"
    template.write_text(
        template.read_text().replace("{% block head %}", "{% block head %}<!-- v2 -->", 1)
    )
    restyled = build_site(root, now)
    assert restyled.markdown_rendered == 0 and restyled.pages_written >= 4

    (arts / "a2.md").rename(arts / "renamed.md")
    (arts / "a0.md").write_text(files["content/articles/a0.md"].replace("a1.md", "a3.md"))
    (arts / "a3.md").write_text(files["content/articles/a3.md"].replace("a0.md", "renamed.md"))
    (arts / "a1.md").write_text(files["content/articles/a1.md"].replace("a2.md", "a3.md"))
    build_site(root, now)

    clean = tmp_path / "clean"
    shutil.copytree(root, clean, ignore=shutil.ignore_patterns("_site*", ".cache"))
    build_site(clean, now)
    assert snapshot(root / "_site", skip=()) == snapshot(clean / "_site", skip=())
    assert not (root / "_site/articles/a2").exists()


SLOW_BUILD = """
import sys, time
from haven import cli, writer

real = writer.write_site


def slow(*args, before_swap=None, **kwargs):
    def hook(staging, changed):
        print("staged", flush=True)
        time.sleep(60)
        return []

    kwargs["in_place"] = False  # an edit is written in place; this test is about the swap
    return real(*args, before_swap=hook, **kwargs)


writer.write_site = slow  # the pipeline imports it when it has something to write
sys.exit(cli.main(["build", "--root", sys.argv[1]]))
"""


def test_ctrl_c_during_a_build_leaves_the_previous_output(tmp_path, capsys):
    import signal
    import subprocess
    import sys

    root = make_site(tmp_path, {"content/articles/a.md": article("A", body="Old text.")})
    assert run(root) == 0
    before = snapshot(root / "_site", skip=())
    (root / "content/articles/a.md").write_text(article("A", body="New text."))
    proc = subprocess.Popen(
        [sys.executable, "-c", SLOW_BUILD, str(root)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parent.parent,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        assert proc.stdout.readline().strip() == "staged"  # the new site is complete, not swapped
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 130
    assert "interrupted; the previous output was left as it was" in err
    assert snapshot(root / "_site", skip=()) == before
    assert [p.name for p in tmp_path.iterdir() if ".tmp-" in p.name or ".old-" in p.name] == []


def test_unchanged_inputs_skip_the_build_but_repeat_its_warnings(tmp_path, capsys):
    root = make_site(
        tmp_path, {"content/articles/a.md": article("A", tags=["selfcare", "unknown"])}
    )
    assert run(root) == 0
    first = capsys.readouterr()
    assert run(root) == 0
    again = capsys.readouterr()
    assert "is not in the vocabulary" in first.err and again.err == first.err
    assert re.search(r"Built \d+ files \(0 written, \d+ unchanged\)", again.out)
    (root / "_site/.haven").write_text("changed")  # the folder changed under us: rebuild
    assert run(root) == 0
    assert re.search(r"\(\d+ written", capsys.readouterr().out)
    assert (root / "_site/.haven").read_text() == MARKER_TEXT


def test_a_reference_without_authors_leads_with_its_title(tmp_path):
    refs = (
        "- key: act2015\n  authors: null\n  year: 2015\n  title: Serious Crime Act 2015, section 76\n"
        "  container: legislation.gov.uk\n  url: https://www.legislation.gov.uk/ukpga/2015/9\n"
    )
    from haven.sources.references import load_references

    (tmp_path / "content").mkdir()
    (tmp_path / "content/references.yaml").write_text(refs, encoding="utf-8")
    found, diags = load_references(tmp_path)
    assert diags == []
    html = str(found["act2015"].html())
    assert html.startswith(
        "Serious Crime Act 2015, section 76 (2015). <cite>legislation.gov.uk</cite>. "
    )
