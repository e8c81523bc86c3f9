"""Markup stage: a Markdown body -> sanitised HTML plus what later stages need (`Rendered`).

Modules: `rendering` (`render()`, the entry point), `positions` (the source scan: every line
number), `lints`, `limits` (nesting and time bounds), `extensions` (Python-Markdown, configured
through its public extension API), `speedup` (optional, version-gated), `sanitise` (nh3),
`text` (typography, headings, plain text), `highlight` (Pygments).
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import unicodedata
from pathlib import Path

import markdown

from .extensions import is_faq_title
from .highlight import DARK_STYLE, LIGHT_STYLE, pygments_css
from .limits import MAX_NESTING, RENDER_SECONDS
from .rendering import MarkupError, render
from .sanitise import ALLOWED_ATTRS, ALLOWED_TAGS, TEMPLATE_IDS, URL_SCHEMES

__all__ = [
    "ALLOWED_ATTRS",
    "ALLOWED_TAGS",
    "DARK_STYLE",
    "LIGHT_STYLE",
    "MAX_NESTING",
    "RENDER_SECONDS",
    "TEMPLATE_IDS",
    "URL_SCHEMES",
    "VERSION",
    "MarkupError",
    "is_faq_title",
    "pygments_css",
    "render",
]


PACKAGE = Path(__file__).parent  # every *.py in it is part of `version()`


def version(package: Path = PACKAGE) -> str:
    """The markup's version for cache keys: its source files and the libraries in its output."""
    # Unicode's tables decide heading ids (slugs, NFC) and what counts as a word.
    digest = hashlib.blake2b(digest_size=8)
    for path in sorted(package.glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return "-".join(
        [
            digest.hexdigest(),
            markdown.__version__,
            importlib.metadata.version("nh3"),
            importlib.metadata.version("pygments"),
            unicodedata.unidata_version,
        ]
    )


def __getattr__(name: str):
    # `VERSION` is read on first use (the render cache's key): a build that renders nothing
    # does not read the package's files.
    if name == "VERSION":
        value = globals()["VERSION"] = version()
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
