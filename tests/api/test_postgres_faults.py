"""PostgreSQL going away and coming back (slow): a private cluster is stopped and started under
a running service.

* During GPS ingest: batches the database could not take are answered `service_unavailable`
  (never acknowledged); the app sends them again, and in the end every acknowledged point is
  stored exactly once. `/readyz` says 503 while the database is down and 200 again by itself.
* During a planning cycle: the cycle fails as a whole (503), leaving no order half-planned —
  each order's status is the last status of its own log, and offers match orders — and the
  next cycle, once the database is back, plans as usual.
"""

from __future__ import annotations

import asyncio
import time
import uuid

import httpx
import pytest
from order_support import consistency_problems
from postgres_support import PrivatePostgres
from sqlalchemy import text
from tracking_support import InProcessServer, quick_actor, recv_json, ws_connect

from api.app import create_app
from api.database import upgrade
from tests.conftest import INSIDE, INSIDE_2, TEST_ZONE

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
async def cluster():
    postgres = PrivatePostgres().init()
    postgres.start()
    try:
        url = postgres.create_database("courier_faults")
        await asyncio.to_thread(upgrade, url)
        yield postgres, url
    finally:
        postgres.destroy()


@pytest.fixture(scope="module")
async def service(cluster, settings):
    postgres, url = cluster
    app = create_app(settings.model_copy(update={
        "database_url": url, "redis_prefix": f"test-pg-{uuid.uuid4().hex[:8]}:"}))
    async with app.router.lifespan_context(app), InProcessServer(app) as server:
        from geodata.zones import create_zone

        async with app.state.sessionmaker() as session:
            await create_zone(session, name="fault-city", geometry=TEST_ZONE)
            await session.commit()
        yield postgres, app, server


async def _ready(server) -> int:
    async with httpx.AsyncClient() as http:
        return (await http.get(f"http://127.0.0.1:{server.port}/readyz", timeout=10)).status_code


async def _send(ws, seq: int, t0: float) -> None:
    await ws.send(f'{{"type": "positions", "points": [{{"seq": {seq}, "lat": 41.311, '
                  f'"lon": 69.279, "ts": {t0 + seq}, "acc": 5}}]}}')


async def test_ingest_survives_a_database_restart_and_loses_no_acknowledged_point(service):
    postgres, app, server = service
    courier = await quick_actor(app, "courier")
    t0 = time.time() - 600
    acked: set[int] = set()
    refused = 0
    async with ws_connect(f"{server.ws_url}/ws/courier", courier.token) as ws:
        for seq in range(1, 6):
            await _send(ws, seq, t0)
            reply = await recv_json(ws, timeout=20)
            assert reply["type"] == "ack", reply
            acked.add(seq)
        await asyncio.to_thread(postgres.stop, "fast")
        assert await _ready(server) == 503
        pending = list(range(6, 16))
        for seq in pending[:4]:  # the database is down: nothing is acknowledged
            await _send(ws, seq, t0)
            reply = await recv_json(ws, timeout=30)
            assert reply["type"] == "error" and reply["code"] == "service_unavailable", reply
            refused += 1
        await asyncio.to_thread(postgres.start)
        deadline = time.monotonic() + 60
        while pending and time.monotonic() < deadline:  # the app's retry loop
            seq = pending[0]
            await _send(ws, seq, t0)
            reply = await recv_json(ws, timeout=30)
            if reply["type"] == "ack":
                acked.add(seq)
                pending.pop(0)
            else:
                assert reply["code"] == "service_unavailable", reply
                await asyncio.sleep(0.5)
        # a re-send of points already stored is acknowledged and stored once
        await _send(ws, 3, t0)
        assert (await recv_json(ws, timeout=20))["duplicates"] == 1
    assert refused == 4 and not pending
    assert await _ready(server) == 200
    async with app.state.engine.connect() as conn:
        rows = (await conn.execute(text("SELECT seq FROM positions WHERE courier_id = :c"),
                                   {"c": courier.courier_id})).scalars().all()
    assert sorted(rows) == sorted(acked) == list(range(1, 16))


async def test_a_cycle_cut_by_a_database_restart_leaves_nothing_half_applied(service):
    postgres, app, server = service
    dispatcher = await quick_actor(app, "dispatcher")
    seller = await quick_actor(app, "seller")
    for _ in range(3):
        await quick_actor(app, "courier")
    headers = {"Authorization": f"Bearer {dispatcher.token}"}
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}/api/v1",
                                 timeout=60) as http:
        for i in range(12):
            made = await http.post("/orders", headers={"Authorization": f"Bearer {seller.token}"},
                                   json={"pickup": INSIDE, "dropoff": INSIDE_2, "size": 1,
                                         "external_id": f"fault-{uuid.uuid4().hex[:8]}-{i}"})
            assert made.status_code == 201, made.text
        assert await consistency_problems(app.state.engine) == []
        cycle = asyncio.create_task(http.post("/dispatch/run", headers=headers, json={}))
        await asyncio.sleep(0.3)  # inside the cycle: loading, solving or applying
        await asyncio.to_thread(postgres.stop, "fast")
        answer = await cycle
        assert answer.status_code in (200, 503), answer.text  # never a 500
        await asyncio.to_thread(postgres.start)
        for _ in range(60):
            if await _ready(server) == 200:
                break
            await asyncio.sleep(0.5)
        assert await consistency_problems(app.state.engine) == []
        again = None
        for _ in range(10):  # the first use of a pooled connection may meet the old server
            again = await http.post("/dispatch/run", headers=headers, json={})
            if again.status_code == 200:
                break
            assert again.status_code == 503, again.text
            await asyncio.sleep(0.5)
        assert again.status_code == 200, again.text
        assert again.json()["offers_made"] + len(again.json()["offers"]) > 0
    assert await consistency_problems(app.state.engine) == []
