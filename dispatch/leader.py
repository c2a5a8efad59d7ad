"""Exactly one planner across processes and hosts: PostgreSQL advisory locks plus a fencing epoch.

* **Leadership** is a session-level advisory lock (`pg_try_advisory_lock`) held on one
  dedicated connection for as long as the process leads. PostgreSQL drops it when that
  connection closes, so a crashed or partitioned leader is replaced by the next worker that
  tries (every `retry_s`). No clocks or TTLs to tune, and the database that holds the orders
  is the arbiter, so leadership cannot outlive access to the data.
* **Fencing.** Each election bumps `dispatch_leadership.epoch` and the leader keeps its
  value. The planner's apply transaction locks that row (`FOR SHARE`) and refuses to write if
  the epoch moved on: a deposed leader that is still finishing a solve cannot apply it.
* **Cycles** (the loop's and `POST /dispatch/run`'s) are serialised by a second advisory lock,
  held only for the cycle, so a manual run on any worker never overlaps the leader's.

Locks are per database: the keys only need to be distinct within one service.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from dispatch.exceptions import Conflict

__all__ = ["LEADER_LOCK_KEY", "CYCLE_LOCK_KEY", "NotLeader", "DispatchBusy", "AdvisoryLeader",
           "cycle_lock", "check_fence"]

log = logging.getLogger(__name__)

#: Advisory lock keys (arbitrary 64-bit numbers, spelled so they are recognisable in pg_locks).
LEADER_LOCK_KEY = 0x0D15_7A7C_4000_0001
CYCLE_LOCK_KEY = 0x0D15_7A7C_4000_0002


class NotLeader(Conflict):
    """The fencing epoch moved on: another process leads now; nothing was applied."""

    code = "not_leader"


class DispatchBusy(Conflict):
    code = "dispatch_busy"


class AdvisoryLeader:
    """Leadership held on one dedicated connection; `epoch` is the fencing token while leading."""

    def __init__(self, engine: AsyncEngine, *, key: int = LEADER_LOCK_KEY,
                 holder: str | None = None) -> None:
        self.engine = engine
        self.key = key
        self.holder = holder or f"{socket.gethostname()}:{os.getpid()}"
        self.epoch: int | None = None
        self._conn: AsyncConnection | None = None

    @property
    def leading(self) -> bool:
        return self.epoch is not None

    async def try_acquire(self) -> bool:
        """Becomes leader if nobody is; True while this process leads."""
        if self.leading:
            return await self.check()
        conn = await self.engine.connect()
        try:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            got = await conn.scalar(text("SELECT pg_try_advisory_lock(:k)"), {"k": self.key})
            if not got:
                await conn.close()
                return False
            epoch = await conn.scalar(text(
                "UPDATE dispatch_leadership SET epoch = epoch + 1, holder = :h, "
                "elected_at = now() WHERE id = 1 RETURNING epoch"), {"h": self.holder})
        except Exception:
            await conn.invalidate()
            await conn.close()
            raise
        self._conn, self.epoch = conn, int(epoch)
        log.info("dispatch leader elected: %s (epoch %d)", self.holder, self.epoch)
        return True

    async def check(self) -> bool:
        """Still leading? Pings the lock connection; losing it means losing the lock."""
        if self._conn is None:
            return False
        try:
            await self._conn.scalar(text("SELECT 1"))
            return True
        except Exception:
            log.warning("dispatch leader lost its lock connection (epoch %s)", self.epoch)
            await self._drop(invalidate=True)
            return False

    async def release(self) -> None:
        if self._conn is None:
            return
        try:
            await self._conn.scalar(text("SELECT pg_advisory_unlock(:k)"), {"k": self.key})
        except Exception:
            await self._drop(invalidate=True)
            return
        await self._drop(invalidate=False)

    async def _drop(self, *, invalidate: bool) -> None:
        conn, self._conn, self.epoch = self._conn, None, None
        if conn is None:
            return
        try:
            if invalidate:
                await conn.invalidate()
            await conn.close()
        except Exception:  # the connection is gone already
            pass


async def check_fence(session: AsyncSession, *, epoch: int | None) -> None:
    """Inside the apply transaction: refuse to write unless `epoch` still leads (None: manual
    run, serialised by the cycle lock instead)."""
    if epoch is None:
        return
    current = await session.scalar(text(
        "SELECT epoch FROM dispatch_leadership WHERE id = 1 FOR SHARE"))
    if current != epoch:
        raise NotLeader("another planner leads now; this plan is discarded",
                        details={"epoch": epoch, "current_epoch": current})


@asynccontextmanager
async def cycle_lock(engine: AsyncEngine, *, timeout_s: float,
                     key: int = CYCLE_LOCK_KEY) -> AsyncIterator[None]:
    """Holds the cycle lock for the block, waiting up to `timeout_s` (`DispatchBusy` after)."""
    conn = await engine.connect()
    try:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while not await conn.scalar(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}):
            if loop.time() >= deadline:
                raise DispatchBusy("another planning cycle is running; try again shortly",
                                   details={"waited_s": timeout_s})
            await asyncio.sleep(0.05)
        try:
            yield
        finally:
            try:
                await conn.scalar(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
            except Exception:
                await conn.invalidate()  # closing the session releases the lock
    finally:
        await conn.close()
