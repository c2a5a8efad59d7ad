"""The synthetic city: reproducible by seed, believable, and connected for every profile."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
from shapely.geometry import LineString, Point, Polygon

from geodata.points import LatLon, haversine_m
from geodata.synth_city import generate_city
from geodata.synth_osm import synthesize_network, write_osm
from tests.geodata.networks import SYNTH_SEED, SYNTH_SIZE_KM, TEST_DATA_DIR


@pytest.fixture(scope="module")
def city():
    return generate_city(size_km=SYNTH_SIZE_KM, seed=SYNTH_SEED)


def _tags(way):
    return dict(way.tags)


def _coords(city, way):
    by_id = {n.id: n for n in city.nodes}
    return [(by_id[i].lon, by_id[i].lat) for i in way.node_ids]  # shapely/GeoJSON order


def test_same_seed_same_bytes_other_seed_other_city(tmp_path):
    def digest(seed, name):
        path = write_osm(generate_city(size_km=2, seed=seed), tmp_path / f"{name}.osm.pbf")
        return hashlib.sha256(path.read_bytes()).hexdigest()

    assert digest(5, "a") == digest(5, "b")
    assert digest(5, "a") != digest(6, "c")


def test_same_seed_gives_the_same_network(synth_network):
    again = synthesize_network(
        name=synth_network.name, data_dir=TEST_DATA_DIR, size_km=SYNTH_SIZE_KM, seed=SYNTH_SEED
    )
    assert again.unchanged
    assert again.info.source_sha256 == synth_network.source_sha256
    assert synth_network.raw["synth"]["seed"] == SYNTH_SEED


def test_city_is_centred_on_tashkent_by_default(city):
    lats = [n.lat for n in city.nodes]
    lons = [n.lon for n in city.nodes]
    assert haversine_m((np.mean(lats), np.mean(lons)), (41.311, 69.279)) < 500


def test_city_has_arterials_one_ways_and_a_pedestrian_core(city):
    highways = [_tags(w).get("highway") for w in city.ways]
    assert highways.count("primary") >= 2 and "secondary" in highways
    assert {"pedestrian", "footway"} <= set(highways)
    assert any(_tags(w).get("oneway") == "yes" for w in city.ways)
    for way in city.ways:
        tags = _tags(way)
        if tags.get("highway") == "primary":
            assert tags["maxspeed"] == "60"


def test_river_is_crossed_only_by_a_few_bridges(city):
    water = next(w for w in city.ways if _tags(w).get("natural") == "water")
    river = Polygon(_coords(city, water))
    crossing = [
        w
        for w in city.ways
        if "highway" in _tags(w) and LineString(_coords(city, w)).intersects(river)
    ]
    assert crossing, "no bridge at all"
    assert all(_tags(w).get("bridge") == "yes" for w in crossing)
    bridged_streets = {_tags(w)["name"] for w in crossing}
    assert 3 <= len(bridged_streets) <= 5
    assert any(_tags(w)["highway"] == "footway" for w in crossing)  # a footbridge


def test_every_profile_reaches_every_point(synth_models, synth_network):
    rng = np.random.default_rng(11)
    min_lon, min_lat, max_lon, max_lat = synth_network.bbox
    pts = np.column_stack([rng.uniform(min_lat, max_lat, 60), rng.uniform(min_lon, max_lon, 60)])
    for profile in ("foot", "bicycle", "scooter", "car"):
        m = synth_models.for_profile(profile).matrix(pts)
        assert m.reachable.all(), profile


def test_faster_vehicles_are_faster(synth_models, synth_network):
    a, b = LatLon(41.300, 69.265), LatLon(41.318, 69.292)
    durations = {
        p: synth_models.for_profile(p).route([a, b]).duration_s
        for p in ("foot", "bicycle", "scooter", "car")
    }
    assert durations["foot"] > durations["bicycle"] > durations["scooter"] > durations["car"]


def _longest(city, predicate):
    ways = [w for w in city.ways if predicate(_tags(w))]
    return max(ways, key=lambda w: LineString(_coords(city, w)).length)


def _mid_block(city, way):
    """Points 30 % and 70 % along the way's first block (no junction between them)."""
    (lon0, lat0), (lon1, lat1) = _coords(city, way)[:2]
    a = LatLon(lat0 + 0.3 * (lat1 - lat0), lon0 + 0.3 * (lon1 - lon0))
    b = LatLon(lat0 + 0.7 * (lat1 - lat0), lon0 + 0.7 * (lon1 - lon0))
    return a, b


def test_cars_drive_faster_on_arterials(city, synth_models):
    car = synth_models.for_profile("car")

    def speed_mps(way):
        route = car.route(list(_mid_block(city, way)))
        return route.distance_m / route.duration_s

    primary = _longest(city, lambda t: t.get("highway") == "primary" and "bridge" not in t)
    residential = _longest(city, lambda t: t.get("highway") == "residential")
    assert speed_mps(primary) > 1.5 * speed_mps(residential)


def test_one_way_streets_are_one_way_for_cars(city, synth_models):
    car = synth_models.for_profile("car")
    a, b = _mid_block(city, _longest(city, lambda t: t.get("oneway") == "yes"))
    forward, backward = car.route([a, b]), car.route([b, a])
    assert backward.distance_m > forward.distance_m + 100
    foot = synth_models.for_profile("foot")
    assert foot.route([b, a]).distance_m == pytest.approx(foot.route([a, b]).distance_m, abs=5)


def test_cars_stay_out_of_the_pedestrian_core(city, synth_models):
    core_nodes = {
        i for w in city.ways if _tags(w).get("highway") == "pedestrian" for i in w.node_ids
    }
    centre = Point(city.center[1], city.center[0])
    node = min(
        (n for n in city.nodes if n.id in core_nodes),
        key=lambda n: centre.distance(Point(n.lon, n.lat)),
    )
    point = LatLon(node.lat, node.lon)
    assert synth_models.for_profile("foot").snap(point).distance_m < 5
    assert synth_models.for_profile("car").snap(point).distance_m > 50
