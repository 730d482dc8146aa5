"""Shared fixtures: the real HTTP servers on 127.0.0.1 (shared helpers live in tests/helpers.py)."""

from __future__ import annotations

import gzip
import pathlib
from collections.abc import Iterator

import pytest

from tests.feedserver import FeedServer
from tests.helpers import ATOM, RESOURCES, RSS, SEEDS, atom, gold_body, page, rss


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # The heavy tests first: with two workers (pyproject's addopts) they overlap with the rest of
    # the suite instead of being its tail. A stable sort: the rest keep their order.
    items.sort(key=lambda item: item.get_closest_marker("heavy") is None)


@pytest.fixture
def seeds_dir() -> pathlib.Path:
    return SEEDS


@pytest.fixture(scope="module")
def site():
    server = FeedServer().start()
    base = server.base_url
    server.route("/robots.txt", b"User-agent: *\nDisallow: /private/\n", content_type="text/plain")
    pages = {
        "/world/deir-ezzor-offensive": ("Syria, Russia Prepare For Operation", "000", "2017-03-01T09:00:00Z"),
        "/world/fifth-legion": (
            "Syrian army's 5th Legion continues offensive",
            "002",
            "2017-03-10T09:00:00Z",
        ),
        "/world/siege-broken": ("ISIS Siege of Deir Ezzor, Syria Broken", "003", "2017-09-06T08:00:00Z"),
        "/world/live-deir-ez-zor": ("Deir ez Zor: Siege Broken!", "004", "2017-09-05T13:45:00Z"),
    }
    for path, (title, prefix, published) in pages.items():
        server.route(path, page(title, gold_body(prefix), published), content_type="text/html; charset=utf-8")
    server.route(
        "/private/secret", page("Secret", gold_body("001"), "2017-01-01T00:00:00Z"), content_type="text/html"
    )
    server.route("/gone", status=404)
    rss_items = [
        {
            "title": "Syria, Russia Prepare For Operation",
            "link": f"{base}/world/deir-ezzor-offensive",
            "date": "Wed, 01 Mar 2017 09:00:00 GMT",
            "category": "World",
        },
        {
            "title": "Syrian army's 5th Legion continues offensive",
            "link": f"{base}/world/fifth-legion",
            "date": "Fri, 10 Mar 2017 09:00:00 GMT",
        },
        # The same article as the first, under a tracking URL: one row in the lake.
        {
            "title": "Syria, Russia Prepare For Operation (shared)",
            "link": f"{base}/world/deir-ezzor-offensive?utm_source=rss&utm_medium=feed",
            "guid": "shared-copy",
            "date": "Wed, 01 Mar 2017 10:00:00 GMT",
        },
        # A page that is gone, with a summary to fall back to.
        {
            "title": "Ceasefire talks resume in Geneva",
            "link": f"{base}/gone",
            "date": "Sat, 02 Sep 2017 10:00:00 GMT",
            "summary": "Delegations from both sides returned to Geneva on Saturday for a new round of talks "
            "on a nationwide ceasefire, the United Nations envoy said, adding that humanitarian access to "
            "besieged areas would top the agenda for the week ahead.",
        },
        # A page robots.txt forbids, with no summary: a reject.
        {"title": "Secret", "link": f"{base}/private/secret", "date": "Sun, 01 Jan 2017 00:00:00 GMT"},
    ]
    server.route("/rss.xml", rss(rss_items), content_type=RSS)
    server.route(
        "/atom.xml",
        atom(
            [
                {
                    "title": "ISIS Siege of Deir Ezzor, Syria Broken",
                    "link": f"{base}/world/siege-broken",
                    "date": "2017-09-06T08:00:00Z",
                    "author": "Stephen Lendman",
                },
                # Also in the RSS feed: one row.
                {
                    "title": "Syrian army's 5th Legion continues offensive",
                    "link": f"{base}/world/fifth-legion",
                    "date": "2017-03-10T09:00:00Z",
                },
                {
                    "title": "UPDATED- Deir ez Zor: Siege Broken!",
                    "link": f"{base}/world/live-deir-ez-zor",
                    "date": "2017-09-05T13:45:00Z",
                },
            ]
        ),
        content_type=ATOM,
    )
    # Faults, each a reject or a retry, never a crashed run.
    server.route("/f/missing.xml", status=404)
    server.route("/f/broken.xml", status=500)
    server.route(
        "/f/busy.xml",
        {"status": 429, "headers": {"Retry-After": "1"}},
        {"body": rss(rss_items[:1]), "content_type": RSS},
    )
    server.route("/f/slow.xml", rss(rss_items[:1]), content_type=RSS, delay=3)
    server.route("/f/huge.xml", b"<rss>" + b" " * 6_000_000 + b"</rss>", content_type=RSS)
    server.route(
        "/f/bomb.xml",
        gzip.compress(b"\0" * 60_000_000),
        content_type=RSS,
        headers={"Content-Encoding": "gzip"},
    )
    server.route(
        "/f/malformed.xml",
        b"<?xml version='1.0'?><rss><channel><title>x</title><item><title>",
        content_type=RSS,
    )
    server.route("/f/laughs.xml", (RESOURCES / "feeds" / "billion_laughs.xml").read_bytes(), content_type=RSS)
    server.route("/f/page.xml", page("Not a feed", ["Just a page."], "2017-01-01"), content_type="text/xml")
    server.route("/f/to-metadata.xml", redirect="http://169.254.169.254/latest/meta-data/")
    yield server
    server.stop()


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    """A started ``FeedServer``, stopped at teardown."""
    server = FeedServer().start()
    try:
        yield server
    finally:
        server.stop()
