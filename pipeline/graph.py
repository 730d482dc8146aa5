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

from pipeline.options import NewsflowOptions
from schemas.parquet import (
    ARTICLE_FILE_SCHEMA,
    DUPLICATE_SCHEMA,
    REJECT_SCHEMA,
    partition_path,
)
from schemas.records import article_row, record_row
from transforms.clean import CleanArticles
from transforms.dedup import Deduplicate
from transforms.enrich import EnrichArticles
from transforms.extract import ExtractArticles
from transforms.feeds import PollFeeds, resolve_feeds
from transforms.fetch import FetchArticles, FetchPolicy
from transforms.seeds import ReadSeeds
from transforms.state import load_feed_cursors, write_json_atomic
from transforms.write import WriteParquet, join_path

# Local runs use the FnApiRunner directly: the plain DirectRunner first tries to
# download the Prism runner, and offline that costs a failed network call.
DEFAULT_RUNNER = "FnApiRunner"
DATASETS = ("articles", "duplicates", "rejects", "runs", "state")


@dataclasses.dataclass(frozen=True)
class RunContext:
    run_id: str
    started_at: dt.datetime
    output: str
    state: str
    feeds: tuple[str, ...] = ()
    feeds_not_due: tuple[str, ...] = ()
    has_seeds: bool = False

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
    return now.strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(3)


def _article_partition_row(article) -> tuple[str, dict]:
    return partition_path(article.published, article.topic), article_row(article)


def _sort_by_id(row: dict) -> tuple:
    return (row.get("id") or "", row.get("source") or "")


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


def _write_polls(polls: list, path: str) -> None:
    write_json_atomic(path, [dataclasses.asdict(poll) for poll in sorted(polls, key=lambda p: p.feed_url)])


def build_pipeline(
    argv: list[str] | None = None, *, include_seeds: bool = True
) -> tuple[beam.Pipeline, RunContext]:
    """The bounded graph: the seeds and one poll of the feeds that are due, into the lake.

    Stream mode on a local runner runs it once per poll cycle (``include_seeds`` only
    on the first).
    """
    options = PipelineOptions(argv or [])
    standard = options.view_as(StandardOptions)
    if not standard.runner:
        standard.runner = DEFAULT_RUNNER
    nf = options.view_as(NewsflowOptions)
    if not nf.seeds and not nf.feeds:
        raise ValueError("nothing to read: pass --seeds DIR and/or --feeds URL|FILE")
    started_at = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    state = state_dir(nf)
    feeds = resolve_feeds(nf.feeds or [])
    cursors = load_feed_cursors(state)
    max_interval = max(nf.max_poll_interval, nf.poll_interval)
    due = tuple(url for url in feeds if url not in cursors or cursors[url].due(started_at, max_interval))
    ctx = RunContext(
        run_id=nf.run_id or new_run_id(started_at),
        started_at=started_at,
        output=nf.output,
        state=state,
        feeds=due,
        feeds_not_due=tuple(url for url in feeds if url not in due),
        has_seeds=bool(nf.seeds and include_seeds),
    )

    p = beam.Pipeline(options=options)
    if not ctx.has_work:
        return p, ctx
    sources, rejects = [], []
    if ctx.has_seeds:
        seeds = p | "ReadSeeds" >> ReadSeeds(nf.seeds, ingested_at=started_at, run_id=ctx.run_id)
        sources.append(seeds.articles)
        rejects.append(seeds.rejects)
    if ctx.feeds:
        policy = fetch_policy(nf)
        polled = (
            p
            | "FeedUrls" >> beam.Create(list(ctx.feeds))
            | "PollFeeds"
            >> PollFeeds(
                policy,
                {u: c for u, c in cursors.items() if u in due},
                run_id=ctx.run_id,
                ingested_at=started_at,
            )
        )
        fetched = polled.items | "FetchArticles" >> FetchArticles(
            policy, run_id=ctx.run_id, ingested_at=started_at
        )
        sources.append(fetched.articles)
        rejects += [polled.rejects, fetched.rejects]
        (
            polled.polls
            | "CollectFeedPolls" >> beam.combiners.ToList()
            | "WriteFeedPolls" >> beam.Map(_write_polls, ctx.polls_path)
        )
    documents = sources[0] if len(sources) == 1 else tuple(sources) | "MergeSources" >> beam.Flatten()
    extracted = documents | "ExtractArticles" >> ExtractArticles()
    cleaned = extracted.articles | "CleanArticles" >> CleanArticles(site_min_docs=nf.site_min_docs)
    enriched = cleaned.articles | "EnrichArticles" >> EnrichArticles(nf.taxonomy)
    deduped = enriched | "Deduplicate" >> Deduplicate()

    (
        deduped["kept"]
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
    (
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
    (
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
    return p, ctx
