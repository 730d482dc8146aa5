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
from transforms.clean import CleanArticles

from pipeline.options import NewsflowOptions
from schemas.parquet import (
    ARTICLE_FILE_SCHEMA,
    DUPLICATE_SCHEMA,
    REJECT_SCHEMA,
    partition_path,
)
from schemas.records import article_row, record_row
from transforms.dedup import Deduplicate
from transforms.enrich import EnrichArticles
from transforms.extract import ExtractArticles
from transforms.seeds import ReadSeeds
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

    def dataset(self, name: str) -> str:
        return join_path(self.output, name)


def new_run_id(now: dt.datetime) -> str:
    return now.strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(3)


def _article_partition_row(article) -> tuple[str, dict]:
    return partition_path(article.published, article.topic), article_row(article)


def _sort_by_id(row: dict) -> tuple:
    return (row.get("id") or "", row.get("source") or "")


def _sort_rejects(row: dict) -> tuple:
    return (row["source"], row["stage"], row["reason"])


def build_pipeline(argv: list[str] | None = None) -> tuple[beam.Pipeline, RunContext]:
    """The batch graph: seeds through extraction, cleaning, enrichment and dedup into the lake."""
    options = PipelineOptions(argv or [])
    standard = options.view_as(StandardOptions)
    if not standard.runner:
        standard.runner = DEFAULT_RUNNER
    nf = options.view_as(NewsflowOptions)
    started_at = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    ctx = RunContext(run_id=nf.run_id or new_run_id(started_at), started_at=started_at, output=nf.output)
    if not nf.seeds:
        raise ValueError("nothing to read: pass --seeds DIR")

    p = beam.Pipeline(options=options)
    seeds = p | "ReadSeeds" >> ReadSeeds(nf.seeds, ingested_at=started_at, run_id=ctx.run_id)
    extracted = seeds.articles | "ExtractArticles" >> ExtractArticles()
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
        (seeds.rejects, extracted.rejects, cleaned.rejects)
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
