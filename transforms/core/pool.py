"""Both cores for a heavy stage on a local run: a batch split over worker processes.

Beam's FnApiRunner runs a local job in one process: one core works while the other idles.
``ChunkPool`` lets a stage's DoFn spread each batch of documents over ``workers`` processes:
the DoFn's own process takes the first chunk, ``workers - 1`` spawned processes take the
others, and the results come back in input order, so the output is the same as one process's.

    pool = ChunkPool(make_enricher, (taxonomy_path,), workers=2)
    enriched = pool.map(articles)       # same list as make_enricher(taxonomy_path)(articles)

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
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

logger = logging.getLogger(__name__)

# Below this many items a batch is done in-process: shipping it costs more than it saves.
MIN_SHARED_BATCH = 16
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


def split_evenly(items: Sequence, parts: int) -> list[list]:
    """``items`` in ``parts`` contiguous chunks whose sizes differ by at most one."""
    size, extra = divmod(len(items), parts)
    chunks, start = [], 0
    for index in range(parts):
        end = start + size + (1 if index < extra else 0)
        if end > start:
            chunks.append(list(items[start:end]))
        start = end
    return chunks


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
        self._local = factory(*args)
        self._executor: ProcessPoolExecutor | None = None

    @property
    def workers(self) -> int:
        return self._workers

    def map(self, items: Sequence[Any], share: bool = True) -> list:
        """The batch function's results for ``items``, in order (``share=False``: in this process,
        for a batch too light to be worth shipping)."""
        self._seen += len(items)
        if (
            not share
            or self._workers == 1
            or len(items) < MIN_SHARED_BATCH
            or self._seen <= self._share_after
        ):
            return self._local(list(items))
        chunks = split_evenly(items, self._workers)
        try:
            executor = self._start()
            futures = [executor.submit(_run_chunk, chunk) for chunk in chunks[1:]]
            results = self._local(chunks[0])
            for future in futures:
                results.extend(future.result())
            return results
        except BrokenProcessPool as exc:
            logger.warning("a worker process stopped (%s): this stage goes on in one process", exc)
            self.close()
            self._workers = 1
            return self._local(list(items))

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
