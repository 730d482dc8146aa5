"""Train the cleaner's comment model (``schemas/models/comment_model.npz``) from ../shared/data.

Data: ``boilerplate/lines_train.jsonl.gz`` (both views). Positives: the lines matched to
Dragnet's separate reader-comment gold (``comment_lines``). Negatives: the article's body lines
(B) of the sources whose gold leaves reader comments out (Dragnet, Fundus, Readability,
CleanPortalEval). CleanEval's gold keeps every running text of a page, readers' comments and
forum posts included (the data's README), so its B lines would teach that comments are prose:
they are left out of the fits and counted apart below. Validation (``lines_validation``) is
never read here: ``benchmarks/quality_clean.py`` measures it.

The model (``transforms.core.comment_model.CommentModel``): a logistic regression over each
line's hashed head words and word pairs and five shape features (``hashed_features``,
``shape_features``, shared with inference). The cut (``thread_text_start``): the suffix of a
document's kept lines whose scores less ``bias`` sum highest, when that sum reaches
``margin``. Both are chosen here, on out-of-fold scores (3 folds by page): each document is
cleaned by the product's cleaner without the comment model, with the line model's fold model
that never saw its page (``--line-folds``, written by ``train_line_model.py --fold-models``,
whose folds this script then takes for its own), its lines scored by the fold's comment model
that never saw its page either; of the grid's points, the one that removes the most
boilerplate while losing at most ``MAX_BODY_LOST`` of the body lines of the comment-free
sources wins (precision first: a lost paragraph costs a reader more than a kept comment).
Without ``--line-folds`` the shipped line model cleans every document (it has seen them: it
keeps fewer comments than on unseen pages) and the folds are this script's own (seeded).

Run from the repository root (about 8 minutes on this machine, most of it the line model's folds;
``--domain-check`` adds a minute: the chosen point again, with the comment model's folds by domain):

    .venv/bin/python training/train_line_model.py --out /tmp/line_model.npz --fold-models /tmp/line_folds
    .venv/bin/python training/train_comment_model.py --line-folds /tmp/line_folds \
        --out schemas/models/comment_model.npz
"""

from __future__ import annotations

import argparse
import gzip
import itertools
import json
import os
import pathlib
import sys
from collections import Counter, defaultdict

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from line_model_data import group_folds  # noqa: E402
from scipy.sparse import csr_matrix, hstack  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402

from benchmarks.shared_data import SHARED_DATA  # noqa: E402
from transforms.core.clean import CleanInput, clean_many  # noqa: E402
from transforms.core.comment_model import (  # noqa: E402
    BUCKETS,
    SHAPE_FEATURES,
    hashed_features,
    shape_features,
    thread_text_start,
)
from transforms.core.line_model import LineModel  # noqa: E402
from transforms.core.lines import DocLines, tokenize  # noqa: E402

SEED = 20261204
FOLDS = 3
# Sources whose gold leaves readers' comments out: their B lines are article prose.
COMMENT_FREE = ("dragnet", "fundus", "readability", "cleanportaleval")
# Inverse regularisation strength of the logistic regression (scikit-learn's default).
C = 1.0
# The grid of the cut's bias and margin, and the share of the comment-free sources' body lines
# it may lose out of fold (both views together).
BIASES = (0.0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0)
MARGINS = (1.0, 2.0, 4.0, 8.0, 16.0)
MAX_BODY_LOST = 0.0005
VIEWS = ("trafilatura_recall", "page_text")


class Doc:
    """One document of lines_train: its lines (as the cleaner reads them) and their labels."""

    def __init__(self, row: dict, fold: int) -> None:
        self.row = row
        self.lines = DocLines.of(row["content"])
        label_of = {n: label for label, numbers in row["labels"].items() for n in numbers}
        comments = set(row.get("comment_lines") or ())
        self.labels = [label_of.get(n) for n in self.lines.line_nos]
        self.comment = np.array([n in comments for n in self.lines.line_nos], dtype=bool)
        self.fold = fold
        self.source = row["source"]
        self.view = row["view"]


def load(path: pathlib.Path, line_folds: pathlib.Path | None) -> list[Doc]:
    """lines_train's documents, each with its fold: the line model's (``line_folds``), else our own."""
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        rows = [json.loads(line) for line in handle]
    groups = [f"page:{row['page_id']}" for row in rows]
    if line_folds is not None:
        folds = json.loads((line_folds / "folds.json").read_text())
    else:
        folds = group_folds(groups, SEED, FOLDS)
    return [Doc(row, folds[group]) for row, group in zip(rows, groups, strict=True)]


def features(lines: list[str]) -> csr_matrix:
    rows, cols, values = hashed_features(tokenize(lines))
    words = csr_matrix((values, (rows, cols)), shape=(len(lines), BUCKETS))
    return hstack([words, csr_matrix(shape_features(lines))]).tocsr()


def fit(x: csr_matrix, y: np.ndarray) -> LogisticRegression:
    return LogisticRegression(C=C, max_iter=3000).fit(x, y)


def training_lines(
    docs: list[Doc], doc_folds: list[int] | None = None
) -> tuple[list[str], np.ndarray, np.ndarray]:
    """The lines the model learns from: comments (1) and comment-free sources' body lines (0),
    with the fold of each (``doc_folds``: one per document, else each document's own)."""
    lines, labels, folds = [], [], []
    for i, doc in enumerate(docs):
        for pos, line in enumerate(doc.lines.lines):
            if doc.comment[pos]:
                label = 1
            elif doc.source in COMMENT_FREE and doc.labels[pos] == "B":
                label = 0
            else:
                continue
            lines.append(line)
            labels.append(label)
            folds.append(doc.fold if doc_folds is None else doc_folds[i])
    return lines, np.array(labels), np.array(folds)


def out_of_fold_scores(docs: list[Doc], doc_folds: list[int]) -> list[np.ndarray]:
    """Every line of every document scored by the comment model fitted without its fold."""
    lines, y, line_fold = training_lines(docs, doc_folds)
    x = features(lines)
    models = [fit(x[line_fold != k], y[line_fold != k]) for k in range(FOLDS)]
    return [
        models[k].decision_function(features(doc.lines.lines)) if len(doc.lines) else np.zeros(0)
        for doc, k in zip(docs, doc_folds, strict=True)
    ]


def kept_by_cleaner(docs: list[Doc], line_folds: pathlib.Path | None) -> list[list[bool]]:
    """Each document's lines the product's cleaner keeps without the comment model (with the
    line model's fold model that never saw the page, when ``line_folds`` holds them)."""
    kept: dict[int, list[bool]] = {}
    for k in range(FOLDS):
        scorer = LineModel.load(str(line_folds / f"fold{k}.npz")) if line_folds else None
        members = [i for i, d in enumerate(docs) if d.fold == k]
        inputs = [
            CleanInput(docs[i].row["content"], docs[i].row.get("title"), extracted=docs[i].view == VIEWS[0])
            for i in members
        ]
        for i, cleaned in zip(members, clean_many(inputs, scorer, comments=False), strict=True):
            numbers = set(cleaned.kept_line_nos)
            kept[i] = [n in numbers for n in docs[i].lines.line_nos]
    return [kept[i] for i in range(len(docs))]


def tally(docs, kept, scores, bias: float, margin: float) -> dict[tuple[str, str], Counter]:
    """Per (view, source) and (view, "ALL"): B and X lines, and those kept before and after the cut."""
    out: dict[tuple[str, str], Counter] = defaultdict(Counter)
    for doc, keep, z in zip(docs, kept, scores, strict=True):
        start = thread_text_start(z, doc.lines.chars, keep, bias, margin)
        after = [keep[pos] and (start is None or pos < start) for pos in range(len(keep))]
        for pos, label in enumerate(doc.labels):
            if label not in ("B", "X"):
                continue
            for key in ((doc.view, doc.source), (doc.view, "ALL")):
                c = out[key]
                c[label] += 1
                c[label + "_before"] += keep[pos]
                c[label + "_after"] += after[pos]
        out[(doc.view, "ALL")]["cut"] += start is not None
    return out


def body_lost(counts: dict, sources=COMMENT_FREE) -> tuple[int, int]:
    lost = total = 0
    for (_, source), c in counts.items():
        if source in sources:
            lost += c["B_before"] - c["B_after"]
            total += c["B"]
    return lost, total


def removed(c: Counter, when: str) -> float:
    return 1 - c[f"X_{when}"] / max(c["X"], 1)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=str(ROOT / "schemas" / "models" / "comment_model.npz"))
    parser.add_argument(
        "--line-folds",
        default="",
        help="The line model's fold models and folds (train_line_model.py --fold-models): the "
        "cleaner of the out-of-fold choice. Without it, the shipped line model.",
    )
    parser.add_argument(
        "--domain-check",
        action="store_true",
        help="Also print the chosen point's figures with the comment model's folds by domain (no "
        "site in both a fit and its test), a check of how it carries to unseen sites.",
    )
    args = parser.parse_args(argv)
    line_folds = pathlib.Path(args.line_folds) if args.line_folds else None

    docs = load(SHARED_DATA / "boilerplate" / "lines_train.jsonl.gz", line_folds)
    lines, y, _ = training_lines(docs)
    print(f"{len(docs)} documents; training lines: {int(y.sum())} comments, {int((y == 0).sum())} body")
    final = fit(features(lines), y)

    # Out of fold: every line of every document scored by the model that never saw its page.
    scores = out_of_fold_scores(docs, [doc.fold for doc in docs])
    kept = kept_by_cleaner(docs, line_folds)

    grid = []
    for bias, margin in itertools.product(BIASES, MARGINS):
        counts = tally(docs, kept, scores, bias, margin)
        lost, total = body_lost(counts)
        gained = sum(counts[(v, "ALL")]["X_before"] - counts[(v, "ALL")]["X_after"] for v in VIEWS)
        grid.append((bias, margin, lost, total, gained, counts))
    print(
        "out of fold: bias, margin, comment-free body lines lost, boilerplate lines removed more"
        f" (limit {MAX_BODY_LOST:.2%})"
    )
    for bias, margin, lost, total, gained, _ in grid:
        print(f"  {bias:5.2f} {margin:5.1f}  {lost:5d} of {total}  {gained:6d}")
    allowed = [g for g in grid if g[2] <= MAX_BODY_LOST * g[3]]
    bias, margin, lost, total, gained, counts = max(allowed, key=lambda g: (g[4], g[0], g[1]))
    print(
        f"chosen: bias {bias}, margin {margin}: {lost} of {total} comment-free body lines lost,"
        f" {gained} boilerplate lines more removed"
    )
    print("out of fold per view and source: body kept and boilerplate removed, before -> after the cut")
    for view in VIEWS:
        for source in ("ALL", *sorted({d.source for d in docs})):
            c = counts[(view, source)]
            if not c["B"]:
                continue
            print(
                f"  {view:20s} {source:16s} body {c['B_before'] / c['B']:.4f} -> {c['B_after'] / c['B']:.4f}"
                f"  boilerplate {removed(c, 'before'):.4f} -> {removed(c, 'after'):.4f}"
            )
        print(f"  {view}: documents cut {counts[(view, 'ALL')]['cut']}")
    if args.domain_check:
        domains = [doc.row["domain"] or doc.row["page_id"] for doc in docs]
        by_domain = group_folds(domains, SEED, FOLDS)
        checked = tally(docs, kept, out_of_fold_scores(docs, [by_domain[d] for d in domains]), bias, margin)
        domain_lost, domain_total = body_lost(checked)
        print(
            f"the same point, folds by domain ({len(by_domain)} domains): {domain_lost} of {domain_total}"
            " comment-free body lines lost"
        )
        for view in VIEWS:
            c = checked[(view, "ALL")]
            print(
                f"  {view:20s} ALL  body {c['B_before'] / c['B']:.4f} -> {c['B_after'] / c['B']:.4f}"
                f"  boilerplate {removed(c, 'before'):.4f} -> {removed(c, 'after'):.4f}"
            )

    meta = {
        "intercept": float(final.intercept_[0]),
        "bias": bias,
        "margin": margin,
        "shape_features": list(SHAPE_FEATURES),
        "buckets": BUCKETS,
        "C": C,
        "seed": SEED,
        "folds": "line model's" if line_folds else "own",
        "training_lines": {"comments": int(y.sum()), "body": int((y == 0).sum())},
        "out_of_fold": {
            "comment_free_body_lost": lost,
            "comment_free_body_lines": total,
            "boilerplate_gained": gained,
        },
    }
    coef = final.coef_[0]
    np.savez_compressed(
        args.out,
        words=coef[:BUCKETS].astype(np.float32),
        shape=coef[BUCKETS:].astype(np.float32),
        meta=np.array(json.dumps(meta, sort_keys=True)),
    )
    print(f"wrote {args.out} ({pathlib.Path(args.out).stat().st_size / 1e6:.2f} MB)")


if __name__ == "__main__":
    main()
