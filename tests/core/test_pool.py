"""ChunkPool: a batch handed to a spawned process comes back whole and in order."""

import os
import subprocess
import sys
import time

from tests.helpers import ROOT, die_in_helper, tag_with_pid
from transforms.core.pool import MIN_SHARED_BATCH, QUEUED_PER_HELPER, ChunkPool


def test_submitted_batches_come_back_whole_and_in_order_and_this_process_takes_a_share():
    # The helper takes QUEUED_PER_HELPER batches at once; while they are queued (it is still
    # starting), the next batches are done here: both processes work, and nothing waits.
    pool = ChunkPool(tag_with_pid, (100,), workers=2)
    try:
        batches = [
            list(range(start, start + MIN_SHARED_BATCH)) for start in range(0, 8 * MIN_SHARED_BATCH, 16)
        ]
        pending = [pool.submit(batch) for batch in batches]
        out = [done.result() for done in pending]
        assert [[value for value, _ in results] for results in out] == [[i + 100 for i in b] for b in batches]
        pids = [{pid for _, pid in results} for results in out]
        assert all(len(batch_pids) == 1 for batch_pids in pids)  # a batch goes whole
        assert pids[QUEUED_PER_HELPER] == {os.getpid()}
        assert any(batch_pids != {os.getpid()} for batch_pids in pids)
    finally:
        pool.close()


def test_a_small_or_unshared_batch_is_submitted_in_process():
    pool = ChunkPool(tag_with_pid, (0,), workers=2)
    try:
        small = pool.submit(list(range(MIN_SHARED_BATCH - 1)))
        unshared = pool.submit(list(range(2 * MIN_SHARED_BATCH)), share=False)
        assert small.done() and unshared.done()
        assert {pid for _, pid in small.result() + unshared.result()} == {os.getpid()}
    finally:
        pool.close()


def test_batches_a_dead_helper_held_are_done_in_process():
    # The helper dies on its first batch: that batch, and the one queued behind it, come back
    # done here, in order, and the pool goes on in one process.
    pool = ChunkPool(die_in_helper, (os.getpid(),), workers=2)
    try:
        batches = [
            list(range(start, start + MIN_SHARED_BATCH)) for start in range(0, 5 * MIN_SHARED_BATCH, 16)
        ]
        pending = [pool.submit(batch) for batch in batches]
        assert [done.result() for done in pending] == [[i * 2 for i in batch] for batch in batches]
        assert pool.workers == 1
        assert pool.submit(batches[0]).result() == [i * 2 for i in batches[0]]
    finally:
        pool.close()


def test_workers_exit_when_the_process_that_started_them_is_killed(tmp_path):
    # A run killed mid-way (SIGKILL, a crash) cannot close its pool: its workers must go too.
    script = (
        "import os, sys\n"
        "from tests.helpers import tag_with_pid\n"
        "from transforms.core.pool import ChunkPool\n"
        "pool = ChunkPool(tag_with_pid, (0,), workers=2)\n"
        "pids = {pid for _, pid in pool.submit(list(range(64))).result()} - {os.getpid()}\n"
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
        first = pool.submit(list(range(2 * MIN_SHARED_BATCH))).result()
        assert {pid for _, pid in first} == {os.getpid()}
        later = pool.submit(list(range(2 * MIN_SHARED_BATCH))).result()
        (helper,) = {pid for _, pid in later}
        assert helper != os.getpid()
    finally:
        pool.close()
