"""ChunkPool: a batch shared over spawned processes comes back whole and in order."""

import os

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
