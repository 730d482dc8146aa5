"""WARC seeds read record by record: HTML responses become articles, the rest is counted or rejected."""

import datetime as dt
import gzip

from schemas.records import Article, Reject
from tests.helpers import gold_body, page, write_warc
from transforms.core.warc import Skipped, is_warc, read_warc

NOW = dt.datetime(2026, 11, 22, tzinfo=dt.timezone.utc)
BASE = "https://news.example.org"


def _records() -> list[dict]:
    return [
        {"type": "request", "url": f"{BASE}/a"},
        {"url": f"{BASE}/a", "body": page("Siege broken", gold_body("003")), "date": "2024-01-01T00:00:12Z"},
        {"url": f"{BASE}/report.pdf", "body": b"%PDF-1.7 ...", "content_type": "application/pdf"},
        {"url": f"{BASE}/gone", "body": b"<html>not found</html>", "status": 404},
        {
            "url": f"{BASE}/b",
            "body": page("Fifth legion", gold_body("002")),
            "date": "2024-01-01T00:05:00.5Z",
        },
    ]


def _read(path, **kwargs):
    with open(path, "rb") as stream:
        return list(read_warc(str(path), stream, NOW, **kwargs))


def test_html_responses_become_articles_with_url_and_warc_date(tmp_path):
    for name in ("cc.warc", "cc.warc.gz"):
        path = tmp_path / name
        write_warc(path, _records())
        out = _read(path)
        articles = [o for o in out if isinstance(o, Article)]
        assert [a.url for a in articles] == [f"{BASE}/a", f"{BASE}/b"]
        assert articles[0].fetched_at == dt.datetime(2024, 1, 1, 0, 0, 12, tzinfo=dt.timezone.utc)
        assert articles[1].fetched_at == dt.datetime(2024, 1, 1, 0, 5, 0, 500000, tzinfo=dt.timezone.utc)
        assert articles[0].text_source == "warc_html" and "Deir Ezzor" in articles[0].html
        assert articles[0].source.startswith(f"{name}:") and articles[0].published is None
        rejects = {o.url: o.reason for o in out if isinstance(o, Reject)}
        assert rejects == {f"{BASE}/report.pdf": "not_html", f"{BASE}/gone": "http_404"}
        assert [o.reason for o in out if isinstance(o, Skipped)] == ["skipped_request"]


def test_a_record_over_the_cap_is_a_reject(tmp_path):
    path = tmp_path / "big.warc.gz"
    write_warc(path, [{"url": f"{BASE}/big", "body": b"<html>" + b"x" * 5000 + b"</html>"}])
    (reject,) = _read(path, max_record_bytes=1000)
    assert (reject.reason, reject.url) == ("too_large", f"{BASE}/big")


def test_truncated_gzip_keeps_the_records_before_the_fault(tmp_path):
    path = tmp_path / "cut.warc.gz"
    data = write_warc(path, _records())
    for cut in (len(data) - 40, len(data) - 400, len(data) // 2):
        path.write_bytes(data[:cut])
        out = _read(path)
        articles = [o.url for o in out if isinstance(o, Article)]
        faults = [o for o in out if isinstance(o, Reject) and o.url is None]
        assert len(faults) == 1 and faults[0].reason == "truncated", (cut, out)
        assert faults[0].source == "cut.warc.gz"
        assert articles and articles[0] == f"{BASE}/a"
        assert f"{BASE}/b" not in articles


def test_truncated_plain_warc_and_not_a_warc(tmp_path):
    path = tmp_path / "cut.warc"
    data = write_warc(path, _records())
    path.write_bytes(data[:-300])
    out = _read(path)
    assert [o.url for o in out if isinstance(o, Article)] == [f"{BASE}/a"]
    assert [o.reason for o in out if isinstance(o, Reject) and o.url is None] == ["truncated"]
    junk = tmp_path / "junk.warc.gz"
    junk.write_bytes(gzip.compress(b"this is not a WARC file at all\r\n\r\n"))
    (fault,) = _read(junk)
    assert fault.reason in ("bad_warc", "truncated") and fault.source == "junk.warc.gz"
    empty = tmp_path / "empty.warc"
    empty.write_bytes(b"")
    assert [r.reason for r in _read(empty)] == ["empty"]


def test_batches_split_the_records():
    assert is_warc("CC-NEWS-20240101.warc.gz") and is_warc("a.WARC") and not is_warc("a.warc.txt")
