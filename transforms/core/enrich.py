"""Enrichment of one cleaned article: publication date, topic, language and fingerprints.

Pure: ``EnrichArticles`` (``transforms/enrich.py``) runs ``make_enricher`` per worker, on
batches, spread over the local cores by ``transforms/core/pool.py``. Sample::

    enrich(Article(text="Rebels shelled the city overnight ...", url=".../2017/09/05/..."), ...)
    -> Article(…, published=2017-09-05 00:00 UTC, date_source="url", topic="conflict",
               topic_score=0.9969, topics=(("conflict", 0.9969),), language="en", …)

The language is detected first: the topic classifier reads the text only in a language it was
trained on (see ``transforms/topics.py``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from schemas.records import Article, without_working_data
from transforms.core.dates import resolve_date
from transforms.core.fingerprints import fingerprints
from transforms.core.language import detect_language, load_language_identifier
from transforms.core.text import word_count
from transforms.core.topic_classifiers import TopicClassifier


def enrich(article: Article, *, identifier, classifier: TopicClassifier) -> Article:
    """Date, topic, language and fingerprints of one cleaned article.

    ``classifier`` is the topic classifier (``transforms.topics.load_topic_classifier``),
    ``identifier`` the language identifier (``load_language_identifier``).
    """
    published, date_source, offset = resolve_date(
        article.date_candidates,
        text=article.header or article.text,
        url=article.url,
        ingested_at=article.ingested_at,
    )
    language = detect_language(article.text, identifier) or article.language
    topic = classifier.classify(article.title, article.text, categories=article.categories, language=language)
    digest, signature = fingerprints(article.text)
    return dataclasses.replace(
        article,
        published=published,
        date_source=date_source,
        published_offset=offset,
        topic=topic.topic,
        topic_score=round(float(topic.score), 4),
        topics=topic.topics,
        language=language,
        word_count=word_count(article.text),
        content_hash=digest,
        minhash=signature,
    )


def make_enricher(
    load_classifier: Callable[[str | None], TopicClassifier], taxonomy_path: str | None = None
) -> Callable[[list[Article]], list[Article]]:
    """The enrich stage's batch function for one worker: models loaded once (the topic
    classifier by ``load_classifier(taxonomy_path)``), articles out without the working data
    nothing after enrichment reads."""
    classifier = load_classifier(taxonomy_path)
    identifier = load_language_identifier()

    def enrich_batch(articles: list[Article]) -> list[Article]:
        return [
            without_working_data(enrich(article, classifier=classifier, identifier=identifier))
            for article in articles
        ]

    return enrich_batch
