"""Sellers' pickup places, and orders that name one instead of a pickup point."""

from tests.conftest import INSIDE, OUTSIDE, order_body


async def test_seller_registers_a_place_and_orders_from_it(client, actors):
    seller = await actors.make("seller")
    created = await client.post("/api/v1/pickup-places", headers=seller.headers,
                                json={"name": "Chorsu shop", "address": "Chorsu 5", **INSIDE})
    assert created.status_code == 201, created.text
    place = created.json()
    body = order_body(pickup_place_id=place["id"])
    del body["pickup"]
    order = await client.post("/api/v1/orders", headers=seller.headers, json=body)
    assert order.status_code == 201, order.text
    assert order.json()["pickup"] == {**INSIDE, "address": "Chorsu 5"}
    listed = await client.get("/api/v1/pickup-places", headers=seller.headers)
    assert [p["id"] for p in listed.json()["items"]] == [place["id"]]


async def test_places_are_private_to_their_seller(client, actors):
    owner, other = await actors.make("seller"), await actors.make("seller")
    place = (await client.post("/api/v1/pickup-places", headers=owner.headers,
                               json={"name": "Depot", **INSIDE})).json()
    body = order_body(pickup_place_id=place["id"])
    del body["pickup"]
    response = await client.post("/api/v1/orders", headers=other.headers, json=body)
    assert response.status_code == 404
    assert (await client.get("/api/v1/pickup-places", headers=other.headers)).json() == {
        "items": [], "next_cursor": None}


async def test_bad_places_are_refused(client, actors):
    seller, buyer = await actors.make("seller"), await actors.make("buyer")
    outside = await client.post("/api/v1/pickup-places", headers=seller.headers,
                                json={"name": "Far", **OUTSIDE})
    assert outside.json()["error"]["code"] == "outside_service_area"
    by_buyer = await client.post("/api/v1/pickup-places", headers=buyer.headers,
                                 json={"name": "Mine", **INSIDE})
    assert by_buyer.status_code == 403
    body = order_body()
    del body["pickup"]
    neither = await client.post("/api/v1/orders", headers=seller.headers, json=body)
    assert neither.status_code == 422
