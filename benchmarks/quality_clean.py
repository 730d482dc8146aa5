"""Quality of the boilerplate cleaner (``transforms/clean.py``) on the labelled dev sets.

Reads ``tests/resources/seeds_gold.json`` with the seeds in ``seeds/``, and
``tests/resources/text_dev.json``; prints how many body lines survive and how many boilerplate
lines go. Run from the repository root: ``python benchmarks/quality_clean.py``.
"""

from __future__ import annotations

import json
import pathlib
import sys
from collections import Counter, defaultdict

ROOT = pathlib.Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from transforms.clean import Cleaned, clean_text, site_line_candidates  # noqa: E402

RESOURCES = ROOT / "tests" / "resources"
SEEDS = ROOT / "seeds"
# In the text_dev run with site statistics, a line key is site boilerplate when this many of
# the site's documents hold it (the pipeline's --site_min_docs plays this part on a real run).
DEV_SITE_MIN_DOCS = 2


def load_seeds_gold() -> dict:
    return json.loads((RESOURCES / "seeds_gold.json").read_text(encoding="utf-8"))


def load_text_dev() -> dict:
    return json.loads((RESOURCES / "text_dev.json").read_text(encoding="utf-8"))


def seed_text(name: str) -> str:
    return (SEEDS / name).read_text(encoding="utf-8")


def seed_errors(name: str, gold: dict, cleaned: Cleaned) -> dict:
    """Per seed: body lines lost, boilerplate lines kept, and whether title and byline match."""
    kept = set(cleaned.kept_line_nos)
    nonblank = {n for n, line in enumerate(seed_text(name).split("\n"), 1) if line.strip()}
    body = set(gold["body"])
    allowed = body | set(gold["title_lines"]) | set(gold["either"])
    return {
        "body_lost": sorted(body - kept),
        "boilerplate_kept": sorted((nonblank - allowed) & kept),
        "title_kept": sorted(set(gold["title_lines"]) & kept),
        "title_ok": gold["title"] is None or cleaned.title == gold["title"],
        "byline_ok": "author" not in gold or cleaned.byline == gold["author"],
    }


def dev_site_lines(documents: list[dict]) -> dict[str, frozenset[str]]:
    """Per domain, the line keys that DEV_SITE_MIN_DOCS or more of its documents share."""
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    for doc in documents:
        counts[doc["domain"]].update(site_line_candidates(doc["content"]))
    return {
        domain: frozenset(key for key, n in counter.items() if n >= DEV_SITE_MIN_DOCS)
        for domain, counter in counts.items()
    }


def dev_scores(documents: list[dict], *, use_site_lines: bool = False) -> dict:
    """Micro-averaged line figures over text_dev, and the lines that went wrong."""
    site_lines = dev_site_lines(documents) if use_site_lines else {}
    tally: Counter[str] = Counter()
    misses: list[str] = []
    for doc in documents:
        cleaned = clean_text(
            doc["content"], title=doc["title"], site_lines=site_lines.get(doc["domain"], frozenset())
        )
        kept = set(cleaned.kept_line_nos)
        lines = doc["content"].split("\n")
        for label in ("B", "X", "T"):
            for n in doc["labels"][label]:
                survived = n in kept
                tally[f"{label}_total"] += 1
                tally[f"{label}_kept"] += survived
                if survived != (label == "B"):
                    misses.append(
                        f"{doc['id']}:{n} {label} {'kept' if survived else 'removed'}: {lines[n - 1][:90]}"
                    )
    return {
        "body_kept": tally["B_kept"] / max(tally["B_total"], 1),
        "boilerplate_removed": 1 - tally["X_kept"] / max(tally["X_total"], 1),
        "title_removed": 1 - tally["T_kept"] / max(tally["T_total"], 1),
        "counts": dict(tally),
        "misses": misses,
    }


def clean_scores() -> dict:
    """The cleaner's figures on both dev sets."""
    gold = load_seeds_gold()
    seeds = {}
    for name, labels in gold["documents"].items():
        cleaned = clean_text(seed_text(name))
        errors = seed_errors(name, labels, cleaned)
        errors["exact"] = (
            not errors["body_lost"]
            and not errors["boilerplate_kept"]
            and not errors["title_kept"]
            and errors["title_ok"]
            and errors["byline_ok"]
        )
        seeds[name] = errors
    documents = load_text_dev()["documents"]
    dev = dev_scores(documents)
    dev_site = dev_scores(documents, use_site_lines=True)
    return {
        "seeds": seeds,
        "seeds_exact": sum(s["exact"] for s in seeds.values()),
        "seeds_total": len(seeds),
        "body_kept": dev["body_kept"],
        "boilerplate_removed": dev["boilerplate_removed"],
        "title_removed": dev["title_removed"],
        "dev_counts": dev["counts"],
        "dev_misses": dev["misses"],
        "with_site_lines": {k: dev_site[k] for k in ("body_kept", "boilerplate_removed", "title_removed")},
    }


def main() -> None:
    scores = clean_scores()
    print(f"seeds exact: {scores['seeds_exact']}/{scores['seeds_total']}")
    for name, errors in scores["seeds"].items():
        status = "ok" if errors["exact"] else f"ERRORS {errors}"
        print(f"  {name}: {status}")
    print(
        f"text_dev: body kept {scores['body_kept']:.1%}, "
        f"boilerplate removed {scores['boilerplate_removed']:.1%}, "
        f"titles removed {scores['title_removed']:.1%}  {scores['dev_counts']}"
    )
    site = scores["with_site_lines"]
    print(
        f"text_dev with site lines (>= {DEV_SITE_MIN_DOCS} docs of a domain): "
        f"body kept {site['body_kept']:.1%}, "
        f"boilerplate removed {site['boilerplate_removed']:.1%}, titles removed {site['title_removed']:.1%}"
    )
    for miss in scores["dev_misses"]:
        print(f"  miss {miss}")


if __name__ == "__main__":
    main()
