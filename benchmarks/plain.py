"""The plain loop and the I/O floor: the benchmark's references for ``newsflow run``.

* ``worker_plain``: every stage function over the corpus without Beam, on every core
  (extraction, and cleaning with enrichment, shared over a process pool; the corpus-level
  steps, site lines and deduplication, in the main process): the floor under Beam's overhead.
* ``worker_floor``: read the same JSONL and write the same Hive-partitioned Parquet with
  pyarrow, no processing.

Run through ``benchmarks/workers.py plain|floor ARGS``.
"""

from __future__ import annotations

import collections
import datetime as dt
import json
import multiprocessing
import os
import pathlib
import pickle
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent
for _path in (str(ROOT), str(HERE)):
    if _path not in sys.path:
        sys.path.insert(0, _path)

# Enriched articles are handed to the dedup runs in pickled shards of this many.
SHARD_SIZE = 5_000
MB = 1024 * 1024


def quiet() -> None:
    import logging

    logging.getLogger().addFilter(lambda record: "apitools not found" not in record.getMessage())
    logging.getLogger("trafilatura").setLevel(logging.ERROR)
    logging.getLogger("htmldate").setLevel(logging.ERROR)


def dedup_in_memory(articles: Sequence) -> tuple[list, list]:
    """The batch ``Deduplicate`` without Beam: ``transforms.core.dedup.deduplicate`` over the
    articles' entries; returns the kept articles and the duplicate records."""
    from transforms.core.dedup import dedup_entry, deduplicate

    by_node = {}
    entries = []
    for article in articles:
        entry = dedup_entry(article)
        by_node.setdefault(entry.node, []).append(article)
        entries.append(entry)
    kept_entries, duplicates = deduplicate(entries)
    kept = [by_node[entry.node].pop(0) for entry in kept_entries]
    return kept, duplicates


def _write_parquet(out: pathlib.Path, kept: list, duplicates: list, rejects: list) -> dict[str, int]:
    from schemas.parquet import (
        ARTICLE_FILE_SCHEMA,
        DUPLICATE_SCHEMA,
        INDEX_SCHEMA,
        REJECT_SCHEMA,
        partition_path,
    )
    from schemas.records import article_row, record_row
    from transforms.core.dedup import dedup_entry, index_row
    from transforms.lake.files import rows_to_table, write_table

    partitions: dict[str, list[dict]] = collections.defaultdict(list)
    for article in kept:
        partitions[partition_path(article.published, article.topic)].append(article_row(article))
    for partition, rows in partitions.items():
        folder = out / "articles" / partition
        folder.mkdir(parents=True, exist_ok=True)
        rows.sort(key=lambda row: row["id"])
        write_table(str(folder / "part-0.parquet"), rows_to_table(rows, ARTICLE_FILE_SCHEMA))
    for name, schema, rows in (
        ("duplicates", DUPLICATE_SCHEMA, [record_row(d) for d in duplicates]),
        ("rejects", REJECT_SCHEMA, [record_row(r) for r in rejects]),
        ("dedup", INDEX_SCHEMA, [index_row(dedup_entry(a)) for a in kept]),
    ):
        (out / name).mkdir(parents=True, exist_ok=True)
        write_table(str(out / name / "part-0.parquet"), rows_to_table(rows, schema))
    return {"partitions": len(partitions)}


def _dump_shards(articles: list, folder: pathlib.Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for index, start in enumerate(range(0, len(articles), SHARD_SIZE)):
        with (folder / f"part-{index:05d}.pkl").open("wb") as handle:
            pickle.dump(articles[start : start + SHARD_SIZE], handle, protocol=pickle.HIGHEST_PROTOCOL)


def load_shard(spec: tuple[str, int]) -> list:
    """Enriched articles as the pipeline's enrich stage emits them (without its working data)."""
    from schemas.records import without_working_data

    path, count = spec
    with open(path, "rb") as handle:
        return [without_working_data(article) for article in pickle.load(handle)[:count]]


def shard_specs(folder: pathlib.Path, docs: int) -> list[tuple[str, int]]:
    """(shard path, articles to take) for the first ``docs`` enriched articles."""
    specs, left = [], docs
    for path in sorted(folder.glob("part-*.pkl")):
        if left <= 0:
            break
        specs.append((str(path), min(left, SHARD_SIZE)))
        left -= SHARD_SIZE
    return specs


# --- the plain loop: stage functions in a process pool -------------------------------------

_stage: dict[str, Any] = {}


def _init_plain_worker() -> None:
    """Builds each stage's batch function once per pool process (models loaded), as each
    DoFn's setup does: the same functions the pipeline's stages call."""
    quiet()
    from transforms.core.clean_stage import make_cleaner
    from transforms.core.enrich import make_enricher
    from transforms.topics import load_topic_classifier

    # CleanArticles passes site_min_docs - 1 (the document itself is in the run's counts).
    _stage.update(clean=make_cleaner(site_min_docs=2), enrich=make_enricher(load_topic_classifier))


def _extract_chunk(records: list) -> list:
    from transforms.core.extract import extract_document

    return [extract_document(record) for record in records]


def _clean_enrich_chunk(task: tuple[list, dict]) -> list:
    """Cleaning, then enrichment, of one chunk (a batch of the clean stage's size)."""
    from schemas.records import Reject
    from transforms.core.clean import NO_SITE
    from transforms.core.clean_stage import site_of
    from transforms.core.sites import stats_for_document

    articles, tables = task
    pairs = []
    for article in articles:
        table = tables.get(site_of(article))
        pairs.append((article, stats_for_document(table) if table else NO_SITE))
    cleaned = [result for result, _ in _stage["clean"](pairs)]
    enriched = iter(_stage["enrich"]([done for done in cleaned if not isinstance(done, Reject)]))
    return [done if isinstance(done, Reject) else next(enriched) for done in cleaned]


def _chunks(items: list, size: int) -> list[list]:
    return [items[start : start + size] for start in range(0, len(items), size)]


def worker_plain(jsonl: str, out: str, result: str, dump: str = "", workers: str = "0") -> None:
    """The plain loop: every stage function over the corpus, no Beam, on ``workers`` processes
    (0: one per core)."""
    started = time.perf_counter()
    from schemas.records import Reject
    from transforms.clean import CLEAN_BATCH
    from transforms.core.clean_stage import site_of
    from transforms.core.seeds import parse_seed_file
    from transforms.core.sites import site_tables

    quiet()
    processes = int(workers) or os.cpu_count() or 1
    pool = ProcessPoolExecutor(
        processes, mp_context=multiprocessing.get_context("spawn"), initializer=_init_plain_worker
    )
    # Start every pool process (and its model loading) with the imports, as a run would.
    list(pool.map(time.sleep, [0.5] * processes))
    imported = time.perf_counter()
    seconds: dict[str, float] = {}

    def lap(name: str, since: float) -> float:
        now = time.perf_counter()
        seconds[name] = round(now - since, 3)
        return now

    now = dt.datetime.now(dt.timezone.utc)
    data = pathlib.Path(jsonl).read_bytes()
    records = list(parse_seed_file(os.path.basename(jsonl), data, now))
    del data
    t = lap("parse", imported)
    rejects = [r for r in records if isinstance(r, Reject)]
    extracted = []
    for done in (
        d
        for chunk in pool.map(
            _extract_chunk, _chunks([r for r in records if not isinstance(r, Reject)], CLEAN_BATCH)
        )
        for d in chunk
    ):
        (rejects if isinstance(done, Reject) else extracted).append(done)
    del records
    t = lap("extract", t)
    lines = site_tables((site_of(article), article.text) for article in extracted)
    t = lap("site_lines", t)
    tasks = []
    # One clean-stage batch a task: the batches CleanArticles and EnrichArticles work on.
    for chunk in _chunks(extracted, CLEAN_BATCH):
        sites = {site_of(article) for article in chunk}
        tasks.append((chunk, {site: lines[site] for site in sites if site in lines}))
    enriched = []
    for done in (d for chunk in pool.map(_clean_enrich_chunk, tasks) for d in chunk):
        (rejects if isinstance(done, Reject) else enriched).append(done)
    del extracted, tasks
    t = lap("clean_enrich", t)
    kept, duplicates = dedup_in_memory(enriched)
    t = lap("dedup", t)
    written = _write_parquet(pathlib.Path(out), kept, duplicates, rejects)
    lap("write", t)
    finished = time.perf_counter()
    pool.shutdown()
    if dump:
        _dump_shards(enriched, pathlib.Path(dump))
    dumped = time.perf_counter()
    payload = {
        "docs": len(enriched) + len(rejects),
        "workers": processes,
        "seconds": round(finished - started, 3),
        "import_seconds": round(imported - started, 3),
        "dump_seconds": round(dumped - finished, 3),
        "stage_seconds": seconds,
        "written": len(kept),
        "duplicates": [[d.id, d.duplicate_of, d.kind] for d in duplicates],
        "rejects": dict(collections.Counter(r.reason for r in rejects)),
        "ids": {
            "articles": sorted(a.id for a in kept),
            "duplicates": sorted(d.id for d in duplicates),
            "rejects": sorted(r.source for r in rejects),
        },
        "present_ids": [a.id for a in enriched],
        **written,
    }
    pathlib.Path(result).write_text(json.dumps(payload), encoding="utf-8")


# --- the I/O floor ---------------------------------------------------------------------------


def worker_floor(jsonl: str, partitions: str, out: str, result: str) -> None:
    """Reads the JSONL and writes the same Hive-partitioned Parquet, no processing: each record
    goes, as given, to the partition newsflow gave it (``partitions``: a JSON map id -> path
    read before the clock starts; records newsflow did not write go to one other file)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    where = json.loads(pathlib.Path(partitions).read_text(encoding="utf-8"))
    started = time.perf_counter()
    rows: dict[str, list[dict]] = collections.defaultdict(list)
    docs = 0
    with open(jsonl, encoding="utf-8") as handle:
        for line in handle:
            record = json.loads(line)
            docs += 1
            rows[where.get(str(record.get("id")), "unwritten")].append(record)
    root = pathlib.Path(out)
    for partition, records in rows.items():
        folder = root / partition
        folder.mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.Table.from_pylist(records), str(folder / "part-0.parquet"), compression="zstd")
    payload = {"docs": docs, "partitions": len(rows), "seconds": round(time.perf_counter() - started, 3)}
    pathlib.Path(result).write_text(json.dumps(payload), encoding="utf-8")
