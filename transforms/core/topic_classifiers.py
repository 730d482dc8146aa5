"""The topic classifier interface the enrich stage calls, and the lexicon-only classifier.

``TopicClassifier``: one ``classify`` per article, emitting a ``TopicResult`` (topic, score, up
to three ranked topics). ``LexiconClassifier`` is the taxonomy's lexicon alone, for a user's
taxonomy without a model; the trained classifier is ``topic_model.ModelClassifier``.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from typing import NamedTuple, Protocol, runtime_checkable

from transforms.core.categories import CategoryTable
from transforms.core.topics import (
    CATEGORY_WEIGHT,
    MIN_EVIDENCE,
    STRENGTH_SCALE,
    Taxonomy,
    decide,
    tokenize,
    topic_evidence,
)

# Topics kept in the ``topics`` column, best first; a slug scoring under MIN_LISTED is left out
# (a 0.01 runner-up says nothing a filter could use).
TOP_TOPICS = 3
MIN_LISTED = 0.05


class TopicResult(NamedTuple):
    """The article's topic (the partition), its score, and up to three ranked (slug, score)."""

    topic: str
    score: float
    topics: tuple[tuple[str, float], ...]


class TopicInput(NamedTuple):
    """What a classifier reads of one article (``TopicClassifier.classify_many``)."""

    title: str | None
    text: str
    categories: Sequence[str] = ()
    language: str | None = None


@runtime_checkable
class TopicClassifier(Protocol):
    """What ``EnrichArticles`` needs: one call per article. Loaded once per worker (``setup``)."""

    taxonomy: Taxonomy

    def classify(
        self,
        title: str | None,
        text: str,
        *,
        categories: Sequence[str] = (),
        language: str | None = None,
    ) -> TopicResult: ...

    def classify_many(self, documents: Sequence[TopicInput]) -> list[TopicResult]:
        """``classify`` of each document, in order (as one call: a batch's shared work once)."""
        ...


def ranked_result(scores: Mapping[str, float], fallback: str, topic: str | None = None) -> TopicResult:
    """A result from per-slug scores: ``topic`` (default: the best) first, then the next best."""
    ranked = sorted(scores.items(), key=lambda item: -item[1])
    if topic is None:
        topic = ranked[0][0] if ranked else fallback
    if topic == fallback:
        return TopicResult(fallback, round(float(scores.get(fallback, 0.0)), 4), ())
    listed = [(topic, round(float(scores[topic]), 4))]
    listed += [
        (slug, round(float(score), 4)) for slug, score in ranked if slug != topic and score >= MIN_LISTED
    ]
    return TopicResult(topic, listed[0][1], tuple(listed[:TOP_TOPICS]))


@dataclasses.dataclass(frozen=True)
class LexiconClassifier:
    """The taxonomy's weighted terms alone: a user's ``--taxonomy`` without a model.

    The topic and score are ``assign_topic``'s; editors' labels that the category table maps count
    as the topic's own name. Runners-up are listed with the same confidence formula.
    """

    taxonomy: Taxonomy
    categories: CategoryTable = dataclasses.field(default_factory=lambda: CategoryTable({}))

    def classify(
        self,
        title: str | None,
        text: str,
        *,
        categories: Sequence[str] = (),
        language: str | None = None,
    ) -> TopicResult:
        evidence = topic_evidence(title, text, categories=categories, taxonomy=self.taxonomy)
        named = {self.taxonomy.topics[i].slug for i in self._named(categories)}
        for slug in self.categories.slugs_of(categories, self.taxonomy):
            if slug not in named:
                evidence[slug] += CATEGORY_WEIGHT * 3.0
        topic, score = decide(evidence, self.taxonomy)
        if topic == self.taxonomy.fallback:
            return TopicResult(topic, score, ())
        best = evidence[topic]
        scores = {
            slug: (1.0 - math.exp(-value / STRENGTH_SCALE)) * value / (value + best)
            for slug, value in evidence.items()
            if value >= MIN_EVIDENCE and slug != topic
        }
        scores[topic] = score
        return ranked_result(scores, self.taxonomy.fallback, topic)

    def classify_many(self, documents: Sequence[TopicInput]) -> list[TopicResult]:
        return [
            self.classify(doc.title, doc.text, categories=doc.categories, language=doc.language)
            for doc in documents
        ]

    def _named(self, categories: Sequence[str] | str) -> set[int]:
        if isinstance(categories, str):
            categories = (categories,)
        names = self.taxonomy._index.names
        return {names[key] for key in (" ".join(tokenize(c or "")) for c in categories) if key in names}
