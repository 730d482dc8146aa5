"""The commit step at the end of a bounded graph: once every file is written, the run record.

Consumes the ``WrittenFile`` records of every write of the run; writes
``runs/<run_id>.json`` (``transforms.lake.commit.write_run_record``), the commit marker,
whoever runs the job: a launcher that waits for it, or a Flex Template's job alone.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import apache_beam as beam

from schemas.layout import DATA_DATASETS
from transforms.lake.commit import write_run_record

__all__ = ["CommitRun"]


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
        self,
        output: str,
        run_id: str,
        started_at: dt.datetime,
        argv: tuple,
        commit_empty: bool,
        before_commit: Callable[[], None] | None = None,
    ) -> None:
        self._before_commit = before_commit
        self._output = output
        self._run_id = run_id
        self._started_at = started_at
        self._argv = argv
        self._commit_empty = commit_empty

    def process(self, totals: dict):
        if self._before_commit is not None:  # a test's fault injection (pipeline.launcher.Hooks)
            self._before_commit()
        if not self._commit_empty and not any(totals["rows"].get(name) for name in DATA_DATASETS):
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
        before_commit: Callable[[], None] | None = None,
    ) -> None:
        super().__init__()
        self._fn = _CommitRunFn(output, run_id, started_at, tuple(argv), commit_empty, before_commit)

    def expand(self, written_files):
        return (
            written_files
            | "TotalWrittenFiles" >> beam.CombineGlobally(_FileTotalsFn())
            | "WriteRunRecord" >> beam.ParDo(self._fn)
        )
