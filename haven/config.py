"""site.yaml -> a frozen SiteConfig. Every key is declared once; problems are named by key."""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from .errors import ConfigError
from .model import ERROR, Diagnostic

CONFIG_FILE = "site.yaml"


class _Bad(Exception):
    """A value failed its check; the message says what was expected."""


@dataclass(frozen=True)
class TopicDef:
    key: str
    label: str
    description: str = ""
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class ContentNoteDef:
    key: str
    label: str
    support_first: bool = False


@dataclass(frozen=True)
class SupportLine:
    name: str
    region: str
    what: str = ""
    phone: str = ""
    text: str = ""
    url: str = ""
    hours: str = ""
    cost: str = ""
    last_verified: date | None = None
    source: str = ""  # the page the line was checked on
    area: str = ""  # part of the region it serves, e.g. 'Scotland' ('' = all of it)
    content_notes: tuple[str, ...] = ()  # on pages with these notes, this line comes first

    @property
    def tel(self) -> str:
        """Digits only (and a leading + for international numbers), for the tel: href."""
        digits = re.sub(r"[^\d+]", "", self.phone)
        return digits[:1] + digits[1:].replace("+", "")

    @property
    def sms(self) -> str:
        return re.sub(r"[^\d+]", "", self.text)


@dataclass(frozen=True)
class ExitSettings:
    enabled: bool = True
    url: str = "https://www.bbc.co.uk/weather"
    history: str = "replace"
    shortcut: bool = True


@dataclass(frozen=True)
class ReviewSettings:
    interval_years: int = 3
    soon_days: int = 90
    support_max_age_days: int = 180


@dataclass(frozen=True)
class ReadabilitySettings:
    smog_max: float = 12.0
    flesch_min: float = 50.0


# Words and phrases that, in a search, show the support panel above the results (see
# haven/search.py). Each is matched as whole words, case and hyphens ignored.
DEFAULT_CRISIS_TERMS = (
    "suicide",
    "suicidal",
    "kill myself",
    "killing myself",
    "end my life",
    "want to die",
    "self-harm",
    "selfharm",
    "hurt myself",
    "overdose",
    "rape",
    "raped",
    "sexual assault",
    "sexually assaulted",
    "assault",
    "assaulted",
    "abuse",
    "abused",
    "abusive",
    "domestic violence",
    "domestic abuse",
    "violence",
    "in danger",
    "not safe",
    "crisis",
    "emergency",
)


@dataclass(frozen=True)
class SiteConfig:
    root: Path
    title: str
    base_url: str  # absolute, ends with '/'
    description: str = ""
    language: str = "en"
    timezone: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))
    output_dir: str = "_site"
    page_size: int = 10
    home_articles: int = 8
    max_file_size: int = 1024 * 1024
    broken_md_links: str = ERROR
    author: str = ""
    search: bool = True
    crisis_terms: tuple[str, ...] = DEFAULT_CRISIS_TERMS
    topics: tuple[TopicDef, ...] = ()
    content_notes: Mapping[str, ContentNoteDef] = field(default_factory=dict)
    exit_this_page: ExitSettings = field(default_factory=ExitSettings)
    default_region: str = ""
    support: tuple[SupportLine, ...] = ()
    emergency: Mapping[str, str] = field(default_factory=dict)
    regions: Mapping[str, str] = field(default_factory=dict)  # code -> name ('GB': 'UK')
    review: ReviewSettings = field(default_factory=ReviewSettings)
    readability: ReadabilitySettings = field(default_factory=ReadabilitySettings)
    linkcheck: Mapping[str, Any] = field(default_factory=dict)
    keep_files: tuple[str, ...] = ()

    @property
    def base_path(self) -> str:
        """Path part of base_url: '/' at a domain root, '/haven/' under a sub-path."""
        return urlsplit(self.base_url).path or "/"

    @property
    def output_path(self) -> Path:
        return (self.root / self.output_dir).resolve()


# -- value checks: each returns the parsed value or raises _Bad ---------------------------------


def _str(v: Any) -> str:
    if isinstance(v, bool) or not isinstance(v, str | int | float):
        raise _Bad(f"expected text, got {_kind(v)}")
    return str(v).strip()


def _nonempty(v: Any) -> str:
    s = _str(v)
    if not s:
        raise _Bad("must not be empty")
    return s


def _term(v: Any) -> str:
    text = _nonempty(v)
    if not any(c.isalnum() for c in text):
        raise _Bad(f"{text!r} has no letters or digits")
    return text


def _bool(v: Any) -> bool:
    if not isinstance(v, bool):
        raise _Bad(f"expected true or false, got {v!r}")
    return v


def _int(minimum: int) -> Callable[[Any], int]:
    def check(v: Any) -> int:
        if isinstance(v, bool) or not isinstance(v, int) or v < minimum:
            raise _Bad(f"expected a whole number >= {minimum}, got {v!r}")
        return v

    return check


def _number(v: Any) -> float:
    if isinstance(v, bool) or not isinstance(v, int | float):
        raise _Bad(f"expected a number, got {v!r}")
    return float(v)


def _choice(*options: str) -> Callable[[Any], str]:
    def check(v: Any) -> str:
        if v not in options:
            raise _Bad(f"expected one of {', '.join(options)}, got {v!r}")
        return v

    return check


def _url(v: Any) -> str:
    s = _nonempty(v)
    parts = urlsplit(s)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise _Bad(f"expected an absolute http(s) URL, got {s!r}")
    return s


def _base_url(v: Any) -> str:
    s = _url(v)
    return s if s.endswith("/") else s + "/"


def _timezone(v: Any) -> ZoneInfo:
    s = _nonempty(v)
    try:
        return ZoneInfo(s)
    except (ZoneInfoNotFoundError, ValueError):
        raise _Bad(
            f"unknown time zone {s!r} (use an IANA name such as 'UTC' or 'Europe/London')"
        ) from None


def _date(v: Any) -> date:
    if isinstance(v, datetime):
        return v.date()
    if isinstance(v, date):
        return v
    try:
        return date.fromisoformat(str(v))
    except ValueError:
        raise _Bad(f"expected a date YYYY-MM-DD, got {v!r}") from None


def _list_of(check: Callable[[Any], Any]) -> Callable[[Any], tuple]:
    def parse(v: Any) -> tuple:
        if v is None:
            return ()
        if not isinstance(v, list):
            raise _Bad(f"expected a list, got {_kind(v)}")
        return tuple(check(item) for item in v)

    return parse


def _kind(v: Any) -> str:
    return {dict: "a mapping", list: "a list", type(None): "nothing"}.get(type(v), type(v).__name__)


# -- declarations ---------------------------------------------------------------------------------

# name -> (check, default, doc). `...` as default marks a required key.
OPTIONS: dict[str, tuple[Callable[[Any], Any], Any, str]] = {
    "title": (_nonempty, ..., "The site's name, shown in the header and <title>."),
    "base_url": (_base_url, ..., "Absolute URL the site is published at; may have a sub-path."),
    "description": (_str, "", "One or two sentences about the site (home page meta description)."),
    "language": (_nonempty, "en", "Language of the site, for <html lang>."),
    "timezone": (_timezone, ZoneInfo("UTC"), "IANA time zone for dates without an offset."),
    "output_dir": (_nonempty, "_site", "Folder the site is built into (--output overrides)."),
    "page_size": (_int(1), 10, "Articles per page on topic pages."),
    "home_articles": (_int(1), 8, "Latest articles listed on the home page."),
    "max_file_size": (_int(1), 1024 * 1024, "Largest Markdown file accepted, in bytes."),
    "broken_md_links": (
        _choice(ERROR, "warning"),
        ERROR,
        "Severity of a link to a missing .md file.",
    ),
    "author": (_str, "", "Default author of articles."),
    "search": (_bool, True, "Build the Pagefind search index."),
    "crisis_terms": (
        _list_of(_term),
        DEFAULT_CRISIS_TERMS,
        "Words and phrases that show the support panel above search results.",
    ),
    "topics": (None, (), "Vocabulary of topics: key, label, description, aliases."),
    "content_notes": (None, {}, "Vocabulary of content notes: key, label, support_first."),
    "exit_this_page": (None, ExitSettings(), "Quick exit: enabled, url, history, shortcut."),
    "default_region": (_str, "", "Region whose support lines every article shows."),
    "support": (
        None,
        (),
        "Support services: name, region, area, what, phone, text, url, hours, cost, "
        "last_verified, source, content_notes.",
    ),
    "emergency": (None, {}, "Emergency number per region."),
    "regions": (None, {}, "Display name of each region code used by support and emergency."),
    "review": (
        None,
        ReviewSettings(),
        "Review intervals: interval_years, soon_days, support_max_age_days.",
    ),
    "readability": (None, ReadabilitySettings(), "Reading-level thresholds: smog_max, flesch_min."),
    "linkcheck": (None, {}, "Link checker settings (see README)."),
    "keep_files": (_list_of(_nonempty), (), "Files in the output folder kept across builds."),
}


class _Reader:
    """Collects every problem while reading nested mappings, each named by its dotted key."""

    def __init__(self, lines: dict[str, int]):
        self.lines = lines
        self.diagnostics: list[Diagnostic] = []

    def error(self, key: str, message: str, hint: str | None = None) -> None:
        top = key.split(".")[0].split("[")[0]
        self.diagnostics.append(
            Diagnostic(ERROR, CONFIG_FILE, self.lines.get(top), None, message, key=key, hint=hint)
        )

    def value(self, key: str, check: Callable[[Any], Any], raw: Any, default: Any) -> Any:
        try:
            return check(raw)
        except _Bad as bad:
            self.error(key, str(bad))
            return default

    def record(self, key: str, raw: Any, cls: type, checks: dict[str, Callable[[Any], Any]]):
        """A mapping of declared keys -> an instance of `cls`; unknown keys are errors."""
        if not isinstance(raw, dict):
            self.error(key, f"expected a mapping, got {_kind(raw)}")
            return None
        values = {}
        for name, item in raw.items():
            if name not in checks:
                self.unknown(f"{key}.{name}", str(name), checks)
                continue
            values[name] = self.value(f"{key}.{name}", checks[name], item, None)
        try:
            return cls(**{k: v for k, v in values.items() if v is not None})
        except TypeError as exc:  # a required field is missing
            missing = re.findall(r"'(\w+)'", str(exc))
            self.error(key, f"missing required key {', '.join(missing) or str(exc)}")
            return None

    def unknown(self, key: str, name: str, known) -> None:
        close = difflib.get_close_matches(name, list(known), n=1)
        self.error(key, "unknown key", f"did you mean '{close[0]}'?" if close else "remove it")


def _top_level_lines(text: str) -> dict[str, int]:
    lines = {}
    for number, line in enumerate(text.splitlines(), 1):
        m = re.match(r"^([A-Za-z_][\w-]*)\s*:", line)
        if m:
            lines.setdefault(m.group(1), number)
    return lines


def _load_yaml(path: Path, text: str) -> Any:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    for event in yaml.parse(text, Loader=loader):
        if isinstance(event, yaml.AliasEvent):
            raise ConfigError(
                "site.yaml uses YAML aliases",
                [
                    Diagnostic(
                        ERROR,
                        CONFIG_FILE,
                        event.start_mark.line + 1,
                        event.start_mark.column + 1,
                        "YAML aliases are not allowed",
                        hint="write the value out in full",
                    )
                ],
            )
    return yaml.load(text, Loader=loader)  # noqa: S506 - a safe loader


def load_config(root: Path) -> SiteConfig:
    """Read and check `root/site.yaml`; raise ConfigError listing every problem."""
    path = root / CONFIG_FILE
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ConfigError(
            "no site.yaml",
            [
                Diagnostic(
                    ERROR,
                    CONFIG_FILE,
                    None,
                    None,
                    f"no {CONFIG_FILE} in {root}",
                    hint="run the command from the site's folder",
                )
            ],
        ) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(
            "site.yaml is not UTF-8",
            [Diagnostic(ERROR, CONFIG_FILE, None, None, f"not valid UTF-8 at byte {exc.start}")],
        ) from None
    key = str(Path(root).resolve() / CONFIG_FILE)
    known = _LOADED.get(key)
    if known is not None and known[0] == text:
        return known[1]
    try:
        data = _load_yaml(path, text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ConfigError(
            "site.yaml is not valid YAML",
            [
                Diagnostic(
                    ERROR,
                    CONFIG_FILE,
                    mark.line + 1 if mark else None,
                    mark.column + 1 if mark else None,
                    f"invalid YAML: {getattr(exc, 'problem', None) or exc}",
                    hint='quote values that contain ": "',
                )
            ],
        ) from None
    except ValueError as exc:  # PyYAML raises ValueError for impossible dates
        raise ConfigError(
            "site.yaml has an impossible date",
            [Diagnostic(ERROR, CONFIG_FILE, None, None, f"invalid date: {exc}")],
        ) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(
            "site.yaml is not a mapping",
            [Diagnostic(ERROR, CONFIG_FILE, 1, None, "site.yaml must be a mapping of key: value")],
        )
    config = parse_config(root, data, _top_level_lines(text))
    _LOADED[key] = (text, config)
    return config


# The dev server reads site.yaml for every build: parse it again only when its text changed.
# A SiteConfig is frozen, so sharing one is safe.
_LOADED: dict[str, tuple[str, SiteConfig]] = {}


def parse_config(root: Path, data: dict, lines: dict[str, int] | None = None) -> SiteConfig:
    """Check a site.yaml mapping; raise ConfigError listing every problem."""
    r = _Reader(lines or {})
    values: dict[str, Any] = {}
    for name in data:
        if name not in OPTIONS:
            r.unknown(str(name), str(name), OPTIONS)
    for name, (check, default, _doc) in OPTIONS.items():
        if name not in data:
            if default is ...:
                r.error(name, "missing required key")
            continue
        raw = data[name]
        if check is not None:
            values[name] = r.value(name, check, raw, default)
        else:
            values[name] = _SECTIONS[name](r, raw)
    if r.diagnostics:
        raise ConfigError("site.yaml has errors", r.diagnostics)
    _cross_checks(r, values)
    if r.diagnostics:
        raise ConfigError("site.yaml has errors", r.diagnostics)
    return SiteConfig(root=root.resolve(), **{k: v for k, v in values.items() if v is not None})


def _topics(r: _Reader, raw: Any) -> tuple[TopicDef, ...]:
    from .taxonomy import tag_key

    if not isinstance(raw, list):
        r.error("topics", f"expected a list of topics, got {_kind(raw)}")
        return ()
    topics, seen = [], {}
    checks = {
        "key": _nonempty,
        "label": _nonempty,
        "description": _str,
        "aliases": _list_of(_nonempty),
    }
    for i, item in enumerate(raw):
        t = r.record(f"topics[{i}]", item, TopicDef, checks)
        if t is None:
            continue
        key = tag_key(t.key)
        if not key:
            r.error(f"topics[{i}].key", f"{t.key!r} has no letters or digits")
            continue
        t = TopicDef(key, t.label, t.description, tuple(tag_key(a) for a in t.aliases))
        for k in (key, *t.aliases):
            if k in seen:
                r.error(f"topics[{i}]", f"'{k}' is already used by topic '{seen[k]}'")
            seen[k] = key
        topics.append(t)
    return tuple(topics)


def _content_notes(r: _Reader, raw: Any) -> dict[str, ContentNoteDef]:
    if not isinstance(raw, list):
        r.error("content_notes", f"expected a list of content notes, got {_kind(raw)}")
        return {}
    notes = {}
    checks = {"key": _nonempty, "label": _nonempty, "support_first": _bool}
    for i, item in enumerate(raw):
        note = r.record(f"content_notes[{i}]", item, ContentNoteDef, checks)
        if note is not None:
            if note.key in notes:
                r.error(f"content_notes[{i}].key", f"'{note.key}' is declared twice")
            notes[note.key] = note
    return notes


def _support(r: _Reader, raw: Any) -> tuple[SupportLine, ...]:
    if not isinstance(raw, list):
        r.error("support", f"expected a list of services, got {_kind(raw)}")
        return ()
    checks = {
        "name": _nonempty,
        "region": _nonempty,
        "what": _str,
        "phone": _str,
        "text": _str,
        "url": _url,
        "hours": _str,
        "cost": _str,
        "last_verified": _date,
        "source": _url,
        "area": _str,
        "content_notes": _list_of(_nonempty),
    }
    lines = []
    for i, item in enumerate(raw):
        line = r.record(f"support[{i}]", item, SupportLine, checks)
        if line is None:
            continue
        if not (line.phone or line.url):
            r.error(f"support[{i}]", "a service needs a phone number or a url")
        if line.phone and not re.fullmatch(r"\+?\d{3,15}", line.tel):
            r.error(f"support[{i}].phone", f"{line.phone!r} is not a phone number")
        lines.append(line)
    return tuple(lines)


def _emergency(r: _Reader, raw: Any) -> dict[str, str]:
    if not isinstance(raw, dict):
        r.error("emergency", f"expected a mapping of region: number, got {_kind(raw)}")
        return {}
    return {str(k): r.value(f"emergency.{k}", _nonempty, v, "") for k, v in raw.items()}


def _regions(r: _Reader, raw: Any) -> dict[str, str]:
    if not isinstance(raw, dict):
        r.error("regions", f"expected a mapping of code: name, got {_kind(raw)}")
        return {}
    return {str(k): r.value(f"regions.{k}", _nonempty, v, str(k)) for k, v in raw.items()}


def _linkcheck(r: _Reader, raw: Any) -> dict:
    if not isinstance(raw, dict):
        r.error("linkcheck", f"expected a mapping, got {_kind(raw)}")
        return {}
    return raw


_SECTIONS: dict[str, Callable[[_Reader, Any], Any]] = {
    "topics": _topics,
    "content_notes": _content_notes,
    "support": _support,
    "emergency": _emergency,
    "regions": _regions,
    "linkcheck": _linkcheck,
    "exit_this_page": lambda r, raw: r.record(
        "exit_this_page",
        raw,
        ExitSettings,
        {"enabled": _bool, "url": _url, "history": _choice("replace", "assign"), "shortcut": _bool},
    ),
    "review": lambda r, raw: r.record(
        "review",
        raw,
        ReviewSettings,
        {"interval_years": _int(1), "soon_days": _int(0), "support_max_age_days": _int(1)},
    ),
    "readability": lambda r, raw: r.record(
        "readability", raw, ReadabilitySettings, {"smog_max": _number, "flesch_min": _number}
    ),
}


def _cross_checks(r: _Reader, values: dict[str, Any]) -> None:
    out = values.get("output_dir", "_site")
    if not Path(out).is_absolute() and out.strip("/.") in ("", "content", "templates", "static"):
        r.error(
            "output_dir",
            f"{out!r} would overwrite the project's own files",
            hint="use a folder of its own such as _site",
        )
    notes = values.get("content_notes", {})
    for i, line in enumerate(values.get("support", ())):
        for note in line.content_notes:
            if note not in notes:
                r.error(
                    f"support[{i}].content_notes",
                    f"'{note}' is not a content note",
                    hint=f"use one of {', '.join(sorted(notes))}" if notes else None,
                )
    names = values.get("regions", {})
    used = {s.region for s in values.get("support", ())} | set(values.get("emergency", {}))
    for code in sorted(used - set(names)) if names else ():
        r.error("regions", f"no name for region {code!r}", hint=f"add {code}: <name>")
    region = values.get("default_region")
    regions = {s.region for s in values.get("support", ())}
    if region and regions and region not in regions:
        r.error(
            "default_region",
            f"no support line has region {region!r}",
            hint=f"use one of {', '.join(sorted(regions))}",
        )
