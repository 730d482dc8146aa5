"""What may be fetched, and how: the fetch policy, the SSRF guard, results and failures.

check_url("http://169.254.169.254/latest/meta-data/", FetchPolicy())
-> ("blocked_private_address", "169.254.169.254 resolves to 169.254.169.254")
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import email.utils
import ipaddress
import re
import socket
import urllib.parse

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
    # Gzipped sitemaps (.xml.gz) served as files, not with a Content-Encoding.
    "application/gzip",
    "application/x-gzip",
)

PAGE_TYPES = ("text/html", "application/xhtml+xml")

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})

# Statuses worth another attempt: overload and gateway trouble, not client errors.
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})

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


class FetchFailure(Exception):
    """An early exit of a fetch, carrying an error slug; it never leaves the fetcher."""

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


def split_content_type(header: str | None) -> tuple[str | None, str | None]:
    """``("text/html", "utf-8")`` from ``"text/html; charset=UTF-8"``; None for what is absent."""
    if not header:
        return None, None
    mime = header.split(";", 1)[0].strip().lower() or None
    match = _CHARSET.search(header)
    return mime, match.group(1).lower() if match else None


def type_allowed(content_type: str | None, allowed: tuple[str, ...]) -> bool:
    # A missing Content-Type is let through: the parser sniffs, and many feeds omit it.
    if content_type is None:
        return True
    for pattern in allowed:
        if pattern.startswith("+") and content_type.endswith(pattern):
            return True
        if content_type == pattern:
            return True
    return False


def host_of(url: str) -> str:
    return (urllib.parse.urlsplit(url).hostname or "").lower()


def origin_of(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}"
