"""Quality on the labelled sets: cleaning, topics, extraction and dates.

    python benchmarks/quality.py [--html-dir DIR] [--split validation|train] [--passes N]
                                 [--skip-clean] [--skip-topics] [--skip-extract] [--skip-dates]

Cleaning and topics read the copies shipped in tests/resources (seeds_gold.json, text_dev.json,
topic_dev.json) and, when present, ../shared/data/topic/topic_validation.jsonl.gz. Extraction
scores our HTML path beside bare trafilatura on ../shared/data/boilerplate/pages_<split> and on
tests/resources/html_dev; dates score ours beside
htmldate on ../shared/data/dates/dates_<split> (``quality_extract.py``, ``quality_dates.py``).
A missing ../shared/data is said in one line and that part is skipped.
"""

from __future__ import annotations

import argparse
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))

import logging  # noqa: E402

# Beam's import warns when the optional GCP clients are absent; irrelevant here.
logging.getLogger().addFilter(lambda record: "apitools not found" not in record.getMessage())

import quality_clean  # noqa: E402
import quality_dates  # noqa: E402
import quality_extract  # noqa: E402
import quality_topics  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--html-dir", default=None, help="Folder of gzipped pages with ground_truth.json.")
    parser.add_argument("--split", default="validation", choices=("validation", "train"))
    parser.add_argument("--passes", default="2", help="Timed extraction rounds after the warm-up.")
    for part in ("clean", "topics", "extract", "dates"):
        parser.add_argument(f"--skip-{part}", action="store_true", help=f"Skip the {part} section.")
    args = parser.parse_args(argv)
    if not args.skip_clean:
        print("== cleaning (seeds_gold.json, text_dev.json)")
        quality_clean.main(["--no-validation"])  # the validation split: benchmarks/quality_clean.py
    if not args.skip_topics:
        print("\n== topics (topic_validation, topic_dev.json: lexicon and classifier)")
        quality_topics.main([])
    if not args.skip_extract:
        print("\n== extraction: our HTML path vs bare trafilatura.extract (4-gram shingle P/R/F1)")
        extract_args = ["--split", args.split, "--passes", args.passes]
        quality_extract.main(extract_args + (["--html-dir", args.html_dir] if args.html_dir else []))
    if not args.skip_dates:
        print("\n== dates: ours vs htmldate.find_date(original_date=True), exact day")
        quality_dates.main(["--split", args.split])
    return 0


if __name__ == "__main__":
    sys.exit(main())
