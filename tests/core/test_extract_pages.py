"""Extraction on short hand-written pages: metadata, charsets, layouts (div/br, tables, lists), quoted
posts, fragments, truncated and bad input."""

from __future__ import annotations

import dataclasses
import json
import random

import lxml.html
import pytest
import trafilatura

from schemas.records import Article
from tests.helpers import NOW
from transforms.core.body_blocks import body_paragraph_keys, text_key
from transforms.core.clean_stage import clean_document
from transforms.core.decode import decode_html
from transforms.core.extract import NoArticle, extract_article, extract_document, read_page
from transforms.core.extract_body import restore_headings
from transforms.core.page_tree import parse_page

HANDMADE = """<!DOCTYPE html>
<html lang="en-GB">
<head>
<meta charset="utf-8">
<title>Harbour bridge reopens after repairs | The Daily Example</title>
<link rel="canonical" href="/news/2024/03/harbour-bridge-reopens">
<meta property="og:url" content="https://example.org/news/2024/03/harbour-bridge-reopens?utm=x">
<meta property="og:title" content="Harbour bridge reopens after repairs">
<meta property="og:site_name" content="The Daily Example">
<meta property="og:description" content="The crossing closed for eight months is open again.">
<meta property="article:published_time" content="2024-03-01T07:45:00+00:00">
<meta property="article:modified_time" content="2024-03-05T10:00:00+00:00">
<meta name="author" content="https://example.org/staff">
<script type="application/ld+json">
{"@context": "https://schema.org", "@type": "NewsArticle", "headline": "Harbour bridge reopens after repairs",
 "datePublished": "2024-03-01T07:45:00+00:00", "author": [{"@type": "Person", "name": "Ada Lovelace"},
 {"@type": "Organization", "name": "The Daily Example"}]}
</script>
</head>
<body>
<nav><a href="/">Home</a> <a href="/news">News</a></nav>
<article>
<h1>Harbour bridge reopens after repairs</h1>
<p>The harbour bridge reopened to traffic on Friday morning after eight months of repairs to its
steel deck, the city council said, ending long detours for thousands of commuters.</p>
<p>Advertisement</p>
<p>Engineers replaced more than two hundred corroded plates and repainted the main span, work that
the council said had cost about 40 million pounds and finished three weeks ahead of schedule.</p>
<blockquote class="twitter-tweet"><p>Bridge open! Best news all year.</p>&mdash; Someone (@x)</blockquote>
<p>Sign up for our morning newsletter to get the news in your inbox.</p>
<p>Local businesses on both banks welcomed the reopening, saying trade had fallen sharply while the
crossing was closed and customers had to drive around the estuary.</p>
<p>Ada Lovelace is a reporter for The Daily Example covering transport and infrastructure.</p>
</article>
<footer>Copyright 2024 The Daily Example. All rights reserved.</footer>
</body>
</html>
"""


def test_handmade_page_metadata_and_body():
    page = extract_article(
        HANDMADE.encode("utf-8"), "https://example.org/news/2024/03/harbour-bridge-reopens", explain=True
    )
    assert page is not None
    assert page.title == "Harbour bridge reopens after repairs"
    assert page.author == "Ada Lovelace"
    assert page.published == "2024-03-01T07:45:00+00:00"  # published, not modified
    assert page.modified == "2024-03-05T10:00:00+00:00"
    assert page.sitename == "The Daily Example"
    assert page.language == "en"
    assert page.description == "The crossing closed for eight months is open again."
    # The canonical link wins over og:url, and is made absolute against the page URL.
    assert page.canonical_url == "https://example.org/news/2024/03/harbour-bridge-reopens"
    paragraphs = page.text.split("\n\n")
    assert paragraphs[0] == "Harbour bridge reopens after repairs"
    assert paragraphs[1].startswith("The harbour bridge reopened")
    assert paragraphs[-1].startswith("Local businesses on both banks")
    # The quoted post is body; the closing bio of the byline's author is not (a page-level
    # repair, with its reason). Lines such as "Advertisement" are the clean stage's to judge.
    assert "Bridge open! Best news all year." in paragraphs
    assert "Advertisement" in paragraphs
    assert "is a reporter" not in page.text and "Copyright" not in page.text
    assert page.explanation.dropped == (
        (
            "author_bio",
            "Ada Lovelace is a reporter for The Daily Example covering transport and infrastructure.",
        ),
    )


def test_og_url_is_the_canonical_fallback():
    html = HANDMADE.replace('<link rel="canonical" href="/news/2024/03/harbour-bridge-reopens">', "")
    page = extract_article(html, None)
    assert page is not None
    assert page.canonical_url == "https://example.org/news/2024/03/harbour-bridge-reopens?utm=x"


def test_str_input_works_like_bytes():
    from_str = extract_article(HANDMADE, "https://example.org/a")
    from_bytes = extract_article(HANDMADE.encode("utf-8"), "https://example.org/a")
    assert from_str == from_bytes


@pytest.mark.parametrize(
    "data",
    [
        b"",
        "",
        "   \n ",
        None,
        b"\x00" * 4096,
        random.Random(7).randbytes(20_000),
        b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj <<>> endobj\n" + random.Random(8).randbytes(5_000),
        b"\x89PNG\r\n\x1a\n" + random.Random(9).randbytes(5_000),
        b'{"title": "not a page", "items": [1, 2, 3]}',
        b"Plain text with no markup at all, repeated to look substantial. " * 40,
        b'<?xml version="1.0"?><rss version="2.0"><channel><item><title>x</title></item></channel></rss>',
        b"<html><head><title>Empty</title></head><body></body></html>",
        b"<html><body><nav><a href='/'>Home</a></nav><p>Cookies.</p></body></html>",
        b"<div>" * 50_000 + b"deep" + b"</div>" * 50_000,
        b"<html><body>" + b"<p>word word word word.</p>" * 1_000_000 + b"</body></html>",  # over the size cap
        12345,
    ],
    ids=lambda d: repr(d[:24]) if isinstance(d, (bytes, str)) else repr(d),
)
def test_bad_input_gives_none_without_raising(data):
    assert extract_article(data, "https://example.com/x") is None


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n" + b"1 0 obj stream endstream endobj\n" * 200, "not_html"),
        (b"<html><body><nav><a href='/'>Home</a></nav><p>Cookies.</p></body></html>", "no_article_body"),
        (b"<html><body>" + b"<p>word word word word.</p>" * 1_000_000 + b"</body></html>", "too_large"),
        (12345, "extraction_error"),  # not a page at all: the error is the reason, not "no body"
    ],
    ids=lambda d: repr(d[:24]) if isinstance(d, (bytes, str)) else repr(d),
)
def test_a_page_without_an_article_says_why(data, reason):
    result = read_page(data, "https://example.com/x")
    assert isinstance(result, NoArticle)
    assert result.reason == reason
    assert result.detail
    if reason == "extraction_error":
        assert result.detail.startswith("TypeError: ")


@pytest.mark.parametrize(
    "head",
    [
        "<link rel='canonical' href='http://[::1/story'>",  # "Invalid IPv6 URL" to a URL parser
        "<meta property='og:url' content='https://example.com:99999/story'>",  # no such port
        "<meta property='og:image' content='http://[cdn/lead.jpg'>",
    ],
)
def test_a_malformed_link_in_the_head_is_ignored_not_the_article(head):
    # One broken attribute used to make the whole page an extraction_error reject.
    story = (
        "<p>The harbour ferry timetable changes on Monday, the port authority said on Tuesday.</p>"
        "<p>Boats to the islands will leave every forty minutes instead of every hour in summer.</p>"
        "<p>Residents had asked for more crossings since the bridge closed for repairs last year.</p>"
    )
    html = f"<html><head><title>Ferries</title>{head}</head><body><article>{story}</article></body></html>"
    page = read_page(html, "https://example.com/story")
    assert not isinstance(page, NoArticle)
    assert "harbour ferry timetable" in page.text
    assert page.canonical_url in (None, "https://example.com/story") and page.image is None
    article = extract_document(
        Article(
            id="p",
            source="s",
            text_source="page",
            ingested_at=NOW,
            url="https://example.com/story",
            html=html,
        )
    )
    assert article.canonical_url == "https://example.com/story"


FRENCH = (
    "<html lang='fr'><head><meta charset='{charset}'><title>Réforme</title></head><body><article>"
    "<h1>Réforme des retraites</h1>"
    + "<p>Le ministre a annoncé une réforme très contestée à l’Assemblée nationale, où les débats "
    "ont été longs et houleux jusqu’à l’aube, selon des élus de tous les bords.</p>"
    * 4
    + "</article></body></html>"
)


@pytest.mark.parametrize(
    ("charset", "encoding"),
    [("iso-8859-1", "cp1252"), ("windows-1252", "cp1252"), ("utf-8", "utf-8"), ("utf-8", "utf-8-sig")],
)
def test_declared_charset_decodes(charset, encoding):
    page = extract_article(FRENCH.format(charset=charset).encode(encoding), None)
    assert page is not None
    assert "réforme très contestée à l’Assemblée" in page.text
    assert page.language == "fr"


def test_japanese_page_in_shift_jis():
    html = (
        "<html lang='ja'><head><meta http-equiv='Content-Type' content='text/html; charset=Shift_JIS'>"
        "<title>東京の天気</title></head><body><article><h1>東京の天気</h1>"
        + "<p>東京では週末にかけて雨が降り、気温は平年より低くなる見込みだと気象庁が発表しました。</p>" * 6
        + "</article></body></html>"
    ).encode("shift_jis")
    page = extract_article(html, None)
    assert page is not None
    assert "気象庁が発表しました" in page.text
    assert page.language == "ja"


def test_decode_html_prefers_valid_utf8_over_a_wrong_declaration():
    assert decode_html("<meta charset='iso-8859-1'><p>déjà vu</p>".encode()) == (
        "<meta charset='iso-8859-1'><p>déjà vu</p>"
    )


def test_decode_html_survives_a_stray_byte_and_a_cut_character():
    assert "déjà" in decode_html(b"<meta charset='utf-8'><p>d\xc3\xa9j\xc3\xa0 \x92 vu</p>" + b" " * 2000)
    assert decode_html("<p>déjà</p>".encode()[:-6]) == "<p>déj"


# --- Mechanisms, on short hand-written pages ---------------------------------------------

FLOOD = [
    "The river burst its banks overnight after three days of heavy rain, flooding the lower town and "
    "forcing more than two hundred people to leave their homes before dawn, the fire service said.",
    "Volunteers filled sandbags in the market square until the early hours while the council opened the "
    "sports hall as a shelter and arranged buses for residents of the two care homes on the riverside.",
    "The water began to fall by mid-morning, but forecasters warned that more rain was expected at the "
    "weekend and that the ground was too wet to absorb it, so the danger was not over yet.",
    "Shopkeepers on the high street said it would take weeks to dry out their premises, and several asked "
    "why the flood wall promised after the last flood, ten years ago, had never been built.",
    "The council leader said the wall had been delayed by a dispute over its cost and promised a public "
    "meeting next week, at which engineers would explain what could still be done before winter.",
]


def test_font_and_br_layout_is_not_truncated():
    # An old layout: the story in <font> runs split by <br>, no <p> around most of it. Precision
    # mode keeps the first two runs; the page's own prose says the body is longer, and recall
    # mode, which reads it whole, is taken instead.
    html = (
        "<html><body><div id='nav'><a href='/'>Home</a></div><center><font face='arial'><b>Flood</b>"
        f"<p>{FLOOD[0]}</font><font face='arial'>{FLOOD[1]}</font><br><font>{FLOOD[2]}</font><br>"
        f"<font>{FLOOD[3]}</font><br><font>{FLOOD[4]}</font></center></body></html>"
    )
    page = extract_article(html, None, explain=True)
    assert page is not None
    for paragraph in FLOOD:
        assert paragraph in page.text
    assert page.explanation.decisions[0].startswith("body: recall extraction")
    assert "precision extraction" in page.explanation.decisions[0]  # the candidate it replaced
    assert not trafilatura.extract(html) or FLOOD[4] not in trafilatura.extract(html)


def test_layout_table_body_is_read_cell_by_cell():
    # A menu cell beside the story cell, paragraphs separated by <br><br>: the story's
    # paragraphs stay apart and the menu is not glued to the headline.
    html = (
        "<html><head><title>Flood</title></head><body><table width='100%'><tr>"
        "<td width='20%'><a href='/'>Home</a><br><a href='/news'>News</a><br>"
        "<a href='/contact'>Contact us</a></td>"
        "<td><font size='4'><b>River floods the lower town</b></font><br><br>"
        + "<br><br>".join(FLOOD)
        + "</td></tr></table></body></html>"
    )
    page = extract_article(html, None)
    assert page is not None
    paragraphs = page.text.split("\n\n")
    assert "River floods the lower town" in paragraphs
    for paragraph in FLOOD:
        assert paragraph in paragraphs


def test_div_and_br_body_keeps_every_block():
    html = (
        "<html><body><div id='header'><a href='/'>Island News</a></div><div id='main'><div class='story'>"
        f"<h2>Flood</h2><div>{FLOOD[0]}</div><div>{FLOOD[1]}<br>{FLOOD[2]}</div><div>{FLOOD[3]}</div>"
        f"<div>{FLOOD[4]}</div></div></div><div id='footer'>Island News</div></body></html>"
    )
    page = extract_article(html, None)
    assert page is not None
    paragraphs = page.text.split("\n\n")
    assert paragraphs[0] == "Flood"
    assert f"{FLOOD[1]}\n{FLOOD[2]}" in paragraphs  # a <br> is a line break inside its block
    assert FLOOD[4] in paragraphs


def test_precision_mode_finding_nothing_gets_its_cascade():
    # Each paragraph a <div> ending in a link: fast precision mode finds no body at all;
    # with its cascade (readability, jusText) it reads the whole article.
    html = (
        "<html><body><div id='nav'><a href='/a'>Jobs</a> <a href='/b'>Blog</a></div><div class='article'>"
        "<h1>Flood</h1>"
        + "".join(f"<div>{p} <a href='/x{i}'>more</a></div>" for i, p in enumerate(FLOOD))
        + "</div></body></html>"
    )
    assert trafilatura.bare_extraction(html, favor_precision=True, fast=True) is None
    page = extract_article(html, None, explain=True)
    assert page.explanation.decisions[0].startswith("body: precision_cascade extraction")
    assert all(p in page.text for p in FLOOD)


def test_article_in_a_container_named_like_a_comment_section_is_found():
    # Every mode prunes containers whose id starts with "comment" before it extracts; when that
    # leaves no article and trafilatura finds no comment thread, a last try keeps them.
    html = (
        "<html><body><div id='nav'><a href='/'>Home</a></div><div id='commentable-story'>"
        "<h1>Flood</h1>" + "".join(f"<p>{p}</p>" for p in FLOOD) + "</div></body></html>"
    )
    for mode in ({"favor_precision": True}, {"favor_recall": True}, {}):
        pruned = trafilatura.bare_extraction(html, include_comments=False, **mode)
        assert pruned is None or FLOOD[0] not in pruned.text
    page = extract_article(html, None, explain=True)
    assert page is not None
    assert all(p in page.text.split("\n\n") for p in FLOOD)
    assert "balanced_with_comment_sections extraction" in page.explanation.decisions[0]


def test_a_page_that_is_only_a_comment_thread_is_no_article():
    # The same last try, on a page whose comment-named containers do hold a thread: no article.
    comments = "".join(
        f"<li class='comment'><div class='comment-author'>Reader {i}</div><div class='comment-content'>"
        f"<p>{p}</p></div></li>"
        for i, p in enumerate(FLOOD)
    )
    html = (
        "<html><body><div id='nav'><a href='/'>Home</a></div><h1>Flood photo</h1><img src='/flood.jpg'>"
        f"<div id='comments'><h3>5 Comments</h3><ol class='commentlist'>{comments}</ol></div></body></html>"
    )
    assert extract_article(html, None) is None


def test_data_table_rows_are_one_line_each():
    rows = "".join(
        f"<tr><td>{city}</td><td>{level} m</td></tr>" for city, level in [("Leeds", 3.1), ("York", 4.2)]
    )
    html = (
        f"<html><body><article><h1>Flood</h1><p>{FLOOD[0]}</p><table>{rows}</table><p>{FLOOD[1]}</p>"
        "</article></body></html>"
    )
    page = extract_article(html, None)
    assert page is not None
    assert "Leeds 3.1 m\n\nYork 4.2 m" in page.text


def test_data_table_with_paragraphs_in_its_cells_keeps_its_rows_through_the_clean_stage():
    # CMSs (and trafilatura) wrap a cell's text in <p>: the rows are still data, one line each,
    # and the line model, which would take "York 4.2 m" for a menu, may not remove them.
    cell = "<td><p>{}</p></td>"
    rows = "".join(
        "<tr>" + "".join(cell.format(value) for value in values) + "</tr>"
        for values in [
            ("Gauge", "Level", "Change"),
            ("Leeds", "3.1 m", "+0.4 m"),
            ("York", "4.2 m", "+0.9 m"),
        ]
    )
    html = (
        f"<html><body><article><h1>Flood</h1><p>{FLOOD[0]}</p><p>{FLOOD[1]}</p><table>{rows}</table>"
        f"<p>{FLOOD[2]}</p><p>{FLOOD[3]}</p></article></body></html>"
    )
    article = Article(id="t", source="t.html", text_source="page", ingested_at=NOW, html=html)
    cleaned, _ = clean_document(extract_document(article))
    assert "Gauge Level Change\n\nLeeds 3.1 m +0.4 m\n\nYork 4.2 m +0.9 m" in cleaned.text


def test_a_table_of_links_is_not_protected_as_data():
    # Old sites lay out their menus and footers as tables: rows of links are no data rows, and
    # the cleaner stays free to remove them.
    links = "<td><p>{}</p></td>".format
    menu = "".join(
        "<tr>"
        + links(" | ".join(f"<a href='/{word}'>{word} page</a>" for word in words))
        + links(tail)
        + "</tr>"
        for words, tail in [
            (("Advertising", "Events", "Jobs"), "<a href='/story'>Our story</a>"),
            (("Terms", "Ethics", "Privacy"), "<a href='/help'>Help</a>"),
        ]
    )
    data = "".join(
        f"<tr><td><p>{city}</p></td><td><p>{level}</p></td></tr>"
        for city, level in [("Leeds", "3.1 m"), ("York", "4.2 m")]
    )
    html = (
        f"<html><body><article><h1>Flood</h1><p>{FLOOD[0]}</p><table>{data}</table><p>{FLOOD[1]}</p>"
        f"<table>{menu}</table></article></body></html>"
    )
    article = extract_document(
        Article(id="t", source="t.html", text_source="page", ingested_at=NOW, html=html)
    )
    lines = article.text.split("\n")
    marked = {lines[number - 1] for number in article.list_lines}
    assert marked == {"Leeds 3.1 m", "York 4.2 m"}
    assert "Advertising page | Events page | Jobs page Our story" in lines


def test_list_in_the_body_stays_one_item_a_line():
    items = [
        "Friday 3 May: Leeds, Brudenell Social Club",
        "Saturday 4 May: York, Fibbers",
        "Sunday 5 May: Hull, The Welly",
    ]
    html = (
        f"<html><body><article><h1>Tour dates</h1><p>{FLOOD[0]}</p><p>The band will play:</p><ul>"
        + "".join(f"<li>{item}</li>" for item in items)
        + f"</ul><p>{FLOOD[1]}</p></article></body></html>"
    )
    page = extract_article(html, None)
    assert page is not None
    paragraphs = page.text.split("\n\n")
    start = paragraphs.index(items[0])
    assert paragraphs[start : start + 3] == items
    assert paragraphs[-1] == FLOOD[1]


NOMINEES = ["Blur", "J Hus", "Little Simz", "Raye", "Young Fathers", "Arlo Parks", "Central Cee", "Dave"]


def _nominees_page() -> str:
    return (
        f"<html><body><article><h1>Brit Awards</h1><p>{FLOOD[0]}</p><h2>Album of the year</h2><ul>"
        + "".join(f"<li>{name}</li>" for name in NOMINEES)
        + f"</ul><p>{FLOOD[1]}</p></article></body></html>"
    )


def test_list_items_of_the_body_survive_the_clean_stage():
    # Short name lines look like a menu to the line model, which reads lines without markup;
    # the page marks them as a list inside the article, so only a rule may remove them.
    extracted = extract_document(
        Article(id="a", source="s", text_source="page", ingested_at=NOW, html=_nominees_page())
    )
    lines = extracted.text.split("\n")
    assert [lines[n - 1] for n in extracted.list_lines] == NOMINEES
    cleaned, account = clean_document(extracted)
    assert cleaned.text.split("\n\n")[-len(NOMINEES) - 1 : -1] == NOMINEES
    assert cleaned.list_lines == ()  # line numbers of the text before cleaning
    # The same text without the page's markup: the model alone removes the names.
    unmarked, _ = clean_document(dataclasses.replace(extracted, list_lines=()))
    assert not set(NOMINEES) & set(unmarked.text.split("\n\n"))


def test_a_rule_still_removes_a_list_item():
    html = _nominees_page().replace("<li>Dave</li>", "<li>Subscribe to our newsletter</li>")
    extracted = extract_document(Article(id="a", source="s", text_source="page", ingested_at=NOW, html=html))
    cleaned, account = clean_document(extracted)
    assert "Subscribe to our newsletter" not in cleaned.text
    assert "Central Cee" in cleaned.text


def _paragraphs_page(short: list[str]) -> str:
    """Short paragraphs between the article's own paragraphs, all children of one container."""
    body = "".join(f"<p>{line}</p>" for line in short)
    return (
        f"<html><body><article><h1>Brit Awards</h1><p>{FLOOD[0]}</p><p>{FLOOD[1]}</p>"
        f"<p>Album of the year</p>{body}<p>{FLOOD[2]}</p><p>{FLOOD[3]}</p></article></body></html>"
    )


def test_short_paragraphs_among_the_article_s_own_survive_the_clean_stage():
    # A list written one name to a <p>, inside the container of the article's paragraphs: the page
    # places these short lines in the article, so only a rule may remove them.
    html = _paragraphs_page(NOMINEES)
    extracted = extract_document(Article(id="a", source="s", text_source="page", ingested_at=NOW, html=html))
    lines = extracted.text.split("\n")
    assert set(NOMINEES) <= {lines[n - 1] for n in extracted.list_lines}
    cleaned, _ = clean_document(extracted)
    assert set(NOMINEES) <= set(cleaned.text.split("\n\n"))
    # The same text without the page's markup: the model removes names.
    unmarked, _ = clean_document(dataclasses.replace(extracted, list_lines=()))
    assert set(NOMINEES) - set(unmarked.text.split("\n\n"))


LETTER = (
    "I am going to miss reading her every morning. I have followed her columns for thirty years and "
    "I cannot think of anyone who wrote about the game with more care."
)


def test_a_reader_s_letter_among_the_article_s_paragraphs_is_marked():
    # A letters page: each letter is a first-person paragraph among the page's own paragraphs,
    # which the line model alone would take for a reader comment.
    html = _paragraphs_page([LETTER])
    extracted = extract_document(Article(id="a", source="s", text_source="page", ingested_at=NOW, html=html))
    lines = extracted.text.split("\n")
    marked = {lines[n - 1] for n in extracted.list_lines}
    assert LETTER in marked and FLOOD[0] in marked


def test_a_letter_s_signature_with_line_breaks_is_one_marked_block():
    html = _paragraphs_page(["<i>Gary Bolen</i><br><i>Monterey</i>"])
    extracted = extract_document(Article(id="a", source="s", text_source="page", ingested_at=NOW, html=html))
    lines = extracted.text.split("\n")
    assert {"Gary Bolen", "Monterey"} <= {lines[n - 1] for n in extracted.list_lines}


def test_a_chinese_article_s_paragraphs_are_marked_by_their_length_in_words():
    # 60 Chinese characters are about 30 words, a long paragraph: measured in characters they
    # would not count as prose and the article's paragraphs would go unmarked.
    zh = [
        "研究人员表示，这种新的神经网络能够利用外部记忆来学习，并在没有人类帮助的情况下完成复杂的任务，例如在地铁线路图中找到两站之间的最短路线。",
        "他们在论文中写道，这一系统会把学到的信息储存在记忆中，之后再根据需要读取，就像人类在解决问题时回想过去的经验一样，这让它的能力大大提高。",
        "专家认为，这项研究是人工智能发展的重要一步，但距离真正能够像人一样思考的机器还有很长的路要走，未来几年还需要更多的研究和实验。",
    ]
    assert all(len(paragraph) < 150 for paragraph in zh)
    html = "<html><body><article>" + "".join(f"<p>{p}</p>" for p in zh) + "</article></body></html>"
    assert {text_key(p) for p in zh} <= body_paragraph_keys(lxml.html.fromstring(html))


def test_a_linked_headline_among_the_article_s_paragraphs_is_not_marked():
    html = _paragraphs_page(['Read more: <a href="/other">Floods: what the insurers will pay</a>', "Blur"])
    keys = body_paragraph_keys(lxml.html.fromstring(html))
    assert text_key("Blur") in keys
    assert text_key("Read more: Floods: what the insurers will pay") not in keys


def test_short_paragraphs_outside_an_article_s_container_are_not_marked():
    # Two paragraphs of prose are not an article's container: a footer's short lines stay unmarked.
    html = f"<html><body><div><p>{FLOOD[0]}</p><p>{FLOOD[1]}</p><p>Contact us</p></div></body></html>"
    assert body_paragraph_keys(lxml.html.fromstring(html)) == frozenset()


def test_quoted_posts_of_every_network_stay():
    embeds = (
        '<blockquote class="twitter-tweet"><p>The water is at the door now.</p>&mdash; Ann (@a)</blockquote>'
        '<blockquote class="instagram-media"><p>Sandbags on the quay this morning.</p></blockquote>'
        '<blockquote class="tiktok-embed"><p>Boats in the market square.</p></blockquote>'
    )
    html = f"<html><body><article><h1>Flood</h1><p>{FLOOD[0]}</p>{embeds}<p>{FLOOD[1]}</p></article></body>"
    page = extract_article(html, None)
    assert page is not None
    for post in (
        "The water is at the door now.",
        "Sandbags on the quay this morning.",
        "Boats in the market square.",
    ):
        assert post in page.text


def test_live_blog_updates_written_as_html_in_schema_org_become_plain_text():
    # A live blog whose updates a script renders: the page shows only its intro, and the updates
    # come from the LiveBlogPosting data. Some publishers put HTML (links, entities) into an
    # update's articleBody: the appended text holds its words, never its markup.
    updates = [
        {"@type": "BlogPosting", "headline": "Sandbags &amp; shelters", "articleBody": FLOOD[1]},
        {
            "@type": "BlogPosting",
            "headline": "Rain at the weekend",
            "articleBody": "<p>"
            + FLOOD[2].replace("forecasters", "<a href='/weather'>forecasters</a>")
            + "</p><p>The council said: &quot;Stay away from the river.&quot;</p>",
        },
        {"@type": "BlogPosting", "headline": "Shops", "articleBody": f"<b>{FLOOD[3]}</b>"},
    ]
    page = extract_article(_live_blog(updates, shown=[]), None)
    assert page is not None
    assert FLOOD[1] in page.text and FLOOD[2] in page.text and FLOOD[3] in page.text
    assert 'The council said: "Stay away from the river."' in page.text
    assert "<" not in page.text and "&quot;" not in page.text and "&amp;" not in page.text


def test_a_live_blog_that_shows_its_latest_update_gets_none_of_its_older_ones_appended():
    # The page renders its latest update (the rest sit behind "load more"); its data lists all
    # four, newest first. The text is what a reader sees: the intro and that update, once.
    updates = [{"@type": "BlogPosting", "articleBody": text} for text in reversed(FLOOD[1:])]
    page = extract_article(_live_blog(updates, shown=[FLOOD[4]]), None)
    assert page is not None
    assert page.text.count(FLOOD[4]) == 1
    assert not any(text in page.text for text in FLOOD[1:4])


def _live_blog(updates: list[dict[str, str]], shown: list[str]) -> str:
    """A live blog's page: its LiveBlogPosting data, its intro and the updates it renders."""
    data = {"@context": "https://schema.org", "@type": "LiveBlogPosting", "liveBlogUpdate": updates}
    rendered = "".join(f"<div class='update'><p>{text}</p></div>" for text in shown)
    return (
        f'<html><head><script type="application/ld+json">{json.dumps(data)}</script></head>'
        f"<body><article><h1>Flood live</h1><p>{FLOOD[0]}</p>{rendered}</article></body></html>"
    )


def test_metadata_a_page_escaped_twice_is_plain_text():
    # Meta content escaped twice ("It&amp;#8217;s") and a title holding tags: the fields get
    # the text a reader sees, the image URL its real query string.
    head = (
        '<meta property="og:title" content="Flood hits the lower town, &lt;i&gt;again&lt;/i&gt;">'
        '<meta property="og:description" content="It&amp;#8217;s the second flood &amp;amp; the worst">'
        '<meta property="og:image" content="https://example.org/flood.jpg?w=800&amp;amp;h=600">'
    )
    html = (
        f"<html><head>{head}</head><body><article><p>{FLOOD[0]}</p><p>{FLOOD[1]}</p></article></body></html>"
    )
    page = extract_article(html, "https://example.org/flood")
    assert page is not None
    assert page.title == "Flood hits the lower town, again"
    assert page.description == "It’s the second flood & the worst"
    assert page.image == "https://example.org/flood.jpg?w=800&h=600"


def test_a_code_block_of_the_body_survives_the_clean_stage():
    # A <pre> block (code, a query and its output) stays line for line: the rules would take "}"
    # for chrome and the line model short code lines for a menu. Inline <code> is just text.
    code = ["SQL> SELECT * FROM VACATION;", "LASTNAME EMPLOYEENUM YEARS", "ABLE 101 2", "}", "];"]
    pre = "<pre>" + "\n".join(code) + "</pre>"
    after = f"<p>Run <code>make</code> first. {FLOOD[1]}</p>"
    body = f"<article><h1>Queries</h1><p>{FLOOD[0]}</p>{pre}{after}</article>"
    article = Article(
        id="c", source="test", text_source="page", ingested_at=NOW, html=f"<html><body>{body}</body></html>"
    )
    extracted = extract_document(article)
    assert isinstance(extracted, Article)
    cleaned, _ = clean_document(extracted)
    assert isinstance(cleaned, Article)
    assert cleaned.text.split("\n\n")[1:6] == code
    assert f"Run make first. {FLOOD[1]}" in cleaned.text


def test_authors_of_an_article_nested_as_a_web_page_s_main_entity():
    # Nature nests its NewsArticle in a WebPage; its citation metas say "You, Xiaoying", which a
    # split at commas turns into two "authors". The article's own Person names win.
    article = {
        "@type": "NewsArticle",
        "headline": "Flood hits the lower town",
        "author": [
            {"@type": "Person", "name": "Xiaoying You"},
            {"@type": "Person", "name": "Jeff Tollefson"},
        ],
        "image": "https://example.org/flood.jpg",
    }
    data = {"@context": "https://schema.org", "@type": "WebPage", "mainEntity": article}
    head = (
        f'<script type="application/ld+json">{json.dumps(data)}</script>'
        '<meta name="dc.creator" content="You, Xiaoying"><meta name="dc.creator" content="Tollefson, Jeff">'
    )
    body = f"<article><p>{FLOOD[0]}</p><p>{FLOOD[1]}</p></article>"
    page = extract_article(f"<html><head>{head}</head><body>{body}</body></html>", "https://example.org/a")
    assert page is not None
    assert page.author == "Xiaoying You; Jeff Tollefson"
    assert page.image == "https://example.org/flood.jpg"


def test_a_byline_s_joiners_and_place_are_not_authors():
    head = (
        '<meta name="author" content="By Howard Gleckman, with Paul Magnusson and Stan Crock, in Washington">'
    )
    body = f"<article><p>{FLOOD[0]}</p><p>{FLOOD[1]}</p></article>"
    page = extract_article(f"<html><head>{head}</head><body>{body}</body></html>", None)
    assert page is not None
    assert page.author == "Howard Gleckman; Paul Magnusson; Stan Crock"


def test_the_site_name_is_not_the_headline():
    # With no og:site_name, trafilatura guesses the site from "<headline> - <site>" in <title>,
    # and takes a headline holding a dot ("U.K.") for a domain: the lake's site_name repeated it.
    body = f"<article><p>{FLOOD[0]}</p><p>{FLOOD[1]}</p></article>"
    head = "<title>Flood hits U.K. town - WSJ.com</title>"
    head += '<meta property="og:title" content="Flood hits U.K. town">'
    page = extract_article(f"<html><head>{head}</head><body>{body}</body></html>", None)
    assert page is not None
    assert (page.title, page.sitename) == ("Flood hits U.K. town", "WSJ.com")


def test_a_fragment_without_html_frame_is_parsed():
    # Pages saved or exported without <html><body> (a CMS fragment) parse as documents.
    html = "\n<table><tr><td><h2>Flood</h2>" + "".join(f"<p>{p}</p>" for p in FLOOD) + "</td></tr></table>"
    assert trafilatura.load_html(html) is None  # what bare trafilatura makes of it
    page = extract_article(html, None, explain=True)
    assert page is not None
    assert FLOOD[0] in page.text and FLOOD[4] in page.text
    assert page.explanation.decisions[0].startswith("fragment:")


def test_explanation_only_when_asked():
    html = f"<html><body><article><h1>Flood</h1><p>{FLOOD[0]}</p><p>{FLOOD[1]}</p></article></body></html>"
    assert extract_article(html, None).explanation is None
    explained = extract_article(html, None, explain=True)
    assert explained.explanation.decisions[0].startswith("body: precision extraction")
    assert explained.text == extract_article(html, None).text


def test_japanese_article_is_long_enough_for_the_clean_stage():
    html = (
        "<html lang='ja'><head><meta charset='utf-8'><title>東京の天気</title></head><body><article>"
        "<h1>東京の天気</h1><p>東京では週末にかけて雨が降り、気温は平年より低くなる見込みだと気象庁が発表しました。</p>"
        "<p>気象庁によると、低気圧が本州の南を東に進むため、関東地方では土曜日の朝から雨が降り出す見込みです。</p>"
        "<p>日曜日の最高気温は十二度前後と、三月上旬並みの寒さになると予想されています。</p></article></body></html>"
    )
    article = Article(id="ja", source="ja.html", text_source="page", ingested_at=NOW, html=html)
    cleaned, _ = clean_document(extract_document(article))
    assert isinstance(cleaned, Article)  # not a too_short reject: CJK text is counted by characters
    assert "気象庁によると" in cleaned.text


def test_section_headings_between_kept_blocks_are_put_back():
    # Where precision mode dropped a short standalone line, a heading that stands between two
    # kept blocks of the page is put back; one above a reading list after the body is not.
    html = (
        "<html><body><article><h1>Flood</h1>"
        f"<p>{FLOOD[0]}</p><p>{FLOOD[1]}</p><h2>What happens next</h2><p>{FLOOD[2]}</p>"
        f"<p>{FLOOD[3]}</p><h3>Residents ask about the wall</h3><p>{FLOOD[4]}</p></article>"
        "<aside><h2>More from Island News</h2><p>Ferry timetable changes for the winter season, "
        "with fewer crossings on Sundays.</p></aside></body></html>"
    )
    tree = trafilatura.load_html(html)
    restored, count = restore_headings(FLOOD, tree)
    assert count == 2
    assert (
        restored
        == FLOOD[:2] + ["What happens next"] + FLOOD[2:4] + ["Residents ask about the wall"] + FLOOD[4:]
    )
    assert restore_headings(FLOOD[:1], tree) == (FLOOD[:1], 0)
    page = extract_article(html, None)
    assert "What happens next" in page.text.split("\n\n")
    assert "More from Island News" not in page.text


def _sections_page(headings: list[str]) -> str:
    return (
        f"<html><body><article><h1>Flood</h1><p>{FLOOD[0]}</p><h2>{headings[0]}</h2><p>{FLOOD[1]}</p>"
        f"<h2>{headings[1]}</h2><h3>{headings[2]}</h3><p>{FLOOD[2]}</p><p>{FLOOD[3]}</p></article></body></html>"
    )


def test_section_headings_of_the_body_survive_the_clean_stage():
    # One-word headings look like menu entries to the line model; the page marks them as
    # headings of the article, so they stay with the blocks they head (a heading over a
    # subheading too).
    headings = ["Background", "Glossary", "Architecture"]
    extracted = extract_document(
        Article(id="a", source="s", text_source="page", ingested_at=NOW, html=_sections_page(headings))
    )
    lines = extracted.text.split("\n")
    assert [lines[n - 1] for n in extracted.heading_lines] == ["Flood", *headings]
    cleaned, _ = clean_document(extracted)
    assert cleaned.text.split("\n\n") == [FLOOD[0], headings[0], FLOOD[1], *headings[1:], *FLOOD[2:4]]
    assert cleaned.heading_lines == ()  # line numbers of the text before cleaning
    # The same text without the page's markup: the model alone removes two of them.
    unmarked, _ = clean_document(dataclasses.replace(extracted, heading_lines=()))
    assert {"Glossary", "Architecture"}.isdisjoint(unmarked.text.split("\n\n"))


def test_page_text_and_title_are_composed_and_lose_soft_hyphens_and_zero_width_characters():
    # German sites hyphenate whole articles with &shy;: left in, "Hoch&shy;was&shy;ser" is no
    # "Hochwasser" to a search, a duplicate check or a topic. Browsers show none of them.
    body = FLOOD[0].replace("heavy", "hea&shy;vy").replace("flooding", "flood&#173;ing")
    html = (
        "<html><head><meta charset='utf-8'><title>Hoch&shy;was&shy;ser in Mu\u0308nchen</title></head><body>"
        f"<article><h1>Hoch&shy;was&shy;ser in Mu&#776;nchen</h1><p>{body}</p><p>{FLOOD[1]}\u200b</p>"
        f"<p>\ufeff{FLOOD[2]}</p><p>{FLOOD[3]}</p></article></body></html>"
    )
    page = extract_article(html, None)
    assert page.title == "Hochwasser in München"  # composed: the form a search types
    assert page.text.split("\n\n") == ["Hochwasser in München"] + FLOOD[:4]
    # The zero-width joiners stay: Persian spelling needs them (می‌خواهم, "I want").
    persian = "<html><body><article>" + "<p>من می\u200cخواهم به خانه بروم و کتاب بخوانم امروز.</p>" * 4
    assert "می\u200cخواهم" in extract_article(persian + "</article></body></html>", None).text


def test_a_list_item_with_soft_hyphens_is_still_marked():
    # The lines are stored without the page's soft hyphens; the list items the page marks are
    # matched to them in the same form.
    items = ["Frei&shy;tag 3. Mai: Leipzig, Conne Island", "Sams&shy;tag 4. Mai: Dresden, Scheune"]
    html = (
        f"<html><body><article><h1>Tour</h1><p>{FLOOD[0]}</p><ul>"
        + "".join(f"<li>{item}</li>" for item in items)
        + f"</ul><p>{FLOOD[1]}</p></article></body></html>"
    )
    article = extract_document(
        Article(id="t", source="t.html", text_source="page", ingested_at=NOW, html=html)
    )
    lines = article.text.split("\n")
    assert {lines[n - 1] for n in article.list_lines} == {
        "Freitag 3. Mai: Leipzig, Conne Island",
        "Samstag 4. Mai: Dresden, Scheune",
    }


def test_a_page_is_parsed_as_trafilatura_parses_it_with_html_elements_throughout():
    page = (
        "<!DOCTYPE html><html><head><title>Form</title></head><body><!-- a comment -->"
        "<form><input name='q'><select><option>a</option></select></form><p>Rates rise.</p></body></html>"
    )
    tree = parse_page(page)
    ours = [(el.tag, el.text) for el in tree.iter()]
    assert ours == [(el.tag, el.text) for el in trafilatura.load_html(page).iter()]
    assert {type(el) for el in tree.iter()} == {lxml.html.HtmlElement}  # no form-field classes
    assert parse_page("just text, no markup at all") is None  # not HTML, as trafilatura decides


def test_loose_text_with_links_stays_one_paragraph():
    # Text written straight into a <div>, with a link and <i> inside its sentences: trafilatura's
    # fallback wraps the pieces between the inline elements in paragraphs of their own. The body
    # keeps the sentence whole; a paragraph that ends a sentence stays a paragraph.
    sentence = (
        "Issue three finally got out the door, probably the hardest {Ricky} and myself ever worked. "
        "Make sure you check out the {Tech Jobs} section and the {Operational Transformation} article "
        "by Daniel Spiewak, which is really worth reading, and now that it is in print you no longer "
        "have the '{tl;dr}' excuse."
    )
    marked = sentence.format(
        **{
            "Ricky": "<a href='http://example.com/'>Ricky</a>",
            "Tech Jobs": "<i>Tech Jobs</i>",
            "Operational Transformation": "<i>Operational Transformation</i>",
            "tl;dr": "<a href='http://example.com/tldr'>tl;dr</a>",
        }
    )
    closing = (
        "Print subscription is coming. It will be big for the readers outside the United States and "
        "Canada, because I am working to cut down the shipping cost for annual subscribers."
    )
    html = (
        "<html><body><div id='nav'><a href='/'>Home</a> <a href='/a'>Archive</a></div>"
        "<div id='post'><h2>Issue three is out</h2>"
        "<div class='date'><span>By Lim Cheng Soon, 31 July 2010</span></div>"
        f"{marked}<p /><div>{closing}</div></div></body></html>"
    )
    page = extract_article(html, None)
    assert page is not None
    plain = sentence.replace("{", "").replace("}", "")
    assert page.text.split("\n\n")[2:] == [plain, closing]
