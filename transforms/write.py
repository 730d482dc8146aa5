"""Write records as zstd Parquet, Hive-partitioned, through Beam FileSystems.

Consumes ``(partition, row)`` pairs (``partition`` is a relative folder such as
``date=2017-09-05/topic=conflict``, or ``""`` for an unpartitioned dataset); emits one
``WrittenFile(path="…/date=2017-09-05/topic=conflict/part-<run>-00000.parquet", rows=3)``
per file it committed.

In a windowed (streaming) pipeline the grouping fires once per window, at the
watermark, and a file's name carries its window's start and pane index
(``part-<run>-w20261122T100500Z-p0-<tag>-00000.parquet``), so a later window never
overwrites an earlier one and a retried pane rewrites its own names. In the global
window (batch) names stay ``part-<run>-<tag>-<index>``.

A reader never sees a partial file: each file is written under a hidden name
(``.part-….parquet.inprogress``, skipped by every reader's ``*.parquet`` glob and by
pyarrow's discovery) and renamed once complete, after a shuffle, so a retried bundle
only ever leaves behind hidden files that the next commit overwrites or removes.
Folders are created before the rename: ``fileio.WriteToFiles`` creates only its base
folder, and a rename into a missing folder fails silently on the local filesystem.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import posixpath
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import apache_beam as beam
import pyarrow as pa
from apache_beam.io.filesystems import FileSystems
from apache_beam.metrics import Metrics
from apache_beam.transforms.window import BoundedWindow, GlobalWindow
from apache_beam.utils.windowed_value import PaneInfo

from schemas.layout import join_path
from transforms.batches import InFlight
from transforms.lake.files import (
    INPROGRESS_SUFFIX,
    RowPacking,
    ensure_folder,
    pack_row,
    row_packing,
    rows_to_table,
    write_table,
)
from transforms.progress import tick

__all__ = ["WriteParquet", "WrittenFile", "file_name", "window_tag"]

_LOGGER = logging.getLogger(__name__)

# Rows per file before a partition rolls over to the next file: about 100-200 MB of
# news text at ~5 KB a row, the size Parquet readers scan best (compaction merges the
# small files that frequent runs leave).
MAX_ROWS_PER_FILE = 25_000
# Files a writer stages at once on a local file system, on threads: pyarrow encodes and
# compresses without the GIL and the file system calls wait on the disk, so the next partition's
# rows are converted meanwhile (a run writes thousands of small partitions: the cost is per
# file, not per row). Object stores get one writer thread, one file at a time: on a distributed
# runner other bundles keep the cores busy.
WRITE_THREADS = 2


@dataclasses.dataclass(frozen=True)
class WrittenFile:
    dataset: str
    partition: str
    path: str
    rows: int


def window_tag(window: BoundedWindow, pane: PaneInfo | None = None) -> str:
    """The window-and-pane part of a file name: ``""`` in the global window, where batch names stay as
    they were, else ``w<start, UTC>-p<pane index>``."""
    if isinstance(window, GlobalWindow):
        return ""
    start = getattr(window, "start", None)
    if start is None:  # a custom window without a start: its repr is stable enough to name it
        label = "w" + hashlib.blake2b(repr(window).encode(), digest_size=4).hexdigest()
    else:
        try:
            when = start.to_utc_datetime()
            fraction = f"{when.microsecond:06d}" if when.microsecond else ""
            label = f"w{when:%Y%m%dT%H%M%S}{fraction}Z"
        except (OverflowError, ValueError):  # outside datetime's range (windows near MIN_TIMESTAMP)
            label = f"w{start.micros}"
    return f"{label}-p{pane.index if pane is not None else 0}"


def file_name(prefix: str, partition: str, index: int, window: str = "") -> str:
    """A deterministic name, so that a retried write overwrites instead of adding.

    ``window`` (from ``window_tag``) keeps the files of different windows and panes apart.
    """
    tag = hashlib.blake2b(partition.encode(), digest_size=4).hexdigest()
    if window:
        return f"part-{prefix}-{window}-{tag}-{index:05d}.parquet"
    return f"part-{prefix}-{tag}-{index:05d}.parquet"


def _packed(
    partition_and_row: tuple[str, dict], packing: RowPacking, sort_key: Callable[[dict], Any] | None
) -> tuple[str, tuple[Any, tuple]]:
    """``(partition, (sort key, packed row))``: the row as it crosses the shuffle, its place in
    the file decided beforehand."""
    partition, row = partition_and_row
    return partition, (sort_key(row) if sort_key is not None else (), pack_row(row, packing))


def _sort_key(keyed: tuple[Any, tuple]) -> Any:
    return keyed[0]


def _stage_file(folder: str, hidden: str, table: pa.Table, staged: tuple) -> list[tuple]:
    ensure_folder(folder)
    write_table(hidden, table)
    return [staged]


class _WritePartitionFn(beam.DoFn):
    """Writes one partition's packed rows (``_packed``), in the order of their sort keys, to hidden
    files; emits (hidden path, final path, rows)."""

    def __init__(self, base: str, dataset: str, schema: pa.Schema, prefix: str):
        self._base = base
        self._dataset = dataset
        self._schema = schema
        self._prefix = prefix
        self._files = Metrics.counter(self.__class__, f"{dataset}_files_staged")
        self._threads: ThreadPoolExecutor | None = None
        self._in_flight: InFlight | None = None

    def setup(self) -> None:
        threads = WRITE_THREADS if "://" not in self._base else 1
        self._threads = ThreadPoolExecutor(threads, thread_name_prefix=f"write-{self._dataset}")

    def start_bundle(self) -> None:
        if self._in_flight is not None:
            # A failed bundle's files may still be being written: a retry must not race them.
            self._in_flight.abandon()
        self._in_flight = InFlight(2 * WRITE_THREADS)

    def process(
        self,
        partition_and_rows: tuple[str, Iterable[tuple[Any, tuple]]],
        window: BoundedWindow = beam.DoFn.WindowParam,
        timestamp=beam.DoFn.TimestampParam,
        pane: PaneInfo = beam.DoFn.PaneInfoParam,
    ) -> Iterator[tuple[str, str, str, int]]:
        partition, rows = partition_and_rows
        # Streaming fires this once per window and pane: names must differ between them.
        windowed = window_tag(window, pane)
        rows = [row for _, row in sorted(rows, key=_sort_key)]
        folder = join_path(self._base, partition)
        for index, start in enumerate(range(0, len(rows), MAX_ROWS_PER_FILE)):
            chunk = rows[start : start + MAX_ROWS_PER_FILE]
            final = join_path(folder, file_name(self._prefix, partition, index, windowed))
            hidden = join_path(folder, "." + posixpath.basename(final) + INPROGRESS_SUFFIX)
            staged = (partition, hidden, final, len(chunk))
            table = rows_to_table(chunk, self._schema)
            self._in_flight.add(
                self._threads.submit(_stage_file, folder, hidden, table, staged), window, timestamp, pane
            )
        yield from self._in_flight.emit(self._count)

    def finish_bundle(self) -> Iterator:
        yield from self._in_flight.emit(self._count, drain=True)

    def _count(self, staged: list[tuple]) -> list[tuple]:
        # Counters and progress here, in the bundle's thread: Beam's metrics belong to it.
        for _, _, _, rows in staged:
            self._files.inc()
            if self._dataset == "articles":
                tick("written", rows)
        return staged

    def teardown(self) -> None:
        if self._threads is not None:
            self._threads.shutdown(wait=True)


class _CommitFileFn(beam.DoFn):
    """Renames a finished file into place; idempotent, so a retry is harmless."""

    def __init__(self, dataset: str) -> None:
        self._dataset = dataset
        self._rows = Metrics.counter(self.__class__, f"{dataset}_rows_written")
        self._files = Metrics.counter(self.__class__, f"{dataset}_files_written")

    def process(self, staged: tuple[str, str, str, int]) -> Iterator[WrittenFile]:
        partition, hidden, final, rows = staged
        if FileSystems.exists(hidden):
            if FileSystems.exists(final):
                FileSystems.delete([final])
            FileSystems.rename([hidden], [final])
        elif not FileSystems.exists(final):
            raise OSError(f"staged file {hidden} vanished before its commit to {final}")
        self._rows.inc(rows)
        self._files.inc()
        yield WrittenFile(self._dataset, partition, final, rows)


class WriteParquet(beam.PTransform):
    """Writes ``(partition, row)`` pairs under ``base``; emits ``WrittenFile`` records.

    Windowed input (streaming) is written once per window, when the watermark passes its
    end (or per pane, with the input's trigger), into files named for the window and pane.

    ``prefix`` names this run's files (``part-<prefix>-…``); ``sort_key`` orders rows
    inside a file so that reruns write the same bytes.
    """

    def __init__(
        self,
        base: str,
        schema: pa.Schema,
        *,
        dataset: str,
        prefix: str,
        sort_key: Callable[[dict], Any] | None = None,
    ) -> None:
        super().__init__()
        self._base = base
        self._schema = schema
        self._dataset = dataset
        self._prefix = prefix
        self._sort_key = sort_key

    def expand(self, keyed_rows):
        return (
            keyed_rows
            | "PackRows" >> beam.Map(_packed, row_packing(self._schema), self._sort_key)
            | "GroupByPartition" >> beam.GroupByKey()
            | "StageFiles"
            >> beam.ParDo(_WritePartitionFn(self._base, self._dataset, self._schema, self._prefix))
            # The shuffle checkpoints the staged files: commits run once per file even
            # when a staging bundle is retried.
            | "CheckpointStaged" >> beam.Reshuffle()
            | "CommitFiles" >> beam.ParDo(_CommitFileFn(self._dataset))
        )
