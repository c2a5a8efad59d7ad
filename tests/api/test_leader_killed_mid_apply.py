"""The planning leader killed with SIGKILL while it applies a decision (slow, real processes).

Two worker processes run the dispatch loop on a database of their own. The test holds
`planned_stops` in EXCLUSIVE mode (reads pass, writes wait), so the leader's cycle loads its
snapshot, solves, and then stops inside `apply_decision` with orders moved, events logged and
offers written but not committed, waiting for the table. That is the moment the leader is killed.
Then: nothing of the cut transaction is visible (every order is still what its log says), the
other worker takes the leadership with a higher epoch within its retry interval, and its own
cycle plans the orders.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from order_support import LEADER_WORKER, consistency_problems
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from api.database import make_engine, make_sessionmaker, upgrade
from dispatch.couriers import change_shift, register_courier
from dispatch.orders import NewOrder, create_order
from dispatch.service_area import ZoneServiceArea
from dispatch.users import create_user
from geodata.zones import create_zone
from tests.conftest import INSIDE, INSIDE_2, TEST_ZONE, create_scratch_database, drop_database

pytestmark = pytest.mark.slow

PROJECT_ROOT = Path(__file__).resolve().parents[2]
ORDERS = 8
@pytest.fixture
async def city(settings):
    """A database of its own: a zone, a seller, three couriers on shift, pending orders."""
    url = create_scratch_database("courier_midapply")
    await asyncio.to_thread(upgrade, url)
    engine = make_engine(url, pool_size=2)
    try:
        async with make_sessionmaker(engine)() as session:
            from datetime import UTC, datetime

            await create_zone(session, name="midapply", geometry=TEST_ZONE)
            seller = await create_user(session, name="seller", role="seller",
                                       password_hash="unused")
            for k in range(3):
                user = await create_user(session, name=f"courier-{k}", role="courier",
                                         password_hash="unused")
                courier = await register_courier(session, user_id=user.id, name=f"c{k}",
                                                 vehicle="bicycle", capacity=5)
                await change_shift(session, courier, action="start", now=datetime.now(UTC),
                                   lat=INSIDE["lat"], lon=INSIDE["lon"])
            for _ in range(ORDERS):
                await create_order(session, seller=seller, actor=seller,
                                   service_area=ZoneServiceArea(),
                                   new=NewOrder(INSIDE["lat"], INSIDE["lon"],
                                                INSIDE_2["lat"], INSIDE_2["lon"]))
            await session.commit()
        yield url, engine
    finally:
        await engine.dispose()
        drop_database(url)


def _spawn(settings, url: str) -> subprocess.Popen:
    env = {**os.environ, "COURIER_MODE": "test", "DATABASE_URL": url,
           "REDIS_URL": settings.redis_url,
           "COURIER_REDIS_PREFIX": f"test-midapply-{uuid.uuid4().hex[:8]}:",
           "COURIER_DATA_DIR": str(settings.data_dir), "COURIER_NETWORK": "none",
           "COURIER_DISPATCH_LOOP": "1", "COURIER_DISPATCH_INTERVAL_S": "0.5",
           "COURIER_DISPATCH_LEADER_RETRY_S": "0.2", "COURIER_DISPATCH_SOLVER_TIME_S": "0.2",
           "COURIER_DISPATCH_ONLINE_WINDOW_S": "0"}
    return subprocess.Popen([sys.executable, "-c", LEADER_WORKER], cwd=PROJECT_ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)


async def _status_lines(procs) -> list[str]:
    return [line.strip() for line in
            await asyncio.gather(*(asyncio.to_thread(p.stdout.readline) for p in procs))]


async def _statuses(engine) -> dict[str, int]:
    async with engine.connect() as conn:
        rows = (await conn.execute(text(
            "SELECT status, count(*) FROM orders GROUP BY status"))).all()
    return {status: n for status, n in rows}


async def _waiting_on_planned_stops(engine) -> int | None:
    """The pid of a backend waiting for a lock while writing planned_stops, if any."""
    async with engine.connect() as conn:
        return await conn.scalar(text("""
            SELECT pid FROM pg_stat_activity
            WHERE datname = current_database() AND wait_event_type = 'Lock'
              AND query ILIKE '%planned_stops%' LIMIT 1"""))


async def test_a_leader_killed_while_applying_leaves_nothing_and_is_replaced(settings, city):
    url, engine = city
    blocker = create_async_engine(url)
    procs: list[subprocess.Popen] = []
    try:
        async with blocker.connect() as lock:
            await lock.execute(text("LOCK TABLE planned_stops IN EXCLUSIVE MODE"))
            procs = [_spawn(settings, url), _spawn(settings, url)]
            deadline = time.monotonic() + 60
            waiting = None
            while waiting is None and time.monotonic() < deadline:
                await asyncio.sleep(0.2)
                waiting = await _waiting_on_planned_stops(engine)
            assert waiting is not None, "no cycle reached the planned_stops write"
            # The cut transaction has moved orders and written offers, none of it committed.
            assert await _statuses(engine) == {"pending": ORDERS}
            lines = []
            for _ in range(50):
                lines = await _status_lines(procs)
                if sorted(s.split()[0] for s in lines) == ["follower", "leader"]:
                    break
            leader = next(i for i, s in enumerate(lines) if s.startswith("leader"))
            epoch = int(lines[leader].split()[1])
            procs[leader].send_signal(signal.SIGKILL)
            await asyncio.to_thread(procs[leader].wait, 10)
            # PostgreSQL ends the killed backend's transaction with its connection.
            for _ in range(100):
                if await _waiting_on_planned_stops(engine) != waiting:
                    break
                await asyncio.sleep(0.1)
            assert await consistency_problems(engine) == []
            assert await _statuses(engine) == {"pending": ORDERS}
            await lock.rollback()  # the survivor's cycles may write now

        survivor = procs[1 - leader]
        line = ""
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            line = (await asyncio.to_thread(survivor.stdout.readline)).strip()
            if line.startswith("leader"):
                break
        assert line.startswith("leader") and int(line.split()[1]) > epoch, line
        planned: dict[str, int] = {}
        for _ in range(100):
            planned = await _statuses(engine)
            if planned.get("pending", 0) == 0:
                break
            await asyncio.sleep(0.2)
        assert planned.get("pending", 0) == 0, planned   # the new leader planned them all
        assert await consistency_problems(engine) == []
        async with engine.connect() as conn:
            stops = await conn.scalar(text("SELECT count(*) FROM planned_stops"))
        assert stops > 0
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                proc.wait(timeout=10)
        await blocker.dispose()
