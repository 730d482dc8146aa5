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
_NON_ASCII = re.compile(r"[^\x00-\x7f]")
# For bytes.translate: each ASCII byte that is not a word character becomes a space. Bytes from
# 0x80 up are left alone: by then they only encode word characters (see normalised_bytes).
_ASCII_SEPARATORS = bytes(byte if byte >= 0x80 or _WORD.match(chr(byte)) else 0x20 for byte in range(256))


def normalised_bytes(text: str) -> bytes:
    """A text reduced to its words, in UTF-8: NFKC and case folding, then its runs of word
    characters (``\\w+``) joined by one space.

    The same bytes as ``" ".join(re.findall(r"\\w+", folded)).encode()``, at about half the cost:
    the few distinct characters outside ASCII that are not word characters (typographic quotes
    and dashes) become spaces, after which only ASCII bytes separate words, and a byte table
    with ``bytes.split`` cuts them without making a string per word.
    """
    folded = unicodedata.normalize("NFKC", text).casefold()
    if not folded.isascii():
        for char in set(_NON_ASCII.findall(folded)):
            if not _WORD.match(char):
                folded = folded.replace(char, " ")
    return b" ".join(folded.encode("utf-8").translate(_ASCII_SEPARATORS).split())


def content_hash(text: str) -> str:
    return hashlib.sha1(normalised_bytes(text)).hexdigest()


def shingles(text: str, size: int = SHINGLE_SIZE) -> list[str]:
    return [shingle.decode("utf-8") for shingle in _shingles(normalised_bytes(text), size)]


def _shingles(joined: bytes, size: int = SHINGLE_SIZE) -> list[bytes]:
    """Each run of ``size`` words of ``normalised_bytes``' output, joined by one space (as
    tokens, rensa hashes bytes and their UTF-8 string alike)."""
    # Slices of the joined words between its spaces (found by numpy): quicker than joining each
    # run's words, or than splitting the words to measure them.
    spaces = np.flatnonzero(np.frombuffer(joined, dtype=np.uint8) == ord(" "))
    if len(spaces) < size:
        return [joined] if joined else []
    starts = [0, *(spaces[: len(spaces) - size + 1] + 1).tolist()]
    ends = spaces[size - 1 :].tolist()
    ends.append(len(joined))
    return [joined[start:end] for start, end in zip(starts, ends, strict=True)]


def pack_minhash(signature: Sequence[int]) -> bytes:
    return struct.pack(_MINHASH_FORMAT.format(len(signature)), *signature)


def unpack_minhash(packed: bytes) -> tuple[int, ...]:
    return struct.unpack(_MINHASH_FORMAT.format(len(packed) // 4), packed)


def _minhash_of(grams: list[bytes]) -> bytes:
    if not grams:
        return b""
    hasher = rensa.RMinHash(num_perm=NUM_PERM, seed=MINHASH_SEED)
    hasher.update(grams)
    return pack_minhash(hasher.digest())


def minhash(text: str) -> bytes:
    """The packed MinHash signature of a text's word shingles (empty text: empty signature)."""
    return _minhash_of(_shingles(normalised_bytes(text)))


def similarity(a: bytes, b: bytes) -> float:
    """Estimated Jaccard similarity of two packed signatures: the share of equal slots."""
    if not a or not b or len(a) != len(b):
        return 0.0
    equal = np.count_nonzero(np.frombuffer(a, dtype=_SLOT) == np.frombuffer(b, dtype=_SLOT))
    return int(equal) / (len(a) // _SLOT.itemsize)


def band_digests(signature: bytes) -> list[bytes]:
    """One 8-byte digest per LSH band of a signature."""
    if not signature:
        return []
    width = ROWS * _SLOT.itemsize
    return [
        hashlib.blake2b(signature[band * width : (band + 1) * width], digest_size=8).digest()
        for band in range(BANDS)
    ]


# splitmix64's finaliser constants (Steele, Lea and Flood, 2014): a 64-bit mix whose output bits
# each depend on every input bit, so a band's 64-bit hash collides as rarely as a random one.
_MIX_1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX_2 = np.uint64(0x94D049BB133111EB)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
SIGNATURE_BYTES = NUM_PERM * _SLOT.itemsize


def _mix64(values: np.ndarray) -> np.ndarray:
    values = values ^ (values >> np.uint64(30))
    values = values * _MIX_1
    values = values ^ (values >> np.uint64(27))
    values = values * _MIX_2
    return values ^ (values >> np.uint64(31))


def band_hashes(signatures: Sequence[bytes]) -> np.ndarray:
    """One 64-bit hash per LSH band of each full signature, as an ``(n, BANDS)`` array: the
    band's slots and its number, mixed. For many signatures at once, where ``band_digests``
    (one blake2b a band) costs 22 us a signature; these are not its digests. Both stay: these
    key the batch shuffle, which lives one run; ``band_keys`` name the streaming dedup's keyed
    state, which a running job keeps across an update, so its digests may not change.

    Two signatures with equal slots in one band get the same hash in it; unequal bands collide
    as two random 64-bit numbers do, which only makes a candidate that resolution then checks.
    """
    if not signatures:
        return np.empty((0, BANDS), dtype=np.uint64)
    slots = np.frombuffer(b"".join(signatures), dtype=_SLOT).reshape(len(signatures), BANDS, ROWS)
    hashed = np.broadcast_to(np.arange(1, BANDS + 1, dtype=np.uint64) * _GOLDEN, slots.shape[:2])
    for row in range(ROWS):
        hashed = _mix64(hashed ^ slots[:, :, row].astype(np.uint64))
    return hashed


def band_keys(signature: bytes) -> list[str]:
    """One LSH key per band; two signatures sharing any key are candidates."""
    return [f"b{band}:{digest.hex()}" for band, digest in enumerate(band_digests(signature))]


def fingerprints(text: str) -> tuple[str, bytes]:
    """The exact and near-duplicate fingerprints of a text: (content hash, MinHash), one normalisation."""
    normalised = normalised_bytes(text)
    return hashlib.sha1(normalised).hexdigest(), _minhash_of(_shingles(normalised))
