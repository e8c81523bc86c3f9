"""Build tiny sites in tmp_path: the project's own theme, a few Markdown files, and a runner."""

from __future__ import annotations

import hashlib
import shutil
import textwrap
from pathlib import Path

from haven.cli import main

PROJECT = Path(__file__).resolve().parent.parent

SITE_YAML = """\
title: Fixture site
base_url: https://example.org/
search: false
timezone: UTC
page_size: 10
topics:
  - key: selfcare
    label: Self-care
    description: Looking after yourself.
    aliases: [selfcompassion]
  - key: communication
    label: Communication
    description: Talking and listening.
content_notes:
  - key: suicide
    label: suicide
    support_first: true
exit_this_page:
  url: https://www.bbc.co.uk/weather
support:
  - name: Test line
    region: GB
    phone: "116 123"
    url: https://help.example.net/
    last_verified: 2026-11-01
    source: https://help.example.net/contact/
default_region: GB
"""


ONLINE_SAFETY = "---\ntitle: Online safety\n---\n\nHow the quick exit works.\n"


def article(
    title: str = "An article",
    *,
    date: str = "2026-01-10",
    tags=("selfcare",),
    summary: str = "A short summary.",
    body: str = "Some text.",
    extra: str = "",
) -> str:
    """An article's text with valid front matter."""
    tag_list = ", ".join(f'"{t}"' for t in tags)
    return (
        f"---\ntitle: {title!r}\ndate: {date}\nsummary: {summary!r}\ntags: [{tag_list}]\n"
        f"{extra}---\n\n{textwrap.dedent(body).strip()}\n"
    )


def make_site(
    root: Path,
    files: dict[str, str] | None = None,
    *,
    site_yaml: str = SITE_YAML,
    theme: bool = True,
) -> Path:
    """Write a site: site.yaml, the project's templates and static files, and `files`."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "site.yaml").write_text(site_yaml, encoding="utf-8")
    if theme:
        shutil.copytree(PROJECT / "templates", root / "templates", dirs_exist_ok=True)
        shutil.copytree(PROJECT / "static", root / "static", dirs_exist_ok=True)
    (root / "content" / "articles").mkdir(parents=True, exist_ok=True)
    (root / "content" / "pages").mkdir(parents=True, exist_ok=True)
    files = {"content/pages/online-safety.md": ONLINE_SAFETY, **(files or {})}
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text, encoding="utf-8")
    return root


def run(root: Path, *args: str) -> int:
    """Run the CLI on the site in `root`; capture output with capsys in the test."""
    return main(
        [*args[:1], "--root", str(root), *args[1:]] if args else ["build", "--root", str(root)]
    )


def snapshot(folder: Path, *, skip: tuple[str, ...] = ("pagefind/",)) -> dict[str, str]:
    """Every file below `folder` and a digest of its bytes."""
    out = {}
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder).as_posix()
        if path.is_file() and not rel.startswith(skip):
            out[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def given(meta) -> dict:
    """A Meta's fields that differ from their defaults, tuples as lists: what the file said."""
    import dataclasses

    out = {}
    for f in dataclasses.fields(meta):
        value = getattr(meta, f.name)
        if value != f.default:
            out[f.name] = list(value) if isinstance(value, tuple) else value
    return out


def meta(**values):
    """A Meta from plain values (lists become tuples), for tests that make Documents by hand."""
    from haven.sources.schema import Meta

    return Meta(**{k: tuple(v) if isinstance(v, list) else v for k, v in values.items()})
