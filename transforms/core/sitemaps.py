"""Sitemaps parsed from their bytes: URL sets, sitemap indexes, Google News sitemaps, robots.txt.

Consumes the bytes of a fetched (or saved) sitemap, gzipped or not; emits a
``ParsedSitemap``: its entries (``<url>``: ``loc``, ``lastmod`` and, in a news sitemap,
``<news:title>``, ``<news:publication_date>`` and the publication's name) or, for an index,
the sitemaps it lists. ``sitemap_items`` turns the recent entries into ``FeedItem`` records,
so that a sitemap entry is fetched and extracted exactly like a feed entry. Sample::

    parse_sitemap(news_sitemap_bytes, "https://news.example.org/news-sitemap.xml").entries[0]
    -> SitemapEntry(loc="https://news.example.org/2026/11/ferry", lastmod=None,
                    title="Council approves new ferry timetable",
                    published="2026-11-20T07:30:00+00:00", publication="The Gazette", language="en")

Untrusted XML: lxml with no entity expansion, no DTD loading and no network access, after the
same DTD screen as feeds (recursive, parameter or external entities refused). Pure: the poll
stage (``transforms.feeds``) fetches, with its politeness, SSRF guard and conditional GET.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import urllib.parse
import zlib
from collections.abc import Iterable, Sequence

from lxml import etree

from schemas.records import FeedItem
from transforms.core.feeds import (
    FeedError,
    iso_from_text,
    parse_untrusted_xml,
    refusing_hostile_input,
    unique,
)
from transforms.core.urls import absolute_url, url_parts

# The sitemap protocol's limit on URLs per file; entries past it are not read.
MAX_SITEMAP_URLS = 50_000
# Sitemaps an index (or a robots.txt) is followed to, at most, news sitemaps first.
MAX_CHILD_SITEMAPS = 50
# Index levels followed below a source given on the command line: robots.txt -> index ->
# index -> sitemap.
SITEMAP_DEPTH = 3
# New entries taken from one sitemap per poll (a news sitemap holds at most 1,000); the rest
# wait for the next poll.
MAX_NEW_ENTRIES = 1000
# Entries older than this are not fetched unless --since says otherwise.
DEFAULT_SINCE = dt.timedelta(days=2)

_NEWS_NS = "http://www.google.com/schemas/sitemap-news/0.9"
_GZIP_MAGIC = b"\x1f\x8b"
_ROOT = re.compile(
    rb"^\s*(?:<\?xml[^>]*\?>\s*)?(?:(?:<!--.*?-->|<!DOCTYPE[^>\[]*(?:\[.*?\])?\s*>|<\?[^>]*\?>)\s*)*"
    rb"<(?:[A-Za-z_][\w.-]*:)?(urlset|sitemapindex)\b",
    re.S,
)
_ROBOTS_SITEMAP = re.compile(r"^\s*sitemap\s*:\s*(\S+)", re.I | re.M)
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([dhm])\s*$", re.I)
_NEWSY = re.compile(r"news", re.I)


@dataclasses.dataclass(frozen=True)
class SitemapEntry:
    loc: str
    # ISO 8601 in UTC; a date alone is midnight UTC.
    lastmod: str | None = None
    # Google News sitemap fields.
    title: str | None = None
    published: str | None = None
    publication: str | None = None
    language: str | None = None

    @property
    def when(self) -> str | None:
        """The entry's date for --since: its publication date, else its lastmod."""
        return self.published or self.lastmod


@dataclasses.dataclass(frozen=True)
class ParsedSitemap:
    url: str
    kind: str  # "urlset" or "sitemapindex"
    entries: tuple[SitemapEntry, ...] = ()
    sitemaps: tuple[str, ...] = ()
    news: bool = False


def gunzip(data: bytes, limit: int) -> bytes:
    """Gzipped bytes (a ``.xml.gz`` sitemap) decompressed with a cap; others as they are."""
    if not data.startswith(_GZIP_MAGIC):
        return data
    inflater = zlib.decompressobj(31)
    try:
        out = inflater.decompress(data, limit + 1)
    except zlib.error as error:
        raise FeedError("bad_gzip", str(error)[:200]) from None
    if len(out) > limit:
        raise FeedError("too_large", f"decompresses past {limit} bytes")
    if not inflater.eof:
        raise FeedError("bad_gzip", "truncated gzip stream")
    return out


def sitemap_kind(data: bytes) -> str | None:
    """``urlset`` or ``sitemapindex`` when the document's root says it is a sitemap, else None."""
    found = _ROOT.match(data[:8192].removeprefix(b"\xef\xbb\xbf"))
    return found.group(1).decode() if found else None


def is_robots_url(url: str) -> bool:
    parts = url_parts(url)
    return parts is not None and parts.path.endswith("/robots.txt")


def robots_url(site: str) -> str:
    """The robots.txt of a site given by any URL on it (a URL that does not parse stays as it is:
    its fetch fails with ``bad_url``)."""
    parts = url_parts(site)
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, "/robots.txt", "", "")) if parts else site


def robots_sitemaps(text: str, base: str) -> list[str]:
    """The ``Sitemap:`` URLs of a robots.txt, absolute, news sitemaps first, at most MAX_CHILD_SITEMAPS."""
    return prefer_news(absolute_url(base, m.group(1)) for m in _ROBOTS_SITEMAP.finditer(text))


def prefer_news(urls: Iterable[str | None]) -> list[str]:
    """Distinct sitemap URLs with the news-looking ones first, at most MAX_CHILD_SITEMAPS (None,
    a location that is no http(s) URL, is left out)."""
    distinct = list(unique(url for url in urls if url))
    ranked = sorted(distinct, key=lambda url: not _NEWSY.search(url_parts(url).path))
    return ranked[:MAX_CHILD_SITEMAPS]


def _text(element, path: str, namespaces: dict | None = None) -> str | None:
    found = element.find(path, namespaces) if namespaces else element.find(path)
    if found is None or found.text is None:
        return None
    return found.text.strip() or None


@refusing_hostile_input
def parse_sitemap(data: bytes, url: str) -> ParsedSitemap:
    """Parse sitemap bytes fetched from ``url`` (the base for relative locations).

    Raises ``FeedError`` with reason ``empty``, ``not_a_sitemap``, ``malformed_xml`` or
    ``unsafe_dtd``. An empty ``<urlset>`` is a sitemap with no entries, not an error.
    """
    if not data or not data.strip():
        raise FeedError("empty", "no content")
    try:
        root = parse_untrusted_xml(data)
    except etree.XMLSyntaxError as error:
        raise FeedError("malformed_xml", f"sitemap: {error}"[:300]) from None
    kind = etree.QName(root).localname if root is not None else ""
    if kind == "sitemapindex":
        locs = (_text(child, "{*}loc") for child in root.iterfind("{*}sitemap"))
        return ParsedSitemap(url, kind, sitemaps=tuple(prefer_news(absolute_url(url, loc) for loc in locs)))
    if kind != "urlset":
        raise FeedError("not_a_sitemap", f"root element <{kind}>")
    entries, news = [], False
    for count, node in enumerate(root.iterfind("{*}url")):
        if count >= MAX_SITEMAP_URLS:
            break
        loc = _text(node, "{*}loc")
        loc = absolute_url(url, loc)
        if not loc:
            continue
        item = node.find(f"{{{_NEWS_NS}}}news")
        fields = {}
        if item is not None:
            news = True
            fields = {
                "title": _text(item, f"{{{_NEWS_NS}}}title"),
                "published": iso_from_text(_text(item, f"{{{_NEWS_NS}}}publication_date")),
                "publication": _text(item, f"{{{_NEWS_NS}}}publication/{{{_NEWS_NS}}}name"),
                "language": _text(item, f"{{{_NEWS_NS}}}publication/{{{_NEWS_NS}}}language"),
            }
        entries.append(SitemapEntry(loc, lastmod=iso_from_text(_text(node, "{*}lastmod")), **fields))
    return ParsedSitemap(url, kind, entries=tuple(entries), news=news)


def parse_since(value: str | None, now: dt.datetime) -> dt.datetime:
    """The oldest entry date fetched: ``--since`` as a duration back from ``now`` (``2d``,
    ``36h``, ``90m``) or an ISO date or time (UTC when it has no offset); default two days."""
    if not value:
        return now - DEFAULT_SINCE
    duration = _DURATION.match(value)
    if duration:
        amount, unit = float(duration.group(1)), duration.group(2).lower()
        return now - dt.timedelta(**{{"d": "days", "h": "hours", "m": "minutes"}[unit]: amount})
    stamp = iso_from_text(value)
    if stamp is None:
        raise ValueError(f"--since {value!r}: give a duration (2d, 36h, 90m) or an ISO date or time")
    return dt.datetime.fromisoformat(stamp)


def entry_key(entry: SitemapEntry) -> str:
    """An entry's identity across polls, as ``transforms.core.feeds.item_key`` sees its item."""
    return entry.loc


def sitemap_items(
    parsed: ParsedSitemap, since: dt.datetime, seen: Sequence[str] | frozenset
) -> tuple[list[FeedItem], list[SitemapEntry], int, int]:
    """The entries to fetch: recent (their date not before ``since``; undated ones count as
    recent), not seen in an earlier poll, at most MAX_NEW_ENTRIES.

    Returns the new items, every recent entry (for the cursor), and the counts of old entries
    and of new ones left for the next poll.
    """
    items: list[FeedItem] = []
    recent: list[SitemapEntry] = []
    old = later = 0
    keys: set[str] = set()
    for entry in parsed.entries:
        when = entry.when
        if when and dt.datetime.fromisoformat(when) < since:
            old += 1
            continue
        key = entry_key(entry)
        if key in keys:
            continue
        keys.add(key)
        if key in seen:
            recent.append(entry)
            continue
        if len(items) >= MAX_NEW_ENTRIES:
            later += 1
            continue
        recent.append(entry)
        items.append(
            FeedItem(
                feed_url=parsed.url,
                link=entry.loc,
                guid=None,
                title=entry.title,
                author=None,
                published=entry.published,
                summary=None,
                content=None,
                categories=(),
                feed_title=entry.publication,
            )
        )
    return items, recent, old, later
