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
3. ``text_header``: the printed byline: a date line under the page's headline (extraction drops
   bylines) when the markup states no date, or at the top of the text ("December 21, 2023",
   "21.12.2023", "21. Dezember 2023"), or a dateline opening a paragraph ("21. Dezember 2023.
   Text...", "(21.12.2023) Text...");
4. ``url``: a day in the URL (``/2023/12/21/``, ``/2023/dec/21/``, ``20231221``; ``231221`` last);
5. the page's first ``<time datetime>`` (ISO, not marked as an update) as ``html``, else
   ``htmldate``: htmldate's guess over the whole page (``original_date=True``), for pages that
   state none of the above; a January 1st it makes of a lone year ("(c) 2019") is no date.

A UTC value in the markup that the page restates in its own offset (the byline's ``<time>``, a
second meta) is given in that offset, so ``published_offset`` and the publisher's day are known.
A modified date never wins: ``dateModified``, ``article:modified_time``, ``Last-Modified`` and the
like are reported as ``modified`` and hidden from htmldate, and the crawl time is never a
candidate. A date at most ``MAX_CLOCK_SKEW`` after the ingest time is clock skew: it is clamped to
the ingest time and its source gets a ``_clamped`` suffix (``feed_clamped``); a date further in
the future, or before 1970, is dropped (when nothing else dates the article, ``published`` is
null and ``date_source`` names the dropped source with a ``_future`` suffix: ``feed_future``).
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
import re
from collections.abc import Iterable
from typing import Any, NamedTuple

import lxml.etree

from transforms.core.date_parse import (
    HEADER_LINES,
    UTC,
    header_date,
    parse_datetime,
    stated_offset,
    states_day,
    url_date,
)

# Nothing on the web is older than this; earlier values are parse errors (e.g. "0001-01-01").
EARLIEST = dt.datetime(1970, 1, 2, tzinfo=UTC)
# A date this far after the ingest time is a clock set wrong at the publisher (or here), not a
# post-dated article: it is kept as the ingest time. Time zones alone span 26 hours.
MAX_CLOCK_SKEW = dt.timedelta(days=1)
CLAMPED_SUFFIX = "_clamped"
# A date further ahead is dropped; when no other source dates the article, ``date_source`` is
# the dropped one's name with this suffix (``feed_future``) and ``published`` is null.
FUTURE_SUFFIX = "_future"
# A value a source stated that is no date we accept ("9999-99-99", "n/a", a day before 1970):
# when nothing else dates the article, ``date_source`` names that source with this suffix
# (``metadata_unreadable``), so that the value's loss shows, and ``published`` is null.
UNREADABLE_SUFFIX = "_unreadable"
# The day htmldate gives a lone year it finds (see ``htmldate_guess``).
LONE_YEAR_DAY = "-01-01"
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
# The class of a ``<time>`` element (or its parent) that marks it as the publication date, or
# as a later update.
_PUBLISHED_MARK_RE = re.compile(r"publish|entry-date|post-date|posted|pubdate|created|article-date")
_UPDATE_MARK_RE = re.compile(r"updat|modif|edit")
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


# Elements whose text is no visible text of the page.
_NOT_TEXT_TAGS = frozenset(("script", "style", "noscript", "template"))
# The non-blank text runs after an element in document order (not its own), a few more than a
# header's lines: some are scripts' and styles'.
_TEXT_AFTER = lxml.etree.XPath("following::text()[normalize-space()][position() <= 20]")
# An ISO 8601 day, the form HTML asks of a ``<time datetime>``.
_ISO_DAY_RE = re.compile(r"\d{4}-\d{2}-\d{2}")
# A page title shorter than this ("Home", "News") matches too many headings to pick the headline.
MIN_TITLE_CHARS = 8
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
    for obj in with_main_entities(ld_objects):
        is_article = bool(_ld_types(obj) & ARTICLE_TYPES)
        for key, target in (("datePublished", published), ("dateModified", modified)):
            value = _ld_value(obj.get(key))
            if value and (is_article or target is modified):
                if target is published:
                    target.append((value, "html"))
                else:
                    target.append(value)
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
        if not published:
            published.extend((value, "html") for value in _time_elements(tree))
    published = [(value, source) for value, source in published if parse_datetime(value) is not None]
    if not published and tree is not None:
        byline = headline_byline_date(tree, _titles(tree, meta))
        if byline is not None:
            published.append((byline.replace(tzinfo=None).isoformat(), "text_header"))
    if tree is not None and any(stated_offset(value) == 0 for value, _ in published):
        published = _in_the_page_s_offset(published, tree)
    modified_value = next((value for value in modified if parse_datetime(value) is not None), None)
    if not published and guess and tree is not None and not (header_date(text) or url_date(url)):
        # In htmldate's place: the first <time datetime> of the page (htmldate reads those too,
        # among much else), else htmldate's guess.
        first_time = _first_time_element(tree)
        found = first_time or htmldate_guess(tree, url)
        if found:
            published.append((found, "html" if first_time else "htmldate"))
    return PageDates(tuple(dict.fromkeys(published)), modified_value)


def headline_byline_date(tree: Any, titles: tuple[str, ...] = ()) -> dt.datetime | None:
    """The date of the byline under the page's headline: the first text runs after the headline
    ``<h1>``, read as a text's header (``header_date``).

    Extraction drops the byline ("Von Jane Doe // 20.12.2022", "Stand: 26.04.2024, 20:44 Uhr"),
    so the extracted text's header often holds no date where the page prints one. The headline
    is the ``<h1>`` that the page's title (``titles``: og:title, <title>) holds or that holds it,
    the longest such (a site's logo is often an ``<h1>`` before the headline); then the first
    ``<h1>``, as before the headline was looked for.
    """
    for headline in dict.fromkeys((_headline(tree, titles), next(tree.iter("h1"), None))):
        if headline is None:
            continue
        runs = [
            " ".join(run.split())
            for run in _TEXT_AFTER(headline)
            if run.is_tail or run.getparent().tag not in _NOT_TEXT_TAGS
        ]
        found = header_date("\n".join(runs[:HEADER_LINES]))
        if found is not None:
            return found
    return None


def _headline(tree: Any, titles: tuple[str, ...]) -> Any:
    """The page's headline ``<h1>``: the longest one whose text a title of the page holds, or
    that holds one; None when no ``<h1>`` matches a title."""
    best, best_len = None, 0
    for element in tree.iter("h1"):
        text = " ".join(element.text_content().split()).casefold()
        if len(text) > best_len and any(text in title or title in text for title in titles):
            best, best_len = element, len(text)
    return best


def _titles(tree: Any, meta: dict[str, list[str]]) -> tuple[str, ...]:
    """The page's titles (og:title, twitter:title, <title>), whitespace-normalised, case-folded."""
    values = [*meta.get("og:title", ()), *meta.get("twitter:title", ())]
    title = tree.find(".//title")
    if title is not None and title.text:
        values.append(title.text)
    return tuple(t for t in (" ".join(v.split()).casefold() for v in values) if len(t) >= MIN_TITLE_CHARS)


def _in_the_page_s_offset(published: list[tuple[str, str]], tree: Any) -> list[tuple[str, str]]:
    """The UTC values (``Z``, ``+00:00``, ``GMT``) restated in the offset the page gives the same
    instant elsewhere: another candidate, or any ``<time datetime>`` (its byline's, even one marked
    as updated). "2023-11-09T06:35:29Z" beside ``<time datetime="2023-11-08T22:35:29-08:00">``
    becomes "2023-11-08T22:35:29-08:00": the publisher's day is the 8th.

    Many CMSs write UTC into the metas and JSON-LD and the local time into the visible byline.
    A value restated in more than one offset is left as it is.
    """
    offsets: dict[dt.datetime, set[int]] = {}
    stated = [value for value, _ in published]
    stated += [(element.get("datetime") or "")[:100] for element in tree.iter("time")]
    for value in stated:
        offset = stated_offset(value)
        if offset:
            offsets.setdefault(parse_datetime(value), set()).add(offset)
    restated = []
    for value, source in published:
        instant = parse_datetime(value)
        found = offsets.get(instant, set()) if stated_offset(value) == 0 else set()
        if len(found) == 1:
            zone = dt.timezone(dt.timedelta(minutes=found.pop()))
            value = instant.astimezone(zone).isoformat()
        restated.append((value, source))
    return restated


def _time_elements(tree: Any) -> list[str]:
    """``datetime`` values of ``<time>`` elements marked as the publication (``pubdate``, or a
    class like ``published``/``entry-date``), none marked as an update."""
    values = []
    for element in tree.iter("time"):
        value = (element.get("datetime") or "").strip()
        marks = _time_marks(element)
        if not value or _UPDATE_MARK_RE.search(marks):
            continue
        if element.get("pubdate") is not None or _PUBLISHED_MARK_RE.search(marks):
            values.append(value[:100])
    return values


def _first_time_element(tree: Any) -> str | None:
    """The ``datetime`` of the page's first ``<time>`` that states one in ISO 8601 (day-first forms
    like "01-11-2023" are ambiguous) and is not marked as an update: on a page that states no
    date otherwise, the article's own comes before those of related stories and comments."""
    for element in tree.iter("time"):
        value = (element.get("datetime") or "").strip()[:100]
        if _ISO_DAY_RE.match(value) and parse_datetime(value) is not None:
            return None if _UPDATE_MARK_RE.search(_time_marks(element)) else value
    return None


def _time_marks(element: Any) -> str:
    """The classes of a ``<time>`` and of its parent, lower-cased: where a page marks a time as
    the publication or an update."""
    parent = element.getparent()
    parent_class = (parent.get("class") or "") if parent is not None else ""
    return f"{element.get('class') or ''} {parent_class}".lower()


# htmldate's free-text search (its second pass) hands each date-like string of a page to
# dateparser, which tries every one of its 205 languages on it, compiling each language's
# patterns when first met (1.6 s a process). dateparser lists its languages most used first and
# the first of them that reads a string decides it, so limited to its first 40 (English to
# Hindi) it reads every string as before, unless none of those 40 can. On dates_train and
# pages_train, 3,205 pages (the pass runs on 4 % and 26 % of them), every page's date came out
# the same with 40; with 10, one date changed. What it saves is each process's warm-up: over the
# first 800 pages of pages_train, once each in a fresh process, 36.4-36.6 against 41-42 ms a page.
DATEPARSER_LANGUAGES = 40


@functools.cache
def _limit_dateparser_languages() -> None:
    """htmldate's dateparser (one a process, with htmldate's settings) limited to dateparser's
    ``DATEPARSER_LANGUAGES`` most used languages."""
    from dateparser.languages.loader import default_loader
    from htmldate.extractors import get_external_parser

    languages = itertools.islice(default_loader.get_locales(), DATEPARSER_LANGUAGES)
    get_external_parser().languages = [locale.shortname for locale in languages]


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
        found = find_date(tree, original_date=True, extensive_search=False, url=url)
        if not found:
            _limit_dateparser_languages()
            found = find_date(tree, original_date=True, url=url)
    except (ValueError, TypeError, AttributeError, RecursionError):
        return None  # htmldate meets hostile markup like any parser: no guess, not a crash
    # htmldate falls back on a lone year ("(c) 2004", a copyright meta, a number in a link) and
    # gives it as January 1st, a day nobody stated, unless the page prints that day. (On
    # dates_train, htmldate's January 1st guesses were all wrong: 2 a lone year, now no date,
    # and 1 a CMS's placeholder "01/01/2004" that the page does state. 5 of its 1,168 pages
    # were published on January 1st, dated from their markup or URL.)
    if found and found.endswith(LONE_YEAR_DAY):
        markup = lxml.etree.tostring(tree, encoding="unicode", method="html")
        return found if states_day(markup, dt.date.fromisoformat(found)) else None
    return found


def _ld_types(obj: dict[str, Any]) -> set[str]:
    kind = obj.get("@type")
    kinds = [kind] if isinstance(kind, str) else kind if isinstance(kind, list) else []
    # "https://schema.org/NewsArticle" is a NewsArticle.
    return {k.rsplit("/", 1)[-1] for k in kinds if isinstance(k, str)}


def _ld_value(value: Any) -> str | None:
    """A JSON-LD date: a string, the first of a list, or a value object's ``@value``."""
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, dict):
        value = value.get("@value")
    return value.strip() if isinstance(value, str) and value.strip() else None


def with_main_entities(ld_objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The JSON-LD objects, each followed by the article it names as its ``mainEntity`` (a
    WebPage's NewsArticle, nested rather than beside it in ``@graph``)."""
    objects = []
    for obj in ld_objects:
        objects.append(obj)
        entity = obj.get("mainEntity")
        for item in entity if isinstance(entity, list) else [entity]:
            if isinstance(item, dict) and _ld_types(item) & ARTICLE_TYPES:
                objects.append(item)
    return objects


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
    later ones and those before 1970 are never accepted (no date at all: source
    ``<name>_future`` when a later one was dropped, else ``<name>_unreadable`` when a source
    stated a value that is no date, else None).
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
    future: str | None = None
    unreadable: str | None = None
    for value, source in ordered:
        parsed = _as_utc(value)
        if parsed is not None and parsed > latest:
            future = future or source
            continue
        if parsed is None or parsed < EARLIEST:
            if value is not None and (not isinstance(value, str) or value.strip()):
                unreadable = unreadable or source
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
    if future:
        return ResolvedDate(None, future + FUTURE_SUFFIX, None)
    return ResolvedDate(None, unreadable + UNREADABLE_SUFFIX if unreadable else None, None)


def _as_utc(value: str | dt.datetime | None) -> dt.datetime | None:
    if isinstance(value, dt.datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)
    return parse_datetime(value)


def plausible(value: str | dt.datetime | None, ingested_at: dt.datetime) -> bool:
    """A value ``resolve_date`` may accept: a day between 1970 and a day after the ingest time."""
    parsed = _as_utc(value)
    return parsed is not None and EARLIEST <= parsed <= ingested_at + MAX_CLOCK_SKEW


def local_day(published: dt.datetime | None, offset: int | None) -> dt.date | None:
    """The publisher's day of a UTC instant: shifted by the stated offset, else the UTC day."""
    if published is None:
        return None
    return (published + dt.timedelta(minutes=offset or 0)).date()
