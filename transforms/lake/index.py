"""Segmented state in ``state/``: one Parquet segment per committed run, merged when many.

The dedup index (``state/dedup/``) and the site memory (``state/sites/``) grow by one
segment a run; after a commit, once there are more than ``MAX_SEGMENTS``, they are merged
into one, bounded (old entries dropped) on the way.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from apache_beam.io.filesystems import FileSystems

from schemas.layout import join_path
from schemas.parquet import INDEX_SCHEMA, SITE_LINES_SCHEMA
from transforms.core.sites import DOCS_KEY, MAX_KEYS_PER_SITE
from transforms.lake.commit import COMPACTED_RUN
from transforms.lake.files import INPROGRESS_SUFFIX, match, read_state_table, rows_since, write_table

_LOGGER = logging.getLogger(__name__)

# Segments are merged once there are more than this many, so that loading them stays one
# or a few file reads.
MAX_SEGMENTS = 16


def merge_segments(folder: str, schema: pa.Schema, run_id: str, bound: Callable[[pa.Table], pa.Table]) -> int:
    """Merge a folder's segments into one, ``bound`` applied to the rows; returns how many merged.

    Runs under the lake's lock after ``run_id`` committed, before its journal entry ends.
    Crash-safe: the merged file is written under a hidden name of that run (swept up by
    reconciliation) and appears by rename before the old segments go, so a crash leaves
    rows twice (harmless for both uses), never missing.
    """
    segments = sorted(m.path for m in match(join_path(folder, "*.parquet")))
    if len(segments) <= MAX_SEGMENTS:
        return 0
    tables = []
    for path in segments:
        tables.append(read_state_table(path, "state segment").cast(schema))
    merged = bound(pa.concat_tables(tables))
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    final = join_path(folder, f"part-{COMPACTED_RUN}-{stamp}-00000.parquet")
    hidden = join_path(folder, f".part-{run_id}-merge.parquet{INPROGRESS_SUFFIX}")
    write_table(hidden, merged)
    FileSystems.rename([hidden], [final])
    FileSystems.delete(segments)
    _LOGGER.info("merged %d segments into %s (%d rows)", len(segments), final, merged.num_rows)
    return len(segments)


def compact_index(folder: str, not_before: dt.datetime, run_id: str) -> int:
    """The dedup index merged, entries ingested before ``not_before`` (the horizon) dropped."""

    def recent(table: pa.Table) -> pa.Table:
        return rows_since(table, "ingested_at", not_before)

    return merge_segments(folder, INDEX_SCHEMA, run_id, recent)


def compact_site_memory(
    folder: str, not_before: dt.datetime, run_id: str, max_keys: int = MAX_KEYS_PER_SITE
) -> int:
    """The site memory merged: one row per (site, line key), old rows and rare keys dropped."""

    def bounded(table: pa.Table) -> pa.Table:
        return bound_site_rows(table, not_before, max_keys)

    return merge_segments(folder, SITE_LINES_SCHEMA, run_id, bounded)


def bound_site_rows(table: pa.Table, not_before: dt.datetime, max_keys: int = MAX_KEYS_PER_SITE) -> pa.Table:
    """Site memory rows (``SITE_LINES_SCHEMA``) merged into one row per (site, key), those last
    seen before ``not_before`` dropped, and each site's keys bounded to its ``max_keys`` most
    held (then most recently seen); its documents row (``DOCS_KEY``) always stays. In columns:
    a mature memory holds up to ``max_keys`` rows for each of its sites, many segments of them.
    Rows come out by site, the documents row first, then the keys kept in that order."""
    grouped = (
        rows_since(table, "last_seen", not_before)
        .group_by(["site", "key"], use_threads=False)
        .aggregate([("docs", "sum"), ("last_seen", "max")])
    )
    merged = pa.table(
        {
            "site": grouped["site"],
            "key": grouped["key"],
            "docs": grouped["docs_sum"],
            "last_seen": grouped["last_seen_max"],
            "is_key": pc.not_equal(grouped["key"], DOCS_KEY),
        }
    ).sort_by(
        [
            ("site", "ascending"),
            ("is_key", "ascending"),  # the documents row first
            ("docs", "descending"),
            ("last_seen", "descending"),
            ("key", "ascending"),
        ]
    )
    # Each row's place among its site's keys (the documents row, first, is at -1).
    sites = merged["site"].to_numpy(zero_copy_only=False)
    starts = np.flatnonzero(np.r_[True, sites[1:] != sites[:-1]]) if len(sites) else np.zeros(0, np.intp)
    sizes = np.diff(np.r_[starts, len(sites)])
    has_docs = ~merged["is_key"].to_numpy(zero_copy_only=False)[starts]
    place = np.arange(len(sites)) - np.repeat(starts + has_docs, sizes)
    kept = merged.filter(pa.array(place < max_keys))
    return kept.drop_columns(["is_key"]).cast(SITE_LINES_SCHEMA)
