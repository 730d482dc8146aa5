"""Compaction on real lakes in tmp_path, written with the project's own writer, read back with pyarrow
and DuckDB; crashes are simulated by failing a file operation midway and re-running."""

from __future__ import annotations

import datetime as dt
import json
import os
import pathlib
import secrets
import threading
import time

import duckdb
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from schemas.layout import join_path
from schemas.parquet import (
    ARTICLE_FILE_SCHEMA,
    DUPLICATE_SCHEMA,
    NULL_PARTITION,
    PARTITION_SCHEMA,
    REJECT_SCHEMA,
    SCHEMA_VERSION,
    partition_path,
)
from schemas.records import Article, Duplicate, Reject, article_row, record_row
from transforms.lake import compact
from transforms.lake.compact import CompactionError, compact_lake
from transforms.lake.files import ensure_folder, rows_to_table, write_table
from transforms.write import file_name

UTC = dt.timezone.utc
NOW = dt.datetime(2026, 11, 22, 4, 0, tzinfo=UTC)
SEP5 = dt.datetime(2017, 9, 5, 10, tzinfo=UTC)
JAN1 = dt.datetime(2020, 1, 1, tzinfo=UTC)
# Small files here are ~10 KB (mostly footer): a 1 MiB target makes all of them small.
TARGET = 1024**2
# (published, topic) of the partitions every run writes to.
BUSY = [(SEP5, "conflict"), (SEP5, "sport"), (None, "sport"), (JAN1, "economy")]


class Crash(Exception):
    """Stands for the process being killed at that point."""


def make_article(index: int, published: dt.datetime | None, topic: str, run: str, text: str = "") -> Article:
    return Article(
        id=f"a{index:05d}",
        source=f"{index}.txt",
        text_source="seed_text",
        ingested_at=NOW,
        text=text or f"body of article {index} " * 20,
        published=published,
        topic=topic,
        topic_score=0.5,
        word_count=80,
        content_hash=f"h{index}",
        categories=("news",),
        run_id=run,
    )


def commit(lake: pathlib.Path, run: str) -> None:
    """The run record: what makes a run's files committed (transforms/commit.py)."""
    (lake / "runs").mkdir(parents=True, exist_ok=True)
    (lake / "runs" / f"{run}.json").write_text(json.dumps({"run_id": run}))


def write_run(lake: pathlib.Path, run: str, articles: list[Article], committed: bool = True) -> None:
    """What one `newsflow run` commits: one file per partition, named as WriteParquet names them."""
    partitions: dict[str, list[dict]] = {}
    for article in articles:
        partitions.setdefault(partition_path(article.published, article.topic), []).append(
            article_row(article)
        )
    for partition, rows in partitions.items():
        folder = join_path(str(lake / "articles"), partition)
        ensure_folder(folder)
        write_table(join_path(folder, file_name(run, partition, 0)), rows_to_table(rows, ARTICLE_FILE_SCHEMA))
    if committed:
        commit(lake, run)


def write_flat(lake: pathlib.Path, dataset: str, run: str, records: list, schema) -> None:
    folder = str(lake / dataset)
    ensure_folder(folder)
    write_table(
        join_path(folder, file_name(run, "", 0)), rows_to_table([record_row(r) for r in records], schema)
    )


def build_lake(lake: pathlib.Path, runs: int = 6, partitions=BUSY) -> None:
    index = 0
    for r in range(runs):
        run = f"2026112{r % 10}T0{r % 10}0000Z_{r:06x}"
        articles = []
        for published, topic in partitions:
            for _ in range(3):
                index += 1
                articles.append(make_article(index, published, topic, run))
        write_run(lake, run, articles)
        write_flat(
            lake,
            "duplicates",
            run,
            [Duplicate(f"d{r}", None, f"{r}.txt", "a00001", "exact", 1.0, run)],
            DUPLICATE_SCHEMA,
        )
        write_flat(lake, "rejects", run, [Reject(f"{r}.bin", None, "read", "binary", "", run)], REJECT_SCHEMA)
    (lake / "state").mkdir(exist_ok=True)
    (lake / "state" / "feeds.json").write_text('{"version": 1, "feeds": {}}')


def articles(lake: pathlib.Path) -> list[dict]:
    partitioning = ds.partitioning(PARTITION_SCHEMA, flavor="hive")
    table = ds.dataset(str(lake / "articles"), format="parquet", partitioning=partitioning).to_table()
    return sorted(table.to_pylist(), key=lambda row: row["id"])


def duck(lake: pathlib.Path) -> list[tuple]:
    query = (
        f"select id, date::varchar, topic from read_parquet('{lake}/articles/**/*.parquet', "
        "hive_partitioning=true) order by id"
    )
    return duckdb.connect().sql(query).fetchall()


def flat(lake: pathlib.Path, dataset: str) -> list[dict]:
    table = ds.dataset(str(lake / dataset), format="parquet").to_table()
    return sorted(table.to_pylist(), key=lambda row: json.dumps(row, default=str, sort_keys=True))


def snapshot(folder: pathlib.Path) -> dict[str, int]:
    """Every file under the folder, hidden ones included, with its mtime."""
    return {
        str(p.relative_to(folder)): p.stat().st_mtime_ns for p in sorted(folder.rglob("*")) if p.is_file()
    }


def hidden(lake: pathlib.Path) -> list[str]:
    return [str(p) for p in lake.rglob(".*")]


def folder_of(published: dt.datetime | None, topic: str) -> str:
    return partition_path(published, topic)


def test_compaction_keeps_every_row_and_merges_the_small_files(tmp_path):
    lake = tmp_path / "lake"
    build_lake(lake)
    rows, duck_rows = articles(lake), duck(lake)
    dups, rejects = flat(lake, "duplicates"), flat(lake, "rejects")
    untouched = {name: snapshot(lake / name) for name in ("runs", "state")}
    files_before = sorted((lake / "articles").rglob("*.parquet"))
    assert len(files_before) == 24 and len(rows) == 72
    # The schema as the writer stores it (pyarrow names a list's item "element" in Parquet).
    written_schema = pq.read_schema(files_before[0])
    assert written_schema.equals(ARTICLE_FILE_SCHEMA.remove_metadata()) or written_schema.names == (
        ARTICLE_FILE_SCHEMA.names
    )

    results = compact_lake(str(lake), target_bytes=TARGET)

    assert articles(lake) == rows and duck(lake) == duck_rows
    assert flat(lake, "duplicates") == dups and flat(lake, "rejects") == rejects
    assert {name: snapshot(lake / name) for name in ("runs", "state")} == untouched
    assert not hidden(lake)
    by_folder = {(r.dataset, r.partition): r for r in results}
    assert set(by_folder) == {("articles", folder_of(p, t)) for p, t in BUSY} | {
        ("duplicates", ""),
        ("rejects", ""),
    }
    for result in results:
        assert not result.skipped and result.files_before == 6 and result.files_after == 1, result
        assert result.rows_before == result.rows_after == (18 if result.dataset == "articles" else 6)
    for published, topic in BUSY:
        (only,) = (lake / "articles" / folder_of(published, topic)).iterdir()
        assert only.name.startswith("part-compact-") and only.suffix == ".parquet"
        parquet = pq.ParquetFile(only)
        assert parquet.schema_arrow.equals(written_schema, check_metadata=True)
        assert [f.nullable for f in parquet.schema_arrow] == [f.nullable for f in ARTICLE_FILE_SCHEMA]
        assert parquet.schema_arrow.metadata[b"newsflow.schema_version"] == SCHEMA_VERSION.encode()
        column = parquet.metadata.row_group(0).column(0)
        assert column.compression == "ZSTD" and column.statistics is not None
    (dup_file,) = (lake / "duplicates").iterdir()
    assert pq.read_schema(dup_file).equals(DUPLICATE_SCHEMA, check_metadata=True)


def test_null_date_partition_compacts_and_reads_back(tmp_path):
    # Every date unknown: the lake where no date partition holds a date.
    lake = tmp_path / "lake"
    build_lake(lake, runs=4, partitions=[(None, "sport"), (None, "crime")])
    rows = articles(lake)
    (result, *_) = compact_lake(str(lake), target_bytes=TARGET, datasets=["articles"])
    assert result.partition == f"date={NULL_PARTITION}/topic=crime" and not result.skipped
    assert articles(lake) == rows and {row["date"] for row in rows} == {NULL_PARTITION}
    assert {d for _, d, _ in duck(lake)} == {NULL_PARTITION} and len(duck(lake)) == len(rows)
    assert len(list((lake / "articles").rglob("*.parquet"))) == 2


def test_compact_partitions_are_left_untouched(tmp_path):
    lake = tmp_path / "lake"
    build_lake(lake, runs=3)
    # One file alone, and two big files (random text does not compress) plus one small one.
    write_run(lake, "r_single", [make_article(900, JAN1, "weather", "r_single")])
    for n in range(2):
        big = make_article(910 + n, JAN1, "science", f"r_big{n}", text=secrets.token_urlsafe(TARGET * 3 // 4))
        write_run(lake, f"r_big{n}", [big])
    write_run(lake, "r_small", [make_article(920, JAN1, "science", "r_small")])
    before = {p: snapshot(lake / "articles" / folder_of(JAN1, p)) for p in ("weather", "science")}
    assert all(size > TARGET / 2 for size in [f.stat().st_size for f in lake.rglob("part-r_big*")])

    results = {r.partition: r for r in compact_lake(str(lake), target_bytes=TARGET)}

    assert {p: snapshot(lake / "articles" / folder_of(JAN1, p)) for p in ("weather", "science")} == before
    single, science = results[folder_of(JAN1, "weather")], results[folder_of(JAN1, "science")]
    assert single.skipped and single.files_before == single.files_after == 1 and "min_files" in single.reason
    assert science.skipped and science.files_after == 3 and "already compact" in science.reason
    assert not results[folder_of(SEP5, "sport")].skipped


def test_partition_argument_limits_compaction_to_that_partition(tmp_path):
    lake = tmp_path / "lake"
    build_lake(lake, runs=3)
    target = folder_of(None, "sport")
    before = snapshot(lake)
    rows = articles(lake)

    (result,) = compact_lake(str(lake), partition=target, target_bytes=TARGET)

    assert (result.dataset, result.partition, result.files_after) == ("articles", target, 1)
    after = snapshot(lake)
    changed = {name for name in set(before) ^ set(after)} | {n for n in before if after.get(n) != before[n]}
    assert changed and all(name.startswith(f"articles/{target}/") for name in changed)
    assert articles(lake) == rows
    with pytest.raises(ValueError, match="no such partition"):
        compact_lake(str(lake), partition="date=1999-01-01/topic=sport")
    with pytest.raises(ValueError, match="partition must look like"):
        compact_lake(str(lake), partition="../state")


def test_files_of_another_schema_version_are_merged_apart(tmp_path):
    lake = tmp_path / "lake"
    build_lake(lake, runs=3, partitions=[(SEP5, "sport")])
    partition = folder_of(SEP5, "sport")
    future = ARTICLE_FILE_SCHEMA.with_metadata({b"newsflow.schema_version": b"99"})
    for n in range(2):
        run = f"r_v99_{n}"
        rows = [article_row(make_article(800 + n, SEP5, "sport", run))]
        write_table(
            str(lake / "articles" / partition / file_name(run, partition, 0)), rows_to_table(rows, future)
        )
        commit(lake, run)
    rows = articles(lake)

    (result,) = compact_lake(str(lake), target_bytes=TARGET, datasets=["articles"])

    assert result.reason == "merged 5 small files into 2" and articles(lake) == rows
    versions = sorted(
        pq.read_schema(f).metadata[b"newsflow.schema_version"]
        for f in (lake / "articles" / partition).iterdir()
    )
    assert versions == sorted([SCHEMA_VERSION.encode(), b"99"])


def test_second_run_is_a_no_op(tmp_path):
    lake = tmp_path / "lake"
    build_lake(lake)
    compact_lake(str(lake), target_bytes=TARGET)
    before = snapshot(lake)
    again = compact_lake(str(lake), target_bytes=TARGET)
    assert all(r.skipped for r in again) and snapshot(lake) == before


def test_large_partitions_roll_over_near_the_target_size(tmp_path):
    lake = tmp_path / "lake"
    index = 0
    for r in range(40):
        batch = []
        for _ in range(5):
            index += 1
            batch.append(make_article(index, SEP5, "sport", f"r_{r:03d}", text=secrets.token_hex(2000)))
        write_run(lake, f"r_{r:03d}", batch)
    rows = articles(lake)
    target = 100_000  # the 40 files hold ~480 KB of barely compressible text: about five files
    (result,) = compact_lake(str(lake), target_bytes=target, datasets=["articles"])

    files = sorted((lake / "articles" / folder_of(SEP5, "sport")).iterdir())
    assert result.files_after == len(files) and 4 <= len(files) <= 8, [f.stat().st_size for f in files]
    # Every file but the last is full (so the next compaction leaves it alone), none far over.
    assert all(0.9 * target <= f.stat().st_size <= 1.5 * target for f in files[:-1])
    assert articles(lake) == rows
    assert compact_lake(str(lake), target_bytes=target, datasets=["articles"])[0].skipped


def crash_on(monkeypatch, name: str, after: int = 0) -> None:
    """Make compact.<name> raise Crash on its call number ``after`` (0-based), as if killed there."""
    real, calls = getattr(compact, name), []

    def failing(*args, **kwargs):
        calls.append(args)
        if len(calls) > after:
            raise Crash(name)
        return real(*args, **kwargs)

    monkeypatch.setattr(compact, name, failing)


def two_file_lake(tmp_path) -> tuple[pathlib.Path, str, int]:
    """One partition whose compaction writes at least two new files."""
    lake = tmp_path / "lake"
    for r in range(12):
        batch = [
            make_article(r * 4 + i, SEP5, "sport", f"r_{r:02d}", text=secrets.token_hex(1500))
            for i in range(4)
        ]
        write_run(lake, f"r_{r:02d}", batch)
    return lake, folder_of(SEP5, "sport"), 60_000


@pytest.mark.parametrize("step", ["_rename", "_delete_files"])
def test_crash_after_the_commit_point_is_rolled_forward(tmp_path, monkeypatch, step):
    lake, partition, target = two_file_lake(tmp_path)
    rows = articles(lake)
    folder = lake / "articles" / partition
    old = sorted(p.name for p in folder.iterdir())
    with monkeypatch.context() as patch:
        # _rename: killed after the first new file went into place; _delete_files: after every rename.
        crash_on(patch, step, after=1 if step == "_rename" else 0)
        with pytest.raises(Crash):
            compact_lake(str(lake), target_bytes=target)
    assert (folder / ".compaction.json").exists()
    manifest = json.loads((folder / ".compaction.json").read_text())
    assert len(manifest["new"]) >= 2 and sorted(e["name"] for e in manifest["old"]) == old
    # Meanwhile readers see every row, some twice (the documented window), never fewer.
    ids = [row["id"] for row in articles(lake)]
    assert set(ids) == {row["id"] for row in rows} and len(ids) > len(rows)

    (result,) = compact_lake(str(lake), target_bytes=target)

    assert "rolled forward" in result.reason and result.skipped
    assert articles(lake) == rows and not hidden(lake)
    names = sorted(p.name for p in folder.iterdir())
    assert names == sorted(e["name"] for e in manifest["new"])
    assert compact_lake(str(lake), target_bytes=target)[0].reason.startswith("already compact")


def test_rename_cut_short_keeps_the_whole_copy(tmp_path, monkeypatch):
    # An object store renames by copy then delete: killed between them, both names exist. Here the
    # renamed copy is damaged and the staged one whole: the repair must keep the whole one.
    lake, partition, target = two_file_lake(tmp_path)
    rows = articles(lake)
    folder = lake / "articles" / partition
    with monkeypatch.context() as patch:
        crash_on(patch, "_rename", after=1)
        with pytest.raises(Crash):
            compact_lake(str(lake), target_bytes=target)
    entry = json.loads((folder / ".compaction.json").read_text())["new"][0]
    data = (folder / entry["name"]).read_bytes()
    (folder / entry["staged"]).write_bytes(data)
    (folder / entry["name"]).write_bytes(data[: len(data) // 2])

    (result,) = compact_lake(str(lake), target_bytes=target)

    assert "rolled forward" in result.reason
    assert articles(lake) == rows and not hidden(lake)


@pytest.mark.parametrize("damage", ["truncated", "missing"])
def test_interrupted_compaction_with_incomplete_new_files_is_rolled_back(tmp_path, monkeypatch, damage):
    lake, partition, target = two_file_lake(tmp_path)
    rows = articles(lake)
    folder = lake / "articles" / partition
    with monkeypatch.context() as patch:
        crash_on(patch, "_rename", after=1)
        with pytest.raises(Crash):
            compact_lake(str(lake), target_bytes=target)
    manifest = json.loads((folder / ".compaction.json").read_text())
    renamed = folder / manifest["new"][0]["name"]
    if damage == "truncated":  # a new file cut short (say, by a full disk the writer missed)
        renamed.write_bytes(renamed.read_bytes()[: renamed.stat().st_size // 2])
    else:  # a staged file gone (say, a tmp cleaner)
        (folder / manifest["new"][1]["staged"]).unlink()

    (result,) = compact_lake(str(lake), target_bytes=target)

    # Rolled back to the old files, then compacted afresh in the same call.
    assert result.reason.startswith("interrupted compaction rolled back; merged") and not result.skipped
    assert articles(lake) == rows and not hidden(lake)
    assert all(p.name.startswith("part-compact-") for p in folder.iterdir())
    assert not {p.name for p in folder.iterdir()} & {e["name"] for e in manifest["new"]}


def test_interrupted_compaction_that_cannot_be_repaired_touches_nothing(tmp_path, monkeypatch):
    lake, partition, target = two_file_lake(tmp_path)
    folder = lake / "articles" / partition
    with monkeypatch.context() as patch:
        crash_on(patch, "_rename", after=1)
        with pytest.raises(Crash):
            compact_lake(str(lake), target_bytes=target)
    manifest = json.loads((folder / ".compaction.json").read_text())
    (folder / manifest["new"][1]["staged"]).unlink()
    (folder / manifest["old"][0]["name"]).unlink()
    before = snapshot(lake)
    with pytest.raises(CompactionError, match="repair it by hand"):
        compact_lake(str(lake), target_bytes=target)
    assert snapshot(lake) == before


def test_crash_before_the_commit_point_leaves_hidden_files_only(tmp_path, monkeypatch):
    lake = tmp_path / "lake"
    build_lake(lake, runs=3)
    rows = articles(lake)
    with monkeypatch.context() as patch:
        patch.setattr(compact, "write_json_atomic", lambda *a: (_ for _ in ()).throw(Crash("manifest")))
        with pytest.raises(Crash):
            compact_lake(str(lake), target_bytes=TARGET)
    stray = hidden(lake)
    assert stray and all(pathlib.Path(p).name.startswith(".compact-") for p in stray)
    assert articles(lake) == rows  # staged files are invisible to readers

    results = compact_lake(str(lake), target_bytes=TARGET)

    assert "removed 1 stray staged file(s); merged 3 small files into 1" in {r.reason for r in results}
    assert articles(lake) == rows and not hidden(lake)


def test_row_count_mismatch_deletes_the_new_files_and_raises(tmp_path, monkeypatch):
    lake = tmp_path / "lake"
    build_lake(lake, runs=3)
    before = snapshot(lake)
    monkeypatch.setattr(compact, "_count_rows", lambda path: 1)
    with pytest.raises(CompactionError, match="old ones left in place"):
        compact_lake(str(lake), target_bytes=TARGET)
    assert snapshot(lake) == before  # the old files untouched, the new ones gone


def test_files_committed_during_compaction_are_not_touched(tmp_path, monkeypatch):
    lake = tmp_path / "lake"
    build_lake(lake, runs=3)
    late = make_article(999, SEP5, "conflict", "r_late")
    real_merge = compact._merge

    def merge_while_a_run_commits(*args, **kwargs):
        write_run(lake, "r_late", [late])  # a concurrent run renames its file into the partition now
        return real_merge(*args, **kwargs)

    monkeypatch.setattr(compact, "_merge", merge_while_a_run_commits)
    compact_lake(str(lake), target_bytes=TARGET, datasets=["articles"])

    folder = lake / "articles" / folder_of(SEP5, "conflict")
    assert (folder / file_name("r_late", folder_of(SEP5, "conflict"), 0)).exists()
    assert late.id in {row["id"] for row in articles(lake)}


def test_files_of_uncommitted_runs_are_left_alone(tmp_path):
    # A run in flight (or crashed: reconciliation deletes its files) has no run record yet.
    lake = tmp_path / "lake"
    build_lake(lake, runs=3)
    partition = folder_of(SEP5, "sport")
    write_run(lake, "r_inflight", [make_article(990, SEP5, "sport", "r_inflight")], committed=False)

    results = {r.partition: r for r in compact_lake(str(lake), target_bytes=TARGET, datasets=["articles"])}

    names = sorted(p.name for p in (lake / "articles" / partition).iterdir())
    assert len(names) == 2 and file_name("r_inflight", partition, 0) in names
    assert (
        results[partition].reason == "1 file(s) of uncommitted runs left alone; merged 3 small files into 1"
    )
    assert (results[partition].files_before, results[partition].files_after) == (4, 2)


def test_readers_never_see_fewer_rows_during_compaction(tmp_path, monkeypatch):
    """A reader scanning in a loop sees every row at every instant, some twice between a partition's
    renames and deletes. Its only failure is file-not-found, when a file it listed was deleted before
    it opened it: readers of a lake being compacted retry the scan (there is no snapshot to pin)."""
    lake = tmp_path / "lake"
    topics = ["arts", "crime", "disaster", "economy", "health", "politics", "science", "sport"]
    build_lake(lake, runs=8, partitions=[(day, t) for day in (SEP5, JAN1, None) for t in topics])
    expected = [row["id"] for row in articles(lake)]
    # Slow each rename and delete down, so the reader's scans land inside every window.
    for name in ("_rename", "_delete_files"):
        real = getattr(compact, name)
        monkeypatch.setattr(compact, name, lambda *a, _real=real: (time.sleep(0.002), _real(*a))[1])

    stop, started = threading.Event(), threading.Event()
    scans: list[tuple[int, int]] = []
    retries: list[str] = []
    errors: list[BaseException] = []

    def read_until_stopped() -> None:
        con = duckdb.connect()
        partitioning = ds.partitioning(PARTITION_SCHEMA, flavor="hive")
        while not stop.is_set():
            try:
                table = ds.dataset(str(lake / "articles"), partitioning=partitioning).to_table(columns=["id"])
                ids = table.column("id").to_pylist()
                glob = f"{lake}/articles/**/*.parquet"
                duck_ids = [r[0] for r in con.sql(f"select id from read_parquet('{glob}')").fetchall()]
            except (FileNotFoundError, duckdb.IOException) as error:
                if "No such file" not in str(error):
                    errors.append(error)
                retries.append(type(error).__name__)
                continue
            except Exception as error:  # noqa: BLE001 - any other failure is the test's failure
                errors.append(error)
                continue
            for seen in (ids, duck_ids):
                if not set(expected) <= set(seen):
                    errors.append(AssertionError(f"missing rows: {sorted(set(expected) - set(seen))[:5]}"))
            scans.append((len(ids), len(duck_ids)))
            started.set()

    reader = threading.Thread(target=read_until_stopped)
    reader.start()
    try:
        assert started.wait(30)
        first = len(scans)
        compact_lake(str(lake), target_bytes=TARGET)
        during = len(scans) - first
    finally:
        stop.set()
        reader.join(30)
    print(
        "SCANS",
        during,
        len(scans),
        "RETRIES",
        len(retries),
        set(retries),
        "MAX",
        max(max(n) for n in scans),
        len(expected),
    )
    assert not errors, errors[:3]
    assert during >= 2, "the reader should have scanned while the compaction ran"
    assert all(min(n) >= len(expected) for n in scans)
    assert [row["id"] for row in articles(lake)] == expected


def test_refuses_what_is_not_a_lake(tmp_path):
    (tmp_path / "photos").mkdir()
    (tmp_path / "photos" / "cat.parquet").write_bytes(b"PAR1")
    with pytest.raises(ValueError, match="not a newsflow lake"):
        compact_lake(str(tmp_path / "photos"))
    with pytest.raises(ValueError, match="not a newsflow lake"):
        compact_lake(str(tmp_path / "missing"))
    (tmp_path / "lake" / "articles").mkdir(parents=True)
    assert compact_lake(str(tmp_path / "lake")) == []
    with pytest.raises(ValueError, match="min_files"):
        compact_lake(str(tmp_path / "lake"), min_files=1)
    with pytest.raises(ValueError, match="unknown datasets"):
        compact_lake(str(tmp_path / "lake"), datasets=["state"])
    assert os.listdir(tmp_path / "photos") == ["cat.parquet"]
