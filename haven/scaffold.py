"""`python build.py new "Title" --tags a,b`: start an article or page from a complete template.

Every part an editor must still write is a placeholder that begins with `TODO`, so `check` keeps
flagging the file (through `placeholder_problems`) until each one is replaced.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from pathlib import Path

import yaml

from .config import CONFIG_FILE
from .errors import UsageError
from .sources.schema import SLUG_MAX_BYTES

SUMMARY_PLACEHOLDER = "TODO: one or two sentences for listings and search"
AUTHOR_PLACEHOLDER = "TODO: the author's name as readers should see it"
MAX_SLUG_CHARS = 80  # keeps file names well under 255 bytes even in 3-byte-per-character scripts
PLACEHOLDER = re.compile(r"\bTODO\b")

ARTICLE_BODY = """\
TODO: an opening paragraph that says who this article is for and what it will help with.

## TODO: first section heading

TODO: write this section.

## TODO: second section heading

TODO: write this section.

## TODO: third section heading

TODO: write this section.

## Questions

### TODO: a question readers often ask?

TODO: a short, direct answer.

### TODO: another question readers ask?

TODO: a short, direct answer.
"""

PAGE_BODY = """\
TODO: write this page.
"""


def slugify(title: str) -> str:
    """File-name slug: NFKC, lowercase, Unicode letters and digits kept, other runs -> '-'.

    Combining marks are kept with their letter (Devanagari vowel signs, for instance), since
    dropping them turns words into different words.
    """
    text = unicodedata.normalize("NFKC", title).lower()
    out: list[str] = []
    for ch in text:
        kind = unicodedata.category(ch)[0]
        if kind in "LN" or (kind == "M" and out and out[-1] != "-"):
            out.append(ch)
        elif out and out[-1] != "-":
            out.append("-")
    slug = unicodedata.normalize("NFC", "".join(out)).strip("-")
    if len(slug) > MAX_SLUG_CHARS or len(slug.encode("utf-8")) > SLUG_MAX_BYTES:
        cut = slug[:MAX_SLUG_CHARS]
        while len(cut.encode("utf-8")) > SLUG_MAX_BYTES:  # 3- and 4-byte scripts
            cut = cut[:-1]
        slug = (cut.rsplit("-", 1)[0] if "-" in cut else cut).strip("-")
    return slug


def yaml_scalar(value: str) -> str:
    """`value` as a double-quoted YAML scalar that reads back as exactly the same string."""
    text = yaml.safe_dump(value, allow_unicode=True, default_style='"', width=2**31 - 1)
    return text.rstrip("\n").removesuffix("\n...")


def clean_title(title: str) -> str:
    """One line of text: whitespace runs (newlines included) become one space, ends trimmed."""
    title = " ".join(title.split())
    if not title:
        raise UsageError('the title is empty: write it in quotes, e.g. new "Trust after trauma"')
    return _text_only(title, "the title")


def _text_only(value: str, what: str) -> str:
    for ch in value:
        # Surrogates come from bytes that were not UTF-8 on the command line; controls are invisible.
        if unicodedata.category(ch) in ("Cs", "Cc"):
            raise UsageError(f"{what} contains U+{ord(ch):04X}, which is not text; retype it")
    return value


def clean_tags(tags: list[str]) -> list[str]:
    """Tags as '#tag' strings: split on commas, '#' and blanks trimmed, duplicates dropped."""
    seen: set[str] = set()
    out: list[str] = []
    for item in tags:
        for part in item.split(","):
            tag = _text_only(" ".join(part.split()).lstrip("#").strip(), f"the tag {part!r}")
            if tag and tag.casefold() not in seen:
                seen.add(tag.casefold())
                out.append(f"#{tag}")
    return out


def article_text(title: str, tags: list[str], today: date) -> str:
    """The complete Markdown source of a new article."""
    tag_list = ", ".join(yaml_scalar(t) for t in clean_tags(tags))
    return (
        "---\n"
        f"title: {yaml_scalar(clean_title(title))}\n"
        f"date: {today.isoformat()}\n"
        f"summary: {yaml_scalar(SUMMARY_PLACEHOLDER)}\n"
        f"tags: [{tag_list}]\n"
        f"author: {yaml_scalar(AUTHOR_PLACEHOLDER)}\n"
        "---\n\n" + ARTICLE_BODY
    )


def page_text(title: str) -> str:
    """The complete Markdown source of a new standalone page."""
    return (
        "---\n"
        f"title: {yaml_scalar(clean_title(title))}\n"
        f"summary: {yaml_scalar(SUMMARY_PLACEHOLDER)}\n"
        "---\n\n" + PAGE_BODY
    )


_SLUG_LINE = re.compile(r"^slug[ \t]*:(.*)$", re.MULTILINE)


def _slug_of(path: Path) -> str:
    """The slug an existing source is published under: its `slug:`, else its file name."""
    try:
        head = path.read_text(encoding="utf-8-sig", errors="replace")[:65536]
    except OSError:
        head = ""
    if head.startswith("---"):
        front = head.split("\n---", 1)[0]
        match = _SLUG_LINE.search(front)
        if match:
            try:
                value = yaml.safe_load(match.group(1))
            except yaml.YAMLError:
                value = None
            if isinstance(value, str | int | float) and not isinstance(value, bool):
                return unicodedata.normalize("NFC", str(value).strip())
    return unicodedata.normalize("NFC", path.stem).lower().replace(" ", "-")


def _same_slug(folder: Path, slug: str, recursive: bool) -> Path | None:
    """An existing source published under `slug` (or one differing only by case: the same URL
    on macOS), by its file name or its `slug:`."""
    if not folder.is_dir():
        return None
    pattern = "**/*.md" if recursive else "*.md"
    key = slug.casefold()
    paths = sorted(folder.glob(pattern))
    for path in paths:
        if unicodedata.normalize("NFC", path.stem).casefold() == key:
            return path
    for path in paths:
        if _slug_of(path).casefold() == key:
            return path
    return None


def _reserved(slug: str) -> bool:
    """True when a standalone page cannot have `slug`: the site's own pages use the address."""
    from .urls import RESERVED_SLUGS  # imported late: `new` needs it only here

    # content/pages/get-help.md is the one page that may take a reserved address: it replaces
    # the generated help page.
    return slug.casefold() in {s.casefold() for s in RESERVED_SLUGS if s != "get-help"}


def _check_project(root: Path) -> None:
    if not (Path(root) / CONFIG_FILE).is_file():
        raise UsageError(
            f"{root} is not a Haven project (it has no {CONFIG_FILE}); run `new` in the site's "
            "folder, or give --root the folder that holds site.yaml"
        )


def new_article(
    root: Path, title: str, tags: list[str], *, today: date, page: bool = False
) -> Path:
    """Write `content/articles/<slug>.md` (or `content/pages/<slug>.md`); return its path.

    Refuses, with a UsageError naming the file, to overwrite anything.
    """
    _check_project(root)
    title = clean_title(title)
    slug = slugify(title)
    if not slug:
        raise UsageError(
            f"the title {title!r} has no letters or digits to make a file name from; "
            "use a title with words in it"
        )
    if page and _reserved(slug):
        raise UsageError(
            f"a page called {slug!r} would have the address /{slug}/, which the site's own "
            "pages use; choose a title with another word in it"
        )
    kind = "pages" if page else "articles"
    folder = Path(root) / "content" / kind
    path = folder / f"{slug}.md"
    clash = _same_slug(folder, slug, recursive=not page)
    if clash is not None and unicodedata.normalize("NFC", clash.stem).casefold() != slug.casefold():
        raise UsageError(
            f"{_shown(clash, root)} already has the slug {slug!r}, so a new {slug}.md would "
            "have the same address; choose another title, or edit that file"
        )
    if clash is not None:
        raise UsageError(
            f"{_shown(clash, root)} already exists"
            + ("" if clash == path else f" and would have the same address as {slug}.md")
            + "; not overwriting it (edit that file, or choose another title)"
        )
    text = page_text(title) if page else article_text(title, tags, today)
    folder.mkdir(parents=True, exist_ok=True)
    try:
        # 'x' creates or fails in one step: no window in which another file could appear.
        with path.open("x", encoding="utf-8", newline="\n") as f:
            f.write(text)
    except FileExistsError:
        raise UsageError(f"{_shown(path, root)} already exists; not overwriting it") from None
    return path


def _shown(path: Path, root: Path) -> str:
    """A project-relative POSIX path for messages."""
    return (path.relative_to(root) if path.is_relative_to(root) else path).as_posix()


def placeholder_problems(text: str) -> list[int]:
    """1-based numbers of the lines that still contain a `TODO` placeholder."""
    return [line for line, _column in placeholders(text)]


def placeholders(text: str) -> list[tuple[int, int]]:
    """(line, column), both 1-based, of the first `TODO` placeholder on each line that has one."""
    # Split on LF only (after CRLF/CR): str.splitlines also breaks at form feeds and U+2028,
    # which would put the numbers out of step with an editor's.
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    found = []
    for n, line in enumerate(lines, start=1):
        match = PLACEHOLDER.search(line)
        if match:
            found.append((n, match.start() + 1))
    return found
