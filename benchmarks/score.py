"""Scoring a run: deduplication against the planted copies, a lake's ids, a run's record, a profile."""

from __future__ import annotations

import collections
import json
import pathlib
from collections.abc import Iterable, Sequence
from typing import Any

ROOT = pathlib.Path(__file__).resolve().parent.parent
NEAR_KINDS = ("syndicated", "edited")


def score_dedup(
    planted: list[dict], duplicates: Iterable[Sequence[str]], present: set[str]
) -> dict[str, Any]:
    """Recall per planted kind, false merges and precision of a run's duplicate records.

    A planted copy is found when it and its base end up represented by the same kept article
    (whichever of the two was kept). A false merge is a duplicate record whose article and
    original belong to different planted groups (a same-event negative merged with its base
    is one). Copies or bases the run rejected before dedup are left out of recall.
    """
    group = {p["id"]: p["of"] for p in planted if p["kind"] in ("exact", *NEAR_KINDS)}
    parent: dict[str, str] = {}
    detected: dict[str, str] = {}
    merges = false = 0
    for dup_id, original, kind in duplicates:
        parent[dup_id] = original
        detected[dup_id] = kind
        merges += 1
        if group.get(dup_id, dup_id) != group.get(original, original):
            false += 1

    def rep(node: str) -> str:
        seen = 0
        while node in parent and seen < 1000:
            node, seen = parent[node], seen + 1
        return node

    kinds: dict[str, dict[str, Any]] = {}
    for p in planted:
        stats = kinds.setdefault(
            p["kind"], {"planted": 0, "evaluated": 0, "merged": 0, "detected_as": collections.Counter()}
        )
        stats["planted"] += 1
        if p["id"] not in present or p["of"] not in present:
            continue
        stats["evaluated"] += 1
        if rep(p["id"]) == rep(p["of"]):
            stats["merged"] += 1
            stats["detected_as"][detected.get(p["id"]) or f"kept (base {detected.get(p['of'], '?')})"] += 1
    for stats in kinds.values():
        stats["rate"] = round(stats["merged"] / stats["evaluated"], 4) if stats["evaluated"] else None
        stats["detected_as"] = dict(stats["detected_as"])
    near = [kinds[k] for k in NEAR_KINDS if k in kinds]
    near_eval = sum(s["evaluated"] for s in near)
    return {
        "docs": len(present),
        "exact_recall": kinds.get("exact", {}).get("rate"),
        "near_recall": round(sum(s["merged"] for s in near) / near_eval, 4) if near_eval else None,
        "merges": merges,
        "false_merges": false,
        "false_merge_rate": round(false / len(present), 5) if present else None,
        "precision": round(1 - false / merges, 4) if merges else None,
        "negatives_merged": kinds.get("negative", {}).get("merged", 0),
        "kinds": kinds,
    }


def lake_dedup(lake: pathlib.Path) -> tuple[list[list[str]], set[str]]:
    """The duplicate records and the ids that reached deduplication in a newsflow lake."""
    import pyarrow.dataset as ds

    def table(name: str, columns: list[str]):
        path = lake / name
        if not path.exists():
            return None
        return ds.dataset(str(path), format="parquet", partitioning="hive").to_table(columns=columns)

    duplicates = table("duplicates", ["id", "duplicate_of", "kind"])
    pairs = [list(row.values()) for row in duplicates.to_pylist()] if duplicates is not None else []
    articles = table("articles", ["id"])
    present = set(articles.column("id").to_pylist()) if articles is not None else set()
    present |= {pair[0] for pair in pairs}
    return pairs, present


def run_record(lake: pathlib.Path) -> dict:
    """The run record of a fresh lake's one run; for a run split into batches, their totals."""
    records = [json.loads(path.read_text()) for path in sorted((lake / "runs").glob("*.json"))]
    if len(records) <= 1:
        return records[0] if records else {}
    counts: dict[str, Any] = {"read": 0, "written": 0, "duplicates": {}, "rejects": {}}
    stages: dict[str, float] = collections.defaultdict(float)
    for record in records:
        for key in ("read", "written"):
            counts[key] += record["counts"][key]
        for key in ("duplicates", "rejects"):
            for kind, n in record["counts"][key].items():
                counts[key][kind] = counts[key].get(kind, 0) + n
        for stage, seconds in (record.get("stage_seconds") or {}).items():
            stages[stage] += seconds
    return {
        "batches": len(records),
        "seconds": round(sum(r.get("seconds", 0) for r in records), 3),
        "counts": counts,
        "balanced": all(r.get("balanced") for r in records),
        "stage_seconds": {k: round(v, 3) for k, v in sorted(stages.items())},
    }


def profile_summary(path: pathlib.Path, top: int = 12) -> dict[str, Any]:
    """The functions with the most own time in a cProfile dump, and the project's heaviest by
    cumulative time, each with its share of the total."""
    import pstats

    stats = pstats.Stats(str(path))
    total = stats.total_tt or 1.0
    rows = []
    for (filename, line, name), (_, calls, tottime, cumtime, _) in stats.stats.items():
        where = filename.replace(str(ROOT) + "/", "").split("site-packages/")[-1]
        rows.append(
            {"function": f"{where}:{line}({name})", "calls": calls, "tottime": tottime, "cumtime": cumtime}
        )

    def rounded(row: dict) -> dict:
        return {
            **row,
            "tottime": round(row["tottime"], 3),
            "cumtime": round(row["cumtime"], 3),
            "own_share": round(row["tottime"] / total, 3),
            "cum_share": round(row["cumtime"] / total, 3),
        }

    own = sorted(rows, key=lambda r: -r["tottime"])[:top]
    project = sorted(
        (r for r in rows if r["function"].startswith(("transforms/", "pipeline/", "schemas/"))),
        key=lambda r: -r["cumtime"],
    )[:top]
    return {
        "total_seconds": round(total, 3),
        "own_time": [rounded(r) for r in own],
        "project_cumulative": [rounded(r) for r in project],
    }


def lake_ids(lake: pathlib.Path) -> dict[str, list[str]]:
    """The sorted ids in a lake's articles and duplicates, and the sources of its rejects."""
    import pyarrow.dataset as ds

    found = {}
    for name, column in (("articles", "id"), ("duplicates", "id"), ("rejects", "source")):
        path = lake / name
        values = []
        if path.exists():
            table = ds.dataset(str(path), format="parquet", partitioning="hive").to_table(columns=[column])
            values = table.column(column).to_pylist()
        found[name] = sorted(values)
    return found


def lake_partitions(lake: pathlib.Path) -> dict[str, str]:
    """Each written article's partition folder (``articles/date=…/topic=…``), by id."""
    import pyarrow.dataset as ds

    where = {}
    for fragment in ds.dataset(str(lake / "articles"), format="parquet", partitioning="hive").get_fragments():
        folder = str(pathlib.Path(fragment.path).parent.relative_to(lake))
        for article_id in fragment.to_table(columns=["id"]).column("id").to_pylist():
            where[article_id] = folder
    return where
