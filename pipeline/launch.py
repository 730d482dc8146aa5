"""One ``newsflow run`` invocation: its options parsed once, its lake, its reporter and hooks."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from apache_beam.options.pipeline_options import DirectOptions, PipelineOptions, StandardOptions

from pipeline.options import NewsflowOptions
from pipeline.plan import DEFAULT_RUNNER, LOCAL_RUNNERS
from pipeline.results import Reporter
from schemas.layout import LakeLayout


@dataclasses.dataclass(frozen=True)
class Hooks:
    """Callables the launcher runs at its commit points: fault injection for the crash tests.

    ``before_commit`` runs inside the pipeline's commit step, just before the run record is
    written; ``after_commit`` in the launcher, just after it. Production runs none.
    """

    before_commit: Callable[[], None] | None = None
    after_commit: Callable[[], None] | None = None


@dataclasses.dataclass
class Launch:
    """One ``newsflow run`` invocation: its options, parsed once, and where its lake is."""

    argv: tuple[str, ...]
    options: PipelineOptions
    layout: LakeLayout
    reporter: Reporter
    hooks: Hooks = Hooks()

    @property
    def nf(self) -> NewsflowOptions:
        return self.options.view_as(NewsflowOptions)

    @property
    def multi_processing(self) -> bool:
        """Beam's own multi-process local mode: its workers are processes already."""
        return self.options.view_as(DirectOptions).direct_running_mode == "multi_processing"

    @property
    def runner(self) -> str:
        return self.options.view_as(StandardOptions).runner or DEFAULT_RUNNER

    @property
    def local(self) -> bool:
        return self.runner in LOCAL_RUNNERS
