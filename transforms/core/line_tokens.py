r"""The tokens and lexical cues of lines, for the line model, computed with numpy for many lines at once.

Consumes stripped lines (their first ``HEAD_CHARS`` characters); emits the tokens' hashes
(``tokenize``: one byte translation and numpy arithmetic, no Python work per token) and, with a
vocabulary learnt at training time, each line's lexical cues (``lexical_cues``: words, hashed
word pairs, first and last word, the whole short line) as columns of a sparse weight vector.
Sample::

    tokenize(["Share this:", "Reddit"]).counts  -> array([2, 1])
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from transforms.core.line_features import Batch
    from transforms.core.line_text import DocLines

from transforms.core.line_text import (
    CHAT,
    CHAT_WORDS,
    FIRST,
    FIRST_PERSON,
    HEAD_CHARS,
    HEAD_TOKENS,
    LINE_BUCKETS,
    N_WORD_CLASSES,
    NEWS,
    NEWS_WORDS,
    PAIR_BUCKETS,
    SECOND,
    SECOND_PERSON,
    STOP,
    STOP_WORDS,
    WHOLE_LINE_TOKENS,
)

# --- Tokens and lexical cues ---

# Bytes of the lower-cased heads: ASCII letters and digits stay (every digit "0"), other ASCII
# characters split words, the line break stays; bytes of other characters are word characters.
_TOKEN_TABLE = bytes(
    (48 if chr(c).isdigit() else ord(chr(c).lower()) if chr(c).isalnum() else 10 if c == 10 else 32)
    if c < 128
    else c
    for c in range(256)
)
# Non-ASCII punctuation splits words too: the UTF-8 of U+2000-U+203F (spaces, dashes, curly
# quotes, bullets, ellipsis), U+00A0-U+00BF (no-break space, « », ·, ©, ®) and arrows.
_SPLIT_PUNCT = re.compile(rb"\xe2\x80[\x80-\xbf]|\xc2[\xa0-\xbf]|\xe2\x86[\x90-\x9f]")


def head_tokens(lines: Sequence[str]) -> list[list[bytes]]:
    """The tokens of each line's head as bytes, ASCII letters lower-cased (other letters keep
    their case: that costs little and saves a Unicode pass). ``tokenize`` hashes the same tokens."""
    return [part.split() for part in _head_bytes(lines).split(b"\n")]


def _head_bytes(lines: Sequence[str]) -> bytes:
    heads = "\n".join([line[:HEAD_CHARS] for line in lines]).encode()
    if not heads.isascii():
        heads = _SPLIT_PUNCT.sub(b" ", heads)
    return heads.translate(_TOKEN_TABLE)


# A token's hash: the sum of its bytes times a random odd multiplier per position (wrapping
# 64-bit arithmetic), then mixed; stable across processes and machines (no Python ``hash``).
_BYTE_MUL = np.random.default_rng(0x5EED).integers(1, 2**62, size=64, dtype=np.int64).astype(
    np.uint64
) * np.uint64(2) + np.uint64(1)
_MIX = np.uint64(0xBF58476D1CE4E5B9)


@dataclasses.dataclass(frozen=True)
class Tokens:
    """The tokens of the lines' heads: per token its hash and line, per line its token count."""

    hashes: np.ndarray  # uint64
    line: np.ndarray
    counts: np.ndarray


def tokenize(lines: Sequence[str]) -> Tokens:
    """The tokens of the heads of ``lines`` (as ``head_tokens`` splits them), hashed with numpy
    over all lines at once: no Python work per token."""
    n = len(lines)
    data = np.frombuffer(_head_bytes(lines), dtype=np.uint8)
    # After the translation a separator is a space (32) or the line break (10); every byte of
    # a token is above 32.
    word = data > 32
    start = word.copy()
    start[1:] &= ~word[:-1]
    starts = np.flatnonzero(start)
    if not starts.size:
        return Tokens(np.zeros(0, dtype=np.uint64), np.zeros(0, dtype=np.int64), np.zeros(n, dtype=np.int64))
    at = np.arange(data.size)
    pos = np.minimum(at - np.maximum.accumulate(np.where(start, at, 0)), _BYTE_MUL.size - 1)
    values = np.where(word, data.astype(np.uint64) * _BYTE_MUL[pos], np.uint64(0))
    hashes = np.add.reduceat(values, starts)
    hashes ^= hashes >> np.uint64(31)
    hashes *= _MIX
    hashes ^= hashes >> np.uint64(29)
    line = np.cumsum(data == 10)[starts]
    return Tokens(hashes, line, np.bincount(line, minlength=n))


def token_hash(word: str) -> int:
    """The hash ``tokenize`` gives a single-token word (e.g. a vocabulary or trigger word)."""
    tokens = tokenize([word])
    if tokens.hashes.size != 1:
        raise ValueError(f"not one token: {word!r}")
    return int(tokens.hashes[0])


class Vocabulary:
    """Token hash -> id (1 ...; 0 is any unknown token), with each id's word class."""

    def __init__(self, hashes: Sequence[int] | np.ndarray) -> None:
        self.hashes = np.unique(np.asarray(hashes, dtype=np.uint64))
        classes = np.zeros(self.hashes.size + 1, dtype=np.int64)
        for words, cls in (
            (STOP_WORDS, STOP),
            (NEWS_WORDS, NEWS),
            (CHAT_WORDS, CHAT),
            (SECOND_PERSON, SECOND),
            (FIRST_PERSON, FIRST),
        ):
            for word in words:
                tokens = tokenize([word])
                if tokens.hashes.size == 1:
                    i = self.ids(tokens.hashes)[0]
                    if i:
                        classes[i] = cls
        self.word_class = classes

    def __len__(self) -> int:
        return self.hashes.size + 1

    def ids(self, hashes: np.ndarray) -> np.ndarray:
        """The id of each token hash (0 when unknown)."""
        if not self.hashes.size:
            return np.zeros(hashes.size, dtype=np.int64)
        at = np.minimum(np.searchsorted(self.hashes, hashes), self.hashes.size - 1)
        return np.where(self.hashes[at] == hashes, at + 1, 0)

    @property
    def size(self) -> int:
        """The number of lexical columns: words, first words, last words, pairs, whole lines."""
        return 3 * len(self) + PAIR_BUCKETS + LINE_BUCKETS


# Odd multipliers for the hashes of word pairs and whole lines.
_PAIR_MUL = np.int64(0x9E3779B1)
_LINE_MUL = np.array([0x2545F491, 0x61C88647, 0x3C6EF372, 0x1B873593, 0x5BD1E995], dtype=np.float64)


@dataclasses.dataclass(frozen=True)
class Cues:
    """The lexical cues of a document: column ``col`` (into a lexical weight vector) for line ``row``;
    per line, the number of head tokens, of unknown ones, and the counts of each word class."""

    col: np.ndarray
    row: np.ndarray
    tokens: np.ndarray
    unknown: np.ndarray
    classes: np.ndarray  # (lines, N_WORD_CLASSES)


def lexical_cues(doc: DocLines | Batch, vocab: Vocabulary, tokens: Tokens | None = None) -> Cues:
    """The lexical cues of every line: its head's first ``HEAD_TOKENS`` words, their pairs (hashed),
    its first word, its last word (lines no longer than the head), the whole line (hashed) when it
    has at most ``WHOLE_LINE_TOKENS`` words. ``tokens``: ``tokenize(doc.lines)``, when known."""
    n = len(doc)
    if tokens is None:
        tokens = tokenize(doc.lines)
    counts = tokens.counts
    ids = vocab.ids(tokens.hashes)
    row = tokens.line
    starts = np.cumsum(counts) - counts
    pos = np.arange(ids.size) - starts[row]
    classes = np.bincount(row * N_WORD_CLASSES + vocab.word_class[ids], minlength=n * N_WORD_CLASSES)
    classes = classes.reshape(n, N_WORD_CLASSES)
    unknown = np.bincount(row[ids == 0], minlength=n)
    head = pos < HEAD_TOKENS
    ids_h, row_h, pos_h = ids[head], row[head], pos[head]
    size = len(vocab)
    # Pairs: a token and the next one of the same line.
    nxt = np.flatnonzero(row_h[1:] == row_h[:-1])
    pair = (ids_h[nxt] * _PAIR_MUL + ids_h[nxt + 1]) & (PAIR_BUCKETS - 1)
    has = counts > 0
    lines_with = np.flatnonzero(has)
    first = ids[starts[lines_with]] + size
    short_lines = np.flatnonzero(has & (doc.chars <= HEAD_CHARS))
    last = ids[starts[short_lines] + counts[short_lines] - 1] + 2 * size
    whole_lines = np.flatnonzero(has & (counts <= WHOLE_LINE_TOKENS) & (doc.chars <= HEAD_CHARS))
    cols = [ids_h, first, last, pair + 3 * size]
    rows = [row_h, lines_with, short_lines, row_h[nxt]]
    if whole_lines.size:
        sel = (counts[row_h] <= WHOLE_LINE_TOKENS) & (doc.chars[row_h] <= HEAD_CHARS)
        hashed = np.bincount(row_h[sel], weights=ids_h[sel] * _LINE_MUL[pos_h[sel]], minlength=n)
        whole = (hashed[whole_lines].astype(np.int64) + counts[whole_lines]) & (LINE_BUCKETS - 1)
        cols.append(whole + 3 * size + PAIR_BUCKETS)
        rows.append(whole_lines)
    return Cues(np.concatenate(cols), np.concatenate(rows), counts, unknown, classes)
