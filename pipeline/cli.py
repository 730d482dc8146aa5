"""The ``newsflow`` command: run the pipeline, inspect a lake, debug cleaning and extraction.

    newsflow run --seeds seeds --output lake      # seeds through the DirectRunner into ./lake
    newsflow inspect lake                         # the summary of an existing lake
    newsflow compact lake                         # merge small files per partition
    newsflow clean seeds/000_b3fd492040c0f746.txt # why each line went
    newsflow extract page.html                    # the record a page would become

``run`` takes any Beam pipeline option as well (``--runner``, ``--direct_num_workers``…).
"""

from __future__ import annotations

import argparse
import collections
import datetime as dt
import gc
import glob
import json
import logging
import math
import os
import sys
from collections.abc import Iterator, Sequence
from typing import Any

_LOGGER = logging.getLogger(__name__)


def _quiet_beam_import_noise() -> None:
    # Beam logs a warning on import when the optional GCP client libraries are absent.
    class _DropApitools(logging.Filter):
        def filter(self, record: logging.LogRecord) -> bool:
            return "apitools not found" not in record.getMessage()

    logging.getLogger().addFilter(_DropApitools())


# --- lake summaries ------------------------------------------------------------------


def _read_table(path: str, columns: Sequence[str], run_ids: Sequence[str] | None = None, hive: bool = False):
    """Columns of a dataset, only the rows of ``run_ids`` (None: all rows).

    One run's rows are read from its own files only (``part-<run id>-…``): after each run
    of a long backfill, its summary costs that run's files, not the whole lake's.
    """
    import pyarrow as pa
    import pyarrow.dataset as ds
    from apache_beam.io.filesystems import FileSystems

    from schemas.parquet import PARTITION_SCHEMA
    from transforms.write import join_path

    if not FileSystems.exists(path):
        return None
    if run_ids is not None and not run_ids:
        return None  # no committed run: nothing counts yet
    partitioning = ds.partitioning(PARTITION_SCHEMA, flavor="hive") if hive else None
    source: str | list[str] = path
    if run_ids is not None and len(run_ids) == 1:
        name = f"part-{glob.escape(run_ids[0])}-*.parquet"
        matches = FileSystems.match([join_path(path, name), join_path(path, "**", name)])
        source = sorted({m.path for match in matches for m in match.metadata_list})
        if not source:
            return None
    dataset = ds.dataset(
        source,
        format="parquet",
        partitioning=partitioning,
        partition_base_dir=path if isinstance(source, list) else None,
    )
    filt = ds.field("run_id").isin(pa.array(list(run_ids), pa.string())) if run_ids is not None else None
    return dataset.to_table(columns=list(columns), filter=filt)


def lake_summary(output: str, run_id: str | None = None) -> dict[str, Any]:
    """Counts of what a lake holds (or what one run wrote to it), read from the data itself.

    Only committed runs count: rows of a run that crashed before its record are left out
    (the next run deletes them).
    """
    from transforms.commit import committed_runs
    from transforms.write import join_path

    run_ids = [run_id] if run_id else sorted(committed_runs(output))

    summary: dict[str, Any] = {"written": 0, "duplicates": {}, "rejects": {}, "partitions": {}, "files": {}}
    articles = _read_table(join_path(output, "articles"), ["date", "topic"], run_ids, hive=True)
    if articles is not None and articles.num_rows:
        counts = articles.group_by(["date", "topic"]).aggregate([([], "count_all")]).to_pylist()
        for row in sorted(counts, key=lambda r: (r["date"] or "", r["topic"])):
            summary["partitions"][
                f"date={row['date'] or '__HIVE_DEFAULT_PARTITION__'}/topic={row['topic']}"
            ] = row["count_all"]
        summary["written"] = articles.num_rows
    for name, column in (("duplicates", "kind"), ("rejects", "reason")):
        table = _read_table(join_path(output, name), [column], run_ids)
        if table is not None and table.num_rows:
            summary[name] = dict(sorted(collections.Counter(table.column(column).to_pylist()).items()))
    return summary


def _count_files(output: str) -> dict[str, int]:
    from apache_beam.io.filesystems import FileSystems

    from transforms.write import join_path

    files = {}
    for name in ("articles", "duplicates", "rejects"):
        pattern = join_path(output, name, "**.parquet")
        try:
            files[name] = len(FileSystems.match([pattern])[0].metadata_list)
        except Exception:  # noqa: BLE001 - a missing dataset has no files
            files[name] = 0
    return files


def format_summary(summary: dict[str, Any], title: str) -> str:
    dup_total = sum(summary["duplicates"].values())
    rej_total = sum(summary["rejects"].values())
    lines = [title]
    if "read" in summary:
        lines.append(f"  read        {summary['read']}")
    lines.append(f"  written     {summary['written']}")
    lines.append(f"  duplicates  {dup_total}" + _breakdown(summary["duplicates"]))
    lines.append(f"  rejects     {rej_total}" + _breakdown(summary["rejects"]))
    if "read" in summary:
        balance = summary["written"] + dup_total + rej_total
        verdict = "balanced" if balance == summary["read"] else "NOT BALANCED"
        lines.append(
            f"  check       read {summary['read']} = written {summary['written']} + duplicates {dup_total}"
            f" + rejects {rej_total}: {verdict}"
        )
    if summary.get("files"):
        lines.append("  files       " + ", ".join(f"{k} {v}" for k, v in summary["files"].items()))
    if summary.get("feeds") or summary.get("feeds_not_due"):
        lines.append("  feeds:")
        for url, feed in summary.get("feeds", {}).items():
            state = f"{feed['status']}, {feed['new_items']} new"
            if feed.get("error"):
                state = f"failed: {feed['error']} {feed.get('detail') or ''}".strip()
            lines.append(f"    {url:<52} {state}")
        for url in summary.get("feeds_not_due", []):
            lines.append(f"    {url:<52} not due")
    lines.append("  rows per partition:")
    for partition, rows in summary["partitions"].items():
        lines.append(f"    {partition:<52} {rows}")
    if not summary["partitions"]:
        lines.append("    (none)")
    return "\n".join(lines)


def _breakdown(counts: dict[str, int]) -> str:
    return "  (" + ", ".join(f"{k} {v}" for k, v in counts.items()) + ")" if counts else ""


def _counter(result, name: str) -> int:
    from apache_beam.metrics.metric import MetricsFilter

    # The FnApiRunner folds per-bundle metrics through nested generators, one level per
    # bundle: a long streaming run needs more than Python's default recursion depth.
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 50_000))
    try:
        counters = result.metrics().query(MetricsFilter().with_name(name))["counters"]
    finally:
        sys.setrecursionlimit(limit)
    total = 0
    for metric in counters:
        total += metric.committed if metric.committed is not None else metric.attempted
    return total


def _apply_polls(state: str, run_id: str, args: argparse.Namespace, now: dt.datetime) -> None:
    """Fold a committed run's feed polls into the cursors, then drop the polls file."""
    from apache_beam.io.filesystems import FileSystems

    from transforms.state import advance_cursor, load_feed_cursors, read_json, save_feed_cursors
    from transforms.write import join_path

    path = join_path(state, "polls", f"{run_id}.json")
    polls = read_json(path)
    if polls is None:
        return
    cursors = load_feed_cursors(state)
    for poll in polls:
        # The next poll counts from when this one happened, not from when its run committed.
        try:
            polled_at = dt.datetime.fromisoformat(poll["polled_at"])
        except (KeyError, TypeError, ValueError):
            polled_at = now
        cursors[poll["feed_url"]] = advance_cursor(
            cursors.get(poll["feed_url"]),
            poll,
            now=min(polled_at, now),
            min_interval=args.poll_interval,
            max_interval=max(args.max_poll_interval, args.poll_interval),
        )
    save_feed_cursors(state, cursors)
    FileSystems.delete([path])


def _feed_status(polls: list[dict]) -> dict[str, dict]:
    return {
        poll["feed_url"]: {
            "status": poll["status"],
            "new_items": poll.get("new_items", 0),
            "error": poll.get("error"),
            "detail": poll.get("detail") or "",
            "polled_at": poll.get("polled_at"),
        }
        for poll in polls
    }


def _stage_seconds(result) -> dict[str, float]:
    """Seconds spent in each top-level stage, from the runner's execution-time metrics."""
    from apache_beam.metrics.metric import MetricsFilter

    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 50_000))
    try:
        counters = result.monitoring_metrics().query(MetricsFilter())["counters"]
    except Exception:  # noqa: BLE001 - not every runner reports execution time
        return {}
    finally:
        sys.setrecursionlimit(limit)
    seconds: dict[str, float] = collections.defaultdict(float)
    for counter in counters:
        if "ptransform_execution_time:total_msecs" in counter.key.metric.name:
            value = counter.committed if counter.committed is not None else counter.attempted
            seconds[counter.key.step.split("/")[0]] += (value or 0) / 1000
    return {stage: round(value, 3) for stage, value in sorted(seconds.items()) if value}


def _crash_point(name: str) -> None:
    """Fault injection for the crash tests: ``NEWSFLOW_CRASH_AT=<name>`` dies here like kill -9."""
    if os.environ.get("NEWSFLOW_CRASH_AT") == name:
        os._exit(137)


# A gzipped seed is counted at this multiple of its size when input is split into batches.
GZIP_EXPANSION = 4


def seed_batches(argv: list[str]) -> int:
    """How many batches a local run splits its seeds into: their size over ``--max_batch_mb``.

    The local runners hold a run's data in memory (about 14x the JSONL input at its peak,
    measured in BENCHMARKS.md), so a large backfill runs as consecutive batches. Managed
    runners shuffle on disk and a streaming graph has no end: both take the input whole.
    """
    from apache_beam.io.filesystems import FileSystems
    from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions

    from pipeline.graph import DEFAULT_RUNNER, LOCAL_RUNNERS, runs_unbounded
    from pipeline.options import NewsflowOptions
    from transforms.seeds import list_seed_files

    options = PipelineOptions(argv)
    nf, standard = options.view_as(NewsflowOptions), options.view_as(StandardOptions)
    runner = standard.runner or DEFAULT_RUNNER
    if not nf.seeds or nf.seed_batch or nf.max_batch_mb <= 0 or runner not in LOCAL_RUNNERS:
        return 1
    if runs_unbounded(nf, standard):
        return 1
    files = FileSystems.match([list_seed_files(nf.seeds)])[0].metadata_list
    size = sum(m.size_in_bytes * (GZIP_EXPANSION if m.path.endswith(".gz") else 1) for m in files)
    return max(1, math.ceil(size / (nf.max_batch_mb * 1024 * 1024)))


def _without_option(argv: list[str], name: str) -> list[str]:
    """``argv`` without ``name VALUE`` / ``name=VALUE``."""
    kept, skip = [], False
    for arg in argv:
        if skip:
            skip = False
        elif arg == name:
            skip = True
        elif not arg.startswith(name + "="):
            kept.append(arg)
    return kept


def run_batches(args: argparse.Namespace, argv: list[str], *, include_seeds: bool = True) -> int:
    """One run, or, for seeds over ``--max_batch_mb`` on a local runner, one run per batch.

    Each batch reads one slice of the seed records (a stable hash of each record's name),
    commits as its own run and deduplicates against the batches before it through the
    dedup index; feeds are polled in the first batch only.
    """
    from pipeline.graph import new_run_id
    from pipeline.options import NewsflowOptions

    batches = seed_batches(argv) if include_seeds else 1
    if batches == 1:
        return run_once(args, argv, include_seeds=include_seeds)
    from apache_beam.options.pipeline_options import PipelineOptions

    nf = PipelineOptions(argv).view_as(NewsflowOptions)
    base_id = nf.run_id or new_run_id(dt.datetime.now(dt.timezone.utc))
    print(
        f"newsflow run: seeds over {nf.max_batch_mb:g} MB (--max_batch_mb): {batches} batches, one run each",
        flush=True,
    )
    for index in range(batches):
        batch_argv = _without_option(argv, "--run_id")
        batch_argv += [f"--seed_batch={index}/{batches}", f"--run_id={base_id}.b{index + 1}of{batches}"]
        code = run_once(args, batch_argv, include_feeds=index == 0)
        gc.collect()  # the finished batch's pipeline objects hold reference cycles
        if code != 0:
            print(
                f"error: batch {index + 1} of {batches} failed; the batches before it are committed",
                file=sys.stderr,
            )
            return code
    _print_batch_totals(nf.output, [f"{base_id}.b{i + 1}of{batches}" for i in range(batches)])
    return 0


def _print_batch_totals(output: str, run_ids: list[str]) -> None:
    from transforms.state import read_json
    from transforms.write import join_path

    totals: collections.Counter = collections.Counter()
    for run_id in run_ids:
        counts = (read_json(join_path(output, "runs", f"{run_id}.json")) or {}).get("counts", {})
        totals["read"] += counts.get("read", 0)
        totals["written"] += counts.get("written", 0)
        totals["duplicates"] += sum((counts.get("duplicates") or {}).values())
        totals["rejects"] += sum((counts.get("rejects") or {}).values())
    print(
        f"newsflow run: {len(run_ids)} batches: read {totals['read']} = written {totals['written']}"
        f" + duplicates {totals['duplicates']} + rejects {totals['rejects']}",
        flush=True,
    )


def run_once(
    args: argparse.Namespace, argv: list[str], *, include_seeds: bool = True, include_feeds: bool = True
) -> int:
    """One run under the lake's lock: reconcile, run, check the balance, commit. Returns the exit code."""
    from apache_beam.options.pipeline_options import GoogleCloudOptions, PipelineOptions

    from pipeline.graph import build_pipeline, new_run_id, state_dir
    from pipeline.options import NewsflowOptions
    from transforms.commit import (
        RunLock,
        check_run_id,
        claim_state,
        compact_index,
        reconcile,
        write_run_record,
    )
    from transforms.state import read_json
    from transforms.write import join_path

    options = PipelineOptions(argv)
    nf = options.view_as(NewsflowOptions)
    template_launch = bool(options.view_as(GoogleCloudOptions).template_location)
    started_at = dt.datetime.now(dt.timezone.utc)
    run_id = check_run_id(nf.run_id) if nf.run_id else new_run_id(started_at)
    state = state_dir(nf)
    with RunLock(state, run_id):
        claim_state(state, nf.output)
        reconciled = reconcile(nf.output, state)
        for pending in reconciled.pending_polls:
            _apply_polls(state, pending, args, started_at)
        pipeline, ctx = build_pipeline(
            argv, include_seeds=include_seeds, include_feeds=include_feeds, run_id=run_id
        )
        if not ctx.has_work:
            print(f"newsflow run: no feed is due ({len(ctx.feeds_not_due)} not due) and no seeds to read")
            return 0
        _LOGGER.info("run %s: writing to %s", ctx.run_id, ctx.output)
        result = pipeline.run()
        if ctx.unbounded and not ctx.local:
            # A streaming job commits window by window; its record marks its files as committed.
            write_run_record(
                ctx.output,
                {
                    "run_id": ctx.run_id,
                    "mode": "streaming",
                    "started_at": ctx.started_at.isoformat(),
                    "state": str(result.state),
                    "argv": argv,
                    "balanced": True,
                },
            )
            print(f"newsflow run {ctx.run_id}: streaming job submitted ({result.state}) to {ctx.output}")
            return 0
        if template_launch:
            # A Flex Template's launcher only submits: the job commits itself (CommitRun),
            # and the next run folds its feed polls into the cursors.
            print(
                f"newsflow run {ctx.run_id}: batch job submitted ({result.state}); it commits to {ctx.output}"
            )
            return 0
        result.wait_until_finish()
        finished_at = dt.datetime.now(dt.timezone.utc)
        committed = read_json(join_path(ctx.output, "runs", f"{ctx.run_id}.json"))
        if committed is None and ctx.unbounded:
            # A local streaming run to its stop time: its windows are all written once it ends.
            committed = {"run_id": ctx.run_id, "started_at": ctx.started_at.isoformat(), "argv": argv}
        if committed is None:
            print(f"error: run {ctx.run_id} finished without committing (no run record)", file=sys.stderr)
            return 1
        polls = read_json(ctx.polls_path) or []
        summary = lake_summary(ctx.output, ctx.run_id)
        summary["read"] = _counter(result, "read")
        summary["files"] = _count_files(ctx.output)
        summary["feeds"] = _feed_status(polls)
        summary["feeds_not_due"] = list(ctx.feeds_not_due)
        balanced = summary["read"] == summary["written"] + sum(summary["duplicates"].values()) + sum(
            summary["rejects"].values()
        )
        index = {
            "entries_loaded": _counter(result, "index_entries_loaded"),
            "bytes_read": _counter(result, "index_bytes_read"),
            "load_seconds": _counter(result, "index_load_msecs") / 1000,
        }
        # The job committed itself; the launcher adds what only it can see: metrics and balance.
        record = committed | {
            "mode": "unbounded-local" if ctx.unbounded else ("stream-cycle" if args.stream else "batch"),
            "finished_at": finished_at.isoformat(),
            "seconds": round((finished_at - ctx.started_at).total_seconds(), 3),
            "options": {k: v for k, v in vars(args).items() if k not in ("func", "argv")},
            "counts": {k: summary[k] for k in ("read", "written", "duplicates", "rejects")},
            "partitions": summary["partitions"],
            "feeds": summary["feeds"],
            "feeds_not_due": list(ctx.feeds_not_due),
            "stage_seconds": _stage_seconds(result),
            "dedup_index": index,
            "reconciled": {
                "uncommitted_runs_removed": list(reconciled.uncommitted_runs),
                "files_removed": len(reconciled.deleted),
            },
            "balanced": balanced,
        }
        path = write_run_record(ctx.output, record)
        _crash_point("after_commit")
        _apply_polls(state, ctx.run_id, args, finished_at)
        compact_index(join_path(state, "dedup"), ctx.started_at - dt.timedelta(days=nf.dedup_horizon))
    print(format_summary(summary, f"newsflow run {ctx.run_id} -> {ctx.output} ({record['seconds']:.1f} s)"))
    print(
        f"  dedup index {index['entries_loaded']} entries, {index['bytes_read'] / 1e6:.1f} MB,"
        f" loaded in {index['load_seconds']:.2f} s"
    )
    print(f"  run record  {path}", flush=True)
    if not balanced:
        print("error: the counts do not balance; some input was lost", file=sys.stderr)
        return 1
    return 0


class _StopFlag:
    """Ctrl-C (or SIGTERM) asks stream mode to stop after the cycle in flight; twice forces it."""

    def __init__(self) -> None:
        self.requested = False

    def __call__(self, signum, frame) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        print(
            "\nnewsflow: stopping after the current cycle (Ctrl-C again to abort)",
            file=sys.stderr,
            flush=True,
        )


def run_stream(args: argparse.Namespace, argv: list[str]) -> int:
    """Stream mode on a local runner: one bounded run per poll cycle, each adding to the lake.

    Offline, the DirectRunner cannot run an unbounded pipeline (Prism cannot be
    downloaded, windows fire only at the end), so each poll is its own bounded run;
    Dataflow and Flink run the unbounded graph instead (``pipeline.graph.build_streaming_pipeline``).
    """
    import signal
    import time

    stop = _StopFlag()
    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    deadline = time.monotonic() + args.duration if args.duration else None
    code, cycle = 0, 0
    try:
        while True:
            started = time.monotonic()
            code = max(code, run_batches(args, argv, include_seeds=cycle == 0))
            cycle += 1
            next_cycle = started + args.poll_interval
            while not stop.requested and time.monotonic() < next_cycle:
                if deadline is not None and time.monotonic() >= deadline:
                    break
                time.sleep(min(0.2, max(0.0, next_cycle - time.monotonic())))
            if stop.requested or (deadline is not None and time.monotonic() >= deadline):
                break
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    print(f"newsflow stream: {cycle} cycle(s) done", flush=True)
    return code


def cmd_run(args: argparse.Namespace, beam_args: list[str]) -> int:
    from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions

    from pipeline.graph import runs_unbounded
    from pipeline.options import NewsflowOptions
    from transforms.commit import LakeBusyError

    options = PipelineOptions(args.argv)
    if args.stream and args.poll_interval <= 0:
        print("error: --poll_interval must be positive in stream mode", file=sys.stderr)
        return 2
    try:
        if args.stream and not runs_unbounded(
            options.view_as(NewsflowOptions), options.view_as(StandardOptions)
        ):
            return run_stream(args, args.argv)
        return run_batches(args, args.argv)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except LakeBusyError as error:
        print(f"error: {error}", file=sys.stderr)
        return 3


def _partition_files(output: str) -> dict[str, int]:
    """Files per partition of ``articles/``, from a listing (no file is opened)."""
    from apache_beam.io.filesystems import FileSystems

    from transforms.write import join_path

    base = join_path(output, "articles")
    try:
        matches = FileSystems.match([join_path(base, "**.parquet")])[0].metadata_list
    except Exception:  # noqa: BLE001 - no articles yet
        return {}
    counts: dict[str, int] = collections.Counter()
    for meta in matches:
        parts = meta.path[len(base) :].strip("/").split("/")
        if len(parts) == 3 and not parts[-1].startswith("."):
            counts["/".join(parts[:2])] += 1
    return dict(counts)


def cmd_inspect(args: argparse.Namespace, _: list[str]) -> int:
    from apache_beam.io.filesystems import FileSystems

    from transforms.state import load_feed_cursors
    from transforms.write import join_path

    if not FileSystems.exists(join_path(args.lake, "articles")) and not FileSystems.exists(
        join_path(args.lake, "runs")
    ):
        print(f"error: {args.lake} holds no newsflow lake (no articles/ or runs/)", file=sys.stderr)
        return 2
    summary = lake_summary(args.lake)
    summary["files"] = _count_files(args.lake)
    files = _partition_files(args.lake)
    summary["partitions"] = {
        partition: f"{rows} rows in {files.get(partition, 0)} files"
        for partition, rows in summary["partitions"].items()
    }
    print(format_summary(summary, f"newsflow lake {args.lake}"))
    runs = _last_runs(args.lake)
    if runs:
        print("  last runs:")
        for run in runs:
            counts = run.get("counts", {})
            verdict = "balanced" if run.get("balanced") else "NOT BALANCED"
            when = run.get("finished_at", run.get("started_at", "?"))
            print(
                f"    {run['run_id']}  {run.get('mode', '?'):<12} {when}"
                f"  read {counts.get('read')}  written {counts.get('written')}  {verdict}"
            )
    cursors = load_feed_cursors(args.state or join_path(args.lake, "state"))
    if cursors:
        print("  feed health:")
        for url, cursor in sorted(cursors.items()):
            health = (
                "ok"
                if cursor.consecutive_failures == 0
                else f"{cursor.consecutive_failures} failures in a row"
            )
            print(
                f"    {url:<52} {cursor.last_status or '?':<12} {health};"
                f" last success {cursor.last_success or 'never'}; next poll {cursor.next_poll_at or 'now'}"
            )
            if cursor.last_error:
                print(f"      last error: {cursor.last_error}")
    return 0


def _last_runs(lake: str, limit: int = 5) -> list[dict]:
    from apache_beam.io.filesystems import FileSystems

    from transforms.write import join_path

    try:
        matches = FileSystems.match([join_path(lake, "runs", "*.json")])[0].metadata_list
    except Exception:  # noqa: BLE001 - no runs folder yet
        return []
    runs = []
    # Run ids start with their UTC second, so the newest are among the last names; within
    # one second their order is the records' own times.
    for meta in sorted(matches, key=lambda m: m.path)[-2 * limit :]:
        with FileSystems.open(meta.path) as stream:
            runs.append(json.loads(stream.read()))
    runs.sort(key=lambda r: (r.get("started_at", ""), r.get("finished_at", "")))
    return runs[-limit:]


def _documents(inputs: Sequence[str], policy=None) -> Iterator[Any]:
    """Articles (or rejects) from files or URLs given on the command line, as the pipeline reads them."""
    from schemas.records import Article, Reject, stable_id
    from transforms.fetch import Fetcher, FetchPolicy, decode_page
    from transforms.seeds import parse_seed_file

    now = dt.datetime.now(dt.timezone.utc)
    fetcher = None
    try:
        for value in inputs:
            if value.lower().startswith(("http://", "https://")):
                fetcher = fetcher or Fetcher(policy or FetchPolicy())
                result = fetcher.fetch(value, kind="page")
                if not result.ok:
                    yield Reject(value, value, "fetch", result.error or "empty_page", result.detail)
                    continue
                yield Article(
                    id=stable_id(result.final_url),
                    source=value,
                    text_source="page",
                    ingested_at=now,
                    url=result.final_url,
                    html=decode_page(result),
                )
                continue
            try:
                with open(value, "rb") as handle:
                    data = handle.read()
            except OSError as error:
                yield Reject(value, None, "read", "unreadable", str(error))
                continue
            yield from parse_seed_file(os.path.basename(value), data, now)
    finally:
        if fetcher is not None:
            fetcher.close()


def _reject_json(reject) -> str:
    return json.dumps(
        {
            "source": reject.source,
            "url": reject.url,
            "stage": reject.stage,
            "reject": reject.reason,
            "detail": reject.detail,
        },
        ensure_ascii=False,
    )


def cmd_clean(args: argparse.Namespace, _: list[str]) -> int:
    """One JSON line per input: the cleaned text and every removed line with its reason."""
    from schemas.records import Reject
    from transforms.clean import clean_document
    from transforms.extract import extract_document

    for doc in _documents(args.files):
        extracted = doc if isinstance(doc, Reject) else extract_document(doc)
        if isinstance(extracted, Reject):
            print(_reject_json(extracted))
            continue
        result, cleaned = clean_document(extracted)
        record = {
            "source": extracted.source,
            "title": extracted.title or cleaned.title,
            "byline": cleaned.byline,
            "text": cleaned.text,
            "removed": [{"line": r.line_no, "reason": r.reason, "text": r.text} for r in cleaned.removed],
        }
        if isinstance(result, Reject):
            record["reject"] = result.reason
        print(json.dumps(record, ensure_ascii=False))
    return 0


def cmd_extract(args: argparse.Namespace, _: list[str]) -> int:
    """One JSON line per page (file or URL): the row that would be stored, or the reject.

    With ``--explain`` each line also says how the body was chosen, every block or line left
    out and why (by extraction or by the clean stage), and where the date came from.
    """
    from schemas.records import Reject, article_row
    from transforms.clean import clean_document
    from transforms.enrich import enrich, load_language_identifier
    from transforms.extract import extract_document
    from transforms.fetch import FetchPolicy
    from transforms.topics import load_taxonomy

    policy = FetchPolicy(allow_private_hosts=args.allow_private_hosts, respect_robots=not args.ignore_robots)
    taxonomy, identifier = load_taxonomy(args.taxonomy), load_language_identifier()
    for doc in _documents(args.files, policy):
        result = doc if isinstance(doc, Reject) else extract_document(doc)
        cleaned = None
        if not isinstance(result, Reject):
            extracted = result
            result, cleaned = clean_document(result)
        if isinstance(result, Reject):
            line = json.loads(_reject_json(result))
            if args.explain and not isinstance(doc, Reject):
                line["explain"] = _explanation(doc, extracted if cleaned is not None else None, cleaned, None)
            print(json.dumps(line, ensure_ascii=False))
            continue
        article = enrich(result, taxonomy=taxonomy, identifier=identifier)
        row = article_row(article) | {"removed": [{"reason": r, "text": t} for r, t in article.removed]}
        if args.explain:
            row["explain"] = _explanation(doc, extracted, cleaned, article)
        print(json.dumps(row, ensure_ascii=False, default=str))
    return 0


def _explanation(doc, extracted, cleaned, article) -> dict:
    """What ``newsflow extract --explain`` adds: extraction's decisions, every drop, the date's origin."""
    from transforms.extract import extract_article

    explained: dict[str, Any] = {"extraction": [], "dropped": []}
    if doc.html is not None:
        page = extract_article(doc.html, doc.url, explain=True)
        if page is None:
            explained["extraction"].append("no article body in the page")
        elif page.explanation is not None:
            explained["extraction"] = list(page.explanation.decisions)
            explained["dropped"] = [
                {"stage": "extract", "reason": reason, "text": text}
                for reason, text in page.explanation.dropped
            ]
    elif extracted is not None:
        explained["extraction"].append(f"text from the source ({extracted.text_source}): nothing to extract")
    if cleaned is not None:
        explained["dropped"] += [
            {"stage": "clean", "reason": r.reason, "line": r.line_no, "text": r.text} for r in cleaned.removed
        ]
    if article is not None:
        explained["date"] = {
            "published": article.published,
            "source": article.date_source,
            "offset_minutes": article.published_offset,
            "modified": article.modified,
            "candidates": [{"value": str(v), "source": s} for v, s in article.date_candidates],
        }
    return explained


def cmd_compact(args: argparse.Namespace, _: list[str]) -> int:
    """Merge small files per partition, under the lake's lock, after reconciling crashed runs."""
    from transforms.commit import LakeBusyError, RunLock, reconcile
    from transforms.compact import CompactionError, compact_lake
    from transforms.write import join_path

    state = args.state or join_path(args.lake, "state")
    started_at = dt.datetime.now(dt.timezone.utc)
    try:
        with RunLock(state, "compact_" + started_at.strftime("%Y%m%dT%H%M%SZ")):
            reconcile(args.lake, state)
            report = compact_lake(
                args.lake, partition=args.partition, target_bytes=int(args.target_mb * 1024 * 1024)
            )
    except LakeBusyError as error:
        print(f"error: {error}", file=sys.stderr)
        return 3
    except (ValueError, CompactionError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    merged = [r for r in report if not r.skipped]
    print(
        f"newsflow compact {args.lake}: {len(merged)} of {len(report)} folders compacted"
        " (the rest: already compact)"
    )
    for r in merged:
        where = f"{r.dataset}/{r.partition}".rstrip("/")
        print(f"  {where:<56} {r.rows_before:>9} rows  {r.files_before} -> {r.files_after} files")
    return 0


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="newsflow", description=__doc__.split("\n\n")[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="Log at INFO level.")
    sub = parser.add_subparsers(dest="command", required=True)

    from pipeline.options import NewsflowOptions

    run = sub.add_parser("run", help="Run the pipeline (any Beam pipeline option passes through).")
    NewsflowOptions._add_argparse_args(run)  # one definition of the options, shared with Beam
    run.set_defaults(func=cmd_run)

    inspect = sub.add_parser("inspect", help="Print the summary of an existing lake.")
    inspect.add_argument("lake", help="The lake's output folder.")
    inspect.add_argument("--state", help="State folder, if not <lake>/state.")
    inspect.set_defaults(func=cmd_inspect)

    compact = sub.add_parser("compact", help="Merge small files per partition (takes the lake's lock).")
    compact.add_argument("lake", help="The lake's output folder.")
    compact.add_argument("--partition", help="Only this partition, e.g. date=2017-09-05/topic=conflict.")
    compact.add_argument(
        "--target_mb", type=float, default=128.0, help="Target file size in MB (default 128)."
    )
    compact.add_argument("--state", help="State folder, if not <lake>/state.")
    compact.set_defaults(func=cmd_compact)

    clean = sub.add_parser("clean", help="Clean files and print, per document, what was removed and why.")
    clean.add_argument("files", nargs="+")
    clean.set_defaults(func=cmd_clean)

    extract = sub.add_parser("extract", help="Print the record each page (file or URL) would become.")
    extract.add_argument("files", nargs="+", metavar="FILE_OR_URL")
    extract.add_argument("--taxonomy", help="Topic taxonomy JSON file.")
    extract.add_argument(
        "--allow_private_hosts", action="store_true", help="Allow URLs on loopback and private addresses."
    )
    extract.add_argument("--ignore_robots", action="store_true", help="Do not read robots.txt first.")
    extract.add_argument(
        "--explain",
        action="store_true",
        help="Also print how the body was chosen, each dropped block or line and why, and the date's source.",
    )
    extract.set_defaults(func=cmd_extract)
    return parser


def unknown_flags(argv: Sequence[str]) -> list[str]:
    """Flags that neither newsflow nor any Beam runner defines: typos, not options to pass on.

    Beam itself only warns and drops them, so ``--ouptut x`` would run into ./lake.
    """
    from apache_beam.options.pipeline_options import PipelineOptions

    parser = argparse.ArgumentParser(add_help=False, allow_abbrev=False, conflict_handler="resolve")
    pending, seen = [PipelineOptions], set()
    while pending:
        cls = pending.pop()
        if cls in seen:
            continue
        seen.add(cls)
        pending.extend(cls.__subclasses__())
        try:
            cls._add_argparse_args(parser)
        except argparse.ArgumentError:
            continue
    _, unknown = parser.parse_known_args(list(argv))
    return [arg.split("=", 1)[0] for arg in unknown if arg.startswith("--")]


def main(argv: Sequence[str] | None = None) -> int:
    _quiet_beam_import_noise()
    parser = make_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    args, rest = parser.parse_known_args(argv)
    # The pipeline parses its own options (ours and Beam's) from everything after "run".
    args.argv = argv[argv.index("run") + 1 :] if args.command == "run" else []
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    if rest and args.command != "run":
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    if args.command == "run" and (typos := unknown_flags(args.argv)):
        parser.error(f"unrecognized arguments: {' '.join(typos)} (neither a newsflow nor a Beam option)")
    try:
        return args.func(args, rest)
    except BrokenPipeError:  # e.g. `newsflow inspect lake | head`
        sys.stderr.close()
        return 0


if __name__ == "__main__":
    sys.exit(main())
