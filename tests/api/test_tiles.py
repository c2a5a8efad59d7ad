"""Vector tiles over the wire, from the synthetic city's roads and river loaded into PostGIS:
layers and properties, generalisation by zoom, empty tiles, bad addresses, HTTP caching,
TileJSON, and a re-import that replaces the rows the tiles come from."""

from __future__ import annotations

import asyncio
import math
from pathlib import Path

import mapbox_vector_tile
import psycopg
import pytest

from geodata.map_store import libpq_url, load_map_features
from geodata.map_tiles import BUFFER, EXTENT
from geodata.synth_city import SynthCity, generate_city
from geodata.synth_osm import write_osm

NETWORK = "tiles-test"


def tile_of(lat: float, lon: float, z: int) -> tuple[int, int, float, float]:
    """The tile holding a point, and the point's position in it (tile units, y down)."""
    n = 1 << z
    fx = (lon + 180.0) / 360.0 * n
    lat_r = math.radians(lat)
    fy = (1.0 - math.asinh(math.tan(lat_r)) / math.pi) / 2.0 * n
    x, y = int(fx), int(fy)
    return x, y, (fx - x) * EXTENT, (fy - y) * EXTENT


def street(city: SynthCity, highway: str) -> tuple[str, tuple[float, float]]:
    """A named street of that class and one of its middle nodes `(lat, lon)`."""
    nodes = {n.id: n for n in city.nodes}
    for way in city.ways:
        tags = dict(way.tags)
        if tags.get("highway") == highway and tags.get("name") and len(way.node_ids) >= 3:
            node = nodes[way.node_ids[len(way.node_ids) // 2]]
            return tags["name"], (node.lat, node.lon)
    raise AssertionError(f"no {highway} street")


@pytest.fixture(scope="module")
def city() -> SynthCity:
    return generate_city(size_km=2.5, seed=7)


@pytest.fixture(scope="module")
def loaded_city(city, settings, tmp_path_factory) -> Path:
    path = write_osm(city, tmp_path_factory.mktemp("osm") / "tiles-test.osm.pbf")
    result = load_map_features(path, name=NETWORK, database_url=settings.database_url)
    assert result.roads > 50 and result.water == 2
    return path


def decode(body: bytes) -> dict:
    return mapbox_vector_tile.decode(body, default_options={"y_coord_down": True})


def vertices(geometry: dict) -> list[tuple[float, float]]:
    def walk(value):
        if isinstance(value[0], (int, float)):
            yield (value[0], value[1])
        else:
            for item in value:
                yield from walk(item)

    return list(walk(geometry["coordinates"]))


async def get_tile(client, z: int, x: int, y: int, **kw):
    return await client.get(f"/api/v1/tiles/{z}/{x}/{y}.mvt", **kw)


async def test_a_known_street_is_in_its_tile_with_its_class(client, city, loaded_city):
    name, (lat, lon) = street(city, "residential")
    x, y, px, py = tile_of(lat, lon, 15)
    response = await get_tile(client, 15, x, y)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/vnd.mapbox-vector-tile"
    layers = decode(response.content)
    assert {"roads", "zones"} <= set(layers)
    assert layers["roads"]["extent"] == EXTENT
    features = [f for f in layers["roads"]["features"] if f["properties"].get("name") == name]
    assert features, f"{name} not in the tile"
    assert {f["properties"]["class"] for f in features} == {"residential"}
    assert all(isinstance(f["properties"]["oneway"], bool) for f in features)
    points = [p for f in features for p in vertices(f["geometry"])]
    assert all(-BUFFER <= px_ <= EXTENT + BUFFER and -BUFFER <= py_ <= EXTENT + BUFFER
               for px_, py_ in points)
    # The node we looked for is a vertex of the street (within a unit of rounding).
    assert min(math.hypot(px_ - px, py_ - py) for px_, py_ in points) <= 1.5
    classes = {f["properties"]["class"] for f in layers["roads"]["features"]}
    assert classes <= {"motorway", "trunk", "primary", "secondary", "tertiary", "residential",
                       "service", "path"}
    zone = layers["zones"]["features"][0]["properties"]
    assert set(zone) == {"id", "name", "active"} and zone["active"] is True


async def test_the_river_is_in_the_water_layer(client, city, loaded_city):
    river = next(w for w in city.ways if dict(w.tags).get("waterway") == "river")
    node = next(n for n in city.nodes if n.id == river.node_ids[len(river.node_ids) // 2])
    x, y, _, _ = tile_of(node.lat, node.lon, 14)
    layers = decode((await get_tile(client, 14, x, y)).content)
    kinds = {f["properties"]["kind"] for f in layers["water"]["features"]}
    assert kinds == {"river"}
    types = {f["geometry"]["type"] for f in layers["water"]["features"]}
    assert "LineString" in types and ({"Polygon", "MultiPolygon"} & types)


async def test_residential_streets_appear_only_from_zoom_12(client, city, loaded_city):
    name, (lat, lon) = street(city, "residential")
    primary, (plat, plon) = street(city, "primary")
    at = {}
    for z in (11, 13, 15):
        x, y, _, _ = tile_of(lat, lon, z)
        response = await get_tile(client, z, x, y)
        assert response.status_code == 200
        at[z] = decode(response.content)["roads"]["features"]
    assert not any(f["properties"].get("name") == name for f in at[11])
    assert {f["properties"]["class"] for f in at[11]} <= {"motorway", "trunk", "primary"}
    assert any(f["properties"]["class"] == "primary" for f in at[11])
    assert {f["properties"]["class"] for f in at[13]} >= {"primary", "secondary", "tertiary"}
    assert "residential" not in {f["properties"]["class"] for f in at[13]}
    assert any(f["properties"].get("name") == name for f in at[15])


async def test_a_tile_away_from_every_network_is_empty(client, loaded_city):
    x, y, _, _ = tile_of(-40.0, -30.0, 14)  # the South Atlantic
    response = await get_tile(client, 14, x, y)
    assert response.status_code == 204 and response.content == b""
    assert "max-age" in response.headers["cache-control"] and response.headers["etag"]


@pytest.mark.parametrize("path", [
    "/api/v1/tiles/23/0/0.mvt", "/api/v1/tiles/-1/0/0.mvt", "/api/v1/tiles/3/8/0.mvt",
    "/api/v1/tiles/3/0/8.mvt", "/api/v1/tiles/3/-1/0.mvt", "/api/v1/tiles/3/a/0.mvt",
    "/api/v1/tiles/3/0/1.5.mvt", "/api/v1/tiles/0/0/99999999999999999999999.mvt",
])
async def test_bad_tile_addresses_are_refused(client, path):
    response = await client.get(path, headers={"Accept-Language": "ru"})
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] in ("invalid_tile", "validation_error")
    assert set(error) == {"code", "message", "details"}
    assert error["message"] in ("Такого тайла не существует.", "Некорректный запрос.")


async def test_tiles_are_cached_and_revalidated(client, app, city, loaded_city):
    _, (lat, lon) = street(city, "primary")
    x, y, _, _ = tile_of(lat, lon, 13)
    first = await get_tile(client, 13, x, y)
    hits = app.state.tile_cache.hits
    second = await get_tile(client, 13, x, y)
    assert second.content == first.content and app.state.tile_cache.hits == hits + 1
    etag = first.headers["etag"]
    assert second.headers["etag"] == etag
    assert first.headers["cache-control"] == "public, max-age=60"
    unchanged = await get_tile(client, 13, x, y, headers={"If-None-Match": etag})
    assert unchanged.status_code == 304 and unchanged.content == b""
    tilejson = (await client.get("/api/v1/tiles.json")).json()
    versioned = await client.get(tilejson["tiles"][0].replace("http://test", "").format(
        z=13, x=x, y=y))
    assert versioned.status_code == 200
    assert versioned.headers["cache-control"] == "public, max-age=86400, immutable"


async def test_tilejson_describes_the_tiles(client, loaded_city):
    response = await client.get("/api/v1/tiles.json")
    assert response.status_code == 200
    body = response.json()
    assert body["tilejson"] == "3.0.0"
    assert body["tiles"][0].startswith("http://test/api/v1/tiles/{z}/{x}/{y}.mvt?v=")
    assert body["attribution"] == "© OpenStreetMap contributors"
    assert {layer["id"] for layer in body["vector_layers"]} == {"roads", "water", "parks",
                                                                "zones"}
    roads = next(layer for layer in body["vector_layers"] if layer["id"] == "roads")
    assert roads["fields"] == {"class": "String", "name": "String", "oneway": "Boolean"}
    min_lon, min_lat, max_lon, max_lat = body["bounds"]
    lon, lat, zoom = body["center"]
    assert min_lon < lon < max_lon and min_lat < lat < max_lat and 10 <= zoom <= 16
    # No network is configured in the tests: the active zones (central Tashkent) frame it.
    assert min_lon <= 69.279 <= max_lon and min_lat <= 41.311 <= max_lat
    assert body["minzoom"] == 0 and body["maxzoom"] == 16


def _rows(settings, name: str) -> tuple[int, int, int]:
    with psycopg.connect(libpq_url(settings.database_url)) as conn:
        roads = conn.execute("SELECT count(*) FROM map_roads WHERE network = %s",
                             (name,)).fetchone()[0]
        water = conn.execute("SELECT count(*) FROM map_water WHERE network = %s",
                             (name,)).fetchone()[0]
        generation = conn.execute("SELECT generation FROM map_networks WHERE name = %s",
                                  (name,)).fetchone()[0]
    return roads, water, generation


async def test_a_reimport_replaces_the_rows_and_the_tiles(client, settings, tmp_path):
    name = "reimport-test"
    small = write_osm(generate_city(size_km=1.0, seed=3, center=(10.0, 10.0)),
                      tmp_path / "small.osm.pbf")
    first = load_map_features(small, name=name, database_url=settings.database_url)
    roads, water, generation = _rows(settings, name)
    assert (roads, water) == (first.roads, first.water) and roads > 0
    again = load_map_features(small, name=name, database_url=settings.database_url)
    assert again.unchanged and _rows(settings, name) == (roads, water, generation)
    forced = load_map_features(small, name=name, database_url=settings.database_url,
                               force=True)
    assert _rows(settings, name) == (roads, water, forced.generation)
    assert forced.generation > generation

    x, y, _, _ = tile_of(10.0, 10.0, 14)
    before = await get_tile(client, 14, x, y)
    assert before.status_code == 200 and "roads" in decode(before.content)
    # Same name, a city elsewhere: the old rows go, and the old tile with them.
    moved = write_osm(generate_city(size_km=1.5, seed=4, center=(-10.0, -10.0)),
                      tmp_path / "moved.osm.pbf")
    replaced = load_map_features(moved, name=name, database_url=settings.database_url)
    assert _rows(settings, name) == (replaced.roads, replaced.water, replaced.generation)
    assert replaced.roads != roads
    # Each worker trusts the version it read for COURIER_TILE_VERSION_TTL_S (1 s).
    for _ in range(40):
        after = await get_tile(client, 14, x, y)
        if after.headers["etag"] != before.headers["etag"]:
            break
        await asyncio.sleep(0.1)
    # Its roads and water are gone (a zone another test drew there may still show: 200).
    assert after.status_code == 204 or not {"roads", "water"} & set(decode(after.content))
    assert after.headers["etag"] != before.headers["etag"]
    x, y, _, _ = tile_of(-10.0, -10.0, 14)
    moved_tile = await get_tile(client, 14, x, y)
    assert moved_tile.status_code == 200 and "roads" in decode(moved_tile.content)
