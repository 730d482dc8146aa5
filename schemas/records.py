"""Record types flowing through the pipeline.

One article type carries a document from its source to the lake; it is filled in
stage by stage (extract, clean, enrich) with ``dataclasses.replace``. Duplicates
and rejects have small records of their own. ``article_row`` is the one adapter
from a record to a Parquet row.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
from collections.abc import Iterable
from typing import Any, NamedTuple

# Where the article's text came from.
TEXT_SOURCES = (
    "seed_text",
    "seed_html",
    "jsonl_text",
    "jsonl_html",
    "warc_html",
    "page",
    "feed_content",
    "feed_summary",
)
# Where its published date came from (null date: date_source is null too, or says why a
# stated date was dropped: ``feed_future``).
# ``html``: the page's own markup (JSON-LD, publication metas, itemprop); ``text_header``: a date
# line under the headline or at the top of the text (the byline); ``htmldate``: htmldate's guess
# over the page. A source with the ``_clamped`` suffix stated a time up to a day after the
# ingest time (clock skew): ``published`` is then the ingest time (see transforms/core/dates.py).
DATE_SOURCES = ("metadata", "feed", "html", "text_header", "url", "htmldate")
# id: a record whose id an article already holds (the lake's key), with a text of its own.
DUPLICATE_KINDS = ("url", "exact", "near", "id")
AUTHOR_SEPARATOR = "; "


def stable_id(*parts: str) -> str:
    """A short, stable identifier from the parts that name a document."""
    digest = hashlib.blake2b("\x1f".join(parts).encode("utf-8"), digest_size=8)
    return digest.hexdigest()


@dataclasses.dataclass(frozen=True)
class Article:
    """One document on its way to ``articles/``.

    The fields after ``ingested_at`` are working data: they are not written.
    """

    id: str
    source: str
    text_source: str
    ingested_at: dt.datetime
    url: str | None = None
    canonical_url: str | None = None
    site: str | None = None
    title: str | None = None
    author: str | None = None
    published: dt.datetime | None = None
    date_source: str | None = None
    # Minutes east of UTC that the chosen date was stated in ("+01:00" -> 60), None when unknown:
    # ``published + published_offset`` is the publisher's local time.
    published_offset: int | None = None
    # The source's last revision (``dateModified`` ...), UTC; never used as the publication date.
    modified: dt.datetime | None = None
    language: str | None = None
    topic: str = "other"
    topic_score: float = 0.0
    # Up to three (slug, score), best first; the first is (topic, topic_score) unless the topic
    # is the fallback ("other"), which is never listed.
    topics: tuple[tuple[str, float], ...] = ()
    text: str = ""
    word_count: int = 0
    content_hash: str = ""
    categories: tuple[str, ...] = ()
    summary: str | None = None
    guid: str | None = None
    boilerplate_lines: int = 0
    run_id: str = ""
    # Every author apart (``author`` joins them with "; "); empty: split from ``author``.
    authors: tuple[str, ...] = ()
    # The site's own name (og:site_name, JSON-LD publisher), else the feed's or publication's title.
    site_name: str | None = None
    # The lead image's absolute URL (og:image, JSON-LD image, else the first large in-article image).
    image: str | None = None
    # When the page was fetched (UTC): the fetch of a feed entry's page, or a WARC record's WARC-Date.
    fetched_at: dt.datetime | None = None
    # Working data, not written.
    html: str | None = None
    # Publication dates stated by the source, most trusted first: (value, date_source).
    date_candidates: tuple[tuple[str, str], ...] = ()
    # The raw text's first lines, where a date line may stand (cleaning removes it).
    header: str = ""
    removed: tuple[tuple[str, str], ...] = ()
    # 1-based numbers of the extracted text's lines that were list items of the page's body, or
    # paragraphs among its prose: the cleaner's line model does not remove them alone (a page's
    # own list is not a menu, nor its own paragraphs reader comments).
    list_lines: tuple[int, ...] = ()
    # 1-based numbers of the extracted text's lines that were headings of the page's body: the
    # line model does not remove one alone while the block after it stays (a section heading).
    heading_lines: tuple[int, ...] = ()
    # 1-based numbers of the extracted text's lines that were preformatted blocks of the page's
    # body (code): the cleaner keeps them as they are.
    code_lines: tuple[int, ...] = ()
    # The line keys the extracted text adds to its site's counts (``transforms.core.sites
    # .document_keys``, packed by ``pack_keys``: 8 bytes a key), set by the clean stage: the site
    # memory counts them for the articles a run keeps, so that a duplicate, or a document read
    # again, never counts twice.
    site_keys: bytes = b""
    # The MinHash signature, packed little-endian uint32 (see transforms.core.fingerprints).
    minhash: bytes = b""
    # Text to use when the page cannot be fetched or extracted: (text, text_source).
    fallback: tuple[str, str] | None = None


@dataclasses.dataclass(frozen=True)
class FeedItem:
    """One entry of a feed, with text fields already plain where the schema says so."""

    feed_url: str
    link: str | None
    guid: str | None
    title: str | None
    # Every author the entry names, joined by "; " (as for HTML pages); ``authors`` holds them apart.
    author: str | None
    # ISO 8601 in UTC with time, e.g. "2026-11-20T07:30:00+00:00".
    published: str | None
    # Plain text: tags stripped, entities decoded, whitespace collapsed.
    summary: str | None
    # Full content as the feed gives it (HTML or text), when it has more than a summary.
    content: str | None
    categories: tuple[str, ...]
    authors: tuple[str, ...] = ()
    # The title of the feed (or a news sitemap's publication name): the site_name when the page has none.
    feed_title: str | None = None


@dataclasses.dataclass(frozen=True)
class FeedPoll:
    """The outcome of polling one feed once, for the run record and the feed cursors."""

    feed_url: str
    status: str  # fetched | not_modified | failed | listed (an OPML list, or a page naming its feed)
    polled_at: str
    error: str | None = None
    detail: str = ""
    etag: str | None = None
    last_modified: str | None = None
    item_keys: tuple[str, ...] = ()
    item_times: tuple[str, ...] = ()
    new_items: int = 0
    ttl_seconds: int | None = None
    retry_after: float | None = None
    # The feeds an OPML list or a page named (status "listed"), polled in the same run.
    feeds: tuple[str, ...] = ()
    # What the source is: "feed", "sitemap" (a sitemap or sitemap index) or "robots" (a robots.txt
    # read for its Sitemap: lines).
    kind: str = "feed"


class DedupEntry(NamedTuple):
    """What deduplication knows of an article: identity, dates and fingerprints, no text.

    One shape for every part: an article of this run, an entry of the persisted index
    (``indexed``: committed by an earlier run, never written again) and a candidate in a
    streaming job's keyed state (``seen_at``: when it was kept, in microseconds). It travels
    in shuffles and keyed state, where Beam's default coder pickles it, class and datetime
    included (about 13 us an entry against 1.6 us for a plain tuple: BENCHMARKS.md, round 8).
    """

    id: str
    content_hash: str
    minhash: bytes
    canonical_url: str | None = None
    # Seconds since the epoch; None when unknown (ranks last).
    published: float | None = None
    # The article's identity within a run: ids may repeat (the same record read twice).
    node: str = ""
    source: str = ""
    url: str | None = None
    run_id: str = ""
    ingested_at: dt.datetime | None = None
    indexed: bool = False
    seen_at: int = 0

    def sort_key(self) -> tuple:
        """Which copy wins among duplicates: earliest published, then smallest id.

        Source and URL break the remaining ties, so the choice never depends on arrival
        order. Entries committed by earlier runs come first: their rows are in the lake.
        """
        published = self.published if self.published is not None else float("inf")
        return (not self.indexed, published, self.id, self.source, self.url or "")


@dataclasses.dataclass(frozen=True)
class Duplicate:
    """A document dropped because another copy was kept."""

    id: str
    url: str | None
    source: str
    duplicate_of: str
    kind: str
    similarity: float
    run_id: str = ""
    detected_at: dt.datetime | None = None


@dataclasses.dataclass(frozen=True)
class Reject:
    """An input that could not become an article, and why."""

    source: str
    url: str | None
    stage: str
    reason: str
    detail: str = ""
    run_id: str = ""
    rejected_at: dt.datetime | None = None


def without_working_data(article: Article) -> Article:
    """The article without what only extraction, cleaning and dating read.

    The removed lines, the raw header and the date candidates are about a quarter of an
    enriched article's bytes; nothing after enrichment reads them.
    """
    return dataclasses.replace(
        article,
        removed=(),
        header="",
        date_candidates=(),
        html=None,
        fallback=None,
        list_lines=(),
        heading_lines=(),
        code_lines=(),
    )


def article_row(article: Article) -> dict[str, Any]:
    """The Parquet row of an article (partition columns included; the writer drops them)."""
    return {
        "id": article.id,
        "url": article.url,
        "canonical_url": article.canonical_url,
        "source": article.source,
        "site": article.site,
        "title": article.title,
        "author": article.author,
        "published": article.published,
        "date_source": article.date_source,
        "published_offset": article.published_offset,
        "modified": article.modified,
        "language": article.language,
        "topic": article.topic,
        "topic_score": float(article.topic_score),
        "topics": [{"slug": slug, "score": float(score)} for slug, score in article.topics],
        "text": article.text,
        "text_source": article.text_source,
        "word_count": article.word_count,
        "content_hash": article.content_hash,
        "categories": list(article.categories),
        "summary": article.summary,
        "guid": article.guid,
        "boilerplate_lines": article.boilerplate_lines,
        "ingested_at": article.ingested_at,
        "run_id": article.run_id,
        "authors": list(article.authors or split_authors(article.author)),
        "site_name": article.site_name,
        "image": article.image,
        "fetched_at": article.fetched_at,
    }


def author_fields(names: Iterable[str | None]) -> tuple[tuple[str, ...], str | None]:
    """Distinct author names in order, blank ones left out, and their joined form for the
    ``author`` column: an article's ``authors`` and ``author`` from a source that lists them."""
    kept = tuple(dict.fromkeys(name.strip() for name in names if isinstance(name, str) and name.strip()))
    return kept, AUTHOR_SEPARATOR.join(kept) or None


def split_authors(author: str | None) -> tuple[str, ...]:
    """The names of an ``author`` value that joins several with "; "."""
    if not author:
        return ()
    return tuple(name.strip() for name in author.split(AUTHOR_SEPARATOR.strip()) if name.strip())


def record_row(record: Duplicate | Reject) -> dict[str, Any]:
    return dataclasses.asdict(record)
