"""Sitemaps end to end: the real CLI against a real HTTP server on 127.0.0.1.

The site's robots.txt names a sitemap index; the index lists a news sitemap (three recent
entries, two old), a gzipped sitemap and a malformed one.
"""

from __future__ import annotations

import datetime as dt
import gzip
import html
import json

import pytest

from tests.feedserver import FeedServer
from tests.helpers import FETCH_FLAGS, articles_table, dataset_rows, page, run_cli, story

NEWS_NS = "http://www.google.com/schemas/sitemap-news/0.9"
RECENT = ("harbour", "election", "vaccine")
OLD = ("drought", "museum")


def _news_sitemap(base: str, now: dt.datetime) -> bytes:
    entries = []
    for number, topic in enumerate(RECENT + OLD):
        age = dt.timedelta(hours=2 + number) if topic in RECENT else dt.timedelta(days=5 + number)
        entries.append(
            f"<url><loc>{base}/news/{topic}</loc><news:news><news:publication><news:name>Harbour Herald"
            f"</news:name><news:language>en</news:language></news:publication><news:publication_date>"
            f"{(now - age).isoformat()}</news:publication_date><news:title>{html.escape(topic.title())} news"
            f"</news:title></news:news></url>"
        )
    return (
        f"<?xml version='1.0' encoding='UTF-8'?><urlset xmlns='http://www.sitemaps.org/schemas/sitemap/0.9'"
        f" xmlns:news='{NEWS_NS}'>{''.join(entries)}</urlset>"
    ).encode()


def _pages_sitemap(base: str, now: dt.datetime) -> bytes:
    recent, old = (now - dt.timedelta(hours=3)).date().isoformat(), "2020-01-01"
    return (
        "<?xml version='1.0'?><urlset xmlns='http://www.sitemaps.org/schemas/sitemap/0.9'>"
        f"<url><loc>{base}/pages/festival</loc><lastmod>{recent}</lastmod></url>"
        f"<url><loc>{base}/pages/archive</loc><lastmod>{old}</lastmod></url></urlset>"
    ).encode()


def _program(server: FeedServer) -> FeedServer:
    base = server.base_url
    now = dt.datetime.now(dt.timezone.utc)
    server.route(
        "/robots.txt",
        f"User-agent: *\nDisallow: /private/\nSitemap: {base}/sitemap-index.xml\n".encode(),
        content_type="text/plain",
    )
    server.route(
        "/sitemap-index.xml",
        (
            "<?xml version='1.0'?><sitemapindex xmlns='http://www.sitemaps.org/schemas/sitemap/0.9'>"
            f"<sitemap><loc>{base}/sitemap-pages.xml.gz</loc></sitemap>"
            f"<sitemap><loc>{base}/sitemap-broken.xml</loc></sitemap>"
            f"<sitemap><loc>{base}/news-sitemap.xml</loc></sitemap></sitemapindex>"
        ).encode(),
        content_type="application/xml",
        headers={"ETag": '"index-1"'},
    )
    server.route("/news-sitemap.xml", _news_sitemap(base, now), content_type="application/xml")
    server.route(
        "/sitemap-pages.xml.gz", gzip.compress(_pages_sitemap(base, now)), content_type="application/x-gzip"
    )
    server.route(
        "/sitemap-broken.xml",
        b"<?xml version='1.0'?><urlset xmlns='http://www.sitemaps.org/schemas/sitemap/0.9'><url><loc>",
        content_type="application/xml",
    )
    for topic in RECENT + OLD:
        server.route(f"/news/{topic}", page(f"{topic.title()} news", story(topic)), content_type="text/html")
    for name in ("festival", "archive"):
        server.route(f"/pages/{name}", page(f"The {name}", story(name)), content_type="text/html")
    return server


@pytest.fixture(scope="module")
def sitemap_site():
    server = _program(FeedServer().start())
    yield server
    server.stop()


@pytest.fixture(scope="module")
def sitemap_lake(sitemap_site, tmp_path_factory):
    lake = tmp_path_factory.mktemp("sitemaps") / "lake"
    result = run_cli("run", "--sitemaps", sitemap_site.base_url, "--output", str(lake), *FETCH_FLAGS)
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    return lake, result.stdout


def test_robots_index_and_news_sitemap_fetch_only_recent_entries(sitemap_site, sitemap_lake):
    lake, stdout = sitemap_lake
    base = sitemap_site.base_url
    rows = {r["url"]: r for r in articles_table(lake).to_pylist()}
    assert set(rows) == {f"{base}/news/{t}" for t in RECENT} | {f"{base}/pages/festival"}
    for topic in OLD:
        assert sitemap_site.count(f"/news/{topic}") == 0
    assert sitemap_site.count("/pages/archive") == 0
    harbour = rows[f"{base}/news/harbour"]
    assert harbour["title"] == "Harbour news" and harbour["date_source"] == "feed"
    assert harbour["site_name"] == "Harbour Herald" and harbour["source"] == f"{base}/news-sitemap.xml"
    assert harbour["fetched_at"] is not None
    assert "balanced" in stdout and "NOT BALANCED" not in stdout


def test_malformed_sitemap_is_a_reject_with_its_reason(sitemap_site, sitemap_lake):
    lake, _ = sitemap_lake
    rejects = dataset_rows(lake, "rejects")
    assert [(r["source"], r["stage"], r["reason"]) for r in rejects] == [
        (f"{sitemap_site.base_url}/sitemap-broken.xml", "sitemap", "malformed_xml")
    ]
    assert rejects[0]["detail"].startswith("sitemap:")


def test_inspect_shows_sitemap_health_and_a_second_poll_fetches_nothing_again(sitemap_site, sitemap_lake):
    lake, _ = sitemap_lake
    base = sitemap_site.base_url
    shown = run_cli("inspect", str(lake))
    assert shown.returncode == 0, shown.stderr
    health = shown.stdout.split("sitemap health:")[1]
    assert f"{base}/robots.txt" in health and f"{base}/news-sitemap.xml" in health
    broken = health.split(f"{base}/sitemap-broken.xml")[1].splitlines()
    assert "1 failures in a row" in broken[0] and "malformed_xml" in broken[1]
    assert "feed health:" not in shown.stdout
    pages = sitemap_site.count("/news/harbour")
    # Repaired: the next poll reads it (an empty URL set is no error).
    sitemap_site.route(
        "/sitemap-broken.xml",
        b"<?xml version='1.0'?><urlset xmlns='http://www.sitemaps.org/schemas/sitemap/0.9'></urlset>",
        content_type="application/xml",
    )
    again = run_cli("run", "--sitemaps", base, "--output", str(lake), "--poll_now", *FETCH_FLAGS)
    assert again.returncode == 0, again.stdout + again.stderr[-3000:]
    # The entries are in the cursors: not fetched again; the index is asked conditionally.
    assert sitemap_site.count("/news/harbour") == pages
    assert sitemap_site.requests_to("/sitemap-index.xml")[-1].headers.get("If-None-Match") == '"index-1"'


def test_sitemaps_poll_in_the_unbounded_streaming_graph(feed_server, tmp_path):
    base = _program(feed_server).base_url
    lake = tmp_path / "lake"
    result = run_cli(
        "run",
        "--sitemaps",
        base,
        "--output",
        str(lake),
        "--stream",
        "--unbounded",
        "--duration",
        "6",
        "--poll_interval",
        "2",
        *FETCH_FLAGS,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    urls = set(articles_table(lake, ["url"]).column("url").to_pylist())
    assert urls == {f"{base}/news/{t}" for t in RECENT} | {f"{base}/pages/festival"}
    cursors = json.loads((lake / "state" / "feeds.json").read_text())["feeds"]
    assert cursors[f"{base}/robots.txt"]["kind"] == "robots"
    news = cursors[f"{base}/news-sitemap.xml"]
    assert news["kind"] == "sitemap" and sorted(news["seen"]) == sorted(f"{base}/news/{t}" for t in RECENT)
    assert cursors[f"{base}/sitemap-broken.xml"]["last_status"] == "failed"
    # Each page once, whatever the number of polls.
    assert all(feed_server.count(f"/news/{t}") == 1 for t in RECENT)


def test_sitemaps_values_resolve_to_sources(tmp_path):
    from pipeline.plan import resolve_sitemaps

    saved = tmp_path / "saved-sitemap.xml.gz"
    saved.write_bytes(gzip.compress(_pages_sitemap("https://a.example", dt.datetime.now(dt.timezone.utc))))
    listing = tmp_path / "sitemaps.txt"
    listing.write_text("# sites and sitemaps\nhttps://b.example/\nhttps://c.example/news.xml\n")
    assert resolve_sitemaps(["https://a.example", str(saved), str(listing), "https://a.example/"]) == [
        "https://a.example/robots.txt",
        str(saved),
        "https://b.example/robots.txt",
        "https://c.example/news.xml",
    ]
    junk = tmp_path / "junk.txt"
    junk.write_text("not a url\n")
    with pytest.raises(ValueError, match="--sitemaps"):
        resolve_sitemaps([str(junk)])
    with pytest.raises(ValueError, match="--sitemaps"):
        resolve_sitemaps([str(tmp_path / "missing.xml")])
