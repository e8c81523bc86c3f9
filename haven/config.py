"""site.yaml -> a frozen SiteConfig. Every key is declared once; problems are named by key."""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any
from urllib.parse import unquote, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from .errors import ConfigError
from .model import ERROR, WARNING, Diagnostic
from .yamlsafe import date_problem, load_values, mapping_values_hint

CONFIG_FILE = "site.yaml"


class _Bad(Exception):
    """A value failed its check; the message says what was expected."""


@dataclass(frozen=True)
class TopicDef:
    key: str
    label: str
    description: str = ""
    aliases: tuple[str, ...] = ()
    hashtag: str = ""  # '#TraumaInformedCare'; '' = derived from the label (taxonomy.hashtag_for)


@dataclass(frozen=True)
class StartPath:
    """A "start here" path of the home page: articles to read in this order."""

    title: str
    articles: tuple[str, ...]  # file names below content/articles/, as links write them
    description: str = ""
    id: str = ""  # from the title: the anchor on the home page
    lines: tuple[int | None, ...] = ()  # site.yaml line of each entry of `articles`


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


IGNORE = "ignore"
LEVELS = (ERROR, WARNING, IGNORE)

# Every kind of problem `check`'s link checker reports and its default severity;
# `linkcheck.severity` in site.yaml overrides.
DEFAULT_SEVERITY: Mapping[str, str] = MappingProxyType(
    {
        "broken-link": ERROR,  # <a href>, <meta refresh>, canonical, sitemap: no such page
        "missing-asset": ERROR,  # src, srcset, poster, <link href>, CSS url(): no such file
        "missing-fragment": ERROR,  # the page exists but has no such id
        "unpublished-link": ERROR,  # a link to a draft or a future article
        "empty-link": ERROR,  # href="" or src=""
        "unsafe-url": ERROR,  # javascript:, data: in href, or any scheme not allowed
        "bad-mailto": ERROR,
        "bad-tel": ERROR,
        "missing-alt": ERROR,  # <img> without an alt attribute (alt="" is fine: decorative)
        "orphan": WARNING,  # a page no other page links to
        "no-manifest": WARNING,  # problems can name output pages only
        "bad-manifest": ERROR,
        "external-broken": ERROR,  # 404, 410, 5xx and other refusals
        "external-redirect": WARNING,  # a permanent redirect: the message names the new URL
        "external-redirect-loop": ERROR,
        "external-timeout": WARNING,
        "external-rate-limited": WARNING,
        "external-denied": WARNING,  # 401/403: the host refuses robots; a reader may get in
        "external-unreachable": ERROR,  # DNS, refused connection, bad TLS certificate
        "external-fragment": WARNING,  # the page exists but the #fragment was not found
        "external-unchecked": WARNING,  # the time budget ran out before this URL
        "external-private": WARNING,  # a loopback or private address: not fetched unless allowed
    }
)


@dataclass(frozen=True)
class ExternalSettings:
    """The `linkcheck.external` settings of site.yaml."""

    per_host: int = 2  # concurrent requests per host
    timeout: float = 10.0  # seconds to wait for each read
    connect_timeout: float = 5.0
    retries: int = 2  # extra attempts on 429/503 and dropped connections
    max_redirects: int = 10
    cache_ttl_hours: float = 24.0  # 0 disables the cache
    accept: tuple[int, ...] = (200, 204)
    exclude: tuple[str, ...] = ()  # regexes searched in the URL
    budget_seconds: float = 300.0  # for the whole run; URLs not started by then are "unchecked"
    # Loopback, private and link-local addresses (a router's admin page, a cloud metadata
    # service, the editor's own machine) are not fetched unless this is set.
    allow_private: bool = False
    # Not in site.yaml: knobs for tests and for very large sites.
    max_workers: int = 16
    backoff: float = 1.0  # first retry delay when there is no Retry-After; doubles each time
    max_retry_after: float = 60.0  # a longer Retry-After is not waited for


@dataclass(frozen=True)
class LinkcheckSettings:
    """The `linkcheck:` mapping of site.yaml, validated."""

    severity: Mapping[str, str] = field(default_factory=lambda: DEFAULT_SEVERITY)
    external: ExternalSettings = field(default_factory=ExternalSettings)

    def level(self, kind: str) -> str:
        """'error', 'warning' or 'ignore' for a kind of problem."""
        return self.severity.get(kind, ERROR)

    @classmethod
    def from_mapping(cls, data: Any) -> tuple[LinkcheckSettings, list[str]]:
        """Settings from the `linkcheck:` mapping, and every error naming its key."""
        return _linkcheck_settings(data)


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
    start_here: tuple[StartPath, ...] = ()
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
    linkcheck: LinkcheckSettings = field(default_factory=LinkcheckSettings)
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


def _int(minimum: int, maximum: int | None = None) -> Callable[[Any], int]:
    def check(v: Any) -> int:
        if isinstance(v, bool) or not isinstance(v, int) or v < minimum:
            raise _Bad(f"expected a whole number >= {minimum}, got {v!r}")
        if maximum is not None and v > maximum:
            raise _Bad(f"expected a whole number from {minimum} to {maximum}, got {v!r}")
        return v

    return check


def _number(v: Any) -> float:
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
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
    parts = urlsplit(s)
    # Every page's canonical link, feed and sitemap entry starts with base_url: anything but a
    # plain scheme://host/path would be repeated into all of them.
    if parts.query or s.endswith("?"):
        raise _Bad(f"{s!r} has a query ('?...'); give the address of the site's home page only")
    if parts.fragment or "#" in s:
        raise _Bad(f"{s!r} has a fragment ('#...'); give the address of the site's home page only")
    if "@" in parts.netloc:
        raise _Bad(f"{s!r} has a user name or password before '@'; remove it")
    try:
        parts.port  # noqa: B018 - raises for a port that is not a number from 0 to 65535
    except ValueError:
        raise _Bad(f"{s!r} has a port that is not a number from 1 to 65535") from None
    if any(seg in (".", "..") for seg in unquote(parts.path).split("/")):
        raise _Bad(f"{s!r} has a '.' or '..' segment; write the folder's path in full")
    if re.search(r"[\s\\<>\"'`]", s) or not s.isprintable():
        raise _Bad(f"{s!r} has spaces, quotes or other characters a URL cannot hold")
    return s if s.endswith("/") else s + "/"


# A well-formed BCP 47 language tag (RFC 5646 'langtag' or a private-use tag): language, extended
# language, script, region, variants, extensions and private use, each checked for shape only.
_LANGTAG = re.compile(
    r"(?:[a-z]{2,3}(?:-[a-z]{3}){0,3}|[a-z]{4,8})"
    r"(?:-[a-z]{4})?"
    r"(?:-(?:[a-z]{2}|\d{3}))?"
    r"(?:-(?:[a-z\d]{5,8}|\d[a-z\d]{3}))*"
    r"(?:-[\da-wyz](?:-[a-z\d]{2,8})+)*"
    r"(?:-x(?:-[a-z\d]{1,8})+)?"
    r"|x(?:-[a-z\d]{1,8})+",
    re.IGNORECASE | re.ASCII,
)


def _language(v: Any) -> str:
    s = _nonempty(v)
    if not _LANGTAG.fullmatch(s):
        fixed = s.replace("_", "-")
        hint = f"write {fixed!r}" if _LANGTAG.fullmatch(fixed) else "such as en, en-GB or cy"
        raise _Bad(f"{s!r} is not a BCP 47 language tag ({hint})")
    return s


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
        v = v.date()
    if isinstance(v, date):
        problem = date_problem(v.isoformat())
        if problem:
            raise _Bad(f"{v.isoformat()} is not a valid date ({problem})")
        return v
    text = str(v).strip()
    problem = date_problem(text)
    if problem:
        raise _Bad(f"{text} is not a valid date ({problem})")
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise _Bad(f"expected a date YYYY-MM-DD, got {v!r}") from None


def _relative_file(v: Any) -> str:
    s = _nonempty(v)
    if s.startswith("/") or "\\" in s or any(p in ("", ".", "..") for p in s.split("/")):
        raise _Bad(f"{s!r} must be a path inside the output folder, such as CNAME or .well-known/x")
    return s


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

MAX_FILE_SIZE_LIMIT = 1024**3  # a larger read would not fit in memory, let alone a page
MAX_REVIEW_YEARS = 100  # keeps last_reviewed + interval_years inside the calendar
MAX_DAYS = 36500

# name -> (check, default, doc). `...` as default marks a required key.
OPTIONS: dict[str, tuple[Callable[[Any], Any], Any, str]] = {
    "title": (_nonempty, ..., "The site's name, shown in the header and <title>."),
    "base_url": (_base_url, ..., "Absolute URL the site is published at; may have a sub-path."),
    "description": (_str, "", "One or two sentences about the site (home page meta description)."),
    "language": (_language, "en", "Language of the site, a BCP 47 tag for <html lang>."),
    "timezone": (_timezone, ZoneInfo("UTC"), "IANA time zone for dates without an offset."),
    "output_dir": (_nonempty, "_site", "Folder the site is built into (--output overrides)."),
    "page_size": (_int(1), 10, "Articles per page on topic pages."),
    "home_articles": (_int(1), 8, "Latest articles listed on the home page."),
    "max_file_size": (
        _int(1, MAX_FILE_SIZE_LIMIT),
        1024 * 1024,
        "Largest Markdown file accepted, in bytes.",
    ),
    "broken_md_links": (
        _choice(ERROR, "warning"),
        ERROR,
        "Severity of a link to a missing .md file.",
    ),
    "author": (_str, "", "Default author of articles."),
    "search": (_bool, True, "Build the Pagefind search index."),
    "start_here": (
        None,
        (),
        "Reading paths on the home page: title, description, articles (file names, in order).",
    ),
    "crisis_terms": (
        _list_of(_term),
        DEFAULT_CRISIS_TERMS,
        "Words and phrases that show the support panel above search results.",
    ),
    "topics": (None, (), "Vocabulary of topics: key, label, description, aliases, hashtag."),
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
    "linkcheck": (None, LinkcheckSettings(), "Link checker settings (see README)."),
    "keep_files": (_list_of(_relative_file), (), "Files in the output folder kept across builds."),
}


class _Reader:
    """Collects every problem while reading nested mappings, each named by its dotted key."""

    def __init__(self, lines: dict[str, int]):
        self.lines = lines
        self.diagnostics: list[Diagnostic] = []

    def error(self, key: str, message: str, hint: str | None = None) -> None:
        self.diagnostics.append(
            Diagnostic(ERROR, CONFIG_FILE, self.line(key), None, message, key=key, hint=hint)
        )

    def line(self, key: str) -> int | None:
        """The line of `key` ('support[2].phone'), else of the nearest section that holds it."""
        while key:
            if key in self.lines:
                return self.lines[key]
            key = key[: max(key.rfind("."), key.rfind("["), 0)]
        return None

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


class _Frame:
    """A mapping or list being read: its dotted path, and for a mapping the keys seen so far."""

    __slots__ = ("path", "is_map", "expect_key", "child", "seen", "index")

    def __init__(self, path: str, is_map: bool):
        self.path = path
        self.is_map = is_map
        self.expect_key = True
        self.child = ""  # path of the value that comes next
        self.seen: dict[str, int] = {}  # key -> its line
        self.index = -1  # last list item read


class _Keys:
    """One pass over libyaml's events: the line of every key, duplicate keys, aliases."""

    def __init__(self) -> None:
        self.lines: dict[str, int] = {}  # 'review.soon_days', 'support[0]' -> 1-based line
        self.diagnostics: list[Diagnostic] = []
        self.alias = False

    def scan(self, text: str) -> None:
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        stack: list[_Frame] = []
        for event in yaml.parse(text, Loader=loader):
            line = event.start_mark.line + 1
            if isinstance(event, yaml.AliasEvent):
                self.diagnostics.append(
                    Diagnostic(
                        ERROR,
                        CONFIG_FILE,
                        line,
                        event.start_mark.column + 1,
                        "YAML aliases are not allowed",
                        hint="write the value out in full",
                    )
                )
                self.alias = True
                return
            if isinstance(event, yaml.CollectionEndEvent):
                stack.pop()
                continue
            if not isinstance(event, yaml.NodeEvent):
                continue
            path = ""
            collection = isinstance(event, yaml.MappingStartEvent | yaml.SequenceStartEvent)
            if stack and stack[-1].is_map and stack[-1].expect_key:
                frame = stack[-1]
                frame.expect_key = False
                name = event.value if isinstance(event, yaml.ScalarEvent) else "?"
                frame.child = f"{frame.path}.{name}" if frame.path else name
                self._key(frame, name, line)
                if collection:  # a '? [a, b]' key: read past it
                    stack.append(_Frame("?", isinstance(event, yaml.MappingStartEvent)))
                continue
            if stack and stack[-1].is_map:
                stack[-1].expect_key = True
                path = stack[-1].child
            elif stack:
                frame = stack[-1]
                frame.index += 1
                path = f"{frame.path}[{frame.index}]"
                self.lines.setdefault(path, line)
            if collection:
                stack.append(_Frame(path, isinstance(event, yaml.MappingStartEvent)))

    def _key(self, frame: _Frame, name: str, line: int) -> None:
        if name in frame.seen:
            self.diagnostics.append(
                Diagnostic(
                    ERROR,
                    CONFIG_FILE,
                    line,
                    None,
                    f"this key is given twice, on lines {frame.seen[name]} and {line}; "
                    "YAML would keep the last one silently",
                    key=frame.child,
                    hint="remove one of them",
                )
            )
            return
        frame.seen[name] = line
        self.lines[frame.child] = line


def _key_at(lines: dict[str, int], line: int) -> str | None:
    """The innermost key written on `line`, or the last one above it."""
    best = None
    for key, at in lines.items():
        if at <= line and (best is None or (at, len(key)) > (lines[best], len(best))):
            best = key
    return best


def _yaml_error(exc: yaml.YAMLError, text: str) -> Diagnostic:
    mark = getattr(exc, "problem_mark", None)
    problem = (getattr(exc, "problem", None) or str(exc)).strip()
    context = getattr(exc, "context", None) or ""
    # An unclosed [ { or quote is reported where the file ends: point at where it opens.
    if getattr(exc, "context_mark", None) is not None and any(
        c in context for c in ("flow sequence", "flow mapping", "quoted scalar")
    ):
        mark = exc.context_mark
    hint = None
    if mark is not None and "mapping values are not allowed" in problem:
        lines = text.split("\n")
        line = lines[mark.line] if mark.line < len(lines) else ""
        hint = mapping_values_hint(line, mark.column + 1).replace(
            "top-level keys start at the left edge", "a key lines up with the keys beside it"
        )
    elif "tab" in problem:
        hint = "indent with spaces, not tabs"
    elif "flow sequence" in context:
        hint = "close the list opened here with ']', or quote the value if '[' is part of it"
    elif "flow mapping" in context:
        hint = "close the '{' opened here with '}', or quote the value if '{' is part of it"
    elif "quoted scalar" in context:
        hint = "close the quotation mark opened here"
    elif "cannot start any token" in problem:
        hint = "quote the value"
    return Diagnostic(
        ERROR,
        CONFIG_FILE,
        mark.line + 1 if mark else None,
        mark.column + 1 if mark else None,
        f"invalid YAML: {problem}",
        hint=hint,
    )


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
    except OSError as exc:
        raise ConfigError(
            "site.yaml cannot be read",
            [Diagnostic(ERROR, CONFIG_FILE, None, None, f"cannot read it: {exc.strerror or exc}")],
        ) from None
    key = str(Path(root).resolve() / CONFIG_FILE)
    known = _LOADED.get(key)
    if known is not None and known[0] == text:
        return known[1]
    keys = _Keys()
    try:
        keys.scan(text)
        if keys.alias:
            raise ConfigError("site.yaml uses YAML aliases", keys.diagnostics)
        data, bad = load_values(text)
    except yaml.YAMLError as exc:
        raise ConfigError("site.yaml is not valid YAML", [_yaml_error(exc, text)]) from None
    if bad:
        raise ConfigError(
            "site.yaml has values YAML cannot read",
            [
                Diagnostic(
                    ERROR,
                    CONFIG_FILE,
                    line,
                    col,
                    f"{value} is not a valid {what}",
                    key=_key_at(keys.lines, line),
                    hint=why or "quote it if it is meant as text",
                )
                for line, col, value, what, why in bad
            ],
        )
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(
            "site.yaml is not a mapping",
            [Diagnostic(ERROR, CONFIG_FILE, 1, None, "site.yaml must be a mapping of key: value")],
        )
    try:
        config = parse_config(root, data, keys.lines)
    except ConfigError as exc:
        raise ConfigError(str(exc), [*keys.diagnostics, *exc.diagnostics]) from None
    if keys.diagnostics:  # keys given twice
        raise ConfigError("site.yaml has errors", keys.diagnostics)
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
    _cross_checks(r, values, root)
    if r.diagnostics:
        raise ConfigError("site.yaml has errors", r.diagnostics)
    return SiteConfig(root=root.resolve(), **{k: v for k, v in values.items() if v is not None})


def _topics(r: _Reader, raw: Any) -> tuple[TopicDef, ...]:
    from .taxonomy import hashtag_for, tag_key

    if not isinstance(raw, list):
        r.error("topics", f"expected a list of topics, got {_kind(raw)}")
        return ()
    topics, seen = [], {}
    checks = {
        "key": _nonempty,
        "label": _nonempty,
        "description": _str,
        "aliases": _list_of(_nonempty),
        "hashtag": _nonempty,
    }
    for i, item in enumerate(raw):
        t = r.record(f"topics[{i}]", item, TopicDef, checks)
        if t is None:
            continue
        key = tag_key(t.key)
        if not key:
            r.error(f"topics[{i}].key", f"{t.key!r} has no letters or digits")
            continue
        aliases = tuple(tag_key(a) for a in t.aliases)
        hashtag = t.hashtag.removeprefix("#")
        if hashtag and not hashtag.isalnum():
            r.error(
                f"topics[{i}].hashtag",
                f"{t.hashtag!r} is not one word",
                hint="write it in CamelCase without spaces or punctuation, e.g. #TraumaInformedCare",
            )
        elif hashtag and tag_key(hashtag) not in (key, *aliases):
            # Readers and editors copy the hashtag as a tag: it must lead to this topic.
            r.error(
                f"topics[{i}].hashtag",
                f"'#{hashtag}' is not a spelling of the key '{key}' or one of its aliases",
                hint=f"write the key's words with a capital each, such as "
                f"'{hashtag_for(t.label, key, aliases)}', or add the word to aliases",
            )
        t = TopicDef(key, t.label, t.description, aliases, "#" + hashtag if hashtag else "")
        for k in (key, *t.aliases):
            if k in seen:
                r.error(f"topics[{i}]", f"'{k}' is already used by topic '{seen[k]}'")
            seen[k] = key
        topics.append(t)
    return tuple(topics)


def _article_file(v: Any) -> str:
    s = _nonempty(v)
    if not s.endswith(".md") or s.startswith(("/", "../")) or "/../" in s or "\\" in s:
        raise _Bad(
            f"expected the file name of an article below content/articles/, such as "
            f"what-is-trauma.md, got {s!r}"
        )
    return s.removeprefix("./")


def _start_here(r: _Reader, raw: Any) -> tuple[StartPath, ...]:
    from .taxonomy import topic_slug

    if not isinstance(raw, list):
        r.error("start_here", f"expected a list of paths, got {_kind(raw)}")
        return ()
    checks = {"title": _nonempty, "description": _str, "articles": _list_of(_nonempty)}
    paths: list[StartPath] = []
    ids: dict[str, int] = {}
    for i, item in enumerate(raw):
        path = r.record(f"start_here[{i}]", item, StartPath, checks)
        if path is None:
            continue
        if not path.articles:
            r.error(f"start_here[{i}].articles", "a path needs at least one article")
            continue
        names: list[str] = []
        for j, name in enumerate(path.articles):
            name = r.value(f"start_here[{i}].articles[{j}]", _article_file, name, "")
            if name in names:
                r.error(f"start_here[{i}].articles[{j}]", f"'{name}' is in this path twice")
            names.append(name)
        slug = topic_slug(path.title.casefold())
        if slug in ids:
            r.error(
                f"start_here[{i}].title", f"'{path.title}' is also the title of path {ids[slug]}"
            )
        ids[slug] = i
        lines = tuple(
            r.lines.get(f"start_here[{i}].articles[{j}]") for j in range(len(path.articles))
        )
        paths.append(replace(path, articles=tuple(names), id=slug, lines=lines))
    return tuple(paths)


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


def _linkcheck(r: _Reader, raw: Any) -> LinkcheckSettings:
    # Read with the other sections, so that a mistake stops the build, not only `check`.
    if not isinstance(raw, dict):
        r.error("linkcheck", f"expected a mapping, got {_kind(raw)}")
        return LinkcheckSettings()
    settings, problems = LinkcheckSettings.from_mapping(raw)
    for problem in problems:
        key, _, message = problem.partition(": ")
        r.error(key, message)
    return settings


_EXTERNAL_KEYS = {
    "per_host": ("int", 1),
    "timeout": ("number", 0),
    "connect_timeout": ("number", 0),
    "retries": ("int", 0),
    "max_redirects": ("int", 0),
    "cache_ttl_hours": ("number", None),
    "accept": ("statuses", None),
    "exclude": ("regexes", None),
    "budget_seconds": ("number", 0),
    "allow_private": ("bool", None),
}


def _linkcheck_settings(data: Any) -> tuple[LinkcheckSettings, list[str]]:
    errors: list[str] = []
    if data is None:
        return LinkcheckSettings(), errors
    if not isinstance(data, Mapping):
        return LinkcheckSettings(), [f"linkcheck: expected a mapping, got {_show(data)}"]
    severity = dict(DEFAULT_SEVERITY)
    for key in data:
        if key not in ("severity", "orphans", "external"):
            errors.append(f"linkcheck.{key}: unknown key (expected severity, orphans or external)")
    if "orphans" in data:
        level = data["orphans"]
        if level not in LEVELS:
            errors.append(
                f"linkcheck.orphans: expected one of error, warning, ignore, got {_show(level)}"
            )
        else:
            severity["orphan"] = level
    raw_sev = data.get("severity")
    if raw_sev is not None and not isinstance(raw_sev, Mapping):
        errors.append(
            f"linkcheck.severity: expected a mapping of kind: level, got {_show(raw_sev)}"
        )
    elif raw_sev:
        for kind, level in raw_sev.items():
            if kind not in DEFAULT_SEVERITY:
                errors.append(
                    f"linkcheck.severity.{kind}: unknown kind of problem "
                    f"(known: {', '.join(sorted(DEFAULT_SEVERITY))})"
                )
            elif level not in LEVELS:
                errors.append(
                    f"linkcheck.severity.{kind}: expected one of error, warning, ignore, got {_show(level)}"
                )
            elif kind == "orphan" and "orphans" in data and data["orphans"] != level:
                errors.append(
                    f"linkcheck.severity.orphan: conflicts with linkcheck.orphans ({data['orphans']!r})"
                )
            else:
                severity[kind] = level
    external = ExternalSettings()
    raw_ext = data.get("external")
    if raw_ext is not None and not isinstance(raw_ext, Mapping):
        errors.append(f"linkcheck.external: expected a mapping, got {_show(raw_ext)}")
    elif raw_ext:
        values: dict[str, Any] = {}
        for key, value in raw_ext.items():
            name = f"linkcheck.external.{key}"
            spec = _EXTERNAL_KEYS.get(key)
            if spec is None:
                errors.append(f"{name}: unknown key (expected one of: {', '.join(_EXTERNAL_KEYS)})")
                continue
            kind, minimum = spec
            checked, error = _check_external(name, kind, minimum, value)
            if error:
                errors.append(error)
            else:
                values[key] = checked
        external = replace(external, **values)
    return LinkcheckSettings(MappingProxyType(severity), external), errors


def _check_external(name: str, kind: str, minimum: Any, value: Any) -> tuple[Any, str | None]:
    is_int = isinstance(value, int) and not isinstance(value, bool)
    if kind == "bool":
        if not isinstance(value, bool):
            return None, f"{name}: expected true or false, got {_show(value)}"
        return value, None
    if kind == "int":
        if not is_int or value < minimum:
            return None, f"{name}: expected a whole number >= {minimum}, got {_show(value)}"
        return value, None
    if kind == "number":
        ok = (is_int or isinstance(value, float)) and value == value
        if not ok or (minimum is None and value < 0) or (minimum is not None and value <= minimum):
            bound = ">= 0" if minimum is None else f"> {minimum}"
            return (
                None,
                f"{name}: expected a number of {'hours' if 'hours' in name else 'seconds'} {bound}, got {_show(value)}",
            )
        return float(value), None
    if kind == "statuses":
        if not isinstance(value, list) or not value:
            return None, f"{name}: expected a list of HTTP status codes, got {_show(value)}"
        bad = [
            v
            for v in value
            if not (isinstance(v, int) and not isinstance(v, bool) and 100 <= v <= 599)
        ]
        if bad:
            return None, f"{name}: expected HTTP status codes (100-599), got {_show(bad[0])}"
        return tuple(value), None
    # regexes
    if not isinstance(value, list):
        return None, f"{name}: expected a list of regular expressions, got {_show(value)}"
    for item in value:
        if not isinstance(item, str):
            return None, f"{name}: expected a regular expression (a string), got {_show(item)}"
        try:
            re.compile(item)
        except re.error as exc:
            return None, f"{name}: {item!r} is not a valid regular expression ({exc})"
    return tuple(value), None


def _show(value: Any) -> str:
    return "nothing" if value is None else repr(value)


_SECTIONS: dict[str, Callable[[_Reader, Any], Any]] = {
    "start_here": _start_here,
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
        {
            "interval_years": _int(1, MAX_REVIEW_YEARS),
            "soon_days": _int(0, MAX_DAYS),
            "support_max_age_days": _int(1, MAX_DAYS),
        },
    ),
    "readability": lambda r, raw: r.record(
        "readability", raw, ReadabilitySettings, {"smog_max": _number, "flesch_min": _number}
    ),
}


SOURCE_DIRS = ("content", "templates", "static")


def output_problem(root: Path, out: str | Path) -> str | None:
    """Why `out` (relative to the project `root`) cannot be the output folder, or None."""
    root = Path(root).resolve()
    target = (root / Path(out).expanduser()).resolve()
    shown = str(out) if str(out) == str(target) else f"{out} ({target})"
    if target == root:
        return f"{out} is the project folder itself, which a build would replace"
    if target in root.parents:
        return f"{shown} holds the project, which a build would replace"
    if target == Path.home():
        return f"{shown} is your home folder, which a build would replace"
    for name in SOURCE_DIRS:
        if target == root / name or target.is_relative_to(root / name):
            return (
                f"{out} is inside {name}/, the site's sources: the build would copy the "
                "site into itself or overwrite what an editor wrote"
            )
    if target.exists() and not target.is_dir():
        return f"{out} exists and is not a folder"
    return None


def _cross_checks(r: _Reader, values: dict[str, Any], root: Path) -> None:
    out = values.get("output_dir", "_site")
    problem = output_problem(root, out)
    if problem:
        r.error("output_dir", problem, hint="use a folder of its own such as _site")
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
