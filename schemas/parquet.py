"""The Parquet schemas of the lake, defined once.

``articles/`` is Hive-partitioned by ``date`` and ``topic``; those two columns live
in the path, not in the files (``ARTICLE_FILE_SCHEMA``). Readers get them back from
the path: give pyarrow ``PARTITION_SCHEMA`` so that a lake whose dates are all null
still reads (``date=__HIVE_DEFAULT_PARTITION__`` is read as null).
"""

from __future__ import annotations

import datetime as dt
import re

import pyarrow as pa

SCHEMA_VERSION = "1"
NULL_PARTITION = "__HIVE_DEFAULT_PARTITION__"
PARTITION_COLUMNS = ("date", "topic")

_METADATA = {b"newsflow.schema_version": SCHEMA_VERSION.encode()}
_UTC_MICROS = pa.timestamp("us", tz="UTC")

ARTICLE_FILE_SCHEMA = pa.schema(
    [
        pa.field("id", pa.string(), nullable=False),
        pa.field("url", pa.string()),
        pa.field("canonical_url", pa.string()),
        pa.field("source", pa.string(), nullable=False),
        pa.field("site", pa.string()),
        pa.field("title", pa.string()),
        pa.field("author", pa.string()),
        pa.field("published", _UTC_MICROS),
        pa.field("date_source", pa.string()),
        pa.field("published_offset", pa.int32()),
        pa.field("modified", _UTC_MICROS),
        pa.field("language", pa.string()),
        pa.field("topic_score", pa.float32(), nullable=False),
        pa.field("text", pa.string(), nullable=False),
        pa.field("text_source", pa.string(), nullable=False),
        pa.field("word_count", pa.int32(), nullable=False),
        pa.field("content_hash", pa.string(), nullable=False),
        pa.field("categories", pa.list_(pa.string()), nullable=False),
        pa.field("summary", pa.string()),
        pa.field("guid", pa.string()),
        pa.field("boilerplate_lines", pa.int32(), nullable=False),
        pa.field("ingested_at", _UTC_MICROS, nullable=False),
        pa.field("run_id", pa.string(), nullable=False),
    ],
    metadata=_METADATA,
)

PARTITION_SCHEMA = pa.schema([pa.field("date", pa.string()), pa.field("topic", pa.string())])

# The table a reader sees: file columns plus the partition columns.
ARTICLE_SCHEMA = pa.schema(list(ARTICLE_FILE_SCHEMA) + list(PARTITION_SCHEMA), metadata=_METADATA)

DUPLICATE_SCHEMA = pa.schema(
    [
        pa.field("id", pa.string(), nullable=False),
        pa.field("url", pa.string()),
        pa.field("source", pa.string(), nullable=False),
        pa.field("duplicate_of", pa.string(), nullable=False),
        pa.field("kind", pa.string(), nullable=False),
        pa.field("similarity", pa.float32(), nullable=False),
        pa.field("run_id", pa.string(), nullable=False),
        pa.field("detected_at", _UTC_MICROS),
    ],
    metadata=_METADATA,
)

REJECT_SCHEMA = pa.schema(
    [
        pa.field("source", pa.string(), nullable=False),
        pa.field("url", pa.string()),
        pa.field("stage", pa.string(), nullable=False),
        pa.field("reason", pa.string(), nullable=False),
        pa.field("detail", pa.string(), nullable=False),
        pa.field("run_id", pa.string(), nullable=False),
        pa.field("rejected_at", _UTC_MICROS),
    ],
    metadata=_METADATA,
)

# The dedup index in state/dedup/: what later runs need to recognise a kept article's
# copies, and no text (about 0.6 KB an article, most of it the MinHash).
INDEX_SCHEMA = pa.schema(
    [
        pa.field("id", pa.string(), nullable=False),
        pa.field("canonical_url", pa.string()),
        pa.field("content_hash", pa.string(), nullable=False),
        pa.field("minhash", pa.binary()),
        pa.field("published", _UTC_MICROS),
        pa.field("ingested_at", _UTC_MICROS, nullable=False),
        pa.field("run_id", pa.string(), nullable=False),
    ],
    metadata=_METADATA,
)

_SLUG_UNSAFE = re.compile(r"[^a-z0-9]+")


def slugify(value: str | None, default: str = "other") -> str:
    """A partition-safe slug: lower-case ASCII letters, digits and single hyphens.

    Nothing from the input can reach a path through it: no ``/``, ``..``, NUL or ``=``.
    """
    if not value:
        return default
    slug = _SLUG_UNSAFE.sub("-", value.lower()).strip("-")[:64].strip("-")
    return slug or default


def date_partition(published: dt.datetime | None) -> str:
    """The ``date=`` value: the publication day in UTC, or Hive's null marker."""
    if published is None:
        return NULL_PARTITION
    if published.tzinfo is not None:
        published = published.astimezone(dt.timezone.utc)
    return published.strftime("%Y-%m-%d")


def partition_path(published: dt.datetime | None, topic: str | None) -> str:
    """The relative folder of an article inside ``articles/``."""
    return f"date={date_partition(published)}/topic={slugify(topic)}"
