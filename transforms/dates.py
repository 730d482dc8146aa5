"""Publication dates: from metadata, from a date line in the text's header, from the URL.

Pure functions; ``EnrichArticles`` (``transforms/enrich.py``) calls ``resolve_date``.
Sample: the header line ``"Tuesday, September 5, 2017"`` gives
``(datetime(2017, 9, 5, tzinfo=UTC), "text_header")``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable

from dateutil import parser as date_parser

UTC = dt.timezone.utc
# Nothing on the web is older than this; earlier values are parse errors (e.g. "0001-01-01").
EARLIEST = dt.datetime(1970, 1, 2, tzinfo=UTC)
# How many non-blank lines at the top of a text count as its header.
HEADER_LINES = 6
# A header line is a date line when the date is most of it (an article sentence that
# mentions a date is not), measured on characters.
MIN_DATE_SHARE = 0.6

_MONTHS = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
    r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
_WEEKDAYS = r"(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*\.?,?"
_TIME = r"(?:,?\s*(?:at\s+)?\d{1,2}[:.]\d{2}(?::\d{2})?\s*(?:[ap]\.?m\.?)?(?:\s*[A-Z]{2,4})?)?"
_DATE_PATTERNS = (
    # Tuesday, September 5, 2017 / Sep 5th 2017
    rf"(?:{_WEEKDAYS}\s+)?{_MONTHS}\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}}{_TIME}",
    # Tuesday 5 September 2017 / 5th Sept. 2017
    rf"(?:{_WEEKDAYS}\s+)?\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTHS},?\s+\d{{4}}{_TIME}",
    # 2017-09-05, 2017-09-05T10:00:00Z, 2017/09/05
    r"\d{4}[-/.]\d{1,2}[-/.]\d{1,2}(?:[T ]\d{1,2}:\d{2}(?::\d{2})?(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?)?",
)
_DATE_RE = re.compile("|".join(f"(?:{p})" for p in _DATE_PATTERNS), re.IGNORECASE)
# Words that may stand around a date on a date line.
_DATE_LINE_WORDS = re.compile(
    r"\b(?:published|posted|updated|last|modified|date|on|by|at|am|pm|gmt|utc|edt|est|bst|cet|"
    r"first|originally)\b[:|]?",
    re.IGNORECASE,
)
# Zone abbreviations news sites print after a time; dateutil knows only UTC/GMT by itself
# and would take "10:30 PM EDT" as UTC. Ambiguous ones (IST, CST in Asia) keep the
# meaning US and European sites give them.
_ZONES = {
    name: offset * 3600
    for name, offset in {
        "EST": -5,
        "EDT": -4,
        "CST": -6,
        "CDT": -5,
        "MST": -7,
        "MDT": -6,
        "PST": -8,
        "PDT": -7,
        "AKST": -9,
        "AKDT": -8,
        "HST": -10,
        "BST": 1,
        "CET": 1,
        "CEST": 2,
        "EET": 2,
        "EEST": 3,
        "WET": 0,
        "WEST": 1,
        "MSK": 3,
        "JST": 9,
        "KST": 9,
        "AEST": 10,
        "AEDT": 11,
        "NZST": 12,
        "NZDT": 13,
    }.items()
}
_DEFAULT_A = dt.datetime(2000, 1, 1)
_DEFAULT_B = dt.datetime(2001, 2, 2)
_URL_DATE_RE = re.compile(r"/((?:19|20)\d{2})[/-](0?[1-9]|1[0-2])[/-](0?[1-9]|[12]\d|3[01])(?:/|[-_]|$)")


def parse_datetime(value: str | None) -> dt.datetime | None:
    """A timezone-aware UTC datetime from a metadata string, or None if it does not parse.

    Naive values are taken as UTC: news metadata without an offset is usually UTC, and a
    day-only value is the day whatever the zone.
    """
    if not value or not isinstance(value, str):
        return None
    value = value.strip()
    if not value or len(value) > 100:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        try:
            parsed = date_parser.parse(value, fuzzy=False, tzinfos=_ZONES, default=_DEFAULT_A)
            # dateutil fills what a value lacks from its default: a value that parses
            # differently under another default ("2017", "Sept 2017") names no day.
            other = date_parser.parse(value, fuzzy=False, tzinfos=_ZONES, default=_DEFAULT_B)
        except (ValueError, OverflowError, TypeError):
            return None
        if parsed.date() != other.date():
            return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def header_date(text: str) -> dt.datetime | None:
    """The date stated on a line of the text's header, when that line is mostly a date."""
    seen = 0
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped:
            continue
        seen += 1
        if seen > HEADER_LINES:
            break
        if len(stripped) > 80:
            continue
        match = _DATE_RE.search(stripped)
        if not match:
            continue
        rest = _DATE_LINE_WORDS.sub("", stripped.replace(match.group(0), ""))
        rest = re.sub(r"[\W_]+", "", rest)
        if len(match.group(0)) < MIN_DATE_SHARE * (len(match.group(0)) + len(rest)):
            continue
        parsed = parse_datetime(match.group(0))
        if parsed is not None:
            return parsed
    return None


def url_date(url: str | None) -> dt.datetime | None:
    """The day in a URL path such as ``/2016/06/04/slug``."""
    if not url:
        return None
    match = _URL_DATE_RE.search(url)
    if not match:
        return None
    try:
        return dt.datetime(int(match.group(1)), int(match.group(2)), int(match.group(3)), tzinfo=UTC)
    except ValueError:
        return None


def resolve_date(
    candidates: Iterable[tuple[str | dt.datetime | None, str]],
    *,
    text: str = "",
    url: str | None = None,
    ingested_at: dt.datetime,
) -> tuple[dt.datetime | None, str | None]:
    """The publication date and where it came from, from the first source that has one.

    ``candidates`` are metadata values in order of trust, each with its source name
    (``("2017-09-05T10:00:00Z", "metadata")``). Then the text's header, then the URL.
    A date after ``ingested_at`` or before 1970 is never accepted.
    """

    def plausible(value: dt.datetime | None) -> bool:
        return value is not None and EARLIEST <= value <= ingested_at

    for value, source in candidates:
        if isinstance(value, dt.datetime):
            parsed = (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)
        else:
            parsed = parse_datetime(value)
        if plausible(parsed):
            return parsed, source
    parsed = header_date(text) if text else None
    if plausible(parsed):
        return parsed, "text_header"
    parsed = url_date(url)
    if plausible(parsed):
        return parsed, "url"
    return None, None
