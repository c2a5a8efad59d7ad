"""`/ws/courier` and `/ws/dispatch` over a real socket (uvicorn, websockets-sansio) against
the test app with PostGIS and Redis: acks after commit, re-sends, pipelining, auth,
snapshot, fan-out, bbox, order updates, geofence events, and a dispatcher that never reads."""

from __future__ import annotations

import asyncio
import time

import orjson
import pytest
from sqlalchemy import text
from tracking_support import (
    InProcessServer,
    quick_actor,
    recv_json,
    send_points,
    wait_for_position,
    ws_connect,
)
from websockets.exceptions import ConnectionClosed


@pytest.fixture(scope="module")
async def server(app):
    async with InProcessServer(app) as running:
        yield running


async def stored_seqs(app, courier_id: int) -> list[int]:
    async with app.state.engine.connect() as conn:
        rows = await conn.execute(text(
            "SELECT seq FROM positions WHERE courier_id = :c ORDER BY seq"), {"c": courier_id})
        return [r[0] for r in rows]


async def test_courier_socket_acks_after_commit_and_resends_are_stored_once(server, app):
    courier = await quick_actor(app, "courier")
    t0 = time.time() - 100
    async with ws_connect(f"{server.ws_url}/ws/courier", courier.token) as ws:
        await send_points(ws, [1, 2, 3], t0=t0)
        ack = await recv_json(ws)
        assert ack == {"type": "ack", "seq": 3, "rejected": [], "accepted": 3, "duplicates": 0}
        assert await stored_seqs(app, courier.courier_id) == [1, 2, 3]
        await send_points(ws, [2, 3, 4], t0=t0)
        ack = await recv_json(ws)
        assert (ack["seq"], ack["accepted"], ack["duplicates"]) == (4, 1, 2)
    # A new connection (a reconnecting app) re-sending the same points: acked, stored once.
    async with ws_connect(f"{server.ws_url}/ws/courier?token={courier.token}") as ws:
        await send_points(ws, [3, 4], t0=t0)
        assert (await recv_json(ws))["seq"] == 4
    assert await stored_seqs(app, courier.courier_id) == [1, 2, 3, 4]


async def test_pipelined_batches_are_acked_in_order(server, app):
    courier = await quick_actor(app, "courier")
    t0 = time.time() - 200
    async with ws_connect(f"{server.ws_url}/ws/courier", courier.token) as ws:
        for first in range(1, 100, 10):
            await send_points(ws, range(first, first + 10), t0=t0)
        acks = [(await recv_json(ws))["seq"] for _ in range(10)]
    assert acks == list(range(10, 101, 10))
    assert await stored_seqs(app, courier.courier_id) == list(range(1, 101))


async def test_errors_keep_the_connection_open(server, app):
    courier = await quick_actor(app, "courier")
    async with ws_connect(f"{server.ws_url}/ws/courier", courier.token) as ws:
        await ws.send("{not json")
        assert (await recv_json(ws))["code"] == "malformed_json"
        await ws.send(orjson.dumps({"type": "hello"}).decode())
        assert (await recv_json(ws))["code"] == "unknown_message_type"
        await ws.send(orjson.dumps({"type": "ping"}).decode())
        assert (await recv_json(ws))["type"] == "pong"
        await send_points(ws, [1], t0=time.time() - 5)
        assert (await recv_json(ws))["seq"] == 1


@pytest.mark.parametrize(("path", "role", "code", "close_code"), [
    ("/ws/courier", None, "not_authenticated", 4401),
    ("/ws/courier", "dispatcher", "forbidden", 4403),
    ("/ws/dispatch", "courier", "forbidden", 4403),
    ("/ws/dispatch", "seller", "forbidden", 4403),
])
async def test_sockets_refuse_the_wrong_people(server, app, path, role, code, close_code):
    token = (await quick_actor(app, role)).token if role else None
    async with ws_connect(f"{server.ws_url}{path}", token) as ws:
        assert (await recv_json(ws))["code"] == code
        with pytest.raises(ConnectionClosed) as info:
            await ws.recv()
    assert info.value.rcvd.code == close_code


async def test_bad_token_is_refused(server):
    async with ws_connect(f"{server.ws_url}/ws/courier?token=forged") as ws:
        assert (await recv_json(ws))["code"] == "invalid_token"


async def test_dispatcher_gets_snapshot_then_positions_with_bbox(server, app):
    dispatcher = await quick_actor(app, "dispatcher")
    inside, outside = await quick_actor(app, "courier"), await quick_actor(app, "courier")
    t0 = time.time() - 50
    async with ws_connect(f"{server.ws_url}/ws/courier", inside.token) as ws:
        await send_points(ws, [1], t0=t0)
        await recv_json(ws)
    bbox = "69.0,41.0,69.5,41.5"
    async with ws_connect(f"{server.ws_url}/ws/dispatch?bbox={bbox}", dispatcher.token) as feed:
        snapshot = await recv_json(feed)
        assert snapshot["type"] == "snapshot" and isinstance(snapshot["orders"], list)
        async with ws_connect(f"{server.ws_url}/ws/courier", outside.token) as ws:
            await send_points(ws, [1], t0=t0, lat0=45.0)  # outside the box
            await recv_json(ws)
        async with ws_connect(f"{server.ws_url}/ws/courier", inside.token) as ws:
            await send_points(ws, [2], t0=t0)
            await recv_json(ws)
        seen_ids: set[int] = set()
        seen = await wait_for_position(feed, inside.courier_id, lambda c: c["ts"] == t0 + 2,
                                       seen=seen_ids)
        assert seen["lat"] == pytest.approx(41.30002) and seen["lon"] == 69.24
        assert set(seen) >= {"id", "lat", "lon", "ts", "speed", "heading"}
        assert outside.courier_id not in seen_ids


async def test_snapshot_lists_live_couriers(server, app):
    courier = await quick_actor(app, "courier")
    dispatcher = await quick_actor(app, "dispatcher")
    async with ws_connect(f"{server.ws_url}/ws/courier", courier.token) as ws:
        await send_points(ws, [1], t0=time.time() - 5)
        await recv_json(ws)
    for _ in range(100):
        async with ws_connect(f"{server.ws_url}/ws/dispatch", dispatcher.token) as feed:
            snapshot = await recv_json(feed)
        if any(c["id"] == courier.courier_id for c in snapshot["couriers"]):
            return
        await asyncio.sleep(0.05)
    pytest.fail("the courier never appeared in a snapshot")


async def test_a_dispatcher_that_never_reads_does_not_slow_ingest(server, app):
    dispatcher = await quick_actor(app, "dispatcher")
    courier = await quick_actor(app, "courier")
    t0 = time.time() - 1000
    async with ws_connect(f"{server.ws_url}/ws/dispatch", dispatcher.token,
                          max_queue=1) as feed:
        await recv_json(feed)  # the snapshot; from now on this dispatcher reads nothing
        async with ws_connect(f"{server.ws_url}/ws/courier", courier.token) as ws:
            # Every batch is acknowledged while the feed is never read: an ingest that waited
            # on the dispatcher would stall here (no wall-clock threshold: timing belongs in
            # benchmarks/tracking_bench.py).
            for first in range(1, 500, 10):
                await send_points(ws, range(first, first + 10), t0=t0)
                assert (await recv_json(ws))["seq"] == first + 9
        outboxes = list(app.state.tracking.hub._outboxes)
        assert all(o.pending() < 1000 for o in outboxes)  # bounded by couriers, not points
        seen = await wait_for_position(feed, courier.courier_id, lambda c: c["ts"] == t0 + 500,
                                       timeout=10)
        assert seen["id"] == courier.courier_id


async def make_assigned_order(client, app, courier) -> dict:
    seller = await quick_actor(app, "seller")
    dispatcher = await quick_actor(app, "dispatcher")
    body = {"external_id": f"geo-{time.time_ns()}",
            "pickup": {"lat": 41.3110, "lon": 69.2790, "address": "Amir Temur 1"},
            "dropoff": {"lat": 41.3000, "lon": 69.2400, "address": "Navoi 10"}, "size": 1}
    created = await client.post("/api/v1/orders", json=body, headers=seller.headers)
    assert created.status_code == 201, created.text
    order = created.json()
    assigned = await client.post(f"/api/v1/orders/{order['id']}/assign",
                                 json={"courier_id": courier.courier_id},
                                 headers=dispatcher.headers)
    assert assigned.status_code == 200, assigned.text
    return order


async def test_order_changes_and_geofence_events_reach_the_feed_and_the_log(server, app, client):
    dispatcher = await quick_actor(app, "dispatcher")
    courier = await quick_actor(app, "courier")
    async with ws_connect(f"{server.ws_url}/ws/dispatch", dispatcher.token) as feed:
        await recv_json(feed)
        order = await make_assigned_order(client, app, courier)
        messages: list[dict] = []
        deadline = time.monotonic() + 5
        while not any(m["type"] == "order" and m["order"]["id"] == order["id"]
                      and m["order"]["status"] == "assigned" for m in messages):
            messages.append(await recv_json(feed, timeout=deadline - time.monotonic()))
        t0 = time.time() - 60
        async with ws_connect(f"{server.ws_url}/ws/courier", courier.token) as ws:
            # 300 m north of the pickup, then 20 m from it, then away again.
            for seq, lat in ((1, 41.3137), (2, 41.3112), (3, 41.3137)):
                await ws.send(orjson.dumps({"type": "positions", "points": [
                    {"seq": seq, "lat": lat, "lon": 69.2790, "ts": t0 + seq * 20}]}).decode())
                assert (await recv_json(ws))["seq"] == seq
                await asyncio.sleep(0.15)  # let each fix be its own live round
        events = []
        deadline = time.monotonic() + 5
        while len(events) < 2:
            message = await recv_json(feed, timeout=deadline - time.monotonic())
            if message["type"] == "geofence" and message.get("order_id") == order["id"]:
                events.append(message)
    assert [(e["event"], e["kind"]) for e in events] == [("enter", "pickup"), ("exit", "pickup")]
    got = await client.get(f"/api/v1/orders/{order['id']}", headers=dispatcher.headers)
    types = [e["type"] for e in got.json()["events"]]
    assert types[-2:] == ["geofence_enter", "geofence_exit"]
    assert got.json()["status"] == "assigned"
