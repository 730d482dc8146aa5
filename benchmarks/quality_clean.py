"""Quality and speed of the boilerplate cleaner, beside the previous cleaner and doing nothing.

Prints, in one run:

* ``../shared/data/boilerplate/lines_validation.jsonl.gz``, per view (``trafilatura_recall``:
  what extraction leaves; ``page_text``: a naive scraper's text) and per source: body kept
  (share of B lines that survive), boilerplate removed (share of X lines that go), titles
  removed (share of T lines that go); E lines count for neither. Three cleaners: do nothing,
  the previous rules (``transforms/clean.py`` as of commit ``BASELINE_COMMIT``, read from git
  at run time: the rule cleaner that the line model replaced) and the current cleaner. Each
  gets the site statistics a pipeline run over the whole split would have (lines held by
  several documents of one domain);
* milliseconds per document on the trafilatura_recall view (CPU time, best of a few passes);
* the seeds' gold (``seeds_gold.json`` with ``seeds/``) and ``text_dev.json``, which are
  training data of the line model now: the figures show it still fits them.

Run from the repository root: ``python benchmarks/quality_clean.py`` (about 2-3 minutes;
``--no-validation`` prints only the dev sets). The product never reads ../shared; this
benchmark does.
"""

from __future__ import annotations

import argparse
import gzip
import importlib.util
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

from transforms.clean import Cleaned, clean_text  # noqa: E402
from transforms.core.sites import DOCS_KEY, document_keys, site_table, stats_for_document  # noqa: E402

RESOURCES = ROOT / "tests" / "resources"
SEEDS = ROOT / "seeds"
VALIDATION = ROOT.parent.parent / "shared" / "data" / "boilerplate" / "lines_validation.jsonl.gz"
# The last commit with the rule cleaner (phrase rules and a comment-thread change point).
BASELINE_COMMIT = "93355ba"
# A line held by this many documents of a domain (this one included) is site boilerplate, as
# the pipeline's --site_min_docs default.
SITE_MIN_DOCS = 3
# In the text_dev run with site statistics, a line held by this many documents of a domain.
DEV_SITE_MIN_DOCS = 2
VIEWS = ("trafilatura_recall", "page_text")
SPEED_PASSES = 3


# --- The cleaners -----------------------------------------------------------------------------


def load_baseline():
    """The previous cleaner module, from git (None when git or the commit is not at hand)."""
    try:
        source = subprocess.run(
            ["git", "show", f"{BASELINE_COMMIT}:transforms/clean.py"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    spec = importlib.util.spec_from_loader("baseline_clean", loader=None)
    module = importlib.util.module_from_spec(spec)
    sys.modules["baseline_clean"] = module  # dataclasses look their module up
    exec(compile(source, f"{BASELINE_COMMIT}:transforms/clean.py", "exec"), module.__dict__)  # noqa: S102
    return module


class Doc:
    def __init__(self, row: dict) -> None:
        self.id = row["id"]
        self.view = row.get("view", "dev")
        self.source = row.get("source", "text_dev")
        self.domain = row.get("domain") or ""
        self.title = row.get("title") or None
        self.content = row["content"]
        self.labels = row["labels"]


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


def new_cleaner(min_docs: int) -> Callable[[Doc, dict], Cleaned]:
    def run(doc: Doc, context: dict) -> Cleaned:
        table = context.get(doc.id, {}).get("table")
        site = stats_for_document(table) if table is not None else stats_for_document()
        # The trafilatura_recall view is an extractor's output; page_text is a page's whole text.
        extracted = doc.view == "trafilatura_recall"
        return clean_text(
            doc.content, title=doc.title, site=site, site_min_docs=min_docs - 1, extracted=extracted
        )

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


def do_nothing(doc: Doc, context: dict) -> Cleaned:
    lines = doc.content.split("\n")
    kept = tuple(n for n, line in enumerate(lines, 1) if line.strip())
    return Cleaned("\n\n".join(lines[n - 1].strip() for n in kept), None, None, (), kept)


# --- Scoring ----------------------------------------------------------------------------------


def tally(doc: Doc, cleaned: Cleaned) -> Counter:
    kept = set(cleaned.kept_line_nos)
    counts: Counter = Counter()
    for label in ("B", "X", "T"):
        for n in doc.labels.get(label, ()):
            counts[f"{label}_total"] += 1
            counts[f"{label}_kept"] += n in kept
    return counts


def figures(counts: Counter) -> dict:
    def share(label: str) -> float:
        total = counts[f"{label}_total"]
        return counts[f"{label}_kept"] / total if total else float("nan")

    return {"body_kept": share("B"), "boilerplate_removed": 1 - share("X"), "titles_removed": 1 - share("T")}


def score(docs: list[Doc], cleaner: Callable, context: dict) -> dict[str, Counter]:
    """Counts per source (and "ALL")."""
    per: dict[str, Counter] = defaultdict(Counter)
    for doc in docs:
        counts = tally(doc, cleaner(doc, context))
        per[doc.source].update(counts)
        per["ALL"].update(counts)
    return per


def ms_per_doc(docs: list[Doc], cleaner: Callable, context: dict, passes: int) -> float:
    best = float("inf")
    for _ in range(passes):
        started = time.process_time()
        for doc in docs:
            cleaner(doc, context)
        best = min(best, time.process_time() - started)
    return 1000 * best / max(len(docs), 1)


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


def validation(baseline) -> None:
    with gzip.open(VALIDATION, "rt", encoding="utf-8") as handle:
        rows = [json.loads(line) for line in handle]
    docs = [Doc(row) for row in rows]
    context = site_context(docs)
    cleaners = {"do nothing": do_nothing}
    if baseline is not None:
        cleaners[f"old rules ({BASELINE_COMMIT})"] = old_cleaner(baseline, docs, SITE_MIN_DOCS)
    cleaners["line model"] = new_cleaner(SITE_MIN_DOCS)
    for view in VIEWS:
        view_docs = [d for d in docs if d.view == view]
        results = {name: score(view_docs, cleaner, context) for name, cleaner in cleaners.items()}
        print_view(view, view_docs, results)
        print()
    traf = [d for d in docs if d.view == "trafilatura_recall"]
    print(f"== speed on the trafilatura_recall view ({len(traf)} documents, CPU ms per document, best pass)")
    for name, cleaner in cleaners.items():
        if name == "do nothing":
            continue
        passes = 1 if name.startswith("old") else SPEED_PASSES
        print(f"  {name:<24} {ms_per_doc(traf, cleaner, context, passes):7.3f} ms/doc")
    print()


# --- The dev sets (training data of the model now) ----------------------------------------------


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


def _new_dev_clean(text: str, title: str | None, domain_docs: list | None) -> Cleaned:
    site = stats_for_document()
    if domain_docs:
        keys = [document_keys(d.content) for d in domain_docs]
        table = site_table([(DOCS_KEY, 1) for _ in keys] + [(k, 1) for ks in keys for k in ks])
        site = stats_for_document(table)
    return clean_text(text, title=title, site=site, site_min_docs=DEV_SITE_MIN_DOCS - 1 if domain_docs else 0)


def _old_dev_clean(module):
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
    return dev_figures(_new_dev_clean)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--no-validation", action="store_true", help="Only the dev sets (seeds, text_dev).")
    args = parser.parse_args(argv)
    baseline = load_baseline()
    if baseline is None:
        print(
            f"(the previous cleaner, git {BASELINE_COMMIT}:transforms/clean.py, is not at hand: no baseline)"
        )
    if not args.no_validation and VALIDATION.exists():
        validation(baseline)
    print("== dev sets (seeds_gold.json, text_dev.json): training data of the line model")
    if baseline is not None:
        print_dev(f"old rules ({BASELINE_COMMIT})", dev_figures(_old_dev_clean(baseline)))
    print_dev("line model", dev_figures(_new_dev_clean))


if __name__ == "__main__":
    main()
