"""Speed, scale and memory of newsflow, measured side by side on one generated corpus.

    python benchmarks/run.py                        # 20,000 docs; dedup scaling at 10k, 50k, 100k
    python benchmarks/run.py --docs 500 --quick     # the CI smoke run: checks it works, not how fast

Every measurement runs in its own child process (``benchmarks/measure.py``: wall seconds, CPU
seconds, peak RSS of the process tree). What is measured, in one run:

1. ``newsflow run`` (the real CLI, FnApiRunner) over the corpus as one JSONL file, in one run
   (``--max_batch_mb 0``): docs/s, peak RSS and seconds per stage (from its run record); with
   ``--pipeline-at-scale``, also over the largest corpus with the default batches.
2. The plain loop: the same stage functions without Beam, on every core
   (``benchmarks/workers.py plain``); the floor under Beam's overhead. The ids that end in
   each dataset must be the ones ``newsflow run`` wrote.
3. The I/O floor: read the same JSONL, write the same Hive-partitioned Parquet, no processing.
4. Start-up: ``newsflow run`` over 5 documents, ``--startup-runs`` times (the median run).
5. The HTML path: ``newsflow run`` over the saved pages against bare ``trafilatura.extract``
   in a pool of one process per core (pages/s), and time per page of both in one process,
   with their F1 against the true body (and on the real pages of tests/resources/html_dev).
6. Deduplication recall and precision against the planted copies, and the time of
   deduplication alone (``Deduplicate`` on the FnApiRunner, and in memory) at each ``--scale``.
7. The fetch path: ``newsflow run --feeds`` against RSS feeds of the saved pages on 127.0.0.1.

Results: a table on stdout and ``<out>/results.json``; each target is reported met or missed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import pathlib
import shutil
import statistics
import sys
import time
from typing import Any

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent
for _path in (str(ROOT), str(HERE)):
    if _path not in sys.path:
        sys.path.insert(0, _path)

import corpus  # noqa: E402
from cli_args import QUICK_DEV_PAGES, parse_args  # noqa: E402
from corpus_server import CorpusServer  # noqa: E402
from measure import log, machine, measure, newsflow_cmd, read_json, worker_cmd  # noqa: E402
from report import format_report, targets  # noqa: E402
from score import lake_dedup, lake_ids, lake_partitions, profile_summary, run_record, score_dedup  # noqa: E402

STARTUP_DOCS = 5


def _prefix_jsonl(source: pathlib.Path, target: pathlib.Path, docs: int) -> set[str]:
    target.parent.mkdir(parents=True, exist_ok=True)
    ids = set()
    with source.open(encoding="utf-8") as src, target.open("w", encoding="utf-8") as dst:
        for n, line in enumerate(src):
            if n == docs:
                break
            dst.write(line)
            ids.add(json.loads(line)["id"])
    return ids


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.out: pathlib.Path = args.out
        self.results: dict[str, Any] = {
            "command": " ".join(["python", "benchmarks/run.py", *args.argv]),
            "started_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "docs": args.docs,
            "scales": args.scales,
            "quick": args.quick,
            "machine": machine(),
        }

    def path(self, *parts: str) -> pathlib.Path:
        return self.out.joinpath(*parts)

    def run(self) -> dict[str, Any]:
        args = self.args
        if self.out.exists() and args.fresh:
            shutil.rmtree(self.out)
        self.out.mkdir(parents=True, exist_ok=True)
        largest = max([args.docs, *args.scales])
        self.corpus_dir = self.path("corpus")
        log(f"corpus: {largest} docs, {args.html_pages} pages -> {self.corpus_dir}")
        started = time.perf_counter()
        summary = corpus.write_corpus(self.corpus_dir, largest, html_pages=args.html_pages)
        summary["seconds"] = round(time.perf_counter() - started, 1)
        self.results["corpus"] = summary
        self.truth = corpus.read_truth(self.corpus_dir)
        self.main_ids = _prefix_jsonl(
            self.corpus_dir / "articles.jsonl", self.path(f"seeds-{args.docs}", "articles.jsonl"), args.docs
        )
        self.pipeline_and_plain()
        self.html_run()
        self.html()
        self.fetch()
        self.dedup_scaling()
        if args.pipeline_at_scale and largest > args.docs:
            self.pipeline_at_scale(largest)
        self.results["targets"] = targets(self.results)
        if args.profile:
            self.profile_misses()
        self.results["finished_at"] = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
        (self.out / "results.json").write_text(
            json.dumps(self.results, indent=1, default=str), encoding="utf-8"
        )
        return self.results

    def _newsflow(
        self, seeds: pathlib.Path, lake: pathlib.Path, docs: int, log: str, *extra: str
    ) -> dict[str, Any]:
        shutil.rmtree(lake, ignore_errors=True)
        measured = measure(
            [*newsflow_cmd(), "run", "--seeds", str(seeds), "--output", str(lake), *extra], self.path(log)
        )
        record = run_record(lake)
        pairs, present = lake_dedup(lake)
        return {
            "docs": docs,
            **measured,
            "docs_per_second": round(docs / measured["wall_seconds"], 2),
            "run_seconds": record.get("seconds"),
            "batches": record.get("batches", 1),
            "counts": record.get("counts"),
            "balanced": record.get("balanced"),
            "stage_seconds": record.get("stage_seconds"),
            "_pairs": pairs,
            "_present": present,
        }

    def _plain(self, seeds: pathlib.Path, docs: int, name: str, dump: pathlib.Path | None = None) -> dict:
        result = self.path(f"{name}.json")
        out = self.path(name)
        shutil.rmtree(out, ignore_errors=True)
        extra = [str(dump)] if dump else []
        measured = measure(
            worker_cmd("plain", seeds / "articles.jsonl", out, result, *extra), self.path(f"{name}.log")
        )
        payload = read_json(result)
        # Pickling the enriched articles for the dedup runs comes after the loop: not its time.
        measured["wall_seconds"] = round(measured["wall_seconds"] - payload["dump_seconds"], 3)
        return {
            "docs": docs,
            **measured,
            "dump_seconds": payload["dump_seconds"],
            "docs_per_second": round(docs / measured["wall_seconds"], 2),
            "loop_docs_per_second": round(docs / payload["seconds"], 2),
            "loop_seconds": payload["seconds"],
            "stage_seconds": payload["stage_seconds"],
            "written": payload["written"],
            "rejects": payload["rejects"],
            "_pairs": payload["duplicates"],
            "_present": set(payload["present_ids"]),
            "_ids": payload["ids"],
            "workers": payload["workers"],
        }

    def pipeline_and_plain(self) -> None:
        docs = self.args.docs
        seeds = self.path(f"seeds-{docs}")
        planted = corpus.prefix_truth(self.truth, self.main_ids)
        log(f"newsflow run over {docs} docs (FnApiRunner)")
        # One run, as the plain loop deduplicates: the same ids are expected in each dataset.
        # (Split into batches, --max_batch_mb, a later batch's copy of an earlier batch's
        # article is the duplicate whichever was published first: the largest corpus's run
        # measures that default.)
        pipeline = self._newsflow(seeds, self.path("lake"), docs, "pipeline.log", "--max_batch_mb", "0")
        log(f"  {pipeline['wall_seconds']} s, {pipeline['peak_rss_mb']} MB")
        log(f"plain loop over {docs} docs")
        dump = self.path("enriched") if max(self.args.scales) <= docs else None
        plain = self._plain(seeds, docs, "plain", dump)
        log(f"  {plain['wall_seconds']} s, {plain['peak_rss_mb']} MB")
        quality = {}
        for name, run in (("pipeline", pipeline), ("plain_loop", plain)):
            quality[name] = score_dedup(planted, run.pop("_pairs"), run.pop("_present"))
        pipeline["vs_plain"] = round(pipeline["docs_per_second"] / plain["docs_per_second"], 3)
        if self.args.pairs > 1:
            self.more_pairs(seeds, docs, pipeline, plain)
        ours, theirs = lake_ids(self.path("lake")), plain.pop("_ids")
        self.results["same_ids"] = {name: ours[name] == theirs[name] for name in ours}
        self.results["pipeline"] = pipeline
        self.results["plain_loop"] = plain
        self.results["dedup_quality"] = quality
        self.floor(seeds, docs)
        self.startup()

    def more_pairs(self, seeds: pathlib.Path, docs: int, pipeline: dict, plain: dict) -> None:
        """``--pairs``: more runs of both, alternated, so that the machine's drift falls on both
        alike; the rates become the medians, the ratio the median of the pairs' ratios (the
        first pair's run keeps its other figures)."""
        rates = [(pipeline["docs_per_second"], plain["docs_per_second"])]
        for pair in range(1, self.args.pairs):
            log(f"pair {pair + 1} of {self.args.pairs}: newsflow run, then the plain loop")
            lake = self.path(f"lake-pair{pair}")
            again = self._newsflow(seeds, lake, docs, f"pipeline-pair{pair}.log", "--max_batch_mb", "0")
            shutil.rmtree(lake, ignore_errors=True)
            loop = self._plain(seeds, docs, f"plain-pair{pair}")
            shutil.rmtree(self.path(f"plain-pair{pair}"), ignore_errors=True)
            rates.append((again["docs_per_second"], loop["docs_per_second"]))
            log(f"  {again['docs_per_second']} and {loop['docs_per_second']} docs/s")
        pipeline["pairs"] = [{"pipeline": a, "plain": b, "ratio": round(a / b, 3)} for a, b in rates]
        pipeline["median_docs_per_second"] = statistics.median(a for a, _ in rates)
        plain["median_docs_per_second"] = statistics.median(b for _, b in rates)
        pipeline["vs_plain"] = round(statistics.median(a / b for a, b in rates), 3)

    def floor(self, seeds: pathlib.Path, docs: int) -> None:
        """The I/O floor: the same JSONL in, the same partitioned Parquet out, nothing between."""
        partitions = self.path("floor-partitions.json")
        partitions.write_text(json.dumps(lake_partitions(self.path("lake"))), encoding="utf-8")
        out, result = self.path("floor"), self.path("floor.json")
        shutil.rmtree(out, ignore_errors=True)
        log(f"I/O floor over {docs} docs")
        measured = measure(
            worker_cmd("floor", seeds / "articles.jsonl", partitions, out, result), self.path("floor.log")
        )
        payload = read_json(result)
        self.results["floor"] = {
            **measured,
            **payload,
            "docs_per_second": round(docs / measured["wall_seconds"], 2),
        }

    def startup(self) -> None:
        seeds = self.path(f"seeds-{STARTUP_DOCS}")
        _prefix_jsonl(self.corpus_dir / "articles.jsonl", seeds / "articles.jsonl", STARTUP_DOCS)
        runs = []
        for n in range(1, self.args.startup_runs + 1):
            log(f"newsflow run over {STARTUP_DOCS} docs (start-up), run {n} of {self.args.startup_runs}")
            runs.append(self._newsflow(seeds, self.path("lake-startup"), STARTUP_DOCS, f"startup-{n}.log"))
        # The run of median wall time stands for all; every run's wall time is kept beside it.
        run = sorted(runs, key=lambda r: r["wall_seconds"])[(len(runs) - 1) // 2]
        for key in ("_pairs", "_present"):
            run.pop(key)
        run["runs_wall_seconds"] = [r["wall_seconds"] for r in runs]
        self.results["startup"] = run

    def html_run(self) -> None:
        """``newsflow run`` over the saved pages against bare trafilatura on every core."""
        pages = self.corpus_dir / "html"
        count = len(list(pages.glob("*.html")))
        lake = self.path("lake-html")
        shutil.rmtree(lake, ignore_errors=True)
        log(f"newsflow run over {count} saved pages")
        measured = measure(
            [*newsflow_cmd(), "run", "--seeds", str(pages), "--output", str(lake)], self.path("html-run.log")
        )
        result = self.path("html-pool.json")
        log(f"trafilatura.extract over {count} saved pages, a process per core")
        pool_measured = measure(worker_cmd("html_pool", pages, result), self.path("html-pool.log"))
        pool = {**read_json(result), "peak_rss_mb": pool_measured["peak_rss_mb"]}
        rate = round(count / measured["wall_seconds"], 2)
        self.results["html_run"] = {
            "pages": count,
            **measured,
            "pages_per_second": rate,
            "counts": run_record(lake).get("counts"),
            "pool": pool,
            "vs_pool": round(rate / pool["pages_per_second"], 3),
        }

    def html(self) -> None:
        args = self.args
        self.results["html"] = {}
        for name, folder, limit in (
            ("corpus_pages", self.corpus_dir, args.html_pages),
            ("html_dev", ROOT / "tests" / "resources" / "html_dev", QUICK_DEV_PAGES if args.quick else 10**6),
        ):
            log(f"html: trafilatura.extract vs extract_article on {name}")
            result = self.path(f"html-{name}.json")
            measured = measure(
                worker_cmd("html", folder, limit, args.passes, result), self.path(f"html-{name}.log")
            )
            self.results["html"][name] = {**read_json(result), "peak_rss_mb": measured["peak_rss_mb"]}

    def fetch(self) -> None:
        pages = min(self.args.feed_pages, self.args.html_pages)
        lake = self.path("lake-fetch")
        shutil.rmtree(lake, ignore_errors=True)
        with CorpusServer(self.corpus_dir, pages=pages) as server:
            feeds = self.path("feeds.txt")
            feeds.write_text("\n".join(server.feed_urls) + "\n")
            log(f"fetch path: {pages} pages in {len(server.feed_urls)} feeds from {server.base_url}")
            cmd = [
                *newsflow_cmd(), "run", "--feeds", str(feeds), "--output", str(lake),
                "--allow_private_hosts", "--min_host_interval", "0",
            ]  # fmt: skip
            measured = measure(cmd, self.path("fetch.log"))
        record = run_record(lake)
        self.results["fetch"] = {
            "pages": pages,
            **measured,
            "docs_per_second": round(pages / measured["wall_seconds"], 2),
            "counts": record.get("counts"),
            "stage_seconds": record.get("stage_seconds"),
        }

    def dedup_scaling(self) -> None:
        args = self.args
        enriched = self.path("enriched")
        largest = max(args.scales)
        if not enriched.exists():
            seeds = self.path(f"seeds-{largest}")
            _prefix_jsonl(self.corpus_dir / "articles.jsonl", seeds / "articles.jsonl", largest)
            log(f"plain loop over {largest} docs (enriched articles for the dedup runs)")
            self.results["plain_loop_at_scale"] = run = self._plain(
                seeds, largest, f"plain-{largest}", enriched
            )
            for key in ("_pairs", "_present", "_ids"):
                run.pop(key)
        rows = []
        for docs in args.scales:
            row: dict[str, Any] = {"docs": docs}
            for engine in ("beam", "pure"):
                log(f"dedup {engine} at {docs} docs")
                result = self.path(f"dedup-{engine}-{docs}.json")
                measured = measure(
                    worker_cmd("dedup", engine, enriched, docs, result),
                    self.path(f"dedup-{engine}-{docs}.log"),
                )
                payload = read_json(result)
                row[engine] = {
                    "seconds": payload["seconds"],
                    "wall_seconds": measured["wall_seconds"],
                    "peak_rss_mb": measured["peak_rss_mb"],
                    "kept": payload["kept"] if isinstance(payload["kept"], int) else None,
                    **{k: payload[k] for k in ("load_seconds", "dedup_seconds") if k in payload},
                }
                row[engine]["duplicates"] = len(payload["duplicates"])
                pairs = payload["duplicates"]
                if engine == "beam":
                    beam_pairs = sorted(map(tuple, pairs))
                else:
                    row["same_decisions"] = beam_pairs == sorted(map(tuple, pairs))
                if engine == "pure":
                    ids = set(payload["present_ids"])
                    planted = corpus.prefix_truth(self.truth, {f"n{n:06d}" for n in range(1, docs + 1)})
                    row["beam"]["quality"] = score_dedup(planted, beam_pairs, ids)
                    row["beam"]["quality"].pop("kinds")
                    row["pure"]["quality"] = score_dedup(planted, pairs, ids)
                    row["pure"]["quality"].pop("kinds")
                log(f"  {payload['seconds']} s, {measured['peak_rss_mb']} MB")
            rows.append(row)
        for row in rows:
            row["beam_seconds_per_1k"] = round(row["beam"]["seconds"] / row["docs"] * 1000, 3)
            row["pure_seconds_per_1k"] = round(row["pure"]["seconds"] / row["docs"] * 1000, 3)
        self.results["dedup_scaling"] = rows

    def profile_misses(self) -> None:
        """cProfile (or tracemalloc, for memory) of what each missed target measures."""
        args = self.args
        missed = {t["name"] for t in self.results["targets"] if t["met"] is False}
        profiles: dict[str, Any] = {}
        small = min(args.docs, 5_000)
        seeds = self.path(f"seeds-{small}")
        if not seeds.exists():
            _prefix_jsonl(self.corpus_dir / "articles.jsonl", seeds / "articles.jsonl", small)
        jobs: list[tuple[str, list[str]]] = []
        if "html_vs_trafilatura" in missed:
            result = self.path("profile-html.json")
            jobs.append(
                (
                    "html_vs_trafilatura",
                    worker_cmd("html", self.corpus_dir, args.html_pages, 1, result, "ours"),
                )
            )
        if "dedup_seconds" in missed:
            # The middle size: profiling roughly doubles the time.
            docs = args.scales[len(args.scales) // 2]
            result = self.path("profile-dedup.json")
            cmd = worker_cmd("dedup", "beam", self.path("enriched"), docs, result)
            jobs.append(("dedup_seconds", cmd))
        if "beam_vs_plain_loop" in missed:
            lake = self.path("profile-lake")
            shutil.rmtree(lake, ignore_errors=True)
            jobs.append(
                (
                    "beam_vs_plain_loop",
                    ["-m", "pipeline", "run", "--seeds", str(seeds), "--output", str(lake)],
                )
            )
        for name, cmd in jobs:
            prof = self.path(f"profile-{name}.prof")
            log(f"profiling {name}")
            script = cmd[1:] if cmd[0] == sys.executable else cmd
            measure(
                [sys.executable, "-m", "cProfile", "-o", str(prof), *script], self.path(f"profile-{name}.log")
            )
            profiles[name] = {"command": " ".join(map(str, script)), **profile_summary(prof)}
        if "peak_rss" in missed:
            log(f"tracemalloc of newsflow run over {small} docs")
            lake = self.path("profile-memory-lake")
            shutil.rmtree(lake, ignore_errors=True)
            result = self.path("profile-memory.json")
            measure(worker_cmd("memory", seeds, lake, result), self.path("profile-memory.log"))
            profiles["peak_rss"] = {"docs": small, **read_json(result)}
        self.results["profiles"] = profiles

    def pipeline_at_scale(self, docs: int) -> None:
        log(f"newsflow run over {docs} docs (peak RSS at scale)")
        run = self._newsflow(
            self.path(f"seeds-{docs}"), self.path("lake-scale"), docs, f"pipeline-{docs}.log"
        )
        ids = {f"n{n:06d}" for n in range(1, docs + 1)}
        run["dedup_quality"] = score_dedup(
            corpus.prefix_truth(self.truth, ids), run.pop("_pairs"), run.pop("_present")
        )
        self.results["pipeline_at_scale"] = run


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    results = Bench(args).run()
    print(format_report(results))
    print(f"\nresults: {args.out / 'results.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
