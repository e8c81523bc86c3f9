"""What a body's HTML may contain: the sanitiser's allowlist, and never an id of the theme's page.

The raw-HTML lint (lints.py) reads the same tables, so what it says was removed is what nh3
removes.
"""

from __future__ import annotations

import re

import nh3

HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")
ALLOWED_TAGS = frozenset(
    {
        *HEADINGS,
        *"a abbr aside b bdi bdo blockquote br caption cite code col colgroup data dd del".split(),
        *"details dfn div dl dt em figcaption figure hr i img ins kbd li mark ol p pre q rp".split(),
        *"rt ruby s samp section small span strong sub summary sup table tbody td tfoot th".split(),
        *"thead time tr u ul var wbr".split(),
    }
)
# Removed together with their content, not just unwrapped.
CLEAN_CONTENT_TAGS = frozenset(
    {"script", "style", "iframe", "object", "embed", "template", "noscript", "textarea"}
)
GLOBAL_ATTRS = frozenset({"lang", "dir"})
ALLOWED_ATTRS: dict[str, frozenset[str]] = {
    "*": GLOBAL_ATTRS,
    **{h: frozenset({"id"}) for h in HEADINGS},
    "a": frozenset({"href", "title", "id", "class", "rel", "hreflang"}),
    "img": frozenset({"src", "alt", "title", "width", "height"}),
    "div": frozenset({"class", "id"}),
    "span": frozenset({"class"}),
    "code": frozenset({"class"}),
    "pre": frozenset({"class"}),
    "sup": frozenset({"id", "class"}),
    "li": frozenset({"id", "value"}),
    "ol": frozenset({"start", "reversed", "type", "id"}),
    "ul": frozenset({"id"}),
    "p": frozenset({"id"}),
    "dl": frozenset({"id"}),
    "dt": frozenset({"id"}),
    "table": frozenset({"id"}),
    "figure": frozenset({"id"}),
    "section": frozenset({"class", "id", "aria-labelledby"}),
    "aside": frozenset({"class", "id", "aria-labelledby"}),
    "details": frozenset({"open", "id"}),
    "abbr": frozenset({"title"}),
    "dfn": frozenset({"title", "id"}),
    "time": frozenset({"datetime"}),
    "data": frozenset({"value"}),
    "th": frozenset({"align", "colspan", "rowspan", "scope"}),
    "td": frozenset({"align", "colspan", "rowspan"}),
    "col": frozenset({"span"}),
    "colgroup": frozenset({"span"}),
    "blockquote": frozenset({"cite"}),
    "q": frozenset({"cite"}),
    "ins": frozenset({"cite", "datetime"}),
    "del": frozenset({"cite", "datetime"}),
}
# Attributes allowed only with these values (nh3 wants them kept out of ALLOWED_ATTRS).
ATTR_VALUES = {"img": {"loading": {"lazy", "eager"}}}
URL_SCHEMES = frozenset({"http", "https", "mailto", "tel"})

# Ids the theme puts on every article page; a heading never takes one of them, and raw HTML
# (or an explicit `{#id}`) loses such an id.
TEMPLATE_IDS = frozenset(
    {
        "main",
        "summary",
        "references",
        "get-help",
        "get-help-end",
        "get-help-end-title",
        "cn-title",
        "toc-title",
        "related-title",
        "related-topics-title",
        "latest-title",
        "topics-title",
        "help-pointer-title",
        "regions-title",
        "regions",
        "other-countries",
        "other-countries-title",
        "get-help-title",
        "search",
        "site-search-q",
        "top",
        "exit-status",
    }
)

_CLEANER = nh3.Cleaner(
    tags=set(ALLOWED_TAGS),
    clean_content_tags=set(CLEAN_CONTENT_TAGS),
    attributes={tag: set(names) for tag, names in ALLOWED_ATTRS.items()},
    tag_attribute_values=ATTR_VALUES,
    link_rel=None,  # links.py adds rel="noreferrer" to external links only
    url_schemes=set(URL_SCHEMES),
    strip_comments=True,
)
_RESERVED = "|".join(re.escape(i) for i in sorted(TEMPLATE_IDS, key=len, reverse=True))
_RESERVED_ID_RE = re.compile(rf'\sid="(?:{_RESERVED})"')
# The same without the space: a search that starts from the literal `id="` is five times faster,
# and most bodies have heading ids but none of these.
_RESERVED_ID_SEEN_RE = re.compile(rf'id="(?:{_RESERVED})"')


def clean(html: str) -> str:
    """Python-Markdown's HTML as nh3 sanitises it, without any id the theme's page uses."""
    html = _CLEANER.clean(html)
    if _RESERVED_ID_SEEN_RE.search(html):
        html = _RESERVED_ID_RE.sub("", html)
    return html
