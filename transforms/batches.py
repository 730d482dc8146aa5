"""Batches through a heavy stage's pure function, shared over the local cores.

``PooledBatches(factory, args, workers)`` applies the batch function ``factory(*args)`` (built
once per worker, in ``setup``) to batches of ``batch_size`` elements and emits its results
one by one. The per-element cost of a DoFn call is paid once a batch. With ``workers`` above
one, batches go whole to spawned processes (``transforms/core/pool.py``) and are collected as
they come back (``InFlight``): the DoFn's process meanwhile does Beam's work for the next ones,
so both cores stay busy. Results leave in the order the batches came, each in its batch's
window: the output is that of one process. A stage that routes its results (tagged outputs,
counters) subclasses ``PooledFn``.

    articles | "DateTopicLanguageFingerprint" >> PooledBatches(make_enricher, (loader, None), workers=2)
"""

from __future__ import annotations

import collections
import contextlib
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future
from typing import Any

import apache_beam as beam
from apache_beam.pvalue import TaggedOutput
from apache_beam.transforms.window import BoundedWindow
from apache_beam.utils.timestamp import Timestamp
from apache_beam.utils.windowed_value import PaneInfo, WindowedValue

from transforms.core.pool import ChunkPool, Pending

__all__ = ["BATCH_SIZE", "IN_FLIGHT_PER_WORKER", "InFlight", "PooledBatches", "PooledFn"]

# Elements per batch: large enough that two processes share it well, small enough to keep
# a bundle's memory low.
BATCH_SIZE = 256
# Batches a DoFn keeps in its pool per worker process before it waits for the oldest: enough to
# keep every process busy, few enough to hold only a few MB of documents.
IN_FLIGHT_PER_WORKER = 2


class InFlight:
    """Work handed to another process or thread (a ``ChunkPool``'s batches, a writer's files), its
    results emitted in the order it came, each in the window, at the timestamp and in the pane of
    the element it came from. ``pending`` is a ``Pending`` or a ``concurrent.futures.Future``."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._queue: collections.deque[tuple[Pending | Future, BoundedWindow, Timestamp, PaneInfo]]
        self._queue = collections.deque()

    def add(
        self, pending: Pending | Future, window: BoundedWindow, timestamp: Timestamp, pane: PaneInfo
    ) -> None:
        self._queue.append((pending, window, timestamp, pane))

    def emit(self, route: Callable[[list], Iterable[Any]], drain: bool = False) -> Iterator[Any]:
        """``route``'s outputs (values or ``TaggedOutput``s) for each batch that is back (every
        batch, waiting, with ``drain``; the oldest, waiting, while over the limit)."""
        while self._queue and (drain or len(self._queue) > self._limit or self._queue[0][0].done()):
            pending, window, timestamp, pane = self._queue.popleft()
            for output in route(pending.result()):
                if isinstance(output, TaggedOutput):
                    yield TaggedOutput(output.tag, WindowedValue(output.value, timestamp, (window,), pane))
                else:
                    yield WindowedValue(output, timestamp, (window,), pane)

    def abandon(self) -> None:
        """Waits for the work a failed bundle left, and drops its results and errors."""
        while self._queue:
            pending = self._queue.popleft()[0]
            # The bundle already failed, and its retry redoes the work.
            with contextlib.suppress(Exception):
                pending.result()


class PooledFn(beam.DoFn):
    """A DoFn that hands batches to ``factory(*args)`` on ``workers`` processes (``ChunkPool``)
    and emits ``route``'s outputs for each batch's results, in order, in the batch's window.

    A stage subclasses it to prepare a batch in ``process`` (side inputs) before ``submit``, and
    to route results (tagged outputs, counters) in ``route``."""

    def __init__(
        self, factory: Callable[..., Callable[[list], list]], args: tuple, workers: int, share_after: int
    ) -> None:
        self._factory = factory
        self._args = args
        self._workers = workers
        self._share_after = share_after
        self._pool: ChunkPool | None = None
        self._in_flight: InFlight | None = None

    def setup(self) -> None:
        # Once per worker: the stage's models load here (and once in each helper process,
        # started when a batch is first large enough to share).
        self._pool = ChunkPool(
            self._factory, self._args, workers=self._workers, share_after=self._share_after
        )

    def start_bundle(self) -> None:
        self._in_flight = InFlight(IN_FLIGHT_PER_WORKER * self._workers)

    def process(
        self,
        batch: list,
        window: BoundedWindow = beam.DoFn.WindowParam,
        timestamp: Timestamp = beam.DoFn.TimestampParam,
        pane: PaneInfo = beam.DoFn.PaneInfoParam,
    ) -> Iterator[Any]:
        yield from self.submit(batch, window, timestamp, pane)

    def submit(
        self, batch: list, window: BoundedWindow, timestamp: Timestamp, pane: PaneInfo, share: bool = True
    ) -> Iterator[Any]:
        """Hands ``batch`` to the pool (``share=False``: done in this process); yields the outputs
        of the batches that are back."""
        self._in_flight.add(self._pool.submit(batch, share=share), window, timestamp, pane)
        yield from self._in_flight.emit(self.route)

    def route(self, results: list) -> Iterable[Any]:
        """A batch's outputs from its results (values or ``TaggedOutput``s)."""
        return results

    def finish_bundle(self) -> Iterator[Any]:
        yield from self._in_flight.emit(self.route, drain=True)

    def teardown(self) -> None:
        if self._pool is not None:
            self._pool.close()


class PooledBatches(beam.PTransform):
    """The results of ``factory(*args)`` over batches of the input, on ``workers`` processes."""

    def __init__(
        self,
        factory: Callable[..., Callable[[list], list]],
        args: tuple = (),
        workers: int = 1,
        batch_size: int = BATCH_SIZE,
        share_after: int = 0,
    ) -> None:
        super().__init__()
        self._factory = factory
        self._args = args
        self._workers = workers
        self._batch_size = batch_size
        self._share_after = share_after

    def expand(self, elements):
        return (
            elements
            | "Batch" >> beam.BatchElements(min_batch_size=self._batch_size, max_batch_size=self._batch_size)
            | "Apply" >> beam.ParDo(PooledFn(self._factory, self._args, self._workers, self._share_after))
        )
