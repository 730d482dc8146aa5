"""Stream mode on a local runner: one bounded run per poll cycle until --duration or Ctrl-C."""

from __future__ import annotations

import signal
import time
from collections.abc import Callable

from pipeline.results import EXIT_BUSY, EXIT_INTERRUPTED, Reporter, RunResult, StreamTotals
from schemas.layout import LakeLayout

# One poll cycle: (include the seeds?, a later cycle?) -> the results of its run(s).
Cycle = Callable[[bool, bool], list[RunResult]]


class _StopFlag:
    """Ctrl-C (or SIGTERM) asks stream mode to stop after the cycle in flight; twice aborts it."""

    # A first Ctrl-C during a cycle only asks to stop after it (see launcher._execute).
    asks_to_stop = True

    def __init__(self, reporter: Reporter) -> None:
        self.requested = False
        self._reporter = reporter

    def __call__(self, signum, frame) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        self._reporter.warning("stopping after the current cycle (Ctrl-C again to abort it)")


def run_stream(
    cycle_runs: Cycle, reporter: Reporter, layout: LakeLayout, *, poll_interval: float, duration: float | None
) -> int:
    """Stream mode on a local runner: one bounded run per poll cycle, each adding to the lake.

    Offline, the DirectRunner cannot run an unbounded pipeline (Prism cannot be
    downloaded, windows fire only at the end), so each poll is its own bounded run;
    Dataflow and Flink run the unbounded graph instead.
    """
    stop = _StopFlag(reporter)
    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    deadline = time.monotonic() + duration if duration else None
    totals = StreamTotals()
    reporter.stream_started()
    try:
        while True:
            started = time.monotonic()
            cycle_results = cycle_runs(totals.cycles == 0, totals.cycles > 0)
            totals.add_cycle(cycle_results)
            if any(r.code in (EXIT_INTERRUPTED, EXIT_BUSY) for r in cycle_results):
                break
            next_cycle = started + poll_interval
            while not stop.requested and time.monotonic() < next_cycle:
                if deadline is not None and time.monotonic() >= deadline:
                    break
                time.sleep(min(0.2, max(0.0, next_cycle - time.monotonic())))
            if stop.requested or (deadline is not None and time.monotonic() >= deadline):
                break
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    reporter.stream_finished(totals, layout)
    return EXIT_INTERRUPTED if totals.interrupted else totals.code
