"""`check` does each piece of work once: pages are parsed again only when their file changed, and
reading levels are measured again only when the article changed. Asserts work, never timings."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sitekit import SITE_YAML, article, make_site, run

import haven.check
from haven.check import PAGES_CACHE, READABILITY_CACHE, collect_problems
from haven.incremental.store import Store

NOW = datetime(2026, 11, 26, tzinfo=UTC)


class Counter:
    """Wraps a function of a module and counts its calls."""

    def __init__(self, monkeypatch, module, name: str):
        self.calls = 0
        real = getattr(module, name)

        def counted(*args, **kwargs):
            self.calls += 1
            return real(*args, **kwargs)

        monkeypatch.setattr(module, name, counted)

    def take(self) -> int:
        calls, self.calls = self.calls, 0
        return calls


@pytest.fixture
def site(tmp_path):
    root = make_site(
        tmp_path,
        {
            "content/articles/a.md": article(
                "A", body="See [B](b.md#steps).\n\nTODO: write the ending.\n"
            ),
            "content/articles/b.md": article(
                "B", body="## Steps\n\nOne small step. See [A](a.md#nowhere).\n"
            ),
            "content/articles/c.md": article("C", tags=("communication",)),
        },
    )
    assert run(root) == 0
    return root


@pytest.fixture
def parses(monkeypatch):
    return Counter(monkeypatch, haven.check, "LexborHTMLParser")


@pytest.fixture
def measures(monkeypatch):
    return Counter(monkeypatch, haven.check, "reading_level")


def html_pages(root: Path) -> list[Path]:
    return [p for p in (root / "_site").rglob("*.html")]


def signatures(root: Path) -> dict[Path, tuple[int, int]]:
    return {p: (p.stat().st_ino, p.stat().st_mtime_ns) for p in html_pages(root)}


def cold(root: Path):
    """What a check finds with no cache at all."""
    store = Store.for_project(root)
    for name in (PAGES_CACHE, READABILITY_CACHE):
        store.delete(name)
    store.close()
    return collect_problems(root, now=NOW)


def test_a_warm_check_parses_no_page_and_finds_the_same(site, parses, measures):
    first = collect_problems(site, now=NOW)
    assert parses.take() == len(html_pages(site)) > 5  # each page parsed once, for both checkers
    assert measures.take() == 3  # one reading level per article
    kinds = {(p.kind, p.source) for p in first}
    assert ("missing-fragment", "content/articles/b.md") in kinds
    assert ("placeholder", "content/articles/a.md") in kinds

    second = collect_problems(site, now=NOW)
    assert parses.take() == 0
    assert measures.take() == 0
    assert second == first  # same problems, same order


def test_a_warm_check_reads_no_article_text(site, monkeypatch):
    reads = Counter(monkeypatch, Store, "body_text")
    collect_problems(site, now=NOW)
    assert reads.take() == 3  # each article's plain text, as the build stored it
    collect_problems(site, now=NOW)
    assert reads.take() == 0  # the reading levels of unchanged bodies are kept


def test_a_page_edited_in_the_output_is_parsed_again(site, parses):
    collect_problems(site, now=NOW)
    parses.take()
    page = site / "_site/articles/c/index.html"
    page.write_text(page.read_text().replace("</main>", '<img src="/static/gone.png"></main>', 1))
    after = collect_problems(site, now=NOW)
    assert parses.take() == 1
    assert {("missing-asset", "/static/gone.png"), ("missing-alt", "/static/gone.png")} <= {
        (p.kind, p.target) for p in after
    }
    assert after == cold(site)


def test_after_editing_one_article_only_rewritten_pages_are_parsed(site, parses, measures):
    collect_problems(site, now=NOW)
    parses.take(), measures.take()
    before = signatures(site)
    source = site / "content/articles/c.md"
    source.write_text(source.read_text() + "\nA new sentence, with [a bad link](a.md#gone).\n")
    assert run(site) == 0
    changed = [p for p, sig in signatures(site).items() if before.get(p) != sig]

    after = collect_problems(site, now=NOW)
    assert parses.take() == len(changed) < len(before)
    assert measures.take() == 1  # only the edited article
    assert ("missing-fragment", "content/articles/c.md") in {(p.kind, p.source) for p in after}
    assert after == cold(site)


def test_a_removed_page_is_reported_and_leaves_the_cache(site):
    collect_problems(site, now=NOW)
    (site / "_site/articles/c/index.html").unlink()
    after = collect_problems(site, now=NOW)
    assert ("broken-link", "/articles/c/") in {(p.kind, p.target) for p in after}
    cached = Store.for_project(site).get_json(PAGES_CACHE)["pages"]
    assert "articles/c/index.html" not in cached and "articles/b/index.html" in cached
    assert after == cold(site)


def test_a_changed_policy_setting_parses_every_page_again(site, parses):
    collect_problems(site, now=NOW)
    parses.take()
    (site / "site.yaml").write_text(
        SITE_YAML.replace("exit_this_page:\n", "exit_this_page:\n  enabled: false\n")
    )
    after = collect_problems(site, now=NOW)
    assert parses.take() == len(html_pages(site))
    assert not any(p.kind == "quick-exit" for p in after)
    assert after == cold(site)


def test_a_damaged_cache_is_ignored(site, parses):
    first = collect_problems(site, now=NOW)
    parses.take()
    store = Store.for_project(site)
    store.put_json(PAGES_CACHE, '{"r": ["os.system", ["echo"]]}')  # not a record of ours
    store.put_json(READABILITY_CACHE, "not json")
    store.close()
    assert collect_problems(site, now=NOW) == first
    assert parses.take() == len(html_pages(site))


def test_reading_levels_measured_on_several_cores_are_the_same(site, monkeypatch):
    alone = cold(site)
    monkeypatch.setattr(haven.check, "POOL_THRESHOLD", 1)  # a process pool even for 3 articles
    assert cold(site) == alone


def test_files_whose_names_are_not_nfc_are_checked(tmp_path, capsys):
    """A file made on macOS keeps a decomposed name (NFD); the checker works in NFC."""
    import unicodedata

    from sitekit import article, make_site, run

    root = make_site(tmp_path / "site", {"content/articles/a.md": article("A")})
    nfd = unicodedata.normalize("NFD", "café")
    (root / "static" / "css" / f"{nfd}.css").write_text("p { color: red }\n")
    (root / "static" / f"{nfd}.html").write_text(
        "<!doctype html><html lang=en><title>x</title><p>x</p></html>\n"
    )
    assert run(root) == 0
    capsys.readouterr()
    code = run(root, "check")
    out = capsys.readouterr()
    assert code in (0, 1)  # findings or none, but not a usage error (2)
    assert "cannot read" not in out.out + out.err
    assert "Traceback" not in out.out + out.err
