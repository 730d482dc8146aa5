"""The benchmark's command line: sizes, passes and where results go, with the quick (CI) defaults."""

from __future__ import annotations

import argparse
import pathlib

import corpus

DEFAULT_SCALES = (10_000, 50_000, 100_000)
QUICK_HTML_PAGES = 30
QUICK_DEV_PAGES = 8
DEFAULT_FEED_PAGES = 300
QUICK_FEED_PAGES = 12
# A 5-document run lasts about 3 s and its runs spread by a few tenths: the median of 5.
DEFAULT_STARTUP_RUNS = 5
QUICK_STARTUP_RUNS = 2


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Speed, scale and memory of newsflow, side by side.")
    parser.add_argument(
        "--docs", type=int, default=corpus.DEFAULT_DOCS, help="Corpus size for the main runs."
    )
    parser.add_argument(
        "--scale",
        default=",".join(map(str, DEFAULT_SCALES)),
        help="Dedup-only sizes, comma-separated (default 10000,50000,100000; --quick: docs/2,docs).",
    )
    parser.add_argument(
        "--html-pages", type=int, default=None, help="Saved pages (default 1000; --quick 30)."
    )
    parser.add_argument("--feed-pages", type=int, default=None, help="Pages behind the feeds (default 300).")
    parser.add_argument("--passes", type=int, default=None, help="HTML timing passes (default 3; --quick 1).")
    parser.add_argument(
        "--pairs",
        type=int,
        default=1,
        help="Runs of newsflow run and the plain loop, alternated; their medians are reported (default 1).",
    )
    parser.add_argument(
        "--startup-runs",
        type=int,
        default=None,
        help="Runs of the 5-document start-up run; the median is reported (default 5; --quick 2).",
    )
    parser.add_argument("--out", type=pathlib.Path, default=pathlib.Path("/tmp/newsflow-bench"))
    parser.add_argument("--quick", action="store_true", help="Small sizes: checks the benchmark works.")
    parser.add_argument(
        "--pipeline-at-scale",
        action="store_true",
        help="Also run newsflow run over the largest scale (its peak RSS at 100,000 docs).",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="Profile what each missed target measures (cProfile; tracemalloc for memory).",
    )
    parser.add_argument("--keep", dest="fresh", action="store_false", help="Do not wipe --out first.")
    args = parser.parse_args(argv)
    args.argv = argv
    if args.quick:
        default_scales = f"{max(1, args.docs // 2)},{args.docs}"
        args.scale = default_scales if args.scale == ",".join(map(str, DEFAULT_SCALES)) else args.scale
        args.html_pages = QUICK_HTML_PAGES if args.html_pages is None else args.html_pages
        args.feed_pages = QUICK_FEED_PAGES if args.feed_pages is None else args.feed_pages
        args.passes = 1 if args.passes is None else args.passes
        args.startup_runs = QUICK_STARTUP_RUNS if args.startup_runs is None else args.startup_runs
    args.html_pages = corpus.DEFAULT_HTML_PAGES if args.html_pages is None else args.html_pages
    args.feed_pages = DEFAULT_FEED_PAGES if args.feed_pages is None else args.feed_pages
    args.passes = 3 if args.passes is None else args.passes
    args.startup_runs = DEFAULT_STARTUP_RUNS if args.startup_runs is None else args.startup_runs
    args.html_pages = min(args.html_pages, args.docs)
    args.scales = sorted({int(s) for s in args.scale.split(",") if s.strip()})
    if args.pairs < 1 or args.startup_runs < 1:
        parser.error("--pairs and --startup-runs must be at least 1")
    if not args.scales or max([args.docs, *args.scales]) > corpus.MAX_DOCS:
        parser.error(f"sizes must be between 1 and {corpus.MAX_DOCS}")
    return args
