"""End to end: the real CLI on real files into a temporary lake, read back with pyarrow and DuckDB."""

from __future__ import annotations

import json
import shutil

import duckdb
import pandas as pd
import pyarrow.dataset as ds
import pytest

from schemas.parquet import PARTITION_SCHEMA
from tests.helpers import RESOURCES, SEEDS, run_cli, seed_text

GOLD = json.loads((RESOURCES / "seeds_gold.json").read_text(encoding="utf-8"))["documents"]


def articles_table(lake):
    partitioning = ds.partitioning(PARTITION_SCHEMA, flavor="hive")
    return ds.dataset(str(lake / "articles"), format="parquet", partitioning=partitioning).to_table()


def dataset_rows(lake, name):
    path = lake / name
    if not path.exists():
        return []
    return ds.dataset(str(path), format="parquet").to_table().to_pylist()


@pytest.fixture(scope="module")
def seeds_lake(tmp_path_factory):
    lake = tmp_path_factory.mktemp("seeds") / "lake"
    result = run_cli("run", "--seeds", str(SEEDS), "--output", str(lake))
    assert result.returncode == 0, result.stderr[-3000:]
    return lake, result.stdout


def test_seed_run_prints_a_balanced_summary(seeds_lake):
    _, stdout = seeds_lake
    assert "read        5" in stdout
    assert "written     5" in stdout
    assert "balanced" in stdout and "NOT BALANCED" not in stdout
    assert "date=2017-09-05/topic=conflict" in stdout


def test_output_holds_one_folder_per_dataset_and_only_partitions_in_articles(seeds_lake):
    lake, _ = seeds_lake
    names = {"articles", "duplicates", "rejects", "runs", "state", "newsflow-lake.json"}
    assert {p.name for p in lake.iterdir()} <= names and (lake / "newsflow-lake.json").is_file()
    for path in (lake / "articles").rglob("*"):
        relative = path.relative_to(lake / "articles")
        assert relative.parts[0].startswith("date=")
        if len(relative.parts) > 1:
            assert relative.parts[1].startswith("topic=")
        if path.is_file():
            assert len(relative.parts) == 3 and path.suffix == ".parquet" and not path.name.startswith(".")
    assert not [p for p in lake.rglob("*") if ".temp" in p.name or p.name.endswith(".inprogress")]


def test_gold_body_and_title_lines(seeds_lake):
    lake, _ = seeds_lake
    rows = {r["source"]: r for r in articles_table(lake).to_pylist()}
    assert set(rows) == set(GOLD)
    for name, gold in GOLD.items():
        lines = seed_text(name[:3]).split("\n")
        text_lines = {line.strip() for line in rows[name]["text"].split("\n") if line.strip()}
        keep = set(gold["body"])
        allowed = keep | set(gold["title_lines"]) | set(gold["either"])
        for number in gold["body"]:
            assert lines[number - 1].strip() in text_lines, (name, number)
        body_texts = {lines[n - 1].strip() for n in keep}
        for number, line in enumerate(lines, start=1):
            if line.strip() and number not in allowed and line.strip() not in body_texts:
                assert line.strip() not in text_lines, (name, number, line)
        assert rows[name]["title"] == gold["title"], name
    assert rows["003_1571d4de9f46acd8.txt"]["author"] == "Stephen Lendman"


def test_dates_topics_and_no_duplicates_with_duckdb(seeds_lake):
    lake, _ = seeds_lake
    con = duckdb.connect()
    rows = con.sql(
        f"select source, try_cast(date as date), topic, published, date_source, language, word_count "
        f"from read_parquet('{lake}/articles/**/*.parquet', hive_partitioning = true, "
        "hive_types_autocast = false) order by source"
    ).fetchall()
    assert len(rows) == 5
    by_source = {r[0]: r for r in rows}
    for name, gold in GOLD.items():
        _, date, topic, published, date_source, language, words = by_source[name]
        assert topic == gold["topic"] == "conflict"
        assert (None if date is None else str(date)) == gold["published"], name
        assert language == "en" and words > 50
    assert by_source["004_0af68bd507a69611.txt"][4] == "text_header"
    assert str(by_source["004_0af68bd507a69611.txt"][3].date()) == "2017-09-05"
    ids = con.sql(f"select id from read_parquet('{lake}/articles/**/*.parquet')").fetchall()
    assert len(set(ids)) == 5
    assert dataset_rows(lake, "duplicates") == []


def test_inspect_prints_the_same_summary(seeds_lake):
    lake, _ = seeds_lake
    result = run_cli("inspect", str(lake))
    assert result.returncode == 0, result.stderr
    assert "written     5" in result.stdout and "date=2017-09-05/topic=conflict" in result.stdout


def test_inspect_refuses_a_folder_that_is_not_a_lake(tmp_path):
    result = run_cli("inspect", str(tmp_path))
    assert result.returncode == 2 and "no newsflow lake" in result.stderr


def _edit(text: str, replacements: list[tuple[str, str]]) -> str:
    for old, new in replacements:
        assert old in text, old
        text = text.replace(old, new)
    return text


@pytest.fixture(scope="module")
def variants_lake(tmp_path_factory):
    """The seeds plus syndicated variants, URL copies and bad inputs, in one seed folder."""
    folder = tmp_path_factory.mktemp("variants")
    seeds = folder / "in"
    shutil.copytree(SEEDS, seeds)
    body_003 = "\n\n".join(
        line
        for n, line in enumerate(seed_text("003").split("\n"), 1)
        if n in GOLD["003_1571d4de9f46acd8.txt"]["body"]
    )
    other_boilerplate = (
        "ISIS Siege of Deir Ezzor, Syria Broken\n\nShare this article: Facebook Twitter Email\n\n"
        + body_003
        + "\n\nSubscribe to our newsletter for daily updates.\n\nRelated: Ten things to know about Syria\n\n"
        "Leave a Reply\n\nYou must be logged in to post a comment."
    )
    edited_000 = _edit(
        seed_text("000"),
        [
            (
                "It was suggested to launch a volunteer campaign",
                "It was also proposed to launch a volunteer drive",
            ),
            (
                "Moscow has been already dooing this for some time",
                "Moscow has already been doing this for a while",
            ),
            (
                "The SAA should not take more than a few months",
                "The SAA is unlikely to need more than a few months",
            ),
        ],
    )
    story = (
        "The city council approved a new budget on Monday after a long debate about school funding, road "
        "repairs and the future of the public library system, which had faced closures for two years. "
        "Council members voted seven to two in favour of the plan, which raises spending on schools by four "
        "percent and sets aside money to reopen two library branches next spring."
    )
    records = [
        {"id": "syndicated-003", "text": other_boilerplate, "url": "https://mirror.example.net/siege"},
        {"id": "edited-000", "text": edited_000},
        {
            "id": "url-a",
            "text": story,
            "url": "https://news.example.com/council-budget/",
            "published": "2020-03-02T10:00:00Z",
            "title": "Council approves budget",
        },
        {
            "id": "url-b",
            "text": story + " The mayor welcomed the vote.",
            "url": "https://NEWS.example.com/council-budget?utm_source=rss&utm_medium=feed",
            "published": "2020-03-02T12:00:00Z",
            "title": "Council approves budget",
        },
        {"title": "neither text nor html"},
        # A URL no parser reads ("Invalid IPv6 URL"): the record is broken, the run goes on.
        {"id": "bad-url", "text": story.replace("Monday", "Friday"), "url": "http://[::1/council-budget"},
        # Half an emoji and a control character, escaped, and a date with a 99-hour offset: each
        # used to abort the run (no UTF-8 file can store the one, no UTC time exists for the other).
        {
            "id": "odd-values",
            "text": "The ferry \ud83d crossing to the islands resumed on Tuesday after a storm closed the "
            "harbour for three days, and the port authority added two evening boats for the weekend.",
            "title": "Ferries\u0007 resume \ud83d",
            "published": "Tue, 05 Sep 2017 10:00:00 +9999",
        },
    ]
    lines = [json.dumps(r) for r in records]
    lines.insert(3, "{this is not json")
    (seeds / "backfill.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (seeds / "empty.txt").write_bytes(b"")
    (seeds / "image.html").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 8)
    (seeds / "boilerplate-only.txt").write_text(
        "Share this:\n\nTwitter\n\nFacebook\n\nLike this:\n", encoding="utf-8"
    )
    lake = folder / "lake"
    result = run_cli("run", "--seeds", str(seeds), "--output", str(lake))
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    return lake, result.stdout


def test_variants_are_caught_and_different_articles_kept(variants_lake):
    lake, stdout = variants_lake
    sources = {r["source"] for r in articles_table(lake).to_pylist()}
    assert set(GOLD) <= sources
    assert "003_1571d4de9f46acd8.txt" in sources and "004_0af68bd507a69611.txt" in sources
    dups = {r["id"]: r for r in dataset_rows(lake, "duplicates")}
    ids = {r["source"]: r["id"] for r in articles_table(lake).to_pylist()}
    assert dups["syndicated-003"]["duplicate_of"] == ids["003_1571d4de9f46acd8.txt"]
    # Cleaning strips the other boilerplate, so the copy is usually an exact match of the body.
    assert dups["syndicated-003"]["kind"] in ("exact", "near")
    assert dups["edited-000"]["duplicate_of"] == ids["000_b3fd492040c0f746.txt"]
    assert dups["edited-000"]["kind"] == "near"
    assert dups["url-b"]["duplicate_of"] == "url-a" and dups["url-b"]["kind"] == "url"
    assert set(dups) == {"syndicated-003", "edited-000", "url-b"}


def test_bad_inputs_end_in_rejects_with_reasons(variants_lake):
    lake, stdout = variants_lake
    rejects = {(r["source"], r["stage"], r["reason"]) for r in dataset_rows(lake, "rejects")}
    assert ("empty.txt", "read", "empty") in rejects
    assert ("image.html", "read", "binary") in rejects
    assert ("backfill.jsonl:4", "read", "invalid_json") in rejects
    assert ("backfill.jsonl:6", "read", "no_content") in rejects
    assert ("backfill.jsonl:7", "read", "bad_field") in rejects
    assert ("boilerplate-only.txt", "clean", "empty_after_cleaning") in rejects
    assert len(rejects) == 6
    assert "balanced" in stdout and "NOT BALANCED" not in stdout
    # read = 5 seeds + 8 JSONL lines + 3 files; written = 5 seeds + url-a + odd-values.
    assert "read        16" in stdout and "written     7" in stdout
    odd = articles_table(lake).to_pandas().set_index("id").loc["odd-values"]
    assert odd["title"] == "Ferries resume \ufffd" and "ferry \ufffd crossing" in odd["text"]
    assert (
        pd.isna(odd["published"]) and odd["date"] == "unknown" and odd["date_source"] == "metadata_unreadable"
    )
