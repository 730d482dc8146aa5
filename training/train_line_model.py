"""Train the cleaner's line model (``schemas/models/line_model.npz``) from ../shared/data.

Data: ``boilerplate/lines_train.jsonl.gz`` (both views: what trafilatura leaves in recall
mode, and a naive scraper's page text; silver line labels B body, X boilerplate, T title,
E either), plus the seeds' gold (``seeds_gold.json`` with ``seeds/``) and ``text_dev.json``
as extra documents. Validation (``lines_validation``) is never read here: the benchmark
(``benchmarks/quality_clean.py``) measures it.

The model, in three stacked steps, each trained on out-of-fold outputs of the step before
(folds by site, else by page, seeded):

1. lexical: a logistic regression over the cues of a line's head (words, word pairs, first
   and last word, the whole short line); its summed weights are one feature below;
2. first pass: gradient-boosted trees over the line's shape, position, repetition (in the
   document and across the site), rule hits and lexical score;
3. second pass: the same trees again with the first pass's scores of the neighbours
   (windows before and after, the document's, the run the line sits in).

The operating point (the probability from which a line goes) is chosen on the out-of-fold
scores of the training documents: the lowest threshold that keeps at least
``--min-body-kept`` of the body lines in each view. Which phrase rules act alone (the
``HARD_RULES`` of ``transforms/core/boilerplate.py``) is reported with ``--rule-report``
from the same out-of-fold scores.

Run from the repository root (about 3-5 minutes on 2 cores):

    .venv/bin/python training/train_line_model.py --out schemas/models/line_model.npz
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import pathlib
import sys
import time
from collections import Counter, defaultdict

# Single-threaded, deterministic fits: the machine is shared.
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from transforms.core import boilerplate  # noqa: E402
from transforms.core.clean import Evidence, SiteStats, prepare  # noqa: E402
from transforms.core.lines import (  # noqa: E402
    BASE_FEATURES,
    SECOND_FEATURES,
    DocLines,
    LexicalScorer,
    base_features,
    is_site_candidate,
    lexical_cues,
    line_key,
    second_features,
)

DATA = ROOT.parent.parent / "shared" / "data" / "boilerplate"
EVAL = ROOT.parent.parent / "shared" / "eval"
SEED = 20260311
FOLDS = 3
# Extra weight of the hand-labelled dev documents (seeds, text_dev) against silver lines.
DEV_WEIGHT = 250.0
# Lexical cues seen on fewer training lines than this are not learnt (noise, names).
MIN_CUE_LINES = 3
LEXICAL_C = 0.5
# Operating points: the share of body lines that must survive on held-out training documents,
# per kind of input (extracted: the trafilatura_recall view; scraped: the page_text view). A
# little above the targets (0.97, 0.95): validation pages are other pages.
MIN_BODY_KEPT = {"extracted": 0.975, "scraped": 0.955}
# Share of the page_text view's lines the trees train on.
PAGE_TEXT_SAMPLE = 0.5
# A phrase rule removes lines alone when this share of its labelled lines (B or X) is X.
HARD_RULE_MIN_SHARE = 0.97
HARD_RULE_MIN_LINES = 20
# Small trees: inference evaluates every tree for every line of a document, and both passes
# together must stay well under a millisecond a document.
GBDT = {
    "first": dict(max_iter=80, learning_rate=0.15, max_leaf_nodes=16, max_depth=5, min_samples_leaf=40),
    "second": dict(max_iter=100, learning_rate=0.15, max_leaf_nodes=16, max_depth=5, min_samples_leaf=40),
}


# --- Documents -------------------------------------------------------------------------------


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


def load_lines(path: pathlib.Path) -> list[Doc]:
    docs = []
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        for raw in handle:
            row = json.loads(raw)
            group = f"page:{row['page_id']}"
            docs.append(
                Doc(
                    row["id"],
                    row["content"],
                    row["title"],
                    row["labels"],
                    group,
                    row["view"],
                    row["source"],
                    row["domain"],
                )
            )
    return docs


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


# --- Evidence and features -------------------------------------------------------------------


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


class Prepared:
    """Everything per line that does not depend on a fitted model."""

    def __init__(self, docs: list[Doc]) -> None:
        self.docs = docs
        stats = site_stats(docs)
        self.evidence: list[Evidence] = []
        self.hard: list[np.ndarray] = []  # lines removed without the model (title, byline, hard rules)
        self.rule_ids: list[list[str | None]] = []
        for doc in docs:
            # The same step as inference: title, byline, author box, hard rules, site counts.
            pre = prepare(
                doc.text,
                title=doc.title,
                site=stats.get(doc.id, SiteStats()),
                extracted=doc.view == "trafilatura_recall",
            )
            assert pre.doc.lines == doc.lines.lines
            self.evidence.append(pre.evidence)
            self.hard.append(np.array([r is not None for r in pre.decisions.reasons], dtype=bool))
            self.rule_ids.append([r.id if r else None for r in pre.evidence.rules])
        self.cues = [[lexical_cues(line) for line in doc.lines.lines] for doc in docs]
        labels = [label for doc in docs for label in doc.labels]
        self.label = np.array([{"B": 0, "X": 1, "T": 1}.get(lab, -1) for lab in labels], dtype=np.int8)
        self.raw_label = np.array([lab or "-" for lab in labels])
        self.doc_of_line = np.repeat(np.arange(len(docs)), [len(d.lines) for d in docs])
        self.weight = np.repeat([d.weight for d in docs], [len(d.lines) for d in docs]).astype(np.float64)
        # The page_text view has five times the lines of the other, most of them plain navigation:
        # the trees learn from a seeded sample of them (weighted up), which halves training time.
        rng = np.random.default_rng(SEED)
        page = np.repeat([d.view == "page_text" for d in docs], [len(d.lines) for d in docs])
        self.sampled = ~page | (rng.random(page.size) < PAGE_TEXT_SAMPLE)
        sizes = np.array([len(d.lines) for d in docs])
        self.first_line = np.zeros(self.label.size, dtype=bool)
        self.first_line[np.concatenate(([0], np.cumsum(sizes)[:-1]))[sizes > 0]] = True
        self.weight[page] /= PAGE_TEXT_SAMPLE

    def base(self, scorers: list[LexicalScorer]) -> np.ndarray:
        """First-pass features; ``scorers[i]`` is the lexical scorer for document i (out of fold)."""
        return np.vstack(
            [
                base_features(
                    doc.lines,
                    rules=ev.rules,
                    lexical=scorer,
                    title_lines=ev.title_lines,
                    site_counts=ev.site_counts,
                    site_docs=ev.site_docs,
                    extracted=ev.extracted,
                )
                for doc, ev, scorer in zip(self.docs, self.evidence, scorers, strict=True)
            ]
        )

    def second(self, x1: np.ndarray, p1: np.ndarray) -> np.ndarray:
        """Second-pass features, document by document (as inference builds them)."""
        parts, start = [], 0
        for doc in self.docs:
            n = len(doc.lines)
            chars = np.fromiter(map(len, doc.lines.lines), dtype=np.float32, count=n)
            parts.append(
                second_features(x1[start : start + n], p1[start : start + n].astype(np.float32), chars)
            )
            start += n
        return np.vstack(parts)


# --- Models ----------------------------------------------------------------------------------


def fit_lexical(prep: Prepared, doc_ids: np.ndarray) -> dict[str, float]:
    """A logistic regression over lexical cues, on the labelled lines of the given documents."""
    from scipy.sparse import csr_matrix
    from sklearn.linear_model import LogisticRegression

    chosen = set(doc_ids.tolist())
    line_counts: Counter[str] = Counter()
    for i in chosen:
        for cues in prep.cues[i]:
            line_counts.update(set(cues))
    vocab = {cue: j for j, cue in enumerate(sorted(c for c, k in line_counts.items() if k >= MIN_CUE_LINES))}
    rows, cols, ys, ws = [], [], [], []
    offset = np.concatenate(([0], np.cumsum([len(d.lines) for d in prep.docs])))
    r = 0
    for i in sorted(chosen):
        for k, cues in enumerate(prep.cues[i]):
            y = prep.label[offset[i] + k]
            if y < 0:
                continue
            idx = sorted({vocab[c] for c in cues if c in vocab})
            rows.extend([r] * len(idx))
            cols.extend(idx)
            ys.append(y)
            ws.append(prep.weight[offset[i] + k])
            r += 1
    matrix = csr_matrix((np.ones(len(rows), dtype=np.float32), (rows, cols)), shape=(r, len(vocab)))
    model = LogisticRegression(C=LEXICAL_C, solver="liblinear", max_iter=200)
    model.fit(matrix, np.array(ys), sample_weight=np.array(ws))
    coef = model.coef_[0]
    inverse = {j: c for c, j in vocab.items()}
    return {inverse[j]: float(w) for j, w in enumerate(coef) if abs(w) >= 0.02}


def fit_gbdt(x: np.ndarray, y: np.ndarray, w: np.ndarray, stage: str):
    from sklearn.ensemble import HistGradientBoostingClassifier

    model = HistGradientBoostingClassifier(
        random_state=SEED, early_stopping=False, l2_regularization=1.0, **GBDT[stage]
    )
    model.fit(x, y, sample_weight=w)
    return model


def folds_of(prep: Prepared) -> np.ndarray:
    """A fold per document, by page (both views of a page together, as the validation split
    keeps them), seeded. The dev documents are in folds too: their out-of-fold scores train
    the second pass like every other document's."""
    groups = sorted({d.group for d in prep.docs})
    rng = np.random.default_rng(SEED)
    order = rng.permutation(len(groups))
    fold_of_group = {groups[j]: k % FOLDS for k, j in enumerate(order)}
    return np.array([fold_of_group[d.group] for d in prep.docs])


def _float32_floor(value: float) -> np.float32:
    """The largest float32 not above ``value``: for float32 features, x <= it exactly when x <= value."""
    low = np.float32(value)
    return np.nextafter(low, np.float32(-np.inf)) if low > value else low


def export_trees(model, prefix: str) -> dict[str, np.ndarray]:
    """The fitted trees as flat arrays for ``transforms.core.clean.TreeEnsemble``: nodes laid out
    so that an internal node's right child follows its left one (the next node is ``left +
    (x > split)``), a leaf pointing to itself with an infinite split."""
    features, splits, lefts, values, roots = [], [], [], [], []
    depth = 0
    for (predictor,) in model._predictors:
        nodes = predictor.nodes
        base = len(features)
        order, position = [0], {0: 0}
        for old in order:  # breadth first; children appended in pairs
            if not nodes[old]["is_leaf"]:
                for child in (int(nodes[old]["left"]), int(nodes[old]["right"])):
                    position[child] = len(order)
                    order.append(child)
        roots.append(base)
        for old in order:
            node = nodes[old]
            if node["is_leaf"]:
                features.append(0)
                splits.append(np.inf)
                lefts.append(base + position[old])
                values.append(node["value"])
            else:
                features.append(int(node["feature_idx"]))
                splits.append(_float32_floor(float(node["num_threshold"])))
                lefts.append(base + position[int(node["left"])])
                values.append(0.0)
            depth = max(depth, int(node["depth"]))
    return {
        f"{prefix}_feature": np.array(features, dtype=np.int16),
        f"{prefix}_split": np.array(splits, dtype=np.float32),
        f"{prefix}_left": np.array(lefts, dtype=np.int32),
        f"{prefix}_value": np.array(values, dtype=np.float32),
        f"{prefix}_roots": np.array(roots, dtype=np.int32),
        f"{prefix}_depth": np.array(depth, dtype=np.int32),
        f"{prefix}_baseline": np.array(float(model._baseline_prediction.ravel()[0]), dtype=np.float64),
    }


# --- Scoring ---------------------------------------------------------------------------------


def figures(prep: Prepared, removed: np.ndarray, mask: np.ndarray) -> dict:
    """Body kept (share of B lines kept), boilerplate removed (share of X lines gone), titles removed."""
    lab = prep.raw_label
    out = {}
    for name, label in (("body_kept", "B"), ("boilerplate_removed", "X"), ("titles_removed", "T")):
        sel = mask & (lab == label)
        share = removed[sel].mean() if sel.any() else float("nan")
        out[name] = 1 - share if label == "B" else share
        out[f"n_{label}"] = int(sel.sum())
    return out


def decide_all(p, hard, ruled, first, t: float, low: float, rule_t: float) -> np.ndarray:
    """``transforms.core.clean.decide`` over many documents at once (``first`` marks each
    document's first line)."""
    gone = hard | (p >= t) | (ruled & (p >= rule_t))
    keep = ~gone
    doc = np.cumsum(first) - 1
    # Documents where every line stays, or every line goes, are left as they are.
    kept_lines = np.bincount(doc, weights=keep, minlength=doc[-1] + 1)
    sizes = np.bincount(doc, minlength=doc[-1] + 1)
    mixed = ((kept_lines > 0) & (kept_lines < sizes))[doc]
    starts = keep & (first | ~np.concatenate(([False], keep[:-1])))
    run = np.cumsum(starts) * keep
    weak = np.bincount(run[keep & (p < low)], minlength=int(run.max()) + 1)
    return gone | (keep & mixed & (weak[run] == 0))


def choose_operating_point(
    prep: Prepared, hard: np.ndarray, ruled: np.ndarray, p: np.ndarray, mask: np.ndarray, target: float
) -> tuple[float, float, float]:
    """The threshold, the run threshold and the rule threshold (see ``decide``) that remove the
    most boilerplate among the lines in ``mask`` while keeping ``target`` of their body lines:
    the threshold first, then the rule threshold below it, then the run threshold below that."""
    idx = np.flatnonzero(mask)
    lab = prep.raw_label[idx]
    body, boiler = lab == "B", lab == "X"
    pm, hm, rm, fm = p[idx], hard[idx], ruled[idx], prep.first_line[idx]

    def best(candidates):
        top = None
        for point in candidates:
            gone = decide_all(pm, hm, rm, fm, *point)
            if 1 - gone[body].mean() >= target and (top is None or gone[boiler].mean() > top[0]):
                top = (gone[boiler].mean(), point)
        return top[1] if top else (0.995, 0.995, 0.995)

    grid = np.round(np.arange(0.3, 0.996, 0.005), 3)
    t = best((float(v), 1.0, 1.0) for v in grid if v >= 0.5)[0]
    rule_t = best((t, 1.0, float(v)) for v in grid if v <= t)[2]
    low = best((t, float(v), rule_t) for v in grid if v <= t)[1]
    return t, low, rule_t


def train_stages(prep: Prepared, fold: np.ndarray, x1: np.ndarray, fit, log) -> dict:
    """Out-of-fold first and second passes, and the final models."""
    line_fold = fold[prep.doc_of_line]
    y, w = prep.label, prep.weight
    train_rows = (y >= 0) & prep.sampled
    p1 = np.zeros(y.size)
    for k in range(FOLDS):
        rows = train_rows & (line_fold != k)
        model = fit(x1[rows], y[rows], w[rows], "first")
        held = line_fold == k
        p1[held] = model.predict_proba(x1[held])[:, 1]
        log(f"first pass fold {k}")
    first = fit(x1[train_rows], y[train_rows], w[train_rows], "first")
    x2 = prep.second(x1, p1)
    p2 = np.zeros(y.size)
    for k in range(FOLDS):
        rows = train_rows & (line_fold != k)
        model = fit(x2[rows], y[rows], w[rows], "second")
        held = line_fold == k
        p2[held] = model.predict_proba(x2[held])[:, 1]
        log(f"second pass fold {k}")
    second = fit(x2[train_rows], y[train_rows], w[train_rows], "second")
    return {"p1": p1, "p2": p2, "first": first, "second": second, "x2": x2}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=str(ROOT / "schemas" / "models" / "line_model.npz"))
    parser.add_argument("--rule-report", action="store_true")
    parser.add_argument("--dump", default="", help="Pickle the out-of-fold scores here (for error analysis).")
    parser.add_argument(
        "--cache", default="", help="Keep the prepared features here between runs (experiments)."
    )
    parser.add_argument(
        "--limit", type=int, default=0, help="Use only this many training documents (a quick try)."
    )
    args = parser.parse_args(argv)
    started = time.perf_counter()

    def log(message: str) -> None:
        print(f"[{time.perf_counter() - started:6.1f}s] {message}", flush=True)

    cache = pathlib.Path(args.cache) if args.cache else None
    if cache is not None and cache.exists():
        import pickle

        with cache.open("rb") as handle:
            prep, fold, x1, lexical_all = pickle.load(handle)
        log(f"loaded {cache}")
    else:
        docs = load_lines(DATA / "lines_train.jsonl.gz")
        if args.limit:
            rng = np.random.default_rng(SEED)
            docs = [docs[i] for i in sorted(rng.choice(len(docs), args.limit, replace=False))]
        docs += load_dev()
        prep = Prepared(docs)
        log(f"{len(docs)} documents, {prep.label.size} lines ({(prep.label >= 0).sum()} labelled B/X/T)")
        fold = folds_of(prep)
        # 1. lexical, out of fold
        lexical_oof: list[LexicalScorer] = [None] * len(docs)  # type: ignore[list-item]
        for k in range(FOLDS):
            scorer = LexicalScorer(fit_lexical(prep, np.flatnonzero(fold != k)))
            for i in np.flatnonzero(fold == k):
                lexical_oof[i] = scorer
            log(f"lexical fold {k}")
        lexical_all = fit_lexical(prep, np.arange(len(docs)))
        log(f"lexical: {len(lexical_all)} cues")
        x1 = prep.base(lexical_oof)
        log(f"base features {x1.shape}")
        if cache is not None:
            import pickle

            with cache.open("wb") as handle:
                pickle.dump((prep, fold, x1, lexical_all), handle)
    docs = prep.docs
    stages = train_stages(prep, fold, x1, fit_gbdt, log)
    p1, p2 = stages["p1"], stages["p2"]
    line_fold = fold[prep.doc_of_line]
    if args.dump:
        import pickle

        with open(args.dump, "wb") as handle:
            pickle.dump(
                {
                    "docs": [(d.id, d.view, d.source, d.lines.lines, d.labels) for d in docs],
                    "p1": p1,
                    "p2": p2,
                    "fold": line_fold,
                },
                handle,
            )

    hard = np.concatenate(prep.hard)
    views = np.repeat([d.view for d in docs], [len(d.lines) for d in docs])
    # Operating points, per kind of input, on the out-of-fold scores of the training documents.
    ruled = np.array([rid is not None for ids in prep.rule_ids for rid in ids], dtype=bool)
    points = {
        "extracted": choose_operating_point(
            prep, hard, ruled, p2, views == "trafilatura_recall", MIN_BODY_KEPT["extracted"]
        ),
        "scraped": choose_operating_point(
            prep, hard, ruled, p2, views == "page_text", MIN_BODY_KEPT["scraped"]
        ),
    }
    thresholds = {kind: point[0] for kind, point in points.items()}
    run_thresholds = {kind: point[1] for kind, point in points.items()}
    rule_thresholds = {kind: point[2] for kind, point in points.items()}
    log(f"operating points {points}")
    report_operating_points(prep, docs, hard, ruled, p1, p2, points, views)
    if args.rule_report:
        rule_report(prep, p2, thresholds, views)

    arrays = {
        "lex_cues": np.array(sorted(lexical_all)),
        "lex_weights": np.array([lexical_all[c] for c in sorted(lexical_all)], dtype=np.float32),
        **export_trees(stages["first"], "p1"),
        **export_trees(stages["second"], "p2"),
    }
    meta = {
        "name": "line_model",
        "thresholds": thresholds,
        "run_thresholds": run_thresholds,
        "rule_thresholds": rule_thresholds,
        "base_features": list(BASE_FEATURES),
        "second_features": list(SECOND_FEATURES),
        "trained_on": "boilerplate/lines_train (both views), seeds gold, text_dev",
        "seed": SEED,
        "gbdt": GBDT,
    }
    arrays["meta"] = np.array(json.dumps(meta))
    out = pathlib.Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out, **arrays)
    log(f"wrote {out} ({out.stat().st_size / 1e6:.2f} MB)")


def report_operating_points(prep, docs, hard, ruled, p1, p2, points, views) -> None:
    first = prep.first_line
    print("out-of-fold figures on the training documents (body kept / boilerplate removed / titles removed):")
    for view, kind in (("trafilatura_recall", "extracted"), ("page_text", "scraped"), ("dev", "scraped")):
        t, low, rule_t = points[kind]
        mask = views == view
        for name, p, point in (
            ("first pass", p1, (t, 1.0, 1.0)),
            ("second pass", p2, (t, 1.0, 1.0)),
            ("+ rules", p2, (t, 1.0, rule_t)),
            ("+ runs", p2, (t, low, rule_t)),
        ):
            f = figures(prep, decide_all(p, hard, ruled, first, *point), mask)
            print(
                f"  {view:<18} t={t:.3f} rules {rule_t:.3f} runs {low:.3f} {name:<12}"
                f" {f['body_kept']:.3f} {f['boilerplate_removed']:.3f} {f['titles_removed']:.3f}"
            )
    source_of_line = np.repeat([d.source for d in docs], [len(d.lines) for d in docs])
    for view, kind in (("trafilatura_recall", "extracted"), ("page_text", "scraped")):
        gone = decide_all(p2, hard, ruled, first, *points[kind])
        print(f"  per source, {view} at {points[kind]}:")
        for source in sorted({d.source for d in docs if d.view == view}):
            f = figures(prep, gone, (views == view) & (source_of_line == source))
            print(
                f"    {source:<18} {f['body_kept']:.3f} {f['boilerplate_removed']:.3f}"
                f"  (B {f['n_B']}, X {f['n_X']})"
            )


def rule_report(prep: Prepared, p2: np.ndarray, thresholds: dict, views: np.ndarray) -> None:
    """Per phrase rule: its labelled lines, and whether acting alone would add to the model."""
    kinds = np.where(views == "trafilatura_recall", thresholds["extracted"], thresholds["scraped"])
    removed_model = p2 >= kinds
    print("rule report (out-of-fold training lines): id, lines B/X/E/T, X share of B+X, X the model misses")
    per_rule: dict[str, Counter] = defaultdict(Counter)
    ids = [rid for doc_ids in prep.rule_ids for rid in doc_ids]
    for j, rid in enumerate(ids):
        if rid is None:
            continue
        per_rule[rid][prep.raw_label[j]] += 1
        if prep.raw_label[j] == "X" and not removed_model[j]:
            per_rule[rid]["miss"] += 1
        if prep.raw_label[j] == "B" and removed_model[j]:
            per_rule[rid]["model_cuts_B"] += 1
    recommended = []
    for rid in boilerplate.RULE_IDS:
        c = per_rule.get(rid, Counter())
        bx = c["B"] + c["X"]
        share = c["X"] / bx if bx else float("nan")
        # A rule acts alone when it is right on nearly every line it fires on and removes
        # more boilerplate the model misses than body the model would have kept.
        precise = bx >= HARD_RULE_MIN_LINES and share >= HARD_RULE_MIN_SHARE
        hard = precise and c["miss"] > c["B"] - c["model_cuts_B"]
        if hard:
            recommended.append(rid)
        print(
            f"  {rid:<28} B {c['B']:>5} X {c['X']:>6} E {c['E']:>5} T {c['T']:>3}  X share {share:.3f}"
            f"  model misses {c['miss']:>5}  model cuts B {c['model_cuts_B']:>4}  {'HARD' if hard else ''}"
        )
    print(f"recommended HARD_RULES ({len(recommended)}): {sorted(recommended)}")
    print(f"current HARD_RULES: {sorted(boilerplate.HARD_RULES)}")


if __name__ == "__main__":
    main()
