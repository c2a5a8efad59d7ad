"""Inputs the fuzzer found answering 500, now refused at the edge with the error envelope."""

from __future__ import annotations

import time

import pytest

from tests.conftest import INSIDE, INSIDE_2
from tracking.fixes import Fix

HUGE = "166752025400019288064"  # beyond 64 bits
NEGATIVE_HUGE = "-285441020376770098335005393786241024"


@pytest.mark.parametrize(("method", "path", "body"), [
    ("GET", f"/orders/{HUGE}", None),
    ("GET", f"/couriers/{HUGE}", None),
    ("GET", f"/orders?courier_id={NEGATIVE_HUGE}", None),
    ("GET", f"/couriers/{HUGE}/route", None),
    ("GET", f"/couriers/{HUGE}/track", None),
    ("GET", f"/orders/{HUGE}/custody", None),
    ("POST", f"/orders/{HUGE}/assign", {"courier_id": 1}),
    ("POST", "/orders/1/assign", {"courier_id": int(HUGE)}),
    ("POST", f"/orders/{HUGE}/unassign", {}),
    ("POST", f"/orders/{HUGE}/cancel", {}),
    ("POST", f"/orders/{HUGE}/handoff-tokens", {"leg": "pickup"}),
    ("GET", f"/orders/{HUGE}/handoff-tokens/pickup.svg", None),
    ("POST", "/handoffs/code", {"order_id": int(HUGE), "leg": "pickup", "code": "123456",
                                **INSIDE}),
    ("GET", f"/webhooks/{HUGE}/deliveries", None),
    ("GET", f"/tracking/history?courier_id={HUGE}", None),
])
async def test_ids_beyond_64_bits_are_refused_with_422(client, actors, method, path, body):
    admin = await actors.make("admin")
    response = await client.request(method, f"/api/v1{path}", json=body, headers=admin.headers)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "validation_error"


async def test_nearby_answers_at_the_poles_and_the_antimeridian(client, actors, app):
    dispatcher, courier = await actors.make("dispatcher"), await actors.make("courier")
    for lat, lon in ((-90, -180), (90, 180), (85.06, 0), (-89.9, 179.9)):
        response = await client.get("/api/v1/tracking/nearby", headers=dispatcher.headers,
                                    params={"lat": lat, "lon": lon, "radius_m": 2000})
        assert response.status_code == 200, (lat, lon, response.text)
        assert courier.courier_id not in [c["courier_id"] for c in response.json()["items"]]
    # the live index, from the true pole: a courier is found at its true distance
    live = app.state.tracking.live
    await live.apply({courier.courier_id: Fix(lat=INSIDE["lat"], lon=INSIDE["lon"],
                                              ts_s=time.time())})
    found = await live.nearby(lat=INSIDE["lat"], lon=INSIDE["lon"], radius_m=50, limit=500)
    assert courier.courier_id in [cid for cid, _ in found]
    polar = dict(await live.nearby(lat=90, lon=0, radius_m=5_500_000, limit=100_000))
    assert polar[courier.courier_id] == pytest.approx((90 - INSIDE["lat"]) * 111_195, rel=0.01)
    assert all(d <= 5_500_000 for d in polar.values())
    assert courier.courier_id not in dict(await live.nearby(lat=90, lon=0, radius_m=5_000_000,
                                                            limit=100_000))


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e999"])
async def test_non_finite_numbers_are_refused(client, actors, literal):
    seller, courier = await actors.make("seller"), await actors.make("courier")
    json_headers = {"Content-Type": "application/json"}
    body = '{"pickup": {"lat": LAT, "lon": 69.2}, "dropoff": {"lat": 41.3, "lon": 69.25}}'
    order = await client.post("/api/v1/orders", headers={**seller.headers, **json_headers},
                              content=body.replace("LAT", literal))
    assert order.status_code in (400, 422), order.text
    assert "error" in order.json()
    now = time.time()
    points = await client.post(
        "/api/v1/tracking/positions", headers={**courier.headers, **json_headers},
        content=('{"type": "positions", "points": [{"seq": 1, "lat": 41.3, "lon": 69.2, '
                 '"ts": TS, "acc": ACC}]}').replace("TS", str(now)).replace("ACC", literal))
    assert points.status_code in (200, 400, 422), points.text
    if points.status_code == 200:
        assert points.json()["accepted"] == 0 and points.json()["rejected"]


@pytest.mark.parametrize("content_type", ["text/plain", "application/xml", "", "image/png"])
async def test_wrong_content_types_are_refused(client, actors, content_type):
    seller = await actors.make("seller")
    response = await client.post("/api/v1/orders", content=b'{"pickup": 1}',
                                 headers={**seller.headers, "Content-Type": content_type})
    assert 400 <= response.status_code < 500, response.text
    assert "error" in response.json()


async def test_nul_characters_are_refused_not_stored(client, actors):
    seller = await actors.make("seller")
    login = await client.post("/api/v1/auth/token",
                              data={"username": "a\x00b", "password": "whatever-pass"})
    assert login.status_code == 401 and login.json()["error"]["code"] == "invalid_credentials"
    order = await client.post("/api/v1/orders", headers=seller.headers, json={
        "pickup": {**INSIDE, "address": "Amir\x00Temur"}, "dropoff": {**INSIDE_2}})
    assert order.status_code == 422, order.text
    assert order.json()["error"]["code"] in ("invalid_value", "validation_error")
