"""The dedup index's segments in ``state/dedup/``: one per committed run, merged when many."""

from __future__ import annotations

import datetime as dt
import logging

import pyarrow as pa
import pyarrow.parquet as pq
from apache_beam.io.filesystems import FileSystems

from schemas.layout import join_path
from schemas.parquet import INDEX_SCHEMA
from transforms.lake.commit import COMPACTED_RUN
from transforms.lake.files import INPROGRESS_SUFFIX, match, write_table

_LOGGER = logging.getLogger(__name__)

# Index segments (one per run) are merged once there are more than this many, so that
# loading the index stays one or a few file reads.
MAX_INDEX_SEGMENTS = 16


def compact_index(folder: str, not_before: dt.datetime, run_id: str) -> int:
    """Merge the dedup index's segments into one, dropping entries older than the horizon.

    Runs under the lake's lock after ``run_id`` committed, before its journal entry ends.
    Crash-safe: the merged file is written under a hidden name of that run (swept up by
    reconciliation) and appears by rename before the old segments go, so a crash leaves
    entries twice (harmless), never missing. Returns the number of segments merged (0:
    nothing to do).
    """
    segments = sorted(m.path for m in match(join_path(folder, "*.parquet")))
    if len(segments) <= MAX_INDEX_SEGMENTS:
        return 0
    tables = []
    for path in segments:
        with FileSystems.open(path) as stream:
            tables.append(pq.read_table(stream).cast(INDEX_SCHEMA))
    merged = pa.concat_tables(tables)
    merged = merged.filter(
        pa.compute.greater_equal(
            merged["ingested_at"], pa.scalar(not_before, INDEX_SCHEMA.field("ingested_at").type)
        )
    )
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    final = join_path(folder, f"part-{COMPACTED_RUN}-{stamp}-00000.parquet")
    hidden = join_path(folder, f".part-{run_id}-index-merge.parquet{INPROGRESS_SUFFIX}")
    write_table(hidden, merged)
    FileSystems.rename([hidden], [final])
    FileSystems.delete(segments)
    _LOGGER.info("merged %d index segments into %s (%d entries)", len(segments), final, merged.num_rows)
    return len(segments)
