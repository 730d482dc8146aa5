"""Fingerprints of a text for deduplication: a hash of its words, and a MinHash signature.

    content_hash("The cat sat.") == content_hash("the  CAT sat")   # exact copies
    similarity(minhash(a), minhash(b))                              # near copies: estimated Jaccard

MinHash over word 5-shingles, 128 permutations: the setting of datatrove's and
text-dedup's near-dedup for web text, where 5-grams keep different articles on the
same event apart while copies with edits or other boilerplate stay close. Signatures
are packed (little-endian uint32, 512 bytes), one bytes object instead of 128 ints.
"""

from __future__ import annotations

import hashlib
import re
import struct
import unicodedata
from collections.abc import Sequence
from itertools import accumulate

import numpy as np
import rensa

SHINGLE_SIZE = 5
NUM_PERM = 128
MINHASH_SEED = 1
# 32 bands of 4 rows: candidates from a Jaccard of about 0.42 up (the S-curve's
# midpoint, (1/32)^(1/4)); each candidate is then checked against NEAR_THRESHOLD.
BANDS = 32
ROWS = NUM_PERM // BANDS
# Estimated Jaccard of 5-shingle sets above which two texts are one article. A copy
# with a few edited sentences of a 600-word article scores about 0.6-0.8; different
# reports on one event score under 0.1 (measured in tests/test_dedup.py).
NEAR_THRESHOLD = 0.5
# A signature slot: rensa's MinHash values are 32-bit.
_SLOT = np.dtype("<u4")
_MINHASH_FORMAT = "<{}I"
_WORD = re.compile(r"\w+")


def normalised_words(text: str) -> list[str]:
    """The words of a text after NFKC and case folding: its runs of word characters."""
    return _WORD.findall(unicodedata.normalize("NFKC", text).casefold())


def normalise_text(text: str) -> str:
    """Text reduced to its words: NFKC, case-folded, punctuation and spacing folded to one space."""
    return " ".join(normalised_words(text))


def content_hash(text: str) -> str:
    return hashlib.sha1(normalise_text(text).encode("utf-8")).hexdigest()


def shingles(text: str, size: int = SHINGLE_SIZE) -> list[str]:
    return _shingles(normalised_words(text), size)


def _shingles(words: list[str], size: int = SHINGLE_SIZE, joined: str | None = None) -> list[str]:
    """Each run of ``size`` words, joined by one space; ``joined`` is all of them so joined."""
    if len(words) <= size:
        return [" ".join(words)] if words else []
    # Slices of the joined words: quicker than joining each run's words.
    joined = " ".join(words) if joined is None else joined
    starts = list(accumulate([len(word) + 1 for word in words], initial=0))
    return [joined[start : end - 1] for start, end in zip(starts, starts[size:], strict=False)]


def pack_minhash(signature: Sequence[int]) -> bytes:
    return struct.pack(_MINHASH_FORMAT.format(len(signature)), *signature)


def unpack_minhash(packed: bytes) -> tuple[int, ...]:
    return struct.unpack(_MINHASH_FORMAT.format(len(packed) // 4), packed)


def _minhash_of(grams: list[str]) -> bytes:
    if not grams:
        return b""
    hasher = rensa.RMinHash(num_perm=NUM_PERM, seed=MINHASH_SEED)
    hasher.update(grams)
    return pack_minhash(hasher.digest())


def minhash(text: str) -> bytes:
    """The packed MinHash signature of a text's word shingles (empty text: empty signature)."""
    return _minhash_of(shingles(text))


def similarity(a: bytes, b: bytes) -> float:
    """Estimated Jaccard similarity of two packed signatures: the share of equal slots."""
    if not a or not b or len(a) != len(b):
        return 0.0
    equal = np.count_nonzero(np.frombuffer(a, dtype=_SLOT) == np.frombuffer(b, dtype=_SLOT))
    return int(equal) / (len(a) // _SLOT.itemsize)


def band_keys(signature: bytes) -> list[str]:
    """One LSH key per band; two signatures sharing any key are candidates."""
    if not signature:
        return []
    width = ROWS * _SLOT.itemsize
    return [
        f"b{band}:{hashlib.blake2b(signature[band * width : (band + 1) * width], digest_size=8).hexdigest()}"
        for band in range(BANDS)
    ]


def fingerprints(text: str) -> tuple[str, bytes]:
    """The exact and near-duplicate fingerprints of a text: (content hash, MinHash), one normalisation."""
    words = normalised_words(text)
    normalised = " ".join(words)
    digest = hashlib.sha1(normalised.encode("utf-8")).hexdigest()
    return digest, _minhash_of(_shingles(words, joined=normalised))
