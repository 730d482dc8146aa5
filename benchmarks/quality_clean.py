"""Quality and speed of the boilerplate cleaner, beside the previous cleaner and doing nothing.

Prints, in one run:

* ``../shared/data/boilerplate/lines_validation.jsonl.gz``, per view (``trafilatura_recall``:
  what extraction leaves; ``page_text``: a naive scraper's text) and per source: body kept
  (share of B lines that survive), boilerplate removed (share of X lines that go), titles
  removed (share of T lines that go); E lines count for neither. Seven cleaners: do nothing,
  the previous rules (``transforms/clean.py`` as of commit ``BASELINE_COMMIT``, read from git
  at run time: the rule cleaner that the line model replaced), round 1's line model (git
  ``ROUND1_COMMIT``, run from a git archive in a subprocess: ``benchmarks/clean_round1.py``),
  the previous shipped weights (git ``PREVIOUS_MODEL_COMMIT``, today's inference code), the
  current cleaner as it was before ``ANCHOR_COMMIT`` (a comment form cuts after the first line
  of prose in a page's whole text too), the current cleaner without the comment model (which
  cuts a thread by its words: ``NO_COMMENT_MODEL``) and the current cleaner, in batches as
  ``CleanArticles`` runs it. The columns of earlier versions run without the comment model.
  Each gets the site statistics a pipeline run over the whole split would have (lines held by
  several documents of one domain). Each view is printed twice: with the labels as given, and
  with the training labels' semantics for reader comments (the B lines after a comment form
  counted as X);
* clean article text given as plain text (a JSONL backfill's text, a plain-text seed), where
  every line is body: the true bodies of ``tests/resources/html_dev`` (a dev set no model
  trained on) and the gold texts of the Fundus pages of ``pages_validation``; share of lines and
  of characters kept, and share of documents that lose a line (a removed title not counted);
* milliseconds per document on the trafilatura_recall view (CPU time, best of a few passes);
* the seeds' gold (``seeds_gold.json`` with ``seeds/``) and ``text_dev.json``, which are
  training data of the line model now: the figures show it still fits them.

Run from the repository root: ``python benchmarks/quality_clean.py`` (about 3-5 minutes;
``--no-validation`` prints only the dev sets). The product never reads ../shared; this
benchmark does.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import importlib.util
import io
import json
import pathlib
import subprocess
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable

ROOT = pathlib.Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import transforms.core.clean_structure as structure_module  # noqa: E402
from benchmarks.clean_dev import (  # noqa: E402
    Doc,
    dev_figures,
    figures,
    new_dev_clean,
    old_dev_clean,
    print_dev,
    tally,
)
from benchmarks.clean_round1 import ROUND1_COMMIT, run_round1  # noqa: E402
from benchmarks.shared_data import SHARED_DATA  # noqa: E402
from transforms.clean import CLEAN_BATCH, Cleaned, clean_text  # noqa: E402
from transforms.core.clean import CleanInput, LineScorer, clean_many, prepare  # noqa: E402
from transforms.core.line_model import LineModel  # noqa: E402
from transforms.core.sites import DOCS_KEY, document_keys, site_table, stats_for_document  # noqa: E402

VALIDATION = SHARED_DATA / "boilerplate" / "lines_validation.jsonl.gz"
PAGES_VALIDATION = SHARED_DATA / "boilerplate" / "pages_validation.jsonl.gz"
HTML_DEV_TRUTH = ROOT / "tests" / "resources" / "html_dev" / "ground_truth.json"
# The last commit with the rule cleaner (phrase rules and a comment-thread change point).
BASELINE_COMMIT = "93355ba"
# The last commit with the previous line model's weights (round 3), run with today's code.
PREVIOUS_MODEL_COMMIT = "5f2a369"
# The commit that anchored the comment-thread cut of a page's whole text at its longest run of
# prose (``clean_structure.longest_prose_run``); the cleaner before it is run with the cut after
# the first line of prose, as in extracted text.
ANCHOR_COMMIT = "fe4ad22"
BEFORE_ANCHOR = f"line model before {ANCHOR_COMMIT}"
# The cleaner before the comment model (``transforms/core/comment_model.py``) cut unmarked threads.
NO_COMMENT_MODEL = "line model, no comment model"
# A line held by this many documents of a domain (this one included) is site boilerplate, as
# the pipeline's --site_min_docs default.
SITE_MIN_DOCS = 3
VIEWS = ("trafilatura_recall", "page_text")
SPEED_PASSES = 5


# --- The cleaners -----------------------------------------------------------------------------


def _git_show(commit: str, path: str) -> bytes | None:
    """The bytes of ``path`` at ``commit``, from git (None when git or the commit is not at hand)."""
    try:
        return subprocess.run(
            ["git", "show", f"{commit}:{path}"], cwd=ROOT, capture_output=True, check=True
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return None


def load_baseline():
    """The previous cleaner module, from git (None when git or the commit is not at hand)."""
    data = _git_show(BASELINE_COMMIT, "transforms/clean.py")
    if data is None:
        return None
    # canonical_url has moved since (the old cleaner uses it for the article's site only).
    source = data.decode("utf-8").replace(
        "from transforms.dedup import canonical_url", "from transforms.core.urls import canonical_url"
    )
    spec = importlib.util.spec_from_loader("baseline_clean", loader=None)
    module = importlib.util.module_from_spec(spec)
    sys.modules["baseline_clean"] = module  # dataclasses look their module up
    exec(compile(source, f"{BASELINE_COMMIT}:transforms/clean.py", "exec"), module.__dict__)  # noqa: S102
    return module


def load_previous_model() -> LineModel | None:
    """The weights shipped at ``PREVIOUS_MODEL_COMMIT``, from git (None when not at hand)."""
    data = _git_show(PREVIOUS_MODEL_COMMIT, "schemas/models/line_model.npz")
    return None if data is None else LineModel.load(io.BytesIO(data))


def site_context(docs: list[Doc]) -> dict[str, dict]:
    """Per document, the site statistics of one run over all documents (same view and domain):
    for the new cleaner the other documents' counts, for the old one the repeated line keys."""
    by_site: dict[tuple[str, str], list[Doc]] = defaultdict(list)
    for doc in docs:
        if doc.domain:
            by_site[(doc.view, doc.domain)].append(doc)
    context = {}
    for members in by_site.values():
        keys = {doc.id: document_keys(doc.content) for doc in members}
        table = site_table([(DOCS_KEY, 1) for _ in members] + [(k, 1) for ks in keys.values() for k in ks])
        context.update({doc.id: {"table": table} for doc in members})
    return context


def _clean_input(doc: Doc, context: dict, min_docs: int) -> CleanInput:
    table = context.get(doc.id, {}).get("table")
    site = stats_for_document(table) if table is not None else stats_for_document()
    # The trafilatura_recall view is an extractor's output; page_text is a page's whole text.
    return CleanInput(doc.content, doc.title, site, min_docs - 1, doc.view == "trafilatura_recall")


def new_cleaner(min_docs: int) -> Callable[[Doc, dict], Cleaned]:
    """The line model one document at a time (``clean_text``)."""

    def run(doc: Doc, context: dict) -> Cleaned:
        i = _clean_input(doc, context, min_docs)
        return clean_text(
            i.text, title=i.title, site=i.site, site_min_docs=i.site_min_docs, extracted=i.extracted
        )

    return run


def new_batch_cleaner(
    min_docs: int, scorer: LineScorer | None = None, comments: bool = True
) -> Callable[[list[Doc], dict], list[Cleaned]]:
    """The line model (the packaged one, or ``scorer``) as ``CleanArticles`` runs it: batches of
    ``CLEAN_BATCH`` documents (``comments``: with the packaged comment model)."""

    def run(docs: list[Doc], context: dict) -> list[Cleaned]:
        out: list[Cleaned] = []
        for start in range(0, len(docs), CLEAN_BATCH):
            batch = [_clean_input(doc, context, min_docs) for doc in docs[start : start + CLEAN_BATCH]]
            out += clean_many(batch, scorer, comments)
        return out

    run.batched = True
    return run


def old_cleaner(module, docs: list[Doc], min_docs: int) -> Callable[[Doc, dict], Cleaned]:
    """The previous cleaner, with its own site lines: its line keys held by ``min_docs``
    documents of the domain (as its ``CleanArticles`` computed them for a run)."""
    repeated: dict[tuple[str, str], frozenset[str]] = {}
    by_site: dict[tuple[str, str], list[Doc]] = defaultdict(list)
    for doc in docs:
        if doc.domain:
            by_site[(doc.view, doc.domain)].append(doc)
    for site, members in by_site.items():
        counts = Counter(k for d in members for k in module.site_line_candidates(d.content))
        repeated[site] = frozenset(k for k, n in counts.items() if n >= min_docs)

    def run(doc: Doc, context: dict) -> Cleaned:
        site_lines = repeated.get((doc.view, doc.domain), frozenset())
        return module.clean_text(doc.content, title=doc.title, site_lines=site_lines)

    return run


@contextlib.contextmanager
def _first_prose_anchor():
    """The cleaner as before ``ANCHOR_COMMIT``: a page's comment cut after its first line of prose."""
    anchor = structure_module.longest_prose_run
    structure_module.longest_prose_run = structure_module.first_prose_line
    try:
        yield
    finally:
        structure_module.longest_prose_run = anchor


def before_anchor(cleaner: Callable) -> Callable:
    def run(*args):
        with _first_prose_anchor():
            return cleaner(*args)

    run.batched = getattr(cleaner, "batched", False)
    return run


def do_nothing(doc: Doc, context: dict) -> Cleaned:
    lines = doc.content.split("\n")
    kept = tuple(n for n, line in enumerate(lines, 1) if line.strip())
    return Cleaned("\n\n".join(lines[n - 1].strip() for n in kept), None, None, (), kept)


# --- Scoring ----------------------------------------------------------------------------------


def run_all(docs: list[Doc], cleaner: Callable, context: dict) -> list[Cleaned]:
    if getattr(cleaner, "batched", False):
        return cleaner(docs, context)
    return [cleaner(doc, context) for doc in docs]


def score(docs: list[Doc], outputs: list[Cleaned], labels: dict | None = None) -> dict[str, Counter]:
    """Counts per source (and "ALL") of a cleaner's ``outputs`` for ``docs``; ``labels``
    replaces documents' labels (by id) where given."""
    per: dict[str, Counter] = defaultdict(Counter)
    for doc, cleaned in zip(docs, outputs, strict=True):
        counts = tally(doc, cleaned, (labels or {}).get(doc.id))
        per[doc.source].update(counts)
        per["ALL"].update(counts)
    return per


def ms_per_doc(docs: list[Doc], cleaner: Callable, context: dict, passes: int) -> float:
    best = float("inf")
    for _ in range(passes):
        started = time.process_time()
        run_all(docs, cleaner, context)
        best = min(best, time.process_time() - started)
    return 1000 * best / max(len(docs), 1)


def comment_labels(docs: list[Doc]) -> dict[str, dict]:
    """The labels with the training script's semantics for reader comments: a B line after a
    comment form (the lines the structural rule ``comment.after_form`` removes) counts as X.
    Mechanical (the rule's own output), the same relabelling as on the training documents (the
    cut after the first line of prose in both views, ``first_prose_anchor``)."""
    out = {}
    for doc in docs:
        prep = prepare(
            doc.content,
            title=doc.title,
            extracted=doc.view == "trafilatura_recall",
            first_prose_anchor=True,
        )
        after = {
            prep.doc.line_nos[pos]
            for pos, rule in enumerate(prep.decisions.rules)
            if rule == "comment.after_form"
        }
        body = set(doc.labels.get("B", ()))
        moved = body & after
        if moved:
            labels = dict(doc.labels)
            labels["B"] = sorted(body - moved)
            labels["X"] = sorted(set(doc.labels.get("X", ())) | moved)
            out[doc.id] = labels
    return out


def print_view(view: str, docs: list[Doc], results: dict[str, dict[str, Counter]]) -> None:
    names = list(results)
    sources = ["ALL"] + sorted({d.source for d in docs})
    header = f"{'source':<16}{'docs':>5}{'B':>7}{'X':>7}{'T':>4}"
    for name in names:
        header += f"  {name + ' kept/removed':>27}"
    print(f"== lines_validation, view {view}: body kept / boilerplate removed (titles removed)")
    print(header)
    for source in sources:
        n_docs = len(docs) if source == "ALL" else sum(d.source == source for d in docs)
        base = results[names[0]][source]
        row = f"{source:<16}{n_docs:>5}{base['B_total']:>7}{base['X_total']:>7}{base['T_total']:>4}"
        for name in names:
            f = figures(results[name][source])
            row += f"  {f['body_kept']:>10.3f} {f['boilerplate_removed']:>7.3f} ({f['titles_removed']:.2f})"
        print(row)


def article_texts() -> dict[str, list[tuple[str, str | None]]]:
    """Clean article texts, every line body, per set: (text, title)."""
    sets: dict[str, list[tuple[str, str | None]]] = {}
    truth = json.loads(HTML_DEV_TRUTH.read_text(encoding="utf-8"))["pages"]
    sets["html_dev true bodies"] = [("\n\n".join(page["paragraphs"]), None) for page in truth.values()]
    if PAGES_VALIDATION.exists():
        with gzip.open(PAGES_VALIDATION, "rt", encoding="utf-8") as handle:
            rows = [json.loads(line) for line in handle]
        sets["pages_validation fundus golds"] = [
            (row["gold_text"], row.get("title"))
            for row in rows
            if row["source"] == "fundus" and row["gold_text"].strip()
        ]
    return sets


def article_figures(texts: list[tuple[str, str | None]], clean: Callable) -> tuple[float, float, float]:
    """Lines kept, characters kept, share of documents losing a line (titles aside)."""
    lines = chars = lost_lines = lost_chars = hit = 0
    for (text, _), cleaned in zip(texts, clean(texts), strict=True):
        present = [line for line in text.split("\n") if line.strip()]
        lost = [r for r in cleaned.removed if r.reason not in ("title", "repeated_title")]
        lines += len(present)
        chars += sum(map(len, present))
        lost_lines += len(lost)
        lost_chars += sum(len(r.text) for r in lost)
        hit += bool(lost)
    return 1 - lost_lines / max(lines, 1), 1 - lost_chars / max(chars, 1), hit / max(len(texts), 1)


def clean_articles(baseline, previous: LineModel | None) -> None:
    """Clean article texts through each cleaner as plain text (no site memory)."""
    cleaners: dict[str, Callable] = {}
    if baseline is not None:
        cleaners[f"old rules ({BASELINE_COMMIT})"] = lambda texts: [
            baseline.clean_text(text, title=title) for text, title in texts
        ]
    if previous is not None:
        cleaners[f"previous model ({PREVIOUS_MODEL_COMMIT})"] = lambda texts: clean_many(
            [CleanInput(text, title) for text, title in texts], previous, comments=False
        )

    def current(texts, comments=True):
        return clean_many([CleanInput(text, title) for text, title in texts], comments=comments)

    cleaners[BEFORE_ANCHOR] = before_anchor(lambda texts: current(texts, comments=False))
    cleaners[NO_COMMENT_MODEL] = lambda texts: current(texts, comments=False)
    cleaners["line model"] = current
    print(
        "== clean article text as plain text (every line is body):"
        " lines kept, characters kept, documents losing a line"
    )
    for name, texts in article_texts().items():
        print(f"{name} ({len(texts)} documents)")
        for label, clean in cleaners.items():
            lines, chars, hit = article_figures(texts, clean)
            print(f"  {label:<44} {lines:7.3f} {chars:7.3f} {hit:7.3f}")
    print()


def validation(baseline, previous: LineModel | None) -> None:
    with gzip.open(VALIDATION, "rt", encoding="utf-8") as handle:
        rows = [json.loads(line) for line in handle]
    docs = [Doc(row) for row in rows]
    context = site_context(docs)
    cleaners = {"do nothing": do_nothing}
    if baseline is not None:
        cleaners[f"old rules ({BASELINE_COMMIT})"] = old_cleaner(baseline, docs, SITE_MIN_DOCS)
    round1 = run_round1(rows)
    if round1 is not None:
        kept = round1["kept"]
        cleaners[f"round 1 ({ROUND1_COMMIT})"] = lambda doc, context: Cleaned(
            "", None, None, (), tuple(kept[doc.id])
        )
    if previous is not None:
        cleaners[f"previous model ({PREVIOUS_MODEL_COMMIT})"] = new_batch_cleaner(
            SITE_MIN_DOCS, previous, comments=False
        )
    batch = new_batch_cleaner(SITE_MIN_DOCS)
    without_comments = new_batch_cleaner(SITE_MIN_DOCS, comments=False)
    cleaners[BEFORE_ANCHOR] = before_anchor(without_comments)
    cleaners[NO_COMMENT_MODEL] = without_comments
    cleaners["line model"] = batch
    relabelled = comment_labels(docs)
    for view in VIEWS:
        view_docs = [d for d in docs if d.view == view]
        outputs = {name: run_all(view_docs, cleaner, context) for name, cleaner in cleaners.items()}
        results = {name: score(view_docs, out) for name, out in outputs.items()}
        print_view(view, view_docs, results)
        print()
        moved = sum(
            len(set(d.labels.get("B", ())) - set(relabelled[d.id]["B"]))
            for d in view_docs
            if d.id in relabelled
        )
        results = {name: score(view_docs, out, relabelled) for name, out in outputs.items()}
        print(
            f"-- the same view with the training labels' semantics for reader comments: the {moved} B lines"
            " after a comment form (rule comment.after_form) counted as X"
        )
        print_view(view, view_docs, results)
        print()
    traf = [d for d in docs if d.view == "trafilatura_recall"]
    print(f"== speed on the trafilatura_recall view ({len(traf)} documents, CPU ms per document, best pass)")
    if round1 is not None:
        print(
            f"  {'round 1 (' + ROUND1_COMMIT + ', its own run, one document a call)':<52} "
            f"{round1['ms_per_doc']:7.3f} ms/doc"
        )
    timed = {
        **{
            name: c
            for name, c in cleaners.items()
            if name not in ("do nothing", BEFORE_ANCHOR) and not name.startswith(("round", "previous"))
        },
        "line model, one document a call": new_cleaner(SITE_MIN_DOCS),
    }
    for name, cleaner in timed.items():
        passes = 1 if name.startswith("old") else SPEED_PASSES
        label = f"{name} (batches of {CLEAN_BATCH}, as CleanArticles)" if cleaner is batch else name
        print(f"  {label:<52} {ms_per_doc(traf, cleaner, context, passes):7.3f} ms/doc")
    print()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--no-validation", action="store_true", help="Only the dev sets (seeds, text_dev).")
    args = parser.parse_args(argv)
    baseline = load_baseline()
    previous = load_previous_model()
    if baseline is None:
        print(
            f"(the previous cleaner, git {BASELINE_COMMIT}:transforms/clean.py, is not at hand: no baseline)"
        )
    if not args.no_validation and VALIDATION.exists():
        validation(baseline, previous)
    if not args.no_validation:
        clean_articles(baseline, previous)
    print("== dev sets (seeds_gold.json, text_dev.json): training data of the line model")
    if baseline is not None:
        print_dev(f"old rules ({BASELINE_COMMIT})", dev_figures(old_dev_clean(baseline)))
    if previous is not None:
        print_dev(
            f"previous model ({PREVIOUS_MODEL_COMMIT})",
            dev_figures(lambda text, title, domain_docs: new_dev_clean(text, title, domain_docs, previous)),
        )
    print_dev("line model", dev_figures(new_dev_clean))


if __name__ == "__main__":
    main()
