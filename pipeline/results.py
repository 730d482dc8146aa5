"""What a run did, as the launcher tells the CLI: results, exit codes, the reporter it prints through.

Exit codes: 0 done; 1 the run failed (it did not commit, its counts do not balance, or
it had inputs and every one of them failed to be read or fetched); 2 a usage error
(the command line names something unusable); 3 the lake is busy; 130 interrupted.
"""

from __future__ import annotations

import contextlib
import dataclasses
from typing import Protocol

from schemas.layout import LakeLayout

# Rejects at these stages mean an input could not be had at all (not a judgement of its text).
INPUT_FAILURE_STAGES = ("read", "feed", "sitemap", "fetch")
EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_BUSY, EXIT_INTERRUPTED = 0, 1, 2, 3, 130


class UsageError(ValueError):
    """The command line names something newsflow cannot use; the message says what."""


class LaunchFailed(RuntimeError):
    """The run could not start (e.g. the lake cannot be written); exit code 1."""


@dataclasses.dataclass
class RunResult:
    """What one run did, as the launcher saw it (the reporter prints it)."""

    run_id: str
    code: int = EXIT_OK
    committed: bool = False
    seconds: float = 0.0
    read: int = 0
    written: int = 0
    duplicates: dict[str, int] = dataclasses.field(default_factory=dict)
    rejects: dict[str, int] = dataclasses.field(default_factory=dict)
    input_failures: int = 0
    partitions: dict[str, int] = dataclasses.field(default_factory=dict)
    files: dict[str, int] = dataclasses.field(default_factory=dict)
    feeds: dict[str, dict] = dataclasses.field(default_factory=dict)
    feeds_not_due: list[str] = dataclasses.field(default_factory=list)
    index: dict[str, float] = dataclasses.field(default_factory=dict)
    record_path: str | None = None
    note: str = ""
    error: str = ""

    @property
    def balanced(self) -> bool:
        return self.read == self.written + sum(self.duplicates.values()) + sum(self.rejects.values())

    @property
    def nothing_succeeded(self) -> bool:
        """It had inputs, and every one of them failed to be read or fetched."""
        return self.read > 0 and self.input_failures == self.read


def _add_counts(total: dict[str, int], part: dict[str, int]) -> None:
    for key, value in part.items():
        total[key] = total.get(key, 0) + value


@dataclasses.dataclass
class StreamTotals:
    """What a stream's cycles did, summed as each ends. A local stream runs for weeks: it keeps
    these sums and each feed's last poll, not every cycle's ``RunResult`` (each holds the feeds
    it polled and the partitions it wrote, hundreds of entries a cycle)."""

    cycles: int = 0
    committed: int = 0
    read: int = 0
    written: int = 0
    code: int = EXIT_OK
    interrupted: bool = False
    duplicates: dict[str, int] = dataclasses.field(default_factory=dict)
    rejects: dict[str, int] = dataclasses.field(default_factory=dict)
    partitions: dict[str, int] = dataclasses.field(default_factory=dict)
    files: dict[str, int] = dataclasses.field(default_factory=dict)
    feeds: dict[str, dict] = dataclasses.field(default_factory=dict)

    def add_cycle(self, results: list[RunResult]) -> None:
        """One cycle's runs (a cycle of seeds over ``--max_batch_mb`` runs several)."""
        self.cycles += 1
        for result in results:
            self.committed += result.committed
            self.read += result.read
            self.written += result.written
            self.code = max(self.code, result.code)
            self.interrupted = self.interrupted or result.code == EXIT_INTERRUPTED
            for total, part in (
                (self.duplicates, result.duplicates),
                (self.rejects, result.rejects),
                (self.partitions, result.partitions),
                (self.files, result.files),
            ):
                _add_counts(total, part)
            self.feeds.update(result.feeds)


class Reporter(Protocol):
    def warning(self, message: str) -> None: ...

    def batches(self, count: int, max_mb: float) -> None: ...

    def batches_finished(self, results: list[RunResult]) -> None: ...

    def run_finished(self, result: RunResult, layout: LakeLayout, *, cycle: int | None = None) -> None: ...

    def stream_started(self) -> None: ...

    def stream_finished(self, totals: StreamTotals, layout: LakeLayout) -> None: ...

    def progress(self, run_id: str) -> contextlib.AbstractContextManager: ...
