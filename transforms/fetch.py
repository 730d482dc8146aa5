"""Fetch each feed entry's page in Beam, a host's pages in turn.

Consumes ``FeedItem`` records; emits ``Article`` records with their page's HTML (or the
feed's own text when the page cannot be had) and, on ``rejects``, a ``Reject`` per entry
that yields nothing. The HTTP client is ``transforms.core.http.Fetcher``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator

import apache_beam as beam
from apache_beam.metrics import Metrics

from schemas.records import Article, Reject, stable_id
from transforms.core.http import Fetcher
from transforms.core.http_policy import FetchPolicy, FetchResult
from transforms.core.markup import content_text
from transforms.core.urls import absolute_url, url_parts
from transforms.progress import tick
from transforms.rejects import REJECTS_TAG, rejected

__all__ = ["FetchArticles", "decode_page"]

ARTICLES_TAG = "articles"


def decode_page(result: FetchResult) -> str:
    """A fetched page's text: the HTTP charset when it fits, else the page's own declaration."""
    from transforms.core.decode import decode_html

    content = result.content or b""
    if result.encoding:
        try:
            return content.decode(result.encoding)
        except (LookupError, UnicodeDecodeError):
            pass
    return decode_html(content)


def item_article(item, *, run_id: str, ingested_at: dt.datetime) -> Article:
    """The article a feed entry announces, before its page is fetched.

    The feed's title, author, date and categories win over the page's; its content (or
    summary) is kept as the fallback text.
    """
    link = absolute_url(item.feed_url, item.link)
    content = content_text(item.content)
    fallback = None
    if content:
        fallback = (content, "feed_content")
    elif item.summary:
        fallback = (item.summary, "feed_summary")
    return Article(
        # One id per feed entry: the same link in two feeds is two inputs (the second a
        # duplicate of the first), and ids stay unique within a window of the stream.
        id=stable_id(item.feed_url, item.guid or link or item.title or ""),
        source=item.feed_url,
        text_source="page",
        ingested_at=ingested_at,
        url=link,
        title=item.title,
        author=item.author,
        authors=item.authors,
        categories=item.categories,
        date_candidates=((item.published, "feed"),) if item.published else (),
        summary=item.summary,
        guid=item.guid,
        site_name=item.feed_title,
        fallback=fallback,
        run_id=run_id,
    )


def _host_key(item) -> tuple[str, object]:
    parts = url_parts(absolute_url(item.feed_url, item.link))
    return (parts.netloc.lower() if parts else ""), item


class _FetchHostFn(beam.DoFn):
    """Fetches the pages of one host in turn, so the per-host interval holds on any runner."""

    def __init__(self, policy: FetchPolicy) -> None:
        self._policy = policy
        self._pages = Metrics.counter(self.__class__, "pages_fetched")
        self._fallbacks = Metrics.counter(self.__class__, "fell_back_to_feed_text")

    def setup(self) -> None:
        self._fetcher = Fetcher(self._policy)

    def teardown(self) -> None:
        self._fetcher.close()

    def process(self, host_items, run_id: str, ingested_at: dt.datetime | None) -> Iterator:
        _, items = host_items
        for item in items:
            tick("read")
            # A streaming job stamps each article with the time it is fetched.
            stamp = ingested_at or dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
            article = item_article(item, run_id=run_id, ingested_at=stamp)
            if not article.url and item.link:
                detail = f"the feed entry's link is no http(s) URL: {item.link[:200]!r}"
                yield from self._fall_back(article, "invalid_link", detail)
                continue
            if not article.url:
                yield from self._fall_back(article, "no_link", "the feed entry has no link")
                continue
            result = self._fetcher.fetch(article.url, kind="page")
            if result.ok and result.content:
                self._pages.inc()
                yield dataclasses.replace(
                    article,
                    html=decode_page(result),
                    url=result.final_url or article.url,
                    fetched_at=dt.datetime.now(dt.timezone.utc).replace(microsecond=0),
                )
            else:
                yield from self._fall_back(article, result.error or "empty_page", result.detail)

    def _fall_back(self, article: Article, reason: str, detail: str) -> Iterator:
        if article.fallback:
            self._fallbacks.inc()
            text, source = article.fallback
            yield dataclasses.replace(article, text=text, text_source=source, fallback=None)
            return
        detail = (detail or "")[:500]
        yield rejected(
            self.__class__,
            Reject(article.source, article.url, "fetch", reason, detail, article.run_id, article.ingested_at),
        )


class FetchArticles(beam.PTransform):
    """Feed entries to articles with their pages' HTML (or the feed's text), and rejects.

    Entries are grouped by host, so one worker fetches a host's pages in turn, at most
    one request per ``policy.min_host_interval``.
    """

    def __init__(self, policy: FetchPolicy, run_id: str, ingested_at: dt.datetime) -> None:
        super().__init__()
        self._policy = policy
        self._run_id = run_id
        self._ingested_at = ingested_at

    def expand(self, items):
        return (
            items
            | "KeyByHost" >> beam.Map(_host_key)
            | "GroupByHost" >> beam.GroupByKey()
            | "FetchPages"
            >> beam.ParDo(_FetchHostFn(self._policy), self._run_id, self._ingested_at).with_outputs(
                REJECTS_TAG, main=ARTICLES_TAG
            )
        )
