"""Poll feeds in Beam: fetch each source politely, parse it, emit its new entries.

Consumes feed sources (URLs, saved feed files); emits new ``FeedItem`` records on
``items``, one ``FeedPoll`` per poll on ``polls`` and a ``Reject`` per failed feed on
``rejects``. A source that is an OPML list, or a page announcing its feed, is followed
one level. A sitemap is polled like a feed (``transforms.core.sitemaps``): a robots.txt lists
its ``Sitemap:`` lines, an index its sitemaps (followed to ``SITEMAP_DEPTH`` levels), and a
URL set's recent entries (``--since``) are new items. Parsing is ``transforms.core.feeds``;
scheduling ``transforms.core.schedule``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator, Sequence

import apache_beam as beam
from apache_beam import coders
from apache_beam.metrics import Metrics
from apache_beam.transforms.userstate import ReadModifyWriteStateSpec

from schemas.records import FeedPoll, Reject
from transforms.core.feed_sources import document_kind, is_remote
from transforms.core.feeds import FeedError, item_key, parse_feed
from transforms.core.http import Fetcher
from transforms.core.schedule import FeedCursor, advance_cursor
from transforms.core.sitemaps import (
    SITEMAP_DEPTH,
    gunzip,
    is_robots_url,
    sitemap_kind,
)
from transforms.feed_listing import LISTED_TAG, POLLS_TAG, SITEMAP_KINDS, Fetched, ListingSources
from transforms.lake.files import match, read_bytes
from transforms.rejects import REJECTS_TAG, rejected

__all__ = ["ITEMS_TAG", "LISTED_TAG", "POLLS_TAG", "PollFeeds", "REJECTS_TAG"]

ITEMS_TAG = "items"


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _read_file_source(path: str, etag: str | None) -> Fetched:
    """A saved feed polled from its file: unchanged size and time stand for a 304."""
    try:
        meta = match(path)[0]
        stamp = f"{meta.size_in_bytes}-{meta.last_updated_in_seconds}"
        if stamp == etag:
            return Fetched(None, path, etag=etag, not_modified=True)
        return Fetched(read_bytes(path), path, etag=stamp)
    except (OSError, IndexError, ValueError) as error:
        return Fetched(None, path, error="unreadable", detail=str(error)[:300])


class _PollFeedFn(ListingSources, beam.DoFn):
    """Fetches and parses one feed; emits its new entries, its poll record and any reject.

    A source that turns out to be an OPML list, or an HTML page announcing its feed, emits
    the feeds it names on ``listed`` (when ``expand``) for the next poll step.
    """

    def __init__(
        self,
        policy,
        cursors: dict,
        run_id: str,
        ingested_at: dt.datetime | None,
        *,
        expand: bool = True,
        due_within: float | None = None,
        sitemap_levels: int = SITEMAP_DEPTH,
        since: str | None = None,
        sitemaps: frozenset = frozenset(),
    ) -> None:
        self._policy = policy
        # Sitemap index levels still followed from here (0: an index is not followed).
        self._sitemap_levels = sitemap_levels
        # --since: the oldest sitemap entry fetched (None: the last two days).
        self._since = since
        # Sources given as sitemaps (--sitemaps), for their kind when their poll fails.
        self._sitemaps = sitemaps
        # feed URL -> FeedCursor of earlier runs: validators and the entries already seen.
        self._cursors = cursors
        self._run_id = run_id
        # None in a streaming job: each poll is stamped with its own time.
        self._ingested_at = ingested_at
        self._expand = expand
        # Listed feeds are polled only when due (this run's longest interval); None: always.
        self._due_within = due_within
        self._read = Metrics.counter(self.__class__, "read")
        self._new = Metrics.counter(self.__class__, "new_items")
        self._skipped = Metrics.counter(self.__class__, "skipped_seen_items")
        self._not_modified = Metrics.counter(self.__class__, "feeds_not_modified")
        self._failed = Metrics.counter(self.__class__, "feeds_failed")
        self._listed = Metrics.counter(self.__class__, "feeds_listed")
        self._not_due = Metrics.counter(self.__class__, "feeds_not_due")
        self._old_entries = Metrics.counter(self.__class__, "sitemap_entries_before_since")
        self._later_entries = Metrics.counter(self.__class__, "sitemap_entries_left_for_next_poll")

    def setup(self) -> None:
        self._fetcher = Fetcher(self._policy)
        self._seen_sets: dict[str, frozenset] = {}

    def teardown(self) -> None:
        self._fetcher.close()

    def _seen(self, feed_url: str, cursor) -> frozenset:
        if feed_url not in self._seen_sets:
            self._seen_sets[feed_url] = frozenset(cursor.seen) if cursor else frozenset()
        return self._seen_sets[feed_url]

    def process(self, feed_url: str) -> Iterator:
        cursor = self._cursors.get(feed_url)
        if self._due_within is not None and cursor is not None and not cursor.due(_now(), self._due_within):
            self._not_due.inc()
            return
        yield from self.poll(feed_url, cursor, self._seen(feed_url, cursor))

    def _get(self, feed_url: str, cursor) -> Fetched:
        etag = cursor.etag if cursor else None
        if not is_remote(feed_url):
            return _read_file_source(feed_url, etag)
        result = self._fetcher.fetch(
            feed_url, kind="feed", etag=etag, last_modified=cursor.last_modified if cursor else None
        )
        return Fetched(
            result.content,
            result.final_url,
            result.encoding,
            result.etag,
            result.last_modified,
            result.not_modified,
            result.error,
            result.detail,
            result.retry_after,
        )

    def poll(self, feed_url: str, cursor, seen: frozenset) -> Iterator:
        polled_at = _now().isoformat()
        result = self._get(feed_url, cursor)
        kind = self._kind(feed_url, cursor)
        if result.not_modified:
            self._not_modified.inc()
            listed = cursor.feeds if cursor else ()
            if kind in SITEMAP_KINDS:
                yield from self._list_sitemaps(listed)
            else:
                yield from self._list(listed)
            yield beam.pvalue.TaggedOutput(
                POLLS_TAG,
                FeedPoll(
                    feed_url,
                    "not_modified",
                    polled_at,
                    etag=result.etag,
                    last_modified=result.last_modified,
                    feeds=listed,
                    kind=kind,
                ),
            )
            return
        if result.error:
            yield from self._failure(
                feed_url, polled_at, result.error, result.detail, result.retry_after, kind=kind
            )
            return
        try:
            # A gzipped sitemap (.xml.gz) or saved feed, served as a file rather than encoded.
            content = gunzip(result.content or b"", self._policy.max_bytes)
        except FeedError as error:
            yield from self._failure(feed_url, polled_at, error.reason, error.detail, kind=kind)
            return
        if is_robots_url(feed_url) or sitemap_kind(content):
            yield from self._poll_sitemap(feed_url, polled_at, result, content, seen)
            return
        kind = document_kind(content)
        if kind in ("opml", "html") and self._expand:
            yield from self._expand_source(feed_url, polled_at, result, kind)
            return
        try:
            parsed = parse_feed(content, result.final_url, encoding=result.encoding)
        except FeedError as error:
            yield from self._failure(feed_url, polled_at, error.reason, error.detail)
            return
        new, keys = 0, set()
        for item in parsed.items:
            key = item_key(item)
            if key in seen or key in keys:
                self._skipped.inc()
                continue
            keys.add(key)
            new += 1
            self._read.inc()
            self._new.inc()
            yield dataclasses.replace(item, feed_url=feed_url, feed_title=parsed.title)
        yield beam.pvalue.TaggedOutput(
            POLLS_TAG,
            FeedPoll(
                feed_url,
                "fetched",
                polled_at,
                etag=result.etag,
                last_modified=result.last_modified,
                item_keys=tuple(item_key(i) for i in parsed.items),
                item_times=tuple(i.published for i in parsed.items if i.published),
                new_items=new,
                ttl_seconds=parsed.ttl_seconds,
                detail=parsed.bozo_reason or "",
            ),
        )

    def _failure(
        self, feed_url, polled_at, reason, detail, retry_after=None, *, kind: str = "feed"
    ) -> Iterator:
        self._failed.inc()
        self._read.inc()  # a feed that yields nothing is one input, ending as one reject
        detail = (detail or "")[:500]
        at = self._ingested_at or _now()
        stage = "sitemap" if kind in SITEMAP_KINDS else "feed"
        yield rejected(self.__class__, Reject(feed_url, feed_url, stage, reason, detail, self._run_id, at))
        yield beam.pvalue.TaggedOutput(
            POLLS_TAG,
            FeedPoll(
                feed_url, "failed", polled_at, error=reason, detail=detail, retry_after=retry_after, kind=kind
            ),
        )


class _PollFeedStatefulFn(_PollFeedFn):
    """The streaming poll: each feed's cursor lives in keyed state, seeded from the state files.

    Runs in the global window (state is per key and window), on ``(feed_url, tick)``
    pairs from every impulse; a feed is polled only when its own interval has passed.
    """

    CURSOR = ReadModifyWriteStateSpec("cursor", coders.PickleCoder())

    def __init__(
        self,
        policy,
        cursors: dict,
        run_id: str,
        min_interval: float,
        max_interval: float,
        *,
        expand: bool,
        **sitemap_options,
    ) -> None:
        super().__init__(policy, cursors, run_id, None, expand=expand, **sitemap_options)
        self._min_interval = min_interval
        self._max_interval = max_interval

    def process(self, keyed: tuple[str, object], cursor_state=beam.DoFn.StateParam(CURSOR)) -> Iterator:  # noqa: B008
        feed_url, _ = keyed
        cursor = cursor_state.read() or self._cursors.get(feed_url) or FeedCursor()
        now = _now()
        if not cursor.due(now, self._max_interval):
            self._not_due.inc()
            return
        for output in self.poll(feed_url, cursor, frozenset(cursor.seen)):
            if isinstance(output, beam.pvalue.TaggedOutput) and output.tag == POLLS_TAG:
                cursor = advance_cursor(
                    cursor,
                    dataclasses.asdict(output.value),
                    now=_now(),
                    min_interval=self._min_interval,
                    max_interval=self._max_interval,
                )
            yield output
        cursor_state.write(cursor)


class PollFeeds(beam.PTransform):
    """Feed sources to new feed entries (``items``), poll records (``polls``) and ``rejects``.

    ``cursors`` maps a feed URL to its ``FeedCursor`` from earlier runs: conditional GETs,
    and entries already ingested are skipped. A source that is an OPML list, or an HTML
    page announcing its feed, is followed one level: the feeds it names are polled in the
    same run (when due, by ``max_interval``), each with its own cursor. Given
    ``stream_intervals`` (min, max seconds), the input is ``(feed_url, tick)`` pairs of a
    streaming job and cursors move on in keyed state between polls.

    Returns a dict of three PCollections: ``items``, ``polls``, ``rejects``.
    """

    def __init__(
        self,
        policy,
        cursors: dict,
        run_id: str,
        ingested_at: dt.datetime | None,
        *,
        max_interval: float | None = None,
        poll_now: bool = False,
        stream_intervals: tuple[float, float] | None = None,
        direct: Sequence[str] = (),
        since: str | None = None,
        sitemaps: Sequence[str] = (),
    ) -> None:
        super().__init__()
        self._stream = stream_intervals is not None
        # Feeds given directly are polled (or skipped as not due) in their own right.
        self._direct = frozenset(direct)
        # Level 0 polls the sources given; each next level polls what the one before listed:
        # OPML lists and pages are followed one level, sitemap indexes SITEMAP_DEPTH levels when
        # sitemaps are given (a sitemap given as a feed: one level, the graph of a feeds-only run).
        depth = SITEMAP_DEPTH if sitemaps else 1
        common = {"since": since, "sitemaps": frozenset(sitemaps)}
        levels = range(1, depth + 1)
        if stream_intervals:
            self._first = _PollFeedStatefulFn(
                policy, cursors, run_id, *stream_intervals, expand=True, sitemap_levels=depth, **common
            )
            self._levels = [
                _PollFeedStatefulFn(
                    policy,
                    cursors,
                    run_id,
                    *stream_intervals,
                    expand=False,
                    sitemap_levels=depth - level,
                    **common,
                )
                for level in levels
            ]
        else:
            self._first = _PollFeedFn(policy, cursors, run_id, ingested_at, sitemap_levels=depth, **common)
            due_within = None if poll_now else max_interval
            self._levels = [
                _PollFeedFn(
                    policy,
                    cursors,
                    run_id,
                    ingested_at,
                    expand=False,
                    due_within=due_within,
                    sitemap_levels=depth - level,
                    **common,
                )
                for level in levels
            ]

    def expand(self, feed_urls):
        first = feed_urls | "FetchAndParseFeeds" >> beam.ParDo(self._first).with_outputs(
            POLLS_TAG, REJECTS_TAG, LISTED_TAG, main=ITEMS_TAG
        )
        direct = self._direct
        stages, previous = [first], first
        for level, fn in enumerate(self._levels, start=1):
            # The first level keeps the names a one-level graph had.
            suffix = "" if level == 1 else str(level)
            listed = previous[LISTED_TAG] | f"SkipDirectFeeds{suffix}" >> beam.Filter(
                lambda url: url not in direct
            )
            if self._stream:
                listed = listed | f"KeyListedFeeds{suffix}" >> beam.Map(
                    lambda url: (url, 0.0)
                ).with_output_types(tuple[str, float])
            else:
                listed = listed | f"UniqueListedFeeds{suffix}" >> beam.Distinct()
            previous = listed | f"FetchAndParseListedFeeds{suffix}" >> beam.ParDo(fn).with_outputs(
                POLLS_TAG, REJECTS_TAG, LISTED_TAG, main=ITEMS_TAG
            )
            stages.append(previous)
        return {
            name: tuple(stage[name] for stage in stages) | f"Flatten{name.title()}" >> beam.Flatten()
            for name in (ITEMS_TAG, POLLS_TAG, REJECTS_TAG)
        }
