"""The extract stage in Beam: HTML pages to article text and metadata, rejects apart.

Consumes ``Article`` records (``html`` set for pages, ``text`` for text documents); emits them
with ``text``, ``title``, ``author``, ``canonical_url``, ``date_candidates``... filled, and a
``rejects`` output of ``Reject(stage="extract", reason="no_article_body")``. The work is
``transforms.core.extract.extract_document`` (pure); this module only counts and routes:

    {"articles": Article(text="The harbour bridge reopened ...", html=None, ...),
     "rejects": Reject(source, url, "extract", "no_article_body", ...)}
"""

from __future__ import annotations

from collections.abc import Iterator

import apache_beam as beam
from apache_beam.metrics import Metrics

from schemas.records import Article, Reject

# The stage's pure functions, re-exported for callers that import them from the stage.
from transforms.core.decode import decode_html  # noqa: F401
from transforms.core.extract import ExtractedPage, extract_article, extract_document, with_page  # noqa: F401

REJECTS_TAG = "rejects"


class _ExtractFn(beam.DoFn):
    def __init__(self) -> None:
        self._extracted = Metrics.counter(self.__class__, "extracted")
        self._rejected = Metrics.counter(self.__class__, "rejected_no_article_body")
        self._fallbacks = Metrics.counter(self.__class__, "fell_back_to_feed_text")

    def process(self, article: Article) -> Iterator:
        result = extract_document(article)
        if isinstance(result, Reject):
            self._rejected.inc()
            yield beam.pvalue.TaggedOutput(REJECTS_TAG, result)
            return
        if article.html is not None:
            (self._extracted if result.text_source == article.text_source else self._fallbacks).inc()
        yield result


class ExtractArticles(beam.PTransform):
    """HTML to text and metadata with trafilatura; text documents pass through."""

    def expand(self, articles):
        return articles | "ExtractHtml" >> beam.ParDo(_ExtractFn()).with_outputs(REJECTS_TAG, main="articles")
