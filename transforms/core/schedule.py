"""When a feed is polled next, and what its cursor remembers between polls.

Miniflux's entry-frequency rule sets a feed's interval; failed polls back off
exponentially; a cursor keeps the validators, the entries already seen and the feed's
health. Pure functions over ``FeedCursor`` values and poll records (``FeedPoll`` as a dict).

    advance_cursor(None, {"status": "fetched", "item_keys": ["g1"], ...}, now=now,
                   min_interval=300, max_interval=3600).next_poll_at -> "2026-11-22T05:00:00+00:00"
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

WEEK_SECONDS = 7 * 86_400
# Seen entry ids kept per feed: a feed shows its last 10-100 entries, so a few hundred
# cover every entry it can show again while bounding the file.
MAX_SEEN_PER_FEED = 1000
# Entry times kept per feed for the poll-interval rule (entries of the last week).
MAX_ITEM_TIMES = 500


@dataclasses.dataclass(frozen=True)
class FeedCursor:
    """What the last polls of one feed left for the next one."""

    etag: str | None = None
    last_modified: str | None = None
    seen: tuple[str, ...] = ()
    item_times: tuple[str, ...] = ()
    next_poll_at: str | None = None
    interval: float | None = None
    last_status: str | None = None
    last_error: str | None = None
    consecutive_failures: int = 0
    last_success: str | None = None
    # An OPML list's feeds, or the feed a page announced: what a 304 of this source still names.
    feeds: tuple[str, ...] = ()
    # "feed", "sitemap" (a sitemap or sitemap index) or "robots" (a robots.txt naming sitemaps).
    kind: str = "feed"

    def due(self, now: dt.datetime, max_interval: float | None = None) -> bool:
        """Whether the feed should be polled now.

        ``max_interval`` (this run's longest interval) brings a healthy feed's next poll
        forward when it is shorter than the interval the feed was last given; a failing
        feed keeps its backoff.
        """
        if not self.next_poll_at:
            return True
        next_poll = dt.datetime.fromisoformat(self.next_poll_at)
        if max_interval is not None and self.interval and self.last_status != "failed":
            last_poll = next_poll - dt.timedelta(seconds=self.interval)
            next_poll = min(next_poll, last_poll + dt.timedelta(seconds=max_interval))
        # Polls are ticks of a clock: one that comes a little early (the time the last
        # poll itself took) counts as on time, or every other tick would be skipped.
        slack = dt.timedelta(seconds=min(60.0, 0.25 * (self.interval or 0)))
        return next_poll - slack <= now


def next_poll_interval(
    item_times: Sequence[dt.datetime],
    now: dt.datetime,
    *,
    ttl_seconds: int | None = None,
    retry_after: float | None = None,
    minimum: float = 300,
    maximum: float = 86_400,
) -> float:
    """Seconds until a feed's next poll.

    Miniflux's entry-frequency rule: a week divided by the number of entries published
    in the last week, clamped to ``[minimum, maximum]`` (``maximum`` for a quiet feed),
    then never shorter than the feed's ttl or the server's Retry-After. Naive
    datetimes are taken as UTC.
    """

    def aware(value: dt.datetime) -> dt.datetime:
        return value if value.tzinfo is not None else value.replace(tzinfo=dt.timezone.utc)

    since = aware(now) - dt.timedelta(seconds=WEEK_SECONDS)
    recent = sum(1 for when in item_times if aware(when) >= since)
    interval = WEEK_SECONDS / recent if recent else maximum
    interval = min(max(interval, minimum), maximum)
    return float(max(interval, ttl_seconds or 0, retry_after or 0))


def bounded(values: Iterable[str], limit: int) -> tuple[str, ...]:
    """The last ``limit`` distinct values, in first-seen order."""
    unique = list(dict.fromkeys(values))
    return tuple(unique[-limit:])


# Failed polls back off exponentially from the base interval, up to this many doublings.
MAX_BACKOFF_DOUBLINGS = 6


def advance_cursor(
    cursor: FeedCursor | None,
    poll: dict[str, Any],
    *,
    now: dt.datetime,
    min_interval: float,
    max_interval: float,
) -> FeedCursor:
    """A feed's cursor after one poll (a ``FeedPoll`` as a dict), with its next poll time.

    Fetched: the entries it shows are seen, the validators kept, the interval adapted to
    how often the feed publishes. Not modified: only the next poll moves. Failed: the
    interval backs off exponentially, never shorter than the server's Retry-After.
    """
    cursor = cursor or FeedCursor()
    # A failed first poll cannot tell a sitemap from a feed: a known kind is kept.
    kind = poll.get("kind") or "feed"
    cursor = dataclasses.replace(
        cursor, kind=cursor.kind if kind == "feed" and poll["status"] == "failed" else kind
    )
    status = poll["status"]
    if status == "failed":
        failures = cursor.consecutive_failures + 1
        interval = min(max_interval, min_interval * 2 ** min(failures - 1, MAX_BACKOFF_DOUBLINGS))
        interval = max(interval, poll.get("retry_after") or 0)
        return dataclasses.replace(
            cursor,
            last_status="failed",
            last_error=f"{poll.get('error')}: {poll.get('detail') or ''}".strip(": "),
            consecutive_failures=failures,
            interval=interval,
            next_poll_at=(now + dt.timedelta(seconds=interval)).isoformat(),
        )
    if status == "listed":
        cursor = dataclasses.replace(
            cursor, etag=poll.get("etag"), last_modified=poll.get("last_modified"), feeds=tuple(poll["feeds"])
        )
    if status == "fetched":
        cursor = dataclasses.replace(
            cursor,
            etag=poll.get("etag"),
            last_modified=poll.get("last_modified"),
            seen=bounded(list(cursor.seen) + list(poll.get("item_keys") or ()), MAX_SEEN_PER_FEED),
            item_times=bounded(list(cursor.item_times) + list(poll.get("item_times") or ()), MAX_ITEM_TIMES),
        )
    times = []
    for value in cursor.item_times:
        try:
            times.append(dt.datetime.fromisoformat(value))
        except ValueError:
            continue
    interval = next_poll_interval(
        times, now, ttl_seconds=poll.get("ttl_seconds"), minimum=min_interval, maximum=max_interval
    )
    return dataclasses.replace(
        cursor,
        last_status=status,
        last_error=None,
        consecutive_failures=0,
        last_success=now.isoformat(),
        interval=interval,
        next_poll_at=(now + dt.timedelta(seconds=interval)).isoformat(),
    )
