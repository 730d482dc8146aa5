"""Polite, bounded HTTP fetching for feeds and article pages (no Beam here).

Consumes URLs (plus the validators of an earlier fetch); emits one ``FetchResult`` per
call, never an exception for a network or HTTP problem. One ``Fetcher`` lives in a
DoFn's ``setup()``: it holds the ``requests.Session``, the per-host schedule, the
robots.txt cache and the retry policy. Sample::

    Fetcher(FetchPolicy()).fetch("https://example.com/feed.xml", kind="feed", etag='"abc"')
    -> FetchResult(url="https://example.com/feed.xml", final_url="https://example.com/feed.xml",
                   status=200, content=b"<?xml ...", content_type="application/rss+xml",
                   encoding="utf-8", etag='"def"', last_modified=None, not_modified=False,
                   error=None, detail="", retry_after=None, elapsed=0.21)

Every hop of a redirect chain passes the same checks before any connection is made:
scheme (http/https only), the SSRF guard (no loopback, private, link-local, multicast,
reserved or unspecified address among all the host's addresses), robots.txt and the
per-host interval. Bodies are streamed with the size cap applied after decompression,
which this module does itself so that a gzip bomb cannot expand past the cap.
"""

from __future__ import annotations

import collections
import dataclasses
import datetime as dt
import email.utils
import ipaddress
import logging
import re
import socket
import threading
import time
import urllib.parse
import urllib.robotparser
import zlib
from collections.abc import Callable, Iterator
from urllib.parse import urljoin, urlsplit

import apache_beam as beam
import requests
import urllib3
from apache_beam.metrics import Metrics

from schemas.records import Article, Reject, stable_id

_LOGGER = logging.getLogger(__name__)

KINDS = ("feed", "page")
# Media types accepted per kind. An entry starting with "+" matches a structured-syntax
# suffix (RFC 6839), so "+xml" accepts application/rss+xml, application/atom+xml, ...
# OPML subscription lists are fetched as feeds too (text/x-opml, and often application/octet-stream),
# and so is a page given as a feed (text/html), which names its feed (autodiscovery).
FEED_TYPES = (
    "application/xml",
    "text/xml",
    "+xml",
    "application/json",
    "+json",
    "text/plain",
    "text/x-opml",
    "application/octet-stream",
    "text/html",
)
PAGE_TYPES = ("text/html", "application/xhtml+xml")
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
# Statuses worth another attempt: overload and gateway trouble, not client errors.
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
# A decompressed body this many times larger than its compressed form, when it also
# overflows the cap, is reported as a bomb: markup compresses 3-15x, zeros ~1000x.
BOMB_RATIO = 100
# RFC 9309 asks crawlers to parse at least 500 KiB of robots.txt; more is abuse.
ROBOTS_MAX_BYTES = 512_000
# RFC 9309: a robots.txt may be cached up to 24 hours; an unreachable one is retried sooner.
ROBOTS_TTL = 86_400.0
ROBOTS_ERROR_TTL = 600.0
# Bounds on the per-host tables so that a long streaming job over many hosts stays small.
MAX_TRACKED_HOSTS = 10_000
_CHUNK = 64 * 1024
# Failures that mean the host did not answer: reported as such, not as a robots.txt refusal.
_UNREACHABLE = frozenset({"connection_error", "timeout"})

_ACCEPT = {
    "feed": "application/rss+xml, application/atom+xml, application/feed+json, "
    "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5",
    "page": "text/html, application/xhtml+xml;q=0.9, */*;q=0.5",
    "robots": "text/plain, */*;q=0.5",
}
_CHARSET = re.compile(r";\s*charset\s*=\s*[\"']?([^\"';\s]+)", re.IGNORECASE)
_RETRY_AFTER_SECONDS = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*$")


@dataclasses.dataclass(frozen=True)
class FetchPolicy:
    """How hard and how politely to fetch. Defaults suit public news sites."""

    user_agent: str = "newsflow/0.1 (+https://github.com/newsflow/newsflow)"
    connect_timeout: float = 5.0
    read_timeout: float = 15.0
    # Wall time for a whole response (headers and body): a server dripping one byte per
    # read_timeout would otherwise hold a worker forever.
    total_timeout: float = 60.0
    max_bytes: int = 5_000_000
    max_redirects: int = 5
    min_host_interval: float = 1.0
    respect_robots: bool = True
    # True turns the SSRF guard off entirely (local use only).
    allow_private_hosts: bool = False
    # Host names exempt from the SSRF guard while it stays on for every other host, e.g.
    # ("127.0.0.1",) for a local test server whose redirects must still be checked.
    allowed_hosts: tuple[str, ...] = ()
    max_retries: int = 2
    backoff_base: float = 1.0
    max_backoff: float = 60.0
    allowed_types: tuple[tuple[str, tuple[str, ...]], ...] = (("feed", FEED_TYPES), ("page", PAGE_TYPES))
    # requests' environment lookups (proxies, .netrc): off, so that the guard's view of
    # the destination is the connection actually made.
    trust_env: bool = False

    def types_for(self, kind: str) -> tuple[str, ...]:
        for name, types in self.allowed_types:
            if name == kind:
                return types
        raise ValueError(f"unknown fetch kind {kind!r}; expected one of {KINDS}")


@dataclasses.dataclass(frozen=True)
class FetchResult:
    """The outcome of one ``Fetcher.fetch``: a body, a 304, or an error slug."""

    url: str
    final_url: str
    status: int
    content: bytes | None
    content_type: str | None
    encoding: str | None
    etag: str | None
    last_modified: str | None
    not_modified: bool
    error: str | None
    detail: str = ""
    retry_after: float | None = None
    elapsed: float = 0.0

    @property
    def ok(self) -> bool:
        return self.error is None


class _Failure(Exception):
    """An internal early exit carrying an error slug; never leaves this module."""

    def __init__(
        self,
        error: str,
        detail: str = "",
        *,
        retryable: bool = False,
        status: int = 0,
        url: str | None = None,
    ) -> None:
        super().__init__(f"{error}: {detail}")
        self.url = url
        self.error = error
        self.detail = detail
        self.retryable = retryable
        self.status = status


def is_public_address(address: str) -> bool:
    """Whether an IP address may be fetched with the SSRF guard on.

    Refuses loopback, private, link-local (169.254.169.254 is the cloud metadata
    service), multicast, reserved, unspecified and other non-global ranges (CGNAT
    100.64/10, documentation nets), including IPv4 addresses mapped into IPv6.
    """
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if embedded is not None and not is_public_address(str(embedded)):
            return False
    # is_global alone would let IPv4 multicast through, so every flag is checked.
    return not (
        ip.is_loopback
        or ip.is_private
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or not ip.is_global
    )


def check_url(url: str, policy: FetchPolicy) -> tuple[str, str] | None:
    """``(error, detail)`` if the URL may not be fetched under ``policy``, else None.

    Resolves the host (all its addresses) before any connection, so a refused address
    is never contacted. The resolution is repeated when requests connects: a DNS answer
    that changes in between (rebinding) is a known gap of this check.
    """
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port
    except ValueError as error:
        return "bad_url", str(error)
    if parts.scheme.lower() not in ("http", "https"):
        return "blocked_scheme", f"scheme {parts.scheme!r} not allowed"
    host = (parts.hostname or "").lower()
    if not host:
        return "bad_url", "no host"
    if port is None:
        port = 443 if parts.scheme.lower() == "https" else 80
    # An exempt host is named alone (every port) or as host:port (that port only).
    if policy.allow_private_hosts or host in policy.allowed_hosts or f"{host}:{port}" in policy.allowed_hosts:
        return None
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as error:
        return "dns_error", f"{host}: {error}"
    for info in infos:
        address = str(info[4][0])
        if not is_public_address(address):
            return "blocked_private_address", f"{host} resolves to {address}"
    return None


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from a Retry-After header (delta seconds or an HTTP date)."""
    if not value:
        return None
    match = _RETRY_AFTER_SECONDS.match(value)
    if match:
        return float(match.group(1))
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:
        # RFC 9110 dates are GMT; parsedate returns naive for "-0000".
        when = when.replace(tzinfo=dt.timezone.utc)
    return max(0.0, when.timestamp() - now)


def _split_content_type(header: str | None) -> tuple[str | None, str | None]:
    """``("text/html", "utf-8")`` from ``"text/html; charset=UTF-8"``; None for what is absent."""
    if not header:
        return None, None
    mime = header.split(";", 1)[0].strip().lower() or None
    match = _CHARSET.search(header)
    return mime, match.group(1).lower() if match else None


def _type_allowed(content_type: str | None, allowed: tuple[str, ...]) -> bool:
    # A missing Content-Type is let through: the parser sniffs, and many feeds omit it.
    if content_type is None:
        return True
    for pattern in allowed:
        if pattern.startswith("+") and content_type.endswith(pattern):
            return True
        if content_type == pattern:
            return True
    return False


def _host_of(url: str) -> str:
    return (urllib.parse.urlsplit(url).hostname or "").lower()


def _origin_of(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}"


class _Decoder:
    """Content-Encoding decoding with a hard cap on the output size."""

    def __init__(self, encoding: str | None) -> None:
        self.encoding = (encoding or "identity").strip().lower()
        if self.encoding in ("gzip", "x-gzip"):
            # 16 + MAX_WBITS: a gzip header and trailer around the deflate stream.
            self._inflate: zlib._Decompress | None = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif self.encoding == "deflate":
            # "deflate" should be zlib-wrapped; some servers send raw deflate, handled on error.
            self._inflate = zlib.decompressobj(zlib.MAX_WBITS)
        elif self.encoding == "identity":
            self._inflate = None
        else:
            raise _Failure("bad_content_encoding", f"unsupported Content-Encoding {encoding!r}")
        self._first = True
        # Input bytes actually decompressed so far: the measure of the expansion ratio.
        self.consumed = 0

    @property
    def compressed(self) -> bool:
        return self._inflate is not None

    def feed(self, data: bytes, room: int) -> bytes:
        """Decode ``data``, returning at most ``room + 1`` bytes (one more means overflow)."""
        if self._inflate is None:
            self.consumed += len(data)
            return data[: room + 1]
        try:
            out = self._inflate.decompress(data, room + 1)
        except zlib.error:
            if not (self._first and self.encoding == "deflate"):
                raise
            self._inflate = zlib.decompressobj(-zlib.MAX_WBITS)
            out = self._inflate.decompress(data, room + 1)
        self._first = False
        # max_length leaves unread input in unconsumed_tail; draining it stops at the cap too.
        while self._inflate.unconsumed_tail and len(out) <= room:
            out += self._inflate.decompress(self._inflate.unconsumed_tail, room + 1 - len(out))
        self.consumed += len(data) - len(self._inflate.unconsumed_tail)
        return out


class Fetcher:
    """One HTTP client for feeds and pages; create it in ``DoFn.setup()``, close in teardown."""

    def __init__(
        self,
        policy: FetchPolicy = FetchPolicy(),
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.policy = policy
        self._clock = clock
        self._sleep = sleep
        self._wall_clock = wall_clock
        self._lock = threading.Lock()
        # host -> earliest clock() time of its next request.
        self._next_allowed: dict[str, float] = {}
        # host -> seconds between requests asked by its robots.txt Crawl-delay.
        self._crawl_delay: dict[str, float] = {}
        # origin -> (expires at, parser); an OrderedDict used as a small LRU.
        self._robots: collections.OrderedDict[str, tuple[float, urllib.robotparser.RobotFileParser]] = (
            collections.OrderedDict()
        )
        self._session = requests.Session()
        self._session.trust_env = policy.trust_env
        self._session.headers.update(
            {
                "User-Agent": policy.user_agent,
                # Only what _Decoder can bound; br/zstd would bypass the bomb check.
                "Accept-Encoding": "gzip, deflate",
            }
        )

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def fetch(
        self,
        url: str,
        *,
        kind: str = "page",
        etag: str | None = None,
        last_modified: str | None = None,
    ) -> FetchResult:
        """GET ``url`` under the policy; retries, redirects and robots.txt included."""
        allowed = self.policy.types_for(kind)
        started = time.perf_counter()
        headers = {"Accept": _ACCEPT[kind]}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        attempt = 0
        while True:
            result, retryable = self._attempt(url, kind, headers, allowed)
            if result.error is None or not retryable or attempt >= self.policy.max_retries:
                break
            if result.retry_after is not None:
                delay = result.retry_after
            else:
                delay = min(self.policy.max_backoff, self.policy.backoff_base * 2**attempt)
            if delay > self.policy.max_backoff:
                # Too long to hold a worker: the caller reschedules with retry_after.
                break
            _LOGGER.debug("retrying %s in %.1fs after %s", url, delay, result.error)
            self._sleep(delay)
            attempt += 1
        result = dataclasses.replace(result, elapsed=time.perf_counter() - started)
        if result.error:
            _LOGGER.debug("fetch %s failed: %s %s", url, result.error, result.detail)
        return result

    def _attempt(
        self, url: str, kind: str, headers: dict[str, str], allowed: tuple[str, ...]
    ) -> tuple[FetchResult, bool]:
        """One try: the redirect chain, then the body. Returns (result, retryable)."""
        current = url
        status = 0
        response: requests.Response | None = None
        try:
            response, current, deadline = self._follow(url, kind, headers)
            status = response.status_code
            resp_headers = response.headers
            etag = resp_headers.get("ETag")
            last_modified = resp_headers.get("Last-Modified")
            if status == 304:
                return (
                    FetchResult(
                        url=url,
                        final_url=current,
                        status=status,
                        content=None,
                        content_type=None,
                        encoding=None,
                        # A 304 may omit validators; the ones sent are still current.
                        etag=etag or headers.get("If-None-Match"),
                        last_modified=last_modified or headers.get("If-Modified-Since"),
                        not_modified=True,
                        error=None,
                    ),
                    False,
                )
            if not 200 <= status < 300:
                retry_after = None
                if status in (429, 503):
                    retry_after = parse_retry_after(resp_headers.get("Retry-After"), self._wall_clock())
                error = "rate_limited" if status == 429 else f"http_{status}"
                return (
                    self._error(url, current, error, f"HTTP {status} {response.reason}", status, retry_after),
                    status in RETRY_STATUSES,
                )
            content_type, encoding = _split_content_type(resp_headers.get("Content-Type"))
            if not _type_allowed(content_type, allowed):
                raise _Failure("bad_content_type", f"{content_type} not accepted for {kind}", status=status)
            body = self._read_body(response, self.policy.max_bytes, deadline)
            return (
                FetchResult(
                    url=url,
                    final_url=current,
                    status=status,
                    content=body,
                    content_type=content_type,
                    encoding=encoding,
                    etag=etag,
                    last_modified=last_modified,
                    not_modified=False,
                    error=None,
                ),
                False,
            )
        except _Failure as failure:
            return (
                self._error(
                    url, failure.url or current, failure.error, failure.detail, failure.status or status
                ),
                failure.retryable,
            )
        finally:
            if response is not None:
                response.close()

    def _follow(self, url: str, kind: str, headers: dict[str, str]) -> tuple[requests.Response, str, float]:
        """GET with redirects followed here, so that every hop passes every check."""
        current = url
        try:
            for _hop in range(self.policy.max_redirects + 1):
                blocked = check_url(current, self.policy)
                if blocked:
                    raise _Failure(*blocked)
                if kind != "robots" and self.policy.respect_robots:
                    self._check_robots(current)
                response, deadline = self._send(current, headers)
                location = response.headers.get("Location")
                if response.status_code not in REDIRECT_STATUSES or not location:
                    return response, current, deadline
                response.close()
                current = urllib.parse.urljoin(current, location.strip())
            raise _Failure("too_many_redirects", f"more than {self.policy.max_redirects} redirects")
        except _Failure as failure:
            # The hop that failed is the result's final_url.
            failure.url = failure.url or current
            raise

    def _send(self, url: str, headers: dict[str, str]) -> tuple[requests.Response, float]:
        """One GET after the host's interval; returns the response and its deadline for the body."""
        self._wait_for_host(_host_of(url))
        # The total budget starts after the politeness wait, which is not the server's fault.
        deadline = time.perf_counter() + self.policy.total_timeout
        timeout = (self.policy.connect_timeout, self.policy.read_timeout)
        try:
            response = self._session.get(
                url, headers=headers, stream=True, allow_redirects=False, timeout=timeout
            )
            return response, deadline
        # ConnectTimeout first: it subclasses both ConnectionError and Timeout.
        except requests.exceptions.ConnectTimeout as error:
            raise _Failure("timeout", f"connect: {error}", retryable=True) from None
        except requests.exceptions.ReadTimeout as error:
            # The server is up but slow: another full read_timeout rarely helps, the next poll may.
            raise _Failure("timeout", f"read: {error}") from None
        except requests.exceptions.ConnectionError as error:
            raise _Failure("connection_error", str(error), retryable=True) from None
        except (
            requests.exceptions.InvalidURL,
            requests.exceptions.MissingSchema,
            requests.exceptions.InvalidSchema,
            requests.exceptions.URLRequired,
        ) as error:
            raise _Failure("bad_url", str(error)) from None
        except requests.exceptions.RequestException as error:
            raise _Failure("request_error", f"{type(error).__name__}: {error}") from None
        except (ValueError, urllib3.exceptions.HTTPError) as error:
            # IDNA and URL parsing failures deep in urllib3 surface as these.
            raise _Failure("bad_url", f"{type(error).__name__}: {error}") from None

    def _read_body(self, response: requests.Response, limit: int, deadline: float) -> bytes:
        """Stream and decode the body, aborting as soon as it passes ``limit`` bytes."""
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > limit:
            raise _Failure("too_large", f"Content-Length {declared} > {limit}", status=response.status_code)
        decoder = _Decoder(response.headers.get("Content-Encoding"))
        parts: list[bytes] = []
        total = 0
        raw_total = 0
        try:
            # decode_content=False: urllib3 hands over the compressed bytes and _Decoder
            # applies the cap to the decompressed size itself.
            for chunk in response.raw.stream(_CHUNK, decode_content=False):
                raw_total += len(chunk)
                if raw_total > limit:
                    raise _Failure("too_large", f"body over {limit} bytes", status=response.status_code)
                out = decoder.feed(chunk, limit - total)
                total += len(out)
                if total > limit:
                    if decoder.compressed and total > BOMB_RATIO * max(1, decoder.consumed):
                        raise _Failure(
                            "decompression_bomb",
                            f"{decoder.consumed} compressed bytes expand past {limit}",
                            status=response.status_code,
                        )
                    raise _Failure(
                        "too_large", f"decoded body over {limit} bytes", status=response.status_code
                    )
                parts.append(out)
                if time.perf_counter() > deadline:
                    raise _Failure("timeout", "total time exceeded", status=response.status_code)
        except urllib3.exceptions.ReadTimeoutError as error:
            raise _Failure("timeout", f"read: {error}", status=response.status_code) from None
        except (urllib3.exceptions.HTTPError, OSError) as error:
            raise _Failure(
                "connection_error", f"body: {type(error).__name__}: {error}", status=response.status_code
            ) from None
        except zlib.error as error:
            raise _Failure("decoding_error", str(error), status=response.status_code) from None
        return b"".join(parts)

    def _error(
        self,
        url: str,
        final_url: str,
        error: str,
        detail: str,
        status: int = 0,
        retry_after: float | None = None,
    ) -> FetchResult:
        return FetchResult(
            url=url,
            final_url=final_url,
            status=status,
            content=None,
            content_type=None,
            encoding=None,
            etag=None,
            last_modified=None,
            not_modified=False,
            error=error,
            detail=detail[:500],
            retry_after=retry_after,
        )

    def _wait_for_host(self, host: str) -> None:
        """Keep ``min_host_interval`` (or the host's Crawl-delay) between requests to a host."""
        with self._lock:
            now = self._clock()
            interval = max(self.policy.min_host_interval, self._crawl_delay.get(host, 0.0))
            start_at = max(now, self._next_allowed.get(host, now))
            # Reserve the slot under the lock, sleep outside it: other hosts are not held up.
            self._next_allowed[host] = start_at + interval
            if len(self._next_allowed) > MAX_TRACKED_HOSTS:
                self._next_allowed = {h: t for h, t in self._next_allowed.items() if t > now}
        wait = start_at - now
        if wait > 0:
            self._sleep(wait)

    def _check_robots(self, url: str) -> None:
        origin = _origin_of(url)
        now = self._clock()
        with self._lock:
            cached = self._robots.get(origin)
            if cached is not None and cached[0] > now:
                self._robots.move_to_end(origin)
                parser = cached[1]
            else:
                parser = None
        if parser is None:
            parser, ttl = self._load_robots(origin)
            with self._lock:
                self._robots[origin] = (self._clock() + ttl, parser)
                while len(self._robots) > MAX_TRACKED_HOSTS:
                    self._robots.popitem(last=False)
                delay = parser.crawl_delay(self.policy.user_agent)
                if len(self._crawl_delay) > MAX_TRACKED_HOSTS:
                    self._crawl_delay.clear()
                if delay:
                    # Capped: a Crawl-delay of hours would stall the worker, not just this host.
                    self._crawl_delay[_host_of(url)] = min(float(delay), self.policy.max_backoff)
        if not parser.can_fetch(self.policy.user_agent, url):
            unreachable = getattr(parser, "unreachable", None)
            if unreachable is not None:
                # The host did not answer at all: that is the failure, not a robots.txt rule.
                raise _Failure(unreachable.error, f"robots.txt: {unreachable.detail}", retryable=True)
            if parser.disallow_all:
                raise _Failure("robots_disallowed", "robots.txt unavailable: disallowed for now")
            raise _Failure("robots_disallowed", "disallowed by robots.txt")

    def _load_robots(self, origin: str) -> tuple[urllib.robotparser.RobotFileParser, float]:
        """Fetch and parse robots.txt per RFC 9309: 4xx allows all, 5xx or no answer disallows."""
        parser = urllib.robotparser.RobotFileParser(origin + "/robots.txt")
        response: requests.Response | None = None
        try:
            response, _final, deadline = self._follow(
                origin + "/robots.txt", "robots", {"Accept": _ACCEPT["robots"]}
            )
            status = response.status_code
            if 200 <= status < 300:
                body = self._read_body(response, ROBOTS_MAX_BYTES, deadline)
                parser.parse(body.decode("utf-8", errors="replace").splitlines())
                return parser, ROBOTS_TTL
            if 400 <= status < 500 and status != 429:
                parser.allow_all = True
                return parser, ROBOTS_TTL
            _LOGGER.debug("robots.txt at %s answered %s: disallowing for now", origin, status)
        except _Failure as failure:
            _LOGGER.debug("robots.txt at %s failed (%s): disallowing for now", origin, failure.error)
            if failure.error in _UNREACHABLE:
                parser.unreachable = failure  # type: ignore[attr-defined]
        finally:
            if response is not None:
                response.close()
        parser.disallow_all = True
        return parser, ROBOTS_ERROR_TTL


# --- Beam wrapper below ---

ARTICLES_TAG = "articles"
REJECTS_TAG = "rejects"


def decode_page(result: FetchResult) -> str:
    """A fetched page's text: the HTTP charset when it fits, else the page's own declaration."""
    from transforms.extract import decode_html

    content = result.content or b""
    if result.encoding:
        try:
            return content.decode(result.encoding)
        except (LookupError, UnicodeDecodeError):
            pass
    return decode_html(content)


def item_article(item, *, run_id: str, ingested_at: dt.datetime) -> Article:
    """The article a feed entry announces, before its page is fetched.

    The feed's title, author, date and categories win over the page's; its content (or
    summary) is kept as the fallback text.
    """
    from transforms.feeds import content_text

    link = urljoin(item.feed_url, item.link) if item.link else None
    content = content_text(item.content)
    fallback = None
    if content:
        fallback = (content, "feed_content")
    elif item.summary:
        fallback = (item.summary, "feed_summary")
    return Article(
        # One id per feed entry: the same link in two feeds is two inputs (the second a
        # duplicate of the first), and ids stay unique within a window of the stream.
        id=stable_id(item.feed_url, item.guid or link or item.title or ""),
        source=item.feed_url,
        text_source="page",
        ingested_at=ingested_at,
        url=link,
        title=item.title,
        author=item.author,
        authors=item.authors,
        categories=item.categories,
        date_candidates=((item.published, "feed"),) if item.published else (),
        summary=item.summary,
        guid=item.guid,
        fallback=fallback,
        run_id=run_id,
    )


def _host_key(item) -> tuple[str, object]:
    link = urljoin(item.feed_url, item.link) if item.link else ""
    return urlsplit(link).netloc.lower(), item


class _FetchHostFn(beam.DoFn):
    """Fetches the pages of one host in turn, so the per-host interval holds on any runner."""

    def __init__(self, policy: FetchPolicy) -> None:
        self._policy = policy
        self._pages = Metrics.counter(self.__class__, "pages_fetched")
        self._fallbacks = Metrics.counter(self.__class__, "fell_back_to_feed_text")
        self._rejected = Metrics.counter(self.__class__, "rejected")

    def setup(self) -> None:
        self._fetcher = Fetcher(self._policy)

    def teardown(self) -> None:
        self._fetcher.close()

    def process(self, host_items, run_id: str, ingested_at: dt.datetime | None) -> Iterator:
        _, items = host_items
        for item in items:
            # A streaming job stamps each article with the time it is fetched.
            stamp = ingested_at or dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
            article = item_article(item, run_id=run_id, ingested_at=stamp)
            if not article.url:
                yield from self._fall_back(article, "no_link", "the feed entry has no link")
                continue
            result = self._fetcher.fetch(article.url, kind="page")
            if result.ok and result.content:
                self._pages.inc()
                yield dataclasses.replace(
                    article, html=decode_page(result), url=result.final_url or article.url
                )
            else:
                yield from self._fall_back(article, result.error or "empty_page", result.detail)

    def _fall_back(self, article: Article, reason: str, detail: str) -> Iterator:
        if article.fallback:
            self._fallbacks.inc()
            text, source = article.fallback
            yield dataclasses.replace(article, text=text, text_source=source, fallback=None)
            return
        self._rejected.inc()
        Metrics.counter(self.__class__, f"rejected_{reason}").inc()
        yield beam.pvalue.TaggedOutput(
            REJECTS_TAG,
            Reject(
                article.source,
                article.url,
                "fetch",
                reason,
                (detail or "")[:500],
                article.run_id,
                article.ingested_at,
            ),
        )


class FetchArticles(beam.PTransform):
    """Feed entries to articles with their pages' HTML (or the feed's text), and rejects.

    Entries are grouped by host, so one worker fetches a host's pages in turn, at most
    one request per ``policy.min_host_interval``.
    """

    def __init__(self, policy: FetchPolicy, run_id: str, ingested_at: dt.datetime) -> None:
        super().__init__()
        self._policy = policy
        self._run_id = run_id
        self._ingested_at = ingested_at

    def expand(self, items):
        return (
            items
            | "KeyByHost" >> beam.Map(_host_key)
            | "GroupByHost" >> beam.GroupByKey()
            | "FetchPages"
            >> beam.ParDo(_FetchHostFn(self._policy), self._run_id, self._ingested_at).with_outputs(
                REJECTS_TAG, main=ARTICLES_TAG
            )
        )
