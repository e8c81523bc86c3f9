"""The editors' guide (docs/editing.md) keeps up with the code: fields, options, problem kinds,
commands, and the error messages it quotes, which are produced here and compared word for word."""

from __future__ import annotations

import re
import shutil
from datetime import date
from pathlib import Path

import pytest

from haven.check.links import DEFAULT_SEVERITY
from haven.cli import COMMANDS, _parser
from haven.config import OPTIONS, load_config
from haven.errors import ConfigError, ContentError, UsageError
from haven.pipeline import build_site
from haven.scaffold import new_article
from haven.sources.schema import FIELDS

PROJECT = Path(__file__).resolve().parent.parent
GUIDE = PROJECT / "docs" / "editing.md"


@pytest.fixture(scope="module")
def guide() -> str:
    return GUIDE.read_text(encoding="utf-8")


def _missing(names, text: str) -> list[str]:
    return sorted({n for n in names if f"`{n}`" not in text})


def test_every_front_matter_field_is_documented(guide):
    assert _missing((f.name for f in FIELDS), guide) == []


def test_every_site_option_is_documented(guide):
    assert _missing(OPTIONS, guide) == []


def test_every_problem_kind_is_documented_with_its_default_severity(guide):
    assert _missing(DEFAULT_SEVERITY, guide) == []
    rows = dict(re.findall(r"^\| `([a-z-]+)` \| (error|warning|ignore) \|", guide, re.M))
    documented = {kind: rows.get(kind) for kind in DEFAULT_SEVERITY}
    assert documented == dict(DEFAULT_SEVERITY)


def test_readme_links_to_the_guide():
    readme = (PROJECT / "README.md").read_text(encoding="utf-8")
    assert re.search(r"\]\(docs/editing\.md\)", readme)
    assert GUIDE.is_file()


def test_commands_and_options_named_in_the_guide_exist(guide):
    named = set(re.findall(r"python3 build\.py ([a-z]+)", guide))
    assert named, "the guide names no commands"
    assert named <= set(COMMANDS)
    options = {"--help", "--version"}
    subparsers = next(a for a in _parser()._actions if a.dest == "command")
    for sub in subparsers.choices.values():
        options.update(s for action in sub._actions for s in action.option_strings)
    flags = set(re.findall(r"(?<![\w-])--[a-z][a-z-]*", guide))
    assert flags - options == set()


# Each file below is an example in the guide; the guide must quote what the build says about it.
SUMMARY = 'summary: "Small, steady ways some people rebuild trust after trauma, at their own pace."'
EXAMPLES = {
    "misspelt.md": """\
---
title: "Rebuilding trust slowly"
date: 2026-11-26
sumary: "TODO: one or two sentences for listings and search"
tags: #healthyrelationships
author: "TODO: the author's name as readers should see it"
---

Text.
""",
    "no-fence.md": 'title: "Rebuilding trust slowly"\ndate: 2026-11-26\n\nText.\n',
    "unclosed.md": '---\ntitle: "Rebuilding trust slowly"\ndate: 2026-11-26\n\nText.\n',
    "colon.md": "---\ntitle: Rebuilding trust: small steps\n---\n\nText.\n",
    "values.md": f"""\
---
title: "Rebuilding trust slowly"
date: 26/11/2026
{SUMMARY}
tags: ["#healthyrelationships", "#communication"]
content_notes: [suicde]
draft: "yes"
---

Text.
""",
    "body.md": f"""\
---
title: "Rebuilding trust slowly"
date: 2026-11-20
{SUMMARY}
tags: ["#selfcar", "#wellbeing"]
---

Trust can take time to come back [@samhsa2041].

You might like to read about [attachment](attachment-in-adult-relatonships.md).

Research shows that small steps help.

One study (Kim et al. found something similar.

<div style="color:red" onclick="hide()">Take your time.</div>

[Leave](javascript:history.back())

## Questions

### Is it my fault that trust feels hard?

### How long does it take?

There is no set time [@samhsa2014].
""",
}


def _project(root: Path) -> Path:
    """A copy of this site's settings, references and theme, with the example articles only."""
    shutil.copy2(PROJECT / "site.yaml", root / "site.yaml")
    for folder in ("templates", "static"):
        shutil.copytree(PROJECT / folder, root / folder)
    (root / "content" / "articles").mkdir(parents=True)
    shutil.copy2(PROJECT / "content" / "references.yaml", root / "content" / "references.yaml")
    return root


def _quoted(diagnostic) -> str:
    """The printed line without its `path:line:col` (the guide's examples use other files)."""
    return diagnostic.format()[len(diagnostic.location()) :]


def test_the_guide_quotes_the_builds_messages_exactly(tmp_path, guide):
    root = _project(tmp_path)
    for name, text in EXAMPLES.items():
        (root / "content" / "articles" / name).write_text(text, encoding="utf-8")
    with pytest.raises(ContentError) as failure:
        build_site(root)
    ours = [d for d in failure.value.diagnostics if d.path.startswith("content/articles/")]
    codes = {d.code for d in ours}
    # The examples still produce the mistakes the guide explains.
    assert {
        "unknown-key",
        "missing-key",
        "no-front-matter",
        "unclosed-front-matter",
        "yaml-syntax",
        "bad-date",
        "unknown-content-note",
        "unknown-reference",
        "broken-md-link",
        "citation-lint",
        "empty-answer",
        "raw-html",
        "unsafe-url",
        "unknown-topic",
    } <= codes
    assert [_quoted(d) for d in ours if _quoted(d) not in guide] == []


def test_the_guide_quotes_site_yaml_and_new_messages_exactly(tmp_path, guide):
    root = _project(tmp_path)
    text = (root / "site.yaml").read_text(encoding="utf-8")
    text = text.replace("\npage_size:", "\npagesize:").replace(
        "\nhome_articles: 8", "\nhome_articles: eight"
    )
    (root / "site.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as failure:
        load_config(root)
    messages = [_quoted(d) for d in failure.value.diagnostics]
    assert len(messages) == 2
    assert [m for m in messages if m not in guide] == []

    title, tags = "Rebuilding trust slowly", ["healthyrelationships", "communication"]
    new_article(root, title, tags, today=date(2026, 11, 26))
    with pytest.raises(UsageError) as refused:
        new_article(root, title, tags, today=date(2026, 11, 26))
    assert f"error: {refused.value}" in guide


def test_the_guides_own_section_links_resolve(guide):
    headings = re.findall(r"^#{2,4} (.+)$", guide, re.M)
    anchors = {re.sub(r"[^\w\- ]", "", h.lower()).replace(" ", "-") for h in headings}
    links = set(re.findall(r"\]\(#([^)]+)\)", guide))
    assert links and links - anchors == set()
