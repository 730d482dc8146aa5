"""Language identification of a text: py3langid's model, its byte walk done with numpy.

    detect_language("Rebels shelled the city overnight ...", load_language_identifier()) -> "en"

py3langid walks a text's bytes one at a time through an Aho-Corasick automaton over its byte
n-grams and counts the feature each state it visits stands for: a Python loop, about half of
the identification's time. Here the walk runs for every position at once. In such an automaton
the state after a byte is the longest suffix of the text so far that is a prefix of one of its
n-grams, so it depends on the last ``depth`` bytes alone (the deepest state's length, 6 in
py3langid 0.4's model): starting from the root at each position and taking ``depth`` steps over
the bytes before it gives every state of the sequential walk. The features are counted in the
order the sequential walk first meets them, so the scores are the same numbers to the bit
(tests/core/test_language.py checks both against py3langid's own walk).

The model is py3langid's, read from ``schemas/models/language.npz`` (its arrays in a container
that loads in a fraction of the time of py3langid's LZMA file, stored in lossless forms that
deflate better: ``sparse_rows`` and ``split_low16``; see ``language.md`` beside it).
"""

from __future__ import annotations

import functools
import importlib.resources
import json
import math
from array import array
from collections.abc import Sequence

import numpy as np
from py3langid.langid import RAW_FLOOR, LanguageIdentifier

# Language identification is unreliable on fewer characters than this.
MIN_LANGUAGE_CHARS = 40
# langid's probability below which we do not name a language.
MIN_LANGUAGE_PROB = 0.5
# langid's cost grows with the text (a pure-Python pass over its bytes) and the opening of an
# article tells its language: on the long documents of lines_train (1,154 over 3,000
# characters, 12 languages), the first 800 characters name the same language as the first
# 5,000 for every one, at an eighth of the time.
LANGUAGE_SAMPLE_CHARS = 800
# Rows of the automaton's table visited at once when measuring its depth (2 MB of states).
_DEPTH_SLICE = 2048
# Features copied at once when the weights are transposed back (4096 x 142 float16: 1.2 MB).
_TRANSPOSE_SLICE = 4096
# py3langid 0.4's model (training/build_language_model.py), inside the schemas package.
LANGUAGE_MODEL_RESOURCE = "models/language.npz"


def automaton_depth(moves: np.ndarray, state_rows: np.ndarray) -> int:
    """The length of the automaton's deepest state. ``moves`` holds one row of 256 next states
    per distinct row, ``state_rows`` each state's row. Breadth-first from the root, the level
    at which a state is first reached is the length of the n-gram prefix it stands for."""
    seen = np.zeros(len(state_rows), dtype=bool)
    seen[0] = True
    frontier, depth = np.zeros(1, dtype=np.intp), 0
    while True:
        reached = np.zeros(len(state_rows), dtype=bool)
        rows = np.unique(state_rows[frontier])
        # In slices: a whole level's next states at once would take tens of megabytes.
        for start in range(0, len(rows), _DEPTH_SLICE):
            reached[moves[rows[start : start + _DEPTH_SLICE]]] = True
        frontier = np.flatnonzero(reached & ~seen)
        if not len(frontier):
            return depth
        seen[frontier] = True
        depth += 1


def split_low16(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Values in [0, 2**17) as their low 16 bits (uint16) and their 17th bit (packed 8 a byte):
    the automaton's tables number 104,583 states, past uint16 but far from filling uint32."""
    if len(values) and not (values.min() >= 0 and values.max() < 1 << 17):
        raise ValueError("split_low16 takes values in [0, 2**17)")
    wide = values.astype(np.uint32, copy=False)
    return (wide & 0xFFFF).astype(np.uint16), np.packbits((wide >> 16).astype(np.uint8))


def join_low16(low: np.ndarray, high_bits: np.ndarray) -> np.ndarray:
    """The uint32 values ``split_low16`` split."""
    wide = np.unpackbits(high_bits, count=len(low)).astype(np.uint32)
    wide <<= 16
    wide |= low
    return wide


def byte_planes(values: np.ndarray) -> np.ndarray:
    """A 1-d array's bytes regrouped by their place in each value, least significant first (all
    first bytes, then all second bytes...), as HDF5's and Blosc's shuffle filters do: the slowly
    varying high bytes of neighbouring values then form long runs that deflate well."""
    little = np.ascontiguousarray(values, dtype=values.dtype.newbyteorder("<"))
    return np.ascontiguousarray(little.view(np.uint8).reshape(-1, values.itemsize).T)


def from_byte_planes(planes: np.ndarray, dtype) -> np.ndarray:
    """The array ``byte_planes`` regrouped (shifts over whole planes: a transposing copy reads
    memory in strides, several times slower)."""
    dtype = np.dtype(dtype)
    values = planes[-1].astype(f"u{dtype.itemsize}")
    for plane in planes[-2::-1]:
        values <<= 8
        values |= plane
    return values.view(dtype)


def sparse_rows(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A 2-d float16 matrix as each row's most frequent value, which entries differ from it
    (packed bits, row by row) and those entries' values, in order; compared bit for bit, so
    ``dense_rows`` gives back the same bits. py3langid's weights hold one smoothing value per
    language in 82 % of their entries: 4.1 MB deflated whole, 3.4 MB this way."""
    bits = np.ascontiguousarray(matrix).view(np.uint16)
    modes = np.empty(len(bits), dtype=np.uint16)
    for row, values in enumerate(bits):
        distinct, counts = np.unique(values, return_counts=True)
        modes[row] = distinct[np.argmax(counts)]
    differs = bits != modes[:, None]
    return modes.view(matrix.dtype), np.packbits(differs), matrix[differs]


def dense_rows(modes: np.ndarray, differs_bits: np.ndarray, values: np.ndarray, columns: int) -> np.ndarray:
    """The matrix ``sparse_rows`` took apart."""
    matrix = np.repeat(modes[:, None], columns, axis=1)
    differs = np.unpackbits(differs_bits, count=matrix.size).view(bool)
    # Indices, then a put: twice as fast as assigning through a boolean mask.
    matrix.reshape(-1)[np.flatnonzero(differs)] = values
    return matrix


class ArrayLanguageIdentifier(LanguageIdentifier):
    """py3langid's ``LanguageIdentifier`` with the byte walk over numpy arrays, and the
    feature weights held as float32 (py3langid stores float16 and converts the rows a text
    uses at every call, exactly: the same numbers, without the conversion each time)."""

    __slots__ = ["_walk_depth", "_walk_moves", "_walk_output", "_walk_rows"]

    def __init__(self, nb_ptc, nb_pc, nb_classes, tk_nextmove, tk_output, *args, walk_depth=None, **kwargs):
        super().__init__(
            nb_ptc.astype(np.float32, copy=False), nb_pc, nb_classes, tk_nextmove, tk_output, *args, **kwargs
        )
        self._full_model = (self.nb_ptc, self.nb_pc, self.nb_classes)
        # A view of py3langid's own table (9.8 million entries), not a copy.
        self._walk_moves = np.asarray(memoryview(tk_nextmove))
        self._walk_rows = np.asarray(self._rowbase, dtype=np.intp)
        self._walk_output = np.asarray(tk_output, dtype=np.intp)
        if walk_depth is None:
            walk_depth = automaton_depth(
                self._walk_moves.reshape(-1, 256), np.asarray(self.tk_row, dtype=np.intp)
            )
        self._walk_depth = walk_depth

    @classmethod
    def from_container(cls, handle, **kwargs) -> ArrayLanguageIdentifier:
        """The identifier over a file written by ``training/build_language_model.py``: py3langid's
        arrays, handed over as py3langid's own loader hands them (``py3langid.modelio``)."""
        with np.load(handle, allow_pickle=False) as arrays:
            meta = json.loads(arrays["meta"].tobytes())
            values = from_byte_planes(arrays["ptc_t_values"], np.float16)
            ptc_t = dense_rows(arrays["ptc_t_mode"], arrays["ptc_t_differs"], values, meta["features"])
            nb_ptc = np.empty(ptc_t.shape[::-1], dtype=np.float32)
            # In slices of features: a transposing copy in one go reads memory in long strides.
            for start in range(0, len(nb_ptc), _TRANSPOSE_SLICE):
                nb_ptc[start : start + _TRANSPOSE_SLICE] = ptc_t[:, start : start + _TRANSPOSE_SLICE].T
            nextmove_low = from_byte_planes(arrays["nextmove_low"], np.uint16)
            return cls(
                nb_ptc,
                arrays["pc"],
                arrays["classes"].tolist(),
                _stdlib_array(join_low16(nextmove_low, arrays["nextmove_high"])),
                from_byte_planes(arrays["out_feat"], np.int32).tolist(),
                tk_row=_stdlib_array(from_byte_planes(arrays["nextmove_row"], np.uint16)),
                walk_depth=meta["walk_depth"],
                **kwargs,
            )

    def feature_counts(self, data: bytes) -> tuple[np.ndarray, np.ndarray]:
        """The features the walk over ``data`` visits and how often, in the order it first
        visits them (py3langid's ``visit_counts``, whose dict keeps that order)."""
        return self.feature_counts_many([data])[0]

    def feature_counts_many(self, texts: Sequence[bytes]) -> list[tuple[np.ndarray, np.ndarray]]:
        """``feature_counts`` of each text, walked all at once: numpy's cost per call, not per
        byte, is most of an 800-byte text's walk. A position steps back over its own text's
        bytes only, and the features are counted text by text."""
        lengths = np.fromiter(map(len, texts), dtype=np.intp, count=len(texts))
        text = np.frombuffer(b"".join(texts), dtype=np.uint8).astype(np.intp)
        owner = np.repeat(np.arange(len(texts)), lengths)
        offset = np.arange(len(text)) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        states = np.zeros(len(text), dtype=np.intp)
        for lag in range(self._walk_depth - 1, -1, -1):
            at = np.flatnonzero(offset >= lag)
            step = self._walk_rows.take(states[at])
            step += text[at - lag]
            states[at] = self._walk_moves.take(step)
        features = self._walk_output.take(states)
        visited = features >= 0
        # One key per (text, feature); sorted by the position of its first visit, the keys run
        # text by text, each text's in the order its walk first meets them.
        n_features = len(self.nb_ptc)
        keys = owner[visited] * n_features + features[visited]
        if not len(keys):
            return [(keys, keys)] * len(texts)
        order = np.argsort(keys, kind="stable")
        ranked = keys[order]
        starts = np.flatnonzero(np.concatenate(([True], ranked[1:] != ranked[:-1])))
        counts = np.diff(np.append(starts, len(ranked)))
        first_seen = np.argsort(order[starts], kind="stable")
        owners, features = np.divmod(ranked[starts][first_seen], n_features)
        counts = counts[first_seen]
        bounds = np.searchsorted(owners, np.arange(len(texts) + 1)).tolist()
        return [(features[a:b], counts[a:b]) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]

    def _raw_score(self, text):
        return self._raw_scores([text])[0]

    def _raw_scores(self, texts: Sequence[bytes]) -> list[np.ndarray]:
        scores = []
        for text, (features, counts) in zip(texts, self.feature_counts_many(texts), strict=True):
            if len(features):
                scores.append(np.log1p(counts.astype(np.float32)) @ self.nb_ptc[features] + self.nb_pc)
            else:
                scores.append(super()._raw_score(text))
        return scores

    def _decide(self, text):
        data = self._encode(text)
        return self._normalised(data, self._raw_score(data))

    def _normalised(self, data: bytes, scores: np.ndarray) -> np.ndarray:
        """py3langid 0.4's ``_decide`` past the raw scores of ``data`` (its encoded text): the
        same steps, so that a batch's raw scores go through them too."""
        if self._norm_probs:
            scores *= 1.0 / math.sqrt(len(data) or 1)
            np.exp(scores - scores.max(), out=scores)
            scores /= scores.sum()
        for i, j in self._alias_pairs:
            if self._norm_probs:
                scores[i] += scores[j]
                scores[j] = 0.0
            else:
                scores[i] = max(scores[i], scores[j])
                scores[j] = RAW_FLOOR
        return scores

    def classify(self, text):
        return self._classified(self._decide(text))

    def classify_many(self, texts: Sequence[str]) -> list[tuple[str, float]]:
        """``classify`` of each text, their walks done at once (``feature_counts_many``)."""
        encoded = [self._encode(text) for text in texts]
        raw = self._raw_scores(encoded)
        return [
            self._classified(self._normalised(data, scores))
            for data, scores in zip(encoded, raw, strict=True)
        ]

    def _classified(self, scores: np.ndarray) -> tuple[str, float]:
        """py3langid 0.4's ``classify`` from the decided scores."""
        i = int(scores.argmax())
        conf = float(scores[i])
        if self.min_confidence is not None and conf < self.min_confidence:
            return "und", conf
        return self.nb_classes[i], conf


def _stdlib_array(values: np.ndarray) -> array:
    """An unsigned numpy array as the ``array`` py3langid's walk indexes (``modelio._to_array``)."""
    out = array({2: "H", 4: "I", 8: "L"}[values.dtype.itemsize])
    out.frombytes(memoryview(np.ascontiguousarray(values)).cast("B"))
    return out


@functools.lru_cache(maxsize=1)
def load_language_identifier() -> ArrayLanguageIdentifier:
    """The packaged identifier, loaded once per process (it is only read: ``classify``)."""
    resource = importlib.resources.files("schemas").joinpath(LANGUAGE_MODEL_RESOURCE)
    with resource.open("rb") as handle:
        return ArrayLanguageIdentifier.from_container(handle, norm_probs=True)


def detect_language(text: str, identifier) -> str | None:
    """ISO 639-1 code of the text's language, or None when unsure."""
    return detect_languages([text], identifier)[0]


def detect_languages(texts: Sequence[str], identifier) -> list[str | None]:
    """``detect_language`` of each text, identified together (``classify_many``)."""
    samples = [text[:LANGUAGE_SAMPLE_CHARS] for text in texts]
    read = [i for i, sample in enumerate(samples) if len(sample.strip()) >= MIN_LANGUAGE_CHARS]
    codes: list[str | None] = [None] * len(texts)
    for i, (code, prob) in zip(read, identifier.classify_many([samples[i] for i in read]), strict=True):
        codes[i] = code if prob >= MIN_LANGUAGE_PROB else None
    return codes
