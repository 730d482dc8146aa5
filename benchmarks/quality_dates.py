"""Publication dates of our HTML path against htmldate, exact day, per gold source.

    python benchmarks/quality_dates.py [--split validation|train] [--data DIR]

Reads ``../shared/data/dates/dates_<split>.jsonl.gz`` (saved pages with their publication day,
see that folder's README) and dates each page twice:

* ours: the HTML path of the pipeline, ``extract_document`` then ``clean_document`` then
  ``resolve_date`` as ``enrich`` calls it; the day compared is the publisher's local day
  (``published`` shifted by ``published_offset`` when the page stated an offset, else the UTC day);
* htmldate: ``htmldate.find_date(html, original_date=True, url=url)``.

Exact-day accuracy per ``gold_source`` (an undated page counts as wrong), with the share of pages
each dates at all and where our dates came from. A page that extraction rejects (no article body:
a JavaScript shell, a consent wall) gets no row in the pipeline, so no date: it counts as wrong for
ours and is listed as ``rejects``; the last two columns compare both on the pages extraction keeps,
the dating alone. ``--split train`` is for development; the
figures to report are the validation ones (tune nothing on them).
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import json
import logging
import pathlib
import sys
import time
from collections import Counter, defaultdict

ROOT = pathlib.Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.shared_data import SHARED_DATA  # noqa: E402
from schemas.records import Article, Reject  # noqa: E402
from transforms.core.clean_stage import clean_document  # noqa: E402
from transforms.core.dates import local_day, resolve_date  # noqa: E402
from transforms.core.extract import extract_document  # noqa: E402

DATA = SHARED_DATA / "dates"
# Later than every page's publication: nothing is dropped as "in the future" by accident.
INGESTED_AT = dt.datetime(2026, 12, 31, tzinfo=dt.timezone.utc)


REJECTED = "rejected"


def our_date(html: str, url: str | None) -> tuple[dt.date | None, str | None]:
    """The publisher's day our HTML path gives a page, and the date source it came from
    (``REJECTED`` when extraction rejects the page)."""
    article = Article(
        id="page", source="bench", text_source="page", ingested_at=INGESTED_AT, url=url, html=html
    )
    extracted = extract_document(article)
    if isinstance(extracted, Reject):
        return None, REJECTED  # no article body: the pipeline writes no row, so no date
    cleaned, _ = clean_document(extracted)
    if isinstance(cleaned, Reject):
        # Too little text after cleaning (a reject in the pipeline): the dating does not
        # depend on it, so the page is still dated from what extraction found.
        cleaned = extracted
    resolved = resolve_date(
        cleaned.date_candidates, text=cleaned.header or cleaned.text, url=cleaned.url, ingested_at=INGESTED_AT
    )
    return local_day(resolved.published, resolved.offset), resolved.source


def htmldate_day(html: str, url: str | None) -> dt.date | None:
    from htmldate import find_date

    found = find_date(html, original_date=True, url=url)
    return dt.date.fromisoformat(found) if found else None


def load_rows(path: pathlib.Path) -> list[dict]:
    with gzip.open(path, "rt", encoding="utf-8") as stream:
        return [json.loads(line) for line in stream]


def date_scores(rows: list[dict]) -> dict:
    """Per gold source: pages, exact-day hits and dated pages for ours and htmldate; sources; times."""
    table: dict[str, Counter] = defaultdict(Counter)
    sources: Counter = Counter()
    seconds: Counter = Counter()
    # htmldate over every page first: our path limits htmldate's dateparser to its 40 most used
    # languages for the rest of the process (transforms/core/dates.py), and the baseline is
    # htmldate as shipped.
    baseline = []
    for row in rows:
        start = time.perf_counter()
        baseline.append(htmldate_day(row["html"], row.get("url") or None))
        seconds["htmldate"] += time.perf_counter() - start
    for row, theirs in zip(rows, baseline, strict=True):
        url = row.get("url") or None
        gold = row["gold_date"]  # compared as text: a few golds are no valid day ("2022-29-11")
        start = time.perf_counter()
        ours, source = our_date(row["html"], url)
        seconds["ours"] += time.perf_counter() - start
        sources[source or "none"] += 1
        for group in (row["gold_source"], "ALL"):
            counts = table[group]
            counts["pages"] += 1
            counts["ours_hit"] += ours is not None and ours.isoformat() == gold
            counts["ours_dated"] += ours is not None
            counts["htmldate_hit"] += theirs is not None and theirs.isoformat() == gold
            counts["htmldate_dated"] += theirs is not None
            if source == REJECTED:
                counts["rejects"] += 1
            else:
                counts["kept_ours_hit"] += ours is not None and ours.isoformat() == gold
                counts["kept_htmldate_hit"] += theirs is not None and theirs.isoformat() == gold
    return {"table": dict(table), "sources": dict(sources), "seconds": dict(seconds), "pages": len(rows)}


def print_scores(result: dict, label: str) -> None:
    print(f"{label}: {result['pages']} pages, exact day (share of pages dated)")
    print(
        f"{'gold_source':<28}{'pages':>6}  {'ours':>14}  {'htmldate':>14}  {'rejects':>7}"
        f"  {'kept: ours':>10}  {'htmldate':>8}"
    )
    groups = sorted(g for g in result["table"] if g != "ALL") + ["ALL"]
    for group in groups:
        c = result["table"][group]
        n = c["pages"]
        kept = max(1, n - c["rejects"])
        print(
            f"{group:<28}{n:>6}  {c['ours_hit'] / n:>6.3f} ({c['ours_dated'] / n:.2f})"
            f"  {c['htmldate_hit'] / n:>6.3f} ({c['htmldate_dated'] / n:.2f})  {c['rejects']:>7}"
            f"  {c['kept_ours_hit'] / kept:>10.3f}  {c['kept_htmldate_hit'] / kept:>8.3f}"
        )
    print(
        "our date sources: "
        + ", ".join(f"{k} {v}" for k, v in sorted(result["sources"].items(), key=lambda kv: -kv[1]))
    )
    ms = {k: v / max(1, result["pages"]) * 1000 for k, v in result["seconds"].items()}
    print(f"time per page: ours {ms['ours']:.1f} ms (whole HTML path), htmldate {ms['htmldate']:.1f} ms")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--split", default="validation", choices=("validation", "train"))
    parser.add_argument("--data", default=str(DATA), help="The dates/ folder of the shared data.")
    args = parser.parse_args(argv)
    logging.getLogger("trafilatura").setLevel(logging.CRITICAL)
    logging.getLogger("htmldate").setLevel(logging.CRITICAL)
    path = pathlib.Path(args.data) / f"dates_{args.split}.jsonl.gz"
    if not path.exists():
        print(f"dates: {path} not found, skipped (the shared data sets are not here)")
        return 0
    print_scores(date_scores(load_rows(path)), f"dates_{args.split}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
