"""Fetcher against a real HTTP server on 127.0.0.1; time and sleeps are injected."""

from __future__ import annotations

import email.utils
import gzip
import itertools
import socket
import time
import tracemalloc
import zlib
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.helpers import RESOURCES
from transforms.core.http import Fetcher
from transforms.core.http_policy import FetchPolicy, check_url, is_public_address, parse_retry_after

FEEDS = RESOURCES / "feeds"
RSS = (FEEDS / "rss2.xml").read_bytes()
HTML = (FEEDS / "article.html").read_bytes()
RSS_TYPE = "application/rss+xml; charset=utf-8"

# The feed_server fixture (a plugin, so that no import shadows the fixture argument).


class FakeTime:
    """A monotonic clock that only moves when something sleeps."""

    def __init__(self) -> None:
        self.now = 1_000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def local_policy(**overrides: object) -> FetchPolicy:
    """The default policy with the test server exempt from the SSRF guard and short timeouts."""
    settings: dict[str, object] = {
        "allowed_hosts": ("127.0.0.1",),
        "respect_robots": False,
        "min_host_interval": 0.0,
        "connect_timeout": 0.5,
        "read_timeout": 0.5,
        "total_timeout": 5.0,
    }
    settings.update(overrides)
    return FetchPolicy(**settings)  # type: ignore[arg-type]


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture
def make_fetcher(fake_time):
    made: list[Fetcher] = []

    def make(**overrides: object) -> Fetcher:
        fetcher = Fetcher(local_policy(**overrides), clock=fake_time.clock, sleep=fake_time.sleep)
        made.append(fetcher)
        return fetcher

    yield make
    for fetcher in made:
        fetcher.close()


@pytest.fixture(scope="module")
def gzip_bomb() -> bytes:
    """50 MB of zeros gzipped (about 50 KB), built without holding 50 MB at once."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = bytes(1 << 20)
    parts = [compressor.compress(block) for _ in range(50)]
    parts.append(compressor.flush())
    return b"".join(parts)


def test_fetch_feed_sends_user_agent_and_validators(feed_server, make_fetcher):
    url = feed_server.route("/rss.xml", RSS, content_type=RSS_TYPE, headers={"ETag": '"v2"'})
    fetcher = make_fetcher()
    result = fetcher.fetch(url, kind="feed", etag='"v1"', last_modified="Sat, 21 Nov 2026 10:00:00 GMT")
    assert result.ok and result.error is None
    assert (result.status, result.content, result.final_url) == (200, RSS, url)
    assert (result.content_type, result.encoding, result.etag) == ("application/rss+xml", "utf-8", '"v2"')
    assert not result.not_modified
    (request,) = feed_server.requests_to("/rss.xml")
    assert request.headers["User-Agent"] == fetcher.policy.user_agent
    assert request.headers["If-None-Match"] == '"v1"'
    assert request.headers["If-Modified-Since"] == "Sat, 21 Nov 2026 10:00:00 GMT"
    assert request.headers["Accept-Encoding"] == "gzip, deflate"


def test_conditional_get_304_is_not_modified_not_an_error(feed_server, make_fetcher):
    url = feed_server.route("/rss.xml", status=304, headers={"ETag": '"v1"'})
    result = make_fetcher().fetch(
        url, kind="feed", etag='"v1"', last_modified="Sat, 21 Nov 2026 10:00:00 GMT"
    )
    assert result.not_modified and result.error is None and result.content is None
    assert result.status == 304
    assert (result.etag, result.last_modified) == ('"v1"', "Sat, 21 Nov 2026 10:00:00 GMT")


def test_gzip_body_is_decoded(feed_server, make_fetcher):
    url = feed_server.route(
        "/rss.xml", gzip.compress(RSS), content_type=RSS_TYPE, headers={"Content-Encoding": "gzip"}
    )
    result = make_fetcher().fetch(url, kind="feed")
    assert result.ok and result.content == RSS


def test_gzip_bomb_is_refused_without_inflating_it(feed_server, make_fetcher, gzip_bomb):
    url = feed_server.route(
        "/bomb.xml", gzip_bomb, content_type=RSS_TYPE, headers={"Content-Encoding": "gzip"}
    )
    fetcher = make_fetcher(max_bytes=1_000_000)
    tracemalloc.start()
    try:
        result = fetcher.fetch(url, kind="feed")
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.error == "decompression_bomb" and result.content is None
    # The 50 MB never exist: memory stays around the 1 MB cap.
    assert peak < 8_000_000


@pytest.mark.parametrize("content_length", [True, False], ids=["declared", "streamed"])
def test_body_over_the_cap_is_too_large(feed_server, make_fetcher, content_length):
    url = feed_server.route(
        "/big.html", b"x" * 50_000, content_type="text/html", content_length=content_length
    )
    result = make_fetcher(max_bytes=10_000).fetch(url)
    assert result.error == "too_large" and result.content is None


def test_content_type_is_checked_per_kind(feed_server, make_fetcher):
    url = feed_server.route("/article.html", HTML, content_type="text/html; charset=UTF-8")
    image = feed_server.route("/photo.jpg", b"\xff\xd8\xff", content_type="image/jpeg")
    fetcher = make_fetcher()
    # A page may be given as a feed (it names its feed); an image is neither.
    assert fetcher.fetch(url, kind="feed").ok
    assert (
        fetcher.fetch(image, kind="feed").error
        == fetcher.fetch(image, kind="page").error
        == "bad_content_type"
    )
    page = fetcher.fetch(url, kind="page")
    assert page.ok and page.content == HTML and (page.content_type, page.encoding) == ("text/html", "utf-8")
    with pytest.raises(ValueError, match="unknown fetch kind"):
        fetcher.fetch(url, kind="video")


def test_404_is_an_error_and_not_retried(feed_server, make_fetcher, fake_time):
    result = make_fetcher().fetch(feed_server.url("/missing.xml"), kind="feed")
    assert (result.error, result.status, result.content) == ("http_404", 404, None)
    assert feed_server.count("/missing.xml") == 1 and fake_time.sleeps == []


def test_500_is_retried_with_exponential_backoff_then_returned(feed_server, make_fetcher, fake_time):
    url = feed_server.route("/rss.xml", b"oops", status=500)
    result = make_fetcher(max_retries=2, backoff_base=1.0).fetch(url, kind="feed")
    assert (result.error, result.status) == ("http_500", 500)
    assert feed_server.count("/rss.xml") == 3
    assert fake_time.sleeps == [1.0, 2.0]


def test_503_then_200_succeeds_on_retry(feed_server, make_fetcher, fake_time):
    url = feed_server.route("/rss.xml", {"status": 503}, {"body": RSS, "content_type": RSS_TYPE})
    result = make_fetcher().fetch(url, kind="feed")
    assert result.ok and result.content == RSS
    assert feed_server.count("/rss.xml") == 2 and fake_time.sleeps == [1.0]


def test_429_retry_after_seconds_is_honoured(feed_server, make_fetcher, fake_time):
    url = feed_server.route(
        "/rss.xml", {"status": 429, "headers": {"Retry-After": "3"}}, {"body": RSS, "content_type": RSS_TYPE}
    )
    result = make_fetcher().fetch(url, kind="feed")
    assert result.ok and fake_time.sleeps == [3.0]


def test_429_retry_after_over_the_cap_is_returned_for_the_caller(feed_server, make_fetcher, fake_time):
    url = feed_server.route("/rss.xml", status=429, headers={"Retry-After": "3600"})
    result = make_fetcher(max_backoff=60.0).fetch(url, kind="feed")
    assert (result.error, result.retry_after) == ("rate_limited", 3600.0)
    assert feed_server.count("/rss.xml") == 1 and fake_time.sleeps == []


def test_503_retry_after_http_date(feed_server, fake_time):
    wall = 1_800_000_000.0
    when = email.utils.formatdate(wall + 7_200, usegmt=True)
    url = feed_server.route("/rss.xml", status=503, headers={"Retry-After": when})
    with Fetcher(
        local_policy(), clock=fake_time.clock, sleep=fake_time.sleep, wall_clock=lambda: wall
    ) as fetcher:
        result = fetcher.fetch(url, kind="feed")
    assert (result.error, result.retry_after) == ("http_503", 7_200.0)
    assert fake_time.sleeps == []


def test_parse_retry_after_forms():
    assert parse_retry_after("120", 0.0) == 120.0
    assert parse_retry_after("Thu, 01 Jan 1970 00:01:00 GMT", 0.0) == 60.0
    assert parse_retry_after("Thu, 01 Jan 1970 00:01:00 GMT", 600.0) == 0.0
    assert parse_retry_after("soon", 0.0) is None and parse_retry_after(None, 0.0) is None


def test_slow_response_times_out(feed_server, make_fetcher):
    url = feed_server.route("/slow.xml", RSS, content_type=RSS_TYPE, delay=2.0)
    started = time.perf_counter()
    result = make_fetcher(read_timeout=0.5).fetch(url, kind="feed")
    assert result.error == "timeout"
    # A read timeout is not retried: the server is up, just slow.
    assert time.perf_counter() - started < 1.5 and feed_server.count("/slow.xml") == 1


def test_connection_refused_is_retried_then_reported(make_fetcher, fake_time):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # The port is closed again: nothing listens there.
    result = make_fetcher(max_retries=1).fetch(f"http://127.0.0.1:{port}/feed.xml", kind="feed")
    assert result.error == "connection_error" and fake_time.sleeps == [1.0]


def test_per_host_interval_is_kept(feed_server, make_fetcher, fake_time):
    url = feed_server.route("/a.html", HTML, content_type="text/html")
    fetcher = make_fetcher(min_host_interval=1.0)
    assert all(fetcher.fetch(url).ok for _ in range(3))
    assert fake_time.sleeps == [1.0, 1.0]


def test_per_host_interval_holds_across_threads(feed_server):
    url = feed_server.route("/a.html", HTML, content_type="text/html")
    with Fetcher(local_policy(min_host_interval=0.1)) as fetcher, ThreadPoolExecutor(4) as pool:
        assert all(result.ok for result in pool.map(lambda _: fetcher.fetch(url), range(4)))
    arrivals = sorted(request.at for request in feed_server.requests_to("/a.html"))
    assert len(arrivals) == 4
    assert min(later - earlier for earlier, later in itertools.pairwise(arrivals)) > 0.08


def test_loopback_is_blocked_without_the_flag(feed_server, fake_time):
    url = feed_server.route("/rss.xml", RSS, content_type=RSS_TYPE)
    with Fetcher(local_policy(allowed_hosts=()), clock=fake_time.clock, sleep=fake_time.sleep) as fetcher:
        result = fetcher.fetch(url, kind="feed")
    assert result.error == "blocked_private_address"
    assert feed_server.count("/rss.xml") == 0
    with Fetcher(
        local_policy(allowed_hosts=(), allow_private_hosts=True), clock=fake_time.clock, sleep=fake_time.sleep
    ) as fetcher:
        assert fetcher.fetch(url, kind="feed").ok


def test_redirects_are_followed_to_the_final_url(feed_server, make_fetcher):
    feed_server.route("/new.xml", RSS, content_type=RSS_TYPE)
    url = feed_server.route("/old.xml", status=301, redirect="/new.xml")
    result = make_fetcher().fetch(url, kind="feed")
    assert result.ok and result.final_url == feed_server.url("/new.xml") and result.url == url


@pytest.mark.parametrize(
    ("location", "error"),
    [
        ("http://169.254.169.254/latest/meta-data/", "blocked_private_address"),
        ("http://10.0.0.1/admin", "blocked_private_address"),
        ("http://[::ffff:10.0.0.1]/admin", "blocked_private_address"),
        ("http://localhost/feed.xml", "blocked_private_address"),
        ("file:///etc/passwd", "blocked_scheme"),
        ("gopher://127.0.0.1/", "blocked_scheme"),
    ],
)
def test_redirect_hops_pass_the_guard_before_connecting(feed_server, make_fetcher, location, error):
    url = feed_server.route("/go.xml", redirect=location)
    started = time.perf_counter()
    result = make_fetcher(connect_timeout=0.2).fetch(url, kind="feed")
    assert result.error == error and result.final_url == location
    # Refused before any connection: no connect timeout was waited for.
    assert time.perf_counter() - started < 0.2


def test_redirect_loop_stops_at_max_redirects(feed_server, make_fetcher):
    url = feed_server.route("/loop.xml", redirect="/loop.xml")
    result = make_fetcher(max_redirects=3).fetch(url, kind="feed")
    assert result.error == "too_many_redirects"
    assert feed_server.count("/loop.xml") == 4


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("127.0.0.1", False),
        ("10.1.2.3", False),
        ("172.16.0.1", False),
        ("192.168.1.1", False),
        ("169.254.169.254", False),
        ("100.64.0.1", False),
        ("224.0.0.251", False),
        ("240.0.0.1", False),
        ("0.0.0.0", False),
        ("::1", False),
        ("fe80::1%eth0", False),
        ("fc00::1", False),
        ("ff02::1", False),
        ("::ffff:127.0.0.1", False),
        ("::", False),
        ("not an address", False),
        ("93.184.216.34", True),
        ("8.8.8.8", True),
        ("2606:4700:4700::1111", True),
    ],
)
def test_is_public_address(address, public):
    assert is_public_address(address) is public


def test_check_url_resolves_every_form_of_a_private_host():
    policy = FetchPolicy()
    for url in ("http://127.0.0.1/", "http://[::1]:8080/", "http://2130706433/", "https://0x7f000001/"):
        assert check_url(url, policy) is not None, url
    assert check_url("ftp://example.com/feed", policy)[0] == "blocked_scheme"
    assert check_url("http:///feed", policy)[0] == "bad_url"
    assert check_url("http://93.184.216.34/feed", policy) is None
    assert check_url("http://127.0.0.1/", FetchPolicy(allowed_hosts=("127.0.0.1",))) is None
    assert (
        check_url("http://10.0.0.1/", FetchPolicy(allowed_hosts=("127.0.0.1",)))[0]
        == "blocked_private_address"
    )


def test_bad_urls_become_results_not_exceptions(make_fetcher):
    fetcher = make_fetcher()
    assert fetcher.fetch("ftp://example.com/feed.xml", kind="feed").error == "blocked_scheme"
    assert fetcher.fetch("http:///feed.xml", kind="feed").error == "bad_url"
    assert fetcher.fetch("http://127.0.0.1:99999/feed.xml", kind="feed").error == "bad_url"


def test_robots_disallow_is_respected_and_cached(feed_server, make_fetcher):
    feed_server.route("/robots.txt", b"User-agent: *\nDisallow: /private/\n", content_type="text/plain")
    public = feed_server.route("/public.html", HTML, content_type="text/html")
    private = feed_server.route("/private/page.html", HTML, content_type="text/html")
    fetcher = make_fetcher(respect_robots=True)
    assert fetcher.fetch(private).error == "robots_disallowed"
    assert fetcher.fetch(public).ok
    assert feed_server.count("/private/page.html") == 0 and feed_server.count("/robots.txt") == 1


def test_robots_group_for_our_user_agent(feed_server, make_fetcher):
    robots = b"User-agent: newsflow\nDisallow: /\n\nUser-agent: *\nAllow: /\n"
    feed_server.route("/robots.txt", robots, content_type="text/plain")
    url = feed_server.route("/public.html", HTML, content_type="text/html")
    assert make_fetcher(respect_robots=True).fetch(url).error == "robots_disallowed"


@pytest.mark.parametrize(("status", "allowed"), [(404, True), (403, True), (500, False), (503, False)])
def test_robots_unavailable(feed_server, make_fetcher, status, allowed):
    feed_server.route("/robots.txt", status=status)
    url = feed_server.route("/page.html", HTML, content_type="text/html")
    result = make_fetcher(respect_robots=True, max_retries=0).fetch(url)
    assert result.ok is allowed
    if not allowed:
        assert result.error == "robots_disallowed" and feed_server.count("/page.html") == 0


def test_robots_crawl_delay_stretches_the_host_interval(feed_server, make_fetcher, fake_time):
    feed_server.route("/robots.txt", b"User-agent: *\nCrawl-delay: 5\n", content_type="text/plain")
    url = feed_server.route("/page.html", HTML, content_type="text/html")
    fetcher = make_fetcher(respect_robots=True, min_host_interval=1.0)
    assert fetcher.fetch(url).ok and fetcher.fetch(url).ok
    # robots.txt, then the page one interval later, then the page again after the crawl delay.
    assert fake_time.sleeps == [1.0, 5.0]


def test_feed_server_counts_and_404s(feed_server):
    assert feed_server.count("/nothing") == 0
    assert feed_server.base_url.startswith("http://127.0.0.1:")
