"""Polite, bounded HTTP fetching for feeds and article pages.

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

import dataclasses
import logging
import threading
import time
import urllib.parse
import zlib
from collections.abc import Callable

import requests
import urllib3

from transforms.core.http_policy import (
    REDIRECT_STATUSES,
    RETRY_STATUSES,
    FetchFailure,
    FetchPolicy,
    FetchResult,
    check_url,
    host_of,
    parse_retry_after,
    split_content_type,
    type_allowed,
)
from transforms.core.robots import MAX_TRACKED_HOSTS, ROBOTS_MAX_BYTES, RobotsCache

_LOGGER = logging.getLogger(__name__)

# A decompressed body this many times larger than its compressed form, when it also
# overflows the cap, is reported as a bomb: markup compresses 3-15x, zeros ~1000x.
BOMB_RATIO = 100

_CHUNK = 64 * 1024

_ACCEPT = {
    "feed": "application/rss+xml, application/atom+xml, application/feed+json, "
    "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5",
    "page": "text/html, application/xhtml+xml;q=0.9, */*;q=0.5",
    "robots": "text/plain, */*;q=0.5",
}


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
            raise FetchFailure("bad_content_encoding", f"unsupported Content-Encoding {encoding!r}")
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
        policy: FetchPolicy | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        policy = policy or FetchPolicy()
        self.policy = policy
        self._clock = clock
        self._sleep = sleep
        self._wall_clock = wall_clock
        self._lock = threading.Lock()
        # host -> earliest clock() time of its next request.
        self._next_allowed: dict[str, float] = {}
        self._robots = RobotsCache(policy, self._robots_txt, clock)
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
            content_type, encoding = split_content_type(resp_headers.get("Content-Type"))
            if not type_allowed(content_type, allowed):
                raise FetchFailure(
                    "bad_content_type", f"{content_type} not accepted for {kind}", status=status
                )
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
        except FetchFailure as failure:
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
                    raise FetchFailure(*blocked)
                if kind != "robots" and self.policy.respect_robots:
                    self._robots.check(current)
                response, deadline = self._send(current, headers)
                location = response.headers.get("Location")
                if response.status_code not in REDIRECT_STATUSES or not location:
                    return response, current, deadline
                response.close()
                current = urllib.parse.urljoin(current, location.strip())
            raise FetchFailure("too_many_redirects", f"more than {self.policy.max_redirects} redirects")
        except FetchFailure as failure:
            # The hop that failed is the result's final_url.
            failure.url = failure.url or current
            raise

    def _send(self, url: str, headers: dict[str, str]) -> tuple[requests.Response, float]:
        """One GET after the host's interval; returns the response and its deadline for the body."""
        self._wait_for_host(host_of(url))
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
            raise FetchFailure("timeout", f"connect: {error}", retryable=True) from None
        except requests.exceptions.ReadTimeout as error:
            # The server is up but slow: another full read_timeout rarely helps, the next poll may.
            raise FetchFailure("timeout", f"read: {error}") from None
        except requests.exceptions.ConnectionError as error:
            raise FetchFailure("connection_error", str(error), retryable=True) from None
        except (
            requests.exceptions.InvalidURL,
            requests.exceptions.MissingSchema,
            requests.exceptions.InvalidSchema,
            requests.exceptions.URLRequired,
        ) as error:
            raise FetchFailure("bad_url", str(error)) from None
        except requests.exceptions.RequestException as error:
            raise FetchFailure("request_error", f"{type(error).__name__}: {error}") from None
        except (ValueError, urllib3.exceptions.HTTPError) as error:
            # IDNA and URL parsing failures deep in urllib3 surface as these.
            raise FetchFailure("bad_url", f"{type(error).__name__}: {error}") from None

    def _read_body(self, response: requests.Response, limit: int, deadline: float) -> bytes:
        """Stream and decode the body, aborting as soon as it passes ``limit`` bytes."""
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > limit:
            raise FetchFailure(
                "too_large", f"Content-Length {declared} > {limit}", status=response.status_code
            )
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
                    raise FetchFailure("too_large", f"body over {limit} bytes", status=response.status_code)
                out = decoder.feed(chunk, limit - total)
                total += len(out)
                if total > limit:
                    if decoder.compressed and total > BOMB_RATIO * max(1, decoder.consumed):
                        raise FetchFailure(
                            "decompression_bomb",
                            f"{decoder.consumed} compressed bytes expand past {limit}",
                            status=response.status_code,
                        )
                    raise FetchFailure(
                        "too_large", f"decoded body over {limit} bytes", status=response.status_code
                    )
                parts.append(out)
                if time.perf_counter() > deadline:
                    raise FetchFailure("timeout", "total time exceeded", status=response.status_code)
        except urllib3.exceptions.ReadTimeoutError as error:
            raise FetchFailure("timeout", f"read: {error}", status=response.status_code) from None
        except (urllib3.exceptions.HTTPError, OSError) as error:
            raise FetchFailure(
                "connection_error", f"body: {type(error).__name__}: {error}", status=response.status_code
            ) from None
        except zlib.error as error:
            raise FetchFailure("decoding_error", str(error), status=response.status_code) from None
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
            interval = max(self.policy.min_host_interval, self._robots.crawl_delay(host))
            start_at = max(now, self._next_allowed.get(host, now))
            # Reserve the slot under the lock, sleep outside it: other hosts are not held up.
            self._next_allowed[host] = start_at + interval
            if len(self._next_allowed) > MAX_TRACKED_HOSTS:
                self._next_allowed = {h: t for h, t in self._next_allowed.items() if t > now}
        wait = start_at - now
        if wait > 0:
            self._sleep(wait)

    def _robots_txt(self, origin: str) -> tuple[int, bytes]:
        """An origin's robots.txt: (status, body), the body read only for a 2xx."""
        response: requests.Response | None = None
        try:
            response, _final, deadline = self._follow(
                origin + "/robots.txt", "robots", {"Accept": _ACCEPT["robots"]}
            )
            status = response.status_code
            body = self._read_body(response, ROBOTS_MAX_BYTES, deadline) if 200 <= status < 300 else b""
            return status, body
        finally:
            if response is not None:
                response.close()
