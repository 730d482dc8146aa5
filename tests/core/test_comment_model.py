"""The comment model: it loads from the installed package, reads readers' comments apart from
an article's prose, and the cleaner cuts a thread that nothing but its words marks."""

from __future__ import annotations

import importlib.resources
import json

import numpy as np

from tests.helpers import ARMY_BODY, ARMY_BODY2, ARMY_BODY3, army_article, kept_texts, reason_of
from transforms.core.clean import clean_text
from transforms.core.comment_model import (
    SHAPE_FEATURES,
    CommentModel,
    default_comment_model,
    hashed_features,
    shape_features,
    thread_text_start,
)
from transforms.core.line_text import LONG_CHARS
from transforms.core.lines import tokenize

THREAD = (
    "Great post, thanks for sharing! I love your blog.",
    "I totally agree with you. My husband and I went there last year and loved it!",
    "Thank you so much for this, I needed it today :)",
    "Love this! Can't wait to try it.",
    "So true!! Thanks for the reminder.",
)
QUOTES = (
    '"I love this city and I\'m not leaving," said Maria Lopez, 34, who has lived in the district for years.',
    '"Thanks to the volunteers, we can finally go home," her neighbour added. "It\'s been a long month."',
    "Residents say they are grateful but tired. Many have asked the council when the water will be safe.",
)


def test_the_model_loads_once_from_the_package() -> None:
    model = default_comment_model()
    assert model is default_comment_model()
    assert model.words.shape == (1 << 17,)
    assert model.shape.shape == (len(SHAPE_FEATURES),)
    assert model.margin > 0
    assert model.meta["training_lines"]["comments"] > 1000
    card = importlib.resources.files("schemas").joinpath("models/comment_model.md")
    assert "training/train_comment_model.py" in card.read_text(encoding="utf-8")


def test_comments_score_above_article_prose() -> None:
    lines = [ARMY_BODY, ARMY_BODY2, *THREAD]
    z = default_comment_model().line_scores(lines, tokenize(lines))
    assert z[:2].max() < 0 < z[2:].min()


def test_hashed_features_give_each_line_unit_length() -> None:
    lines = ["Thanks for sharing", "", "sharing sharing sharing"]
    rows, cols, values = hashed_features(tokenize(lines))
    lengths = np.bincount(rows, weights=values**2, minlength=len(lines))
    assert np.allclose(lengths, [1.0, 0.0, 1.0])
    # Three words and two pairs; a repeated word or pair counts once.
    assert (rows == 0).sum() == 5
    assert (rows == 2).sum() == 2
    assert shape_features(["@anna So true!", "why?"]).shape == (2, len(SHAPE_FEATURES))


def test_thread_text_start_takes_the_best_suffix_below_the_prose() -> None:
    chars = np.array([LONG_CHARS, LONG_CHARS, 40, 40, 40, 40], dtype=float)
    kept = [True] * 6
    scores = np.array([-3.0, -2.0, 3.0, 2.0, -0.5, 2.5])
    assert thread_text_start(scores, chars, kept, bias=0.5, margin=4.0) == 2
    # The sum falls short of the margin: no thread.
    assert thread_text_start(scores, chars, kept, bias=0.5, margin=10.0) is None
    # Lines the cleaner already removed take no part; the thread starts at a kept line.
    assert thread_text_start(scores, chars, [True, True, False, True, True, True], 0.5, 2.0) == 3
    # Never at or above the first kept line of prose, and never without one.
    assert thread_text_start(np.full(6, 5.0), chars, kept, 0.5, 4.0) == 1
    assert thread_text_start(scores, np.full(6, 40.0), kept, 0.5, 4.0) is None


def test_an_unmarked_blog_thread_is_cut_by_its_words() -> None:
    cleaned = clean_text(army_article(tail=THREAD))
    assert kept_texts(cleaned)[-1] == ARMY_BODY3
    assert {reason_of(cleaned, line) for line in THREAD} == {"comment_thread"}
    assert {r.rule for r in cleaned.removed if r.text in THREAD} == {"comment.thread_text"}
    for extracted in (True, False):
        assert clean_text(army_article(tail=THREAD), extracted=extracted).text == cleaned.text
    without = clean_text(army_article(tail=THREAD), comments=False)
    assert "comment.thread_text" not in {r.rule for r in without.removed}


def test_quotes_of_residents_closing_an_article_are_kept() -> None:
    cleaned = clean_text(army_article(tail=QUOTES))
    assert kept_texts(cleaned)[-3:] == list(QUOTES)


def test_another_model_plugs_in(tmp_path) -> None:
    model = default_comment_model()
    path = tmp_path / "comment_model.npz"
    meta = dict(model.meta, margin=1e9)
    np.savez(path, words=model.words, shape=model.shape, meta=np.array(json.dumps(meta)))
    never = CommentModel.load(str(path))
    cleaned = clean_text(army_article(tail=THREAD), comments=never)
    assert "comment.thread_text" not in {r.rule for r in cleaned.removed}
