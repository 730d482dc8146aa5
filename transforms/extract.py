"""The extract stage in Beam: HTML pages to article text and metadata, rejects apart.

Consumes ``Article`` records (``html`` set for pages, ``text`` for text documents); emits them
with ``text``, ``title``, ``author``, ``canonical_url``, ``date_candidates``... filled, and a
``rejects`` output of ``Reject(stage="extract", reason="no_article_body")`` (or ``empty``,
``not_html``, ``too_large``, ``unparsable``, ``extraction_error``: see
``transforms.core.extract.read_page``). The work is ``transforms.core.extract.extract_document``
(pure); this module batches, counts (``extracted``, ``rejected_<reason>``, ...) and routes.
On a local run batches holding pages are shared with ``workers`` processes
(``transforms/core/pool.py``); a batch of text documents stays in this process, where
passing it through costs less than shipping it.

    {"articles": Article(text="The harbour bridge reopened ...", html=None, ...),
     "rejects": Reject(source, url, "extract", "no_article_body", ...)}
"""

from __future__ import annotations

from collections.abc import Iterator

import apache_beam as beam
from apache_beam.metrics import Metrics

from schemas.records import Article, Reject
from transforms.batches import BATCH_SIZE, PooledFn
from transforms.core.extract import KEPT_OUTCOMES, make_extractor
from transforms.progress import tick
from transforms.rejects import REJECTS_TAG, rejected

__all__ = ["REJECTS_TAG", "ExtractArticles"]

# Pages per batch: trafilatura takes tens of milliseconds a page, so a small batch keeps both
# processes busy without holding many pages in memory.
PAGE_BATCH = 32
# Documents extracted in-process before page batches are shared: a helper costs about a second
# to start, trafilatura tens of milliseconds a page.
SHARE_AFTER_PAGES = 64


class _ExtractFn(PooledFn):
    def __init__(self, workers: int, share_after: int) -> None:
        super().__init__(make_extractor, (), workers, share_after)
        # One counter per outcome of a kept document, made once: every document passes here.
        self._kept = {outcome: Metrics.counter(self.__class__, outcome) for outcome in KEPT_OUTCOMES}

    def process(
        self,
        batch: list[Article],
        window=beam.DoFn.WindowParam,
        timestamp=beam.DoFn.TimestampParam,
        pane=beam.DoFn.PaneInfoParam,
    ) -> Iterator:
        # Text documents pass through: too light to be worth shipping to another process.
        pages = any(article.html is not None for article in batch)
        yield from self.submit(batch, window, timestamp, pane, share=pages)

    def route(self, results: list) -> Iterator:
        tick("extract", len(results))
        for result, outcome in results:
            if isinstance(result, Reject):
                yield rejected(self.__class__, result)  # counted as rejected_<reason>
            else:
                self._kept[outcome].inc()
                yield result


class ExtractArticles(beam.PTransform):
    """HTML to text and metadata with trafilatura; text documents pass through. ``workers``
    processes share each batch of pages on a local run (1: this one)."""

    def __init__(self, workers: int = 1, share_after: int = SHARE_AFTER_PAGES) -> None:
        super().__init__()
        self._workers = workers
        self._share_after = share_after

    def expand(self, articles):
        batch = PAGE_BATCH if self._workers > 1 else BATCH_SIZE
        return (
            articles
            | "BatchForExtraction" >> beam.BatchElements(min_batch_size=batch, max_batch_size=batch)
            | "ExtractHtml"
            >> beam.ParDo(_ExtractFn(self._workers, self._share_after)).with_outputs(
                REJECTS_TAG, main="articles"
            )
        )
