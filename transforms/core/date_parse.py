"""Dates in text: metadata values, a byline's date line, a URL's day. Pure Python, no Beam.

    parse_datetime("Tue, 05 Sep 2017 22:30:00 EDT") -> datetime(2017, 9, 6, 2, 30, tzinfo=UTC)
    stated_offset("2024-02-27T09:12:00+01:00") -> 60
    header_date("Headline\n21. Dezember 2023\nBody") -> datetime(2023, 12, 21, tzinfo=UTC)
    url_date("https://www.theguardian.com/world/2023/dec/21/story") -> datetime(2023, 12, 21, tzinfo=UTC)

Day-first dotted dates (21.12.2023), month names in the languages of most news pages, the zone
abbreviations news sites print after a time. A value that names no day ("2017", "Sept 2017")
is no date.
"""

from __future__ import annotations

import datetime as dt
import re

from dateutil import parser as date_parser

UTC = dt.timezone.utc
# How many non-blank lines at the top of a text count as its header.
HEADER_LINES = 6
# A header line is a date line when the date is most of it (an article sentence that
# mentions a date is not), measured on characters.
MIN_DATE_SHARE = 0.6
# Longer header lines are prose, not bylines.
MAX_DATE_LINE_CHARS = 80

# Month names in the languages of most news pages (English first; "mar" is March, "mär" März).
_MONTH_NAMES = {
    1: "jan january januar janvier enero gennaio janeiro januari ene gen",
    2: "feb february februar février fevrier febrero febbraio fevereiro februari fév fev",
    3: "mar march märz maerz mars marzo março maart mär mrz",
    4: "apr april avril abril aprile avr abr",
    5: "may mai mayo maggio maio mei mag",
    6: "jun june juni juin junio giugno junho giu",
    7: "jul july juli juillet julio luglio julho juil lug",
    8: "aug august août aout agosto augustus ago",
    9: "sep sept september septembre septiembre settembre setembro set",
    10: "oct october oktober octobre octubre ottobre outubro okt ott out",
    11: "nov november novembre noviembre novembro",
    12: "dec december dezember décembre decembre diciembre dicembre dezembro dez dic déc",
}
_MONTH_BY_NAME = {name: month for month, names in _MONTH_NAMES.items() for name in names.split()}
_MONTH_RE = "(?:" + "|".join(sorted(map(re.escape, _MONTH_BY_NAME), key=len, reverse=True)) + r")\.?"
_WEEKDAYS = (
    r"(?:mon|tue|wed|thu|fri|sat|sun|montag|dienstag|mittwoch|donnerstag|freitag|samstag|sonntag|"
    r"lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche|lunes|martes|miércoles|jueves|viernes|"
    r"sábado|domingo)[a-z]*\.?,?"
)
_TIME = (
    r"(?:,?\s*(?:at\s+|um\s+|à\s+|-\s+)?\d{1,2}[:.]\d{2}(?::\d{2})?\s*(?:[ap]\.?m\.?|uhr|h)?"
    r"(?:\s*[A-Z]{2,4})?)?"
)
# Each pattern names its day, month (number or name) and year; they are tried in turn.
_DAY = r"(?P<day>\d{1,2})(?:st|nd|rd|th|er|º|\.)?"
_YEAR = r"(?P<year>(?:19|20)\d{2})"
_MONTH_NAMED = rf"(?P<month>{_MONTH_RE})"
_DATE_RES = tuple(
    re.compile(pattern, re.IGNORECASE)
    for pattern in (
        # Tuesday, September 5, 2017 / Sep 5th 2017
        rf"(?:{_WEEKDAYS}\s+)?{_MONTH_NAMED}\s+{_DAY},?\s+{_YEAR}{_TIME}",
        # Tuesday 5 September 2017 / 5th Sept. 2017 / 21. Dezember 2023 / 21 de diciembre de 2023
        rf"(?:{_WEEKDAYS}\s+)?{_DAY}\s+(?:of\s+|de\s+)?{_MONTH_NAMED},?\s+(?:de\s+)?{_YEAR}{_TIME}",
        # 2017-09-05, 2017-09-05T10:00:00Z, 2017/09/05
        r"(?P<iso>\d{4}[-/.]\d{1,2}[-/.]\d{1,2}"
        r"(?:[T ]\d{1,2}:\d{2}(?::\d{2})?(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?)?)",
        # 21.12.2023 (day first wherever dots are used) / 21.12.2023, 10:30 / 21.12.2023 um 10:30 Uhr
        rf"(?:{_WEEKDAYS}\s+)?(?P<day>\d{{1,2}})\.(?P<dmonth>\d{{1,2}})\.{_YEAR}{_TIME}",
    )
)
# Every pattern of ``_DATE_RES`` holds a four-digit year: a line without four digits in a row
# holds no date, and one search tells (on the corpus and lines_train headers, 70 times
# cheaper than the four patterns, and 85 % of header lines lack one).
_FOUR_DIGITS = re.compile(r"\d{4}")
# ``states_day`` reads this much text around each of the first sightings of the year.
MAX_YEAR_SIGHTINGS = 200
YEAR_WINDOW_BEFORE = 60
YEAR_WINDOW_AFTER = 40
# Words that may stand around a date on a date line.
_DATE_LINE_WORDS = re.compile(
    r"\b(?:published|posted|updated|last|modified|date|on|by|at|am|pm|gmt|utc|edt|est|bst|cet|"
    r"first|originally|veröffentlicht|aktualisiert|stand|uhr|um|vom|publié|le|mis|à|jour|publicado|"
    r"el|actualizado|pubblicato|il|aggiornato)\b[:|]?",
    re.IGNORECASE,
)
# A dateline: a header line that opens with the date (or "(date)") and sets it off from what
# follows by a stop, a comma, a bar or a spaced dash ("31. Oktober 2023. Text...", "(21. November
# 2022) Text...", "27.1.2022 - Text", "1. Februar 2022, Jane Doe"). A colon is left out: "8 August
# 2009: the first post" opens a timeline entry (on dates_train, the one such line was not the
# page's date). A dash glued to the date is a range ("11-12") or an identifier, not a dateline.
_DATELINE_OPENING = ("", "(", "[")
_DATELINE_END_RE = re.compile(r"\s*[.,)\]|]|\s+[-–—]\s")
# A time after the date: hours, minutes, optional seconds, am/pm and a zone name.
_TIME_RE = re.compile(
    r"(?P<h>\d{1,2})[:.](?P<m>\d{2})(?::(?P<s>\d{2}))?\s*(?P<ampm>[ap])?\.?m?\.?\s*(?:uhr|h)?\s*(?P<zone>[A-Z]{2,4})?\s*$",
    re.IGNORECASE,
)
# Zone abbreviations news sites print after a time; dateutil knows only UTC/GMT by itself
# and would take "10:30 PM EDT" as UTC. Ambiguous ones (IST, CST in Asia) keep the
# meaning US and European sites give them.
_ZONES = {
    name: offset * 3600
    for name, offset in {
        "UTC": 0,
        "GMT": 0,
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
        "MEZ": 1,
        "MESZ": 2,
        "EET": 2,
        "EEST": 3,
        "WET": 0,
        "WEST": 1,
        "MSK": 3,
        "IST": 5.5,
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
# A day-first dotted date, alone or with a time: "10.12.2022", "10.12.2022, 07:00:03".
_DOTTED_RE = re.compile(r"^\s*(\d{1,2})\.(\d{1,2})\.((?:19|20)\d{2})\b(.*)$")
_OFFSET_RE = re.compile(
    r"(?:[T ]\d{1,2}:\d{2}(?::\d{2})?(?:[.,]\d+)?)\s*(Z|[+-]\d{2}(?::?\d{2})?)\s*$", re.IGNORECASE
)

# Days in URL paths, trusted in this order. Full years only, except the last resort.
_URL_DATE_RES = (
    # /2016/06/04/slug, /2016-06-04-slug, /2016_06_04
    re.compile(r"\D((?:19|20)\d{2})[/_-](0?[1-9]|1[0-2])[/_-](0?[1-9]|[12]\d|3[01])(?:\D|$)"),
    # /2023/dec/21/slug (The Guardian and others)
    re.compile(r"/((?:19|20)\d{2})/(" + _MONTH_RE + r")/(0?[1-9]|[12]\d|3[01])(?:/|$)", re.IGNORECASE),
    # /news/20200413/slug, -20231221.html
    re.compile(r"(?<![0-9])((?:19|20)\d{2})(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])(?![0-9])"),
)
# YYMMDD as its own path token (/231221/, -231221.html): often an article id instead, so it
# is the last source of all (on dates_train it was right in 3 of 9 URLs that hold one).
_URL_SHORT_DATE_RE = re.compile(r"[/_.-](\d{2})(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])(?=[/_.-]|$)")


def utc_from_iso(value: object) -> dt.datetime | None:
    """A strict ISO 8601 / RFC 3339 timestamp (``2026-11-20``, ``2026-11-20T07:30:00+01:00``,
    ``…Z``) in UTC, a naive one taken as UTC; None when it is not one, or names no instant in UTC
    ("9999-12-31T23:00:00-05:00"). For values a machine wrote: feed, sitemap and WARC dates, a
    record's ``fetched_at``. ``parse_datetime`` reads the looser forms of page metadata."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        when = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    if when.tzinfo is None:
        return when.replace(tzinfo=UTC)
    try:
        return when.astimezone(UTC)
    except OverflowError:
        return None


def parse_datetime(value: str | None) -> dt.datetime | None:
    """A timezone-aware UTC datetime from a metadata string, or None if it does not parse.

    Naive values are taken as UTC: news metadata without an offset is usually UTC, and a
    day-only value is the day whatever the zone.
    """
    parsed = _parse(value)
    return parsed.astimezone(UTC) if parsed is not None else None


def stated_offset(value: str | dt.datetime | None) -> int | None:
    """The UTC offset in minutes a value states ("+01:00" -> 60, "Z" -> 0), None when it states none."""
    if isinstance(value, dt.datetime):
        delta = value.utcoffset()
        return None if delta is None else int(delta.total_seconds() // 60)
    if not isinstance(value, str):
        return None
    parsed = _parse(value, keep_naive=True)
    if parsed is None or parsed.tzinfo is None:
        return None
    delta = parsed.utcoffset()
    return None if delta is None else int(delta.total_seconds() // 60)


def _parse(value: str | None, *, keep_naive: bool = False) -> dt.datetime | None:
    if not value or not isinstance(value, str):
        return None
    value = value.strip()
    if not value or len(value) > 100:
        return None
    dotted = _DOTTED_RE.match(value)
    if dotted:
        # Dots mean day first everywhere (21.12.2023); dateutil would read 10.12.2022 as October.
        day, month, year, rest = dotted.groups()
        value = f"{year}-{int(month):02d}-{int(day):02d}{' ' + rest.strip(' ,') if rest.strip(' ,') else ''}"
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
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
    if parsed.tzinfo is None and not keep_naive:
        parsed = parsed.replace(tzinfo=UTC)
    if parsed.tzinfo is not None:
        try:
            # An offset of a day or more ("+9999") is no zone; a value at the calendar's edge
            # ("0001-01-01T00:00:00+05:00") has no UTC time: neither is a date.
            parsed.astimezone(UTC)
        except (ValueError, OverflowError):
            return None
    return parsed


def _match_datetime(match: re.Match) -> dt.datetime | None:
    """The datetime a match of ``_DATE_RES`` names, with its time and zone when it gives them."""
    if match.groupdict().get("iso"):
        return parse_datetime(match.group("iso"))
    day = _printed_day(match)
    if day is None:
        return None
    parsed = dt.datetime(day.year, day.month, day.day, tzinfo=UTC)
    time = _TIME_RE.search(match.group(0))
    if time and time.start() > 0:
        hour, minute = int(time.group("h")), int(time.group("m"))
        if time.group("ampm"):
            hour = hour % 12 + (12 if time.group("ampm").lower() == "p" else 0)
        zone = (time.group("zone") or "").upper()
        if hour < 24 and minute < 60:
            parsed = parsed.replace(hour=hour, minute=minute) - dt.timedelta(seconds=_ZONES.get(zone, 0))
    return parsed


def header_date(text: str) -> dt.datetime | None:
    """The date stated on a line of the text's header (a byline): a line that is mostly a date,
    or a dateline that opens with one."""
    seen = 0
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped:
            continue
        seen += 1
        if seen > HEADER_LINES:
            break
        # A longer line is prose; only a dateline at its start (within the first characters) counts.
        prose = len(stripped) > MAX_DATE_LINE_CHARS
        head = stripped[:MAX_DATE_LINE_CHARS]
        if not _FOUR_DIGITS.search(head):
            continue
        found = [m for m in (pattern.search(head) for pattern in _DATE_RES) if m]
        if not found:
            continue
        match = min(found, key=lambda m: m.start())
        if not (head[: match.start()] in _DATELINE_OPENING and _DATELINE_END_RE.match(stripped, match.end())):
            if prose:
                continue
            rest = _DATE_LINE_WORDS.sub("", head.replace(match.group(0), ""))
            rest = re.sub(r"[\W_]+", "", rest)
            if len(match.group(0)) < MIN_DATE_SHARE * (len(match.group(0)) + len(rest)):
                continue
        parsed = _match_datetime(match)
        if parsed is not None:
            return parsed
    return None


def states_day(text: str, day: dt.date) -> bool:
    """Whether ``text`` prints ``day`` somewhere, in a form ``header_date`` reads or with slashes
    (01/01/2024: ambiguous in general, not about the day asked). Only the text around the first
    ``MAX_YEAR_SIGHTINGS`` occurrences of the year is read."""
    year = str(day.year)
    slashed = re.compile(rf"\b0?{day.day}/0?{day.month}/{year}\b|\b0?{day.month}/0?{day.day}/{year}\b")
    start, seen = text.find(year), 0
    while start >= 0 and seen < MAX_YEAR_SIGHTINGS:
        window = text[max(0, start - YEAR_WINDOW_BEFORE) : start + YEAR_WINDOW_AFTER]
        if slashed.search(window):
            return True
        for pattern in _DATE_RES:
            if any(_printed_day(match) == day for match in pattern.finditer(window)):
                return True
        start, seen = text.find(year, start + len(year)), seen + 1
    return False


def _printed_day(match: re.Match) -> dt.date | None:
    """The day a match of ``_DATE_RES`` prints, before any time and zone move it."""
    groups = match.groupdict()
    try:
        if groups.get("iso"):
            year, month, day = map(int, re.findall(r"\d+", groups["iso"])[:3])
        else:
            year, day = int(groups["year"]), int(groups["day"])
            month = (
                int(groups["dmonth"])
                if groups.get("dmonth")
                else _MONTH_BY_NAME[groups["month"].rstrip(".").casefold()]
            )
        return dt.date(year, month, day)
    except (KeyError, TypeError, ValueError):
        return None


def url_date(url: str | None, *, short_years: bool = False) -> dt.datetime | None:
    """The day in a URL path: ``/2016/06/04/slug``, ``/2023/dec/21/``, ``20231221``.

    With ``short_years``, also a ``YYMMDD`` path token (``-231221.html``), read as 20YY.
    """
    if not url:
        return None
    path = url.split("://", 1)[-1]
    slash = path.find("/")
    path = path[slash:] if slash >= 0 else ""
    for pattern in _URL_DATE_RES:
        match = pattern.search(path)
        if match:
            year, month, day = match.groups()
            month = _MONTH_BY_NAME.get(month.rstrip(".").casefold()) if not month.isdigit() else int(month)
            try:
                return dt.datetime(int(year), int(month or 0), int(day), tzinfo=UTC)
            except ValueError:
                continue
    if short_years:
        match = _URL_SHORT_DATE_RE.search(path)
        if match:
            year, month, day = (int(g) for g in match.groups())
            try:
                return dt.datetime(2000 + year, month, day, tzinfo=UTC)
            except ValueError:
                return None
    return None
