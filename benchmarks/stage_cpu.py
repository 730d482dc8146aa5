"""CPU time per document of the text path's stage functions, in one process, no Beam.

    python benchmarks/stage_cpu.py CORPUS/articles.jsonl --docs 2000            # ms of CPU per document
    python benchmarks/stage_cpu.py CORPUS/articles.jsonl --profile tottime      # cProfile's top functions

The plain loop's stages (``benchmarks/plain.py``) over the first ``--docs`` records: parse and
extract, site tables, cleaning in batches of ``CLEAN_BATCH`` (as ``CleanArticles`` calls it) and enrichment
in batches of ``BATCH_SIZE`` (as ``EnrichArticles``), both through the stages' own batch
functions (``make_cleaner``, ``make_enricher``, as the plain loop). CPU time
(``time.process_time``), the best of ``--repeat`` passes after a warm-up pass: on a machine
shared with other work, wall time says more about the neighbours than about the code.
``--dump`` pickles the enriched articles, to compare two versions' output.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import pathlib
import pickle
import pstats
import sys
import time

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent
for _path in (str(ROOT), str(HERE)):
    if _path not in sys.path:
        sys.path.insert(0, _path)

import plain  # noqa: E402

NOW = dt.datetime(2026, 12, 2, tzinfo=dt.timezone.utc)


def run_stages(data: bytes, stage: dict) -> tuple[list, dict[str, float]]:
    """The stage functions over a JSONL corpus: the enriched articles (or rejects) and the CPU
    seconds of each stage."""
    from schemas.records import Reject
    from transforms.batches import BATCH_SIZE  # the batch EnrichArticles gives the enrich stage
    from transforms.clean import CLEAN_BATCH  # the batch CleanArticles gives the line model
    from transforms.core.clean import NO_SITE
    from transforms.core.clean_stage import site_of
    from transforms.core.extract import extract_document
    from transforms.core.seeds import parse_seed_file
    from transforms.core.sites import site_tables, stats_for_document

    seconds: dict[str, float] = {}
    clock = time.process_time()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.process_time()
        seconds[name] = now - clock
        clock = now

    records = [r for r in parse_seed_file("articles.jsonl", data, NOW) if not isinstance(r, Reject)]
    extracted = [e for e in map(extract_document, records) if not isinstance(e, Reject)]
    lap("parse_extract")
    tables = site_tables((site_of(article), article.text) for article in extracted)
    lap("site_tables")
    pairs = []
    for article in extracted:
        table = tables.get(site_of(article))
        pairs.append((article, stats_for_document(table) if table else NO_SITE))
    cleaned = []
    for start in range(0, len(pairs), CLEAN_BATCH):
        batch = pairs[start : start + CLEAN_BATCH]
        cleaned += [done for done, _ in stage["clean"](batch)]
    lap("clean")
    out = []
    for start in range(0, len(cleaned), BATCH_SIZE):
        batch = cleaned[start : start + BATCH_SIZE]
        enriched = iter(stage["enrich"]([done for done in batch if not isinstance(done, Reject)]))
        out += [done if isinstance(done, Reject) else next(enriched) for done in batch]
    lap("enrich")
    return out, seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("jsonl", type=pathlib.Path, help="A corpus's articles.jsonl (benchmarks/corpus.py).")
    parser.add_argument("--docs", type=int, default=2000, help="Records to read from its start.")
    parser.add_argument("--repeat", type=int, default=3, help="Timed passes; the best counts.")
    parser.add_argument("--profile", choices=("tottime", "cumulative"), help="Print cProfile's top.")
    parser.add_argument("--dump", type=pathlib.Path, help="Pickle the enriched articles here.")
    args = parser.parse_args(argv)
    with args.jsonl.open("rb") as handle:
        data = b"".join(line for _, line in zip(range(args.docs), handle, strict=False))
    plain.quiet()
    plain._init_plain_worker()
    stage = plain._stage
    out, _ = run_stages(data, stage)  # warm-up: caches, lazy tables
    if args.profile:
        profiler = cProfile.Profile()
        profiler.enable()
        run_stages(data, stage)
        profiler.disable()
        pstats.Stats(profiler).sort_stats(args.profile).print_stats(40)
        return 0
    best: dict[str, float] = {}
    for _ in range(args.repeat):
        out, seconds = run_stages(data, stage)
        best = {name: min(best.get(name, value), value) for name, value in seconds.items()}
    per_doc = {name: round(value * 1000 / args.docs, 3) for name, value in best.items()}
    print(f"CPU ms per document over {args.docs} docs (best of {args.repeat}):", per_doc)
    print("total", round(sum(per_doc.values()), 3))
    if args.dump:
        with args.dump.open("wb") as handle:
            pickle.dump(out, handle, protocol=pickle.HIGHEST_PROTOCOL)
    return 0


if __name__ == "__main__":
    sys.exit(main())
