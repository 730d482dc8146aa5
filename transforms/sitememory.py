"""The site memory's files: ``state/sites/part-<run_id>-….parquet``, read at run start, bounded after commit.

Every run (and every window of a stream) writes the line counts of its documents per site as
one segment (``SITE_LINES_SCHEMA``: site, line key, documents, last seen), through the
pipeline's ``WriteParquet`` with the run id as prefix, so the segment is part of the run's
commit: ``transforms/commit.py``'s reconciliation deletes the segments of a run that never
committed, like the dedup index's. ``ReadSiteMemory`` sums the segments seen within the age
bound into one ``SiteTable`` per site; ``compact_site_memory`` merges the segments once there
are many, dropping old rows and all but the most held keys of each site. Sample row::

    {"site": "gazette.example", "key": "9f2c0e1d7a6b5c4d", "docs": 3, "last_seen": 2026-11-22T03:54Z}
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems
from apache_beam.metrics import Metrics

from transforms.core.sites import DOCS_KEY, MAX_KEYS_PER_SITE, SiteTable, bound_rows, site_table
from transforms.write import INPROGRESS_SUFFIX, join_path

_LOGGER = logging.getLogger(__name__)

# Segments (one per run, or per window of a stream) are merged once there are more than this
# many, so that loading the memory stays a few file reads.
MAX_SEGMENTS = 16
# Name of the folder inside the state folder.
FOLDER = "sites"


def memory_folder(state: str) -> str:
    return join_path(state, FOLDER)


def read_segment(readable, not_before: dt.datetime) -> Iterator[tuple[tuple[str, str], int]]:
    """``((site, key), docs)`` of one segment's rows seen since ``not_before``."""
    import pyarrow.parquet as pq

    with readable.open() as stream:
        table = pq.read_table(stream)
    for row in table.to_pylist():
        if row["last_seen"] >= not_before:
            yield (row["site"], row["key"]), row["docs"]


class _ReadSegmentFn(beam.DoFn):
    def __init__(self, not_before: dt.datetime) -> None:
        self._not_before = not_before
        self._rows = Metrics.counter(self.__class__, "site_memory_rows_loaded")

    def process(self, readable) -> Iterator[tuple[tuple[str, str], int]]:
        for row in read_segment(readable, self._not_before):
            self._rows.inc()
            yield row


def _to_site(site_key_docs: tuple[tuple[str, str], int]) -> tuple[str, tuple[str, int]]:
    (site, key), docs = site_key_docs
    return site, (key, docs)


class ReadSiteMemory(beam.PTransform):
    """``(site, SiteTable)`` of the memory's segments in ``folder`` seen since ``not_before``."""

    def __init__(self, folder: str, not_before: dt.datetime, max_keys: int = MAX_KEYS_PER_SITE) -> None:
        super().__init__()
        self._pattern = folder.rstrip("/") + "/*.parquet"
        self._not_before = not_before
        self._max_keys = max_keys

    def expand(self, pbegin):
        from apache_beam.io import fileio

        return (
            pbegin
            | "MatchSiteSegments" >> fileio.MatchFiles(self._pattern, empty_match_treatment="ALLOW")
            | "ReadSiteSegments" >> fileio.ReadMatches()
            | "ParseSiteRows" >> beam.ParDo(_ReadSegmentFn(self._not_before))
            | "SumSiteRows" >> beam.CombinePerKey(sum)
            | "KeyBySite" >> beam.Map(_to_site)
            | "GroupSiteRows" >> beam.GroupByKey()
            | "BuildSiteTables" >> beam.MapTuple(lambda site, rows: (site, site_table(rows, self._max_keys)))
        )


def table_rows(site: str, table: SiteTable, seen_at: dt.datetime) -> Iterator[dict]:
    """The segment rows that record one site's counts of a run."""
    yield {"site": site, "key": DOCS_KEY, "docs": table.docs, "last_seen": seen_at}
    for key, docs in table.counts.items():
        yield {"site": site, "key": key, "docs": docs, "last_seen": seen_at}


def compact_site_memory(folder: str, not_before: dt.datetime, max_keys: int = MAX_KEYS_PER_SITE) -> int:
    """Merge the memory's segments into one, bounded in age and in keys per site.

    Runs under the lake's lock after a commit, like ``compact_index``. Crash-safe: the merged
    file appears by rename before the old segments go, so a crash leaves counts twice (a line
    looks more repeated for a while), never missing. Returns the number of segments merged.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    from schemas.parquet import SITE_LINES_SCHEMA
    from transforms.commit import COMPACTED_RUN
    from transforms.write import write_table

    try:
        segments = sorted(
            m.path for m in FileSystems.match([join_path(folder, "*.parquet")])[0].metadata_list
        )
    except Exception:  # noqa: BLE001 - no memory yet
        return 0
    if len(segments) <= MAX_SEGMENTS:
        return 0
    rows: list[dict] = []
    for path in segments:
        with FileSystems.open(path) as stream:
            rows.extend(pq.read_table(stream).to_pylist())
    kept = bound_rows(rows, not_before, max_keys)
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    final = join_path(folder, f"part-{COMPACTED_RUN}-{stamp}-00000.parquet")
    hidden = join_path(folder, f".part-{COMPACTED_RUN}-{stamp}-00000.parquet{INPROGRESS_SUFFIX}")
    write_table(hidden, pa.Table.from_pylist(kept, schema=SITE_LINES_SCHEMA))
    FileSystems.rename([hidden], [final])
    FileSystems.delete(segments)
    _LOGGER.info("merged %d site memory segments into %s (%d rows)", len(segments), final, len(kept))
    return len(segments)
