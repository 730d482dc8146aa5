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

from schemas.layout import LakeLayout
from transforms.core.schedule import FeedCursor
from transforms.lake.files import read_json, write_json_atomic

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
