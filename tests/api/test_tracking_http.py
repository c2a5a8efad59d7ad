"""Tracking over HTTP against the real app, PostGIS and Redis: batch upload with ack after
commit and seq de-dup, devices, OsmAnd and OwnTracks, nearby couriers, tracks as GeoJSON."""

from __future__ import annotations

import asyncio
import base64
import time

import pytest
from sqlalchemy import text
from tracking_support import quick_actor

NOW = time.time()


def points(first_seq: int, count: int, *, t0: float | None = None, lat0: float = 41.30):
    t0 = t0 if t0 is not None else time.time() - 60
    return {"type": "positions", "points": [
        {"seq": first_seq + i, "lat": lat0 + i * 1e-4, "lon": 69.24, "ts": t0 + i, "acc": 5.0,
         "speed": 3.0, "heading": 10.0} for i in range(count)]}


async def stored_seqs(app, courier_id: int) -> list[int]:
    async with app.state.engine.connect() as conn:
        rows = await conn.execute(text(
            "SELECT seq FROM positions WHERE courier_id = :c ORDER BY seq"), {"c": courier_id})
        return [r[0] for r in rows]


async def test_batch_upload_acks_after_commit_and_stores_resent_points_once(client, app):
    courier = await quick_actor(app, "courier")
    t0 = time.time() - 100
    first = await client.post("/api/v1/tracking/positions", json=points(1, 5, t0=t0),
                              headers=courier.headers)
    assert first.status_code == 200, first.text
    assert first.json()["type"] == "ack" and first.json()["seq"] == 5
    # The ack means committed: the rows are there when the answer arrives.
    assert await stored_seqs(app, courier.courier_id) == [1, 2, 3, 4, 5]
    again = await client.post("/api/v1/tracking/positions", json=points(3, 5, t0=t0 + 2),
                              headers=courier.headers)
    body = again.json()
    assert body["seq"] == 7 and body["duplicates"] == 3 and body["accepted"] == 2
    assert await stored_seqs(app, courier.courier_id) == [1, 2, 3, 4, 5, 6, 7]


async def test_rejections_carry_reasons(client, app):
    courier = await quick_actor(app, "courier")
    now = time.time()
    batch = {"type": "positions", "points": [
        {"seq": 1, "lat": 41.3, "lon": 69.24, "ts": now - 10},
        {"seq": 2, "lat": 0, "lon": 0, "ts": now - 9},
        {"seq": 3, "lat": 95, "lon": 69.24, "ts": now - 8},
        {"seq": 4, "lat": 41.3, "lon": 69.24, "ts": now + 3600},
        {"seq": 5, "lat": 41.3, "lon": 69.24, "ts": now - 30 * 86400},
        {"seq": 6, "lat": 41.3, "lon": 69.24, "ts": now - 7, "acc": 5000},
        {"seq": 7, "lat": 41.3, "lon": 69.24, "ts": now - 10},
        {"seq": 8, "lat": 41.3, "lon": 69.24, "ts": now - 20},
        {"seq": 9, "lat": 42.3, "lon": 69.24, "ts": now - 6},
        {"seq": 10, "lat": "x", "lon": 69.24, "ts": now - 5},
        {"seq": 11, "lat": 41.3001, "lon": 69.24, "ts": now - 4},
    ]}
    response = await client.post("/api/v1/tracking/positions", json=batch,
                                 headers=courier.headers)
    body = response.json()
    assert body["seq"] == 11 and body["accepted"] == 2
    assert {r["seq"]: r["reason"] for r in body["rejected"]} == {
        2: "zero_coordinates", 3: "invalid_coordinates", 4: "future_timestamp",
        5: "past_timestamp", 6: "poor_accuracy", 7: "duplicate", 8: "out_of_order",
        9: "impossible_speed", 10: "malformed_point"}
    details = {r["seq"]: r["details"] for r in body["rejected"]}
    assert details[9]["field"] == "speed" and details[9]["limit"] == 70.0
    assert details[9]["value"] > 70 and details[9]["distance_m"] > 100_000
    assert details[10] == {"field": "lat", "value": "x", "problem": "not a number"}
    assert details[6] == {"field": "acc", "value": 5000, "limit": 200.0}
    assert details[4]["field"] == "ts" and details[4]["value"] > details[4]["limit"]


async def test_a_first_fix_far_outside_every_service_area_is_flagged(client, app):
    """A first fix in the Caspian Sea is not taken as the courier's position."""
    await app.state.tracking.refresh_service_area()
    courier = await quick_actor(app, "courier")
    now = time.time()
    caspian = {"seq": 1, "lat": 41.0, "lon": 51.0, "ts": now - 5}
    response = await client.post("/api/v1/tracking/positions", headers=courier.headers,
                                 json={"type": "positions", "points": [caspian]})
    body = response.json()
    assert body["accepted"] == 0 and body["seq"] == 1
    [rejected] = body["rejected"]
    assert rejected["reason"] == "far_outside_service_area"
    assert rejected["details"]["field"] == "lat,lon"
    assert rejected["details"]["value"] == [41.0, 51.0]
    assert rejected["details"]["distance_m"] > rejected["details"]["limit"] == 50_000
    assert await stored_seqs(app, courier.courier_id) == []
    live = await app.state.dispatch.positions.latest([courier.courier_id])
    assert courier.courier_id not in live
    # A first fix in town is taken, and from there the speed filter judges what follows.
    response = await client.post("/api/v1/tracking/positions", headers=courier.headers,
                                 json=points(2, 2, t0=now - 3))
    assert response.json()["accepted"] == 2


@pytest.mark.parametrize("role", ["dispatcher", "seller", "buyer", "admin"])
async def test_only_couriers_send_positions(client, app, role):
    actor = await quick_actor(app, role)
    response = await client.post("/api/v1/tracking/positions", json=points(1, 1),
                                 headers=actor.headers)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "courier_required"


async def test_malformed_batches(client, app):
    courier = await quick_actor(app, "courier")
    response = await client.post("/api/v1/tracking/positions", content=b"{nope",
                                 headers={**courier.headers, "content-type": "application/json"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "malformed_json"
    response = await client.post("/api/v1/tracking/positions", json={"points": 3},
                                 headers={**courier.headers, "accept-language": "ru"})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "malformed_message"
    assert response.json()["error"]["message"] == "Сообщение трекинга не удаётся прочитать."
    unauthenticated = await client.post("/api/v1/tracking/positions", json=points(1, 1))
    assert unauthenticated.status_code == 401


async def register_device(client, courier) -> str:
    response = await client.post("/api/v1/tracking/devices", json={"name": "Pixel 7"},
                                 headers=courier.headers)
    assert response.status_code == 201, response.text
    return response.json()["device_key"]


async def test_devices_register_list_revoke(client, app):
    courier = await quick_actor(app, "courier")
    key = await register_device(client, courier)
    listed = (await client.get("/api/v1/tracking/devices", headers=courier.headers)).json()
    (device,) = listed["items"]
    assert device["device_key"] is None and device["key_hint"] == key[:4]
    other = await quick_actor(app, "courier")
    assert (await client.delete(f"/api/v1/tracking/devices/{device['id']}",
                                headers=other.headers)).status_code == 404
    assert (await client.delete(f"/api/v1/tracking/devices/{device['id']}",
                                headers=courier.headers)).status_code == 204
    refused = await client.get("/api/v1/tracking/osmand",
                               params={"id": key, "lat": 41.3, "lon": 69.2})
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "unknown_device"


async def test_osmand_query_form_and_json(client, app):
    courier = await quick_actor(app, "courier")
    key = await register_device(client, courier)
    t = int(time.time()) - 30
    got = await client.get("/api/v1/tracking/osmand", params={
        "id": key, "timestamp": t, "lat": 41.3110, "lon": 69.2405, "speed": 10.0,
        "bearing": 90, "accuracy": 5, "batt": 80})
    assert got.status_code == 200 and got.text == "OK"
    form = await client.post("/api/v1/tracking/osmand", data={
        "deviceid": key, "timestamp": str((t + 5) * 1000), "lat": "41.3111", "lon": "69.2406"})
    assert form.status_code == 200
    iso = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(t + 10))
    json_body = {"device_id": key, "location": {"timestamp": iso, "coords": {
        "latitude": 41.3112, "longitude": 69.2407, "speed": 4.0, "heading": 45,
        "accuracy": 6}, "battery": {"level": 0.5}}}
    posted = await client.post("/api/v1/tracking/osmand", json=json_body)
    assert posted.status_code == 200
    duplicate = await client.post("/api/v1/tracking/osmand", json=json_body)
    assert duplicate.status_code == 200
    assert duplicate.headers["x-tracking-rejected"] == "duplicate"
    async with app.state.engine.connect() as conn:
        rows = (await conn.execute(text(
            "SELECT extract(epoch FROM recorded_at), speed_mps FROM positions "
            "WHERE courier_id = :c ORDER BY recorded_at"), {"c": courier.courier_id})).all()
    assert [int(r[0]) for r in rows] == [t, t + 5, t + 10]
    assert rows[0][1] == pytest.approx(10.0 * 1852 / 3600)
    assert rows[2][1] == pytest.approx(4.0)
    unknown = await client.get("/api/v1/tracking/osmand",
                               params={"id": "nobody", "lat": 1, "lon": 1})
    assert unknown.status_code == 401
    missing = await client.get("/api/v1/tracking/osmand", params={"lat": 1, "lon": 1})
    assert missing.status_code == 422
    assert missing.json()["error"]["code"] == "device_id_missing"


async def test_owntracks_http_mode(client, app):
    courier = await quick_actor(app, "courier")
    key = await register_device(client, courier)
    t = int(time.time()) - 20
    message = {"_type": "location", "lat": 41.2995, "lon": 69.2401, "tst": t, "acc": 12,
               "vel": 18, "cog": 270, "batt": 81, "tid": "cr"}
    basic = base64.b64encode(f"courier7:{key}".encode()).decode()
    response = await client.post("/api/v1/tracking/owntracks", json=message,
                                 headers={"Authorization": f"Basic {basic}"})
    assert response.status_code == 200 and response.json() == []
    by_header = await client.post("/api/v1/tracking/owntracks",
                                  json={**message, "tst": t + 5},
                                  headers={"X-Limit-U": "courier7", "X-Limit-D": key})
    assert by_header.status_code == 200
    lwt = await client.post("/api/v1/tracking/owntracks", params={"d": key},
                            json={"_type": "lwt", "tst": t})
    assert lwt.status_code == 200 and lwt.json() == []
    refused = await client.post("/api/v1/tracking/owntracks", json=message,
                                headers={"X-Limit-D": "someone-else"})
    assert refused.status_code == 401
    async with app.state.engine.connect() as conn:
        speeds = (await conn.execute(text(
            "SELECT speed_mps FROM positions WHERE courier_id = :c"),
            {"c": courier.courier_id})).scalars().all()
    assert speeds == [pytest.approx(5.0), pytest.approx(5.0)]


async def test_track_as_geojson_with_time_range_and_visibility(client, app):
    courier = await quick_actor(app, "courier")
    t0 = time.time() - 500
    await client.post("/api/v1/tracking/positions", json=points(1, 10, t0=t0),
                      headers=courier.headers)
    dispatcher = await quick_actor(app, "dispatcher")
    url = f"/api/v1/couriers/{courier.courier_id}/track"
    whole = await client.get(url, headers=dispatcher.headers)
    assert whole.status_code == 200
    assert whole.headers["content-type"].startswith("application/geo+json")
    body = whole.json()
    assert body["type"] == "FeatureCollection" and body["properties"]["points"] == 10
    line = body["features"][0]
    assert line["geometry"]["type"] == "LineString"
    assert line["geometry"]["coordinates"][0] == [69.24, pytest.approx(41.30)]
    part = await client.get(url, params={"from": t0 + 2, "to": t0 + 5},
                            headers=courier.headers)
    assert [f["properties"]["seq"] for f in part.json()["features"][1:]] == [3, 4, 5]
    iso_from = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t0 + 8))
    assert len((await client.get(url, params={"from": iso_from}, headers=courier.headers))
               .json()["features"]) >= 2
    other = await quick_actor(app, "courier")
    assert (await client.get(url, headers=other.headers)).status_code == 404
    bad = await client.get(url, params={"from": t0 + 5, "to": t0}, headers=courier.headers)
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_time_range"
    bad = await client.get(url, params={"from": "last tuesday"}, headers=courier.headers)
    assert bad.status_code == 422


async def test_live_state_nearby_and_last_seen(client, app):
    courier = await quick_actor(app, "courier")
    await client.post("/api/v1/tracking/positions",
                      json=points(1, 1, t0=time.time() + 1, lat0=41.2601),
                      headers=courier.headers)
    dispatcher = await quick_actor(app, "dispatcher")
    for _ in range(100):
        near = await client.get("/api/v1/tracking/nearby", params={
            "lat": 41.2601, "lon": 69.24, "radius_m": 50}, headers=dispatcher.headers)
        ids = [item["courier_id"] for item in near.json()["items"]]
        if courier.courier_id in ids:
            break
        await asyncio.sleep(0.02)
    assert courier.courier_id in ids
    for _ in range(100):  # couriers.last_location follows shortly after (the planner's fallback)
        got = await client.get(f"/api/v1/couriers/{courier.courier_id}",
                               headers=dispatcher.headers)
        if got.json()["last_location"]["lat"] == pytest.approx(41.2601):
            break
        await asyncio.sleep(0.02)
    assert got.json()["last_location"]["lat"] == pytest.approx(41.2601)
    assert (await client.get("/api/v1/tracking/nearby", params={"lat": 1, "lon": 1},
                             headers=courier.headers)).status_code == 403


async def test_partition_maintenance_is_idempotent_and_points_land_in_daily_partitions(
        client, app):
    """Points of days without a partition wait in the default partition; maintenance creates
    the days' partitions once and moves the points into the partition of their own day."""
    from datetime import UTC, datetime, timedelta

    courier = await quick_actor(app, "courier")
    # Four days ago: older than the partitions the migration made, younger than the
    # tracking filters' oldest accepted point (seven days).
    first_day = (datetime.now(UTC) - timedelta(days=4)).replace(hour=12, minute=0, second=0,
                                                                 microsecond=0)
    stamps = [first_day, first_day + timedelta(minutes=1), first_day + timedelta(days=1)]
    batch = {"type": "positions", "points": [
        {"seq": i + 1, "lat": 41.30 + i * 1e-4, "lon": 69.24, "ts": at.timestamp(), "acc": 5.0}
        for i, at in enumerate(stamps)]}
    response = await client.post("/api/v1/tracking/positions", json=batch,
                                 headers=courier.headers)
    assert response.status_code == 200 and response.json()["accepted"] == 3, response.text

    async def partitions() -> list[tuple[str, float]]:
        async with app.state.engine.connect() as conn:
            rows = await conn.execute(text(
                "SELECT tableoid::regclass::text, extract(epoch FROM recorded_at) "
                "FROM positions WHERE courier_id = :c ORDER BY recorded_at"),
                {"c": courier.courier_id})
            return [(name, float(ts)) for name, ts in rows]

    assert [name for name, _ in await partitions()] == ["positions_default"] * 3
    store = app.state.tracking.store
    assert await store.ensure_partitions(first_day=first_day, days=2) == 2
    assert await store.ensure_partitions(first_day=first_day, days=2) == 0
    assert await partitions() == [
        (f"positions_{at:%Y%m%d}", pytest.approx(at.timestamp())) for at in stamps]


async def test_stale_couriers_are_marked_once_and_unmarked_by_a_new_fix(app):
    import uuid

    from tracking.fixes import Fix
    from tracking.live_store import LiveStore

    live = LiveStore(app.state.redis, f"{app.state.settings.redis_prefix}{uuid.uuid4().hex[:6]}:")
    now = time.time()
    await live.apply({7: Fix(lat=41.3, lon=69.2, ts_s=now - 300), 8: Fix(lat=41.3, lon=69.2,
                                                                        ts_s=now - 5)})
    stale = await live.claim_stale(now_s=now, stale_after_s=120)
    assert [(c["id"], c["stale"]) for c in stale] == [(7, True)]
    assert await live.claim_stale(now_s=now, stale_after_s=120) == []  # claimed once only
    snapshot = {c["id"]: c.get("stale", False) for c in await live.snapshot()}
    assert snapshot == {7: True, 8: False}
    await live.apply({7: Fix(lat=41.3, lon=69.2, ts_s=now)})
    assert {c["id"]: c.get("stale", False) for c in await live.snapshot()} == {7: False, 8: False}
    await app.state.redis.delete(live.geo_key, live.last_key, live.seen_key, live.stale_key)


async def test_an_offline_upload_overtaken_by_newer_points_is_still_stored(client, app):
    courier = await quick_actor(app, "courier")
    t0 = time.time() - 900
    live = await client.post("/api/v1/tracking/positions", json=points(6, 5, t0=t0 + 5),
                             headers=courier.headers)
    assert live.json()["seq"] == 10
    offline = await client.post("/api/v1/tracking/positions", json=points(1, 5, t0=t0),
                                headers=courier.headers)
    body = offline.json()
    assert (body["seq"], body["accepted"], body["duplicates"]) == (10, 5, 0)
    again = await client.post("/api/v1/tracking/positions", json=points(1, 10, t0=t0),
                              headers=courier.headers)
    assert (again.json()["accepted"], again.json()["duplicates"]) == (0, 10)
    assert await stored_seqs(app, courier.courier_id) == list(range(1, 11))
