"""The newsflow graph: sources at the edge, the same composite stages after them.

``build_pipeline`` returns the pipeline without running it (the launcher runs it), as
in Google's flex-template samples.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Iterator

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions
from apache_beam.transforms import window
from apache_beam.transforms.periodicsequence import PeriodicImpulse
from apache_beam.utils.timestamp import MAX_TIMESTAMP

from pipeline.options import NewsflowOptions
from pipeline.plan import DEFAULT_RUNNER, RunPlan, index_not_before, site_memory_not_before
from schemas.layout import join_path
from schemas.parquet import (
    ARTICLE_FILE_SCHEMA,
    DUPLICATE_SCHEMA,
    INDEX_SCHEMA,
    REJECT_SCHEMA,
    SITE_LINES_SCHEMA,
    partition_path,
)
from schemas.records import article_row, record_row
from transforms.clean import CleanArticles, SiteMemoryRows
from transforms.commit import CommitRun
from transforms.core.dedup import dedup_entry, index_row
from transforms.core.http_policy import FetchPolicy
from transforms.dedup import Deduplicate, IndexIds, IndexSegments, ReadDedupIndex
from transforms.dedup_stream import StreamingDeduplicate
from transforms.enrich import EnrichArticles
from transforms.extract import ExtractArticles
from transforms.feeds import ITEMS_TAG, POLLS_TAG, REJECTS_TAG, PollFeeds
from transforms.fetch import FetchArticles
from transforms.lake.files import write_json_atomic
from transforms.seeds import ReadSeeds
from transforms.sitememory import ReadSiteMemory
from transforms.write import WriteParquet, WrittenFile, window_tag

# How late (after its window closed) a polled item may still be written: fetching a
# busy host's pages one by one can outlast a poll interval.
ALLOWED_LATENESS = 3600


def _article_partition_row(article) -> tuple[str, dict]:
    return partition_path(article.published, article.topic), article_row(article)


def _sort_by_id(row: dict) -> tuple:
    return (row.get("id") or "", row.get("source") or "")


def _sort_site_lines(row: dict) -> tuple:
    return (row["site"], row["key"])


def _sort_rejects(row: dict) -> tuple:
    return (row["source"], row["stage"], row["reason"])


def fetch_policy(nf: NewsflowOptions) -> FetchPolicy:
    return FetchPolicy(
        user_agent=nf.fetch_user_agent,
        min_host_interval=nf.min_host_interval,
        respect_robots=not nf.ignore_robots,
        allow_private_hosts=nf.allow_private_hosts,
        allowed_hosts=tuple(h.strip().lower() for h in nf.allowed_hosts.split(",") if h.strip()),
        read_timeout=nf.fetch_timeout,
        connect_timeout=min(5.0, nf.fetch_timeout / 3),
        total_timeout=max(60.0, nf.fetch_timeout * 4),
        max_bytes=nf.max_page_bytes,
    )


def _write_polls(polls: list, path: str) -> WrittenFile:
    write_json_atomic(path, [dataclasses.asdict(poll) for poll in sorted(polls, key=lambda p: p.feed_url)])
    return WrittenFile("polls", "", path, len(polls))


class _WriteWindowPollsFn(beam.DoFn):
    """A streaming job's polls, one file per window, for the launcher to fold into the cursors."""

    def __init__(self, folder: str, run_id: str) -> None:
        self._folder = folder
        self._run_id = run_id

    def process(self, polls: list, window=beam.DoFn.WindowParam) -> Iterator[WrittenFile]:  # noqa: B008
        tag = window_tag(window) or "global"
        yield _write_polls(polls, join_path(self._folder, f"{self._run_id}-{tag}.json"))


def build_pipeline(
    options: PipelineOptions, plan: RunPlan, *, before_commit: Callable[[], None] | None = None
) -> beam.Pipeline:
    """The newsflow graph of one ``RunPlan``: sources at the edge, then the same stages.

    Bounded: the plan's seeds and one poll of its due feeds (local stream mode runs this
    once per poll cycle; a large seed input runs as batches). Unbounded: a PeriodicImpulse
    polls the feeds every ``--poll_interval`` seconds, items are windowed by poll,
    deduplication keeps keyed state and writes go out per window. No I/O happens here.
    """
    standard = options.view_as(StandardOptions)
    if not standard.runner:
        standard.runner = DEFAULT_RUNNER
    if plan.unbounded and not plan.local:
        standard.streaming = True
    nf = options.view_as(NewsflowOptions)
    p = beam.Pipeline(options=options)
    if not plan.has_work:
        return p
    unbounded = plan.unbounded
    sources, rejects, commit_after = [], [], ()
    windowing = window.FixedWindows(nf.poll_interval) if unbounded else None
    if plan.seeds:
        seeds = p | "ReadSeeds" >> ReadSeeds(
            plan.seeds,
            ingested_at=plan.started_at,
            run_id=plan.run_id,
            batch=plan.seed_batch,
            max_record_bytes=nf.max_record_bytes,
        )
        seed_articles, seed_rejects = seeds.articles, seeds.rejects
        if unbounded:
            # The seeds are the stream's first batch: stamped at the start, in its first window.
            at = plan.started_at.timestamp()
            seed_articles = (
                seed_articles
                | "StampSeeds" >> beam.Map(window.TimestampedValue, at)
                | "WindowSeeds" >> beam.WindowInto(windowing)
            )
            seed_rejects = (
                seed_rejects
                | "StampSeedRejects" >> beam.Map(window.TimestampedValue, at)
                | "WindowSeedRejects" >> beam.WindowInto(windowing)
            )
        sources.append(seed_articles)
        rejects.append(seed_rejects)
    if plan.feeds:
        policy = fetch_policy(nf)
        direct = plan.feeds + plan.feeds_not_due
        if unbounded:
            start = plan.started_at.timestamp()
            stop = start + nf.duration if nf.duration else MAX_TIMESTAMP
            polled = (
                p
                | "PollTicks"
                >> PeriodicImpulse(start_timestamp=start, stop_timestamp=stop, fire_interval=nf.poll_interval)
                | "FeedUrlsPerTick"
                >> beam.FlatMap(
                    lambda tick, urls: [(url, float(tick)) for url in urls], list(plan.feeds)
                ).with_output_types(tuple[str, float])
                | "PollFeeds"
                >> PollFeeds(
                    policy,
                    plan.cursors,
                    run_id=plan.run_id,
                    ingested_at=None,
                    stream_intervals=plan.poll_bounds,
                    direct=direct,
                    since=nf.since,
                    sitemaps=plan.sitemaps,
                )
            )
            (
                polled[POLLS_TAG]
                | "WindowFeedPolls" >> beam.WindowInto(windowing, allowed_lateness=ALLOWED_LATENESS)
                | "CollectFeedPolls" >> beam.combiners.ToList().without_defaults()
                | "WriteFeedPolls" >> beam.ParDo(_WriteWindowPollsFn(plan.layout.polls, plan.run_id))
            )
        else:
            polled = (
                p
                | "FeedUrls" >> beam.Create(list(plan.feeds))
                | "PollFeeds"
                >> PollFeeds(
                    policy,
                    plan.cursors,
                    run_id=plan.run_id,
                    ingested_at=plan.started_at,
                    max_interval=plan.poll_bounds[1],
                    poll_now=plan.poll_now,
                    direct=direct,
                    since=nf.since,
                    sitemaps=plan.sitemaps,
                )
            )
            polls_written = (
                polled[POLLS_TAG]
                | "CollectFeedPolls" >> beam.combiners.ToList()
                | "WriteFeedPolls" >> beam.Map(_write_polls, plan.polls_path)
            )
            commit_after = (polls_written,)
        items, feed_rejects = polled[ITEMS_TAG], polled[REJECTS_TAG]
        if unbounded:
            # One window per poll: everything after this point fires poll by poll.
            items = items | "WindowPolledItems" >> beam.WindowInto(
                windowing, allowed_lateness=ALLOWED_LATENESS
            )
            feed_rejects = feed_rejects | "WindowFeedRejects" >> beam.WindowInto(
                windowing, allowed_lateness=ALLOWED_LATENESS
            )
        fetched = items | "FetchArticles" >> FetchArticles(
            policy, run_id=plan.run_id, ingested_at=None if unbounded else plan.started_at
        )
        sources.append(fetched.articles)
        rejects += [feed_rejects, fetched.rejects]
    documents = sources[0] if len(sources) == 1 else tuple(sources) | "MergeSources" >> beam.Flatten()
    # The dedup index of earlier runs: a stream's keyed state starts from all its entries; a
    # batch run reads from its segments only the entries its articles share a key with.
    index = p | "ReadDedupIndex" >> (
        ReadDedupIndex(plan.layout.dedup, not_before=index_not_before(plan, nf))
        if plan.unbounded
        else IndexSegments(plan.layout.dedup)
    )
    # What earlier runs learnt of each site's repeated lines (state/sites/).
    site_memory = p | "ReadSiteMemory" >> ReadSiteMemory(
        plan.layout.sites, not_before=site_memory_not_before(plan, nf)
    )
    _process_and_write(documents, rejects, index, site_memory, plan, nf, commit_after, before_commit)
    return p


def _process_and_write(
    documents,
    rejects: list,
    index,
    site_memory,
    plan: RunPlan,
    nf: NewsflowOptions,
    commit_after: tuple = (),
    before_commit: Callable[[], None] | None = None,
) -> None:
    """The stages every source shares, from extraction to the three datasets."""
    extracted = documents | "ExtractArticles" >> ExtractArticles(workers=plan.workers)
    # The lake's articles: one read again is not counted twice into its site's lines. A stream
    # polls feeds, which skip the entries they have seen.
    known_ids = None if plan.unbounded else index | "IndexIds" >> IndexIds(index_not_before(plan, nf))
    cleaned = extracted.articles | "CleanArticles" >> CleanArticles(
        site_min_docs=nf.site_min_docs,
        memory=site_memory,
        known_ids=known_ids,
        workers=plan.workers,
    )
    enriched = cleaned.articles | "EnrichArticles" >> EnrichArticles(nf.taxonomy, workers=plan.workers)
    if plan.unbounded:
        seed_index = index | "IndexAsCandidates" >> beam.Map(
            lambda entry: entry._replace(seen_at=int(entry.ingested_at.timestamp() * 1e6))
        )
        deduped = enriched | "Deduplicate" >> StreamingDeduplicate(
            horizon=dt.timedelta(days=nf.dedup_horizon), seed_index=seed_index
        )
        # Late articles (after their poll's window was resolved) are written, not lost;
        # the late_articles counter tells how many skipped deduplication.
        rewindow = beam.WindowInto(window.FixedWindows(nf.poll_interval), allowed_lateness=ALLOWED_LATENESS)
        kept = (
            deduped["kept"] | "WindowKept" >> rewindow,
            deduped["late"] | "WindowLate" >> rewindow,
        ) | "KeptAndLate" >> beam.Flatten()
    else:
        deduped = enriched | "Deduplicate" >> Deduplicate(index, not_before=index_not_before(plan, nf))
        kept = deduped["kept"]

    articles_written = (
        kept
        | "KeyArticlesByPartition" >> beam.Map(_article_partition_row)
        | "WriteArticles"
        >> WriteParquet(
            plan.layout.articles,
            ARTICLE_FILE_SCHEMA,
            dataset="articles",
            prefix=plan.run_id,
            sort_key=_sort_by_id,
        )
    )
    index_written = (
        kept
        | "KeyIndexEntries" >> beam.Map(lambda a: ("", index_row(dedup_entry(a))))
        | "WriteDedupIndex"
        >> WriteParquet(
            plan.layout.dedup,
            INDEX_SCHEMA,
            dataset="dedup_index",
            prefix=plan.run_id,
            sort_key=_sort_by_id,
        )
    )
    duplicates_written = (
        deduped["duplicates"]
        | "KeyDuplicates" >> beam.Map(lambda d: ("", record_row(d)))
        | "WriteDuplicates"
        >> WriteParquet(
            plan.layout.dataset("duplicates"),
            DUPLICATE_SCHEMA,
            dataset="duplicates",
            prefix=plan.run_id,
            sort_key=_sort_by_id,
        )
    )
    # The line counts per site of the articles this run keeps join the site memory, committed
    # with the run.
    site_lines_written = (
        kept
        | "SiteMemoryRows" >> SiteMemoryRows(plan.started_at)
        | "KeySiteLines" >> beam.Map(lambda row: ("", row))
        | "WriteSiteMemory"
        >> WriteParquet(
            plan.layout.sites,
            SITE_LINES_SCHEMA,
            dataset="site_memory",
            prefix=plan.run_id,
            sort_key=_sort_site_lines,
        )
    )
    rejects_written = (
        (*rejects, extracted.rejects, cleaned.rejects)
        | "FlattenRejects" >> beam.Flatten()
        | "KeyRejects" >> beam.Map(lambda r: ("", record_row(r)))
        | "WriteRejects"
        >> WriteParquet(
            plan.layout.dataset("rejects"),
            REJECT_SCHEMA,
            dataset="rejects",
            prefix=plan.run_id,
            sort_key=_sort_rejects,
        )
    )
    if not plan.unbounded:
        # The commit point, after every write: the run record marks this run's files as
        # committed, whoever runs the job (a waiting launcher or a Flex Template's).
        (
            (
                articles_written,
                index_written,
                duplicates_written,
                rejects_written,
                site_lines_written,
                *commit_after,
            )
            | "FlattenWrittenFiles" >> beam.Flatten()
            | "CommitRun"
            >> CommitRun(
                plan.layout.output,
                plan.run_id,
                plan.started_at,
                argv=plan.argv,
                commit_empty=plan.commit_empty,
                before_commit=before_commit,
            )
        )
