"""Stream mode on a local runner (``pipeline/stream.py``): the cycles' sums, and a long stream's
memory: a cycle's results are let go once they are summed."""

from __future__ import annotations

import gc
import weakref

from pipeline.results import EXIT_BUSY, EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, RunResult, StreamTotals
from pipeline.stream import run_stream
from schemas.layout import LakeLayout


class _Reporter:
    def __init__(self) -> None:
        self.totals: StreamTotals | None = None

    def warning(self, message: str) -> None:
        raise AssertionError(message)

    def stream_started(self) -> None:
        pass

    def stream_finished(self, totals: StreamTotals, layout: LakeLayout) -> None:
        self.totals = totals


def _result(run_id: str, code: int = EXIT_OK, **fields) -> RunResult:
    return RunResult(run_id=run_id, code=code, committed=code == EXIT_OK, **fields)


def test_totals_sum_the_cycles_and_keep_each_feeds_last_poll():
    totals = StreamTotals()
    totals.add_cycle(
        [
            _result(
                "a",
                read=5,
                written=3,
                duplicates={"exact": 1},
                rejects={"fetch/http_404": 1},
                partitions={"date=2026-12-01/topic=sport": 3},
                files={"articles": 1, "duplicates": 1, "rejects": 1},
                feeds={"https://f.example/rss": {"status": "fetched", "new": 5}},
            )
        ]
    )
    totals.add_cycle(
        [
            _result("b.b1of2", read=2, written=2, partitions={"date=2026-12-01/topic=sport": 2}),
            _result(
                "b.b2of2",
                code=EXIT_FAILED,
                read=1,
                duplicates={"exact": 1, "near": 0},
                feeds={"https://f.example/rss": {"status": "not_modified", "new": 0}},
            ),
        ]
    )
    assert (totals.cycles, totals.committed, totals.read, totals.written) == (2, 2, 8, 5)
    assert totals.duplicates == {"exact": 2, "near": 0} and totals.rejects == {"fetch/http_404": 1}
    assert totals.partitions == {"date=2026-12-01/topic=sport": 5}
    assert totals.files == {"articles": 1, "duplicates": 1, "rejects": 1}
    assert totals.feeds == {"https://f.example/rss": {"status": "not_modified", "new": 0}}
    assert totals.code == EXIT_FAILED and not totals.interrupted
    totals.add_cycle([_result("c", code=EXIT_INTERRUPTED)])
    assert totals.interrupted and totals.cycles == 3


def test_a_long_stream_lets_each_cycles_results_go(tmp_path):
    # The stream kept every cycle's RunResult, each holding every feed it polled, for the whole
    # life of the process: a slow leak in a stream that runs for weeks.
    seen: list[weakref.ref] = []
    cycles = 6

    def cycle_runs(include_seeds: bool, later: bool) -> list[RunResult]:
        gc.collect()
        # Two cycles back, the results are summed and gone.
        assert all(ref() is None for ref in seen[:-1]), "an earlier cycle's results are still held"
        assert include_seeds == (not seen) and later == bool(seen)
        last = len(seen) == cycles - 1
        feeds = {f"https://f{n}.example/rss": {"status": "fetched", "new": 1} for n in range(100)}
        result = _result(f"r{len(seen)}", code=EXIT_BUSY if last else EXIT_OK, read=1, written=1, feeds=feeds)
        seen.append(weakref.ref(result))
        return [result]

    reporter = _Reporter()
    layout = LakeLayout.of(str(tmp_path / "lake"))
    code = run_stream(cycle_runs, reporter, layout, poll_interval=0, duration=None)
    assert code == EXIT_BUSY  # a busy lake ends the stream with its code
    assert reporter.totals.cycles == cycles and reporter.totals.read == cycles
    assert len(reporter.totals.feeds) == 100
