"""Runs against one lake, in the order that keeps it safe:

    open the lake -> lock -> reconcile -> plan -> build -> journal -> run -> commit -> fold cursors

``launch(argv, reporter)`` is ``newsflow run``: the options are parsed once, a large seed
input runs as batches (one committed run each), and stream mode on a local runner runs
one bounded run per poll cycle. The launcher decides and counts; the ``Reporter`` the
CLI passes in does all the printing. Exit codes: see ``pipeline.results``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import signal
from collections.abc import Iterator

from apache_beam.io.filesystems import FileSystems
from apache_beam.options.pipeline_options import GoogleCloudOptions

from pipeline.launch import Hooks, Launch
from pipeline.metrics import counter, stage_seconds
from pipeline.options import NewsflowOptions, option_values, poll_bounds
from pipeline.plan import (
    RunPlan,
    check_options,
    index_not_before,
    make_plan,
    new_run_id,
    runs_unbounded,
    seed_batches,
    site_memory_not_before,
)
from pipeline.results import (
    EXIT_BUSY,
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    INPUT_FAILURE_STAGES,
    LaunchFailed,
    Reporter,
    RunResult,
    UsageError,
)
from pipeline.stream import run_stream
from schemas.layout import LakeLayout
from transforms.lake.commit import (
    check_run_id,
    journal_end,
    journal_start,
    journaled_runs,
    reconcile,
    write_run_record,
)
from transforms.lake.cursors import feed_status, fold_polls, read_polls
from transforms.lake.files import DamagedFileError, os_reason, read_json
from transforms.lake.index import compact_index, compact_site_memory
from transforms.lake.lock import LakeBusyError, RunLock
from transforms.lake.marker import claim_state, open_lake

# The cyclic collector's generation thresholds while a pipeline runs (Python's default: 700, 10,
# 10). A local run holds millions of long-lived objects (Beam's buffers, the articles in flight,
# the models' tables) that every full pass walks again: 5,000 documents in one process spent
# 1.0-1.3 s of CPU in the collector, 0.25 s with these thresholds and the objects made before
# the run frozen out of its passes (gc.callbacks, two runs each).
RUN_GC_THRESHOLDS = (20_000, 10, 10)


@contextlib.contextmanager
def _fewer_collections() -> Iterator[None]:
    previous = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(*RUN_GC_THRESHOLDS)
    try:
        yield
    finally:
        gc.set_threshold(*previous)
        gc.unfreeze()


def launch(argv: list[str], reporter: Reporter, hooks: Hooks | None = None) -> int:
    """``newsflow run``: the exit code of the whole invocation."""
    options = NewsflowOptions(argv)
    nf = options.view_as(NewsflowOptions)
    run = Launch(tuple(argv), options, LakeLayout.of(nf.output, nf.state), reporter, hooks or Hooks())
    try:
        for warning in check_options(nf, run.local):
            reporter.warning(warning)
        try:
            open_lake(run.layout, move_state=nf.move_state)
        except OSError as error:
            raise LaunchFailed(f"cannot write to the lake {nf.output}: {os_reason(error)}") from None
        if nf.stream and not runs_unbounded(nf, run.runner):

            def cycle(include_seeds: bool, later: bool) -> list[RunResult]:
                return run_batches(run, include_seeds=include_seeds, stream_cycle=later)

            return run_stream(
                cycle, reporter, run.layout, poll_interval=nf.poll_interval, duration=nf.duration
            )
        results = run_batches(run)
    except DamagedFileError as error:  # a state or lake file cut short: the lake, not the command
        raise LaunchFailed(str(error)) from None
    except ValueError as error:  # UsageError and LakeError included: the command line is at fault
        raise UsageError(str(error)) from None
    return max((r.code for r in results), default=EXIT_OK)


# --- batches -------------------------------------------------------------------------------


def run_batches(run: Launch, *, include_seeds: bool = True, stream_cycle: bool = False) -> list[RunResult]:
    """One run, or, for seeds over ``--max_batch_mb`` on a local runner, one run per batch.

    Each batch reads one slice of the seed records (a stable hash of each record's name),
    commits as its own run and deduplicates against the batches before it through the
    dedup index; feeds are polled in the first batch only.
    """
    base_id = run.nf.run_id or new_run_id(dt.datetime.now(dt.timezone.utc))
    count = seed_batches(run.nf, run.runner) if include_seeds else 1
    if count == 1:
        return [run_once(run, base_id, include_seeds=include_seeds, stream_cycle=stream_cycle)]
    run.reporter.batches(count, run.nf.max_batch_mb)
    results = []
    for index in range(count):
        result = run_once(
            run,
            f"{base_id}.b{index + 1}of{count}",
            include_feeds=index == 0,
            seed_batch=(index, count),
            stream_cycle=stream_cycle,
        )
        results.append(result)
        gc.collect()  # the finished batch's pipeline objects hold reference cycles
        if result.code != EXIT_OK:
            result.note = f"batch {index + 1} of {count} failed; the batches before it are committed"
            break
    run.reporter.batches_finished(results)
    return results


# --- one run -------------------------------------------------------------------------------


def run_once(
    run: Launch,
    run_id: str,
    *,
    include_seeds: bool = True,
    include_feeds: bool = True,
    seed_batch: tuple[int, int] | None = None,
    stream_cycle: bool = False,
) -> RunResult:
    """One run under the lake's lock: reconcile, plan, run, check the balance, commit, report."""
    from pipeline.graph import build_pipeline

    check_run_id(run_id)
    layout, nf = run.layout, run.nf
    try:
        lock = RunLock(layout.state, run_id)
        lock.acquire()
    except LakeBusyError as error:
        result = RunResult(run_id, code=EXIT_BUSY, error=str(error))
        run.reporter.run_finished(result, layout)
        return result
    try:
        claim_state(layout)
        if FileSystems.exists(layout.run_record(run_id)) or run_id in journaled_runs(layout):
            raise UsageError(
                f"run id {run_id} is already used in the lake {layout.output}: give a new --run_id"
            )
        reconciled = reconcile(layout)
        if reconciled.deleted:
            run.reporter.warning(_cleaned_up(reconciled))
        now = dt.datetime.now(dt.timezone.utc)
        for pending in reconciled.pending_polls:
            fold_polls(layout, pending, poll_bounds(nf), now)
        for settled in reconciled.committed_runs:
            journal_end(layout, settled)
        plan = make_plan(
            nf,
            layout=layout,
            run_id=run_id,
            runner=run.runner,
            include_seeds=include_seeds,
            include_feeds=include_feeds,
            seed_batch=seed_batch,
            stream_cycle=stream_cycle,
            argv=run.argv,
            multi_processing=run.multi_processing,
        )
        for warning in plan.warnings:
            run.reporter.warning(warning)
        if not plan.has_work:
            result = RunResult(run_id, feeds_not_due=list(plan.feeds_not_due))
            result.note = f"no feed is due ({len(plan.feeds_not_due)} not due) and no seeds to read"
            run.reporter.run_finished(result, layout)
            return result
        pipeline = build_pipeline(run.options, plan, before_commit=run.hooks.before_commit)
        result = _execute(run, plan, pipeline, reconciled)
    except DamagedFileError:
        raise  # the lake's or the state's fault, not the command line's
    except ValueError as error:
        raise UsageError(str(error)) from None
    finally:
        lock.release()
    run.reporter.run_finished(result, layout)
    return result


def _execute(run: Launch, plan: RunPlan, pipeline, reconciled) -> RunResult:
    """Run the built pipeline and settle it: commit and fold, or clean up after a failure."""
    layout = run.layout
    journal_start(layout, plan.run_id, plan.started_at)
    template_launch = bool(run.options.view_as(GoogleCloudOptions).template_location)
    # A Ctrl-C inside a DoFn reaches us wrapped by the runner: remember that it was one.
    ctrl_c = {"seen": False}
    handler = signal.getsignal(signal.SIGINT)

    def interrupt(signum, frame) -> None:
        if getattr(handler, "asks_to_stop", False) and not handler.requested:
            handler(signum, frame)  # stream mode: a first Ctrl-C only asks to stop after this cycle
            return
        ctrl_c["seen"] = True
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, interrupt)
    try:
        with run.reporter.progress(plan.run_id), _fewer_collections():
            result = pipeline.run()
            if plan.unbounded and not plan.local:
                # A streaming job commits window by window; its record marks its files as committed.
                write_run_record(
                    layout.output,
                    {
                        "run_id": plan.run_id,
                        "mode": "streaming",
                        "started_at": plan.started_at.isoformat(),
                        "state": str(result.state),
                        "argv": list(plan.argv),
                        "balanced": True,
                    },
                )
                return RunResult(
                    plan.run_id, committed=True, note=f"streaming job submitted ({result.state})"
                )
            if template_launch:
                # A Flex Template's launcher only submits: the job commits itself (CommitRun),
                # and the next run folds its feed polls into the cursors.
                return RunResult(plan.run_id, note=f"batch job submitted ({result.state}); it commits itself")
            result.wait_until_finish()
    except KeyboardInterrupt:
        return _abandon(run, plan, "interrupted", EXIT_INTERRUPTED)
    except Exception as error:  # noqa: BLE001 - a failed pipeline is reported in one line, never a traceback
        if ctrl_c["seen"]:
            return _abandon(run, plan, "interrupted", EXIT_INTERRUPTED)
        first_line = (str(error).strip().splitlines() or [""])[0]
        why = f"the run failed ({type(error).__name__}: {first_line[:300]})"
        return _abandon(run, plan, why, EXIT_FAILED)
    finally:
        signal.signal(signal.SIGINT, handler)
    interrupted = False
    previous = signal.getsignal(signal.SIGINT)

    def finish_first(signum, frame) -> None:  # the commit is done: settling it must not be cut short
        nonlocal interrupted
        if getattr(previous, "asks_to_stop", False) and not previous.requested:
            previous(signum, frame)  # stream mode: stop after this cycle, which is ending anyway
        else:
            interrupted = True

    signal.signal(signal.SIGINT, finish_first)
    try:
        settled = _settle(run, plan, result, reconciled)
    finally:
        signal.signal(signal.SIGINT, previous)
    if interrupted:
        settled.code = EXIT_INTERRUPTED
        settled.note = f"interrupted after the commit: run {plan.run_id} is committed and settled"
    return settled


def _cleaned_up(reconciled) -> str:
    runs = reconciled.uncommitted_runs
    return (
        f"removed {len(reconciled.deleted)} files of {len(runs)} run(s) an earlier process left"
        f" unfinished: {', '.join(runs)}"
    )


def _abandon(run: Launch, plan: RunPlan, why: str, code: int) -> RunResult:
    """A run that did not finish: if it committed, settle it; else delete what it wrote."""
    layout = run.layout
    if FileSystems.exists(layout.run_record(plan.run_id)):
        journal_end(layout, plan.run_id)  # the next run folds its polls (they are committed)
        return RunResult(plan.run_id, code=code, committed=True, error=f"{why} after its commit")
    cleaned = reconcile(layout)
    return RunResult(
        plan.run_id,
        code=code,
        error=f"{why}: run {plan.run_id} aborted, nothing committed "
        f"({len(cleaned.deleted)} of its files removed)",
    )


def _settle(run: Launch, plan: RunPlan, result, reconciled) -> RunResult:
    """After the pipeline: complete the run record with what only the launcher sees, fold polls."""
    from transforms.lake.summary import input_failures, lake_summary, run_files

    layout, nf = run.layout, run.nf
    finished_at = dt.datetime.now(dt.timezone.utc)
    out = RunResult(plan.run_id, seconds=round((finished_at - plan.started_at).total_seconds(), 3))
    out.read = counter(result, "read")
    polls = read_polls(layout, plan.run_id)
    out.feeds = feed_status(polls)
    out.feeds_not_due = list(plan.feeds_not_due)
    committed = read_json(layout.run_record(plan.run_id))
    if committed is None and plan.unbounded:
        # A local streaming run to its stop time: its windows are all written once it ends.
        committed = {
            "run_id": plan.run_id,
            "started_at": plan.started_at.isoformat(),
            "argv": list(plan.argv),
        }
    if committed is None:
        if not plan.commit_empty and out.read == 0:
            # A stream cycle with nothing new: no run record; the polls still move the cursors on.
            fold_polls(layout, plan.run_id, plan.poll_bounds, finished_at)
            journal_end(layout, plan.run_id)
            out.note = "nothing new"
            return out
        _abandon(run, plan, "no run record", EXIT_FAILED)
        out.code, out.error = EXIT_FAILED, f"run {plan.run_id} finished without committing (no run record)"
        return out
    summary = lake_summary(layout, [plan.run_id])
    out.written, out.duplicates, out.rejects = summary["written"], summary["duplicates"], summary["rejects"]
    out.partitions = summary["partitions"]
    out.files = run_files(layout, plan.run_id)
    out.input_failures = input_failures(layout, plan.run_id, INPUT_FAILURE_STAGES)
    out.index = {
        "entries_loaded": counter(result, "index_entries_loaded"),
        # Those holding a key this run's articles also hold (a batch run reads no others; a
        # stream's state starts from every entry).
        "entries_shared": None if plan.unbounded else counter(result, "index_entries_shared"),
        "bytes_read": counter(result, "index_bytes_read"),
        "load_seconds": counter(result, "index_load_msecs") / 1000,
    }
    mode = "unbounded-local" if plan.unbounded else ("stream-cycle" if not plan.commit_empty else "batch")
    record = committed | {
        "mode": mode,
        "finished_at": finished_at.isoformat(),
        "seconds": out.seconds,
        "options": option_values(nf),
        "counts": {
            "read": out.read,
            "written": out.written,
            "duplicates": out.duplicates,
            "rejects": out.rejects,
        },
        "partitions": out.partitions,
        "feeds": out.feeds,
        "feeds_not_due": out.feeds_not_due,
        "stage_seconds": stage_seconds(result),
        "dedup_index": out.index,
        "reconciled": {
            "uncommitted_runs_removed": list(reconciled.uncommitted_runs),
            "files_removed": len(reconciled.deleted),
        },
        "balanced": out.balanced,
    }
    out.record_path = write_run_record(layout.output, record)
    out.committed = True
    if run.hooks.after_commit is not None:
        run.hooks.after_commit()
    fold_polls(layout, plan.run_id, plan.poll_bounds, finished_at)
    compact_index(layout.dedup, index_not_before(plan, nf), plan.run_id)
    compact_site_memory(layout.sites, site_memory_not_before(plan, nf), plan.run_id)
    journal_end(layout, plan.run_id)
    if not out.balanced:
        out.code, out.error = EXIT_FAILED, "the counts do not balance; some input was lost"
    elif out.nothing_succeeded:
        out.code = EXIT_FAILED
        out.error = "nothing succeeded: every input failed to be read or fetched (see rejects)"
    return out


# --- other commands under the lake's lock --------------------------------------------------


def compact(
    output: str, state: str | None, *, partition: str | None, target_bytes: int, warn=lambda message: None
):
    """``newsflow compact``: merge small files per partition, after reconciling crashed runs
    (``warn`` is told what that removed)."""
    from transforms.lake.compact import compact_lake

    layout = LakeLayout.of(output, state)
    started_at = dt.datetime.now(dt.timezone.utc)
    run_id = "compact_" + started_at.strftime("%Y%m%dT%H%M%S%fZ")
    with RunLock(layout.state, run_id):
        reconciled = reconcile(layout)
        if reconciled.deleted:
            warn(_cleaned_up(reconciled))
        return compact_lake(output, partition=partition, target_bytes=target_bytes)
