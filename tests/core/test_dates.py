import datetime as dt

import trafilatura

from tests.helpers import seed_text
from transforms.core.date_parse import states_day
from transforms.core.dates import (
    DATEPARSER_LANGUAGES,
    header_date,
    htmldate_guess,
    local_day,
    page_dates,
    parse_datetime,
    resolve_date,
    stated_offset,
    url_date,
)
from transforms.core.extract import extract_article

UTC = dt.timezone.utc
NOW = dt.datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def test_parse_datetime_makes_utc_aware_values():
    assert parse_datetime("2017-09-05T10:30:00+02:00") == dt.datetime(2017, 9, 5, 8, 30, tzinfo=UTC)
    assert parse_datetime("2017-09-05") == dt.datetime(2017, 9, 5, tzinfo=UTC)
    assert parse_datetime("Tue, 05 Sep 2017 13:45:00 GMT") == dt.datetime(2017, 9, 5, 13, 45, tzinfo=UTC)
    assert parse_datetime("not a date") is None
    assert parse_datetime("") is None


def test_header_date_of_seed_004():
    assert header_date(seed_text("004")) == dt.datetime(2017, 9, 5, tzinfo=UTC)


def test_header_date_ignores_dates_inside_sentences():
    text = (
        "Title here\n\nOn 23rd February 2017 an article appeared in the US based website which claimed a lot."
    )
    assert header_date(text) is None
    assert header_date(seed_text("002")) is None


def test_header_date_accepts_labelled_date_lines():
    assert header_date("Headline\nPublished: 12 March 2019, 10:45\nBody") == dt.datetime(
        2019, 3, 12, 10, 45, tzinfo=UTC
    )
    assert header_date("Posted on March 5, 2017 by admin\nBody text") == dt.datetime(2017, 3, 5, tzinfo=UTC)


def test_url_date():
    assert url_date("http://21stcenturywire.com/2016/06/04/uk-column-news/") == dt.datetime(
        2016, 6, 4, tzinfo=UTC
    )
    assert url_date("https://example.com/2016/13/40/x") is None
    assert url_date(None) is None


def test_resolve_date_prefers_metadata_then_header_then_url():
    text = "Tuesday, September 5, 2017\n\nHeadline"
    url = "https://example.com/2016/06/04/story"
    assert (
        resolve_date([("2018-01-01", "metadata")], text=text, url=url, ingested_at=NOW).source == "metadata"
    )
    assert resolve_date([], text=text, url=url, ingested_at=NOW) == (
        dt.datetime(2017, 9, 5, tzinfo=UTC),
        "text_header",
        None,
    )
    assert resolve_date([], text="Headline", url=url, ingested_at=NOW).source == "url"
    assert resolve_date([], text="Headline", url=None, ingested_at=NOW) == (None, None, None)


def test_resolve_date_drops_dates_far_in_the_future():
    future = "2027-01-01T00:00:00Z"
    assert resolve_date([(future, "metadata")], text="Body", ingested_at=NOW) == (
        None,
        "metadata_future",
        None,
    )
    resolved = resolve_date([(future, "metadata"), ("2020-02-02", "html")], text="Body", ingested_at=NOW)
    assert resolved == (dt.datetime(2020, 2, 2, tzinfo=UTC), "html", None)


def test_resolve_date_says_when_a_stated_value_was_no_date():
    # A record's "published": "9999-99-99" used to vanish: no date, and no source to say one was given.
    for value in ("9999-99-99", "n/a", "1960-05-01"):
        assert resolve_date([(value, "metadata")], text="Body", ingested_at=NOW) == (
            None,
            "metadata_unreadable",
            None,
        )
    resolved = resolve_date([("n/a", "metadata"), ("2020-02-02", "html")], text="Body", ingested_at=NOW)
    assert resolved == (dt.datetime(2020, 2, 2, tzinfo=UTC), "html", None)
    assert resolve_date([("", "metadata")], text="Body", ingested_at=NOW) == (None, None, None)


def test_resolve_date_clamps_clock_skew_to_the_ingest_time():
    # A feed whose clock runs a few minutes fast: the entry is dated at the ingest time, and
    # the source says the value was clamped.
    ahead = (NOW + dt.timedelta(minutes=5)).isoformat()
    assert resolve_date([(ahead, "feed")], text="Body", ingested_at=NOW) == (NOW, "feed_clamped", None)
    within_a_day = (NOW + dt.timedelta(hours=23)).isoformat()
    assert resolve_date([(within_a_day, "html")], ingested_at=NOW).source == "html_clamped"
    beyond = (NOW + dt.timedelta(hours=25)).isoformat()
    assert resolve_date([(beyond, "feed")], ingested_at=NOW) == (None, "feed_future", None)


def test_resolve_date_reports_the_offset_the_value_was_stated_in():
    resolved = resolve_date([("2024-02-27T09:12:00+01:00", "html")], ingested_at=NOW)
    assert resolved == (dt.datetime(2024, 2, 27, 8, 12, tzinfo=UTC), "html", 60)
    assert local_day(resolved.published, resolved.offset) == dt.date(2024, 2, 27)
    late = resolve_date([("2024-02-27T23:30:00-05:00", "html")], ingested_at=NOW)
    assert late.published.date() == dt.date(2024, 2, 28)  # the partition: the UTC day
    assert local_day(late.published, late.offset) == dt.date(2024, 2, 27)  # the publisher's day
    assert resolve_date([("2024-02-27", "html")], ingested_at=NOW).offset is None
    assert (
        stated_offset("2024-02-27T10:00:00Z") == 0 and stated_offset("Tue, 05 Sep 2017 22:30:00 EDT") == -240
    )


def test_a_utc_stamp_gives_way_to_the_page_s_own_day():
    # The markup says UTC, the URL and the byline print the publisher's day, one earlier.
    url = "https://example.com/2023/11/08/mayor-elected"
    resolved = resolve_date([("2023-11-09T03:28:35Z", "html")], url=url, ingested_at=NOW)
    assert resolved == (dt.datetime(2023, 11, 8, tzinfo=UTC), "url", None)
    resolved = resolve_date(
        [("2023-11-09T03:28:35Z", "html")], text="Mayor elected\nNovember 8, 2023", ingested_at=NOW
    )
    assert resolved.source == "text_header" and resolved.published.date() == dt.date(2023, 11, 8)
    # A stated non-UTC offset is the publisher's own: it stands.
    resolved = resolve_date([("2023-11-08T22:28:35-05:00", "html")], url=url, ingested_at=NOW)
    assert resolved.source == "html" and resolved.offset == -300


def test_htmldate_guess_comes_after_the_header_and_the_url():
    candidates = [("2015-01-01", "htmldate")]
    assert resolve_date(candidates, text="Headline\n3 March 2019", ingested_at=NOW).source == "text_header"
    assert resolve_date(candidates, url="https://a.example/2018/05/06/x", ingested_at=NOW).source == "url"
    assert resolve_date(candidates, text="Headline", ingested_at=NOW).source == "htmldate"


def test_htmldate_free_text_search_reads_dates_in_dateparser_s_40_most_used_languages():
    import itertools

    import lxml.html
    from dateparser.languages.loader import default_loader
    from htmldate.extractors import get_external_parser

    def page(date: str):
        return lxml.html.fromstring(
            f"<html><body><h1>Tytuł</h1><p>Treść artykułu bez daty.</p><span>{date}</span></body></html>"
        )

    # Only the free-text search (dateparser) reads these; the markup search finds nothing.
    assert htmldate_guess(page("12 marca 2021"), None) == "2021-03-12"  # Polish, 15th
    assert htmldate_guess(page("12 maaliskuuta 2021"), None) == "2021-03-12"  # Finnish, 28th
    first_40 = [locale.shortname for locale in itertools.islice(default_loader.get_locales(), 40)]
    assert get_external_parser().languages == first_40 == first_40[:DATEPARSER_LANGUAGES]


def test_resolve_date_rejects_epoch_garbage():
    assert resolve_date([("0001-01-01", "html")], text="Body", ingested_at=NOW) == (
        None,
        "html_unreadable",
        None,
    )


def test_zone_abbreviations_and_partial_dates():
    # A US zone name is an offset, not UTC: the partition day moves.
    assert parse_datetime("Tue, 05 Sep 2017 22:30:00 EDT") == dt.datetime(2017, 9, 6, 2, 30, tzinfo=UTC)
    assert header_date("Headline\nSeptember 5, 2017 10:30 PM EDT\nBody") == dt.datetime(
        2017, 9, 6, 2, 30, tzinfo=UTC
    )
    # A year or a month names no day: no date rather than today's day filled in.
    for partial in ("2017", "2017-09", "Sept 2017"):
        assert parse_datetime(partial) is None, partial


def test_byline_dates_in_several_formats_and_languages():
    expected = dt.datetime(2023, 12, 21, tzinfo=UTC)
    for line in (
        "December 21, 2023",
        "By Jane Doe | Dec. 21, 2023",
        "21.12.2023",
        "Stand: 21.12.2023",
        "21. Dezember 2023",
        "le 21 décembre 2023",
        "21 de diciembre de 2023",
        "21 dicembre 2023",
        "Thursday 21st December 2023",
    ):
        assert header_date(f"Headline\n{line}\nBody text") == expected, line
    # Dots are day first: 10.12.2022 is the 10th of December, not October 12.
    assert header_date("Headline\n10.12.2022, 07:00\nBody") == dt.datetime(2022, 12, 10, 7, 0, tzinfo=UTC)
    assert parse_datetime("10.12.2022, 07:00:03") == dt.datetime(2022, 12, 10, 7, 0, 3, tzinfo=UTC)


def test_a_dateline_opening_the_first_paragraph_dates_the_text():
    # The date opens a line and is set off from what follows: a dateline, even on a long line.
    expected = dt.datetime(2023, 10, 31, tzinfo=UTC)
    for line in (
        "31. Oktober 2023. Dragqueens sind Kunstfiguren aus Make-up und Glitter, auf Partys und in Shows.",
        "(31. Oktober 2023) Die Kolumne erscheint heute zum ersten Mal, und sie handelt von der Bühne.",
        "31.10.2023 - Bei der Erinnerung an die Verfolgten zeigte sich die Stadt von ihrer besten Seite.",
        "31. Oktober 2023 , Jane Doe",
    ):
        assert header_date(f"Headline\n{line}\nBody text") == expected, line
    # A date inside the sentence, a timeline entry after a colon, a range glued to the date: no dateline.
    for line in (
        "Am 31. Oktober 2023 zeigte sich die Stadt von ihrer besten Seite, schreibt unsere Reporterin.",
        "8 August 2009: the first proper blog post, everything before it was just fooling around a bit.",
        "2023/10/31-11/02: Festival winners of the season, with every result of the three days of racing.",
    ):
        assert header_date(f"Headline\n{line}\nBody text") is None, line


def test_url_dates_with_month_names_and_compact_forms():
    day = dt.datetime(2023, 12, 21, tzinfo=UTC)
    assert url_date("https://www.theguardian.com/world/2023/dec/21/story") == day
    assert url_date("https://example.com/news/20231221/story") == day
    assert url_date("https://example.com/2023_12_21_story.html") == day
    # YYMMDD is often an article id: only as the last resort, never among the full dates.
    assert url_date("https://example.com/news/story-231221.html") is None
    assert url_date("https://example.com/news/story-231221.html", short_years=True) == day
    assert url_date("https://example.com/news/story-b671230.html", short_years=True) is None
    assert resolve_date([], url="https://example.com/news/story-231221.html", ingested_at=NOW).source == "url"


PAGE = """<html><head>
<meta property="article:modified_time" content="2024-03-05T10:00:00+00:00">
{extra}
</head><body><article><h1>Harbour bridge reopens</h1>
<p>The harbour bridge reopened to traffic on Friday morning after eight months of repairs.</p>
{body}
</article></body></html>"""


def _page_dates(extra: str = "", body: str = "", url: str | None = None):
    tree = trafilatura.load_html(PAGE.format(extra=extra, body=body))
    page = extract_article(PAGE.format(extra=extra, body=body), url)
    meta = {}
    for element in tree.iter("meta"):
        name = element.get("property") or element.get("name") or element.get("itemprop")
        meta.setdefault(name.lower(), []).append(element.get("content"))
    return page_dates(tree, meta, [], url), page


def test_each_page_date_source_in_its_order():
    json_ld = (
        '<script type="application/ld+json">{"@type": "NewsArticle",'
        ' "datePublished": "2024-03-01T07:45:00+01:00",'
        ' "dateModified": "2024-03-04T08:00:00+01:00"}</script>'
    )
    meta = '<meta property="article:published_time" content="2024-03-02T07:45:00+00:00">'
    itemprop = '<p>Published <time itemprop="datePublished" datetime="2024-03-03">3 March</time></p>'
    page = extract_article(PAGE.format(extra=json_ld + meta, body=itemprop), None)
    assert [value for value, _ in page.date_candidates] == [
        "2024-03-01T07:45:00+01:00",  # JSON-LD datePublished of the article
        "2024-03-02T07:45:00+00:00",  # article:published_time
        "2024-03-03",  # itemprop=datePublished
    ]
    assert {source for _, source in page.date_candidates} == {"html"}
    assert page.published == "2024-03-01T07:45:00+01:00"
    assert page.modified == "2024-03-04T08:00:00+01:00"  # the JSON-LD's, before the meta's
    # Without the markup: htmldate's guess over the page (here from the visible date).
    footer = "</article><footer><span class='published'>28/02/2024</span></footer><article>"
    guessed = extract_article(PAGE.format(extra="", body=footer), None)
    assert guessed.date_candidates == (("2024-02-28", "htmldate"),)


def test_a_lone_year_is_no_publication_day():
    # htmldate reads a copyright line's year, or an archive link's, as January 1st of it: a day
    # nobody stated. The page stays undated rather than filed under that day.
    for footer in ("<p>Copyright 2019 Harbour Times</p>", '<p><a href="/archive/2019">Archive 2019</a></p>'):
        page = extract_article(
            PAGE.format(extra="", body=f"</article><footer>{footer}</footer><article>"), None
        )
        assert page.date_candidates == (), footer
        assert resolve_date(page.date_candidates, text=page.text, ingested_at=NOW).published is None
    # A day the page does print is still htmldate's guess, the first of January included.
    footer = "</article><footer><span class='published'>01/01/2024</span></footer><article>"
    assert extract_article(PAGE.format(extra="", body=footer), None).date_candidates == (
        ("2024-01-01", "htmldate"),
    )


def test_states_day_finds_the_day_in_the_forms_a_page_prints():
    day = dt.date(2024, 1, 1)
    for printed in ("1 January 2024", "Jan. 1st, 2024", "1. Januar 2024", "01.01.2024", "1/1/2024"):
        assert states_day(f"<p>Posted {printed} by staff</p>", day), printed
    # The day as printed: a time zone does not move it to the day before.
    assert states_day('<time datetime="2024-01-01T00:30:00+05:00">', day)
    for other in ("(c) 2024 Harbour Times", "1 February 2024", "2024-11-01", "11/1/2024"):
        assert not states_day(f"<p>{other}</p>", day), other


def test_json_ld_wrapped_in_cdata_or_a_comment_is_read():
    # XHTML-era CMSes wrap the script's JSON in CDATA (or a comment); its date still comes first.
    meta = '<meta property="article:published_time" content="2024-03-09T07:45:00+00:00">'
    for start, end in (("<![CDATA[", "]]>"), ("//<![CDATA[", "//]]>"), ("<!--", "-->")):
        json_ld = (
            f'<script type="application/ld+json">{start}{{"@type": "NewsArticle",'
            f' "datePublished": "2024-03-01T07:45:00+01:00"}}{end}</script>'
        )
        page = extract_article(PAGE.format(extra=json_ld + meta, body=""), None)
        assert page.published == "2024-03-01T07:45:00+01:00", (start, page.date_candidates)


def test_a_modified_date_never_wins():
    # The page states only when it was last changed: that is no publication date, and
    # htmldate is not shown it either.
    dates, page = _page_dates(extra='<meta name="last-modified" content="2024-03-06">')
    assert dates.published == () and dates.modified == "2024-03-05T10:00:00+00:00"
    assert page.published is None and page.modified == "2024-03-05T10:00:00+00:00"
    resolved = resolve_date(page.date_candidates, text=page.text, ingested_at=NOW)
    assert resolved.published is None
    # With a byline, the byline dates it; the later modified date still does not.
    dates, page = _page_dates(body="<p>By Jane Doe, 1 March 2024</p>")
    resolved = resolve_date(page.date_candidates, text=page.text, ingested_at=NOW)
    assert resolved.published == dt.datetime(2024, 3, 1, tzinfo=UTC)


def test_a_time_element_marked_as_the_publication_dates_the_page():
    marked = '<p class="byline">By Jane Doe <time class="entry-date published"'
    marked += ' datetime="2024-02-28T08:00:00+01:00">28 Feb</time>'
    marked += " <time class='updated' datetime='2024-03-04'>4 Mar</time></p>"
    dates, _ = _page_dates(body=marked)
    assert dates.published == (("2024-02-28T08:00:00+01:00", "html"),)
    # An unmarked <time> (it may be a related story's, a comment's) is no statement of this
    # article's date beside a URL's day (nor a byline's), nor is one marked as an update.
    url = "https://example.com/2024/02/27/story"
    dates, _ = _page_dates(body="<p><time datetime='2024-01-01'>1 Jan</time></p>", url=url)
    assert dates.published == ()
    dates, _ = _page_dates(body="<p><time class='updated' pubdate datetime='2024-03-04'>4 Mar</time></p>")
    assert all(source == "htmldate" for _, source in dates.published)


def test_the_first_time_element_comes_in_htmldate_s_place():
    # A page that states no date otherwise: its first ISO <time datetime> (the article's; the
    # related stories' come after it) is taken where htmldate would guess, and htmldate is not run.
    times = "<p><time datetime='2022-12-12 12:22'>Monday, 12:22</time></p>"
    times += "<aside><time datetime='2022-08-10 11:05'>Aug 10</time></aside>"
    dates, _ = _page_dates(body=times)
    assert dates.published == (("2022-12-12 12:22", "html"),)
    # A day-first value is ambiguous ("01-11-2023"): left to htmldate.
    dates, _ = _page_dates(body="<p><time datetime='01-11-2023 10:29'>1 Nov</time></p>")
    assert all(source == "htmldate" for _, source in dates.published)


def test_a_utc_value_takes_the_offset_the_page_restates_it_in():
    # The metas say UTC; the byline's <time> gives the same instant in the publisher's offset,
    # whose day is the previous one (even when its class says "updated").
    utc = '<meta property="article:published_time" content="2023-11-09T06:35:29+00:00">'
    byline = "<p>By Jane Doe, <time class='entry-date updated' datetime='2023-11-08T22:35:29-08:00'>"
    byline += "Nov 8, 2023 10:35 PM PST</time></p>"
    dates, _ = _page_dates(extra=utc, body=byline)
    assert dates.published[0] == ("2023-11-08T22:35:29-08:00", "html")
    resolved = resolve_date(dates.published, ingested_at=NOW)
    assert resolved.published == dt.datetime(2023, 11, 9, 6, 35, 29, tzinfo=UTC)  # the partition: UTC
    assert local_day(resolved.published, resolved.offset) == dt.date(2023, 11, 8)
    # Another candidate restating it ("date" meta in RFC 2822 form) does the same.
    metas = utc + '<meta name="date" content="Thu, 09 Nov 2023 07:35:29 +0100">'
    dates, _ = _page_dates(extra=metas)
    assert dates.published[0] == ("2023-11-09T07:35:29+01:00", "html")
    # A <time> at another instant (a related story's) restates nothing.
    other = "<p><time datetime='2023-11-08T21:05:30-08:00'>6 hours ago</time></p>"
    dates, _ = _page_dates(extra=utc, body=other)
    assert dates.published[0] == ("2023-11-09T06:35:29+00:00", "html")


BYLINE_PAGE = """<html><head><title>Urlaub verjährt</title></head><body>
<header><h1>Verjährung von Urlaubsansprüchen</h1>
<div class="meta"><span>Von</span> <a href="/autor/jd">Jane Doe</a>
<script>var views = "12.03.2021";</script>
<div class="field post-date">20.12.2022</div></div></header>
<article><p>Der gesetzliche Anspruch eines Arbeitnehmers auf bezahlten Jahresurlaub unterliegt der
gesetzlichen Verjährung, urteilte das Bundesarbeitsgericht am Dienstag in Erfurt.</p>
<p>Die dreijährige Frist beginnt erst, wenn der Arbeitgeber über den Anspruch belehrt hat.</p></article>
<aside><p>Ältere Meldung</p><p>01.02.2019</p></aside>
</body></html>"""


def test_the_byline_under_the_headline_dates_a_page_without_markup():
    # Extraction drops the byline; the date printed under the <h1> still dates the page, before
    # the URL and htmldate's guess (not run), and not from a script's string.
    url = "https://example.com/news/2019/01/02/verjaehrung"
    page = extract_article(BYLINE_PAGE, url)
    assert page.date_candidates == (("2022-12-20T00:00:00", "text_header"),)
    resolved = resolve_date(page.date_candidates, text=page.text, url=url, ingested_at=NOW)
    assert resolved == (dt.datetime(2022, 12, 20, tzinfo=UTC), "text_header", None)
    # The page's markup still comes first.
    marked = BYLINE_PAGE.replace(
        "</title>", '</title><meta property="article:published_time" content="2022-12-19">'
    )
    assert extract_article(marked, None).date_candidates == (("2022-12-19", "html"),)


LOGO_PAGE = """<html><head><title>Cold wave alert issued for Tuesday | KBS WORLD</title></head><body>
<header><h1><a href="/">KBS WORLD</a></h1><nav><a href="/a">Search</a> <a href="/b">Korean</a>
<a href="/c">English</a> <a href="/d">Politics</a> <a href="/e">Economy</a> <a href="/f">Society</a>
<a href="/g">Culture</a></nav></header>
<div class="title"><h1>Cold wave alert issued for Tuesday</h1>
<p class="date">Written: 2023-11-07 15:03:30<span> / </span>Updated: 2023-11-07 15:30:46</p></div>
<article><p>Strong, cold winds brought early winter temperatures on Tuesday morning, and the first
cold wave alerts of the season were issued in anticipation of frigid morning lows.</p>
<p>Wednesday is forecast to be even colder, the weather agency said.</p></article>
</body></html>"""


def test_the_headline_is_the_h1_the_title_names_not_the_logo():
    # A site's logo is the first <h1>; the byline is under the <h1> that the <title> holds.
    page = extract_article(LOGO_PAGE, None)
    assert page.date_candidates == (("2023-11-07T15:03:30", "text_header"),)
    # Without a title that names it, the first <h1> is read, as before: here it dates nothing.
    untitled = LOGO_PAGE.replace("Cold wave alert issued for Tuesday | KBS WORLD", "KBS")
    assert all(source == "htmldate" for _, source in extract_article(untitled, None).date_candidates)


def test_json_ld_articles_in_other_shapes_are_read():
    # The article's own datePublished, nested as a WebPage's mainEntity, typed by its full
    # schema.org URL, or given as a list or a value object: read as the article's.
    shapes = (
        '{"@type": "WebPage", "datePublished": "2019-01-01", "mainEntity": {"@type": "NewsArticle",'
        ' "datePublished": "2024-04-26T20:44:00+0200"}}',
        '{"@type": "https://schema.org/NewsArticle", "datePublished": "2024-04-26T20:44:00+0200"}',
        '{"@type": "NewsArticle", "datePublished": ["2024-04-26T20:44:00+0200", "2024-04-27"]}',
        '{"@type": "NewsArticle", "datePublished": {"@value": "2024-04-26T20:44:00+0200"}}',
    )
    for shape in shapes:
        page = extract_article(
            PAGE.format(extra=f'<script type="application/ld+json">{shape}</script>', body="")
        )
        assert page.date_candidates[:1] == (("2024-04-26T20:44:00+0200", "html"),), shape
    # A WebPage's own datePublished is not the article's markup (htmldate may still guess it).
    shape = '{"@type": "WebPage", "datePublished": "2019-01-01"}'
    page = extract_article(PAGE.format(extra=f'<script type="application/ld+json">{shape}</script>', body=""))
    assert all(source != "html" for _, source in page.date_candidates)


def test_a_value_without_a_utc_time_is_no_date():
    # dateutil reads "+9999" as an offset of 99 hours; the calendar's edges have no UTC time.
    # Each used to raise out of the enrich stage and abort the run.
    for value in (
        "Tue, 05 Sep 2017 10:00:00 +9999",
        "0001-01-01T00:00:00+05:00",
        "9999-12-31T23:00:00-05:00",
    ):
        assert parse_datetime(value) is None
        resolved = resolve_date(
            [(value, "metadata")],
            text="",
            url=None,
            ingested_at=dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc),
        )
        assert resolved.published is None


def test_a_page_whose_date_has_no_utc_time_keeps_its_article():
    # The same value in a page's metadata made the whole page an extraction_error reject.
    body = "".join(
        f"<p>{s}</p>"
        for s in (
            "The harbour ferry timetable changes on Monday, the port authority said on Tuesday.",
            "Boats to the islands will leave every forty minutes instead of every hour in summer.",
            "Residents had asked for more crossings since the bridge closed for repairs last year.",
        )
    )
    meta = "<meta property='article:published_time' content='Tue, 05 Sep 2017 10:00:00 +9999'>"
    html = f"<html><head><title>Ferries</title>{meta}</head><body><article>{body}</article></body></html>"
    page = extract_article(html, "https://example.com/ferries")
    assert page is not None and "forty minutes" in page.text
    # The markup's value is no candidate; htmldate still reads the day printed in it.
    assert all("+9999" not in value for value, _ in page.date_candidates)
