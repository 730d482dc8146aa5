"""The enrich stage: publication date, topic, language and fingerprints, in batches.

Consumes cleaned ``Article`` records; emits them with ``published``/``date_source``,
``topic``/``topic_score``/``topics``, ``language``, ``word_count``, ``content_hash`` and
``minhash`` set (``transforms/core/enrich.py`` does the work). Articles travel in batches
(``transforms/batches.py``): on a local run the batches are shared with ``workers`` processes,
with the same output.
"""

from __future__ import annotations

from collections.abc import Iterator

import apache_beam as beam
from apache_beam.metrics import Metrics

from schemas.records import Article
from transforms.batches import PooledBatches
from transforms.core.enrich import make_enricher
from transforms.progress import tick
from transforms.topics import load_topic_classifier

__all__ = ["EnrichArticles"]

# Articles enriched in-process before batches are shared: a helper process costs about two
# seconds to start (imports, models) and enrichment about a millisecond an article.
SHARE_AFTER_ARTICLES = 1000


class _CountEnrichedFn(beam.DoFn):
    def __init__(self) -> None:
        self._dated = Metrics.counter(self.__class__, "dated")
        self._undated = Metrics.counter(self.__class__, "undated")

    def process(self, enriched: Article) -> Iterator[Article]:
        (self._dated if enriched.published else self._undated).inc()
        tick("enrich")
        Metrics.counter(self.__class__, f"topic_{enriched.topic}").inc()
        yield enriched


class EnrichArticles(beam.PTransform):
    """Enriched articles; ``workers`` processes share each batch on a local run (1: this one)."""

    def __init__(
        self, taxonomy_path: str | None = None, workers: int = 1, share_after: int = SHARE_AFTER_ARTICLES
    ) -> None:
        super().__init__()
        self._taxonomy_path = taxonomy_path
        self._workers = workers
        self._share_after = share_after

    def expand(self, articles):
        return (
            articles
            | "DateTopicLanguageFingerprint"
            >> PooledBatches(
                make_enricher,
                (load_topic_classifier, self._taxonomy_path),
                self._workers,
                share_after=self._share_after,
            )
            | "CountEnriched" >> beam.ParDo(_CountEnrichedFn())
        )
