"""The feed cursors, ``state/feeds.json``: read at a run's start, written after its commit.

Sample::

    {"version": 1, "feeds": {"https://example.org/rss": {
        "etag": "\\"abc\\"", "last_modified": "Tue, 05 Sep 2017 10:00:00 GMT",
        "seen": ["guid-1", "guid-2"], "item_times": ["2017-09-05T10:00:00+00:00"],
        "next_poll_at": "2017-09-05T11:00:00+00:00", "interval": 3600.0,
        "last_status": "fetched", "last_error": null, "consecutive_failures": 0,
        "last_success": "2017-09-05T10:00:05+00:00", "feeds": []}}}
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from schemas.layout import LakeLayout, join_path
from transforms.core.schedule import FeedCursor, advance_cursor
from transforms.lake.commit import run_of_polls
from transforms.lake.files import delete, match, read_json, write_json_atomic

STATE_VERSION = 1


def load_feed_cursors(layout: LakeLayout) -> dict[str, FeedCursor]:
    document = read_json(layout.feeds)
    if not document:
        return {}
    if document.get("version") != STATE_VERSION:
        raise ValueError(f"{layout.feeds}: state version {document.get('version')!r} is not {STATE_VERSION}")
    fields = {f.name for f in dataclasses.fields(FeedCursor)}
    cursors = {}
    for url, raw in document.get("feeds", {}).items():
        values = {k: tuple(v) if isinstance(v, list) else v for k, v in raw.items() if k in fields}
        cursors[url] = FeedCursor(**values)
    return cursors


def save_feed_cursors(layout: LakeLayout, cursors: dict[str, FeedCursor]) -> None:
    document = {
        "version": STATE_VERSION,
        "feeds": {url: dataclasses.asdict(cursor) for url, cursor in sorted(cursors.items())},
    }
    write_json_atomic(layout.feeds, document)


def _polls_files(layout: LakeLayout, run_id: str) -> list[str]:
    found = match(join_path(layout.polls, "*.json"))
    return sorted(m.path for m in found if run_of_polls(m.path.rsplit("/", 1)[-1]) == run_id)


def read_polls(layout: LakeLayout, run_id: str) -> list[dict]:
    polls: list[dict] = []
    for path in _polls_files(layout, run_id):
        polls.extend(read_json(path) or [])
    return sorted(polls, key=lambda poll: poll.get("polled_at") or "")


def fold_polls(layout: LakeLayout, run_id: str, bounds: tuple[float, float], now: dt.datetime) -> None:
    """Fold a committed run's feed polls into the cursors, then drop its polls files.

    ``bounds`` are the run's shortest and longest poll intervals (seconds).
    """
    paths = _polls_files(layout, run_id)
    if not paths:
        return
    cursors = load_feed_cursors(layout)
    low, high = bounds
    for poll in read_polls(layout, run_id):
        # The next poll counts from when this one happened, not from when its run committed.
        try:
            polled_at = dt.datetime.fromisoformat(poll["polled_at"])
        except (KeyError, TypeError, ValueError):
            polled_at = now
        cursors[poll["feed_url"]] = advance_cursor(
            cursors.get(poll["feed_url"]), poll, now=min(polled_at, now), min_interval=low, max_interval=high
        )
    save_feed_cursors(layout, cursors)
    delete(paths)


def sitemap_sources(cursors: dict[str, FeedCursor]) -> set[str]:
    """The cursors that are sitemaps: known as one, or listed by a robots.txt or an index
    (a child sitemap whose first poll failed could not tell from its content)."""
    kinds = ("sitemap", "robots")
    found = {url for url, cursor in cursors.items() if cursor.kind in kinds}
    for url in list(found):
        found.update(cursors[url].feeds)
    return found & set(cursors)


def feed_status(polls: list[dict]) -> dict[str, dict]:
    """Each feed's last poll of the run, with the new items of all its polls (a streaming
    run polls a feed many times)."""
    status: dict[str, dict] = {}
    for poll in polls:
        earlier = status.get(poll["feed_url"], {}).get("new_items", 0)
        status[poll["feed_url"]] = {
            "status": poll["status"],
            "new_items": earlier + poll.get("new_items", 0),
            "error": poll.get("error"),
            "detail": poll.get("detail") or "",
            "polled_at": poll.get("polled_at"),
            "feeds": list(poll.get("feeds") or ()),
            "kind": poll.get("kind") or "feed",
        }
    return status
