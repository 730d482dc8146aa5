"""Scoring for ``training/train_line_model.py``: figures, operating points and the rule report.

Consumes the out-of-fold probabilities of the training lines with their labels (the training
script's ``Prepared``); emits figures (body kept, boilerplate removed), the operating point per
kind of input (``choose_operating_point``), and prints the reports.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import TYPE_CHECKING

import numpy as np

from transforms.core import boilerplate
from transforms.core.clean import CLEAN_TEXT_BODY_SHARE, clean_text_headings, decide_many, is_clean_text
from transforms.core.lines import LONG_CHARS

if TYPE_CHECKING:
    from train_line_model import Prepared

# A phrase rule removes lines alone when this share of its labelled lines (B or X) is X.
HARD_RULE_MIN_SHARE = 0.97
HARD_RULE_MIN_LINES = 20


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
    return decide_many(p, hard, ruled, t, low, rule_t, first)


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


def clean_text_report(prep: Prepared, hard, ruled, p2, points, views) -> None:
    """The scraped views at their operating point, with the cleaner's switch for clean texts
    (``transforms.core.clean.clean_texts``: a scraped text that ``is_clean_text`` is cleaned at
    extracted text's operating point, its ``clean_text_headings`` removed only by a rule or with
    the block after them)."""
    first = prep.first_line
    doc = np.cumsum(first) - 1
    per_doc = [is_clean_text(s) for s in np.split(p2, prep.offsets[1:-1])]
    clean = np.repeat(per_doc, prep.sizes)
    scraped, extracted = np.array(points["scraped"]), np.array(points["extracted"])
    point = np.where(clean[:, None], extracted, scraped)
    headings = clean_text_headings([d.lines for d in prep.docs], per_doc)
    prose = np.concatenate([d.lines.chars for d in prep.docs]) >= LONG_CHARS
    gone = decide_many(p2, hard, ruled, point[:, 0], point[:, 1], point[:, 2], first, prose, None, headings)
    print(f"  with the switch for clean texts (a scraped text {CLEAN_TEXT_BODY_SHARE:.0%} below even odds):")
    for view in ("page_text", "dev"):
        mask = views == view
        switched = int(np.unique(doc[mask & clean]).size)
        f = figures(prep, gone, mask)
        print(
            f"    {view:<18} {f['body_kept']:.3f} {f['boilerplate_removed']:.3f} {f['titles_removed']:.3f}"
            f"  ({switched} of {int(np.unique(doc[mask]).size)} documents switched)"
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
