"""Language identification: the numpy walk gives py3langid's own scores, bit for bit."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest
from py3langid.langid import MODEL_FILE, LanguageIdentifier, visit_counts

from tests.helpers import RESOURCES, SEEDS
from transforms.core.language import (
    automaton_depth,
    byte_planes,
    dense_rows,
    detect_language,
    detect_languages,
    from_byte_planes,
    join_low16,
    load_language_identifier,
    sparse_rows,
    split_low16,
)


@pytest.fixture(scope="module")
def identifiers() -> tuple[LanguageIdentifier, LanguageIdentifier]:
    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True), load_language_identifier()


def _texts() -> list[str | bytes]:
    texts: list[str | bytes] = [path.read_text(encoding="utf-8") for path in sorted(SEEDS.glob("*.txt"))]
    texts += [path.read_text(encoding="utf-8") for path in sorted((RESOURCES / "cjk").glob("*.txt"))]
    items = json.loads((RESOURCES / "topic_dev.json").read_text(encoding="utf-8"))["items"]
    texts += [f"{item['title']}\n{item.get('text') or ''}" for item in items[::10]]
    texts += ["", "a", "ab", "The", "ÉTÉ À PARIS", "Neue Gleise für die Linie 4", "12 34 56"]
    # Random bytes over a few letters reach the automaton's deep states; over all 256 values,
    # invalid UTF-8 (py3langid walks such bytes as given).
    rng = random.Random(14)
    for _ in range(300):
        texts.append(bytes(rng.choice(b"aeiou tnsh\xc3\xa9") for _ in range(rng.randint(0, 60))))
        texts.append(bytes(rng.randrange(256) for _ in range(rng.randint(0, 30))))
    return texts


def test_the_walk_counts_the_features_of_py3langids_walk_in_its_order(identifiers):
    theirs, ours = identifiers
    for text in _texts():
        data = theirs._encode(text)
        expected = visit_counts(theirs.tk_nextmove, theirs._rowbase, theirs.tk_output, data) or {}
        features, counts = ours.feature_counts(data)
        assert features.tolist() == list(expected) and counts.tolist() == list(expected.values())


def test_a_batch_walks_each_text_as_alone(identifiers):
    _, ours = identifiers
    data = [ours._encode(text) for text in _texts()]
    for start in range(0, len(data), 97):  # batches with empty texts, short ones and long ones
        batch = data[start : start + 97]
        for text, (features, counts) in zip(batch, ours.feature_counts_many(batch), strict=True):
            alone = ours.feature_counts(text)
            assert features.tolist() == alone[0].tolist() and counts.tolist() == alone[1].tolist()


def test_the_scores_are_py3langids_to_the_bit(identifiers):
    theirs, ours = identifiers
    assert ours._walk_depth == 6  # py3langid 0.4's model: byte n-grams of up to 6 bytes
    for text in _texts():
        assert np.array_equal(theirs._decide(text), ours._decide(text))
        assert theirs.classify(text) == ours.classify(text)
    texts = _texts()
    assert ours.classify_many(texts) == [theirs.classify(text) for text in texts]


def test_the_shipped_model_holds_py3langids_arrays(identifiers):
    # schemas/models/language.npz (training/build_language_model.py) against the installed
    # py3langid's own file, as py3langid's loader reads it: the same numbers, and the depth
    # stored in the file is the one measured on py3langid's automaton.
    theirs, ours = identifiers
    assert np.array_equal(ours.nb_ptc, theirs.nb_ptc.astype(np.float32))
    assert ours.nb_ptc.dtype == np.float32 and ours.nb_ptc.flags.c_contiguous
    assert np.array_equal(ours.nb_pc, theirs.nb_pc) and ours.nb_pc.dtype == theirs.nb_pc.dtype
    assert ours.nb_classes == theirs.nb_classes
    assert ours.tk_nextmove == theirs.tk_nextmove and ours.tk_row == theirs.tk_row
    assert ours.tk_output == theirs.tk_output and ours._rowbase == theirs._rowbase
    moves = np.asarray(memoryview(theirs.tk_nextmove)).reshape(-1, 256)
    assert ours._walk_depth == automaton_depth(moves, np.asarray(theirs.tk_row, dtype=np.intp))


def test_detect_language(identifiers):
    _, ours = identifiers
    assert detect_language((RESOURCES / "cjk" / "ja_article.txt").read_text(encoding="utf-8"), ours) == "ja"
    assert detect_language("Die Bahn baut neue Gleise für die Linie 4 in der Stadt Köln.", ours) == "de"
    assert detect_language("Too short", ours) is None
    texts = [path.read_text(encoding="utf-8") for path in sorted(SEEDS.glob("*.txt"))] + ["Too short", ""]
    assert detect_languages(texts, ours) == [detect_language(text, ours) for text in texts]


def test_the_shipped_forms_give_back_the_same_bits():
    # training/build_language_model.py stores the arrays in these forms; the loader undoes them.
    rng = np.random.default_rng(14)
    arrays = [
        rng.integers(0, 1 << 16, 1001).astype(np.uint16),
        rng.integers(-1, 1 << 17, 1001).astype(np.int32),
        rng.integers(0, 1 << 17, 1001).astype(np.uint32),
        rng.integers(0, 1 << 16, 1001).astype(np.uint16).view(np.float16),  # NaNs and infinities too
    ]
    for values in arrays:
        back = from_byte_planes(byte_planes(values), values.dtype)
        assert back.dtype == values.dtype and back.tobytes() == values.tobytes()
    states = np.array([0, 1, 65535, 65536, 104582, (1 << 17) - 1], dtype=np.uint32)
    assert join_low16(*split_low16(states)).tolist() == states.tolist()
    with pytest.raises(ValueError):
        split_low16(np.array([1 << 17]))
    # Signed zeros and NaNs differ from the row's most frequent value bit for bit: kept as they are.
    weights = np.full((3, 50), -7.5, dtype=np.float16)
    weights[0, :5] = [0.0, -0.0, np.nan, -2.75, -7.5]
    weights[2, :30] = -3.0
    back = dense_rows(*sparse_rows(weights), weights.shape[1])
    assert back.dtype == np.float16 and back.tobytes() == weights.tobytes()
