"""Buyer tracking links over the wire: who may hand them out and revoke them, what the public
view shows (and hides: the courier only while this drop-off is its next stop), expiry,
revocation seen by a live socket, the live socket following status and position, and the
messages in the buyer's language."""

from __future__ import annotations

import asyncio
import base64
import time
from datetime import UTC, datetime, timedelta

import orjson
import pytest
from sqlalchemy import text
from tracking_support import InProcessServer, quick_actor, recv_json, ws_connect
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from dispatch.tracking_links import TrackingLinkClaims, sign_tracking_token, tracking_link_key

PICKUP = {"lat": 41.3110, "lon": 69.2790, "address": "Amir Temur 1"}
DROPOFF = {"lat": 41.3000, "lon": 69.2400, "address": "Navoi 10"}


@pytest.fixture(autouse=True)
async def _leave_no_open_work(app):
    """Planning tests weigh every open order: ours are closed and our couriers sent home."""
    started = datetime.now(UTC)
    yield
    async with app.state.engine.begin() as conn:
        await conn.execute(text(
            "UPDATE orders SET status = 'delivered' WHERE created_at >= :t "
            "AND status IN ('picked_up', 'at_dropoff')"), {"t": started})
        await conn.execute(text(
            "UPDATE orders SET status = 'cancelled', courier_id = NULL WHERE created_at >= :t "
            "AND status IN ('pending', 'offered', 'assigned')"), {"t": started})
        await conn.execute(text(
            "UPDATE couriers SET shift_state = 'off' WHERE created_at >= :t"), {"t": started})


@pytest.fixture(scope="module")
async def server(app):
    async with InProcessServer(app) as running:
        yield running


async def new_order(client, app, *, buyer=None, seller=None) -> tuple[dict, object]:
    seller = seller or await quick_actor(app, "seller")
    body = {"external_id": f"trk-{time.time_ns()}", "pickup": PICKUP,
            "dropoff": {**DROPOFF, "lat": DROPOFF["lat"] + (time.time_ns() % 1000) * 1e-6},
            "size": 1}
    if buyer is not None:
        body["buyer_id"] = buyer.id
    created = await client.post("/api/v1/orders", json=body, headers=seller.headers)
    assert created.status_code == 201, created.text
    return created.json(), seller


async def link_for(client, order_id: int, actor) -> dict:
    response = await client.post(f"/api/v1/orders/{order_id}/tracking-link",
                                 headers=actor.headers)
    assert response.status_code == 201, response.text
    return response.json()


async def carrying(app, courier_id: int, order_ids: list[int], next_first: list[int]) -> None:
    """Puts the orders on the courier's bike (picked up) with drop-offs planned in the given
    order, as a handoff scan and a planning cycle would leave them."""
    async with app.state.engine.begin() as conn:
        await conn.execute(text(
            "UPDATE orders SET status = 'picked_up', courier_id = :c WHERE id = ANY(:ids)"),
            {"c": courier_id, "ids": order_ids})
        await plan(conn, courier_id, next_first)


async def plan(conn, courier_id: int, order_ids: list[int]) -> None:
    await conn.execute(text("DELETE FROM planned_stops WHERE courier_id = :c"),
                       {"c": courier_id})
    for seq, order_id in enumerate(order_ids):
        await conn.execute(text(
            "INSERT INTO planned_stops (courier_id, seq, order_id, kind, lat, lon, eta, "
            "planned_at) SELECT :c, :s, id, 'dropoff', ST_Y(dropoff_location::geometry), "
            "ST_X(dropoff_location::geometry), now() + interval '10 minutes', now() "
            "FROM orders WHERE id = :o"), {"c": courier_id, "s": seq, "o": order_id})


async def put_live_position(app, courier_id: int, lat: float, lon: float) -> None:
    settings = app.state.settings
    body = {"id": courier_id, "lat": lat, "lon": lon, "ts": time.time(), "speed": 4.2,
            "heading": 90.0, "acc": 5.0}
    await app.state.redis.hset(f"{settings.redis_prefix}tracking:last", str(courier_id),
                               orjson.dumps(body))


def token_path(link: dict) -> str:
    return f"/api/v1/public/track/{link['token']}"


async def test_sellers_buyers_and_staff_hand_out_links(client, app):
    buyer = await quick_actor(app, "buyer")
    order, seller = await new_order(client, app, buyer=buyer)
    before = datetime.now(UTC)
    link = await link_for(client, order["id"], seller)
    assert link["url"] == f"http://test/t/{link['token']}"
    assert link["expires_at"].endswith("Z")
    expires = datetime.fromisoformat(link["expires_at"])
    assert timedelta(seconds=172_790) < expires - before < timedelta(seconds=172_810)
    assert (await link_for(client, order["id"], buyer))["token"] != link["token"]
    await link_for(client, order["id"], await quick_actor(app, "dispatcher"))
    await link_for(client, order["id"], await quick_actor(app, "admin"))
    for role, status in (("seller", 404), ("buyer", 404), ("courier", 403)):
        stranger = await quick_actor(app, role)
        refused = await client.post(f"/api/v1/orders/{order['id']}/tracking-link",
                                    headers=stranger.headers)
        assert refused.status_code == status, (role, refused.text)
        revoke = await client.delete(f"/api/v1/orders/{order['id']}/tracking-links",
                                     headers=stranger.headers)
        assert revoke.status_code == status
    anonymous = await client.post(f"/api/v1/orders/{order['id']}/tracking-link")
    assert anonymous.status_code == 401


async def test_the_public_view_of_a_waiting_order(client, app):
    order, seller = await new_order(client, app)
    link = await link_for(client, order["id"], seller)
    response = await client.get(token_path(link))  # no login
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert set(body) == {"order", "courier", "expires_at"}
    assert body["courier"] is None and body["expires_at"] == link["expires_at"]
    assert set(body["order"]) == {"id", "external_id", "status", "pickup_eta", "dropoff_eta",
                                  "dropoff", "updated_at"}
    assert body["order"]["status"] == "pending"
    assert body["order"]["dropoff"]["address"] == "Navoi 10"
    assert "pickup" not in body["order"] and "courier_id" not in body["order"]


async def test_the_courier_shows_only_once_this_dropoff_is_next(client, app):
    courier = await quick_actor(app, "courier")
    first, seller = await new_order(client, app)
    mine, _ = await new_order(client, app, seller=seller)
    link = await link_for(client, mine["id"], seller)
    await put_live_position(app, courier.courier_id, 41.305, 69.25)

    # Assigned, not picked up: no courier, whatever the plan says.
    async with app.state.engine.begin() as conn:
        await conn.execute(text("UPDATE orders SET status = 'assigned', courier_id = :c "
                                "WHERE id = :o"), {"c": courier.courier_id, "o": mine["id"]})
        await plan(conn, courier.courier_id, [mine["id"]])
    assert (await client.get(token_path(link))).json()["courier"] is None

    # On board, but another buyer's drop-off comes first: still hidden.
    await carrying(app, courier.courier_id, [first["id"], mine["id"]],
                   next_first=[first["id"], mine["id"]])
    hidden = (await client.get(token_path(link))).json()
    assert hidden["order"]["status"] == "picked_up" and hidden["courier"] is None
    assert hidden["order"]["dropoff_eta"] is None or "T" in hidden["order"]["dropoff_eta"]

    # The other parcel delivered (its stop dropped from the plan): now we are next.
    async with app.state.engine.begin() as conn:
        await plan(conn, courier.courier_id, [mine["id"]])
    shown = (await client.get(token_path(link))).json()["courier"]
    assert shown == {"lat": 41.305, "lon": 69.25, "heading": 90.0, "speed": 4.2,
                     "ts": pytest.approx(time.time(), abs=30), "vehicle": "bicycle"}

    # Without a live position, the stored last position stands in.
    await app.state.redis.hdel(f"{app.state.settings.redis_prefix}tracking:last",
                               str(courier.courier_id))
    stored = (await client.get(token_path(link))).json()["courier"]
    assert stored["lat"] == pytest.approx(41.311) and stored["lon"] == pytest.approx(69.279)


async def test_bad_expired_and_revoked_links(client, app):
    order, seller = await new_order(client, app)
    link = await link_for(client, order["id"], seller)
    settings = app.state.settings
    key = tracking_link_key(settings.secret_key)
    link_id = orjson.loads(base64.urlsafe_b64decode(link["token"].split(".")[1] + "==="))["l"]
    cases = {
        "garbage": "not-a-token",
        "tampered": link["token"][:-2] + ("AA" if not link["token"].endswith("AA") else "BB"),
        "other key": sign_tracking_token(TrackingLinkClaims(order["id"], link_id,
                                                            int(time.time()) + 600),
                                         key=tracking_link_key("x" * 40)),
        "other order": sign_tracking_token(TrackingLinkClaims(order["id"] + 1, link_id,
                                                              int(time.time()) + 600), key=key),
        "unknown link": sign_tracking_token(TrackingLinkClaims(order["id"], 10**9,
                                                               int(time.time()) + 600), key=key),
    }
    for name, token in cases.items():
        response = await client.get(f"/api/v1/public/track/{token}")
        assert response.status_code == 404, name
        assert response.json()["error"]["code"] == "tracking_link_invalid", name
    expired = sign_tracking_token(TrackingLinkClaims(order["id"], link_id,
                                                     int(time.time()) - 1), key=key)
    gone = await client.get(f"/api/v1/public/track/{expired}",
                            headers={"Accept-Language": "ru"})
    assert gone.status_code == 410
    error = gone.json()["error"]
    assert error["code"] == "tracking_link_expired"
    assert error["message"] == "Срок действия этой ссылки для отслеживания истёк."

    revoked = await client.delete(f"/api/v1/orders/{order['id']}/tracking-links",
                                  headers=seller.headers)
    assert revoked.status_code == 204 and revoked.content == b""
    after = await client.get(token_path(link), headers={"Accept-Language": "uz, en;q=0.5"})
    assert after.status_code == 410
    assert after.json()["error"]["code"] == "tracking_link_revoked"
    assert after.json()["error"]["message"] == "Bu kuzatuv havolasi bekor qilingan."
    fresh = await link_for(client, order["id"], seller)  # a new link works again
    assert (await client.get(token_path(fresh))).status_code == 200


async def test_the_live_socket_follows_status_and_position(server, client, app):
    courier = await quick_actor(app, "courier")
    dispatcher = await quick_actor(app, "dispatcher")
    other, seller = await new_order(client, app)
    mine, _ = await new_order(client, app, seller=seller)
    link = await link_for(client, mine["id"], seller)
    url = f"{server.ws_url}/ws/track/{link['token']}"
    async with ws_connect(url) as ws:
        first = await recv_json(ws)
        assert first["type"] == "track" and first["order"]["status"] == "pending"
        assert first["courier"] is None and first["expires_at"] == link["expires_at"]
        assigned = await client.post(f"/api/v1/orders/{mine['id']}/assign",
                                     json={"courier_id": courier.courier_id},
                                     headers=dispatcher.headers)
        assert assigned.status_code == 200
        update = await recv_json(ws, timeout=5)
        assert update["order"]["status"] == "assigned" and update["courier"] is None

        # Both parcels on board, the other buyer first: positions do not leak.
        await carrying(app, courier.courier_id, [other["id"], mine["id"]],
                       next_first=[other["id"], mine["id"]])
        await put_live_position(app, courier.courier_id, 41.302, 69.245)
        channel = f"{app.state.settings.redis_prefix}courier-messages:{courier.courier_id}"
        await app.state.redis.publish(channel, orjson.dumps({"type": "route"}))
        update = await recv_json(ws, timeout=5)
        assert update["order"]["status"] == "picked_up" and update["courier"] is None

        # The plan puts this drop-off next (as the planner does, with a route push).
        async with app.state.engine.begin() as conn:
            await plan(conn, courier.courier_id, [mine["id"], other["id"]])
        await app.state.redis.publish(channel, orjson.dumps({"type": "route"}))
        update = await recv_json(ws, timeout=5)
        assert update["courier"]["lat"] == 41.302 and update["courier"]["vehicle"] == "bicycle"

        # The courier moves: the feed drives a new message, at most one a second.
        started = time.monotonic()
        async with ws_connect(f"{server.ws_url}/ws/courier", courier.token) as courier_ws:
            await courier_ws.send(orjson.dumps({"type": "positions", "points": [
                {"seq": 1, "lat": 41.3015, "lon": 69.2441, "ts": time.time(), "acc": 5,
                 "speed": 5.0, "heading": 180.0}]}).decode())
            assert (await recv_json(courier_ws))["seq"] == 1
            update = await recv_json(ws, timeout=5)
        assert update["courier"]["lat"] == pytest.approx(41.3015)
        assert update["courier"]["heading"] == 180.0
        assert time.monotonic() - started < 5

        await ws.send(orjson.dumps({"type": "ping"}).decode())
        assert (await recv_json(ws, timeout=3))["type"] == "pong"


async def test_a_live_socket_is_told_when_its_link_is_revoked(server, client, app):
    order, seller = await new_order(client, app)
    link = await link_for(client, order["id"], seller)
    async with connect(f"{server.ws_url}/ws/track/{link['token']}", open_timeout=10,
                       additional_headers={"Accept-Language": "ru"}) as ws:
        assert (await recv_json(ws))["type"] == "track"
        await asyncio.sleep(0.1)
        revoked = await client.delete(f"/api/v1/orders/{order['id']}/tracking-links",
                                      headers=seller.headers)
        assert revoked.status_code == 204
        message = await recv_json(ws, timeout=5)
        assert message == {"type": "error", "code": "tracking_link_revoked",
                           "message": "Эта ссылка для отслеживания отозвана."}
        with pytest.raises(ConnectionClosed) as closed:
            await ws.recv()
    assert closed.value.rcvd.code == 4410


async def test_a_live_socket_ends_when_its_link_expires(server, client, app):
    order, seller = await new_order(client, app)
    link = await link_for(client, order["id"], seller)
    key = tracking_link_key(app.state.settings.secret_key)
    soon = int(time.time()) + 2
    async with app.state.engine.begin() as conn:
        link_id = (await conn.execute(text(
            "INSERT INTO tracking_links (order_id, expires_at) VALUES (:o, to_timestamp(:e)) "
            "RETURNING id"), {"o": order["id"], "e": soon})).scalar_one()
    token = sign_tracking_token(TrackingLinkClaims(order["id"], link_id, soon), key=key)
    async with ws_connect(f"{server.ws_url}/ws/track/{token}") as ws:
        assert (await recv_json(ws))["type"] == "track"
        message = await recv_json(ws, timeout=6)
        assert message["code"] == "tracking_link_expired"
        with pytest.raises(ConnectionClosed) as closed:
            await ws.recv()
    assert closed.value.rcvd.code == 4410
    # Refused at once afterwards, as is a token that never was valid.
    async with ws_connect(f"{server.ws_url}/ws/track/{token}") as ws:
        assert (await recv_json(ws))["code"] == "tracking_link_expired"
    async with ws_connect(f"{server.ws_url}/ws/track/garbage") as ws:
        assert (await recv_json(ws))["code"] == "tracking_link_invalid"
        with pytest.raises(ConnectionClosed) as closed:
            await ws.recv()
    assert closed.value.rcvd.code == 4404
    assert link["token"] != token
