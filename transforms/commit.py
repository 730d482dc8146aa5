"""Runs against one lake: the lock, the commit marker and the reconciliation of crashed runs.

A run's files (articles, duplicates, rejects, dedup-index segments) carry its id in
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

from schemas.layout import LakeLayout, absolute, join_path
from transforms.state import read_json
from transforms.write import INPROGRESS_SUFFIX

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


# --- the journal of started runs -----------------------------------------------------------


def journal_start(layout: LakeLayout, run_id: str, started_at: dt.datetime) -> None:
    """Record that ``run_id`` starts writing: only a journaled run's files are ever deleted."""
    from transforms.state import write_json_atomic

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
    path = layout.started(run_id)
    if FileSystems.exists(path):
        FileSystems.delete([path])


def journaled_runs(layout: LakeLayout) -> set[str]:
    return {
        os.path.basename(path)[: -len(".json")]
        for path in _files(layout.journal)
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
        for path in _files(folder):
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
    for path in _files(layout.polls):
        run = run_of_polls(os.path.basename(path))
        if run is None or run not in started:
            continue
        if run in committed:
            pending.append(run)
        else:
            doomed.append(path)
            runs.add(run)
    if doomed:
        _LOGGER.warning("removing %d files of %d unfinished runs: %s", len(doomed), len(runs), sorted(runs))
        FileSystems.delete(doomed)
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


def compact_index(folder: str, not_before: dt.datetime, run_id: str) -> int:
    """Merge the dedup index's segments into one, dropping entries older than the horizon.

    Runs under the lake's lock after ``run_id`` committed, before its journal entry ends.
    Crash-safe: the merged file is written under a hidden name of that run (swept up by
    reconciliation) and appears by rename before the old segments go, so a crash leaves
    entries twice (harmless), never missing. Returns the number of segments merged (0:
    nothing to do).
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
    hidden = join_path(folder, f".part-{run_id}-index-merge.parquet{INPROGRESS_SUFFIX}")
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
    def __init__(
        self, output: str, run_id: str, started_at: dt.datetime, argv: tuple, commit_empty: bool
    ) -> None:
        self._output = output
        self._run_id = run_id
        self._started_at = started_at
        self._argv = argv
        self._commit_empty = commit_empty

    def process(self, totals: dict):
        if os.environ.get("NEWSFLOW_CRASH_AT") == "before_commit":  # fault injection for the crash tests
            os._exit(137)
        if not self._commit_empty and not any(totals["rows"].get(name) for name in DATA_FOLDERS):
            return  # a stream cycle that wrote and recorded nothing leaves no run record
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

    def __init__(
        self,
        output: str,
        run_id: str,
        started_at: dt.datetime,
        *,
        argv: tuple = (),
        commit_empty: bool = True,
    ) -> None:
        super().__init__()
        self._fn = _CommitRunFn(output, run_id, started_at, tuple(argv), commit_empty)

    def expand(self, written_files):
        return (
            written_files
            | "TotalWrittenFiles" >> beam.CombineGlobally(_FileTotalsFn())
            | "WriteRunRecord" >> beam.ParDo(self._fn)
        )


def claim_state(layout: LakeLayout) -> None:
    """Tie a state folder to one lake: a second lake sharing it would delete its index.

    Raises ``LakeError`` when the state already belongs to another lake, or when it is a
    folder with files that newsflow did not write.
    """
    from transforms.state import write_json_atomic

    lake = absolute(layout.output)
    owner = read_json(layout.owner)
    if owner is None:
        if _has_files(layout.state, ignore=(os.path.basename(layout.lock),)):
            raise LakeError(
                f"--state {layout.state} holds files that newsflow did not write: give a new or empty folder"
            )
        write_json_atomic(layout.owner, {"output": lake})
    elif owner.get("output") != lake:
        raise LakeError(
            f"state {layout.state} belongs to the lake {owner.get('output')}, not {lake}:"
            " give each lake its own --state"
        )


# --- the lake marker --------------------------------------------------------------------------

LAKE_FORMAT = "newsflow-lake"
LAKE_VERSION = 1


class LakeError(ValueError):
    """A folder newsflow must not write to as given; the message says why and what to do."""


def _has_files(folder: str, ignore: tuple[str, ...] = ()) -> bool:
    if "://" not in folder:
        try:
            return any(name not in ignore for name in os.listdir(folder))
        except FileNotFoundError:
            return False
    try:
        found = FileSystems.match([join_path(folder, "**")], limits=[len(ignore) + 1])[0].metadata_list
    except Exception:  # noqa: BLE001 - a missing prefix holds nothing
        return False
    return any(os.path.basename(m.path) not in ignore for m in found)


def _is_legacy_lake(layout: LakeLayout) -> bool:
    """A lake written before the marker existed: its run records or its state's owner say so."""
    owner = read_json(layout.owner)
    if owner is not None and owner.get("output") == absolute(layout.output):
        return True
    for path in _files(layout.runs)[:5]:
        if path.endswith(".json"):
            try:
                record = read_json(path)
            except ValueError:
                return False
            if isinstance(record, dict) and "run_id" in record and "started_at" in record:
                return True
    return False


def open_lake(layout: LakeLayout, *, move_state: bool = False) -> dict:
    """The lake's marker, creating the lake if ``layout.output`` is new or empty.

    Refuses (``LakeError``) an output that is a file, a non-empty folder that is not a
    newsflow lake, and a state location other than the one the lake recorded (unless
    ``move_state``: the state is then moved there first).
    """
    from transforms.state import write_json_atomic

    output = layout.output
    if "://" not in output and os.path.exists(output) and not os.path.isdir(output):
        raise LakeError(f"--output {output} is a file, not a folder")
    try:
        marker = read_json(layout.marker)
    except ValueError as error:
        raise LakeError(f"{layout.marker} is not a readable lake marker ({error})") from None
    if marker is None:
        if _has_files(output):
            if not _is_legacy_lake(layout):
                raise LakeError(
                    f"--output {output} is a folder with files and not a newsflow lake (it has no "
                    f"{os.path.basename(layout.marker)}): newsflow writes only into a new or empty folder, "
                    "or a lake it created"
                )
            _migrate_undated(layout)
        marker = {
            "format": LAKE_FORMAT,
            "lake_version": LAKE_VERSION,
            "created_at": dt.datetime.now(dt.timezone.utc).isoformat(),
            "state": absolute(layout.state),
        }
        write_json_atomic(layout.marker, marker)
        return marker
    if not isinstance(marker, dict) or marker.get("format") != LAKE_FORMAT:
        raise LakeError(f"{layout.marker} is not a newsflow lake marker")
    recorded = marker.get("state")
    if recorded and recorded != absolute(layout.state):
        if not move_state:
            raise LakeError(
                f"the lake {output} keeps its state in {recorded}, not {absolute(layout.state)}: "
                f"run with --state {recorded}, or add --move_state to move the state there"
            )
        move_state_folder(recorded, layout.state)
        marker = marker | {"state": absolute(layout.state)}
        write_json_atomic(layout.marker, marker)
    return marker


def _migrate_undated(layout: LakeLayout) -> None:
    """Move an older lake's undated articles from Hive's null partition to ``date=unknown``."""
    from schemas.parquet import LEGACY_NULL_PARTITION, NULL_PARTITION

    old = join_path(layout.articles, f"date={LEGACY_NULL_PARTITION}")
    moved = 0
    for path in _files(old):
        topic, _, name = path[len(old) :].strip("/").partition("/")
        if not topic.startswith("topic=") or "/" in name or run_of(name) is None:
            continue
        target = join_path(layout.articles, f"date={NULL_PARTITION}", topic, name)
        if "://" not in target:
            os.makedirs(os.path.dirname(target), exist_ok=True)
        FileSystems.rename([path], [target])
        moved += 1
    if moved:
        _LOGGER.warning("moved %d files of undated articles to date=%s", moved, NULL_PARTITION)


def move_state_folder(source: str, destination: str) -> int:
    """Move every file of a state folder under ``destination``, which must be new or empty.

    Files are copied first and deleted from ``source`` only once all are in place: a crash
    leaves both copies (the old one still recorded), never neither. Returns the files moved.
    """
    if _has_files(destination):
        raise LakeError(f"cannot move the state to {destination}: it is not empty")
    with RunLock(source, "move_state"):
        files = [path for path in _files(source) if os.path.basename(path) != LOCK_FILE]
        base = source.rstrip("/")
        for path in files:
            target = join_path(destination, path[len(base) :].lstrip("/"))
            folder = target.rsplit("/", 1)[0]
            if "://" not in folder:
                os.makedirs(folder, exist_ok=True)
            FileSystems.copy([path], [target])
        FileSystems.delete(files)
    _LOGGER.warning("moved %d state files from %s to %s", len(files), source, destination)
    return len(files)
