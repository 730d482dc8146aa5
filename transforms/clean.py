r"""The clean stage: the article body out of each extracted document, with site memory.

Consumes extracted ``Article``s (``text`` is the plain text, one paragraph or widget string a
line) and the site memory of earlier runs (``(site, SiteTable)`` pairs from
``ReadSiteMemory``); emits cleaned ``Article``s on ``articles``, a ``Reject`` on ``rejects``
when too little text is left, and on ``site_lines`` the rows that record this run's line
counts per site, for the pipeline to write into ``state/sites/``. Sample::

    Article(text="Gazette Daily: your trusted source since 1889\n\nThe council voted on Monday ...")
    -> Article(text="The council voted on Monday ...", removed=(("site_boilerplate", "Gazette Daily: ..."),))

The cleaning itself is ``transforms/core/clean.py`` (rules with ids, the line model, the
structural rules); this module adds the site statistics: per site, how many documents of
this run and of the remembered runs hold each short line, a feature of the line model, and a
line held by at least ``site_min_docs`` documents goes as site boilerplate.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator
from typing import NamedTuple
from urllib.parse import urlsplit

import apache_beam as beam
from apache_beam.metrics import Metrics

from schemas.records import Article, Reject
from transforms.core.clean import (
    NO_SITE,
    REASONS,
    Cleaned,
    LineScorer,
    RemovedLine,
    SiteStats,
    clean_text,
    default_scorer,
)
from transforms.core.lines import line_key, site_line_candidates
from transforms.core.sites import DOCS_KEY, EMPTY, SiteTable, document_keys, site_table, stats_for_document
from transforms.core.text import word_count
from transforms.core.urls import canonical_url

__all__ = [
    "REASONS",
    "Cleaned",
    "RemovedLine",
    "SiteStats",
    "clean_text",
    "line_key",
    "site_line_candidates",
    "site_of",
    "header_of",
    "clean_document",
    "CleanArticles",
    "CleanOutputs",
    "MIN_WORDS",
    "REJECTS_TAG",
]

REJECTS_TAG = "rejects"
# Text sources whose text our extractor made from HTML (the rest is text as given: a scraper's
# or a feed's); the line model has an operating point for each kind.
EXTRACTED_SOURCES = frozenset({"page", "seed_html", "jsonl_html"})
# Bodies shorter than this many words are not articles (a teaser, a caption, an error
# page's leftovers); news briefs run from about 40 words up.
MIN_WORDS = 20


def site_of(article: Article) -> str | None:
    """The site a document belongs to, for per-site line statistics: its URL's host."""
    if article.site:
        return article.site
    url = article.canonical_url or canonical_url(article.url)
    if not url:
        return None
    host = urlsplit(url).netloc.lower()
    return host[4:] if host.startswith("www.") else host or None


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
    cleaned = clean_text(
        article.text,
        title=article.title,
        site=site,
        site_min_docs=site_min_docs,
        extracted=article.text_source in EXTRACTED_SOURCES,
        scorer=scorer,
    )
    words = word_count(cleaned.text)
    if words < min_words:
        reason = "empty_after_cleaning" if words == 0 else "too_short"
        detail = f"{words} words left after removing {len(cleaned.removed)} boilerplate lines"
        reject = Reject(
            article.source, article.url, "clean", reason, detail, article.run_id, article.ingested_at
        )
        return reject, cleaned
    return (
        dataclasses.replace(
            article,
            text=cleaned.text,
            title=article.title or cleaned.title,
            author=article.author or cleaned.byline,
            site=site_of(article),
            header=header_of(article.text),
            boilerplate_lines=len(cleaned.removed),
            removed=tuple((r.reason, r.text) for r in cleaned.removed),
        ),
        cleaned,
    )


# --- Beam wrapper below ---


def _seen_at(article: Article) -> float:
    return article.ingested_at.timestamp() if article.ingested_at else 0.0


def _site_line_keys(article: Article) -> list[tuple[tuple[str, str], tuple[int, float]]]:
    """``((site, key), (1, seen at))`` for each short line of the document, and for its site's
    document count (key "")."""
    site = site_of(article)
    if not site:
        return []
    seen = (1, _seen_at(article))
    keys = sorted(document_keys(article.text))
    return [((site, DOCS_KEY), seen)] + [((site, key), seen) for key in keys]


def _add_counts(values) -> tuple[int, float]:
    docs, seen = 0, 0.0
    for n, at in values:
        docs += n
        seen = max(seen, at)
    return docs, seen


def _to_site(site_key_count: tuple[tuple[str, str], tuple[int, float]]) -> tuple[str, tuple[str, int]]:
    (site, key), (docs, _) = site_key_count
    return site, (key, docs)


def _memory_row(site_key_count: tuple[tuple[str, str], tuple[int, float]], fallback: dt.datetime) -> dict:
    (site, key), (docs, seen) = site_key_count
    last_seen = dt.datetime.fromtimestamp(seen, dt.timezone.utc) if seen else fallback
    return {"site": site, "key": key, "docs": docs, "last_seen": last_seen}


class _CleanFn(beam.DoFn):
    def __init__(self, min_words: int, site_min_docs: int) -> None:
        self._min_words = min_words
        self._site_min_docs = site_min_docs
        self._scorer: LineScorer | None = None
        self._cleaned = Metrics.counter(self.__class__, "cleaned")

    def setup(self) -> None:
        # The line model, once per worker process.
        self._scorer = default_scorer()

    def process(
        self, article: Article, run_sites: dict[str, SiteTable], memory: dict[str, SiteTable]
    ) -> Iterator:
        site = site_of(article)
        stats = stats_for_document(run_sites.get(site, EMPTY), memory.get(site, EMPTY)) if site else NO_SITE
        result, cleaned = clean_document(
            article, stats, min_words=self._min_words, site_min_docs=self._site_min_docs, scorer=self._scorer
        )
        for removed in cleaned.removed:
            Metrics.counter(self.__class__, f"removed_{removed.reason}").inc()
        if isinstance(result, Reject):
            Metrics.counter(self.__class__, f"rejected_{result.reason}").inc()
            yield beam.pvalue.TaggedOutput(REJECTS_TAG, result)
            return
        self._cleaned.inc()
        yield result


class CleanArticles(beam.PTransform):
    """Cleaned articles on ``articles``; too little text left is a reject on ``rejects``;
    this run's line counts per site, as site memory rows, on ``site_lines``.

    Each line's count of other documents of its site holding it (this run's, plus
    ``memory``'s: the ``(site, SiteTable)`` pairs of ``ReadSiteMemory``) is a feature of the
    line model, and a line held by at least ``site_min_docs`` documents (this one included) is
    removed as site boilerplate (CCNet-style line hashing per site). ``seen_at`` stamps the
    rows of documents that carry no ingestion time.
    """

    def __init__(
        self,
        site_min_docs: int = 3,
        min_words: int = MIN_WORDS,
        memory: beam.PCollection | None = None,
        seen_at: dt.datetime | None = None,
    ) -> None:
        super().__init__()
        self._site_min_docs = site_min_docs
        self._min_words = min_words
        self._memory = memory
        self._seen_at = seen_at or dt.datetime.now(dt.timezone.utc).replace(microsecond=0)

    def expand(self, articles):
        counts = (
            articles
            | "SiteLineKeys" >> beam.FlatMap(_site_line_keys)
            | "CountDocsPerLine" >> beam.CombinePerKey(_add_counts)
        )
        run_sites = (
            counts
            | "KeyBySite" >> beam.Map(_to_site)
            | "GroupLinesBySite" >> beam.GroupByKey()
            | "BuildRunSiteTables" >> beam.MapTuple(lambda site, rows: (site, site_table(rows)))
        )
        memory = self._memory
        if memory is None:
            memory = articles.pipeline | "NoSiteMemory" >> beam.Create([])
        cleaned = articles | "CleanText" >> beam.ParDo(
            _CleanFn(self._min_words, self._site_min_docs - 1),
            run_sites=beam.pvalue.AsDict(run_sites),
            memory=beam.pvalue.AsDict(memory),
        ).with_outputs(REJECTS_TAG, main="articles")
        site_lines = counts | "SiteMemoryRows" >> beam.Map(_memory_row, self._seen_at)
        return CleanOutputs(cleaned.articles, cleaned[REJECTS_TAG], site_lines)


class CleanOutputs(NamedTuple):
    """The outputs of ``CleanArticles``."""

    articles: beam.PCollection
    rejects: beam.PCollection
    site_lines: beam.PCollection
