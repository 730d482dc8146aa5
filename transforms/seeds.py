"""Read seed files in Beam: folders, files and globs, local or on object storage.

Consumes ``--seeds`` patterns; emits ``Article`` records with their raw ``text`` or
``html`` and, on ``rejects``, ``Reject`` records for inputs that cannot become one (the
parsing is ``transforms.core.seeds``). Sample: ``seeds/004_0af68bd507a69611.txt`` becomes
``Article(id="5c0e…", source="004_0af68bd507a69611.txt", text_source="seed_text", text="Tuesday, …")``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import glob
import os
from collections.abc import Iterable, Iterator, Sequence

import apache_beam as beam
from apache_beam.io import fileio
from apache_beam.io.filesystems import FileSystems
from apache_beam.metrics import Metrics

from schemas.records import Article, Reject
from transforms.core.seeds import (
    MAX_RECORD_BYTES,
    in_batch,
    is_jsonl,
    is_visible,
    parse_seed_file,
    pattern_root,
    read_jsonl_stream,
    too_large,
)
from transforms.core.warc import Skipped, is_warc, read_warc
from transforms.progress import tick
from transforms.rejects import REJECTS_TAG, rejected

__all__ = ["ReadSeeds", "list_seed_files", "match_seed_files"]


def list_seed_files(path: str) -> str:
    """The pattern that reads a seed folder (recursively), a file, or a glob, as given.

    Raises ``ValueError`` when a local path names nothing, so a typo is an error, not an
    empty run. A name that exists is escaped, so ``news [2017]`` is a folder, not a glob.
    """
    if path.startswith("file://"):
        path = path[len("file://") :]
    if "://" in path:
        if FileSystems.match([path])[0].metadata_list:
            return path
        # Object stores have no folders: a prefix that names no object is read as one.
        return path.rstrip("/") + "/**"
    if os.path.isdir(path):
        return glob.escape(path.rstrip("/")) + "/**"
    if os.path.exists(path):
        return glob.escape(path)
    if any(ch in path for ch in "*?["):
        return path
    raise ValueError(f"--seeds {path}: no such file or folder")


def match_seed_files(pattern: str) -> list:
    """The seed files a pattern matches (``FileMetadata``), hidden ones left out."""
    root = pattern_root(pattern)
    try:
        found = FileSystems.match([pattern])[0].metadata_list
    except Exception as error:  # noqa: BLE001 - Beam raises BeamIOError for an unreadable location
        raise ValueError(f"--seeds {pattern}: cannot list ({error})") from None
    return [m for m in found if is_visible(m.path, root)]


class _ReadSeedFileFn(beam.DoFn):
    def __init__(
        self,
        ingested_at: dt.datetime,
        run_id: str,
        batch: tuple[int, int] | None,
        max_record_bytes: int = MAX_RECORD_BYTES,
    ) -> None:
        self._ingested_at = ingested_at
        self._run_id = run_id
        self._batch = batch
        self._max_record_bytes = max_record_bytes
        self._read = Metrics.counter(self.__class__, "read")

    def process(self, readable: fileio.ReadableFile) -> Iterator:
        name = os.path.basename(readable.metadata.path)
        if is_warc(name):
            yield from self._emit(self._read_stream(readable, name, read_warc))
        elif is_jsonl(name):
            yield from self._emit(self._read_stream(readable, name, read_jsonl_stream))
        elif in_batch(name, self._batch):
            yield from self._emit(self._read_whole(readable, name))

    def _read_whole(self, readable: fileio.ReadableFile, name: str) -> Iterator[Article | Reject]:
        from apache_beam.io.filesystem import CompressionTypes

        size = readable.metadata.size_in_bytes
        # A gzipped page expands past its size: parse_seed_file caps the decompressed bytes.
        if not name.lower().endswith(".gz") and size > self._max_record_bytes:
            yield Reject(name, None, "read", "too_large", too_large(size, self._max_record_bytes).detail)
            return
        try:
            # The bytes as stored: parse_seed_file decompresses a .gz itself, with its cap.
            with readable.open(compression_type=CompressionTypes.UNCOMPRESSED) as stream:
                data = stream.read()
        except OSError as error:
            yield Reject(name, None, "read", "unreadable", str(error))
            return
        yield from parse_seed_file(
            name, data, self._ingested_at, self._batch, max_record_bytes=self._max_record_bytes
        )

    def _read_stream(self, readable: fileio.ReadableFile, name: str, reader) -> Iterator:
        """A JSONL or WARC file read record by record by ``reader`` (``read_jsonl_stream``,
        ``read_warc``), from the bytes as stored (the readers decompress with their own caps)."""
        from apache_beam.io.filesystem import CompressionTypes

        try:
            stream = readable.open(compression_type=CompressionTypes.UNCOMPRESSED)
        except OSError as error:
            if in_batch(name, self._batch):
                yield Reject(name, None, "read", "unreadable", str(error))
            return
        with stream:
            yield from reader(
                name, stream, self._ingested_at, self._batch, max_record_bytes=self._max_record_bytes
            )

    def _emit(self, records: Iterable[Article | Reject | Skipped]) -> Iterator:
        for record in records:
            if isinstance(record, Skipped):
                # Requests, metadata, warcinfo: no input, only counted.
                Metrics.counter(self.__class__, record.reason).inc()
                continue
            self._read.inc()
            tick("read")
            if isinstance(record, Reject):
                stamped = dataclasses.replace(record, run_id=self._run_id, rejected_at=self._ingested_at)
                yield rejected(self.__class__, stamped)
            else:
                yield dataclasses.replace(record, run_id=self._run_id)


class ReadSeeds(beam.PTransform):
    """Seed file patterns to articles; rejects on the ``rejects`` output.

    Hidden files and folders under a pattern's folder are skipped; a file matched by two
    patterns is read once.
    """

    def __init__(
        self,
        patterns: Sequence[str],
        ingested_at: dt.datetime,
        run_id: str,
        batch: tuple[int, int] | None = None,
        *,
        max_record_bytes: int = MAX_RECORD_BYTES,
    ) -> None:
        super().__init__()
        self._patterns = list(patterns)
        self._fn = _ReadSeedFileFn(ingested_at, run_id, batch, max_record_bytes)

    def expand(self, pbegin):
        return (
            pbegin
            | "SeedPatterns" >> beam.Create(self._patterns)
            | "MatchSeedFiles" >> beam.FlatMap(match_seed_files)
            | "KeySeedFilesByPath" >> beam.Map(lambda meta: (meta.path, meta))
            | "OneReadPerFile" >> beam.CombinePerKey(lambda metas: next(iter(metas)))
            | "SeedFileMetadata" >> beam.Values()
            | "ReadSeedFiles" >> fileio.ReadMatches(skip_directories=True)
            | "ParseSeedFiles" >> beam.ParDo(self._fn).with_outputs(REJECTS_TAG, main="articles")
        )
