"""Markup stage: a Markdown body -> sanitised HTML plus what later stages need (`Rendered`).

Modules: `rendering` (`render()`, the entry point), `positions` (the source scan: every line
number), `lints`, `limits` (nesting and time bounds), `extensions` (Python-Markdown, configured
through its public extension API), `speedup` (optional, version-gated), `sanitise` (nh3),
`text` (typography, headings, plain text), `highlight` (Pygments).
"""

from __future__ import annotations

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
    "MarkupError",
    "is_faq_title",
    "pygments_css",
    "render",
]
