"""Word and n-gram features of a news text, shared by the topic model's training and inference.

``training/train_topics.py`` builds a ``FeatureSpace`` from its labelled items and fits the model
on ``document_features``; ``transforms.core.topics`` loads the same space from the weights file
and calls the same function, so the two never drift apart.

A document is its title and the start of its body. Both are lower-cased and cut into words
(``tokenize``: letters and digits, the possessive "'s" dropped). Each word of the vocabulary has
an id; a known pair or triple of consecutive words is one more feature, found by packing the ids
into one integer and searching a sorted array (no string joins). A title word counts
``TITLE_WEIGHT`` times; a feature's value is ``log1p`` of its weighted count.

    >>> space = FeatureSpace.build(["oil", "prices", "rise"], [("oil", "prices")])
    >>> document_features(space, "Oil prices rise", "")
    (array([1, 2, 3, 4]), array([1.0986123, 1.0986123, 1.0986123, 1.0986123], dtype=float32))
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Sequence
from itertools import repeat

import numpy as np

# Words: letters and digits; everything else separates words ("al-Qaeda" is "al", "qaeda").
_TOKEN_RE = re.compile(r"[^\W_]+")
# The possessive "'s" is dropped so "Microsoft's" reads as "microsoft".
_POSSESSIVE_RE = re.compile(r"['\u2019]s\b")

# A title word counts twice a body word: headlines name the subject, bodies wander. An integer:
# the title's words are read this many times.
TITLE_WEIGHT = 2
# Only the start of the body is read: the lead names the story's domain, and the topic step's
# cost, which grows with the characters read, is bounded whatever the article's length. 2,000
# characters are about 330 words, most of a MasakhaNEWS (BBC) article. Cross-validated on the
# training items (training/train_topics.py --body-chars): MasakhaNEWS 0.879 at 2,000, 0.887 at
# 3,000 (log-loss 0.569 and 0.562), no change on the shorter sets; 3,000 costs a full article
# about 0.1 ms more, and the topic step's budget is 0.3 ms a document.
MAX_BODY_CHARS = 2000

# Word ids are packed ID_BITS to a slot: a pair is (a << 20) | b, a triple also carries
# _TRIPLE_FLAG so it can never equal a pair, even when its first word is unknown (id 0).
ID_BITS = 20
MAX_TOKENS = (1 << ID_BITS) - 1
_TRIPLE_FLAG = 1 << 62


# English news is ASCII but for its typography. With these characters made ASCII (the same
# separators for the regex), ``str.translate`` and ``str.split`` cut the words about twice as fast
# as ``_TOKEN_RE``, with the same result (tests/test_topics.py compares the two on many texts).
_TYPOGRAPHY = (
    ("\u2019", "'"),  # the apostrophe of a possessive, as _POSSESSIVE_RE reads it
    ("\u2018", " "),
    ("\u201c", " "),
    ("\u201d", " "),
    ("\u2013", " "),
    ("\u2014", " "),
    ("\u2026", " "),
    ("\xa0", " "),
)
_ASCII_SEPARATORS = str.maketrans({chr(c): " " for c in range(128) if not chr(c).isalnum()})
_ASCII_POSSESSIVE_RE = re.compile(r"'s\b")


def tokenize(text: str) -> list[str]:
    """Lower-case word tokens of ``text``: the unit of the features and of the lexicon's terms.

    Runs of letters and digits (``_TOKEN_RE``), after the possessive "'s" is dropped.
    """
    text = text.lower()
    if not text.isascii():
        for typographic, plain in _TYPOGRAPHY:
            if typographic in text:
                text = text.replace(typographic, plain)
        if not text.isascii():
            return _TOKEN_RE.findall(_POSSESSIVE_RE.sub("", text))
    if "'s" in text:
        text = _ASCII_POSSESSIVE_RE.sub("", text)
    return text.translate(_ASCII_SEPARATORS).split()


def regex_tokenize(text: str) -> list[str]:
    """``tokenize`` by the regex alone: the definition the fast path must agree with."""
    return _TOKEN_RE.findall(_POSSESSIVE_RE.sub("", text.lower()))


def ngram_key(ids: Sequence[int]) -> int:
    """The packed key of a pair or triple of word ids (each in 1..MAX_TOKENS)."""
    if len(ids) == 2:
        return (ids[0] << ID_BITS) | ids[1]
    if len(ids) == 3:
        return _TRIPLE_FLAG | (ids[0] << (2 * ID_BITS)) | (ids[1] << ID_BITS) | ids[2]
    raise ValueError(f"n-grams are pairs or triples, not {len(ids)} words")


@dataclasses.dataclass(frozen=True, eq=False)
class FeatureSpace:
    """Words and n-grams with their feature index.

    Word ``tokens[i]`` has id and feature index ``i + 1`` (index 0 is unused: unknown words get
    id 0). N-gram ``j`` of the sorted ``ngram_keys`` (pairs and triples) has feature index
    ``len(tokens) + 1 + j``. Phrases of four words or more (lexicon terms) come last:
    ``long_terms`` maps the key of a phrase's first three words (one of the n-grams) to
    ((the remaining word ids, feature index), ...).
    """

    tokens: tuple[str, ...]
    ngram_keys: np.ndarray
    long_terms: dict[int, tuple[tuple[tuple[int, ...], int], ...]] = dataclasses.field(default_factory=dict)
    n_long: int = 0
    ids: dict[str, int] = dataclasses.field(init=False, repr=False)
    triple_starts: np.ndarray = dataclasses.field(init=False, repr=False)
    heads: np.ndarray = dataclasses.field(init=False, repr=False)

    def __post_init__(self) -> None:
        if len(self.tokens) > MAX_TOKENS:
            raise ValueError(f"at most {MAX_TOKENS} words fit the packed n-gram keys")
        object.__setattr__(self, "ids", {token: i for i, token in enumerate(self.tokens, 1)})
        # Triples are rare: a document's triples are looked up only where its pair is the start
        # of one (``triple_starts``, sorted pair keys); long phrases only where their first
        # triple matched (``heads``, sorted triple keys).
        triples = self.ngram_keys[self.ngram_keys >= _TRIPLE_FLAG]
        starts = np.unique((triples ^ _TRIPLE_FLAG) >> ID_BITS)
        object.__setattr__(self, "triple_starts", starts)
        object.__setattr__(self, "heads", np.array(sorted(self.long_terms), dtype=np.int64))

    @property
    def ngram_offset(self) -> int:
        return len(self.tokens) + 1

    @property
    def n_base(self) -> int:
        """Features of words and n-grams: the ones a model is trained on."""
        return len(self.tokens) + 1 + len(self.ngram_keys)

    @property
    def n_features(self) -> int:
        return self.n_base + self.n_long

    @classmethod
    def build(cls, tokens: Iterable[str], ngrams: Iterable[Sequence[str]] = ()) -> FeatureSpace:
        """A space of these words (in the order given) and n-grams (pairs and triples)."""
        return cls(tokens=(), ngram_keys=np.zeros(0, dtype=np.int64)).with_terms(
            [(token,) for token in tokens] + [tuple(ngram) for ngram in ngrams]
        )[0]

    def with_terms(self, terms: Iterable[Sequence[str]]) -> tuple[FeatureSpace, np.ndarray]:
        """This space plus the words, n-grams and long phrases of ``terms``, and where each old
        feature index went (``moved[old] == new``). Known words keep their ids."""
        vocabulary = dict(self.ids)
        terms = list(dict.fromkeys(tuple(term) for term in terms if term))
        for term in terms:
            for word in term:
                vocabulary.setdefault(word, len(vocabulary) + 1)
        keys = set(self.ngram_keys.tolist())
        old_long = {
            tuple(self.tokens[i - 1] for i in _head_ids(head) + tail): index
            for head, tails in self.long_terms.items()
            for tail, index in tails
        }
        long_terms = sorted(old_long, key=old_long.get)
        for term in terms:
            ids = [vocabulary[word] for word in term]
            if len(ids) in (2, 3):
                keys.add(ngram_key(ids))
            elif len(ids) > 3:
                keys.add(ngram_key(ids[:3]))
                if term not in old_long:
                    long_terms.append(term)
        ngram_keys = np.array(sorted(keys), dtype=np.int64)
        offset = len(vocabulary) + 1 + len(ngram_keys)
        grouped: dict[int, list[tuple[tuple[int, ...], int]]] = {}
        for position, term in enumerate(long_terms):
            ids = [vocabulary[word] for word in term]
            grouped.setdefault(ngram_key(ids[:3]), []).append((tuple(ids[3:]), offset + position))
        space = FeatureSpace(
            tokens=tuple(vocabulary),
            ngram_keys=ngram_keys,
            long_terms={head: tuple(tails) for head, tails in grouped.items()},
            n_long=len(long_terms),
        )
        moved = np.zeros(self.n_features, dtype=np.int64)
        moved[: self.ngram_offset] = np.arange(self.ngram_offset)
        moved[self.ngram_offset : self.n_base] = space.ngram_offset + np.searchsorted(
            ngram_keys, self.ngram_keys
        )
        moved[self.n_base :] = space.n_base + np.arange(self.n_long)
        return space, moved

    def index_of(self, words: Sequence[str]) -> int | None:
        """The feature index of a word, n-gram or long phrase; None when the space lacks it."""
        ids = [self.ids.get(word, 0) for word in words]
        if not ids or 0 in ids:
            return None
        if len(ids) == 1:
            return ids[0]
        key = ngram_key(ids[:3])
        position = int(np.searchsorted(self.ngram_keys, key))
        if position == len(self.ngram_keys) or self.ngram_keys[position] != key:
            return None
        if len(ids) <= 3:
            return self.ngram_offset + position
        for tail, index in self.long_terms.get(key, ()):
            if tail == tuple(ids[3:]):
                return index
        return None


def _head_ids(key: int) -> tuple[int, ...]:
    mask = (1 << ID_BITS) - 1
    return ((key >> (2 * ID_BITS)) & mask, (key >> ID_BITS) & mask, key & mask)


def _found(sorted_keys: np.ndarray, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positions in ``sorted_keys`` of those of ``keys`` it holds, and which of ``keys`` they are."""
    if not len(sorted_keys) or not len(keys):
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.intp)
    positions = np.searchsorted(sorted_keys, keys)
    np.minimum(positions, len(sorted_keys) - 1, out=positions)
    hit = np.flatnonzero(sorted_keys[positions] == keys)
    return positions[hit], hit


def _features_at(space: FeatureSpace, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Feature indices of a run of word ids (0: unknown word or a break), each known word, pair,
    triple and long phrase, and where in ``ids`` each starts. A pair or triple with a 0 in it
    never matches (see ``ngram_key``)."""
    at_words = np.flatnonzero(ids > 0)
    if len(ids) < 2:
        return ids[at_words], at_words
    pairs = (ids[:-1] << ID_BITS) | ids[1:]
    # Sorted needles: numpy's binary search starts from the previous answer, several times faster.
    order = np.argsort(pairs)
    found, hit = _found(space.ngram_keys, pairs[order])
    features, starts_at = [ids[at_words], found + space.ngram_offset], [at_words, order[hit]]
    if len(space.triple_starts) and len(pairs) > 1:
        starts = pairs[:-1]
        position = np.searchsorted(space.triple_starts, starts)
        np.minimum(position, len(space.triple_starts) - 1, out=position)
        at = np.flatnonzero(space.triple_starts[position] == starts)
        if len(at):
            triples = _TRIPLE_FLAG | (starts[at] << ID_BITS) | ids[at + 2]
            found, hit = _found(space.ngram_keys, triples)
            features.append(found + space.ngram_offset)
            starts_at.append(at[hit])
            if len(space.heads):
                position = np.searchsorted(space.heads, triples)
                np.minimum(position, len(space.heads) - 1, out=position)
                hit = space.heads[position] == triples
                if hit.any():
                    found, at_long = _long_terms_at(space, ids, at[hit], triples[hit])
                    features.append(found)
                    starts_at.append(at_long)
    return np.concatenate(features), np.concatenate(starts_at)


def _long_terms_at(
    space: FeatureSpace, ids: np.ndarray, at: np.ndarray, heads: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    # Rare: a phrase of four words or more starts with this triple; check its remaining words.
    found, where = [], []
    for start, key in zip(at.tolist(), heads.tolist(), strict=True):
        for tail, index in space.long_terms[key]:
            end = start + 3 + len(tail)
            if end <= len(ids) and tuple(ids[start + 3 : end].tolist()) == tail:
                found.append(index)
                where.append(start)
    return np.array(found, dtype=np.int64), np.array(where, dtype=np.intp)


def document_features(
    space: FeatureSpace, title: str | None, text: str | None, *, body_chars: int = MAX_BODY_CHARS
) -> tuple[np.ndarray, np.ndarray]:
    """Sorted unique feature indices of a document and their values, ``log1p`` of weighted counts.

    The title's words go in ``TITLE_WEIGHT`` times, each run of words apart from the next by an
    unknown-word id, so that no pair or triple spans the title and the body.
    """
    return documents_features(space, [(title, text)], body_chars=body_chars)[0]


def documents_features(
    space: FeatureSpace,
    documents: Sequence[tuple[str | None, str | None]],
    *,
    body_chars: int = MAX_BODY_CHARS,
) -> list[tuple[np.ndarray, np.ndarray]]:
    """``document_features`` of each (title, text), found for all of them at once: the word ids
    of the documents in a row, each document's closed by an unknown-word id (no pair or triple
    spans two), then one search of the n-grams and one count, split by where each feature
    starts. numpy's cost per call, not per word, is most of a news lead's search."""
    get = space.ids.get
    ids: list[int] = []
    firsts = []
    for title, text in documents:
        firsts.append(len(ids))
        if title:
            ids += [*map(get, tokenize(title), repeat(0)), 0] * TITLE_WEIGHT
        if text:
            ids += map(get, tokenize(text[:body_chars]), repeat(0))
        ids.append(0)
    features, starts = _features_at(space, np.array(ids, dtype=np.int64))
    # np.unique(..., return_counts=True) of (document, feature) keys, without its Python-level overhead.
    owners = np.searchsorted(np.array(firsts), starts, side="right") - 1
    keys = np.sort(owners * space.n_features + features)
    if not len(keys):
        return [(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)) for _ in documents]
    bounds = np.flatnonzero(np.concatenate(([True], keys[1:] != keys[:-1], [True])))
    owners, features = np.divmod(keys[bounds[:-1]], space.n_features)
    values = np.log1p(np.diff(bounds)).astype(np.float32)
    cuts = np.searchsorted(owners, np.arange(len(documents) + 1)).tolist()
    return [(features[a:b], values[a:b].copy()) for a, b in zip(cuts[:-1], cuts[1:], strict=True)]
