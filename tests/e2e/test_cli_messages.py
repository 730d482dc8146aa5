"""The CLI a new user meets (issue 9, items 13-23): one-line errors and exit codes, warnings for
silent no-ops, quiet output, the summary, clean's view, every documented reader."""

from __future__ import annotations

import importlib.util
import json
import pathlib
import shutil

import duckdb
import pandas as pd
import polars as pl
import pyarrow.dataset as ds

from tests.helpers import (
    RESOURCES,
    SEEDS,
    articles_table,
    read_count,
    run_cli,
    run_cli_process,
    story,
    write_seed,
)


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


def test_a_location_newsflow_cannot_use_is_a_one_line_error_saying_why(tmp_path):
    # Beam's words were "Unable to get filesystem ... pip install apache-beam[gcp]" (for http:// too),
    # "Must provide one of client or options" (s3:// without boto3), and a traceback from inspect.
    lake = str(tmp_path / "lake")
    checks = [
        (
            ["run", "--seeds", "http://127.0.0.1:9/a.jsonl", "--output", lake],
            "--seeds http://127.0.0.1:9/a.jsonl: a web address",
        ),
        (
            ["run", "--seeds", f"{SEEDS},ftp://x/y", "--output", lake],
            "--seeds ftp://x/y: no file system for ftp://",
        ),
        (
            ["run", "--seeds", str(SEEDS), "--output", "hdfs://x/lake"],
            "--output hdfs://x/lake: no file system for hdfs://",
        ),
        (
            ["run", "--seeds", str(SEEDS), "--output", lake, "--state", "https://x/s"],
            "--state https://x/s: a web address",
        ),
        (["inspect", "https://x/lake"], "inspect: https://x/lake: a web address"),
        # A feed list or sitemap list that is not there was refused only after the lake was made.
        (
            ["run", "--feeds", f"{tmp_path}/feeds.txt", "--output", lake],
            f"--feeds {tmp_path}/feeds.txt: neither",
        ),
        (
            ["run", "--sitemaps", "ftp://x/s.txt", "--output", lake],
            "--sitemaps ftp://x/s.txt: unsupported scheme",
        ),
        (["compact", lake, "--state", "ftp://x/s"], "compact: --state ftp://x/s: no file system"),
    ]
    # The object stores' clients come with the package's extras, which the tests do not install.
    for scheme, extra, module in (("gs", "gcp", "google.cloud.storage"), ("s3", "aws", "boto3")):
        try:
            installed = importlib.util.find_spec(module) is not None
        except ImportError:
            installed = False
        if not installed:
            wanted = f"{scheme}:// needs the {extra} extra: pip install 'newsflow[{extra}]'"
            checks += [
                (
                    ["run", "--seeds", str(SEEDS), "--output", f"{scheme}://b/lake"],
                    f"--output {scheme}://b/lake: {wanted}",
                ),
                (
                    ["run", "--seeds", f"{scheme}://b/seeds", "--output", lake],
                    f"--seeds {scheme}://b/seeds: {wanted}",
                ),
                (["inspect", f"{scheme}://b/lake"], f"inspect: {scheme}://b/lake: {wanted}"),
                (
                    ["run", "--feeds", f"{scheme}://b/feeds.txt", "--output", lake],
                    f"--feeds {scheme}://b/feeds.txt: {wanted}",
                ),
                (
                    ["run", "--seeds", str(SEEDS), "--output", lake, "--taxonomy", f"{scheme}://b/t.json"],
                    f"--taxonomy {scheme}://b/t.json: {wanted}",
                ),
            ]
    for args, message in checks:
        result = run_cli(*args)
        assert result.returncode == 2, (args, result.stderr)
        assert result.stderr.startswith(f"error: {message}"), (args, result.stderr)
        assert len(result.stderr.strip().splitlines()) == 1, (args, result.stderr[:500])
    assert not (tmp_path / "lake").exists()  # refused before anything is written


def test_a_bad_option_value_is_a_one_line_error_not_every_beam_option(tmp_path):
    lake = str(tmp_path / "lake")
    checks = [
        (["--max_batch_mb", "lots"], "argument --max_batch_mb/--max-batch-mb: invalid float value: 'lots'"),
        (["--workers", "x"], "argument --workers: invalid int value: 'x'"),
        (["--direct_running_mode", "bogus"], "argument --direct_running_mode: invalid choice: 'bogus'"),
        (["--fetch_timeout"], "argument --fetch_timeout: expected one argument"),
        # A value of the right type out of its range: no silent change of meaning, no traceback.
        (["--workers", "-1"], "--workers must be 0 or more, not -1"),
        (["--dedup_horizon", "-3"], "--dedup_horizon must be 0 or more, not -3"),
        (["--dedup_horizon", "inf"], "--dedup_horizon must be a finite number, not inf"),
        (["--site_memory_days", "99999999999"], "--site_memory_days must be at most 36,500 days"),
        (["--fetch_timeout", "0"], "--fetch_timeout must be positive, not 0"),
    ]
    for extra, message in checks:
        result = run_cli("run", "--seeds", str(SEEDS), "--output", lake, *extra)
        assert result.returncode == 2, (extra, result.stderr)
        assert result.stderr.startswith(f"error: {message}"), (extra, result.stderr)
        assert len(result.stderr.strip().splitlines()) == 1, (extra, result.stderr[:500])
    assert not (tmp_path / "lake").exists()  # refused before anything is written


def test_every_command_answers_help_with_its_own_options(tmp_path):
    # `newsflow run --help` was an "unrecognized argument" error: run's arguments go to Beam's
    # option parser, which has no help of its own.
    for args in (["run", "--help"], ["run", "--seeds", "x", "-h"], ["-q", "run", "-h"]):
        result = run_cli(*args)
        assert result.returncode == 0 and result.stderr == "", (args, result.stderr)
        assert result.stdout.startswith("usage: newsflow run"), (args, result.stdout[:200])
        assert "--seeds SEEDS" in result.stdout and "--max_batch_mb" in result.stdout
        assert "Any Beam pipeline option passes through" in " ".join(result.stdout.split())
    for command in ("inspect", "compact", "clean", "extract"):
        result = run_cli(command, "--help")
        assert result.returncode == 0 and result.stdout.startswith(f"usage: newsflow {command}"), command
    assert not any(tmp_path.iterdir())


def test_a_run_that_fails_after_writing_says_so_in_one_line(tmp_path, capsys):
    # A full disk at the commit: the run's files are removed and the error says how many. A
    # logger's "WARNING transforms.lake.commit: removing 1 files ..." line came before it.
    import errno

    from pipeline import cli
    from pipeline.launch import Hooks

    def disk_full() -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    lake = tmp_path / "lake"
    code = cli.main(
        ["run", "--seeds", str(SEEDS), "--output", str(lake)], hooks=Hooks(before_commit=disk_full)
    )
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and line.startswith("error: the run failed (") and "No space left on device" in line, (
        line
    )
    removed = int(line.rsplit("(", 1)[1].split(" of its files removed")[0])
    assert removed > 0 and not list(lake.rglob("*.parquet")), line


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
    # A process of its own: Beam's Prism runner leaves a server thread behind when it fails.
    result = run_cli_process(
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
    # Fresh processes: what a user sees includes what imports print (Beam's warnings at import).
    seeds = tmp_path / "seeds"
    shutil.copytree(SEEDS, seeds)
    shutil.copy(RESOURCES / "html_dev" / "Reuters_3.html.gz", seeds / "reuters.html.gz")
    # Buffered output, as where PYTHONUNBUFFERED is not set.
    buffered = {"PYTHONUNBUFFERED": ""}
    normal = run_cli_process("run", "--seeds", str(seeds), "--output", str(tmp_path / "l1"), env=buffered)
    assert normal.returncode == 0 and normal.stderr == "", normal.stderr
    # The command leaves without the interpreter's teardown (pipeline.cli.command): the whole
    # summary still reaches the pipe, down to its last line, and so does the exit code.
    last = normal.stdout.rstrip("\n").splitlines()[-1].split()
    assert last[:2] == ["run", "record"] and (tmp_path / "l1" / "runs" / pathlib.Path(last[2]).name).is_file()
    refused = run_cli_process("run", "--seeds", str(seeds), "--output", str(tmp_path / "l4"), "--workers=x")
    assert refused.returncode == 2 and refused.stderr == "error: argument --workers: invalid int value: 'x'\n"
    quiet = run_cli_process("run", "--seeds", str(seeds), "--output", str(tmp_path / "l2"), "--quiet")
    assert quiet.returncode == 0 and quiet.stdout == "" and quiet.stderr == ""
    verbose = run_cli_process("-v", "run", "--seeds", str(seeds), "--output", str(tmp_path / "l3"))
    assert verbose.returncode == 0 and "INFO" in verbose.stderr
    assert run_cli_process("--version", env=buffered).stdout.startswith("newsflow ")


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


def test_a_damaged_lake_file_is_a_one_line_error_naming_it(tmp_path):
    # A part file cut short (a copy that stopped, a full disk): inspect printed a pyarrow traceback.
    seeds = tmp_path / "seeds"
    write_seed(seeds, "dam.txt", "dam")
    lake = tmp_path / "lake"
    assert run_cli("run", "--seeds", str(seeds), "--output", str(lake)).returncode == 0
    (article,) = (lake / "articles").rglob("*.parquet")
    (record,) = (lake / "runs").glob("*.json")
    for damaged in (article, record):
        whole = damaged.read_bytes()
        damaged.write_bytes(whole[:12])
        inspect = run_cli("inspect", str(lake))
        assert inspect.returncode == 1 and "Traceback" not in inspect.stderr
        (line,) = inspect.stderr.strip().splitlines()
        assert (
            line.startswith(f"error: inspect: {damaged} is damaged (")
            and "restore it or move it away" in line
        )
        damaged.write_bytes(whole)
    assert run_cli("inspect", str(lake)).returncode == 0
    # The dedup index cut short: the next run stops before it writes, naming the segment.
    (segment,) = (lake / "state" / "dedup").glob("*.parquet")
    segment.write_bytes(segment.read_bytes()[:100])
    write_seed(seeds, "river.txt", "river")
    again = run_cli("run", "--seeds", str(seeds), "--output", str(lake))
    assert again.returncode != 0 and "Traceback" not in again.stderr
    assert f"dedup index segment {segment} is damaged" in again.stderr and "nothing committed" in again.stderr
    assert sorted(p.name for p in (lake / "articles").rglob("*.parquet")) == [article.name]
    # The feed cursors cut short: a one-line error naming them, exit code 1 (not a usage error).
    segment.unlink()
    (lake / "state" / "feeds.json").write_text('{"feeds": {"http')
    cursors = run_cli("run", "--feeds", "http://127.0.0.1:9/feed.xml", "--output", str(lake))
    assert cursors.returncode == 1 and "Traceback" not in cursors.stderr
    assert cursors.stderr.strip() == f"error: {lake / 'state' / 'feeds.json'} is damaged" + (
        " (Unterminated string starting at: line 1 column 12 (char 11)): restore it or move it away"
    )
