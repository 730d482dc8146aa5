"""Train the cleaner's line model (``schemas/models/line_model.npz``) from ../shared/data.

Data: ``boilerplate/lines_train.jsonl.gz`` (both views: what trafilatura leaves in recall
mode, and a naive scraper's page text; silver line labels B body, X boilerplate, T title,
E either), plus the seeds' gold (``seeds_gold.json`` with ``seeds/``) and ``text_dev.json``
as extra documents. Validation (``lines_validation``) is never read here: the benchmark
(``benchmarks/quality_clean.py``) measures it.

The model (``transforms.core.clean.LineModel``), two logistic regressions stacked, the
second trained on out-of-fold outputs of the first (3 folds by page, seeded):

1. first pass: each line's lexical cues (the head's words, word pairs, first and last word,
   the whole short line; ``transforms.core.lines.lexical_cues``) and its dense features
   (shape, position, repetition in the document and across the site, rule hits), binned at
   quantile edges learnt here;
2. second pass: the first pass's log-odds around the line (neighbours, windows, the body
   span; ``context_features``), binned, three of them crossed with the line's own, plus the
   line's own binned features.

Labels: T counts as boilerplate (the title is removed); E is left out. Reader-comment threads
are boilerplate by the product's definition, so a B line after a comment form (the lines the
structural rule ``comment.after_form`` removes) is relabelled X, on training documents only
(the count is printed).

The operating point (the probability from which a line goes, per kind of input) is chosen on
the out-of-fold scores of the training documents: the threshold that removes the most
boilerplate while keeping ``MIN_BODY_KEPT`` of the body lines. ``--rule-report`` prints, from
the same scores, which phrase rules may act alone (``HARD_RULES``).

Run from the repository root (about 3 minutes on this machine, one core):

    .venv/bin/python training/train_line_model.py --out schemas/models/line_model.npz --rule-report
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
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from transforms.core import boilerplate  # noqa: E402
from transforms.core.clean import SiteStats, batch_features, prepare  # noqa: E402
from transforms.core.lines import (  # noqa: E402
    BASE_FEATURES,
    BINARY_FEATURES,
    CONTEXT_FEATURES,
    HEAD_TOKENS,
    NUMERIC_FEATURES,
    SECOND_FEATURES,
    DocLines,
    Layout,
    Vocabulary,
    context_features,
    is_site_candidate,
    line_key,
    pad_edges,
    quantile_edges,
    rows_of,
    tokenize,
)

DATA = ROOT.parent.parent / "shared" / "data" / "boilerplate"
EVAL = ROOT.parent.parent / "shared" / "eval"
SEED = 20260311
FOLDS = 3
# Extra weight of the hand-labelled dev documents (seeds, text_dev) against silver lines
# (round 1's value: they are the documents the cleaner must keep fitting).
DEV_WEIGHT = 250.0
# Tokens seen on fewer training lines than this are not in the vocabulary (noise, names).
MIN_TOKEN_LINES = 3
# Inverse L2 strength of the two regressions (sklearn's C).
C1 = 0.5
C2 = 0.5
MAX_ITER = 150
SOLVER = os.environ.get("LM_SOLVER", "liblinear")
# At most this many quantile edges per dense feature (16 bins).
MAX_EDGES = 15
# Operating points: the share of body lines that must survive on held-out training documents,
# per kind of input (extracted: the trafilatura_recall view; scraped: the page_text view). A
# little above the targets (0.97, 0.95): validation pages are other pages.
MIN_BODY_KEPT = {"extracted": 0.975, "scraped": 0.955}
# Share of the page_text view's lines the regressions train on (weighted up to match): it has
# five times the other view's lines, most of them plain navigation.
PAGE_TEXT_SAMPLE = 0.4
# A phrase rule removes lines alone when this share of its labelled lines (B or X) is X.
HARD_RULE_MIN_SHARE = 0.97
HARD_RULE_MIN_LINES = 20
# Documents per feature batch (as the clean stage batches them).
BATCH_DOCS = 64


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


# --- Features --------------------------------------------------------------------------------


class Prepared:
    """Everything per line that does not depend on a fitted model."""

    def __init__(self, docs: list[Doc], log) -> None:
        self.docs = docs
        stats = site_stats(docs)
        self.evidence = []
        self.hard: list[np.ndarray] = []  # lines removed without the model (title, byline, hard rules)
        self.after_form: list[np.ndarray] = []
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
            self.after_form.append(
                np.array([r == "comment.after_form" for r in pre.decisions.rules], dtype=bool)
            )
            self.rule_ids.append([r.id if r else None for r in pre.evidence.rules])
        log("rules and structure")
        self.sizes = np.array([len(d.lines) for d in docs])
        self.offsets = np.concatenate(([0], np.cumsum(self.sizes)))
        labels = [label for doc in docs for label in doc.labels]
        self.raw_label = np.array([lab or "-" for lab in labels])
        label = np.array([{"B": 0, "X": 1, "T": 1}.get(lab, -1) for lab in labels], dtype=np.int8)
        # Reader-comment threads are boilerplate: B lines after a comment form become X.
        after = np.concatenate(self.after_form)
        self.relabelled = int(((label == 0) & after).sum())
        label[(label == 0) & after] = 1
        self.label = label
        self.doc_of_line = np.repeat(np.arange(len(docs)), self.sizes)
        self.weight = np.repeat([d.weight for d in docs], self.sizes).astype(np.float64)
        rng = np.random.default_rng(SEED)
        page = np.repeat([d.view == "page_text" for d in docs], self.sizes)
        self.sampled = ~page | (rng.random(page.size) < PAGE_TEXT_SAMPLE)
        self.weight[page] /= PAGE_TEXT_SAMPLE
        self.first_line = np.zeros(self.label.size, dtype=bool)
        self.first_line[self.offsets[:-1][self.sizes > 0]] = True
        self.extracted = np.array([d.view == "trafilatura_recall" for d in docs])

        self.vocabulary = build_vocabulary(docs)
        log(f"vocabulary: {len(self.vocabulary)} tokens")
        # Features in batches of documents, as inference computes them.
        self.batches, cue_rows, cue_cols, xs, extracted = [], [], [], [], []
        for at in range(0, len(docs), BATCH_DOCS):
            chunk = range(at, min(at + BATCH_DOCS, len(docs)))
            batch, cues, x, ev = batch_features(
                [docs[i].lines for i in chunk], [self.evidence[i] for i in chunk], self.vocabulary
            )
            self.batches.append((self.offsets[chunk.start], batch))
            cue_rows.append(cues.row + self.offsets[chunk.start])
            cue_cols.append(cues.col)
            xs.append(x)
            extracted.append(ev["extracted"])
        self.cue_rows, self.cue_cols = np.concatenate(cue_rows), np.concatenate(cue_cols)
        self.x = np.vstack(xs)
        self.line_extracted = np.concatenate(extracted)
        log(f"base features {self.x.shape}")
        sample = rng.choice(self.x.shape[0], min(300_000, self.x.shape[0]), replace=False)
        edges = [quantile_edges(self.x[sample, j], MAX_EDGES) for j in range(len(NUMERIC_FEATURES))]
        edges += [quantile_edges(None, 0, binary=True) for _ in BINARY_FEATURES]
        self.edges1 = pad_edges(edges)

    def layout(self, edges2: np.ndarray | None = None) -> Layout:
        return Layout(self.vocabulary, self.edges1, edges2 if edges2 is not None else np.full((1, 1), np.inf))

    def dense_columns(self, layout: Layout) -> np.ndarray:
        out = np.empty((self.x.shape[0], len(BASE_FEATURES)), dtype=np.int64)
        for start in range(0, self.x.shape[0], 50_000):
            out[start : start + 50_000] = layout.binned1.columns(self.x[start : start + 50_000])
        return out

    def pass1_matrix(self, layout: Layout, dense: np.ndarray):
        from scipy.sparse import csr_matrix

        rows, cols = rows_of(layout.pass1_dense_columns(dense, self.line_extracted))
        rows, cols = np.concatenate((self.cue_rows, rows)), np.concatenate((self.cue_cols, cols))
        shape = (self.label.size, layout.pass1_size)
        return csr_matrix((np.ones(rows.size, dtype=np.float64), (rows, cols)), shape=shape)

    def context(self, z1: np.ndarray, z_lex: np.ndarray) -> np.ndarray:
        parts = []
        for start, batch in self.batches:
            end = start + len(batch)
            parts.append(context_features(z1[start:end], z_lex[start:end], batch))
        return np.vstack(parts)

    def pass2_matrix(self, layout: Layout, context: np.ndarray, dense: np.ndarray):
        from scipy.sparse import csr_matrix

        rows, cols = rows_of(layout.pass2_columns(context, dense, self.line_extracted))
        shape = (self.label.size, layout.pass2_size)
        return csr_matrix((np.ones(rows.size, dtype=np.float64), (rows, cols)), shape=shape)


# --- Models ----------------------------------------------------------------------------------


def fit_lr(matrix, y, w, c: float):
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=c, solver=SOLVER, max_iter=MAX_ITER, tol=1e-4, random_state=SEED)
    model.fit(matrix, y, sample_weight=w)
    return model


def folds_of(prep: Prepared) -> np.ndarray:
    """A fold per document, by page (both views of a page together, as the validation split
    keeps them), seeded. The dev documents are in folds too."""
    groups = sorted({d.group for d in prep.docs})
    rng = np.random.default_rng(SEED)
    order = rng.permutation(len(groups))
    fold_of_group = {groups[j]: k % FOLDS for k, j in enumerate(order)}
    return np.array([fold_of_group[d.group] for d in prep.docs])


def out_of_fold(prep: Prepared, matrix, line_fold: np.ndarray, c: float, log, name: str, lexical: int = 0):
    """Out-of-fold log-odds (and, with ``lexical`` > 0, their part from the first ``lexical``
    columns), and the model fitted on every training line."""
    y, w = prep.label, prep.weight
    rows = (y >= 0) & prep.sampled
    z = np.zeros(y.size)
    z_lex = np.zeros(y.size)
    for k in range(FOLDS):
        train = np.flatnonzero(rows & (line_fold != k))
        model = fit_lr(matrix[train], y[train], w[train], c)
        held = np.flatnonzero(line_fold == k)
        z[held] = matrix[held] @ model.coef_[0] + model.intercept_[0]
        if lexical:
            z_lex[held] = matrix[held][:, :lexical] @ model.coef_[0][:lexical]
        log(f"{name} fold {k} ({model.n_iter_[0]} iterations)")
    train = np.flatnonzero(rows)
    final = fit_lr(matrix[train], y[train], w[train], c)
    log(f"{name} final ({final.n_iter_[0]} iterations)")
    return z, z_lex, final


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
    """The threshold, the rule threshold and the run threshold (see ``decide``) that remove the
    most boilerplate among the lines in ``mask`` while keeping ``target`` of their body lines
    (the relabelled training labels): the threshold first, then the rule threshold below it,
    then the run threshold below that."""
    idx = np.flatnonzero(mask)
    lab = prep.label[idx]
    body, boiler = lab == 0, lab == 1
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


def report(prep: Prepared, hard, ruled, p1, p2, points, views) -> None:
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
    source_of_line = np.repeat([d.source for d in prep.docs], prep.sizes)
    for view, kind in (("trafilatura_recall", "extracted"), ("page_text", "scraped")):
        gone = decide_all(p2, hard, ruled, first, *points[kind])
        print(f"  per source, {view} at {points[kind]} (silver labels as given):")
        for source in sorted({d.source for d in prep.docs if d.view == view}):
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


# --- Main ------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=str(ROOT / "schemas" / "models" / "line_model.npz"))
    parser.add_argument("--rule-report", action="store_true")
    parser.add_argument("--dump", default="", help="Pickle the out-of-fold scores here (for error analysis).")
    parser.add_argument(
        "--limit", type=int, default=0, help="Use only this many training documents (a quick try)."
    )
    args = parser.parse_args(argv)
    started = time.perf_counter()
    cpu = time.process_time()

    def log(message: str) -> None:
        print(f"[{time.perf_counter() - started:6.1f}s] {message}", flush=True)

    docs = load_lines(DATA / "lines_train.jsonl.gz")
    if args.limit:
        rng = np.random.default_rng(SEED)
        docs = [docs[i] for i in sorted(rng.choice(len(docs), args.limit, replace=False))]
    docs += load_dev()
    prep = Prepared(docs, log)
    log(
        f"{len(docs)} documents, {prep.label.size} lines ({(prep.label >= 0).sum()} labelled B/X/T); "
        f"{prep.relabelled} B lines after a comment form relabelled X"
    )
    fold = folds_of(prep)
    line_fold = fold[prep.doc_of_line]
    layout = prep.layout()
    dense = prep.dense_columns(layout)
    m1 = prep.pass1_matrix(layout, dense)
    log(f"pass 1 matrix {m1.shape}, {m1.nnz} entries")
    z1, z_lex, first = out_of_fold(prep, m1, line_fold, C1, log, "pass 1", lexical=layout.lexical_size)
    del m1
    context = prep.context(z1, z_lex)
    rng = np.random.default_rng(SEED + 1)
    sample = rng.choice(context.shape[0], min(300_000, context.shape[0]), replace=False)
    edges2 = pad_edges([quantile_edges(context[sample, j], MAX_EDGES) for j in range(len(CONTEXT_FEATURES))])
    layout = prep.layout(edges2)
    m2 = prep.pass2_matrix(layout, context, dense)
    log(f"pass 2 matrix {m2.shape}, {m2.nnz} entries")
    z2, _, second = out_of_fold(prep, m2, line_fold, C2, log, "pass 2")
    p1, p2 = 1 / (1 + np.exp(-z1)), 1 / (1 + np.exp(-z2))

    hard = np.concatenate(prep.hard)
    views = np.repeat([d.view for d in docs], prep.sizes)
    ruled = np.array([rid is not None for ids in prep.rule_ids for rid in ids], dtype=bool)
    points = {
        "extracted": choose_operating_point(
            prep, hard, ruled, p2, views == "trafilatura_recall", MIN_BODY_KEPT["extracted"]
        ),
        "scraped": choose_operating_point(
            prep, hard, ruled, p2, views == "page_text", MIN_BODY_KEPT["scraped"]
        ),
    }
    log(f"operating points {points}")
    report(prep, hard, ruled, p1, p2, points, views)
    thresholds = {kind: point[0] for kind, point in points.items()}
    if args.rule_report:
        rule_report(prep, p2, thresholds, views)
    if args.dump:
        import pickle

        with open(args.dump, "wb") as handle:
            pickle.dump(
                {
                    "docs": [(d.id, d.view, d.source, d.lines.lines, d.labels) for d in docs],
                    "p1": p1,
                    "p2": p2,
                    "fold": line_fold,
                    "label": prep.label,
                    "hard": hard,
                },
                handle,
            )

    meta = {
        "name": "line_model",
        "thresholds": thresholds,
        "run_thresholds": {kind: point[1] for kind, point in points.items()},
        "rule_thresholds": {kind: point[2] for kind, point in points.items()},
        "bias1": float(first.intercept_[0]),
        "bias2": float(second.intercept_[0]),
        "base_features": list(BASE_FEATURES),
        "second_features": list(SECOND_FEATURES),
        "trained_on": "boilerplate/lines_train (both views), seeds gold, text_dev",
        "seed": SEED,
        "c": [C1, C2],
    }
    arrays = {
        "vocabulary": prep.vocabulary.hashes,
        "edges1": prep.edges1,
        "edges2": edges2,
        "w1": first.coef_[0].astype(np.float32),
        "w2": second.coef_[0].astype(np.float32),
        "meta": np.array(json.dumps(meta)),
    }
    out = pathlib.Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out, **arrays)
    log(f"wrote {out} ({out.stat().st_size / 1e6:.2f} MB); CPU {time.process_time() - cpu:.0f} s")


if __name__ == "__main__":
    main()
