"""Check the built site: internal links, #fragments, assets, alt text, orphans; external opt-in.

Every HTML page of the output folder is parsed exactly once (selectolax/lexbor) to collect its ids
and the URLs it refers to; the URLs are then resolved against the set of files on disk, so
internal checks never touch the network. The build's manifest (`haven/manifest.py`, which `check`
reads from `.cache/haven/` and passes in) maps each page back to the Markdown source and line an
editor must fix. Findings are `Problem`s; only haven/cli.py turns them into output and exit codes.
"""

from __future__ import annotations

import json
import os
import posixpath
import re
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from html import unescape
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import unquote, urlsplit

from selectolax.lexbor import LexborHTMLParser

from ..config import DEFAULT_SEVERITY as DEFAULT_SEVERITY  # the kinds, named from here too
from ..config import IGNORE, LinkcheckSettings
from ..errors import UsageError
from ..manifest import Manifest as Recorded
from ..manifest import PageRecord
from ..model import ERROR, WARNING, Problem
from .external import UrlCheck, check_urls, normalise_url, split_fragment

MANIFEST = ".haven-build.json"  # where earlier builds kept the manifest, in the output
ALLOWED_SCHEMES = ("http", "https", "mailto", "tel", "sms")
HTML_SUFFIXES = (".html", ".htm")
SKIP_DIRS = ("pagefind/",)  # generated internals: present on disk, not parsed
ORPHAN_EXEMPT = frozenset({"index.html", "404.html"})
NOUNS = {  # what a missing asset is called, by attribute first, then by element
    "poster": "poster image",
    "srcset": "image",
    "img": "image",
    "source": "media source",
    "video": "video",
    "audio": "audio",
    "track": "text track",
    "script": "script",
    "iframe": "frame",
    "link": "file",
    "css": "CSS url()",
    "use": "SVG reference",
    "input": "image",
    "embed": "embedded file",
}
_SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.\-]*):")
_TAB_NEWLINE = re.compile(r"[\t\n\r]+")  # URL parsers drop these anywhere in a URL
_C0_SPACE = "".join(map(chr, range(0x21)))  # ... and trim these at both ends
_CSS_URL = re.compile(
    r"""url\(\s*(?:"([^"]*)"|'([^']*)'|([^)'"\s]*))\s*\)|@import\s+["']([^"']+)["']"""
)
_REFRESH = re.compile(
    r"""^\s*\d*(?:\.\d*)?\s*[;,]?\s*(?:url\s*=\s*)?(["']?)(.*?)\1\s*$""", re.I | re.S
)
_LOC = re.compile(r"<loc>\s*(.*?)\s*</loc>", re.S)
_EMAIL = re.compile(r"^[^@\s<>()\[\]\\,;:\"]+@[^@\s<>()\[\]\\,;:\"]+\.[^@\s<>()\[\]\\,;:\".]{2,}$")
_TEL = re.compile(r"^\+?\d{3,15}$")
_TEL_VISUAL = re.compile(r"[\-.()\s]|%20")


@dataclass(frozen=True)
class LinkManifest:
    """What the link checker reads of the build's manifest: where pages come from, what is not
    published, the base path (normalised as the checker compares them)."""

    base_path: str = "/"
    pages: Mapping[str, PageRecord] = field(default_factory=dict)
    unpublished: frozenset[str] = frozenset()


class _Ref(NamedTuple):
    """A URL found in a page (a tuple: pages repeat the same refs, which a cache stores once)."""

    category: str  # 'link' (pages: broken-link) or 'asset' (files: missing-asset)
    value: str  # as in the HTML, entities decoded
    tag: str
    attr: str


class PageScan(NamedTuple):
    """What the link checker needs from one HTML page: its ids and the URLs it refers to."""

    ids: frozenset[str]
    refs: tuple[_Ref, ...]
    no_alt: tuple[str, ...]  # src of each <img> without alt


def check_site(
    out_dir: Path,
    settings: LinkcheckSettings | None = None,
    *,
    external: bool = False,
    cache_dir: Path | None = None,
    base_path: str | None = None,
    site_url: str | None = None,
    progress: Callable[[int, int], None] | None = None,
    scan: Callable[[str], PageScan] | None = None,
    manifest: Recorded | None = None,
) -> list[Problem]:
    """Check the built site in `out_dir`; problems sorted by source, line, page.

    `manifest` is the build's record of the folder (`haven.manifest.read_manifest`); without it,
    the record an earlier Haven left in the folder is read, else problems name output pages only. `base_path` overrides the manifest's; `site_url`
    (site.yaml `base_url`) makes absolute links to the site itself (canonical, Open Graph,
    sitemap) internal. External URLs are checked only when `external` is true, caching good
    results in `cache_dir`. `scan(page)` gives the `PageScan` of an HTML page (default: read and
    parse the file; `check` passes one that caches). Raises UsageError when `out_dir` is not a
    folder.
    """
    settings = settings or LinkcheckSettings()
    out_dir = Path(out_dir)
    if not out_dir.is_dir():
        raise UsageError(
            f"{out_dir}: no built site here; run 'python build.py build' first or pass --output"
        )
    manifest, problems = read_manifest(out_dir, manifest)
    site = _Site(out_dir, base_path or (manifest.base_path if manifest else "/"), site_url)
    checker = _Checker(site, manifest or LinkManifest(base_path=site.base_path), settings, scan)
    problems = [_with_level(p, settings) for p in problems]
    problems += checker.run()
    if external and checker.external:
        problems += checker.check_external(cache_dir, progress)
    return _finish(problems, settings)


def read_manifest(
    out_dir: Path, recorded: Recorded | None = None
) -> tuple[LinkManifest | None, list[Problem]]:
    """The link checker's view of `recorded` (the build's manifest), else of the record a folder
    built by an earlier Haven holds; or None and a problem saying why there is none to use."""
    if recorded is not None:
        pages = {_nfc(page): entry for page, entry in recorded.pages.items()}
        unpublished = frozenset(_nfc(u.rstrip("/") + "/") for u in recorded.unpublished)
        return LinkManifest(_norm_base(recorded.base_path), pages, unpublished), []
    path = Path(out_dir) / MANIFEST
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None, [
            Problem(
                WARNING,
                "no-manifest",
                "",
                "",
                "no record of how this folder was built (in .cache/haven/: the folder was "
                "not built here, or the cache was deleted): problems name output pages, not "
                "source files, and review dates, start-here paths, reading levels and "
                "placeholders are not checked; build again, then check",
            )
        ]
    except (OSError, ValueError) as exc:
        return None, [_bad_manifest(f"cannot read it: {exc}")]
    if not isinstance(raw, dict):
        return None, [_bad_manifest("expected a JSON object")]
    problems: list[Problem] = []
    base = raw.get("base_path", "/")
    if not isinstance(base, str) or not base.startswith("/"):
        problems.append(
            _bad_manifest(f"'base_path' must be a path starting with '/', got {base!r}")
        )
        base = "/"
    pages: dict[str, PageRecord] = {}
    raw_pages = raw.get("pages", {})
    if not isinstance(raw_pages, dict):
        problems.append(_bad_manifest("'pages' must be an object"))
        raw_pages = {}
    bad = 0
    for page, entry in raw_pages.items():
        if not isinstance(entry, dict) or not isinstance(entry.get("source"), str):
            bad += 1
            continue
        links = []
        for item in entry.get("links") or ():
            if (
                isinstance(item, (list, tuple))
                and len(item) == 2
                and isinstance(item[0], str)
                and isinstance(item[1], int)
            ):
                links.append((item[0], item[1]))
            else:
                bad += 1
        pages[_nfc(page)] = PageRecord(entry["source"], tuple(links))
    if bad:
        problems.append(_bad_manifest(f"{bad} malformed entries in 'pages' were ignored"))
    unpublished = raw.get("unpublished", [])
    if not isinstance(unpublished, list) or not all(isinstance(u, str) for u in unpublished):
        problems.append(_bad_manifest("'unpublished' must be a list of URLs"))
        unpublished = []
    manifest = LinkManifest(
        _norm_base(base), pages, frozenset(_nfc(u.rstrip("/") + "/") for u in unpublished)
    )
    return manifest, problems


def _bad_manifest(why: str) -> Problem:
    return Problem(
        ERROR,
        "bad-manifest",
        "",
        "",
        f"the record of how this folder was built is malformed ({why}); build again",
    )


class _Site:
    """The files of the output folder and how URLs map onto them."""

    def __init__(self, out_dir: Path, base_path: str, site_url: str | None):
        self.out = out_dir
        self.base_path = _norm_base(base_path)
        self.files: set[str] = set()
        self.html: list[str] = []
        self.css: list[str] = []
        for dirpath, dirnames, filenames in os.walk(out_dir):
            rel = os.path.relpath(dirpath, out_dir).replace(os.sep, "/")
            prefix = "" if rel == "." else _nfc(rel) + "/"
            dirnames.sort()
            for name in sorted(filenames):
                path = prefix + _nfc(name)
                self.files.add(path)
                if path.startswith(SKIP_DIRS):
                    continue
                if path.endswith(HTML_SUFFIXES):
                    self.html.append(path)
                elif path.endswith(".css"):
                    self.css.append(path)
        self.site_host: str | None = None
        self.site_prefix = "/"
        if site_url:
            parts = urlsplit(site_url)
            self.site_host = (parts.netloc or "").lower() or None
            self.site_prefix = _norm_base(parts.path or "/")
        self._folded: dict[str, str] | None = None

    def disk_path(self, path: str) -> Path:
        return on_disk(self.out, path)

    def lookup(self, path: str) -> str | None:
        """The file a site path (decoded, without base path) is served from, if any."""
        if path == "" or path.endswith("/"):
            path += "index.html"
            return path if path in self.files else None
        if path in self.files:
            return path
        if path + "/index.html" in self.files:  # servers redirect a folder to its slash form
            return path + "/index.html"
        return None

    def case_twin(self, path: str) -> str | None:
        """A file whose path differs only by case (a hint: servers are case-sensitive)."""
        if self._folded is None:
            self._folded = {}
            for f in sorted(self.files):
                self._folded.setdefault(f.casefold(), f)
        for candidate in (path, path + "index.html", path + "/index.html"):
            twin = self._folded.get(candidate.casefold())
            if twin:
                return twin
        return None

    def own_url(self, url: str) -> str | None:
        """The root-relative path of an absolute URL on the site's own host, else None."""
        if self.site_host is None:
            return None
        parts = urlsplit(url)
        rest = parts.path or "/"
        if parts.netloc.lower() != self.site_host or not (rest + "/").startswith(self.site_prefix):
            return None  # another host, or another site on the same host
        if parts.query:
            rest += "?" + parts.query
        if parts.fragment or url.endswith("#"):
            rest += "#" + parts.fragment
        return rest


class _Checker:
    """One run over the site: scan every page once, then resolve everything."""

    def __init__(
        self,
        site: _Site,
        manifest: LinkManifest,
        settings: LinkcheckSettings,
        scan: Callable[[str], PageScan] | None = None,
    ):
        self.site = site
        self.scan = scan or self._read_page
        self.manifest = manifest
        self.settings = settings
        self.ids: dict[str, frozenset[str]] = {}
        self.scans: dict[str, PageScan] = {}
        self.inbound: set[str] = set()  # pages some other page links to
        self.problems: list[Problem] = []
        self.external: dict[str, set[str]] = defaultdict(set)  # url -> fragments
        self.external_uses: list[tuple[str, str, str, str]] = []  # page, value, url, fragment
        self._memo: dict[tuple[str, str, str, bool], tuple] = {}
        # Absolute refs already found sound -> the page they link to ('' when none): most refs
        # are the same on every page (navigation, topics), and a sound one stays sound.
        self._sound: dict[_Ref, str] = {}
        self._locators: dict[str, _Locator] = {}

    def _read_page(self, page: str) -> PageScan:
        """Read and parse one page of the output."""
        try:
            data = self.site.disk_path(page).read_bytes()
        except OSError as exc:
            raise UsageError(f"{self.site.out / page}: cannot read: {exc}") from exc
        return scan_html(data)

    def run(self) -> list[Problem]:
        for page in self.site.html:
            scan = self.scan(page)
            self.scans[page] = scan
            self.ids[page] = scan.ids
        for page in self.site.html:
            self._check_page(page, self.scans.pop(page))
        for css in self.site.css:
            self._check_css(css)
        self._check_sitemap()
        self._check_orphans()
        return self.problems

    # -- pages -----------------------------------------------------------------------------

    def _check_page(self, page: str, scan: PageScan) -> None:
        page_dir = posixpath.dirname(page)
        sound = self._sound
        for ref in scan.refs:
            target = sound.get(ref)
            if target is None:
                value = ref.value
                if value.startswith("#") and _fragment(value[1:]) in scan.ids:
                    continue  # an id of this very page
                if self._check_ref(page, page_dir, ref) and _absolute(value):
                    sound[ref] = self._target(ref)
            elif target and target != page:
                self.inbound.add(target)
        for src in scan.no_alt:
            self._add(
                "missing-alt",
                page,
                src,
                f'image {src!r} has no alt attribute (describe it, or alt="" if decorative)',
            )

    def _check_css(self, css: str) -> None:
        try:
            text = self.site.disk_path(css).read_text(encoding="utf-8", errors="replace")
        except OSError as exc:
            raise UsageError(f"{self.site.out / css}: cannot read: {exc}") from exc
        page_dir = posixpath.dirname(css)
        for value in css_urls(text):
            if value.startswith("#"):
                continue  # SVG paint servers and filters inside the document using the CSS
            self._check_ref(css, page_dir, _Ref("asset", value, "css", "url"))

    def _target(self, ref: _Ref) -> str:
        """The page an absolute, sound ref links to (counts against orphans), '' when none."""
        if ref.category != "link":
            return ""
        verdict = self._memo[("", ref.value, ref.category, ref.attr == "href")]
        return verdict[1] if verdict[0] == "internal" else ""

    def _check_ref(self, page: str, page_dir: str, ref: _Ref) -> bool:
        """Check one ref; True when it is sound: no problem, nothing external to check."""
        value = ref.value
        if value.startswith("#"):
            verdict: tuple = ("internal", page, _fragment(value[1:]), "")
        else:
            # Absolute URLs resolve the same from every page: memoise them once.
            where = "" if _absolute(value) else page_dir
            key = (where, value, ref.category, ref.attr == "href")
            verdict = self._memo.get(key) or self._memo.setdefault(
                key, self._classify(page_dir, ref)
            )
        what = verdict[0]
        if what == "ok":
            return True
        if what == "problem":
            _, kind, message = verdict
            if kind == "empty-link":
                message = f"empty {ref.attr} on <{ref.tag}>"
            self._add(kind, page, value, message)
        elif what == "external":
            _, url, frag = verdict
            self.external[url].add(frag)
            self.external_uses.append((page, value, url, frag))
        elif what == "internal":
            _, target, frag, site_path = verdict
            return self._check_internal(page, ref, target, frag, site_path)
        return False

    def _check_internal(
        self, page: str, ref: _Ref, target: str | None, frag: str, site_path: str
    ) -> bool:
        value = ref.value
        if target is None:
            unpublished = self.manifest.unpublished
            if any(
                u in unpublished or u + "/" in unpublished
                for u in ("/" + site_path, self.site.base_path + site_path)
            ):
                self._add(
                    "unpublished-link",
                    page,
                    value,
                    "links to {link}, a draft or future article that is not published",
                )
                return False
            twin = self.site.case_twin(site_path)
            hint = f" (did you mean {twin!r}? paths are case-sensitive)" if twin else ""
            if ref.category == "link":
                what = "sitemap entry" if ref.tag == "loc" else "broken link"
                self._add("broken-link", page, value, f"{what} {{link}}: no such page{hint}")
            else:
                noun = NOUNS.get(ref.attr) or NOUNS.get(ref.tag, "file")
                self._add(
                    "missing-asset", page, value, f"missing {noun} {{link}}: no such file{hint}"
                )
            return False
        if ref.category == "link" and target != page and page != "sitemap.xml":
            self.inbound.add(target)
        if not frag or frag == "top" or frag.startswith(":~:"):
            return True
        ids = self.ids.get(target)
        if ids is None or frag in ids:
            return True  # not an HTML page we parsed (PDF, SVG ...): nothing to verify
        where = "this page" if target == page else target
        twins = sorted(i for i in ids if i.casefold() == frag.casefold())
        hint = f" (did you mean '#{twins[0]}'? fragments are case-sensitive)" if twins else ""
        self._add("missing-fragment", page, value, f"{{link}}: {where} has no id {frag!r}{hint}")
        return False

    def _classify(self, page_dir: str, ref: _Ref) -> tuple:
        """What a URL is: ('ok',), ('problem', kind, msg), ('external', url, frag) or internal."""
        raw = ref.value
        value = _TAB_NEWLINE.sub("", raw.strip(_C0_SPACE))
        if not value:
            return ("problem", "empty-link", "")
        scheme_match = _SCHEME.match(value)
        if scheme_match:
            scheme = scheme_match.group(1).lower()
            if scheme in ("http", "https"):
                own = self.site.own_url(value)
                if own is None:
                    url, frag = split_fragment(value)
                    return ("external", normalise_url(url), frag)
                value = own
            elif scheme == "mailto":
                return _check_mailto(value)
            elif scheme == "tel":
                return _check_tel(value)
            elif scheme == "sms":
                return ("ok",)
            elif scheme == "data" and ref.category == "asset" and ref.attr != "href":
                return ("ok",)  # inline images
            else:
                allowed = ", ".join(ALLOWED_SCHEMES)
                return (
                    "problem",
                    "unsafe-url",
                    f"{scheme}: URLs are not allowed (allowed: {allowed})",
                )
        elif value.startswith("//"):
            if self.site.own_url("https:" + value) is None:
                url, frag = split_fragment("https:" + value)
                return ("external", normalise_url(url), frag)
            value = self.site.own_url("https:" + value) or "/"
        path, _, frag = value.partition("#")
        path = path.partition("?")[0]
        if path.startswith("/"):
            base = self.site.base_path
            if not (path + "/").startswith(base) and path != base.rstrip("/"):
                kind = "broken-link" if ref.category == "link" else "missing-asset"
                return (
                    "problem",
                    kind,
                    f"{{link}} is outside the site's base path {base!r}; "
                    "it breaks when the site is served there",
                )
            site_path = path[len(base) :] if path.startswith(base) else ""
        else:
            site_path = posixpath.join(page_dir, path) if path else page_dir + "/"
            if path.endswith("/") and not site_path.endswith("/"):
                site_path += "/"
        trailing = site_path.endswith("/") or site_path == ""
        site_path = _nfc(unquote(site_path))
        parts = [p for p in site_path.split("/") if p not in ("", ".")]
        stack: list[str] = []
        for part in parts:
            if part == "..":
                if not stack:
                    return (
                        "problem",
                        "broken-link" if ref.category == "link" else "missing-asset",
                        "{link} points above the top of the site",
                    )
                stack.pop()
            else:
                stack.append(part)
        site_path = "/".join(stack) + ("/" if trailing and stack else "")
        return ("internal", self.site.lookup(site_path), _fragment(frag), site_path)

    # -- site-wide -------------------------------------------------------------------------

    def _check_sitemap(self) -> None:
        if self.site.site_host is None or "sitemap.xml" not in self.site.files:
            return
        text = self.site.disk_path("sitemap.xml").read_text(encoding="utf-8", errors="replace")
        for loc in _LOC.findall(text):
            url = unescape(loc)
            own = self.site.own_url(url)
            if own is None:
                self._add(
                    "broken-link",
                    "sitemap.xml",
                    url,
                    "sitemap entry {link} is not on the site's own base_url",
                )
                continue
            self._check_ref("sitemap.xml", "", _Ref("link", own, "loc", "loc"))

    def _check_orphans(self) -> None:
        for page in self.site.html:
            if page in ORPHAN_EXEMPT or page in self.inbound:
                continue
            self._add("orphan", page, "", "no other page links to this page")

    # -- external --------------------------------------------------------------------------

    def check_external(
        self, cache_dir: Path | None, progress: Callable[[int, int], None] | None
    ) -> list[Problem]:
        results = check_urls(
            self.external, self.settings.external, cache_dir=cache_dir, progress=progress
        )
        self.problems = []
        for page, value, url, frag in self.external_uses:
            result = results.get(url)
            if result is None:
                continue  # excluded in site.yaml
            self._external_problem(page, value, frag, result)
        return self.problems

    def _external_problem(self, page: str, value: str, frag: str, r: UrlCheck) -> None:
        if r.kind is not None:
            self._add(r.kind, page, value, "{link}: " + r.message)
        if frag in r.missing_fragments:
            self._add("external-fragment", page, value, f"{{link}}: the page has no id {frag!r}")
        elif frag in r.unverified_fragments:
            self._add(
                "external-fragment",
                page,
                value,
                f"{{link}}: id {frag!r} not found in the first MiB of the page; not verified",
            )

    # -- reporting -------------------------------------------------------------------------

    def _add(self, kind: str, page: str, target: str, message: str) -> None:
        level = self.settings.level(kind)
        if level == IGNORE:
            return
        source = line = None
        written = None
        entry = self.manifest.pages.get(page)
        if entry is not None:
            source = entry.source
            if target:
                locator = self._locators.get(page)
                if locator is None:
                    locator = self._locators[page] = _Locator(entry.links)
                found = locator.find(target, kind)
                if found:
                    written, line = found
        if "{link}" in message:
            shown = repr(written) if written and written != target else ""
            link = f"{shown} (-> {target!r})" if shown else repr(target)
            message = message.replace("{link}", link, 1)
            if message.startswith(link):
                message = "link " + message
        self.problems.append(Problem(level, kind, page, target, message, source, line))


class _Locator:
    """Finds the Markdown line of a link of the HTML, given the links as the editor wrote them."""

    def __init__(self, links: Iterable[tuple[str, int]]):
        self.exact: dict[str, list[tuple[str, int]]] = defaultdict(list)
        self.keyed: dict[tuple[str, str], list[tuple[str, int]]] = defaultdict(list)
        self.loose: dict[tuple[str, str], list[tuple[str, int]]] = defaultdict(list)
        for href, line in links:
            self.exact[href].append((href, line))
            seg, frag = _link_key(href)
            self.keyed[(seg, frag)].append((href, line))
            self.loose[(seg, frag.casefold())].append((href, line))
        self.used: dict[tuple[str, str, Any], int] = defaultdict(int)

    def find(self, target: str, kind: str) -> tuple[str, int] | None:
        seg, frag = _link_key(target)
        if not (seg or frag):
            return self._take(kind, "exact", self.exact, target)  # '/', '#': too vague to guess
        for name, table, key in (
            ("exact", self.exact, target),
            ("keyed", self.keyed, (seg, frag)),
            ("loose", self.loose, (seg, frag.casefold())),
        ):
            found = self._take(kind, name, table, key)
            if found:
                return found
        return None

    def _take(self, kind: str, name: str, table: dict, key: Any) -> tuple[str, int] | None:
        hits = table.get(key)
        if not hits:
            return None
        # The same link twice in the HTML: the second problem gets the second line.
        n = self.used[(kind, name, key)]
        self.used[(kind, name, key)] += 1
        return hits[min(n, len(hits) - 1)]


def _link_key(href: str) -> tuple[str, str]:
    """(last path segment without '.md', casefolded; fragment) of an href, decoded and NFC."""
    base, _, frag = href.partition("#")
    base = base.partition("?")[0]
    if _SCHEME.match(base) or base.startswith("//"):
        base = urlsplit(base).path
    seg = _nfc(unquote(base)).rstrip("/").rsplit("/", 1)[-1]
    if seg.endswith(".md"):
        seg = seg[:-3]
    return seg.casefold(), _fragment(frag)


# -- scanning (pure) -------------------------------------------------------------------------


def scan_html(data: bytes | str) -> PageScan:
    """Ids and referenced URLs of one HTML page."""
    return scan_tree(LexborHTMLParser(data))


def scan_tree(tree: LexborHTMLParser) -> PageScan:
    """Ids and referenced URLs of one parsed HTML page (`check` parses each page only once)."""
    ids = {_nfc(n.attrs.get("id") or "") for n in tree.css("[id]")}
    ids.update(_nfc(n.attrs.get("name") or "") for n in tree.css("a[name]"))
    ids.discard("")
    refs: list[_Ref] = []
    for node in tree.css("[href]"):
        tag = node.tag
        if tag == "base":
            continue
        attrs = node.attrs
        category = "asset"
        if tag in ("a", "area"):
            category = "link"
        elif tag == "link":
            rel = (attrs.get("rel") or "").lower().split()
            if {"canonical", "alternate", "prev", "next"} & set(rel):
                category = "link"
        refs.append(_Ref(category, attrs.get("href") or "", tag, "href"))
    for node in tree.css("[src]"):
        tag = node.tag
        category = "link" if tag == "iframe" else "asset"
        refs.append(_Ref(category, node.attrs.get("src") or "", tag, "src"))
    for node in tree.css("[srcset]"):
        for url in srcset_urls(node.attrs.get("srcset") or ""):
            refs.append(_Ref("asset", url, node.tag, "srcset"))
    for node in tree.css("[poster]"):
        refs.append(_Ref("asset", node.attrs.get("poster") or "", node.tag, "poster"))
    for node in tree.css("meta[http-equiv]"):
        attrs = node.attrs
        if (attrs.get("http-equiv") or "").lower() == "refresh":
            target = refresh_url(attrs.get("content") or "")
            if target:
                refs.append(_Ref("link", target, "meta", "content"))
    for node in tree.css("meta[property], meta[name]"):
        attrs = node.attrs
        prop = (attrs.get("property") or attrs.get("name") or "").lower()
        content = (attrs.get("content") or "").strip()
        if prop in ("og:url", "og:image", "twitter:image") and content.startswith(
            ("http:", "https:")
        ):
            refs.append(_Ref("link" if prop == "og:url" else "asset", content, "meta", "content"))
    for node in tree.css("style"):
        for url in css_urls(node.text() or ""):
            if not url.startswith("#"):
                refs.append(_Ref("asset", url, "css", "url"))
    for node in tree.css("[style]"):
        for url in css_urls(node.attrs.get("style") or ""):
            if not url.startswith("#"):
                refs.append(_Ref("asset", url, "css", "url"))
    no_alt = tuple(n.attrs.get("src") or "" for n in tree.css("img:not([alt])"))
    return PageScan(frozenset(ids), tuple(refs), no_alt)


def css_urls(text: str) -> list[str]:
    """The targets of `url(...)` and `@import "..."` in CSS, skipping data: URLs."""
    urls = []
    for m in _CSS_URL.finditer(text):
        url = next((g for g in m.groups() if g is not None), "").strip()
        if url and not url.lower().startswith("data:"):
            urls.append(url)
    return urls


def srcset_urls(srcset: str) -> list[str]:
    """The URLs of a srcset ("a.png 1x, b.png 2x"), as the HTML spec splits them."""
    urls = []
    i, n = 0, len(srcset)
    while i < n:
        while i < n and (srcset[i].isspace() or srcset[i] == ","):
            i += 1
        start = i
        while i < n and not srcset[i].isspace():
            i += 1
        url = srcset[start:i]
        if url.endswith(","):
            url = url.rstrip(",")
        elif url:
            depth = 0  # skip descriptors up to the next comma outside parentheses
            while i < n and (srcset[i] != "," or depth):
                depth += {"(": 1, ")": -1}.get(srcset[i], 0)
                i += 1
        if url:
            urls.append(url)
    return urls


def refresh_url(content: str) -> str:
    """The URL of `<meta http-equiv="refresh" content="0; url=/x/">`, or ''."""
    m = _REFRESH.match(content)
    return m.group(2).strip() if m else ""


def _check_mailto(value: str) -> tuple:
    addresses = value.split(":", 1)[1].partition("?")[0]
    emails = [unquote(a).strip() for a in addresses.split(",")]
    bad = next((e for e in emails if not _EMAIL.match(e)), None)
    if bad is None:
        return ("ok",)
    what = f"{bad!r} is not an email address" if bad else "no address"
    return ("problem", "bad-mailto", f"malformed mailto: link {{link}} ({what})")


def _check_tel(value: str) -> tuple:
    number = unquote(value.split(":", 1)[1]).split(";", 1)[0]
    if not _TEL.match(_TEL_VISUAL.sub("", number)):
        return (
            "problem",
            "bad-tel",
            "malformed tel: link {link} (write 3 to 15 digits, optionally after a '+')",
        )
    return ("ok",)


# -- helpers ---------------------------------------------------------------------------------


def _absolute(url: str) -> bool:
    """True when a URL resolves the same from every page: '/x', 'https://...', 'mailto:'."""
    if url.startswith("#"):
        return False
    head = url.split("/", 1)[0]
    return not head or ":" in head


def on_disk(out: Path, path: str) -> Path:
    """The file behind a site path, which is NFC: its name on disk may not be (a file made on
    macOS, copied from static/)."""
    direct = out / path
    if direct.exists() or _nfc(path) != path:
        return direct
    found = out
    for part in path.split("/"):
        candidate = found / part
        if not candidate.exists():
            try:
                names = os.listdir(found)
            except OSError:
                return direct
            match = next((n for n in names if _nfc(n) == part), None)
            if match is None:
                return direct
            candidate = found / match
        found = candidate
    return found


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text) if not text.isascii() else text


def _fragment(frag: str) -> str:
    return _nfc(unquote(frag)) if "%" in frag else _nfc(frag)


def _norm_base(base: str) -> str:
    base = "/" + base.strip("/")
    return base if base == "/" else base + "/"


def _with_level(problem: Problem, settings: LinkcheckSettings) -> Problem:
    return replace(problem, severity=settings.level(problem.kind))


def _finish(problems: list[Problem], settings: LinkcheckSettings) -> list[Problem]:
    kept = {p for p in problems if p.severity != IGNORE}
    return sorted(kept, key=sort_key)


def sort_key(p: Problem) -> tuple:
    """Deterministic order: source file (else page), line, page, kind, target, message."""
    return (p.source or "~" + p.page, p.line or 0, p.page, p.kind, p.target, p.message)
