"""End to end with live feeds: the real CLI against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from tests.helpers import FETCH_FLAGS, ROOT, RSS, articles_table, dataset_rows, gold_body, rss, run_cli

FAULTS = {
    "/f/missing.xml": "http_404",
    "/f/broken.xml": "http_500",
    "/f/slow.xml": "timeout",
    "/f/huge.xml": "too_large",
    "/f/bomb.xml": "decompression_bomb",
    "/f/malformed.xml": "malformed_xml",
    "/f/laughs.xml": "unsafe_dtd",
    "/f/page.xml": "not_a_feed",
    "/f/to-metadata.xml": "blocked_private_address",
}


@pytest.fixture(scope="module")
def feeds_lake(site, tmp_path_factory):
    folder = tmp_path_factory.mktemp("feeds")
    feed_list = folder / "feeds.txt"
    feed_list.write_text(
        "# the test site's feeds\n"
        + "\n".join(site.url(p) for p in ["/rss.xml", "/f/busy.xml", *FAULTS])
        + "\n"
    )
    opml = folder / "subscriptions.opml"
    opml.write_text(
        f"<?xml version='1.0'?><opml version='2.0'><head><title>subs</title></head><body>"
        f"<outline text='World'><outline type='rss' text='Wire' xmlUrl='{site.url('/atom.xml')}'/></outline>"
        f"</body></opml>"
    )
    lake = folder / "lake"
    result = run_cli(
        "run", "--feeds", str(feed_list), "--feeds", str(opml), "--output", str(lake), *FETCH_FLAGS
    )
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    return lake, result.stdout


def test_feed_articles_land_once_with_feed_metadata(site, feeds_lake):
    lake, stdout = feeds_lake
    rows = {r["url"]: r for r in articles_table(lake).to_pylist()}
    base = site.base_url
    assert set(rows) == {
        f"{base}/world/deir-ezzor-offensive",
        f"{base}/world/fifth-legion",
        f"{base}/world/siege-broken",
        f"{base}/world/live-deir-ez-zor",
        f"{base}/gone",
    }
    siege = rows[f"{base}/world/siege-broken"]
    assert siege["title"] == "ISIS Siege of Deir Ezzor, Syria Broken" and siege["author"] == "Stephen Lendman"
    assert siege["text_source"] == "page" and siege["date_source"] == "feed" and siege["topic"] == "conflict"
    assert str(siege["published"]) == "2017-09-06 08:00:00+00:00" and siege["date"] == "2017-09-06"
    for line in gold_body("003"):
        assert line in siege["text"]
    assert "Most read" not in siege["text"] and "All rights reserved" not in siege["text"]
    gone = rows[f"{base}/gone"]
    assert gone["text_source"] == "feed_summary" and gone["text"].startswith("Delegations from both sides")
    assert rows[f"{base}/world/deir-ezzor-offensive"]["categories"] == ["World"]
    assert "balanced" in stdout and "NOT BALANCED" not in stdout


def test_same_article_in_two_feeds_and_under_utm_is_one_row(site, feeds_lake):
    lake, _ = feeds_lake
    dups = dataset_rows(lake, "duplicates")
    by_url = {d["url"]: d for d in dups}
    base = site.base_url
    assert by_url[f"{base}/world/deir-ezzor-offensive?utm_source=rss&utm_medium=feed"]["kind"] == "url"
    assert by_url[f"{base}/world/fifth-legion"]["kind"] == "url"
    assert (
        len(dups) == 3
    )  # the utm copy, the 5th Legion page seen twice, and busy.xml's copy of the first item


def test_faults_end_as_rejects_and_429_is_retried(site, feeds_lake):
    lake, stdout = feeds_lake
    rejects = {(r["source"], r["stage"], r["reason"]) for r in dataset_rows(lake, "rejects")}
    for path, reason in FAULTS.items():
        assert (site.url(path), "feed", reason) in rejects, (path, rejects)
    assert (site.url("/rss.xml"), "fetch", "robots_disallowed") in rejects
    assert len(rejects) == len(FAULTS) + 1
    assert site.count("/f/busy.xml") == 2  # a 429, honoured, then the feed
    assert site.count("/f/broken.xml") == 3  # the first try and two retries with backoff


def test_run_record_reports_each_feed(site, feeds_lake):
    lake, stdout = feeds_lake
    (record_path,) = (lake / "runs").glob("*.json")
    record = json.loads(record_path.read_text())
    feeds = record["feeds"]
    assert (
        feeds[site.url("/rss.xml")]["status"] == "fetched" and feeds[site.url("/rss.xml")]["new_items"] == 5
    )
    assert feeds[site.url("/f/missing.xml")]["status"] == "failed"
    assert feeds[site.url("/f/missing.xml")]["error"] == "http_404"
    cursors = json.loads((lake / "state" / "feeds.json").read_text())["feeds"]
    assert len(cursors[site.url("/rss.xml")]["seen"]) == 5
    assert not list((lake / "state" / "polls").glob("*.json"))


def test_a_second_run_skips_entries_already_seen(site, feeds_lake):
    lake, _ = feeds_lake
    before = articles_table(lake).num_rows
    # Every feed is due again after its interval; force that by polling with a zero interval.
    result = run_cli(
        "run",
        "--feeds",
        site.url("/rss.xml"),
        "--output",
        str(lake),
        *FETCH_FLAGS,
        "--poll_interval",
        "0",
        "--max_poll_interval",
        "0",
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert articles_table(lake).num_rows == before
    assert "read        0" in result.stdout


def test_stream_mode_picks_up_an_item_appended_between_polls(site, tmp_path):
    base = site.base_url
    first = {
        "title": "ISIS Siege of Deir Ezzor, Syria Broken",
        "link": f"{base}/world/siege-broken",
        "date": "Wed, 06 Sep 2017 08:00:00 GMT",
    }
    second = {
        "title": "UPDATED- Deir ez Zor: Siege Broken!",
        "link": f"{base}/world/live-deir-ez-zor",
        "date": "Tue, 05 Sep 2017 13:45:00 GMT",
    }
    feed_url = site.route("/stream.xml", rss([first]), content_type=RSS)
    lake = tmp_path / "lake"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pipeline",
            "run",
            "--stream",
            "--feeds",
            feed_url,
            "--output",
            str(lake),
            "--poll_interval",
            "2",
            "--max_poll_interval",
            "2",
            "--duration",
            "120",
            *FETCH_FLAGS,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=ROOT,
    )
    try:
        deadline = time.monotonic() + 120
        while not list((lake / "runs").glob("*.json")) if (lake / "runs").exists() else True:
            assert time.monotonic() < deadline and process.poll() is None, "no first cycle"
            time.sleep(0.2)
        appended_at = time.time()
        deadline = time.monotonic() + 90  # the promise is checked below; this only bounds the wait
        site.route("/stream.xml", rss([second, first]), content_type=RSS)
        while True:
            urls = (
                [r["url"] for r in articles_table(lake).to_pylist()] if (lake / "articles").exists() else []
            )
            if second["link"] in urls:
                break
            assert time.monotonic() < deadline, "the appended item never landed"
            time.sleep(0.2)
        landed_after = time.time() - appended_at
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, stderr[-2000:]
    assert landed_after <= 2 + 30
    urls = [r["url"] for r in articles_table(lake).to_pylist()]
    assert sorted(urls) == sorted([first["link"], second["link"]])
    assert "stopping after the current cycle" in stderr
    assert dataset_rows(lake, "duplicates") == []


def test_unbounded_graph_runs_to_its_stop_time_on_the_local_runner(site, tmp_path):
    """The wiring Dataflow runs: PeriodicImpulse, stateful polls, windows, stateful dedup, windowed writes."""
    import shutil
    import threading

    base = site.base_url
    first = {
        "title": "ISIS Siege of Deir Ezzor, Syria Broken",
        "link": f"{base}/world/siege-broken",
        "date": "Wed, 06 Sep 2017 08:00:00 GMT",
    }
    second = {
        "title": "UPDATED- Deir ez Zor: Siege Broken!",
        "link": f"{base}/world/live-deir-ez-zor",
        "date": "Tue, 05 Sep 2017 13:45:00 GMT",
    }
    copy = {
        "title": "Siege broken (shared)",
        "link": f"{base}/world/siege-broken?utm_source=x",
        "guid": "copy",
        "date": "Wed, 06 Sep 2017 09:00:00 GMT",
    }
    feed_url = site.route("/unbounded.xml", rss([first]), content_type=RSS)
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    (source,) = (ROOT / "seeds").glob("002_*.txt")
    shutil.copy(source, seeds)

    def publish_more():
        # After the first poll, however long the process takes to start.
        deadline = time.monotonic() + 60
        while site.count("/unbounded.xml") < 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)
        site.route("/unbounded.xml", rss([second, copy, first]), content_type=RSS)

    threading.Thread(target=publish_more, daemon=True).start()
    lake = tmp_path / "lake"
    result = run_cli(
        "run",
        "--stream",
        "--unbounded",
        "--duration",
        "14",
        "--poll_interval",
        "2",
        "--max_poll_interval",
        "2",
        "--seeds",
        str(seeds),
        "--feeds",
        feed_url,
        "--output",
        str(lake),
        *FETCH_FLAGS,
    )
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    rows = articles_table(lake).to_pylist()
    assert sorted(r["url"] or r["source"] for r in rows) == sorted(
        [first["link"], second["link"], source.name]
    )
    dups = dataset_rows(lake, "duplicates")
    assert [(d["url"], d["kind"]) for d in dups] == [(copy["link"], "url")]
    assert "balanced" in result.stdout and "NOT BALANCED" not in result.stdout
    # Written per window: the first poll's files and the later poll's files are separate.
    names = [p.name for p in (lake / "articles").rglob("*.parquet")]
    assert len({n.split("-w")[1].split("-")[0] for n in names}) >= 2, names
    assert site.count("/unbounded.xml") >= 3


def test_feed_articles_carry_site_name_and_fetch_time(site, feeds_lake):
    lake, _ = feeds_lake
    rows = {r["url"]: r for r in articles_table(lake).to_pylist()}
    base = site.base_url
    siege = rows[f"{base}/world/siege-broken"]
    # The page declares no site name: the feed's title stands in (the Atom feed is "Wire").
    assert siege["site_name"] == "Wire"
    assert siege["fetched_at"] is not None and siege["fetched_at"] >= siege["ingested_at"]
    assert siege["image"] is None
    gone = rows[f"{base}/gone"]
    # No page was fetched: the feed's summary stands in, with no fetch time.
    assert gone["fetched_at"] is None and gone["site_name"] == "Gazette"


def test_links_no_parser_reads_end_as_rejects_or_feed_text_not_a_crashed_run(feed_server, tmp_path):
    # "http://[::1..." is "Invalid IPv6 URL" to urllib: as a feed's own URL, or in a JSON Feed
    # item's url, it used to raise out of the poll or fetch stage and abort the whole run.
    # (feedparser drops such a link from an RSS entry itself: that entry has no link. In a
    # redirect's Location it is a fetch error.)
    from tests.helpers import page, story

    base = feed_server.base_url
    date = "2017-09-05T10:00:00Z"
    feed_server.route("/good", page("Good", story("harbour")), content_type="text/html")
    feed_server.route("/hop", redirect="http://[::1/elsewhere")
    items = [
        {"id": "good", "title": "Good", "url": f"{base}/good", "date_published": date},
        {
            "id": "summarised",
            "title": "Summarised",
            "url": "http://[::1/summarised",
            "date_published": date,
            "summary": " ".join(story("rail")),
        },
        {"id": "bare", "title": "Bare", "url": "http://[::1/bare", "date_published": date},
        {"id": "redirected", "title": "Redirected", "url": f"{base}/hop", "date_published": date},
    ]
    feed = {"version": "https://jsonfeed.org/version/1.1", "title": "Gazette", "items": items}
    feed_server.route("/feed.json", json.dumps(feed).encode(), content_type="application/feed+json")
    lake = tmp_path / "lake"
    feeds = (f"{base}/feed.json", "http://[::1/feed.xml")
    result = run_cli("run", "--feeds", *feeds, "--output", str(lake), *FETCH_FLAGS)
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    rows = {r["title"]: r for r in articles_table(lake).to_pylist()}
    assert set(rows) == {"Good", "Summarised"}
    assert rows["Good"]["text_source"] == "page"
    assert rows["Summarised"]["text_source"] == "feed_summary" and rows["Summarised"]["url"] is None
    rejects = {(r["url"], r["stage"], r["reason"]) for r in dataset_rows(lake, "rejects")}
    assert rejects == {
        (None, "fetch", "invalid_link"),
        (f"{base}/hop", "fetch", "bad_url"),
        ("http://[::1/feed.xml", "feed", "bad_url"),
    }
    details = {(r["stage"], r["reason"]): r["detail"] for r in dataset_rows(lake, "rejects")}
    assert "http://[::1/bare" in details["fetch", "invalid_link"]
    assert (
        "Invalid IPv6 URL" in details["fetch", "bad_url"] and "Invalid IPv6 URL" in details["feed", "bad_url"]
    )
    assert "balanced" in result.stdout and "NOT BALANCED" not in result.stdout
