"""`new`: the scaffolded file parses back, refuses to overwrite, flags its placeholders."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import yaml

from haven.errors import UsageError
from haven.scaffold import new_article, placeholder_problems, slugify

TODAY = date(2026, 11, 26)


@pytest.fixture(autouse=True)
def project(tmp_path: Path) -> Path:
    """`new` writes only into a Haven project: a folder with site.yaml."""
    (tmp_path / "site.yaml").write_text("title: T\nbase_url: https://example.org/\n")
    return tmp_path


def front_matter(path: Path) -> tuple[dict, str]:
    text = path.read_text(encoding="utf-8")
    assert text.startswith("---\n")
    head, sep, body = text[4:].partition("\n---\n")
    assert sep, "no closing fence"
    return yaml.safe_load(head), body


@pytest.mark.parametrize(
    "title",
    [
        "Trust after trauma",
        'Update #2: "what changed" & why',
        "Consent: it's a conversation",
        "- yes",
        "no",
        "%YAML 1.2",
        "!!python/object/apply:os.system ['echo']",
        "Salud mental y año nuevo",
        "心の健康について",
        "back\\slash {braces} [brackets]",
    ],
)
def test_article_front_matter_round_trips(tmp_path: Path, title: str) -> None:
    path = new_article(tmp_path, title, ["selfcare", "Communication"], today=TODAY)

    assert path == tmp_path / "content" / "articles" / f"{slugify(title)}.md"
    meta, body = front_matter(path)
    assert meta["title"] == title
    assert meta["date"] == TODAY
    assert meta["tags"] == ["#selfcare", "#Communication"]
    assert meta["summary"].startswith("TODO")
    assert meta["author"].startswith("TODO")
    assert set(meta) == {"title", "date", "summary", "tags", "author"}


def test_article_body_has_sections_and_questions(tmp_path: Path) -> None:
    path = new_article(tmp_path, "Boundaries", [], today=TODAY)
    meta, body = front_matter(path)

    assert meta["tags"] == []
    lines = body.splitlines()
    h2 = [line for line in lines if line.startswith("## ")]
    h3 = [line for line in lines if line.startswith("### ")]
    assert h2[-1] == "## Questions"
    assert len(h2) == 4 and all(line.startswith("## TODO") for line in h2[:3])
    assert len(h3) >= 1 and all(line.startswith("### TODO") for line in h3)
    assert lines.index("## Questions") < lines.index(h3[0])


def test_tags_are_split_trimmed_and_deduplicated(tmp_path: Path) -> None:
    path = new_article(tmp_path, "Sleep", ["#sleep, rest", " Rest ", "", "self care"], today=TODAY)
    meta, _ = front_matter(path)
    assert meta["tags"] == ["#sleep", "#rest", "#self care"]


@pytest.mark.parametrize(
    ("title", "slug"),
    [
        ("Trust After Trauma!", "trust-after-trauma"),
        ("  What -- is   consent?  ", "what-is-consent"),
        ("Ánimo y año", "ánimo-y-año"),
        ("心の健康", "心の健康"),
        ("ﬁrst steps", "first-steps"),  # NFKC folds the ligature
        ("हिन्दी लेख", "हिन्दी-लेख"),  # vowel signs (combining marks) stay with their letters
        ("under_score and 2 numbers", "under-score-and-2-numbers"),
    ],
)
def test_slugify(title: str, slug: str) -> None:
    assert slugify(title) == slug


def test_long_titles_give_bounded_slugs() -> None:
    slug = slugify("word " * 60)
    assert 0 < len(slug) <= 80 and not slug.endswith("-")


@pytest.mark.parametrize("title", ["!!!", "🙂 🙂", "— ... —"])
def test_title_without_letters_is_refused(tmp_path: Path, title: str) -> None:
    with pytest.raises(UsageError, match="no letters or digits"):
        new_article(tmp_path, title, [], today=TODAY)
    assert not (tmp_path / "content").exists()


@pytest.mark.parametrize("title", ["", "   ", "bad \udcff bytes", "bell \x07"])
def test_empty_or_non_text_title_is_refused(tmp_path: Path, title: str) -> None:
    with pytest.raises(UsageError, match="title"):
        new_article(tmp_path, title, [], today=TODAY)


def test_refuses_to_overwrite(tmp_path: Path) -> None:
    path = new_article(tmp_path, "Trust", [], today=TODAY)
    path.write_text("my words", encoding="utf-8")

    with pytest.raises(UsageError, match=r"content/articles/trust\.md already exists") as info:
        new_article(tmp_path, "Trust", ["x"], today=TODAY)
    assert "not overwriting" in str(info.value)
    assert path.read_text(encoding="utf-8") == "my words"


def test_refuses_a_case_variant_in_a_subfolder(tmp_path: Path) -> None:
    existing = tmp_path / "content" / "articles" / "2025" / "Trust.md"
    existing.parent.mkdir(parents=True)
    existing.write_text("older", encoding="utf-8")

    with pytest.raises(UsageError, match=r"content/articles/2025/Trust\.md already exists"):
        new_article(tmp_path, "trust", [], today=TODAY)
    assert not (tmp_path / "content" / "articles" / "trust.md").exists()


def test_page_mode(tmp_path: Path) -> None:
    path = new_article(tmp_path, "About us: who we are", ["ignored"], today=TODAY, page=True)

    assert path == tmp_path / "content" / "pages" / "about-us-who-we-are.md"
    meta, body = front_matter(path)
    assert meta == {"title": "About us: who we are", "summary": meta["summary"]}
    assert meta["summary"].startswith("TODO")
    assert body.strip().startswith("TODO")
    with pytest.raises(UsageError, match="already exists"):
        new_article(tmp_path, "About us: who we are", [], today=TODAY, page=True)


def test_placeholders_are_found_until_replaced(tmp_path: Path) -> None:
    path = new_article(tmp_path, "Trust", ["trust"], today=TODAY)
    text = path.read_text(encoding="utf-8")
    lines = text.split("\n")

    found = placeholder_problems(text)
    assert found == [n for n, line in enumerate(lines, 1) if "TODO" in line]
    assert lines[found[0] - 1].startswith("summary:")

    done = text.replace("TODO: ", "").replace("TODO", "Done")
    assert placeholder_problems(done) == []


def test_placeholder_lines_count_like_an_editor() -> None:
    text = "---\r\ntitle: x\r\n---\r\nintro\x0cstill line 4\u2028same line\nTODO: end\rTODO\n"
    assert placeholder_problems(text) == [5, 6]
    # a whole word only: TODOS or autodone are prose, not placeholders
    assert placeholder_problems("TODOS\nmastodon\ntodo\n") == []
