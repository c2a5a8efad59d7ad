"""`POST /api/v1/travel/matrix` and `/travel/route`: roles, shapes, limits, errors.

The session app runs without a road network (straight-line model). The OSRM cases swap
in travel models for a small synthetic city, built once into `var/test-networks` (the
same cache as tests/geodata).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from api.routers.travel import MAX_MATRIX_SIDE, MAX_ROUTE_POINTS
from geodata.synth_osm import synthesize_network
from geodata.travel import load_travel_models

PROJECT_ROOT = Path(__file__).resolve().parents[2]
TEST_DATA_DIR = PROJECT_ROOT / "var" / "test-networks"

#: Points inside the synthetic city (centred on Tashkent, 2.5 km across).
CITY_A = {"lat": 41.3040, "lon": 69.2720}
CITY_B = {"lat": 41.3170, "lon": 69.2870}
CITY_C = {"lat": 41.3100, "lon": 69.2780}
SEA = {"lat": 41.6, "lon": 69.9}  # ~60 km away: nothing to snap to

MATRIX = "/api/v1/travel/matrix"
ROUTE = "/api/v1/travel/route"


@pytest.fixture
async def dispatcher(actors):
    return await actors.make("dispatcher")


@pytest.fixture(scope="module")
def city_models():
    info = synthesize_network(name="synth-api", data_dir=TEST_DATA_DIR, size_km=2.5, seed=7).info
    return load_travel_models(TEST_DATA_DIR / "networks", info.name)


@pytest.fixture
def with_city(app, city_models):
    """Serve this test from the synthetic city's OSRM models, then restore the app."""
    before = getattr(app.state, "travel", None)
    app.state.travel = city_models
    yield city_models
    app.state.travel = before


async def test_straight_line_matrix_without_a_network(client, dispatcher, app):
    body = {"profile": "bicycle", "sources": [CITY_A, CITY_B], "destinations": [CITY_C]}
    response = await client.post(MATRIX, json=body, headers=dispatcher.headers)
    assert response.status_code == 200, response.text
    data = response.json()
    assert data["model"] == "straight_line"
    assert len(data["durations_s"]) == 2 and len(data["durations_s"][0]) == 1
    assert data["distances_m"][0][0] > 0


async def test_only_dispatchers_and_admins(client, actors):
    body = {"profile": "car", "sources": [CITY_A], "destinations": [CITY_B]}
    assert (await client.post(MATRIX, json=body)).status_code == 401
    courier = await actors.make("courier")
    response = await client.post(MATRIX, json=body, headers=courier.headers)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"
    admin = await actors.make("admin")
    assert (await client.post(MATRIX, json=body, headers=admin.headers)).status_code == 200


async def test_osrm_matrix_and_route(client, dispatcher, with_city):
    body = {"profile": "car", "sources": [CITY_A, CITY_B], "destinations": [CITY_B, CITY_C]}
    response = await client.post(MATRIX, json=body, headers=dispatcher.headers)
    assert response.status_code == 200, response.text
    data = response.json()
    assert data["model"] == "osrm"
    assert data["durations_s"][1][0] == 0.0
    assert all(v is not None and v >= 0 for row in data["distances_m"] for v in row)

    response = await client.post(
        ROUTE,
        json={"profile": "car", "points": [CITY_A, CITY_C, CITY_B]},
        headers=dispatcher.headers,
    )
    assert response.status_code == 200, response.text
    route = response.json()
    assert len(route["legs"]) == 2
    assert route["geometry"]["type"] == "LineString"
    lon, lat = route["geometry"]["coordinates"][0]  # GeoJSON order
    assert abs(lat - CITY_A["lat"]) < 0.01 and abs(lon - CITY_A["lon"]) < 0.01
    assert route["distance_m"] == pytest.approx(sum(leg["distance_m"] for leg in route["legs"]))
    # A two-point route agrees with the matrix. (Legs of a longer route may not: OSRM picks
    # the arrival direction at a via point for the whole trip.)
    pair = await client.post(
        ROUTE, json={"profile": "car", "points": [CITY_A, CITY_C]}, headers=dispatcher.headers
    )
    single = await client.post(
        MATRIX,
        json={"profile": "car", "sources": [CITY_A], "destinations": [CITY_C]},
        headers=dispatcher.headers,
    )
    assert single.json()["durations_s"][0][0] == pytest.approx(pair.json()["duration_s"], abs=1.0)


async def test_point_off_the_network_is_a_422_with_the_point(client, dispatcher, with_city):
    body = {"profile": "foot", "sources": [CITY_A], "destinations": [CITY_B, SEA]}
    response = await client.post(MATRIX, json=body, headers=dispatcher.headers)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "point_off_network"
    assert error["details"]["points"][0]["role"] == "destinations"
    assert error["details"]["points"][0]["index"] == 1

    response = await client.post(
        ROUTE, json={"profile": "foot", "points": [SEA, CITY_A]}, headers=dispatcher.headers
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "point_off_network"


async def test_request_size_limits(client, dispatcher):
    many = [CITY_A] * (MAX_MATRIX_SIDE + 1)
    body = {"profile": "car", "sources": many, "destinations": [CITY_B]}
    response = await client.post(MATRIX, json=body, headers=dispatcher.headers)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "too_many_points"
    assert error["details"] == {"role": "sources", "max": MAX_MATRIX_SIDE, "given": len(many)}

    points = [CITY_A, CITY_B] * (MAX_ROUTE_POINTS // 2 + 1)
    response = await client.post(
        ROUTE, json={"profile": "car", "points": points}, headers=dispatcher.headers
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "too_many_points"


@pytest.mark.parametrize(
    "body",
    [
        {"profile": "tank", "sources": [CITY_A], "destinations": [CITY_B]},
        {"profile": "car", "sources": [], "destinations": [CITY_B]},
        {"profile": "car", "sources": [{"lat": 91, "lon": 0}], "destinations": [CITY_B]},
        {"profile": "car", "sources": [{"lat": 41.3}], "destinations": [CITY_B]},
    ],
)
async def test_malformed_requests_are_422(client, dispatcher, body):
    response = await client.post(MATRIX, json=body, headers=dispatcher.headers)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "validation_error"


async def test_a_route_needs_two_points(client, dispatcher):
    response = await client.post(
        ROUTE, json={"profile": "car", "points": [CITY_A]}, headers=dispatcher.headers
    )
    assert response.status_code == 422


async def test_network_description(client, actors, with_city):
    courier = await actors.make("courier")
    response = await client.get("/api/v1/travel/network", headers=courier.headers)
    assert response.status_code == 200, response.text
    data = response.json()
    assert data["kind"] == "osrm" and data["network"] == "synth-api"
    assert data["profiles"] == {p: "osrm" for p in ("foot", "bicycle", "scooter", "car")}
    min_lon, min_lat, max_lon, max_lat = data["bbox"]
    assert min_lat < CITY_A["lat"] < max_lat and min_lon < CITY_A["lon"] < max_lon
    assert (await client.get("/api/v1/travel/network")).status_code == 401
