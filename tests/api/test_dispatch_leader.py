"""One planner across workers: advisory-lock leadership, fencing, serialised cycles."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time

import pytest
from order_support import LEADER_WORKER
from sqlalchemy import text

from api.database import make_engine, make_sessionmaker
from dispatch.leader import AdvisoryLeader, DispatchBusy, NotLeader, check_fence, cycle_lock
from tests.conftest import PROJECT_ROOT


async def test_one_leader_and_a_dead_one_is_replaced_with_a_new_epoch(settings):
    engines = [make_engine(settings.database_url, pool_size=2) for _ in range(2)]
    a, b = (AdvisoryLeader(e, holder=name) for e, name in zip(engines, "ab", strict=True))
    try:
        assert await a.try_acquire()
        assert not await b.try_acquire()
        assert await a.try_acquire() and a.leading and not b.leading
        first_epoch = a.epoch

        # The leader's process dies: its connection goes, PostgreSQL drops the lock -- once
        # the server has noticed, which on a loaded machine takes a moment: b keeps trying, as
        # a follower does every retry_s.
        await a._conn.invalidate()
        assert not await a.check()
        for _ in range(100):
            if await b.try_acquire():
                break
            await asyncio.sleep(0.05)
        assert b.leading
        assert b.epoch == first_epoch + 1

        session = make_sessionmaker(engines[1])()
        async with session:
            await check_fence(session, epoch=b.epoch)
            with pytest.raises(NotLeader):
                await check_fence(session, epoch=first_epoch)
            holder = await session.scalar(text("SELECT holder FROM dispatch_leadership"))
        assert holder == "b"
    finally:
        await b.release()
        await a.release()
        for engine in engines:
            await engine.dispose()


async def test_cycles_are_serialised(settings):
    engine = make_engine(settings.database_url, pool_size=3)
    try:
        async with cycle_lock(engine, timeout_s=1.0):
            with pytest.raises(DispatchBusy):
                async with cycle_lock(engine, timeout_s=0.2):
                    pass
        async with cycle_lock(engine, timeout_s=0.2):
            pass
    finally:
        await engine.dispose()


def _spawn(settings) -> subprocess.Popen:
    env = {**os.environ, "COURIER_MODE": "test", "DATABASE_URL": settings.database_url,
           "REDIS_URL": settings.redis_url, "COURIER_REDIS_PREFIX": settings.redis_prefix,
           "COURIER_DATA_DIR": str(settings.data_dir), "COURIER_NETWORK": "none",
           "COURIER_DISPATCH_LOOP": "1", "COURIER_DISPATCH_INTERVAL_S": "0.5",
           "COURIER_DISPATCH_LEADER_RETRY_S": "0.2", "COURIER_DISPATCH_SOLVER_TIME_S": "0.1"}
    return subprocess.Popen([sys.executable, "-c", LEADER_WORKER], cwd=PROJECT_ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)


async def _last_line(proc: subprocess.Popen) -> str:
    return await asyncio.to_thread(proc.stdout.readline)


async def _wait_for_lines(procs, predicate, timeout_s: float) -> dict[int, str]:
    """Reads status lines until `predicate(latest)` holds; latest maps proc index -> line."""
    latest: dict[int, str] = {}
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        lines = await asyncio.gather(*(_last_line(p) for p in procs))
        for i, line in enumerate(lines):
            latest[i] = line.strip()
        if predicate(latest):
            return latest
    raise AssertionError(f"no agreement in {timeout_s}s: {latest}")


@pytest.mark.slow
async def test_two_worker_processes_elect_one_planner_and_the_survivor_takes_over(settings):
    procs = [_spawn(settings), _spawn(settings)]
    try:
        both = await _wait_for_lines(
            procs, lambda s: len(s) == 2 and sorted(v.split()[0] for v in s.values())
            == ["follower", "leader"], timeout_s=30)
        leader_index = next(i for i, v in both.items() if v.startswith("leader"))
        epoch = int(both[leader_index].split()[1])
        # Stays that way for a while: never two leaders.
        for _ in range(5):
            again = await _wait_for_lines(procs, lambda s: len(s) == 2, timeout_s=5)
            assert sorted(v.split()[0] for v in again.values()) == ["follower", "leader"]
        procs[leader_index].send_signal(signal.SIGKILL)
        procs[leader_index].wait(timeout=5)
        survivor = procs[1 - leader_index]
        deadline = time.monotonic() + 15
        line = ""
        while time.monotonic() < deadline:
            line = (await _last_line(survivor)).strip()
            if line.startswith("leader"):
                break
        assert line.startswith("leader"), line
        assert int(line.split()[1]) > epoch
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                proc.wait(timeout=5)


async def test_a_new_order_wakes_the_leader_which_plans_it(app, client, actors, make_order,
                                                          settings, quiet_city):
    """The background loop (off in tests by default), switched on for one runtime: the order
    router's trigger reaches it over Redis and a cycle offers the order long before the
    30 s timer would. The runtime's own watcher, which would also notice the new order,
    polls only once an hour here: the Redis trigger alone wakes it."""
    from api.dispatch_runtime import DispatchRuntime

    looped = settings.model_copy(update={"dispatch_loop": True, "dispatch_interval_s": 30.0,
                                         "dispatch_debounce_s": 0.1,
                                         "dispatch_watch_s": 3600.0,
                                         "dispatch_solver_time_s": 0.2})
    runtime = DispatchRuntime(looped, state=app.state, engine=app.state.engine,
                              sessionmaker=app.state.sessionmaker, redis=app.state.redis)
    await actors.make("courier")
    await runtime.start()
    try:
        deadline = time.monotonic() + 10
        while not runtime.leader.leading and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        assert runtime.leader.leading
        await asyncio.sleep(0.3)  # the leader's first cycle (timer start) settles
        order = await make_order()
        while time.monotonic() < deadline:
            body = (await client.get(f"/api/v1/orders/{order['id']}",
                                     headers=(await actors.make("dispatcher")).headers)).json()
            if body["status"] == "offered":
                break
            await asyncio.sleep(0.2)
        assert body["status"] == "offered"
        assert runtime.last_summary is not None
    finally:
        await runtime.stop()
    assert not runtime.leader.leading
