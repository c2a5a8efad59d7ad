"""Periodic upkeep run by each worker: daily partitions ahead of time, stale couriers.

Both are safe to run in every worker at once: partition creation is idempotent in the SQL
function (and serialised by an advisory lock), and stale marking claims each courier with a
ZREM that only one worker wins.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from tracking.background import BackgroundTask
from tracking.live_store import LiveStore
from tracking.position_store import PositionStore

__all__ = ["Periodic", "ensure_partitions", "mark_stale"]

log = logging.getLogger(__name__)


class Periodic:
    """Runs `work()` every `interval_s`, logging failures instead of dying."""

    def __init__(self, name: str, interval_s: float, work: Callable[[], Awaitable[object]]) -> None:
        self.name = name
        self.interval_s = interval_s
        self.work = work
        self._task = BackgroundTask(self._run, self.name)

    def start(self) -> None:
        self._task.start()

    async def stop(self) -> None:
        await self._task.stop()

    async def _run(self) -> None:
        while True:
            try:
                await self.work()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("%s failed: %s", self.name, exc)
            await asyncio.sleep(self.interval_s)


async def ensure_partitions(store: PositionStore, *, days_ahead: int) -> int:
    """Creates the daily partitions from yesterday to `days_ahead` days from now."""
    first_day = datetime.now(UTC) - timedelta(days=1)
    return await store.ensure_partitions(first_day=first_day, days=days_ahead + 2)


async def mark_stale(live: LiveStore, *, stale_after_s: float) -> int:
    return len(await live.claim_stale(now_s=time.time(), stale_after_s=stale_after_s))
