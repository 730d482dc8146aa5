"""Feed and OPML parsing and poll scheduling (no Beam here).

Consumes the bytes of a fetched feed (RSS 0.9x/1.0/2.0, Atom, JSON Feed), an OPML export
or a plain list of feed URLs; emits ``ParsedFeed`` records with one ``FeedItem`` per
entry, and the delay until a feed's next poll. Sample::

    parse_feed(rss_bytes, "https://news.example.org/rss.xml").items[0]
    -> FeedItem(feed_url="https://news.example.org/rss.xml",
                link="https://news.example.org/2026/11/ferry-timetable", guid="gazette-10231",
                title="Council approves new ferry timetable", author="Maria Lind",
                published="2026-11-20T07:30:00+00:00",
                summary="The council voted 7 to 2 for more ferries. Service starts in \\"spring\\".",
                content="<p>The council voted <b>7 to 2</b> on Thursday ...</p>",
                categories=("Transport", "Local politics"))

feedparser only ever sees bytes fetched by ``transforms.fetch`` (wrapped in a stream, so
that it never opens a URL or a file path itself). Its SAX parser does not load external
entities and feedparser drops non-trivial entity declarations, but a document whose DTD
declares recursive, parameter or external entities is refused outright before parsing.
"""

from __future__ import annotations

import calendar
import dataclasses
import datetime as dt
import html
import io
import json
import logging
import os
import re
import urllib.parse
import xml.sax
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import apache_beam as beam
import feedparser
import lxml.html
from apache_beam import coders
from apache_beam.metrics import Metrics
from apache_beam.transforms.userstate import ReadModifyWriteStateSpec
from lxml import etree

from schemas.records import Reject

_LOGGER = logging.getLogger(__name__)

WEEK_SECONDS = 7 * 86_400
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
_HTML_START = re.compile(
    rb"^\s*(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*)*<(?:!DOCTYPE\s+html|html)\b", re.I | re.S
)
_SCRIPT_STYLE = re.compile(r"<(script|style)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
# Tags that separate words when the markup is dropped; other tags (b, a, em) do not.
_BLOCK_TAG = re.compile(
    r"</?(?:p|div|br|li|ul|ol|h[1-6]|tr|td|th|table|blockquote|section|article|header|footer|pre|hr|"
    r"figure|figcaption|dd|dt|dl)\b[^>]*>",
    re.IGNORECASE,
)
_TAG = re.compile(r"<[^>]*>")
_ENTITY_KEYWORD = re.compile(rb"<!ENTITY", re.IGNORECASE)
_TRAILING_COMMENT = re.compile(r"\s+#")
_SPACES = re.compile(r"\s+")
_URL_START = re.compile(r"^https?://", re.IGNORECASE)
_OPML_START = re.compile(rb"<opml\b", re.IGNORECASE)
_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")
_BLOCKS = (
    "p",
    "div",
    "li",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "blockquote",
    "pre",
    "tr",
    "section",
    "article",
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


@dataclasses.dataclass(frozen=True)
class FeedItem:
    """One entry of a feed, with text fields already plain where the schema says so."""

    feed_url: str
    link: str | None
    guid: str | None
    title: str | None
    # Every author the entry names, joined by "; " (as for HTML pages); ``authors`` holds them apart.
    author: str | None
    # ISO 8601 in UTC with time, e.g. "2026-11-20T07:30:00+00:00".
    published: str | None
    # Plain text: tags stripped, entities decoded, whitespace collapsed.
    summary: str | None
    # Full content as the feed gives it (HTML or text), when it has more than a summary.
    content: str | None
    categories: tuple[str, ...]
    authors: tuple[str, ...] = ()


AUTHOR_SEPARATOR = "; "


def _authors(names: Iterable[str | None]) -> tuple[tuple[str, ...], str | None]:
    """Distinct author names in order, and their joined form for the ``author`` column."""
    unique = _unique(names)
    return unique, AUTHOR_SEPARATOR.join(unique) or None


@dataclasses.dataclass(frozen=True)
class ParsedFeed:
    url: str
    title: str | None
    items: tuple[FeedItem, ...]
    # The feed's own hint on polling (RSS ttl or sy:updatePeriod/Frequency), in seconds.
    ttl_seconds: int | None
    bozo: bool
    bozo_reason: str | None


def html_to_text(markup: str | None) -> str | None:
    """Plain text from an HTML fragment, or None when nothing is left."""
    if markup is None:
        return None
    text = _SCRIPT_STYLE.sub(" ", markup)
    text = _COMMENT.sub(" ", text)
    text = _BLOCK_TAG.sub(" ", text)
    text = _TAG.sub("", text)
    text = _SPACES.sub(" ", html.unescape(text)).strip()
    return text or None


def _screen_dtd(data: bytes) -> None:
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


def _iso_utc(parsed: Any) -> str | None:
    """ISO 8601 from feedparser's UTC ``struct_time``."""
    if not parsed:
        return None
    try:
        return dt.datetime.fromtimestamp(calendar.timegm(parsed), tz=dt.timezone.utc).isoformat()
    except (OverflowError, ValueError, TypeError, OSError):
        return None


def _iso_from_text(value: Any) -> str | None:
    """ISO 8601 UTC from an RFC 3339 string (JSON Feed dates)."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    if text.endswith(("Z", "z")):
        # fromisoformat reads "Z" only from Python 3.11 on.
        text = text[:-1] + "+00:00"
    try:
        when = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.timezone.utc)
    return when.astimezone(dt.timezone.utc).isoformat()


def _clean(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    value = value.strip()
    return value or None


def _unique(values: Iterable[str | None]) -> tuple[str, ...]:
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
    authors, author = _authors(names or [author_detail.get("name") or entry.get("author")])
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
        categories=_unique(tag.get("term") or tag.get("label") for tag in entry.get("tags") or []),
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
        authors, author = _authors(a.get("name") for a in listed if isinstance(a, dict))
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
                published=_iso_from_text(entry.get("date_published") or entry.get("date_modified")),
                summary=html_to_text(_clean(entry.get("summary"))),
                content=_clean(entry.get("content_html")) or _clean(entry.get("content_text")),
                categories=_unique(t for t in tags if isinstance(t, str)),
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


def parse_feed(data: bytes, url: str, *, encoding: str | None = None) -> ParsedFeed:
    """Parse feed bytes fetched from ``url`` (the base for relative links).

    ``encoding`` is the charset from the HTTP Content-Type, if any. A bozo (not
    well-formed) feed still yields the items that parse; a document that yields none
    raises ``FeedError`` with reason ``empty``, ``not_a_feed``, ``malformed_xml``,
    ``no_entries`` or ``unsafe_dtd``.
    """
    if not data or not data.strip():
        raise FeedError("empty", "no content")
    if data.lstrip()[:1] in (b"{", b"["):
        return _parse_json_feed(data, url)
    _screen_dtd(data)
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


def parse_opml(data: bytes) -> list[str]:
    """Feed URLs (``xmlUrl`` of outlines at any depth) from an OPML export, in order, deduplicated.

    Raises ``FeedError`` (``malformed_xml`` or ``not_opml``) for other documents.
    """
    # No entity expansion, no DTD or network access: an OPML file is untrusted input too.
    _screen_dtd(data)
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, remove_comments=True
    )
    try:
        root = etree.fromstring(data, parser=parser)
    except etree.XMLSyntaxError as error:
        raise FeedError("malformed_xml", str(error)[:200]) from None
    if root is None or etree.QName(root).localname.lower() != "opml":
        raise FeedError("not_opml", "root element is not <opml>")
    urls: list[str] = []
    for outline in root.iter("{*}outline"):
        # Exporters disagree on the attribute's case (xmlUrl, xmlurl, XMLURL).
        for name, value in outline.attrib.items():
            if str(name).lower() == "xmlurl":
                urls.append(str(value))
    return list(_unique(urls))


def next_poll_interval(
    item_times: Sequence[dt.datetime],
    now: dt.datetime,
    *,
    ttl_seconds: int | None = None,
    retry_after: float | None = None,
    minimum: float = 300,
    maximum: float = 86_400,
) -> float:
    """Seconds until a feed's next poll.

    Miniflux's entry-frequency rule: a week divided by the number of entries published
    in the last week, clamped to ``[minimum, maximum]`` (``maximum`` for a quiet feed),
    then never shorter than the feed's ttl or the server's Retry-After. Naive
    datetimes are taken as UTC.
    """

    def aware(value: dt.datetime) -> dt.datetime:
        return value if value.tzinfo is not None else value.replace(tzinfo=dt.timezone.utc)

    since = aware(now) - dt.timedelta(seconds=WEEK_SECONDS)
    recent = sum(1 for when in item_times if aware(when) >= since)
    interval = WEEK_SECONDS / recent if recent else maximum
    interval = min(max(interval, minimum), maximum)
    return float(max(interval, ttl_seconds or 0, retry_after or 0))


_ROOT_ELEMENT = re.compile(
    rb"^\s*(?:<\?xml[^>]*\?>\s*)?(?:(?:<!--.*?-->|<!DOCTYPE[^>\[]*(?:\[.*?\])?\s*>|<\?[^>]*\?>)\s*)*"
    rb"<([A-Za-z_][\w:.-]*)",
    re.S,
)
_FEED_ROOTS = frozenset({"rss", "feed", "rdf"})
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
# Where a feed list or a saved feed may live besides a local path (Beam FileSystems).
_FILE_SCHEMES = ("gs", "s3")
_BOMS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")


def document_kind(data: bytes) -> str:
    """What a fetched or saved document is, by its content: ``feed`` (RSS, Atom, RDF or JSON
    Feed), ``opml``, ``html`` or ``other`` (e.g. a plain list of URLs)."""
    head = data[:8192]
    for bom in _BOMS:
        head = head.removeprefix(bom)
    stripped = head.lstrip()
    if stripped[:1] == b"{":
        return "feed" if b"jsonfeed.org" in head else "other"
    root = _ROOT_ELEMENT.match(head)
    if root is not None:
        name = root.group(1).decode("ascii", "replace").lower().rsplit(":", 1)[-1]
        if name in _FEED_ROOTS:
            return "feed"
        if name == "opml":
            return "opml"
        if name == "html":
            return "html"
    return "html" if _HTML_START.match(head) else "other"


def discover_feeds(html_text: str, page_url: str) -> list[str]:
    """Feed URLs a page announces (``<link rel="alternate">``, else feed-like links), as
    trafilatura's feed finder reads them."""
    from trafilatura.feeds import FeedParameters, determine_feed

    host = urllib.parse.urlsplit(page_url).netloc
    return determine_feed(html_text, FeedParameters(page_url, host, page_url))


def read_feed_list(text: str, source: str = "feed list") -> list[str]:
    """Feed URLs from a text file: one per line, blank lines and ``#`` comments skipped.

    Raises ``ValueError`` for a line that is not an http(s) URL.
    """
    urls = []
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        # A comment after the URL needs whitespace before "#"; a bare "#" is a fragment.
        url = _TRAILING_COMMENT.split(line, maxsplit=1)[0].strip()
        if not _URL_START.match(url):
            raise ValueError(f"--feeds {source}: line {number} is not an http(s) URL: {url[:80]!r}")
        urls.append(url)
    return list(_unique(urls))


def read_source(path: str) -> bytes:
    """The bytes of a local or object-store file named by ``--feeds`` (Beam FileSystems)."""
    from apache_beam.io.filesystems import FileSystems

    with FileSystems.open(path) as stream:
        return stream.read()


def _check_file_source(value: str) -> str:
    """The path to read for a non-URL ``--feeds`` value; ``ValueError`` when it names nothing readable."""
    from apache_beam.io.filesystems import FileSystems

    if value.startswith("file://"):
        value = value[len("file://") :]
    scheme = _SCHEME.match(value)
    if scheme and scheme.group(1).lower() not in _FILE_SCHEMES:
        raise ValueError(
            f"--feeds {value}: unsupported scheme {scheme.group(1)}:// (give http(s) URLs, local files,"
            " gs:// or s3:// paths)"
        )
    try:
        found = FileSystems.exists(value)
    except ValueError:  # Beam has no file system for the scheme: its extra is not installed
        extra = "gcp" if value.startswith("gs://") else "aws"
        raise ValueError(
            f"--feeds {value}: reading {scheme.group(1)}:// needs pip install 'newsflow[{extra}]'"
        ) from None
    if not found:
        raise ValueError(f"--feeds {value}: neither an http(s) URL nor an existing file")
    return value if scheme else os.path.abspath(value)


def resolve_feeds(specs: Iterable[str]) -> list[str]:
    """Feed sources from command-line values: URLs, files of one URL per line, OPML files and
    saved feed files (read as feeds, by their content).

    Files are read through Beam FileSystems (local, gs://, s3://). Raises ``ValueError``
    with the value when it is neither a URL nor a readable feed list, OPML or feed file.
    """
    sources: list[str] = []
    for value in (v.strip() for v in specs):
        if not value:
            continue
        if _URL_START.match(value):
            sources.append(value)
            continue
        path = _check_file_source(value)
        data = read_source(path)
        kind = document_kind(data)
        if kind == "opml":
            try:
                sources.extend(parse_opml(data))
            except FeedError as error:
                raise ValueError(f"--feeds {value}: not a valid OPML file ({error})") from None
        elif kind == "feed":
            sources.append(path)  # a saved feed: polled from the file
        elif kind == "html":
            raise ValueError(f"--feeds {value}: an HTML page, not a feed, an OPML list or a list of URLs")
        else:
            sources.extend(read_feed_list(data.decode("utf-8", errors="replace"), value))
    return list(_unique(sources))


def is_remote(source: str) -> bool:
    """Whether a feed source is fetched over HTTP (else it is a file, read as it is)."""
    return bool(_URL_START.match(source))


def content_text(markup: str | None) -> str | None:
    """Plain text of an HTML fragment with its paragraphs kept apart (feed content)."""
    if not markup or not markup.strip():
        return None
    if "<" not in markup:
        return markup.strip() or None
    try:
        root = lxml.html.fragment_fromstring(markup, create_parent="div")
    except (etree.ParserError, ValueError):
        return html_to_text(markup)
    for bad in root.xpath(".//script|.//style|.//figure|.//noscript"):
        bad.drop_tree()
    for block in root.iter(*_BLOCKS):
        block.tail = "\n\n" + (block.tail or "")
        block.text = "\n\n" + (block.text or "")
    for br in root.iter("br"):
        br.tail = "\n" + (br.tail or "")
    text = root.text_content()
    paragraphs = [_SPACES.sub(" ", p).strip() for p in _PARAGRAPH_BREAK.split(text)]
    return "\n\n".join(p for p in paragraphs if p) or None


def item_key(item: FeedItem) -> str:
    """The identity of a feed entry across polls: its guid, else its link, else its title."""
    return item.guid or item.link or f"title:{item.title}|{item.published}"


@dataclasses.dataclass(frozen=True)
class FeedPoll:
    """The outcome of polling one feed once, for the run record and the feed cursors."""

    feed_url: str
    status: str  # fetched | not_modified | failed | listed (an OPML list, or a page naming its feed)
    polled_at: str
    error: str | None = None
    detail: str = ""
    etag: str | None = None
    last_modified: str | None = None
    item_keys: tuple[str, ...] = ()
    item_times: tuple[str, ...] = ()
    new_items: int = 0
    ttl_seconds: int | None = None
    retry_after: float | None = None
    # The feeds an OPML list or a page named (status "listed"), polled in the same run.
    feeds: tuple[str, ...] = ()


ITEMS_TAG = "items"
POLLS_TAG = "polls"
REJECTS_TAG = "rejects"
LISTED_TAG = "listed"


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


@dataclasses.dataclass(frozen=True)
class _Fetched:
    """A feed source's document, from HTTP or from a file, in the fetcher's terms."""

    content: bytes | None
    final_url: str
    encoding: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    not_modified: bool = False
    error: str | None = None
    detail: str = ""
    retry_after: float | None = None


def _read_file_source(path: str, etag: str | None) -> _Fetched:
    """A saved feed polled from its file: unchanged size and time stand for a 304."""
    from apache_beam.io.filesystems import FileSystems

    try:
        meta = FileSystems.match([path])[0].metadata_list[0]
        stamp = f"{meta.size_in_bytes}-{meta.last_updated_in_seconds}"
        if stamp == etag:
            return _Fetched(None, path, etag=etag, not_modified=True)
        return _Fetched(read_source(path), path, etag=stamp)
    except (OSError, IndexError, ValueError) as error:
        return _Fetched(None, path, error="unreadable", detail=str(error)[:300])


class _PollFeedFn(beam.DoFn):
    """Fetches and parses one feed; emits its new entries, its poll record and any reject.

    A source that turns out to be an OPML list, or an HTML page announcing its feed, emits
    the feeds it names on ``listed`` (when ``expand``) for the next poll step.
    """

    def __init__(
        self,
        policy,
        cursors: dict,
        run_id: str,
        ingested_at: dt.datetime | None,
        *,
        expand: bool = True,
        due_within: float | None = None,
    ) -> None:
        self._policy = policy
        # feed URL -> FeedCursor of earlier runs: validators and the entries already seen.
        self._cursors = cursors
        self._run_id = run_id
        # None in a streaming job: each poll is stamped with its own time.
        self._ingested_at = ingested_at
        self._expand = expand
        # Listed feeds are polled only when due (this run's longest interval); None: always.
        self._due_within = due_within
        self._read = Metrics.counter(self.__class__, "read")
        self._new = Metrics.counter(self.__class__, "new_items")
        self._skipped = Metrics.counter(self.__class__, "skipped_seen_items")
        self._not_modified = Metrics.counter(self.__class__, "feeds_not_modified")
        self._failed = Metrics.counter(self.__class__, "feeds_failed")
        self._listed = Metrics.counter(self.__class__, "feeds_listed")
        self._not_due = Metrics.counter(self.__class__, "feeds_not_due")

    def setup(self) -> None:
        from transforms.fetch import Fetcher

        self._fetcher = Fetcher(self._policy)
        self._seen_sets: dict[str, frozenset] = {}

    def teardown(self) -> None:
        self._fetcher.close()

    def _seen(self, feed_url: str, cursor) -> frozenset:
        if feed_url not in self._seen_sets:
            self._seen_sets[feed_url] = frozenset(cursor.seen) if cursor else frozenset()
        return self._seen_sets[feed_url]

    def process(self, feed_url: str) -> Iterator:
        cursor = self._cursors.get(feed_url)
        if self._due_within is not None and cursor is not None and not cursor.due(_now(), self._due_within):
            self._not_due.inc()
            return
        yield from self.poll(feed_url, cursor, self._seen(feed_url, cursor))

    def _get(self, feed_url: str, cursor) -> _Fetched:
        etag = cursor.etag if cursor else None
        if not is_remote(feed_url):
            return _read_file_source(feed_url, etag)
        result = self._fetcher.fetch(
            feed_url, kind="feed", etag=etag, last_modified=cursor.last_modified if cursor else None
        )
        return _Fetched(
            result.content,
            result.final_url,
            result.encoding,
            result.etag,
            result.last_modified,
            result.not_modified,
            result.error,
            result.detail,
            result.retry_after,
        )

    def poll(self, feed_url: str, cursor, seen: frozenset) -> Iterator:
        polled_at = _now().isoformat()
        result = self._get(feed_url, cursor)
        if result.not_modified:
            self._not_modified.inc()
            listed = cursor.feeds if cursor else ()
            yield from self._list(listed)
            yield beam.pvalue.TaggedOutput(
                POLLS_TAG,
                FeedPoll(
                    feed_url,
                    "not_modified",
                    polled_at,
                    etag=result.etag,
                    last_modified=result.last_modified,
                    feeds=listed,
                ),
            )
            return
        if result.error:
            yield from self._failure(feed_url, polled_at, result.error, result.detail, result.retry_after)
            return
        content = result.content or b""
        kind = document_kind(content)
        if kind in ("opml", "html") and self._expand:
            yield from self._expand_source(feed_url, polled_at, result, kind)
            return
        try:
            parsed = parse_feed(content, result.final_url, encoding=result.encoding)
        except FeedError as error:
            yield from self._failure(feed_url, polled_at, error.reason, error.detail)
            return
        new, keys = 0, set()
        for item in parsed.items:
            key = item_key(item)
            if key in seen or key in keys:
                self._skipped.inc()
                continue
            keys.add(key)
            new += 1
            self._read.inc()
            self._new.inc()
            yield dataclasses.replace(item, feed_url=feed_url)
        yield beam.pvalue.TaggedOutput(
            POLLS_TAG,
            FeedPoll(
                feed_url,
                "fetched",
                polled_at,
                etag=result.etag,
                last_modified=result.last_modified,
                item_keys=tuple(item_key(i) for i in parsed.items),
                item_times=tuple(i.published for i in parsed.items if i.published),
                new_items=new,
                ttl_seconds=parsed.ttl_seconds,
                detail=parsed.bozo_reason or "",
            ),
        )

    def _expand_source(self, feed_url: str, polled_at: str, result: _Fetched, kind: str) -> Iterator:
        """An OPML list's feeds, or the feed a page announces (autodiscovery)."""
        content = result.content or b""
        if kind == "opml":
            try:
                listed = tuple(parse_opml(content))
            except FeedError as error:
                yield from self._failure(feed_url, polled_at, error.reason, error.detail)
                return
            if not listed:
                yield from self._failure(feed_url, polled_at, "no_entries", "an OPML list without feeds")
                return
        else:
            text = content.decode(result.encoding or "utf-8", errors="replace")
            listed = tuple(discover_feeds(text, result.final_url)[:1])
            if not listed:
                yield from self._failure(
                    feed_url, polled_at, "not_a_feed", "an HTML page that announces no feed"
                )
                return
        self._listed.inc(len(listed))
        yield from self._list(listed)
        yield beam.pvalue.TaggedOutput(
            POLLS_TAG,
            FeedPoll(
                feed_url,
                "listed",
                polled_at,
                etag=result.etag,
                last_modified=result.last_modified,
                detail=f"{kind}: {len(listed)} feed(s)",
                feeds=listed,
            ),
        )

    def _list(self, listed: Sequence[str]) -> Iterator:
        if self._expand:
            for url in listed:
                yield beam.pvalue.TaggedOutput(LISTED_TAG, url)

    def _failure(self, feed_url, polled_at, reason, detail, retry_after=None) -> Iterator:
        self._failed.inc()
        self._read.inc()  # a feed that yields nothing is one input, ending as one reject
        Metrics.counter(self.__class__, f"rejected_{reason}").inc()
        detail = (detail or "")[:500]
        yield beam.pvalue.TaggedOutput(
            REJECTS_TAG,
            Reject(feed_url, feed_url, "feed", reason, detail, self._run_id, self._ingested_at or _now()),
        )
        yield beam.pvalue.TaggedOutput(
            POLLS_TAG,
            FeedPoll(feed_url, "failed", polled_at, error=reason, detail=detail, retry_after=retry_after),
        )


class _PollFeedStatefulFn(_PollFeedFn):
    """The streaming poll: each feed's cursor lives in keyed state, seeded from the state files.

    Runs in the global window (state is per key and window), on ``(feed_url, tick)``
    pairs from every impulse; a feed is polled only when its own interval has passed.
    """

    CURSOR = ReadModifyWriteStateSpec("cursor", coders.PickleCoder())

    def __init__(
        self, policy, cursors: dict, run_id: str, min_interval: float, max_interval: float, *, expand: bool
    ) -> None:
        super().__init__(policy, cursors, run_id, None, expand=expand)
        self._min_interval = min_interval
        self._max_interval = max_interval

    def process(self, keyed: tuple[str, object], cursor_state=beam.DoFn.StateParam(CURSOR)) -> Iterator:  # noqa: B008
        from transforms.state import FeedCursor, advance_cursor

        feed_url, _ = keyed
        cursor = cursor_state.read() or self._cursors.get(feed_url) or FeedCursor()
        now = _now()
        if not cursor.due(now, self._max_interval):
            self._not_due.inc()
            return
        for output in self.poll(feed_url, cursor, frozenset(cursor.seen)):
            if isinstance(output, beam.pvalue.TaggedOutput) and output.tag == POLLS_TAG:
                cursor = advance_cursor(
                    cursor,
                    dataclasses.asdict(output.value),
                    now=_now(),
                    min_interval=self._min_interval,
                    max_interval=self._max_interval,
                )
            yield output
        cursor_state.write(cursor)


class PollFeeds(beam.PTransform):
    """Feed sources to new feed entries (``items``), poll records (``polls``) and ``rejects``.

    ``cursors`` maps a feed URL to its ``FeedCursor`` from earlier runs: conditional GETs,
    and entries already ingested are skipped. A source that is an OPML list, or an HTML
    page announcing its feed, is followed one level: the feeds it names are polled in the
    same run (when due, by ``max_interval``), each with its own cursor. Given
    ``stream_intervals`` (min, max seconds), the input is ``(feed_url, tick)`` pairs of a
    streaming job and cursors move on in keyed state between polls.

    Returns a dict of three PCollections: ``items``, ``polls``, ``rejects``.
    """

    def __init__(
        self,
        policy,
        cursors: dict,
        run_id: str,
        ingested_at: dt.datetime | None,
        *,
        max_interval: float | None = None,
        poll_now: bool = False,
        stream_intervals: tuple[float, float] | None = None,
        direct: Sequence[str] = (),
    ) -> None:
        super().__init__()
        self._stream = stream_intervals is not None
        # Feeds given directly are polled (or skipped as not due) in their own right.
        self._direct = frozenset(direct)
        if stream_intervals:
            self._first = _PollFeedStatefulFn(policy, cursors, run_id, *stream_intervals, expand=True)
            self._listed = _PollFeedStatefulFn(policy, cursors, run_id, *stream_intervals, expand=False)
        else:
            self._first = _PollFeedFn(policy, cursors, run_id, ingested_at)
            due_within = None if poll_now else max_interval
            self._listed = _PollFeedFn(
                policy, cursors, run_id, ingested_at, expand=False, due_within=due_within
            )

    def expand(self, feed_urls):
        first = feed_urls | "FetchAndParseFeeds" >> beam.ParDo(self._first).with_outputs(
            POLLS_TAG, REJECTS_TAG, LISTED_TAG, main=ITEMS_TAG
        )
        direct = self._direct
        listed = first[LISTED_TAG] | "SkipDirectFeeds" >> beam.Filter(lambda url: url not in direct)
        if self._stream:
            listed = listed | "KeyListedFeeds" >> beam.Map(lambda url: (url, 0.0)).with_output_types(
                tuple[str, float]
            )
        else:
            listed = listed | "UniqueListedFeeds" >> beam.Distinct()
        second = listed | "FetchAndParseListedFeeds" >> beam.ParDo(self._listed).with_outputs(
            POLLS_TAG, REJECTS_TAG, LISTED_TAG, main=ITEMS_TAG
        )
        return {
            name: (first[name], second[name]) | f"Flatten{name.title()}" >> beam.Flatten()
            for name in (ITEMS_TAG, POLLS_TAG, REJECTS_TAG)
        }
