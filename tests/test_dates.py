import datetime as dt

from tests.helpers import seed_text
from transforms.dates import header_date, parse_datetime, resolve_date, url_date

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
    assert resolve_date([("2018-01-01", "metadata")], text=text, url=url, ingested_at=NOW)[1] == "metadata"
    assert resolve_date([], text=text, url=url, ingested_at=NOW) == (
        dt.datetime(2017, 9, 5, tzinfo=UTC),
        "text_header",
    )
    assert resolve_date([], text="Headline", url=url, ingested_at=NOW)[1] == "url"
    assert resolve_date([], text="Headline", url=None, ingested_at=NOW) == (None, None)


def test_resolve_date_never_accepts_a_date_after_ingest():
    future = "2027-01-01T00:00:00Z"
    published, source = resolve_date([(future, "metadata")], text="Body", ingested_at=NOW)
    assert (published, source) == (None, None)
    published, source = resolve_date(
        [(future, "metadata"), ("2020-02-02", "html")], text="Body", ingested_at=NOW
    )
    assert (published, source) == (dt.datetime(2020, 2, 2, tzinfo=UTC), "html")


def test_resolve_date_rejects_epoch_garbage():
    assert resolve_date([("0001-01-01", "html")], text="Body", ingested_at=NOW) == (None, None)


def test_zone_abbreviations_and_partial_dates():
    # A US zone name is an offset, not UTC: the partition day moves.
    assert parse_datetime("Tue, 05 Sep 2017 22:30:00 EDT") == dt.datetime(2017, 9, 6, 2, 30, tzinfo=UTC)
    assert header_date("Headline\nSeptember 5, 2017 10:30 PM EDT\nBody") == dt.datetime(
        2017, 9, 6, 2, 30, tzinfo=UTC
    )
    # A year or a month names no day: no date rather than today's day filled in.
    for partial in ("2017", "2017-09", "Sept 2017"):
        assert parse_datetime(partial) is None, partial
