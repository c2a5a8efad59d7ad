"""The ingest pipeline: submissions gathered per event-loop tick, one transaction per batch.

Every WebSocket message and HTTP upload becomes a `submit(courier_id, fixes)` that waits for
its `IngestVerdict`. A writer drains whatever arrived since its last transaction, so under load one
commit serves hundreds of connections (the batch grows while the previous transaction runs),
and at low load a lone point is written at once. Up to `concurrency` transactions run at once
so that a commit's fsync does not leave the database idle; they lock the couriers' cursors in
id order, so two batches for the same courier simply take turns. A future is resolved only
after the commit, which is what lets the caller send `ack` safely.

After a commit the accepted fixes go to `on_committed` (the live view: Redis, fan-out,
geofences), which must not block: the history is the record, the live view may lag or fail.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from tracking.background import BackgroundTask
from tracking.fixes import Fix
from tracking.ingest import IngestVerdict
from tracking.position_store import PositionStore

__all__ = ["IngestPipeline", "IngestUnavailable"]

log = logging.getLogger(__name__)

#: One courier's batch waiting for a writer, and where its verdict goes.
_Submission = tuple[int, list[Fix], "asyncio.Future[IngestVerdict]"]


class IngestUnavailable(Exception):
    """The history could not be written (database down); nothing was acknowledged."""

    code = "service_unavailable"


class IngestPipeline:
    def __init__(self, store: PositionStore, *, max_batch_points: int = 5000,
                 concurrency: int = 2,
                 on_committed: Callable[[list[tuple[int, Fix]]], None] | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.max_batch_points = max_batch_points
        self.concurrency = max(1, concurrency)
        self._in_flight: set[asyncio.Task] = set()
        self._busy: set[int] = set()  # couriers in a transaction now
        self.on_committed = on_committed
        self.clock = clock
        self._pending: list[_Submission] = []
        self._wakeup = asyncio.Event()
        self._writer = BackgroundTask(self._run, "tracking-writer")
        self.batches = 0
        self.points = 0
        self.slowest_commit_s = 0.0
        self.slow_commit_s = 0.5

    async def submit(self, courier_id: int, fixes: list[Fix]) -> IngestVerdict:
        """Waits until `fixes` are decided and committed; `IngestUnavailable` if not."""
        future: asyncio.Future[IngestVerdict] = asyncio.get_running_loop().create_future()
        self._pending.append((courier_id, fixes, future))
        self._wakeup.set()
        if not self._writer.running:  # no writer running (tests, scripts): write inline
            await self._write_once()
        return await future

    def start(self) -> None:
        self._writer.start()

    async def stop(self) -> None:
        await self._writer.stop()
        if self._in_flight:
            await asyncio.gather(*self._in_flight, return_exceptions=True)
        while self._pending:  # drain what was already submitted before closing
            await self._write_once()

    async def _run(self) -> None:
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            while self._pending and len(self._in_flight) < self.concurrency:
                batch = self._take()
                if not batch:  # every pending courier is mid-transaction: wait for one
                    break
                task = asyncio.create_task(self._write(batch))
                self._in_flight.add(task)
                task.add_done_callback(self._written)

    def _written(self, task: asyncio.Task) -> None:
        self._in_flight.discard(task)
        if self._pending:
            self._wakeup.set()

    def _take(self) -> list[tuple[int, list[Fix], asyncio.Future[IngestVerdict]]]:
        """The oldest submissions up to `max_batch_points`, skipping couriers that are in a
        transaction already: a courier's batches must be decided in the order they came
        (the cursor's high-water mark would otherwise count an earlier batch as re-sent)."""
        batch: list[tuple[int, list[Fix], asyncio.Future[IngestVerdict]]] = []
        rest: list[tuple[int, list[Fix], asyncio.Future[IngestVerdict]]] = []
        points = 0
        for item in self._pending:
            if points >= self.max_batch_points or item[0] in self._busy:
                rest.append(item)
            else:
                batch.append(item)
                points += len(item[1])
        self._pending = rest
        self._busy.update(courier_id for courier_id, _, _ in batch)  # until `_write` ends
        return batch

    async def _write_once(self) -> None:
        batch = self._take()
        if batch:
            await self._write(batch)

    async def _write(self, batch: list[_Submission]) -> None:
        couriers = {courier_id for courier_id, _, _ in batch}
        try:
            await self._commit(batch)
        finally:
            self._busy.difference_update(couriers)

    async def _commit(self, batch: list[_Submission]) -> None:
        started = time.monotonic()
        try:
            decisions = await self.store.commit_batch(
                [(courier_id, fixes) for courier_id, fixes, _ in batch], now_s=self.clock())
        except asyncio.CancelledError:
            for _, _, future in batch:
                if not future.done():
                    future.set_exception(IngestUnavailable("the writer stopped"))
            raise
        except Exception as exc:  # the database failed: refuse, never ack
            log.warning("position batch not written (%d submissions): %s", len(batch), exc)
            for _, _, future in batch:
                if not future.done():
                    future.set_exception(IngestUnavailable(str(exc)))
            await asyncio.sleep(0.05)
            return
        self.batches += 1
        took_s = time.monotonic() - started
        self.slowest_commit_s = max(self.slowest_commit_s, took_s)
        if took_s > self.slow_commit_s:  # usually the database's fsync, not our code
            log.warning("slow position batch: %d submissions, %d points, %.0f ms",
                        len(batch), sum(len(f) for _, f, _ in batch), took_s * 1e3)
        accepted: list[tuple[int, Fix]] = []
        for (_, _, future), decision in zip(batch, decisions, strict=True):
            self.points += len(decision.accepted)
            accepted.extend((decision.courier_id, fix) for fix in decision.accepted)
            if not future.done():
                future.set_result(decision)
        if accepted and self.on_committed is not None:
            try:
                self.on_committed(accepted)
            except Exception:
                log.exception("live-view hand-off failed")
