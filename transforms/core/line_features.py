r"""The dense features of lines for the line model: shape, words, position, repetition, rule hits.

Consumes a ``Batch`` (the lines of several documents at once), their lexical cues and what the
cleaner knows of each line (rule hit, title, site counts, short-line kind); emits one row of
numbers per line (``base_features``, columns ``BASE_FEATURES``), every column computed with
numpy over the whole batch: one character-class pass, cumulative sums per document. Sample::

    base_features(Batch.of([doc]), cues, rules=..., ...)  -> float32 array (lines, len(BASE_FEATURES))
"""

from __future__ import annotations

import bisect
import dataclasses
import re
from collections.abc import Sequence
from itertools import accumulate, chain

import numpy as np

from transforms.core import boilerplate
from transforms.core.line_text import (
    CHAT,
    COLON,
    DASH,
    DIGIT,
    END_PUNCT,
    EXCLAIM,
    FIRST,
    LONG_CHARS,
    LOWER,
    MID_PUNCT,
    N_CLASSES,
    NEWLINE,
    NEWS,
    OTHER_LETTER,
    QUESTION,
    QUOTE,
    SAMPLE_CHARS,
    SECOND,
    SEPARATOR,
    SHORT_CHARS,
    SITE_COUNT_CAP,
    STOP,
    UPPER,
    DocLines,
    char_classes,
)
from transforms.core.line_tokens import Cues

_I = re.IGNORECASE

# --- Short-line patterns: one anchored match per short line ---

BYLINE_RE = re.compile(r"^(?:written |reported |posted )?by\b\s*[:\-–—]?\s*", _I)
_COMMENT_META = (
    r"posted by\b|\d+ (?:seconds?|minutes?|hours?|days?|weeks?|months?|years?) ago|"
    r"(?:on )?\w+ \d{1,2},? \d{4},? at \d{1,2}:\d\d|reply|report|log in to reply|"
    r"\d+ (?:likes?|replies|votes?|points?)|\d{1,2}:\d\d\b|"
    r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.? \d{1,2},? \d{4}\b|"
    r"\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}\b"
)
# The kinds, in order of precedence (the first that matches names the line).
SHORT_KINDS = ("none", "thread_start", "soft_widget", "comment_meta", "byline")
_SHORT_RE = re.compile(
    rf"(?P<thread_start>{boilerplate.THREAD_START.pattern[1:]})|(?P<soft_widget>{boilerplate.SOFT_WIDGET.pattern[1:]})|"
    rf"(?P<comment_meta>{_COMMENT_META})|(?P<byline>(?:written |reported |posted )?by\b)",
    _I,
)
_KIND = {name: i for i, name in enumerate(SHORT_KINDS)}


# The same patterns, tried at every line start of the joined short lines in one scan. A match
# cannot run into the next line and hide its start: the only pieces that may cross a line break
# (``\s*`` before an optional ":", "." or "*" and the line's end) can only swallow a next line
# made of that one character, which has no kind of its own.
_SHORT_LINES_RE = re.compile(f"^(?:{_SHORT_RE.pattern})", _I | re.MULTILINE)


def short_kinds(lines: Sequence[str]) -> np.ndarray:
    """The short-line pattern kind of each line (``SHORT_KINDS`` index; 0 for none or long lines)."""
    out = np.zeros(len(lines), dtype=np.int64)
    sizes = [len(line) for line in lines]
    joined = "\n".join([line if size <= SHORT_CHARS else "" for line, size in zip(lines, sizes, strict=True)])
    found = [(m.start(), _KIND[m.lastgroup]) for m in _SHORT_LINES_RE.finditer(joined) if m.lastgroup]
    if found:
        starts = np.cumsum([0] + [size + 1 if size <= SHORT_CHARS else 1 for size in sizes[:-1]])
        at, kinds = zip(*found, strict=True)
        out[np.searchsorted(starts, at, side="right") - 1] = kinds
    return out


# --- Where in the document a substring occurs ---


def lines_containing(joined: str, offsets: Sequence[int], needle: str) -> list[int]:
    """Indices of the lines of ``joined`` (lines joined by "\\n"; ``offsets``: their starts)
    that hold ``needle``."""
    found = []
    at = joined.find(needle)
    while at >= 0:
        line = bisect.bisect_right(offsets, at) - 1
        found.append(line)
        nxt = offsets[line + 1] if line + 1 < len(offsets) else len(joined)
        at = joined.find(needle, nxt)
    return found


_EMAIL = re.compile(r"[\w.+-]@[\w-]+\.\w")
_HANDLE = re.compile(r"(?:^|[^\w.])@[A-Za-z_]\w")


# --- Dense features ---

# Numeric features, binned by quantile edges learnt at training time.
NUMERIC_FEATURES = (
    # shape
    "log_chars",
    "log_tokens",
    "chars_per_word",
    "upper_share",
    "digit_share",
    "punct_share",
    "separator_share",
    "other_letter_share",
    "sentence_end_rate",
    "comma_rate",
    "quote_share",
    "title_case_share",
    # words of the head
    "stop_share",
    "unknown_share",
    "first_person",
    "second_person",
    "news_words",
    "chat_words",
    # position
    "rel_pos",
    "log_from_start",
    "log_from_end",
    "char_pos",
    "log_dist_long",
    "long_within_3",
    # document
    "doc_log_lines",
    "doc_log_chars",
    "doc_long_share",
    "doc_long_char_share",
    "doc_rule_share",
    # repetition
    "doc_repeats",
    "site_docs",
    "site_share",
    "site_doc_share",
    # rules around
    "rules_before",
    "rules_after",
)
BINARY_FEATURES = (
    "ends_sentence",
    "ends_colon",
    "ends_ellipsis",
    "has_url",
    "has_email",
    "has_handle",
    "has_question",
    "has_exclamation",
    "before_first_long",
    "after_last_long",
    "is_title",
    "after_thread_start",
    "extracted",
)
# Categorical features: one weight per value.
CATEGORICAL_FEATURES = {
    "rule": len(boilerplate.RULE_IDS) + 1,
    "short_kind": len(SHORT_KINDS),
    "first_class": N_CLASSES,
    "last_class": N_CLASSES,
}
BASE_FEATURES = NUMERIC_FEATURES + BINARY_FEATURES + tuple(CATEGORICAL_FEATURES)
_COL = {name: i for i, name in enumerate(BASE_FEATURES)}
RULE_INDEX = {rule_id: i for i, rule_id in enumerate(boilerplate.RULE_IDS, 1)}


@dataclasses.dataclass
class Batch:
    """The lines of several documents at once, so that every numpy step runs once for all of
    them: ``doc`` is each line's document (0 ...), ``start``/``end`` the bounds of its document in
    the batch, ``index`` its position in its document."""

    lines: list[str]
    chars: np.ndarray
    doc: np.ndarray
    start: np.ndarray
    end: np.ndarray
    index: np.ndarray
    doc_starts: np.ndarray
    doc_sizes: np.ndarray
    norms: list[str | None]

    @classmethod
    def of(cls, docs: Sequence[DocLines]) -> Batch:
        sizes = np.fromiter(map(len, docs), dtype=np.int64, count=len(docs))
        starts = np.cumsum(sizes) - sizes
        doc = np.repeat(np.arange(len(docs)), sizes)
        start = starts[doc]
        lines = list(chain.from_iterable(d.lines for d in docs))
        chars = np.concatenate([d.chars for d in docs]) if docs else np.zeros(0, dtype=np.float32)
        return cls(
            lines,
            chars,
            doc,
            start,
            start + sizes[doc],
            np.arange(len(lines)) - start,
            starts,
            sizes,
            list(chain.from_iterable(d.norms for d in docs)),
        )

    def __len__(self) -> int:
        return len(self.lines)

    def per_doc(self, values: np.ndarray) -> np.ndarray:
        """The sum of ``values`` over each document's lines."""
        return np.bincount(self.doc, weights=values, minlength=self.doc_sizes.size)

    def before(self, values: np.ndarray) -> np.ndarray:
        """The sum of ``values`` over the lines before each line in its document."""
        cum = np.cumsum(values, dtype=np.float64)
        return cum - values - (cum - values)[self.start]

    def window(self, cum: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        """Sums over [lo, hi) of the values whose cumulative sums (with a leading 0) are ``cum``."""
        return cum[hi] - cum[lo]


def base_features(
    batch: Batch,
    cues: Cues,
    *,
    rules: Sequence[boilerplate.Rule | None],
    title_lines: np.ndarray,
    site_counts: np.ndarray,
    site_docs: np.ndarray,
    extracted: np.ndarray,
    kinds: np.ndarray,
) -> np.ndarray:
    """The dense first-pass features of every line of a batch (rows in line order, columns
    ``BASE_FEATURES``; categorical ones hold the value's index).

    Per line: ``rules`` the rule it matched (or None), ``title_lines`` whether it is the title,
    ``site_counts`` in how many other documents of the site it was seen, of ``site_docs`` other
    documents the site has; ``extracted`` whether its text is what an extractor left of an
    HTML page (rather than a page's or a scraper's whole text); ``kinds`` its ``short_kinds``.
    """
    n = len(batch)
    out = np.zeros((n, len(BASE_FEATURES)), dtype=np.float32)
    if n == 0:
        return out
    lines = batch.lines
    c = _COL
    chars = batch.chars

    # Character classes of each line's first SAMPLE_CHARS characters, all lines at once.
    sample = "\n".join([line[:SAMPLE_CHARS] for line in lines])
    classes = char_classes(sample)
    newline = classes == NEWLINE
    line_of = np.cumsum(newline) - newline  # a newline belongs to the line it ends
    counts = np.bincount(line_of * N_CLASSES + classes, minlength=n * N_CLASSES).reshape(n, N_CLASSES)
    counts = counts.astype(np.float32)
    solid = classes > NEWLINE
    starts = solid.copy()
    starts[1:] &= ~solid[:-1]
    words = np.maximum(np.bincount(line_of[starts], minlength=n).astype(np.float32), 1.0)
    capital = np.bincount(line_of[starts & (classes == UPPER)], minlength=n)
    first_class = classes[np.concatenate(([0], np.flatnonzero(newline) + 1))]
    lasts = "".join([line[-1] for line in lines])
    last_class = char_classes(lasts)
    sampled = np.maximum(counts[:, UPPER:].sum(axis=1), 1.0)
    letters = np.maximum(counts[:, UPPER] + counts[:, LOWER], 1.0)
    ends = counts[:, END_PUNCT] + counts[:, QUESTION] + counts[:, EXCLAIM]
    out[:, c["log_chars"]] = np.log1p(chars)
    out[:, c["log_tokens"]] = np.log1p(cues.tokens)
    out[:, c["chars_per_word"]] = np.minimum(sampled / words, 30.0)
    out[:, c["upper_share"]] = counts[:, UPPER] / letters
    out[:, c["digit_share"]] = counts[:, DIGIT] / sampled
    out[:, c["punct_share"]] = (ends + counts[:, MID_PUNCT] + counts[:, COLON]) / sampled
    out[:, c["separator_share"]] = (counts[:, SEPARATOR] + counts[:, DASH]) / sampled
    out[:, c["other_letter_share"]] = counts[:, OTHER_LETTER] / sampled
    out[:, c["sentence_end_rate"]] = ends / words
    out[:, c["comma_rate"]] = counts[:, MID_PUNCT] / words
    out[:, c["quote_share"]] = counts[:, QUOTE] / sampled
    out[:, c["title_case_share"]] = capital / words
    out[:, c["ends_sentence"]] = (last_class >= END_PUNCT) & (last_class <= QUOTE) & (
        last_class != MID_PUNCT
    ) | (last_class >= QUESTION) & (last_class <= EXCLAIM)
    out[:, c["ends_colon"]] = last_class == COLON
    out[:, c["ends_ellipsis"]] = [line.endswith(("...", "…")) for line in lines]
    out[:, c["has_question"]] = counts[:, QUESTION] > 0
    out[:, c["has_exclamation"]] = counts[:, EXCLAIM] > 0
    out[:, c["first_class"]] = first_class
    out[:, c["last_class"]] = last_class

    # Links, e-mail addresses and handles, found in the joined text.
    joined = "\n".join(lines)
    offsets = [0, *accumulate(len(line) + 1 for line in lines[:-1])]
    for needle in ("http", "www."):
        out[lines_containing(joined, offsets, needle), c["has_url"]] = 1.0
    for i in lines_containing(joined, offsets, "@"):
        head = lines[i][:SAMPLE_CHARS]
        out[i, c["has_email"]] = _EMAIL.search(head) is not None
        out[i, c["has_handle"]] = _HANDLE.search(head) is not None

    # Words of the head.
    toks = np.maximum(cues.tokens, 1).astype(np.float32)
    wc = cues.classes
    out[:, c["stop_share"]] = (wc[:, STOP] + wc[:, FIRST] + wc[:, SECOND]) / toks
    out[:, c["unknown_share"]] = cues.unknown / toks
    out[:, c["first_person"]] = wc[:, FIRST]
    out[:, c["second_person"]] = wc[:, SECOND]
    out[:, c["news_words"]] = wc[:, NEWS]
    out[:, c["chat_words"]] = wc[:, CHAT]
    out[:, c["short_kind"]] = kinds

    # Position, in each line's document.
    index, size = batch.index, batch.end - batch.start
    out[:, c["rel_pos"]] = index / np.maximum(size - 1, 1)
    out[:, c["log_from_start"]] = np.log1p(index)
    out[:, c["log_from_end"]] = np.log1p(size - 1 - index)
    total = batch.per_doc(chars)[batch.doc]
    out[:, c["char_pos"]] = batch.before(chars) / np.maximum(total, 1.0)
    long = chars >= LONG_CHARS
    at = np.arange(n)
    last_long = np.maximum.accumulate(np.where(long, at, -1))
    next_long = np.minimum.accumulate(np.where(long, at, n)[::-1])[::-1]
    has_prev = last_long >= batch.start
    has_next = next_long < batch.end
    doc_longs = batch.per_doc(long)[batch.doc]
    none = doc_longs == 0
    dist = np.minimum(np.where(has_prev, at - last_long, n), np.where(has_next, next_long - at, n))
    out[:, c["log_dist_long"]] = np.where(none, np.log1p(size), np.log1p(dist))
    out[:, c["before_first_long"]] = none | ~has_prev
    out[:, c["after_last_long"]] = none | ~has_next
    cum = np.concatenate(([0], np.cumsum(long)))
    lo, hi = np.maximum(at - 3, batch.start), np.minimum(at + 4, batch.end)
    out[:, c["long_within_3"]] = cum[hi] - cum[lo] - long
    out[:, c["extracted"]] = extracted
    out[:, c["doc_log_lines"]] = np.log1p(size)
    out[:, c["doc_log_chars"]] = np.log1p(total)
    out[:, c["doc_long_share"]] = doc_longs / size
    out[:, c["doc_long_char_share"]] = batch.per_doc(chars * long)[batch.doc] / np.maximum(total, 1.0)

    # Repetition: inside the document (short lines only) and across the site.
    seen: dict[tuple[int, str], int] = {}
    keys = [(d, norm) if norm else None for d, norm in zip(batch.doc.tolist(), batch.norms, strict=True)]
    for key in keys:
        if key is not None:
            seen[key] = seen.get(key, 0) + 1
    if len(seen) < n:
        out[:, c["doc_repeats"]] = np.log([seen[key] if key is not None else 1 for key in keys])
    out[:, c["is_title"]] = title_lines
    if site_counts.any():
        site = np.minimum(site_counts, SITE_COUNT_CAP).astype(np.float32)
        out[:, c["site_docs"]] = np.log1p(site)
        out[:, c["site_share"]] = site / np.maximum(site_docs, 1)
        out[:, c["site_doc_share"]] = batch.per_doc(chars * (site > 0))[batch.doc] / np.maximum(total, 1.0)

    # Rules as evidence, and where the document's rule hits lie.
    rule_index = np.array(
        [RULE_INDEX[rule.id] if rule is not None else 0 for rule in rules], dtype=np.float32
    )
    out[:, c["rule"]] = rule_index
    hit = (rule_index > 0).astype(np.float32)
    thread = (kinds == _KIND["thread_start"]).astype(np.float32)
    out[:, c["after_thread_start"]] = batch.before(thread) > 0
    ruled_before = batch.before(hit)
    ruled_doc = batch.per_doc(hit)[batch.doc]
    out[:, c["rules_before"]] = np.log1p(ruled_before)
    out[:, c["rules_after"]] = np.log1p(ruled_doc - ruled_before - hit)
    out[:, c["doc_rule_share"]] = ruled_doc / size
    return out
