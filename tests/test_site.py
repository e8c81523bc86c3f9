"""The project's own site: it builds without warnings, checks clean, and keeps its content rules."""

from __future__ import annotations

import re
import shutil
from datetime import datetime
from pathlib import Path

import pytest
import yaml

from haven.check import collect_problems
from haven.config import load_config
from haven.content import load_content
from haven.model import ERROR, WARNING, BuildOptions
from haven.pipeline import build_site, render_all
from haven.taxonomy import build_taxonomy

PROJECT = Path(__file__).resolve().parent.parent
BIBLIOGRAPHY = PROJECT.parent / "shared" / "references" / "bibliography.yaml"
ORIGINAL_TOPICS = {
    "sexualtrust",
    "healthyrelationships",
    "traumainformedcare",
    "mentalwellness",
    "physicalwellness",
    "communication",
    "selfcare",
}


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """A copy of the project, built once into its own output folder (search included)."""
    root = tmp_path_factory.mktemp("project")
    for name in ("site.yaml", "content", "templates", "static"):
        src = PROJECT / name
        (shutil.copytree if src.is_dir() else shutil.copy2)(src, root / name)
    result = build_site(root, BuildOptions())
    return root, result


@pytest.fixture(scope="module")
def corpus(site):
    root, _ = site
    config = load_config(root)
    docs, diags = load_content(root, config)
    assert diags == []
    rendered, _ = render_all(root, docs)
    return config, docs, rendered


def test_builds_without_warnings(site):
    _, result = site
    assert [d.format() for d in result.diagnostics if d.severity in (ERROR, WARNING)] == []
    assert result.articles >= 16


def test_check_is_clean(site):
    root, _ = site
    problems = collect_problems(root, now=datetime(2026, 11, 26).astimezone())
    assert [
        f"{p.severity} {p.kind} {p.source or p.page}: {p.message}"
        for p in problems
        if p.severity in (ERROR, WARNING)
    ] == []
    assert (root / "_site/pagefind/pagefind-entry.json").is_file()


def test_articles_follow_the_content_rules(corpus):
    config, docs, rendered = corpus
    articles = [d for d in docs if d.kind == "article"]
    assert len(articles) >= 16
    vocabulary = {t.key for t in config.topics}
    for doc in articles:
        r = rendered[doc.path]
        assert 600 <= r.words <= 1500, (doc.path, r.words)
        assert len({c.key for c in r.citations}) >= 2, doc.path
        tax = build_taxonomy([doc], config.topics)
        keys = tax.by_article[doc.path]
        assert 2 <= len(keys) <= 5 and set(keys) <= vocabulary, (doc.path, keys)
        assert r.questions, f"{doc.path} has no question-and-answer section"
        assert doc.meta["summary"].strip()
        assert not doc.meta.get("reviewed_by"), "no reviewer has reviewed the content yet"


def test_every_topic_lists_at_least_two_articles(corpus):
    config, docs, _ = corpus
    articles = [d for d in docs if d.kind == "article"]
    tax = build_taxonomy(articles, config.topics)
    assert 10 <= len(config.topics) <= 16
    assert ORIGINAL_TOPICS <= {t.key for t in config.topics}
    for topic in config.topics:
        assert len(tax.topics[topic.key].articles) >= 2, topic.key
        assert topic.description.strip()


def test_references_match_the_checked_bibliography():
    ours = yaml.safe_load((PROJECT / "content/references.yaml").read_text(encoding="utf-8"))
    if not BIBLIOGRAPHY.exists():
        pytest.skip("the shared bibliography is not beside this checkout")
    checked = {e["key"]: e for e in yaml.safe_load(BIBLIOGRAPHY.read_text(encoding="utf-8"))}
    for entry in ours:
        assert entry["key"] in checked, f"{entry['key']} is not in the checked bibliography"
        source = checked[entry["key"]]
        for field in ("title", "year", "doi", "authors", "container", "volume", "pages", "url"):
            assert entry.get(field) == source.get(field), (entry["key"], field)


def test_no_sentence_of_the_original_page_is_reused():
    seed_dir = PROJECT.parent / "shared" / "seed"
    if not seed_dir.exists():
        pytest.skip("the original page is not beside this checkout")
    seed = " ".join(p.read_text(encoding="utf-8") for p in seed_dir.iterdir()).lower()
    words = re.findall(r"[a-z']+", seed)
    shingles = {" ".join(words[i : i + 8]) for i in range(len(words) - 7)}
    for path in sorted((PROJECT / "content").rglob("*.md")):
        ours = re.findall(r"[a-z']+", path.read_text(encoding="utf-8").lower())
        for i in range(len(ours) - 7):
            assert " ".join(ours[i : i + 8]) not in shingles, (
                f"{path.name} repeats the original page"
            )


def test_support_lines_have_digits_only_tel_links(site):
    root, _ = site
    page = (root / "_site/get-help/index.html").read_text(encoding="utf-8")
    tels = re.findall(r'href="tel:([^"]*)"', page)
    assert tels and all(re.fullmatch(r"\+?\d+", t) for t in tels)
