"""Train the topic classifier shipped as ``schemas/models/topics.npz`` (or one for your taxonomy).

    .venv/bin/pip install -e '.[train]'
    .venv/bin/python training/train_topics.py                      # the packaged model
    .venv/bin/python training/train_topics.py --data mine.jsonl --taxonomy mine.json \\
        --out mine_model.npz                                       # your own

Input: JSON lines (gzipped or not), one labelled item a line: ``title``, ``text`` (may be empty),
``slug`` (a slug of the taxonomy), or ``slug: null`` with ``accept`` (a list of slugs any of
which is right: such items form one "any of these" class, named by ``--any-class``). Optional:
``source`` (each source weighs alike when the combination is fitted, and halfway to alike when
the models are; figures are printed per source), ``label_quality`` (figures per quality; the
values of ``--skip-quality`` are left out), and ``in_newsflow_topic_dev`` (dropped: those items
are newsflow's topic_dev set).

Steps, all seeded and single-process:
1. vocabulary: words and word pairs in at least ``--min-df`` items, plus the taxonomy's terms;
2. features (``transforms/core/topic_features.py``, the code inference runs);
3. ``--folds``-fold cross-validation of a logistic regression (one class against the rest, fitted
   by stochastic gradient descent) and a complement naive Bayes over TF-IDF-weighted,
   L2-normalised features: out-of-fold class scores for every item;
4. the combination (``transforms/core/topic_model.combine``): ``beta`` (how the lexicon shares
   the "any" class among its slugs) by likelihood on the items labelled with one of those slugs,
   then the two models' weights and ``v`` (the lexicon's) by likelihood of the accepted slugs on
   all items, from the out-of-fold scores; cross-validated figures are printed;
5. both models on all items, summed with their weights into one linear map; the weights file;
   figures on ``--validation`` if given.
"""

from __future__ import annotations

import argparse
import collections
import gzip
import json
import pathlib
import sys
import time
import warnings
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
from scipy import sparse
from scipy.optimize import minimize, minimize_scalar
from scipy.special import log_softmax, logsumexp
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import SGDClassifier
from sklearn.model_selection import StratifiedKFold
from sklearn.naive_bayes import ComplementNB
from sklearn.preprocessing import normalize

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.shared_data import SHARED_DATA  # noqa: E402
from transforms.core.categories import packaged_category_table  # noqa: E402
from transforms.core.topic_features import (  # noqa: E402
    MAX_BODY_CHARS,
    FeatureSpace,
    document_features,
    tokenize,
)
from transforms.core.topic_model import (  # noqa: E402
    Combination,
    ModelClassifier,
    TopicModel,
    combine,
    lexicon_evidence_transform,
    lexicon_matrix,
    lexicon_terms,
)
from transforms.core.topics import Taxonomy, packaged_taxonomy, parse_taxonomy  # noqa: E402

DATA = SHARED_DATA / "topic"
DEFAULT_TRAIN = DATA / "topic_train.jsonl.gz"
DEFAULT_OUT = ROOT / "schemas" / "models" / "topics.npz"
SEED = 0
# Epochs of the regression's stochastic gradient descent.
EPOCHS = 10


def read_items(paths: Sequence[pathlib.Path]) -> list[dict[str, Any]]:
    items = []
    for path in paths:
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rt", encoding="utf-8") as handle:
            items.extend(json.loads(line) for line in handle if line.strip())
    return items


def check_items(items: list[dict[str, Any]], taxonomy: Taxonomy) -> None:
    slugs = set(taxonomy.slugs)
    for number, item in enumerate(items, 1):
        slug = item.get("slug")
        if slug is not None and slug not in slugs:
            raise SystemExit(f"item {number}: slug {slug!r} is not in the taxonomy")
        if slug is None and not [s for s in item.get("accept") or () if s in slugs]:
            raise SystemExit(f"item {number}: needs a 'slug', or 'accept' with slugs of the taxonomy")


def accepted(item: dict[str, Any], slugs: Sequence[str]) -> list[str]:
    """The slugs counted right for an item: its ``accept`` list, else its slug."""
    return [s for s in (item.get("accept") or [item["slug"]]) if s in slugs]


def build_space(
    items: Iterable[dict[str, Any]], taxonomy: Taxonomy, min_df: int, body_chars: int
) -> FeatureSpace:
    """Words and pairs in at least ``min_df`` items (most frequent first), then the lexicon's terms."""
    words: collections.Counter[str] = collections.Counter()
    pairs: collections.Counter[tuple[str, str]] = collections.Counter()
    for item in items:
        seen_words: set[str] = set()
        seen_pairs: set[tuple[str, str]] = set()
        for part in (item.get("title") or "", (item.get("text") or "")[:body_chars]):
            tokens = tokenize(part)
            seen_words.update(tokens)
            seen_pairs.update(zip(tokens, tokens[1:], strict=False))
        words.update(seen_words)
        pairs.update(seen_pairs)
    kept = [w for w, n in sorted(words.items(), key=lambda kv: (-kv[1], kv[0])) if n >= min_df]
    known = set(kept)
    kept_pairs = [
        p
        for p, n in sorted(pairs.items(), key=lambda kv: (-kv[1], kv[0]))
        if n >= min_df and p[0] in known and p[1] in known
    ]
    space = FeatureSpace.build(kept, kept_pairs)
    return space.with_terms(lexicon_terms(taxonomy))[0]


def feature_matrix(
    space: FeatureSpace, items: Sequence[dict[str, Any]], body_chars: int
) -> sparse.csr_matrix:
    rows, columns, values = [], [], []
    for row, item in enumerate(items):
        indices, counts = document_features(space, item.get("title"), item.get("text"), body_chars=body_chars)
        rows.append(np.full(len(indices), row))
        columns.append(indices)
        values.append(counts)
    return sparse.csr_matrix(
        (np.concatenate(values), (np.concatenate(rows), np.concatenate(columns))),
        shape=(len(items), space.n_features),
        dtype=np.float64,
    )


def fit_models(
    x: sparse.csr_matrix, y: np.ndarray, sample_weight: np.ndarray, l2: float, alpha: float
) -> list[tuple[np.ndarray, np.ndarray]]:
    """(weights (features, classes), bias) of each model: the regression, the naive Bayes.

    Both score a document as ``x @ weights + bias`` (complement naive Bayes ignores class priors),
    so any weighted sum of them is again one linear model. The regression runs a fixed number of
    epochs (deterministic, a few seconds a fit); in exploration, the cross-validated likelihood
    was the same at 10 and 30 epochs.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # a fixed number of epochs, by design
        regression = SGDClassifier(loss="log_loss", alpha=l2, max_iter=EPOCHS, tol=None, random_state=SEED)
        regression.fit(x, y, sample_weight=sample_weight)
    bayes = ComplementNB(alpha=alpha).fit(x, y, sample_weight=sample_weight)
    assert list(regression.classes_) == list(bayes.classes_)
    coef, intercept = regression.coef_, regression.intercept_
    if len(regression.classes_) == 2:
        # Two classes: one score for the second; as two scores, the same difference.
        coef, intercept = np.vstack((-coef / 2, coef / 2)), np.r_[-intercept / 2, intercept / 2]
    return [
        (coef.T.copy(), intercept.copy()),
        (bayes.feature_log_prob_.T.copy(), np.zeros(len(bayes.classes_))),
    ]


def model_scores(models: list[tuple[np.ndarray, np.ndarray]], x: sparse.csr_matrix) -> np.ndarray:
    """(documents, models, classes) raw scores, each model's shifted to a log-softmax."""
    return np.stack([log_softmax(np.asarray(x @ w) + b, axis=1) for w, b in models], axis=1)


def source_weights(items: Sequence[dict[str, Any]], power: float = 1.0) -> np.ndarray:
    """Item weights giving each source the same total (``power`` 1), or halfway there in log
    terms (0.5): HuffPost's 27k headlines should not drown 1,400 BBC articles."""
    counts = collections.Counter(item.get("source", "") for item in items)
    return np.array([(len(items) / len(counts) / counts[item.get("source", "")]) ** power for item in items])


def mixture(scores: np.ndarray, mix: np.ndarray) -> np.ndarray:
    """Class log-probabilities of the weighted sum of the models' scores."""
    return log_softmax(np.einsum("dmc,m->dc", scores, mix), axis=1)


def fit_combination(
    base: Combination,
    scores: np.ndarray,
    evidence: np.ndarray,
    accept: np.ndarray,
    weights: np.ndarray,
    single: np.ndarray,
) -> tuple[Combination, np.ndarray]:
    """``beta`` on items with one slug among the any-class's slugs, then the models' weights and
    ``v`` by the likelihood of the accepted slugs (weighted so that each source counts alike)."""
    slugs = base.slugs
    in_any = np.array([s in base.any_slugs for s in slugs])
    beta = base.beta
    labelled = np.flatnonzero(single >= 0) if base.any_class else np.zeros(0, dtype=int)
    labelled = labelled[in_any[single[labelled]]] if len(labelled) else labelled
    if len(labelled):
        g = lexicon_evidence_transform(evidence[labelled])
        truth = single[labelled]

        def beta_loss(value: float) -> float:
            logp = log_softmax(np.where(in_any, value * g, -np.inf), axis=1)[np.arange(len(truth)), truth]
            return float(-(weights[labelled] * logp).sum() / weights[labelled].sum())

        beta = float(minimize_scalar(beta_loss, bounds=(0.0, 20.0), method="bounded").x)

    n_models = scores.shape[1]

    def loss(params: np.ndarray) -> float:
        logp = combine(mixture(scores, params[:n_models]), evidence, None, base, np.array([params[-1], beta]))
        right = logsumexp(np.where(accept, logp, -np.inf), axis=1)
        return float(-(weights * right).sum() / weights.sum())

    start = np.r_[np.full(n_models, 1.0 / n_models), 0.0]
    bounds = [(0.0, 20.0)] * n_models + [(-5.0, 5.0)]
    fitted = minimize(loss, start, method="L-BFGS-B", bounds=bounds)
    return base.with_params([fitted.x[-1], beta]), fitted.x[:n_models]


def report(title: str, items: Sequence[dict[str, Any]], predicted: Sequence[str]) -> dict[str, float]:
    groups: dict[str, list[bool]] = collections.defaultdict(list)
    for item, slug in zip(items, predicted, strict=True):
        right = slug in (item.get("accept") or [item.get("slug")])
        groups["ALL"].append(right)
        source = item.get("source")
        if source:
            groups[source].append(right)
            if item.get("label_quality"):
                groups[f"{source}/{item['label_quality']}"].append(right)
    figures = {key: round(float(np.mean(flags)), 4) for key, flags in sorted(groups.items())}
    print(title)
    for key, value in figures.items():
        print(f"  {key:32s} {value:.3f}  ({len(groups[key])} items)")
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--data", type=pathlib.Path, nargs="+", default=[DEFAULT_TRAIN], help="Training JSONL."
    )
    parser.add_argument("--taxonomy", type=pathlib.Path, help="Taxonomy JSON (default: the packaged one).")
    parser.add_argument("--out", type=pathlib.Path, default=DEFAULT_OUT, help="Weights file to write.")
    parser.add_argument("--validation", type=pathlib.Path, help="Labelled JSONL to measure the result on.")
    parser.add_argument("--any-class", default="world", help="Name of the class of items with only 'accept'.")
    parser.add_argument(
        "--languages", nargs="+", default=["en"], help="ISO 639-1 codes of the items' language."
    )
    parser.add_argument(
        "--skip-quality",
        nargs="*",
        default=["section"],
        help="Leave out items of these label_quality values (default: HuffPost's audience sections, "
        "which the data README calls noisy as topic labels).",
    )
    parser.add_argument("--folds", type=int, default=5, help="Cross-validation folds.")
    # Defaults chosen by the cross-validated log-loss on topic_train (see schemas/models/topics.md).
    parser.add_argument("--l2", type=float, default=3e-6, help="L2 penalty of the regression.")
    parser.add_argument("--alpha", type=float, default=0.01, help="Smoothing of the naive Bayes.")
    parser.add_argument("--min-df", type=int, default=2, help="Items a word or pair must appear in.")
    parser.add_argument("--body-chars", type=int, default=MAX_BODY_CHARS, help="Body characters read.")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    if args.taxonomy:
        taxonomy = parse_taxonomy(json.loads(args.taxonomy.read_text(encoding="utf-8")), str(args.taxonomy))
    else:
        taxonomy = packaged_taxonomy()
    slugs = taxonomy.slugs
    items = [
        item
        for item in read_items(args.data)
        if not item.get("in_newsflow_topic_dev") and item.get("label_quality") not in set(args.skip_quality)
    ]
    check_items(items, taxonomy)
    labels = np.array([item.get("slug") or args.any_class for item in items])
    classes = tuple(sorted(str(label) for label in set(labels)))
    any_slugs = tuple(
        s for s in slugs if any(s in (i.get("accept") or ()) for i in items if not i.get("slug"))
    )
    base = Combination(
        slugs=slugs,
        classes=classes,
        any_class=args.any_class if any_slugs else "",
        any_slugs=any_slugs,
    )
    print(f"{len(items)} items, classes {list(classes)}; '{base.any_class}' shares among {list(any_slugs)}")

    space = build_space(items, taxonomy, args.min_df, args.body_chars)
    x = feature_matrix(space, items, args.body_chars)
    n_base = space.n_base
    document_frequency = np.asarray((x[:, :n_base] > 0).sum(axis=0)).ravel()
    idf = (np.log((1 + len(items)) / (1 + document_frequency)) + 1).astype(np.float32)
    x_model = normalize(x[:, :n_base].multiply(idf).tocsr())
    evidence = np.asarray(x @ lexicon_matrix(taxonomy, space), dtype=np.float64)
    elapsed = time.perf_counter() - started
    print(f"{len(space.tokens)} words, {len(space.ngram_keys)} n-grams; features in {elapsed:.0f}s")

    accept = np.zeros((len(items), len(slugs)), dtype=bool)
    for row, item in enumerate(items):
        accept[row, [slugs.index(s) for s in accepted(item, slugs)]] = True
    single = np.array([slugs.index(item["slug"]) if item.get("slug") else -1 for item in items])
    weights = source_weights(items)
    # The models' item weights: sources halfway to equal (chosen by the cross-validated log-loss,
    # against unweighted and fully balanced items).
    model_weights = source_weights(items, 0.5)
    strata = [f"{item.get('source', '')}|{item.get('slug')}" for item in items]

    folds = list(
        StratifiedKFold(args.folds, shuffle=True, random_state=SEED).split(np.zeros(len(items)), strata)
    )
    scores = np.zeros((len(items), 2, len(classes)))
    for number, (train, test) in enumerate(folds, 1):
        scores[test] = model_scores(
            fit_models(x_model[train], labels[train], model_weights[train], args.l2, args.alpha),
            x_model[test],
        )
        print(f"fold {number}/{len(folds)} fitted ({time.perf_counter() - started:.0f}s)", flush=True)

    # The combination's own figures, cross-validated too: fitted on the other folds' out-of-fold
    # scores, applied to this fold's.
    predicted = np.zeros(len(items), dtype=int)
    likelihood = np.zeros(len(items))
    for train, test in folds:
        fitted, mix = fit_combination(
            base, scores[train], evidence[train], accept[train], weights[train], single[train]
        )
        logp = combine(mixture(scores[test], mix), evidence[test], None, fitted)
        predicted[test] = logp.argmax(axis=1)
        likelihood[test] = logsumexp(np.where(accept[test], logp, -np.inf), axis=1)
    cross_validated = report("cross-validated (model + lexicon):", items, [slugs[i] for i in predicted])
    # The selection criterion for the options: the log-loss of the accepted slugs, sources alike.
    log_loss = float(-(weights * likelihood).sum() / weights.sum())
    cross_validated["log_loss"] = round(log_loss, 4)
    print(f"  cross-validated log-loss (sources weighted alike): {log_loss:.4f}")
    combination, mix = fit_combination(base, scores, evidence, accept, weights, single)
    print(f"regression x {mix[0]:.3f} + naive Bayes x {mix[1]:.3f}", end="; ")
    print(f"lexicon v={combination.v:.3f} beta={combination.beta:.3f}")

    models = fit_models(x_model, labels, model_weights, args.l2, args.alpha)
    # One linear map; idf folded in (inference multiplies raw feature values, then divides by the norm).
    linear = sum(m * w for m, (w, _) in zip(mix, models, strict=True)) * idf[:, None]
    bias = sum(m * b for m, (_, b) in zip(mix, models, strict=True))
    model = TopicModel(
        tokens=space.tokens,
        ngram_keys=space.ngram_keys,
        weights=linear.astype(np.float32),
        bias=bias.astype(np.float32),
        idf=idf,
        combination=combination,
        languages=tuple(args.languages),
        body_chars=args.body_chars,
        info={
            "trained_on": [p.name for p in args.data],
            "items": len(items),
            "command": " ".join(["training/train_topics.py", *(argv if argv is not None else sys.argv[1:])]),
            "l2": args.l2,
            "epochs": EPOCHS,
            "alpha": args.alpha,
            "mix": [round(float(m), 4) for m in mix],
            "min_df": args.min_df,
            "skip_quality": args.skip_quality,
            "folds": args.folds,
            "cross_validated": cross_validated,
        },
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(model.to_bytes())
    print(
        f"wrote {args.out} ({args.out.stat().st_size / 1e6:.2f} MB) in {time.perf_counter() - started:.0f}s"
    )

    if args.validation:
        check = ModelClassifier.from_model(
            taxonomy, TopicModel.from_bytes(args.out.read_bytes()), packaged_category_table()
        )
        held_out = [item for item in read_items([args.validation]) if not item.get("in_newsflow_topic_dev")]
        topics = [
            check.classify(i.get("title"), i.get("text") or "", language=i.get("lang")).topic
            for i in held_out
        ]
        report(f"{args.validation.name}, measured only (the weights file as shipped):", held_out, topics)
    return 0


if __name__ == "__main__":
    sys.exit(main())
