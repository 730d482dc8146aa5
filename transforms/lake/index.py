"""Segmented state in ``state/``: one Parquet segment per committed run, merged when many.

The dedup index (``state/dedup/``) and the site memory (``state/sites/``) grow by one
segment a run; after a commit, once there are more than ``MAX_SEGMENTS``, they are merged
into one, bounded (old entries dropped) on the way.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable

import pyarrow as pa
from apache_beam.io.filesystems import FileSystems

from schemas.layout import join_path
from schemas.parquet import INDEX_SCHEMA, SITE_LINES_SCHEMA
from transforms.core.sites import MAX_KEYS_PER_SITE, bound_rows
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
        return pa.Table.from_pylist(bound_rows(table.to_pylist(), not_before, max_keys), SITE_LINES_SCHEMA)

    return merge_segments(folder, SITE_LINES_SCHEMA, run_id, bounded)
