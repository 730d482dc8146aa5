"""WARC seeds end to end: the real CLI reads .warc.gz files the test writes with warcio."""

from __future__ import annotations

import datetime as dt

from tests.helpers import articles_table, dataset_rows, gold_body, page, run_cli, write_warc

BASE = "https://news.example.org"
UTC = dt.timezone.utc


def test_warc_seeds_become_articles_and_rejects_with_reasons(tmp_path):
    seeds = tmp_path / "warcs"
    seeds.mkdir()
    head = (
        "<meta property='og:site_name' content='Example News'>"
        "<meta property='og:image' content='/i/siege.jpg'>"
    )
    write_warc(
        seeds / "CC-NEWS-20240101000000-00001.warc.gz",
        [
            {"type": "request", "url": f"{BASE}/world/siege"},
            {
                "url": f"{BASE}/world/siege",
                "body": page("ISIS Siege of Deir Ezzor, Syria Broken", gold_body("003"), None, head),
                "date": "2024-01-01T00:00:12Z",
            },
            {
                "url": f"{BASE}/files/report.pdf",
                "body": b"%PDF-1.7 binary",
                "content_type": "application/pdf",
            },
            {"url": f"{BASE}/world/gone", "body": b"<html><p>Not here</p></html>", "status": 404},
        ],
    )
    # A second file, cut inside its last record: the first record is kept, the cut is one reject.
    data = write_warc(
        tmp_path / "full.warc.gz",
        [
            {
                "url": f"{BASE}/world/legion",
                "body": page("Syrian army's 5th Legion continues offensive", gold_body("002")),
                "date": "2024-01-02T10:30:00Z",
            },
            {
                "url": f"{BASE}/world/cut",
                "body": page("Cut", gold_body("000")),
                "date": "2024-01-02T10:31:00Z",
            },
        ],
    )
    (seeds / "cut.warc.gz").write_bytes(data[:-200])
    lake = tmp_path / "lake"
    result = run_cli("run", "--seeds", str(seeds), "--output", str(lake))
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    rows = {r["url"]: r for r in articles_table(lake).to_pylist()}
    assert set(rows) == {f"{BASE}/world/siege", f"{BASE}/world/legion"}
    siege = rows[f"{BASE}/world/siege"]
    assert siege["fetched_at"] == dt.datetime(2024, 1, 1, 0, 0, 12, tzinfo=UTC)
    assert siege["text_source"] == "warc_html" and siege["site_name"] == "Example News"
    assert siege["image"] == f"{BASE}/i/siege.jpg"
    # The WARC date is when the page was fetched, never its publication date.
    assert siege["published"] is None or siege["published"] != siege["fetched_at"]
    for line in gold_body("003"):
        assert line in siege["text"]
    assert rows[f"{BASE}/world/legion"]["fetched_at"] == dt.datetime(2024, 1, 2, 10, 30, tzinfo=UTC)
    rejects = {(r["url"], r["reason"]) for r in dataset_rows(lake, "rejects")}
    assert rejects == {
        (f"{BASE}/files/report.pdf", "not_html"),
        (f"{BASE}/world/gone", "http_404"),
        (None, "truncated"),
    }
    assert "read 5 = written 2 + duplicates 0 + rejects 3: balanced" in result.stdout
