"""The trained topic classifier: a linear text model and the taxonomy's lexicon in one score.

Pure numpy; ``training/train_topics.py`` writes the weights file (``schemas/models/topics.npz``)
and ``transforms.topics.load_topic_classifier`` reads it once per worker. Consumes a title, the
cleaned text, the editors' categories and the detected language; emits a ``TopicResult``, e.g.
``TopicResult("disaster", 0.7993, (("disaster", 0.7993), ("weather", 0.0519), ("environment",
0.0508)))`` for the headline "Floods force thousands from homes" over two lines on evacuations.

One document costs one tokenisation, one dictionary lookup per word, one sorted search for its
word pairs and triples, and one sparse product with a matrix whose columns are the model's
classes and the lexicon's topics (``document_features`` in ``topic_features``, shared with
training). The columns are then combined (``combine``, also shared with training):

* the model: one linear map from TF-IDF-weighted, L2-normalised features to class scores, the
  weighted sum of a multinomial logistic regression and a complement naive Bayes (a sum of
  linear models is one linear model; the two weights are fitted, which also calibrates), over
  the slugs that have training items plus one "any hard-news slug" class (``any_class``: items
  labelled only with a set of acceptable slugs, such as AG News' World);
* that class's probability is shared among its slugs by the lexicon's evidence
  (``softmax(beta * G)``), so a war story the model calls world news lands on ``conflict`` and a
  quake on ``disaster``: slugs without training items get their mass this way;
* the lexicon's evidence ``G = log1p(max(0, weighted term counts))`` also adds ``v * G`` to every
  slug, and a clean editor's label (a category the table maps to one slug) adds
  ``category_log_odds``. The model's two weights, ``v`` and ``beta`` are fitted on
  out-of-fold predictions of the training items, never set by hand.

In a language the model was not trained on (``languages``), the text is not read: the editors'
labels alone decide, and without one the topic is the fallback with score 0.
"""

from __future__ import annotations

import dataclasses
import functools
import io
import json
import math
import re
import zipfile
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from transforms.core.categories import CategoryTable
from transforms.core.topic_classifiers import TopicInput, TopicResult, ranked_result
from transforms.core.topic_features import (
    MAX_BODY_CHARS,
    TITLE_WEIGHT,
    FeatureSpace,
    document_features,
    documents_features,
)
from transforms.core.topics import Taxonomy

FORMAT = 1
_LETTER_RE = re.compile(r"[^\W\d_]")
# Probabilities are floored here before their log: a slug the model rules out stays finite.
_FLOOR = 1e-9
# A clean editor's label multiplies the odds of its slug by this factor: an editor's section is
# taken to be right 19 times in 20, a wrong one being any of the 16 other topics, so the
# likelihood ratio is 0.95 / (0.05 / 16) = 304 (log 5.7). A prior, not fitted: no training item
# carries a category. Text must then be more than 99.6% sure of another slug to beat the label.
CATEGORY_LOG_ODDS = float(np.log(0.95 / (0.05 / 16)))


@dataclasses.dataclass(frozen=True)
class Combination:
    """How the model's classes, the lexicon and editors' labels make one score per slug."""

    slugs: tuple[str, ...]  # the taxonomy's slugs, in its order
    classes: tuple[str, ...]  # the model's classes: slugs, and any_class
    any_class: str = ""  # a class meaning "one of any_slugs"; "" if the model has none
    any_slugs: tuple[str, ...] = ()
    v: float = 0.0  # weight of the lexicon's evidence G on every slug
    beta: float = 1.0  # how sharply G shares any_class among any_slugs
    category_log_odds: float = CATEGORY_LOG_ODDS

    @property
    def params(self) -> np.ndarray:
        return np.array([self.v, self.beta])

    def with_params(self, params: Sequence[float]) -> Combination:
        v, beta = (float(p) for p in params)
        return dataclasses.replace(self, v=v, beta=beta)

    @property
    def _layout(self) -> tuple[np.ndarray, np.ndarray, int]:
        # (mask of any_slugs over the slugs, each slug's class or -1, the any-class's column or -1)
        cached = self.__dict__.get("_cached_layout")
        if cached is None:
            in_any = np.array([slug in self.any_slugs for slug in self.slugs])
            of_slug = np.array([self.classes.index(s) if s in self.classes else -1 for s in self.slugs])
            any_col = self.classes.index(self.any_class) if self.any_class else -1
            cached = (in_any, of_slug, any_col)
            object.__setattr__(self, "_cached_layout", cached)
        return cached


def npz_bytes(arrays: dict[str, np.ndarray], level: int | None = None) -> bytes:
    """``np.savez_compressed`` with a fixed timestamp per member: the same arrays give the same
    bytes (a model file rebuilt from the same training is byte for byte the same). ``level``:
    zlib's compression level (None: its default, 6); reading costs the same at any level."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, array in arrays.items():
            member = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            data = io.BytesIO()
            np.lib.format.write_array(data, np.ascontiguousarray(array), allow_pickle=False)
            archive.writestr(member, data.getvalue(), compress_type=zipfile.ZIP_DEFLATED, compresslevel=level)
    return buffer.getvalue()


def lexicon_evidence_transform(evidence: np.ndarray) -> np.ndarray:
    """G: the lexicon's linear evidence, saturated (log1p) and never negative."""
    return np.log1p(np.maximum(evidence, 0.0))


def combine(
    model_logp: np.ndarray,
    evidence: np.ndarray,
    boost: np.ndarray | None,
    combination: Combination,
    params: np.ndarray | None = None,
) -> np.ndarray:
    """Log-probabilities per slug (rows: documents) from the model's class log-probabilities,
    the lexicon's evidence per slug and the editors' label boost per slug (see the module doc)."""
    v, beta = combination.params if params is None else params
    in_any, of_slug, any_col = combination._layout
    g = lexicon_evidence_transform(evidence)
    probabilities = np.exp(model_logp)
    mass = np.where(of_slug >= 0, probabilities[:, np.maximum(of_slug, 0)], 0.0)
    if any_col >= 0 and in_any.any():
        share = np.where(in_any, beta * g, -np.inf)
        share = np.exp(share - share.max(axis=1, keepdims=True))
        share /= share.sum(axis=1, keepdims=True)
        mass = mass + probabilities[:, any_col : any_col + 1] * share
    z = np.log(np.maximum(mass, _FLOOR)) + v * g
    if boost is not None:
        z = z + boost
    z -= z.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


def lexicon_terms(taxonomy: Taxonomy) -> list[tuple[str, ...]]:
    """The word sequences of the taxonomy's terms (and their plurals), prefixes left out."""
    return [tuple(key.split(" ")) for key in taxonomy._index.entries]


def lexicon_matrix(taxonomy: Taxonomy, space: FeatureSpace) -> np.ndarray:
    """Per feature, its weight towards each slug: the lexicon as one linear map.

    The lexicon's matcher counts the longest term at each position ("oil prices", not "oil" and
    "prices"); a linear map counts every feature. A term's row is therefore its weight minus what
    its shorter terms inside it already add, so a lone occurrence scores exactly as the matcher.
    "word*" prefixes count for every word of the space that starts with them.
    """
    index = taxonomy._index
    weights = np.zeros((space.n_features, len(taxonomy.topics)), dtype=np.float64)
    for prefix, pairs in index.prefixes.items():
        for token, token_id in space.ids.items():
            if token.startswith(prefix) and token not in index.entries:
                for position, weight in pairs:
                    weights[token_id, position] = max(weights[token_id, position], weight)
    for key in sorted(index.entries, key=lambda k: k.count(" ")):
        words = key.split(" ")
        row = space.index_of(words)
        if row is None:
            raise ValueError(f"the feature space lacks the lexicon term {key!r}")
        target = np.zeros(len(taxonomy.topics))
        for position, weight in index.entries[key]:
            target[position] = weight
        inside = np.zeros(len(taxonomy.topics))
        n = len(words)
        for start in range(n):
            for end in range(start + 1, n + 1):
                if end - start < n:
                    sub = space.index_of(words[start:end])
                    if sub is not None:
                        inside += weights[sub]
        weights[row] = target - inside
    return weights.astype(np.float32)


@dataclasses.dataclass(frozen=True, eq=False)
class TopicModel:
    """The weights file's content: the model's vocabulary and weights, and its combination."""

    tokens: tuple[str, ...]
    ngram_keys: np.ndarray
    weights: np.ndarray  # (features, classes) float32; features are the space's word and n-grams
    bias: np.ndarray  # (classes,)
    idf: np.ndarray  # (features,)
    combination: Combination
    languages: tuple[str, ...] = ("en",)
    body_chars: int = MAX_BODY_CHARS
    info: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    def to_bytes(self) -> bytes:
        """The ``.npz`` file: int8 weights with a scale per class, the vocabulary as UTF-8."""
        scales = np.maximum(np.abs(self.weights).max(axis=0), 1e-12) / 127.0
        quantised = np.round(self.weights / scales).astype(np.int8)
        meta = {
            "format": FORMAT,
            "languages": list(self.languages),
            "body_chars": self.body_chars,
            "title_weight": TITLE_WEIGHT,
            "combination": {
                key: list(value) if isinstance(value, tuple) else value
                for key, value in dataclasses.asdict(self.combination).items()
            },
            "info": dict(self.info),
        }
        arrays = {
            "meta": np.frombuffer(json.dumps(meta, sort_keys=True).encode("utf-8"), dtype=np.uint8),
            "tokens": np.frombuffer("\n".join(self.tokens).encode("utf-8"), dtype=np.uint8),
            "ngram_keys": self.ngram_keys.astype(np.int64),
            "weights": quantised,
            "scales": scales.astype(np.float32),
            "bias": self.bias.astype(np.float32),
            "idf": self.idf.astype(np.float16),
        }
        return npz_bytes(arrays)

    @classmethod
    def from_bytes(cls, data: bytes, source: str = "<bytes>") -> TopicModel:
        try:
            arrays = np.load(io.BytesIO(data), allow_pickle=False)
            meta = json.loads(arrays["meta"].tobytes().decode("utf-8"))
        except (OSError, ValueError, KeyError) as exc:
            raise ValueError(f"invalid topic model {source}: not a newsflow weights file ({exc})") from exc
        if meta.get("format") != FORMAT:
            raise ValueError(
                f"invalid topic model {source}: format {meta.get('format')!r}, expected {FORMAT}"
            )
        if meta.get("title_weight") != TITLE_WEIGHT:
            raise ValueError(f"invalid topic model {source}: trained with another title weight")
        combination = meta["combination"]
        tokens = arrays["tokens"].tobytes().decode("utf-8")
        return cls(
            tokens=tuple(tokens.split("\n")) if tokens else (),
            ngram_keys=arrays["ngram_keys"],
            weights=arrays["weights"].astype(np.float32) * arrays["scales"],
            bias=arrays["bias"],
            idf=arrays["idf"].astype(np.float32),
            combination=Combination(
                **{k: tuple(v) if isinstance(v, list) else v for k, v in combination.items()}
            ),
            languages=tuple(meta["languages"]),
            body_chars=int(meta["body_chars"]),
            info=meta.get("info", {}),
        )


@dataclasses.dataclass(frozen=True, eq=False)
class ModelClassifier:
    """``TopicClassifier`` over a trained model and its taxonomy; build it with ``from_model``."""

    taxonomy: Taxonomy
    model: TopicModel
    categories: CategoryTable
    space: FeatureSpace
    # (features, classes + slugs + 1): the model's weights, the lexicon's, then the idf (0 past
    # the model's own features), so that one gather serves the product and the norm.
    matrix: np.ndarray
    n_classes: int

    @classmethod
    def from_model(cls, taxonomy: Taxonomy, model: TopicModel, categories: CategoryTable) -> ModelClassifier:
        """Joins the model's vocabulary with the lexicon's terms (the same as at training time
        when the taxonomy has not changed since) and lays out one matrix for both."""
        if tuple(model.combination.slugs) != taxonomy.slugs:
            raise ValueError(
                f"topic model was trained for the slugs {list(model.combination.slugs)}, "
                f"not {list(taxonomy.slugs)}: retrain it with this taxonomy (training/train_topics.py)"
            )
        base = FeatureSpace(tokens=model.tokens, ngram_keys=model.ngram_keys)
        space, moved = base.with_terms(lexicon_terms(taxonomy))
        n_classes, n_slugs = len(model.combination.classes), len(taxonomy.topics)
        matrix = np.zeros((space.n_features, n_classes + n_slugs + 1), dtype=np.float32)
        matrix[moved, :n_classes] = model.weights
        matrix[:, n_classes:-1] = lexicon_matrix(taxonomy, space)
        matrix[moved, -1] = model.idf
        return cls(taxonomy, model, categories, space, matrix, n_classes)

    def features(self, title: str | None, text: str) -> tuple[np.ndarray, np.ndarray]:
        return document_features(self.space, title, text, body_chars=self.model.body_chars)

    @functools.cached_property
    def _layout(self) -> tuple[list[int], list[int], int, list[int], float, float, list[str]]:
        combination = self.model.combination
        in_any, of_slug, any_col = combination._layout
        return (
            of_slug.tolist(),
            np.flatnonzero(in_any).tolist() if any_col >= 0 else [],
            any_col,
            self.model.bias.astype(np.float64).tolist(),
            combination.v,
            combination.beta,
            list(self.taxonomy.slugs),
        )

    def scores(
        self, indices: np.ndarray, values: np.ndarray, boost: Sequence[float] | None
    ) -> tuple[list[float], list[float], list[float]]:
        """Model log-probabilities, lexicon evidence and combined log-probabilities of one document:
        ``combine`` for one row. After the one sparse product, the few dozen numbers are plain
        floats: Python's math on them is quicker than numpy's per-call overhead."""
        rows = self.matrix[indices]
        product = (values @ rows).tolist()
        weighted = values * rows[:, -1]
        norm = math.sqrt(float(weighted @ weighted))
        of_slug, any_slugs, any_col, bias, v, beta, _ = self._layout
        k = self.n_classes
        logits = [b + p / norm for b, p in zip(bias, product[:k], strict=True)] if norm else bias
        top = max(logits)
        exps = [math.exp(x - top) for x in logits]
        total = sum(exps)
        model_logp = [x - top - math.log(total) for x in logits]
        probabilities = [e / total for e in exps]
        evidence = product[k:-1]
        g = [math.log1p(e) if e > 0.0 else 0.0 for e in evidence]
        mass = [probabilities[c] if c >= 0 else 0.0 for c in of_slug]
        if any_col >= 0:
            peak = max(g[s] for s in any_slugs)
            shares = [math.exp(beta * (g[s] - peak)) for s in any_slugs]
            scale = probabilities[any_col] / sum(shares)
            for s, share in zip(any_slugs, shares, strict=True):
                mass[s] += share * scale
        z = [math.log(m if m > _FLOOR else _FLOOR) + v * x for m, x in zip(mass, g, strict=True)]
        if boost is not None:
            z = [a + b for a, b in zip(z, boost, strict=True)]
        top = max(z)
        norm_z = top + math.log(sum(math.exp(x - top) for x in z))
        return model_logp, evidence, [x - norm_z for x in z]

    def classify(
        self,
        title: str | None,
        text: str,
        *,
        categories: Sequence[str] = (),
        language: str | None = None,
    ) -> TopicResult:
        return self.classify_many([TopicInput(title, text, categories, language)])[0]

    def classify_many(self, documents: Sequence[TopicInput]) -> list[TopicResult]:
        """``classify`` of each document, their features found together (``documents_features``)."""
        # Text without a single letter ("12 34 ...") says nothing about a topic.
        read = [
            i
            for i, doc in enumerate(documents)
            if (doc.language is None or doc.language in self.model.languages)
            and bool(_LETTER_RE.search(doc.text or "") or _LETTER_RE.search(doc.title or ""))
        ]
        pairs = [(documents[i].title, documents[i].text) for i in read]
        found = dict(
            zip(read, documents_features(self.space, pairs, body_chars=self.model.body_chars), strict=True)
        )
        return [self._result(doc.categories, *found.get(i, (None, None))) for i, doc in enumerate(documents)]

    def _result(
        self, categories: Sequence[str], indices: np.ndarray | None, values: np.ndarray | None
    ) -> TopicResult:
        slugs = self._layout[-1]
        named = self.categories.slugs_of(categories, self.taxonomy) if categories else ()
        boost = None
        if named:
            # One slug named: a clean label, at full strength; several share it.
            boost = [0.0] * len(slugs)
            for slug in named:
                boost[slugs.index(slug)] = self.model.combination.category_log_odds / len(named)
        if indices is None or not len(indices):
            if boost is None:
                return TopicResult(self.taxonomy.fallback, 0.0, ())
            # No text evidence: the labels against a flat prior.
            top = max(boost)
            exps = [math.exp(b - top) for b in boost]
            total = sum(exps)
            probabilities = [e / total for e in exps]
        else:
            probabilities = [math.exp(x) for x in self.scores(indices, values, boost)[2]]
        return ranked_result(dict(zip(slugs, probabilities, strict=True)), self.taxonomy.fallback)
