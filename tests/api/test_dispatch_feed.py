"""What the dispatcher console relies on in `/ws/dispatch`: a snapshot of every courier on
shift (with or without a live fix), one shape per message type, courier shift changes, failed
offers, refused handoff scans, and the fleet's stored tracks for replay."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from tracking_support import InProcessServer, quick_actor, recv_json, send_points, ws_connect

from api.handoff_refusals import refusal_message
from dispatch.tables import Order, OrderEvent

POSITION_KEYS = {"id", "lat", "lon", "ts", "speed", "heading", "acc", "stale"}
SNAPSHOT_COURIER_KEYS = POSITION_KEYS | {"name", "vehicle", "shift_state", "age_s"}


@pytest.fixture(scope="module")
async def server(app):
    async with InProcessServer(app) as running:
        yield running


async def next_message(feed, predicate, timeout: float = 5.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("no such message on the feed")
        message = await recv_json(feed, timeout=left)
        if predicate(message):
            return message


async def test_snapshot_lists_every_courier_on_shift_even_without_a_live_fix(server, app,
                                                                            client):
    dispatcher = await quick_actor(app, "dispatcher")
    silent = await quick_actor(app, "courier")  # on shift, never sent a fix
    live = await quick_actor(app, "courier")
    gone = await quick_actor(app, "courier")
    t0 = time.time()  # newer than the shift start's position
    for courier in (live, gone):
        async with ws_connect(f"{server.ws_url}/ws/courier", courier.token) as ws:
            await send_points(ws, [1], t0=t0)
            await recv_json(ws)
    ended = await client.post(f"/api/v1/couriers/{gone.courier_id}/shift",
                              json={"action": "end"}, headers=dispatcher.headers)
    assert ended.status_code == 200, ended.text
    await asyncio.sleep(0.2)  # the live view takes the fixes in its next round
    async with ws_connect(f"{server.ws_url}/ws/dispatch", dispatcher.token) as feed:
        snapshot = await recv_json(feed)
    by_id = {c["id"]: c for c in snapshot["couriers"]}
    assert all(set(c) == SNAPSHOT_COURIER_KEYS for c in snapshot["couriers"])
    assert gone.courier_id not in by_id
    quiet = by_id[silent.courier_id]
    assert (quiet["lat"], quiet["lon"]) == (pytest.approx(41.311), pytest.approx(69.279))
    assert quiet["shift_state"] == "on" and quiet["vehicle"] == "bicycle"
    assert 0 <= quiet["age_s"] < 60 and quiet["stale"] is False
    moving = by_id[live.courier_id]
    assert moving["ts"] == pytest.approx(t0 + 1) and moving["lat"] == pytest.approx(41.30001)
    assert moving["age_s"] < 5
    assert snapshot["server_time"].endswith("Z") and isinstance(snapshot["server_time_s"], float)


async def test_positions_and_orders_each_come_in_one_shape(server, app, client):
    dispatcher = await quick_actor(app, "dispatcher")
    courier = await quick_actor(app, "courier")
    seller = await quick_actor(app, "seller")
    async with ws_connect(f"{server.ws_url}/ws/dispatch", dispatcher.token) as feed:
        await recv_json(feed)
        async with ws_connect(f"{server.ws_url}/ws/courier", courier.token) as ws:
            await send_points(ws, [1], t0=time.time() - 5)
            await recv_json(ws)
        positions = await next_message(feed, lambda m: m["type"] == "positions" and any(
            c["id"] == courier.courier_id for c in m["couriers"]))
        assert all(set(c) == POSITION_KEYS for c in positions["couriers"])

        created = await client.post("/api/v1/orders", headers=seller.headers, json={
            "external_id": f"shape-{time.time_ns()}", "size": 1,
            "pickup": {"lat": 41.311, "lon": 69.279}, "dropoff": {"lat": 41.30, "lon": 69.24}})
        assert created.status_code == 201, created.text
        order_id = created.json()["id"]
        full = await next_message(feed, lambda m: m["type"] == "order"
                                  and m["order"]["id"] == order_id)
        reference = set(full["order"])
        assert {"pickup", "dropoff", "status", "external_id", "courier_id"} <= reference
        # A commit whose order is not fully loaded (an expired attribute) is read again.
        async with app.state.sessionmaker() as session:
            order = (await session.scalars(select(Order).where(Order.id == order_id))).one()
            session.expire(order, ["pickup_address"])
            order.size = 2
            await session.commit()
        again = await next_message(feed, lambda m: m["type"] == "order"
                                   and m["order"]["id"] == order_id and m["order"]["size"] == 2)
        assert set(again["order"]) == reference


async def test_shift_changes_and_failed_offers_reach_the_feed(server, app, client):
    dispatcher = await quick_actor(app, "dispatcher")
    courier = await quick_actor(app, "courier")
    seller = await quick_actor(app, "seller")
    created = await client.post("/api/v1/orders", headers=seller.headers, json={
        "external_id": f"offer-{time.time_ns()}", "size": 1,
        "pickup": {"lat": 41.311, "lon": 69.279}, "dropoff": {"lat": 41.30, "lon": 69.24}})
    order_id = created.json()["id"]
    async with ws_connect(f"{server.ws_url}/ws/dispatch", dispatcher.token) as feed:
        await recv_json(feed)
        ended = await client.post(f"/api/v1/couriers/{courier.courier_id}/shift",
                                  json={"action": "end"}, headers=dispatcher.headers)
        assert ended.status_code == 200
        change = await next_message(feed, lambda m: m["type"] == "courier"
                                    and m["courier"]["id"] == courier.courier_id)
        assert change["courier"]["shift_state"] == "off"
        assert set(change["courier"]) == {"id", "name", "vehicle", "shift_state"}
        async with app.state.sessionmaker() as session:
            session.add(OrderEvent(order_id=order_id, type="offer_expired", from_status="offered",
                                   to_status="pending", courier_id=courier.courier_id,
                                   at=datetime.now(UTC), details={"offer_id": 1}))
            await session.commit()
        event = await next_message(feed, lambda m: m["type"] == "order_event"
                                   and m["event"]["order_id"] == order_id)
    assert event["event"]["type"] == "offer_expired"
    assert event["event"]["courier_id"] == courier.courier_id
    assert set(event["event"]) == {"order_id", "type", "at", "courier_id", "details"}


async def test_refused_handoff_scans_are_told_to_dispatchers(server, app, client):
    dispatcher = await quick_actor(app, "dispatcher")
    courier = await quick_actor(app, "courier")
    async with ws_connect(f"{server.ws_url}/ws/dispatch", dispatcher.token) as feed:
        await recv_json(feed)
        refused = await client.post("/api/v1/handoffs/scan", headers=courier.headers, json={
            "token": "not.a-real.token", "lat": 41.3, "lon": 69.24, "order_id": 77,
            "leg": "pickup"})
        assert 400 <= refused.status_code < 500
        code = refused.json()["error"]["code"]
        alert = await next_message(feed, lambda m: m["type"] == "handoff_refused"
                                   and m["courier_id"] == courier.courier_id)
        typed = await client.post("/api/v1/handoffs/code", headers=courier.headers, json={
            "order_id": 987654, "leg": "dropoff", "code": "123456", "lat": 41.3, "lon": 69.24})
        assert 400 <= typed.status_code < 500
        second = await next_message(feed, lambda m: m["type"] == "handoff_refused"
                                    and m["endpoint"] == "code"
                                    and m["courier_id"] == courier.courier_id)
    assert alert["code"] == code and (alert["order_id"], alert["leg"]) == (77, "pickup")
    assert alert["at"].endswith("Z") and alert["at_s"] == pytest.approx(time.time(), abs=30)
    assert second["code"] == typed.json()["error"]["code"] and second["order_id"] == 987654


def test_a_refusal_names_the_order_of_an_unverified_token():
    import base64

    import orjson

    payload = base64.urlsafe_b64encode(orjson.dumps({"o": 12, "l": "d"})).rstrip(b"=").decode()
    message = refusal_message(code="handoff_token_expired", endpoint="scan", courier_id=3,
                              at_s=1.0, token=f"e30.{payload}.sig")
    assert (message["order_id"], message["leg"]) == (12, "dropoff")
    assert refusal_message(code="x", endpoint="scan", courier_id=None, at_s=1.0,
                           token="garbage")["order_id"] is None


async def test_history_gives_the_fleet_tracks_thinned_and_bounded(server, app, client):
    dispatcher = await quick_actor(app, "dispatcher")
    first, second = await quick_actor(app, "courier"), await quick_actor(app, "courier")
    t0 = float(int(time.time() // 5) * 5 - 600)  # steps start on multiples of 5 s
    for courier in (first, second):
        async with ws_connect(f"{server.ws_url}/ws/courier", courier.token) as ws:
            await send_points(ws, range(1, 21), t0=t0)  # one fix a second for 20 s
            assert (await recv_json(ws))["seq"] == 20
    params = {"from": t0, "to": t0 + 30, "step_s": 5}
    both = [("courier_id", first.courier_id), ("courier_id", second.courier_id)]
    got = await client.get("/api/v1/tracking/history", headers=dispatcher.headers,
                           params=[*params.items(), *both])
    assert got.status_code == 200, got.text
    body = got.json()
    assert [c["id"] for c in body["couriers"]] == sorted([first.courier_id, second.courier_id])
    points = body["couriers"][0]["points"]
    assert [p[0] for p in points] == [t0 + 4, t0 + 9, t0 + 14, t0 + 19, t0 + 20]
    assert points[0][1:3] == [pytest.approx(41.30004), pytest.approx(69.24)]
    assert body["points"] == 10 and body["truncated"] is False
    capped = (await client.get("/api/v1/tracking/history", headers=dispatcher.headers,
                               params=[*params.items(), ("limit", 3), *both])).json()
    assert capped["points"] == 3 and capped["truncated"] is True
    one = (await client.get("/api/v1/tracking/history", headers=dispatcher.headers, params={
        **params, "courier_id": second.courier_id})).json()
    assert [c["id"] for c in one["couriers"]] == [second.courier_id]
    too_long = await client.get("/api/v1/tracking/history", headers=dispatcher.headers,
                                params={"from": t0 - 90_000, "to": t0})
    assert too_long.status_code == 422
    assert too_long.json()["error"]["code"] == "invalid_time_range"
    forbidden = await client.get("/api/v1/tracking/history", headers=first.headers)
    assert forbidden.status_code == 403
