"""Publication dates: from a page's markup, a date line in the text's header, the URL, htmldate.

Pure functions, no Beam. ``transforms/extract.py`` calls ``page_dates`` on a parsed page;
``EnrichArticles`` (``transforms/enrich.py``) calls ``resolve_date`` with every candidate an
article carries. Samples:

    page_dates(tree, meta, ld_objects, url)
    -> PageDates(published=(("2024-02-27T09:12:00+01:00", "html"),), modified="2024-02-28T08:00:00+01:00")
    resolve_date([("2024-02-27T09:12:00+01:00", "html")], text="...", url=None, ingested_at=now)
    -> ResolvedDate(published=datetime(2024, 2, 27, 8, 12, tzinfo=UTC), source="html", offset=60)

The order of trust, first that gives a plausible date wins:

1. ``feed`` (the entry's date) and ``metadata`` (a JSONL record's own field), as the source gave them;
2. ``html``: the page's own statement of its publication: JSON-LD ``datePublished`` of the
   article, ``article:published_time`` and the other publication metas, ``itemprop=datePublished``;
3. ``text_header``: a date line at the top of the text, i.e. the printed byline
   ("December 21, 2023", "21.12.2023", "21. Dezember 2023");
4. ``url``: a day in the URL (``/2023/12/21/``, ``/2023/dec/21/``, ``20231221``; ``231221`` last);
5. ``htmldate``: htmldate's guess over the whole page (``original_date=True``), for pages that state
   none of the above.

A modified date never wins: ``dateModified``, ``article:modified_time``, ``Last-Modified`` and the
like are reported as ``modified`` and hidden from htmldate, and the crawl time is never a
candidate. A date at most ``MAX_CLOCK_SKEW`` after the ingest time is clock skew: it is clamped to
the ingest time and its source gets a ``_clamped`` suffix (``feed_clamped``); a date further in
the future, or before 1970, is dropped.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from typing import Any, NamedTuple

from dateutil import parser as date_parser

UTC = dt.timezone.utc
# Nothing on the web is older than this; earlier values are parse errors (e.g. "0001-01-01").
EARLIEST = dt.datetime(1970, 1, 2, tzinfo=UTC)
# A date this far after the ingest time is a clock set wrong at the publisher (or here), not a
# post-dated article: it is kept as the ingest time. Time zones alone span 26 hours.
MAX_CLOCK_SKEW = dt.timedelta(days=1)
CLAMPED_SUFFIX = "_clamped"
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
# Words that may stand around a date on a date line.
_DATE_LINE_WORDS = re.compile(
    r"\b(?:published|posted|updated|last|modified|date|on|by|at|am|pm|gmt|utc|edt|est|bst|cet|"
    r"first|originally|veröffentlicht|aktualisiert|stand|uhr|um|vom|publié|le|mis|à|jour|publicado|"
    r"el|actualizado|pubblicato|il|aggiornato)\b[:|]?",
    re.IGNORECASE,
)
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

# Page markup that states the publication (``meta`` name/property/itemprop, lower-case), in
# order of trust; htmldate's list of publication metas, without its loose ones ("meta",
# "timestamp", "created") that name the page rather than the article.
PUBLISHED_METAS = (
    "article:published_time",
    "og:published_time",
    "og:article:published_time",
    "datepublished",
    "article:published",
    "article.published",
    "article:post_date",
    "publishdate",
    "publish_date",
    "publish-date",
    "published_time",
    "published_date",
    "published-date",
    "publication_date",
    "date_published",
    "pubdate",
    "parsely-pub-date",
    "sailthru.date",
    "dc.date.issued",
    "dcterms.issued",
    "dc.date.created",
    "dcterms.created",
    "dc.date",
    "dcterms.date",
    "citation_publication_date",
    "citation_date",
    "date",
    "displaydate",
    "originalpublicationdate",
)
# Markup that states a later revision: reported as ``modified``, never a publication date.
MODIFIED_METAS = (
    "article:modified_time",
    "og:updated_time",
    "og:modified_time",
    "og:article:modified_time",
    "datemodified",
    "article:modified",
    "modified_time",
    "updated_time",
    "dcterms.modified",
    "dc.modified",
    "last-modified",
    "lastmod",
    "lastmodified",
    "modified",
    "dateupdate",
)
_MODIFIED_SET = frozenset(MODIFIED_METAS) | {
    "article:modified_date",
    "modificationdate",
    "revision_date",
    "utime",
}
# schema.org types whose datePublished is the article's (not a page's, a video's or the site's).
ARTICLE_TYPES = frozenset(
    (
        "Article",
        "NewsArticle",
        "ReportageNewsArticle",
        "AnalysisNewsArticle",
        "OpinionNewsArticle",
        "BackgroundNewsArticle",
        "ReviewNewsArticle",
        "BlogPosting",
        "LiveBlogPosting",
        "Report",
        "ScholarlyArticle",
        "TechArticle",
        "SocialMediaPosting",
    )
)


# Sources whose values arrive normalised to UTC: the offset they were stated in is unknown.
_NORMALISED_SOURCES = frozenset(("feed",))


class PageDates(NamedTuple):
    """What a page states: its publication candidates (value, date_source) and its last revision."""

    published: tuple[tuple[str, str], ...]
    modified: str | None


class ResolvedDate(NamedTuple):
    """The chosen publication instant (UTC), its source, and the UTC offset in minutes it was stated in."""

    published: dt.datetime | None
    source: str | None
    offset: int | None


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
    return parsed


def _match_datetime(match: re.Match) -> dt.datetime | None:
    """The datetime a match of ``_DATE_RES`` names, with its time and zone when it gives them."""
    groups = match.groupdict()
    if groups.get("iso"):
        return parse_datetime(groups["iso"])
    try:
        year = int(groups["year"])
        if groups.get("dmonth"):
            month, day = int(groups["dmonth"]), int(groups["day"])
        else:
            month, day = _MONTH_BY_NAME[groups["month"].rstrip(".").casefold()], int(groups["day"])
        parsed = dt.datetime(year, month, day, tzinfo=UTC)
    except (KeyError, TypeError, ValueError):
        return None
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
    """The date stated on a line of the text's header (a byline), when that line is mostly a date."""
    seen = 0
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped:
            continue
        seen += 1
        if seen > HEADER_LINES:
            break
        if len(stripped) > MAX_DATE_LINE_CHARS:
            continue
        found = [m for m in (pattern.search(stripped) for pattern in _DATE_RES) if m]
        if not found:
            continue
        match = min(found, key=lambda m: m.start())
        rest = _DATE_LINE_WORDS.sub("", stripped.replace(match.group(0), ""))
        rest = re.sub(r"[\W_]+", "", rest)
        if len(match.group(0)) < MIN_DATE_SHARE * (len(match.group(0)) + len(rest)):
            continue
        parsed = _match_datetime(match)
        if parsed is not None:
            return parsed
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


def page_dates(
    tree: Any,
    meta: dict[str, list[str]],
    ld_objects: list[dict[str, Any]],
    url: str | None,
    *,
    text: str = "",
    guess: bool = True,
) -> PageDates:
    """The publication candidates a parsed page states, most trusted first, and its modified date.

    ``meta`` maps lower-case meta names (name, property, itemprop, http-equiv) to their values
    and ``ld_objects`` are the page's JSON-LD objects, as ``transforms.extract`` collects them.
    htmldate's guess is computed only when the page states no date and neither the header of
    ``text`` nor the URL gives one (it costs more than the rest together): then it is the one
    candidate, as ``htmldate``.
    """
    published: list[tuple[str, str]] = []
    modified: list[str] = []
    for obj in ld_objects:
        kinds = _ld_types(obj)
        is_article = bool(kinds & ARTICLE_TYPES)
        for key, target in (("datePublished", published), ("dateModified", modified)):
            value = obj.get(key)
            if isinstance(value, str) and value.strip() and (is_article or target is modified):
                if target is published:
                    target.append((value.strip(), "html"))
                else:
                    target.append(value.strip())
    for name in PUBLISHED_METAS:
        published.extend((value, "html") for value in meta.get(name, ()))
    for name in MODIFIED_METAS:
        modified.extend(meta.get(name, ()))
    if tree is not None:
        for element in tree.iterfind(".//*[@itemprop]"):
            prop = (element.get("itemprop") or "").strip().lower()
            if prop not in ("datepublished", "datemodified") or element.tag == "meta":
                continue  # metas are in ``meta`` already
            value = element.get("datetime") or element.get("content") or element.text_content()
            if value and value.strip():
                if prop == "datepublished":
                    published.append((value.strip()[:100], "html"))
                else:
                    modified.append(value.strip()[:100])
    published = [(value, source) for value, source in published if parse_datetime(value) is not None]
    modified_value = next((value for value in modified if parse_datetime(value) is not None), None)
    if not published and guess and tree is not None and not (header_date(text) or url_date(url)):
        found = htmldate_guess(tree, url)
        if found:
            published.append((found, "htmldate"))
    return PageDates(tuple(dict.fromkeys(published)), modified_value)


def htmldate_guess(tree: Any, url: str | None) -> str | None:
    """htmldate's original-date guess (a day), blind to the page's modified-date markup.

    htmldate falls back on ``Last-Modified``-style metas when it finds nothing else; those are
    removed from the tree first (the caller's tree: extraction is done with it by then).
    """
    from htmldate import find_date

    for element in list(tree.iterfind(".//meta")):
        name = (
            element.get("name")
            or element.get("property")
            or element.get("itemprop")
            or element.get("http-equiv")
            or ""
        )
        if name.strip().lower() in _MODIFIED_SET:
            element.drop_tree()
    try:
        # The markup-only search first; the free-text search (extensive, with dateparser) is
        # several times slower and answers the same wherever the first finds a date.
        return find_date(tree, original_date=True, extensive_search=False, url=url) or find_date(
            tree, original_date=True, url=url
        )
    except (ValueError, TypeError, AttributeError, RecursionError):
        return None  # htmldate meets hostile markup like any parser: no guess, not a crash


def _ld_types(obj: dict[str, Any]) -> set[str]:
    kind = obj.get("@type")
    if isinstance(kind, str):
        return {kind}
    return {k for k in kind if isinstance(k, str)} if isinstance(kind, list) else set()


def resolve_date(
    candidates: Iterable[tuple[str | dt.datetime | None, str]],
    *,
    text: str = "",
    url: str | None = None,
    ingested_at: dt.datetime,
) -> ResolvedDate:
    """The publication date, where it came from and the offset it was stated in.

    ``candidates`` are the source's values in order of trust, each with its source name
    (``("2017-09-05T10:00:00Z", "feed")``); a page's ``htmldate`` guess comes after the
    text's header and the URL, which are tried after the others. A date up to
    ``MAX_CLOCK_SKEW`` after ``ingested_at`` is clamped to it (source ``<name>_clamped``);
    later ones and those before 1970 are never accepted.
    """
    candidates = list(candidates)
    guesses = [(value, source) for value, source in candidates if source == "htmldate"]
    ordered: list[tuple[str | dt.datetime | None, str]] = [c for c in candidates if c[1] != "htmldate"]
    header = header_date(text) if text else None
    if header is not None:
        ordered.append((header, "text_header"))
    ordered.append((url_date(url), "url"))
    ordered.extend(guesses)
    ordered.append((url_date(url, short_years=True), "url"))
    latest = ingested_at + MAX_CLOCK_SKEW
    for value, source in ordered:
        if isinstance(value, dt.datetime):
            parsed = (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)
        else:
            parsed = parse_datetime(value)
        if parsed is None or parsed < EARLIEST or parsed > latest:
            continue
        # Our own datetimes (a header line, a URL) state no offset; nor do the feed parser's
        # values, which ``transforms.feeds`` hands over already normalised to UTC.
        offset = (
            stated_offset(value) if isinstance(value, str) and source not in _NORMALISED_SOURCES else None
        )
        if source == "html" and offset == 0:
            # Many CMSs write UTC into the markup whatever their zone. When the page's printed
            # day (byline, URL) is the next or the previous one, that is the publisher's day.
            for day, day_source in ((header, "text_header"), (url_date(url), "url")):
                if day is not None and abs((day.date() - parsed.date()).days) == 1 and day <= latest:
                    return ResolvedDate(min(day, ingested_at), day_source, None)
        if parsed > ingested_at:
            return ResolvedDate(ingested_at, source + CLAMPED_SUFFIX, offset)
        return ResolvedDate(parsed, source, offset)
    return ResolvedDate(None, None, None)


def local_day(published: dt.datetime | None, offset: int | None) -> dt.date | None:
    """The publisher's day of a UTC instant: shifted by the stated offset, else the UTC day."""
    if published is None:
        return None
    return (published + dt.timedelta(minutes=offset or 0)).date()
