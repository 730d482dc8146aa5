"""What one run will do, decided once before the graph is built: the ``RunPlan``.

The plan is where the launcher's I/O happens (feed lists read, cursors loaded, seed
patterns listed, the taxonomy checked); ``pipeline.graph.build_pipeline(options, plan)``
then only wires transforms. Sample::

    RunPlan(run_id="20261122T044048Z_8c3299", started_at=…, layout=LakeLayout("lake", "lake/state"),
            seeds=("seeds/**",), feeds=("https://example.org/rss.xml",), feeds_not_due=(), …)
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import os
import re
import secrets
from collections.abc import Iterable

from apache_beam.io.filesystems import FileSystems

from pipeline.options import NewsflowOptions, poll_bounds, split_values
from schemas.layout import LakeLayout
from transforms.core.feed_sources import document_kind, is_remote, parse_opml, read_feed_list
from transforms.core.feeds import FeedError, unique
from transforms.core.schedule import FeedCursor
from transforms.core.seeds import is_html
from transforms.core.sitemaps import gunzip, parse_since, robots_url, sitemap_kind
from transforms.core.urls import url_parts
from transforms.core.warc import is_warc
from transforms.lake.commit import check_run_id
from transforms.lake.cursors import load_feed_cursors
from transforms.lake.files import read_bytes, storage_problem
from transforms.seeds import list_seed_files, match_seed_files

# Local runs use the FnApiRunner directly: the plain DirectRunner first tries to
# download the Prism runner, and offline that costs a failed network call.
DEFAULT_RUNNER = "FnApiRunner"
# Runners that execute here, in this process or its workers.
LOCAL_RUNNERS = ("FnApiRunner", "DirectRunner", "BundleBasedDirectRunner", "SwitchingDirectRunner")


@dataclasses.dataclass(frozen=True)
class RunPlan:
    run_id: str
    started_at: dt.datetime
    layout: LakeLayout
    # Seed file patterns (folders expanded to "<folder>/**"), and the batch slice (I, K).
    seeds: tuple[str, ...] = ()
    seed_batch: tuple[int, int] | None = None
    # Feed sources polled by this run (sitemaps included), and those skipped as not due.
    feeds: tuple[str, ...] = ()
    # The sources given with --sitemaps (robots.txt URLs for sites), polled among the feeds.
    sitemaps: tuple[str, ...] = ()
    feeds_not_due: tuple[str, ...] = ()
    # Every feed cursor of the lake: the due feeds' and those of feeds listed by OPML or pages.
    cursors: dict[str, FeedCursor] = dataclasses.field(default_factory=dict)
    poll_bounds: tuple[float, float] = (300.0, 3600.0)
    poll_now: bool = False
    unbounded: bool = False
    local: bool = True
    # Processes that share a heavy stage's batches (local runs; 1 elsewhere).
    workers: int = 1
    # Stream cycles commit a run record only when they wrote or recorded something.
    commit_empty: bool = True
    argv: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()

    @property
    def has_work(self) -> bool:
        return bool(self.seeds) or bool(self.feeds)

    @property
    def polls_path(self) -> str:
        return self.layout.polls_of(self.run_id)


def new_run_id(now: dt.datetime) -> str:
    """A sortable, file-name-safe run id: ``20261122T035426Z_a854d0``."""
    return now.strftime("%Y%m%dT%H%M%SZ") + "_" + secrets.token_hex(3)


def stage_workers(nf: NewsflowOptions, runner: str | None, multi_processing: bool = False) -> int:
    """How many processes share a heavy stage's batches: ``--workers``, else one per core on a
    local runner that runs in one process; one on distributed runners and Beam's own
    multi-process mode, whose workers are processes already."""
    if (runner or DEFAULT_RUNNER) not in LOCAL_RUNNERS or multi_processing:
        return 1
    return nf.workers if nf.workers > 0 else max(1, os.cpu_count() or 1)


def runs_unbounded(nf: NewsflowOptions, runner: str | None) -> bool:
    """Stream mode runs the unbounded graph on runners that stream, or when asked to.

    Offline, a local runner cannot run an unbounded pipeline for ever (Prism cannot be
    downloaded, windows fire only at the end), so local stream mode is one bounded run
    per poll cycle; ``--unbounded`` with ``--duration`` runs the streaming graph locally
    to its stop time.
    """
    if not nf.stream:
        return False
    return nf.unbounded or (runner or DEFAULT_RUNNER) not in LOCAL_RUNNERS


def seed_patterns(values: list[str]) -> tuple[list[str], list[str]]:
    """File patterns for ``--seeds`` values, and a warning for each that matches no file.

    Raises ``ValueError`` for a local path that names nothing.
    """
    patterns, warnings = [], []
    for value in values:
        pattern = list_seed_files(value)
        patterns.append(pattern)
        if not match_seed_files(pattern):
            warnings.append(f"--seeds {value} matches no seed file")
    return patterns, warnings


def make_plan(
    nf: NewsflowOptions,
    *,
    layout: LakeLayout,
    run_id: str,
    runner: str,
    include_seeds: bool = True,
    include_feeds: bool = True,
    seed_batch: tuple[int, int] | None = None,
    stream_cycle: bool = False,
    argv: tuple[str, ...] = (),
    multi_processing: bool = False,
) -> RunPlan:
    """The plan of one run: which seeds and feeds it reads, with the cursors it starts from.

    Raises ``ValueError`` (a usage error) for inputs that name nothing readable.
    """
    from transforms.topics import load_taxonomy

    if nf.taxonomy:
        load_taxonomy(nf.taxonomy)  # a bad file is a usage error now, not a failure on a worker
    unbounded = runs_unbounded(nf, runner)
    warnings: list[str] = []
    seeds: list[str] = []
    if include_seeds and nf.seeds:
        seeds, warnings = seed_patterns(split_values(nf.seeds))
    feeds = resolve_feeds(split_values(nf.feeds)) if include_feeds and nf.feeds else []
    sitemaps = resolve_sitemaps(split_values(nf.sitemaps)) if include_feeds and nf.sitemaps else []
    feeds = list(unique(feeds + sitemaps))
    if nf.since:
        parse_since(nf.since, dt.datetime.now(dt.timezone.utc))  # a bad value is a usage error now
    cursors = load_feed_cursors(layout)
    bounds = poll_bounds(nf)
    # Due against the clock, not the second-truncated start: a run that starts within the
    # second a zero-interval poll ended must still find that feed due.
    now = dt.datetime.now(dt.timezone.utc)
    due = tuple(
        url
        for url in feeds
        if unbounded or nf.poll_now or url not in cursors or cursors[url].due(now, bounds[1])
    )
    return RunPlan(
        run_id=run_id,
        started_at=dt.datetime.now(dt.timezone.utc).replace(microsecond=0),
        layout=layout,
        seeds=tuple(seeds),
        seed_batch=seed_batch,
        feeds=due,
        feeds_not_due=tuple(url for url in feeds if url not in due),
        sitemaps=tuple(sitemaps),
        cursors=cursors,
        poll_bounds=bounds,
        poll_now=nf.poll_now,
        unbounded=unbounded,
        local=runner in LOCAL_RUNNERS,
        workers=stage_workers(nf, runner, multi_processing),
        commit_empty=not stream_cycle,
        argv=argv,
        warnings=tuple(warnings),
    )


_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")

# Where a feed list or a saved feed may live besides a local path (Beam FileSystems).
_FILE_SCHEMES = ("gs", "s3")


def _check_file_source(value: str, flag: str = "--feeds") -> str:
    """The path to read for a non-URL ``--feeds`` value; ``ValueError`` when it names nothing readable."""
    if value.startswith("file://"):
        value = value[len("file://") :]
    scheme = _SCHEME.match(value)
    if scheme and scheme.group(1).lower() not in _FILE_SCHEMES:
        raise ValueError(
            f"{flag} {value}: unsupported scheme {scheme.group(1)}:// (give http(s) URLs, local files,"
            " gs:// or s3:// paths)"
        )
    problem = storage_problem(value)  # an object store whose extra is not installed
    if problem:
        raise ValueError(f"{flag} {value}: {problem}")
    if not FileSystems.exists(value):
        raise ValueError(f"{flag} {value}: neither an http(s) URL nor an existing file")
    return value if scheme else os.path.abspath(value)


def resolve_feeds(specs: Iterable[str]) -> list[str]:
    """Feed sources from command-line values: URLs, files of one URL per line, OPML files and
    saved feed files (read as feeds, by their content).

    Files are read through Beam FileSystems (local, gs://, s3://). Raises ``ValueError``
    with the value when it is neither a URL nor a readable feed list, OPML or feed file.
    """
    sources: list[str] = []
    for value in (v.strip() for v in specs):
        if not value:
            continue
        if is_remote(value):
            sources.append(value)
            continue
        path = _check_file_source(value)
        data = read_bytes(path)
        kind = document_kind(data)
        if kind == "opml":
            try:
                sources.extend(parse_opml(data))
            except FeedError as error:
                raise ValueError(f"--feeds {value}: not a valid OPML file ({error})") from None
        elif kind == "feed":
            sources.append(path)  # a saved feed: polled from the file
        elif kind == "html":
            raise ValueError(f"--feeds {value}: an HTML page, not a feed, an OPML list or a list of URLs")
        else:
            sources.extend(read_feed_list(data.decode("utf-8", errors="replace"), value))
    return list(unique(sources))


def resolve_sitemaps(specs: Iterable[str]) -> list[str]:
    """Sitemap sources from command-line values: sitemap URLs as given, a site's root URL as its
    robots.txt (whose ``Sitemap:`` lines are read), files of such URLs (one per line), and saved
    sitemaps (polled from the file, ``.xml.gz`` too).

    Raises ``ValueError`` with the value when it names nothing readable.
    """
    sources: list[str] = []
    for value in (v.strip() for v in specs):
        if not value:
            continue
        if is_remote(value):
            sources.append(_sitemap_url(value))
            continue
        path = _check_file_source(value, "--sitemaps")
        try:
            data = gunzip(read_bytes(path), MAX_SITEMAP_FILE_BYTES)
        except FeedError as error:
            raise ValueError(f"--sitemaps {value}: {error}") from None
        if sitemap_kind(data):
            sources.append(path)
            continue
        try:
            urls = read_feed_list(data.decode("utf-8", errors="replace"), value)
        except ValueError:
            raise ValueError(
                f"--sitemaps {value}: neither a sitemap nor a list of sitemap or site URLs"
            ) from None
        sources.extend(_sitemap_url(url) for url in urls)
    return list(unique(sources))


# A saved sitemap holds at most 50,000 URLs: about 50 MB uncompressed (the protocol's cap).
MAX_SITEMAP_FILE_BYTES = 50_000_000


def _sitemap_url(url: str) -> str:
    """A site's root (``https://example.org`` or ``…/``) stands for its robots.txt."""
    parts = url_parts(url)
    return robots_url(url) if parts and parts.path in ("", "/") else url


def index_not_before(plan: RunPlan, nf: NewsflowOptions) -> dt.datetime:
    """The oldest ingestion time of a dedup index entry the run still counts (``--dedup_horizon``):
    the bound of the index's read and of its compaction."""
    return plan.started_at - dt.timedelta(days=nf.dedup_horizon)


def site_memory_not_before(plan: RunPlan, nf: NewsflowOptions) -> dt.datetime:
    """The oldest ``last_seen`` of a site memory row the run still counts (``--site_memory_days``):
    the bound of the memory's read and of its compaction."""
    return plan.started_at - dt.timedelta(days=nf.site_memory_days)


# Numeric options outside their range are usage errors, not a silent change of meaning (a
# negative --dedup_horizon would switch deduplication against earlier runs off). Where 0 is
# allowed it means something: --workers 0 one process per core, --max_batch_mb 0 one run,
# --dedup_horizon 0 no earlier runs, --site_min_docs 0 no site rule, --poll_interval 0 and
# --max_poll_interval 0 every feed due now (a batch run's; stream mode needs a positive interval).
NON_NEGATIVE_OPTIONS = (
    "workers",
    "max_batch_mb",
    "dedup_horizon",
    "site_min_docs",
    "site_memory_days",
    "min_host_interval",
    "poll_interval",
    "max_poll_interval",
)
POSITIVE_OPTIONS = ("fetch_timeout", "max_page_bytes", "max_record_bytes", "duration")
# Ages counted back from a run's start: beyond this, no date is left to count back to.
DAY_OPTIONS = ("dedup_horizon", "site_memory_days")
MAX_DAYS = 36_500


def check_options(nf: NewsflowOptions, local: bool) -> list[str]:
    """Raises ``ValueError`` for options that cannot run together; returns warnings for no-ops."""
    warnings = []
    if not nf.seeds and not nf.feeds and not nf.sitemaps:
        raise ValueError("nothing to read: pass --seeds DIR, --feeds URL|FILE and/or --sitemaps URL|FILE")
    if nf.stream and nf.poll_interval <= 0:
        raise ValueError("--poll_interval must be positive in stream mode")
    if nf.unbounded and not nf.stream:
        raise ValueError("--unbounded runs the streaming graph: it needs --stream")
    if nf.stream and nf.unbounded and local and not nf.duration:
        raise ValueError("--unbounded on a local runner needs --duration: it runs to that stop time")
    for name in NON_NEGATIVE_OPTIONS + POSITIVE_OPTIONS:
        value = getattr(nf, name)
        if value is None:
            continue
        if not math.isfinite(value):
            raise ValueError(f"--{name} must be a finite number, not {value:g}")
        if value < 0 or (value == 0 and name in POSITIVE_OPTIONS):
            raise ValueError(
                f"--{name} must be {'positive' if name in POSITIVE_OPTIONS else '0 or more'}, not {value:g}"
            )
    for name in DAY_OPTIONS:
        days = getattr(nf, name)
        if days > MAX_DAYS:
            raise ValueError(f"--{name} must be at most {MAX_DAYS:,} days (100 years), not {days:g}")
    if nf.run_id is not None:
        check_run_id(nf.run_id)
    # Every location, before the lake is opened: nothing is made for a run that cannot start.
    for flag, values in (("--feeds", nf.feeds), ("--sitemaps", nf.sitemaps)):
        for value in (v.strip() for v in split_values(values)):
            if value and not is_remote(value):  # a file of URLs, an OPML list, a saved feed
                _check_file_source(value, flag)
    paths = [("output", nf.output), ("state", nf.state), ("taxonomy", nf.taxonomy)]
    paths += [("seeds", value) for value in split_values(nf.seeds)]
    for flag, path in paths:
        problem = path and storage_problem(path)
        if problem:
            web_seed = flag == "seeds" and is_remote(path)
            hint = "; a feed or a page on the web goes to --feeds" if web_seed else ""
            raise ValueError(f"--{flag} {path}: {problem}{hint}")
    if nf.duration is not None and not nf.stream:
        warnings.append("--duration has no effect without --stream (a batch run ends by itself)")
    if nf.stream and not nf.feeds and not nf.sitemaps:
        warnings.append("--stream with no --feeds: the seeds are read once, then there is nothing to poll")
    if nf.since and not nf.sitemaps:
        warnings.append("--since applies to sitemap entries: it has no effect without --sitemaps")
    return warnings


# A gzipped seed is counted at this multiple of its size when input is split into batches.
GZIP_EXPANSION = 4
# A saved HTML page is counted at this share of its size: extraction keeps its text, a small
# part of the markup, and the markup is dropped there. Measured (BENCHMARKS.md): 1,000 saved
# pages (98 MB) peak at 527 MB in one run against 515 MB as two batches, 447 MB for 5 documents.
HTML_SHARE = 0.125


def seed_batches(nf: NewsflowOptions, runner: str) -> int:
    """How many batches a local run splits its seeds into: their size over ``--max_batch_mb``.

    The local runners hold a run's data in memory (about 14x the JSONL input at its peak,
    measured in BENCHMARKS.md), so a large backfill runs as consecutive batches. Managed
    runners shuffle on disk and a streaming graph has no end: both take the input whole.
    """
    if not nf.seeds or nf.max_batch_mb <= 0 or runner not in LOCAL_RUNNERS or runs_unbounded(nf, runner):
        return 1
    size = 0
    for value in split_values(nf.seeds):
        for meta in match_seed_files(list_seed_files(value)):
            # A WARC's HTML is dropped at extraction: a run holds its text, a fraction of the
            # compressed file, so a .warc.gz counts at its stored size (an estimate, not measured).
            gzipped = meta.path.endswith(".gz") and not is_warc(meta.path)
            share = HTML_SHARE if is_html(meta.path) else 1
            size += meta.size_in_bytes * (GZIP_EXPANSION if gzipped else 1) * share
    return max(1, math.ceil(size / (nf.max_batch_mb * 1024 * 1024)))
