"""Extract the article body and its metadata from one news HTML page.

Consumes a fetched page (``bytes`` as downloaded, or ``str``) and its URL; emits an
``ExtractedPage`` or ``None`` when the page holds no article body (empty, not HTML, no main
content). Bad input never raises: the caller records a reject. Pure Python, no Beam here.

Sample element::

    extract_article(b"<html lang='en'><head><title>Rates rise</title>...", "https://example.com/a")
    -> ExtractedPage(text="Rates rise\\n\\nThe central bank raised rates on Tuesday ...",
                     title="Rates rise", author="Jane Doe", published="2024-03-01T09:30:00+00:00",
                     sitename="Example News", language="en", categories=("Business",), tags=(),
                     description="The bank moved ...", canonical_url="https://example.com/a",
                     date_candidates=(("2024-03-01T09:30:00+00:00", "html"),), modified=None)

How. The body is trafilatura's, chosen between two of its extractions and repaired only where
the page's structure says so; lines are not judged here (the clean stage removes boilerplate
lines, each with its reason):

1. A page delivered as a fragment (no ``<html>``/``<body>``) is wrapped, so that it parses.
2. Precision mode with trafilatura's fallback cascade (readability, jusText) is the first
   candidate. When it covers too little of the page's own prose (the long text runs of any
   block, not only ``<p>``), it may be truncated: a recall-mode extraction is the second
   candidate, kept only when it covers clearly more of that prose and scores better
   (more sentence-like text, less link text).
3. Quoted social posts (``blockquote.twitter-tweet`` ...) stay in the body: they are quoted as
   part of the story. Headings, list items and table rows stay, one block a line.
4. A live blog whose updates only its schema.org data carries gets them back.
5. A closing bio of the byline's author ("Jane Doe is a reporter for ...") is dropped: it is
   matched against the page's own byline, which the clean stage does not know.

``extract_article(..., explain=True)`` also returns each decision and each dropped block with
its reason (``newsflow extract --explain`` prints them). Dates: ``transforms.core.dates.page_dates``.
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
from lxml.html import HtmlElement
from trafilatura import json_metadata
from trafilatura import metadata as trafilatura_metadata

from schemas.records import Article, Reject
from transforms.core.dates import ARTICLE_TYPES, page_dates, parse_datetime
from transforms.core.urls import canonical_url

_LOGGER = logging.getLogger(__name__)
# What lxml, the charset codecs and trafilatura's heuristics raise on malformed input.
_BAD_INPUT_ERRORS = (ValueError, TypeError, LookupError, AttributeError, RecursionError, lxml.etree.LxmlError)
_FAILURES = itertools.count()


@dataclasses.dataclass(frozen=True)
class Explanation:
    """Why the body is what it is: the decisions taken and the blocks dropped, with reasons."""

    decisions: tuple[str, ...] = ()
    # (reason, text) of each block left out: the other candidate's extra blocks, a bio.
    dropped: tuple[tuple[str, str], ...] = ()


@dataclasses.dataclass(frozen=True)
class ExtractedPage:
    """What one page yields: the body text (paragraphs split by a blank line) and its metadata."""

    text: str
    title: str | None
    author: str | None
    # The most trusted publication date the page states (ISO 8601 as stated), if any.
    published: str | None
    sitename: str | None
    language: str | None
    categories: tuple[str, ...]
    tags: tuple[str, ...]
    description: str | None
    canonical_url: str | None
    # Every publication date the page gives, most trusted first: (value, date_source).
    date_candidates: tuple[tuple[str, str], ...] = ()
    # The page's last revision as stated (``dateModified``, ``article:modified_time``).
    modified: str | None = None
    explanation: Explanation | None = None


# Pages above this are not articles (trafilatura's own MAX_FILE_SIZE default is 20 MB); refusing
# them early bounds the parser's memory on a worker.
MAX_HTML_BYTES = 20_000_000
# Below this many characters of body there is no article (a caption, a paywall stub, an error page).
MIN_BODY_CHARS = 100
# The page's prose: its text runs (between tags) of at least this many characters. Shorter runs
# are menus, buttons, captions and link lists; a paragraph split by links still has long runs.
PROSE_RUN_CHARS = 60
# TRUNCATED_COVERAGE, COVERAGE_GAIN, RESCUE_COVERAGE, LINK_PENALTY, SENTENCE_WORDS: tuned on
# ../shared/data/boilerplate/pages_train (html_dev as extra dev data), see the README's
# quality section; never on the validation pages.
# The first candidate may be truncated when it holds less than this share of the page's prose.
TRUNCATED_COVERAGE = 0.7
# Another candidate replaces the current one only when it holds at least this much more of the
# prose (and scores better).
COVERAGE_GAIN = 0.1
# Below this share of the prose after precision and recall, balanced mode is tried too.
RESCUE_COVERAGE = 0.2
# In a candidate's score, a character of link text (a block that is a link's text on the page)
# costs this many characters of sentence-like text.
LINK_PENALTY = 4.0
# A block of at least this many words that ends like a sentence counts fully in the score;
# other blocks count half.
SENTENCE_WORDS = 12
# Section headings longer than this are not headings; a heading's neighbours are matched to the
# body's blocks on this many characters of their words.
MAX_HEADING_CHARS = 150
HEADING_MATCH_CHARS = 60
# A live blog's schema.org updates are appended when fewer than this share of them is already in
# the body (the updates were rendered by script, or trafilatura kept only the intro).
LIVE_UPDATES_PRESENT_SHARE = 0.5
# Author bios close the article, in its last few blocks.
TAIL_BLOCKS = 3
# A closing author bio is a few sentences; the byline's surname is among its first words
# ("CNBC's Julia Boorstin is ...").
MAX_BIO_CHARS = 600
BIO_NAME_WORDS = 6
# Up to one undecodable byte per this many is a UTF-8 page with stray bytes, not another charset.
STRAY_BYTES_PER = 10_000
# Explanations quote this much of each dropped block.
EXPLAIN_CHARS = 200

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
    + (
        "list",
        "ul",
        "ol",
        "dl",
        "table",
        "tbody",
        "thead",
        "tfoot",
        "quote",
        "blockquote",
        "cell",
        "td",
        "th",
    )
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
# Keyword lists are comma-separated; a category may hold ", " itself ("Waste, Fraud & Abuse") but
# a CMS that joins several writes them without a space ("Opinion,Reported Opinion").
_TAG_SPLIT_RE = re.compile(r",")
_CATEGORY_SPLIT_RE = re.compile(r",(?!\s)")
_WS_RE = re.compile(r"[ \t\r\f\v\u00a0\u2000-\u200b\u202f\u205f\u3000]+")
_WORD_RE = re.compile(r"\w+")
# The end of a sentence-like block: a full stop, a question, a closing quote or bracket.
_SENTENCE_END_RE = re.compile(r"""[.!?…:;"'”’»)\]]\s*$""")
# Long text runs of the page, outside scripts (tested in Python: cheaper than an XPath predicate).
_PROSE_RUNS = lxml.etree.XPath(f"//body//text()[string-length(.) >= {PROSE_RUN_CHARS}]")
_NOT_TEXT_TAGS = frozenset(("script", "style", "noscript", "template", "textarea", "option"))
# A closing author bio: "Jane Doe is a reporter for ...", "X's Jane Doe is the author of ...".
_AUTHOR_BIO_RE = re.compile(
    r"^(?:\S+['’]s\s+)?(?:[A-Z][\w.'’-]*\s+){1,4}(?:is|was|has\s+been)\s+(?:a|an|the)\s+"
    r"(?:[\w-]+\s+){0,4}(?:writer|reporter|editor|correspondent|journalist|columnist|contributor|author|"
    r"producer|intern|fellow|critic|anchor|novelist|commentator)s?\b",
)


def extract_article(
    html: str | bytes, url: str | None = None, *, explain: bool = False, guess_date: bool = True
) -> ExtractedPage | None:
    """Extract the article of one page, or None when it holds none (never raises on bad input).

    With ``explain``, the page carries an ``Explanation`` of its decisions and dropped blocks.
    Without ``guess_date`` (the source dated the article already), htmldate's guess is skipped.
    """
    try:
        return _extract(html, url, _Trail() if explain else None, guess_date)
    except _BAD_INPUT_ERRORS as err:
        # Parsers and heuristics meet hostile input here (binary junk, broken markup, absurd
        # nesting): the page is a reject for the caller, not a crashed bundle. One sample is
        # logged per process; the caller counts the rejects.
        log = _LOGGER.warning if next(_FAILURES) == 0 else _LOGGER.debug
        log("extraction failed for %s: %r", url, err)
        return None


class _Trail:
    """Collects an explanation; extraction passes ``None`` instead when nobody asked."""

    def __init__(self) -> None:
        self.decisions: list[str] = []
        self.dropped: list[tuple[str, str]] = []

    def explanation(self) -> Explanation:
        return Explanation(tuple(self.decisions), tuple(self.dropped))


def _extract(
    html: str | bytes, url: str | None, trail: _Trail | None, guess_date: bool
) -> ExtractedPage | None:
    if not html or len(html) > MAX_HTML_BYTES:
        return None
    markup = decode_html(html) if isinstance(html, bytes) else html
    if "<" not in markup[:4096]:
        return None  # plain text, JSON, binary: not a page
    tree = trafilatura.load_html(markup)
    if (tree is None or tree.tag != "html") and markup.lstrip()[:1] == "<":
        # A fragment (a CMS export, a page saved without its frame: "<table>...</table>") is
        # refused or parsed as a lone element by trafilatura; in its frame it is a page.
        framed = trafilatura.load_html(f"<html><body>{markup}</body></html>")
        if framed is not None:
            tree = framed
            if trail:
                trail.decisions.append("fragment: the page has no <html> frame; parsed inside one")
    if tree is None:
        return None
    facts = _scan_page(tree)
    paragraphs = _body(tree, url, facts, trail)
    if paragraphs is None:
        return None
    found = _metadata(tree, facts)
    sitename = _sitename(found.sitename, facts)
    title = _title(found.title, sitename)
    author = _author(found.author, sitename, facts)
    paragraphs = _drop_author_bio(paragraphs, author, trail)
    if _body_chars(paragraphs) < MIN_BODY_CHARS:
        if trail:
            trail.decisions.append(f"no article: {_body_chars(paragraphs)} characters of body")
        return None
    text = "\n\n".join(paragraphs)
    dates = page_dates(tree, facts.meta, facts.ld_objects, url, text=text, guess=guess_date)
    if trail and dates.published:
        value, source = dates.published[0]
        trail.decisions.append(
            f"date: {value} from {source}" + (f" (modified {dates.modified})" if dates.modified else "")
        )
    return ExtractedPage(
        text=text,
        title=title,
        author=author,
        published=dates.published[0][0] if dates.published else None,
        sitename=sitename,
        language=_language(tree, facts),
        categories=_unique(found.categories, _CATEGORY_SPLIT_RE),
        tags=_unique(found.tags, _TAG_SPLIT_RE),
        description=_clean_field(found.description),
        canonical_url=_canonical_url(facts, url),
        date_candidates=dates.published,
        modified=dates.modified,
        explanation=trail.explanation() if trail else None,
    )


@dataclasses.dataclass
class _Candidate:
    mode: str
    paragraphs: list[str]
    # Share of the page's prose the candidate holds.
    coverage: float
    # Its sentence/link score (``_score``), computed when candidates are compared.
    score: float | None = None
    # Blocks appended from the page's schema.org live-blog updates, and section headings put back.
    live_updates: int = 0
    headings: int = 0


def _body(tree: HtmlElement, url: str | None, facts: _PageFacts, trail: _Trail | None) -> list[str] | None:
    """The body's blocks: precision mode; recall, then balanced mode where the body looks truncated."""
    chosen = _candidate(tree, url, "precision", facts)
    tried = [chosen]
    # Truncation suspected (or nothing found): recall mode reaches text in other containers,
    # <div>/<br> and table layouts; it also keeps more boilerplate, hence the comparison.
    if chosen is None or chosen.coverage < TRUNCATED_COVERAGE:
        tried.append(_candidate(tree, url, "recall", facts))
        chosen = _better(chosen, tried[-1], tree, facts)
        # Still a fragment of the page's prose: the whole article sits where neither looked.
        # Balanced mode escalates with its own recall retry and jusText over the whole page.
        if chosen is None or chosen.coverage < RESCUE_COVERAGE:
            tried.append(_candidate(tree, url, "balanced", facts))
            chosen = _better(chosen, tried[-1], tree, facts)
    if chosen is not None:
        chosen.paragraphs, chosen.headings = _restore_headings(chosen.paragraphs, tree)
    if trail:
        _explain_body(chosen, [c for c in tried if c is not None and c is not chosen], trail)
    return chosen.paragraphs if chosen is not None else None


def _restore_headings(paragraphs: list[str], tree: HtmlElement) -> tuple[list[str], int]:
    """Put back the section headings precision mode drops between two body blocks it kept.

    A heading (``h2``-``h6``) counts when the page's text right before it ends a block of the
    body and the text right after it starts the next one: it stands inside the article, not
    above a reading list or a teaser.
    """
    if len(paragraphs) < 2:
        return paragraphs, 0
    keys = [_key(p) for p in paragraphs]
    starts: dict[str, int] = {}
    for index, key in enumerate(keys):
        if key:
            starts.setdefault(key[:HEADING_MATCH_CHARS], index)
    present = set(keys)
    inserts: list[tuple[int, str]] = []
    for heading in tree.iter("h2", "h3", "h4", "h5", "h6"):
        text = _normalize(heading.text_content())
        key = _key(text)
        if not key or key in present or len(text) > MAX_HEADING_CHARS or "\n" in text:
            continue
        following, preceding = _sibling_text(heading, preceding=False), _sibling_text(heading, preceding=True)
        index = starts.get(following[:HEADING_MATCH_CHARS]) if following else None
        if index and keys[index - 1] and keys[index - 1][-HEADING_MATCH_CHARS:] in preceding:
            inserts.append((index, text))
            present.add(key)
    restored = list(paragraphs)
    for index, text in sorted(inserts, reverse=True):
        restored.insert(index, text)
    return restored, len(inserts)


def _sibling_text(element: HtmlElement, *, preceding: bool) -> str:
    """The text (as ``_key``) of the nearest sibling before or after ``element`` that has any."""
    for sibling in element.itersiblings(preceding=preceding):
        if isinstance(sibling.tag, str):
            key = _key(sibling.text_content())
            if key:
                return key
    return ""


def _better(
    current: _Candidate | None, other: _Candidate | None, tree: HtmlElement, facts: _PageFacts
) -> _Candidate | None:
    """``other`` when it holds clearly more of the page's prose and scores better, else ``current``."""
    if other is None:
        return current
    if current is None:
        return other
    if other.coverage < current.coverage + COVERAGE_GAIN:
        return current
    links = _link_texts(tree, facts)
    for candidate in (current, other):
        if candidate.score is None:
            candidate.score = _score(candidate.paragraphs, links)
    return other if other.score > current.score else current


def _explain_body(chosen: _Candidate | None, others: list[_Candidate], trail: _Trail) -> None:
    if chosen is None:
        trail.decisions.append("no article: trafilatura found no main text")
        return
    note = f"body: {_describe(chosen)}"
    if chosen.live_updates:
        note += f", of which {chosen.live_updates} blocks from the page's schema.org live-blog updates"
    if chosen.headings:
        note += f"; {chosen.headings} section headings put back between the body's blocks"
    if others:
        note += (
            f"; below {TRUNCATED_COVERAGE:.0%} of the page's prose a truncation was suspected; also tried "
        )
        note += ", ".join(_describe(c) for c in others)
    trail.decisions.append(note)
    kept = {_key(p) for p in chosen.paragraphs}
    for other in others:
        reason = f"only_in_{other.mode}_extraction"
        for paragraph in other.paragraphs:
            key = _key(paragraph)
            if key not in kept:
                kept.add(key)
                trail.dropped.append((reason, paragraph[:EXPLAIN_CHARS]))


def _describe(candidate: _Candidate) -> str:
    chars = _body_chars(candidate.paragraphs)
    score = f", score {candidate.score:.0f}" if candidate.score is not None else ""
    return (
        f"{candidate.mode} extraction ({len(candidate.paragraphs)} blocks, {chars} chars, "
        f"{candidate.coverage:.0%} of the page's prose{score})"
    )


def _candidate(tree: HtmlElement, url: str | None, mode: str, facts: _PageFacts) -> _Candidate | None:
    doc = trafilatura.bare_extraction(
        tree,
        url=url,
        include_comments=False,
        favor_precision=mode == "precision",
        favor_recall=mode == "recall",  # neither: balanced
        # Precision mode without the referee cascade (readability and jusText over a copy of
        # the whole page: a third of trafilatura's time). Where its body looks truncated, recall
        # mode and then balanced mode, cascade and all, are tried instead.
        fast=mode == "precision",
    )
    if doc is None or doc.body is None:
        return None
    paragraphs = _body_paragraphs(doc.body)
    if not paragraphs:
        return None
    # A live blog's updates complete each candidate before it is measured: a precision body
    # with the updates from schema.org is whole, not truncated.
    paragraphs, added = _add_live_updates(paragraphs, facts.ld_objects)
    return _Candidate(mode, paragraphs, _coverage(paragraphs, facts.prose), live_updates=added)


def _coverage(paragraphs: list[str], prose: list[str]) -> float:
    """The share of the page's prose (characters of its long text runs) the blocks hold."""
    total = sum(len(run) for run in prose)
    if not total:
        return 1.0
    flat = " ".join(" ".join(p.split()) for p in paragraphs)
    return sum(len(run) for run in prose if run in flat) / total


def _score(paragraphs: list[str], link_texts: frozenset[str]) -> float:
    """Sentence-like text counts, link text costs: what a body has and a menu or link list has not."""
    total = 0.0
    for paragraph in paragraphs:
        size = len(paragraph)
        if _key(paragraph) in link_texts:
            total -= LINK_PENALTY * size
        elif len(paragraph.split()) >= SENTENCE_WORDS and _SENTENCE_END_RE.search(paragraph):
            total += size
        else:
            total += size / 2
    return total


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
    if tag in _ROW_TAGS and not any(True for _ in element.iterdescendants(*_BLOCK_TAGS)):
        # A data row: its cells are one line.
        cells = (_normalize(" ".join(cell.itertext())) for cell in element)
        _append(paragraphs, " ".join(cell for cell in cells if cell))
    elif tag in _ROW_TAGS:
        # A layout row (a menu column beside the article column): each cell is a column of blocks.
        for cell in element:
            _collect_blocks(cell, paragraphs)
            _append(paragraphs, cell.tail)
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


def _drop_author_bio(paragraphs: list[str], author: str | None, trail: _Trail | None) -> list[str]:
    """Drop a closing bio of the byline's author from the last blocks (a profile's first sentence stays)."""
    kept = list(paragraphs)
    while len(kept) > 1:
        bio = next((p for p in reversed(kept[-TAIL_BLOCKS:]) if _is_author_bio(p, author)), None)
        if bio is None:
            break
        kept.remove(bio)
        if trail:
            trail.dropped.append(("author_bio", bio[:EXPLAIN_CHARS]))
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


def _key(text: str) -> str:
    return " ".join(_WORD_RE.findall(text.casefold()))


@dataclasses.dataclass
class _PageFacts:
    """What one pass over the raw tree learns, besides what trafilatura reports."""

    # Meta values by lower-case name, property or itemprop; http-equiv ones as "http-equiv:<name>".
    meta: dict[str, list[str]] = dataclasses.field(default_factory=dict)
    canonical: list[str] = dataclasses.field(default_factory=list)
    # Each JSON-LD script as parsed, and their objects flattened out of lists and @graph.
    ld_scripts: list[Any] = dataclasses.field(default_factory=list)
    ld_objects: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    # The page's prose (its long text runs, whitespace-normalised): the yardstick for a body
    # that came out truncated.
    prose: list[str] = dataclasses.field(default_factory=list)
    # The text of the page's links (as ``_key``): a body block equal to one is a link, not
    # prose. Read only when candidates are compared (``_link_texts``).
    link_texts: frozenset[str] | None = None


def _scan_page(tree: HtmlElement) -> _PageFacts:
    """Collect meta tags, canonical links, JSON-LD, link texts and the page's prose.

    One C-level ``iter`` over the tags of interest is several times cheaper than an XPath per field.
    """
    facts = _PageFacts()
    for element in tree.iter("meta", "link", "script"):
        tag = element.tag
        if tag == "meta":
            equiv = element.get("http-equiv")
            name = element.get("property") or element.get("name") or element.get("itemprop")
            name = name or (f"http-equiv:{equiv}" if equiv else None)
            content = element.get("content")
            if name and content:
                facts.meta.setdefault(name.strip().lower(), []).append(content.strip())
        elif tag == "link":
            if "canonical" in (element.get("rel") or "").lower().split() and element.get("href"):
                facts.canonical.append(element.get("href", "").strip())
        elif (element.get("type") or "").strip().lower() == "application/ld+json":
            data = _parse_json(element.text or "")
            if data is not None:
                facts.ld_scripts.append(data)
                facts.ld_objects.extend(_json_ld(data))
    for run in _PROSE_RUNS(tree):
        if run.is_tail or run.getparent().tag not in _NOT_TEXT_TAGS:
            normalized = " ".join(run.split())
            if len(normalized) >= PROSE_RUN_CHARS:
                facts.prose.append(normalized)
    return facts


def _link_texts(tree: HtmlElement, facts: _PageFacts) -> frozenset[str]:
    if facts.link_texts is None:
        texts = (element.text_content() for element in tree.iter("a"))
        facts.link_texts = frozenset(_key(text) for text in texts if text and not text.isspace())
    return facts.link_texts


def _parse_json(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None  # sites ship broken JSON-LD; it is optional metadata


def _json_ld(data: Any) -> list[dict[str, Any]]:
    """The objects of one parsed JSON-LD script, flattened out of lists and @graph."""
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


@dataclasses.dataclass
class _Found:
    """trafilatura's metadata reading, without its date (``transforms.core.dates``) and licence."""

    title: str | None = None
    author: str | None = None
    sitename: str | None = None
    description: str | None = None
    categories: list[str] | None = None
    tags: list[str] | None = None


def _metadata(tree: HtmlElement, facts: _PageFacts) -> _Found:
    """trafilatura's meta, JSON-LD and title readers; its costly tree searches only for what is missing.

    ``trafilatura.extract_metadata`` also runs htmldate and a licence search, and searches the
    whole tree for an author even when the article names its own: about half the time of an
    extraction. The author search runs only when neither the metas nor the JSON-LD name one.
    """
    found = trafilatura_metadata.examine_meta(tree)
    for data in facts.ld_scripts:
        # trafilatura's reader of the scripts parsed once in ``_scan_page`` (its own
        # ``extract_meta_json`` re-parses them after a character-by-character clean-up).
        try:
            found = json_metadata.extract_json(data, found)
        except _BAD_INPUT_ERRORS + (KeyError, IndexError) as err:
            _LOGGER.debug("JSON-LD metadata unreadable: %r", err)
    for field in ("title", "author", "sitename"):
        value = getattr(found, field)
        if isinstance(value, str) and "&" in value:
            setattr(found, field, unescape(value))  # JSON-LD strings may hold HTML entities
    if found.author and " " not in found.author:
        found.author = None  # trafilatura's rule: a one-word author meta is a handle or a site
    title = found.title or trafilatura_metadata.extract_title(tree)
    author = found.author
    if not author and not facts.meta.get("article:author") and not _ld_people(facts) and _is_article(facts):
        # The byline search copies and prunes the whole tree (a fifth of an extraction's time):
        # only where the page declares itself an article, so a byline is expected.
        author = trafilatura_metadata.extract_author(tree)
    sitename = found.sitename or trafilatura_metadata.extract_sitename(tree)
    categories, tags = found.categories, found.tags
    if _is_article(facts):
        # Category and tag links (``/category/...``) name the article's sections on an article
        # page; elsewhere they are the site's menu, and the search costs as much as the metas.
        categories = categories or trafilatura_metadata.extract_catstags("category", tree)
        tags = tags or trafilatura_metadata.extract_catstags("tag", tree)
    return _Found(title, author, sitename, found.description, categories, tags)


def _is_article(facts: _PageFacts) -> bool:
    """The page declares an article: ``og:type`` article or a schema.org article object."""
    return any("article" in kind.lower() for kind in facts.meta.get("og:type", ())) or bool(
        _ld_articles(facts)
    )


def _ld_people(facts: _PageFacts) -> list[str]:
    """The names of the people the article's JSON-LD gives as its authors."""
    names = []
    for obj in _ld_articles(facts):
        people = obj.get("author")
        for person in people if isinstance(people, list) else [people]:
            if isinstance(person, dict) and "Organization" not in _ld_types(person):
                person = person.get("name")
            if isinstance(person, str):
                names.append(unescape(person))
    return names


def _add_live_updates(paragraphs: list[str], ld_objects: list[dict[str, Any]]) -> tuple[list[str], int]:
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
        return paragraphs, 0
    body_key = _key(" ".join(paragraphs))
    present = sum(1 for _, text in updates if _key(text)[:200] in body_key)
    if present >= LIVE_UPDATES_PRESENT_SHARE * len(updates):
        return paragraphs, 0
    added = list(paragraphs)
    for headline, text in updates:
        if _key(text)[:200] in body_key:
            continue
        if headline.strip():
            added.append(_normalize(headline))
        added.extend(block for block in (_normalize(b) for b in text.split("\n\n")) if block)
    return added, len(added) - len(paragraphs)


def _language(tree: HtmlElement, facts: _PageFacts) -> str | None:
    """The declared language as an ISO 639-1 style primary subtag ("en-GB" -> "en")."""
    values = [tree.get("lang") or "", tree.get("{http://www.w3.org/XML/1998/namespace}lang") or ""]
    values += facts.meta.get("http-equiv:content-language", []) + facts.meta.get("content-language", [])
    values += facts.meta.get("og:locale", [])
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
    names = list(facts.meta.get("article:author", [])) + _ld_people(facts)
    site = (sitename or "").casefold()

    def real_names(candidates: list[str]) -> list[str]:
        cleaned = (_clean_field(name) for name in candidates)
        return [n for n in cleaned if n and n.casefold() != site and not _URLISH_RE.search(n)]

    kept = real_names(names) or real_names((found or "").split(";"))
    return "; ".join(dict.fromkeys(kept)) or None


def _ld_articles(facts: _PageFacts) -> list[dict[str, Any]]:
    """The JSON-LD objects that describe the article itself (not the page, a video or the site)."""
    return [obj for obj in facts.ld_objects if _ld_types(obj) & ARTICLE_TYPES]


def _ld_types(obj: dict[str, Any]) -> set[str]:
    kind = obj.get("@type")
    if isinstance(kind, str):
        return {kind}
    return {k for k in kind if isinstance(k, str)} if isinstance(kind, list) else set()


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
        date_candidates=article.date_candidates + page.date_candidates,
        modified=article.modified or parse_datetime(page.modified),
        summary=article.summary or page.description,
        canonical_url=canonical_url(_page_canonical(article.url, page.canonical_url)),
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
        # A feed entry or a record that carries its date needs no guess from the page.
        dated = any(parse_datetime(value) for value, _ in article.date_candidates)
        page = extract_article(article.html, article.url, guess_date=not dated)
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
