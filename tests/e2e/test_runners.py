"""The same job on other runners: the rows must not depend on where the work runs.

The seeds plus the local feeds go through the real CLI three times, each into its own
lake: the default runner (FnApiRunner, in the CLI's process), the FnApiRunner with two worker
processes (``--direct_running_mode=multi_processing``) and Beam's portable runner
(``--runner=PortableRunner --job_endpoint=embed --environment_type=LOOPBACK``: the job
goes through the Job API as a proto, as it does to Flink or Dataflow). The default run is the
CLI run in the test's process (``run_cli``); the other two are a fresh ``newsflow`` process
each (``run_cli_process``), which takes their gRPC servers and worker processes with it. Each lake is read
back with pyarrow and compared with the default run's: same ids and texts, same
partitions, same duplicates, same rejects.

What this catches is what only breaks on real workers: a DoFn or a lambda that does not
pickle, state kept in a module global that a second process does not see, counters that
do not reach the driver through the Job API. Both runs still share this machine's disk, so
a stage that reads a file only the launcher has is not caught here: such reads must go
through Beam's FileSystems (gs://, s3://) to work on a cluster.
"""

from __future__ import annotations

import json

import pytest

from tests.helpers import FETCH_FLAGS, SEEDS, articles_table, dataset_rows, run_cli, run_cli_process

# Columns that name the run, not the data: they differ between any two runs.
# fetched_at: when this run fetched the page.
RUN_COLUMNS = {"run_id", "ingested_at", "detected_at", "rejected_at", "fetched_at"}
# The feeds of the test site whose answers do not change between requests (busy.xml
# answers 429 once, then the feed; slow.xml and broken.xml only add seconds of waiting).
FEED_PATHS = [
    "/rss.xml",
    "/atom.xml",
    "/f/missing.xml",
    "/f/malformed.xml",
    "/f/page.xml",
    "/f/laughs.xml",
    "/f/to-metadata.xml",
]
RUNNERS = {
    "multi_processing": ["--direct_running_mode=multi_processing", "--direct_num_workers=2"],
    "portable_loopback": [
        "--runner=PortableRunner",
        "--job_endpoint=embed",
        "--environment_type=LOOPBACK",
    ],
}


def _lake_contents(lake) -> dict:
    """Everything a run wrote, minus the run's own id and clock, in a comparable form."""

    def strip(rows: list[dict]) -> list[dict]:
        return [{k: v for k, v in row.items() if k not in RUN_COLUMNS} for row in rows]

    articles = strip(articles_table(lake).to_pylist())
    (record_path,) = (lake / "runs").glob("*.json")
    record = json.loads(record_path.read_text())
    return {
        "articles": sorted(articles, key=lambda r: r["id"]),
        "duplicates": sorted(strip(dataset_rows(lake, "duplicates")), key=lambda r: (r["id"], r["kind"])),
        "rejects": sorted(
            strip(dataset_rows(lake, "rejects")), key=lambda r: (r["source"], r["stage"], r["reason"])
        ),
        "counts": record["counts"],
        "partitions": record["partitions"],
        "balanced": record["balanced"],
    }


def _run(site, tmp_path_factory, name: str, extra: list[str]) -> dict:  # noqa: F811 - site is the fixture
    folder = tmp_path_factory.mktemp(name)
    feeds = folder / "feeds.txt"
    feeds.write_text("\n".join(site.url(p) for p in FEED_PATHS) + "\n")
    lake = folder / "lake"
    command = run_cli_process if extra else run_cli
    result = command(
        "run", "--seeds", str(SEEDS), "--feeds", str(feeds), "--output", str(lake), *FETCH_FLAGS, *extra
    )
    assert result.returncode == 0, f"{name}: {result.stdout[-2000:]}\n{result.stderr[-4000:]}"
    return _lake_contents(lake)


@pytest.fixture(scope="module")
def default_run(site, tmp_path_factory):  # noqa: F811 - site is the fixture
    return _run(site, tmp_path_factory, "default", [])


def test_the_default_run_exercises_every_outcome(default_run):
    # A comparison is only as strong as what it compares: articles from seeds and from
    # pages, duplicates of more than one kind, rejects from feeds and from fetching.
    assert default_run["balanced"]
    sources = {row["text_source"] for row in default_run["articles"]}
    assert {"seed_text", "page"} <= sources, sources
    assert len({row["kind"] for row in default_run["duplicates"]}) >= 2, default_run["duplicates"]
    assert {row["stage"] for row in default_run["rejects"]} >= {"feed", "fetch"}, default_run["rejects"]
    assert len(default_run["partitions"]) >= 2


@pytest.mark.parametrize("runner", sorted(RUNNERS))
def test_another_runner_writes_the_same_rows(runner, default_run, site, tmp_path_factory):  # noqa: F811
    other = _run(site, tmp_path_factory, runner, RUNNERS[runner])
    texts = {r["id"]: r["text"] for r in other["articles"]}
    expected_texts = {r["id"]: r["text"] for r in default_run["articles"]}
    assert [r["id"] for r in other["articles"]] == [r["id"] for r in default_run["articles"]]
    assert texts == expected_texts
    assert other["partitions"] == default_run["partitions"]
    assert other["duplicates"] == default_run["duplicates"]
    assert other["rejects"] == default_run["rejects"]
    assert other["counts"] == default_run["counts"]
    # Every other column too (title, dates, topic scores, fingerprints...).
    assert other["articles"] == default_run["articles"]
