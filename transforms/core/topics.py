"""Topics of articles, the pure parts: the taxonomy and its lexicon, editors' labels, the interface.

* The taxonomy (``schemas/taxonomy.json``, or a user's file of the same format): per topic a slug,
  IPTC label and code, a description, and terms with weights. ``assign_topic`` scores a title,
  text and feed categories with it alone, emitting ``(slug, score)`` with the score in [0, 1], or
  the fallback slug (``"other"``) with a low score when no topic has enough evidence. Matching is
  one pass over the word tokens with dictionary lookups (longest phrase first). The trained
  classifier (``topic_model``) reads the same lexicon as a linear map, as its prior.
* Editors' labels: ``CategoryTable`` (``schemas/categories.json``) maps section names of several
  languages to slugs ("Wirtschaft" -> "economy").
* ``TopicClassifier``: what the enrich stage calls, one ``classify`` per article, emitting a
  ``TopicResult`` (topic, score, up to three ranked topics); ``LexiconClassifier`` is the lexicon
  alone, for a user's taxonomy without a model.

Sample: ``assign_topic("Syrian army breaks ISIS siege of Deir Ezzor", "Government troops and
allied tribal fighters pushed along the Palmyra highway...")`` gives ``("conflict", 0.9998)``.
No Beam here: ``transforms/topics.py`` loads the files.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib.resources
import json
import math
import re
import unicodedata
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple, Protocol, runtime_checkable

from transforms.core.topic_features import tokenize

DEFAULT_FALLBACK = "other"
# A title term counts this many times a body term: headlines name the subject, bodies wander.
# At 2.0 a title term outweighs the same term in a headline-sized lead (about 1.6 after the
# saturation below) and far outweighs one in a long article; on the dev set 1.5 to 2.5 score
# within a point of each other.
TITLE_WEIGHT = 2.0
# A feed category is an editor's label for the article, stronger still than its title.
CATEGORY_WEIGHT = 3.0
# BM25-style term-frequency saturation: repeats of a term add less and less (K1), and a long
# body needs more repeats for the same credit (B, AVG_BODY_TOKENS). K1 and B are the usual BM25
# defaults; 250 tokens is the length of a short wire story, between a headline+lead (~35) and
# a feature (1000+).
K1 = 1.2
B = 0.75
AVG_BODY_TOKENS = 250
# Below this evidence the best topic is a guess. One good hint (weight 1.5) in a headline-sized
# body scores about 2.4 and passes; one weak term (0.75) scores about 1.2 and does not; nor does
# a single strong term mentioned once in a 1000-word article (about 1.4).
MIN_EVIDENCE = 2.0
# Evidence at which the confidence reaches 1 - 1/e (0.63); one strong title term (3 x 2.0) gives 0.78.
STRENGTH_SCALE = 4.0

_SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


def _plural(word: str) -> str:
    if word.endswith("y") and len(word) > 2 and word[-2] not in "aeiou":
        return word[:-1] + "ies"
    if word.endswith(("s", "x", "z", "ch", "sh")):
        return word + "es"
    return word + "s"


@dataclasses.dataclass(frozen=True)
class Topic:
    """One topic of a taxonomy; ``terms`` are (term, weight) pairs as written in the file."""

    slug: str
    label: str = ""
    code: str = ""
    description: str = ""
    terms: tuple[tuple[str, float], ...] = ()


@dataclasses.dataclass(frozen=True)
class _Index:
    # Space-joined tokens of a term (or of one of its plurals) -> ((topic index, weight), ...).
    entries: Mapping[str, tuple[tuple[int, float], ...]]
    # First token of a multi-word term -> the term lengths starting with it, longest first.
    phrase_lengths: Mapping[str, tuple[int, ...]]
    # Prefix of a "word*" term -> ((topic index, weight), ...), and the prefix lengths present.
    prefixes: Mapping[str, tuple[tuple[int, float], ...]]
    prefix_lengths: tuple[int, ...]
    # Normalised slug or IPTC label -> topic index, for feed categories that name a topic.
    names: Mapping[str, int]


@dataclasses.dataclass(frozen=True)
class Taxonomy:
    """A parsed taxonomy: hashable and picklable; the matcher is built on first use."""

    topics: tuple[Topic, ...]
    fallback: str = DEFAULT_FALLBACK
    name: str = ""
    # The trained model that goes with this lexicon ("models/topics.npz" in the packaged file),
    # as written in the file: a path relative to the taxonomy file, or absolute. Empty: lexicon only.
    model: str = ""

    @functools.cached_property
    def slugs(self) -> tuple[str, ...]:
        return tuple(topic.slug for topic in self.topics)

    @functools.cached_property
    def _slug_set(self) -> frozenset[str]:
        return frozenset(self.slugs)

    def __hash__(self) -> int:
        # Computed once: callers key caches on the taxonomy (``topic_classifier``) once per
        # article, and hashing thousands of terms each time would cost more than classifying.
        cached = self.__dict__.get("_hash")
        if cached is None:
            cached = hash((self.topics, self.fallback, self.name, self.model))
            object.__setattr__(self, "_hash", cached)
        return cached

    def __getstate__(self) -> dict[str, Any]:
        # The matcher is rebuilt on first use after unpickling rather than shipped (it is
        # several times larger than the terms it is built from); string hashes differ between
        # processes, so the cached hash is dropped too.
        state = dict(self.__dict__)
        for derived in ("_index", "_slug_set", "_hash", "slugs"):
            state.pop(derived, None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)

    @functools.cached_property
    def _index(self) -> _Index:
        # cached_property writes the instance __dict__ directly, so it works on a frozen
        # dataclass and stays out of __eq__/__hash__ (which only see the fields).
        explicit: dict[str, dict[int, float]] = {}
        prefixes: dict[str, dict[int, float]] = {}
        for position, topic in enumerate(self.topics):
            for term, weight in topic.terms:
                if term.endswith("*"):
                    key = " ".join(tokenize(term[:-1]))
                    prefixes.setdefault(key, {})[position] = weight
                else:
                    key = " ".join(tokenize(term))
                    slot = explicit.setdefault(key, {})
                    slot[position] = max(weight, slot.get(position, 0.0))
        entries = dict(explicit)
        # Plurals are implied ("merger" matches "mergers") unless the plural is a term of its
        # own somewhere, in which case the file's explicit weights decide.
        for key, weights in explicit.items():
            head, _, last = key.rpartition(" ")
            plural = f"{head} {_plural(last)}" if head else _plural(last)
            if plural not in explicit:
                merged = entries.setdefault(plural, {})
                for position, weight in weights.items():
                    merged[position] = max(weight, merged.get(position, 0.0))
        lengths: dict[str, set[int]] = {}
        for key in entries:
            words = key.split(" ")
            if len(words) > 1:
                lengths.setdefault(words[0], set()).add(len(words))
        names: dict[str, int] = {}
        for position, topic in enumerate(self.topics):
            for alias in (topic.slug, topic.label):
                if alias:
                    names.setdefault(" ".join(tokenize(alias)), position)
        return _Index(
            entries={key: tuple(sorted(w.items())) for key, w in entries.items()},
            phrase_lengths={first: tuple(sorted(n, reverse=True)) for first, n in lengths.items()},
            prefixes={key: tuple(sorted(w.items())) for key, w in prefixes.items()},
            prefix_lengths=tuple(sorted({len(key) for key in prefixes}, reverse=True)),
            names=names,
        )


def _match(tokens: Sequence[str], index: _Index) -> Counter[str]:
    """How often each term occurs in ``tokens``; where terms overlap the longest wins."""
    counts: Counter[str] = Counter()
    entries, phrase_lengths = index.entries, index.phrase_lengths
    i, n = 0, len(tokens)
    while i < n:
        token = tokens[i]
        matched = 0
        for length in phrase_lengths.get(token, ()):
            if i + length <= n:
                key = " ".join(tokens[i : i + length])
                if key in entries:
                    counts[key] += 1
                    matched = length
                    break
        if not matched:
            matched = 1
            if token in entries:
                counts[token] += 1
            elif index.prefix_lengths:
                for length in index.prefix_lengths:
                    if len(token) >= length and token[:length] in index.prefixes:
                        counts["*" + token[:length]] += 1
                        break
        i += matched
    return counts


def _weights(key: str, index: _Index) -> tuple[tuple[int, float], ...]:
    return index.prefixes[key[1:]] if key.startswith("*") else index.entries[key]


def _score_counts(
    counts: Counter[str], index: _Index, scores: list[float], scale: float, norm: float
) -> None:
    for key, tf in counts.items():
        saturated = scale * tf * (K1 + 1.0) / (tf + K1 * norm)
        for position, weight in _weights(key, index):
            scores[position] += weight * saturated


def topic_evidence(
    title: str | None, text: str, *, categories: Sequence[str] = (), taxonomy: Taxonomy | None = None
) -> dict[str, float]:
    """Evidence per topic slug (0 when no term matched); ``assign_topic`` picks from it."""
    taxonomy = taxonomy or packaged_taxonomy()
    index = taxonomy._index
    if isinstance(categories, str):
        # One category passed bare would otherwise be read letter by letter.
        categories = (categories,)
    scores = [0.0] * len(taxonomy.topics)
    if title:
        # Titles are short by nature: saturation without a length penalty.
        _score_counts(_match(tokenize(title), index), index, scores, TITLE_WEIGHT, 1.0)
    body = tokenize(text or "")
    if body:
        norm = 1.0 - B + B * len(body) / AVG_BODY_TOKENS
        _score_counts(_match(body, index), index, scores, 1.0, norm)
    for category in categories:
        words = tokenize(category or "")
        named = index.names.get(" ".join(words))
        if named is not None:
            # A category that is the topic's own slug or label ("Sport", "Politics") is as
            # strong as the strongest term.
            scores[named] += CATEGORY_WEIGHT * 3.0
            continue
        for key in _match(words, index):
            for position, weight in _weights(key, index):
                scores[position] += CATEGORY_WEIGHT * weight
    return {topic.slug: score for topic, score in zip(taxonomy.topics, scores, strict=True)}


def assign_topic(
    title: str | None, text: str, *, categories: Sequence[str] = (), taxonomy: Taxonomy | None = None
) -> tuple[str, float]:
    """The article's topic slug and a confidence in [0, 1].

    The confidence grows with the evidence for the best topic and shrinks with the runner-up's
    share of it. The fallback slug comes with the strength of the best topic's evidence, which is
    below ``1 - exp(-MIN_EVIDENCE / STRENGTH_SCALE)`` (0.39), and 0.0 for text with no term at all.
    """
    taxonomy = taxonomy or packaged_taxonomy()
    return _decide(topic_evidence(title, text, categories=categories, taxonomy=taxonomy), taxonomy)


def _decide(evidence: Mapping[str, float], taxonomy: Taxonomy) -> tuple[str, float]:
    # Ties go to the topic listed first in the taxonomy, so results are deterministic.
    ranked = sorted(evidence.items(), key=lambda item: -item[1])
    best_slug, best = ranked[0] if ranked else (taxonomy.fallback, 0.0)
    second = ranked[1][1] if len(ranked) > 1 else 0.0
    strength = 1.0 - math.exp(-best / STRENGTH_SCALE)
    if best < MIN_EVIDENCE:
        return taxonomy.fallback, round(strength, 4)
    return best_slug, round(strength * best / (best + second), 4)


def _invalid(source: str, problem: str) -> ValueError:
    return ValueError(f"invalid taxonomy {source}: {problem}")


def _parse_topic(raw: Any, number: int, source: str) -> Topic:
    if not isinstance(raw, Mapping):
        raise _invalid(source, f"topic #{number} is not an object")
    slug = raw.get("slug")
    if not isinstance(slug, str) or not _SLUG_RE.match(slug):
        raise _invalid(
            source, f"topic #{number} needs a 'slug' of lower-case letters, digits, '-' (got {slug!r})"
        )
    texts = {}
    for field in ("iptc_label", "iptc_code", "description"):
        value = raw.get(field, "")
        if not isinstance(value, str):
            raise _invalid(source, f"topic {slug!r}: {field!r} must be a string")
        texts[field] = value
    terms = raw.get("terms")
    if not isinstance(terms, Mapping) or not terms:
        raise _invalid(source, f"topic {slug!r} needs 'terms': a non-empty object of term -> weight")
    parsed = []
    for term, weight in terms.items():
        # bool is an int subclass; "true" as a weight is a typo, not 1.0.
        if isinstance(weight, bool) or not isinstance(weight, (int, float)):
            raise _invalid(source, f"topic {slug!r}: weight of {term!r} must be a number (got {weight!r})")
        if not math.isfinite(weight) or weight <= 0:
            raise _invalid(source, f"topic {slug!r}: weight of {term!r} must be positive and finite")
        words = tokenize(term.rstrip("*"))
        if not words:
            raise _invalid(source, f"topic {slug!r}: term {term!r} has no letters or digits")
        if "*" in term.rstrip("*") or (term.endswith("*") and len(words) != 1):
            raise _invalid(source, f"topic {slug!r}: '*' may only end a one-word term (got {term!r})")
        parsed.append((term.lower(), float(weight)))
    return Topic(
        slug=slug,
        label=texts["iptc_label"],
        code=texts["iptc_code"],
        description=texts["description"],
        terms=tuple(parsed),
    )


def parse_taxonomy(document: Any, source: str = "<data>") -> Taxonomy:
    """A ``Taxonomy`` from the decoded JSON document; ValueError says what is wrong with it."""
    if not isinstance(document, Mapping):
        raise _invalid(source, "the top level must be an object with a 'topics' list")
    raw_topics = document.get("topics")
    if not isinstance(raw_topics, list) or not raw_topics:
        raise _invalid(source, "'topics' must be a non-empty list")
    topics = tuple(_parse_topic(raw, number, source) for number, raw in enumerate(raw_topics, 1))
    slugs = [topic.slug for topic in topics]
    duplicates = sorted({slug for slug in slugs if slugs.count(slug) > 1})
    if duplicates:
        raise _invalid(source, f"duplicate topic slugs {duplicates}")
    fallback = document.get("fallback", DEFAULT_FALLBACK)
    if not isinstance(fallback, str) or not _SLUG_RE.match(fallback) or fallback in slugs:
        raise _invalid(source, f"'fallback' must be a slug that is not a topic (got {fallback!r})")
    name = document.get("name", "")
    model = document.get("model", "")
    if not isinstance(model, str):
        raise _invalid(source, f"'model' must be the path of a weights file (got {model!r})")
    return Taxonomy(topics=topics, fallback=fallback, name=name if isinstance(name, str) else "", model=model)


@functools.lru_cache(maxsize=1)
def packaged_taxonomy() -> Taxonomy:
    """The packaged IPTC taxonomy (``schemas/taxonomy.json``), read once per process."""
    resource = importlib.resources.files("schemas").joinpath("taxonomy.json")
    return parse_taxonomy(json.loads(resource.read_text(encoding="utf-8")), "schemas/taxonomy.json")


# --- Editors' labels: feed categories and page sections, in several languages -------------

# Where a category names several sections ("News > Sport", "Wissenschaft/Technik"), the parts.
_CATEGORY_SPLIT_RE = re.compile(r"\s*(?:[/>|»:;,]|\s-\s)\s*")
# "Sports news", "Technik-News": the word "news" adds nothing to a section's name.
_NEWS_WORDS = frozenset({"news", "nachrichten", "actualites", "noticias", "notizie", "nieuws"})


def normalise_category(name: str) -> str:
    """A category's words, lower-case and without accents: "Économie" -> "economie"."""
    decomposed = unicodedata.normalize("NFKD", name)
    plain = "".join(char for char in decomposed if not unicodedata.combining(char))
    return " ".join(tokenize(plain.replace("ß", "ss")))


@dataclasses.dataclass(frozen=True)
class CategoryTable:
    """Section names (normalised) -> topic slug, e.g. "wirtschaft" -> "economy"."""

    names: Mapping[str, str]

    def slug_of(self, category: str, taxonomy: Taxonomy) -> str | None:
        """The slug an editor's label names, or None (tags, places, "News", "Opinion", ...).

        The whole label is tried first, then its parts ("News > Sport" -> "sport"). A label that
        is a topic's own slug or IPTC label in ``taxonomy`` counts too, so a user's taxonomy gets
        its own section names for free. A label whose parts name different topics names none.
        """
        whole = normalise_category(category)
        found = self._lookup(whole, taxonomy)
        if found or not whole:
            return found
        parts = {
            self._lookup(normalise_category(part), taxonomy) for part in _CATEGORY_SPLIT_RE.split(category)
        }
        parts.discard(None)
        return parts.pop() if len(parts) == 1 else None

    def _lookup(self, name: str, taxonomy: Taxonomy) -> str | None:
        words = name.split(" ")
        if len(words) > 1 and (words[0] in _NEWS_WORDS or words[-1] in _NEWS_WORDS):
            name = " ".join(w for w in words if w not in _NEWS_WORDS)
        slug = self.names.get(name)
        if slug is not None and slug in taxonomy._slug_set:
            return slug
        named = taxonomy._index.names.get(name)
        return taxonomy.topics[named].slug if named is not None else None

    def slugs_of(self, categories: Sequence[str] | str, taxonomy: Taxonomy) -> tuple[str, ...]:
        """The distinct slugs the article's categories name, in order of first mention."""
        if isinstance(categories, str):
            categories = (categories,)
        found = (self.slug_of(category, taxonomy) for category in categories if category)
        return tuple(dict.fromkeys(slug for slug in found if slug))


def parse_category_table(document: Any, source: str = "<data>") -> CategoryTable:
    """A ``CategoryTable`` from ``{"topics": {slug: [section name, ...]}}``; ValueError if malformed."""
    raw = document.get("topics") if isinstance(document, Mapping) else None
    if not isinstance(raw, Mapping) or not raw:
        raise ValueError(f"invalid category table {source}: 'topics' must map slugs to lists of names")
    names: dict[str, str] = {}
    for slug, labels in raw.items():
        if not isinstance(labels, list) or not all(isinstance(label, str) for label in labels):
            raise ValueError(f"invalid category table {source}: {slug!r} must list section names")
        for label in labels:
            key = normalise_category(label)
            if names.setdefault(key, slug) != slug:
                raise ValueError(
                    f"invalid category table {source}: {label!r} names both {names[key]!r} and {slug!r}"
                )
    return CategoryTable(names=names)


@functools.lru_cache(maxsize=1)
def packaged_category_table() -> CategoryTable:
    """The packaged multilingual table of section names (``schemas/categories.json``)."""
    resource = importlib.resources.files("schemas").joinpath("categories.json")
    return parse_category_table(json.loads(resource.read_text(encoding="utf-8")), "schemas/categories.json")


# --- The classifier interface the enrich stage calls ------------------------------------------

# Topics kept in the ``topics`` column, best first; a slug scoring under MIN_LISTED is left out
# (a 0.01 runner-up says nothing a filter could use).
TOP_TOPICS = 3
MIN_LISTED = 0.05


class TopicResult(NamedTuple):
    """The article's topic (the partition), its score, and up to three ranked (slug, score)."""

    topic: str
    score: float
    topics: tuple[tuple[str, float], ...]


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
        topic, score = _decide(evidence, self.taxonomy)
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

    def _named(self, categories: Sequence[str] | str) -> set[int]:
        if isinstance(categories, str):
            categories = (categories,)
        names = self.taxonomy._index.names
        return {names[key] for key in (" ".join(tokenize(c or "")) for c in categories) if key in names}
