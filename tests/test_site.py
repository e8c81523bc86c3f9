"""The project's own site: it builds without warnings, checks clean, and keeps its content rules."""

from __future__ import annotations

import re
import shutil
from datetime import datetime
from pathlib import Path

import pytest
import yaml

from haven.bodies import render_all
from haven.check import collect_problems
from haven.config import load_config
from haven.model import ERROR, WARNING, BuildOptions
from haven.pipeline import build_site
from haven.sources.discover import load_content
from haven.taxonomy import build_taxonomy

PROJECT = Path(__file__).resolve().parent.parent
BIBLIOGRAPHY = PROJECT.parent / "shared" / "references" / "bibliography.yaml"
SUPPORT_LINES = PROJECT.parent / "shared" / "references" / "support-lines.yaml"
# What content/references.yaml may hold of a checked entry: values only, never its notes.
REFERENCE_FIELDS = ("key", "authors", "year", "title", "container", "volume", "issue", "pages")
REFERENCE_FIELDS += ("doi", "url")
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
    problems = collect_problems(root, now=datetime(2026, 12, 3).astimezone())
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
        assert doc.meta.summary.strip()
        assert not doc.meta.reviewed_by, "no reviewer has reviewed the content yet"


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
    keys = [entry["key"] for entry in ours]
    assert len(keys) == len(set(keys)), "a reference is listed twice"
    for entry in ours:
        assert entry["key"] in checked, f"{entry['key']} is not in the checked bibliography"
        # Notes, summaries and verified_by stay in the bibliography: readers see values only.
        assert set(entry) == set(REFERENCE_FIELDS), (entry["key"], sorted(entry))
        source = checked[entry["key"]]
        for field in REFERENCE_FIELDS:
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


def _digits(number) -> str:
    # "1-800-799-7233 (1-800-799-SAFE)": the digits before any spelled-out form.
    return re.sub(r"\D", "", str(number or "").split("(")[0])


def test_support_lines_are_the_checked_ones_with_their_source_and_date():
    if not SUPPORT_LINES.exists():
        pytest.skip("the checked support lines are not beside this checkout")
    checked = yaml.safe_load(SUPPORT_LINES.read_text(encoding="utf-8"))
    unconfirmed = {_digits(e["unconfirmed_phone"]) for e in checked if e.get("unconfirmed_phone")}
    config = load_config(PROJECT)
    assert config.support
    for line in config.support:
        assert line.source and line.last_verified, f"{line.name}: source and last_verified"
        # The entry whose checked pages include this line's source.
        found = [
            e for e in checked if any(v.split(" ")[0] == line.source for v in e["verified_by"])
        ]
        assert len(found) == 1, f"{line.name}: {line.source} is not a page the list checked"
        entry = found[0]
        assert str(line.last_verified) == entry["verified_on"], line.name
        if line.phone:
            assert entry["phone"], f"{line.name}: the list does not confirm a phone number"
            assert line.tel == _digits(entry["phone"]), line.name
            assert line.tel not in unconfirmed, line.name
        if line.text:
            assert entry["text"] and line.sms == _digits(entry["text"]), line.name


def test_every_region_has_its_emergency_number_name_and_first_lines():
    config = load_config(PROJECT)
    regions = {line.region for line in config.support}
    assert {"US", "GB", "IE", "CA", "AU", "NZ"} <= regions
    assert regions <= set(config.emergency) and regions <= set(config.regions)
    assert config.default_region in regions
    notes = set(config.content_notes)
    for line in config.support:
        assert set(line.content_notes) <= notes, line.name
    # On a sexual-violence page, these regions have a sexual-violence line to put first.
    for region in ("US", "GB", "IE", "AU"):
        assert any(
            "sexual-violence" in line.content_notes
            for line in config.support
            if line.region == region
        ), region
    ndvh = [line for line in config.support if line.name.startswith("National Domestic Violence")]
    assert [(line.region, bool(line.phone), bool(line.text)) for line in ndvh] == [
        ("US", True, True)
    ]


def test_get_help_sends_every_other_country_to_a_directory(site):
    root, _ = site
    page = (root / "_site/get-help/index.html").read_text(encoding="utf-8")
    assert 'href="https://findahelpline.com"' in page
    for number in ("911", "999", "112", "000", "111"):
        assert f'href="tel:{number}"' in page
