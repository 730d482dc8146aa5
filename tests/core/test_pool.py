"""ChunkPool: a batch shared over spawned processes comes back whole and in order."""

import os
import subprocess
import sys
import time

from tests.helpers import ROOT
from transforms.core.pool import MIN_SHARED_BATCH, ChunkPool, split_evenly


def tag_with_pid(offset: int):
    """A batch function factory, importable by a spawned process."""

    def tag(items: list[int]) -> list[tuple[int, int]]:
        return [(item + offset, os.getpid()) for item in items]

    return tag


def test_split_evenly_keeps_order_and_balances():
    assert split_evenly(list(range(7)), 3) == [[0, 1, 2], [3, 4], [5, 6]]
    assert split_evenly([1], 3) == [[1]]
    assert split_evenly([], 2) == []


def test_a_large_batch_is_shared_and_returns_in_order():
    pool = ChunkPool(tag_with_pid, (100,), workers=2)
    try:
        items = list(range(3 * MIN_SHARED_BATCH))
        out = pool.map(items)
        assert [value for value, _ in out] == [item + 100 for item in items]
        pids = {pid for _, pid in out}
        assert os.getpid() in pids and len(pids) == 2
    finally:
        pool.close()


def test_a_small_batch_stays_in_process():
    pool = ChunkPool(tag_with_pid, (0,), workers=2)
    try:
        out = pool.map(list(range(MIN_SHARED_BATCH - 1)))
        assert {pid for _, pid in out} == {os.getpid()}
    finally:
        pool.close()


def test_workers_exit_when_the_process_that_started_them_is_killed(tmp_path):
    # A run killed mid-way (SIGKILL, a crash) cannot close its pool: its workers must go too.
    script = (
        "import os, sys\n"
        "from tests.core.test_pool import tag_with_pid\n"
        "from transforms.core.pool import ChunkPool\n"
        "pool = ChunkPool(tag_with_pid, (0,), workers=2)\n"
        "pids = {pid for _, pid in pool.map(list(range(64)))} - {os.getpid()}\n"
        "print(*pids, flush=True)\n"
        "os._exit(137)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    assert done.returncode == 137, done.stderr[-2000:]
    (worker,) = map(int, done.stdout.split())
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and _alive(worker):
        time.sleep(0.2)
    assert not _alive(worker)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().split()[2] != "Z"
    except FileNotFoundError:
        return False


def test_a_pool_waits_until_enough_items_were_done_in_process():
    pool = ChunkPool(tag_with_pid, (0,), workers=2, share_after=2 * MIN_SHARED_BATCH)
    try:
        first = pool.map(list(range(2 * MIN_SHARED_BATCH)))
        assert {pid for _, pid in first} == {os.getpid()}
        later = pool.map(list(range(2 * MIN_SHARED_BATCH)))
        assert len({pid for _, pid in later}) == 2
    finally:
        pool.close()
