"""The lake's files through Beam FileSystems (local, gs://, s3://): one listing, atomic writes.

Every other module lists, reads and writes the lake's and the state's files through
these few functions. Sample::

    write_json_atomic("lake/state/feeds.json", {...})   # hidden name, then a rename
    match("lake/runs/*.json")                            # [] for a folder that does not exist
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
import posixpath
import re
from collections.abc import Sequence
from typing import Any, NamedTuple

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from apache_beam.io.filesystem import BeamIOError
from apache_beam.io.filesystems import FileSystems

from schemas.layout import join_path
from schemas.parquet import DICTIONARY_COLUMNS

INPROGRESS_SUFFIX = ".inprogress"
COMPRESSION = "zstd"
# Rows per row group: readers skip row groups by statistics, so keep them a few MB.
ROW_GROUP_ROWS = 2_000
# Tables up to this size are encoded in memory and reach the file system in one write, not in
# arrow's ~120 small ones (pages, column chunks, footer), each a Python call into Beam's stream.
# On the pipeline's files of ~3-7 rows that saves 0.08-0.13 ms of ~2.3 ms CPU a file (issue 14;
# the rest is creating the file and encoding, half of that zstd). Past ~8 MB of table the
# buffer's growth costs more than those calls save (measured at 50 to 10,000 article rows), and
# the encoded file would sit in memory beside the table: larger tables (a 25,000-row file of
# long texts, a merged dedup index) stream into the file.
BUFFERED_TABLE_BYTES = 4 * 1024 * 1024


def match(pattern: str, limit: int | None = None) -> list:
    """The files a pattern matches (``FileMetadata``); none for a location that does not exist."""
    try:
        found = FileSystems.match([pattern], limits=[limit] if limit else None)[0]
    except Exception:  # noqa: BLE001 - Beam raises BeamIOError for a missing prefix or folder
        return []
    return found.metadata_list


def files_under(folder: str) -> list[str]:
    """Every file below ``folder``, recursively (hidden ones included)."""
    return [meta.path for meta in match(join_path(folder, "**"))]


def exists(path: str) -> bool:
    return FileSystems.exists(path)


def read_bytes(path: str) -> bytes:
    with FileSystems.open(path) as stream:
        return stream.read()


class DamagedFileError(ValueError):
    """A file newsflow wrote that it can no longer read (cut short by a copy that stopped,
    overwritten); the message names it and what to do. A ValueError, as ``json.loads`` raised
    before: readers that tolerate a half-written file (a lock) still catch it."""


def damaged_file(path: str, why: str) -> DamagedFileError:
    return DamagedFileError(f"{path} is damaged ({why}): restore it or move it away")


# pyarrow names the file it could not read: "Could not open Parquet input source '<path>': <why>.
# Either the file is corrupted ..." ('<Buffer>' when it was given a stream).
_ARROW_SOURCE_RE = re.compile(r"input source '([^']*)': ([^.]*)")


def damaged_parquet(error: Exception, where: str) -> DamagedFileError:
    """The ``DamagedFileError`` of pyarrow's ``ArrowInvalid`` on a Parquet file of ``where`` (the
    file, or the folder it was read from when pyarrow does not name the file)."""
    found = _ARROW_SOURCE_RE.search(str(error))
    if found is None:
        return damaged_file(where, str(error).splitlines()[0][:120])
    path, why = found.groups()
    return damaged_file(where if path == "<Buffer>" else path, why[:120])


def read_state_table(path: str, what: str, columns: Sequence[str] | None = None) -> pa.Table:
    """A Parquet file of the state, whole or only its ``columns``; ``DamagedFileError`` naming it
    as ``what`` when it can no longer be read."""
    try:
        with FileSystems.open(path) as stream:
            return pq.read_table(stream, columns=columns)
    except pa.ArrowInvalid as error:
        raise damaged_parquet(error, f"{what} {path}") from None


def rows_since(table: pa.Table, column: str, not_before: dt.datetime) -> pa.Table:
    """The rows of a state table whose ``column`` (a timestamp) is ``not_before`` or later: the
    age bound of the dedup index and of the site memory."""
    bound = pa.scalar(not_before, table.schema.field(column).type)
    return table.filter(pc.field(column) >= bound)


def segment_files(pbegin, folder: str, kind: str):
    """A state folder's segment files (``<folder>/*.parquet``), matched and opened, under the steps
    ``Match<kind>Segments`` and ``Read<kind>Segments`` (``kind``: "Index", "Site")."""
    from apache_beam.io import fileio

    return (
        pbegin
        | f"Match{kind}Segments"
        >> fileio.MatchFiles(folder.rstrip("/") + "/*.parquet", empty_match_treatment="ALLOW")
        | f"Read{kind}Segments" >> fileio.ReadMatches()
    )


def read_json(path: str) -> Any | None:
    """A JSON file's value; None when the file does not exist; ``DamagedFileError`` when it is
    no JSON."""
    if not FileSystems.exists(path):
        return None
    try:
        return json.loads(read_bytes(path).decode("utf-8"))
    except ValueError as error:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise damaged_file(path, str(error)[:120]) from None


def ensure_folder(folder: str) -> None:
    """Create a folder (object stores have none, and need none)."""
    if "://" in folder or FileSystems.exists(folder):
        return
    try:
        FileSystems.mkdirs(folder)
    except OSError:
        if not FileSystems.exists(folder):  # another worker made it meanwhile: fine
            raise


def write_json_atomic(path: str, value: Any) -> None:
    """Write JSON under a hidden name, then rename it into place."""
    folder, name = posixpath.split(path) if "://" in path else FileSystems.split(path)
    ensure_folder(folder)
    hidden = join_path(folder, f".{name}{INPROGRESS_SUFFIX}")
    with FileSystems.create(hidden) as stream:
        stream.write(json.dumps(value, indent=1, sort_keys=True, default=str).encode("utf-8"))
    if FileSystems.exists(path):
        FileSystems.delete([path])
    FileSystems.rename([hidden], [path])


def delete(paths: Sequence[str]) -> None:
    """Delete the paths that exist (a repeated delete is a no-op, as a repair needs)."""
    existing = [path for path in paths if FileSystems.exists(path)]
    if existing:
        FileSystems.delete(existing)


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
# One tick of each Arrow timestamp unit ("ns" is not a timedelta: its ticks are 1,000 "us").
_TICKS = {
    "s": dt.timedelta(seconds=1),
    "ms": dt.timedelta(milliseconds=1),
    "us": dt.timedelta(microseconds=1),
}


class RowPacking(NamedTuple):
    """How ``pack_row`` lays out the rows of one schema: its field names, and the positions of its
    timestamp fields with their unit."""

    names: tuple[str, ...]
    timestamps: tuple[tuple[int, str], ...]


def row_packing(schema: pa.Schema) -> RowPacking:
    return RowPacking(
        tuple(schema.names),
        tuple((i, field.type.unit) for i, field in enumerate(schema) if pa.types.is_timestamp(field.type)),
    )


def pack_row(row: dict[str, Any], packing: RowPacking) -> tuple:
    """A row as a tuple of plain values in its schema's field order, each timestamp as an integer
    count of its unit (a naive datetime read as UTC, as pyarrow reads it); ``rows_to_table``
    takes it as it takes the row, and keys outside the schema (partition columns) are left out.

    Rows cross Beam's shuffles in this form: its coder writes strings, numbers and tuples
    natively but pickles every datetime on its own. An article row crosses a shuffle in a third
    of the time, a site-memory row in a fifth (issue 14)."""
    values = [row.get(name) for name in packing.names]
    for i, unit in packing.timestamps:
        value = values[i]
        if isinstance(value, dt.datetime):
            since = (value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)) - _EPOCH
            values[i] = since // _TICKS["us"] * 1000 if unit == "ns" else since // _TICKS[unit]
    return tuple(values)


# Object stores whose Beam file system needs a client library, with the package extra that
# installs it (setup.py) and the module that shows it is there.
_STORE_EXTRAS = {"gs": ("gcp", "google.cloud.storage"), "s3": ("aws", "boto3")}


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ImportError:  # a parent package missing ("google" without "google.cloud")
        return False


def storage_problem(path: str) -> str | None:
    """Why files at ``path`` cannot be read or written here, in a few words; None when they can.

    Beam's own messages say neither which option is at fault nor what to install: an
    unregistered scheme "Unable to get filesystem ... pip install apache-beam[gcp]" (even for
    http://), s3:// without boto3 "Must provide one of client or options"."""
    scheme = path.split("://", 1)[0].lower() if "://" in path else ""
    if scheme in ("", "file"):
        return None
    if scheme in ("http", "https"):
        return "a web address, not a place for files (a local path, gs:// or s3://)"
    if scheme in _STORE_EXTRAS:
        extra, module = _STORE_EXTRAS[scheme]
        if not _installed(module):
            return f"{scheme}:// needs the {extra} extra: pip install 'newsflow[{extra}]'"
        return None
    try:
        FileSystems.get_filesystem(path)
    except (ValueError, ImportError, BeamIOError):  # not registered; registered, its client missing
        return f"no file system for {scheme}:// is installed (a local path, gs:// or s3://)"
    return None


def rows_to_table(rows: Sequence[dict[str, Any] | tuple], schema: pa.Schema) -> pa.Table:
    """The rows as a table of ``schema``: a missing key is a null, a key outside it (a partition
    column) is left out. Rows may also come packed by ``pack_row`` (all of them, not a mix)."""
    # The rows converted once, as structs, not column by column (28 conversions for an article
    # file): 0.025 ms an article instead of 0.059 on the pipeline's partitions of ~3 rows
    # (issue 14), the same table.
    structs = pa.array(rows, type=pa.struct(list(schema)))
    # Past 2 GB of strings the conversion returns its structs in chunks.
    chunks = structs.chunks if isinstance(structs, pa.ChunkedArray) else [structs]
    return pa.Table.from_batches([pa.RecordBatch.from_struct_array(chunk) for chunk in chunks], schema=schema)


def write_table(path: str, table: pa.Table) -> None:
    """Write one zstd Parquet file (callers write under a hidden name and rename it)."""
    # Not table.nbytes: on these small tables it costs as much as the buffer saves.
    if table.get_total_buffer_size() > BUFFERED_TABLE_BYTES:
        with FileSystems.create(path) as stream:
            _encode(table, stream)
        return
    encoded = pa.BufferOutputStream()
    _encode(table, encoded)
    with FileSystems.create(path) as stream:
        stream.write(encoded.getvalue())


def parquet_writer(sink: Any, schema: pa.Schema) -> pq.ParquetWriter:
    """The lake's one way to encode Parquet: zstd, statistics, dictionaries where values repeat."""
    dictionary = [name for name in schema.names if name in DICTIONARY_COLUMNS]
    return pq.ParquetWriter(
        sink, schema, compression=COMPRESSION, use_dictionary=dictionary or False, write_statistics=True
    )


def _encode(table: pa.Table, sink: Any) -> None:
    with parquet_writer(sink, table.schema) as writer:
        writer.write_table(table, row_group_size=ROW_GROUP_ROWS)


def os_reason(error: OSError) -> str:
    """The system's words for an I/O error, however deeply Beam's file systems wrapped it."""
    while error is not None:
        if getattr(error, "strerror", None):
            return error.strerror
        inner = error.args[0] if error.args and isinstance(error.args[0], BaseException) else None
        error = inner or error.__context__
    return "unknown error"
