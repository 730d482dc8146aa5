"""The site memory's files: ``state/sites/part-<run_id>-….parquet``, read at run start.

Every run (and every window of a stream) writes the line counts of its documents per site as
one segment (``SITE_LINES_SCHEMA``: site, line key, documents, last seen), through the
pipeline's ``WriteParquet`` with the run id as prefix, so the segment is part of the run's
commit: the lake's reconciliation (``transforms.lake.commit``) deletes the segments of a run
that never committed, like the dedup index's. ``ReadSiteMemory`` sums the segments seen
within the age bound into one ``SiteTable`` per site; ``transforms.lake.index`` merges the
segments once there are many, dropping old rows and all but the most held keys of each
site. Sample row::

    {"site": "gazette.example", "key": "9f2c0e1d7a6b5c4d", "docs": 3, "last_seen": 2026-11-22T03:54Z}
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Iterator

import apache_beam as beam
from apache_beam.metrics import Metrics

from transforms.core.sites import DOCS_KEY, MAX_KEYS_PER_SITE, SiteTable, site_table
from transforms.lake.files import read_state_table, rows_since, segment_files

__all__ = ["ReadSiteMemory"]

# One site's rows of one segment: its line keys, and the documents that held each.
SiteRows = tuple[list[str], list[int]]

_LOGGER = logging.getLogger(__name__)


def read_segment(readable, not_before: dt.datetime) -> Iterator[tuple[str, SiteRows]]:
    """``(site, (keys, docs))`` per site of one segment, from its rows seen since ``not_before``.

    Columnar: a mature memory holds up to ``MAX_KEYS_PER_SITE`` rows for each of its sites, and
    every run reads all of them; one element a site, not a row, crosses into Beam.
    """
    table = read_state_table(readable.metadata.path, "site memory segment")
    recent = rows_since(table, "last_seen", not_before)
    grouped = recent.group_by("site", use_threads=False).aggregate([("key", "list"), ("docs", "list")])
    for site, keys, docs in zip(
        grouped.column("site").to_pylist(),
        grouped.column("key_list").to_pylist(),
        grouped.column("docs_list").to_pylist(),
        strict=True,
    ):
        yield site, (keys, docs)


class _ReadSegmentFn(beam.DoFn):
    def __init__(self, not_before: dt.datetime) -> None:
        self._not_before = not_before
        self._rows = Metrics.counter(self.__class__, "site_memory_rows_loaded")

    def process(self, readable) -> Iterator[tuple[str, SiteRows]]:
        for site, (keys, docs) in read_segment(readable, self._not_before):
            self._rows.inc(len(keys))
            yield site, (keys, docs)


def _site_rows(segments: Iterable[SiteRows]) -> Iterator[tuple[str, int]]:
    """``(key, docs)`` rows of a site's segments, one after the other."""
    for keys, docs in segments:
        yield from zip(keys, docs, strict=True)


class ReadSiteMemory(beam.PTransform):
    """``(site, SiteTable)`` of the memory's segments in ``folder`` seen since ``not_before``."""

    def __init__(self, folder: str, not_before: dt.datetime, max_keys: int = MAX_KEYS_PER_SITE) -> None:
        super().__init__()
        self._folder = folder
        self._not_before = not_before
        self._max_keys = max_keys

    def expand(self, pbegin):
        return (
            segment_files(pbegin, self._folder, "Site")
            | "ParseSiteRows" >> beam.ParDo(_ReadSegmentFn(self._not_before))
            | "GroupSiteRows" >> beam.GroupByKey()
            | "BuildSiteTables"
            >> beam.MapTuple(lambda site, segments: (site, site_table(_site_rows(segments), self._max_keys)))
        )


def table_rows(site: str, table: SiteTable, seen_at: dt.datetime) -> Iterator[dict]:
    """The segment rows that record one site's counts of a run."""
    yield {"site": site, "key": DOCS_KEY, "docs": table.docs, "last_seen": seen_at}
    for key, docs in table.counts.items():
        yield {"site": site, "key": key, "docs": docs, "last_seen": seen_at}
