"""Quality and speed of topic assignment: today's lexicon and the trained classifier side by side.

    .venv/bin/python benchmarks/quality_topics.py [--validation FILE] [--tfidf-baseline]

Measures, in one run, accuracy (the predicted slug is in the item's ``accept`` list) on
``../shared/data/topic/topic_validation.jsonl.gz`` per source and per ``label_quality``, and on
the 600 AG News items of ``tests/resources/topic_dev.json`` (left out of training), for

* ``lexicon``: ``assign_topic`` over the taxonomy's weighted terms (newsflow before the model);
* ``classifier``: what the enrich stage runs, ``load_topic_classifier().classify`` with the
  language py3langid detects in the text, as ``transforms/enrich.py`` does;
* with ``--tfidf-baseline`` (needs scikit-learn, the ``train`` extra): the issue's reference, a
  TF-IDF logistic regression over the labelled slugs alone, fitted here on topic_train.

It prints the main confusions and the CPU milliseconds per document of the topic step, on the
validation items and on the 80 full articles of ``tests/resources/html_dev`` (best of 5 and of
20 interleaved passes).
Validation items are only measured here: nothing was chosen by looking at them.
"""

from __future__ import annotations

import argparse
import collections
import gzip
import json
import pathlib
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.shared_data import SHARED_DATA  # noqa: E402
from transforms.core.language import detect_language, load_language_identifier  # noqa: E402
from transforms.topics import assign_topic, load_taxonomy, load_topic_classifier  # noqa: E402

RESOURCES = ROOT / "tests" / "resources"
DEV_FILE = RESOURCES / "topic_dev.json"
HTML_TRUTH = RESOURCES / "html_dev" / "ground_truth.json"
TOPIC_DATA = SHARED_DATA / "topic"
VALIDATION = TOPIC_DATA / "topic_validation.jsonl.gz"
TRAIN = TOPIC_DATA / "topic_train.jsonl.gz"
SPEED_PASSES = 5

Predictor = Callable[[dict[str, Any]], str]


def read_jsonl(path: pathlib.Path) -> list[dict[str, Any]]:
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def dev_items() -> list[dict[str, Any]]:
    items = json.loads(DEV_FILE.read_text(encoding="utf-8"))["items"]
    return [
        dict(
            item,
            source="topic_dev",
            label_quality=item["ag_label"],
            slug=item["accept"][0] if len(item["accept"]) == 1 else None,
        )
        for item in items
    ]


def article_texts() -> list[tuple[None, str]]:
    """The 80 real articles' bodies (no titles in the ground truth): full-length documents."""
    pages = json.loads(HTML_TRUTH.read_text(encoding="utf-8"))["pages"]
    return [(None, "\n\n".join(page["paragraphs"])) for page in pages.values()]


def groups_of(items: Sequence[dict[str, Any]]) -> dict[str, list[int]]:
    groups: dict[str, list[int]] = collections.defaultdict(list)
    for position, item in enumerate(items):
        groups[item["source"]].append(position)
        groups[f"{item['source']}/{item['label_quality']}"].append(position)
    return dict(sorted(groups.items()))


def accuracy(items: Sequence[dict[str, Any]], predicted: Sequence[str], positions: Sequence[int]) -> float:
    return sum(predicted[p] in items[p]["accept"] for p in positions) / len(positions)


def best_ms(runs: dict[str, Callable[[], None]], count: int, passes: int) -> dict[str, float]:
    """CPU milliseconds per document of each run, the best of ``passes`` interleaved passes: the
    process's own time, which a machine shared with other jobs inflates less than the wall
    clock, and interleaving spreads a busy spell over all of them."""
    best = dict.fromkeys(runs, float("inf"))
    for _ in range(passes):
        for name, run in runs.items():
            started = time.process_time()
            run()
            best[name] = min(best[name], time.process_time() - started)
    return {name: 1000 * seconds / count for name, seconds in best.items()}


def tfidf_baseline(train: list[dict[str, Any]]) -> Predictor:
    """The issue's reference: TF-IDF (words and pairs) logistic regression on slugs alone."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    labelled = [i for i in train if i.get("slug") and not i.get("in_newsflow_topic_dev")]
    vectorizer = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True)
    x = vectorizer.fit_transform([f"{i['title']} {i['text']}" for i in labelled])
    model = LogisticRegression(C=10.0, max_iter=1000).fit(x, [i["slug"] for i in labelled])
    return lambda item: model.predict(vectorizer.transform([f"{item['title']} {item['text']}"]))[0]


def confusions(items: Sequence[dict[str, Any]], predicted: Sequence[str], top: int = 6) -> list[str]:
    lines = []
    for source in sorted({item["source"] for item in items}):
        wrong = collections.Counter(
            (item.get("slug") or "world", slug)
            for item, slug in zip(items, predicted, strict=True)
            if item["source"] == source and slug not in item["accept"]
        )
        shown = ", ".join(f"{gold}->{slug} {n}" for (gold, slug), n in wrong.most_common(top))
        lines.append(f"  {source:16s} {sum(wrong.values()):5d} wrong: {shown}")
    return lines


def topic_scores(validation: pathlib.Path | None = VALIDATION, tfidf: bool = False) -> dict[str, Any]:
    taxonomy = load_taxonomy()
    classifier = load_topic_classifier()
    identifier = load_language_identifier()
    items = dev_items()
    if validation is not None and validation.exists():
        items = read_jsonl(validation) + items
    for item in items:
        item["language"] = detect_language(item["text"] or "", identifier)

    predictors: dict[str, Predictor] = {
        "lexicon": lambda i: assign_topic(i["title"], i["text"], taxonomy=taxonomy)[0],
        "classifier": lambda i: classifier.classify(i["title"], i["text"], language=i["language"]).topic,
    }
    if tfidf:
        predictors["tfidf-LR"] = tfidf_baseline(read_jsonl(TRAIN))
    predicted = {name: [predict(item) for item in items] for name, predict in predictors.items()}
    groups = groups_of(items)
    table = {
        group: {"items": len(positions)}
        | {name: round(accuracy(items, guesses, positions), 4) for name, guesses in predicted.items()}
        for group, positions in groups.items()
    }

    documents = [(i["title"], i["text"], i["language"]) for i in items if i["source"] != "topic_dev"]
    articles = article_texts()
    speed = {
        "validation items": best_ms(
            {
                "lexicon": lambda: [assign_topic(t, x, taxonomy=taxonomy) for t, x, _ in documents],
                "classifier": lambda: [classifier.classify(t, x, language=lang) for t, x, lang in documents],
            },
            len(documents),
            SPEED_PASSES,
        )
        | {"documents": len(documents)},
        "html_dev articles": best_ms(
            {
                "lexicon": lambda: [assign_topic(t, x, taxonomy=taxonomy) for t, x in articles],
                "classifier": lambda: [classifier.classify(t, x, language="en") for t, x in articles],
            },
            len(articles),
            SPEED_PASSES * 4,  # 80 documents: cheap to repeat
        )
        | {
            "documents": len(articles),
            "median_words": statistics.median(len(x.split()) for _, x in articles),
        },
    }
    not_read = sum(
        1 for item in items if item["language"] not in (None, *getattr(classifier.model, "languages", ()))
    )
    return {
        "table": table,
        "predictors": list(predictors),
        "speed": speed,
        "confusions": confusions(items, predicted["classifier"]),
        "world": collections.Counter(
            slug
            for item, slug in zip(items, predicted["classifier"], strict=True)
            if item.get("slug") is None
        ),
        "not_read": not_read,
        "items": len(items),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--validation", type=pathlib.Path, default=VALIDATION, help="topic_validation.jsonl.gz"
    )
    parser.add_argument(
        "--tfidf-baseline", action="store_true", help="Also fit the issue's TF-IDF reference."
    )
    args = parser.parse_args(argv)
    if not args.validation.exists():
        print(f"({args.validation} not found: topic_dev only)")
    scores = topic_scores(args.validation, tfidf=args.tfidf_baseline)
    names = scores["predictors"]
    print("accuracy (predicted slug in accept)")
    print(f"{'set':34s} {'items':>6s} " + " ".join(f"{name:>10s}" for name in names))
    for group, row in scores["table"].items():
        label = group if "/" not in group else "  " + group.split("/", 1)[1]
        print(f"{label:34s} {row['items']:6d} " + " ".join(f"{row[name]:10.3f}" for name in names))
    print(
        f"(classifier: {scores['not_read']} of {scores['items']} items detected in a language it does not "
        "read, hence 'other')"
    )
    print("CPU ms per document, topic step (best of 5 passes; 20 for the articles)")
    for name, row in scores["speed"].items():
        extra = f", median {row['median_words']:.0f} words" if "median_words" in row else ""
        print(
            f"  {name:20s} lexicon {row['lexicon']:.3f}  classifier {row['classifier']:.3f}"
            f"  ({row['documents']} documents{extra})"
        )
    print("classifier's confusions (gold -> predicted, wrong only):")
    print("\n".join(scores["confusions"]))
    print(
        "classifier on world items (any hard-news slug right): "
        + ", ".join(f"{slug} {n}" for slug, n in scores["world"].most_common())
    )


if __name__ == "__main__":
    main()
