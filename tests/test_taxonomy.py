"""Topic identity, grouping, fallbacks and relations."""

from datetime import UTC, datetime

from sitekit import meta

from haven.config import TopicDef
from haven.model import Document
from haven.taxonomy import build_taxonomy, related_articles, tag_key, topic_slug


def doc(name: str, tags, day: int = 1) -> Document:
    return Document(
        kind="article",
        path=f"content/articles/{name}.md",
        rel=f"articles/{name}.md",
        slug=name,
        meta=meta(title=name, date=datetime(2026, 1, day, tzinfo=UTC), tags=tags),
        body="",
        body_line=6,
        digest="x",
        key_lines={"tags": 4},
    )


def test_spellings_share_one_key():
    assert {
        tag_key(t) for t in ["Self-Care", "selfcare", "#SelfCare", "self care", " self_care "]
    } == {"selfcare"}


def test_accents_and_non_latin_letters_are_kept():
    assert tag_key("año") != tag_key("ano")
    assert tag_key("心の健康") == "心の健康"
    assert tag_key("Ánimo") == "ánimo"
    assert tag_key("ＳｅｌｆＣａｒｅ") == "selfcare"  # NFKC folds full-width letters


def test_slugs_are_nfc_and_never_empty():
    assert topic_slug("心の健康") == "心の健康"
    assert topic_slug("ánimo") == "ánimo"
    assert topic_slug("c++")  # never empty


def test_grouping_merges_spellings_newest_first():
    a, b, c = (
        doc("a", ["Self-Care"], 1),
        doc("b", ["#selfcare", "sleep"], 3),
        doc("c", ["self care"], 2),
    )
    tax = build_taxonomy([b, c, a], ())
    assert tax.topics["selfcare"].articles == (b.path, c.path, a.path)
    assert tax.topics["selfcare"].slug == "selfcare"
    assert set(tax.topics) == {"selfcare", "sleep"}


def test_label_is_most_frequent_spelling_then_first_by_path():
    tax = build_taxonomy(
        [doc("a", ["Self-Care"]), doc("b", ["selfcare"]), doc("c", ["selfcare"])], ()
    )
    assert tax.topics["selfcare"].label == "selfcare"
    tax = build_taxonomy([doc("b", ["selfcare"]), doc("a", ["Self-Care"])], ())
    assert tax.topics["selfcare"].label == "Self-Care"


def test_vocabulary_label_aliases_and_unknown_warning():
    vocab = (TopicDef("mentalwellness", "Mental wellness", "About minds.", ("ptsd",)),)
    tax = build_taxonomy([doc("a", ["PTSD", "mental-wellnes"])], vocab)
    assert tax.topics["mentalwellness"].articles == ("content/articles/a.md",)
    assert tax.topics["mentalwellness"].label == "Mental wellness"
    (warning,) = tax.diagnostics
    assert warning.format() == (
        "content/articles/a.md:4: warning: 'tags': topic 'mental-wellnes' is not in the vocabulary "
        "in site.yaml (did you mean '#mentalwellness'?)"
    )


def test_empty_key_gets_a_stable_fallback_with_a_warning():
    tax = build_taxonomy([doc("a", ["!!!", "🙂"])], ())
    keys = tax.by_article["content/articles/a.md"]
    assert len(keys) == 2 and all(k.startswith("t-") and len(k) == 10 for k in keys)
    assert all(tax.topics[k].slug == k for k in keys)
    assert len([d for d in tax.diagnostics if d.code == "empty-tag"]) == 2
    again = build_taxonomy([doc("a", ["!!!", "🙂"])], ())
    assert again.by_article == tax.by_article


def test_accent_only_difference_is_a_warning():
    tax = build_taxonomy([doc("a", ["ánimo"]), doc("b", ["animo"])], ())
    assert {"ánimo", "animo"} <= set(tax.topics)
    assert any(d.code == "topic-accents" for d in tax.diagnostics)


def test_related_articles_share_most_topics():
    a = doc("a", ["x", "y", "z"], 1)
    b = doc("b", ["x", "y"], 2)
    c = doc("c", ["x"], 5)
    d = doc("d", ["q"], 6)
    arts = [d, c, b, a]
    tax = build_taxonomy(arts, ())
    dates = {x.path: x.date for x in arts}
    assert related_articles(a.path, tax, dates) == [b.path, c.path]
