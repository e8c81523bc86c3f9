"""Code highlighting: Pygments' HTML formatter for codehilite, and the site's stylesheet for it."""

from __future__ import annotations

import functools

from pygments.formatters import get_formatter_by_name

LIGHT_STYLE = "default"  # every token colour >= 4.5:1 on its background (WCAG AA)
DARK_STYLE = "github-dark"  # every token colour >= 6:1 on its background


def html_formatter(lang_str: str = "", **options):
    """Pygments' HTML formatter for these options, built once per process."""
    # Building one computes its whole style sheet, which costs more than highlighting a short
    # block. `lang_str` is ignored, as codehilite's default ("html", by name) ignores it.
    key = repr(sorted(options.items()))  # a list such as `hl_lines` cannot be a key itself
    formatter = _FORMATTERS.get(key)
    if formatter is None:
        formatter = _FORMATTERS[key] = get_formatter_by_name("html", **options)
    return formatter


# A memo, not state: a formatter keeps nothing between the blocks it formats, so sharing one
# between renders changes no output (tests/test_markup_perf.py compares).
_FORMATTERS: dict[str, object] = {}


@functools.cache
def pygments_css() -> str:
    """Stylesheet for `.highlight` code blocks: light, plus dark under prefers-color-scheme."""
    from pygments.formatters import HtmlFormatter

    def rules(style: str) -> list[str]:
        formatter = HtmlFormatter(style=style, cssclass="highlight")
        return formatter.get_background_style_defs(".highlight") + formatter.get_token_style_defs(
            ".highlight"
        )

    light, dark = rules(LIGHT_STYLE), rules(DARK_STYLE)
    dark_selectors = {rule.split("{", 1)[0].strip() for rule in dark}
    # A token the dark style leaves unstyled must not keep its light colour.
    resets = [
        f"{selector} {{ color: inherit; background-color: transparent }}"
        for selector in dict.fromkeys(rule.split("{", 1)[0].strip() for rule in light)
        if selector not in dark_selectors
    ]
    body = "\n".join("  " + rule for rule in resets + dark)
    return "\n".join(light) + "\n@media (prefers-color-scheme: dark) {\n" + body + "\n}\n"
