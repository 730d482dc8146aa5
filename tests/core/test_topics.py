"""Topic assignment: the lexicon (assign_topic), the trained classifier the enrich stage runs,
editors' categories, the topics column, taxonomy and model files."""

from __future__ import annotations

import json
import pickle
import time

import pytest

from tests.helpers import KITCHEN_TAXONOMY, RESOURCES, ROOT, write_taxonomy
from transforms.topics import (
    Taxonomy,
    assign_topic,
    load_taxonomy,
    topic_evidence,
)

SEEDS = sorted((ROOT / "seeds").glob("*.txt"))
IPTC_SLUGS = {
    "arts", "crime", "disaster", "economy", "education", "environment", "health", "human-interest", "labour",
    "lifestyle", "politics", "religion", "science", "society", "sport", "conflict", "weather",
}  # fmt: skip


@pytest.fixture(scope="module")
def taxonomy() -> Taxonomy:
    return load_taxonomy()


@pytest.fixture(scope="module")
def dev_items() -> list[dict]:
    return json.loads((RESOURCES / "topic_dev.json").read_text(encoding="utf-8"))["items"]


def _accuracy(items: list[dict], taxonomy: Taxonomy) -> float:
    hits = sum(assign_topic(i["title"], i["text"], taxonomy=taxonomy)[0] in i["accept"] for i in items)
    return hits / len(items)


def test_dev_accuracy_and_halves_agree(dev_items, taxonomy):
    # The lexicon is written by hand, not fitted to these items; the two halves (even and odd
    # positions) should then score alike.
    assert _accuracy(dev_items, taxonomy) >= 0.80
    even, odd = _accuracy(dev_items[0::2], taxonomy), _accuracy(dev_items[1::2], taxonomy)
    assert abs(even - odd) <= 0.05


@pytest.mark.parametrize("seed", SEEDS, ids=lambda path: path.name)
def test_seed_articles_are_conflict(seed, taxonomy):
    topic, score = assign_topic(None, seed.read_text(encoding="utf-8"), taxonomy=taxonomy)
    assert topic == "conflict"
    assert 0.5 < score <= 1.0


def test_there_are_five_seeds():
    assert len(SEEDS) == 5


@pytest.mark.parametrize(
    ("title", "text", "expected"),
    [
        ("Federer beats Nadal to win Wimbledon", "The top seed won in five sets on Centre Court.", "sport"),
        ("Microsoft patches Windows flaw", "The software update fixes a hole hackers could use.", "science"),
        ("Shares slide as oil prices soar", "Wall Street fell as crude rose above $100 a barrel.", "economy"),
        ("Parliament passes budget", "Lawmakers handed the prime minister a narrow win.", "politics"),
        ("Earthquake kills hundreds", "Rescuers searched the rubble for survivors of the quake.", "disaster"),
        ("Heavy snow and icy winds to hit the north", "Forecasters warn of blizzards and gusts.", "weather"),
        (
            "Rail workers vote to strike over pay",
            "The union rejected the pay offer and will walk out.",
            "labour",
        ),
        ("Pope calls for peace", "Pilgrims gathered as the pontiff addressed Catholics.", "religion"),
    ],
)
def test_clear_headlines(title, text, expected, taxonomy):
    assert assign_topic(title, text, taxonomy=taxonomy)[0] == expected


def test_title_weighs_more_than_body(taxonomy):
    # One strong term each side: the title's wins either way round.
    assert assign_topic("Quarterback", "Parliament", taxonomy=taxonomy)[0] == "sport"
    assert assign_topic("Parliament", "Quarterback", taxonomy=taxonomy)[0] == "politics"


def test_repeats_saturate_on_long_text(taxonomy):
    sentence = "Troops shelled the besieged city. "
    once = topic_evidence(None, sentence, taxonomy=taxonomy)["conflict"]
    many = topic_evidence(None, sentence * 200, taxonomy=taxonomy)["conflict"]
    # Raw counts would give 200x; saturation and length normalisation keep it of one order.
    assert many < 3 * once


def test_categories_inform_the_topic(taxonomy):
    neutral = "The announcement was made on Tuesday afternoon."
    assert assign_topic(None, neutral, taxonomy=taxonomy)[0] == "other"
    assert assign_topic(None, neutral, categories=["Sports"], taxonomy=taxonomy)[0] == "sport"
    assert assign_topic(None, neutral, categories=["Technology"], taxonomy=taxonomy)[0] == "science"
    assert assign_topic(None, neutral, categories=["Business"], taxonomy=taxonomy)[0] == "economy"
    assert assign_topic(None, neutral, categories="Sports", taxonomy=taxonomy)[0] == "sport"
    # A category tips a balanced text: here a mixed report leans to the editor's label.
    mixed = "The company said its stadium deal was the biggest of the season."
    assert assign_topic(None, mixed, categories=("Sport",), taxonomy=taxonomy)[0] == "sport"
    assert assign_topic(None, mixed, categories=("Business",), taxonomy=taxonomy)[0] == "economy"


@pytest.mark.parametrize(("title", "text"), [(None, ""), ("", ""), (None, "   \n "), ("", "12 34 ...")])
def test_empty_text_is_other_with_zero_score(title, text, taxonomy):
    assert assign_topic(title, text, taxonomy=taxonomy) == ("other", 0.0)


def test_weak_evidence_is_other_with_low_score(taxonomy):
    topic, score = assign_topic(None, "The announcement was made in Paris on a Tuesday.", taxonomy=taxonomy)
    assert topic == "other"
    assert 0.0 < score < 0.39


def test_packaged_taxonomy_is_the_iptc_top_level(taxonomy):
    assert set(taxonomy.slugs) == IPTC_SLUGS
    assert taxonomy.fallback == "other"
    for topic in taxonomy.topics:
        assert topic.code.startswith("medtop:")
        assert topic.label and topic.description
        assert len(topic.terms) >= 100, topic.slug


def test_taxonomy_is_hashable_and_picklable(taxonomy):
    assign_topic("NASA", "", taxonomy=taxonomy)  # builds the matcher
    copy = pickle.loads(pickle.dumps(taxonomy))
    assert copy == taxonomy and hash(copy) == hash(taxonomy)
    assert assign_topic("NASA launches a probe to Mars", "", taxonomy=copy)[0] == "science"


def test_default_taxonomy_is_loaded_once():
    assert load_taxonomy() is load_taxonomy()
    assert assign_topic("Election results", "Voters went to the polls.")[0] == "politics"


def test_fast_enough(dev_items, taxonomy):
    # Thousands of short items per second; the bound is loose so a slow CI box still passes.
    start = time.perf_counter()
    for item in dev_items * 5:
        assign_topic(item["title"], item["text"], taxonomy=taxonomy)
    assert time.perf_counter() - start < 6.0


def test_custom_taxonomy_file(tmp_path):
    custom = load_taxonomy(write_taxonomy(tmp_path, KITCHEN_TAXONOMY))
    assert custom.slugs == ("cooking", "gardening") and custom.fallback == "misc"
    # Plurals, prefixes and the longest phrase: "olive oil" is cooking, not gardening's "oil".
    assert assign_topic("Three recipes", "", taxonomy=custom)[0] == "cooking"
    assert assign_topic(None, "She baked bread; the baker baking it.", taxonomy=custom)[0] == "cooking"
    assert assign_topic(None, "Drizzle olive oil over it.", taxonomy=custom)[0] == "cooking"
    assert assign_topic(None, "Feed the tomato plants compost.", taxonomy=custom)[0] == "gardening"
    assert assign_topic(None, "Nothing relevant here.", taxonomy=custom) == ("misc", 0.0)
    # The same file's categories match slugs and terms.
    assert assign_topic(None, "Nothing here.", categories=["Gardening"], taxonomy=custom)[0] == "gardening"


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ("{not json", "not valid JSON"),
        ([], "top level must be an object"),
        ({"topics": []}, "'topics' must be a non-empty list"),
        ({"topics": [{"terms": {"a": 1}}]}, "needs a 'slug'"),
        ({"topics": [{"slug": "Bad Slug", "terms": {"a": 1}}]}, "needs a 'slug'"),
        ({"topics": [{"slug": "a"}]}, "needs 'terms'"),
        ({"topics": [{"slug": "a", "terms": ["x", "y"]}]}, "needs 'terms'"),
        ({"topics": [{"slug": "a", "terms": {"x": "3"}}]}, "must be a number"),
        ({"topics": [{"slug": "a", "terms": {"x": True}}]}, "must be a number"),
        ({"topics": [{"slug": "a", "terms": {"x": -1}}]}, "positive and finite"),
        ({"topics": [{"slug": "a", "terms": {"--": 1}}]}, "no letters or digits"),
        ({"topics": [{"slug": "a", "terms": {"two words*": 1}}]}, "may only end a one-word term"),
        ({"topics": [{"slug": "a", "terms": {"x": 1}}, {"slug": "a", "terms": {"y": 1}}]}, "duplicate"),
        ({"fallback": "a", "topics": [{"slug": "a", "terms": {"x": 1}}]}, "'fallback'"),
        ({"topics": [{"slug": "a", "description": 3, "terms": {"x": 1}}]}, "'description' must be a string"),
    ],
)
def test_malformed_taxonomy_is_a_clear_value_error(tmp_path, document, message):
    path = write_taxonomy(tmp_path, document)
    with pytest.raises(ValueError, match=message) as caught:
        load_taxonomy(path)
    assert path in str(caught.value)


# --- The trained classifier ----------------------------------------------------------------
