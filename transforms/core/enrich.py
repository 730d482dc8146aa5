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
from collections.abc import Callable, Sequence

from schemas.records import Article, without_working_data
from transforms.core.dates import resolve_date
from transforms.core.fingerprints import fingerprints
from transforms.core.language import detect_languages, load_language_identifier
from transforms.core.text import word_count
from transforms.core.topic_classifiers import TopicClassifier, TopicInput, TopicResult


def enrich(article: Article, *, identifier, classifier: TopicClassifier) -> Article:
    """Date, topic, language and fingerprints of one cleaned article.

    ``classifier`` is the topic classifier (``transforms.topics.load_topic_classifier``),
    ``identifier`` the language identifier (``load_language_identifier``).
    """
    return enrich_many([article], identifier=identifier, classifier=classifier)[0]


def enrich_many(articles: Sequence[Article], *, identifier, classifier: TopicClassifier) -> list[Article]:
    """``enrich`` of each article of a batch, one step at a time over the whole batch: the
    language walk and the topic model's n-gram search run once for the batch (numpy's cost per
    call, not per article), and the parts of each model's tables that news text keeps reaching
    (the language model holds about 100 MB, the topic model 15 MB) stay in the CPU's caches from
    one article to the next instead of evicting each other. On batches of 128 to 256 articles
    (what ``EnrichArticles`` gives a process) the stage takes about half the CPU it took article
    by article, for the same output (benchmarks/stage_cpu.py, issue 14)."""
    detected = detect_languages([article.text for article in articles], identifier)
    languages = [language or article.language for article, language in zip(articles, detected, strict=True)]
    topics = classifier.classify_many(
        [
            TopicInput(article.title, article.text, article.categories, language)
            for article, language in zip(articles, languages, strict=True)
        ]
    )
    prints = [fingerprints(article.text) for article in articles]
    return [
        _enriched(article, language, topic, digest, signature)
        for article, language, topic, (digest, signature) in zip(
            articles, languages, topics, prints, strict=True
        )
    ]


def _enriched(
    article: Article, language: str | None, topic: TopicResult, digest: str, signature: bytes
) -> Article:
    published, date_source, offset = resolve_date(
        article.date_candidates,
        text=article.header or article.text,
        url=article.url,
        ingested_at=article.ingested_at,
    )
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
        enriched = enrich_many(articles, classifier=classifier, identifier=identifier)
        return [without_working_data(article) for article in enriched]

    return enrich_batch
