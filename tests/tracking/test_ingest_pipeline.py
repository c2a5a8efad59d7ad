"""The batching pipeline with an in-memory store: per-tick batching, answers only after the
commit, refusal when the store fails, and a courier's batches decided in arrival order even
with two transactions in flight."""

from __future__ import annotations

import asyncio
import random

import pytest

from tracking.filters import FilterConfig
from tracking.fixes import Fix
from tracking.ingest import Cursor, decide
from tracking.pipeline import IngestPipeline, IngestUnavailable

NOW_S = 1_764_331_200.0


class MemoryStore:
    """Decides like `PositionStore` against in-memory cursors, with a random commit delay."""

    def __init__(self, *, fail: bool = False) -> None:
        self.cursors: dict[int, Cursor] = {}
        self.stored: dict[int, list[int]] = {}
        self.batches: list[int] = []
        self.fail = fail
        self.rng = random.Random(7)

    async def commit_batch(self, submissions, *, now_s):
        if self.fail:
            raise OSError("database down")
        # Read the cursors, then yield (a transaction in flight) before writing them back.
        cursors = {cid: self.cursors.get(cid, Cursor(cid)) for cid, _ in submissions}
        await asyncio.sleep(self.rng.random() * 0.005)
        decisions = []
        for courier_id, fixes in submissions:
            decision = decide(cursors[courier_id], fixes, config=FilterConfig(), now_s=now_s)
            cursors[courier_id] = decision.cursor
            decisions.append(decision)
            self.stored.setdefault(courier_id, []).extend(f.seq for f in decision.accepted)
        self.cursors.update(cursors)
        self.batches.append(len(submissions))
        return decisions


def batch(first: int, count: int) -> list[Fix]:
    return [Fix(lat=41.3, lon=69.2 + s * 1e-6, ts_s=NOW_S - 5000 + s, seq=s)
            for s in range(first, first + count)]


async def test_concurrent_transactions_keep_each_couriers_order():
    store = MemoryStore()
    committed: list[tuple[int, Fix]] = []
    pipeline = IngestPipeline(store, concurrency=2, max_batch_points=7,
                              on_committed=committed.extend, clock=lambda: NOW_S)
    pipeline.start()
    try:
        jobs = [pipeline.submit(courier_id, batch(first, 3))
                for first in range(1, 60, 3) for courier_id in (1, 2, 3)]
        decisions = await asyncio.gather(*jobs)
    finally:
        await pipeline.stop()
    for courier_id in (1, 2, 3):
        assert store.stored[courier_id] == list(range(1, 61))  # nothing taken for a re-send
    assert all(d.duplicates == 0 and not d.rejected for d in decisions)
    assert len(committed) == 180
    assert len(store.batches) < len(jobs)  # submissions shared transactions


async def test_answers_wait_for_the_commit_and_failures_are_refused():
    store = MemoryStore(fail=True)
    pipeline = IngestPipeline(store, clock=lambda: NOW_S)
    pipeline.start()
    try:
        with pytest.raises(IngestUnavailable):
            await pipeline.submit(1, batch(1, 2))
        store.fail = False
        decision = await pipeline.submit(1, batch(1, 2))
        assert decision.ack_seq == 2 and store.stored[1] == [1, 2]
    finally:
        await pipeline.stop()


async def test_without_a_writer_task_submissions_are_written_inline():
    store = MemoryStore()
    pipeline = IngestPipeline(store, clock=lambda: NOW_S)
    decision = await pipeline.submit(4, batch(1, 3))
    assert decision.ack_seq == 3 and store.stored[4] == [1, 2, 3]
