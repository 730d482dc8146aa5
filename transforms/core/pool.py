"""Both cores for a heavy stage on a local run: batches shared with worker processes.

Beam's FnApiRunner runs a local job in one process: one core works while the other idles.
``ChunkPool`` lets a stage's DoFn hand its batches of documents to ``workers - 1`` spawned
processes: ``submit`` gives a batch whole to one of them and returns at once, so that the
DoFn's process goes on with Beam's own work (decoding, encoding, the stages fused around it)
while the batch is done; when the spawned processes already have ``QUEUED_PER_HELPER`` batches
each, the DoFn's process does the batch itself. The DoFn emits the results in the order the
batches came (``transforms/batches.py`` ``InFlight``): the same output as one process's.

    pool = ChunkPool(make_enricher, (taxonomy_path,), workers=2)
    pending = pool.submit(articles)     # later: pending.result(), make_enricher(taxonomy_path)(articles)

``factory(*args)`` builds the batch function once per process (models load there, as in a
DoFn's ``setup``); it must be importable without Beam, which ``transforms/core`` guarantees.
Processes start on the first batch large enough to share once ``share_after`` items have
been done in-process, so small runs never pay for them. A worker process that dies is logged
once; the batch is then done in-process.
"""

from __future__ import annotations

import gc
import logging
import multiprocessing
import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import CancelledError, Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

logger = logging.getLogger(__name__)

# Below this many items a batch is done in-process: shipping it costs more than it saves.
MIN_SHARED_BATCH = 16
# Batches queued per spawned process before ``submit`` does one in this process: one being
# done and one waiting, so that a helper never idles while this process is busy.
QUEUED_PER_HELPER = 2
# How often a worker checks that the process that started it is still there.
PARENT_CHECK_SECONDS = 1.0

_worker_fn: Callable[[list], list] | None = None


def _exit_with_parent(parent: int) -> None:
    # A killed run (SIGKILL, a crash) cannot shut its pool down: its workers must not outlive it,
    # idle for ever and holding its stdout and stderr open.
    while True:
        threading.Event().wait(PARENT_CHECK_SECONDS)
        if os.getppid() != parent:
            os._exit(0)


def _init_worker(factory: Callable[..., Callable[[list], list]], args: tuple, parent: int) -> None:
    global _worker_fn
    threading.Thread(target=_exit_with_parent, args=(parent,), daemon=True).start()
    # The worker's own logging is quiet: the DoFn's process reports.
    logging.getLogger().setLevel(logging.ERROR)
    _worker_fn = factory(*args)
    # The models live as long as the process: kept out of the cyclic collector's passes.
    gc.freeze()


def _run_chunk(chunk: list) -> list:
    assert _worker_fn is not None, "worker not initialised"
    return _worker_fn(chunk)


class Pending:
    """A batch handed to ``ChunkPool.submit``: its results, in order, once done."""

    def __init__(
        self,
        results: list | None = None,
        future: Future | None = None,
        items: list | None = None,
        pool: ChunkPool | None = None,
    ) -> None:
        self._results = results
        self._future = future
        self._items = items
        self._pool = pool

    def done(self) -> bool:
        return self._future is None or self._future.done()

    def result(self) -> list:
        if self._future is not None:
            try:
                self._results = self._future.result()
            except (BrokenProcessPool, CancelledError) as exc:
                # A helper died: this batch, and any the closing pool cancelled, are done here.
                self._results = self._pool.in_process(self._items, exc)
            self._future = self._items = self._pool = None
        return self._results


class ChunkPool:
    """``factory(*args)`` applied to batches, on ``workers`` processes (this one included)."""

    def __init__(
        self,
        factory: Callable[..., Callable[[list], list]],
        args: tuple = (),
        workers: int = 1,
        share_after: int = 0,
    ) -> None:
        self._factory = factory
        self._args = args
        self._workers = max(1, workers)
        # Items done in this process before batches are shared: starting a helper costs a
        # second or two of imports and model loading, which a small run never earns back.
        self._share_after = share_after
        self._seen = 0
        self._queued: list[Future] = []
        self._local = factory(*args)
        self._executor: ProcessPoolExecutor | None = None

    @property
    def workers(self) -> int:
        return self._workers

    def submit(self, items: Sequence[Any], share: bool = True) -> Pending:
        """The batch function's results for ``items``, to be collected later (``share=False``: a
        batch too light to be worth shipping): a batch worth shipping goes whole to a spawned
        process, unless they all have work queued, and this call returns at once; any other
        batch is done now, in this process."""
        items = list(items)
        self._queued = [future for future in self._queued if not future.done()]
        if not self._shares(items, share) or len(self._queued) >= QUEUED_PER_HELPER * (self._workers - 1):
            return Pending(self._local(items))
        try:
            future = self._start().submit(_run_chunk, items)
        except BrokenProcessPool as exc:
            return Pending(self.in_process(items, exc))
        self._queued.append(future)
        return Pending(future=future, items=items, pool=self)

    def in_process(self, items: list, error: BaseException) -> list:
        """``items`` done in this process, after a worker process stopped; the pool is not used again."""
        if self._workers > 1:
            logger.warning("a worker process stopped (%s): this stage goes on in one process", error)
            self.close()
            self._workers = 1
        return self._local(items)

    def _shares(self, items: Sequence[Any], share: bool) -> bool:
        self._seen += len(items)
        if not share or self._workers == 1 or len(items) < MIN_SHARED_BATCH:
            return False
        return self._seen > self._share_after

    def _start(self) -> ProcessPoolExecutor:
        if self._executor is None:
            # spawn, not fork: the DoFn's process runs Beam's threads, which a fork would copy
            # mid-flight; a spawned worker imports only the stage's pure modules.
            self._executor = ProcessPoolExecutor(
                max_workers=self._workers - 1,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_init_worker,
                initargs=(self._factory, self._args, os.getpid()),
            )
        return self._executor

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None
