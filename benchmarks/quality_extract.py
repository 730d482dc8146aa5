"""Quality and cost of article extraction (``transforms/extract.py``) against plain trafilatura.

    python benchmarks/quality_extract.py [DIR]

DIR holds gzipped pages (``<Publisher>_<n>.html.gz``) and a ``ground_truth.json`` whose
``pages`` map each file name to its URL and true body paragraphs (the Fundus evaluation
format); it defaults to the 80 pages copied into ``tests/resources/html_dev``. Each page is scored
by 4-gram word-shingle precision, recall and F1 between the extracted text and the joined true
paragraphs: lowercase ``\\w+`` tokens, sets of shingles, as in the article-extraction benchmark,
and averaged over pages. "plain" is ``trafilatura.extract(html)`` with its defaults.
"""

from __future__ import annotations

import gzip
import json
import logging
import pathlib
import re
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Callable

import trafilatura

ROOT = pathlib.Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from transforms.extract import extract_article  # noqa: E402

DEFAULT_DIR = ROOT / "tests" / "resources" / "html_dev"
SHINGLE_N = 4
# Timing takes the fastest of a few passes, so one slow pass (a cold cache) does not decide.
TIMING_PASSES = 3
WORST_SHOWN = 8

_TOKEN_RE = re.compile(r"\w+")


def shingles(text: str, n: int = SHINGLE_N) -> set[tuple[str, ...]]:
    """The set of n-word shingles; a text shorter than n words is one shingle."""
    tokens = _TOKEN_RE.findall(text.lower())
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


def load_pages(pages_dir: pathlib.Path) -> dict[str, tuple[bytes, str | None, str]]:
    """File name -> (page bytes, URL, true body)."""
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


def _ours(html: bytes, url: str | None) -> str:
    page = extract_article(html, url)
    return page.text if page else ""


def _plain(html: bytes, url: str | None) -> str:
    return trafilatura.extract(html) or ""


EXTRACTORS: dict[str, Callable[[bytes, str | None], str]] = {"ours": _ours, "plain": _plain}


def _mean(rows: list[tuple[float, float, float]]) -> dict[str, float]:
    return {
        key: statistics.fmean(row[i] for row in rows) if rows else 0.0
        for i, key in enumerate(("precision", "recall", "f1"))
    }


def _seconds(extract: Callable[[bytes, str | None], str], pages: dict) -> float:
    best = float("inf")
    for _ in range(TIMING_PASSES):
        start = time.perf_counter()
        for html, url, _ in pages.values():
            extract(html, url)
        best = min(best, time.perf_counter() - start)
    return best


def extract_scores(pages_dir: str | pathlib.Path = DEFAULT_DIR, *, timing: bool = True) -> dict:
    """Mean precision, recall and F1 for ours and plain trafilatura, overall and per publisher.

    Also the per-page scores, and (with ``timing``) the seconds each extractor takes over all
    pages and ours-to-plain ratio.
    """
    pages = load_pages(pathlib.Path(pages_dir))
    per_page: dict[str, dict[str, tuple[float, float, float]]] = {}
    for name, (html, url, true) in pages.items():
        per_page[name] = {label: score(extract(html, url), true) for label, extract in EXTRACTORS.items()}

    by_publisher: dict[str, list[str]] = defaultdict(list)
    for name in per_page:
        by_publisher[name.rsplit("_", 1)[0]].append(name)
    result: dict = {"pages": len(per_page)}
    for label in EXTRACTORS:
        result[label] = _mean([scores[label] for scores in per_page.values()])
    result["per_publisher"] = {
        publisher: {label: _mean([per_page[n][label] for n in names]) for label in EXTRACTORS}
        | {"pages": len(names)}
        for publisher, names in sorted(by_publisher.items())
    }
    result["per_page"] = per_page
    if timing and pages:
        seconds = {label: _seconds(extract, pages) for label, extract in EXTRACTORS.items()}
        result["seconds"] = seconds
        result["time_ratio"] = seconds["ours"] / seconds["plain"] if seconds["plain"] else float("nan")
    return result


def _row(name: str, ours: dict[str, float], plain: dict[str, float], pages: int) -> str:
    return (
        f"{name:<22}{pages:>5}  "
        f"{ours['precision']:.3f} {ours['recall']:.3f} {ours['f1']:.3f}   "
        f"{plain['precision']:.3f} {plain['recall']:.3f} {plain['f1']:.3f}"
    )


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    pages_dir = pathlib.Path(args[0]) if args else DEFAULT_DIR
    # Trafilatura logs every page it discards; the scores say it better.
    logging.getLogger("trafilatura").setLevel(logging.ERROR)
    result = extract_scores(pages_dir)
    if not result["pages"]:
        print(f"no pages with ground truth in {pages_dir}")
        return 1
    print(f"{pages_dir}: {result['pages']} pages, 4-gram shingles, means over pages")
    print(f"{'':<22}{'pages':>5}  {'ours P     R     F1':<21}   {'plain P    R     F1'}")
    print(_row("ALL", result["ours"], result["plain"], result["pages"]))
    for publisher, scores in result["per_publisher"].items():
        print(_row(publisher, scores["ours"], scores["plain"], scores["pages"]))
    if "seconds" in result:
        seconds = result["seconds"]
        print(
            f"time: ours {seconds['ours']:.2f}s, plain {seconds['plain']:.2f}s, "
            f"ratio {result['time_ratio']:.2f} (fastest of {TIMING_PASSES} passes)"
        )
    worst = sorted(result["per_page"].items(), key=lambda item: item[1]["ours"][2])[:WORST_SHOWN]
    print("worst pages (ours P/R/F1 | plain F1):")
    for name, scores in worst:
        precision, recall, f1 = scores["ours"]
        print(f"  {name:<32} {precision:.2f} {recall:.2f} {f1:.2f} | {scores['plain'][2]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
