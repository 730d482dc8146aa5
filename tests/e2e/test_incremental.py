"""Incremental runs: nothing written twice, nothing lost, nothing half-written visible."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import duckdb
import pyarrow.parquet as pq
import pytest

from tests.feedserver import FeedServer
from tests.helpers import (
    FETCH_FLAGS,
    RESOURCES,
    ROOT,
    RSS,
    SEEDS,
    articles_table,
    dataset_rows,
    gold_body,
    page,
    rss,
    run_cli,
    run_cli_crashing,
)

GOLD = json.loads((RESOURCES / "seeds_gold.json").read_text(encoding="utf-8"))["documents"]


def write_corpus(folder, count: int = 600) -> int:
    """A JSONL backfill of short news items (the topic dev set), one article each."""
    items = json.loads((RESOURCES / "topic_dev.json").read_text(encoding="utf-8"))["items"]
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "backfill.jsonl", "w", encoding="utf-8") as handle:
        for i, item in enumerate(items[:count]):
            record = {
                "id": f"ag{i}",
                "url": f"https://wire.example.com/story/{i}",
                "title": item["title"],
                "text": item["text"],
                "published": f"2024-0{1 + i % 9}-1{i % 10}T10:00:00Z",
            }
            handle.write(json.dumps(record) + "\n")
    return min(count, len(items))


def lake_ids(lake) -> list[str]:
    con = duckdb.connect()
    return [r[0] for r in con.sql(f"select id from read_parquet('{lake}/articles/**/*.parquet')").fetchall()]


def last_record(lake) -> dict:
    """The newest run record (by its start: run ids started within one second sort at random)."""
    records = [json.loads(p.read_text()) for p in (lake / "runs").glob("*.json")]
    return max(records, key=lambda r: (r["started_at"], r.get("finished_at", "")))


@pytest.fixture(scope="module")
def clean_lake(tmp_path_factory):
    """The lake of one uninterrupted run over ``write_corpus(count)``, run once a module for each
    count: what a crashed run's repaired lake must match, and a lake to read only."""
    lakes = {}

    def lake_of(count: int):
        if count not in lakes:
            folder = tmp_path_factory.mktemp(f"clean{count}")
            write_corpus(folder / "seeds", count)
            result = run_cli("run", "--seeds", str(folder / "seeds"), "--output", str(folder / "lake"))
            assert result.returncode == 0, result.stderr[-2000:]
            lakes[count] = folder / "lake"
        return lakes[count]

    return lake_of


def test_the_same_job_twice_writes_no_new_rows(tmp_path):
    lake = tmp_path / "lake"
    first = run_cli("run", "--seeds", str(SEEDS), "--output", str(lake))
    assert first.returncode == 0, first.stderr[-2000:]
    ids = sorted(lake_ids(lake))
    second = run_cli("run", "--seeds", str(SEEDS), "--output", str(lake))
    assert second.returncode == 0, second.stderr[-2000:]
    assert sorted(lake_ids(lake)) == ids
    record = last_record(lake)
    assert record["counts"]["written"] == 0 and record["counts"]["duplicates"] == {"exact": 5}
    assert record["dedup_index"]["entries_loaded"] == 5 and record["balanced"]
    assert record["dedup_index"]["entries_shared"] == 5  # every entry is an exact copy's
    dups = dataset_rows(lake, "duplicates")
    assert sorted(d["duplicate_of"] for d in dups) == ids


def test_a_syndicated_copy_days_later_points_at_the_original(tmp_path):
    lake = tmp_path / "lake"
    assert run_cli("run", "--seeds", str(SEEDS), "--output", str(lake)).returncode == 0
    original = {r["source"]: r["id"] for r in articles_table(lake).to_pylist()}["003_1571d4de9f46acd8.txt"]
    later = tmp_path / "later"
    later.mkdir()
    body = "\n\n".join(gold_body("003"))
    copy = {
        "id": "mirror-003",
        "url": "https://mirror.example.net/2017/09/12/siege",
        "text": "Republished with permission.\n\n" + body + "\n\nShare this: Facebook Twitter",
        "published": "2017-09-12T08:00:00Z",
    }
    (later / "mirror.jsonl").write_text(json.dumps(copy) + "\n")
    result = run_cli("run", "--seeds", str(later), "--output", str(lake))
    assert result.returncode == 0, result.stderr[-2000:]
    (dup,) = [d for d in dataset_rows(lake, "duplicates") if d["id"] == "mirror-003"]
    assert dup["duplicate_of"] == original and dup["kind"] in ("exact", "near")
    assert len(lake_ids(lake)) == 5


def test_a_new_feed_item_writes_exactly_one_new_row(tmp_path):
    server = FeedServer().start()
    try:
        base = server.base_url
        for path, prefix in (("/a", "003"), ("/b", "004"), ("/c", "002")):
            server.route(
                path,
                page(f"Story {prefix}", gold_body(prefix), "2017-09-06T08:00:00Z"),
                content_type="text/html",
            )
        items = [
            {"title": "A", "link": f"{base}/a", "date": "Wed, 06 Sep 2017 08:00:00 GMT"},
            {"title": "B", "link": f"{base}/b", "date": "Tue, 05 Sep 2017 13:45:00 GMT"},
        ]
        feed = server.route("/feed.xml", rss(items), content_type=RSS)
        lake = tmp_path / "lake"
        # Poll on every run (a zero interval), as a cron job every few minutes would with its own interval.
        flags = [
            "--feeds",
            feed,
            "--output",
            str(lake),
            *FETCH_FLAGS,
            "--poll_interval",
            "0",
            "--max_poll_interval",
            "0",
        ]
        assert run_cli("run", *flags).returncode == 0
        assert len(lake_ids(lake)) == 2
        assert run_cli("run", *flags).returncode == 0  # nothing new: entries already seen
        assert len(lake_ids(lake)) == 2 and last_record(lake)["counts"]["read"] == 0
        server.route(
            "/feed.xml",
            rss([{"title": "C", "link": f"{base}/c", "date": "Thu, 07 Sep 2017 08:00:00 GMT"}, *items]),
            content_type=RSS,
        )
        result = run_cli("run", *flags)
        assert result.returncode == 0, result.stderr[-2000:]
        assert len(lake_ids(lake)) == 3 and len(set(lake_ids(lake))) == 3
        assert last_record(lake)["counts"]["written"] == 1
        assert server.count("/a") == 1 and server.count("/c") == 1  # seen pages are not fetched again
    finally:
        server.stop()


def _expect_consistent(lake, expected_rows: int) -> None:
    ids = lake_ids(lake)
    assert len(ids) == len(set(ids)) == expected_rows
    for path in (lake / "articles").rglob("*.parquet"):
        pq.read_metadata(path)  # every visible file is complete
    record = last_record(lake)
    assert record["balanced"], record


@pytest.mark.parametrize("crash_at", ["before_commit", "after_commit"])
def test_a_crash_at_the_commit_is_repaired_by_the_rerun(tmp_path, crash_at, clean_lake):
    seeds = tmp_path / "seeds"
    write_corpus(seeds, 300)
    lake = tmp_path / "lake"
    crashed = run_cli_crashing(crash_at, "run", "--seeds", str(seeds), "--output", str(lake))
    assert crashed.returncode == 137, crashed.stderr[-2000:]
    assert (lake / "state" / "run.lock").exists()  # died holding the lock: stale, taken over below
    good = run_cli("run", "--seeds", str(seeds), "--output", str(lake))
    assert good.returncode == 0, good.stderr[-3000:]
    expected = len(lake_ids(clean_lake(300)))
    _expect_consistent(lake, expected)
    if crash_at == "before_commit":
        # The crashed run's files were removed, with a warning, and everything written again.
        removed = last_record(lake)["reconciled"]["files_removed"]
        assert removed > 0
        assert (
            f"warning: removed {removed} files of 1 run(s) an earlier process left unfinished" in good.stderr
        )
        assert last_record(lake)["counts"]["written"] == expected
    else:
        # The crashed run had committed: the rerun finds every article in the index.
        assert last_record(lake)["counts"]["written"] == 0
        assert len(list((lake / "runs").glob("*.json"))) == 2
    # Each warning is the command's own line: the stale lock named by its run, not a dict.
    assert "warning: taking over the lock of run " in good.stderr and "WARNING" not in good.stderr


def test_kill_9_mid_run_then_rerun_loses_and_duplicates_nothing(tmp_path, clean_lake):
    seeds = tmp_path / "seeds"
    write_corpus(seeds, 600)
    lake = tmp_path / "lake"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(
        [sys.executable, "-m", "pipeline", "run", "--seeds", str(seeds), "--output", str(lake)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    # Kill it as soon as it starts writing (or at the latest after 20 s).
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and process.poll() is None:
        if any((lake / "articles").rglob("*")) if (lake / "articles").exists() else False:
            break
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    # Whatever it left: no visible file is partial.
    for path in (lake / "articles").rglob("*.parquet") if (lake / "articles").exists() else []:
        pq.read_metadata(path)
    result = run_cli("run", "--seeds", str(seeds), "--output", str(lake))
    assert result.returncode == 0, result.stderr[-3000:]
    _expect_consistent(lake, len(lake_ids(clean_lake(600))))
    assert not [p for p in lake.rglob("*") if p.name.endswith(".inprogress")]


def test_two_runs_at_once_one_fails_with_a_clear_message(tmp_path):
    seeds = tmp_path / "seeds"
    write_corpus(seeds, 600)
    lake = tmp_path / "lake"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "pipeline", "run", "--seeds", str(seeds), "--output", str(lake)]
    first = subprocess.Popen(
        command, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + 30
    while not (lake / "state" / "run.lock").exists():
        assert time.monotonic() < deadline
        time.sleep(0.02)
    second = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=300)
    first_out, first_err = first.communicate(timeout=300)
    assert first.returncode == 0, first_err[-2000:]
    assert second.returncode == 3 and "the lake is busy" in second.stderr
    _expect_consistent(lake, len(lake_ids(lake)))
    assert len(list((lake / "runs").glob("*.json"))) == 1


def test_a_stale_lock_is_taken_over(tmp_path):
    lake = tmp_path / "lake"
    assert run_cli("run", "--seeds", str(SEEDS), "--output", str(lake)).returncode == 0
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    (lake / "state" / "run.lock").write_text(
        json.dumps(
            {
                "run_id": "old",
                "host": os.uname().nodename,
                "pid": int(dead.stdout),
                "heartbeat_at": "2026-01-01T00:00:00+00:00",
            }
        )
    )
    result = run_cli("run", "--seeds", str(SEEDS), "--output", str(lake))
    assert result.returncode == 0, result.stderr[-2000:]
    assert not (lake / "state" / "run.lock").exists()


def test_index_entries_expire_after_the_horizon(tmp_path):
    lake = tmp_path / "lake"
    assert run_cli("run", "--seeds", str(SEEDS), "--output", str(lake)).returncode == 0
    time.sleep(1.5)
    # A horizon of a second: the first run's entries have expired.
    result = run_cli("run", "--seeds", str(SEEDS), "--output", str(lake), "--dedup_horizon", str(1 / 86400))
    assert result.returncode == 0
    assert last_record(lake)["dedup_index"]["entries_loaded"] == 0


def test_index_stays_compact(clean_lake):
    lake = clean_lake(600)
    (segment,) = (lake / "state" / "dedup").glob("*.parquet")
    table = pq.read_table(segment)
    assert table.num_rows == len(lake_ids(lake)) and "text" not in table.column_names
    # Under 1 KB an article, most of it the 512-byte MinHash: no text is kept.
    assert segment.stat().st_size / table.num_rows < 1024
    some_text = articles_table(lake).column("text")[0].as_py()
    assert some_text[:60].encode() not in segment.read_bytes()


def test_compact_command_keeps_every_row_and_respects_the_lock(tmp_path):
    seeds = tmp_path / "seeds"
    write_corpus(seeds, 200)
    lake = tmp_path / "lake"
    for _ in range(3):  # the second and third runs record every article as a duplicate
        assert run_cli("run", "--seeds", str(seeds), "--output", str(lake)).returncode == 0

    def rows(name: str) -> list[tuple]:
        return sorted(tuple(sorted((k, str(v)) for k, v in r.items())) for r in dataset_rows(lake, name))

    before = {name: rows(name) for name in ("duplicates", "rejects")}
    assert len(list((lake / "duplicates").glob("*.parquet"))) == 2
    (lake / "state" / "run.lock").write_text(
        json.dumps(
            {
                "run_id": "busy",
                "host": os.uname().nodename,
                "pid": os.getpid(),
                "heartbeat_at": "2999-01-01T00:00:00+00:00",
            }
        )
    )
    busy = run_cli("compact", str(lake))
    assert busy.returncode == 3 and "the lake is busy" in busy.stderr
    (lake / "state" / "run.lock").unlink()
    result = run_cli("compact", str(lake))
    assert result.returncode == 0, result.stderr
    assert "duplicates" in result.stdout and "2 -> 1 files" in result.stdout
    assert len(list((lake / "duplicates").glob("*.parquet"))) == 1
    after = {name: rows(name) for name in ("duplicates", "rejects")}
    assert after == before
    assert run_cli("compact", str(lake)).stdout.startswith(f"newsflow compact {lake}: 0 of")


def test_a_state_folder_belongs_to_one_lake(tmp_path):
    state = tmp_path / "state"
    first = run_cli("run", "--seeds", str(SEEDS), "--output", str(tmp_path / "a"), "--state", str(state))
    assert first.returncode == 0, first.stderr[-2000:]
    other = run_cli("run", "--seeds", str(SEEDS), "--output", str(tmp_path / "b"), "--state", str(state))
    assert other.returncode == 2 and "belongs to the lake" in other.stderr
    assert len(list((state / "dedup").glob("*.parquet"))) == 1  # the first lake's index is intact


def test_inspect_counts_committed_runs_only_and_typos_are_errors(tmp_path):
    lake = tmp_path / "lake"
    crashed = run_cli_crashing("before_commit", "run", "--seeds", str(SEEDS), "--output", str(lake))
    assert crashed.returncode == 137 and list((lake / "articles").rglob("*.parquet"))
    shown = run_cli("inspect", str(lake))
    assert shown.returncode == 0 and "written     0" in shown.stdout
    # A typo must not run into the default output (./lake) either: run where that would land.
    workdir = tmp_path / "workdir"
    workdir.mkdir()
    typo = run_cli("run", "--seeds", str(SEEDS), "--ouptut", str(tmp_path / "elsewhere"), cwd=workdir)
    assert typo.returncode == 2 and "--ouptut" in typo.stderr
    assert not (workdir / "lake").exists() and not (tmp_path / "elsewhere").exists()


def test_a_large_backfill_runs_in_batches_and_loses_nothing(tmp_path):
    seeds = tmp_path / "seeds"
    count = write_corpus(seeds, 60)
    records = [json.loads(line) for line in (seeds / "backfill.jsonl").read_text().splitlines()]
    with open(seeds / "backfill.jsonl", "a", encoding="utf-8") as handle:
        originals = sorted(records, key=lambda r: -len(r["text"]))[:5]
        for i, original in enumerate(originals):  # exact copies under other ids and URLs
            copy = original | {"id": f"copy{i}", "url": f"https://mirror.example.net/{i}"}
            handle.write(json.dumps(copy) + "\n")
        handle.write("{not json\n")
    whole, batched = tmp_path / "whole", tmp_path / "batched"
    assert run_cli("run", "--seeds", str(seeds), "--output", str(whole)).returncode == 0
    expected = last_record(whole)["counts"]
    assert expected["read"] == count + 6 and expected["duplicates"]["exact"] >= 5
    size_mb = (seeds / "backfill.jsonl").stat().st_size / 2**20
    result = run_cli(
        "run", "--seeds", str(seeds), "--output", str(batched), f"--max_batch_mb={size_mb / 3.5:.4f}"
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "4 batches" in result.stdout
    runs = [json.loads(p.read_text()) for p in (batched / "runs").glob("*.json")]
    assert len(runs) == 4 and all(r["balanced"] for r in runs)
    # The same totals as one run: every record read once, each copy caught across batches.
    assert sum(r["counts"]["read"] for r in runs) == expected["read"]
    assert sum(r["counts"]["written"] for r in runs) == expected["written"]
    assert sum(sum(r["counts"]["duplicates"].values()) for r in runs) == sum(expected["duplicates"].values())
    ids = lake_ids(batched)
    assert len(ids) == len(set(ids)) == expected["written"]
    for i, original in enumerate(originals):  # each original or its copy, never both
        assert (original["id"] in ids) != (f"copy{i}" in ids)
    reasons = sorted(r["reason"] for r in dataset_rows(batched, "rejects"))
    assert (
        reasons == sorted(r["reason"] for r in dataset_rows(whole, "rejects")) and "invalid_json" in reasons
    )
    assert (
        f"read {expected['read']} = written {expected['written']}"
        f" + duplicates {sum(expected['duplicates'].values())} + rejects {len(reasons)}" in result.stdout
    )
