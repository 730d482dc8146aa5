"""Compaction's writer: small files' rows streamed into files of about the target size.

Rows are read one input row group at a time, gathered into row groups of
``ROW_GROUP_ROWS`` (as the pipeline's writer does), and a file rolls over when its bytes
written plus an estimate of what is pending reach ``target_bytes``. Each new file is
written under its hidden staged name; ``transforms.lake.compact`` renames it into place.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from apache_beam.io.filesystems import FileSystems

from schemas.layout import join_path
from transforms.lake.files import INPROGRESS_SUFFIX, ROW_GROUP_ROWS, parquet_writer

COMPACT_PREFIX = "part-compact-"  # reconciliation counts "compact" as a committed run
STAGED_PREFIX = ".compact-"
# A file rolls over once its real size reaches this share of the target: the estimate that triggers
# the check lands within a few percent once learnt, and waiting for 100% would mean one more tiny row
# group per file. Any value above 1/2 keeps compacted files out of the next compaction's small ones.
ROLL_FRACTION = 0.9


def merge(
    folder: str, files: list, schema: pa.Schema, *, target_bytes: int, stamp: str, first: int
) -> list[dict[str, Any]]:
    """Streams the files' row groups into new hidden files; returns their manifest entries."""
    written: list[dict[str, Any]] = []
    out: _Output | None = None
    pending: list[pa.Table] = []
    pending_rows = 0
    pending_bytes = 0.0
    # Output bytes per input byte, learnt from the row groups flushed so far: merged files compress
    # better than the small ones (one footer, longer dictionaries), so estimates shrink as we go.
    ratio, flushed_in, flushed_out = 1.0, 0.0, 0

    def flush(rows: int) -> None:
        nonlocal out, pending, pending_rows, pending_bytes, ratio, flushed_in, flushed_out
        if out is None:
            out = _Output(folder, stamp, first + len(written), schema)
        table = pa.concat_tables(pending)
        head, tail = table.slice(0, rows), table.slice(rows)
        share = pending_bytes * rows / max(pending_rows, 1)
        before = out.sink.written
        out.writer.write_table(head, row_group_size=ROW_GROUP_ROWS)
        flushed_in += share
        flushed_out += out.sink.written - before
        ratio = flushed_out / flushed_in if flushed_in else 1.0
        out.rows += head.num_rows
        pending = [tail] if tail.num_rows else []
        pending_rows -= rows
        pending_bytes = pending_bytes - share if pending_rows else 0.0

    def roll() -> None:
        nonlocal out
        if pending_rows:
            flush(pending_rows)
        if out is not None:
            written.append(out.close())
            out = None

    for table, size in _row_groups(folder, files):
        pending.append(table)
        pending_rows += table.num_rows
        pending_bytes += size
        while pending_rows >= ROW_GROUP_ROWS:
            flush(ROW_GROUP_ROWS)
        current = out.sink.written if out is not None else 0
        if current + pending_bytes * ratio >= target_bytes:
            # The estimate says the file is full: write what is pending and trust the real size. A
            # file closed short of the target would look small to the next compaction and be redone.
            flush(pending_rows)
            if out is not None and out.sink.written >= ROLL_FRACTION * target_bytes:
                roll()
    roll()
    if not written:  # only empty files: keep one (empty) file so the folder keeps its schema
        written.append(_Output(folder, stamp, first, schema).close())
    return written


def _row_groups(folder: str, files: list) -> Iterator[tuple[pa.Table, float]]:
    """Each row group of the files in order, with its share of the file's bytes (the size estimate)."""
    for f in files:
        with FileSystems.open(join_path(folder, f.name)) as stream:
            parquet = pq.ParquetFile(stream)
            total = max(parquet.metadata.num_rows, 1)
            for index in range(parquet.num_row_groups):
                table = parquet.read_row_group(index)
                yield table, f.size * table.num_rows / total


class _CountingSink:
    """A write stream that counts bytes, so files roll over on their real size whatever the store."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream
        self.written = 0

    @property
    def closed(self) -> bool:
        return self._stream.closed

    def write(self, data: Any) -> int:
        self._stream.write(data)
        size = memoryview(data).nbytes
        self.written += size
        return size

    def tell(self) -> int:
        return self.written

    def flush(self) -> None:
        self._stream.flush()

    def close(self) -> None:
        self._stream.close()

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False


class _Output:
    """One new file being written under its hidden name."""

    def __init__(self, folder: str, stamp: str, index: int, schema: pa.Schema) -> None:
        self.name = f"{COMPACT_PREFIX}{stamp}-{index:05d}.parquet"
        self.staged = f"{STAGED_PREFIX}{stamp}-{index:05d}.parquet{INPROGRESS_SUFFIX}"
        self.sink = _CountingSink(FileSystems.create(join_path(folder, self.staged)))
        self.writer = parquet_writer(self.sink, schema)
        self.rows = 0

    def close(self) -> dict[str, Any]:
        self.writer.close()
        self.sink.close()
        return {"name": self.name, "staged": self.staged, "rows": self.rows}
