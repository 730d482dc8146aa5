"""Feed sources as users give them, and stream mode's promises, through the real CLI against a
real HTTP server on 127.0.0.1."""

from __future__ import annotations

import json
import os
import pty
import re
import signal
import socket
import subprocess
import sys
import time

from tests.helpers import (
    FETCH_FLAGS,
    ROOT,
    RSS,
    articles_table,
    dataset_rows,
    json_feed,
    opml,
    page,
    rss,
    run_cli,
    run_records,
    story,
)

DATE = "Tue, 05 Sep 2017 10:00:00 GMT"


def serve_story(server, path: str, title: str, head: str = "") -> str:
    return server.route(path, page(title, story(title), head=head), content_type="text/html; charset=utf-8")


def one_item_feed(server, name: str) -> str:
    link = serve_story(server, f"/{name}", f"{name} harbour news")
    return server.route(f"/{name}.xml", rss([{"title": name, "link": link, "date": DATE}]), content_type=RSS)


def unused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- 14. the right message for each kind of failure ------------------------------------------


def test_a_refused_connection_is_reported_as_one(tmp_path):
    url = f"http://127.0.0.1:{unused_port()}/rss.xml"
    lake = tmp_path / "lake"
    result = run_cli("run", "--feeds", url, "--output", str(lake), *FETCH_FLAGS)
    (reject,) = dataset_rows(lake, "rejects")
    assert reject["reason"] == "connection_error", reject
    assert result.returncode == 1 and "nothing succeeded" in result.stderr


def test_unsupported_schemes_get_a_plain_message(tmp_path):
    for value, words in (("ftp://example.org/feed.xml", "unsupported scheme ftp://"),):
        result = run_cli("run", "--feeds", value, "--output", str(tmp_path / "lake"))
        assert result.returncode == 2 and words in result.stderr, result.stderr
        assert "apache-beam[gcp]" not in result.stderr and "Traceback" not in result.stderr


def test_a_saved_feed_file_is_read_as_a_feed_file_urls_included(feed_server, tmp_path):
    feed_url = one_item_feed(feed_server, "saved")
    saved = tmp_path / "saved.rss"
    saved.write_bytes(feed_server._routes["/saved.xml"][0].body)
    lake = tmp_path / "lake"
    result = run_cli("run", "--feeds", f"file://{saved}", "--output", str(lake), *FETCH_FLAGS)
    assert result.returncode == 0, result.stderr[-2000:]
    assert feed_server.count("/saved.xml") == 0 and feed_server.count("/saved") == 1
    assert articles_table(lake, ["source"]).column("source").to_pylist() == [str(saved)]
    again = run_cli("run", "--feeds", str(saved), "--output", str(lake), *FETCH_FLAGS, "--poll_now")
    assert again.returncode == 0 and "not_modified" in again.stdout
    assert feed_url  # the live feed was never polled


# --- 15. nothing succeeded is a failure ------------------------------------------------------


def test_a_run_where_every_feed_failed_exits_non_zero(feed_server, tmp_path):
    feed_server.route("/gone.xml", status=404)
    feed_server.route("/broken.xml", status=500)
    lake = tmp_path / "lake"
    result = run_cli(
        "run",
        "--feeds",
        feed_server.url("/gone.xml"),
        feed_server.url("/broken.xml"),
        "--output",
        str(lake),
        *FETCH_FLAGS,
    )
    assert result.returncode == 1 and "nothing succeeded" in result.stderr
    assert sorted(r["reason"] for r in dataset_rows(lake, "rejects")) == ["http_404", "http_500"]
    good = one_item_feed(feed_server, "good")
    mixed = run_cli(
        "run",
        "--feeds",
        feed_server.url("/gone.xml"),
        good,
        "--output",
        str(lake),
        *FETCH_FLAGS,
        "--poll_now",
    )
    assert mixed.returncode == 0, mixed.stderr  # one feed worked: the run did its job


# --- 19. OPML lists and pages given as feeds --------------------------------------------------


def test_an_opml_list_by_url_is_followed_whatever_its_content_type(feed_server, tmp_path):
    first, second = one_item_feed(feed_server, "first"), one_item_feed(feed_server, "second")
    feed_server.route("/subs.opml", opml([first]), content_type="application/octet-stream")
    feed_server.route("/more.opml", opml([second, first]), content_type="text/xml")
    lake = tmp_path / "lake"
    result = run_cli(
        "run",
        "--feeds",
        feed_server.url("/subs.opml"),
        feed_server.url("/more.opml"),
        "--output",
        str(lake),
        *FETCH_FLAGS,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert feed_server.count("/first.xml") == 1 and feed_server.count("/second.xml") == 1
    assert sorted(articles_table(lake, ["source"]).column("source").to_pylist()) == [first, second]
    assert "listed 1 feed(s)" in result.stdout and "listed 2 feed(s)" in result.stdout
    cursors = json.loads((lake / "state" / "feeds.json").read_text())["feeds"]
    assert cursors[feed_server.url("/more.opml")]["feeds"] == [second, first]
    bad = feed_server.route("/bad.opml", b"<opml><body><outline", content_type="text/xml")
    rejected = run_cli("run", "--feeds", bad, "--output", str(tmp_path / "lake2"), *FETCH_FLAGS)
    assert rejected.returncode == 1 and dataset_rows(tmp_path / "lake2", "rejects")[0]["source"] == bad


def test_a_page_given_as_a_feed_leads_to_the_feed_it_announces(feed_server, tmp_path):
    feed = one_item_feed(feed_server, "wire")
    link = f"<link rel='alternate' type='application/rss+xml' href='{feed}'>"
    home = serve_story(feed_server, "/home", "Front page", head=link)
    lake = tmp_path / "lake"
    result = run_cli("run", "--feeds", home, "--output", str(lake), *FETCH_FLAGS)
    assert result.returncode == 0, result.stderr[-2000:]
    assert feed_server.count("/wire.xml") == 1
    assert articles_table(lake, ["source"]).column("source").to_pylist() == [feed]


# --- 24. every author of a JSON Feed item ------------------------------------------------------


def test_json_feed_items_keep_all_their_authors(feed_server, tmp_path):
    link = serve_story(feed_server, "/duo", "Two reporters")
    item = {
        "id": "duo",
        "url": link,
        "title": "Two reporters",
        "date_published": "2017-09-05T10:00:00Z",
        "authors": [{"name": "Ana Lima"}, {"name": "Bo Chen"}],
    }
    url = feed_server.route("/feed.json", json_feed([item]), content_type="application/feed+json")
    lake = tmp_path / "lake"
    assert run_cli("run", "--feeds", url, "--output", str(lake), *FETCH_FLAGS).returncode == 0
    (row,) = articles_table(lake, ["author", "authors"]).to_pylist()
    assert row == {"author": "Ana Lima; Bo Chen", "authors": ["Ana Lima", "Bo Chen"]}


# --- 10, 11, 12. stream mode --------------------------------------------------------------------


def items(server, names: list[str]) -> bytes:
    return rss(
        [{"title": n, "link": serve_story(server, f"/s/{n}", f"{n} story"), "date": DATE} for n in names]
    )


def test_stream_polls_every_interval_and_prints_a_line_per_cycle(feed_server, tmp_path):
    feed_server.route("/live.xml", items(feed_server, ["one"]), content_type=RSS)
    lake = tmp_path / "lake"
    command = [
        sys.executable,
        "-m",
        "pipeline",
        "run",
        "--feeds",
        feed_server.url("/live.xml"),
        "--output",
        str(lake),
        "--stream",
        "--poll_interval",
        "5",
        "--duration",
        "60",
        *FETCH_FLAGS,
    ]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline and not list((lake / "articles").rglob("*.parquet")):
            time.sleep(0.5)
        time.sleep(2)
        feed_server.route("/live.xml", items(feed_server, ["one", "two"]), content_type=RSS)
        appended = time.monotonic()
        landed = None
        while time.monotonic() < appended + 35:
            if (lake / "articles").exists() and len(articles_table(lake, ["id"])) == 2:
                landed = time.monotonic() - appended
                break
            time.sleep(0.5)
        assert landed is not None, "the appended item did not reach the lake within 35 s"
        # One more poll after the item landed: a cycle that writes nothing (a Ctrl-C during a
        # cycle lets it finish, so it still prints its line).
        polls = feed_server.count("/live.xml")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and feed_server.count("/live.xml") <= polls:
            time.sleep(0.2)
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, err[-2000:]
    cycle_lines = [line for line in out.splitlines() if "feeds polled" in line]
    assert len(cycle_lines) >= 3, out
    assert out.count("rows per partition") == 1 and "newsflow stream ->" in out
    # Only the cycles that wrote something left a run record.
    records = run_records(lake)
    assert len(records) == 2 and all(r["counts"]["written"] == 1 for r in records)
    assert len(cycle_lines) > len(records)


def test_poll_now_polls_a_feed_that_is_not_due(feed_server, tmp_path):
    url = one_item_feed(feed_server, "daily")
    lake = tmp_path / "lake"
    assert run_cli("run", "--feeds", url, "--output", str(lake), *FETCH_FLAGS).returncode == 0
    later = run_cli("run", "--feeds", url, "--output", str(lake), *FETCH_FLAGS)
    assert "not due" in later.stdout and feed_server.count("/daily.xml") == 1
    now = run_cli("run", "--feeds", url, "--output", str(lake), *FETCH_FLAGS, "--poll_now")
    assert now.returncode == 0 and feed_server.count("/daily.xml") == 2


def test_the_local_unbounded_graph_keeps_cursors_and_reports_its_feeds(feed_server, tmp_path):
    url = one_item_feed(feed_server, "wire")
    lake = tmp_path / "lake"
    result = run_cli(
        "run",
        "--feeds",
        url,
        "--output",
        str(lake),
        "--stream",
        "--unbounded",
        "--duration",
        "6",
        "--poll_interval",
        "2",
        *FETCH_FLAGS,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stderr == "" and "fetched, 1 new" in result.stdout
    cursor = json.loads((lake / "state" / "feeds.json").read_text())["feeds"][url]
    assert cursor["seen"] and cursor["last_status"] in ("fetched", "not_modified")
    # The next batch run knows the item: nothing is fetched again.
    pages_before = feed_server.count("/wire")
    after = run_cli("run", "--feeds", url, "--output", str(lake), *FETCH_FLAGS, "--poll_now")
    assert after.returncode == 0 and feed_server.count("/wire") == pages_before


# --- 13, 20. Ctrl-C and progress ------------------------------------------------------------------


def test_ctrl_c_aborts_a_batch_run_cleanly(tmp_path):
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    with open(seeds / "big.jsonl", "w", encoding="utf-8") as handle:
        for n in range(3000):
            handle.write(json.dumps({"id": f"r{n}", "text": "\n\n".join(story(f"item {n}"))}) + "\n")
    lake = tmp_path / "lake"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(
        [sys.executable, "-m", "pipeline", "run", "--seeds", str(seeds), "--output", str(lake)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not list((lake / "state" / "started").glob("*.json")):
        time.sleep(0.2)
    time.sleep(2)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 130, err[-2000:]
    assert "Traceback" not in err and "aborted, nothing committed" in err
    assert not list(lake.rglob("*.parquet")) and not list((lake / "runs").glob("*.json"))
    assert not (lake / "state" / "run.lock").exists()


def test_progress_shows_on_a_terminal_and_not_in_a_pipe(tmp_path):
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    with open(seeds / "backfill.jsonl", "w", encoding="utf-8") as handle:
        for n in range(600):
            handle.write(json.dumps({"id": f"r{n}", "text": "\n\n".join(story(f"item {n}"))}) + "\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200"}
    primary, secondary = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "pipeline", "run", "--seeds", str(seeds), "--output", str(tmp_path / "lake")],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=secondary,
        text=True,
    )
    os.close(secondary)
    shown = b""
    while True:
        try:
            chunk = os.read(primary, 65536)
        except OSError:
            break
        if not chunk:
            break
        shown += chunk
    process.wait(timeout=300)
    os.close(primary)
    assert process.returncode == 0
    assert b"docs/s" in shown and b"stage:" in shown, shown[-500:]
    # The stages count what they handle: the line shows documents moving, not zeros.
    assert re.search(rb"read [1-9][0-9,]*", shown), shown[-500:]
    piped = run_cli("run", "--seeds", str(seeds), "--output", str(tmp_path / "lake2"))
    assert piped.returncode == 0 and "docs/s" not in piped.stderr


def test_a_second_ctrl_c_aborts_the_stream_cycle_in_flight(feed_server, tmp_path):
    slow = feed_server.route("/slow", page("Slow", story("slow")), content_type="text/html", delay=8)
    feed = feed_server.route(
        "/slow.xml", rss([{"title": "Slow", "link": slow, "date": DATE}]), content_type=RSS
    )
    lake = tmp_path / "lake"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pipeline",
            "run",
            "--feeds",
            feed,
            "--output",
            str(lake),
            "--stream",
            "--poll_interval",
            "30",
            "--allowed_hosts",
            "127.0.0.1",
            "--fetch_timeout",
            "20",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and feed_server.count("/slow") == 0:
        time.sleep(0.2)
    process.send_signal(signal.SIGINT)
    time.sleep(0.5)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 130, err[-2000:]
    assert "Traceback" not in err and "stopping after the current cycle" in err and "aborted" in err
    assert not list(lake.rglob("*.parquet")) and not (lake / "state" / "run.lock").exists()
