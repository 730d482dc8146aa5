"""Quality of topic assignment on the AG News dev items in ``tests/resources/topic_dev.json``.

Reports accuracy overall, on the even and odd halves (a check that nothing was fitted to one
of them), per AG News label, the confusion per label and the throughput. Run from the repo
root: ``.venv/bin/python benchmarks/quality_topics.py``. Sample output line:
``accuracy 0.812  even 0.810  odd 0.813  (600 items, 15000 items/s)``.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path
from typing import Any

from transforms.topics import assign_topic, load_taxonomy

DEV_FILE = Path(__file__).resolve().parents[1] / "tests" / "resources" / "topic_dev.json"


def _accuracy(flags: list[bool]) -> float:
    return round(sum(flags) / len(flags), 4) if flags else 0.0


def topic_scores(path: Path = DEV_FILE) -> dict[str, Any]:
    """Accuracy overall, per half (even/odd index) and per AG label, confusions and speed."""
    items = json.loads(path.read_text(encoding="utf-8"))["items"]
    taxonomy = load_taxonomy()
    start = time.perf_counter()
    predicted = [assign_topic(item["title"], item["text"], taxonomy=taxonomy)[0] for item in items]
    elapsed = time.perf_counter() - start
    correct = [topic in item["accept"] for topic, item in zip(predicted, items, strict=True)]
    labels = sorted({item["ag_label"] for item in items})
    return {
        "items": len(items),
        "accuracy": _accuracy(correct),
        "accuracy_even": _accuracy(correct[0::2]),
        "accuracy_odd": _accuracy(correct[1::2]),
        "per_label": {
            label: _accuracy(
                [ok for ok, item in zip(correct, items, strict=True) if item["ag_label"] == label]
            )
            for label in labels
        },
        "confusion": {
            label: dict(
                Counter(
                    t for t, item in zip(predicted, items, strict=True) if item["ag_label"] == label
                ).most_common()
            )
            for label in labels
        },
        "items_per_second": round(len(items) / elapsed) if elapsed else None,
    }


def main() -> None:
    scores = topic_scores()
    print(
        f"accuracy {scores['accuracy']:.3f}  even {scores['accuracy_even']:.3f}  "
        f"odd {scores['accuracy_odd']:.3f}  ({scores['items']} items, {scores['items_per_second']} items/s)"
    )
    for label, accuracy in scores["per_label"].items():
        confusion = ", ".join(f"{topic} {count}" for topic, count in scores["confusion"][label].items())
        print(f"  {label:10s} {accuracy:.3f}   {confusion}")


if __name__ == "__main__":
    main()
