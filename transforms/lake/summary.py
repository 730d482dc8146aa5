"""What a lake holds, or what some of its runs wrote, read from the data itself.

Only committed runs count: rows of a run that crashed before its record are left out
(the next run deletes them). Sample::

    lake_summary(LakeLayout.of("lake"))
    -> {"written": 5, "duplicates": {}, "rejects": {}, "partitions": {"date=2017-09-05/topic=conflict": 1, …}}
"""

from __future__ import annotations

import collections
import glob
import os
from collections.abc import Sequence
from typing import Any

from apache_beam.io.filesystems import FileSystems

from schemas.layout import DATA_DATASETS, LakeLayout, join_path
from schemas.parquet import PARTITION_SCHEMA
from transforms.lake.commit import committed_runs
from transforms.lake.files import damaged_parquet, read_json


def _match(pattern: str) -> list:
    try:
        return FileSystems.match([pattern])[0].metadata_list
    except Exception:  # noqa: BLE001 - a missing folder matches nothing
        return []


def _read_table(path: str, columns: Sequence[str], run_ids: Sequence[str] | None, hive: bool = False):
    """Columns of a dataset, only the rows of ``run_ids`` (None: all rows).

    One run's rows are read from its own files only (``part-<run id>-…``): after each run
    of a long backfill, its summary costs that run's files, not the whole lake's.
    """
    import pyarrow as pa
    import pyarrow.dataset as ds

    if not FileSystems.exists(path):
        return None
    if run_ids is not None and not run_ids:
        return None  # no committed run: nothing counts yet
    partitioning = ds.partitioning(PARTITION_SCHEMA, flavor="hive") if hive else None
    source: str | list[str] = path
    if run_ids is not None and len(run_ids) <= 16:
        names = [f"part-{glob.escape(run_id)}-*.parquet" for run_id in run_ids]
        patterns = [join_path(path, name) for name in names] + [join_path(path, "**", n) for n in names]
        source = sorted({m.path for pattern in patterns for m in _match(pattern)})
        if not source:
            return None
    filt = ds.field("run_id").isin(pa.array(list(run_ids), pa.string())) if run_ids is not None else None
    try:
        dataset = ds.dataset(
            source,
            format="parquet",
            partitioning=partitioning,
            partition_base_dir=path if isinstance(source, list) else None,
        )
        return dataset.to_table(columns=list(columns), filter=filt)
    except pa.ArrowInvalid as error:  # a file cut short by a copy that stopped, overwritten
        raise damaged_parquet(error, path) from None


def lake_summary(layout: LakeLayout, run_ids: Sequence[str] | None = None) -> dict[str, Any]:
    """Counts of what the lake holds (all committed runs), or of what ``run_ids`` wrote."""
    run_ids = sorted(committed_runs(layout.output)) if run_ids is None else list(run_ids)
    summary: dict[str, Any] = {"written": 0, "duplicates": {}, "rejects": {}, "partitions": {}}
    articles = _read_table(layout.articles, ["date", "topic"], run_ids, hive=True)
    if articles is not None and articles.num_rows:
        counts = articles.group_by(["date", "topic"]).aggregate([([], "count_all")]).to_pylist()
        for row in sorted(counts, key=lambda r: (r["date"] or "", r["topic"])):
            summary["partitions"][f"date={row['date']}/topic={row['topic']}"] = row["count_all"]
        summary["written"] = articles.num_rows
    for name, column in (("duplicates", "kind"), ("rejects", "reason")):
        table = _read_table(layout.dataset(name), [column], run_ids)
        if table is not None and table.num_rows:
            summary[name] = dict(sorted(collections.Counter(table.column(column).to_pylist()).items()))
    return summary


def count_files(layout: LakeLayout) -> dict[str, int]:
    """Visible Parquet files per dataset of the lake."""
    return {name: len(_match(join_path(layout.dataset(name), "**.parquet"))) for name in DATA_DATASETS}


def run_files(layout: LakeLayout, run_id: str) -> dict[str, int]:
    """The visible Parquet files one run wrote, per dataset."""
    name = f"part-{glob.escape(run_id)}-*.parquet"
    counts = {}
    for dataset in DATA_DATASETS:
        folder = layout.dataset(dataset)
        found = {m.path for p in (join_path(folder, name), join_path(folder, "**", name)) for m in _match(p)}
        counts[dataset] = len(found)
    return counts


def partition_files(layout: LakeLayout) -> dict[str, int]:
    """Files per partition of ``articles/``, from a listing (no file is opened)."""
    base = layout.articles
    counts: dict[str, int] = collections.Counter()
    for meta in _match(join_path(base, "**.parquet")):
        parts = meta.path[len(base) :].strip("/").split("/")
        if len(parts) == 3 and not parts[-1].startswith("."):
            counts["/".join(parts[:2])] += 1
    return dict(counts)


def last_runs(layout: LakeLayout, limit: int = 5) -> list[dict]:
    """The newest run records, oldest first."""
    runs = []
    # Run ids start with their UTC second, so the newest are among the last names; within
    # one second their order is the records' own times.
    for meta in sorted(_match(join_path(layout.runs, "*.json")), key=lambda m: m.path)[-2 * limit :]:
        runs.append(read_json(meta.path))
    runs.sort(key=lambda r: (r.get("started_at", ""), r.get("finished_at", "")))
    return runs[-limit:]


def is_lake(layout: LakeLayout) -> bool:
    """Whether a folder holds a newsflow lake (its marker, or the runs of an older lake)."""
    from transforms.lake.marker import is_legacy_lake

    return FileSystems.exists(layout.marker) or is_legacy_lake(layout) or os.path.isdir(layout.runs)


def input_failures(layout: LakeLayout, run_id: str, stages: tuple[str, ...]) -> int:
    """How many of a run's rejects are at ``stages`` (inputs that could not be had at all)."""
    table = _read_table(layout.dataset("rejects"), ["stage"], [run_id])
    if table is None:
        return 0
    return sum(1 for stage in table.column("stage").to_pylist() if stage in stages)
