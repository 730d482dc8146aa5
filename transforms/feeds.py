"""Poll feeds in Beam: fetch each source politely, parse it, emit its new entries.

Consumes feed sources (URLs, saved feed files); emits new ``FeedItem`` records on
``items``, one ``FeedPoll`` per poll on ``polls`` and a ``Reject`` per failed feed on
``rejects``. A source that is an OPML list, or a page announcing its feed, is followed
one level. Parsing is ``transforms.core.feeds``; scheduling ``transforms.core.schedule``.
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
from transforms.core.feed_sources import discover_feeds, document_kind, is_remote, parse_opml
from transforms.core.feeds import FeedError, item_key, parse_feed
from transforms.core.http import Fetcher
from transforms.core.schedule import FeedCursor, advance_cursor
from transforms.lake.files import match, read_bytes
from transforms.rejects import REJECTS_TAG, rejected

ITEMS_TAG = "items"

POLLS_TAG = "polls"


LISTED_TAG = "listed"


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


@dataclasses.dataclass(frozen=True)
class _Fetched:
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


def _read_file_source(path: str, etag: str | None) -> _Fetched:
    """A saved feed polled from its file: unchanged size and time stand for a 304."""
    try:
        meta = match(path)[0]
        stamp = f"{meta.size_in_bytes}-{meta.last_updated_in_seconds}"
        if stamp == etag:
            return _Fetched(None, path, etag=etag, not_modified=True)
        return _Fetched(read_bytes(path), path, etag=stamp)
    except (OSError, IndexError, ValueError) as error:
        return _Fetched(None, path, error="unreadable", detail=str(error)[:300])


class _PollFeedFn(beam.DoFn):
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
    ) -> None:
        self._policy = policy
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

    def _get(self, feed_url: str, cursor) -> _Fetched:
        etag = cursor.etag if cursor else None
        if not is_remote(feed_url):
            return _read_file_source(feed_url, etag)
        result = self._fetcher.fetch(
            feed_url, kind="feed", etag=etag, last_modified=cursor.last_modified if cursor else None
        )
        return _Fetched(
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
        if result.not_modified:
            self._not_modified.inc()
            listed = cursor.feeds if cursor else ()
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
                ),
            )
            return
        if result.error:
            yield from self._failure(feed_url, polled_at, result.error, result.detail, result.retry_after)
            return
        content = result.content or b""
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

    def _expand_source(self, feed_url: str, polled_at: str, result: _Fetched, kind: str) -> Iterator:
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
        self._listed.inc(len(listed))
        yield from self._list(listed)
        yield beam.pvalue.TaggedOutput(
            POLLS_TAG,
            FeedPoll(
                feed_url,
                "listed",
                polled_at,
                etag=result.etag,
                last_modified=result.last_modified,
                detail=f"{kind}: {len(listed)} feed(s)",
                feeds=listed,
            ),
        )

    def _list(self, listed: Sequence[str]) -> Iterator:
        if self._expand:
            for url in listed:
                yield beam.pvalue.TaggedOutput(LISTED_TAG, url)

    def _failure(self, feed_url, polled_at, reason, detail, retry_after=None) -> Iterator:
        self._failed.inc()
        self._read.inc()  # a feed that yields nothing is one input, ending as one reject
        detail = (detail or "")[:500]
        at = self._ingested_at or _now()
        yield rejected(self.__class__, Reject(feed_url, feed_url, "feed", reason, detail, self._run_id, at))
        yield beam.pvalue.TaggedOutput(
            POLLS_TAG,
            FeedPoll(feed_url, "failed", polled_at, error=reason, detail=detail, retry_after=retry_after),
        )


class _PollFeedStatefulFn(_PollFeedFn):
    """The streaming poll: each feed's cursor lives in keyed state, seeded from the state files.

    Runs in the global window (state is per key and window), on ``(feed_url, tick)``
    pairs from every impulse; a feed is polled only when its own interval has passed.
    """

    CURSOR = ReadModifyWriteStateSpec("cursor", coders.PickleCoder())

    def __init__(
        self, policy, cursors: dict, run_id: str, min_interval: float, max_interval: float, *, expand: bool
    ) -> None:
        super().__init__(policy, cursors, run_id, None, expand=expand)
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
    ) -> None:
        super().__init__()
        self._stream = stream_intervals is not None
        # Feeds given directly are polled (or skipped as not due) in their own right.
        self._direct = frozenset(direct)
        if stream_intervals:
            self._first = _PollFeedStatefulFn(policy, cursors, run_id, *stream_intervals, expand=True)
            self._listed = _PollFeedStatefulFn(policy, cursors, run_id, *stream_intervals, expand=False)
        else:
            self._first = _PollFeedFn(policy, cursors, run_id, ingested_at)
            due_within = None if poll_now else max_interval
            self._listed = _PollFeedFn(
                policy, cursors, run_id, ingested_at, expand=False, due_within=due_within
            )

    def expand(self, feed_urls):
        first = feed_urls | "FetchAndParseFeeds" >> beam.ParDo(self._first).with_outputs(
            POLLS_TAG, REJECTS_TAG, LISTED_TAG, main=ITEMS_TAG
        )
        direct = self._direct
        listed = first[LISTED_TAG] | "SkipDirectFeeds" >> beam.Filter(lambda url: url not in direct)
        if self._stream:
            listed = listed | "KeyListedFeeds" >> beam.Map(lambda url: (url, 0.0)).with_output_types(
                tuple[str, float]
            )
        else:
            listed = listed | "UniqueListedFeeds" >> beam.Distinct()
        second = listed | "FetchAndParseListedFeeds" >> beam.ParDo(self._listed).with_outputs(
            POLLS_TAG, REJECTS_TAG, LISTED_TAG, main=ITEMS_TAG
        )
        return {
            name: (first[name], second[name]) | f"Flatten{name.title()}" >> beam.Flatten()
            for name in (ITEMS_TAG, POLLS_TAG, REJECTS_TAG)
        }
