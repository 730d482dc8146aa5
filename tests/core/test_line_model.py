"""The line model: it loads from the installed package and scores short hand-written documents
as expected; another model plugs in behind the ``LineScorer`` protocol."""

from __future__ import annotations

import dataclasses
import importlib.resources
import json

import numpy as np
import pytest

import transforms.core.clean as clean_module
from tests.helpers import RESOURCES
from transforms.core import boilerplate
from transforms.core.clean import (
    MODEL_RESOURCE,
    Evidence,
    LineModel,
    clean_text,
    clean_texts,
    default_scorer,
    operating_points,
    plain_headings,
)
from transforms.core.lines import BASE_FEATURES, SECOND_FEATURES, DocLines

NEWS = (
    "The city council voted on Monday to close the old harbour bridge to heavy traffic from next month, "
    "after engineers found corrosion in two of its supporting piers during a routine inspection.",
    "Officials said the closure would last at least a year while the piers are repaired, and that buses "
    "would be diverted through the industrial estate to the north of the river.",
    "Local businesses on the south bank warned that the diversion could cost them customers, and asked the "
    "council to publish a timetable for the works before the end of the week.",
)


def _kept(cleaned) -> list[str]:
    return cleaned.text.split("\n\n") if cleaned.text else []


@pytest.fixture(scope="module")
def model() -> LineModel:
    return LineModel.load()


def test_the_model_ships_inside_the_package_and_loads_once():
    resource = importlib.resources.files("schemas").joinpath(MODEL_RESOURCE)
    assert resource.is_file()
    model = default_scorer()
    assert model is default_scorer()
    assert model.meta["base_features"] == list(BASE_FEATURES)
    assert model.meta["second_features"] == list(SECOND_FEATURES)
    assert 0.0 < model.thresholds["extracted"] < 1.0 and 0.0 < model.thresholds["scraped"] < 1.0


def test_share_bar_split_over_lines_is_removed(model):
    bar = ("Share this:", "Twitter", "Facebook", "Reddit", "More", "Like this:", "Like Loading...", "Related")
    cleaned = clean_text("\n\n".join((*NEWS, *bar)), scorer=model)
    assert _kept(cleaned) == list(NEWS)
    assert {r.text for r in cleaned.removed} == set(bar)
    assert all(r.score is not None for r in cleaned.removed)


def test_comment_thread_with_no_widget_is_removed(model):
    # The model removes the names, times and @-replies; the chatty lines between them (0.66 and
    # 0.89, under the precision-first threshold) go with the thread's shape.
    thread = (
        "JohnQ",
        "2 hours ago",
        "This is exactly what I said would happen. Nobody listens to us anymore!!",
        "Mary_S",
        "1 hour ago",
        "@JohnQ you're right, but what can we do? Vote them out I guess lol",
        "Dave from Leeds",
        "I drive over that bridge every day and I haven't noticed anything wrong with it, what a joke",
        "JohnQ",
        "@Dave you wouldn't notice until it falls down mate",
    )
    cleaned = clean_text("\n\n".join((*NEWS, *thread)), scorer=model)
    assert _kept(cleaned) == list(NEWS)
    structural = {r.rule for r in cleaned.removed if r.rule not in boilerplate.RULE_IDS} - {None}
    assert structural == {"comment.thread_shape"} <= set(boilerplate.STRUCTURAL_RULES)


def test_a_list_in_the_body_is_kept(model):
    items = (
        "- the north approach road, from March to June;",
        "- the pedestrian walkway, for the whole of the works;",
        "- the cycle lane on the eastern side, from July.",
    )
    text = "\n\n".join(
        (NEWS[0], "The council listed the parts of the bridge that will close:", *items, *NEWS[1:])
    )
    cleaned = clean_text(text, scorer=model)
    assert _kept(cleaned) == [
        NEWS[0],
        "The council listed the parts of the bridge that will close:",
        *items,
        *NEWS[1:],
    ]


@pytest.mark.parametrize(
    "name",
    [
        "ja_article.txt",
        "zh_article.txt",
    ],
)
def test_chinese_and_japanese_paragraphs_are_kept(model, name):
    text = (RESOURCES / "cjk" / name).read_text(encoding="utf-8")
    paragraphs = [line.strip() for line in text.split("\n\n")[2:] if line.strip()]
    for extracted in (False, True):
        cleaned = clean_text(text, scorer=model, extracted=extracted)
        assert set(paragraphs) <= set(_kept(cleaned))


def test_a_one_line_body_between_boilerplate_is_kept(model):
    header = ("Home", "News", "Sport", "Weather", "Sign in", "Search")
    footer = (
        "Advertisement",
        "Share this:",
        "Facebook",
        "Twitter",
        "© 2026 Harbour Media Ltd. All rights reserved.",
    )
    cleaned = clean_text("\n\n".join((*header, NEWS[0], *footer)), scorer=model)
    assert _kept(cleaned) == [NEWS[0]]
    assert {r.text for r in cleaned.removed} == {*header, *footer}


def test_scores_are_probabilities_for_every_line(model):
    doc = DocLines.of("\n\n".join((*NEWS, "Share this:")))
    evidence = Evidence(
        tuple(boilerplate.match_rule(line) for line in doc.lines), (False,) * 4, (0,) * 4, 0, extracted=True
    )
    scores = model.score(doc, evidence)
    assert scores.shape == (4,) and np.all((scores >= 0) & (scores <= 1))
    threshold, _, _ = model.threshold(evidence)
    assert scores[-1] > threshold > max(scores[:3])


class _KeepEverything:
    """Another line model behind the protocol: it never finds boilerplate."""

    def score(self, doc: DocLines, evidence: Evidence) -> np.ndarray:
        return np.zeros(len(doc))

    def threshold(self, evidence: Evidence) -> tuple[float, float, float]:
        return 0.5, 0.5, 0.5


def test_another_scorer_plugs_in_and_hard_rules_still_apply():
    text = "\n\n".join((*NEWS, "JohnQ", "What a joke, nobody listens!!", "Share this:"))
    cleaned = clean_text(text, scorer=_KeepEverything())
    assert _kept(cleaned) == [*NEWS, "JohnQ", "What a joke, nobody listens!!"]
    (removed,) = cleaned.removed
    assert (removed.reason, removed.rule, removed.score) == ("share_prompt", "share.prompt", 0.0)


def _documents() -> list[tuple[str, str | None]]:
    import json

    from tests.helpers import RESOURCES, SEEDS

    docs = [(path.read_text(encoding="utf-8"), None) for path in sorted(SEEDS.glob("*.txt"))]
    for row in json.loads((RESOURCES / "text_dev.json").read_text(encoding="utf-8"))["documents"]:
        docs.append((row["content"], row["title"]))
    return docs


def test_a_batch_cleans_each_document_as_it_is_cleaned_alone(model):
    from transforms.core.clean import CleanInput, clean_many

    docs = _documents()
    inputs = [CleanInput(text, title, extracted=i % 2 == 0) for i, (text, title) in enumerate(docs)]
    inputs.insert(3, CleanInput(""))  # an empty document inside the batch
    batched = clean_many(inputs, scorer=model)
    alone = [clean_many([i], scorer=model)[0] for i in inputs]
    assert batched == alone
    assert batched[3].text == "" and not batched[3].removed
    assert batched[0] == clean_text(inputs[0].text, extracted=True, scorer=model)


def test_the_document_rule_matcher_agrees_with_each_rule(model):
    # Rules with trigger words look for them in a line's head: on lines no longer than the head,
    # the document matcher and the rules one by one must agree exactly.
    lines = [line.strip() for text, _ in _documents() for line in text.split("\n") if line.strip()]
    lines = [line for line in lines if len(line) <= boilerplate.TRIGGER_HEAD_CHARS]
    lines += ["Share this:", "Leave a Reply", "0 $", "© 2026 Example Media. All rights reserved."]
    lines += ["——", "in ,"]
    matched = boilerplate.match_rules(lines)
    for line, rule in zip(lines, matched, strict=True):
        first = next((r for r in boilerplate.RULES if r.matches(line)), None)
        if rule is None:
            # Word rules aside, no pattern rule fires where the matcher found none.
            assert first is None, (line, first.id)
        elif rule.id in {r.id for r in boilerplate.RULES}:
            assert first is not None and first.id == rule.id, (line, rule.id)


def test_a_one_paragraph_document_keeps_its_prose(model):
    # A feed summary is one paragraph: whatever the model scores it, the article keeps its prose.
    summary = (
        "Delegations from both sides returned to Geneva on Saturday for a new round of talks on a nationwide "
        "ceasefire, the United Nations envoy said, adding that aid would top the agenda."
    )
    for extracted in (False, True):
        cleaned = clean_text(
            summary, title="Ceasefire talks resume in Geneva", extracted=extracted, scorer=model
        )
        assert _kept(cleaned) == [summary]
    # Short lines are no prose: a page of widget strings is still emptied.
    widgets = clean_text("Home\n\nShare this:\n\nTwitter\n\nFacebook", scorer=model)
    assert widgets.text == "" and len(widgets.removed) == 4


def _html_dev_body(name: str) -> str:
    truth = json.loads((RESOURCES / "html_dev" / "ground_truth.json").read_text(encoding="utf-8"))
    return "\n\n".join(truth["pages"][name]["paragraphs"])


@pytest.mark.parametrize(
    ("name", "line"),
    [("OccupyDemocrats_3.html.gz", "Earhardt said:"), ("TheGatewayPundit_1.html.gz", "From WECT News:")],
)
def test_a_clean_article_given_as_plain_text_keeps_its_short_lines(model, monkeypatch, name, line):
    # A backfill's text is often a clean article: the true body of an html_dev page, as plain text.
    # The model finds it mostly body, so it is cleaned at extracted text's operating point and
    # keeps the line that introduces a quote; at the scraped text's operating point it goes.
    text = _html_dev_body(name)
    assert line in text.split("\n\n")
    assert line in _kept(clean_text(text, scorer=model))
    monkeypatch.setattr(clean_module, "CLEAN_TEXT_BODY_SHARE", 1.01)  # the switch off
    assert line not in _kept(clean_text(text, scorer=model))


def test_only_a_mostly_body_scraped_text_takes_the_extracted_operating_point(model):
    scraped = Evidence((None,) * 3, (False,) * 3, (0,) * 3, 0)
    extracted = dataclasses.replace(scraped, extracted=True)
    evidences = [scraped, scraped, extracted]
    clean = clean_texts(evidences, [np.zeros(3), np.array([0.9, 0.9, 0.1]), np.zeros(3)])
    assert clean == [True, False, False]
    points = operating_points(model, evidences, clean)
    assert tuple(points[0]) == model.threshold(extracted)  # every line body: a clean article
    assert tuple(points[1]) == model.threshold(scraped)  # mostly boilerplate: a page's whole text
    assert tuple(points[2]) == model.threshold(extracted)
    assert model.threshold(scraped) != model.threshold(extracted)


def test_a_clean_text_keeps_its_section_headings(model, monkeypatch):
    # The true body of an html_dev page, as plain text: its section heading stands right above
    # a paragraph, so in a clean text only a rule (or the block below it going) removes it.
    text = _html_dev_body("TheTelegraph_4.html.gz")
    assert "Growing threat" in text.split("\n\n")
    assert "Growing threat" in _kept(clean_text(text, scorer=model))
    monkeypatch.setattr(clean_module, "PLAIN_HEADING_MAX_CHARS", 0)  # no line is a heading
    assert "Growing threat" not in _kept(clean_text(text, scorer=model))


def test_plain_headings_are_short_lines_right_above_prose():
    doc = DocLines.of("\n\n".join(["Team news", NEWS[0], "Share this:", "Twitter", NEWS[1], "Next steps"]))
    assert plain_headings(doc).tolist() == [True, False, False, True, False, False]
