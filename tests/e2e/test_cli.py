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


def test_clean_aligns_its_columns_and_names_an_unmarked_thread(tmp_path):
    from tests.helpers import army_article

    thread = (
        "Great post, thanks for sharing! I love your blog.",
        "I totally agree with you. My husband and I went there last year and loved it!",
        "Love this! Can't wait to try it.",
        "So true!! Thanks for the reminder.",
    )
    text = tmp_path / "thread.txt"
    text.write_text(army_article(tail=thread), encoding="utf-8")
    result = run_cli("clean", str(text))
    assert result.returncode == 0, result.stderr
    rows = [line for line in result.stdout.splitlines() if not line.startswith("==")]
    # The text column starts at the same place on every row, a long rule id included.
    assert len({row.index("| ") for row in rows}) == 1
    assert any("comment_thread [comment.thread_text]" in row and thread[-1] in row for row in rows)


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


EXPLAINED_PAGE = """<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<title>Harbour bridge reopens after repairs | The Daily Example</title>
<meta property="og:site_name" content="The Daily Example">
<script type="application/ld+json">{"@type": "NewsArticle", "datePublished": "2024-03-01T07:45:00+01:00",
 "dateModified": "2024-03-05T10:00:00+01:00", "author": {"@type": "Person", "name": "Ada Lovelace"}}</script>
</head><body><nav><a href="/">Home</a></nav><article><h1>Harbour bridge reopens after repairs</h1>
<p>The harbour bridge reopened to traffic on Friday morning after eight months of repairs to its steel deck,
the city council said, ending long detours for thousands of commuters.</p>
<p>Advertisement</p>
<p>Engineers replaced more than two hundred corroded plates and repainted the main span, work that the council
said had cost about 40 million pounds and finished three weeks ahead of schedule.</p>
<blockquote class="twitter-tweet"><p>Bridge open! Best news all year.</p>&mdash; Someone (@x)</blockquote>
<p>Local businesses on both banks welcomed the reopening, saying trade had fallen sharply while the crossing
was closed and customers had to drive around the estuary.</p>
<p>Ada Lovelace is a reporter for The Daily Example covering transport and infrastructure.</p>
</article></body></html>"""


def test_extract_explain_says_why_a_page_gives_no_article(tmp_path):
    page = tmp_path / "home.html"
    page.write_text(
        "<html><head><title>Home</title></head><body><nav><a href='/'>Home</a> <a href='/news'>News</a>"
        "</nav><p>Cookies help us.</p></body></html>",
        encoding="utf-8",
    )
    result = run_cli("extract", "--explain", str(page))

    assert result.returncode == 0, result.stderr
    (record,) = json_lines(result.stdout)
    assert (record["stage"], record["reject"]) == ("extract", "no_article_body")
    steps = record["explain"]["extraction"]
    assert steps[0].startswith("body: precision extraction")  # what was tried, as for an article
    assert steps[-1] == f"no article (no_article_body): {record['detail']}"


def test_extract_explain_shows_each_decision_and_drop(tmp_path):
    page = tmp_path / "bridge.html"
    page.write_text(EXPLAINED_PAGE, encoding="utf-8")
    plain = json_lines(run_cli("extract", str(page)).stdout)[0]
    assert "explain" not in plain

    result = run_cli("extract", "--explain", str(page))

    assert result.returncode == 0, result.stderr
    (record,) = json_lines(result.stdout)
    explain = record["explain"]
    assert explain["extraction"][0].startswith("body: precision extraction")
    dropped = {(d["stage"], d["reason"]): d["text"] for d in explain["dropped"]}
    # Extraction's own, page-level drop: the closing bio of the byline's author.
    assert dropped[("extract", "author_bio")].startswith("Ada Lovelace is a reporter")
    # Lines are judged by the clean stage, each with its reason and line number.
    clean_drops = [d for d in explain["dropped"] if d["stage"] == "clean"]
    assert clean_drops and all(d["reason"] and d["line"] >= 1 and d["text"] for d in clean_drops)
    for d in clean_drops:
        assert d["text"] not in record["text"].split("\n")  # what was dropped is not stored
    assert "Bridge open! Best news all year." in record["text"]  # a quoted post is body
    # The date: where it came from, the offset it was stated in, the revision kept apart.
    assert explain["date"]["source"] == "html" and explain["date"]["offset_minutes"] == 60
    assert explain["date"]["candidates"] == [{"value": "2024-03-01T07:45:00+01:00", "source": "html"}]
    assert record["published"].startswith("2024-03-01 06:45:00") and record["published_offset"] == 60
    assert record["modified"].startswith("2024-03-05 09:00:00") and record["date_source"] == "html"
