"""Enrich cleaned articles: publication date, topic, language and fingerprints.

Consumes cleaned ``Article`` records; emits them with ``published``/``date_source``/
``published_offset`` (``transforms.core.dates``), ``topic``/``topic_score``/``topics``,
``language``, ``word_count``, ``content_hash`` and ``minhash`` set, e.g. ``Article(…,
published=2017-09-05 00:00 UTC, date_source="text_header", topic="conflict", topic_score=0.9969,
topics=(("conflict", 0.9969),), language="en")``.

The language is detected first: the topic classifier reads the text only in a language it was
trained on (see ``transforms/topics.py``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import apache_beam as beam
from apache_beam.metrics import Metrics

from schemas.records import Article, without_working_data
from transforms.core.dates import resolve_date
from transforms.core.fingerprints import fingerprints
from transforms.core.text import word_count
from transforms.topics import Taxonomy, TopicClassifier, load_topic_classifier, topic_classifier

# Language identification is unreliable on fewer characters than this.
MIN_LANGUAGE_CHARS = 40
# langid's probability below which we do not name a language.
MIN_LANGUAGE_PROB = 0.5
# langid's cost grows with the text; the first part is enough to tell the language.
LANGUAGE_SAMPLE_CHARS = 5000


def load_language_identifier():
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def detect_language(text: str, identifier) -> str | None:
    """ISO 639-1 code of the text's language, or None when unsure."""
    sample = text[:LANGUAGE_SAMPLE_CHARS]
    if len(sample.strip()) < MIN_LANGUAGE_CHARS:
        return None
    code, prob = identifier.classify(sample)
    return code if prob >= MIN_LANGUAGE_PROB else None


def enrich(
    article: Article,
    *,
    identifier,
    classifier: TopicClassifier | None = None,
    taxonomy: Taxonomy | None = None,
) -> Article:
    """Date, topic, language and fingerprints of one cleaned article.

    ``classifier`` is the topic classifier (``load_topic_classifier``); given only a ``taxonomy``,
    the classifier that goes with it is built once per process and reused.
    """
    published, date_source, offset = resolve_date(
        article.date_candidates,
        text=article.header or article.text,
        url=article.url,
        ingested_at=article.ingested_at,
    )
    language = detect_language(article.text, identifier) or article.language
    classifier = classifier or topic_classifier(taxonomy)
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


class _EnrichFn(beam.DoFn):
    def __init__(self, taxonomy_path: str | None) -> None:
        self._taxonomy_path = taxonomy_path
        self._dated = Metrics.counter(self.__class__, "dated")
        self._undated = Metrics.counter(self.__class__, "undated")

    def setup(self) -> None:
        # Once per worker: the model's matrix is built from the weights file and the lexicon here.
        self._classifier = load_topic_classifier(self._taxonomy_path)
        self._identifier = load_language_identifier()

    def process(self, article: Article) -> Iterator[Article]:
        enriched = enrich(article, classifier=self._classifier, identifier=self._identifier)
        (self._dated if enriched.published else self._undated).inc()
        Metrics.counter(self.__class__, f"topic_{enriched.topic}").inc()
        yield without_working_data(enriched)


class EnrichArticles(beam.PTransform):
    def __init__(self, taxonomy_path: str | None = None) -> None:
        super().__init__()
        self._taxonomy_path = taxonomy_path

    def expand(self, articles):
        return articles | "DateTopicLanguageFingerprint" >> beam.ParDo(_EnrichFn(self._taxonomy_path))
