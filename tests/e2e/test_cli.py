"""The debugging commands: ``newsflow clean`` and ``newsflow extract``, run as a user would."""

import gzip
import json

from tests.helpers import RESOURCES, SEEDS, run_cli


def json_lines(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]


def test_clean_prints_each_removed_line_with_its_reason(tmp_path):
    (seed,) = SEEDS.glob("003_*.txt")
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    result = run_cli("clean", "--json", str(seed), str(empty))
    assert result.returncode == 0, result.stderr
    cleaned, rejected = json_lines(result.stdout)
    assert (
        cleaned["title"] == "ISIS Siege of Deir Ezzor, Syria Broken"
        and cleaned["byline"] == "Stephen Lendman"
    )
    reasons = {r["line"]: r["reason"] for r in cleaned["removed"]}
    rules = {r["line"]: r["rule"] for r in cleaned["removed"]}
    # Every removed line names the rule that fired (or none) and the line model's score.
    assert all(0.0 <= r["score"] <= 1.0 for r in cleaned["removed"])
    assert rules[3] == "title.repeat" and rules[47] == "comment.form" and rules[5] == "byline.header"
    assert reasons[3] == "repeated_title" and reasons[47] == "comment_widget" and reasons[41] == "promo"
    assert "Leave a Reply" not in cleaned["text"] and cleaned["text"].startswith("Breaking ISIS")
    assert rejected["reject"] == "empty" and rejected["stage"] == "read"


def test_extract_prints_the_stored_record_for_a_file_and_a_url(tmp_path, feed_server):
    html = gzip.decompress((RESOURCES / "html_dev" / "APNews_4.html.gz").read_bytes())
    page = tmp_path / "ap.html"
    page.write_bytes(html)
    url = feed_server.route("/news/eu-nature-law", html, content_type="text/html; charset=utf-8")
    missing = feed_server.url("/news/missing")
    blocked = run_cli("extract", url)
    assert json_lines(blocked.stdout)[0]["reject"] == "blocked_private_address"
    result = run_cli("extract", "--allow_private_hosts", str(page), url, missing)
    assert result.returncode == 1, result.stderr  # one of the pages could not be fetched
    from_file, from_url, gone = json_lines(result.stdout)
    for record in (from_file, from_url):
        assert record["title"].startswith("EU poised to OK major plan")
        assert record["published"].startswith("2024-02-27") and record["date_source"] == "html"
        assert record["language"] == "en" and record["word_count"] > 300 and record["topic"]
    assert from_url["url"] == url and from_url["text"] == from_file["text"]
    assert gone["reject"] == "http_404" and gone["stage"] == "fetch"
