"""The benchmark's measurements that run in their own process: ``python benchmarks/workers.py KIND ARGS``.

* ``plain``: the plain loop, every stage function over the corpus without Beam, on every core
  (extraction and cleaning plus enrichment shared over a process pool, the corpus-level steps,
  site lines and deduplication, in the main process); the floor under Beam's overhead.
* ``floor``: the I/O floor, reading the same JSONL and writing the same Hive-partitioned Parquet
  with pyarrow, no processing.
* ``html_pool``: bare ``trafilatura.extract`` over saved pages in a pool of one process per core.
* ``html``: time per page of bare trafilatura and of our HTML path, and their F1.
* ``dedup``: deduplication alone, ``Deduplicate`` on the FnApiRunner or in memory.
* ``memory``: ``newsflow run`` under tracemalloc.

Each writes its figures as JSON to the path it is given.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import pathlib
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from typing import Any

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent
for _path in (str(ROOT), str(HERE)):
    if _path not in sys.path:
        sys.path.insert(0, _path)


from plain import MB, dedup_in_memory, load_shard, quiet, shard_specs, worker_floor, worker_plain  # noqa: E402

# --- bare trafilatura on every core -----------------------------------------------------------


def _trafilatura_file(path: str) -> int:
    import trafilatura

    text = trafilatura.extract(pathlib.Path(path).read_text(encoding="utf-8"))
    return len(text or "")


def worker_html_pool(folder: str, result: str, workers: str = "0") -> None:
    """Bare ``trafilatura.extract`` over every saved page of ``folder`` in a process pool."""
    processes = int(workers) or os.cpu_count() or 1
    paths = sorted(str(p) for p in pathlib.Path(folder).glob("*.html"))
    started = time.perf_counter()
    with ProcessPoolExecutor(processes, mp_context=multiprocessing.get_context("spawn")) as pool:
        extracted = sum(1 for n in pool.map(_trafilatura_file, paths, chunksize=16) if n)
    seconds = time.perf_counter() - started
    payload = {
        "pages": len(paths),
        "extracted": extracted,
        "workers": processes,
        "seconds": round(seconds, 3),
    }
    payload["pages_per_second"] = round(len(paths) / seconds, 2)
    pathlib.Path(result).write_text(json.dumps(payload), encoding="utf-8")


def worker_dedup(engine: str, enriched: str, docs: str, result: str) -> None:
    """Deduplication alone over the first ``docs`` enriched articles: ``Deduplicate`` or in memory."""
    started = time.perf_counter()
    import apache_beam as beam
    from apache_beam.options.pipeline_options import PipelineOptions

    from transforms.dedup import Deduplicate

    quiet()
    specs = shard_specs(pathlib.Path(enriched), int(docs))
    t0 = time.perf_counter()
    payload: dict[str, Any] = {"engine": engine, "import_seconds": round(t0 - started, 3)}
    if engine == "pure":
        articles = [article for spec in specs for article in load_shard(spec)]
        t1 = time.perf_counter()
        kept, duplicates = dedup_in_memory(articles)
        t2 = time.perf_counter()
        payload |= {
            "docs": len(articles),
            "load_seconds": round(t1 - t0, 3),
            "dedup_seconds": round(t2 - t1, 3),
            "seconds": round(t2 - t0, 3),
            "kept": len(kept),
            "duplicates": [[d.id, d.duplicate_of, d.kind] for d in duplicates],
            "present_ids": [a.id for a in articles],
        }
    else:
        out = pathlib.Path(result).with_suffix(".parts")
        out.mkdir(exist_ok=True)
        p = beam.Pipeline(options=PipelineOptions(["--runner=FnApiRunner"]))
        articles = p | "Shards" >> beam.Create(specs) | "LoadShards" >> beam.FlatMap(load_shard)
        deduped = articles | "Deduplicate" >> Deduplicate()
        (
            deduped["kept"]
            | "CountKept" >> beam.combiners.Count.Globally()
            | "SaveKept" >> beam.Map(lambda n: (out / "kept.json").write_text(json.dumps(n)))
        )
        (
            deduped["duplicates"]
            | "DuplicatePairs" >> beam.Map(lambda d: [d.id, d.duplicate_of, d.kind])
            | "CollectPairs" >> beam.combiners.ToList()
            | "SavePairs" >> beam.Map(lambda pairs: (out / "duplicates.json").write_text(json.dumps(pairs)))
        )
        p.run().wait_until_finish()
        t2 = time.perf_counter()
        payload |= {
            "docs": sum(count for _, count in specs),
            "seconds": round(t2 - t0, 3),
            "kept": json.loads((out / "kept.json").read_text()),
            "duplicates": json.loads((out / "duplicates.json").read_text()),
        }
    pathlib.Path(result).write_text(json.dumps(payload), encoding="utf-8")


def _load_pages(folder: pathlib.Path, limit: int) -> list[tuple[str, str, str, str]]:
    """(name, html, url, true body) of a corpus's saved pages or of html_dev's gzipped pages."""
    import gzip

    pages = []
    if (folder / "html_truth.json").exists():
        truth = json.loads((folder / "html_truth.json").read_text(encoding="utf-8"))["pages"]
        for name in sorted(truth)[:limit]:
            markup = (folder / "html" / name).read_text(encoding="utf-8")
            pages.append((name, markup, truth[name]["url"], "\n".join(truth[name]["paragraphs"])))
    else:
        from transforms.core.decode import decode_html

        truth = json.loads((folder / "ground_truth.json").read_text(encoding="utf-8"))["pages"]
        for name in sorted(truth)[:limit]:
            markup = decode_html(gzip.decompress((folder / name).read_bytes()))
            pages.append((name, markup, truth[name]["url"], "\n".join(truth[name]["paragraphs"])))
    return pages


def worker_html(folder: str, limit: str, passes: str, result: str, only: str = "") -> None:
    """Time per page of bare trafilatura and of our HTML path, and their F1 against the true body
    (``only``: run just one of them, for profiling)."""
    import trafilatura
    from quality_extract import score

    from transforms.core.extract import extract_article

    quiet()
    pages = _load_pages(pathlib.Path(folder), int(limit))
    runs: dict[str, Any] = {
        "trafilatura": lambda markup, url: trafilatura.extract(markup),
        "ours": lambda markup, url: page.text if (page := extract_article(markup, url)) else None,
    }
    if only:
        runs = {only: runs[only]}
    # Warm both (lazy imports, compiled XPaths) before timing.
    for run in runs.values():
        run(pages[0][1], pages[0][2])
    best = {name: float("inf") for name in runs}
    texts: dict[str, list] = {}
    for index in range(int(passes)):
        order = list(runs) if index % 2 == 0 else list(reversed(runs))
        for name in order:
            start = time.perf_counter()
            texts[name] = [runs[name](markup, url) for _, markup, url, _ in pages]
            best[name] = min(best[name], time.perf_counter() - start)
    f1 = {
        name: sum(score(t or "", true)[2] for t, (*_, true) in zip(texts[name], pages, strict=True))
        for name in runs
    }
    payload = {
        "pages": len(pages),
        "mean_kb": round(sum(len(markup) for _, markup, _, _ in pages) / len(pages) / 1024, 1),
        "passes": int(passes),
        "ms_per_page": {name: round(best[name] / len(pages) * 1000, 3) for name in runs},
        "f1": {name: round(f1[name] / len(pages), 4) for name in runs},
        "empty": {name: sum(1 for t in texts[name] if not t) for name in runs},
    }
    if not only:
        payload["ratio"] = round(payload["ms_per_page"]["ours"] / payload["ms_per_page"]["trafilatura"], 3)
    pathlib.Path(result).write_text(json.dumps(payload), encoding="utf-8")


def worker_memory(seeds: str, lake: str, result: str) -> None:
    """``newsflow run`` in this process under tracemalloc: the allocation sites at the traced peak."""
    import tracemalloc

    tracemalloc.start(12)
    best: dict[str, Any] = {"peak": 0, "snapshot": None}
    done = threading.Event()

    def watch() -> None:
        while not done.wait(1.0):
            current, _ = tracemalloc.get_traced_memory()
            if current > best["peak"] * 1.05:
                best["peak"], best["snapshot"] = current, tracemalloc.take_snapshot()

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    from pipeline.cli import main as newsflow

    newsflow(["run", "--seeds", seeds, "--output", lake])
    done.set()
    watcher.join()
    snapshot = best["snapshot"].filter_traces([tracemalloc.Filter(False, tracemalloc.__file__)])
    sites = []
    for stat in snapshot.statistics("traceback")[:10]:
        frames = [f"{f.filename.replace(str(ROOT) + '/', '')}:{f.lineno}" for f in stat.traceback]
        project = [f for f in frames if f.startswith(("transforms/", "pipeline/", "schemas/"))]
        sites.append(
            {
                "mb": round(stat.size / MB, 1),
                "share": round(stat.size / best["peak"], 3),
                "allocated_at": frames[-1],
                "project_frame": project[-1] if project else None,
            }
        )
    payload = {"traced_peak_mb": round(best["peak"] / MB, 1), "sites": sites}
    pathlib.Path(result).write_text(json.dumps(payload), encoding="utf-8")


WORKERS = {
    "plain": worker_plain,
    "floor": worker_floor,
    "html_pool": worker_html_pool,
    "dedup": worker_dedup,
    "html": worker_html,
    "memory": worker_memory,
}


if __name__ == "__main__":
    WORKERS[sys.argv[1]](*sys.argv[2:])
