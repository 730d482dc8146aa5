"""Sitemaps parsed from bytes: URL sets, indexes, news sitemaps, robots.txt, --since."""

import datetime as dt
import gzip

import pytest

from transforms.core.feeds import FeedError
from transforms.core.sitemaps import (
    MAX_NEW_ENTRIES,
    gunzip,
    is_robots_url,
    parse_since,
    parse_sitemap,
    prefer_news,
    robots_sitemaps,
    robots_url,
    sitemap_items,
    sitemap_kind,
)

UTC = dt.timezone.utc
NOW = dt.datetime(2026, 11, 22, 12, tzinfo=UTC)
BASE = "https://news.example.org"

NEWS = f"""<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"
        xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">
  <url><loc>{BASE}/2026/11/ferry</loc>
    <news:news><news:publication><news:name>The Gazette</news:name><news:language>en</news:language>
      </news:publication><news:publication_date>2026-11-22T09:30:00+01:00</news:publication_date>
      <news:title>Council approves new ferry timetable</news:title></news:news></url>
  <url><loc>/2026/11/old-story</loc>
    <news:news><news:publication_date>2026-11-01</news:publication_date><news:title>Old</news:title></news:news>
  </url>
  <url><loc>{BASE}/2026/11/undated</loc></url>
  <url><loc>ftp://elsewhere/file</loc></url>
</urlset>""".encode()

INDEX = f"""<?xml version="1.0" encoding="UTF-8"?>
<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
  <sitemap><loc>{BASE}/sitemap-pages.xml</loc><lastmod>2026-11-01</lastmod></sitemap>
  <sitemap><loc>{BASE}/sitemap-news.xml.gz</loc></sitemap>
</sitemapindex>""".encode()


def test_news_sitemap_entries_with_title_date_and_publication():
    parsed = parse_sitemap(NEWS, f"{BASE}/news-sitemap.xml")
    assert parsed.kind == "urlset" and parsed.news
    first, old, undated = parsed.entries
    assert first.loc == f"{BASE}/2026/11/ferry" and first.title == "Council approves new ferry timetable"
    assert first.published == "2026-11-22T08:30:00+00:00" and first.publication == "The Gazette"
    assert first.language == "en"
    assert old.loc == f"{BASE}/2026/11/old-story" and old.published == "2026-11-01T00:00:00+00:00"
    assert undated.when is None


def test_index_lists_news_sitemaps_first():
    parsed = parse_sitemap(INDEX, f"{BASE}/sitemap.xml")
    assert parsed.kind == "sitemapindex" and not parsed.entries
    assert parsed.sitemaps == (f"{BASE}/sitemap-news.xml.gz", f"{BASE}/sitemap-pages.xml")
    assert prefer_news([f"{BASE}/a.xml"] * 3 + [f"{BASE}/news.xml"]) == [f"{BASE}/news.xml", f"{BASE}/a.xml"]


def test_recent_unseen_entries_become_feed_items():
    parsed = parse_sitemap(NEWS, f"{BASE}/news-sitemap.xml")
    since = parse_since(None, NOW)
    items, recent, old, later = sitemap_items(parsed, since, frozenset())
    assert [i.link for i in items] == [f"{BASE}/2026/11/ferry", f"{BASE}/2026/11/undated"]
    assert items[0].title == "Council approves new ferry timetable" and items[0].feed_title == "The Gazette"
    assert (
        items[0].published == "2026-11-22T08:30:00+00:00" and items[0].feed_url == f"{BASE}/news-sitemap.xml"
    )
    assert (old, later, len(recent)) == (1, 0, 2)
    # Seen in an earlier poll: still recent (kept in the cursor), not fetched again.
    items, recent, _, _ = sitemap_items(parsed, since, frozenset({f"{BASE}/2026/11/ferry"}))
    assert [i.link for i in items] == [f"{BASE}/2026/11/undated"] and len(recent) == 2


def test_new_entries_per_poll_are_bounded():
    urls = "".join(f"<url><loc>{BASE}/a/{n}</loc></url>" for n in range(MAX_NEW_ENTRIES + 5))
    data = f"<urlset xmlns='http://www.sitemaps.org/schemas/sitemap/0.9'>{urls}</urlset>".encode()
    items, recent, old, later = sitemap_items(parse_sitemap(data, BASE), parse_since(None, NOW), frozenset())
    assert (len(items), later, old) == (MAX_NEW_ENTRIES, 5, 0)


def test_since_values():
    assert parse_since(None, NOW) == NOW - dt.timedelta(days=2)
    assert parse_since("36h", NOW) == NOW - dt.timedelta(hours=36)
    assert parse_since("2026-11-20", NOW) == dt.datetime(2026, 11, 20, tzinfo=UTC)
    with pytest.raises(ValueError):
        parse_since("yesterday", NOW)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty"),
        (b"<?xml version='1.0'?><urlset><url><loc>https://a.example/x</loc></url>", "malformed_xml"),
        (b"<?xml version='1.0'?><rss><channel/></rss>", "not_a_sitemap"),
        (
            b"<?xml version='1.0'?><!DOCTYPE urlset [<!ENTITY x SYSTEM 'file:///etc/passwd'>]>"
            b"<urlset><url><loc>&x;</loc></url></urlset>",
            "unsafe_dtd",
        ),
    ],
)
def test_bad_sitemaps_raise_with_reason(data, reason):
    with pytest.raises(FeedError) as error:
        parse_sitemap(data, BASE)
    assert error.value.reason == reason


def test_gzip_kind_and_robots():
    assert gunzip(gzip.compress(NEWS), 1_000_000) == NEWS and gunzip(NEWS, 10) == NEWS
    with pytest.raises(FeedError, match="too_large"):
        gunzip(gzip.compress(b"x" * 5000), 1000)
    with pytest.raises(FeedError, match="bad_gzip"):
        gunzip(gzip.compress(NEWS)[:-20], 1_000_000)
    assert sitemap_kind(NEWS) == "urlset" and sitemap_kind(INDEX) == "sitemapindex"
    assert sitemap_kind(b"<?xml version='1.0'?><rss/>") is None
    text = "User-agent: *\nDisallow: /private/\nSitemap: /sitemap.xml\nsitemap:https://news.example.org/news.xml\n"
    assert robots_sitemaps(text, f"{BASE}/robots.txt") == [f"{BASE}/news.xml", f"{BASE}/sitemap.xml"]
    assert robots_url(f"{BASE}/any/page?x=1") == f"{BASE}/robots.txt" and is_robots_url(f"{BASE}/robots.txt")


def test_locations_no_parser_reads_are_left_out_not_raised():
    # "http://[::1/..." is "Invalid IPv6 URL" to urllib; a robots.txt or a sitemap from the web
    # may hold one, and it used to raise out of the poll.
    text = "Sitemap: http://[::1/a.xml\nSitemap: /sitemap.xml\n"
    assert robots_sitemaps(text, f"{BASE}/robots.txt") == [f"{BASE}/sitemap.xml"]
    ns = "http://www.sitemaps.org/schemas/sitemap/0.9"
    index = f"<sitemapindex xmlns='{ns}'><sitemap><loc>http://[::1/a.xml</loc></sitemap><sitemap><loc>/b.xml</loc></sitemap></sitemapindex>"
    assert parse_sitemap(index.encode(), f"{BASE}/s.xml").sitemaps == (f"{BASE}/b.xml",)
    urlset = f"<urlset xmlns='{ns}'><url><loc>http://[::1/a</loc></url><url><loc>/b</loc></url></urlset>"
    assert [e.loc for e in parse_sitemap(urlset.encode(), f"{BASE}/s.xml").entries] == [f"{BASE}/b"]
    assert not is_robots_url("http://[::1/robots.txt") and robots_url("http://[::1/x") == "http://[::1/x"
