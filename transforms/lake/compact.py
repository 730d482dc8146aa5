"""Compact the lake: merge the small Parquet files that frequent runs leave behind.

Consumes a lake written by ``newsflow run`` (``<output>/articles/date=…/topic=…/part-*.parquet``
plus the flat ``duplicates/`` and ``rejects/`` folders); rewrites, folder by folder, the small
files into files of about ``target_bytes`` and emits one ``PartitionCompaction`` per folder::

    PartitionCompaction(dataset="articles", partition="date=2017-09-05/topic=conflict",
                        files_before=144, files_after=1, rows_before=1310, rows_after=1310,
                        skipped=False, reason="merged 144 small files into 1")

Pure functions over Beam ``FileSystems`` and pyarrow, so ``gs://`` and ``s3://`` lakes work like
local ones. No pipeline is needed: compaction is a few sequential file operations per folder.

**Which files.** A file is *small* when it is under half of ``target_bytes``. A folder is left
alone (``skipped=True``, not a byte rewritten) when it holds fewer than ``min_files`` files or at
most one small file: a compacted folder is a run of ~``target_bytes`` files plus one tail, and
rewriting big files to absorb a small one would cost more than it saves. Otherwise only the small
files are merged (big ones stay as they are), grouped by schema so files of different schema
versions are never mixed. Rows are streamed one input row group at a time, gathered into row groups
of ``ROW_GROUP_ROWS`` (as the writer does), and a file rolls over when its bytes written plus an
estimate of what is pending reach ``target_bytes``. Row order is not kept beyond file-name order.

Only files of committed runs are merged (``part-<run_id>-…`` with a run record ``runs/<run_id>.json``,
and earlier ``part-compact-…`` files): a run in flight, or one that crashed and whose files the next
run's reconciliation deletes (``transforms/commit.py``), keeps its files to itself; merging them would
make its rows permanent.

**Protocol per folder** (the lake is listed once, at the start: files that a concurrent run commits
meanwhile are never touched):

1. Write the merged rows under hidden names ``.compact-<stamp>-NNNNN.parquet.inprogress``.
2. Read back each new file's footer: row counts must equal the rows read from the old files, or the
   new files are deleted and ``CompactionError`` is raised, the old files untouched.
3. Write the manifest ``.compaction.json`` (old and new names with their row counts): the commit point.
4. Rename the new files into place as ``part-compact-<stamp>-NNNNN.parquet``.
5. Delete the old files, then the manifest.

**Crash safety.** Killed before step 3, a folder holds only stray hidden ``.compact-*`` files: the
next run deletes them (they were never visible). Killed after it, the next run finds the manifest and
finishes first: if every new file is there (hidden or renamed) with its manifest row count, it rolls
forward (renames what is left, deletes the old files); otherwise it rolls back (deletes the new files)
provided every old file still exists, and refuses to touch anything if neither holds. Every step is
idempotent, so a crash during a repair is repaired by the run after. (A run's reconciliation sweeps
hidden ``.inprogress`` files, staged ones included: that can only turn a roll-forward into a roll-back.)
One compaction at a time per lake: the schedules in ``deploy/`` never start a second one.

**What readers see.** Hidden names are skipped by every reader's ``*.parquet`` glob and by
pyarrow's discovery, and the new files are renamed in before any old file is deleted, so a reader
never sees *fewer* rows than the lake holds. Without a table format (Iceberg, Delta) a plain file
system cannot swap a set of files at once: a reader that lists the folder between the renames and
the deletes sees those rows twice, and one that opens an old file after its delete gets
file-not-found and should retry its scan. The new names sort after the run files
(``part-compact-`` > ``part-2…``), so a lexicographic, paged listing still reaches them.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import os
import posixpath
import re
from collections.abc import Sequence
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from apache_beam.io.filesystems import FileSystems

from schemas.layout import join_path
from transforms.lake.commit import COMPACTED_RUN, committed_runs, run_of
from transforms.lake.compact_merge import STAGED_PREFIX
from transforms.lake.compact_merge import merge as _merge
from transforms.lake.files import INPROGRESS_SUFFIX, delete, exists, match, write_json_atomic

_LOGGER = logging.getLogger(__name__)

DATASETS = ("articles", "duplicates", "rejects")
MANIFEST_NAME = ".compaction.json"
MANIFEST_VERSION = 1
# 128 MiB: the file size Parquet readers scan best (Spark's and DuckDB's default split sizes), the
# same aim as write.MAX_ROWS_PER_FILE.
DEFAULT_TARGET_BYTES = 128 * 1024**2


_PARTITION = re.compile(r"^date=[^/=]+/topic=[^/=]+$")
# Patterns go through FileSystems.match, which has no way to quote these.
_GLOB_CHARS = re.compile(r"[*?\[]")


class CompactionError(RuntimeError):
    """Compaction found rows that do not add up, or a half-done compaction it cannot repair."""


@dataclasses.dataclass(frozen=True)
class PartitionCompaction:
    """What compaction did to one folder.

    ``files_*`` count the data files of the folder as listed at the start and after; ``rows_*`` count
    the rows of the files rewritten (equal on success, 0 when nothing was rewritten).
    """

    dataset: str
    partition: str
    files_before: int
    files_after: int
    rows_before: int
    rows_after: int
    skipped: bool
    reason: str


@dataclasses.dataclass(frozen=True)
class _File:
    name: str
    size: int


@dataclasses.dataclass
class _Folder:
    dataset: str
    partition: str
    path: str
    files: list[_File] = dataclasses.field(default_factory=list)
    staged: list[str] = dataclasses.field(default_factory=list)
    manifest: bool = False


def compact_lake(
    output: str,
    *,
    partition: str | None = None,
    target_bytes: int = DEFAULT_TARGET_BYTES,
    min_files: int = 2,
    datasets: Sequence[str] = DATASETS,
) -> list[PartitionCompaction]:
    """Compact every folder of the lake at ``output`` (or one ``date=…/topic=…`` partition of ``articles``).

    Repairs an interrupted compaction first (see the module docstring). Raises ``ValueError`` when
    ``output`` is not a newsflow lake or an argument is out of range, ``CompactionError`` when row
    counts do not add up (nothing is deleted then).
    """
    if target_bytes <= 0:
        raise ValueError(f"target_bytes must be positive, not {target_bytes}")
    if min_files < 2:
        raise ValueError(
            f"min_files must be at least 2 (one file has nothing to merge with), not {min_files}"
        )
    unknown = sorted(set(datasets) - set(DATASETS))
    if unknown:
        raise ValueError(f"unknown datasets {unknown}: compaction only rewrites {', '.join(DATASETS)}")
    if partition is not None:
        partition = partition.strip("/")
        if not _PARTITION.match(partition) or ".." in partition:
            raise ValueError(f"partition must look like date=YYYY-MM-DD/topic=<slug>, not {partition!r}")
    output = output.rstrip("/") if "://" in output else os.path.abspath(output)
    if _GLOB_CHARS.search(output):
        raise ValueError(f"{output}: a lake path may not contain *, ? or [ (file patterns cannot quote them)")
    # Object stores have no folders: there, a lake's articles/ exists once an object lies under it.
    articles = join_path(output, "articles")
    if not (exists(articles) or match(join_path(articles, "**"), limit=1)):
        raise ValueError(f"{output} is not a newsflow lake: it has no articles/ folder")

    # Read before the listing: a run that commits after it has no files in the listing either.
    committed = committed_runs(output) | {COMPACTED_RUN}
    results = []
    for folder in _list_folders(output, partition, datasets):
        results.append(
            _compact_folder(folder, committed=committed, target_bytes=target_bytes, min_files=min_files)
        )
    return results


# --- listing ------------------------------------------------------------------------------


def _list_folders(output: str, partition: str | None, datasets: Sequence[str]) -> list[_Folder]:
    """One listing per dataset, grouped by folder: the snapshot that compaction works from."""
    folders: dict[str, _Folder] = {}
    for dataset in datasets:
        if partition is not None and dataset != "articles":
            continue  # duplicates/ and rejects/ have no partitions
        base = join_path(output, dataset)
        depth = 3 if dataset == "articles" else 1  # date=…/topic=…/file or file
        pattern = join_path(base, partition, "*") if partition else join_path(base, "**")
        for meta in match(pattern):
            relative = meta.path[len(base) :].lstrip("/")
            parts = relative.split("/")
            if len(parts) != depth:
                continue
            if dataset == "articles" and not (parts[0].startswith("date=") and parts[1].startswith("topic=")):
                continue
            key = "/".join(parts[:-1])
            folder = folders.setdefault(
                f"{dataset}/{key}", _Folder(dataset, key, join_path(base, key) if key else base)
            )
            name = parts[-1]
            if name == MANIFEST_NAME:
                folder.manifest = True
            elif name.startswith(STAGED_PREFIX) and name.endswith(INPROGRESS_SUFFIX):
                folder.staged.append(name)
            elif name.endswith(".parquet") and not name.startswith((".", "_")):
                folder.files.append(_File(name, meta.size_in_bytes))
    if partition is not None and "articles" in datasets and not folders:
        raise ValueError(f"{join_path(output, 'articles', partition)}: no such partition")
    for folder in folders.values():
        folder.files.sort(key=lambda f: f.name)
    return [folders[key] for key in sorted(folders)]


# --- one folder ---------------------------------------------------------------------------


def _compact_folder(
    folder: _Folder, *, committed: set[str], target_bytes: int, min_files: int
) -> PartitionCompaction:
    notes = []
    if folder.manifest:
        notes.append(_recover(folder))
    elif folder.staged:
        # Staged files without a manifest never became visible: a crash before the commit point.
        _delete_files([join_path(folder.path, name) for name in folder.staged])
        notes.append(f"removed {len(folder.staged)} stray staged file(s)")

    def result(
        skipped: bool, reason: str, files_after: int | None = None, rows: int = 0
    ) -> PartitionCompaction:
        before = len(folder.files)
        after = before if files_after is None else files_after
        reason = "; ".join([*notes, reason])
        return PartitionCompaction(
            folder.dataset, folder.partition, before, after, rows, rows, skipped, reason
        )

    eligible = [f for f in folder.files if run_of(f.name) in committed]
    if len(eligible) < len(folder.files):
        notes.append(f"{len(folder.files) - len(eligible)} file(s) of uncommitted runs left alone")
    small = [f for f in eligible if f.size < target_bytes / 2]
    if len(eligible) < min_files:
        return result(True, f"{len(eligible)} file(s), fewer than min_files={min_files}")
    if len(small) < 2:
        return result(True, f"already compact: {len(small)} file(s) under half the target size")

    footers = {f.name: _read_footer(join_path(folder.path, f.name)) for f in small}
    groups: dict[bytes, list[_File]] = {}
    for f in small:
        groups.setdefault(footers[f.name][0].serialize().to_pybytes(), []).append(f)
    mergeable = [group for group in groups.values() if len(group) >= 2]
    if not mergeable:
        return result(True, f"{len(small)} small files, no two with the same schema")

    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    old: list[dict[str, Any]] = []
    new: list[dict[str, Any]] = []
    for group in mergeable:
        schema = footers[group[0].name][0]
        old.extend({"name": f.name, "rows": footers[f.name][1]} for f in group)
        new.extend(_merge(folder.path, group, schema, target_bytes=target_bytes, stamp=stamp, first=len(new)))
    rows_before = sum(entry["rows"] for entry in old)

    # Count from the new files' own footers, not from what the writer believes it wrote.
    counted = [_count_rows(join_path(folder.path, entry["staged"])) for entry in new]
    if counted != [entry["rows"] for entry in new] or sum(entry["rows"] for entry in new) != rows_before:
        _delete_files([join_path(folder.path, entry["staged"]) for entry in new])
        raise CompactionError(
            f"{folder.path}: the merged files hold {sum(c or 0 for c in counted)} rows, the old ones "
            f"{rows_before}; the merged files were deleted and the old ones left in place"
        )

    manifest = {
        "version": MANIFEST_VERSION,
        "dataset": folder.dataset,
        "partition": folder.partition,
        "started_at": stamp,
        "rows": rows_before,
        "old": old,
        "new": new,
    }
    write_json_atomic(join_path(folder.path, MANIFEST_NAME), manifest)
    _finish(folder.path, manifest)
    files_after = len(folder.files) - len(old) + len(new)
    _LOGGER.info("compacted %s: %d files into %d (%d rows)", folder.path, len(old), len(new), rows_before)
    return result(False, f"merged {len(old)} small files into {len(new)}", files_after, rows_before)


# --- commit and repair ----------------------------------------------------------------------


def _finish(folder: str, manifest: dict[str, Any]) -> None:
    """Steps 4-5: rename the new files into place, delete the old ones, then the manifest.

    Idempotent: each step checks what is already done, so a repair can run it again.
    """
    for entry in manifest["new"]:
        staged, final = join_path(folder, entry["staged"]), join_path(folder, entry["name"])
        if FileSystems.exists(staged):
            # Both there: a rename cut short on an object store (copy, then delete). Keep the copy only
            # if it is whole; the old files are still in place, so readers lose nothing meanwhile.
            if FileSystems.exists(final) and _count_rows(final) == entry["rows"]:
                _delete_files([staged])
            else:
                if FileSystems.exists(final):
                    _delete_files([final])
                _rename(staged, final)
    # Every new file is visible before the first old one goes: readers may see rows twice, never fewer.
    _delete_files([join_path(folder, entry["name"]) for entry in manifest["old"]])
    _delete_files([join_path(folder, MANIFEST_NAME)])


def _recover(folder: _Folder) -> str:
    """Finish or undo the compaction that ``folder``'s manifest records; updates the listing to match."""
    path = join_path(folder.path, MANIFEST_NAME)
    try:
        with FileSystems.open(path) as stream:
            manifest = json.loads(stream.read().decode("utf-8"))
        if manifest.get("version") != MANIFEST_VERSION:
            raise ValueError(f"manifest version {manifest.get('version')!r} is not {MANIFEST_VERSION}")
        old, new = manifest["old"], manifest["new"]
    except (ValueError, KeyError, TypeError) as error:
        raise CompactionError(
            f"{path}: unreadable compaction manifest ({error}); repair it by hand"
        ) from error

    complete = sum(entry["rows"] for entry in new) == manifest["rows"] and all(
        _count_rows(join_path(folder.path, entry["name"])) == entry["rows"]
        or _count_rows(join_path(folder.path, entry["staged"])) == entry["rows"]
        for entry in new
    )
    old_names = {entry["name"] for entry in old}
    new_names = {entry["name"] for entry in new}
    if complete:
        _finish(folder.path, manifest)
        action = "rolled forward"
        sizes = {m.path.rsplit("/", 1)[-1]: m.size_in_bytes for m in _metadata(folder.path, new_names)}
        kept = [f for f in folder.files if f.name not in old_names and f.name not in new_names]
        folder.files = sorted(
            kept + [_File(name, size) for name, size in sizes.items()], key=lambda f: f.name
        )
    else:
        missing = [name for name in sorted(old_names) if not FileSystems.exists(join_path(folder.path, name))]
        if missing:
            raise CompactionError(
                f"{folder.path}: an interrupted compaction left neither all of its new files nor all of "
                f"its old ones (missing {missing[:3]}…); nothing was touched, repair it by hand"
            )
        doomed = [join_path(folder.path, entry[key]) for entry in new for key in ("staged", "name")]
        _delete_files(doomed)
        _delete_files([path])
        action = "rolled back"
        folder.files = [f for f in folder.files if f.name not in new_names]
    # Staged files of the recorded compaction are handled above; any others never became visible.
    stray = [name for name in folder.staged if name not in {entry["staged"] for entry in new}]
    _delete_files([join_path(folder.path, name) for name in stray])
    folder.staged = []
    _LOGGER.warning("%s: interrupted compaction of %d files %s", folder.path, len(old), action)
    return f"interrupted compaction {action}"


# --- file helpers (module-level so that tests can simulate a crash at each step) ------------


def _read_footer(path: str) -> tuple[pa.Schema, int]:
    with FileSystems.open(path) as stream:
        parquet = pq.ParquetFile(stream)
        return parquet.schema_arrow, parquet.metadata.num_rows


def _count_rows(path: str) -> int | None:
    """The file's row count from its footer; None when it is missing or unreadable (truncated)."""
    if not FileSystems.exists(path):
        return None
    try:
        with FileSystems.open(path) as stream:
            return pq.read_metadata(stream).num_rows
    except (OSError, pa.ArrowInvalid):
        return None


def _metadata(folder: str, names: set[str]) -> list[Any]:
    return [meta for meta in match(join_path(folder, "*")) if posixpath.basename(meta.path) in names]


def _rename(source: str, destination: str) -> None:
    FileSystems.rename([source], [destination])


def _delete_files(paths: Sequence[str]) -> None:
    """Deletes the paths that exist (a repeated delete is a no-op, as a repair needs)."""
    delete(paths)
