r"""The clean stage: the article body out of each extracted document, with site memory.

Consumes extracted ``Article``s (``text`` is the plain text, one paragraph or widget string a
line) and the site memory of earlier runs (``(site, SiteTable)`` pairs from
``ReadSiteMemory``); emits cleaned ``Article``s on ``articles`` (each with its text's line
keys, ``site_keys``) and a ``Reject`` on ``rejects`` when too little text is left.
``SiteMemoryRows`` counts the keys of the articles a run keeps, after deduplication, as the
rows the pipeline writes into ``state/sites/``. Sample::

    Article(text="Gazette Daily: your trusted source since 1889\n\nThe council voted on Monday ...")
    -> Article(text="The council voted on Monday ...", removed=(("site_boilerplate", "Gazette Daily: ..."),))

The cleaning itself is ``transforms/core/clean.py`` (rules with ids, the line model, the
structural rules); this module adds the site statistics: per site, how many documents of
this run and of the remembered runs hold each short line, a feature of the line model, and a
line held by at least ``site_min_docs`` documents goes as site boilerplate. Documents are
cleaned in batches of ``CLEAN_BATCH`` (``transforms/core/clean_stage.py``): the line model
scores a whole batch's lines at once, and on a local run the batches are shared with
``workers`` processes (``transforms/core/pool.py``), with the same output.
"""

from __future__ import annotations

import collections
import dataclasses
import datetime as dt
from collections.abc import Iterator
from typing import NamedTuple

import apache_beam as beam
from apache_beam.metrics import Metrics
from apache_beam.pvalue import TaggedOutput

from schemas.records import Article, Reject
from transforms.batches import PooledFn
from transforms.core.clean import NO_SITE, REASONS, Cleaned, RemovedLine, SiteStats, clean_text
from transforms.core.clean_stage import (
    MIN_WORDS,
    clean_document,
    clean_documents,
    header_of,
    make_cleaner,
    site_of,
)
from transforms.core.lines import line_key, site_line_candidates
from transforms.core.sites import (
    EMPTY,
    SiteTable,
    count_lines,
    counted_table,
    document_keys,
    pack_keys,
    stats_for_document,
    unpack_keys,
)
from transforms.progress import tick
from transforms.rejects import REJECTS_TAG, rejected

__all__ = [
    "REASONS",
    "Cleaned",
    "RemovedLine",
    "SiteStats",
    "clean_text",
    "line_key",
    "site_line_candidates",
    "site_of",
    "header_of",
    "clean_document",
    "clean_documents",
    "CleanArticles",
    "CleanOutputs",
    "SiteMemoryRows",
    "MIN_WORDS",
    "REJECTS_TAG",
]

# Documents cleaned at once: the line model's numpy cost per call spreads over many lines, and
# two processes share a batch well; few enough to keep a bundle's latency and memory small.
CLEAN_BATCH = 256
# Documents cleaned in-process before batches are shared: a helper process costs about two
# seconds to start (imports, the line model) and cleaning about a millisecond a document.
SHARE_AFTER_DOCS = 1000


# --- Beam wrapper below ---


# Each document's line keys, beside the documents on their way to the cleaning.
KEYS_TAG = "site_line_keys"

# What a document adds to its site's line counts: (id, its line keys packed, seen at).
DocumentKeys = tuple[str, bytes, float]


def _seen_at(article: Article) -> float:
    return article.ingested_at.timestamp() if article.ingested_at else 0.0


def site_keys_of(article: Article) -> tuple[str, DocumentKeys] | None:
    """An article's ``(site, DocumentKeys)``, from the keys the clean stage packed on it (None:
    no site)."""
    site = site_of(article)
    return (site, (article.id, article.site_keys, _seen_at(article))) if site else None


class _KeyDocumentsFn(beam.DoFn):
    """Each extracted document with its text's line keys (``site_keys``), and on ``KEYS_TAG`` its
    ``(site, DocumentKeys)``, but for the documents whose id is ``known`` (the lake's articles,
    read again): the site memory counted each when it was kept."""

    def __init__(self) -> None:
        super().__init__()
        self._known = Metrics.counter(self.__class__, "site_lines_not_recounted")

    def process(self, article: Article, known: dict) -> Iterator:
        keyed = dataclasses.replace(article, site_keys=pack_keys(document_keys(article.text)))
        if article.id in known:
            self._known.inc()
        elif (keys := site_keys_of(keyed)) is not None:
            yield TaggedOutput(KEYS_TAG, keys)
        yield keyed


class _CountSiteLinesFn(beam.CombineFn):
    """One site's ``{line key: (documents, last seen)}`` (key "": the documents themselves) from
    its documents' ``DocumentKeys``, each id counted once: a record read twice in one run (a
    crawl's two captures of one URL) is one document, not two that share every line. The
    accumulator holds each id's packed keys until the end, a few hundred bytes a document."""

    def create_accumulator(self) -> dict[str, tuple[bytes, float]]:
        return {}

    @staticmethod
    def _hold(accumulator: dict, doc_id: str, keys: tuple[bytes, float]) -> None:
        """One capture an id: the least, so that the order of bundles does not matter."""
        held = accumulator.get(doc_id)
        accumulator[doc_id] = keys if held is None else min(held, keys)

    def add_input(self, accumulator: dict, document: DocumentKeys) -> dict:
        doc_id, packed, seen = document
        self._hold(accumulator, doc_id, (packed, seen))
        return accumulator

    def merge_accumulators(self, accumulators) -> dict:
        merged: dict[str, tuple[bytes, float]] = {}
        for accumulator in accumulators:
            for doc_id, keys in accumulator.items():
                self._hold(merged, doc_id, keys)
        return merged

    def extract_output(self, accumulator: dict) -> dict[str, tuple[int, float]]:
        counts: dict[str, tuple[int, float]] = {}
        for packed, seen in accumulator.values():
            count_lines(counts, unpack_keys(packed), seen)
        return counts


def _memory_rows(
    site_counts: tuple[str, dict[str, tuple[int, float]]], fallback: dt.datetime
) -> Iterator[dict]:
    site, counts = site_counts
    for key, (docs, seen) in counts.items():
        last_seen = dt.datetime.fromtimestamp(seen, dt.timezone.utc) if seen else fallback
        yield {"site": site, "key": key, "docs": docs, "last_seen": last_seen}


class _CleanFn(PooledFn):
    def __init__(self, min_words: int, site_min_docs: int, workers: int, share_after: int) -> None:
        # The line model, once per worker process (and once in each helper process).
        super().__init__(make_cleaner, (min_words, site_min_docs), workers, share_after)
        self._cleaned = Metrics.counter(self.__class__, "cleaned")

    def process(
        self,
        articles: list[Article],
        run_sites: dict[str, SiteTable],
        memory: dict[str, SiteTable],
        known: dict,
        window=beam.DoFn.WindowParam,
        timestamp=beam.DoFn.TimestampParam,
        pane=beam.DoFn.PaneInfoParam,
    ) -> Iterator:
        pairs = []
        for article in articles:
            site = site_of(article)
            stats = (
                stats_for_document(
                    run_sites.get(site, EMPTY), memory.get(site, EMPTY), article.id not in known
                )
                if site
                else NO_SITE
            )
            pairs.append((article, stats))
        yield from self.submit(pairs, window, timestamp, pane)

    def route(self, results: list) -> Iterator:
        tick("clean", len(results))
        # One counter update per reason and batch, not per removed line.
        removed: collections.Counter[str] = collections.Counter()
        for _, reasons in results:
            removed.update(reasons)
        for reason, count in sorted(removed.items()):
            Metrics.counter(self.__class__, f"removed_{reason}").inc(count)
        for result, _ in results:
            if isinstance(result, Reject):
                yield rejected(self.__class__, result)  # counted as rejected_<reason>
                continue
            self._cleaned.inc()
            yield result


class SiteMemoryRows(beam.PTransform):
    """The site memory's rows for a run (or a stream's window): the line counts per site of the
    articles it keeps, from the keys the clean stage gave them (``site_keys``). Its duplicates
    and rejects are not counted: a copy of an article, or an article read again, would count its
    body lines a second time, until they pass ``--site_min_docs`` and are cut from the next copy
    as site boilerplate (which then no longer matches its original). ``seen_at`` stamps the rows
    of articles that carry no ingestion time."""

    def __init__(self, seen_at: dt.datetime) -> None:
        super().__init__()
        self._seen_at = seen_at

    def expand(self, kept):
        return (
            kept
            | "KeptLineKeys" >> beam.FlatMap(lambda article: filter(None, [site_keys_of(article)]))
            | "SumKeptSiteLineCounts" >> beam.CombinePerKey(_CountSiteLinesFn())
            | "SiteMemoryRows" >> beam.FlatMap(_memory_rows, self._seen_at)
        )


class CleanArticles(beam.PTransform):
    """Cleaned articles on ``articles``; too little text left is a reject on ``rejects``.

    Each line's count of other documents of its site holding it (this run's, plus
    ``memory``'s: the ``(site, SiteTable)`` pairs of ``ReadSiteMemory``) is a feature of the
    line model, and a line held by at least ``site_min_docs`` documents (this one included) is
    removed as site boilerplate (CCNet-style line hashing per site). A document whose id is
    among ``known_ids`` (the lake's articles, read again) is not counted again: the site memory
    holds it already. ``workers`` processes share each batch on a local run (1: this one). What
    the run learns of its sites is counted after deduplication, from the articles it keeps
    (``SiteMemoryRows``).
    """

    def __init__(
        self,
        site_min_docs: int = 3,
        min_words: int = MIN_WORDS,
        memory: beam.PCollection | None = None,
        known_ids: beam.PCollection | None = None,
        workers: int = 1,
        share_after: int = SHARE_AFTER_DOCS,
    ) -> None:
        super().__init__()
        self._workers = workers
        self._share_after = share_after
        self._site_min_docs = site_min_docs
        self._min_words = min_words
        self._memory = memory
        self._known_ids = known_ids

    def expand(self, articles):
        known = self._known_ids
        if known is None:
            known = articles.pipeline | "NoKnownIds" >> beam.Create([])
        known = beam.pvalue.AsDict(known | "KnownIdsAsKeys" >> beam.Map(lambda i: (i, None)))
        keyed = articles | "CountSiteLines" >> beam.ParDo(_KeyDocumentsFn(), known).with_outputs(
            KEYS_TAG, main="articles"
        )
        counts = keyed[KEYS_TAG] | "SumSiteLineCounts" >> beam.CombinePerKey(_CountSiteLinesFn())
        run_sites = counts | "BuildRunSiteTables" >> beam.MapTuple(
            lambda site, counts: (site, counted_table(counts))
        )
        memory = self._memory
        if memory is None:
            memory = articles.pipeline | "NoSiteMemory" >> beam.Create([])
        # Batches of documents: the line model scores a batch's lines in one numpy pass.
        batches = keyed.articles | "BatchForCleaning" >> beam.BatchElements(
            min_batch_size=CLEAN_BATCH, max_batch_size=CLEAN_BATCH
        )
        cleaned = batches | "CleanText" >> beam.ParDo(
            _CleanFn(self._min_words, self._site_min_docs - 1, self._workers, self._share_after),
            beam.pvalue.AsDict(run_sites),
            beam.pvalue.AsDict(memory),
            known,
        ).with_outputs(REJECTS_TAG, main="articles")
        return CleanOutputs(cleaned.articles, cleaned[REJECTS_TAG])


class CleanOutputs(NamedTuple):
    """The outputs of ``CleanArticles``."""

    articles: beam.PCollection
    rejects: beam.PCollection
