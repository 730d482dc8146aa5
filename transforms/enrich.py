"""The enrich stage: publication date, topic, language and fingerprints, in batches.

Consumes cleaned ``Article`` records; emits them with ``published``/``date_source``,
``topic``/``topic_score``/``topics``, ``language``, ``word_count``, ``content_hash`` and
``minhash`` set (``transforms/core/enrich.py`` does the work). Articles travel in batches of
``BATCH_SIZE``: the per-element cost is paid once a batch, and on a local run a batch is
split over ``workers`` processes (``transforms/core/pool.py``), with the same output.
"""

from __future__ import annotations

from collections.abc import Iterator

import apache_beam as beam
from apache_beam.metrics import Metrics

from schemas.records import Article
from transforms.core.enrich import detect_language, enrich, load_language_identifier, make_enricher
from transforms.core.pool import ChunkPool
from transforms.topics import load_topic_classifier

__all__ = ["EnrichArticles", "detect_language", "enrich", "load_language_identifier"]

# Articles per batch: large enough that two processes share it well, small enough to keep
# a bundle's memory low.
BATCH_SIZE = 256


class _EnrichFn(beam.DoFn):
    def __init__(self, taxonomy_path: str | None, workers: int) -> None:
        self._taxonomy_path = taxonomy_path
        self._workers = workers
        self._pool: ChunkPool | None = None
        self._dated = Metrics.counter(self.__class__, "dated")
        self._undated = Metrics.counter(self.__class__, "undated")

    def setup(self) -> None:
        # Once per worker: the topic model and the language identifier load here (and once in
        # each helper process, when the batch is shared).
        self._pool = ChunkPool(
            make_enricher, (load_topic_classifier, self._taxonomy_path), workers=self._workers
        )

    def process(self, batch: list[Article]) -> Iterator[Article]:
        for enriched in self._pool.map(batch):
            (self._dated if enriched.published else self._undated).inc()
            Metrics.counter(self.__class__, f"topic_{enriched.topic}").inc()
            yield enriched

    def teardown(self) -> None:
        if self._pool is not None:
            self._pool.close()


class EnrichArticles(beam.PTransform):
    """Enriched articles; ``workers`` processes share each batch on a local run (1: this one)."""

    def __init__(self, taxonomy_path: str | None = None, workers: int = 1) -> None:
        super().__init__()
        self._taxonomy_path = taxonomy_path
        self._workers = workers

    def expand(self, articles):
        return (
            articles
            | "BatchForEnrich" >> beam.BatchElements(min_batch_size=BATCH_SIZE, max_batch_size=BATCH_SIZE)
            | "DateTopicLanguageFingerprint" >> beam.ParDo(_EnrichFn(self._taxonomy_path, self._workers))
        )
