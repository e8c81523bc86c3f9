"""The safety policies `check` enforces: privacy, quick exit, support lines, reviews, reading level."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sitekit import SITE_YAML, article, make_site, run
from sitekit import meta as make_meta

from haven.check import collect_problems
from haven.check.audit import audit_html, review_dates, support_freshness
from haven.config import load_config
from haven.manifest import SourceRecord, source_record
from haven.model import Document

EXIT = "https://www.bbc.co.uk/weather"
GOOD_HEAD = (
    '<meta http-equiv="Content-Security-Policy" content="default-src \'self\'">'
    '<meta name="referrer" content="no-referrer">'
)
GOOD_EXIT = (
    f'<a class="skip-link js-exit-skiplink" href="{EXIT}" rel="nofollow noreferrer">Exit</a>'
    f'<a class="exit-this-page__button" href="{EXIT}" rel="nofollow noreferrer">Exit</a>'
)


def page(body: str = "", head: str = GOOD_HEAD, exit_links: str = GOOD_EXIT) -> str:
    return f"<html><head>{head}</head><body>{exit_links}{body}</body></html>"


def kinds(html: str) -> list[tuple[str, str]]:
    return [
        (p.severity, p.kind)
        for p in audit_html("x/index.html", html, own_host="example.org", exit_url=EXIT)
    ]


def test_a_clean_page_has_no_findings():
    assert (
        kinds(
            page('<a href="https://other.org/" rel="noreferrer">x</a><script src="/a.js"></script>')
        )
        == []
    )


def test_third_party_resources_are_errors():
    found = kinds(
        page(
            '<script src="https://cdn.example.net/x.js"></script>'
            '<link rel="stylesheet" href="https://fonts.example.net/a.css">'
            '<img src="//img.example.net/a.png" alt="">'
            '<iframe src="https://video.example.net/"></iframe>'
            "<style>body{background:url(https://x.example.net/b.png)}</style>"
        )
    )
    assert found == [("error", "third-party-resource")] * 5


def test_canonical_and_alternate_links_are_not_fetches():
    assert (
        kinds(
            page(
                '<link rel="canonical" href="https://example.net/a/">'
                '<link rel="alternate" href="https://example.net/feed.xml">'
            )
        )
        == []
    )


def test_inline_script_handlers_and_styles_are_errors():
    found = kinds(
        page(
            '<script>alert(1)</script><p onclick="x()" style="color:red">x</p>'
            '<script type="application/ld+json">{}</script>'
        )
    )
    assert sorted(found) == [
        ("error", "inline-handler"),
        ("error", "inline-script"),
        ("error", "inline-style"),
    ]


def test_missing_csp_and_referrer_policy():
    assert sorted(kinds(page(head=""))) == [
        ("error", "missing-csp"),
        ("error", "missing-referrer-policy"),
    ]


def test_quick_exit_must_be_present_once_with_the_right_rel():
    assert kinds(page(exit_links="")) == [("error", "quick-exit"), ("error", "quick-exit")]
    wrong = GOOD_EXIT.replace(
        'rel="nofollow noreferrer">Exit</a><a class="exit', 'rel="nofollow">Exit</a><a class="exit'
    )
    assert sorted(kinds(page(exit_links=wrong))) == [
        ("error", "quick-exit"),
        ("warning", "referrer-leak"),
    ]


def test_referrer_leaks_and_new_windows_are_warnings():
    found = kinds(page('<a href="https://other.org/">x</a><a href="/a/" target="_blank">y</a>'))
    assert sorted(found) == [("warning", "new-window"), ("warning", "referrer-leak")]


def test_autoplay_is_an_error():
    assert kinds(page('<video src="/v.mp4" autoplay></video>')) == [("error", "autoplay")]


def config_with(tmp_path, extra: str = ""):
    (tmp_path / "site.yaml").write_text(SITE_YAML + extra, encoding="utf-8")
    return load_config(tmp_path)


def test_support_lines_verified_too_long_ago(tmp_path):
    config = config_with(tmp_path)
    assert support_freshness(config, date(2026, 12, 1)) == []
    (stale,) = support_freshness(config, date(2027, 6, 1))
    assert (
        stale.severity == "warning"
        and stale.kind == "support-stale"
        and stale.source == "site.yaml"
    )
    assert "2026-11-01" in stale.message and "212 days ago, limit 180" in stale.message


def test_a_support_line_without_a_source_is_reported_with_what_to_add(tmp_path):
    config = config_with(tmp_path)
    assert config.support[0].source  # the fixture's line says where it was checked
    (tmp_path / "site.yaml").write_text(
        SITE_YAML.replace("    source: https://help.example.net/contact/\n", ""), encoding="utf-8"
    )
    (unsourced,) = support_freshness(load_config(tmp_path), date(2026, 12, 1))
    assert (unsourced.severity, unsourced.kind, unsourced.source, unsourced.target) == (
        "warning",
        "support-unsourced",
        "site.yaml",
        "Test line",
    )
    assert "'Test line' has no source" in unsourced.message and "add source:" in unsourced.message


def test_a_line_with_neither_source_nor_date_gets_both_warnings(tmp_path):
    yaml_text = SITE_YAML.replace("    source: https://help.example.net/contact/\n", "")
    (tmp_path / "site.yaml").write_text(
        yaml_text.replace("    last_verified: 2026-11-01\n", ""), encoding="utf-8"
    )
    found = [p.kind for p in support_freshness(load_config(tmp_path), date(2026, 12, 1))]
    assert found == ["support-unsourced", "support-unverified"]


def test_check_fails_strictly_on_an_unsourced_support_line(tmp_path, capsys):
    yaml_text = SITE_YAML.replace("    source: https://help.example.net/contact/\n", "")
    root = make_site(tmp_path, {"content/articles/a.md": article("A")}, site_yaml=yaml_text)
    assert run(root) == 0
    capsys.readouterr()
    assert run(root, "check") == 0  # a warning: the site still builds and checks
    out = capsys.readouterr().out
    assert "site.yaml" in out and "support-unsourced" in out and "'Test line' has no source" in out
    assert run(root, "check", "--strict") == 1


def doc(meta: dict, lines: dict | None = None) -> SourceRecord:
    """What the build records of an article with this front matter."""
    base = {"title": "T", "date": datetime(2026, 1, 1, tzinfo=UTC), "tags": ["x"]}
    document = Document(
        "article",
        "content/articles/t.md",
        "articles/t.md",
        "t",
        make_meta(**{**base, **meta}),
        "",
        8,
        "d",
        lines or {"last_reviewed": 6},
    )
    return source_record(document, "/articles/t/", "body-key")


def test_review_dates_overdue_soon_and_reviewer_is_author(tmp_path):
    config = config_with(tmp_path)
    today = date(2026, 11, 26)
    overdue = doc({"last_reviewed": date(2023, 1, 1)})
    soon = doc({"last_reviewed": date(2024, 1, 1), "next_review": date(2026, 12, 20)})
    fine = doc({"last_reviewed": date(2026, 1, 1)})
    same = doc({"last_reviewed": date(2026, 1, 1), "author": "Sam", "reviewed_by": "sam"})
    found = [(p.kind, p.line) for p in review_dates(config, [overdue, soon, fine, same], today)]
    assert found == [("review-overdue", 6), ("review-due-soon", 6), ("reviewer-is-author", None)]
    assert "due on 2026-01-01" in review_dates(config, [overdue], today)[0].message


def test_check_on_a_built_site_reports_policies_with_sources(tmp_path, capsys):
    root = make_site(
        tmp_path,
        {
            "content/articles/a.md": article(
                "A", body="TODO: write this.\n", extra="last_reviewed: 2020-01-01\n"
            ),
        },
    )
    assert run(root) == 0
    problems = collect_problems(root, now=datetime(2026, 11, 26, tzinfo=UTC))
    found = {(p.severity, p.kind, p.source) for p in problems}
    assert ("warning", "review-overdue", "content/articles/a.md") in found
    assert ("warning", "placeholder", "content/articles/a.md") in found
    assert ("info", "reading-level", "content/articles/a.md") in found
    assert run(root, "check") == 0  # warnings only
    assert run(root, "check", "--strict") == 1


def test_check_fails_on_a_page_that_loads_from_another_host(tmp_path, capsys):
    root = make_site(tmp_path, {"content/articles/a.md": article("A")})
    base = root / "templates/base.html"
    base.write_text(
        base.read_text().replace(
            "</head>", '<script src="https://tracker.example.net/t.js"></script></head>', 1
        )
    )
    assert run(root) == 0
    capsys.readouterr()
    assert run(root, "check") == 1
    assert "third-party-resource" in capsys.readouterr().out


def test_reading_level_above_the_threshold_is_a_warning(tmp_path, capsys):
    hard = (
        "Notwithstanding considerable methodological heterogeneity, epidemiological investigations "
        "consistently demonstrate multidimensional psychophysiological dysregulation. "
    ) * 40
    root = make_site(tmp_path, {"content/articles/a.md": article("A", body=hard)})
    assert run(root) == 0
    problems = collect_problems(root, now=datetime(2026, 11, 26, tzinfo=UTC))
    (level,) = [p for p in problems if p.kind == "reading-level"]
    assert level.severity == "warning" and "shorter sentences" in level.message


# Scores textstat 0.7.8 gave for these texts: haven/check/readability.py keeps its rules, with
# the same dictionaries, and was compared with it on 590 texts (the site's, a benchmark corpus's,
# and random runs of contractions, capitals, punctuation and non-ASCII words) with no difference.
@pytest.mark.parametrize(
    "text, smog, flesch",
    [
        (
            "You are not to blame for what happened. Many people feel numb, restless or on edge "
            "for weeks afterwards. These reactions are common, and for most people they ease with "
            "time and support.",
            7.793537801064561,
            82.87000000000003,
        ),
        (
            "It's okay to ask for help. JOHN'S friend didn't know what to say; we've all been "
            "there. Extraordinary circumstances, unpredictable reactions, overwhelming emotions.",
            11.20814326018867,
            37.209855072463796,
        ),
        (
            "Short. Very short. Two words. Then a longer sentence follows, with several ordinary "
            "words in it.",
            8.841846274778883,
            63.69500000000001,
        ),
        ("", 0.0, 0.0),
    ],
)
def test_reading_levels_are_textstats(text, smog, flesch):
    from haven.check.readability import flesch_reading_ease, smog_index

    assert smog_index(text) == pytest.approx(smog, abs=1e-9)
    assert flesch_reading_ease(text) == pytest.approx(flesch, abs=1e-9)
