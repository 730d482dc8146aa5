"""Live progress of a local run: stages count what they handled, the launcher shows it.

A side channel outside Beam's metrics, which a local runner reports only once the
pipeline ends. It is on only when the launcher sets ``NEWSFLOW_PROGRESS_DIR`` (a run
on a terminal); worker processes inherit the variable, and each writes its counts to
``<dir>/<pid>.json`` at most a few times a second. Elsewhere ``tick`` costs one check.

    tick("read")            # in a DoFn, per element
    read_progress(folder)   # in the launcher -> {"read": 1200, "clean": 1100, ...}
"""

from __future__ import annotations

import json
import os
import time

ENV = "NEWSFLOW_PROGRESS_DIR"
# The stages a run reports, in the order documents pass them.
STAGES = ("read", "extract", "clean", "enrich", "written")
_FLUSH_EVERY = 0.25

_counts: dict[str, int] = {}
_state = {"folder": None, "checked": False, "flushed": 0.0}


def tick(stage: str, count: int = 1) -> None:
    """Count ``count`` documents through ``stage`` (a no-op unless progress is on)."""
    if not _state["checked"]:
        _state["folder"] = os.environ.get(ENV) or None
        _state["checked"] = True
    if _state["folder"] is None:
        return
    _counts[stage] = _counts.get(stage, 0) + count
    now = time.monotonic()
    if now - _state["flushed"] >= _FLUSH_EVERY:
        _state["flushed"] = now
        _flush()


def _flush() -> None:
    folder = _state["folder"]
    path = os.path.join(folder, f"{os.getpid()}.json")
    try:
        with open(path + ".tmp", "w", encoding="utf-8") as handle:
            json.dump(_counts, handle)
        os.replace(path + ".tmp", path)
    except OSError:  # the launcher removed the folder: the run is over
        _state["folder"] = None


def reset() -> None:
    """Forget this process's counts and whether progress is on (the launcher, between runs)."""
    _counts.clear()
    _state.update(folder=None, checked=False, flushed=0.0)


def read_progress(folder: str) -> dict[str, int]:
    """The counts of every process of the run, summed."""
    totals: dict[str, int] = {}
    try:
        names = os.listdir(folder)
    except OSError:
        return totals
    for name in names:
        if not name.endswith(".json"):
            continue
        try:
            with open(os.path.join(folder, name), encoding="utf-8") as handle:
                counts = json.load(handle)
        except (OSError, ValueError):
            continue
        for stage, count in counts.items():
            totals[stage] = totals.get(stage, 0) + int(count)
    return totals
