"""The safe YAML reader shared by `site.yaml` (haven/config.py) and front matter
(haven/sources/frontmatter.py): values PyYAML cannot build are recorded, not raised, and dates are
judged in an editor's words (`date_problem`). A module of its own so that reading `site.yaml`
loads nothing of the build's source stages (`check` reads the configuration too).
"""

from __future__ import annotations

import calendar
import re
from typing import Any

import yaml
from yaml.constructor import SafeConstructor

_BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml is ~8x faster


class _Invalid:
    """Stands for a value already reported (`2026-02-30`, `0b_`); the schema skips it."""

    def __repr__(self) -> str:
        return "INVALID"


INVALID = _Invalid()


EARLIEST_YEAR, LATEST_YEAR = 1900, 2999
DATE_FORMATS = "YYYY-MM-DD, or YYYY-MM-DDTHH:MM:SS+01:00 with a time and offset"
DATE_HINT = f"write it as {DATE_FORMATS}"
_DATE_PARTS = re.compile(
    r"\s*(\d+)-(\d+)-(\d+)(?:[Tt ]+(\d+):(\d+)(?::(\d+)(?:\.\d*)?)?)?"
    r"\s*(?:[Zz]|([+-])(\d\d?)(?::?(\d\d))?)?\s*"
)


def date_problem(text: str) -> str | None:
    """Why `text` (YYYY-MM-DD, maybe with a time) is not a date Haven takes, in an editor's words.

    None when its parts are all in range. Years outside EARLIEST_YEAR..LATEST_YEAR are refused
    too: they are typing mistakes, and converting them between time zones or adding review years
    to them would step outside the calendar Python can represent.
    """
    m = _DATE_PARTS.fullmatch(str(text))
    if not m:
        return None
    year, month, day = (int(g) for g in m.group(1, 2, 3))
    if not EARLIEST_YEAR <= year <= LATEST_YEAR:
        return (
            f"the year {m.group(1)} is outside {EARLIEST_YEAR} to {LATEST_YEAR}; "
            "check it and write all four digits"
        )
    if not 1 <= month <= 12:
        return f"there is no month {m.group(2)}: months run from 01 to 12"
    days = calendar.monthrange(year, month)[1]
    if not 1 <= day <= days:
        return f"{calendar.month_name[month]} {year} has {days} days"
    hour, minute, second = m.group(4, 5, 6)
    if hour is not None and int(hour) > 23:
        return f"there is no hour {int(hour)}: hours run from 00 to 23"
    if minute is not None and int(minute) > 59:
        return f"there is no minute {int(minute)}: minutes run from 00 to 59"
    if second is not None and int(second) > 59:
        return f"there is no second {int(second)}: seconds run from 00 to 59"
    if m.group(7) and (int(m.group(8)) * 60 + int(m.group(9) or 0) >= 24 * 60):
        return "the offset from UTC must be less than 24 hours, e.g. +01:00"
    return None


class _Loader(_BaseLoader):
    """Safe loader that records values it cannot build (`2026-02-30`) instead of raising."""

    def __init__(self, stream):
        super().__init__(stream)
        self.bad_values: list[tuple[Any, str, str, str | None]] = []


def _guarded(method: str, what: str, code: str):
    """A constructor that records a value it cannot build instead of raising.

    PyYAML raises a bare ValueError (not YAMLError) for `2026-02-30` and `0b_`, and KeyError,
    AttributeError or IndexError for `!!bool maybe`, `!!timestamp x` or an empty `!!int`: keep
    loading, so every problem is named.
    """
    build = getattr(SafeConstructor, method)

    def construct(loader: _Loader, node):
        try:
            value = build(loader, node)
        except Exception:  # these only parse a short string: any failure is a bad value
            reason = (date_problem(node.value) or DATE_HINT) if code == "bad-date" else None
            loader.bad_values.append((node, what, code, reason))
            return INVALID
        problem = date_problem(node.value) if code == "bad-date" else None
        if problem:  # 0001-01-01 is a date, but not one a site can convert and format safely
            loader.bad_values.append((node, what, code, problem))
            return INVALID
        return value

    return construct


for _tag, _method, _what, _code in (
    ("timestamp", "construct_yaml_timestamp", "date", "bad-date"),
    ("int", "construct_yaml_int", "number", "bad-number"),
    ("float", "construct_yaml_float", "number", "bad-number"),
    ("bool", "construct_yaml_bool", "true/false value", "bad-value"),
):
    _Loader.add_constructor(f"tag:yaml.org,2002:{_tag}", _guarded(_method, _what, _code))


def load_values(text: str) -> tuple[Any, list[tuple[int, int, str, str, str | None]]]:
    """YAML `text` loaded safely; each value it cannot build is left out and listed as
    (line, col, text, what it should be, why it is not), 1-based, instead of raising."""
    loader = _Loader(text)
    try:
        data = loader.get_single_data()
    finally:
        loader.dispose()
    bad = [
        (node.start_mark.line + 1, node.start_mark.column + 1, node.value, what, reason)
        for node, what, _code, reason in loader.bad_values
    ]
    return data, bad


def mapping_values_hint(line: str, col: int) -> str:
    """The hint for libyaml's "mapping values are not allowed" at column `col` (1-based) of `line`.

    When another `key: ` comes before the colon on the same line, the value holds a ": " and
    needs quotes; otherwise the key itself is indented where no key can start.
    """
    if re.search(r":\s", line[: max(col - 1, 0)]):
        return 'quote values that contain ": "'
    return "check the indentation: top-level keys start at the left edge"
