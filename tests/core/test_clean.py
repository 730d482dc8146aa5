"""Tests of the boilerplate cleaner's pure functions: the labelled resources, each rule, edge cases."""

from __future__ import annotations

import json

import numpy as np
import pytest

from schemas.records import Article
from tests.helpers import (
    ARMY_BODY,
    ARMY_BODY2,
    NOW,
    RESOURCES,
    SEEDS,
    army_article,
    kept_texts,
    reason_of,
)
from transforms.clean import REASONS, clean_text
from transforms.core.boilerplate import match_rule
from transforms.core.clean import decide_many
from transforms.core.clean_stage import clean_document
from transforms.core.fingerprints import content_hash

# Acceptance targets on text_dev (micro-averaged over labelled lines).
MIN_BODY_KEPT = 0.98
MIN_BOILERPLATE_REMOVED = 0.90


def _gold() -> dict:
    return json.loads((RESOURCES / "seeds_gold.json").read_text(encoding="utf-8"))


def _text_dev() -> list[dict]:
    return json.loads((RESOURCES / "text_dev.json").read_text(encoding="utf-8"))["documents"]


# --- The labelled resources ---


@pytest.mark.parametrize("name", sorted(_gold()["documents"]))
def test_seed_matches_gold(name: str) -> None:
    gold = _gold()["documents"][name]
    text = (SEEDS / name).read_text(encoding="utf-8")
    cleaned = clean_text(text)
    kept = set(cleaned.kept_line_nos)
    nonblank = {n for n, line in enumerate(text.split("\n"), 1) if line.strip()}
    allowed = set(gold["body"]) | set(gold["title_lines"]) | set(gold["either"])

    assert not set(gold["body"]) - kept, "body lines lost"
    assert not (nonblank - allowed) & kept, "boilerplate lines kept"
    assert not set(gold["title_lines"]) & kept, "title left in the body"
    if gold["title"] is not None:
        assert cleaned.title == gold["title"]
    else:
        assert cleaned.title is None
    if "author" in gold:
        assert cleaned.byline == gold["author"]


def test_seed_003_byline_and_title_lines() -> None:
    text = next(SEEDS.glob("003_*.txt")).read_text(encoding="utf-8")
    cleaned = clean_text(text)
    assert cleaned.byline == "Stephen Lendman"
    reasons = {r.line_no: r.reason for r in cleaned.removed}
    assert reasons[1] == "title"
    assert reasons[3] == "repeated_title"
    assert reasons[5] == "byline"


def test_seed_001_unmarked_comment_thread() -> None:
    text = next(SEEDS.glob("001_*.txt")).read_text(encoding="utf-8")
    cleaned = clean_text(text)
    reasons = {r.line_no: r.reason for r in cleaned.removed}
    assert reasons[1] == "donation_appeal"
    # The thread has no widget: the line model removes it (no rule fired), each line with its score.
    removed = {r.line_no: r for r in cleaned.removed}
    nonblank = [n for n, line in enumerate(text.split("\n"), 1) if line.strip() and n >= 9]
    assert all(n in removed and removed[n].score is not None for n in nonblank)
    assert cleaned.kept_line_nos == (2, 3, 4, 5, 6, 7, 8)


def test_text_dev_thresholds() -> None:
    tally = {"B": [0, 0], "X": [0, 0], "T": [0, 0]}  # label -> [kept, total]
    for doc in _text_dev():
        cleaned = clean_text(doc["content"], title=doc["title"])
        kept = set(cleaned.kept_line_nos)
        for label, counts in tally.items():
            for n in doc["labels"][label]:
                counts[0] += n in kept
                counts[1] += 1
    body_kept = tally["B"][0] / tally["B"][1]
    boilerplate_removed = 1 - tally["X"][0] / tally["X"][1]
    assert body_kept >= MIN_BODY_KEPT
    assert boilerplate_removed >= MIN_BOILERPLATE_REMOVED
    assert tally["T"][0] == 0, "title lines left in the body"


def test_text_dev_title_lines_are_removed_as_title() -> None:
    for doc in _text_dev():
        cleaned = clean_text(doc["content"], title=doc["title"])
        reasons = {r.line_no: r.reason for r in cleaned.removed}
        for n in doc["labels"]["T"]:
            assert reasons[n] in ("title", "repeated_title")


def test_every_line_is_kept_or_removed_with_a_known_reason() -> None:
    for doc in _text_dev():
        cleaned = clean_text(doc["content"], title=doc["title"])
        lines = doc["content"].split("\n")
        nonblank = {n for n, line in enumerate(lines, 1) if line.strip()}
        removed = {r.line_no for r in cleaned.removed}
        assert removed.isdisjoint(cleaned.kept_line_nos)
        assert removed | set(cleaned.kept_line_nos) == nonblank
        assert all(r.reason in REASONS for r in cleaned.removed)
        assert all(r.text == lines[r.line_no - 1].strip() for r in cleaned.removed)
        assert kept_texts(cleaned) == [lines[n - 1].strip() for n in cleaned.kept_line_nos]


# --- Per-line rules ---


@pytest.mark.parametrize("line", ["0 $", "2,500 $", "$1,000", "880 €"])
def test_donation_progress_bar(line: str) -> None:
    cleaned = clean_text(army_article(line))
    assert reason_of(cleaned, line) == "donation_appeal"


@pytest.mark.parametrize(
    "line",
    [
        "Support SouthFront",
        "If you like our work, please support the project: PayPal: news@example.org",
        "Become a patron at patreon.com/example and keep independent media alive.",
        "We are reader-supported. Donate now to keep the lights on.",
    ],
)
def test_donation_appeal(line: str) -> None:
    assert reason_of(clean_text(army_article(line)), line) == "donation_appeal"


@pytest.mark.parametrize(
    "line",
    [
        "Notify of",
        "Newest Most Voted",
        "Inline Feedbacks",
        "View all comments",
        "Leave a Reply",
        "You are commenting using your Twitter account. Log Out /  Change )",
        "Your email address will not be published. Required fields are marked *",
        "Please adhere to our commenting policy to avoid being banned.",
        "12 Comments",
        "Comments (…)",
    ],
)
def test_comment_widget_strings(line: str) -> None:
    assert reason_of(clean_text(army_article(line)), line) == "comment_widget"


@pytest.mark.parametrize(
    "line",
    ["Share this:", "Facebook Twitter Email", "Subscribe to Example News for FREE", "Follow us on Telegram"],
)
def test_share_prompts(line: str) -> None:
    assert reason_of(clean_text(army_article(line)), line) == "share_prompt"


@pytest.mark.parametrize(
    "line",
    [
        "Related Posts",
        "Read more: Army retakes the airport after a week of fighting",
        "Recent posts:",
    ],
)
def test_related_links(line: str) -> None:
    assert reason_of(clean_text(army_article(line)), line) == "related_links"


@pytest.mark.parametrize("size", [80, 300, 700])
def test_the_teaser_rule_reads_the_end_of_a_line_of_any_length(size: int) -> None:
    # The excerpt of another article on a listing page ends "... Read More" past the head of
    # the line, where the other rules' trigger words are looked for.
    words = "Here I outline one of the core philosophies of the blog and explore its consequences "
    excerpt = (words * 10)[: size - len("... Read More")].rstrip() + "... Read More"
    assert match_rule(excerpt).id == "related.teaser"
    assert match_rule(excerpt.replace("... Read More", "... and more of it.")) is None


def test_disclaimer() -> None:
    line = (
        "The statements, views and opinions expressed in this column are solely those of the author and do "
        "not necessarily represent those of this site."
    )
    assert reason_of(clean_text(army_article(line)), line) == "disclaimer"


@pytest.mark.parametrize(
    "line",
    [
        "VISIT MY NEW WEB SITE: (Home – Jane Roe). Contact at",
        "My newest book is titled “Flashpoint”.",
        "Listen to cutting-edge discussions on the Progressive Radio News Hour.",
        "Select Bibles are now 50% OFF plus Free Shipping!",
        "FREE GIFT! Download the 40-page eBook today. CLICK HERE",
        "SEE MORE UK COLUMN NEWS AT: UKCOLUMN.ORG",
    ],
)
def test_promo(line: str) -> None:
    assert reason_of(clean_text(army_article(line)), line) == "promo"


@pytest.mark.parametrize(
    "line", ["Click to see the full-size image", "in ,", "——-", ".", "Advertisement", "Continue reading →"]
)
def test_chrome(line: str) -> None:
    assert reason_of(clean_text(army_article(line)), line) == "chrome"


def test_blog_footer() -> None:
    tail = ("Blog at WordPress.com.", "Up ↑", "%d bloggers like this:")
    cleaned = clean_text(army_article(tail=tail))
    assert [reason_of(cleaned, line) for line in tail] == ["footer"] * 3


def test_byline_and_post_metadata() -> None:
    text = "Posted on by someblogger\n\nby Jane Roe ( – Home – Jane Roe)\n\n" + army_article()
    cleaned = clean_text(text)
    assert cleaned.byline == "Jane Roe"
    assert reason_of(cleaned, "Posted on by someblogger") == "byline"
    assert reason_of(cleaned, "by Jane Roe ( – Home – Jane Roe)") == "byline"


def test_byline_with_date() -> None:
    cleaned = clean_text("By Pam Martens and Russ Martens: April 4, 2016\n\n" + ARMY_BODY)
    assert cleaned.byline == "Pam Martens and Russ Martens"


def test_sentence_starting_with_by_is_not_a_byline() -> None:
    line = "By the end of the week, the army had reached the river."
    cleaned = clean_text(f"{line}\n\n{ARMY_BODY}")
    assert line in kept_texts(cleaned)
    assert cleaned.byline is None


# --- Title ---


def test_given_title_and_its_repeats_are_removed() -> None:
    title = "Army Pushes East Toward Besieged City"
    text = f"{title}\n\n{ARMY_BODY}\n\n{title}\n\nClick to see the full-size image\n\n{ARMY_BODY2}"
    cleaned = clean_text(text, title=title)
    assert cleaned.title == title
    assert [r.reason for r in cleaned.removed] == ["title", "repeated_title", "chrome"]
    assert kept_texts(cleaned) == [ARMY_BODY, ARMY_BODY2]


def test_given_title_with_site_suffix_matches_the_heading() -> None:
    text = f"Army Pushes East Toward Besieged City\n\n{ARMY_BODY}"
    cleaned = clean_text(text, title="Army Pushes East Toward Besieged City | Example News")
    assert reason_of(cleaned, "Army Pushes East Toward Besieged City") == "title"


def test_title_is_detected_after_header_residue() -> None:
    cleaned = clean_text(f"in ,\n\nArmy Pushes East Toward Besieged City\n\n{ARMY_BODY}")
    assert cleaned.title == "Army Pushes East Toward Besieged City"
    assert kept_texts(cleaned) == [ARMY_BODY]


def test_date_line_is_neither_title_nor_removed() -> None:
    cleaned = clean_text(f"Tuesday, September 5, 2017\n\nUPDATED- Siege Of The City Broken!\n\n{ARMY_BODY}")
    assert cleaned.title == "UPDATED- Siege Of The City Broken!"
    assert kept_texts(cleaned) == ["Tuesday, September 5, 2017", ARMY_BODY]


def test_no_title_when_the_text_starts_with_prose() -> None:
    cleaned = clean_text(f"{ARMY_BODY}\n\n{ARMY_BODY2}")
    assert cleaned.title is None
    assert kept_texts(cleaned) == [ARMY_BODY, ARMY_BODY2]


def test_a_marked_heading_goes_only_with_the_block_it_heads() -> None:
    # Two documents: [heading, heading, block, heading, teaser] and [heading, prose]. The model
    # scores every heading as boilerplate; the marks keep those over a kept block.
    scores = np.array([0.99, 0.99, 0.1, 0.99, 0.99, 0.99, 0.1])
    headings = np.array([True, True, False, True, False, True, False])
    first = np.array([True, False, False, False, False, True, False])
    removed = np.zeros(7, dtype=bool)
    removed[5] = True  # a rule removed the second document's heading: it stays removed
    gone = decide_many(scores, removed, np.zeros(7, dtype=bool), 0.5, 0.2, 0.5, first, headings=headings)
    assert gone.tolist() == [False, False, False, True, True, True, False]
    unmarked = decide_many(scores, removed, np.zeros(7, dtype=bool), 0.5, 0.2, 0.5, first)
    assert unmarked.tolist() == [True, True, False, True, True, True, False]


def test_text_sources_are_stored_in_one_normal_form_by_the_clean_stage():
    # A backfill's text with soft hyphens and decomposed letters is the same article as the page
    # without them: the clean stage, which every source passes, stores it composed and without
    # invisible characters, and its fingerprint agrees.
    plain = (
        "The council approved the new ferry timetable on Tuesday after a long debate about winter "
        "crossings to München.\n\nFerries will run every forty minutes from March, the harbour "
        "master said, and the first boat will leave the island at six in the morning."
    )
    shy = plain.replace("timetable", "time\u00adtable").replace("harbour", "har\u00adbour\u200b")
    shy = shy.replace("ü", "u\u0308")
    cleaned = [
        clean_document(
            Article(id=i, source="b.jsonl", text_source="jsonl_text", ingested_at=NOW, text=text, title=title)
        )[0]
        for i, text, title in (("a", plain, "Ferry timetable"), ("b", shy, "Ferry time\u00adtable"))
    ]
    assert cleaned[1].text == cleaned[0].text == plain
    assert cleaned[1].title == "Ferry timetable"
    assert content_hash(cleaned[1].text) == content_hash(cleaned[0].text)
