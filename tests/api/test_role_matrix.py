"""Each role against each endpoint: who may do what, and what the others get."""

import uuid

import pytest

from tests.conftest import INSIDE, TEST_ZONE, order_body

ROLES = ("admin", "dispatcher", "seller", "courier", "buyer")


@pytest.fixture(scope="module")
async def cast(actors):
    """One actor per role; the seller owns the orders, the courier is assigned to them."""
    return {role: await actors.make(role, capacity=500) for role in ROLES}


async def _fresh_order(client, cast) -> dict:
    response = await client.post("/api/v1/orders", headers=cast["seller"].headers,
                                 json=order_body(buyer_id=cast["buyer"].id))
    return response.json()


async def _assigned_order(client, cast) -> dict:
    order = await _fresh_order(client, cast)
    await client.post(f"/api/v1/orders/{order['id']}/assign", headers=cast["dispatcher"].headers,
                      json={"courier_id": cast["courier"].courier_id})
    return order


def _zone_body():
    return {"name": f"zone-{uuid.uuid4().hex[:8]}", "geometry": TEST_ZONE}


def _user_body():
    return {"name": f"u-{uuid.uuid4().hex[:8]}", "role": "buyer", "password": "long-enough-pw"}


# endpoint name -> (expected status per role in ROLES order)
EXPECTED = {
    "create_user": (201, 403, 403, 403, 403),
    "me": (200, 200, 200, 200, 200),
    "list_couriers": (200, 200, 403, 200, 403),
    "create_order": (201, 201, 201, 403, 403),
    "list_orders": (200, 200, 200, 200, 200),
    "get_order": (200, 200, 200, 200, 200),
    "cancel_order": (200, 200, 200, 403, 403),
    "assign_order": (200, 200, 403, 403, 403),
    "unassign_order": (200, 200, 403, 403, 403),
    "report_status": (200, 200, 403, 200, 403),
    "create_zone": (201, 201, 403, 403, 403),
    "list_zones": (200, 200, 200, 200, 200),
    "end_courier_shift": (200, 200, 403, 200, 403),
}


async def _call(name: str, client, cast, actor) -> int:
    h = actor.headers
    if name == "create_user":
        return (await client.post("/api/v1/users", headers=h, json=_user_body())).status_code
    if name == "me":
        return (await client.get("/api/v1/users/me", headers=h)).status_code
    if name == "list_couriers":
        return (await client.get("/api/v1/couriers", headers=h)).status_code
    if name == "create_order":
        body = order_body(seller_id=cast["seller"].id) if actor.role in (
            "admin", "dispatcher") else order_body()
        return (await client.post("/api/v1/orders", headers=h, json=body)).status_code
    if name == "list_orders":
        return (await client.get("/api/v1/orders", headers=h)).status_code
    if name == "get_order":
        order = await _assigned_order(client, cast)
        return (await client.get(f"/api/v1/orders/{order['id']}", headers=h)).status_code
    if name == "cancel_order":
        order = await _assigned_order(client, cast)
        return (await client.post(f"/api/v1/orders/{order['id']}/cancel",
                                  headers=h)).status_code
    if name == "assign_order":
        order = await _fresh_order(client, cast)
        return (await client.post(f"/api/v1/orders/{order['id']}/assign", headers=h,
                                  json={"courier_id": cast["courier"].courier_id})).status_code
    if name == "unassign_order":
        order = await _assigned_order(client, cast)
        return (await client.post(f"/api/v1/orders/{order['id']}/unassign",
                                  headers=h)).status_code
    if name == "report_status":
        order = await _assigned_order(client, cast)
        return (await client.post(f"/api/v1/orders/{order['id']}/status", headers=h,
                                  json={"action": "arrive_pickup", **INSIDE})).status_code
    if name == "create_zone":
        return (await client.post("/api/v1/zones", headers=h, json=_zone_body())).status_code
    if name == "list_zones":
        return (await client.get("/api/v1/zones", headers=h)).status_code
    if name == "end_courier_shift":
        courier_id = cast["courier"].courier_id
        status = (await client.post(f"/api/v1/couriers/{courier_id}/shift", headers=h,
                                    json={"action": "end"})).status_code
        if status == 200:  # put the courier back on shift for the next case
            await client.post(f"/api/v1/couriers/{courier_id}/shift",
                              headers=cast["dispatcher"].headers,
                              json={"action": "start", **INSIDE})
        return status
    raise AssertionError(name)


@pytest.mark.parametrize("name", sorted(EXPECTED))
async def test_role_matrix(name, client, cast):
    got = {role: await _call(name, client, cast, cast[role]) for role in ROLES}
    assert got == dict(zip(ROLES, EXPECTED[name], strict=True))
