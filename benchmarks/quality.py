"""Quality on the labelled development sets: cleaning, topics and extraction.

    python benchmarks/quality.py [--html-dir DIR]

Reads the copies shipped in tests/resources: seeds_gold.json and text_dev.json (cleaning),
topic_dev.json (topics) and html_dev/ (80 real pages with their true bodies), and, when present,
../shared/data/topic/topic_validation.jsonl.gz (topics).
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
import quality_extract  # noqa: E402
import quality_topics  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--html-dir", default=None, help="Folder of gzipped pages with ground_truth.json.")
    args = parser.parse_args(argv)
    print("== cleaning (seeds_gold.json, text_dev.json)")
    quality_clean.main(["--no-validation"])  # the validation split: benchmarks/quality_clean.py
    print("\n== topics (topic_validation, topic_dev.json: lexicon and classifier)")
    quality_topics.main([])
    print("\n== extraction (html pages, 4-gram shingle F1)")
    quality_extract.main([args.html_dir] if args.html_dir else [])
    return 0


if __name__ == "__main__":
    sys.exit(main())
