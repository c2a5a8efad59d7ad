"""Courier registration and shifts over HTTP."""

import uuid

from tests.conftest import INSIDE, every_item


async def _courier_user(client, admin):
    response = await client.post("/api/v1/users", headers=admin.headers, json={
        "name": f"c-{uuid.uuid4().hex[:6]}", "role": "courier", "password": "long-enough-pw"})
    return response.json()


async def test_dispatcher_registers_a_courier(client, actors):
    admin, dispatcher = await actors.make("admin"), await actors.make("dispatcher")
    user = await _courier_user(client, admin)
    response = await client.post("/api/v1/couriers", headers=dispatcher.headers, json={
        "user_id": user["id"], "name": "Aziz", "vehicle": "scooter", "capacity": 8})
    assert response.status_code == 201
    courier = response.json()
    assert courier["shift_state"] == "off" and courier["vehicle"] == "scooter"
    listed = await every_item(client, "/couriers", dispatcher.headers)
    assert courier["id"] in [c["id"] for c in listed]


async def test_registration_refuses_bad_input(client, actors):
    admin = await actors.make("admin")
    seller = await actors.make("seller")
    user = await _courier_user(client, admin)
    cases = [
        ({"user_id": user["id"], "name": "A", "vehicle": "rocket", "capacity": 8}, 422,
         "validation_error"),
        ({"user_id": user["id"], "name": "A", "vehicle": "car", "capacity": 0}, 422,
         "validation_error"),
        ({"user_id": seller.id, "name": "A", "vehicle": "car", "capacity": 3}, 422,
         "user_not_courier"),
        ({"user_id": 10**12, "name": "A", "vehicle": "car", "capacity": 3}, 404, "not_found"),
    ]
    for body, status, code in cases:
        response = await client.post("/api/v1/couriers", headers=admin.headers, json=body)
        assert response.status_code == status, (body, response.text)
        assert response.json()["error"]["code"] == code
    ok = await client.post("/api/v1/couriers", headers=admin.headers, json={
        "user_id": user["id"], "name": "A", "vehicle": "car", "capacity": 3})
    assert ok.status_code == 201
    again = await client.post("/api/v1/couriers", headers=admin.headers, json={
        "user_id": user["id"], "name": "A", "vehicle": "car", "capacity": 3})
    assert again.status_code == 409


async def test_courier_starts_and_ends_its_own_shift(client, actors):
    courier = await actors.make("courier", on_shift=False)
    url = f"/api/v1/couriers/{courier.courier_id}/shift"
    no_position = await client.post(url, headers=courier.headers, json={"action": "start"})
    assert no_position.status_code == 422
    assert no_position.json()["error"]["code"] == "position_required"
    started = await client.post(url, headers=courier.headers, json={"action": "start", **INSIDE})
    assert started.status_code == 200
    assert started.json()["shift_state"] == "on"
    assert started.json()["last_location"] == INSIDE
    twice = await client.post(url, headers=courier.headers, json={"action": "start", **INSIDE})
    assert twice.status_code == 409 and twice.json()["error"]["code"] == "shift_already_started"
    ended = await client.post(url, headers=courier.headers, json={"action": "end"})
    assert ended.json()["shift_state"] == "off"


async def test_a_courier_cannot_touch_another_couriers_shift(client, actors):
    me, other = await actors.make("courier"), await actors.make("courier")
    response = await client.post(f"/api/v1/couriers/{other.courier_id}/shift",
                                 headers=me.headers, json={"action": "end"})
    assert response.status_code == 403
    still = await client.get(f"/api/v1/couriers/{other.courier_id}",
                             headers=(await actors.make("dispatcher")).headers)
    assert still.json()["shift_state"] == "on"


async def test_half_a_position_is_refused(client, actors):
    courier = await actors.make("courier", on_shift=False)
    response = await client.post(f"/api/v1/couriers/{courier.courier_id}/shift",
                                 headers=courier.headers, json={"action": "start", "lat": 41.3})
    assert response.status_code == 422


async def test_a_courier_lists_only_itself(client, actors):
    courier = await actors.make("courier")
    await actors.make("courier")
    items = (await client.get("/api/v1/couriers", headers=courier.headers)).json()["items"]
    assert [c["id"] for c in items] == [courier.courier_id]
