"""State kept between runs under ``<output>/state/``: the feed cursors.

Read and written through Beam FileSystems, so that ``gs://`` and ``s3://`` work as
well as local paths; written under a hidden name and renamed, so that a crash never
leaves a half-written state file. Sample of ``state/feeds.json``::

    {"version": 1, "feeds": {"https://example.org/rss": {
        "etag": "\\"abc\\"", "last_modified": "Tue, 05 Sep 2017 10:00:00 GMT",
        "seen": ["guid-1", "guid-2"], "item_times": ["2017-09-05T10:00:00+00:00"],
        "next_poll_at": "2017-09-05T11:00:00+00:00", "interval": 3600.0,
        "last_status": "fetched", "last_error": null, "consecutive_failures": 0,
        "last_success": "2017-09-05T10:00:05+00:00"}}}
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import posixpath
from collections.abc import Iterable
from typing import Any

from apache_beam.io.filesystems import FileSystems

from schemas.layout import join_path

STATE_VERSION = 1
FEEDS_FILE = "feeds.json"
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


def read_json(path: str) -> Any | None:
    if not FileSystems.exists(path):
        return None
    with FileSystems.open(path) as stream:
        return json.loads(stream.read().decode("utf-8"))


def write_json_atomic(path: str, value: Any) -> None:
    """Write JSON under a hidden name, then rename it into place."""
    folder, name = posixpath.split(path) if "://" in path else (FileSystems.split(path))
    if "://" not in folder and not FileSystems.exists(folder):
        FileSystems.mkdirs(folder)
    hidden = join_path(folder, f".{name}.inprogress")
    with FileSystems.create(hidden) as stream:
        stream.write(json.dumps(value, indent=1, sort_keys=True, default=str).encode("utf-8"))
    if FileSystems.exists(path):
        FileSystems.delete([path])
    FileSystems.rename([hidden], [path])


def load_feed_cursors(state_dir: str) -> dict[str, FeedCursor]:
    document = read_json(join_path(state_dir, FEEDS_FILE))
    if not document:
        return {}
    if document.get("version") != STATE_VERSION:
        raise ValueError(
            f"{state_dir}/{FEEDS_FILE}: state version {document.get('version')!r} is not {STATE_VERSION}"
        )
    fields = {f.name for f in dataclasses.fields(FeedCursor)}
    cursors = {}
    for url, raw in document.get("feeds", {}).items():
        values = {k: tuple(v) if isinstance(v, list) else v for k, v in raw.items() if k in fields}
        cursors[url] = FeedCursor(**values)
    return cursors


def save_feed_cursors(state_dir: str, cursors: dict[str, FeedCursor]) -> None:
    document = {
        "version": STATE_VERSION,
        "feeds": {url: dataclasses.asdict(cursor) for url, cursor in sorted(cursors.items())},
    }
    write_json_atomic(join_path(state_dir, FEEDS_FILE), document)


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
    from transforms.feeds import next_poll_interval

    cursor = cursor or FeedCursor()
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
