"""Sources that list other sources, for the feed poll: OPML lists, pages that announce a feed,
robots.txt ``Sitemap:`` lines, sitemap indexes, and a sitemap URL set's recent entries.

``ListingSources`` is a mixin of the poll DoFn (``transforms/feeds.py``): it emits what a
listing names on ``listed`` (for the next poll step), a sitemap's entries as items, and the
poll record; the parsing is pure (``transforms.core.feed_sources``, ``transforms.core.sitemaps``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator, Sequence

import apache_beam as beam

from schemas.records import FeedPoll
from transforms.core.feed_sources import discover_feeds, parse_opml
from transforms.core.feeds import FeedError
from transforms.core.sitemaps import (
    entry_key,
    is_robots_url,
    parse_since,
    parse_sitemap,
    robots_sitemaps,
    sitemap_items,
)

__all__ = ["Fetched", "LISTED_TAG", "ListingSources", "POLLS_TAG", "SITEMAP_KINDS"]

LISTED_TAG = "listed"
POLLS_TAG = "polls"
# Cursor kinds of sitemap sources.
SITEMAP_KINDS = ("sitemap", "robots")


@dataclasses.dataclass(frozen=True)
class Fetched:
    """A feed source's document, from HTTP or from a file, in the fetcher's terms."""

    content: bytes | None
    final_url: str
    encoding: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    not_modified: bool = False
    error: str | None = None
    detail: str = ""
    retry_after: float | None = None


class ListingSources:
    """The poll DoFn's handling of listing sources (it provides ``_failure`` and the
    counters ``_listed``, ``_read``, ``_new``, ``_skipped``, ``_old_entries``, ``_later_entries``)."""

    def _expand_source(self, feed_url: str, polled_at: str, result: Fetched, kind: str) -> Iterator:
        """An OPML list's feeds, or the feed a page announces (autodiscovery)."""
        content = result.content or b""
        if kind == "opml":
            try:
                listed = tuple(parse_opml(content))
            except FeedError as error:
                yield from self._failure(feed_url, polled_at, error.reason, error.detail)
                return
            if not listed:
                yield from self._failure(feed_url, polled_at, "no_entries", "an OPML list without feeds")
                return
        else:
            text = content.decode(result.encoding or "utf-8", errors="replace")
            listed = tuple(discover_feeds(text, result.final_url)[:1])
            if not listed:
                yield from self._failure(
                    feed_url, polled_at, "not_a_feed", "an HTML page that announces no feed"
                )
                return
        yield from self._listing(
            feed_url, polled_at, result, listed, f"{kind}: {len(listed)} feed(s)", "feed"
        )

    def _list(self, listed: Sequence[str]) -> Iterator:
        if self._expand:
            for url in listed:
                yield beam.pvalue.TaggedOutput(LISTED_TAG, url)

    def _list_sitemaps(self, listed: Sequence[str]) -> Iterator:
        if self._sitemap_levels > 0:
            for url in listed:
                yield beam.pvalue.TaggedOutput(LISTED_TAG, url)

    def _kind(self, feed_url: str, cursor) -> str:
        """What a source is, before its content says: a sitemap when given or known as one."""
        if is_robots_url(feed_url):
            return "robots"
        if cursor is not None and cursor.kind in SITEMAP_KINDS:
            return cursor.kind
        if feed_url in self._sitemaps or "sitemap" in feed_url.lower():
            return "sitemap"
        return "feed"

    def _poll_sitemap(self, feed_url: str, polled_at: str, result: Fetched, content: bytes, seen) -> Iterator:
        """A robots.txt's or an index's sitemaps (listed), or a URL set's recent entries (items)."""
        if is_robots_url(feed_url):
            kind, detail = "robots", "robots.txt"
            listed = tuple(robots_sitemaps(content.decode("utf-8", errors="replace"), result.final_url))
            if not listed:
                yield from self._failure(
                    feed_url, polled_at, "no_sitemaps", "a robots.txt that names no sitemap", kind=kind
                )
                return
        else:
            kind = "sitemap"
            try:
                parsed = parse_sitemap(content, result.final_url)
            except FeedError as error:
                yield from self._failure(feed_url, polled_at, error.reason, error.detail, kind=kind)
                return
            if parsed.kind == "urlset":
                yield from self._sitemap_entries(feed_url, polled_at, result, parsed, seen)
                return
            listed, detail = parsed.sitemaps, "sitemap index"
            if not listed:
                yield from self._failure(
                    feed_url, polled_at, "no_entries", "a sitemap index that lists no sitemap", kind=kind
                )
                return
        if self._sitemap_levels <= 0:
            yield from self._failure(
                feed_url, polled_at, "sitemap_depth", f"{detail} nested too deep to follow", kind=kind
            )
            return
        yield from self._listing(
            feed_url, polled_at, result, listed, f"{detail}: {len(listed)} sitemap(s)", kind
        )

    def _sitemap_entries(self, feed_url: str, polled_at: str, result: Fetched, parsed, seen) -> Iterator:
        since = parse_since(self._since, dt.datetime.now(dt.timezone.utc))
        parsed = dataclasses.replace(parsed, url=feed_url)
        items, recent, old, later = sitemap_items(parsed, since, seen)
        self._old_entries.inc(old)
        self._later_entries.inc(later)
        self._skipped.inc(len(recent) - len(items))
        for item in items:
            self._read.inc()
            self._new.inc()
            yield item
        label = "news sitemap" if parsed.news else "sitemap"
        yield beam.pvalue.TaggedOutput(
            POLLS_TAG,
            FeedPoll(
                feed_url,
                "fetched",
                polled_at,
                etag=result.etag,
                last_modified=result.last_modified,
                item_keys=tuple(entry_key(e) for e in recent),
                item_times=tuple(e.when for e in recent if e.when),
                new_items=len(items),
                detail=f"{label}: {len(parsed.entries)} entries, {old} before --since"
                + (f", {later} left for the next poll" if later else ""),
                kind="sitemap",
            ),
        )

    def _listing(
        self, feed_url: str, polled_at: str, result: Fetched, listed: tuple, detail: str, kind: str
    ) -> Iterator:
        """The sources a listing names (for the next poll step) and its poll record."""
        self._listed.inc(len(listed))
        yield from (self._list_sitemaps if kind in SITEMAP_KINDS else self._list)(listed)
        yield beam.pvalue.TaggedOutput(
            POLLS_TAG,
            FeedPoll(
                feed_url,
                "listed",
                polled_at,
                etag=result.etag,
                last_modified=result.last_modified,
                detail=detail,
                feeds=listed,
                kind=kind,
            ),
        )
