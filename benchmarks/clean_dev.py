"""The cleaner on the dev sets, for ``benchmarks/quality_clean.py`` and ``benchmarks/quality.py``.

Consumes the seeds with their gold (``seeds_gold.json``) and ``text_dev.json`` (training data of
the line model now: the figures show it still fits them); emits, per cleaner, the seeds' exact
matches and line figures, text_dev's line figures (with and without site statistics) and its
misses. Also the shared scoring: ``Doc``, ``tally`` and ``figures`` (body kept, boilerplate
removed, titles removed).
"""

from __future__ import annotations

import json
import pathlib
from collections import Counter, defaultdict
from collections.abc import Callable

from transforms.clean import Cleaned, clean_text
from transforms.core.sites import DOCS_KEY, document_keys, site_table, stats_for_document

ROOT = pathlib.Path(__file__).resolve().parent.parent
RESOURCES = ROOT / "tests" / "resources"
SEEDS = ROOT / "seeds"
# In the text_dev run with site statistics, a line held by this many documents of a domain.
DEV_SITE_MIN_DOCS = 2


class Doc:
    def __init__(self, row: dict) -> None:
        self.id = row["id"]
        self.view = row.get("view", "dev")
        self.source = row.get("source", "text_dev")
        self.domain = row.get("domain") or ""
        self.title = row.get("title") or None
        self.content = row["content"]
        self.labels = row["labels"]


def tally(doc: Doc, cleaned: Cleaned, labels: dict | None = None) -> Counter:
    kept = set(cleaned.kept_line_nos)
    counts: Counter = Counter()
    for label in ("B", "X", "T"):
        for n in (labels or doc.labels).get(label, ()):
            counts[f"{label}_total"] += 1
            counts[f"{label}_kept"] += n in kept
    return counts


def figures(counts: Counter) -> dict:
    def share(label: str) -> float:
        total = counts[f"{label}_total"]
        return counts[f"{label}_kept"] / total if total else float("nan")

    return {"body_kept": share("B"), "boilerplate_removed": 1 - share("X"), "titles_removed": 1 - share("T")}


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
    errors = {
        "body_lost": sorted(body - kept),
        "boilerplate_kept": sorted((nonblank - allowed) & kept),
        "title_kept": sorted(set(gold["title_lines"]) & kept),
        "title_ok": gold["title"] is None or cleaned.title == gold["title"],
        "byline_ok": "author" not in gold or cleaned.byline == gold["author"],
    }
    errors["exact"] = (
        not errors["body_lost"]
        and not errors["boilerplate_kept"]
        and not errors["title_kept"]
        and errors["title_ok"]
        and errors["byline_ok"]
    )
    return errors


def dev_figures(
    clean: Callable[[str, str | None, frozenset | None], Cleaned], site_min_docs: int = 0
) -> dict:
    """Seeds: exact matches and per-line figures; text_dev: per-line figures (with and without
    site statistics)."""
    gold = load_seeds_gold()
    seeds, seed_counts = {}, Counter()
    for name, labels in gold["documents"].items():
        text = seed_text(name)
        cleaned = clean(text, None, None)
        seeds[name] = seed_errors(name, labels, cleaned)
        nonblank = [n for n, line in enumerate(text.split("\n"), 1) if line.strip()]
        allowed = set(labels["body"]) | set(labels["title_lines"]) | set(labels["either"])
        doc_labels = {
            "B": labels["body"],
            "T": labels["title_lines"],
            "X": [n for n in nonblank if n not in allowed],
        }
        seed_counts.update(tally(Doc({"id": name, "content": text, "labels": doc_labels}), cleaned))
    documents = [Doc(row) for row in load_text_dev()["documents"]]
    dev_counts, site_counts, misses = Counter(), Counter(), []
    by_domain: dict[str, list[Doc]] = defaultdict(list)
    for doc in documents:
        by_domain[doc.domain].append(doc)
    for doc in documents:
        cleaned = clean(doc.content, doc.title, None)
        counts = tally(doc, cleaned)
        dev_counts.update(counts)
        kept, lines = set(cleaned.kept_line_nos), doc.content.split("\n")
        for label in ("B", "X", "T"):
            for n in doc.labels[label]:
                if (n in kept) != (label == "B"):
                    misses.append(
                        f"{doc.id}:{n} {label} {'kept' if n in kept else 'removed'}: {lines[n - 1][:90]}"
                    )
        site_counts.update(tally(doc, clean(doc.content, doc.title, by_domain[doc.domain])))
    return {
        "seeds": seeds,
        "seeds_exact": sum(s["exact"] for s in seeds.values()),
        "seed_figures": figures(seed_counts),
        "text_dev": figures(dev_counts),
        "text_dev_counts": dict(dev_counts),
        "text_dev_site": figures(site_counts),
        "misses": misses,
    }


def new_dev_clean(text: str, title: str | None, domain_docs: list | None, scorer=None) -> Cleaned:
    """The cleaner with the packaged line model (or ``scorer``)."""
    site = stats_for_document()
    if domain_docs:
        keys = [document_keys(d.content) for d in domain_docs]
        table = site_table([(DOCS_KEY, 1) for _ in keys] + [(k, 1) for ks in keys for k in ks])
        site = stats_for_document(table)
    return clean_text(
        text, title=title, site=site, site_min_docs=DEV_SITE_MIN_DOCS - 1 if domain_docs else 0, scorer=scorer
    )


def old_dev_clean(module):
    def clean(text: str, title: str | None, domain_docs: list | None) -> Cleaned:
        repeated = frozenset()
        if domain_docs:
            counts = Counter(k for d in domain_docs for k in module.site_line_candidates(d.content))
            repeated = frozenset(k for k, n in counts.items() if n >= DEV_SITE_MIN_DOCS)
        return module.clean_text(text, title=title, site_lines=repeated)

    return clean


def print_dev(name: str, scores: dict) -> None:
    print(f"-- {name}")
    print(f"seeds exact: {scores['seeds_exact']}/{len(scores['seeds'])}", end="")
    f = scores["seed_figures"]
    print(f"  (lines: body kept {f['body_kept']:.1%}, boilerplate removed {f['boilerplate_removed']:.1%})")
    for seed, errors in scores["seeds"].items():
        status = "ok" if errors["exact"] else f"ERRORS {errors}"
        print(f"  {seed}: {status}")
    f = scores["text_dev"]
    print(
        f"text_dev: body kept {f['body_kept']:.1%}, boilerplate removed {f['boilerplate_removed']:.1%}, "
        f"titles removed {f['titles_removed']:.1%}  {scores['text_dev_counts']}"
    )
    f = scores["text_dev_site"]
    print(
        f"text_dev with site lines (>= {DEV_SITE_MIN_DOCS} docs of a domain): "
        f"body kept {f['body_kept']:.1%}, "
        f"boilerplate removed {f['boilerplate_removed']:.1%}, titles removed {f['titles_removed']:.1%}"
    )
    for miss in scores["misses"]:
        print(f"  miss {miss}")


def clean_scores() -> dict:
    """The current cleaner's figures on the dev sets (for ``benchmarks/quality.py``)."""
    return dev_figures(new_dev_clean)
