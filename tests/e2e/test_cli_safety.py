"""A new user's commands through the real CLI: every value used, nothing of theirs touched,
errors in one line with exit codes a scheduler can trust."""

from __future__ import annotations

import gzip
import json

import pyarrow as pa
import pyarrow.parquet as pq

from tests.helpers import (
    RESOURCES,
    SEEDS,
    articles_table,
    dataset_rows,
    read_count,
    run_cli,
    run_records,
    story,
    write_seed,
)

# --- 1. every value given is used --------------------------------------------------------


def test_every_seed_value_is_read_after_one_flag_repeated_or_comma_separated(tmp_path):
    for name in ("a", "b", "c", "d"):
        write_seed(tmp_path / name, f"{name}.txt", f"{name} harbour")
    lake = tmp_path / "lake"
    result = run_cli(
        "run",
        "--seeds",
        str(tmp_path / "a"),
        str(tmp_path / "b"),
        "--seeds",
        f"{tmp_path / 'c'},{tmp_path / 'd'}",
        "--output",
        str(lake),
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert read_count(result) == 4
    assert sorted(r["source"] for r in articles_table(lake, ["source"]).to_pylist()) == [
        "a.txt",
        "b.txt",
        "c.txt",
        "d.txt",
    ]


def test_a_leftover_argument_or_an_unknown_flag_is_a_usage_error(tmp_path):
    write_seed(tmp_path / "a", "a.txt", "harbour")
    stray = run_cli(
        "run", str(tmp_path / "elsewhere"), "--seeds", str(tmp_path / "a"), "--output", str(tmp_path / "l")
    )
    assert stray.returncode == 2 and "unexpected argument" in stray.stderr
    assert "Traceback" not in stray.stderr and not (tmp_path / "l").exists()
    typo = run_cli("run", "--seeds", str(tmp_path / "a"), "--ouptut", str(tmp_path / "l"))
    assert typo.returncode == 2 and "did you mean --output" in typo.stderr


def test_every_feed_value_is_polled_and_a_comma_in_a_query_does_not_split(feed_server, tmp_path):
    from tests.helpers import FETCH_FLAGS, page, rss

    base = feed_server.base_url
    for name in ("one", "two", "three"):
        feed_server.route(f"/{name}", page(name, story(name)), content_type="text/html")
        feed_server.route(
            f"/{name}.xml",
            rss([{"title": name, "link": f"{base}/{name}", "date": "Tue, 05 Sep 2017 10:00:00 GMT"}]),
            content_type="application/rss+xml",
        )
    lake = tmp_path / "lake"
    result = run_cli(
        "run",
        "--feeds",
        f"{base}/one.xml?tags=a,b",
        f"{base}/two.xml",
        "--feeds",
        f"{base}/three.xml",
        "--output",
        str(lake),
        *FETCH_FLAGS,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert [feed_server.count(f"/{n}.xml") for n in ("one", "two", "three")] == [1, 1, 1]
    assert any(r.path == "/one.xml?tags=a,b" for r in feed_server.requests)
    assert len(articles_table(lake, ["id"])) == 3


# --- 2. nothing newsflow did not write is touched -----------------------------------------


def spark_style_lake(folder):
    part = folder / "articles" / "date=2017-09-05" / "topic=crime"
    part.mkdir(parents=True)
    path = part / "part-00000-1f3c2a9e-c000.snappy.parquet"
    pq.write_table(pa.table({"id": ["spark-row"]}), path)
    return path


def test_a_folder_that_is_not_a_lake_is_refused_and_left_as_it_was(tmp_path):
    theirs = spark_style_lake(tmp_path / "warehouse")
    before = sorted(p.relative_to(tmp_path) for p in (tmp_path / "warehouse").rglob("*"))
    result = run_cli("run", "--seeds", str(SEEDS), "--output", str(tmp_path / "warehouse"))
    assert result.returncode == 2, result.stdout
    assert "not a newsflow lake" in result.stderr and "Traceback" not in result.stderr
    assert (
        theirs.exists()
        and sorted(p.relative_to(tmp_path) for p in (tmp_path / "warehouse").rglob("*")) == before
    )


def test_reconciliation_deletes_only_what_a_journaled_run_wrote(tmp_path):
    lake = tmp_path / "lake"
    assert run_cli("run", "--seeds", str(SEEDS), "--output", str(lake)).returncode == 0
    # A file someone else put into the lake, named like an uncommitted run's file.
    foreign = (
        lake / "articles" / "date=2017-09-05" / "topic=crime" / "part-20990101T000000Z_abcdef-x-00000.parquet"
    )
    foreign.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table({"id": ["theirs"]}), foreign)
    hidden = lake / "rejects" / ".part-20990101T000000Z_abcdef-00000.parquet.inprogress"
    hidden.parent.mkdir(exist_ok=True)
    hidden.write_bytes(b"theirs")
    again = run_cli("run", "--seeds", str(SEEDS), "--output", str(lake))
    assert again.returncode == 0, again.stderr[-2000:]
    assert foreign.exists() and hidden.exists()
    assert not list((lake / "state" / "started").glob("*.json"))  # every run settled its journal entry


# --- 3. gzipped seeds of every type -------------------------------------------------------


def test_gzipped_text_html_and_jsonl_seeds_run(tmp_path):
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    text = "\n\n".join(story("ferry"))
    (seeds / "a.txt.gz").write_bytes(gzip.compress(f"Ferry timetable\n\n{text}".encode()))
    page_html = (
        "<html><head><title>Tram line</title></head><body><article>"
        + "".join(f"<p>{p}</p>" for p in story("tram"))
        + "</article></body></html>"
    )
    (seeds / "b.html.gz").write_bytes(gzip.compress(page_html.encode()))
    record = {"id": "c", "title": "Bridge", "text": "\n\n".join(story("bridge"))}
    (seeds / "c.jsonl.gz").write_bytes(gzip.compress((json.dumps(record) + "\n").encode()))
    lake = tmp_path / "lake"
    result = run_cli("run", "--seeds", str(seeds), "--output", str(lake))
    assert result.returncode == 0, result.stderr[-2000:]
    assert dataset_rows(lake, "rejects") == []
    assert sorted(articles_table(lake, ["source"]).column("source").to_pylist()) == [
        "a.txt.gz",
        "b.html.gz",
        "c.jsonl.gz:1",
    ]


# --- 4. Chinese and Japanese articles ------------------------------------------------------


def test_chinese_and_japanese_articles_are_kept_with_sensible_word_counts(tmp_path):
    lake = tmp_path / "lake"
    result = run_cli("run", "--seeds", str(RESOURCES / "cjk"), "--output", str(lake))
    assert result.returncode == 0, result.stderr[-2000:]
    rows = {r["source"]: r for r in articles_table(lake, ["source", "language", "word_count"]).to_pylist()}
    assert set(rows) == {"ja_article.txt", "zh_article.txt"}, dataset_rows(lake, "rejects")
    assert rows["ja_article.txt"]["language"] == "ja" and rows["zh_article.txt"]["language"] == "zh"
    # Two characters a word: a few hundred characters of body are well over a hundred words.
    assert all(120 <= row["word_count"] <= 260 for row in rows.values()), rows


# --- 5, 6. run ids and the state's location -------------------------------------------------


def test_a_run_id_already_committed_is_refused(tmp_path):
    lake = tmp_path / "lake"
    first = run_cli("run", "--seeds", str(SEEDS), "--output", str(lake), "--run_id", "nightly_1")
    assert first.returncode == 0
    record = (lake / "runs" / "nightly_1.json").read_text()
    again = run_cli("run", "--seeds", str(SEEDS), "--output", str(lake), "--run_id", "nightly_1")
    assert again.returncode == 2 and "already used" in again.stderr and "Traceback" not in again.stderr
    assert (lake / "runs" / "nightly_1.json").read_text() == record


def test_the_lake_records_where_its_state_lives(tmp_path):
    lake, state, moved = tmp_path / "lake", tmp_path / "state", tmp_path / "state2"
    assert run_cli("run", "--seeds", str(SEEDS), "--output", str(lake), "--state", str(state)).returncode == 0
    without = run_cli("run", "--seeds", str(SEEDS), "--output", str(lake))
    assert without.returncode == 2 and f"--state {state}" in without.stderr
    assert not (lake / "state").exists()
    move = run_cli("run", "--seeds", str(SEEDS), "--output", str(lake), "--state", str(moved), "--move_state")
    assert move.returncode == 0, move.stderr[-2000:]
    # The moved state still knows every article: the rerun writes nothing again.
    assert run_records(lake)[-1]["counts"]["written"] == 0
    assert list((moved / "dedup").glob("*.parquet")) and not list(state.rglob("*.parquet"))


# --- 7, 8. ids are unique, records are bounded -----------------------------------------------


def test_a_taken_id_is_a_duplicate_and_an_oversized_record_a_reject(tmp_path):
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    lines = [
        json.dumps({"id": "123", "title": t, "text": "\n\n".join(story(t))}) for t in ("dam", "zoo", "mall")
    ]
    lines.append(json.dumps({"id": "big", "text": "word " * 400_000}))
    (seeds / "backfill.jsonl").write_text("\n".join(lines) + "\n")
    lake = tmp_path / "lake"
    result = run_cli("run", "--seeds", str(seeds), "--output", str(lake), "--max_record_bytes", "1000000")
    assert result.returncode == 0, result.stderr[-2000:]
    assert articles_table(lake, ["id"]).column("id").to_pylist() == ["123"]
    duplicates = dataset_rows(lake, "duplicates")
    assert sorted(d["kind"] for d in duplicates) == ["id", "id"]
    assert all(d["duplicate_of"] == "123" and 0 <= d["similarity"] < 0.5 for d in duplicates)
    (reject,) = dataset_rows(lake, "rejects")
    assert reject["reason"] == "too_large" and reject["source"] == "backfill.jsonl:4"
    assert "--max_record_bytes" in reject["detail"]


# --- 13, 15, 16. one-line errors, honest exit codes, warnings ------------------------------
