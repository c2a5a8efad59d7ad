"""Staff actions land in the audit log, readable by admins only."""

from __future__ import annotations

from tests.conftest import every_item


async def _entries(client, admin, **params) -> list[dict]:
    return await every_item(client, "/audit", admin.headers, **params)


async def test_staff_actions_are_audited_with_who_and_what(client, actors, make_order):
    admin, dispatcher = await actors.make("admin"), await actors.make("dispatcher")
    courier = await actors.make("courier")
    order = await make_order()
    assert (await client.post(f"/api/v1/orders/{order['id']}/assign", headers=dispatcher.headers,
                              json={"courier_id": courier.courier_id})).status_code == 200
    assert (await client.post(f"/api/v1/orders/{order['id']}/unassign",
                              headers=dispatcher.headers)).status_code == 200
    assert (await client.post(f"/api/v1/orders/{order['id']}/cancel", headers=admin.headers,
                              json={"reason": "buyer phoned"})).status_code == 200
    log = await _entries(client, admin, target_type="order", target_id=order["id"])
    assert [(e["action"], e["actor_id"], e["actor_role"]) for e in log] == [
        ("order.cancel", admin.id, "admin"),
        ("order.unassign", dispatcher.id, "dispatcher"),
        ("order.assign", dispatcher.id, "dispatcher")]
    assert log[2]["details"] == {"courier_id": courier.courier_id}
    assert log[0]["details"] == {"reason": "buyer phoned"}
    assert log[0]["at"].endswith("Z")

    user = await client.post("/api/v1/users", headers=admin.headers, json={
        "name": f"audited-{admin.id}", "role": "buyer", "password": "a-long-passphrase"})
    assert user.status_code == 201
    await client.patch(f"/api/v1/users/{user.json()['id']}", headers=admin.headers,
                       json={"is_active": False})
    by_admin = [e["action"] for e in await _entries(client, admin, actor_id=admin.id)]
    assert by_admin[:3] == ["user.disable", "user.create", "order.cancel"]


async def test_a_refused_action_leaves_no_entry_and_others_are_not_audited(
        client, actors, make_order):
    admin, dispatcher, seller = (await actors.make("admin"), await actors.make("dispatcher"),
                                 await actors.make("seller"))
    order = await make_order(seller)
    refused = await client.post(f"/api/v1/orders/{order['id']}/assign",
                                headers=dispatcher.headers, json={"courier_id": 987654321})
    assert refused.status_code == 404
    cancelled = await client.post(f"/api/v1/orders/{order['id']}/cancel", headers=seller.headers)
    assert cancelled.status_code == 200  # in the order log, not the staff audit
    assert await _entries(client, admin, target_type="order", target_id=order["id"]) == []


async def test_only_admins_read_the_audit_log(client, actors):
    for role in ("dispatcher", "seller", "courier", "buyer"):
        actor = await actors.make(role)
        assert (await client.get("/api/v1/audit", headers=actor.headers)).status_code == 403
    assert (await client.get("/api/v1/audit")).status_code == 401
