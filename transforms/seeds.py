"""Read seed documents: ``.txt`` articles, saved ``.html`` pages and ``.jsonl`` backfills.

Consumes file paths (a folder or a glob); emits ``Article`` records with their raw
``text`` or ``html`` and, on a tagged output, ``Reject`` records for inputs that cannot
become one. Sample: ``seeds/004_0af68bd507a69611.txt`` becomes
``Article(id="5c0e…", source="004_0af68bd507a69611.txt", text_source="seed_text", text="Tuesday, …")``.
"""

from __future__ import annotations

import codecs
import dataclasses
import datetime as dt
import glob
import gzip
import json
import logging
import os
import zlib
from collections.abc import Iterable, Iterator
from typing import BinaryIO

import apache_beam as beam
from apache_beam.io import fileio
from apache_beam.io.filesystems import FileSystems
from apache_beam.metrics import Metrics
from charset_normalizer import from_bytes

from schemas.records import Article, Reject, stable_id

_LOGGER = logging.getLogger(__name__)

TEXT_SUFFIXES = (".txt", ".text")
HTML_SUFFIXES = (".html", ".htm")
JSONL_SUFFIXES = (".jsonl", ".ndjson")
SUPPORTED_SUFFIXES = TEXT_SUFFIXES + HTML_SUFFIXES + JSONL_SUFFIXES  # each also gzipped (.gz)
REJECTS_TAG = "rejects"
# A gzipped seed may expand to at most this much (a JSONL backfill of ~100k articles).
MAX_SEED_BYTES = 1_000_000_000

# A decoded text with more than this share of control characters is binary, not text.
_MAX_CONTROL_SHARE = 0.01
_CONTROL = {chr(c) for c in range(32)} - {"\n", "\r", "\t", "\f"}
_UNICODE_BOMS = (
    (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xff\xfe", "utf-16-le"),
    (b"\xfe\xff", "utf-16-be"),
)
# JSONL fields that may carry a date, in order of preference.
_DATE_FIELDS = ("published", "date", "published_at", "pubdate")


class InputError(ValueError):
    """An input that cannot become an article; ``reason`` is its reject reason."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


def decode_bytes(data: bytes) -> str:
    """Decode a document: UTF-8 (with or without BOM) first, then charset detection.

    Raises ``InputError`` for empty and binary inputs.
    """
    if not data.strip():
        raise InputError("empty", "no content")
    for bom, encoding in _UNICODE_BOMS:
        # UTF-16/32 text is full of NUL bytes: decode it before the binary check.
        if data.startswith(bom):
            try:
                return data[len(bom) :].decode(encoding)
            except UnicodeDecodeError as error:
                raise InputError("binary", f"not valid {encoding}: {error}") from None
    if b"\x00" in data[:8192]:
        raise InputError("binary", "NUL bytes in content")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        best = from_bytes(data[:1_000_000]).best()
        if best is None:
            raise InputError("binary", "no text encoding fits") from None
        text = data.decode(best.encoding, errors="replace")
    sample = text[:20000]
    controls = sum(1 for ch in sample if ch in _CONTROL)
    if controls > _MAX_CONTROL_SHARE * len(sample):
        raise InputError("binary", f"{controls} control characters in the first {len(sample)}")
    return text


def _clean_str(value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, (str, int, float)):
        raise InputError("bad_field", f"expected a string, got {type(value).__name__}")
    text = str(value).strip()
    return text or None


def _gunzip(data: bytes) -> bytes:
    """A gzipped seed, decompressed with a cap: a gzip bomb is a reject, not an outage."""
    inflater = zlib.decompressobj(wbits=31)
    try:
        out = inflater.decompress(data, MAX_SEED_BYTES)
    except zlib.error as error:
        raise InputError("bad_gzip", str(error)) from None
    if inflater.unconsumed_tail:
        raise InputError("too_large", f"decompresses past {MAX_SEED_BYTES} bytes")
    return out


def parse_jsonl_record(line: str, source: str, ingested_at: dt.datetime) -> Article:
    """One JSONL backfill record to an article; raises ``InputError`` when it cannot be one."""
    try:
        record = json.loads(line)
    except (ValueError, RecursionError) as error:  # JSONDecodeError is a ValueError
        raise InputError("invalid_json", str(error)[:300] or type(error).__name__) from None
    if not isinstance(record, dict):
        raise InputError("invalid_json", f"expected an object, got {type(record).__name__}")
    text = record.get("text")
    html = record.get("html")
    if not (isinstance(text, str) and text.strip()) and not (isinstance(html, str) and html.strip()):
        raise InputError("no_content", "record has neither text nor html")
    url = _clean_str(record.get("url"))
    given_id = _clean_str(record.get("id"))
    # Every date field the record has, in order: an empty or unparseable one does not
    # hide the next (resolve_date takes the first that parses).
    dates = tuple((value, "metadata") for k in _DATE_FIELDS if (value := _clean_str(record.get(k))))
    categories = record.get("categories") or record.get("tags") or ()
    if isinstance(categories, str):
        categories = (categories,)
    if not isinstance(categories, (list, tuple)):
        raise InputError(
            "bad_field", f"categories: expected a list of strings, got {type(categories).__name__}"
        )
    use_text = isinstance(text, str) and bool(text.strip())
    if given_id is None:
        given_id = stable_id(url) if url else stable_id(source, text if use_text else html)
    return Article(
        id=given_id,
        source=source,
        text_source="jsonl_text" if use_text else "jsonl_html",
        ingested_at=ingested_at,
        url=url,
        title=_clean_str(record.get("title")),
        author=_clean_str(record.get("author")),
        date_candidates=dates,
        text=text if use_text else "",
        html=None if use_text else html,
        categories=tuple(str(c).strip() for c in categories if str(c).strip())[:20],
    )


def parse_seed_batch(value: str | None) -> tuple[int, int] | None:
    """``"I/K"`` as (I, K), 0 <= I < K; None for None. Raises ``ValueError`` on anything else."""
    if value is None:
        return None
    try:
        index, count = (int(part) for part in value.split("/"))
    except ValueError:
        raise ValueError(f"--seed_batch {value!r}: expected I/K, e.g. 0/4") from None
    if not 0 <= index < count:
        raise ValueError(f"--seed_batch {value!r}: I must be in 0..K-1")
    return index, count


def in_batch(source: str, batch: tuple[int, int] | None) -> bool:
    """Whether the record named ``source`` belongs to slice ``batch`` (I, K): a stable hash of its name."""
    if batch is None:
        return True
    index, count = batch
    return int(stable_id("batch", source), 16) % count == index


def parse_seed_file(
    name: str, data: bytes, ingested_at: dt.datetime, batch: tuple[int, int] | None = None
) -> Iterator[Article | Reject]:
    """All articles in one seed file, and a reject for each part that is not one.

    ``batch`` (I, K) keeps only the records of one slice: the whole file for a text or
    HTML page, its lines for JSONL (each line, record or reject, is in one slice).
    """
    stem, suffix = os.path.splitext(name.lower())
    # A file's own rejects (unreadable, bad gzip, …) are in its name's slice, like a page.
    file_in_batch = in_batch(name, batch)
    if not file_in_batch and not is_jsonl(name):
        return
    if suffix == ".gz":
        try:
            data = _gunzip(data)
        except InputError as error:
            if file_in_batch:
                yield Reject(name, None, "read", error.reason, error.detail)
            return
        suffix = os.path.splitext(stem)[1]
    if suffix not in SUPPORTED_SUFFIXES:
        if file_in_batch:
            yield Reject(name, None, "read", "unsupported_type", f"suffix {suffix or '(none)'}")
        return
    try:
        content = decode_bytes(data)
    except InputError as error:
        if file_in_batch:
            yield Reject(name, None, "read", error.reason, error.detail)
        return
    if suffix in TEXT_SUFFIXES:
        yield Article(
            id=stable_id(name), source=name, text_source="seed_text", ingested_at=ingested_at, text=content
        )
    elif suffix in HTML_SUFFIXES:
        yield Article(
            id=stable_id(name), source=name, text_source="seed_html", ingested_at=ingested_at, html=content
        )
    else:
        yield from _jsonl_records(name, content.encode("utf-8").split(b"\n"), ingested_at, batch)


def _decode_line(raw: bytes) -> str:
    """One JSONL line: UTF-8 (JSON's own encoding), else its detected charset."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        best = from_bytes(raw).best()
        return raw.decode(best.encoding if best else "utf-8", errors="replace")


def _jsonl_records(
    name: str, lines: Iterable[bytes], ingested_at: dt.datetime, batch: tuple[int, int] | None
) -> Iterator[Article | Reject]:
    """The records of JSONL lines (bytes, split at "\\n" only: str.splitlines() would also
    split at U+2028 and other characters that JSON writers leave raw inside strings)."""
    for line_no, raw in enumerate(lines, start=1):
        if line_no == 1:
            raw = raw.removeprefix(codecs.BOM_UTF8)
        raw = raw.rstrip(b"\r\n")
        if not raw.strip():
            continue
        source = f"{name}:{line_no}"
        if not in_batch(source, batch):
            continue
        try:
            yield parse_jsonl_record(_decode_line(raw), source, ingested_at)
        except InputError as error:
            yield Reject(source, None, "read", error.reason, error.detail[:500])


class _CappedLines:
    """The lines of a binary stream, stopping with ``InputError`` past ``limit`` bytes (None: no cap)."""

    def __init__(self, stream: BinaryIO, limit: int | None) -> None:
        self._stream = stream
        self._limit = limit
        self.seen = 0
        self.blank = True

    def __iter__(self) -> Iterator[bytes]:
        for line in self._stream:
            self.seen += len(line)
            self.blank = self.blank and not line.strip()
            if self._limit is not None and self.seen > self._limit:
                raise InputError("too_large", f"decompresses past {self._limit} bytes")
            yield line


def read_jsonl_stream(
    name: str, stream: BinaryIO, ingested_at: dt.datetime, batch: tuple[int, int] | None = None
) -> Iterator[Article | Reject]:
    """A JSONL seed read line by line: memory holds one record, whatever the file's size.

    ``name`` ending in ``.gz`` is decompressed on the fly. A file that cannot be read as
    lines (bad gzip, binary, UTF-16/32, over the size cap) ends in one reject for the file,
    in its name's batch; the records before the fault are kept.
    """
    file_in_batch = in_batch(name, batch)
    # Like a seed read whole: only a gzipped one has a size cap (against gzip bombs).
    limit = None
    if name.lower().endswith(".gz"):
        stream, limit = gzip.GzipFile(fileobj=stream, mode="rb"), MAX_SEED_BYTES
    lines = _CappedLines(stream, limit)
    produced = False
    try:
        head = stream.peek(8192)[:8192] if hasattr(stream, "peek") else b""
        if head.startswith(tuple(bom for bom, _ in _UNICODE_BOMS if bom != codecs.BOM_UTF8)):
            # Wide Unicode cannot be split at b"\n": decoded whole, as any other seed.
            data = stream.read() if limit is None else stream.read(limit + 1)
            if limit is not None and len(data) > limit:
                raise InputError("too_large", f"decompresses past {limit} bytes")
            content = decode_bytes(data)
            yield from _jsonl_records(name, content.encode("utf-8").split(b"\n"), ingested_at, batch)
            return
        if b"\x00" in head:
            raise InputError("binary", "NUL bytes in content")
        for record in _jsonl_records(name, lines, ingested_at, batch):
            produced = True
            yield record
        if not produced and lines.blank:
            raise InputError("empty", "no content")
    except InputError as error:
        if file_in_batch:
            yield Reject(name, None, "read", error.reason, error.detail)
    except (OSError, EOFError, zlib.error) as error:
        if file_in_batch:
            reason = (
                "bad_gzip" if isinstance(error, (gzip.BadGzipFile, EOFError, zlib.error)) else "unreadable"
            )
            yield Reject(name, None, "read", reason, str(error)[:500])


def is_jsonl(name: str) -> bool:
    stem, suffix = os.path.splitext(name.lower())
    return (os.path.splitext(stem)[1] if suffix == ".gz" else suffix) in JSONL_SUFFIXES


def list_seed_files(path: str) -> str:
    """The pattern that reads a seed folder (recursively), a file, or a glob, as given.

    Raises ``ValueError`` when a local path names nothing, so a typo is an error, not an
    empty run. A name that exists is escaped, so ``news [2017]`` is a folder, not a glob.
    """
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


class _ReadSeedFileFn(beam.DoFn):
    def __init__(self, ingested_at: dt.datetime, run_id: str, batch: tuple[int, int] | None) -> None:
        self._ingested_at = ingested_at
        self._run_id = run_id
        self._batch = batch
        self._read = Metrics.counter(self.__class__, "read")
        self._rejected = Metrics.counter(self.__class__, "rejected")

    def process(self, readable: fileio.ReadableFile) -> Iterator:
        name = os.path.basename(readable.metadata.path)
        if is_jsonl(name):
            yield from self._emit(self._read_jsonl(readable, name))
        elif in_batch(name, self._batch):
            try:
                data = readable.read()
            except OSError as error:
                yield from self._emit([Reject(name, None, "read", "unreadable", str(error))])
            else:
                yield from self._emit(parse_seed_file(name, data, self._ingested_at, self._batch))

    def _read_jsonl(self, readable: fileio.ReadableFile, name: str) -> Iterator[Article | Reject]:
        from apache_beam.io.filesystem import CompressionTypes

        try:
            stream = readable.open(compression_type=CompressionTypes.UNCOMPRESSED)
        except OSError as error:
            if in_batch(name, self._batch):
                yield Reject(name, None, "read", "unreadable", str(error))
            return
        with stream:
            yield from read_jsonl_stream(name, stream, self._ingested_at, self._batch)

    def _emit(self, records: Iterable[Article | Reject]) -> Iterator:
        for record in records:
            self._read.inc()
            if isinstance(record, Reject):
                self._rejected.inc()
                Metrics.counter(self.__class__, f"rejected_{record.reason}").inc()
                yield beam.pvalue.TaggedOutput(
                    REJECTS_TAG,
                    dataclasses.replace(record, run_id=self._run_id, rejected_at=self._ingested_at),
                )
            else:
                yield dataclasses.replace(record, run_id=self._run_id)


class ReadSeeds(beam.PTransform):
    """Seed files to articles; rejects on the ``rejects`` output."""

    def __init__(
        self, path: str, ingested_at: dt.datetime, run_id: str, batch: tuple[int, int] | None = None
    ) -> None:
        super().__init__()
        self._pattern = list_seed_files(path)
        self._ingested_at = ingested_at
        self._run_id = run_id
        self._batch = batch

    def expand(self, pbegin):
        return (
            pbegin
            | "MatchSeedFiles" >> fileio.MatchFiles(self._pattern, empty_match_treatment="ALLOW")
            | "ReadSeedFiles" >> fileio.ReadMatches(skip_directories=True)
            | "ParseSeedFiles"
            >> beam.ParDo(_ReadSeedFileFn(self._ingested_at, self._run_id, self._batch)).with_outputs(
                REJECTS_TAG, main="articles"
            )
        )
