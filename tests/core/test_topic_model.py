"""The trained topic classifier the enrich stage runs: loading, expected topics, languages,
editors' categories, the topics column, and training a model for a user's taxonomy."""

from __future__ import annotations

import dataclasses
import datetime as dt
import importlib.resources
import json
import subprocess
import sys

import apache_beam as beam
import numpy as np
import pyarrow as pa
import pytest
from apache_beam.testing.util import assert_that, equal_to

from schemas.parquet import ARTICLE_FILE_SCHEMA
from schemas.records import Article, article_row
from tests.helpers import KITCHEN_TAXONOMY, ROOT, local_pipeline, write_taxonomy
from transforms.core.categories import packaged_category_table
from transforms.core.enrich import enrich
from transforms.core.language import load_language_identifier
from transforms.core.topic_classifiers import TopicInput
from transforms.core.topic_features import FeatureSpace, document_features, documents_features
from transforms.core.topic_model import (
    Combination,
    ModelClassifier,
    TopicModel,
    lexicon_matrix,
    lexicon_terms,
)
from transforms.enrich import EnrichArticles
from transforms.topics import (
    Taxonomy,
    TopicClassifier,
    assign_topic,
    load_taxonomy,
    load_topic_classifier,
)

SEEDS = sorted((ROOT / "seeds").glob("*.txt"))

# A German local-news paragraph (written for this test): no category, so no topic is guessed.
GERMAN = (
    "Die Straßenbahnlinie 4 fährt ab Montag wieder durch die Innenstadt. Nach acht Monaten Bauzeit "
    "sind die neuen Gleise verlegt, teilte die Verkehrsgesellschaft am Freitag mit. Fahrgäste müssen "
    "sich dennoch auf Verspätungen einstellen, weil an zwei Haltestellen noch gearbeitet wird."
)


@pytest.fixture(scope="module")
def classifier() -> TopicClassifier:
    return load_topic_classifier()


def test_the_model_loads_from_the_package(classifier):
    resource = importlib.resources.files("schemas").joinpath("models/topics.npz")
    assert resource.is_file()
    card = importlib.resources.files("schemas").joinpath("models/topics.md")
    assert "train_topics.py" in card.read_text(encoding="utf-8")
    assert isinstance(classifier, ModelClassifier) and isinstance(classifier, TopicClassifier)
    assert classifier.taxonomy == load_taxonomy() and classifier.model.languages == ("en",)
    assert classifier.model.combination.slugs == classifier.taxonomy.slugs
    # The lexicon's terms were in the vocabulary the model was trained with: nothing to add.
    assert len(classifier.space.tokens) == len(classifier.model.tokens)
    # Once per process, whoever asks.
    assert load_topic_classifier() is classifier


@pytest.mark.parametrize(
    ("title", "text", "expected"),
    [
        ("Federer beats Nadal to win Wimbledon", "The top seed won in five sets on Centre Court.", "sport"),
        ("Microsoft patches Windows flaw", "The software update fixes a hole hackers could use.", "science"),
        ("Shares slide as oil prices soar", "Wall Street fell as crude rose above $100 a barrel.", "economy"),
        (
            "MPs back the budget",
            "The Chancellor won the Commons vote after a long debate at Westminster.",
            "politics",
        ),
        ("Earthquake kills hundreds", "Rescuers searched the rubble for survivors of the quake.", "disaster"),
        (
            "Troops shell the besieged city",
            "Rebels said artillery and air strikes killed dozens of fighters.",
            "conflict",
        ),
        ("Pope calls for peace", "Pilgrims gathered as the pontiff addressed Catholics.", "religion"),
        ("New vaccine cuts malaria deaths", "Doctors said the trial reduced hospital admissions.", "health"),
    ],
)
def test_clear_cut_texts_get_the_expected_slug(classifier, title, text, expected):
    result = classifier.classify(title, text, language="en")
    assert result.topic == expected, result
    assert result.topics[0] == (result.topic, result.score)


@pytest.mark.parametrize("seed", SEEDS, ids=lambda path: path.name)
def test_seed_war_reports_are_conflict_for_the_classifier(seed, classifier):
    result = classifier.classify(None, seed.read_text(encoding="utf-8"), language="en")
    assert result.topic == "conflict" and result.score > 0.5


def test_a_german_text_without_a_category_is_other(classifier):
    assert classifier.classify("Neue Gleise für die Linie 4", GERMAN, language="de") == ("other", 0.0, ())
    # Undetected language (too short to tell): the text is read.
    assert classifier.classify("Federer wins Wimbledon", "", language=None).topic == "sport"


def test_a_german_text_with_a_mappable_category_takes_it(classifier):
    result = classifier.classify("Neue Gleise für die Linie 4", GERMAN, categories=["Politik"], language="de")
    assert result.topic == "politics" and result.score > 0.9
    assert classifier.classify(None, GERMAN, categories=["Nachrichten"], language="de").topic == "other"


def test_a_feed_category_wins_over_weak_text_evidence(classifier):
    mixed = "The company said its stadium deal was the biggest of the season."
    assert classifier.classify(None, mixed, categories=("Sport",), language="en").topic == "sport"
    assert classifier.classify(None, mixed, categories=("Wirtschaft",), language="en").topic == "economy"
    # A label of several parts, accents and case aside; a place or a format names no topic.
    assert classifier.classify(None, mixed, categories=["News > Économie"], language="en").topic == "economy"
    neutral = "The announcement was made on Tuesday afternoon."
    plain = classifier.classify(None, neutral, language="en")
    assert classifier.classify(None, neutral, categories=["World", "Opinion"], language="en") == plain


def test_strong_text_keeps_its_topic_under_a_clashing_label(classifier):
    # Two labels naming two topics are not a clean mapping: they only tip the balance.
    text = "Striker scores twice as United beat City 3-1 in the Premier League derby at Old Trafford."
    result = classifier.classify("United beat City", text, categories=["Sport", "Business"], language="en")
    assert result.topic == "sport"


def test_topics_are_ranked_and_scores_are_probabilities(classifier):
    result = classifier.classify(
        "Union calls strike at car plant", "Workers at the factory will walk out over pay.", language="en"
    )
    assert 1 <= len(result.topics) <= 3
    scores = [score for _, score in result.topics]
    assert scores == sorted(scores, reverse=True) and all(0.05 <= s <= 1 for s in scores)
    assert sum(scores) <= 1.0001 and len({slug for slug, _ in result.topics}) == len(result.topics)
    assert {slug for slug, _ in result.topics} <= {"labour", "economy", "politics", "crime", "society"}


@pytest.mark.parametrize(("title", "text"), [(None, ""), ("", "   \n "), ("", "12 34 ...")])
def test_no_words_is_other_with_zero_score(classifier, title, text):
    assert classifier.classify(title, text, language="en") == ("other", 0.0, ())


def test_the_classifier_matrix_is_the_combination_training_fits(classifier):
    # The one-document path equals the batch function training fits its parameters with.
    from transforms.core.topic_model import combine

    indices, values = classifier.features("Oil prices rise", "Crude rose as OPEC cut output.")
    model_logp, evidence, combined = classifier.scores(indices, values, None)
    batch = combine(np.array([model_logp]), np.array([evidence]), None, classifier.model.combination)[0]
    assert np.allclose(combined, batch) and np.isclose(np.exp(combined).sum(), 1.0)
    boost = [0.0] * len(classifier.taxonomy.slugs)
    boost[classifier.taxonomy.slugs.index("sport")] = 5.7
    _, _, boosted = classifier.scores(indices, values, boost)
    batch = combine(
        np.array([model_logp]), np.array([evidence]), np.array([boost]), classifier.model.combination
    )
    assert np.allclose(boosted, batch[0])


def test_enrich_sets_topic_topics_and_language_from_the_text():
    identifier = load_language_identifier()
    now = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    german = Article(id="de", source="x", text_source="seed_text", ingested_at=now, text=GERMAN)
    classifier = load_topic_classifier()
    done = enrich(german, identifier=identifier, classifier=classifier)
    assert (done.language, done.topic, done.topic_score, done.topics) == ("de", "other", 0.0, ())
    sport = dataclasses.replace(german, categories=("Sport",))
    done = enrich(sport, identifier=identifier, classifier=classifier)
    assert done.topic == "sport" and done.topics[0] == ("sport", done.topic_score)
    row = article_row(done)
    assert row["topics"][0] == {"slug": "sport", "score": done.topic_score}
    table = pa.Table.from_pylist([row], schema=pa.schema([ARTICLE_FILE_SCHEMA.field("topics")]))
    (stored,) = table.column("topics").to_pylist()
    assert [t["slug"] for t in stored] == [t["slug"] for t in row["topics"]]
    assert [t["score"] for t in stored] == pytest.approx([t["score"] for t in row["topics"]])


def test_enrich_articles_loads_the_classifier_in_setup():
    now = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    articles = [
        Article(
            id="a", source="x", text_source="seed_text", ingested_at=now, text=SEEDS[0].read_text("utf-8")
        ),
        Article(id="b", source="x", text_source="seed_text", ingested_at=now, text=GERMAN),
        Article(
            id="c", source="x", text_source="seed_text", ingested_at=now, text=GERMAN, categories=("Sport",)
        ),
    ]
    with local_pipeline() as p:
        out = p | beam.Create(articles) | EnrichArticles()
        assert_that(
            out | beam.Map(lambda a: (a.id, a.language, a.topic, [slug for slug, _ in a.topics][:1])),
            equal_to(
                [
                    ("a", "en", "conflict", ["conflict"]),
                    ("b", "de", "other", []),
                    ("c", "de", "sport", ["sport"]),
                ]
            ),
        )


# --- Editors' labels -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("categories", "expected"),
    [
        (["Sport"], ("sport",)),
        (["SPORTS NEWS"], ("sport",)),
        (["Économie"], ("economy",)),
        (["Wirtschaft"], ("economy",)),
        (["Sci/Tech"], ("science",)),
        (["Wissenschaft/Technik"], ("science",)),
        (["Home > Politique"], ("politics",)),
        (["Politik & Gesellschaft"], ()),  # two topics in one label: no clean mapping
        (["World", "Opinion", "Donald Trump"], ()),
        (["Fußball", "Bundesliga"], ("sport",)),
        (["Sport", "Business"], ("sport", "economy")),
        ("Sport", ("sport",)),
    ],
)
def test_category_table(categories, expected):
    assert packaged_category_table().slugs_of(categories, load_taxonomy()) == expected


def test_category_table_names_only_slugs_of_the_taxonomy():
    slugs = set(load_taxonomy().slugs)
    assert set(packaged_category_table().names.values()) <= slugs


# --- Features and the lexicon as one linear map -------------------------------------------------


def test_features_pairs_triples_and_the_title_break():
    space = FeatureSpace.build(["oil", "prices", "rise", "fall"], [("oil", "prices"), ("rise", "oil")])
    indices, values = document_features(space, "Oil prices rise", "oil prices fall")
    counts = dict(zip(indices.tolist(), np.round(np.expm1(values)).astype(int).tolist(), strict=True))
    oil, prices, rise, fall = (space.index_of([w]) for w in ("oil", "prices", "rise", "fall"))
    # Title words count twice; "rise" (title) + "oil" (body) is no pair: title and body are apart.
    assert counts == {oil: 3, prices: 3, rise: 2, fall: 1, space.index_of(["oil", "prices"]): 3}
    grown, moved = space.with_terms([("new", "york", "stock", "exchange"), ("rise",)])
    assert (
        grown.ids["oil"] == space.ids["oil"]
        and grown.index_of(["oil", "prices"]) == moved[space.index_of(["oil", "prices"])]
    )
    phrase = grown.index_of(["new", "york", "stock", "exchange"])
    assert phrase in document_features(grown, None, "The New York Stock Exchange fell.")[0]
    assert phrase not in document_features(grown, None, "New York stock exchanges fell.")[0]


def test_a_batch_gives_each_document_its_own_features_and_topic(classifier):
    # documents_features and classify_many over batches (no n-gram across two documents; empty,
    # letterless, title-only and other-language documents among them) against one at a time.
    items = json.loads((ROOT / "tests" / "resources" / "topic_dev.json").read_text(encoding="utf-8"))["items"]
    docs = [TopicInput(item["title"], item.get("text") or "", (), None) for item in items]
    docs += [TopicInput(None, ""), TopicInput("", "12 34"), TopicInput("Oil", ""), TopicInput(None, "oil")]
    docs += [
        TopicInput("Bahn", "Die Bahn baut neue Gleise.", ("Sport",), "de"),
        TopicInput("x", "y", ("sport",)),
    ]
    docs = docs[-6:] + docs + docs[:5]
    space, body_chars = classifier.space, classifier.model.body_chars
    for size in (1, 5, 64, len(docs)):
        batches = [docs[start : start + size] for start in range(0, len(docs), size)]
        found = [
            f
            for batch in batches
            for f in documents_features(space, [d[:2] for d in batch], body_chars=body_chars)
        ]
        for doc, (indices, values) in zip(docs, found, strict=True):
            alone = document_features(space, doc.title, doc.text, body_chars=body_chars)
            assert indices.tolist() == alone[0].tolist() and values.tobytes() == alone[1].tobytes()
        topics = [topic for batch in batches for topic in classifier.classify_many(batch)]
        assert topics == [
            classifier.classify(d.title, d.text, categories=d.categories, language=d.language) for d in docs
        ]


def test_lexicon_matrix_counts_the_longest_term_as_the_matcher_does(tmp_path):
    custom = load_taxonomy(write_taxonomy(tmp_path, KITCHEN_TAXONOMY))
    space = FeatureSpace.build([]).with_terms(lexicon_terms(custom))[0]
    matrix = lexicon_matrix(custom, space)

    def linear(text: str) -> dict[str, float]:
        indices, values = document_features(space, None, text)
        return dict(zip(custom.slugs, (values @ matrix[indices] / np.log(2)).round(6).tolist(), strict=True))

    # "olive oil" is cooking's 3, not also gardening's "oil" 1; "oil" alone is gardening's.
    assert linear("drizzle olive oil") == {"cooking": 3.0, "gardening": 0.0}
    assert linear("oil") == {"cooking": 0.0, "gardening": 1.0}
    assert linear("compost the tomato plants") == {"cooking": 0.0, "gardening": 6.0}
    # Prefix terms count for the words of the space that start with them.
    grown = space.with_terms([("baker",)])[0]
    baker = document_features(grown, None, "the baker")
    assert (baker[1] @ lexicon_matrix(custom, grown)[baker[0]]).tolist() == pytest.approx([2 * np.log(2), 0])


# --- A user's taxonomy with a model of its own -------------------------------------------------


def _tiny_model(taxonomy: Taxonomy) -> TopicModel:
    """A model over the taxonomy's own terms, weights by hand: what the file format carries."""
    space = FeatureSpace.build([]).with_terms(lexicon_terms(taxonomy))[0]
    weights = np.zeros((space.n_base, 2), dtype=np.float32)
    for word, column in (("oven", 0), ("recipe", 0), ("compost", 1), ("seedling", 1)):
        weights[space.index_of([word]), column] = 5.0
    return TopicModel(
        tokens=space.tokens,
        ngram_keys=space.ngram_keys,
        weights=weights,
        bias=np.zeros(2, dtype=np.float32),
        idf=np.ones(space.n_base, dtype=np.float32),
        combination=Combination(slugs=taxonomy.slugs, classes=("cooking", "gardening"), v=0.5),
    )


def test_a_user_taxonomy_names_its_model_relative_to_itself(tmp_path):
    lexicon_only = load_taxonomy(write_taxonomy(tmp_path, KITCHEN_TAXONOMY))
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "kitchen.npz").write_bytes(_tiny_model(lexicon_only).to_bytes())
    path = write_taxonomy(tmp_path, {**KITCHEN_TAXONOMY, "model": "models/kitchen.npz"}, "with_model.json")
    classifier = load_topic_classifier(path)
    assert (
        isinstance(classifier, ModelClassifier)
        and classifier.taxonomy.model == f"{tmp_path}/models/kitchen.npz"
    )
    assert classifier.classify("Heat the oven", "", language="en").topic == "cooking"
    assert classifier.classify(None, "Seedlings need compost.", categories=["Cooking"]).topic == "cooking"
    # Without the field: the lexicon alone, as assign_topic, with runners-up listed.
    alone = load_topic_classifier(write_taxonomy(tmp_path, KITCHEN_TAXONOMY, "alone.json"))
    result = alone.classify("Three recipes", "Feed the tomato plants compost.", language="en")
    assert (
        result.topic
        == assign_topic("Three recipes", "Feed the tomato plants compost.", taxonomy=lexicon_only)[0]
    )
    assert {slug for slug, _ in result.topics} == {"cooking", "gardening"} and result.topics[0][
        0
    ] == result.topic


def test_a_model_for_other_slugs_is_refused(tmp_path):
    (tmp_path / "m.npz").write_bytes(
        _tiny_model(load_taxonomy(write_taxonomy(tmp_path, KITCHEN_TAXONOMY))).to_bytes()
    )
    path = write_taxonomy(
        tmp_path,
        {**KITCHEN_TAXONOMY, "topics": KITCHEN_TAXONOMY["topics"][:1], "model": "m.npz"},
        "other.json",
    )
    with pytest.raises(ValueError, match="retrain"):
        load_topic_classifier(path)
    broken = write_taxonomy(tmp_path, {**KITCHEN_TAXONOMY, "model": "missing.npz"}, "broken.json")
    with pytest.raises(ValueError, match="cannot be read"):
        load_topic_classifier(broken)


TRAINING_ITEMS = [
    ("Bake the bread", "Put the loaf in a hot oven for forty minutes.", "cooking"),
    ("A simple cake recipe", "Whisk eggs and sugar, then bake until golden.", "cooking"),
    ("Roast vegetables", "Toss carrots in olive oil and roast them in the oven.", "cooking"),
    ("Soup for winter", "Simmer onions and stock, season and blend the soup.", "cooking"),
    ("Pasta sauce", "Fry garlic, add tomatoes and simmer the sauce slowly.", "cooking"),
    ("Start seedlings indoors", "Sow seeds in trays and keep the seedlings warm.", "gardening"),
    ("Make your own compost", "Layer leaves and grass cuttings in the compost bin.", "gardening"),
    ("Prune roses in March", "Cut the stems back above an outward bud.", "gardening"),
    ("Plant tomato plants out", "Harden them off, then plant them in rich soil.", "gardening"),
    ("Weeding without chemicals", "Hoe the beds on dry days and mulch the soil.", "gardening"),
]


def test_the_training_script_trains_a_model_for_a_user_taxonomy(tmp_path):
    pytest.importorskip("sklearn", reason="training needs the train extra (scikit-learn)")
    data = tmp_path / "items.jsonl"
    data.write_text(
        "".join(json.dumps({"title": t, "text": x, "slug": s}) + "\n" for t, x, s in TRAINING_ITEMS * 3),
        encoding="utf-8",
    )
    taxonomy = write_taxonomy(tmp_path, KITCHEN_TAXONOMY)
    result = subprocess.run(
        [sys.executable, str(ROOT / "training" / "train_topics.py"), "--data", str(data),
         "--taxonomy", taxonomy, "--out", str(tmp_path / "kitchen.npz"), "--folds", "2"],
        capture_output=True, text=True, cwd=ROOT, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    assert "cross-validated" in result.stdout
    classifier = load_topic_classifier(
        write_taxonomy(tmp_path, {**KITCHEN_TAXONOMY, "model": "kitchen.npz"}, "mine.json")
    )
    assert classifier.classify("Roast the carrots in the oven", "", language="en").topic == "cooking"
    assert (
        classifier.classify("Mulch the beds", "Seedlings love compost.", language="en").topic == "gardening"
    )
