r"""Reader comments with nothing around them: where a document's comment thread starts.

Consumes the lines of documents (with their ``tokenize`` tokens) and, per document, which lines
the cleaner keeps so far; emits, per line, the log-odds that it is a reader's comment rather
than the article's prose (``CommentModel.line_scores``), and per document the line where a
thread starts, if one does (``thread_text_start``). Sample::

    model = CommentModel.load()   # schemas/models/comment_model.npz, its card beside it
    z = model.line_scores(lines, tokenize(lines))   -> array([-2.1, -1.7, 3.2, 1.4, 2.9])
    thread_text_start(z, chars, kept, model.bias, model.margin)  -> 2

The thread is the suffix of the kept lines whose scores, less ``bias``, sum highest, when
that sum reaches ``margin`` and at least one line of prose stays above it: one reader's
"Thanks for sharing!" decides nothing, twenty lines that read like readers do. Extraction
strips the names, dates and reply links that mark a thread on the page
(``clean_structure.thread_shape_start`` reads them where they survive); this reads the
comments' own words. Features are a plain function shared with ``training/train_comment_model.py``.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping, Sequence
from typing import BinaryIO

import numpy as np

from transforms.core.line_model import load_arrays
from transforms.core.line_text import LONG_CHARS
from transforms.core.line_tokens import Tokens

MODEL_RESOURCE = "models/comment_model.npz"
# Hashed buckets shared by the head's words and its word pairs (2**17 float32 weights: 0.5 MB).
BUCKETS = 1 << 17
_PAIR_MUL = np.uint64(0x9E3779B97F4A7C15)
# The line's shape, beside its words: length, an exclamation, a question, an @reply, a lower-case start.
SHAPE_FEATURES = ("log_chars", "exclamation", "question", "at_reply", "lower_start")


def hashed_features(tokens: Tokens) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(row, col, value)`` of every line's hashed words and word pairs (of its head, as
    ``tokenize`` reads it), each distinct column once, valued so that a line's vector has
    length 1 (long and short lines weigh alike)."""
    hashes, row = tokens.hashes, tokens.line
    same = np.flatnonzero(row[1:] == row[:-1])
    pairs = (hashes[same] * _PAIR_MUL) ^ hashes[same + 1]
    cols = (np.concatenate((hashes, pairs)) & np.uint64(BUCKETS - 1)).astype(np.int64)
    # Two runs already in line order (words, then pairs): a stable sort merges them in a few
    # milliseconds a batch, where np.unique took 0.25 ms a document.
    keys = np.sort(np.concatenate((row, row[same])).astype(np.int64) * BUCKETS + cols, kind="stable")
    if keys.size:
        keys = keys[np.concatenate(([True], keys[1:] != keys[:-1]))]
    rows, cols = keys // BUCKETS, keys % BUCKETS
    distinct = np.bincount(rows, minlength=tokens.counts.size)
    return rows, cols, 1.0 / np.sqrt(distinct[rows])


def shape_features(lines: Sequence[str]) -> np.ndarray:
    """One row of ``SHAPE_FEATURES`` per line."""
    n = len(lines)
    columns = (
        np.log1p(np.fromiter(map(len, lines), dtype=np.float64, count=n)) / 6.0,
        np.fromiter(["!" in line for line in lines], dtype=np.float64, count=n),
        np.fromiter(["?" in line for line in lines], dtype=np.float64, count=n),
        np.fromiter([line[:1] == "@" for line in lines], dtype=np.float64, count=n),
        np.fromiter([line[:1].islower() for line in lines], dtype=np.float64, count=n),
    )
    return np.column_stack(columns) if n else np.zeros((0, len(SHAPE_FEATURES)))


class CommentModel:
    """The shipped comment model (``schemas/models/comment_model.npz``; card beside it): a
    logistic regression over ``hashed_features`` and ``shape_features``, trained on Dragnet's
    reader comments against article prose, and the change point's ``bias`` and ``margin``."""

    def __init__(self, arrays: Mapping[str, np.ndarray]) -> None:
        meta = json.loads(str(arrays["meta"]))
        self.meta = meta
        self.words = arrays["words"].astype(np.float64)
        self.shape = arrays["shape"].astype(np.float64)
        self.intercept = float(meta["intercept"])
        self.bias = float(meta["bias"])
        self.margin = float(meta["margin"])

    @classmethod
    def load(cls, path: str | BinaryIO | None = None) -> CommentModel:
        """The packaged model, or the one in ``path`` (a file name or an open binary file)."""
        return cls(load_arrays(MODEL_RESOURCE, path))

    def line_scores(self, lines: Sequence[str], tokens: Tokens) -> np.ndarray:
        """The log-odds that each line is a reader's comment (``tokens``: ``tokenize(lines)``)."""
        rows, cols, values = hashed_features(tokens)
        z = np.bincount(rows, weights=self.words[cols] * values, minlength=len(lines))
        return self.intercept + z + shape_features(lines) @ self.shape


def thread_text_start(
    scores: np.ndarray, chars: np.ndarray, kept: Sequence[bool], bias: float, margin: float
) -> int | None:
    """Where a document's comment thread starts (a line's position), or None: the kept line
    from which the kept lines' ``scores`` less ``bias`` sum highest, below the first kept line
    of prose, when that sum reaches ``margin``."""
    at = np.flatnonzero(np.asarray(kept, dtype=bool))
    prose = np.flatnonzero(chars[at] >= LONG_CHARS)
    if not prose.size or prose[0] + 1 >= at.size:
        return None
    lo = int(prose[0]) + 1
    suffix = np.cumsum((scores[at] - bias)[::-1])[::-1]
    best = lo + int(np.argmax(suffix[lo:]))
    if suffix[best] < margin:
        return None
    return int(at[best])


@functools.cache
def default_comment_model() -> CommentModel:
    """The packaged comment model, loaded once per process."""
    return CommentModel.load()
