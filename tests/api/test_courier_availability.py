"""Courier availability over the wire: online (a courier WebSocket open, or a recent position)
against merely on shift; the planner offers new work to online couriers only and says whom it
skipped and why; offers answered over the courier WebSocket."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

import orjson
import pytest
from sqlalchemy import text
from tracking_support import InProcessServer, recv_json, ws_connect

from dispatch.offers import create_offer
from dispatch.tables import Order

API = "/api/v1"


@pytest.fixture(scope="module")
async def server(app):
    async with InProcessServer(app) as running:
        yield running


async def go_quiet(app, courier_id: int, *, minutes: float = 10) -> None:
    """The courier's last sign of life lies `minutes` back (no live fix, no connection)."""
    async with app.state.sessionmaker() as session:
        await session.execute(text("UPDATE couriers SET last_seen_at = :t WHERE id = :c"),
                              {"t": datetime.now(UTC) - timedelta(minutes=minutes),
                               "c": courier_id})
        await session.commit()
    await app.state.redis.hdel(f"{app.state.settings.redis_prefix}tracking:last",
                               str(courier_id))


async def availability(client, dispatcher, courier_id: int) -> dict:
    response = await client.get(f"{API}/couriers/{courier_id}", headers=dispatcher.headers)
    assert response.status_code == 200, response.text
    return response.json()["availability"]


async def test_a_courier_on_shift_but_silent_is_offline_and_offered_nothing(
        client, actors, app, make_order):
    dispatcher = await actors.make("dispatcher")
    present = await actors.make("courier", capacity=5)
    silent = await actors.make("courier", capacity=5)
    await go_quiet(app, silent.courier_id)
    here = await availability(client, dispatcher, present.courier_id)
    assert here["state"] == "available" and here["online"] and here["takes_new_work"]
    away = await availability(client, dispatcher, silent.courier_id)
    assert away["state"] == "offline" and not away["online"] and not away["connected"]
    assert away["age_s"] > 500 and away["last_seen_at"].endswith("Z")
    listed = (await client.get(f"{API}/couriers", headers=dispatcher.headers,
                               params={"limit": 500})).json()
    by_id = {c["id"]: c for c in listed["items"]}
    assert by_id[silent.courier_id]["availability"]["state"] == "offline"

    order = await make_order()
    response = await client.post(f"{API}/dispatch/run", json={}, headers=dispatcher.headers)
    assert response.status_code == 200, response.text
    summary = response.json()
    skipped = {c["courier_id"]: c for c in summary["skipped_couriers"]}
    assert skipped[silent.courier_id]["reason"] == "offline"
    assert skipped[silent.courier_id]["age_s"] > 500
    assert present.courier_id not in skipped
    assert all(o["courier_id"] != silent.courier_id for o in summary["offers"])
    assert any(o["order_id"] == order["id"] for o in summary["offers"])
    # Its own work is not taken away: an order assigned by hand stays with it.
    mine = await make_order()
    assigned = await client.post(f"{API}/orders/{mine['id']}/assign",
                                 json={"courier_id": silent.courier_id},
                                 headers=dispatcher.headers)
    assert assigned.status_code == 200, assigned.text
    await client.post(f"{API}/dispatch/run", json={}, headers=dispatcher.headers)
    route = (await client.get(f"{API}/couriers/{silent.courier_id}/route",
                              headers=dispatcher.headers)).json()
    assert [s["order_id"] for s in route["stops"]] == [mine["id"], mine["id"]]
    assert route["model"] in ("osrm", "straight_line")


async def test_an_open_courier_socket_counts_as_online(client, actors, app, server):
    dispatcher = await actors.make("dispatcher")
    courier = await actors.make("courier", capacity=5)
    await go_quiet(app, courier.courier_id)
    assert (await availability(client, dispatcher, courier.courier_id))["state"] == "offline"
    token = courier.headers["Authorization"].split()[1]
    async with ws_connect(f"{server.ws_url}/ws/courier", token) as ws:
        await ws.send(orjson.dumps({"type": "ping"}).decode())
        assert (await recv_json(ws))["type"] == "pong"
        state = await availability(client, dispatcher, courier.courier_id)
        assert state["state"] == "available" and state["connected"] is True
    for _ in range(50):  # the socket's presence ends with it
        if not (await availability(client, dispatcher, courier.courier_id))["connected"]:
            break
        await asyncio.sleep(0.05)
    assert (await availability(client, dispatcher, courier.courier_id))["state"] == "offline"


async def _offer(app, order_id: int, courier_id: int) -> int:
    async with app.state.sessionmaker() as session:
        order = await session.get(Order, order_id, with_for_update=True)
        offer = await create_offer(session, order=order, courier_id=courier_id,
                                   now=datetime.now(UTC), timeout_s=60, policy="test")
        await session.commit()
        return offer.id


async def test_offers_are_answered_over_the_courier_socket(client, actors, app, server,
                                                           make_order):
    courier = await actors.make("courier", capacity=5)
    token = courier.headers["Authorization"].split()[1]
    first, second = await make_order(), await make_order()
    accept_id = await _offer(app, first["id"], courier.courier_id)
    decline_id = await _offer(app, second["id"], courier.courier_id)
    async with ws_connect(f"{server.ws_url}/ws/courier", token) as ws:
        await ws.send(orjson.dumps({"type": "accept", "offer_id": accept_id}).decode())
        answer = await recv_json(ws)
        assert answer["type"] == "offer_answer" and answer["answer"] == "accept"
        assert answer["offer"]["id"] == accept_id and answer["offer"]["state"] == "accepted"
        assert answer["order"] == {"id": first["id"], "status": "assigned",
                                   "courier_id": courier.courier_id}
        await ws.send(orjson.dumps({"type": "decline", "offer_id": decline_id}).decode())
        answer = await recv_json(ws)
        assert (answer["answer"], answer["offer"]["state"]) == ("decline", "declined")
        assert answer["offer"]["expires_at"].endswith("Z")
        # The same errors as over REST, with the offer they concern.
        await ws.send(orjson.dumps({"type": "accept", "offer_id": decline_id}).decode())
        error = await recv_json(ws)
        assert error["type"] == "error" and error["offer_id"] == decline_id
        assert error["code"] == "offer_closed"
        await ws.send(orjson.dumps({"type": "accept", "offer_id": "one"}).decode())
        error = await recv_json(ws)
        assert error["code"] == "validation_error" and error["details"]["field"] == "offer_id"
        # The socket still carries positions afterwards.
        await ws.send(orjson.dumps({"type": "positions", "points": [
            {"seq": 1, "lat": 41.311, "lon": 69.279, "ts": time.time() - 1}]}).decode())
        assert (await recv_json(ws))["type"] == "ack"
    order = (await client.get(f"{API}/orders/{first['id']}", headers=courier.headers)).json()
    assert order["status"] == "assigned" and order["courier_id"] == courier.courier_id


async def test_an_unknown_message_type_is_answered_with_what_the_socket_accepts(actors, server):
    courier = await actors.make("courier")
    token = courier.headers["Authorization"].split()[1]
    async with ws_connect(f"{server.ws_url}/ws/courier", token) as ws:
        await ws.send(orjson.dumps({"type": "hello"}).decode())
        error = await recv_json(ws)
        assert error["type"] == "error" and error["code"] == "unknown_message_type"
        assert error["details"] == {"type": "hello",
                                    "accepted": ["positions", "ping", "accept", "decline"]}
