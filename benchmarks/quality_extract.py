"""Quality and cost of our HTML path against bare ``trafilatura.extract``, on pages never tuned on.

    python benchmarks/quality_extract.py [--split validation|train] [--skip-pages] [--skip-html-dev]
                                         [--html-dir DIR] [--passes N]

Two page sets, each scored by 4-gram word-shingle precision, recall and F1 against the true body
(lowercase ``\\w+`` tokens, sets of shingles, as in the article-extraction benchmark), averaged
over pages:

* ``../shared/data/boilerplate/pages_<split>.jsonl.gz`` (CleanEval, CleanPortalEval, Dragnet,
  Readability and Fundus pages with their gold text), per source and overall;
* ``tests/resources/html_dev`` (80 news pages, ``ground_truth.json`` in the Fundus format).

Three columns: "path" is what lands in the lake's ``text``: ``extract_document`` then
``clean_document`` (a page either stage rejects scores 0; the rejects are counted per group, by
stage and reason); "extract" is extraction alone
(``extract_article``); "bare" is ``trafilatura.extract(html)`` with its defaults; "bare, no
comments" (F1 only, untimed) is ``trafilatura.extract(html, include_comments=False)``: the
product's definition of a body (reader comments are not article text), so the column shows how
much of bare's score on a source is reader comments its gold counts as text (CleanEval's). Milliseconds
per page are per-page minima over ``--passes`` interleaved rounds after a warm-up round (the
machine is shared: the minimum is the cost, the rest is waiting); each round starts with
trafilatura's and htmldate's caches emptied, so that no page is handed its own earlier results.
The path's time is extraction plus cleaning. ``--split train`` is for development; report validation. On
the training pages the shipped line model cleans pages it was trained on: ``--fold-models DIR``
(from ``training/train_line_model.py --fold-models DIR``) cleans each with the fold model that
left it out, an out-of-fold figure for the path.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import json
import logging
import pathlib
import re
import statistics
import sys
import time
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable

import trafilatura
from trafilatura.meta import reset_caches

ROOT = pathlib.Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.shared_data import SHARED_DATA  # noqa: E402
from schemas.records import Article, Reject  # noqa: E402
from transforms.core.clean_stage import clean_document  # noqa: E402
from transforms.core.decode import decode_html  # noqa: E402
from transforms.core.extract import extract_document  # noqa: E402
from transforms.core.line_model import LineModel  # noqa: E402

DEFAULT_DIR = ROOT / "tests" / "resources" / "html_dev"
SHINGLE_N = 4
TIMING_PASSES = 2
WORST_SHOWN = 8
NOW = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
LABELS = ("path", "extract", "bare", "bare_nc")

_TOKEN_RE = re.compile(r"\w+")


def reading_form(text: str) -> str:
    """A text as a reader reads it, for both sides of a comparison: NFKC, without invisible
    format characters (Unicode category Cf). Some golds keep the soft hyphens a page set in its
    words (Fundus: 7 of 201 train pages, 84 in one) or store letters decomposed (3): to the
    word tokens below, "Mit\u00adtel" would be two words and "u\u0308" two letters, so an
    extractor that gives the text as shown would lose shingles that no reader sees."""
    if text.isascii():
        return text
    return "".join(char for char in unicodedata.normalize("NFKC", text) if unicodedata.category(char) != "Cf")


def shingles(text: str, n: int = SHINGLE_N) -> set[tuple[str, ...]]:
    """The set of n-word shingles of the text's reading form; a text shorter than n words is
    one shingle."""
    tokens = _TOKEN_RE.findall(reading_form(text).lower())
    return {tuple(tokens[i : i + n]) for i in range(max(1, len(tokens) - n + 1))} if tokens else set()


def score(predicted: str, true: str) -> tuple[float, float, float]:
    """Precision, recall and F1 of the predicted body's shingles against the true body's."""
    pred, gold = shingles(predicted), shingles(true)
    if not pred and not gold:
        return 1.0, 1.0, 1.0
    if not pred or not gold:
        return 0.0, 0.0, 0.0
    common = len(pred & gold)
    precision, recall = common / len(pred), common / len(gold)
    f1 = 2 * precision * recall / (precision + recall) if common else 0.0
    return precision, recall, f1


class Page:
    """One page to score: its markup, URL, true body and group (source or publisher)."""

    def __init__(self, name: str, html: str, url: str | None, true: str, group: str) -> None:
        self.name, self.html, self.url, self.true, self.group = name, html, url, true, group


def load_pages(pages_dir: pathlib.Path) -> dict[str, tuple[bytes, str | None, str]]:
    """File name -> (page bytes, URL, true body) of a folder in the Fundus evaluation format."""
    truth = json.loads((pages_dir / "ground_truth.json").read_text(encoding="utf-8"))["pages"]
    pages = {}
    for name, entry in sorted(truth.items()):
        path = pages_dir / name
        if path.exists():
            pages[name] = (
                gzip.decompress(path.read_bytes()),
                entry.get("url"),
                "\n\n".join(entry["paragraphs"]),
            )
    return pages


def html_dev_pages(pages_dir: pathlib.Path) -> list[Page]:
    return [
        Page(name, decode_html(raw), url, true, name.rsplit("_", 1)[0])
        for name, (raw, url, true) in load_pages(pages_dir).items()
    ]


def shared_pages(path: pathlib.Path) -> list[Page]:
    with gzip.open(path, "rt", encoding="utf-8") as stream:
        rows = [json.loads(line) for line in stream]
    return [
        Page(row["id"], row["html"], row.get("url") or None, row["gold_text"], row["source"]) for row in rows
    ]


def _extract(page: Page) -> Article | Reject:
    article = Article(
        id="page", source="bench", text_source="page", ingested_at=NOW, url=page.url, html=page.html
    )
    return extract_document(article)


def _clean(extracted: Article | Reject, scorer: LineModel | None = None) -> Article | Reject:
    return extracted if isinstance(extracted, Reject) else clean_document(extracted, scorer=scorer)[0]


def fold_scorers(folder: pathlib.Path) -> Callable[[Page], LineModel | None]:
    """For ``--fold-models`` (``training/train_line_model.py --fold-models``): each training page's
    line model fitted without it, so that the path's figure on pages_train is out of fold (the
    shipped model was trained on these very pages). A page in no fold gets the shipped model."""
    folds = json.loads((folder / "folds.json").read_text(encoding="utf-8"))
    models = {k: LineModel.load(str(folder / f"fold{k}.npz")) for k in sorted(set(folds.values()))}

    def scorer(page: Page) -> LineModel | None:
        k = folds.get(f"page:{page.name}")
        return None if k is None else models[k]

    return scorer


def _outcome(done: Article | Reject) -> str | None:
    """``"clean/too_short"`` for a page the path rejects, None for one it keeps."""
    return f"{done.stage}/{done.reason}" if isinstance(done, Reject) else None


def _bare(page: Page) -> str:
    return trafilatura.extract(page.html) or ""


def _bare_without_comments(page: Page) -> str:
    return trafilatura.extract(page.html, include_comments=False) or ""


def _timed(function: Callable, *args):
    start = time.perf_counter()
    value = function(*args)
    return value, time.perf_counter() - start


def run_pages(
    pages: list[Page],
    passes: int = TIMING_PASSES,
    scorer_of: Callable[[Page], LineModel | None] | None = None,
) -> dict:
    """Scores and per-page minimum times of the three columns, per group and overall
    (``scorer_of``: the line model that cleans each page; default, the shipped one)."""
    texts: dict[str, dict[str, str]] = {}
    rejects: dict[str, str | None] = {}
    best: dict[str, dict[str, float]] = {
        page.name: dict.fromkeys(("extract", "clean", "bare"), float("inf")) for page in pages
    }
    for round_no in range(passes + 1):  # round 0 warms caches (htmldate's date parser, lxml)
        # Each round meets the pages as new: htmldate's and trafilatura's caches of strings
        # would otherwise hand a page the results of its own earlier round (in a run, each page
        # comes once). Caches filled by earlier pages of the round stay, as in a run.
        reset_caches()
        for page in pages:
            extracted, t_extract = _timed(_extract, page)
            done, t_clean = _timed(_clean, extracted, scorer_of(page) if scorer_of else None)
            bare_text, t_bare = _timed(_bare, page)
            if round_no == 0:
                rejects[page.name] = _outcome(done)
                texts[page.name] = {
                    "path": "" if isinstance(done, Reject) else done.text,
                    "extract": "" if isinstance(extracted, Reject) else extracted.text,
                    "bare": bare_text,
                    "bare_nc": _bare_without_comments(page),
                }
                continue
            times = best[page.name]
            times["extract"] = min(times["extract"], t_extract)
            times["clean"] = min(times["clean"], t_clean)
            times["bare"] = min(times["bare"], t_bare)
    per_page = {
        page.name: {label: score(texts[page.name][label], page.true) for label in LABELS} for page in pages
    }
    groups: dict[str, list[Page]] = defaultdict(list)
    for page in pages:
        groups[page.group].append(page)
    result = {"pages": len(pages), "per_page": per_page, "groups": {}}
    for group, members in [("ALL", pages)] + sorted(groups.items()):
        names = [page.name for page in members]
        ms = (
            {
                "extract": _mean_ms(best[n]["extract"] for n in names),
                "path": _mean_ms(best[n]["extract"] + best[n]["clean"] for n in names),
                "bare": _mean_ms(best[n]["bare"] for n in names),
            }
            if passes
            else {}
        )
        result["groups"][group] = {
            "pages": len(names),
            "rejects": dict(Counter(rejects[n] for n in names if rejects[n])),
            **{label: _mean([per_page[n][label] for n in names]) for label in LABELS},
            "ms": ms,
        }
    return result


def _mean(rows: list[tuple[float, float, float]]) -> dict[str, float]:
    return {
        key: statistics.fmean(row[i] for row in rows) if rows else 0.0
        for i, key in enumerate(("precision", "recall", "f1"))
    }


def _mean_ms(seconds: Iterable[float]) -> float:
    values = list(seconds)
    return 1000 * statistics.fmean(values) if values else 0.0


def print_result(result: dict, title: str) -> None:
    print(f"{title}: {result['pages']} pages, 4-gram shingles, means over pages")
    print(
        f"{'':<22}{'pages':>5}  {'path P    R     F1':<19}  {'extract F1':>10}  {'bare P    R     F1':<19}"
        f"  {'bare, no comments F1':>20}  {'ms: extract  path  bare  ratio':>30}"
    )
    for group, row in result["groups"].items():
        path, extract, bare, ms = row["path"], row["extract"], row["bare"], row["ms"]
        timing = (
            f"{ms['extract']:>13.1f}{ms['path']:>6.1f}{ms['bare']:>6.1f}{ms['extract'] / ms['bare']:>7.2f}"
            if ms and ms["bare"]
            else ""
        )
        print(
            f"{group:<22}{row['pages']:>5}  {path['precision']:.3f} {path['recall']:.3f} {path['f1']:.3f}"
            f"  {extract['f1']:>10.3f}  {bare['precision']:.3f} {bare['recall']:.3f} {bare['f1']:.3f}"
            f"  {row['bare_nc']['f1']:>20.3f}  {timing}"
        )
    rejected = [(group, row["rejects"]) for group, row in result["groups"].items() if row["rejects"]]
    print("pages the path rejects (score 0): " + ("none" if not rejected else ""))
    for group, counts in rejected:
        print(f"  {group:<20}" + ", ".join(f"{reason} {n}" for reason, n in sorted(counts.items())))
    worst = sorted(result["per_page"].items(), key=lambda item: item[1]["path"][2] - item[1]["bare"][2])
    print(f"pages furthest below bare (path F1 | extract F1 | bare F1), {WORST_SHOWN} of {result['pages']}:")
    for name, scores in worst[:WORST_SHOWN]:
        print(f"  {name:<40} {scores['path'][2]:.2f} | {scores['extract'][2]:.2f} | {scores['bare'][2]:.2f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--split", default="validation", choices=("validation", "train"))
    parser.add_argument(
        "--data", default=str(SHARED_DATA / "boilerplate"), help="The boilerplate/ data folder."
    )
    parser.add_argument(
        "--html-dir", default=str(DEFAULT_DIR), help="Folder of gzipped pages with ground_truth.json."
    )
    parser.add_argument(
        "--passes", type=int, default=TIMING_PASSES, help="Timed rounds after the warm-up (0: none)."
    )
    parser.add_argument(
        "--fold-models",
        default="",
        help="With --split train: clean each page with the line model of the fold that left it out "
        "(a folder written by training/train_line_model.py --fold-models).",
    )
    parser.add_argument("--skip-pages", action="store_true", help="Skip the shared pages set.")
    parser.add_argument("--skip-html-dev", action="store_true", help="Skip html_dev.")
    args = parser.parse_args(argv)
    if args.fold_models and args.split != "train":
        parser.error("--fold-models is for --split train: the validation pages are in no fold")
    # Trafilatura logs every page it discards, htmldate every odd date; the scores say it better.
    for name in ("trafilatura", "htmldate", "readability", "justext"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
    if not args.skip_pages:
        path = pathlib.Path(args.data) / f"pages_{args.split}.jsonl.gz"
        if path.exists():
            scorer_of = fold_scorers(pathlib.Path(args.fold_models)) if args.fold_models else None
            title = f"pages_{args.split}" + (", path cleaned out of fold" if scorer_of else "")
            print_result(run_pages(shared_pages(path), args.passes, scorer_of), title)
        else:
            print(f"pages: {path} not found, skipped (the shared data sets are not here)")
    if not args.skip_html_dev:
        pages = html_dev_pages(pathlib.Path(args.html_dir))
        if not pages:
            print(f"no pages with ground truth in {args.html_dir}")
            return 1
        print_result(run_pages(pages, args.passes), f"html_dev ({args.html_dir})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
