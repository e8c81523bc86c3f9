"""Find the Markdown sources of a project and turn them into validated `Document`s.

Articles are `content/articles/**/*.md`, pages `content/pages/*.md`. Every file is read once and
every problem in every file is collected: a file with errors yields no Document, the others go on.
"""

from __future__ import annotations

import hashlib
import os
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

from ..model import ERROR, WARNING, Diagnostic, Document
from .frontmatter import split
from .schema import ARTICLE, PAGE, slug_problem, suggest_slug, validate

DEFAULT_MAX_FILE_SIZE = 1024 * 1024
_MARKDOWN_LIKE = (".md", ".markdown", ".mdown", ".mkd")  # read only as .md; others get a hint


@dataclass(frozen=True)
class Source:
    """A Markdown file found under content/."""

    kind: str  # 'article' | 'page'
    file: str  # path to open (a symlink stays a symlink: it was checked when found)
    path: str  # project-relative POSIX path, e.g. 'content/articles/x.md'


def load_content(
    root: Path,
    settings,
    cache: dict | None = None,
    stats: dict | None = None,
    found: tuple[list[Source], list[Diagnostic]] | None = None,
) -> tuple[list[Document], list[Diagnostic]]:
    """Every source under `root/content` as a Document, plus every problem found on the way.

    `cache` (optional, filled in place) maps a file's path, bytes digest and the settings that
    validation depends on to its result, so an unchanged file is not parsed again.
    `stats` (optional, filled in place; the dev server keeps one) lets a file whose size, times
    and inode are what they were at the last read be taken from `cache` without reading it.
    `found` is what `discover(root)` returned, when the caller has walked the folder already.
    """
    root = Path(root)
    tz = getattr(settings, "timezone", None) or ZoneInfo("UTC")
    limit = getattr(settings, "max_file_size", None) or DEFAULT_MAX_FILE_SIZE
    notes = getattr(settings, "content_notes", None) or {}
    vocabulary = frozenset(notes.keys() if hasattr(notes, "keys") else notes)

    sources, diags = found if found is not None else discover(root)
    diags = list(diags)
    docs: list[Document] = []
    salt = f"{tz}\0{limit}\0{sorted(vocabulary)}"
    for src in sources:
        doc, file_diags = _load(src, limit, tz, vocabulary, cache, salt, stats)
        diags += sorted(file_diags, key=lambda d: (d.line or 0, d.col or 0))
        if doc is not None:
            docs.append(doc)
    return docs, diags


def discover(root: Path) -> tuple[list[Source], list[Diagnostic]]:
    """The sources under `root/content`, sorted by path; symlinks leaving the project refused."""
    walker = _Walker(Path(root))
    walker.walk_all()
    return sorted(walker.sources, key=lambda s: s.path), walker.diags


class _Walker:
    def __init__(self, root: Path):
        self.root = root
        self.real_root = root.resolve()
        self.sources: list[Source] = []
        self.diags: list[Diagnostic] = []
        self.seen_dirs: dict[str, str] = {}  # real path -> project path it was read through

    def rel(self, p: Path) -> str:
        return p.relative_to(self.root).as_posix()

    def problem(self, severity: str, p: Path, message: str, hint: str, code: str) -> None:
        self.diags.append(
            Diagnostic(severity, self.rel(p), None, None, message, hint=hint, code=code)
        )

    def walk_all(self) -> None:
        content = self.root / "content"
        if not content.is_dir() and not content.is_symlink():
            # Without this, a lost or renamed folder would publish a site with no articles.
            self.diags.append(
                Diagnostic(
                    ERROR,
                    "content/",
                    None,
                    None,
                    "the content folder is missing"
                    if not content.exists()
                    else "content is a file, not the content folder",
                    hint="restore it with git checkout -- content, or create content/articles/ "
                    "and content/pages/ for a new site",
                    code="no-content",
                )
            )
            return
        if not self._usable_dir(content):
            return
        for entry in self._entries(content):
            p = Path(entry.path)
            if entry.name == "articles" and self._usable_dir(p):
                self._walk(p, ARTICLE, recursive=True)
            elif entry.name == "pages" and self._usable_dir(p):
                self._walk(p, PAGE, recursive=False)
            elif entry.name.endswith(".md") and entry.is_file():
                self.problem(
                    WARNING,
                    p,
                    "this file is not read",
                    "articles go in content/articles/, pages in content/pages/",
                    "not-read",
                )
            elif entry.is_dir(follow_symlinks=False) and any(p.glob("*.md")):
                self.problem(
                    WARNING,
                    p,
                    f"the .md files in {self.rel(p)}/ are not read",
                    "articles go in content/articles/, pages in content/pages/",
                    "not-read",
                )

    def _usable_dir(self, p: Path) -> bool:
        """True for a folder to read: a real one, or a symlink to one inside the project."""
        if p.is_symlink():
            if self._link_target(p) is None:
                return False
        if not p.is_dir():
            return False
        real = os.path.realpath(p)
        if real in self.seen_dirs:
            self.problem(
                ERROR,
                p,
                f"this folder is already read as {self.seen_dirs[real]}",
                "remove the symlink that leads back to it",
                "symlink-loop",
            )
            return False
        self.seen_dirs[real] = self.rel(p)
        return True

    def _link_target(self, p: Path) -> Path | None:
        """The resolved target of a symlink, or None (reported) when it is broken or leaves the project."""
        try:
            target = p.resolve(strict=True)
        except (OSError, RuntimeError):
            self.problem(
                ERROR,
                p,
                f"broken symlink (or a loop): {os.readlink(p)}",
                "point it at an existing file inside the project, or remove it",
                "broken-symlink",
            )
            return None
        if not target.is_relative_to(self.real_root):
            self.problem(
                ERROR,
                p,
                f"symlink points outside the project, to {target}",
                "copy the file into the project instead",
                "symlink-outside",
            )
            return None
        return target

    def _entries(self, folder: Path) -> list[os.DirEntry]:
        try:
            with os.scandir(folder) as it:
                # Dotfiles are editor locks and swap files (.#x.md, .x.md.swp), never content.
                return sorted((e for e in it if not e.name.startswith(".")), key=lambda e: e.name)
        except OSError as e:
            self.problem(
                ERROR,
                folder,
                f"cannot read this folder: {e.strerror}",
                "check its permissions",
                "unreadable",
            )
            return []

    def _walk(self, folder: Path, kind: str, recursive: bool) -> None:
        # Strings, not Path objects, for the common case: this runs once per source file.
        rel_folder = self.rel(folder)
        for entry in self._entries(folder):
            name = entry.name
            if name.endswith(".md") and entry.is_file(follow_symlinks=False):
                self.sources.append(Source(kind, entry.path, f"{rel_folder}/{name}"))
                continue
            p = Path(entry.path)
            if entry.is_dir():  # follows symlinks; _usable_dir checks where they go
                if not recursive:
                    self.problem(
                        WARNING,
                        p,
                        "folders inside content/pages/ are not read",
                        "move the pages up into content/pages/",
                        "not-read",
                    )
                elif self._usable_dir(p):
                    self._walk(p, kind, recursive)
                continue
            if entry.name.endswith(".md"):
                if entry.is_symlink() and self._link_target(p) is None:
                    continue
                if not entry.is_file() and not entry.is_symlink():
                    continue  # a fifo or socket named .md
                self.sources.append(Source(kind, str(p), self.rel(p)))
            elif entry.name.lower().endswith(_MARKDOWN_LIKE):
                stem = entry.name.rsplit(".", 1)[0]
                self.problem(
                    WARNING,
                    p,
                    "this file is not read: only files ending in .md are",
                    f"rename it to {stem}.md",
                    "not-read",
                )


def _load(
    src: Source,
    limit: int,
    tz,
    vocabulary,
    cache: dict | None = None,
    salt: str = "",
    stats: dict | None = None,
) -> tuple[Document | None, list[Diagnostic]]:
    """One source file as a Document, or None with the reasons."""

    def error(message: str, hint: str, code: str) -> tuple[None, list[Diagnostic]]:
        return None, [Diagnostic(ERROR, src.path, None, None, message, hint=hint, code=code)]

    try:
        st = os.stat(src.file)
        size = st.st_size
        if stats is not None and cache is not None:
            sig = (size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, salt)
            known = stats.get(src.path)
            if known is not None and known[0] == sig and known[1] in cache:
                doc, diags = cache[known[1]]
                return doc, list(diags)
        if size > limit:
            return _too_large(src, size, limit)
        with open(src.file, "rb") as f:
            raw = f.read(limit + 1)  # a file that grew since stat() is still bounded
    except OSError as e:
        return error(
            f"cannot read this file: {e.strerror}",
            "check that it exists and is readable",
            "unreadable",
        )
    if len(raw) > limit:
        return _too_large(src, len(raw), limit)
    if cache is None:
        return _parse(src, raw, tz, vocabulary)
    key = (src.path, hashlib.sha256(raw).hexdigest(), salt)
    if key not in cache:
        cache[key] = _parse(src, raw, tz, vocabulary)
    if stats is not None and len(raw) == size:
        stats[src.path] = ((size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, salt), key)
    doc, diags = cache[key]
    return doc, list(diags)


def _parse(src: Source, raw: bytes, tz, vocabulary) -> tuple[Document | None, list[Diagnostic]]:
    fm, diags = split(raw, src.path)
    if fm is None:
        return None, diags
    meta, problems = validate(fm, src.kind, src.path, timezone=tz, content_notes=vocabulary)
    diags += problems
    slug = meta.slug
    if slug is None and "slug" not in fm.data:
        stem = os.path.splitext(os.path.basename(src.file))[0]
        slug = unicodedata.normalize("NFC", stem).lower().replace(" ", "-")
        problem = slug_problem(slug)
        if problem:
            diags.append(
                Diagnostic(
                    ERROR,
                    src.path,
                    None,
                    None,
                    f"the file name gives the slug '{slug}', which is not valid: it {problem}",
                    hint=f"rename the file to {suggest_slug(slug)}.md, or set slug: {suggest_slug(slug)}",
                    code="bad-slug",
                )
            )
    if any(d.severity == ERROR for d in diags):
        return None, diags
    doc = Document(
        kind=src.kind,
        path=src.path,
        rel=src.path.removeprefix("content/"),
        slug=slug,
        meta=meta,
        body=fm.body,
        body_line=fm.body_line,
        digest=hashlib.sha256(raw).hexdigest(),
        key_lines=dict(fm.key_lines),
    )
    return doc, diags


def _too_large(src: Source, size: int, limit: int) -> tuple[None, list[Diagnostic]]:
    return None, [
        Diagnostic(
            ERROR,
            src.path,
            None,
            None,
            f"file is {_size(size)}, over the limit of {_size(limit)}",
            hint=f"split it into shorter articles, or raise max_file_size in site.yaml (now {limit} bytes)",
            code="too-large",
        )
    ]


def _size(n: int) -> str:
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):.1f} MiB".replace(".0 ", " ")
    if n >= 1024:
        return f"{n / 1024:.1f} KiB".replace(".0 ", " ")
    return f"{n} bytes"
