"""The newsflow graph: sources at the edge, the same composite stages after them.

``build_pipeline`` returns the pipeline without running it (the launcher runs it), as
in Google's flex-template samples.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import secrets

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions
from apache_beam.transforms import window
from apache_beam.transforms.periodicsequence import PeriodicImpulse
from apache_beam.utils.timestamp import MAX_TIMESTAMP

from pipeline.options import NewsflowOptions
from schemas.parquet import (
    ARTICLE_FILE_SCHEMA,
    DUPLICATE_SCHEMA,
    INDEX_SCHEMA,
    REJECT_SCHEMA,
    SITE_LINES_SCHEMA,
    partition_path,
)
from schemas.records import article_row, record_row
from transforms.clean import CleanArticles
from transforms.commit import CommitRun, check_run_id
from transforms.dedup import Deduplicate, ReadDedupIndex, StreamingDeduplicate, dedup_candidate, index_row
from transforms.enrich import EnrichArticles
from transforms.extract import ExtractArticles
from transforms.feeds import PollFeeds, resolve_feeds
from transforms.fetch import FetchArticles, FetchPolicy
from transforms.seeds import ReadSeeds, parse_seed_batch
from transforms.sitememory import ReadSiteMemory, memory_folder
from transforms.state import load_feed_cursors, write_json_atomic
from transforms.write import WriteParquet, WrittenFile, join_path

# Local runs use the FnApiRunner directly: the plain DirectRunner first tries to
# download the Prism runner, and offline that costs a failed network call.
DEFAULT_RUNNER = "FnApiRunner"
DATASETS = ("articles", "duplicates", "rejects", "runs", "state")
# Runners that execute here, in this process or its workers.
LOCAL_RUNNERS = ("FnApiRunner", "DirectRunner", "BundleBasedDirectRunner", "SwitchingDirectRunner")
# How late (after its window closed) a polled item may still be written: fetching a
# busy host's pages one by one can outlast a poll interval.
ALLOWED_LATENESS = 3600


@dataclasses.dataclass(frozen=True)
class RunContext:
    run_id: str
    started_at: dt.datetime
    output: str
    state: str
    feeds: tuple[str, ...] = ()
    feeds_not_due: tuple[str, ...] = ()
    has_seeds: bool = False
    unbounded: bool = False
    local: bool = True
    argv: tuple[str, ...] = ()

    def dataset(self, name: str) -> str:
        return join_path(self.output, name)

    @property
    def polls_path(self) -> str:
        """Where the run leaves its feed poll records for the cursors."""
        return join_path(self.state, "polls", f"{self.run_id}.json")

    @property
    def has_work(self) -> bool:
        return self.has_seeds or bool(self.feeds)


def new_run_id(now: dt.datetime) -> str:
    """A sortable, file-name-safe run id: ``20261122T035426Z_a854d0``."""
    return now.strftime("%Y%m%dT%H%M%SZ") + "_" + secrets.token_hex(3)


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


def state_dir(nf: NewsflowOptions) -> str:
    return nf.state or join_path(nf.output, "state")


def _write_polls(polls: list, path: str) -> WrittenFile:
    write_json_atomic(path, [dataclasses.asdict(poll) for poll in sorted(polls, key=lambda p: p.feed_url)])
    return WrittenFile("polls", "", path, len(polls))


def runs_unbounded(nf: NewsflowOptions, standard: StandardOptions) -> bool:
    """Stream mode runs the unbounded graph on runners that stream, or when asked to.

    Offline, a local runner cannot run an unbounded pipeline for ever (Prism cannot be
    downloaded, windows fire only at the end), so local stream mode is one bounded run
    per poll cycle; ``--unbounded`` with ``--duration`` runs the streaming graph locally
    to its stop time.
    """
    if not nf.stream:
        return False
    return nf.unbounded or (standard.runner or DEFAULT_RUNNER) not in LOCAL_RUNNERS


def build_pipeline(
    argv: list[str] | None = None,
    *,
    include_seeds: bool = True,
    include_feeds: bool = True,
    run_id: str | None = None,
) -> tuple[beam.Pipeline, RunContext]:
    """The newsflow graph: sources at the edge, then the same stages for batch and stream.

    Bounded: the seeds and one poll of the feeds that are due (local stream mode runs
    this once per poll cycle, ``include_seeds`` on the first only; a large seed input runs
    as batches, ``include_feeds`` on the first only). Unbounded: a
    PeriodicImpulse polls the feeds every ``--poll_interval`` seconds, items are windowed
    by poll, deduplication keeps keyed state and writes go out per window.
    """
    options = PipelineOptions(argv or [])
    standard = options.view_as(StandardOptions)
    if not standard.runner:
        standard.runner = DEFAULT_RUNNER
    nf = options.view_as(NewsflowOptions)
    parse_seed_batch(nf.seed_batch)  # a malformed value is an error before anything runs
    if not nf.seeds and not nf.feeds:
        raise ValueError("nothing to read: pass --seeds DIR and/or --feeds URL|FILE")
    unbounded = runs_unbounded(nf, standard)
    if unbounded and standard.runner not in LOCAL_RUNNERS:
        standard.streaming = True
    if unbounded and nf.poll_interval <= 0:
        raise ValueError("--poll_interval must be positive in stream mode")
    if unbounded and nf.unbounded and not nf.duration:
        raise ValueError("--unbounded on a local runner needs --duration: it runs to that stop time")
    started_at = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    state = state_dir(nf)
    feeds = resolve_feeds(nf.feeds or []) if include_feeds else []
    cursors = load_feed_cursors(state)
    max_interval = max(nf.max_poll_interval, nf.poll_interval)
    # Due against the clock, not the second-truncated start: a run that starts within the
    # second a zero-interval poll ended must still find that feed due.
    now = dt.datetime.now(dt.timezone.utc)
    due = tuple(
        url for url in feeds if unbounded or url not in cursors or cursors[url].due(now, max_interval)
    )
    ctx = RunContext(
        run_id=check_run_id(run_id or nf.run_id or new_run_id(started_at)),
        started_at=started_at,
        output=nf.output,
        state=state,
        feeds=due,
        feeds_not_due=tuple(url for url in feeds if url not in due),
        has_seeds=bool(nf.seeds and include_seeds),
        unbounded=unbounded,
        local=standard.runner in LOCAL_RUNNERS,
        argv=tuple(argv or ()),
    )

    p = beam.Pipeline(options=options)
    if not ctx.has_work:
        return p, ctx
    sources, rejects, commit_after = [], [], ()
    windowing = window.FixedWindows(nf.poll_interval) if unbounded else None
    if ctx.has_seeds:
        seeds = p | "ReadSeeds" >> ReadSeeds(
            nf.seeds, ingested_at=started_at, run_id=ctx.run_id, batch=parse_seed_batch(nf.seed_batch)
        )
        seed_articles, seed_rejects = seeds.articles, seeds.rejects
        if unbounded:
            # The seeds are the stream's first batch: stamped at the start, in its first window.
            at = started_at.timestamp()
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
    if ctx.feeds:
        policy = fetch_policy(nf)
        feed_cursors = {u: c for u, c in cursors.items() if u in due}
        if unbounded:
            start = started_at.timestamp()
            stop = start + nf.duration if nf.duration else MAX_TIMESTAMP
            polled = (
                p
                | "PollTicks"
                >> PeriodicImpulse(start_timestamp=start, stop_timestamp=stop, fire_interval=nf.poll_interval)
                | "FeedUrlsPerTick"
                >> beam.FlatMap(
                    lambda tick, urls: [(url, float(tick)) for url in urls], list(ctx.feeds)
                ).with_output_types(tuple[str, float])
                | "PollFeeds"
                >> PollFeeds(
                    policy,
                    feed_cursors,
                    run_id=ctx.run_id,
                    ingested_at=None,
                    stream_intervals=(nf.poll_interval, max_interval),
                )
            )
        else:
            polled = (
                p
                | "FeedUrls" >> beam.Create(list(ctx.feeds))
                | "PollFeeds" >> PollFeeds(policy, feed_cursors, run_id=ctx.run_id, ingested_at=started_at)
            )
            polls_written = (
                polled.polls
                | "CollectFeedPolls" >> beam.combiners.ToList()
                | "WriteFeedPolls" >> beam.Map(_write_polls, ctx.polls_path)
            )
            commit_after = (polls_written,)
        items, feed_rejects = polled.items, polled.rejects
        if unbounded:
            # One window per poll: everything after this point fires poll by poll.
            items = items | "WindowPolledItems" >> beam.WindowInto(
                windowing, allowed_lateness=ALLOWED_LATENESS
            )
            feed_rejects = feed_rejects | "WindowFeedRejects" >> beam.WindowInto(
                windowing, allowed_lateness=ALLOWED_LATENESS
            )
        fetched = items | "FetchArticles" >> FetchArticles(
            policy, run_id=ctx.run_id, ingested_at=None if unbounded else started_at
        )
        sources.append(fetched.articles)
        rejects += [feed_rejects, fetched.rejects]
    documents = sources[0] if len(sources) == 1 else tuple(sources) | "MergeSources" >> beam.Flatten()
    index = p | "ReadDedupIndex" >> ReadDedupIndex(
        join_path(ctx.state, "dedup"), not_before=started_at - dt.timedelta(days=nf.dedup_horizon)
    )
    # What earlier runs learnt of each site's repeated lines (state/sites/).
    site_memory = p | "ReadSiteMemory" >> ReadSiteMemory(
        memory_folder(ctx.state), not_before=started_at - dt.timedelta(days=nf.site_memory_days)
    )
    _process_and_write(documents, rejects, index, site_memory, ctx, nf, commit_after)
    return p, ctx


def _process_and_write(
    documents,
    rejects: list,
    index,
    site_memory,
    ctx: RunContext,
    nf: NewsflowOptions,
    commit_after: tuple = (),
) -> None:
    """The stages every source shares, from extraction to the three datasets."""
    extracted = documents | "ExtractArticles" >> ExtractArticles()
    cleaned = extracted.articles | "CleanArticles" >> CleanArticles(
        site_min_docs=nf.site_min_docs, memory=site_memory, seen_at=ctx.started_at
    )
    enriched = cleaned.articles | "EnrichArticles" >> EnrichArticles(nf.taxonomy)
    if ctx.unbounded:
        seed_index = index | "IndexAsCandidates" >> beam.Map(
            lambda a: dedup_candidate(a, seen_at=int(a.ingested_at.timestamp() * 1e6))
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
        deduped = enriched | "Deduplicate" >> Deduplicate(index=index)
        kept = deduped["kept"]

    articles_written = (
        kept
        | "KeyArticlesByPartition" >> beam.Map(_article_partition_row)
        | "WriteArticles"
        >> WriteParquet(
            ctx.dataset("articles"),
            ARTICLE_FILE_SCHEMA,
            dataset="articles",
            prefix=ctx.run_id,
            sort_key=_sort_by_id,
        )
    )
    index_written = (
        kept
        | "KeyIndexEntries" >> beam.Map(lambda a: ("", index_row(a)))
        | "WriteDedupIndex"
        >> WriteParquet(
            join_path(ctx.state, "dedup"),
            INDEX_SCHEMA,
            dataset="dedup_index",
            prefix=ctx.run_id,
            sort_key=_sort_by_id,
        )
    )
    duplicates_written = (
        deduped["duplicates"]
        | "KeyDuplicates" >> beam.Map(lambda d: ("", record_row(d)))
        | "WriteDuplicates"
        >> WriteParquet(
            ctx.dataset("duplicates"),
            DUPLICATE_SCHEMA,
            dataset="duplicates",
            prefix=ctx.run_id,
            sort_key=_sort_by_id,
        )
    )
    # This run's line counts per site join the site memory, committed with the run.
    site_lines_written = (
        cleaned.site_lines
        | "KeySiteLines" >> beam.Map(lambda row: ("", row))
        | "WriteSiteMemory"
        >> WriteParquet(
            memory_folder(ctx.state),
            SITE_LINES_SCHEMA,
            dataset="site_memory",
            prefix=ctx.run_id,
            sort_key=_sort_site_lines,
        )
    )
    rejects_written = (
        (*rejects, extracted.rejects, cleaned.rejects)
        | "FlattenRejects" >> beam.Flatten()
        | "KeyRejects" >> beam.Map(lambda r: ("", record_row(r)))
        | "WriteRejects"
        >> WriteParquet(
            ctx.dataset("rejects"),
            REJECT_SCHEMA,
            dataset="rejects",
            prefix=ctx.run_id,
            sort_key=_sort_rejects,
        )
    )
    if not ctx.unbounded:
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
            | "CommitRun" >> CommitRun(ctx.output, ctx.run_id, ctx.started_at, argv=ctx.argv)
        )
