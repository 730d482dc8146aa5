"""Feed dates from a clock set slightly ahead: the real CLI against a real feed server on 127.0.0.1."""

from __future__ import annotations

import datetime as dt
import email.utils
import html

import pyarrow.dataset as ds

from schemas.parquet import PARTITION_SCHEMA
from tests.helpers import run_cli

FETCH_FLAGS = ["--allowed_hosts", "127.0.0.1", "--min_host_interval", "0", "--fetch_timeout", "2"]
RSS = "application/rss+xml"
# Two undated pages (no date markup, no date in the URL or the text): only the feed dates them.
PAGES = {
    "/news/harbour": (
        "Harbour crane back in service",
        [
            "The harbour's largest crane returned to service on Monday after a month of repairs to its "
            "hoist motor, the port authority said, ending delays for container ships waiting at anchor.",
            "Engineers replaced the motor's windings and the brake assembly, and a load test with forty "
            "tonnes of ballast passed without faults, according to the authority's statement.",
            "Shipping agents said the backlog of vessels should clear by the end of the week now that all "
            "four cranes on the main quay are working again.",
        ],
    ),
    "/news/orchard": (
        "Orchard growers expect an early harvest",
        [
            "Apple growers in the valley expect to start picking two weeks earlier than usual after a warm "
            "spring, the growers' cooperative said on Tuesday, and asked seasonal workers to come sooner.",
            "The cooperative's chair said the fruit had set well and that hail nets installed last year had "
            "protected most orchards from the storms that damaged crops elsewhere in the region.",
            "Cider makers, who buy the smaller apples, said they would open their presses early to keep up "
            "with the expected volume and have hired extra staff for the season.",
        ],
    ),
}


def _page(title: str, paragraphs: list[str]) -> bytes:
    body = "".join(f"<p>{html.escape(p)}</p>" for p in paragraphs)
    return (
        f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"</head><body><nav><a href='/'>Home</a></nav><article><h1>{html.escape(title)}</h1>{body}"
        "</article></body></html>"
    ).encode()


def _rss(items: list[tuple[str, str, dt.datetime]]) -> bytes:
    entries = "".join(
        f"<item><title>{html.escape(title)}</title><link>{link}</link><guid>{link}</guid>"
        f"<pubDate>{email.utils.format_datetime(when)}</pubDate></item>"
        for title, link, when in items
    )
    return (
        "<?xml version='1.0' encoding='UTF-8'?><rss version='2.0'><channel><title>Port news</title>"
        f"<link>http://127.0.0.1/</link><description>News</description>{entries}</channel></rss>"
    ).encode()


def test_feed_item_a_few_minutes_ahead_keeps_its_date_clamped_to_the_ingest_time(feed_server, tmp_path):
    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    soon = now + dt.timedelta(minutes=7)  # the publisher's clock is a few minutes fast
    far = now + dt.timedelta(days=3)  # no clock is that wrong: a bad date, dropped
    for path, (title, paragraphs) in PAGES.items():
        feed_server.route(path, _page(title, paragraphs), content_type="text/html; charset=utf-8")
    feed_url = feed_server.route(
        "/rss.xml",
        _rss(
            [
                (PAGES["/news/harbour"][0], feed_server.url("/news/harbour"), soon),
                (PAGES["/news/orchard"][0], feed_server.url("/news/orchard"), far),
            ]
        ),
        content_type=RSS,
    )
    lake = tmp_path / "lake"

    result = run_cli("run", "--feeds", feed_url, "--output", str(lake), *FETCH_FLAGS)

    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    table = ds.dataset(
        str(lake / "articles"),
        format="parquet",
        partitioning=ds.partitioning(PARTITION_SCHEMA, flavor="hive"),
    ).to_table()
    rows = {row["url"]: row for row in table.to_pylist()}
    harbour, orchard = rows[feed_server.url("/news/harbour")], rows[feed_server.url("/news/orchard")]
    # Clock skew: the date is kept as the ingest time, and the source says it was clamped.
    assert harbour["date_source"] == "feed_clamped"
    assert harbour["published"] == harbour["ingested_at"]
    assert now - dt.timedelta(minutes=1) <= harbour["published"] <= soon
    assert harbour["date"] == harbour["published"].strftime("%Y-%m-%d")
    # Three days ahead is no clock skew: no date rather than a wrong one.
    assert orchard["published"] is None and orchard["date_source"] == "feed_future"
    assert orchard["date"] is None or orchard["date"] == "unknown"
