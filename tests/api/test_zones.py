"""Service-area zones from GeoJSON, and the queries orders rely on."""

import uuid

from geodata.zones import nearest_zone, zones_containing
from tests.conftest import every_item

SQUARE = {"type": "Polygon", "coordinates": [[[10.0, 10.0], [10.1, 10.0], [10.1, 10.1],
                                              [10.0, 10.1], [10.0, 10.0]]]}


async def test_create_from_polygon_feature_and_list(client, actors):
    dispatcher = await actors.make("dispatcher")
    name = f"z-{uuid.uuid4().hex[:6]}"
    feature = {"type": "Feature", "properties": {}, "geometry": SQUARE}
    created = await client.post("/api/v1/zones", headers=dispatcher.headers,
                                json={"name": name, "geometry": feature})
    assert created.status_code == 201, created.text
    assert created.json()["geometry"]["type"] == "MultiPolygon"
    listed = await every_item(client, "/zones", dispatcher.headers)
    stored = next(z for z in listed if z["name"] == name)
    assert stored["geometry"]["coordinates"][0][0][:4] == [[10, 10], [10.1, 10], [10.1, 10.1],
                                                           [10, 10.1]]
    again = await client.post("/api/v1/zones", headers=dispatcher.headers,
                              json={"name": name, "geometry": SQUARE})
    assert again.status_code == 409


async def test_invalid_geometries_are_refused(client, actors):
    dispatcher = await actors.make("dispatcher")
    bow_tie = {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}
    for geometry in (
        {"type": "Point", "coordinates": [69.2, 41.3]},
        bow_tie,
        {"type": "Polygon", "coordinates": [[[200, 0], [201, 0], [201, 1], [200, 0]]]},
        {"type": "Polygon", "coordinates": "nonsense"},
        {"type": "Polygon", "coordinates": [[[0, 0], [1, 1]]]},
    ):
        response = await client.post("/api/v1/zones", headers=dispatcher.headers,
                                     json={"name": f"bad-{uuid.uuid4().hex[:6]}",
                                           "geometry": geometry})
        assert response.status_code == 422, geometry
        assert response.json()["error"]["code"] == "invalid_geometry"


async def test_point_in_zone_and_nearest_zone(app, client, actors):
    dispatcher = await actors.make("dispatcher")
    name = f"z-{uuid.uuid4().hex[:6]}"
    square = {"type": "Polygon", "coordinates": [[[30.0, 10.0], [30.1, 10.0], [30.1, 10.1],
                                                  [30.0, 10.1], [30.0, 10.0]]]}
    created = (await client.post("/api/v1/zones", headers=dispatcher.headers,
                                 json={"name": name, "geometry": square})).json()
    async with app.state.sessionmaker() as session:
        assert await zones_containing(session, lat=10.05, lon=30.05) == [created["id"]]
        # A vertex is covered; edges are geodesics (geography), not lines of latitude.
        assert created["id"] in await zones_containing(session, lat=10.0, lon=30.0)
        assert await zones_containing(session, lat=10.05, lon=30.2) == []
        zone_id, distance_m = await nearest_zone(session, lat=10.05, lon=30.2)
        assert zone_id == created["id"]
        assert 10_000 < distance_m < 11_500  # 0.1 degree of longitude at 10 N is ~10.96 km


async def test_inactive_zones_do_not_serve_orders(client, actors):
    dispatcher, seller = await actors.make("dispatcher"), await actors.make("seller")
    far = {"type": "Polygon", "coordinates": [[[20.0, 20.0], [20.1, 20.0], [20.1, 20.1],
                                               [20.0, 20.1], [20.0, 20.0]]]}
    await client.post("/api/v1/zones", headers=dispatcher.headers,
                      json={"name": f"off-{uuid.uuid4().hex[:6]}", "geometry": far,
                            "active": False})
    point = {"lat": 20.05, "lon": 20.05}
    response = await client.post("/api/v1/orders", headers=seller.headers,
                                 json={"pickup": point, "dropoff": point})
    assert response.json()["error"]["code"] == "outside_service_area"
