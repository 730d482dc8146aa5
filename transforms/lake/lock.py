"""One writer per lake: ``state/run.lock`` holds the running job's id, host, pid and a heartbeat.

A lock whose process is gone (same host) or whose heartbeat is older than
``STALE_AFTER`` is stale and taken over. On a local disk the lock is created
exclusively (``O_EXCL``); object stores have no such call, so there the lock is written
and read back, which narrows the race to moments rather than closing it: schedule one
job per lake (the Kubernetes CronJob's ``concurrencyPolicy: Forbid``).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import secrets
import socket
import threading

from apache_beam.io.filesystems import FileSystems

from schemas.layout import join_path
from transforms.lake.files import read_json

_LOGGER = logging.getLogger(__name__)

LOCK_FILE = "run.lock"

# A lock whose heartbeat is older than this belongs to a run that died elsewhere.
STALE_AFTER = dt.timedelta(minutes=10)

HEARTBEAT_EVERY = 60.0


class LakeBusyError(RuntimeError):
    """Another run holds the lake's lock."""


def _stale_holder(holder: dict | None) -> str:
    """A stale lock's holder, for the warning that takes the lock over."""
    if holder is None:
        return "a lock file that cannot be read"
    return (
        f"the lock of run {holder.get('run_id')} (pid {holder.get('pid')} on {holder.get('host')},"
        f" last heartbeat {holder.get('heartbeat_at')}), which stopped without letting go"
    )


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
            _LOGGER.warning("taking over %s", _stale_holder(holder))
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
