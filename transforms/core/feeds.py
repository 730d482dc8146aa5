"""Feeds parsed from their bytes: RSS 0.9x/1.0/2.0, Atom and JSON Feed.

Consumes the bytes of a fetched (or saved) feed; emits ``ParsedFeed`` records with one
``FeedItem`` per entry. Sample::

    parse_feed(rss_bytes, "https://news.example.org/rss.xml").items[0]
    -> FeedItem(feed_url="https://news.example.org/rss.xml",
                link="https://news.example.org/2026/11/ferry-timetable", guid="gazette-10231",
                title="Council approves new ferry timetable", author="Maria Lind",
                published="2026-11-20T07:30:00+00:00",
                summary="The council voted 7 to 2 for more ferries. Service starts in \\"spring\\".",
                content="<p>The council voted <b>7 to 2</b> on Thursday ...</p>",
                categories=("Transport", "Local politics"))

feedparser only ever sees bytes newsflow fetched (``transforms.core.http``) (wrapped in a stream, so
that it never opens a URL or a file path itself). Its SAX parser does not load external
entities and feedparser drops non-trivial entity declarations, but a document whose DTD
declares recursive, parameter or external entities is refused outright before parsing.
"""

from __future__ import annotations

import calendar
import dataclasses
import datetime as dt
import functools
import io
import json
import re
import xml.sax
from collections.abc import Callable, Iterable
from typing import Any, ParamSpec, TypeVar

import feedparser

from schemas.records import FeedItem, author_fields
from transforms.core.date_parse import utc_from_iso
from transforms.core.markup import html_to_text
from transforms.core.schedule import WEEK_SECONDS

P = ParamSpec("P")
R = TypeVar("R")

# Syndication module (RSS 1.0 sy:updatePeriod) periods in seconds.
_SY_PERIODS = {
    "hourly": 3_600,
    "daily": 86_400,
    "weekly": WEEK_SECONDS,
    "monthly": 2_592_000,
    "yearly": 31_536_000,
}

# A DTD with more entity declarations than this is not a news feed.
_MAX_ENTITY_DECLARATIONS = 64

_DOCTYPE_START = re.compile(rb"<!DOCTYPE\b", re.IGNORECASE)

_ELEMENT_START = re.compile(rb"<[A-Za-z_]")

_SUBSET_END = re.compile(rb"\]\s*>")

_ENTITY_DECL = re.compile(
    rb"""<!ENTITY\s+(%\s+)?[^\s]+\s+(?:(SYSTEM|PUBLIC)\b|"([^"]*)"|'([^']*)')""", re.IGNORECASE
)

# A named reference (not a character reference) inside an entity value makes it recursive.
_NAMED_REFERENCE = re.compile(rb"[&%][A-Za-z_:]")

_ENTITY_KEYWORD = re.compile(rb"<!ENTITY", re.IGNORECASE)

_HTML_START = re.compile(
    rb"^\s*(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*)*<(?:!DOCTYPE\s+html|html)\b", re.I | re.S
)

# SAX errors mean broken XML; the other bozo exceptions (a missing or odd Content-Type,
# an overridden encoding) do not stop feedparser.
_MALFORMED_EXCEPTIONS = (xml.sax.SAXException,)


class FeedError(ValueError):
    """A document that yields no feed items; ``reason`` is a short slug."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


# What a hostile document can make our readers raise: a field of a type no feed should have, a
# date past the calendar's end, absurd nesting.
PARSE_ERRORS = (ValueError, TypeError, LookupError, AttributeError, RecursionError, OverflowError)


def refusing_hostile_input(parse: Callable[P, R]) -> Callable[P, R]:
    """``parse`` (a feed, sitemap or OPML reader), raising only ``FeedError``: any other error
    (``PARSE_ERRORS``) is a ``parse_error`` with its type and message, so that the poll records
    the document as a reject and goes on, and a defect shows as one."""

    @functools.wraps(parse)
    def guarded(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return parse(*args, **kwargs)
        except FeedError:
            raise
        except PARSE_ERRORS as error:
            raise FeedError("parse_error", f"{type(error).__name__}: {error}"[:300]) from None

    return guarded


@dataclasses.dataclass(frozen=True)
class ParsedFeed:
    url: str
    title: str | None
    items: tuple[FeedItem, ...]
    # The feed's own hint on polling (RSS ttl or sy:updatePeriod/Frequency), in seconds.
    ttl_seconds: int | None
    bozo: bool
    bozo_reason: str | None


def screen_dtd(data: bytes) -> None:
    """Refuse a DTD that declares recursive, parameter or external entities (XXE, billion laughs)."""
    doctype = _DOCTYPE_START.search(data)
    if doctype is None:
        return
    first_element = _ELEMENT_START.search(data)
    if first_element is not None and first_element.start() < doctype.start():
        # A "<!DOCTYPE" after the root element is text (e.g. HTML inside CDATA), not a DTD.
        return
    bracket = data.find(b"[", doctype.end())
    close = data.find(b">", doctype.end())
    if bracket == -1 or (close != -1 and close < bracket):
        return
    end = _SUBSET_END.search(data, bracket)
    subset = data[bracket + 1 : end.start() if end else len(data)]
    declarations = _ENTITY_DECL.findall(subset)
    if len(declarations) > _MAX_ENTITY_DECLARATIONS:
        raise FeedError("unsafe_dtd", f"{len(declarations)} entity declarations")
    for parameter, external, double_quoted, single_quoted in declarations:
        if parameter or external:
            raise FeedError("unsafe_dtd", "parameter or external entity declared")
        if _NAMED_REFERENCE.search(double_quoted or single_quoted):
            raise FeedError("unsafe_dtd", "entity defined through other entities (expansion bomb)")
    if len(_ENTITY_KEYWORD.findall(subset)) > len(declarations):
        # Declarations the pattern could not read are not given the benefit of the doubt.
        raise FeedError("unsafe_dtd", "unreadable entity declaration")


def parse_untrusted_xml(data: bytes):
    """The root element of an untrusted XML document (an OPML list, a sitemap): DTDs screened,
    no entity expansion, no DTD or network access. Raises ``FeedError`` for an unsafe DTD and
    lxml's ``XMLSyntaxError`` for a malformed document (the caller words the reject)."""
    from lxml import etree

    screen_dtd(data)
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, remove_comments=True
    )
    return etree.fromstring(data, parser=parser)


def _iso_utc(parsed: Any) -> str | None:
    """ISO 8601 from feedparser's UTC ``struct_time``."""
    if not parsed:
        return None
    try:
        return dt.datetime.fromtimestamp(calendar.timegm(parsed), tz=dt.timezone.utc).isoformat()
    except (OverflowError, ValueError, TypeError, OSError):
        return None


def iso_from_text(value: Any) -> str | None:
    """ISO 8601 UTC from an RFC 3339 / W3C datetime string (JSON Feed dates, sitemap dates:
    ``2026-11-20``, ``2026-11-20T07:30:00+01:00``, ``…Z``); None when it is not one."""
    when = utc_from_iso(value)
    return when.isoformat() if when else None


def _clean(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    value = value.strip()
    return value or None


def unique(values: Iterable[str | None]) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for value in values:
        cleaned = _clean(value)
        if cleaned:
            seen.setdefault(cleaned, None)
    return tuple(seen)


def _entry_item(entry: Any, feed_url: str) -> FeedItem | None:
    title = entry.get("title")
    if title is not None and "html" in (entry.get("title_detail") or {}).get("type", ""):
        title = html_to_text(title)
    author_detail = entry.get("author_detail") or {}
    names = [a.get("name") for a in entry.get("authors") or () if isinstance(a, dict)]
    authors, author = author_fields(names or [author_detail.get("name") or entry.get("author")])
    contents = entry.get("content") or []
    content = None
    for part in contents:
        if "html" in (part.get("type") or ""):
            content = _clean(part.get("value"))
            break
    if content is None and contents:
        content = _clean(contents[0].get("value"))
    link = _clean(entry.get("link"))
    guid = _clean(entry.get("id"))
    title = _clean(title)
    if not (link or guid or title):
        return None
    return FeedItem(
        feed_url=feed_url,
        link=link,
        guid=guid,
        title=title,
        author=author,
        published=_iso_utc(entry.get("published_parsed") or entry.get("updated_parsed")),
        summary=html_to_text(entry.get("summary")),
        content=content,
        categories=unique(tag.get("term") or tag.get("label") for tag in entry.get("tags") or []),
        authors=authors,
    )


def _feed_ttl(feed: Any) -> int | None:
    """The feed's polling hint in seconds: RSS <ttl> (minutes) or sy:updatePeriod/Frequency."""
    ttl = _clean(feed.get("ttl"))
    if ttl and ttl.isdigit() and int(ttl) > 0:
        return int(ttl) * 60
    period = _SY_PERIODS.get((_clean(feed.get("sy_updateperiod")) or "").lower())
    if period:
        frequency = _clean(feed.get("sy_updatefrequency")) or "1"
        return period // max(1, int(frequency)) if frequency.isdigit() else period
    return None


def _parse_json_feed(data: bytes, url: str) -> ParsedFeed:
    """JSON Feed 1.0/1.1 (https://jsonfeed.org), which feedparser 6 does not read."""
    try:
        document = json.loads(data)
    except (ValueError, RecursionError) as error:
        raise FeedError("not_a_feed", f"invalid JSON: {error}") from None
    if not isinstance(document, dict) or "jsonfeed.org" not in str(document.get("version", "")):
        raise FeedError("not_a_feed", "JSON without a JSON Feed version")
    entries = document.get("items")
    if not isinstance(entries, list) or not entries:
        raise FeedError("no_entries", "JSON Feed without items")
    items = []
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        listed = entry.get("authors") or ([entry["author"]] if isinstance(entry.get("author"), dict) else [])
        if not isinstance(listed, list):
            listed = [listed]  # "authors": {"name": ...} or a stray value: one author, or none
        authors, author = author_fields(a.get("name") for a in listed if isinstance(a, dict))
        link = _clean(entry.get("url")) or _clean(entry.get("external_url"))
        guid = _clean(str(entry["id"])) if entry.get("id") is not None else None
        title = _clean(entry.get("title"))
        if not (link or guid or title):
            continue
        tags = entry.get("tags") if isinstance(entry.get("tags"), list) else []
        items.append(
            FeedItem(
                feed_url=url,
                link=link,
                guid=guid,
                title=title,
                author=author,
                published=iso_from_text(entry.get("date_published") or entry.get("date_modified")),
                summary=html_to_text(_clean(entry.get("summary"))),
                content=_clean(entry.get("content_html")) or _clean(entry.get("content_text")),
                categories=unique(t for t in tags if isinstance(t, str)),
                authors=authors,
            )
        )
    if not items:
        raise FeedError("no_entries", "no usable JSON Feed items")
    return ParsedFeed(
        url=url,
        title=_clean(document.get("title")),
        items=tuple(items),
        ttl_seconds=None,
        bozo=False,
        bozo_reason=None,
    )


@refusing_hostile_input
def parse_feed(data: bytes, url: str, *, encoding: str | None = None) -> ParsedFeed:
    """Parse feed bytes fetched from ``url`` (the base for relative links).

    ``encoding`` is the charset from the HTTP Content-Type, if any. A bozo (not
    well-formed) feed still yields the items that parse; a document that yields none
    raises ``FeedError`` with reason ``empty``, ``not_a_feed``, ``malformed_xml``,
    ``no_entries``, ``unsafe_dtd`` or ``parse_error``.
    """
    if not data or not data.strip():
        raise FeedError("empty", "no content")
    if data.lstrip()[:1] in (b"{", b"["):
        return _parse_json_feed(data, url)
    screen_dtd(data)
    content_type = "application/xml" + (f"; charset={encoding}" if encoding else "")
    # A stream, not bytes: feedparser would treat short bytes as a file name to open.
    parsed = feedparser.parse(
        io.BytesIO(data), response_headers={"content-location": url, "content-type": content_type}
    )
    looks_like_html = bool(_HTML_START.match(data[:4096]))
    exception = parsed.get("bozo_exception") if parsed.get("bozo") else None
    malformed = isinstance(exception, _MALFORMED_EXCEPTIONS)
    version = parsed.get("version") or ""
    if looks_like_html and not version:
        raise FeedError("not_a_feed", "an HTML page")
    items = tuple(item for entry in parsed.entries if (item := _entry_item(entry, url)) is not None)
    if not items:
        if not version:
            raise FeedError("malformed_xml" if malformed and data.lstrip()[:1] == b"<" else "not_a_feed")
        if malformed:
            raise FeedError("malformed_xml", str(exception)[:200])
        raise FeedError("no_entries", f"{version} feed without items")
    return ParsedFeed(
        url=url,
        title=html_to_text(parsed.feed.get("title")),
        items=items,
        ttl_seconds=_feed_ttl(parsed.feed),
        bozo=malformed,
        bozo_reason=f"{type(exception).__name__}: {exception}"[:200] if malformed else None,
    )


def item_key(item: FeedItem) -> str:
    """The identity of a feed entry across polls: its guid, else its link, else its title."""
    return item.guid or item.link or f"title:{item.title}|{item.published}"
