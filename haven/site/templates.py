"""Templates: the Jinja2 environment every page is rendered with, and template errors as data.

Autoescape is on for every template, whatever its extension; undefined names are errors. Every
template is loaded up front, so a syntax error, a file that is not UTF-8 or not a regular file is
reported once, naming it, before any page is rendered. Tests build their environment here too.
"""

from __future__ import annotations

import os
import stat
import sys
import traceback
from datetime import date, datetime
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from .. import urls
from ..config import SiteConfig
from ..model import ERROR, Diagnostic

TEMPLATES = (
    "base.html",
    "index.html",
    "article.html",
    "topic.html",
    "topics.html",
    "page.html",
    "help.html",
    "search.html",
    "404.html",
    "articles.html",
    "feeds.html",
)
# Templates whose pages carry <meta name="robots" content="noindex">: left out of the sitemap.
NOINDEX_TEMPLATES = frozenset({"search.html", "404.html"})


class TemplateProblem(Exception):
    def __init__(self, diagnostic: Diagnostic):
        super().__init__(diagnostic.message)
        self.diagnostic = diagnostic


def date_display(value: date | datetime | None) -> str:
    if value is None:
        return ""
    return f"{value.day} {value:%B %Y}"


def iso(value: date | datetime | None) -> str:
    return "" if value is None else value.isoformat()


class _BytecodeCache(jinja2.FileSystemBytecodeCache):
    """Jinja's bytecode cache, where a damaged or unwritable file only costs a compile."""

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        try:
            super().load_bytecode(bucket)
        except Exception:
            bucket.reset()

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        try:
            super().dump_bytecode(bucket)
        except OSError:
            pass


def _bytecode_cache() -> jinja2.BytecodeCache | None:
    """Compiled templates, in the user's own cache folder, never in the project's `.cache/`.

    Compiled templates are code: a project's `.cache/` may come from elsewhere (a CI cache), the
    user's own folder does not. Compiling is most of the time of an edit's rebuild.
    """
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    folder = os.path.join(base, "haven-templates")
    try:
        os.makedirs(folder, mode=0o700, exist_ok=True)
    except OSError:
        return None
    return _BytecodeCache(folder)


def make_environment(root: Path, config: SiteConfig) -> tuple[jinja2.Environment, list[Diagnostic]]:
    """A Jinja2 environment with autoescape on for every template, whatever its extension."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(root / "templates")),
        auto_reload=False,  # one environment per build: no template changes under it
        bytecode_cache=_bytecode_cache(),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    base_path, base_url = config.base_path, config.base_url
    env.globals["url"] = lambda path: urls.href(path, base_path)
    env.globals["abs_url"] = lambda path: urls.absolute(base_url, base_path, path)
    env.filters["date_display"] = date_display
    env.filters["iso"] = iso
    env.globals["once"] = _once(env)
    diags = []
    try:
        names = env.list_templates()
    except OSError as exc:
        names = []
        diags.append(
            Diagnostic(
                ERROR, "templates", None, None, f"cannot read: {exc.strerror}", code="template"
            )
        )
    for name in names:
        path = root / "templates" / name
        try:
            mode = os.stat(path).st_mode
        except OSError as exc:
            diags.append(_template_file_error(name, f"cannot read it: {exc.strerror}"))
            continue
        if not stat.S_ISREG(mode):
            # Reading a pipe would wait forever; any template may be included by another.
            diags.append(
                _template_file_error(name, "this is not a file (a pipe, socket or device)")
            )
            continue
        if not name.endswith((".html", ".xml")):
            continue
        try:
            env.get_template(name)
        except jinja2.TemplateSyntaxError as exc:
            diags.append(
                Diagnostic(
                    ERROR,
                    f"templates/{exc.name or name}",
                    exc.lineno,
                    None,
                    f"template syntax error: {exc.message}",
                    code="template",
                )
            )
        except UnicodeDecodeError as exc:
            data = exc.object if isinstance(exc.object, bytes) else b""
            line = data[: exc.start].count(b"\n") + 1
            byte = data[exc.start : exc.start + 1].hex() or "?"
            diags.append(
                Diagnostic(
                    ERROR,
                    f"templates/{name}",
                    line,
                    None,
                    f"template is not UTF-8 text (byte 0x{byte} on this line)",
                    hint="save it as UTF-8; a template is text, not an image or a binary file",
                    code="template",
                )
            )
        except OSError as exc:
            diags.append(_template_file_error(name, f"cannot read it: {exc.strerror}"))
    for name in TEMPLATES:
        if not (root / "templates" / name).exists():
            diags.append(
                Diagnostic(
                    ERROR,
                    f"templates/{name}",
                    None,
                    None,
                    "template is missing",
                    hint="every page kind needs its template",
                    code="template",
                )
            )
    return env, diags


def _once(env: jinja2.Environment):
    """`once(name, **values)`: a partial that reads only the site context and `values`, rendered
    once per build and site context, however many pages show it (the header, the quick exit, the
    support block of each set of content notes, the card of each article). Values are told
    apart by their repr: a summary's is the digest of its fields."""
    made: dict[tuple, tuple[Any, Markup]] = {}

    @jinja2.pass_context
    def once(context, name: str, **values: Any) -> Markup:
        site = context["site"]
        key = (name, tuple(sorted((k, repr(v)) for k, v in values.items())))
        found = made.get(key)
        if found is None or found[0] is not site:
            found = made[key] = (site, Markup(env.get_template(name).render(site=site, **values)))
        return found[1]

    return once


def _template_file_error(name: str, message: str) -> Diagnostic:
    return Diagnostic(
        ERROR, f"templates/{name}", None, None, message, hint="fix or remove it", code="template"
    )


def render_template(env: jinja2.Environment, name: str, context: dict[str, Any]) -> bytes:
    """Render; a template error becomes a Diagnostic naming the template and line."""
    try:
        return env.get_template(name).render(context).encode("utf-8")
    except jinja2.TemplateError as exc:
        raise TemplateProblem(_template_diagnostic(exc, name)) from None
    except Exception as exc:  # a filter or global raised: still the template's line
        raise TemplateProblem(_template_diagnostic(exc, name)) from None


def _template_diagnostic(exc: BaseException, name: str) -> Diagnostic:
    line = getattr(exc, "lineno", None)
    where = getattr(exc, "name", None) or name
    for frame in reversed(traceback.extract_tb(sys.exc_info()[2])):
        if "/templates/" in frame.filename.replace("\\", "/"):
            where = frame.filename.replace("\\", "/").rsplit("/templates/", 1)[1]
            line = frame.lineno
            break
    message = getattr(exc, "message", None) or str(exc)
    return Diagnostic(
        ERROR, f"templates/{where}", line, None, f"{type(exc).__name__}: {message}", code="template"
    )
