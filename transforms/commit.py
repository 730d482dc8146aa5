"""Runs against one lake: the lock, the commit marker and the reconciliation of crashed runs.

A run's files (articles, duplicates, rejects, dedup-index and site-memory segments) carry its id in
their names: ``part-<run_id>-….parquet``. The run record ``runs/<run_id>.json``,
written last, is the commit marker: a file whose run has no record belongs to a run
that crashed or was killed, and the next run deletes it before it starts (its inputs
were not marked as done either: feed cursors move on only after the record is
written, so the next run ingests them again). Hidden ``.….inprogress`` files are
never visible to readers and are swept up too.

Only one run writes to a lake at a time: ``state/run.lock`` holds the run's id, host,
pid and a heartbeat. A lock whose process is gone (same host) or whose heartbeat is
older than ``STALE_AFTER`` is stale and taken over. On a local disk the lock is created
exclusively (``O_EXCL``); object stores have no such call, so there the lock is
written and read back, which narrows the race to moments rather than closing it:
schedule one job per lake (the Kubernetes CronJob's ``concurrencyPolicy: Forbid``).

Sample: ``reconcile(output, state)`` ->
``Reconciled(deleted=("…/articles/date=…/part-20261122T030100Z_ab12cd-….parquet",), …)``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import os
import re
import secrets
import socket
import threading

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems

from transforms.state import read_json
from transforms.write import INPROGRESS_SUFFIX, join_path

_LOGGER = logging.getLogger(__name__)

LOCK_FILE = "run.lock"
# A lock whose heartbeat is older than this belongs to a run that died elsewhere.
STALE_AFTER = dt.timedelta(minutes=10)
HEARTBEAT_EVERY = 60.0
# Run ids name files: letters, digits, "_" and "." only, so "part-<run_id>-…" parses.
RUN_ID_RE = re.compile(r"^[A-Za-z0-9_.]{1,64}$")
_PART_RE = re.compile(r"^part-([A-Za-z0-9_.]+)-")
# Files made by compaction hold rows of committed runs only (it runs under the lock,
# after reconciliation).
COMPACTED_RUN = "compact"
DATA_FOLDERS = ("articles", "duplicates", "rejects")


class LakeBusyError(RuntimeError):
    """Another run holds the lake's lock."""


def check_run_id(run_id: str) -> str:
    if not RUN_ID_RE.match(run_id):
        raise ValueError(f"run id {run_id!r}: use 1-64 letters, digits, '_' or '.'")
    return run_id


def run_of(file_name: str) -> str | None:
    """The run id in a data file's name, or None for a file that is not ours."""
    match = _PART_RE.match(file_name)
    return match.group(1) if match else None


def committed_runs(output: str) -> set[str]:
    try:
        matches = FileSystems.match([join_path(output, "runs", "*.json")])[0].metadata_list
    except Exception:  # noqa: BLE001 - no runs/ yet: nothing committed
        return set()
    return {os.path.basename(m.path)[: -len(".json")] for m in matches}


def _files(folder: str) -> list[str]:
    try:
        return [m.path for m in FileSystems.match([join_path(folder, "**")])[0].metadata_list]
    except Exception:  # noqa: BLE001 - a missing folder has no files
        return []


@dataclasses.dataclass(frozen=True)
class Reconciled:
    deleted: tuple[str, ...] = ()
    uncommitted_runs: tuple[str, ...] = ()
    pending_polls: tuple[str, ...] = ()


def reconcile(output: str, state: str) -> Reconciled:
    """Delete what crashed runs left: their data files, index segments, hidden files and polls.

    Returns the committed runs whose feed polls were never folded into the cursors
    (the process died after writing the run record): the caller applies them.
    """
    committed = committed_runs(output) | {COMPACTED_RUN}
    doomed, runs = [], set()
    folders = [join_path(output, name) for name in DATA_FOLDERS] + [
        join_path(state, "dedup"),
        join_path(state, "sites"),
    ]
    for folder in folders:
        for path in _files(folder):
            name = os.path.basename(path)
            if name.startswith(".") and name.endswith(INPROGRESS_SUFFIX):
                doomed.append(path)
                continue
            run = run_of(name)
            if run is not None and run not in committed:
                doomed.append(path)
                runs.add(run)
    pending = []
    for path in _files(join_path(state, "polls")):
        run = os.path.basename(path).removesuffix(".json")
        if run in committed:
            pending.append(run)
        else:
            doomed.append(path)
            runs.add(run)
    if doomed:
        _LOGGER.warning("removing %d files of %d uncommitted runs: %s", len(doomed), len(runs), sorted(runs))
        FileSystems.delete(doomed)
    return Reconciled(tuple(sorted(doomed)), tuple(sorted(runs)), tuple(sorted(pending)))


class RunLock:
    """The lake's lock, held for one run (a context manager), with a heartbeat thread."""

    def __init__(self, state: str, run_id: str) -> None:
        self.path = join_path(state, LOCK_FILE)
        self._state = state
        self._token = {
            "run_id": run_id,
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "nonce": secrets.token_hex(8),
        }
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _record(self) -> bytes:
        now = dt.datetime.now(dt.timezone.utc).isoformat()
        return json.dumps(self._token | {"heartbeat_at": now}).encode()

    def _stale(self, holder: dict) -> bool:
        if holder.get("host") == socket.gethostname():
            try:
                os.kill(int(holder.get("pid", -1)), 0)
            except ProcessLookupError:
                return True
            except (PermissionError, ValueError):
                pass
        try:
            beat = dt.datetime.fromisoformat(holder["heartbeat_at"])
        except (KeyError, ValueError, TypeError):
            return True
        return dt.datetime.now(dt.timezone.utc) - beat > STALE_AFTER

    def acquire(self) -> None:
        if "://" not in self._state:
            os.makedirs(self._state, exist_ok=True)
        for _ in range(2):
            if self._create():
                break
            holder = _read_lock(self.path)
            if holder is not None and not self._stale(holder):
                raise LakeBusyError(
                    f"the lake is busy: run {holder.get('run_id')} (pid {holder.get('pid')} on "
                    f"{holder.get('host')}, heartbeat {holder.get('heartbeat_at')}) holds {self.path}"
                )
            _LOGGER.warning("taking over a stale lock: %s", holder)
            FileSystems.delete([self.path])
        else:
            raise LakeBusyError(f"could not take {self.path}: another run took it first")
        self._thread = threading.Thread(target=self._beat, name="newsflow-lock-heartbeat", daemon=True)
        self._thread.start()

    def _create(self) -> bool:
        if "://" not in self.path:
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                return False
            with os.fdopen(fd, "wb") as handle:
                handle.write(self._record())
            return True
        if FileSystems.exists(self.path):
            return False
        with FileSystems.create(self.path) as stream:
            stream.write(self._record())
        holder = _read_lock(self.path)
        return holder is not None and holder.get("nonce") == self._token["nonce"]

    def _beat(self) -> None:
        while not self._stop.wait(HEARTBEAT_EVERY):
            try:
                if "://" in self.path:
                    with FileSystems.create(self.path) as stream:
                        stream.write(self._record())
                else:
                    hidden = self.path + ".beat"
                    with open(hidden, "wb") as handle:
                        handle.write(self._record())
                    os.replace(hidden, self.path)
            except OSError as error:  # the run goes on; a missed beat only ages the lock
                _LOGGER.warning("lock heartbeat failed: %s", error)

    def release(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        holder = _read_lock(self.path)
        if holder is not None and holder.get("nonce") == self._token["nonce"]:
            FileSystems.delete([self.path])

    def __enter__(self) -> RunLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def _read_lock(path: str) -> dict | None:
    try:
        return read_json(path)
    except (OSError, ValueError):
        return None


# Index segments (one per run) are merged once there are more than this many, so that
# loading the index stays one or a few file reads.
MAX_INDEX_SEGMENTS = 16


def compact_index(folder: str, not_before: dt.datetime) -> int:
    """Merge the dedup index's segments into one, dropping entries older than the horizon.

    Runs under the lake's lock after a commit. Crash-safe: the merged file appears by
    rename before the old segments go, so a crash leaves entries twice (harmless), never
    missing. Returns the number of segments merged (0: nothing to do).
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    from schemas.parquet import INDEX_SCHEMA
    from transforms.write import write_table

    try:
        segments = sorted(
            m.path for m in FileSystems.match([join_path(folder, "*.parquet")])[0].metadata_list
        )
    except Exception:  # noqa: BLE001 - no index yet
        return 0
    if len(segments) <= MAX_INDEX_SEGMENTS:
        return 0
    tables = []
    for path in segments:
        with FileSystems.open(path) as stream:
            tables.append(pq.read_table(stream).cast(INDEX_SCHEMA))
    merged = pa.concat_tables(tables)
    merged = merged.filter(
        pa.compute.greater_equal(
            merged["ingested_at"], pa.scalar(not_before, INDEX_SCHEMA.field("ingested_at").type)
        )
    )
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    final = join_path(folder, f"part-{COMPACTED_RUN}-{stamp}-00000.parquet")
    hidden = join_path(folder, f".part-{COMPACTED_RUN}-{stamp}-00000.parquet{INPROGRESS_SUFFIX}")
    write_table(hidden, merged)
    FileSystems.rename([hidden], [final])
    FileSystems.delete(segments)
    _LOGGER.info("merged %d index segments into %s (%d entries)", len(segments), final, merged.num_rows)
    return len(segments)


# --- the commit step, at the end of a bounded graph ------------------------------------------


def write_run_record(output: str, record: dict) -> str:
    """``runs/<run_id>.json``, written under a hidden name and renamed: the commit marker."""
    from transforms.state import write_json_atomic

    path = join_path(output, "runs", f"{record['run_id']}.json")
    write_json_atomic(path, record)
    return path


class _FileTotalsFn(beam.CombineFn):
    """Files and rows written, per dataset and per articles partition."""

    def create_accumulator(self) -> dict:
        return {"files": {}, "rows": {}, "partitions": {}}

    def add_input(self, totals: dict, written) -> dict:
        totals["files"][written.dataset] = totals["files"].get(written.dataset, 0) + 1
        totals["rows"][written.dataset] = totals["rows"].get(written.dataset, 0) + written.rows
        if written.dataset == "articles":
            totals["partitions"][written.partition] = (
                totals["partitions"].get(written.partition, 0) + written.rows
            )
        return totals

    def merge_accumulators(self, accumulators) -> dict:
        merged = self.create_accumulator()
        for totals in accumulators:
            for part in merged:
                for key, value in totals[part].items():
                    merged[part][key] = merged[part].get(key, 0) + value
        return merged

    def extract_output(self, totals: dict) -> dict:
        return totals


class _CommitRunFn(beam.DoFn):
    def __init__(self, output: str, run_id: str, started_at: dt.datetime, argv: tuple) -> None:
        self._output = output
        self._run_id = run_id
        self._started_at = started_at
        self._argv = argv

    def process(self, totals: dict):
        if os.environ.get("NEWSFLOW_CRASH_AT") == "before_commit":  # fault injection for the crash tests
            os._exit(137)
        record = {
            "run_id": self._run_id,
            "mode": "batch",
            "started_at": self._started_at.isoformat(),
            "finished_at": dt.datetime.now(dt.timezone.utc).isoformat(),
            "argv": list(self._argv),
            "counts": {"written": totals["rows"].get("articles", 0)},
            "files": totals["files"],
            "rows": totals["rows"],
            "partitions": dict(sorted(totals["partitions"].items())),
            "committed_by": "pipeline",
        }
        yield write_run_record(self._output, record)


class CommitRun(beam.PTransform):
    """Waits for every ``WrittenFile`` of the run, then writes its record (the commit)."""

    def __init__(self, output: str, run_id: str, started_at: dt.datetime, *, argv: tuple = ()) -> None:
        super().__init__()
        self._fn = _CommitRunFn(output, run_id, started_at, tuple(argv))

    def expand(self, written_files):
        return (
            written_files
            | "TotalWrittenFiles" >> beam.CombineGlobally(_FileTotalsFn())
            | "WriteRunRecord" >> beam.ParDo(self._fn)
        )


OWNER_FILE = "owner.json"


def claim_state(state: str, output: str) -> None:
    """Tie a state folder to one lake: a second lake sharing it would delete its index.

    Raises ``ValueError`` when ``state`` already belongs to another output.
    """
    from transforms.state import write_json_atomic

    lake = output if "://" in output else os.path.abspath(output)
    path = join_path(state, OWNER_FILE)
    owner = read_json(path)
    if owner is None:
        write_json_atomic(path, {"output": lake})
    elif owner.get("output") != lake:
        raise ValueError(
            f"state {state} belongs to the lake {owner.get('output')}, not {lake}:"
            " give each lake its own --state"
        )
