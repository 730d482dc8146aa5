"""The Parquet schemas of the lake, defined once.

``articles/`` is Hive-partitioned by ``date`` and ``topic``; those two columns live
in the path, not in the files (``ARTICLE_FILE_SCHEMA``). Articles with no known date
live under ``date=unknown``, not under Hive's null marker: pyarrow's partition discovery,
which ``pandas.read_parquet`` uses, cannot unify a null partition value with dated ones.
Readers that want a typed date cast the string (the README has each reader's line).
"""

from __future__ import annotations

import datetime as dt
import re

import pyarrow as pa

# 2: published_offset, modified, site_name, image and fetched_at added (files of version 1 lack
#    them; readers unify by name).
SCHEMA_VERSION = "2"
# The date partition of articles with no known publication date.
NULL_PARTITION = "unknown"
# Where lakes written before version 2 kept them: renamed to NULL_PARTITION when a run adopts the lake.
LEGACY_NULL_PARTITION = "__HIVE_DEFAULT_PARTITION__"
PARTITION_COLUMNS = ("date", "topic")

_METADATA = {b"newsflow.schema_version": SCHEMA_VERSION.encode()}
# The columns, of any of the lake's tables, whose values repeat across a file's rows: written
# dictionary-encoded. The others (ids, URLs, titles, texts, times) are written plain: on the
# lake's small partition files (a few rows each), a dictionary of values met once made the
# 20k benchmark corpus's article files 4 % larger (65.3 against 63.0 MB, zstd) and took 40 %
# more time to encode (1.42 against 0.99 ms a file, one thread); with these columns alone,
# 63.5 MB and 1.08 ms. One 16,000-row file of the same articles is smallest with this set too.
DICTIONARY_COLUMNS = frozenset(
    {"source", "site", "site_name", "language", "date_source", "text_source", "run_id"}
    | {"kind", "stage", "reason"}
)
_UTC_MICROS = pa.timestamp("us", tz="UTC")
# One ranked topic of an article: the ``topics`` column holds up to three, best first.
_TOPIC = pa.struct(
    [pa.field("slug", pa.string(), nullable=False), pa.field("score", pa.float32(), nullable=False)]
)

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
        pa.field("topics", pa.list_(_TOPIC), nullable=False),
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
        pa.field("authors", pa.list_(pa.string()), nullable=False),
        # Version 2.
        pa.field("site_name", pa.string()),
        pa.field("image", pa.string()),
        pa.field("fetched_at", _UTC_MICROS),
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
    """The ``date=`` value: the publication day in UTC, or ``unknown``."""
    if published is None:
        return NULL_PARTITION
    if published.tzinfo is not None:
        published = published.astimezone(dt.timezone.utc)
    return published.strftime("%Y-%m-%d")


def partition_path(published: dt.datetime | None, topic: str | None) -> str:
    """The relative folder of an article inside ``articles/``."""
    return f"date={date_partition(published)}/topic={slugify(topic)}"


# The site memory (state/sites/): per site, how many documents held each short line. One row
# per (site, line key) and run; the key "" counts the site's documents. Summed over segments
# at read time, merged and bounded after a commit (transforms/sitememory.py).
SITE_LINES_SCHEMA = pa.schema(
    [
        pa.field("site", pa.string(), nullable=False),
        pa.field("key", pa.string(), nullable=False),
        pa.field("docs", pa.int32(), nullable=False),
        pa.field("last_seen", _UTC_MICROS, nullable=False),
    ],
    metadata=_METADATA,
)
