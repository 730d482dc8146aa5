"""Training data for ``training/train_line_model.py``: the labelled documents and their site statistics.

Consumes ``../shared/data/boilerplate/lines_train.jsonl.gz`` and the dev sets (the seeds' gold,
``text_dev.json``); emits ``Doc``s (lines, per-line silver labels, group for the folds, view,
source, weight), per document the statistics a site memory holding the other documents of its
site would give, and the token vocabulary (no labels used).
"""

from __future__ import annotations

import gzip
import json
import pathlib
from collections import Counter, defaultdict

import numpy as np

from benchmarks.shared_data import SHARED_EVAL
from transforms.core.clean import SiteStats
from transforms.core.lines import HEAD_TOKENS, DocLines, Vocabulary, is_site_candidate, line_key, tokenize

ROOT = pathlib.Path(__file__).resolve().parent.parent
EVAL = SHARED_EVAL
# Extra weight of the hand-labelled dev documents (seeds, text_dev) against silver lines
# (round 1's value: they are the documents the cleaner must keep fitting).
DEV_WEIGHT = 250.0
# Short documents (a feed item's summary, a brief between two widgets) are rare among the
# training pages, so the model's position and document features would meet them untrained:
# each training document with enough lines also gives one excerpt of CROP_LINES[0] to
# CROP_LINES[1] consecutive lines, labelled as in the document, as a document of its own
# (``--no-excerpts`` leaves them out; see line_model.md).
CROP_LINES = (2, 8)
EXCERPT_SUFFIX = ":excerpt"
# Tokens seen on fewer training lines than this are not in the vocabulary (noise, names).
MIN_TOKEN_LINES = 3


class Doc:
    """One labelled document: its lines, per-line labels, group (for folds), view and source."""

    def __init__(self, doc_id, text, title, labels, group, view, source, domain, weight=1.0):
        self.id = doc_id
        self.text = text
        self.lines = DocLines.of(text)
        self.title = title or None
        label_of = {}
        for label, numbers in labels.items():
            for n in numbers:
                label_of[n] = label
        self.labels = [label_of.get(n) for n in self.lines.line_nos]
        self.group = group
        self.view = view
        self.source = source
        self.domain = domain
        self.weight = weight


def group_folds(groups, seed: int, folds: int) -> dict[str, int]:
    """A fold per group (a page: both views of a page together, as the validation split keeps
    them), by a seeded permutation of the sorted groups."""
    ordered = sorted(set(groups))
    order = np.random.default_rng(seed).permutation(len(ordered))
    return {ordered[j]: k % folds for k, j in enumerate(order)}


def load_lines(path: pathlib.Path) -> list[Doc]:
    docs = []
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        for raw in handle:
            row = json.loads(raw)
            docs.append(
                Doc(
                    row["id"],
                    row["content"],
                    row["title"],
                    row["labels"],
                    f"page:{row['page_id']}",
                    row["view"],
                    row["source"],
                    row["domain"],
                )
            )
    return docs


def is_excerpt(doc: Doc) -> bool:
    return doc.id.endswith(EXCERPT_SUFFIX)


def excerpts(docs: list[Doc], seed: int) -> list[Doc]:
    """One excerpt of consecutive lines (``CROP_LINES``) of each document longer than the
    longest excerpt, seeded: the same page group and view, no site (its lines are not other
    documents' repeats), the document's title."""
    rng = np.random.default_rng(seed)
    out = []
    low, high = CROP_LINES
    for doc in docs:
        if len(doc.lines) <= high:
            continue
        size = int(rng.integers(low, high + 1))
        start = int(rng.integers(0, len(doc.lines) - size + 1))
        lines = doc.lines.lines[start : start + size]
        labels: dict[str, list[int]] = defaultdict(list)
        for n, label in enumerate(doc.labels[start : start + size], 1):
            if label:
                labels[label].append(n)
        out.append(
            Doc(
                f"{doc.id}{EXCERPT_SUFFIX}",
                "\n".join(lines),
                doc.title,
                labels,
                doc.group,
                doc.view,
                doc.source,
                "",
            )
        )
    return out


def load_dev() -> list[Doc]:
    """The seeds' gold and text_dev as labelled documents (one view: "dev")."""
    docs = []
    gold = json.loads((EVAL / "seeds_gold.json").read_text(encoding="utf-8"))
    for name, g in gold["documents"].items():
        text = (ROOT / "seeds" / name).read_text(encoding="utf-8")
        numbers = [n for n, line in enumerate(text.split("\n"), 1) if line.strip()]
        body, title, either = set(g["body"]), set(g["title_lines"]), set(g["either"])
        labels = {
            "B": sorted(body),
            "T": sorted(title),
            "E": sorted(either),
            "X": [n for n in numbers if n not in body | title | either],
        }
        docs.append(Doc(f"seed:{name}", text, None, labels, f"seed:{name}", "dev", "seeds", "", DEV_WEIGHT))
    for row in json.loads((EVAL / "text_dev.json").read_text(encoding="utf-8"))["documents"]:
        docs.append(
            Doc(
                f"text_dev:{row['id']}",
                row["content"],
                row["title"],
                row["labels"],
                f"text_dev:{row['id']}",
                "dev",
                "text_dev",
                row["domain"],
                DEV_WEIGHT,
            )
        )
    return docs


def site_stats(docs: list[Doc]) -> dict[str, SiteStats]:
    """Per document, what a site memory holding every OTHER document of its site (same view) knows."""
    by_site: dict[tuple[str, str], list[Doc]] = defaultdict(list)
    for doc in docs:
        if doc.domain:
            by_site[(doc.view, doc.domain)].append(doc)
    stats = {}
    for members in by_site.values():
        keys = {
            doc.id: {line_key(s) for s in doc.lines.lines if is_site_candidate(s)} - {""} for doc in members
        }
        total = Counter(k for ks in keys.values() for k in ks)
        for doc in members:
            counts = {k: total[k] - 1 for k in keys[doc.id] if total[k] > 1}
            stats[doc.id] = SiteStats(len(members) - 1, counts)
    return stats


def build_vocabulary(docs: list[Doc]) -> Vocabulary:
    """Tokens (by hash) of the lines' heads seen on at least MIN_TOKEN_LINES lines (no labels used)."""
    counts: Counter[int] = Counter()
    for doc in docs:
        tokens = tokenize(doc.lines.lines)
        starts = np.cumsum(tokens.counts) - tokens.counts
        head = (np.arange(tokens.hashes.size) - starts[tokens.line]) < HEAD_TOKENS
        pairs = set(zip(tokens.line[head].tolist(), tokens.hashes[head].tolist(), strict=True))
        counts.update(h for _, h in pairs)
    return Vocabulary(np.array(sorted(h for h, k in counts.items() if k >= MIN_TOKEN_LINES), dtype=np.uint64))
