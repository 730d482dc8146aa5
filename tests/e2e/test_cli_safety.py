"""A new user's commands through the real CLI: every value used, nothing of theirs touched,
errors in one line with exit codes a scheduler can trust."""

from __future__ import annotations

import gzip
import json
import shutil

import duckdb
import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from tests.helpers import (
    RESOURCES,
    SEEDS,
    articles_table,
    dataset_rows,
    run_cli,
    run_records,
    story,
)


def write_seed(folder, name: str, topic: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(f"A {topic} story\n\n" + "\n\n".join(story(topic)), encoding="utf-8")


def read_count(result) -> int:
    line = next(line for line in result.stdout.splitlines() if line.strip().startswith("read "))
    return int(line.split()[1])


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


def test_unusable_outputs_and_taxonomies_are_one_line_errors(tmp_path):
    a_file = tmp_path / "file.txt"
    a_file.write_text("x")
    checks = [
        (["run", "--seeds", str(SEEDS), "--output", str(a_file)], 2, "is a file"),
        (["compact", str(a_file)], 2, "is a file"),
        (
            [
                "run",
                "--seeds",
                str(SEEDS),
                "--output",
                str(tmp_path / "l1"),
                "--taxonomy",
                str(tmp_path / "no.json"),
            ],
            2,
            "taxonomy",
        ),
        (
            ["run", "--seeds", str(SEEDS), "--output", str(tmp_path / "l2"), "--taxonomy", str(a_file)],
            2,
            "taxonomy",
        ),
        (["clean", str(tmp_path / "missing.txt")], 1, "missing.txt"),
        (["rn", "--seeds", str(SEEDS)], 2, "did you mean run"),
    ]
    for args, code, words in checks:
        result = run_cli(*args)
        assert result.returncode == code, (args, result.stderr)
        assert words in result.stderr and "Traceback" not in result.stderr, (args, result.stderr)
        assert len(result.stderr.strip().splitlines()) == 1, (args, result.stderr)


def test_a_read_only_output_is_a_one_line_error(tmp_path):
    # /sys refuses new folders, to root as well.
    result = run_cli("run", "--seeds", str(SEEDS), "--output", "/sys/newsflow-lake")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.startswith("error: cannot write to the lake /sys/newsflow-lake")
    assert len(result.stderr.strip().splitlines()) == 1


def test_silent_no_ops_are_warnings_and_hidden_files_are_not_seeds(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    result = run_cli("run", "--seeds", str(empty), "--output", str(tmp_path / "l1"), "--duration", "5")
    assert "warning: --seeds" in result.stderr and "matches no seed file" in result.stderr
    assert "warning: --duration has no effect without --stream" in result.stderr
    glob_miss = run_cli("run", "--seeds", str(tmp_path / "*.nothing"), "--output", str(tmp_path / "l2"))
    assert "matches no seed file" in glob_miss.stderr
    seeds = tmp_path / "seeds"
    write_seed(seeds, "visible.txt", "harbour")
    write_seed(seeds, ".hidden.txt", "secret")
    write_seed(seeds / ".git", "config.txt", "vcs")
    lake = tmp_path / "lake"
    result = run_cli("run", "--seeds", str(seeds), "--output", str(lake))
    assert result.returncode == 0 and read_count(result) == 1
    streamed = run_cli(
        "run", "--seeds", str(seeds), "--output", str(tmp_path / "l3"), "--stream", "--duration", "1"
    )
    assert "warning: --stream with no --feeds" in streamed.stderr


def test_a_runner_that_cannot_start_offline_is_a_one_line_error(tmp_path):
    result = run_cli(
        "run",
        "--seeds",
        str(SEEDS),
        "--output",
        str(tmp_path / "lake"),
        "--runner",
        "PrismRunner",
        timeout=300,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr and result.stderr.startswith("error:")
    assert not list((tmp_path / "lake").rglob("*.parquet"))  # nothing half-written stays


# --- 17, 18. verbosity, version, extract's guard flags --------------------------------------


def test_normal_output_is_quiet_and_flags_change_it(tmp_path):
    seeds = tmp_path / "seeds"
    shutil.copytree(SEEDS, seeds)
    shutil.copy(RESOURCES / "html_dev" / "Reuters_3.html.gz", seeds / "reuters.html.gz")
    normal = run_cli("run", "--seeds", str(seeds), "--output", str(tmp_path / "l1"))
    assert normal.returncode == 0 and normal.stderr == "", normal.stderr
    quiet = run_cli("run", "--seeds", str(seeds), "--output", str(tmp_path / "l2"), "--quiet")
    assert quiet.returncode == 0 and quiet.stdout == "" and quiet.stderr == ""
    verbose = run_cli("-v", "run", "--seeds", str(seeds), "--output", str(tmp_path / "l3"))
    assert verbose.returncode == 0 and "INFO" in verbose.stderr
    assert run_cli("--version").stdout.startswith("newsflow ")


def test_extract_takes_the_allowed_hosts_of_run_with_a_port(feed_server):
    from tests.helpers import page

    url = feed_server.route("/story", page("Harbour", story("harbour")), content_type="text/html")
    blocked = run_cli("extract", url, "--ignore_robots")
    assert "blocked_private_address" in blocked.stdout and blocked.returncode == 1
    other_port = run_cli("extract", url, "--allowed_hosts", "127.0.0.1:1", "--ignore_robots")
    assert "blocked_private_address" in other_port.stdout
    allowed = run_cli("extract", url, "--allowed_hosts", f"127.0.0.1:{feed_server.port}", "--ignore_robots")
    assert allowed.returncode == 0, allowed.stdout + allowed.stderr
    assert json.loads(allowed.stdout)["title"] == "Harbour"


# --- 21, 22. what a person reads -------------------------------------------------------------


def test_summary_shows_this_runs_files_and_at_most_twenty_partitions(tmp_path):
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    records = [
        {
            "id": f"r{day}",
            "published": f"2017-09-{day:02d}T10:00:00Z",
            "text": "\n\n".join(story(f"day {day} dam")),
        }
        for day in range(1, 26)
    ]
    (seeds / "month.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    lake = tmp_path / "lake"
    first = run_cli("run", "--seeds", str(seeds), "--output", str(lake))
    assert first.returncode == 0, first.stderr[-2000:]
    partition_lines = [line for line in first.stdout.splitlines() if line.strip().startswith("date=")]
    assert len(partition_lines) == 20 and "… and 5 more partitions" in first.stdout
    second = run_cli("run", "--seeds", str(SEEDS), "--output", str(lake))
    files_line = next(line for line in second.stdout.splitlines() if line.strip().startswith("files "))
    lake_line = next(line for line in second.stdout.splitlines() if line.strip().startswith("lake "))
    assert files_line.split()[1:3] == ["articles", "2,"] and "(this run)" in files_line
    assert lake_line.split()[1:3] == ["articles", "27,"]


def test_clean_shows_each_line_and_decodes_like_run(tmp_path):
    text = run_cli("clean", str(SEEDS / "000_b3fd492040c0f746.txt"))
    assert text.returncode == 0
    lines = text.stdout.splitlines()
    assert lines[0].startswith("== 000_b3fd492040c0f746.txt:")
    assert any(" kept " in line for line in lines) and any(" removed " in line for line in lines)
    as_json = run_cli("clean", "--json", str(SEEDS / "000_b3fd492040c0f746.txt"))
    assert json.loads(as_json.stdout)["removed"]
    mixed = tmp_path / "mixed.jsonl"
    german = "Zoë Müller sprach über die Brücke.\n\n" + "\n\n".join(story("Brücke"))
    french = "Café crème à Besançon, déjà vu.\n\n" + "\n\n".join(story("Besançon"))
    utf8 = json.dumps({"id": "a", "text": german}, ensure_ascii=False)
    latin = json.dumps({"id": "b", "text": french}, ensure_ascii=False)
    mixed.write_bytes(utf8.encode("utf-8") + b"\n" + latin.encode("latin-1") + b"\n")
    shown = run_cli("clean", "--json", str(mixed))
    texts = [json.loads(line)["text"] for line in shown.stdout.splitlines()]
    assert "Zoë Müller" in texts[0] and "Café crème à Besançon" in texts[1], texts
    lake = tmp_path / "lake"
    assert run_cli("run", "--seeds", str(mixed), "--output", str(lake)).returncode == 0
    stored = {r["id"]: r["text"] for r in articles_table(lake, ["id", "text"]).to_pylist()}
    assert [stored["a"], stored["b"]] == texts  # decoded exactly as run decodes


# --- 23. every reader reads the lake as is ------------------------------------------------


def test_pandas_and_every_documented_reader_read_the_lake(tmp_path):
    lake = tmp_path / "lake"
    assert run_cli("run", "--seeds", str(SEEDS), "--output", str(lake)).returncode == 0
    articles = str(lake / "articles")
    frame = pd.read_parquet(articles)  # as is
    assert len(frame) == 5 and set(frame["date"].astype(str)) == {"2017-09-05", "unknown"}
    # The README's recipes: one line per reader, the date typed, null when unknown.
    typed = pd.read_parquet(articles).assign(
        date=lambda f: pd.to_datetime(f["date"].astype(str), errors="coerce")
    )
    assert typed["date"].notna().sum() == 1
    duck = duckdb.sql(
        f"SELECT TRY_CAST(date AS DATE) AS date, topic, id FROM read_parquet('{articles}/**/*.parquet', "
        "hive_partitioning = true, hive_types_autocast = false)"
    )
    assert (
        duck.types[0] == "DATE"
        and sorted(str(r[0]) for r in duck.fetchall()) == ["2017-09-05"] + ["None"] * 4
    )
    pl_frame = (
        pl.scan_parquet(
            f"{articles}/**/*.parquet",
            hive_partitioning=True,
            hive_schema={"date": pl.String, "topic": pl.String},
        )
        .with_columns(pl.col("date").str.to_date(strict=False))
        .collect()
    )
    assert pl_frame.schema["date"] == pl.Date and pl_frame["date"].null_count() == 4
    from schemas.parquet import PARTITION_SCHEMA

    table = ds.dataset(articles, partitioning=ds.partitioning(PARTITION_SCHEMA, flavor="hive")).to_table()
    assert table.num_rows == 5
