"""Site memory: per-site line counts that persist in state/sites/ across runs.

The acceptance test runs the real CLI twice into one lake: a site's footer seen in the first
run's documents is removed from the first document of the second run, while the same
document cleaned in a lake with no memory keeps it.
"""

from __future__ import annotations

import datetime as dt
import json

import apache_beam as beam
import pyarrow as pa
import pyarrow.parquet as pq
from apache_beam.testing.util import assert_that, equal_to

from schemas.layout import LakeLayout
from schemas.parquet import SITE_LINES_SCHEMA
from tests.helpers import RESOURCES, local_pipeline, run_cli
from transforms.core.lines import line_key
from transforms.core.sites import (
    DOCS_KEY,
    EMPTY,
    SiteTable,
    document_keys,
    site_table,
    stats_for_document,
)
from transforms.lake.commit import journal_start, reconcile
from transforms.lake.index import MAX_SEGMENTS, bound_site_rows, compact_site_memory
from transforms.sitememory import ReadSiteMemory

NOW = dt.datetime(2026, 11, 22, tzinfo=dt.timezone.utc)
FOOTER = "The Riverside Gazette has been delivered every morning since 1889"
STORIES = {
    "budget": (
        "The city council approved next year's budget on Monday after a debate that lasted most of the "
        "evening, with spending on road repairs rising by a fifth.\n\n"
        "Opposition members said the rise in parking charges would hurt shops in the old town, and asked for "
        "the charges to be reviewed before the summer."
    ),
    "schools": (
        "Two primary schools in the eastern district will merge in September, the education department "
        "announced, after pupil numbers fell for the fourth year running.\n\n"
        "Parents at a packed meeting in the school hall asked how many teachers would keep their jobs; the "
        "department promised an answer within a month."
    ),
    "harbour": (
        "A cargo ship ran aground at the harbour entrance early on Saturday, blocking the channel for "
        "fishing boats until the tide lifted it free in the afternoon.\n\n"
        "The harbour master said nobody was hurt and no fuel had leaked, and that divers would inspect the "
        "hull before the vessel is allowed to sail again."
    ),
    "tramway": (
        "Work on the new tramway along Victoria Road will begin in March and last two years, the transport "
        "authority said, with the first trams expected to run in the spring after next.\n\n"
        "Residents who live along the route will receive letters explaining the diversions, and a drop-in "
        "centre will open in the library to answer their questions."
    ),
}
TOPICS = tuple(STORIES)


def story(topic: str, n: int) -> str:
    return STORIES[topic]


def write_jsonl(folder, name: str, topics: tuple[str, ...], start: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / name, "w", encoding="utf-8") as handle:
        for n, topic in enumerate(topics, start):
            record = {
                "id": f"gazette-{n}",
                "url": f"https://www.riverside-gazette.example/news/{topic}-{n}",
                "title": f"Council approves the {topic} plan",
                "text": f"{story(topic, n)}\n\n{FOOTER}",
                "published": "2026-11-20T10:00:00Z",
            }
            handle.write(json.dumps(record) + "\n")


def lake_texts(lake) -> dict[str, str]:
    rows = pq.read_table(lake / "articles").to_pylist()
    return {row["id"]: row["text"] for row in rows}


def test_a_sites_footer_from_an_earlier_run_goes_from_the_next_runs_first_document(tmp_path):
    first_seeds, second_seeds, control_seeds = tmp_path / "first", tmp_path / "second", tmp_path / "control"
    write_jsonl(first_seeds, "first.jsonl", TOPICS[:3], 0)
    write_jsonl(second_seeds, "second.jsonl", TOPICS[3:4], 3)
    write_jsonl(control_seeds, "second.jsonl", TOPICS[3:4], 3)

    # Without memory, the footer of a lone document is not recognised.
    control = tmp_path / "control_lake"
    result = run_cli("run", "--seeds", str(control_seeds), "--output", str(control))
    assert result.returncode == 0, result.stderr[-2000:]
    (control_text,) = lake_texts(control).values()
    assert FOOTER in control_text

    lake = tmp_path / "lake"
    result = run_cli("run", "--seeds", str(first_seeds), "--output", str(lake))
    assert result.returncode == 0, result.stderr[-2000:]
    assert all(FOOTER not in text for text in lake_texts(lake).values())  # three documents in one run
    segments = list((lake / "state" / "sites").glob("part-*.parquet"))
    assert len(segments) == 1
    rows = pq.read_table(segments[0]).to_pylist()
    footer = [r for r in rows if r["key"] == line_key(FOOTER)]
    counted = [r for r in rows if r["key"] == DOCS_KEY]
    assert footer[0]["docs"] == 3 and counted[0]["docs"] == 3
    assert footer[0]["site"] == "riverside-gazette.example"

    result = run_cli("run", "--seeds", str(second_seeds), "--output", str(lake))
    assert result.returncode == 0, result.stderr[-2000:]
    texts = lake_texts(lake)
    assert len(texts) == 4
    new_text = next(text for text in texts.values() if "tramway" in text)
    assert FOOTER not in new_text
    assert new_text == control_text.replace(f"\n\n{FOOTER}", "")
    assert len(list((lake / "state" / "sites").glob("part-*.parquet"))) == 2


def test_a_copy_or_a_document_read_again_is_not_counted_twice_into_its_sites_lines(tmp_path):
    # An article and its edited copy on one site (from the benchmark corpus, made of this
    # repository's text): four body lines in common. The memory counted every document a run
    # read: the copy (a near duplicate, not written), read twice, pushed their common lines to
    # three documents; so did the original read again beside the copy. Either way those lines
    # were cut from the copy as site boilerplate, and what was left no longer matched the
    # original: the copy was written as a new article, short of its body.
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    original, update = (RESOURCES / "site_memory_copies.jsonl").read_text(encoding="utf-8").splitlines()
    (seeds / "original.jsonl").write_text(original + "\n", encoding="utf-8")
    (seeds / "update.jsonl").write_text(update + "\n", encoding="utf-8")
    lake = tmp_path / "lake"
    runs = [
        ["original.jsonl"],
        ["update.jsonl"],
        ["update.jsonl"],
        ["original.jsonl", "update.jsonl"],
        ["original.jsonl"],
    ]
    for files in runs:
        result = run_cli("run", "--seeds", *(str(seeds / name) for name in files), "--output", str(lake))
        assert result.returncode == 0, result.stderr[-2000:]
    assert list(lake_texts(lake)) == ["original"]
    duplicates = pq.read_table(lake / "duplicates").to_pylist()
    assert sorted((d["id"], d["kind"]) for d in duplicates) == [
        ("original", "url"),
        ("original", "url"),
        ("update", "near"),
        ("update", "near"),
        ("update", "near"),
    ]
    # The original read again is cleaned as when it was kept, its own earlier copy in the memory
    # not taken for another document: its text is unchanged, and so recorded. Read alone, it
    # was taken for two documents sharing every line.
    assert [d["similarity"] for d in duplicates if d["id"] == "original"] == [1.0, 1.0]
    # The memory counts one document of the site, the one article kept, and each of its lines once.
    counts: dict[str, int] = {}
    for row in pq.read_table(lake / "state" / "sites").to_pylist():
        counts[row["key"]] = counts.get(row["key"], 0) + row["docs"]
    assert counts.pop(DOCS_KEY) == 1 and set(counts.values()) == {1}
    assert set(counts) == document_keys(json.loads(original)["text"])


def test_a_record_read_twice_in_one_run_is_one_document_of_its_site(tmp_path):
    # A crawl's three captures of one URL in one backfill counted as three documents of the site:
    # every short line of the article was held by three, and went as site boilerplate.
    original = (RESOURCES / "site_memory_copies.jsonl").read_text(encoding="utf-8").splitlines()[0]
    once, thrice = tmp_path / "once", tmp_path / "thrice"
    once.mkdir()
    thrice.mkdir()
    (once / "crawl.jsonl").write_text(original + "\n", encoding="utf-8")
    (thrice / "crawl.jsonl").write_text((original + "\n") * 3, encoding="utf-8")
    texts = []
    for seeds in (once, thrice):
        lake = tmp_path / f"lake-{seeds.name}"
        result = run_cli("run", "--seeds", str(seeds), "--output", str(lake))
        assert result.returncode == 0, result.stderr[-2000:]
        (text,) = lake_texts(lake).values()
        texts.append(text)
    assert texts[0] == texts[1]
    assert "Not only can apps dispense inappropriate or even dangerous advice" in texts[1]


def test_counts_of_other_documents_join_this_run_and_the_memory():
    run = SiteTable(3, {"a": 3, "b": 1})
    memory = SiteTable(10, {"a": 7, "c": 2})
    stats = stats_for_document(run, memory)
    # The document itself is one of this run's documents: it does not count itself.
    assert stats.docs == 2 + 10
    assert stats.counts.get("a") == 2 + 7
    assert stats.counts.get("b", 0) == 0
    assert stats.counts.get("c") == 2
    assert stats.counts.get("missing", 0) == 0
    assert stats_for_document(EMPTY, EMPTY).docs == 0
    # An article of the lake read again is not in this run's counts but in the memory's: it is
    # the memory's document that does not count, and a line no other document holds counts 0.
    # (It counted itself there: every line of a document read alone was held by "one other".)
    again = stats_for_document(SiteTable(2, {"a": 2, "b": 1}), SiteTable(10, {"a": 7, "c": 2}), in_run=False)
    assert again.docs == 2 + 9
    assert again.counts.get("a") == 2 + 6 and again.counts.get("b") == 1 and again.counts.get("c") == 1
    alone = stats_for_document(EMPTY, SiteTable(5, {"own": 1, "footer": 5}), in_run=False)
    assert alone.docs == 4 and alone.counts.get("own", 0) == 0 and alone.counts.get("footer") == 4


def test_site_table_keeps_the_most_held_keys():
    rows = [(DOCS_KEY, 5)] + [("x", 1), ("y", 4), ("z", 2), ("y", 1)]
    table = site_table(rows, max_keys=2)
    assert table.docs == 5 and dict(table.counts) == {"y": 5, "z": 2}


def test_document_keys_are_short_lines_once_each():
    long = "word " * 60
    keys = document_keys(f"Share this\n\n{long}\n\nShare   THIS!\n\nA second line")
    assert keys == {line_key("Share this"), line_key("A second line")}


def test_bound_site_rows_drops_old_rows_and_extra_keys():
    old, recent = NOW - dt.timedelta(days=40), NOW - dt.timedelta(days=1)
    rows = [
        {"site": "t", "key": "x", "docs": 1, "last_seen": recent},  # a site without its documents row
        {"site": "s", "key": "b", "docs": 2, "last_seen": old + dt.timedelta(days=35)},
        {"site": "s", "key": DOCS_KEY, "docs": 4, "last_seen": recent},
        {"site": "s", "key": "a", "docs": 1, "last_seen": old},
        {"site": "s", "key": "a", "docs": 1, "last_seen": recent},
        {"site": "s", "key": "a", "docs": 1, "last_seen": recent},
        {"site": "s", "key": "d", "docs": 2, "last_seen": recent},
        {"site": "s", "key": "c", "docs": 9, "last_seen": old},
        {"site": "t", "key": "y", "docs": 1, "last_seen": recent},
    ]
    table = pa.Table.from_pylist(rows, schema=SITE_LINES_SCHEMA)
    bound = NOW - dt.timedelta(days=30)
    kept = [(r["site"], r["key"], r["docs"]) for r in bound_site_rows(table, bound, max_keys=2).to_pylist()]
    # Per site: the documents row, then the most held keys, the most recently seen first on a tie.
    assert kept == [("s", DOCS_KEY, 4), ("s", "a", 2), ("s", "d", 2), ("t", "x", 1), ("t", "y", 1)]
    assert [r["key"] for r in bound_site_rows(table, bound, max_keys=1).to_pylist()] == [DOCS_KEY, "a", "x"]


def _segment(folder, name: str, rows: list[dict]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows, schema=SITE_LINES_SCHEMA), folder / name)


def test_read_site_memory_sums_each_sites_recent_rows_across_segments(tmp_path):
    folder = tmp_path / "sites"
    old, recent = NOW - dt.timedelta(days=40), NOW - dt.timedelta(days=1)

    def rows(*values: tuple) -> list[dict]:
        return [dict(zip(("site", "key", "docs", "last_seen"), row, strict=True)) for row in values]

    first = rows(
        ("s", DOCS_KEY, 4, recent),
        ("s", "footer", 3, recent),
        ("s", "gone", 9, old),
        ("t", DOCS_KEY, 1, recent),
        ("t", "menu", 1, recent),
    )
    second = rows(
        ("s", DOCS_KEY, 2, NOW), ("s", "footer", 2, NOW), ("s", "share", 1, NOW), ("u", DOCS_KEY, 1, old)
    )
    _segment(folder, "part-run1-00000000-00000.parquet", first)
    _segment(folder, "part-run2-00000000-00000.parquet", second)
    with local_pipeline() as p:
        tables = p | ReadSiteMemory(str(folder), not_before=NOW - dt.timedelta(days=30), max_keys=1)
        assert_that(
            tables | beam.MapTuple(lambda site, table: (site, table.docs, sorted(table.counts.items()))),
            # "gone" and site u are older than the bound; s keeps its one most held key.
            equal_to([("s", 6, [("footer", 5)]), ("t", 1, [("menu", 1)])]),
        )


def test_compaction_merges_segments_and_bounds_them(tmp_path):
    folder = tmp_path / "sites"
    for i in range(MAX_SEGMENTS + 1):
        _segment(
            folder,
            f"part-run{i}-00000000-00000.parquet",
            [
                {"site": "s", "key": DOCS_KEY, "docs": 1, "last_seen": NOW},
                {"site": "s", "key": "footer", "docs": 1, "last_seen": NOW},
                {"site": "s", "key": f"line{i}", "docs": 1, "last_seen": NOW - dt.timedelta(days=i * 5)},
            ],
        )
    merged = compact_site_memory(str(folder), NOW - dt.timedelta(days=30), "r1")
    assert merged == MAX_SEGMENTS + 1
    (only,) = folder.glob("*.parquet")
    assert only.name.startswith("part-compact-")
    rows = {r["key"]: r["docs"] for r in pq.read_table(only).to_pylist()}
    assert rows[DOCS_KEY] == MAX_SEGMENTS + 1 and rows["footer"] == MAX_SEGMENTS + 1
    assert {k for k in rows if k.startswith("line")} == {f"line{i}" for i in range(7)}  # 0..30 days
    assert compact_site_memory(str(folder), NOW, "r2") == 0  # one segment: nothing to do


def test_reconcile_deletes_site_memory_segments_of_uncommitted_runs(tmp_path):
    lake, state = tmp_path / "lake", tmp_path / "lake" / "state"
    (lake / "runs").mkdir(parents=True)
    (lake / "runs" / "done1.json").write_text("{}")
    row = [{"site": "s", "key": "k", "docs": 1, "last_seen": NOW}]
    _segment(state / "sites", "part-done1-abcd-00000.parquet", row)
    _segment(state / "sites", "part-crashed2-abcd-00000.parquet", row)
    layout = LakeLayout.of(str(lake), str(state))
    for run in ("done1", "crashed2"):  # both started; only done1 committed
        journal_start(layout, run, NOW)
    result = reconcile(layout)
    assert result.uncommitted_runs == ("crashed2",)
    assert [p.name for p in (state / "sites").iterdir()] == ["part-done1-abcd-00000.parquet"]
