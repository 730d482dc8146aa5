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

How. The body is trafilatura's, chosen among its extractions and repaired only where
the page's structure says so; lines are not judged here (the clean stage removes boilerplate
lines, each with its reason):

1. A page delivered as a fragment (no ``<html>``/``<body>``) is wrapped, so that it parses.
2. Precision mode without trafilatura's fallback cascade is the first candidate
   (``transforms.core.extract_body``). When it covers less than 70 % of the page's own prose
   (the long text runs of any block, not only ``<p>``), it may be truncated: recall mode, with
   the cascade (readability, jusText), is the second candidate, kept only when it covers
   clearly more of that prose and scores better (more sentence-like text, less link text);
   balanced mode is the last resort. Section headings dropped between kept blocks come back.
3. Quoted social posts (``blockquote.twitter-tweet`` ...) stay in the body: they are quoted as
   part of the story. Headings, list items and table rows stay, one block a line.
4. A live blog whose updates only its schema.org data carries gets them back.
5. A closing bio of the byline's author ("Jane Doe is a reporter for ...") is dropped: it is
   matched against the page's own byline, which the clean stage does not know.

``extract_article(..., explain=True)`` also returns each decision and each dropped block with
its reason (``newsflow extract --explain`` prints them). Dates: ``transforms.core.dates.page_dates``.
Fields: ``transforms.core.page_meta``; blocks of the body: ``transforms.core.body_blocks``.
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
from typing import NamedTuple

from schemas.records import Article, Reject
from transforms.core.body_blocks import body_chars, text_key
from transforms.core.dates import page_dates, parse_datetime, plausible
from transforms.core.decode import decode_html
from transforms.core.extract_body import MIN_BODY_CHARS, Explanation, Trail, drop_author_bio, select_body
from transforms.core.lead_image import lead_image, preferred_site_name
from transforms.core.page_meta import (
    BAD_INPUT_ERRORS,
    CATEGORY_SPLIT_RE,
    TAG_SPLIT_RE,
    authors,
    clean_field,
    declared_canonical,
    declared_language,
    headline,
    ld_articles,
    read_metadata,
    scan_page,
    site_name,
    unique_values,
)
from transforms.core.page_tree import parse_page
from transforms.core.urls import canonical_url, site_host

_LOGGER = logging.getLogger(__name__)
_FAILURES = itertools.count()
# Pages above this are not articles (trafilatura's own MAX_FILE_SIZE default is 20 MB); refusing
# them early bounds the parser's memory on a worker.
MAX_HTML_BYTES = 20_000_000
# A page shows markup within its first characters; text, JSON or binary data shows none there.
MARKUP_HEAD_CHARS = 4096
# A reject's detail quotes at most this much of an error's message.
MAX_DETAIL_CHARS = 300


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
    # The lead image, absolute (transforms.core.lead_image).
    image: str | None = None
    # 1-based numbers of the text's lines (split on "\n") that are list items of the body, or
    # paragraphs among its prose (``Body.items``).
    list_lines: tuple[int, ...] = ()
    # ... and the lines that are its headings, and its preformatted blocks (code).
    heading_lines: tuple[int, ...] = ()
    code_lines: tuple[int, ...] = ()
    explanation: Explanation | None = None


class NoArticle(NamedTuple):
    """Why a page gave no article: its reject's reason and detail (and, when asked for, the
    decisions that led there)."""

    reason: str
    detail: str
    explanation: Explanation | None = None


def extract_article(
    html: str | bytes, url: str | None = None, *, explain: bool = False, guess_date: bool = True
) -> ExtractedPage | None:
    """Extract the article of one page, or None when it holds none (never raises on bad input).

    With ``explain``, the page carries an ``Explanation`` of its decisions and dropped blocks.
    Without ``guess_date`` (the source dated the article already), htmldate's guess is skipped.
    """
    page = read_page(html, url, explain=explain, guess_date=guess_date)
    return page if isinstance(page, ExtractedPage) else None


def read_page(
    html: str | bytes, url: str | None = None, *, explain: bool = False, guess_date: bool = True
) -> ExtractedPage | NoArticle:
    """``extract_article``, with the reason when a page gives no article: ``no_article_body``
    (no main text, or too little), ``empty``, ``not_html`` (no markup where a page starts),
    ``too_large``, ``unparsable`` (no tree from the parser) or ``extraction_error`` (the parsers
    or our heuristics failed on the page: the error's type and message, so that a defect shows
    as one and not as a page without an article)."""
    try:
        return _extract(html, url, Trail() if explain else None, guess_date)
    except BAD_INPUT_ERRORS as err:
        # Parsers and heuristics meet hostile input here (binary junk, broken markup, absurd
        # nesting): the page is a reject for the caller, not a crashed bundle. One sample is
        # logged per process; the caller counts the rejects.
        log = _LOGGER.warning if next(_FAILURES) == 0 else _LOGGER.debug
        log("extraction failed for %s: %r", url, err)
        return NoArticle("extraction_error", f"{type(err).__name__}: {err}"[:MAX_DETAIL_CHARS])


def _extract(
    html: str | bytes, url: str | None, trail: Trail | None, guess_date: bool
) -> ExtractedPage | NoArticle:
    if not html:
        return NoArticle("empty", "a page without content")
    if len(html) > MAX_HTML_BYTES:
        return NoArticle("too_large", f"{len(html):,} characters of HTML, above {MAX_HTML_BYTES:,}")
    markup = decode_html(html) if isinstance(html, bytes) else html
    if "<" not in markup[:MARKUP_HEAD_CHARS]:
        return NoArticle("not_html", f"no markup in its first {MARKUP_HEAD_CHARS:,} characters")
    tree = parse_page(markup)
    if (tree is None or tree.tag != "html") and markup.lstrip()[:1] == "<":
        # A fragment (a CMS export, a page saved without its frame: "<table>...</table>") is
        # refused or parsed as a lone element by trafilatura; in its frame it is a page.
        framed = parse_page(f"<html><body>{markup}</body></html>")
        if framed is not None:
            tree = framed
            if trail:
                trail.decisions.append("fragment: the page has no <html> frame; parsed inside one")
    if tree is None:
        return NoArticle("unparsable", "the HTML parser made no tree of it")
    facts = scan_page(tree)
    body = select_body(tree, url, facts, trail)
    if body is None:
        return NoArticle(
            "no_article_body",
            f"no main text found in {len(markup)} characters of HTML",
            trail.explanation() if trail else None,
        )
    found = read_metadata(tree, facts)
    sitename = site_name(found.sitename, facts, found.title, tree.findtext(".//title"))
    title = headline(found.title, sitename)
    author = authors(found.author, sitename, facts)
    paragraphs = drop_author_bio(body.paragraphs, author, trail)
    if body_chars(paragraphs) < MIN_BODY_CHARS:
        return NoArticle(
            "no_article_body",
            f"{body_chars(paragraphs)} characters of main text in {len(markup)} of HTML",
            trail.explanation() if trail else None,
        )
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
        language=declared_language(tree, facts),
        categories=unique_values(found.categories, CATEGORY_SPLIT_RE),
        tags=unique_values(found.tags, TAG_SPLIT_RE),
        description=clean_field(found.description),
        canonical_url=declared_canonical(facts, url),
        date_candidates=dates.published,
        modified=dates.modified,
        image=lead_image(facts.meta, ld_articles(facts), tree, url),
        list_lines=marked_lines(paragraphs, body.items),
        heading_lines=marked_lines(paragraphs, body.headings),
        code_lines=marked_lines(paragraphs, body.code),
        explanation=trail.explanation() if trail else None,
    )


def marked_lines(paragraphs: list[str], keys: frozenset[str]) -> tuple[int, ...]:
    """The 1-based line numbers, in ``"\n\n".join(paragraphs)``, of the blocks whose ``text_key``
    is one of ``keys`` (the body's list items, or its headings)."""
    numbers, line_no = [], 1
    for paragraph in paragraphs:
        size = paragraph.count("\n") + 1
        if keys and text_key(paragraph) in keys:
            numbers.extend(range(line_no, line_no + size))
        line_no += size + 1  # the blank line between blocks
    return tuple(numbers)


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
        # The page names its site better than a feed's title does.
        site_name=preferred_site_name(page.sitename, article.site_name, article.url),
        image=page.image,
        list_lines=page.list_lines,
        heading_lines=page.heading_lines,
        code_lines=page.code_lines,
    )


def _page_canonical(url: str | None, declared: str | None) -> str | None:
    """The page's own canonical link, trusted only on the host it was fetched from."""
    if not declared or not url:
        return declared or url
    return declared if site_host(declared) == site_host(url) else url


def extract_document(article: Article) -> Article | Reject:
    """The extract stage for one document: HTML to text and metadata, else the feed's
    text, else a reject; every article leaves with its canonical URL set."""
    if article.html is not None:
        # A feed entry or a record that carries its date needs no guess from the page.
        dated = any(plausible(value, article.ingested_at) for value, _ in article.date_candidates)
        page = read_page(article.html, article.url, guess_date=not dated)
        if isinstance(page, ExtractedPage):
            article = with_page(article, page)
        elif article.fallback:
            text, source = article.fallback
            article = dataclasses.replace(article, html=None, text=text, text_source=source)
        else:
            return Reject(
                article.source,
                article.url,
                "extract",
                page.reason,
                page.detail,
                article.run_id,
                article.ingested_at,
            )
    canonical = article.canonical_url or canonical_url(article.url)
    return dataclasses.replace(article, canonical_url=canonical, fallback=None)


# What became of each kept document, for the stage's counters (a reject is counted by its reason).
EXTRACTED, FELL_BACK, PASSED = KEPT_OUTCOMES = ("extracted", "fell_back_to_feed_text", "passed_text")


def extract_batch(articles: list[Article]) -> list[tuple[Article | Reject, str | None]]:
    """``extract_document`` over a batch, each result with what became of the document (None for
    a reject: its reason says it)."""
    results = []
    for article in articles:
        result = extract_document(article)
        if isinstance(result, Reject):
            outcome = None
        elif article.html is None:
            outcome = PASSED
        else:
            outcome = EXTRACTED if result.text_source == article.text_source else FELL_BACK
        results.append((result, outcome))
    return results


def make_extractor():
    """The extract stage's batch function for one worker process (trafilatura needs no set-up)."""
    return extract_batch
