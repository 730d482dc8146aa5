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
import re
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
    author: str | None
    # ISO 8601 in UTC with time, e.g. "2026-11-20T07:30:00+00:00".
    published: str | None
    # Plain text: tags stripped, entities decoded, whitespace collapsed.
    summary: str | None
    # Full content as the feed gives it (HTML or text), when it has more than a summary.
    content: str | None
    categories: tuple[str, ...]


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
    author = _clean(author_detail.get("name")) or _clean(entry.get("author"))
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
        authors = entry.get("authors") or ([entry["author"]] if isinstance(entry.get("author"), dict) else [])
        author = next((_clean(a.get("name")) for a in authors if isinstance(a, dict) and a.get("name")), None)
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


def read_feed_list(text: str) -> list[str]:
    """Feed URLs from a text file: one per line, blank lines and ``#`` comments skipped."""
    urls = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        # A comment after the URL needs whitespace before "#"; a bare "#" is a fragment.
        urls.append(_TRAILING_COMMENT.split(line, maxsplit=1)[0].strip())
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


def resolve_feeds(specs: Iterable[str]) -> list[str]:
    """Feed URLs from command-line values: URLs, files of one URL per line, OPML files.

    Files are read through Beam FileSystems (local, gs://, s3://). Raises ``ValueError``
    with the file's name when a value is neither a URL nor a readable feed list.
    """
    from apache_beam.io.filesystems import FileSystems

    urls: list[str] = []
    for spec in specs:
        for value in (v.strip() for v in spec.split(",")):
            if not value:
                continue
            if _URL_START.match(value):
                urls.append(value)
                continue
            if not FileSystems.exists(value):
                raise ValueError(f"--feeds {value}: neither an http(s) URL nor an existing file")
            with FileSystems.open(value) as stream:
                data = stream.read()
            if _OPML_START.search(data[:2048]):
                try:
                    urls.extend(parse_opml(data))
                except FeedError as error:
                    raise ValueError(f"--feeds {value}: not a valid OPML file ({error})") from None
            else:
                urls.extend(read_feed_list(data.decode("utf-8", errors="replace")))
    return list(_unique(urls))


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
    status: str  # fetched | not_modified | failed
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


ITEMS_TAG = "items"
POLLS_TAG = "polls"
REJECTS_TAG = "rejects"


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


class _PollFeedFn(beam.DoFn):
    """Fetches and parses one feed; emits its new entries, its poll record and any reject."""

    def __init__(self, policy, cursors: dict, run_id: str, ingested_at: dt.datetime | None) -> None:
        self._policy = policy
        # feed URL -> FeedCursor of earlier runs: validators and the entries already seen.
        self._cursors = cursors
        self._run_id = run_id
        # None in a streaming job: each poll is stamped with its own time.
        self._ingested_at = ingested_at
        self._read = Metrics.counter(self.__class__, "read")
        self._new = Metrics.counter(self.__class__, "new_items")
        self._skipped = Metrics.counter(self.__class__, "skipped_seen_items")
        self._not_modified = Metrics.counter(self.__class__, "feeds_not_modified")
        self._failed = Metrics.counter(self.__class__, "feeds_failed")

    def setup(self) -> None:
        from transforms.fetch import Fetcher

        self._fetcher = Fetcher(self._policy)
        self._seen_sets = {url: frozenset(cursor.seen) for url, cursor in self._cursors.items()}

    def teardown(self) -> None:
        self._fetcher.close()

    def process(self, feed_url: str) -> Iterator:
        cursor = self._cursors.get(feed_url)
        yield from self.poll(
            feed_url,
            cursor.etag if cursor else None,
            cursor.last_modified if cursor else None,
            self._seen_sets.get(feed_url, frozenset()),
        )

    def poll(self, feed_url: str, etag: str | None, last_modified: str | None, seen: frozenset) -> Iterator:
        polled_at = _now().isoformat()
        result = self._fetcher.fetch(feed_url, kind="feed", etag=etag, last_modified=last_modified)
        if result.not_modified:
            self._not_modified.inc()
            yield beam.pvalue.TaggedOutput(
                POLLS_TAG,
                FeedPoll(feed_url, "not_modified", polled_at, etag=etag, last_modified=last_modified),
            )
            return
        if result.error:
            yield from self._failure(feed_url, polled_at, result.error, result.detail, result.retry_after)
            return
        try:
            parsed = parse_feed(result.content or b"", result.final_url, encoding=result.encoding)
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

    def __init__(self, policy, cursors: dict, run_id: str, min_interval: float, max_interval: float) -> None:
        super().__init__(policy, cursors, run_id, None)
        self._min_interval = min_interval
        self._max_interval = max_interval
        self._not_due = Metrics.counter(self.__class__, "feeds_not_due")

    def process(self, keyed: tuple[str, object], cursor_state=beam.DoFn.StateParam(CURSOR)) -> Iterator:  # noqa: B008
        from transforms.state import FeedCursor, advance_cursor

        feed_url, _ = keyed
        cursor = cursor_state.read() or self._cursors.get(feed_url) or FeedCursor()
        now = _now()
        if not cursor.due(now, self._max_interval):
            self._not_due.inc()
            return
        for output in self.poll(feed_url, cursor.etag, cursor.last_modified, frozenset(cursor.seen)):
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
    """Feed URLs to new feed entries (``items``), poll records (``polls``) and ``rejects``.

    ``cursors`` maps a feed URL to its ``FeedCursor`` from earlier runs: conditional GETs,
    and entries already ingested are skipped. Given ``stream_intervals`` (min, max
    seconds), the input is ``(feed_url, tick)`` pairs of a streaming job and cursors
    move on in keyed state between polls.
    """

    def __init__(
        self,
        policy,
        cursors: dict,
        run_id: str,
        ingested_at: dt.datetime | None,
        *,
        stream_intervals: tuple[float, float] | None = None,
    ) -> None:
        super().__init__()
        if stream_intervals:
            self._fn = _PollFeedStatefulFn(policy, cursors, run_id, *stream_intervals)
        else:
            self._fn = _PollFeedFn(policy, cursors, run_id, ingested_at)

    def expand(self, feed_urls):
        return feed_urls | "FetchAndParseFeeds" >> beam.ParDo(self._fn).with_outputs(
            POLLS_TAG, REJECTS_TAG, main=ITEMS_TAG
        )
