"""A run's place in its lake: the journal of started runs, the commit marker, reconciliation.

A run's files (articles, duplicates, rejects, dedup-index segments) carry its id in
their names: ``part-<run_id>-….parquet``. The run record ``runs/<run_id>.json``,
written last, is the commit marker: a file whose run has no record belongs to a run
that crashed or was killed, and the next run deletes it before it starts (its inputs
were not marked as done either: feed cursors move on only after the record is
written, so the next run ingests them again). Hidden ``.….inprogress`` files are
never visible to readers and are swept up too.

Only journaled runs' files are ever deleted: each run records itself in
``state/started/<run_id>.json`` before it writes (``journal_start``), and a file no
journaled run wrote is never touched, whatever its name. The lock is ``transforms.lake.lock``.

Sample: ``reconcile(layout)`` ->
``Reconciled(deleted=("…/articles/date=…/part-20261122T030100Z_ab12cd-….parquet",), …)``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import os
import re
import socket

from schemas.layout import LakeLayout, join_path
from transforms.lake.files import INPROGRESS_SUFFIX, delete, files_under, match, write_json_atomic

_LOGGER = logging.getLogger(__name__)

# Run ids name files: letters, digits, "_" and "." only, so "part-<run_id>-…" parses.
RUN_ID_RE = re.compile(r"^[A-Za-z0-9_.]{1,64}$")

_PART_RE = re.compile(r"^part-([A-Za-z0-9_.]+)-")

# Files made by compaction hold rows of committed runs only (it runs under the lock,
# after reconciliation).
COMPACTED_RUN = "compact"


def check_run_id(run_id: str) -> str:
    if not RUN_ID_RE.match(run_id):
        raise ValueError(f"run id {run_id!r}: use 1-64 letters, digits, '_' or '.'")
    return run_id


def run_of(file_name: str) -> str | None:
    """The run id in a data file's name, or None for a file that is not ours."""
    match = _PART_RE.match(file_name)
    return match.group(1) if match else None


def committed_runs(output: str) -> set[str]:
    return {os.path.basename(m.path)[: -len(".json")] for m in match(join_path(output, "runs", "*.json"))}


def journal_start(layout: LakeLayout, run_id: str, started_at: dt.datetime) -> None:
    """Record that ``run_id`` starts writing: only a journaled run's files are ever deleted."""
    write_json_atomic(
        layout.started(run_id),
        {
            "run_id": run_id,
            "started_at": started_at.isoformat(),
            "host": socket.gethostname(),
            "pid": os.getpid(),
        },
    )


def journal_end(layout: LakeLayout, run_id: str) -> None:
    """A run is settled (committed and folded, or cleaned up): its journal entry goes."""
    delete([layout.started(run_id)])


def journaled_runs(layout: LakeLayout) -> set[str]:
    return {
        os.path.basename(path)[: -len(".json")]
        for path in files_under(layout.journal)
        if path.endswith(".json") and not os.path.basename(path).startswith(".")
    }


@dataclasses.dataclass(frozen=True)
class Reconciled:
    deleted: tuple[str, ...] = ()
    uncommitted_runs: tuple[str, ...] = ()
    pending_polls: tuple[str, ...] = ()
    # Journaled runs that committed: settled once their polls are folded.
    committed_runs: tuple[str, ...] = ()


def reconcile(layout: LakeLayout) -> Reconciled:
    """Delete what runs of this lake left unfinished, and nothing else.

    Only runs recorded in the journal (``state/started/``) count: a journaled run without a
    run record crashed, and its data files, dedup-index segments and feed polls are deleted;
    a journaled run's hidden ``.inprogress`` files are deleted whether it committed or not.
    A file no journaled run wrote is never touched, whatever its name.

    Returns the committed runs whose feed polls were never folded into the cursors (the
    process died after writing the run record): the caller folds them, then ends their
    journal entries.
    """
    started = journaled_runs(layout)
    if not started:
        return Reconciled()
    committed = committed_runs(layout.output)
    doomed, runs = [], set()
    for folder in layout.data_folders:
        for path in files_under(folder):
            name = os.path.basename(path)
            hidden = name.startswith(".") and name.endswith(INPROGRESS_SUFFIX)
            run = run_of(name[1:] if hidden else name)
            if run is None or run not in started:
                continue
            if hidden or run not in committed:
                doomed.append(path)
            if run not in committed:
                runs.add(run)
    pending = []
    for path in files_under(layout.polls):
        run = run_of_polls(os.path.basename(path))
        if run is None or run not in started:
            continue
        if run in committed:
            pending.append(run)
        else:
            doomed.append(path)
            runs.add(run)
    if doomed:
        # The caller says so: a warning for a crashed process's runs, the error of a run it aborts.
        _LOGGER.info("removing %d files of %d unfinished runs: %s", len(doomed), len(runs), sorted(runs))
        delete(doomed)
    for run in sorted(started - committed):
        journal_end(layout, run)
    return Reconciled(
        tuple(sorted(doomed)),
        tuple(sorted(runs)),
        tuple(sorted(set(pending))),
        tuple(sorted(started & committed)),
    )


def run_of_polls(file_name: str) -> str | None:
    """The run of a polls file: ``<run_id>.json``, or ``<run_id>-w<window>.json`` of a streaming job."""
    if not file_name.endswith(".json") or file_name.startswith("."):
        return None
    run = file_name[: -len(".json")].split("-", 1)[0]
    return run if RUN_ID_RE.match(run) else None


def write_run_record(output: str, record: dict) -> str:
    """``runs/<run_id>.json``, written under a hidden name and renamed: the commit marker."""
    path = join_path(output, "runs", f"{record['run_id']}.json")
    write_json_atomic(path, record)
    return path
