"""WARC files as seeds: each HTML ``response`` record becomes an HTML article.

Consumes a ``.warc`` or ``.warc.gz`` stream (a Common Crawl CC-NEWS file, a crawler's
archive); yields an ``Article`` per HTML response with status 200, a ``Reject`` per
response that cannot be one (another status, another media type, over the record cap), and
``Skipped`` markers for records that are no input at all (requests, metadata, warcinfo,
revisits), which the Beam wrapper counts. Records are streamed one at a time (warcio); a
payload is read up to ``max_record_bytes`` + 1, so memory holds one page whatever the
file's size. Sample::

    read_warc("CC-NEWS-20240101.warc.gz", stream, now)
    -> Article(id="9f2c…", source="CC-NEWS-20240101.warc.gz:48211", text_source="warc_html",
               url="https://news.example.org/2024/01/01/ferry", html="<!doctype html>…",
               fetched_at=datetime(2024, 1, 1, 0, 0, 12, tzinfo=UTC))

The WARC-Date is when the crawler fetched the page (``fetched_at``), never its publication
date: extraction dates the article from the page itself. A stream that ends inside a record
or a gzip member keeps the records before the fault and ends in one ``truncated`` reject.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import zlib
from collections.abc import Callable, Iterator
from typing import BinaryIO

from schemas.records import Article, Reject, stable_id
from transforms.core.date_parse import utc_from_iso
from transforms.core.decode import InputError, decode_html
from transforms.core.seeds import MAX_RECORD_BYTES, in_batch, too_large

WARC_SUFFIXES = (".warc", ".warc.gz")
HTML_TYPES = ("text/html", "application/xhtml+xml")


# Bytes read from the file, and decompressed, per step: memory holds a few of these.
_CHUNK = 1 << 16


class _Gunzip:
    """A gzip stream (members one after another, as WARC files are written) decompressed a
    chunk at a time. Unlike ``gzip.GzipFile`` it hands over every byte before a cut, then
    ends, noting ``truncated``; warcio takes an ``EOFError`` for the file's end and would drop
    the records decoded before it."""

    def __init__(self, raw: BinaryIO) -> None:
        self._raw = raw
        self._inflate = zlib.decompressobj(31)
        self._pending = b""
        self._buffer = b""
        self._in_member = False
        self.truncated = False

    def _fill(self) -> None:
        while not self._buffer:
            if self._pending:
                data, self._pending = self._pending, b""
            else:
                data = self._raw.read(_CHUNK)
                if not data:
                    self.truncated = self._in_member
                    return
            if self._inflate.eof:
                self._inflate = zlib.decompressobj(31)
            self._in_member = True
            self._buffer = self._inflate.decompress(data, _CHUNK)
            if self._inflate.eof:
                self._in_member = False
                self._pending = self._inflate.unused_data
            else:
                self._pending = self._inflate.unconsumed_tail

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            parts = []
            while chunk := self.read(_CHUNK):
                parts.append(chunk)
            return b"".join(parts)
        if not self._buffer:
            self._fill()
        out, self._buffer = self._buffer[:size], self._buffer[size:]
        return out


@dataclasses.dataclass(frozen=True)
class Skipped:
    """A record that is no input (not a response): counted under ``reason``, never written."""

    reason: str


def is_warc(name: str) -> bool:
    return name.lower().endswith(WARC_SUFFIXES)


def http_charset(content_type: str) -> str | None:
    for part in content_type.split(";")[1:]:
        key, _, value = part.partition("=")
        if key.strip().lower() == "charset" and value.strip():
            return value.strip().strip("\"'")
    return None


def decode_payload(payload: bytes, content_type: str) -> str:
    """A WARC response's HTML: its HTTP charset when it decodes, else as a fetched page is decoded."""
    charset = http_charset(content_type)
    if charset:
        try:
            return payload.decode(charset)
        except (LookupError, UnicodeDecodeError):
            pass
    return decode_html(payload)


def _response(
    record, source: str, ingested_at: dt.datetime, max_record_bytes: int, decode
) -> Article | Reject:
    """One response record as an article, or the reject that says why it is none."""
    url = record.rec_headers.get_header("WARC-Target-URI")
    status = record.http_headers.get_statuscode() if record.http_headers else None
    content_type = (record.http_headers.get_header("Content-Type") or "") if record.http_headers else ""
    media_type = content_type.split(";", 1)[0].strip().lower()
    if status != "200":
        return Reject(
            source, url, "read", f"http_{status or 'none'}", f"WARC response with HTTP status {status}"
        )
    if media_type not in HTML_TYPES:
        return Reject(source, url, "read", "not_html", f"WARC response of type {media_type or '(none)'}")
    payload = record.content_stream().read(max_record_bytes + 1)
    if len(payload) > max_record_bytes:
        return Reject(source, url, "read", "too_large", too_large(len(payload), max_record_bytes).detail)
    if record.raw_stream.limit:
        raise InputError("truncated", f"the file ends inside the record at {source}")
    if not payload.strip():
        return Reject(source, url, "read", "empty", "WARC response without a payload")
    try:
        html = decode(payload, content_type)
    except InputError as error:
        return Reject(source, url, "read", error.reason, error.detail)
    return Article(
        id=stable_id(url) if url else stable_id(source),
        source=source,
        text_source="warc_html",
        ingested_at=ingested_at,
        url=url,
        html=html,
        fetched_at=utc_from_iso(record.rec_headers.get_header("WARC-Date")),
    )


def read_warc(
    name: str,
    stream: BinaryIO,
    ingested_at: dt.datetime,
    batch: tuple[int, int] | None = None,
    *,
    max_record_bytes: int = MAX_RECORD_BYTES,
    decode: Callable[[bytes, str], str] = decode_payload,
) -> Iterator[Article | Reject | Skipped]:
    """The records of one WARC file, streamed: articles, rejects and skipped markers.

    ``name`` ending in ``.gz`` is decompressed here, member after member, so that a file cut
    inside a gzip member is noticed (warcio alone stops there silently). ``batch`` (I, K)
    keeps the records of one slice (by ``name:offset``); the file's own fault is in its
    name's slice. ``decode`` turns an HTML payload and its Content-Type into text.
    """
    from warcio.archiveiterator import ArchiveIterator
    from warcio.recordloader import ArchiveLoadFailed

    base = os.path.basename(name)
    gunzip = None
    if name.lower().endswith(".gz"):
        stream = gunzip = _Gunzip(stream)
    iterator = ArchiveIterator(stream)
    read_any = False
    try:
        for record in iterator:
            if record.format != "warc":  # warcio reads anything as an ARC file, junk included
                raise InputError("bad_warc", f"not a WARC record at byte {iterator.offset}")
            read_any = True
            # The byte offset of the record in the (decompressed) WARC: get_record_offset() would
            # read the record through before its payload is read.
            source = f"{base}:{iterator.offset}"
            if not in_batch(source, batch):
                continue
            if record.rec_type != "response":
                yield Skipped(f"skipped_{record.rec_type}")
                continue
            yield _response(record, source, ingested_at, max_record_bytes, decode)
        if gunzip is not None and gunzip.truncated:
            raise InputError("truncated", "the file ends inside a gzip member")
        if not read_any:
            raise InputError("empty", "no WARC record")
    except InputError as error:
        if in_batch(base, batch):
            yield Reject(base, None, "read", error.reason, error.detail)
    except (ArchiveLoadFailed, EOFError, OSError, zlib.error, ValueError, AttributeError, TypeError) as error:
        # A cut gzip member (EOFError), a broken one, or warcio meeting a cut record header.
        if in_batch(base, batch):
            reason = "truncated" if isinstance(error, EOFError) or read_any else "bad_warc"
            yield Reject(base, None, "read", reason, f"{type(error).__name__}: {error}"[:500])
