"""The OpenAPI document is the contract: it declares what the server really answers (our
error envelope for every error status, enums for fixed sets, typed bodies), and live answers
of the API's main operations validate against it (openapi-core). `/docs` and `/redoc` work
without the internet."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import pytest
from contract_support import assert_contract_kept, contract_client
from openapi_spec_validator import validate

from tests.conftest import INSIDE, INSIDE_2, order_body

API = "/api/v1"


@pytest.fixture(scope="module")
def spec(app) -> dict:
    return app.openapi()


def operations(spec: dict):
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            yield method, path, operation


def test_the_document_is_valid_openapi(spec):
    validate(spec)
    assert spec["openapi"].startswith("3.1")


def test_fastapi_default_validation_shape_is_declared_nowhere(spec):
    text = json.dumps(spec)
    assert "HTTPValidationError" not in text and '"detail"' not in text


def test_every_error_status_is_declared_with_our_envelope(spec):
    for method, path, operation in operations(spec):
        responses = operation["responses"]
        if operation.get("security"):
            assert "401" in responses, (method, path)
        if operation.get("parameters") or "requestBody" in operation:
            assert "422" in responses, (method, path)
        for status, response in responses.items():
            if int(status) < 400 or (path.endswith("/readyz") and status == "503"):
                continue
            schema = response["content"]["application/json"]["schema"]
            assert schema == {"$ref": "#/components/schemas/ErrorOut"}, (method, path, status)
    envelope = spec["components"]["schemas"]["ErrorOut"]
    assert envelope["required"] == ["error"]


def test_every_success_answer_is_typed(spec):
    for method, path, operation in operations(spec):
        for status, response in operation["responses"].items():
            if not status.startswith("2"):
                continue
            for media_type, content in response.get("content", {}).items():
                schema = content.get("schema")
                assert schema, (method, path, status, media_type)
                assert not (schema.get("type") == "object" and "properties" not in schema
                            and "$ref" not in schema), (method, path, status)


def _enum_of(spec: dict, model: str, field: str) -> list:
    schema = spec["components"]["schemas"][model]["properties"][field]
    for option in [schema, *schema.get("anyOf", [])]:
        if "enum" in option:
            return option["enum"]
        if "$ref" in option:
            return _enum_of_ref(spec, option["$ref"])
    raise AssertionError(f"{model}.{field} has no enum: {schema}")


def _enum_of_ref(spec: dict, ref: str) -> list:
    return spec["components"]["schemas"][ref.rsplit("/", 1)[-1]]["enum"]


@pytest.mark.parametrize(("model", "field", "values"), [
    ("HandoffTokenIn", "leg", {"pickup", "dropoff", "return"}),
    ("StatusIn", "action", {"arrive_pickup", "arrive_dropoff", "fail", "start_return"}),
    ("ShiftIn", "action", {"start", "end", "break", "resume"}),
    ("CourierIn", "vehicle", {"foot", "bicycle", "scooter", "car"}),
    ("UserIn", "role", {"admin", "dispatcher", "seller", "courier", "buyer"}),
    ("RouteIn", "profile", {"foot", "bicycle", "scooter", "car"}),
    ("MatrixIn", "profile", {"foot", "bicycle", "scooter", "car"}),
    ("FleetSettingsIn", "policy", {"batch", "nearest", "cascade"}),
    ("RunIn", "policy", {"batch", "nearest", "cascade"}),
    ("OrderOut", "status", {"pending", "delivered", "returned"}),
    ("OfferOut", "state", {"pending", "accepted", "declined", "expired", "withdrawn"}),
    ("CourierRouteOut", "model", {"osrm", "straight_line"}),
    ("RouteOut", "model", {"osrm", "straight_line"}),
    ("CourierAvailabilityOut", "state", {"available", "offline"}),
    ("RejectedPointOut", "reason", {"impossible_speed", "far_outside_service_area"}),
])
def test_fixed_sets_are_enums(spec, model, field, values):
    assert values <= set(_enum_of(spec, model, field))


def test_declared_shapes_of_the_odd_ones(spec):
    paths = spec["paths"]
    metrics = paths["/metrics"]["get"]["responses"]["200"]["content"]
    assert list(metrics) == ["text/plain"]
    body = paths[f"{API}/tracking/positions"]["post"]["requestBody"]["content"]
    assert body["application/json"]["schema"] == {"$ref": "#/components/schemas/PositionsIn"}
    login = paths[f"{API}/auth/token"]["post"]["requestBody"]["content"]
    assert list(login) == ["application/x-www-form-urlencoded"]
    for model in ("OrderIn", "ShiftIn", "StatusIn", "HandoffTokenIn", "ScanIn", "PositionsIn"):
        assert spec["components"]["schemas"][model].get("examples"), model
    token = spec["components"]["schemas"]["HandoffTokenOut"]["properties"]
    assert token["expires_at"]["format"] == "date-time" and token["expires_at_s"]["type"]
    assert spec["components"]["schemas"]["CourierPage"]["required"] == ["items"]


async def test_docs_and_redoc_need_no_internet(client):
    for page, asset in (("/docs", "/docs-assets/swagger-ui-bundle.js"),
                        ("/redoc", "/docs-assets/redoc.standalone.js")):
        response = await client.get(page)
        assert response.status_code == 200
        assert asset in response.text and "/openapi.json" in response.text
        assert "https://" not in response.text.replace("https://fastapi.tiangolo.com", "")
        script = await client.get(asset)
        assert script.status_code == 200 and len(script.content) > 100_000
    assert (await client.get("/docs-assets/swagger-ui.css")).status_code == 200


async def test_live_answers_of_the_main_operations_keep_the_contract(app, actors, client,
                                                                      quiet_city):
    """A tour of the API — successes and the usual errors — every answer validated. The city is
    quiet first: another test's courier on shift could win the assigned order on a re-plan."""
    admin, dispatcher = await actors.make("admin"), await actors.make("dispatcher")
    seller, buyer = await actors.make("seller"), await actors.make("buyer")
    courier = await actors.make("courier", capacity=5)
    async with contract_client(app) as api:
        # accounts
        login = await api.post(f"{API}/auth/token",
                               data={"username": seller.name, "password": seller.password})
        assert login.status_code == 200 and login.json()["expires_at"].endswith("Z")
        assert (await api.post(f"{API}/auth/token", json={"username": "x"})).status_code == 422
        assert (await api.post(f"{API}/auth/token",
                               data={"username": "nobody", "password": "wrong-pass"})
                ).status_code == 401
        assert (await api.get(f"{API}/users/me", headers=seller.headers)).status_code == 200
        assert (await api.get(f"{API}/users/me")).status_code == 401
        assert (await api.post(f"{API}/users", headers=seller.headers,
                               json={"name": "x", "role": "buyer", "password": "12345678"})
                ).status_code == 403
        # couriers, zones, places
        for url in ("/couriers", "/zones", "/pickup-places", "/webhooks"):
            page = await api.get(f"{API}{url}", headers=dispatcher.headers,
                                 params={"limit": 2})
            assert page.status_code == 200 and "next_cursor" in page.json()
        assert (await api.get(f"{API}/couriers/{courier.courier_id}",
                              headers=dispatcher.headers)).status_code == 200
        assert (await api.get(f"{API}/couriers/987654321",
                              headers=dispatcher.headers)).status_code == 404
        assert (await api.post(f"{API}/couriers/{courier.courier_id}/shift",
                               headers=courier.headers, json={"action": "start", **INSIDE})
                ).status_code == 409
        assert (await api.post(f"{API}/pickup-places", headers=seller.headers,
                               json={"name": "Shop", **INSIDE})).status_code == 201
        assert (await api.get(f"{API}/couriers", headers=dispatcher.headers,
                              params={"cursor": "???"})).status_code == 422
        # orders
        made = await api.post(f"{API}/orders", headers=seller.headers,
                              json=order_body(buyer_id=buyer.id, cod_amount="1000.50"))
        assert made.status_code == 201, made.text
        order = made.json()
        assert (await api.post(f"{API}/orders", headers={**seller.headers,
                                                         "Content-Type": "application/json"},
                               content=b"{")).status_code == 400
        assert (await api.post(f"{API}/orders", headers=seller.headers,
                               json=order_body(size=0))).status_code == 422
        assert (await api.get(f"{API}/orders", headers=seller.headers,
                              params={"status": ["pending", "offered"]})).status_code == 200
        assert (await api.get(f"{API}/orders/{order['id']}", headers=buyer.headers)
                ).status_code == 200
        assert (await api.get(f"{API}/orders/{order['id']}", headers=courier.headers)
                ).status_code == 404
        # codes minted early, assignment, the route, the planner
        pickup = await api.post(f"{API}/orders/{order['id']}/handoff-tokens",
                                headers=seller.headers, json={"leg": "pickup"})
        assert pickup.status_code == 201
        assert (await api.post(f"{API}/orders/{order['id']}/handoff-tokens",
                               headers=courier.headers, json={"leg": "pickup"})
                ).status_code == 404
        assert (await api.get(f"{API}/orders/{order['id']}/handoff-tokens/pickup.svg",
                              headers=seller.headers)).status_code == 200
        assert (await api.post(f"{API}/orders/{order['id']}/assign", headers=dispatcher.headers,
                               json={"courier_id": courier.courier_id})).status_code == 200
        run = await api.post(f"{API}/dispatch/run", headers=dispatcher.headers, json={})
        assert run.status_code == 200
        assert (await api.get(f"{API}/dispatch/settings", headers=dispatcher.headers)
                ).status_code == 200
        assert (await api.put(f"{API}/dispatch/settings", headers=dispatcher.headers,
                              json={"policy": "batch"})).status_code == 200
        route = await api.get(f"{API}/couriers/{courier.courier_id}/route",
                              headers=courier.headers)
        assert route.status_code == 200 and order["id"] in [
            s["order_id"] for s in route.json()["stops"]], (run.text, route.text)
        assert (await api.get(f"{API}/offers", headers=courier.headers)).status_code == 200
        assert (await api.post(f"{API}/offers/987654321/accept", headers=courier.headers)
                ).status_code == 404
        # GPS, the scan, custody
        now = time.time()
        ack = await api.post(f"{API}/tracking/positions", headers=courier.headers, json={
            "type": "positions", "points": [
                {"seq": 1, "lat": INSIDE["lat"], "lon": INSIDE["lon"], "ts": now - 2},
                {"seq": 2, "lat": "x", "lon": 69.2, "ts": now - 1}]})
        assert ack.status_code == 200 and ack.json()["rejected"][0]["details"]["field"] == "lat"
        assert (await api.post(f"{API}/tracking/positions", headers=courier.headers,
                               json=[1, 2])).status_code == 422
        status = await api.post(f"{API}/orders/{order['id']}/status", headers=courier.headers,
                                json={"action": "arrive_pickup", **INSIDE})
        assert status.status_code == 200
        assert (await api.post(f"{API}/orders/{order['id']}/status", headers=courier.headers,
                               json={"action": "deliver"})).status_code == 409
        early = await api.post(f"{API}/handoffs/scan", headers=courier.headers,
                               json={"token": pickup.json()["token"], **INSIDE_2})
        assert early.status_code == 422  # too far
        scanned = await api.post(f"{API}/handoffs/scan", headers=courier.headers,
                                 json={"token": pickup.json()["token"], **INSIDE})
        assert scanned.status_code == 200, scanned.text
        assert (await api.post(f"{API}/handoffs/scan", headers=courier.headers,
                               json={"token": pickup.json()["token"], **INSIDE})
                ).status_code == 409
        wrong = await api.post(f"{API}/handoffs/code", headers=courier.headers, json={
            "order_id": order["id"], "leg": "dropoff", "code": "000000", **INSIDE_2})
        assert wrong.status_code in (404, 422)
        assert (await api.get(f"{API}/orders/{order['id']}/custody", headers=seller.headers)
                ).status_code == 200
        assert (await api.get(f"{API}/handoffs/keys")).status_code == 200
        # tracking reads, travel, tiles, links, health
        assert (await api.get(f"{API}/couriers/{courier.courier_id}/track",
                              headers=dispatcher.headers)).status_code == 200
        assert (await api.get(f"{API}/tracking/history", headers=dispatcher.headers,
                              params={"courier_id": courier.courier_id})).status_code == 200
        assert (await api.get(f"{API}/tracking/nearby", headers=dispatcher.headers,
                              params=INSIDE)).status_code == 200
        assert (await api.post(f"{API}/travel/route", headers=dispatcher.headers, json={
            "profile": "bicycle", "points": [INSIDE, INSIDE_2]})).status_code == 200
        assert (await api.post(f"{API}/travel/matrix", headers=dispatcher.headers, json={
            "profile": "car", "sources": [INSIDE], "destinations": [INSIDE_2]})
                ).status_code == 200
        assert (await api.get(f"{API}/tiles.json")).status_code == 200
        link = await api.post(f"{API}/orders/{order['id']}/tracking-link",
                              headers=buyer.headers)
        assert link.status_code == 201
        assert (await api.get(f"{API}/public/track/{link.json()['token']}")).status_code == 200
        assert (await api.get(f"{API}/public/track/nonsense")).status_code in (404, 422)
        for url in ("/healthz", "/readyz", "/metrics"):
            assert (await api.get(url)).status_code == 200
        assert (await api.post(f"{API}/handoffs/keys/rotate", headers=admin.headers)
                ).status_code == 200
        # the tour touched every kind of answer it meant to
        statuses = {s for _, _, s in api.contract_checked}
        assert {200, 201, 400, 401, 403, 404, 409, 422} <= statuses
        assert_contract_kept(api)


async def test_an_expired_link_and_an_unassigned_offer_keep_the_contract(app, actors):
    """410 answers validate too."""
    seller = await actors.make("seller")
    async with contract_client(app) as api:
        order = (await api.post(f"{API}/orders", headers=seller.headers,
                                json=order_body())).json()
        link = (await api.post(f"{API}/orders/{order['id']}/tracking-link",
                               headers=seller.headers)).json()
        async with app.state.sessionmaker() as session:
            from sqlalchemy import text

            await session.execute(text("UPDATE tracking_links SET expires_at = :t "
                                       "WHERE order_id = :o"),
                                  {"t": datetime.now(UTC) - timedelta(minutes=1),
                                   "o": order["id"]})
            await session.commit()
        gone = await api.get(f"{API}/public/track/{link['token']}")
        assert gone.status_code == 410
        assert_contract_kept(api)
