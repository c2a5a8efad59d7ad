"""OSRM travel models on real extracts (Portland, Monaco): real engine, no mocks."""

from __future__ import annotations

import numpy as np
import osmium
import pytest

from geodata.exceptions import InvalidInput, NetworkNotFound, PointOffNetwork, UnknownVehicle
from geodata.osrm_travel import OsrmTravelModel, _table_to_array
from geodata.points import LatLon, haversine_m, pairwise_haversine_m
from geodata.travel import load_travel_models
from tests.geodata.networks import TEST_NETWORKS_DIR, shared_osm

#: Downtown Portland and Monaco points well inside each extract.
PORTLAND = [
    LatLon(45.5191, -122.6790),  # Pioneer Courthouse Square
    LatLon(45.5231, -122.6765),
    LatLon(45.5122, -122.6587),  # east of the river
    LatLon(45.5289, -122.6986),
    LatLon(45.5080, -122.6830),
    LatLon(45.5350, -122.6640),
]
MONACO = [
    LatLon(43.7396, 7.4270),  # Monte-Carlo
    LatLon(43.7311, 7.4197),  # La Condamine
    LatLon(43.7285, 7.4147),
    LatLon(43.7265, 7.4170),  # Monaco-Ville
    LatLon(43.7257, 7.4126),  # Fontvieille
    LatLon(43.7485, 7.4380),
]
MEDITERRANEAN = LatLon(43.70, 7.45)  # ~4 km offshore, outside the extract's extent
MONACO_BAY = LatLon(43.725, 7.445)  # inside the extent, 1.6 km from the nearest road
PARIS = LatLon(48.8566, 2.3522)


def _random_points(bbox, n, seed, inset_deg=0.005):
    rng = np.random.default_rng(seed)
    min_lon, min_lat, max_lon, max_lat = bbox
    return np.column_stack(
        [
            rng.uniform(min_lat + inset_deg, max_lat - inset_deg, n),
            rng.uniform(min_lon + inset_deg, max_lon - inset_deg, n),
        ]
    )


def test_models_are_osrm_and_report_it(portland_models):
    assert portland_models.kind == "osrm"
    model = portland_models.for_vehicle("car")
    assert isinstance(model, OsrmTravelModel) and model.kind == "osrm"
    assert portland_models.for_vehicle("bicycle").profile == "bicycle"
    # Profiles the test network was not built with fall back, visibly.
    assert portland_models.for_profile("foot").kind == "straight_line"
    assert "foot" in portland_models.fallback_profiles
    assert portland_models.describe()["profiles"]["car"] == "osrm"
    assert portland_models.attribution == "© OpenStreetMap contributors"


@pytest.mark.parametrize("profile", ["car", "bicycle"])
def test_road_distance_is_never_shorter_than_the_straight_line(portland_models, profile):
    model = portland_models.for_profile(profile)
    pts = PORTLAND
    m = model.matrix(pts)
    # Compare with the crow-flies distance between the snapped points: that is where the
    # route really starts and ends.
    snapped = np.array([model.snap(p).point for p in pts])
    crow_m = pairwise_haversine_m(snapped, snapped)
    assert m.reachable.all()
    assert (m.distances_m >= crow_m - 1.0).all()
    assert (m.durations_s[~np.eye(len(pts), dtype=bool)] > 0).all()
    for a, b in [(0, 2), (3, 5), (4, 1)]:
        route = model.route([pts[a], pts[b]])
        assert route.distance_m >= haversine_m(route.waypoints[0], route.waypoints[1]) - 1e-6


def test_many_random_pairs_respect_the_straight_line(monaco_models, monaco_network):
    model = monaco_models.for_profile("foot")
    pts = _random_points(monaco_network.bbox, 40, seed=3, inset_deg=0.01)
    try:
        m = model.matrix(pts)
    except PointOffNetwork as exc:  # random points may fall in the sea: drop those
        bad = {p["index"] for p in exc.details["points"]}
        pts = np.array([p for i, p in enumerate(pts) if i not in bad])
        m = model.matrix(pts)
    snapped = np.array([model.snap(LatLon(*p)).point for p in pts])
    crow_m = pairwise_haversine_m(snapped, snapped)
    ok = m.reachable
    assert ok.mean() > 0.9
    assert (m.distances_m[ok] >= crow_m[ok] - 1.0).all()


def _one_way_segments(limit):
    """Mid-block points (A, B) on one-way streets of the Portland extract, in travel order."""
    found = []
    processor = (
        osmium.FileProcessor(
            str(shared_osm("portland-central.osm.pbf")), osmium.osm.NODE | osmium.osm.WAY
        )
        .with_locations()
        .with_filter(osmium.filter.EntityFilter(osmium.osm.WAY))
    )
    for way in processor:
        tags = way.tags
        if tags.get("oneway") != "yes" or "junction" in tags:
            continue
        if tags.get("highway") not in ("secondary", "tertiary", "residential"):
            continue
        locations = [(n.lat, n.lon) for n in way.nodes]
        for a, b in zip(locations, locations[1:], strict=False):
            if 100 < haversine_m(a, b) < 250:
                point_a = LatLon(a[0] + 0.3 * (b[0] - a[0]), a[1] + 0.3 * (b[1] - a[1]))
                point_b = LatLon(a[0] + 0.7 * (b[0] - a[0]), a[1] + 0.7 * (b[1] - a[1]))
                found.append((way.id, point_a, point_b))
                break
        if len(found) >= limit:
            break
    return found


def test_one_way_streets_make_a_to_b_differ_from_b_to_a(portland_models):
    car = portland_models.for_profile("car")
    segments = _one_way_segments(limit=5)
    assert len(segments) == 5
    for way_id, a, b in segments:
        forward, backward = car.route([a, b]), car.route([b, a])
        # Along the one-way: about the straight distance. Against it: around the block.
        assert forward.distance_m < 1.2 * haversine_m(a, b) + 5, way_id
        assert backward.distance_m > forward.distance_m + 100, way_id
        m = car.matrix([a, b])
        assert m.durations_s[1, 0] > m.durations_s[0, 1]


def test_matrix_agrees_with_pairwise_routes(monaco_models):
    for profile in ("car", "foot"):
        model = monaco_models.for_profile(profile)
        m = model.matrix(MONACO[:4], MONACO[2:])
        for i, a in enumerate(MONACO[:4]):
            for j, b in enumerate(MONACO[2:]):
                route = model.route([a, b])
                assert m.durations_s[i, j] == pytest.approx(route.duration_s, abs=1.0)
                assert m.distances_m[i, j] == pytest.approx(route.distance_m, abs=10.0)


def test_ch_and_mld_give_the_same_answers(monaco_network):
    ch = load_travel_models(TEST_NETWORKS_DIR, "monaco", algorithm="ch").for_profile("bicycle")
    mld = load_travel_models(TEST_NETWORKS_DIR, "monaco", algorithm="mld").for_profile("bicycle")
    a, b = ch.matrix(MONACO), mld.matrix(MONACO)
    np.testing.assert_allclose(a.durations_s, b.durations_s, atol=1.0)
    np.testing.assert_allclose(a.distances_m, b.distances_m, atol=10.0)


def test_route_has_legs_and_geojson_geometry(monaco_models):
    route = monaco_models.for_profile("car").route(MONACO[:3])
    assert len(route.legs) == 2
    assert route.duration_s == pytest.approx(sum(leg.duration_s for leg in route.legs))
    coords = route.geometry["coordinates"]
    assert route.geometry["type"] == "LineString" and len(coords) >= 2
    lon, lat = coords[0]  # GeoJSON: [lon, lat]
    assert 7.3 < lon < 7.5 and 43.7 < lat < 43.8
    assert haversine_m((lat, lon), route.waypoints[0]) < 1.0
    with pytest.raises(InvalidInput):
        monaco_models.for_profile("car").route(MONACO[:1])


def test_duplicate_points_are_computed_once_and_expanded(monaco_models):
    model = monaco_models.for_profile("car")
    pts = [MONACO[0], MONACO[1], MONACO[0], MONACO[2], MONACO[1]]
    m = model.matrix(pts, pts[:3])
    unique = model.matrix(MONACO[:3], MONACO[:3])
    index = [0, 1, 0, 2, 1]
    np.testing.assert_array_equal(m.durations_s, unique.durations_s[np.ix_(index, [0, 1, 0])])
    assert m.durations_s.shape == (5, 3)


def test_snap_moves_a_point_onto_a_road_and_caches_it(monaco_models):
    model = monaco_models.for_profile("car")
    first = model.snap(MONACO[0])
    assert first.distance_m < 100 and first.point != MONACO[0]
    assert model.snap(MONACO[0]) is first  # reused, not recomputed


def test_a_point_in_the_sea_fails_clearly(monaco_models):
    model = monaco_models.for_profile("car")
    with pytest.raises(PointOffNetwork) as info:
        model.snap(MEDITERRANEAN)
    error = info.value
    assert error.code == "point_off_network"
    assert error.details["points"][0]["distance_m"] > 1000  # says how far the road is
    with pytest.raises(PointOffNetwork) as info:
        model.matrix([MONACO[0], MONACO_BAY, MONACO[1]], [MONACO[2]])
    [point] = info.value.details["points"]
    assert (point["role"], point["index"]) == ("sources", 1)
    assert point["distance_m"] > 1000
    with pytest.raises(PointOffNetwork):
        model.route([MONACO[0], MONACO_BAY])
    with pytest.raises(PointOffNetwork):
        model.route([MONACO[0], MEDITERRANEAN])


def test_a_point_far_outside_fails_without_asking_osrm(monaco_models):
    model = monaco_models.for_profile("foot")
    with pytest.raises(PointOffNetwork) as info:
        model.matrix([MONACO[0]], [MONACO[1], PARIS])
    assert info.value.details["points"][0]["role"] == "destinations"
    assert info.value.details["points"][0]["index"] == 1
    assert "extent" in info.value.message


def test_a_point_just_off_the_shore_snaps(monaco_models):
    # The harbour basin of La Condamine: water, but a quay is within a hundred metres.
    snapped = monaco_models.for_profile("foot").snap(LatLon(43.7350, 7.4235))
    assert 0 < snapped.distance_m < 500


def test_unreachable_pairs_become_nan():
    table = [[0.0, None, 3.5], [1.0, 2.0, None]]
    values = _table_to_array(table, 2, 3)
    assert values.dtype == np.float64
    assert np.isnan(values[0, 1]) and np.isnan(values[1, 2])
    assert values[0, 2] == 3.5


def test_loading_without_a_network_gives_straight_lines(tmp_path):
    models = load_travel_models(tmp_path, None)
    assert models.kind == "straight_line" and "unset" in models.reason
    missing = load_travel_models(tmp_path, "atlantis")
    assert missing.kind == "straight_line" and "not built" in missing.reason
    assert missing.for_vehicle("scooter").kind == "straight_line"
    with pytest.raises(NetworkNotFound):
        load_travel_models(tmp_path, "atlantis", strict=True)
    with pytest.raises(UnknownVehicle) as info:
        models.for_vehicle("zeppelin")
    assert info.value.code == "unknown_vehicle"


def test_matrix_split_over_worker_processes_matches(monaco_network):
    single = load_travel_models(TEST_NETWORKS_DIR, "monaco").for_profile("car")
    split = OsrmTravelModel(
        monaco_network.osrm_path("car"),
        profile="car",
        bbox=monaco_network.bbox,
        matrix_workers=1,
        parallel_min_pairs=1,
    )
    try:
        sources = MONACO + [MONACO[0]]
        a, b = single.matrix(sources, MONACO[:4]), split.matrix(sources, MONACO[:4])
        np.testing.assert_array_equal(a.durations_s, b.durations_s)
        np.testing.assert_array_equal(a.distances_m, b.distances_m)
        with pytest.raises(PointOffNetwork) as info:
            split.matrix(MONACO, [MONACO[0], MONACO_BAY])
        [point] = info.value.details["points"]
        assert (point["role"], point["index"]) == ("destinations", 1)
    finally:
        split.close()


def test_unreachable_pairs_are_nan_and_routes_fail_with_no_route(tmp_path):
    """Two streets 2.5 km apart with nothing between them: real OSRM, explicit gaps."""
    from geodata.exceptions import NoRoute
    from geodata.network_import import import_network

    nodes, ways, next_id = [], [], 1
    for way_id, lon in enumerate((69.20, 69.23), start=1):
        refs = []
        for k in range(6):
            nodes.append(
                f'<node id="{next_id}" version="1" lat="{41.30 + k * 0.001:.6f}" lon="{lon}"/>'
            )
            refs.append(f'<nd ref="{next_id}"/>')
            next_id += 1
        road = '<tag k="highway" v="residential"/>'
        ways.append(f'<way id="{way_id}" version="1">{"".join(refs)}{road}</way>')
    osm = tmp_path / "islands.osm"
    osm.write_text(f'<?xml version="1.0"?>\n<osm version="0.6">{"".join(nodes + ways)}</osm>\n')
    import_network(osm, name="islands", networks_dir=tmp_path, profiles=["car"], algorithms=["mld"])
    car = load_travel_models(tmp_path, "islands").for_profile("car")

    west_a, west_b, east = LatLon(41.301, 69.2001), LatLon(41.304, 69.2001), LatLon(41.302, 69.2301)
    m = car.matrix([west_a, west_b, east])
    assert m.durations_s[0, 1] > 0 and np.isfinite(m.durations_s[0, 1])
    assert np.isnan(m.durations_s[0, 2]) and np.isnan(m.distances_m[2, 1])
    assert m.reachable.tolist() == [[True, True, False], [True, True, False], [False, False, True]]
    assert m.to_json()["durations_s"][2][0] is None
    with pytest.raises(NoRoute) as info:
        car.route([west_a, east])
    assert info.value.code == "no_route"
