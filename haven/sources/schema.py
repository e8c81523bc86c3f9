"""The front-matter fields of articles and pages, declared once.

Adding a field means adding a `Field` to `FIELDS`: `validate` checks it, `fields_reference`
documents it, and `Document.meta` (a `Meta`, the typed record made from the same declarations)
carries its parsed value. A field's `parse` turns the YAML value into the stored value or raises
`FieldError`; `check` compares it with other fields afterwards. `listed=True` puts the field in
every article summary (listings, neighbours, feeds; see haven/site/contexts.py), and so in the
key of every page that shows the summary: nothing else needs to change for a listing to show it.
"""

from __future__ import annotations

import difflib
import json
import re
import unicodedata
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field, make_dataclass
from datetime import date, datetime, tzinfo
from typing import Any

from ..model import ERROR, WARNING, Diagnostic, aware
from .frontmatter import DATE_FORMATS, DATE_HINT, INVALID, FrontMatter, date_problem, hashtag_fix

ARTICLE = "article"
PAGE = "page"
SUMMARY_LIMIT = 300  # about what search results and link previews show
SLUG_MAX_BYTES = 200  # file names are limited to 255 bytes; leave room for suffixes
LAYOUTS = ("page", "help")
_ISO = re.compile(
    r"\d{4}-\d{2}-\d{2}"
    r"(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?(?:Z|[+-]\d{2}(?::?\d{2})?)?)?"
)
_OMIT = object()  # returned by a parser: leave the field out of `meta`


class FieldError(Exception):
    """A value that cannot be used; `item` is the index of the offending list item, if any."""

    def __init__(
        self,
        message: str,
        hint: str | None = None,
        *,
        item: int | None = None,
        code: str = "bad-value",
    ):
        super().__init__(message)
        self.message, self.hint, self.item, self.code = message, hint, item, code


@dataclass
class Context:
    """What a field's parser may need: the site's settings, the source text, a place for problems."""

    timezone: tzinfo
    content_notes: Collection[str]
    kind: str
    key: str
    example: str
    raw: str | None = None  # source text of a scalar value, e.g. 'yes' for True
    items_raw: list[str | None] = field(default_factory=list)
    present: Collection[str] = ()  # keys written in the front matter, parsed or not
    comment: str | None = None  # a '#...' comment that YAML read instead of the value
    problems: list[tuple[str, FieldError]] = field(default_factory=list)

    def warn(
        self,
        message: str,
        hint: str | None = None,
        *,
        item: int | None = None,
        code: str = "bad-value",
    ) -> None:
        self.problems.append((WARNING, FieldError(message, hint, item=item, code=code)))

    def error(
        self,
        message: str,
        hint: str | None = None,
        *,
        item: int | None = None,
        code: str = "bad-value",
    ) -> None:
        """Report an error but keep going, so every bad item of a list is named."""
        self.problems.append((ERROR, FieldError(message, hint, item=item, code=code)))


@dataclass(frozen=True)
class Field:
    name: str
    kinds: tuple[str, ...]  # ('article',), ('page',) or both
    required: bool
    doc: str
    parse: Callable[[Any, Context], Any]
    example: str
    check: Callable[[Any, Mapping[str, Any], Context], None] | None = None  # after all fields
    type: str = "str | None"  # of the parsed value, in `Meta`
    default: Any = None  # in `Meta` when the field is absent
    listed: bool = False  # shown wherever the article is listed (its summary)


# --- value parsers ----------------------------------------------------------------------------


def _kind(value: Any) -> str:
    if value is None:
        return "empty"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, (date, datetime)):
        return "a date"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return "text"


def _scalar_text(value: Any, ctx: Context, raw: str | None) -> str:
    """A non-text scalar back as the text the editor wrote, with a warning naming the key."""
    raw = raw if raw is not None else str(value)
    what = {"true/false": "a boolean", "a number": "a number", "a date": "a date"}[_kind(value)]
    shown = str(value).lower() if isinstance(value, bool) else str(value)
    ctx.warn(
        f"{ctx.key} is {what} (YAML read '{raw}' as {shown}); quote it",
        f'write {ctx.key}: "{raw}"',
        code="coerced",
    )
    return raw


def text(value: Any, ctx: Context) -> str:
    """Required one-line or folded text; numbers, dates and booleans are kept as written."""
    if isinstance(value, str):
        value = value.strip()
        if not value:
            raise FieldError(f"{ctx.key} is empty", f"write {ctx.example}", code="empty")
        return value
    if value is None:
        raise FieldError(f"{ctx.key} is empty", f"write {ctx.example}", code="empty")
    if isinstance(value, (list, dict)):
        raise FieldError(
            f"{ctx.key} must be text, not {_kind(value)}",
            f"quote the whole value if it starts with '[' or '{{': {ctx.example}",
        )
    return _scalar_text(value, ctx, ctx.raw)


def optional_text(value: Any, ctx: Context) -> Any:
    """Text that may be left out; an empty value is dropped with a warning."""
    if value is None or (isinstance(value, str) and not value.strip()):
        ctx.warn(
            f"{ctx.key} is empty and is ignored",
            f"fill it in, e.g. {ctx.example}, or remove the line",
            code="empty",
        )
        return _OMIT
    return text(value, ctx)


def summary(value: Any, ctx: Context) -> str:
    s = text(value, ctx)
    if len(s) > SUMMARY_LIMIT:
        ctx.warn(
            f"summary is {len(s)} characters long; listings and link previews show about "
            f"{SUMMARY_LIMIT}",
            f"shorten it to {SUMMARY_LIMIT} characters or fewer",
            code="too-long",
        )
    return s


def _parse_moment(value: Any, ctx: Context) -> date | datetime:
    """A date or datetime from YAML's date, datetime or an ISO 8601 string."""
    if isinstance(value, (date, datetime)):
        problem = date_problem(value.isoformat())
        if problem:
            raise FieldError(f"{value.isoformat()} is not a valid date", problem, code="bad-date")
        return value
    if value is None:
        raise FieldError(f"{ctx.key} is empty", f"write {ctx.example}", code="empty")
    if isinstance(value, str):
        s = value.strip()
        if _ISO.fullmatch(s):
            problem = date_problem(s)
            try:
                if problem is None:
                    return date.fromisoformat(s) if len(s) == 10 else datetime.fromisoformat(s)
            except ValueError:
                problem = DATE_HINT
            raise FieldError(f"{s} is not a valid date", problem, code="bad-date")
        raise FieldError(f"'{s}' is not a date", f"write it as {DATE_FORMATS}", code="bad-date")
    shown = ctx.raw if ctx.raw is not None else str(value)
    raise FieldError(
        f"'{shown}' is not a date ({_kind(value)})", f"write it as {DATE_FORMATS}", code="bad-date"
    )


def moment(value: Any, ctx: Context) -> datetime:
    """An aware datetime in the site's timezone: date-only is 00:00 there, naive is read there."""
    v = _parse_moment(value, ctx)
    result = aware(v, ctx.timezone)
    return result.astimezone(ctx.timezone)


def day(value: Any, ctx: Context) -> date:
    """A calendar date (a datetime is reduced to its day in the site's timezone)."""
    v = _parse_moment(value, ctx)
    if isinstance(v, datetime):
        return aware(v, ctx.timezone).astimezone(ctx.timezone).date()
    return v


def _yaml_list(items: list[str]) -> str:
    simple = re.compile(r"[\w][\w .-]*\Z")
    return (
        "["
        + ", ".join(i if simple.match(i) else json.dumps(i, ensure_ascii=False) for i in items)
        + "]"
    )


def _string_items(value: Any, ctx: Context, what: str) -> list[str] | None:
    """A list of strings from a list or a (comma-separated) string; problems go to `ctx`."""
    if isinstance(value, str):
        parts = [p.strip() for p in value.split(",")] if "," in value else [value.strip()]
        parts = [p for p in parts if p]
        if "," in value:
            ctx.warn(
                f"{ctx.key} should be a list; '{value.strip()}' was split at the commas",
                f"write {ctx.key}: {_yaml_list(parts)}",
                code="not-a-list",
            )
        elif parts:
            ctx.warn(
                f"{ctx.key} should be a list",
                f"write {ctx.key}: {_yaml_list(parts)}",
                code="not-a-list",
            )
        return parts
    if isinstance(value, (bool, int, float, date)):
        raw = ctx.raw if ctx.raw is not None else str(value)
        ctx.warn(f"{ctx.key} should be a list", f'write {ctx.key}: ["{raw}"]', code="not-a-list")
        return [raw]
    if isinstance(value, dict):
        raise FieldError(f"{ctx.key} must be a list, not a mapping", f"write {ctx.example}")
    if not isinstance(value, list):
        return None
    out = []
    for i, item in enumerate(value):
        if item is INVALID:
            continue  # already reported by the front-matter reader
        if item is None or (isinstance(item, str) and not item.strip()):
            ctx.error(
                f"{what} {i + 1} is empty",
                "remove the empty item, or quote one that starts with '#'",
                item=i,
                code="empty",
            )
        elif isinstance(item, (list, dict)):
            ctx.error(
                f"{what} {i + 1} is {_kind(item)}; each must be a single word or phrase",
                f"write {ctx.example}",
                item=i,
            )
        elif isinstance(item, str):
            out.append(item.strip())
        else:
            raw = (
                ctx.items_raw[i]
                if i < len(ctx.items_raw) and ctx.items_raw[i] is not None
                else str(item)
            )
            out.append(raw)
    return out


def tags(value: Any, ctx: Context) -> list[str]:
    """Topics as written (stripped); grouping them into topics is haven.taxonomy's job."""
    items = _string_items(value, ctx, "tag")
    if items is None or (not items and not any(sev == ERROR for sev, _ in ctx.problems)):
        fix = hashtag_fix(ctx.comment) if ctx.comment else ctx.example
        raise FieldError("at least one topic is needed", f"write {fix}", code="empty")
    return items


def content_notes(value: Any, ctx: Context) -> list[str]:
    """Keys of the content-note vocabulary declared in site.yaml."""
    if value is None:
        return []
    items = _string_items(value, ctx, "content note")
    if items is None:
        raise FieldError(
            f"content_notes must be a list, not {_kind(value)}", f"write {ctx.example}"
        )
    allowed = sorted(ctx.content_notes)
    out: list[str] = []
    for i, key in enumerate(items):
        if key in ctx.content_notes:
            if key not in out:
                out.append(key)
            continue
        if not allowed:
            hint = "declare content notes in site.yaml under content_notes"
        else:
            hint = _did_you_mean(key, allowed) or "allowed: " + ", ".join(allowed)
        ctx.error(
            f"unknown content note '{key}'",
            hint,
            item=_item_index(value, key, i),
            code="unknown-content-note",
        )
    return out


def _item_index(value: Any, key: str, fallback: int) -> int | None:
    if isinstance(value, list):
        for i, v in enumerate(value):
            if isinstance(v, str) and v.strip() == key:
                return i
        return fallback
    return None


def slug_problem(slug: str) -> str | None:
    """Why `slug` cannot be a path segment of the site, or None when it can."""
    if not slug:
        return "is empty"
    if "/" in slug or "\\" in slug:
        return "contains a slash"
    if ".." in slug:
        return "contains '..'"
    if slug.startswith("."):
        return "starts with '.' (a hidden file)"
    for ch in slug:
        if ch in "-_.":
            continue
        if unicodedata.category(ch)[0] not in "LNM":
            name = "a space" if ch == " " else f"'{ch}'" if ch.isprintable() else f"U+{ord(ch):04X}"
            return f"contains {name}"
    if len(slug.encode("utf-8")) > SLUG_MAX_BYTES:
        return f"is longer than {SLUG_MAX_BYTES} bytes"
    return None


def suggest_slug(text: str) -> str:
    """A valid slug close to `text`: lowercase, other characters runs become '-'."""
    out: list[str] = []
    for ch in unicodedata.normalize("NFC", text).lower():
        if unicodedata.category(ch)[0] in "LNM" or ch == "_":
            out.append(ch)
        elif out and out[-1] != "-":
            out.append("-")
    return "".join(out).strip("-")[:80] or "my-article"


def slug(value: Any, ctx: Context) -> str:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = ctx.raw if ctx.raw is not None else str(value)
    if not isinstance(value, str):
        raise FieldError(f"slug must be text, not {_kind(value)}", f"write {ctx.example}")
    s = unicodedata.normalize("NFC", value.strip())
    problem = slug_problem(s)
    if problem:
        raise FieldError(
            f"'{s}' is not a valid slug: it {problem}",
            f"allowed: Unicode letters and digits, '-', '_' and '.'; e.g. slug: {suggest_slug(s)}",
            code="bad-slug",
        )
    return s


def boolean(value: Any, ctx: Context) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        raise FieldError(
            f'{ctx.key} must be true or false without quotes, not the text "{value}"',
            f"write {ctx.key}: {'false' if value.strip().lower() in ('false', 'no', 'off', '0') else 'true'}",
        )
    raise FieldError(
        f"{ctx.key} must be true or false, not {_kind(value)}", f"write {ctx.key}: true"
    )


def position(value: Any, ctx: Context) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        shown = f'"{value}"' if isinstance(value, str) else _kind(value)
        raise FieldError(
            f"{ctx.key} must be a whole number without quotes, not {shown}", f"write {ctx.example}"
        )
    if value < 1:
        raise FieldError(f"{ctx.key} must be 1 or more, not {value}", f"write {ctx.example}")
    return value


def layout(value: Any, ctx: Context) -> str:
    if not isinstance(value, str) or value.strip() not in LAYOUTS:
        hint = (
            _did_you_mean(value, LAYOUTS) if isinstance(value, str) else None
        ) or "one of: " + ", ".join(LAYOUTS)
        raise FieldError(f"unknown layout {value!r}", hint)
    return value.strip()


def image(value: Any, ctx: Context) -> str:
    """A path on this site (/static/img/x.jpg) or an https URL; never javascript: or data:."""
    if not isinstance(value, str) or not value.strip():
        raise FieldError(
            f"image must be a path such as /static/img/x.jpg, not {_kind(value)}",
            f"write {ctx.example}",
        )
    s = value.strip()
    # Browsers ignore tabs, newlines and case in a scheme: 'Java\tScript:' still runs.
    squeezed = re.sub(r"[\x00-\x20]", "", s).lower()
    scheme = re.match(r"([a-z][a-z0-9+.-]*):", squeezed)
    if scheme:
        if scheme.group(1) != "https":
            raise FieldError(
                f"'{scheme.group(1)}:' addresses are not allowed in image",
                "use a path on this site such as /static/img/x.jpg, or an https:// address",
                code="bad-url",
            )
        host = re.match(r"https://([^/?#]*)", squeezed)
        if not host or not host.group(1):
            raise FieldError(
                f"'{s}' is not a complete https:// address", f"write {ctx.example}", code="bad-url"
            )
        ctx.warn(
            f"image is loaded from another site ({host.group(1)}), which tells it who is reading",
            "copy the image into static/ and write its path, e.g. image: /static/img/x.jpg",
            code="third-party",
        )
        return s
    if squeezed.startswith("//"):
        raise FieldError(
            f"'{s}' is an address on another site without https:",
            "use a path on this site such as /static/img/x.jpg",
            code="bad-url",
        )
    if not s.startswith("/"):
        raise FieldError(
            f"image '{s}' must start with / (a path on this site)",
            f"write image: /{s}",
            code="bad-url",
        )
    return s


# --- checks across fields ---------------------------------------------------------------------


def _after_date(value: datetime, meta: Mapping[str, Any], ctx: Context) -> None:
    published = meta.get("date")
    if published is not None and value < published:
        ctx.warn(
            f"updated ({value.date().isoformat()}) is before date ({published.date().isoformat()})",
            "check both dates; updated is when the article last changed",
            code="date-order",
        )


def _has_alt(value: str, meta: Mapping[str, Any], ctx: Context) -> None:
    if "image_alt" not in ctx.present:
        raise FieldError(
            "image has no image_alt",
            "add image_alt: a short description of the image for people who cannot see it",
            code="missing-key",
        )


def _has_image(value: str, meta: Mapping[str, Any], ctx: Context) -> None:
    if "image" not in ctx.present:
        ctx.warn(
            "image_alt is given without an image",
            "remove it, or add image: /static/img/x.jpg",
            code="unused",
        )


def _after_review(value: date, meta: Mapping[str, Any], ctx: Context) -> None:
    last = meta.get("last_reviewed")
    if last is not None and value <= last:
        raise FieldError(
            f"next_review ({value.isoformat()}) must be after last_reviewed ({last.isoformat()})",
            "set next_review to the date of the next planned review",
            code="date-order",
        )


# --- the declarations -------------------------------------------------------------------------

BOTH = (ARTICLE, PAGE)
FIELDS: tuple[Field, ...] = (
    Field(
        "title",
        BOTH,
        True,
        "Title shown in the page, listings, the browser tab and feeds.",
        text,
        'title: "Trust after trauma"',
        type="str",
        default="",
        listed=True,
    ),
    Field(
        "date",
        (ARTICLE,),
        True,
        "Publication date. A date alone means midnight in the site's "
        "timezone; a time without an offset is read in the site's timezone.",
        moment,
        "date: 2026-11-26",
        type="datetime | None",
        listed=True,
    ),
    Field(
        "summary",
        (ARTICLE,),
        True,
        f"One or two plain-text sentences for listings, search and "
        f"link previews (at most {SUMMARY_LIMIT} characters).",
        summary,
        'summary: "What trust can feel like after trauma, and small ways to rebuild it."',
        type="str",
        default="",
        listed=True,
    ),
    Field(
        "summary",
        (PAGE,),
        False,
        "One or two plain-text sentences for search and link previews.",
        summary,
        'summary: "How to reach us."',
        type="str",
        default="",
        listed=True,
    ),
    Field(
        "tags",
        (ARTICLE,),
        True,
        "Topics, as a list; spellings such as #SelfCare and self-care are one topic.",
        tags,
        "tags: [selfcare, boundaries]",
        type="tuple[str, ...]",
        default=(),
    ),
    Field(
        "updated",
        (ARTICLE,),
        False,
        "Date of the last meaningful change (not before date).",
        moment,
        "updated: 2026-12-01",
        _after_date,
        type="datetime | None",
        listed=True,
    ),
    Field(
        "slug",
        BOTH,
        False,
        "The address segment, e.g. /articles/<slug>/; defaults to the file "
        "name. Unicode letters and digits, '-', '_' and '.'.",
        slug,
        "slug: trust-after-trauma",
        type="str | None",
    ),
    Field(
        "menu",
        (PAGE,),
        False,
        "Position of the page in the main navigation (1 = first); leave "
        "out to keep it out of the menu.",
        position,
        "menu: 2",
        type="int | None",
    ),
    Field(
        "layout",
        (PAGE,),
        False,
        "Page layout: page (default) or help (lists support services).",
        layout,
        "layout: help",
        type="str",
        default="page",
    ),
    Field(
        "draft",
        BOTH,
        False,
        "true keeps it unpublished (shown only with --drafts). Must be "
        "true or false without quotes.",
        boolean,
        "draft: true",
        type="bool",
        default=False,
    ),
    Field(
        "author",
        BOTH,
        False,
        "Author's name as readers should see it.",
        optional_text,
        "author: Sam Rivera",
        type="str | None",
        listed=True,
    ),
    Field(
        "image",
        (ARTICLE,),
        False,
        "Image for link previews: a path on this site.",
        image,
        "image: /static/img/trust.jpg",
        _has_alt,
        type="str | None",
    ),
    Field(
        "image_alt",
        (ARTICLE,),
        False,
        "Description of the image for people who cannot see it; required with image.",
        text,
        'image_alt: "Two mugs of tea on a windowsill"',
        _has_image,
        type="str",
        default="",
    ),
    Field(
        "content_notes",
        BOTH,
        False,
        "Content notes shown before the text; keys declared under content_notes in site.yaml.",
        content_notes,
        "content_notes: [domestic-abuse]",
        type="tuple[str, ...]",
        default=(),
        listed=True,
    ),
    Field(
        "reviewed_by",
        BOTH,
        False,
        "Name and role of the person who checked the content.",
        optional_text,
        'reviewed_by: "Dr A. Patel, clinical psychologist"',
        type="str | None",
    ),
    Field(
        "last_reviewed",
        BOTH,
        False,
        "Date of the last content review.",
        day,
        "last_reviewed: 2026-11-01",
        type="date | None",
    ),
    Field(
        "next_review",
        BOTH,
        False,
        "Date the content is next due for review (after last_reviewed).",
        day,
        "next_review: 2027-11-01",
        _after_review,
        type="date | None",
    ),
)

ARTICLE_FIELDS: dict[str, Field] = {f.name: f for f in FIELDS if ARTICLE in f.kinds}
LISTED: tuple[str, ...] = tuple(dict.fromkeys(f.name for f in FIELDS if f.listed))

# The typed record of a document's front matter, made from the declarations above: one field
# per declared name, with its type and its value when absent.
Meta = make_dataclass(
    "Meta",
    [(f.name, f.type, field(default=f.default)) for f in {f.name: f for f in FIELDS}.values()],
    frozen=True,
)
Meta.__module__ = __name__  # (the `module=` argument is Python 3.12's)
Meta.__doc__ = "A document's front matter: every declared field, parsed (absent: its default)."
PAGE_FIELDS: dict[str, Field] = {f.name: f for f in FIELDS if PAGE in f.kinds}
_BY_KIND = {ARTICLE: ARTICLE_FIELDS, PAGE: PAGE_FIELDS}


def _did_you_mean(word: str, choices: Collection[str]) -> str | None:
    match = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    if not match:
        lowered = {c.lower(): c for c in choices}
        match = [
            lowered[m]
            for m in difflib.get_close_matches(word.lower(), list(lowered), n=1, cutoff=0.6)
        ]
    return f"did you mean '{match[0]}'?" if match else None


def validate(
    fm: FrontMatter, kind: str, path: str, *, timezone: tzinfo, content_notes: Collection[str] = ()
) -> tuple[Meta, list[Diagnostic]]:
    """The declared fields of `fm` parsed into a `Meta`, and every problem found, with positions."""
    fields = _BY_KIND[kind]
    diags: list[Diagnostic] = []

    def report(severity: str, key: str | None, e: FieldError, line=None, col=None) -> None:
        if line is None and key is not None:
            line, col = fm.position(key, e.item)
        diags.append(
            Diagnostic(
                severity,
                path,
                line,
                col,
                e.message,
                key=key,
                hint=e.hint,
                code=e.code,
                source_line=fm.source_line(line),
            )
        )

    for key in fm.data:
        if key in fields:
            continue
        other = PAGE if kind == ARTICLE else ARTICLE
        if key in _BY_KIND[other]:
            hint = f"{key} is used only on {other}s; remove it"
        else:
            hint = _did_you_mean(key, fields) or "`python build.py fields` lists the fields"
        report(
            ERROR,
            key,
            FieldError("unknown key", hint, code="unknown-key"),
            fm.key_lines.get(key),
            fm.key_cols.get(key),
        )

    meta: dict[str, Any] = {}
    contexts: dict[str, Context] = {}
    for name, f in fields.items():
        if name not in fm.data:
            if f.required:
                report(
                    ERROR,
                    name,
                    FieldError("required key is missing", f"add {f.example}", code="missing-key"),
                    1,
                    None,
                )
            continue
        value = fm.data[name]
        if value is INVALID:
            continue  # the reader already reported it
        ctx = Context(
            timezone,
            content_notes,
            kind,
            name,
            f.example,
            fm.raw.get(name),
            fm.item_raw.get(name, []),
            fm.data.keys(),
            fm.emptied.get(name),
        )
        contexts[name] = ctx
        try:
            parsed = f.parse(value, ctx)
        except FieldError as e:
            ctx.problems.append((ERROR, e))
            parsed = _OMIT
        failed = any(sev == ERROR for sev, _ in ctx.problems)
        if parsed is not _OMIT and not failed:
            meta[name] = parsed
    for name, f in fields.items():
        if f.check is not None and name in meta:
            ctx = contexts[name]
            try:
                f.check(meta[name], meta, ctx)
            except FieldError as e:
                ctx.problems.append((ERROR, e))
                del meta[name]
    for name, ctx in contexts.items():
        for severity, e in ctx.problems:
            report(severity, name, e)
    return Meta(**{k: tuple(v) if isinstance(v, list) else v for k, v in meta.items()}), diags


def fields_reference() -> str:
    """A readable reference of every front-matter field, from the declarations above."""
    out = ["Front matter: YAML between two lines of --- at the top of each .md file.", ""]
    for kind, folder in ((ARTICLE, "content/articles/**/*.md"), (PAGE, "content/pages/*.md")):
        out.append(f"{kind.capitalize()}s ({folder})")
        out.append("")
        for f in _BY_KIND[kind].values():
            need = "required" if f.required else "optional"
            also = "" if f.kinds == (kind,) else "  (articles and pages)"
            out.append(f"  {f.name}  [{need}]{also}")
            out.append(f"      {f.doc}")
            out.append(f"      example: {f.example}")
        out.append("")
    return "\n".join(out).rstrip() + "\n"
