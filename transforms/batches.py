"""Batches through a heavy stage's pure function, shared over the local cores.

``PooledBatches(factory, args, workers)`` applies the batch function ``factory(*args)`` (built
once per worker, in ``setup``) to batches of ``batch_size`` elements and emits its results
one by one. The per-element cost of a DoFn call is paid once a batch, and with ``workers``
above one each batch is split over that many processes (``transforms/core/pool.py``): the
results, and their order inside a batch, are those of one process. The stage that uses it
routes the results (tagged outputs, counters) in its own DoFn after it.

    articles | "DateTopicLanguageFingerprint" >> PooledBatches(make_enricher, (loader, None), workers=2)
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import apache_beam as beam

from transforms.core.pool import ChunkPool

__all__ = ["BATCH_SIZE", "PooledBatches"]

# Elements per batch: large enough that two processes share it well, small enough to keep
# a bundle's memory low.
BATCH_SIZE = 256


class _PooledFn(beam.DoFn):
    def __init__(
        self, factory: Callable[..., Callable[[list], list]], args: tuple, workers: int, share_after: int
    ) -> None:
        self._factory = factory
        self._args = args
        self._workers = workers
        self._share_after = share_after
        self._pool: ChunkPool | None = None

    def setup(self) -> None:
        # Once per worker: the stage's models load here (and once in each helper process,
        # started when a batch is first large enough to share).
        self._pool = ChunkPool(
            self._factory, self._args, workers=self._workers, share_after=self._share_after
        )

    def process(self, batch: list) -> Iterator[Any]:
        yield from self._pool.map(batch)

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
            | "Apply" >> beam.ParDo(_PooledFn(self._factory, self._args, self._workers, self._share_after))
        )
