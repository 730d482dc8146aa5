r"""The cleaner's line model: the probability that each line of a document is boilerplate.

Consumes documents' lines (``DocLines``) with what the cleaner knows of each line (``Evidence``:
rule hits, the title, the site memory's counts, the kind of input); emits, per line, the
model's probability of boilerplate, for many documents in one batch (``LineModel.score_many``),
and its operating point (``LineModel.threshold``). Sample::

    model = LineModel.load()     # schemas/models/line_model.npz, its card beside it
    model.score_many([doc], [evidence])  -> [array([0.98, 0.03, 0.97])]

The model is two binned logistic regressions (``transforms/core/line_passes.py``), the second
over the first's scores around each line: sums of looked-up weights, no Python per line.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib.resources
import json
from collections.abc import Mapping, Sequence
from itertools import chain
from typing import BinaryIO, Protocol

import numpy as np

from transforms.core import boilerplate
from transforms.core.lines import (
    Batch,
    Cues,
    DocLines,
    Layout,
    Tokens,
    Vocabulary,
    base_features,
    context_features,
    lexical_cues,
    short_kinds,
)

# The model file shipped in the package.
MODEL_RESOURCE = "models/line_model.npz"


@dataclasses.dataclass(frozen=True)
class SiteStats:
    """What the site memory knows of one site, for the document being cleaned.

    ``counts`` maps a ``line_key`` to the number of OTHER documents of the site that hold
    the line; ``docs`` is the number of other documents of the site seen.
    """

    docs: int = 0
    counts: Mapping[str, int] = dataclasses.field(default_factory=dict)


NO_SITE = SiteStats()


@dataclasses.dataclass(frozen=True)
class Evidence:
    """What the cleaner knows of each line before the model: the rule it matched, whether it
    is the title, in how many other documents of its site it occurs."""

    rules: tuple[boilerplate.Rule | None, ...]
    title_lines: tuple[bool, ...]
    site_counts: tuple[int, ...]
    site_docs: int
    # The text is what an extractor left of an HTML page (most boilerplate already gone), not a
    # page's or a scraper's whole text: the two kinds of input have their own operating points.
    extracted: bool = False
    # The lines' short-line pattern kinds (``transforms.core.lines.short_kinds``), when known.
    kinds: np.ndarray | None = None


class LineScorer(Protocol):
    """A line model: the probability that each line of a document is boilerplate, and its
    operating point: the probability from which a line goes, the lower one from which a run of
    lines between lines that go goes, and the one from which a line a phrase rule matched goes
    (``decide``)."""

    def score(self, doc: DocLines, evidence: Evidence) -> np.ndarray: ...

    def threshold(self, evidence: Evidence) -> tuple[float, float, float]: ...


# --- The shipped model: two binned logistic regressions, the second over the first's neighbours ---


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -30, 30)))


def evidence_lines(docs: Sequence[DocLines], evidences: Sequence[Evidence]) -> dict:
    """The evidence of several documents as per-line arrays, in line order."""
    sizes = [len(doc) for doc in docs]
    n = sum(sizes)
    pairs = list(zip(evidences, sizes, strict=True))
    return {
        "rules": list(chain.from_iterable(ev.rules for ev in evidences)),
        "title_lines": np.fromiter(
            chain.from_iterable(ev.title_lines or (False,) * k for ev, k in pairs), dtype=np.float32, count=n
        ),
        "site_counts": np.fromiter(
            chain.from_iterable(ev.site_counts or (0,) * k for ev, k in pairs), dtype=np.float32, count=n
        ),
        "site_docs": np.repeat(np.array([ev.site_docs for ev in evidences], dtype=np.float32), sizes),
        "extracted": np.repeat(np.array([ev.extracted for ev in evidences], dtype=bool), sizes),
        "kinds": np.concatenate(
            [
                ev.kinds if ev.kinds is not None else short_kinds(doc.lines)
                for doc, ev in zip(docs, evidences, strict=True)
            ]
            + [np.zeros(0, dtype=np.int64)]
        ),
    }


def batch_features(
    docs: Sequence[DocLines],
    evidences: Sequence[Evidence],
    vocabulary: Vocabulary,
    tokens: Tokens | None = None,
) -> tuple[Batch, Cues, np.ndarray, dict]:
    """The first pass's inputs for several documents at once: the batch, its lexical cues, its
    dense features and its evidence per line (training calls this too). ``tokens``: the
    ``tokenize`` of all the documents' lines, when known."""
    for doc, ev in zip(docs, evidences, strict=True):
        if len(ev.rules) != len(doc):
            raise ValueError("evidence and document differ in lines")
    batch = Batch.of(docs)
    ev = evidence_lines(docs, evidences)
    cues = lexical_cues(batch, vocabulary, tokens)
    x = base_features(
        batch,
        cues,
        rules=ev["rules"],
        title_lines=ev["title_lines"],
        site_counts=ev["site_counts"],
        site_docs=ev["site_docs"],
        extracted=ev["extracted"],
        kinds=ev["kinds"],
    )
    return batch, cues, x, ev


def load_arrays(resource: str, path: str | BinaryIO | None = None) -> dict[str, np.ndarray]:
    """The arrays of a model file: the package's ``resource`` (under ``schemas``), or ``path``
    (a file name or an open binary file) when given. No pickles."""
    if path is None:
        with (
            importlib.resources.files("schemas").joinpath(resource).open("rb") as handle,
            np.load(handle, allow_pickle=False) as arrays,
        ):
            return dict(arrays)
    with np.load(path, allow_pickle=False) as arrays:
        return dict(arrays)


class LineModel:
    """The shipped line model (``schemas/models/line_model.npz``; card beside it).

    First pass: a logistic regression over each line's lexical cues (one weight per cue) and its
    dense features, binned (one weight per feature and bin, shared by both kinds of input, plus
    one per kind). Second pass: a logistic regression over the first pass's log-odds around the
    line (``context_features``, binned, some bins crossed) and the line's own binned features.
    Both are sums of looked-up weights: ``Layout.pass1_dense`` and ``Layout.pass2`` name the
    active weights of every line, for training and inference alike. Documents are scored in
    batches (``score_many``), so that each numpy step runs once for many documents."""

    def __init__(self, arrays: Mapping[str, np.ndarray]) -> None:
        meta = json.loads(str(arrays["meta"]))
        self.meta = meta
        self.thresholds = {kind: float(value) for kind, value in meta["thresholds"].items()}
        self.run_thresholds = {kind: float(value) for kind, value in meta["run_thresholds"].items()}
        self.rule_thresholds = {kind: float(value) for kind, value in meta["rule_thresholds"].items()}
        self.layout = Layout(
            Vocabulary(arrays["vocabulary"]),
            arrays["edges1"],
            arrays["edges2"],
        )
        self.w1 = arrays["w1"].astype(np.float64)
        self.w2 = arrays["w2"].astype(np.float64)
        self.b1 = float(meta["bias1"])
        self.b2 = float(meta["bias2"])

    @classmethod
    def load(cls, path: str | BinaryIO | None = None) -> LineModel:
        """The packaged model, or the one in ``path`` (a file name or an open binary file)."""
        return cls(load_arrays(MODEL_RESOURCE, path))

    def threshold(self, evidence: Evidence) -> tuple[float, float, float]:
        kind = "extracted" if evidence.extracted else "scraped"
        return self.thresholds[kind], self.run_thresholds[kind], self.rule_thresholds[kind]

    def score_many(
        self, docs: Sequence[DocLines], evidences: Sequence[Evidence], tokens: Tokens | None = None
    ) -> list[np.ndarray]:
        """The probability that each line is boilerplate, for several documents at once
        (``tokens``: the ``tokenize`` of all their lines, when known)."""
        if not docs:
            return []
        batch, cues, x, ev = batch_features(docs, evidences, self.layout.vocabulary, tokens)
        n = len(batch)
        if not n:
            return [np.zeros(0) for _ in docs]
        layout = self.layout
        dense = layout.binned1.columns(x)
        z_lex = np.bincount(cues.row, weights=self.w1[cues.col], minlength=n)
        z1 = self.b1 + z_lex + self.w1[layout.pass1_dense_columns(dense, ev["extracted"])].sum(axis=1)
        context = context_features(z1, z_lex, batch)
        z2 = self.b2 + self.w2[layout.pass2_columns(context, dense, ev["extracted"])].sum(axis=1)
        return np.split(_sigmoid(z2), batch.doc_starts[1:])

    def score(self, doc: DocLines, evidence: Evidence) -> np.ndarray:
        return self.score_many([doc], [evidence])[0]


@functools.cache
def default_scorer() -> LineModel:
    """The packaged line model, loaded once per process."""
    return LineModel.load()
