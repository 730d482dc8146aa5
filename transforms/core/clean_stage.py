"""The clean stage for whole articles, pure: what ``CleanArticles`` runs on each batch.

``clean_documents`` cleans a batch of ``(Article, SiteStats)`` pairs (``transforms/core/clean.py``
judges the lines; the line model scores a whole batch at once) and gives each cleaned article,
or a ``Reject`` when too little text is left; ``make_cleaner`` is the batch function one worker
process runs (``transforms/core/pool.py``), returning with each result the count of removed
lines per reason for the stage's counters.
"""

from __future__ import annotations

import collections
import dataclasses
from collections.abc import Callable, Sequence

from schemas.records import Article, Reject
from transforms.core.clean import (
    NO_SITE,
    Cleaned,
    CleanInput,
    LineScorer,
    SiteStats,
    clean_many,
    default_scorer,
)
from transforms.core.comment_model import default_comment_model
from transforms.core.text import normalise_text, word_count
from transforms.core.urls import canonical_url, site_host

# Text sources whose text our extractor made from HTML (the rest is text as given: a scraper's
# or a feed's); the line model has an operating point for each kind.
EXTRACTED_SOURCES = frozenset({"page", "seed_html", "jsonl_html", "warc_html"})
# Bodies shorter than this many words are not articles (a teaser, a caption, an error
# page's leftovers); news briefs run from about 40 words up.
MIN_WORDS = 20


def site_of(article: Article) -> str | None:
    """The site a document belongs to, for per-site line statistics: its URL's host."""
    if article.site:
        return article.site
    return site_host(article.canonical_url or canonical_url(article.url))


def header_of(text: str, lines: int = 8) -> str:
    """The first non-blank lines of a raw text, where a date line may stand."""
    head = []
    for line in text.splitlines():
        if line.strip():
            head.append(line.strip())
            if len(head) >= lines:
                break
    return "\n".join(head)


def clean_document(
    article: Article,
    site: SiteStats = NO_SITE,
    *,
    min_words: int = MIN_WORDS,
    site_min_docs: int = 0,
    scorer: LineScorer | None = None,
) -> tuple[Article | Reject, Cleaned]:
    """The clean stage for one document: the cleaned article (or a reject when too
    little text is left), with the cleaning's account of what went and why."""
    return clean_documents(
        [(article, site)], min_words=min_words, site_min_docs=site_min_docs, scorer=scorer
    )[0]


def clean_documents(
    articles: Sequence[tuple[Article, SiteStats]],
    *,
    min_words: int = MIN_WORDS,
    site_min_docs: int = 0,
    scorer: LineScorer | None = None,
) -> list[tuple[Article | Reject, Cleaned]]:
    """``clean_document`` for several documents at once (the line model scores them in one
    batch); each result is the one ``clean_document`` gives the document alone."""
    inputs = [
        CleanInput(
            normalise_text(article.text),
            normalise_text(article.title),
            site,
            site_min_docs,
            extracted := article.text_source in EXTRACTED_SOURCES,
            frozenset(article.list_lines) if extracted else frozenset(),
            frozenset(article.heading_lines) if extracted else frozenset(),
            frozenset(article.code_lines) if extracted else frozenset(),
        )
        for article, site in articles
    ]
    cleaned_all = clean_many(inputs, scorer)
    return [
        (_result(article, cleaned, min_words), cleaned)
        for (article, _), cleaned in zip(articles, cleaned_all, strict=True)
    ]


def _result(article: Article, cleaned: Cleaned, min_words: int) -> Article | Reject:
    words = word_count(cleaned.text)
    if words < min_words:
        reason = "empty_after_cleaning" if words == 0 else "too_short"
        detail = f"{words} words left after removing {len(cleaned.removed)} boilerplate lines"
        return Reject(
            article.source, article.url, "clean", reason, detail, article.run_id, article.ingested_at
        )
    return dataclasses.replace(
        article,
        text=cleaned.text,
        title=normalise_text(article.title) or cleaned.title,
        author=normalise_text(article.author) or cleaned.byline,
        summary=normalise_text(article.summary),
        site=site_of(article),
        header=header_of(article.text),
        boilerplate_lines=len(cleaned.removed),
        removed=tuple((r.reason, r.text) for r in cleaned.removed),
        list_lines=(),  # numbers of the text before cleaning
        heading_lines=(),
        code_lines=(),
    )


def make_cleaner(
    min_words: int = MIN_WORDS, site_min_docs: int = 0
) -> Callable[[list[tuple[Article, SiteStats]]], list[tuple[Article | Reject, dict[str, int]]]]:
    """The clean stage's batch function for one worker process: the line model loaded once;
    each result comes with its removed lines counted by reason (the lines themselves travel
    in the article's ``removed``)."""
    scorer = default_scorer()
    default_comment_model()  # loaded here, once per worker, not on the first batch

    def clean_batch(pairs: list[tuple[Article, SiteStats]]) -> list[tuple[Article | Reject, dict[str, int]]]:
        results = clean_documents(pairs, min_words=min_words, site_min_docs=site_min_docs, scorer=scorer)
        return [
            (result, dict(collections.Counter(r.reason for r in cleaned.removed)))
            for result, cleaned in results
        ]

    return clean_batch
