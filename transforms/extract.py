"""Extract the article body and its metadata from one news HTML page.

Consumes a fetched page (``bytes`` as downloaded, or ``str``) and its URL; emits an
``ExtractedPage`` or ``None`` when the page holds no article body (empty, not HTML, no main
content). Bad input never raises: the caller records a reject. Pure Python, no Beam here.

Sample element::

    extract_article(b"<html lang='en'><head><title>Rates rise</title>...", "https://example.com/a")
    -> ExtractedPage(text="The central bank raised rates on Tuesday ...\\n\\nEconomists had expected ...",
                     title="Rates rise", author="Jane Doe", published="2024-03-01T09:30:00+00:00",
                     sitename="Example News", language="en", categories=("Business",), tags=(),
                     description="The bank moved ...", canonical_url="https://example.com/a")

How: trafilatura in precision mode (comments off) with its metadata, then generic repairs:
embedded social posts are pruned before extraction, the body keeps one paragraph per block, the
title repeated at the top, in-article boilerplate lines (ads, newsletter and subscription
prompts, photo credits, related-link headings, author bios) are dropped, and a live blog whose
updates only its schema.org data carries gets them back. A balanced-mode retry runs only when
precision mode keeps almost nothing of the page's paragraph text.
"""

from __future__ import annotations

import codecs
import dataclasses
import itertools
import json
import logging
import re
from collections.abc import Iterator
from html import unescape
from typing import Any
from urllib.parse import urljoin, urlsplit

import apache_beam as beam
import lxml.etree
import trafilatura
from apache_beam.metrics import Metrics
from charset_normalizer import from_bytes
from dateutil.parser import isoparse
from lxml.html import HtmlElement

from schemas.records import Article, Reject
from transforms.core.page_meta import lead_image, site_name
from transforms.core.urls import canonical_url

_LOGGER = logging.getLogger(__name__)
# What lxml, the charset codecs and trafilatura's heuristics raise on malformed input.
_BAD_INPUT_ERRORS = (ValueError, TypeError, LookupError, AttributeError, RecursionError, lxml.etree.LxmlError)
_FAILURES = itertools.count()


@dataclasses.dataclass(frozen=True)
class ExtractedPage:
    """What one page yields: the body text (paragraphs split by a blank line) and its metadata."""

    text: str
    title: str | None
    author: str | None
    published: str | None
    sitename: str | None
    language: str | None
    categories: tuple[str, ...]
    tags: tuple[str, ...]
    description: str | None
    canonical_url: str | None
    # The lead image, absolute (transforms.core.page_meta).
    image: str | None = None


# Pages above this are not articles (trafilatura's own MAX_FILE_SIZE default is 20 MB); refusing
# them early bounds the parser's memory on a worker.
MAX_HTML_BYTES = 20_000_000
# Below this many characters of body there is no article (a caption, a paywall stub, an error page).
MIN_BODY_CHARS = 100
# Precision mode sometimes keeps only an intro when a page splits its body over sibling
# containers (live blogs). Retry in balanced mode when the body is under this share of the
# page's <p> text: precision-correct pages on the dev set keep >= 0.26 of it, the broken ones 0.02.
RETRY_BODY_SHARE = 0.15
# A live blog's schema.org updates are appended when fewer than this share of them is already in
# the body (the updates were rendered by script, or trafilatura kept only the intro).
LIVE_UPDATES_PRESENT_SHARE = 0.5
# Author bios and closing boilerplate sit in the last few blocks of a body.
TAIL_BLOCKS = 3
# A closing author bio is a few sentences; the byline's surname is among its first words
# ("CNBC's Julia Boorstin is ...").
MAX_BIO_CHARS = 600
BIO_NAME_WORDS = 6
# Teasers in a reading list (a headline, a one-line summary) are shorter than this; the dev set's
# summaries run to 230 characters, while an article paragraph that resumes after a list is longer.
MAX_TEASER_CHARS = 280
# Up to one undecodable byte per this many is a UTF-8 page with stray bytes, not another charset.
STRAY_BYTES_PER = 10_000
# Boilerplate lines are short; a long paragraph that happens to start with "Subscribe" is prose.
MAX_BOILERPLATE_CHARS = 250

# Embedded posts from social networks: quoted inside articles but not written by the publisher.
# The classes are the ones the networks' own embed snippets set on the <blockquote>: any site.
_EMBED_CLASS_RE = re.compile(
    r"twitter-tweet|twitter-video|instagram-media|tiktok-embed|reddit-card|bluesky-embed|threads-post|"
    r"fb-xfbml"
)

_CHARSET_RE = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([a-zA-Z0-9_:.-]+)""", re.IGNORECASE)
_XML_ENCODING_RE = re.compile(rb"""^<\?xml[^>]+encoding\s*=\s*["']([a-zA-Z0-9_.-]+)""")
# Labels browsers decode as a superset (WHATWG Encoding Standard): latin-1 pages routinely hold
# cp1252 quotes, gb2312 pages gbk characters.
_ENCODING_SUPERSETS = {
    "iso-8859-1": "cp1252",
    "latin-1": "cp1252",
    "latin1": "cp1252",
    "us-ascii": "cp1252",
    "ascii": "cp1252",
    "iso-8859-9": "cp1254",
    "tis-620": "cp874",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "euc-kr": "cp949",
    "ks_c_5601-1987": "cp949",
    "shift_jis": "cp932",
    "x-sjis": "cp932",
}

# Body tree tags (trafilatura's own and HTML, for readability's output): containers are walked,
# rows join their cells, skipped ones carry no body text; everything else is one block.
_CONTAINER_TAGS = frozenset(
    ("body", "div", "section", "article", "main", "header", "footer", "aside", "figure")
    + ("list", "ul", "ol", "dl", "table", "tbody", "thead", "tfoot", "quote", "blockquote")
)
_ROW_TAGS = frozenset(("row", "tr"))
_SKIPPED_TAGS = frozenset(("graphic", "img", "script", "style", "noscript", "svg", "button", "form"))
_BLOCK_TAGS = frozenset(
    ("p", "head", "item", "li", "h1", "h2", "h3", "h4", "h5", "h6")
    + ("pre", "code", "dd", "dt", "figcaption", "caption")
)
_STRUCTURE_TAGS = tuple(_CONTAINER_TAGS | _ROW_TAGS | _BLOCK_TAGS)
_TITLE_SEPARATORS = (" | ", " - ", " – ", " — ", " :: ", " · ")
# An author field holding a link or a bare domain, not a name ("CNBC.com staff" is a name).
_URLISH_RE = re.compile(r"https?:|www\.|^\S+\.(?:com|org|net|co\.uk)\S*$", re.IGNORECASE)
# schema.org types whose author is the article's author (not a page's or a video's).
_ARTICLE_TYPES = {
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
}
# Keyword lists are comma-separated; a category may hold ", " itself ("Waste, Fraud & Abuse") but
# a CMS that joins several writes them without a space ("Opinion,Reported Opinion").
_TAG_SPLIT_RE = re.compile(r",")
_CATEGORY_SPLIT_RE = re.compile(r",(?!\s)")
_WS_RE = re.compile(r"[ \t\r\f\v\u00a0\u2000-\u200b\u202f\u205f\u3000]+")
_WORD_RE = re.compile(r"\w+")

# Whole-line boilerplate left inside article containers. Phrases, not site names: each is a
# stock formula of news CMSs (ads, reading links, sharing, credits, newsletter and subscription
# prompts). Only whole lines of at most MAX_BOILERPLATE_CHARS are tested, so prose survives.
_BOILERPLATE_LINE_RE = re.compile(
    r"""^(?:
        (?:advertisement|advertising|ad|sponsored(?:\s+content)?|promoted(?:\s+content)?|
           skip\s+advert(?:isement)?|scroll\s+to\s+continue.*|
           story\s+continues\s+(?:below|after)(?:\s+(?:this\s+)?(?:advertisement|ad))?|
           continue\s+reading(?:\s+(?:below|the\s+main\s+story))?|
           read\s+more|read\s+next|see\s+also|also\s+read|
           related|related\s+(?:articles?|stories|content|coverage|links?|topics?|videos?)|
           watch|watch\s+(?:below|now|more|here)|listen(?:\s+to\s+(?:this|the)\s+(?:article|story))?|
           share(?:\s+this)?(?:\s+(?:article|story))?|copy\s+link|link\s+copied|print|email|
           _+|—+|-{3,}|\*{3,}
        )[.:!…\s]*
      | (?:read\s+more|read\s+next|see\s+also|also\s+read|related|more|watch|listen|recommended|trending)
        \s*(?:[:|»>]|\.\.\.|…).*
      | related\s+videos?\s*:.*
      | (?:photo(?:graph)?|image|picture|video|main\s+image|top\s+image)?\s*credits?\s*:.*
      | photograph\s*:.*
      | (?:our|editorial)\s+standards\s*:.*
      | (?:©|\(c\)|copyright\s*(?:©|\(c\))?\s*(?:\d{4}|by\b)).*
      | .*\ball\s+rights\s+reserved\b.*
      | (?:sign\s+up|subscribe|register|join|download|click\s+here|tap\s+here|want\s+to|
           already\s+a\s+subscriber|don['’]t\s+miss|never\s+miss|enjoy(?:ed)?\s+this|
           like\s+this\s+(?:article|story)|
           get\s+(?:our|the\s+latest|breaking|unlimited|full|free|access))\b
        .*\b(?:newsletters?|subscri\w+|premium|(?:our|the)\s+app|commenting|comment\s+forum|
           conversations?|bookmark\w*|inbox|log\s*in|sign\s+in|(?:news|breaking|email)\s+alerts?|
           podcasts?|whatsapp|telegram)\b.*
    )$""",
    re.IGNORECASE | re.VERBOSE,
)
# Headings of the reading lists that follow an article; the teasers after one are dropped.
_TRAILER_HEADING_RE = re.compile(
    r"^(?:more\s+(?:from\s+.{1,40}|on\s+this\s+(?:story|topic)|stories|news|like\s+this)|popular|"
    r"most\s+(?:popular|read|viewed|shared)|recommended(?:\s+for\s+you)?|"
    r"you\s+(?:may|might)\s+also\s+(?:like|enjoy)|"
    r"trending(?:\s+now)?|related\s+(?:articles|stories|coverage|content)|latest\s+(?:news|stories)|"
    r"editor['’]s\s+picks?|top\s+stories)[.:!\s]*$",
    re.IGNORECASE,
)
# A closing author bio: "Jane Doe is a reporter for ...", "X's Jane Doe is the author of ...".
_AUTHOR_BIO_RE = re.compile(
    r"^(?:\S+['’]s\s+)?(?:[A-Z][\w.'’-]*\s+){1,4}(?:is|was|has\s+been)\s+(?:a|an|the)\s+"
    r"(?:[\w-]+\s+){0,4}(?:writer|reporter|editor|correspondent|journalist|columnist|contributor|author|"
    r"producer|intern|fellow|critic|anchor|novelist|commentator)s?\b",
)


def extract_article(html: str | bytes, url: str | None = None) -> ExtractedPage | None:
    """Extract the article of one page, or None when it holds none (never raises on bad input)."""
    try:
        return _extract(html, url)
    except _BAD_INPUT_ERRORS as err:
        # Parsers and heuristics meet hostile input here (binary junk, broken markup, absurd
        # nesting): the page is a reject for the caller, not a crashed bundle. One sample is
        # logged per process; the caller counts the rejects.
        log = _LOGGER.warning if next(_FAILURES) == 0 else _LOGGER.debug
        log("extraction failed for %s: %r", url, err)
        return None


def _extract(html: str | bytes, url: str | None) -> ExtractedPage | None:
    if not html or len(html) > MAX_HTML_BYTES:
        return None
    markup = decode_html(html) if isinstance(html, bytes) else html
    if "<" not in markup[:4096]:
        return None  # plain text, JSON, binary: not a page
    tree = trafilatura.load_html(markup)
    if tree is None:
        return None
    facts = _scan_page(tree)

    options: dict[str, Any] = {"url": url, "include_comments": False}
    # First pass: precision mode without the referee cascade (readability and jusText run on
    # a pruned copy of the whole page, about half of trafilatura's time). The retry below
    # brings the cascade in where this pass keeps too little; on the 80 pages of html_dev
    # every body comes out the same as with the cascade on every page, in 0.72x the time.
    doc = trafilatura.bare_extraction(tree, favor_precision=True, fast=True, with_metadata=True, **options)
    paragraphs = _body_paragraphs(doc.body) if doc is not None and doc.body is not None else []
    paragraphs = _add_live_updates(paragraphs, facts.ld_objects)

    if doc is None or _body_chars(paragraphs) < RETRY_BODY_SHARE * facts.paragraph_chars:
        # Precision mode kept nothing or a fragment: the balanced cascade (external extractors
        # as referees) finds bodies split over sibling containers.
        retry = trafilatura.bare_extraction(tree, with_metadata=doc is None, **options)
        if retry is not None and retry.body is not None:
            retry_paragraphs = _body_paragraphs(retry.body)
            if _body_chars(retry_paragraphs) > _body_chars(paragraphs):
                paragraphs = retry_paragraphs
                doc = doc or retry
    if doc is None:
        return None

    sitename = _sitename(doc.sitename, facts)
    title = _title(doc.title, sitename)
    author = _author(doc.author, sitename, facts)
    paragraphs = _clean_paragraphs(paragraphs, title, author)
    if _body_chars(paragraphs) < MIN_BODY_CHARS:
        return None

    return ExtractedPage(
        text="\n\n".join(paragraphs),
        title=title,
        author=author,
        published=_published(doc.date, facts),
        sitename=sitename,
        language=_language(tree, facts),
        categories=_unique(doc.categories, _CATEGORY_SPLIT_RE),
        tags=_unique(doc.tags, _TAG_SPLIT_RE),
        description=_clean_field(doc.description),
        canonical_url=_canonical_url(facts, url),
        image=lead_image(facts.meta, _ld_articles(facts), tree, url),
    )


def decode_html(raw: bytes) -> str:
    """Decode page bytes: BOM, valid UTF-8, the declared charset, near-UTF-8, then a detector's guess.

    UTF-8 is tried before the declaration because pages served as UTF-8 that still declare
    latin-1 are common, while non-UTF-8 text that happens to be valid UTF-8 is vanishingly rare.
    """
    for bom, encoding in (
        (codecs.BOM_UTF8, "utf-8"),
        (codecs.BOM_UTF16_LE, "utf-16-le"),
        (codecs.BOM_UTF16_BE, "utf-16-be"),
    ):
        if raw.startswith(bom):
            return raw[len(bom) :].decode(encoding, errors="replace")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as err:
        if err.start >= len(raw) - 3:
            # A download cut inside a multi-byte character: everything before it is UTF-8.
            return raw[: err.start].decode("utf-8")
    declared = _declared_charset(raw[:4096])
    if declared and codecs.lookup(declared).name != "utf-8":
        try:
            return raw.decode(declared)
        except UnicodeDecodeError:
            _LOGGER.debug("declared charset %s does not decode the page", declared)
    text = raw.decode("utf-8", errors="replace")
    if text.count("\ufffd") <= max(3, len(raw) // STRAY_BYTES_PER):
        return text  # UTF-8 with a few stray bytes (a pasted cp1252 quote): mojibake elsewhere is worse
    # The detector is slow on whole pages: a head and a tail sample see both markup and text.
    sample = raw if len(raw) < 20_000 else raw[:10_000] + raw[-10_000:]
    guess = from_bytes(sample).best()
    if guess is not None and guess.encoding:
        try:
            return raw.decode(guess.encoding)
        except (LookupError, UnicodeDecodeError):
            _LOGGER.debug("guessed charset %s does not decode the page", guess.encoding)
    return text


def _declared_charset(head: bytes) -> str | None:
    match = _XML_ENCODING_RE.search(head) or _CHARSET_RE.search(head)
    if not match:
        return None
    label = match.group(1).decode("ascii", errors="ignore").strip().lower()
    label = _ENCODING_SUPERSETS.get(label, label)
    try:
        # UTF-16 declared inside bytes that carried no BOM is a lie: the markup itself is ASCII.
        return None if codecs.lookup(label).name.startswith("utf-16") else label
    except LookupError:
        return None


def _body_paragraphs(body: HtmlElement) -> list[str]:
    """One string per block of the extracted body: paragraph, heading, list item, table row.

    The body is trafilatura's flat tree, or a nested HTML subtree when its readability fallback
    won the comparison: containers are walked, blocks are read whole.
    """
    for line_break in body.iter("lb", "br"):
        line_break.tail = "\n" + (line_break.tail or "")
    paragraphs: list[str] = []
    _collect_blocks(body, paragraphs)
    return paragraphs


def _collect_blocks(element: HtmlElement, paragraphs: list[str]) -> None:
    tag = element.tag if isinstance(element.tag, str) else ""
    if tag in _SKIPPED_TAGS:
        return
    if tag in _ROW_TAGS:
        cells = (_normalize(" ".join(cell.itertext())) for cell in element)
        _append(paragraphs, " ".join(cell for cell in cells if cell))
    elif tag in _CONTAINER_TAGS and any(True for _ in element.iterdescendants(*_STRUCTURE_TAGS)):
        _append(paragraphs, element.text)
        for child in element:
            _collect_blocks(child, paragraphs)
            _append(paragraphs, child.tail)
    else:
        # A block, or a container holding only inline markup: its whole text is one paragraph.
        _append(paragraphs, "".join(element.itertext()))


def _append(paragraphs: list[str], text: str | None) -> None:
    text = _normalize(text) if text else ""
    if text:
        paragraphs.append(text)


def _normalize(text: str) -> str:
    lines = (_WS_RE.sub(" ", line).strip() for line in text.split("\n"))
    return "\n".join(line for line in lines if line)


def _body_chars(paragraphs: list[str]) -> int:
    return sum(len(paragraph) for paragraph in paragraphs)


def _clean_paragraphs(paragraphs: list[str], title: str | None, author: str | None) -> list[str]:
    """Drop the repeated title, boilerplate lines, trailing reading lists and closing author bios."""
    kept: list[str] = []
    title_key = _key(title) if title else ""
    in_teasers = False
    for paragraph in paragraphs:
        key = _key(paragraph)
        if not key:
            continue
        if not kept and title_key and (key == title_key or (len(key) > 20 and key in title_key)):
            continue  # the headline printed above the body is not body
        if _TRAILER_HEADING_RE.match(paragraph):
            # "More from ...", "Most read": a reading list follows, teaser by teaser (a title, a
            # one-line summary) until the article resumes with a real paragraph or ends.
            in_teasers = True
            continue
        if in_teasers and len(paragraph) < MAX_TEASER_CHARS:
            continue
        in_teasers = False
        lines = [line for line in paragraph.split("\n") if not _is_boilerplate(line)]
        if lines:
            kept.append("\n".join(lines))
    # Bios close the article; checking only the tail keeps a profile's first sentence safe.
    while len(kept) > 1:
        bio = next((p for p in reversed(kept[-TAIL_BLOCKS:]) if _is_author_bio(p, author)), None)
        if bio is None:
            break
        kept.remove(bio)
    return kept


def _is_author_bio(paragraph: str, author: str | None) -> bool:
    """A short "Jane Doe is a reporter ..." about the byline's author (any writer if none is known).

    Matching the byline's surname keeps a closing sentence about someone in the story.
    """
    if len(paragraph) > MAX_BIO_CHARS or not _AUTHOR_BIO_RE.match(paragraph):
        return False
    surnames = {name.split()[-1].casefold() for name in re.split(r";|\band\b", author or "") if name.strip()}
    opening = {word.casefold() for word in _WORD_RE.findall(paragraph)[:BIO_NAME_WORDS]}
    return not surnames or bool(surnames & opening)


def _is_boilerplate(line: str) -> bool:
    return len(line) <= MAX_BOILERPLATE_CHARS and bool(_BOILERPLATE_LINE_RE.match(line.strip()))


def _key(text: str) -> str:
    return " ".join(_WORD_RE.findall(text.casefold()))


@dataclasses.dataclass
class _PageFacts:
    """What one pass over the raw tree learns, besides what trafilatura reports."""

    meta: dict[str, list[str]] = dataclasses.field(default_factory=dict)
    canonical: list[str] = dataclasses.field(default_factory=list)
    ld_objects: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    # The page's <p> text: the yardstick for a body that came out too short.
    paragraph_chars: int = 0


def _scan_page(tree: HtmlElement) -> _PageFacts:
    """Collect meta tags, canonical links, JSON-LD and <p> text in one walk; drop social embeds.

    One C-level ``iter`` over the tags of interest is several times cheaper than an XPath per field.
    """
    facts = _PageFacts()
    embeds: list[HtmlElement] = []
    for element in tree.iter("meta", "link", "script", "blockquote", "p"):
        tag = element.tag
        if tag == "p":
            facts.paragraph_chars += len(element.text_content())
        elif tag == "meta":
            name = (
                element.get("property")
                or element.get("name")
                or element.get("itemprop")
                or element.get("http-equiv")
            )
            content = element.get("content")
            if name and content:
                facts.meta.setdefault(name.strip().lower(), []).append(content.strip())
        elif tag == "link":
            if "canonical" in (element.get("rel") or "").lower().split() and element.get("href"):
                facts.canonical.append(element.get("href", "").strip())
        elif tag == "script":
            if (element.get("type") or "").strip().lower() == "application/ld+json":
                facts.ld_objects.extend(_json_ld(element.text or ""))
        elif _EMBED_CLASS_RE.search(element.get("class") or ""):
            embeds.append(element)
    for element in embeds:
        # Keep the tail: it is the text that follows the embed in the surrounding paragraph.
        element.drop_tree()
    return facts


def _json_ld(text: str) -> list[dict[str, Any]]:
    """The objects of one JSON-LD script, flattened out of lists and @graph."""
    try:
        data = json.loads(text)
    except ValueError:
        return []  # sites ship broken JSON-LD; it is optional metadata
    objects: list[dict[str, Any]] = []
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(reversed(item))  # keep document order: the article comes first
        elif isinstance(item, dict):
            objects.append(item)
            if isinstance(item.get("@graph"), list):
                stack.extend(reversed(item["@graph"]))
    return objects


def _ld_types(obj: dict[str, Any]) -> set[str]:
    kind = obj.get("@type")
    if isinstance(kind, str):
        return {kind}
    return {k for k in kind if isinstance(k, str)} if isinstance(kind, list) else set()


def _add_live_updates(paragraphs: list[str], ld_objects: list[dict[str, Any]]) -> list[str]:
    """Append a live blog's updates from its schema.org data when the body lacks most of them.

    Live blogs often render their updates by script, or in sibling containers trafilatura does
    not join; ``LiveBlogPosting.liveBlogUpdate`` carries each one's headline and text.
    """
    updates: list[tuple[str, str]] = []
    for obj in ld_objects:
        if "LiveBlogPosting" not in _ld_types(obj):
            continue
        raw_updates = obj.get("liveBlogUpdate")
        for update in raw_updates if isinstance(raw_updates, list) else [raw_updates]:
            if isinstance(update, dict) and isinstance(update.get("articleBody"), str):
                headline = update.get("headline")
                updates.append((headline if isinstance(headline, str) else "", update["articleBody"]))
    if not updates:
        return paragraphs
    body_key = _key(" ".join(paragraphs))
    present = sum(1 for _, text in updates if _key(text)[:200] in body_key)
    if present >= LIVE_UPDATES_PRESENT_SHARE * len(updates):
        return paragraphs
    added = list(paragraphs)
    for headline, text in updates:
        if _key(text)[:200] in body_key:
            continue
        if headline.strip():
            added.append(_normalize(headline))
        added.extend(block for block in (_normalize(b) for b in text.split("\n\n")) if block)
    return added


def _published(htmldate_value: str | None, facts: _PageFacts) -> str | None:
    """The original publication date, as the article's own metadata states it.

    The article's schema.org ``datePublished`` and ``article:published_time`` are explicit and
    carry a time; htmldate (original date, via trafilatura) is the fallback and reports a day.
    It can pick a print-issue date a week after the web publication, so it comes second.
    """
    candidates = [o["datePublished"] for o in _ld_articles(facts) if isinstance(o.get("datePublished"), str)]
    for name in ("article:published_time", "datepublished", "og:published_time"):
        candidates += facts.meta.get(name, [])
    for candidate in candidates:
        stamp = _iso_timestamp(candidate)
        if stamp:
            return stamp
    return htmldate_value


def _iso_timestamp(value: str) -> str | None:
    """The value as ISO 8601 (a date stays a date), or None when it is not an ISO timestamp."""
    value = value.strip()
    try:
        parsed = isoparse(value)
    except (ValueError, OverflowError):
        return None
    return parsed.isoformat() if len(value) > 10 else parsed.date().isoformat()


def _language(tree: HtmlElement, facts: _PageFacts) -> str | None:
    """The declared language as an ISO 639-1 style primary subtag ("en-GB" -> "en")."""
    values = [tree.get("lang") or "", tree.get("{http://www.w3.org/XML/1998/namespace}lang") or ""]
    values += facts.meta.get("content-language", []) + facts.meta.get("og:locale", [])
    for value in values:
        primary = re.split(r"[-_,;\s]", value.strip().lower(), maxsplit=1)[0]
        if 2 <= len(primary) <= 3 and primary.isalpha():
            return primary
    return None


def _canonical_url(facts: _PageFacts, url: str | None) -> str | None:
    """``<link rel=canonical>``, else ``og:url``, made absolute against the page URL."""
    for value in facts.canonical + facts.meta.get("og:url", []):
        if not value or value.startswith(("javascript:", "#")):
            continue
        absolute = urljoin(url, value) if url else value
        if absolute.startswith(("http://", "https://")):
            return absolute
    return None


def _clean_field(value: str | None) -> str | None:
    value = _WS_RE.sub(" ", value).strip() if value else None
    return value or None


def _sitename(found: str | None, facts: _PageFacts) -> str | None:
    """The site's own name: ``og:site_name`` beats trafilatura's guess (often a tagline or host)."""
    declared = facts.meta.get("og:site_name", [])
    return _clean_field(declared[0] if declared else found)


def _title(title: str | None, sitename: str | None) -> str | None:
    """The headline without a trailing "| Site name ..." that some pages put in every title."""
    title = _clean_field(title)
    if not title or not sitename:
        return title
    for separator in _TITLE_SEPARATORS:
        cut = title.casefold().find(f"{separator}{sitename.casefold()}")
        if cut > 0 and len(title[:cut].split()) >= 2:
            return title[:cut].strip()
    return title


def _author(found: str | None, sitename: str | None, facts: _PageFacts) -> str | None:
    """Authors as "A; B": the article's typed bylines first, else trafilatura's guess, cleaned.

    ``article:author`` and schema.org ``Person`` authors name people; the plain ``author`` meta
    that trafilatura also reads often names the publisher ("Condé Nast") or holds a URL.
    """
    names = list(facts.meta.get("article:author", []))
    for obj in _ld_articles(facts):
        people = obj.get("author")
        for person in people if isinstance(people, list) else [people]:
            if isinstance(person, dict) and "Organization" not in _ld_types(person):
                person = person.get("name")
            if isinstance(person, str):
                names.append(unescape(person))
    site = (sitename or "").casefold()

    def real_names(candidates: list[str]) -> list[str]:
        cleaned = (_clean_field(name) for name in candidates)
        return [n for n in cleaned if n and n.casefold() != site and not _URLISH_RE.search(n)]

    kept = real_names(names) or real_names((found or "").split(";"))
    return "; ".join(dict.fromkeys(kept)) or None


def _ld_articles(facts: _PageFacts) -> list[dict[str, Any]]:
    """The JSON-LD objects that describe the article itself (not the page, a video or the site)."""
    return [obj for obj in facts.ld_objects if _ld_types(obj) & _ARTICLE_TYPES]


def _unique(values: list[str] | None, separator: re.Pattern[str]) -> tuple[str, ...]:
    """Trafilatura's categories or tags as a tuple, split where a page joined them, without repeats."""
    seen: dict[str, str] = {}
    for value in values or ():
        for part in separator.split(value):
            part = _WS_RE.sub(" ", part).strip()
            # One-letter keywords are CMS debris, not tags.
            if len(part) > 1 and part.casefold() not in seen:
                seen[part.casefold()] = part
    return tuple(seen.values())


# --- Beam wrapper below ---
REJECTS_TAG = "rejects"


def with_page(article: Article, page: ExtractedPage) -> Article:
    """An article's fields filled from its extracted page; what the source stated wins."""
    return dataclasses.replace(
        article,
        html=None,
        text=page.text,
        title=article.title or page.title,
        author=article.author or page.author,
        url=article.url or page.canonical_url,
        language=article.language or page.language,
        categories=article.categories or tuple(dict.fromkeys(page.categories + page.tags))[:20],
        date_candidates=article.date_candidates + (((page.published, "html"),) if page.published else ()),
        summary=article.summary or page.description,
        canonical_url=canonical_url(_page_canonical(article.url, page.canonical_url)),
        # The page names its site better than a feed's title does.
        site_name=site_name(page.sitename, article.site_name, article.url),
        image=page.image,
    )


def _page_canonical(url: str | None, declared: str | None) -> str | None:
    """The page's own canonical link, trusted only on the host it was fetched from."""
    if not declared or not url:
        return declared or url

    def host(value: str) -> str:
        netloc = urlsplit(value).netloc.lower()
        return netloc[4:] if netloc.startswith("www.") else netloc

    return declared if host(declared) == host(url) else url


def extract_document(article: Article) -> Article | Reject:
    """The extract stage for one document: HTML to text and metadata, else the feed's
    text, else a reject; every article leaves with its canonical URL set."""
    if article.html is not None:
        page = extract_article(article.html, article.url)
        if page is not None:
            article = with_page(article, page)
        elif article.fallback:
            text, source = article.fallback
            article = dataclasses.replace(article, html=None, text=text, text_source=source)
        else:
            return Reject(
                article.source,
                article.url,
                "extract",
                "no_article_body",
                f"no main text found in {len(article.html)} characters of HTML",
                article.run_id,
                article.ingested_at,
            )
    canonical = article.canonical_url or canonical_url(article.url)
    return dataclasses.replace(article, canonical_url=canonical, fallback=None)


class _ExtractFn(beam.DoFn):
    def __init__(self) -> None:
        self._extracted = Metrics.counter(self.__class__, "extracted")
        self._rejected = Metrics.counter(self.__class__, "rejected_no_article_body")
        self._fallbacks = Metrics.counter(self.__class__, "fell_back_to_feed_text")

    def process(self, article: Article) -> Iterator:
        result = extract_document(article)
        if isinstance(result, Reject):
            self._rejected.inc()
            yield beam.pvalue.TaggedOutput(REJECTS_TAG, result)
            return
        if article.html is not None:
            (self._extracted if result.text_source == article.text_source else self._fallbacks).inc()
        yield result


class ExtractArticles(beam.PTransform):
    """HTML to text and metadata with trafilatura; text documents pass through."""

    def expand(self, articles):
        return articles | "ExtractHtml" >> beam.ParDo(_ExtractFn()).with_outputs(REJECTS_TAG, main="articles")
