r"""The line model's second pass and its binned linear scoring.

Consumes the first pass's log-odds of every line of a batch; emits the context features of
each line (``context_features``: its neighbours' scores, window means before and after, the
document's body span) and, for both passes, where each line's active weights sit
(``Binned``: one weight per feature and bin; ``Layout``: the columns of both weight vectors,
shared by training and inference so that the two never drift). Sample::

    layout.pass2_columns(context_features(z1, z_lex, batch), dense, extracted)  -> (lines, k) ints
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from transforms.core.line_features import BASE_FEATURES, CATEGORICAL_FEATURES, Batch
from transforms.core.line_tokens import Vocabulary

# --- The second pass: the first pass's scores around each line ---

CONTEXT_FEATURES = (
    "z_self",
    "z_lexical",
    "z_prev1",
    "z_prev2",
    "z_next1",
    "z_next2",
    "p_mean_prev5",
    "p_mean_next5",
    "p_mean_prev15",
    "p_mean_next15",
    "p_mean_before",
    "p_mean_after",
    "p_doc_mean",
    "p_char_mean_after",
    "p_char_mean_before",
    "p_run",
    "log_dist_body_span",
    "body_span_share",
    "body_span_pos",
)
# Pairs of context features whose bins are crossed (one weight per pair of bins).
CONTEXT_CROSSES = (("z_self", "p_mean_prev5"), ("z_self", "p_mean_next5"), ("z_self", "log_dist_body_span"))
SECOND_FEATURES = BASE_FEATURES + CONTEXT_FEATURES


def body_spans(p: np.ndarray, chars: np.ndarray, doc_starts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per document, the run of lines [start, end) that holds most body text: the maximum-sum
    segment of (0.5 - p) weighted by each line's length (Kadane), as body-text extraction does
    with tags (both bounds 0 when no line gains)."""
    gain = ((0.5 - p) * np.sqrt(chars)).tolist()
    bounds = doc_starts.tolist() + [len(gain)]
    spans_start, spans_end = [], []
    for d in range(len(bounds) - 1):
        best, best_start, best_end = 0.0, bounds[d], bounds[d]
        run, run_start = 0.0, bounds[d]
        for i in range(bounds[d], bounds[d + 1]):
            if run <= 0:
                run, run_start = 0.0, i
            run += gain[i]
            if run > best:
                best, best_start, best_end = run, run_start, i + 1
        spans_start.append(best_start)
        spans_end.append(best_end)
    return np.array(spans_start, dtype=np.int64), np.array(spans_end, dtype=np.int64)


def context_features(z: np.ndarray, z_lexical: np.ndarray, batch: Batch) -> np.ndarray:
    """The second pass's view of the first pass's log-odds ``z``: the line's and its neighbours'
    (in its document), window means of the probabilities before and after, the document's, and
    where the body span lies (rows in line order, columns ``CONTEXT_FEATURES``)."""
    n = z.size
    out = np.zeros((n, len(CONTEXT_FEATURES)), dtype=np.float32)
    if n == 0:
        return out
    p = 1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))
    chars = batch.chars
    # Beyond the document's edges counts as boilerplate-like (a page starts and ends in chrome).
    edge, z_edge = 0.5, 0.0
    at = np.arange(n)
    start, end = batch.start, batch.end
    out[:, 0] = z
    out[:, 1] = z_lexical
    for col, by in ((2, 1), (3, 2), (4, -1), (5, -2)):
        src = at - by
        inside = (src >= start) & (src < end)
        out[:, col] = np.where(inside, z[np.clip(src, 0, n - 1)], z_edge)
    cum = np.concatenate(([0.0], np.cumsum(p)))
    for col, k in ((6, 5), (8, 15)):
        lo = np.maximum(at - k, start)
        out[:, col] = (cum[at] - cum[lo] + edge * (k - (at - lo))) / k
    for col, k in ((7, 5), (9, 15)):
        hi = np.minimum(at + 1 + k, end)
        out[:, col] = (cum[hi] - cum[at + 1] + edge * (k - (hi - at - 1))) / k
    before = cum[at] - cum[start]
    after = cum[end] - cum[at + 1]
    index, size = batch.index, end - start
    out[:, 10] = np.where(index > 0, before / np.maximum(index, 1), edge)
    out[:, 11] = np.where(index < size - 1, after / np.maximum(size - 1 - index, 1), edge)
    out[:, 12] = (cum[end] - cum[start]) / size
    weighted = np.concatenate(([0.0], np.cumsum(p * chars)))
    chars_cum = np.concatenate(([0.0], np.cumsum(chars, dtype=np.float64)))
    rest = chars_cum[end] - chars_cum[at + 1]
    out[:, 13] = np.where(rest > 0, (weighted[end] - weighted[at + 1]) / np.maximum(rest, 1.0), edge)
    ahead = chars_cum[at] - chars_cum[start]
    out[:, 14] = np.where(ahead > 0, (weighted[at] - weighted[start]) / np.maximum(ahead, 1.0), edge)
    # Length of the run of likely-boilerplate lines this line sits in (log).
    high = p >= 0.5
    if high.any():
        change = np.zeros(n, dtype=bool)
        change[0] = True
        change[1:] = high[1:] != high[:-1]
        change[batch.doc_starts] = True
        bounds = np.append(np.flatnonzero(change), n)
        lengths = np.diff(bounds)
        out[:, 15] = np.where(high, np.log1p(np.repeat(lengths, lengths)), 0.0)
    span_start, span_end = body_spans(p, chars, batch.doc_starts)
    s, e = span_start[batch.doc], span_end[batch.doc]
    found = e > s
    dist = np.maximum(at - e + 1, 0) - np.maximum(s - at, 0)
    span_chars = chars_cum[e] - chars_cum[s]
    doc_chars = chars_cum[end] - chars_cum[start]
    out[:, 16] = np.where(found, np.sign(dist) * np.log1p(np.abs(dist)), -np.log1p(size))
    out[:, 17] = np.where(found, span_chars / np.maximum(doc_chars, 1.0), 0.0)
    out[:, 18] = np.where(found, (at - s) / np.maximum(e - s, 1), -1.0)
    return out


# --- Binned linear scoring ---


# Feature values are clipped to +-_LIMIT before binning (no feature comes near it) and shifted
# apart by _SHIFT, so that every feature's edges sort apart from the others'.
_LIMIT = 1e6
_SHIFT = 4e6


class Binned:
    """Dense features -> one weight per (feature, bin): numeric and binary features binned by
    learnt edges (``edges``: one row per feature, padded with +inf), categorical ones by value.
    ``columns`` gives each line's active columns into a weight vector (the same indices
    training builds its sparse matrix from)."""

    def __init__(self, edges: np.ndarray, categorical_sizes: Sequence[int]) -> None:
        self.edges = np.ascontiguousarray(edges, dtype=np.float32)
        self.n_numeric = self.edges.shape[0]
        self.width = self.edges.shape[1] + 1
        sizes = np.asarray(categorical_sizes, dtype=np.int64).reshape(-1)
        self.cat_offset = (self.n_numeric * self.width + np.cumsum(sizes) - sizes).astype(np.int64)
        self.num_offset = np.arange(self.n_numeric, dtype=np.int64) * self.width
        self.size = int(self.n_numeric * self.width + sizes.sum())
        # All finite edges in one sorted array, feature f's shifted by f * _SHIFT: one
        # ``searchsorted`` bins every feature of every line.
        finite = [self.edges[f][np.isfinite(self.edges[f])].astype(np.float64) for f in range(self.n_numeric)]
        self._flat_edges = np.concatenate([e + f * _SHIFT for f, e in enumerate(finite)] + [np.zeros(0)])
        self._first_edge = np.cumsum([0] + [e.size for e in finite])[:-1].astype(np.int64)
        self._shift = np.arange(self.n_numeric, dtype=np.float64) * _SHIFT

    def bins(self, x: np.ndarray) -> np.ndarray:
        """Per line, the bin of each numeric feature (the first ``n_numeric`` columns of ``x``): the
        number of the feature's edges below the value."""
        numeric = np.clip(x[:, : self.n_numeric].astype(np.float64), -_LIMIT, _LIMIT) + self._shift
        return np.searchsorted(self._flat_edges, numeric, side="left") - self._first_edge

    def columns(self, x: np.ndarray, bins: np.ndarray | None = None) -> np.ndarray:
        """The active column of each feature for each line, shape (lines, features)."""
        if bins is None:
            bins = self.bins(x)
        if not self.cat_offset.size:
            return bins + self.num_offset
        cats = x[:, self.n_numeric :].astype(np.int64) + self.cat_offset
        return np.hstack((bins + self.num_offset, cats))


def quantile_edges(values: np.ndarray, max_edges: int, binary: bool = False) -> np.ndarray:
    """Bin edges of one feature: 0.5 for a binary one, else up to ``max_edges`` distinct
    quantiles (midpoints between the distinct values around them, so that a value and its
    float32 copy fall in the same bin)."""
    if binary:
        return np.array([0.5])
    qs = np.quantile(values, np.linspace(0, 1, max_edges + 2)[1:-1])
    uniq = np.unique(values)
    edges = []
    for q in np.unique(qs):
        at = np.searchsorted(uniq, q, side="right")
        if 0 < at < uniq.size:
            edges.append((uniq[at - 1] + uniq[at]) / 2)
    return np.unique(np.array(edges, dtype=np.float64))


def pad_edges(rows: Sequence[np.ndarray]) -> np.ndarray:
    width = max(1, max(len(r) for r in rows))
    out = np.full((len(rows), width), np.inf, dtype=np.float32)
    for i, r in enumerate(rows):
        out[i, : len(r)] = r
    return out


def cross_columns(bins_a: np.ndarray, bins_b: np.ndarray, width: int) -> np.ndarray:
    return bins_a * width + bins_b


class Layout:
    """Where each line's active weights sit in the two passes' weight vectors.

    Pass 1: ``[lexical cues | dense, shared | dense, extracted input | dense, scraped input]``;
    pass 2: ``[context, shared | context, extracted | context, scraped | dense, shared | crosses]``.
    Training builds its sparse design matrices from these same columns, so the two never drift."""

    def __init__(self, vocabulary: Vocabulary, edges1: np.ndarray, edges2: np.ndarray) -> None:
        self.vocabulary = vocabulary
        self.binned1 = Binned(edges1, tuple(CATEGORICAL_FEATURES.values()))
        self.binned2 = Binned(edges2, ())
        b1, b2 = self.binned1.size, self.binned2.size
        self.lexical_size = vocabulary.size
        self.pass1_size = self.lexical_size + 3 * b1
        self.width2 = self.binned2.width
        self.cross = np.array(
            [(CONTEXT_FEATURES.index(a), CONTEXT_FEATURES.index(b)) for a, b in CONTEXT_CROSSES],
            dtype=np.int64,
        ).reshape(-1, 2)
        self.cross_offset = 3 * b2 + b1 + np.arange(len(CONTEXT_CROSSES), dtype=np.int64) * self.width2**2
        self.pass2_size = 3 * b2 + b1 + len(CONTEXT_CROSSES) * self.width2**2

    def pass1_dense_columns(self, dense: np.ndarray, extracted: np.ndarray) -> np.ndarray:
        """The dense part of pass 1: per line, its active columns (``dense``: ``Binned.columns``
        of the lines; ``extracted``: per line, whether its input is an extractor's output)."""
        b1 = self.binned1.size
        kind = (self.lexical_size + np.where(extracted, 1, 2) * b1)[:, None]
        return np.hstack((dense + self.lexical_size, dense + kind))

    def pass2_columns(self, context: np.ndarray, dense: np.ndarray, extracted: np.ndarray) -> np.ndarray:
        """Pass 2: per line, its active columns (``context``: ``context_features``; ``dense`` as
        for pass 1)."""
        b2 = self.binned2.size
        bins = self.binned2.bins(context)
        ctx = bins + self.binned2.num_offset
        kind = (np.where(extracted, 1, 2) * b2)[:, None]
        crosses = bins[:, self.cross[:, 0]] * self.width2 + bins[:, self.cross[:, 1]] + self.cross_offset
        return np.hstack((ctx, ctx + kind, dense + 3 * b2, crosses))


def rows_of(columns: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A per-line column matrix as (row, column) pairs, for a sparse design matrix."""
    n, k = columns.shape
    return np.repeat(np.arange(n), k), columns.ravel()
