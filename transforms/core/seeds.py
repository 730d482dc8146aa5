"""Seed documents as records: ``.txt`` articles, saved ``.html`` pages, ``.jsonl`` backfills.

Consumes a seed file's name and bytes (or a JSONL stream); yields ``Article`` records
with their raw ``text`` or ``html``, and a ``Reject`` for each part that cannot become
one. Pure functions: ``transforms.seeds.ReadSeeds`` reads the files in Beam. Sample:
``parse_seed_file("a.txt", b"Tuesday, …", now)`` yields
``Article(id="5c0e…", source="a.txt", text_source="seed_text", text="Tuesday, …")``.
"""

from __future__ import annotations

import codecs
import datetime as dt
import gzip
import json
import logging
import os
import posixpath
import re
import zlib
from collections.abc import Iterable, Iterator
from typing import BinaryIO

from schemas.records import Article, Reject, author_fields, stable_id
from transforms.core.date_parse import utc_from_iso
from transforms.core.decode import UNICODE_BOMS, InputError, decode_bytes, decode_text
from transforms.core.urls import url_parts

_LOGGER = logging.getLogger(__name__)

TEXT_SUFFIXES = (".txt", ".text")
HTML_SUFFIXES = (".html", ".htm")
JSONL_SUFFIXES = (".jsonl", ".ndjson")
# What to do with a file of a kind that is no seed but is often taken for one.
_FEED_HINT = ": a saved feed or sitemap is read by --feeds or --sitemaps"
_UNSUPPORTED_HINTS = {
    ".json": ": records are read as JSON Lines, one a line (.jsonl): jq -c '.[]' file.json > file.jsonl",
    ".xml": _FEED_HINT,
    ".rss": _FEED_HINT,
    ".atom": _FEED_HINT,
}
SUPPORTED_SUFFIXES = TEXT_SUFFIXES + HTML_SUFFIXES + JSONL_SUFFIXES  # each also gzipped (.gz)
# A gzipped seed may expand to at most this much (a JSONL backfill of ~100k articles).
MAX_SEED_BYTES = 1_000_000_000
# The largest record (a text or HTML file, or one JSONL line) by default: --max_record_bytes,
# the same bound as --max_page_bytes for a fetched page.
MAX_RECORD_BYTES = 5_000_000

# JSONL fields, each with the names other tools' exports give it, in order of preference: ours,
# then news-please's (maintext, date_publish, authors, description, date_download) and schema.org's
# (datePublished), so that their backfills load as they are.
_TEXT_FIELDS = ("text", "maintext")
_DATE_FIELDS = ("published", "date", "published_at", "pubdate", "date_publish", "datePublished")
_AUTHOR_FIELDS = ("author", "authors")
_SUMMARY_FIELDS = ("summary", "description")
_FETCHED_FIELDS = ("fetched_at", "date_download")
# A numeric date is a Unix time: in seconds, or in milliseconds from this value up (seconds this
# large are past the year 5000).
_EPOCH_MILLISECONDS = 10**11


def _clean_str(value: object, name: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, (str, int, float)) or isinstance(value, bool):
        raise InputError("bad_field", f"{name}: expected a string, got {type(value).__name__}")
    text = str(value).strip()
    return text or None


def _first(record: dict, names: tuple[str, ...]) -> tuple[str, object]:
    """The first of ``names`` the record gives a value (not null, not an empty string)."""
    for name in names:
        value = record.get(name)
        if value is not None and value != "":
            return name, value
    return names[0], None


def _authors(record: dict) -> tuple[tuple[str, ...], str | None]:
    """The record's ``authors`` (a list given: its names; else none, split from ``author`` when
    written) and ``author``."""
    name, value = _first(record, _AUTHOR_FIELDS)
    if isinstance(value, list):
        if not all(isinstance(item, str) for item in value):
            raise InputError("bad_field", f"{name}: expected strings, got a list of other values")
        return author_fields(value)
    return (), _clean_str(value, name)


def _date_value(value: object, name: str) -> str | None:
    """A date field as text for ``resolve_date``; a number is a Unix time, in UTC."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = value / 1000 if abs(value) >= _EPOCH_MILLISECONDS else value
        try:
            return dt.datetime.fromtimestamp(seconds, dt.timezone.utc).isoformat()
        except (OverflowError, OSError, ValueError):
            return str(value)  # no instant: kept as given, and read as no date
    return _clean_str(value, name)


def _gunzip(data: bytes, limit: int = MAX_SEED_BYTES) -> bytes:
    """A gzipped seed, decompressed with a cap: a gzip bomb is a reject, not an outage."""
    inflater = zlib.decompressobj(wbits=31)
    try:
        out = inflater.decompress(data, limit)
    except zlib.error as error:
        raise InputError("bad_gzip", str(error)) from None
    if inflater.unconsumed_tail:
        raise InputError("too_large", f"decompresses past {limit} bytes")
    if not inflater.eof:
        raise InputError("bad_gzip", "truncated gzip stream")
    return out


def too_large(size: int, limit: int) -> InputError:
    return InputError("too_large", f"{size} bytes, over --max_record_bytes {limit}")


def parse_jsonl_record(line: str, source: str, ingested_at: dt.datetime) -> Article:
    """One JSONL backfill record to an article; raises ``InputError`` when it cannot be one."""
    try:
        record = json.loads(line)
    except (ValueError, RecursionError) as error:  # JSONDecodeError is a ValueError
        raise InputError("invalid_json", str(error)[:300] or type(error).__name__) from None
    if not isinstance(record, dict):
        raise InputError("invalid_json", f"expected an object, got {type(record).__name__}")
    if _UNREADABLE.search(line):
        record = _readable(record)
    text_name, text = _first(record, _TEXT_FIELDS)
    html = record.get("html")
    for name, value in ((text_name, text), ("html", html)):
        if value is not None and not isinstance(value, str):  # {"text": 7}: a broken record
            raise InputError("bad_field", f"{name}: expected a string, got {type(value).__name__}")
    if not (isinstance(text, str) and text.strip()) and not (isinstance(html, str) and html.strip()):
        raise InputError("no_content", "record has neither text nor html")
    url = _clean_str(record.get("url"), "url")
    if url is not None and url_parts(url) is None:
        # It would be the article's identity and its site: a value no parser reads is a broken
        # record, not an article without a URL.
        raise InputError("bad_field", f"url: not a URL that parses: {url[:200]!r}")
    given_id = _clean_str(record.get("id"), "id")
    # Every date field the record has, in order: an empty or unparseable one does not
    # hide the next (resolve_date takes the first that parses).
    dates = tuple((value, "metadata") for k in _DATE_FIELDS if (value := _date_value(record.get(k), k)))
    categories = record.get("categories") or record.get("tags") or ()
    if isinstance(categories, str):
        categories = (categories,)
    if not isinstance(categories, (list, tuple)):
        raise InputError(
            "bad_field", f"categories: expected a list of strings, got {type(categories).__name__}"
        )
    use_text = isinstance(text, str) and bool(text.strip())
    fetched_name, fetched = _first(record, _FETCHED_FIELDS)
    fetched_at = utc_from_iso(_date_value(fetched, fetched_name))
    summary_name, summary = _first(record, _SUMMARY_FIELDS)
    authors, author = _authors(record)
    if given_id is None:
        given_id = stable_id(url) if url else stable_id(source, text if use_text else html)
    return Article(
        id=given_id,
        source=source,
        text_source="jsonl_text" if use_text else "jsonl_html",
        ingested_at=ingested_at,
        url=url,
        title=_clean_str(record.get("title"), "title"),
        author=author,
        authors=authors,
        summary=_clean_str(summary, summary_name),
        date_candidates=dates,
        text=text if use_text else "",
        html=None if use_text else html,
        categories=tuple(str(c).strip() for c in categories if str(c).strip())[:20],
        fetched_at=fetched_at,
    )


# Characters no page shows, as JSON escapes them: half of a UTF-16 pair on its own ("\\ud83d" of an
# emoji cut in two by a truncating exporter), which no UTF-8 file can store, and control
# characters ("\\u0000", "\\u0007", DEL and the C1 codes), which break every CSV and terminal a
# title or an author reaches. Tab and the line breaks (CR, LF, NEL) are text. A line is searched
# for the escapes only (2 us on a 5 KB line; a search for raw DEL and C1 codes too took 57 us,
# and JSON must escape the others).
_UNREADABLE = re.compile(r"\\u(?:[dD][89a-fA-F]|00[01][0-9a-fA-F]|007[fF]|00[89][0-9a-fA-F])")
_CONTROL_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x84\x86-\x9f]")


def _readable(value: object) -> object:
    """The record's strings with each lone surrogate as U+FFFD (the replacement character, as
    for any undecodable text; a pair escaped in two halves becomes its character) and without
    control characters other than tab and line breaks."""
    if isinstance(value, str):
        value = value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
        return _CONTROL_RE.sub("", value)
    if isinstance(value, dict):
        return {key: _readable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_readable(item) for item in value]
    return value


def in_batch(source: str, batch: tuple[int, int] | None) -> bool:
    """Whether the record named ``source`` belongs to slice ``batch`` (I, K): a stable hash of its name."""
    if batch is None:
        return True
    index, count = batch
    return int(stable_id("batch", source), 16) % count == index


def parse_seed_file(
    name: str,
    data: bytes,
    ingested_at: dt.datetime,
    batch: tuple[int, int] | None = None,
    *,
    max_record_bytes: int = MAX_RECORD_BYTES,
) -> Iterator[Article | Reject]:
    """All articles in one seed file, and a reject for each part that is not one.

    ``batch`` (I, K) keeps only the records of one slice: the whole file for a text or
    HTML page, its lines for JSONL (each line, record or reject, is in one slice). A text
    or HTML page over ``max_record_bytes`` (decompressed), or a JSONL line over it, is a
    ``too_large`` reject.
    """
    # A file's own rejects (unreadable, bad gzip, …) are in its name's slice, like a page.
    file_in_batch = in_batch(name, batch)
    if not file_in_batch and not is_jsonl(name):
        return
    jsonl = is_jsonl(name)
    suffix = seed_suffix(name)
    if name.lower().endswith(".gz"):
        try:
            data = _gunzip(data, MAX_SEED_BYTES if jsonl else max_record_bytes)
        except InputError as error:
            if file_in_batch:
                yield Reject(name, None, "read", error.reason, error.detail)
            return
    if suffix not in SUPPORTED_SUFFIXES:
        if file_in_batch:
            hint = _UNSUPPORTED_HINTS.get(suffix, "")
            yield Reject(name, None, "read", "unsupported_type", f"suffix {suffix or '(none)'}{hint}")
        return
    try:
        if not jsonl and len(data) > max_record_bytes:
            raise too_large(len(data), max_record_bytes)
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
        lines = content.encode("utf-8").split(b"\n")
        yield from _jsonl_records(name, lines, ingested_at, batch, max_record_bytes)


def _decode_line(raw: bytes) -> str:
    """One JSONL line: UTF-8 (JSON's own encoding), else its detected charset."""
    return decode_text(raw)


class Oversized(int):
    """A JSONL line over the record cap, skipped unread: its length in bytes."""


def _jsonl_records(
    name: str,
    lines: Iterable[bytes | Oversized],
    ingested_at: dt.datetime,
    batch: tuple[int, int] | None,
    max_record_bytes: int = MAX_RECORD_BYTES,
) -> Iterator[Article | Reject]:
    """The records of JSONL lines (bytes, split at "\\n" only: str.splitlines() would also
    split at U+2028 and other characters that JSON writers leave raw inside strings)."""
    for line_no, raw in enumerate(lines, start=1):
        source = f"{name}:{line_no}"
        if isinstance(raw, Oversized) or len(raw) > max_record_bytes:
            if in_batch(source, batch):
                size = int(raw) if isinstance(raw, Oversized) else len(raw)
                yield Reject(source, None, "read", "too_large", too_large(size, max_record_bytes).detail)
            continue
        if line_no == 1:
            raw = raw.removeprefix(codecs.BOM_UTF8)
        raw = raw.rstrip(b"\r\n")
        if not raw.strip():
            continue
        if not in_batch(source, batch):
            continue
        try:
            yield parse_jsonl_record(_decode_line(raw), source, ingested_at)
        except InputError as error:
            yield Reject(source, None, "read", error.reason, error.detail[:500])


class _CappedLines:
    """The lines of a binary stream, stopping with ``InputError`` past ``limit`` bytes in all
    (None: no cap). A line over ``max_line`` bytes is never held whole: it is read through in
    chunks and given as ``Oversized(length)``."""

    def __init__(self, stream: BinaryIO, limit: int | None, max_line: int = MAX_RECORD_BYTES) -> None:
        self._stream = stream
        self._limit = limit
        self._max_line = max_line
        self.seen = 0
        self.blank = True

    def __iter__(self) -> Iterator[bytes | Oversized]:
        while True:
            line = self._stream.readline(self._max_line + 1)
            if not line:
                return
            self._count(line)
            if len(line) > self._max_line and not line.endswith(b"\n"):
                size = len(line)
                while True:  # the rest of the long line, a chunk at a time
                    rest = self._stream.readline(1 << 20)
                    self._count(rest)
                    size += len(rest)
                    if not rest or rest.endswith(b"\n"):
                        break
                yield Oversized(size)
                continue
            yield line

    def _count(self, chunk: bytes) -> None:
        self.seen += len(chunk)
        self.blank = self.blank and not chunk.strip()
        if self._limit is not None and self.seen > self._limit:
            raise InputError("too_large", f"decompresses past {self._limit} bytes")


def read_jsonl_stream(
    name: str,
    stream: BinaryIO,
    ingested_at: dt.datetime,
    batch: tuple[int, int] | None = None,
    *,
    max_record_bytes: int = MAX_RECORD_BYTES,
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
    lines = _CappedLines(stream, limit, max_record_bytes)
    produced = False
    try:
        head = stream.peek(8192)[:8192] if hasattr(stream, "peek") else b""
        if head.startswith(tuple(bom for bom, _ in UNICODE_BOMS if bom != codecs.BOM_UTF8)):
            # Wide Unicode cannot be split at b"\n": decoded whole, as any other seed.
            data = stream.read() if limit is None else stream.read(limit + 1)
            if limit is not None and len(data) > limit:
                raise InputError("too_large", f"decompresses past {limit} bytes")
            content = decode_bytes(data)
            decoded = content.encode("utf-8").split(b"\n")
            yield from _jsonl_records(name, decoded, ingested_at, batch, max_record_bytes)
            return
        if b"\x00" in head:
            raise InputError("binary", "NUL bytes in content")
        for record in _jsonl_records(name, lines, ingested_at, batch, max_record_bytes):
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


def seed_suffix(name: str) -> str:
    """The suffix that names a seed's kind, lower-cased, under a ``.gz`` ("a.HTML.gz" -> ".html")."""
    stem, suffix = os.path.splitext(name.lower())
    return os.path.splitext(stem)[1] if suffix == ".gz" else suffix


def is_jsonl(name: str) -> bool:
    return seed_suffix(name) in JSONL_SUFFIXES


def is_html(name: str) -> bool:
    return seed_suffix(name) in HTML_SUFFIXES


_GLOB_CHAR = re.compile(r"[*?[]")


def pattern_root(pattern: str) -> str | None:
    """The folder a seed pattern expands under (None: the pattern names one file).

    Hidden files and folders (``.name``) below it are not seeds; a hidden file named on
    its own is read as named.
    """
    found = _GLOB_CHAR.search(pattern)
    if found is None:
        return None
    head = pattern[: found.start()]
    return head if head.endswith("/") else posixpath.dirname(head)


def is_visible(path: str, root: str | None) -> bool:
    if root is None:
        return True
    relative = path[len(root) :] if path.startswith(root) else os.path.basename(path)
    return not any(part.startswith(".") for part in relative.split("/") if part)
