"""Check external http(s) URLs politely: standard library only, a few hosts at a time.

HEAD first, then a GET whose body is never read unless a #fragment must be verified (at most
MAX_BODY bytes). Redirects are followed by hand (loops detected), 429/503 are retried honouring
`Retry-After`, and good results are cached on disk so repeated CI runs leave the hosts alone.
Every URL gets a `UrlCheck`; `kind` is None when the link is fine, else a problem kind of
the link checker (`external-broken`, `external-timeout`, ...).
"""

from __future__ import annotations

import email.utils
import http.client
import ipaddress
import json
import os
import re
import socket
import ssl
import threading
import time
import unicodedata
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, unquote, urljoin, urlsplit, urlunsplit

from .. import __version__
from ..config import ExternalSettings

MAX_BODY = 1024 * 1024  # bytes read at most, and only to look for a #fragment
CACHE_FILE = "linkcheck-external.json"
CACHE_VERSION = 2
REDIRECTS = frozenset({301, 302, 303, 307, 308})
PERMANENT = frozenset({301, 308})
RETRY_STATUSES = frozenset({429, 503})
DENIED = frozenset({401, 403})
GONE = frozenset({404, 410})

# Problem kinds produced here (default severities: DEFAULT_SEVERITY in haven/config.py).
BROKEN = "external-broken"
REDIRECT = "external-redirect"
LOOP = "external-redirect-loop"
TIMEOUT = "external-timeout"
RATE_LIMITED = "external-rate-limited"
DENIED_KIND = "external-denied"
UNREACHABLE = "external-unreachable"
FRAGMENT = "external-fragment"
UNCHECKED = "external-unchecked"
PRIVATE = "external-private"
KINDS = (
    BROKEN,
    REDIRECT,
    LOOP,
    TIMEOUT,
    RATE_LIMITED,
    DENIED_KIND,
    UNREACHABLE,
    FRAGMENT,
    UNCHECKED,
    PRIVATE,
)

USER_AGENT = (
    f"Mozilla/5.0 (compatible; haven-linkcheck/{__version__}; checks links once a day at most)"
)


@dataclass(frozen=True)
class UrlCheck:
    """What became of one URL (without its fragment)."""

    url: str
    kind: str | None  # None: fine; else one of KINDS
    message: str = ""
    status: int | None = None
    final_url: str | None = None
    moved_to: str | None = None  # where a permanent redirect says the link should now point
    missing_fragments: tuple[str, ...] = ()  # definitely absent from the page
    unverified_fragments: tuple[str, ...] = ()  # not in the first MAX_BODY bytes
    from_cache: bool = False


@dataclass
class _Response:
    status: int
    reason: str
    headers: http.client.HTTPMessage
    body: bytes | None = None
    truncated: bool = False


class _Loop(Exception):
    pass


class _TooManyRedirects(Exception):
    pass


class _Private(Exception):
    """A host that resolves to an address outside the public internet."""


def _private_reason(address: str) -> str | None:
    """Why `address` (an IP, as getaddrinfo gives it) is not on the public internet, or None."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    for test, name in (
        (ip.is_loopback, "a loopback address (this computer)"),
        (ip.is_link_local, "a link-local address"),
        (ip.is_private, "a private network address"),
        (ip.is_multicast, "a multicast address"),
        (ip.is_unspecified or ip.is_reserved, "a reserved address"),
        (not ip.is_global, "not a public address"),
    ):
        if test:
            return name
    return None


def _resolve(host: str, port: int, allow_private: bool) -> list[tuple]:
    """Every address `host` resolves to; _Private when one of them is not public.

    The connection is then made to these very addresses, so a second lookup cannot swap in
    another one (DNS rebinding).
    """
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    if not allow_private:
        for *_, sockaddr in infos:
            reason = _private_reason(sockaddr[0])
            if reason:
                address = sockaddr[0]
                said = f"{host} is" if host == address else f"{host} resolves to {address},"
                raise _Private(f"{said} {reason}")
    return infos


class _PinnedHTTP(http.client.HTTPConnection):
    """An HTTP connection to addresses already resolved and vetted (see `_resolve`)."""

    addresses: list[tuple] = []

    def connect(self) -> None:
        error: OSError | None = None
        for family, kind, proto, _name, sockaddr in self.addresses:
            sock = socket.socket(family, kind, proto)
            try:
                sock.settimeout(self.timeout)
                sock.connect(sockaddr)
            except OSError as exc:
                sock.close()
                error = exc
                continue
            self.sock = sock
            return
        raise error or OSError(f"no address for {self.host}")


class _PinnedHTTPS(http.client.HTTPSConnection, _PinnedHTTP):
    """HTTPS over `_PinnedHTTP.connect`: the certificate is still checked against the host name."""


@dataclass
class _Final:
    """The end of a redirect chain."""

    response: _Response
    url: str
    permanent_to: str | None = None  # set when a 301/308 was followed
    hops: list[str] = field(default_factory=list)


def split_fragment(url: str) -> tuple[str, str]:
    """(`url` without its fragment, the fragment percent-decoded and NFC)."""
    base, _, frag = url.partition("#")
    return base, unicodedata.normalize("NFC", unquote(frag))


def check_urls(
    targets: Mapping[str, Iterable[str]],
    settings: ExternalSettings,
    *,
    cache_dir: Path | None = None,
    now: float | None = None,
    sleep: Callable[[float], None] = time.sleep,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, UrlCheck]:
    """Check each URL of `targets` (URL without fragment -> fragments to verify) once.

    Excluded URLs are left out of the answer. `now` (epoch seconds) dates the cache; `sleep`
    is what waits before a retry (tests pass a recorder). `progress(done, total)` is called
    from worker threads.
    """
    wall = time.time() if now is None else now
    excludes = [re.compile(p) for p in settings.exclude]
    wanted = {
        url: frozenset(frags)
        for url, frags in targets.items()
        if not any(p.search(url) for p in excludes)
    }
    cache = _Cache(cache_dir, settings, wall)
    results: dict[str, UrlCheck] = {}
    todo: dict[str, deque[str]] = {}
    for url in sorted(wanted):
        hit = cache.get(url, wanted[url])
        if hit is not None:
            results[url] = hit
        else:
            todo.setdefault(_host_key(url), deque()).append(url)
    total = sum(len(q) for q in todo.values())
    if total:
        runner = _Runner(settings, sleep, time.monotonic() + settings.budget_seconds)
        lock = threading.Lock()
        done = [0]

        def lane(host: str) -> None:
            queue = todo[host]
            while True:
                with lock:
                    if not queue:
                        return
                    url = queue.popleft()
                result = runner.check(url, wanted[url], host)
                with lock:
                    results[url] = result
                    done[0] += 1
                    count = done[0]
                if progress:
                    progress(count, total)

        lanes = [h for h, q in todo.items() for _ in range(min(settings.per_host, len(q)))]
        with ThreadPoolExecutor(max_workers=max(1, min(settings.max_workers, len(lanes)))) as pool:
            for future in [pool.submit(lane, h) for h in lanes]:
                future.result()
        cache.update(results.values(), wanted)
        cache.save()
    return results


def _host_key(url: str) -> str:
    parts = urlsplit(url)
    return (parts.hostname or "").lower() + f":{parts.port or ''}"


class _Runner:
    """Checks one URL at a time per calling thread; shares per-host pauses between threads."""

    def __init__(self, settings: ExternalSettings, sleep: Callable[[float], None], deadline: float):
        self.s = settings
        self.sleep = sleep
        self.deadline = deadline
        self.not_before: dict[str, float] = {}  # host -> monotonic time a Retry-After asked for
        self.lock = threading.Lock()
        self.ssl_context = ssl.create_default_context()

    def check(self, url: str, fragments: frozenset[str], host: str) -> UrlCheck:
        if time.monotonic() >= self.deadline:
            return UrlCheck(
                url,
                UNCHECKED,
                f"not checked: the external-check budget of {self.s.budget_seconds:g} s ran out",
            )
        with self.lock:
            wait = self.not_before.get(host, 0.0) - time.monotonic()
        if wait > 0:
            self.sleep(wait)
        frags = _checkable(fragments)
        try:
            return self._check(url, frags, host)
        except TimeoutError:
            return UrlCheck(
                url,
                TIMEOUT,
                f"timed out (connect {self.s.connect_timeout:g} s, "
                f"read {self.s.timeout:g} s); not verified",
            )
        except _Loop as loop:
            return UrlCheck(url, LOOP, f"redirect loop: {loop}")
        except _TooManyRedirects:
            return UrlCheck(url, LOOP, f"more than {self.s.max_redirects} redirects")
        except _Private as private:
            return UrlCheck(
                url,
                PRIVATE,
                f"not checked: {private}; private addresses are checked only with "
                "allow_private: true under linkcheck: external: in site.yaml",
            )
        except (OSError, http.client.HTTPException, ValueError, UnicodeError) as exc:
            return UrlCheck(url, UNREACHABLE, f"cannot connect: {_describe(exc)}")

    def _check(self, url: str, frags: set[str], host: str) -> UrlCheck:
        if frags:
            final = self._follow(url, "GET", host, read_body=True)
        else:
            try:
                final = self._follow(url, "HEAD", host)
            except (_Loop, _TooManyRedirects):
                final = None  # some servers loop on HEAD only: one GET settles it
            if final is None or (
                final.response.status not in self.s.accept
                and final.response.status >= 400
                and final.response.status not in RETRY_STATUSES
            ):
                final = self._follow(url, "GET", host)
        return self._judge(url, final, frags)

    def _judge(self, url: str, final: _Final, frags: set[str]) -> UrlCheck:
        resp = final.response
        status = resp.status
        described = f"{status} {resp.reason}".strip()
        if final.hops:
            described += f" (after redirects to {final.url})"
        if status in self.s.accept:
            missing: tuple[str, ...] = ()
            unverified: tuple[str, ...] = ()
            if frags and resp.body is not None:
                ids = _ids(resp.body)
                absent = sorted(f for f in frags if f not in ids and f"user-content-{f}" not in ids)
                if resp.truncated:
                    unverified = tuple(absent)
                else:
                    missing = tuple(absent)
            if final.permanent_to:
                return UrlCheck(
                    url,
                    REDIRECT,
                    _moved(final.permanent_to),
                    status,
                    final.url,
                    final.permanent_to,
                    missing,
                    unverified,
                )
            return UrlCheck(url, None, "", status, final.url, None, missing, unverified)
        if status in RETRY_STATUSES and (status == 429 or "Retry-After" in resp.headers):
            return UrlCheck(
                url, RATE_LIMITED, f"rate-limited ({described}); not verified", status, final.url
            )
        if status in DENIED:
            return UrlCheck(
                url,
                DENIED_KIND,
                f"the server refused the checker ({described}); check it in a browser",
                status,
                final.url,
            )
        if status in REDIRECTS:
            return UrlCheck(url, BROKEN, f"{described} without a usable Location", status)
        return UrlCheck(url, BROKEN, described, status, final.url)

    def _follow(self, url: str, method: str, host: str, *, read_body: bool = False) -> _Final:
        seen = [url]
        current = url
        permanent_to = None
        for _ in range(self.s.max_redirects + 1):
            resp = self._request_retrying(current, method, host, read_body)
            location = resp.headers.get("Location")
            if resp.status not in REDIRECTS or not location:
                return _Final(resp, current, permanent_to, seen[1:])
            nxt = urljoin(current, location.strip()).partition("#")[0]
            if urlsplit(nxt).scheme not in ("http", "https"):
                raise ValueError(f"redirect to unsupported URL {nxt!r}")
            if nxt in seen:
                raise _Loop(" -> ".join([*seen[seen.index(nxt) :], nxt]))
            seen.append(nxt)
            if resp.status in PERMANENT:
                permanent_to = nxt
            current = nxt
        raise _TooManyRedirects()

    def _request_retrying(self, url: str, method: str, host: str, read_body: bool) -> _Response:
        attempt = 0
        while True:
            try:
                resp = _request(url, method, self.s, self.ssl_context, read_body)
            except (ConnectionResetError, http.client.RemoteDisconnected):
                if attempt >= self.s.retries or not self._pause(self.s.backoff * 2**attempt, host):
                    raise
                attempt += 1
                continue
            if resp.status not in RETRY_STATUSES or attempt >= self.s.retries:
                return resp
            delay = _retry_after(resp.headers.get("Retry-After"))
            if delay is None:
                delay = self.s.backoff * 2**attempt
            elif delay > self.s.max_retry_after:
                return resp  # asked to come back much later: report it, do not wait
            if not self._pause(delay, host):
                return resp
            attempt += 1

    def _pause(self, delay: float, host: str) -> bool:
        """Wait `delay` before retrying this host (other lanes of the host wait too)."""
        if time.monotonic() + delay >= self.deadline:
            return False
        with self.lock:
            until = time.monotonic() + delay
            self.not_before[host] = max(self.not_before.get(host, 0.0), until)
        self.sleep(delay)
        return True


def _request(
    url: str, method: str, s: ExternalSettings, context: ssl.SSLContext, read_body: bool
) -> _Response:
    """One request; the body is read only when asked, and never beyond MAX_BODY."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not an http(s) URL: {url!r}")
    host = parts.hostname
    if not host.isascii():
        host = host.encode("idna").decode("ascii")
    default_port = 443 if parts.scheme == "https" else 80
    port = parts.port or default_port
    addresses = _resolve(host, port, s.allow_private)
    if parts.scheme == "https":
        conn: _PinnedHTTP = _PinnedHTTPS(host, port, timeout=s.connect_timeout, context=context)
    else:
        conn = _PinnedHTTP(host, port, timeout=s.connect_timeout)
    conn.addresses = addresses
    host_header = f"[{host}]" if ":" in host else host
    if port != default_port:
        host_header += f":{port}"
    path = quote(parts.path or "/", safe="/%:@!$&'()*+,;=~")
    if parts.query:
        path += "?" + quote(parts.query, safe="/%:@!$&'()*+,;=~?")
    raw = None
    try:
        conn.connect()
        conn.sock.settimeout(s.timeout)  # the connect timeout is spent; reads get their own
        conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        conn.putheader("Host", host_header)
        conn.putheader("User-Agent", USER_AGENT)
        conn.putheader("Accept", "text/html,application/xhtml+xml,*/*;q=0.8")
        conn.putheader("Accept-Encoding", "identity")
        conn.putheader("Connection", "close")
        conn.endheaders()
        raw = conn.getresponse()
        resp = _Response(raw.status, raw.reason or "", raw.headers)
        ctype = raw.headers.get_content_type()
        if (
            read_body
            and method == "GET"
            and raw.status < 300
            and ctype
            in (
                "text/html",
                "application/xhtml+xml",
            )
        ):
            body = raw.read(MAX_BODY)
            resp.body = body
            resp.truncated = len(body) >= MAX_BODY and bool(raw.read(1))
        return resp
    finally:
        if raw is not None:
            raw.close()  # drops an unread body without downloading it
        conn.close()


def _retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _ids(body: bytes) -> set[str]:
    from selectolax.lexbor import LexborHTMLParser

    tree = LexborHTMLParser(body)
    ids = {n.attributes.get("id") or "" for n in tree.css("[id]")}
    ids.update(n.attributes.get("name") or "" for n in tree.css("a[name]"))
    return {unicodedata.normalize("NFC", i) for i in ids}


def _describe(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"TLS certificate not valid ({exc.verify_message})"
    return text


class _Cache:
    """Good results on disk for `cache_ttl_hours`; failures are always checked again."""

    def __init__(self, cache_dir: Path | None, settings: ExternalSettings, now: float):
        self.path = cache_dir / CACHE_FILE if cache_dir and settings.cache_ttl_hours > 0 else None
        self.ttl = settings.cache_ttl_hours * 3600
        self.accept = set(settings.accept)
        self.now = now
        self.entries: dict[str, dict] = {}
        if self.path is None:
            return
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            if data.get("version") == CACHE_VERSION and isinstance(data.get("urls"), dict):
                self.entries = {
                    url: entry
                    for url, entry in data["urls"].items()
                    if isinstance(entry, dict)
                    and isinstance(entry.get("checked"), (int, float))
                    and now - entry["checked"] < self.ttl
                }
        except (OSError, ValueError, AttributeError):
            self.entries = {}  # an unreadable cache is only a slower run

    def get(self, url: str, fragments: frozenset[str]) -> UrlCheck | None:
        entry = self.entries.get(url)
        if not entry or entry.get("status") not in self.accept:
            return None
        known = entry.get("fragments") or {}
        frags = _checkable(fragments)
        if not frags <= set(known):
            return None
        moved_to = entry.get("moved_to")
        kind = REDIRECT if moved_to else None
        missing = tuple(sorted(f for f in frags if known[f] is False))
        return UrlCheck(
            url,
            kind,
            _moved(moved_to) if moved_to else "",
            entry["status"],
            entry.get("final"),
            moved_to,
            missing,
            from_cache=True,
        )

    def update(self, results: Iterable[UrlCheck], wanted: Mapping[str, frozenset[str]]) -> None:
        """Remember the good results of this run (and which fragments each page has)."""
        for r in results:
            if r.from_cache:
                continue
            if r.kind not in (None, REDIRECT) or r.unverified_fragments:
                self.entries.pop(r.url, None)
                continue
            fragments = dict(self.entries.get(r.url, {}).get("fragments") or {})
            fragments.update(dict.fromkeys(_checkable(wanted.get(r.url, ())), True))
            fragments.update(dict.fromkeys(r.missing_fragments, False))
            self.entries[r.url] = {
                "status": r.status,
                "final": r.final_url,
                "moved_to": r.moved_to,
                "checked": self.now,
                "fragments": fragments,
            }

    def save(self) -> None:
        if self.path is None:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_name(f"{self.path.name}.{os.getpid()}.tmp")
            payload = {"version": CACHE_VERSION, "urls": dict(sorted(self.entries.items()))}
            tmp.write_text(json.dumps(payload, indent=1, ensure_ascii=False), encoding="utf-8")
            os.replace(tmp, self.path)
        except OSError:
            pass  # a read-only cache folder must not fail the check


def normalise_url(url: str) -> str:
    """Lower-case scheme and host, drop a default port: one cache key per address."""
    parts = urlsplit(url)
    netloc = (parts.hostname or "").lower()
    if ":" in netloc:
        netloc = f"[{netloc}]"
    default = {"http": 80, "https": 443}.get(parts.scheme.lower())
    if parts.port and parts.port != default:
        netloc += f":{parts.port}"
    if parts.username:
        netloc = f"{parts.username}@{netloc}"
    return urlunsplit(
        (parts.scheme.lower(), netloc, parts.path or "/", parts.query, parts.fragment)
    )


def _moved(url: str) -> str:
    return f"moved permanently to {url}; update the link"


def _checkable(fragments: Iterable[str]) -> set[str]:
    """Fragments worth fetching a page for: not '', '#top' or a text fragment."""
    return {f for f in fragments if f not in ("", "top") and not f.startswith(":~:")}
