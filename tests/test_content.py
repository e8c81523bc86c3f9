"""load_content on small projects built in tmp_path: discovery, Documents, every problem at once."""

from __future__ import annotations

import hashlib
import os
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from sitekit import given

from haven.model import ERROR, WARNING
from haven.sources.discover import load_content

TZ = ZoneInfo("America/New_York")

ARTICLE = """---
title: Trust after trauma
date: 2024-03-15
summary: What trust can feel like.
tags: ["#SelfCare", boundaries]
content_notes: [violence]
---
# Trust

Text.
"""

PAGE = """---
title: About us
menu: 1
---
About text.
"""


def settings(**kw) -> SimpleNamespace:
    base = {
        "timezone": TZ,
        "max_file_size": 1024 * 1024,
        "content_notes": {"violence": object(), "suicide": object()},
    }
    return SimpleNamespace(**{**base, **kw})


def project(root: Path, files: dict[str, str | bytes]) -> Path:
    for rel, data in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data.encode() if isinstance(data, str) else data)
    return root


def errors(diags) -> list[str]:
    return [d.format() for d in diags if d.severity == ERROR]


def test_articles_and_pages_become_documents(tmp_path):
    root = project(
        tmp_path,
        {"content/articles/trust.md": ARTICLE, "content/pages/about.md": PAGE},
    )
    docs, diags = load_content(root, settings())
    assert diags == []
    article, page = docs
    assert (article.kind, article.path, article.rel, article.slug) == (
        "article",
        "content/articles/trust.md",
        "articles/trust.md",
        "trust",
    )
    assert given(article.meta) == {
        "title": "Trust after trauma",
        "date": datetime(2024, 3, 15, tzinfo=TZ),
        "summary": "What trust can feel like.",
        "tags": ["#SelfCare", "boundaries"],
        "content_notes": ["violence"],
    }
    assert article.tags == ("#SelfCare", "boundaries")
    assert (article.body, article.body_line) == ("# Trust\n\nText.\n", 8)
    assert article.digest == hashlib.sha256(ARTICLE.encode()).hexdigest()
    assert (page.kind, page.path, page.rel, page.slug) == (
        "page",
        "content/pages/about.md",
        "pages/about.md",
        "about",
    )
    assert given(page.meta) == {"title": "About us", "menu": 1}
    assert page.date is None


def test_bom_and_crlf_build_the_same_documents_as_lf(tmp_path):
    lf = project(tmp_path / "lf", {"content/articles/trust.md": ARTICLE})
    crlf = project(
        tmp_path / "crlf",
        {"content/articles/trust.md": b"\xef\xbb\xbf" + ARTICLE.replace("\n", "\r\n").encode()},
    )
    (a,), d1 = load_content(lf, settings())
    (b,), d2 = load_content(crlf, settings())
    assert d1 == d2 == []
    assert a.digest != b.digest  # the bytes differ ...
    assert a == type(a)(**{**b.__dict__, "digest": a.digest})  # ... and nothing else does
    assert "\r" not in b.body and "\ufeff" not in b.body


def test_slugs_come_from_the_field_or_the_file_name(tmp_path):
    root = project(
        tmp_path,
        {
            "content/articles/2024/My First Post.md": ARTICLE,
            "content/articles/other.md": ARTICLE.replace("title:", "slug: custom-slug\ntitle:"),
            "content/articles/Cafe\u0301.md": ARTICLE,
        },
    )
    docs, diags = load_content(root, settings())
    assert diags == []
    assert [(d.rel, d.slug) for d in docs] == [
        ("articles/2024/My First Post.md", "my-first-post"),
        ("articles/Cafe\u0301.md", "caf\u00e9"),
        ("articles/other.md", "custom-slug"),
    ]


def test_file_name_that_makes_a_bad_slug(tmp_path):
    root = project(tmp_path, {"content/articles/what?.md": ARTICLE})
    docs, diags = load_content(root, settings())
    assert docs == []
    assert errors(diags) == [
        "content/articles/what?.md: error: the file name gives the slug 'what?', which is not "
        "valid: it contains '?' (rename the file to what.md, or set slug: what)"
    ]


def test_every_problem_in_every_file_is_reported_in_one_call(tmp_path):
    root = project(
        tmp_path,
        {
            "content/articles/a-good.md": ARTICLE,
            "content/articles/b-yaml.md": ARTICLE.replace("summary: What", "summary: Note: what"),
            "content/articles/c-fields.md": ARTICLE.replace("2024-03-15", "2024-02-30").replace(
                "tags:", "tagz:"
            ),
            "content/articles/d-none.md": "Just text.\n",
            "content/pages/e-page.md": PAGE.replace("menu: 1", 'menu: "1"\ndraft: "no"'),
        },
    )
    docs, diags = load_content(root, settings())
    assert [d.path for d in docs] == ["content/articles/a-good.md"]
    yaml_error, *others = errors(diags)
    assert yaml_error.startswith(
        "content/articles/b-yaml.md:4:14: error: invalid YAML front matter: mapping values are "
        "not allowed"
    )
    assert yaml_error.endswith('(quote values that contain ": ")')
    assert others == [
        "content/articles/c-fields.md:1: error: 'tags': required key is missing "
        "(add tags: [selfcare, boundaries])",
        "content/articles/c-fields.md:3:7: error: 'date': 2024-02-30 is not a valid date "
        "(February 2024 has 29 days)",
        "content/articles/c-fields.md:5:1: error: 'tagz': unknown key (did you mean 'tags'?)",
        "content/articles/d-none.md:1: error: front matter required: start the file with --- "
        "(begin with a line of ---, then title:, date:, summary: and tags:, then ---)",
        "content/pages/e-page.md:3:7: error: 'menu': menu must be a whole number without quotes, "
        'not "1" (write menu: 2)',
        "content/pages/e-page.md:4:8: error: 'draft': draft must be true or false without "
        'quotes, not the text "no" (write draft: false)',
    ]
    assert all(d.source_line for d in diags if d.line)


def test_warnings_keep_the_document(tmp_path):
    root = project(
        tmp_path,
        {"content/articles/x.md": ARTICLE.replace("title: Trust after trauma", "title: yes")},
    )
    (doc,), diags = load_content(root, settings())
    assert doc.title == "yes"
    assert [(d.severity, d.line, d.key) for d in diags] == [(WARNING, 2, "title")]


def test_alias_bomb_is_refused(tmp_path):
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"a{n}: &a{n} [" + ", ".join([f"*a{n - 1}"] * 9) + "]" for n in range(1, 9)]
    bomb = ARTICLE.replace('tags: ["#SelfCare", boundaries]', "\n".join(lines) + "\ntags: *a8")
    root = project(tmp_path, {"content/articles/bomb.md": bomb, "content/articles/ok.md": ARTICLE})
    docs, diags = load_content(root, settings())
    assert [d.slug for d in docs] == ["ok"]
    assert [(d.path, d.line, d.code) for d in diags] == [
        ("content/articles/bomb.md", 5, "yaml-anchor")
    ]


def test_oversize_file_is_refused_without_reading(tmp_path):
    big = ARTICLE + "word " * 500
    root = project(tmp_path, {"content/articles/big.md": big, "content/articles/ok.md": ARTICLE})
    docs, diags = load_content(root, settings(max_file_size=1000))
    assert [d.slug for d in docs] == ["ok"]
    assert errors(diags) == [
        f"content/articles/big.md: error: file is {len(big) / 1024:.1f} KiB, over the limit of "
        "1000 bytes (split it into shorter articles, or raise max_file_size in site.yaml "
        "(now 1000 bytes))"
    ]


def test_binary_file_with_md_name(tmp_path):
    root = project(tmp_path, {"content/articles/photo.md": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"})
    docs, diags = load_content(root, settings())
    assert docs == []
    assert [(d.path, d.line, d.code) for d in diags] == [("content/articles/photo.md", 3, "binary")]


def test_symlink_to_a_file_outside_the_project_is_refused(tmp_path):
    outside = tmp_path / "secret.md"
    outside.write_text(ARTICLE)
    root = project(tmp_path / "site", {"content/articles/ok.md": ARTICLE})
    (root / "content/articles/leak.md").symlink_to(outside)
    docs, diags = load_content(root, settings())
    assert [d.slug for d in docs] == ["ok"]
    assert errors(diags) == [
        f"content/articles/leak.md: error: symlink points outside the project, to {outside} "
        "(copy the file into the project instead)"
    ]


def test_symlinked_folder_outside_the_project_is_refused(tmp_path):
    outside = project(tmp_path / "elsewhere", {"x.md": ARTICLE})
    root = project(tmp_path / "site", {"content/pages/about.md": PAGE})
    (root / "content/articles").mkdir()
    (root / "content/articles/shared").symlink_to(outside)
    docs, diags = load_content(root, settings())
    assert [d.slug for d in docs] == ["about"]
    assert [(d.path, d.code) for d in diags] == [("content/articles/shared", "symlink-outside")]


def test_symlinks_inside_the_project_are_followed(tmp_path):
    root = project(tmp_path, {"drafts/kept.md": ARTICLE, "shared/more/extra.md": ARTICLE})
    (root / "content/articles").mkdir(parents=True)
    (root / "content/articles/kept.md").symlink_to(root / "drafts/kept.md")
    (root / "content/articles/more").symlink_to(Path("../../shared/more"))
    docs, diags = load_content(root, settings())
    assert diags == []
    assert [d.path for d in docs] == ["content/articles/kept.md", "content/articles/more/extra.md"]


def test_symlink_loop_is_refused_without_hanging(tmp_path):
    root = project(tmp_path, {"content/articles/a.md": ARTICLE})
    (root / "content/articles/again").symlink_to(Path("../articles"))
    docs, diags = load_content(root, settings())
    assert [d.slug for d in docs] == ["a"]
    assert errors(diags) == [
        "content/articles/again: error: this folder is already read as content/articles "
        "(remove the symlink that leads back to it)"
    ]


def test_broken_symlink(tmp_path):
    root = project(tmp_path, {"content/articles/a.md": ARTICLE})
    (root / "content/articles/gone.md").symlink_to(root / "nowhere.md")
    _, diags = load_content(root, settings())
    assert [(d.path, d.code) for d in diags] == [("content/articles/gone.md", "broken-symlink")]


def test_files_that_are_not_read(tmp_path):
    root = project(
        tmp_path,
        {
            "content/articles/a.md": ARTICLE,
            "content/articles/b.markdown": ARTICLE,
            "content/articles/C.MD": ARTICLE,
            "content/articles/.#a.md": "lock",
            "content/articles/.a.md.swp": "swap",
            "content/articles/photo.jpg": b"\xff\xd8",
            "content/stray.md": ARTICLE,
            "content/posts/old.md": ARTICLE,
            "content/references.yaml": "{}",
            "content/pages/sub/nested.md": PAGE,
        },
    )
    docs, diags = load_content(root, settings())
    assert [d.path for d in docs] == ["content/articles/a.md"]
    assert [(d.severity, d.path, d.hint) for d in diags] == [
        (WARNING, "content/articles/C.MD", "rename it to C.md"),
        (WARNING, "content/articles/b.markdown", "rename it to b.md"),
        (WARNING, "content/pages/sub", "move the pages up into content/pages/"),
        (WARNING, "content/posts", "articles go in content/articles/, pages in content/pages/"),
        (WARNING, "content/stray.md", "articles go in content/articles/, pages in content/pages/"),
    ]


def test_missing_content_folders_give_no_documents(tmp_path):
    docs, diags = load_content(tmp_path, settings())
    assert docs == [] and [(d.path, d.code) for d in diags] == [("content/", "no-content")]
    (tmp_path / "content/articles").mkdir(parents=True)
    assert load_content(tmp_path, settings()) == ([], [])


def test_settings_defaults_and_a_list_of_content_notes(tmp_path):
    root = project(tmp_path, {"content/articles/a.md": ARTICLE})
    (doc,), diags = load_content(root, SimpleNamespace(content_notes=["violence"]))
    assert diags == []
    assert doc.date == datetime(2024, 3, 15, tzinfo=ZoneInfo("UTC"))


def test_documents_are_sorted_by_path(tmp_path):
    names = ["b.md", "a/z.md", "a-b.md", "A.md"]
    root = project(tmp_path, {f"content/articles/{n}": ARTICLE for n in names})
    docs, _ = load_content(root, settings())
    assert [d.rel for d in docs] == sorted(f"articles/{n}" for n in names)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_unreadable_file(tmp_path):
    root = project(tmp_path, {"content/articles/a.md": ARTICLE})
    (root / "content/articles/a.md").chmod(0)
    docs, diags = load_content(root, settings())
    assert docs == [] and [d.code for d in diags] == ["unreadable"]
