"""Orders over HTTP: creation, idempotency, validation, visibility, lists, lifecycle."""

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from tests.conftest import INSIDE, INSIDE_2, OUTSIDE, order_body


async def _count_orders(app) -> int:
    from sqlalchemy import func, select

    from dispatch.tables import Order

    async with app.state.sessionmaker() as session:
        return await session.scalar(select(func.count()).select_from(Order))


async def test_create_answers_201_with_a_pending_order(client, actors):
    seller = await actors.make("seller")
    buyer = await actors.make("buyer")
    body = order_body(buyer_id=buyer.id, cod_amount="125000.50",
                      pickup_window={"start": "2036-11-28T10:00:00+05:00",
                                     "end": "2036-11-28T12:00:00+05:00"},
                      dropoff_window={"start": 2111470000, "end": 2111480000})
    response = await client.post("/api/v1/orders", json=body, headers=seller.headers)
    assert response.status_code == 201, response.text
    order = response.json()
    assert order["status"] == "pending" and order["courier_id"] is None
    assert order["seller_id"] == seller.id and order["buyer_id"] == buyer.id
    assert order["pickup"] == {**INSIDE, "address": "Amir Temur 1"}
    assert order["dropoff"] == {**INSIDE_2, "address": "Navoi 10"}
    assert order["cod_amount"] == "125000.50"
    assert order["pickup_window"]["start"].startswith("2036-11-28T05:00:00")


async def test_idempotent_replay_returns_the_first_answer_and_stores_once(client, actors, app):
    seller = await actors.make("seller")
    headers = {**seller.headers, "Idempotency-Key": f"key-{uuid.uuid4()}"}
    body = order_body()
    before = await _count_orders(app)
    first = await client.post("/api/v1/orders", json=body, headers=headers)
    second = await client.post("/api/v1/orders", json=body, headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert second.headers.get("idempotent-replayed") == "true"
    assert await _count_orders(app) == before + 1


async def test_concurrent_retries_with_one_key_create_one_order(client, actors, app):
    seller = await actors.make("seller")
    headers = {**seller.headers, "Idempotency-Key": f"key-{uuid.uuid4()}"}
    body = order_body()
    before = await _count_orders(app)
    responses = await asyncio.gather(*[client.post("/api/v1/orders", json=body, headers=headers)
                                       for _ in range(4)])
    ids = {r.json()["id"] for r in responses if r.status_code == 201}
    assert len(ids) == 1, [r.text for r in responses]
    assert await _count_orders(app) == before + 1


async def test_one_key_with_another_body_is_refused(client, actors):
    seller = await actors.make("seller")
    headers = {**seller.headers, "Idempotency-Key": "same-key"}
    assert (await client.post("/api/v1/orders", json=order_body(),
                              headers=headers)).status_code == 201
    other = await client.post("/api/v1/orders", json=order_body(size=3), headers=headers)
    assert other.status_code == 422
    assert other.json()["error"]["code"] == "idempotency_key_reused"


async def test_keys_are_per_user(client, actors):
    a, b = await actors.make("seller"), await actors.make("seller")
    body = order_body()
    first = await client.post("/api/v1/orders", json=body,
                              headers={**a.headers, "Idempotency-Key": "shared"})
    second = await client.post("/api/v1/orders", json=body,
                               headers={**b.headers, "Idempotency-Key": "shared"})
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] != second.json()["id"]


async def test_duplicate_external_id_conflicts_and_names_the_existing_order(client, actors):
    seller = await actors.make("seller")
    body = order_body()
    first = await client.post("/api/v1/orders", json=body, headers=seller.headers)
    again = await client.post("/api/v1/orders", json={**body, "size": 2}, headers=seller.headers)
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "duplicate_external_id"
    assert again.json()["error"]["details"]["order_id"] == first.json()["id"]
    other_seller = await actors.make("seller")
    assert (await client.post("/api/v1/orders", json=body,
                              headers=other_seller.headers)).status_code == 201


async def test_bad_inputs_are_refused_and_store_nothing(client, actors, app):
    seller = await actors.make("seller")
    courier = await actors.make("courier")
    window = {"start": "2036-11-28T12:00:00Z", "end": "2036-11-28T10:00:00Z"}
    cases = [
        (order_body(pickup={"lat": 91, "lon": 69.2}), "validation_error"),
        (order_body(dropoff={"lat": 41.3, "lon": -181}), "validation_error"),
        (order_body(pickup={"lat": "north", "lon": 69.2}), "validation_error"),
        (order_body(pickup_window=window), "validation_error"),
        (order_body(pickup_window={"start": "2036-11-28T10:00:00",
                                   "end": "2036-11-28T12:00:00"}), "validation_error"),
        (order_body(size=0), "validation_error"),
        (order_body(cod_amount="-5"), "validation_error"),
        (order_body(cod_amount="1.234"), "validation_error"),
        (order_body(status="delivered"), "validation_error"),
        (order_body(buyer_id=courier.id), "invalid_buyer"),
        (order_body(pickup={**OUTSIDE}), "outside_service_area"),
        (order_body(dropoff={**OUTSIDE}), "outside_service_area"),
        (order_body(pickup_window={"start": "2036-11-28T12:00:00Z", "end": "2036-11-28T13:00:00Z"},
                    dropoff_window={"start": "2036-11-28T09:00:00Z",
                                    "end": "2036-11-28T10:00:00Z"}), "invalid_window"),
    ]
    before = await _count_orders(app)
    for body, code in cases:
        response = await client.post("/api/v1/orders", json=body, headers=seller.headers)
        assert response.status_code == 422, (body, response.text)
        assert response.json()["error"]["code"] == code, body
    assert await _count_orders(app) == before


async def test_outside_service_area_names_the_nearest_zone(client, actors):
    seller = await actors.make("seller")
    response = await client.post("/api/v1/orders", json=order_body(dropoff=OUTSIDE),
                                 headers=seller.headers)
    details = response.json()["error"]["details"]
    assert details["leg"] == "dropoff" and details["distance_m"] > 100_000


async def test_malformed_json_and_oversized_bodies(client, actors, settings):
    seller = await actors.make("seller")
    headers = {**seller.headers, "Content-Type": "application/json"}
    broken = await client.post("/api/v1/orders", content=b'{"pickup": ', headers=headers)
    assert broken.status_code == 400 and broken.json()["error"]["code"] == "malformed_json"
    huge = order_body(pickup={**INSIDE, "address": "x" * (settings.max_body_bytes + 10)})
    too_big = await client.post("/api/v1/orders", json=huge, headers=seller.headers)
    assert too_big.status_code == 413 and too_big.json()["error"]["code"] == "body_too_large"


async def test_dispatcher_creates_for_a_seller_but_must_name_one(client, actors):
    dispatcher, seller = await actors.make("dispatcher"), await actors.make("seller")
    missing = await client.post("/api/v1/orders", json=order_body(), headers=dispatcher.headers)
    assert missing.status_code == 422 and missing.json()["error"]["code"] == "seller_required"
    made = await client.post("/api/v1/orders", json=order_body(seller_id=seller.id),
                             headers=dispatcher.headers)
    assert made.status_code == 201 and made.json()["seller_id"] == seller.id
    buyer = await actors.make("buyer")
    not_seller = await client.post("/api/v1/orders", json=order_body(seller_id=buyer.id),
                                   headers=dispatcher.headers)
    assert not_seller.status_code == 422


async def test_visibility_by_role(client, actors, make_order):
    seller, other_seller = await actors.make("seller"), await actors.make("seller")
    buyer, other_buyer = await actors.make("buyer"), await actors.make("buyer")
    courier, other_courier = await actors.make("courier"), await actors.make("courier")
    dispatcher = await actors.make("dispatcher")
    order = await make_order(seller, buyer_id=buyer.id)
    url = f"/api/v1/orders/{order['id']}"
    assert (await client.post(f"{url}/assign", json={"courier_id": courier.courier_id},
                              headers=dispatcher.headers)).status_code == 200
    for actor, visible in ((seller, True), (buyer, True), (courier, True), (dispatcher, True),
                           (other_seller, False), (other_buyer, False), (other_courier, False)):
        response = await client.get(url, headers=actor.headers)
        assert response.status_code == (200 if visible else 404), actor.role
        listed = await client.get("/api/v1/orders", headers=actor.headers)
        assert (order["id"] in [o["id"] for o in listed.json()["items"]]) is visible, actor.role


async def test_list_filters_and_cursor_pagination(client, actors, make_order):
    seller = await actors.make("seller")
    made = [(await make_order(seller))["id"] for _ in range(5)]
    seen, cursor = [], None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await client.get("/api/v1/orders", params=params, headers=seller.headers)).json()
        seen += [o["id"] for o in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(made, reverse=True)
    dispatcher = await actors.make("dispatcher")
    await client.post(f"/api/v1/orders/{made[0]}/cancel", headers=seller.headers)
    cancelled = await client.get("/api/v1/orders", headers=dispatcher.headers,
                                 params={"status": "cancelled", "seller_id": seller.id})
    assert [o["id"] for o in cancelled.json()["items"]] == [made[0]]
    bad = await client.get("/api/v1/orders", headers=seller.headers, params={"cursor": "%%%"})
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_cursor"
    unknown = await client.get("/api/v1/orders", headers=seller.headers,
                               params={"status": "lost"})
    assert unknown.status_code == 422


async def test_assign_reassign_unassign_and_capacity(client, actors, make_order):
    dispatcher = await actors.make("dispatcher")
    first = await actors.make("courier", capacity=2)
    second = await actors.make("courier")
    off = await actors.make("courier", on_shift=False)
    order = await make_order(size=2)
    url = f"/api/v1/orders/{order['id']}"
    assigned = await client.post(f"{url}/assign", json={"courier_id": first.courier_id},
                                 headers=dispatcher.headers)
    assert assigned.json()["status"] == "assigned"
    assert assigned.json()["courier_id"] == first.courier_id
    full = await client.post(f"/api/v1/orders/{(await make_order())['id']}/assign",
                             json={"courier_id": first.courier_id}, headers=dispatcher.headers)
    assert full.status_code == 409 and full.json()["error"]["code"] == "courier_over_capacity"
    moved = await client.post(f"{url}/assign", json={"courier_id": second.courier_id},
                              headers=dispatcher.headers)
    assert moved.json()["courier_id"] == second.courier_id
    assert moved.json()["events"][-1]["type"] == "reassign"
    assert moved.json()["events"][-1]["details"] == {"previous_courier_id": first.courier_id}
    refused = await client.post(f"{url}/assign", json={"courier_id": off.courier_id},
                                headers=dispatcher.headers)
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "courier_off_shift"
    back = await client.post(f"{url}/unassign", headers=dispatcher.headers)
    assert back.json()["status"] == "pending" and back.json()["courier_id"] is None
    missing = await client.post(f"{url}/assign", json={"courier_id": 10**12},
                                headers=dispatcher.headers)
    assert missing.status_code == 404


async def test_courier_reports_progress_but_scans_prove_handoffs(client, actors, make_order):
    dispatcher, courier = await actors.make("dispatcher"), await actors.make("courier")
    order = await make_order()
    url = f"/api/v1/orders/{order['id']}"
    await client.post(f"{url}/assign", json={"courier_id": courier.courier_id},
                      headers=dispatcher.headers)
    arrived = await client.post(f"{url}/status", headers=courier.headers,
                                json={"action": "arrive_pickup", **INSIDE})
    assert arrived.status_code == 200 and arrived.json()["status"] == "at_pickup"
    assert arrived.json()["events"][-1]["location"] == INSIDE
    scan_only = await client.post(f"{url}/status", headers=courier.headers,
                                  json={"action": "pick_up"})
    assert scan_only.status_code == 409
    assert scan_only.json()["error"]["code"] == "handoff_scan_required"
    illegal = await client.post(f"{url}/status", headers=courier.headers,
                                json={"action": "arrive_dropoff"})
    assert illegal.status_code == 409 and illegal.json()["error"]["code"] == "illegal_transition"
    after = (await client.get(url, headers=courier.headers)).json()
    assert after["status"] == "at_pickup"
    assert [e["type"] for e in after["events"]] == ["created", "assign", "arrive_pickup"]


async def test_cancel_rules(client, actors, make_order):
    seller = await actors.make("seller")
    order = await make_order(seller)
    url = f"/api/v1/orders/{order['id']}"
    cancelled = await client.post(f"{url}/cancel", json={"reason": "buyer changed mind"},
                                  headers=seller.headers)
    assert cancelled.json()["status"] == "cancelled"
    assert cancelled.json()["events"][-1]["details"] == {"reason": "buyer changed mind"}
    twice = await client.post(f"{url}/cancel", headers=seller.headers)
    assert twice.status_code == 409 and twice.json()["error"]["code"] == "illegal_transition"
    buyer = await actors.make("buyer")
    forbidden = await client.post(f"/api/v1/orders/{(await make_order())['id']}/cancel",
                                  headers=buyer.headers)
    assert forbidden.status_code == 403


async def test_the_order_log_is_append_only_in_the_database(app, make_order):
    import pytest
    from sqlalchemy import text
    from sqlalchemy.exc import IntegrityError

    order = await make_order()
    async with app.state.sessionmaker() as session:
        with pytest.raises(IntegrityError):
            await session.execute(text("UPDATE order_events SET type = 'x' WHERE order_id = :id"),
                                  {"id": order["id"]})
        await session.rollback()
        with pytest.raises(IntegrityError):
            await session.execute(text("DELETE FROM order_events WHERE order_id = :id"),
                                  {"id": order["id"]})


async def test_concurrent_duplicates_without_a_key_get_409_not_500(client, actors, app):
    seller = await actors.make("seller")
    body = order_body()
    before = await _count_orders(app)
    responses = await asyncio.gather(*[client.post("/api/v1/orders", json=body,
                                                   headers=seller.headers) for _ in range(4)])
    assert sorted(r.status_code for r in responses) == [201, 409, 409, 409]
    assert await _count_orders(app) == before + 1


async def test_a_failed_pickup_goes_on_the_custody_ledger(client, actors, make_order):
    dispatcher, courier = await actors.make("dispatcher"), await actors.make("courier")
    order = await make_order()
    url = f"/api/v1/orders/{order['id']}"
    await client.post(f"{url}/assign", json={"courier_id": courier.courier_id},
                      headers=dispatcher.headers)
    await client.post(f"{url}/status", headers=courier.headers,
                      json={"action": "arrive_pickup", **INSIDE})
    failed = await client.post(f"{url}/status", headers=courier.headers,
                               json={"action": "fail", "reason": "shop closed", **INSIDE})
    assert failed.json()["status"] == "failed"
    ledger = (await client.get(f"{url}/custody", headers=dispatcher.headers)).json()
    assert [e["kind"] for e in ledger["entries"]] == ["created", "failed"]
    assert ledger["entries"][-1]["lat"] == INSIDE["lat"]
    assert ledger["verification"]["valid"] is True
    returned = await client.post(f"{url}/status", headers=courier.headers,
                                 json={"action": "complete_return"})
    assert returned.json()["error"]["code"] == "handoff_scan_required"


async def test_a_courier_sees_orders_broadcast_to_it(client, actors, make_order, app):
    from datetime import UTC, datetime

    from dispatch.offers import create_offer
    from dispatch.tables import Order

    offered, bystander = await actors.make("courier"), await actors.make("courier")
    order = await make_order()
    async with app.state.sessionmaker() as session:
        row = await session.get(Order, order["id"], with_for_update=True)
        await create_offer(session, order=row, courier_id=offered.courier_id,
                           now=datetime.now(UTC), timeout_s=30, policy="cascade", broadcast=True)
        await session.commit()
    url = f"/api/v1/orders/{order['id']}"
    seen = await client.get(url, headers=offered.headers)
    assert seen.status_code == 200 and seen.json()["status"] == "offered"
    assert seen.json()["courier_id"] is None
    assert (await client.get(url, headers=bystander.headers)).status_code == 404


# --- refused at creation rather than found unservable later --------------------------------------

async def test_pickup_and_pickup_place_together_are_contradictory(client, actors, app):
    seller = await actors.make("seller")
    place = (await client.post("/api/v1/pickup-places", headers=seller.headers,
                               json={"name": "Shop", **INSIDE})).json()
    before = await _count_orders(app)
    response = await client.post("/api/v1/orders", headers=seller.headers,
                                 json=order_body(pickup_place_id=place["id"]))
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "contradictory_pickup"
    assert error["details"]["fields"] == ["pickup", "pickup_place_id"]
    assert await _count_orders(app) == before


async def test_an_order_no_courier_could_ever_carry_is_refused(client, actors, app):
    seller = await actors.make("seller")
    await actors.make("courier", capacity=7)
    async with app.state.sessionmaker() as session:
        largest = await session.scalar(text("SELECT max(capacity) FROM couriers"))
    assert largest < 1000, "a test courier carries more than any order may weigh"
    before = await _count_orders(app)
    response = await client.post("/api/v1/orders", headers={**seller.headers,
                                                             "Accept-Language": "ru"},
                                 json=order_body(size=largest + 1))
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "order_too_large"
    assert error["details"] == {"size": largest + 1, "largest_capacity": largest,
                                "field": "size", "limit": largest}
    assert f"({largest})" in error["message"] and "вместимости" in error["message"]
    assert await _count_orders(app) == before
    fits = await client.post("/api/v1/orders", headers=seller.headers,
                             json=order_body(size=largest))
    assert fits.status_code == 201, fits.text


async def test_a_window_already_past_is_refused(client, actors, app):
    seller = await actors.make("seller")
    now = datetime.now(UTC)
    past = {"start": (now - timedelta(hours=2)).isoformat(),
            "end": (now - timedelta(minutes=1)).isoformat()}
    before = await _count_orders(app)
    for field in ("pickup_window", "dropoff_window"):
        response = await client.post("/api/v1/orders", headers=seller.headers,
                                     json=order_body(**{field: past}))
        assert response.status_code == 422, response.text
        error = response.json()["error"]
        assert error["code"] == "window_passed" and error["details"]["window"] == field
        assert error["details"]["end"].endswith("Z") and field in error["message"]
    assert await _count_orders(app) == before
    open_now = {"start": (now - timedelta(minutes=5)).isoformat(),
                "end": (now + timedelta(hours=1)).isoformat()}
    response = await client.post("/api/v1/orders", headers=seller.headers,
                                 json=order_body(pickup_window=open_now))
    assert response.status_code == 201, response.text
