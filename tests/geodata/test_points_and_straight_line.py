"""Coordinates, haversine and the straight-line / plane travel models (no OSRM)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from geodata.exceptions import InvalidInput, InvalidPoint, UnknownProfile
from geodata.points import LatLon, as_latlon_array, haversine_m, pairwise_haversine_m
from geodata.profiles import STRAIGHT_LINE_SPEED_MPS
from geodata.straight_line import PlaneModel, StraightLineModel

TASHKENT = LatLon(41.311, 69.279)
SAMARKAND = LatLon(39.6542, 66.9597)


def test_haversine_matches_a_known_distance():
    # Tashkent - Samarkand is about 270 km as the crow flies.
    assert 265_000 < haversine_m(TASHKENT, SAMARKAND) < 275_000
    assert haversine_m(TASHKENT, TASHKENT) == 0.0


def test_one_degree_of_latitude_is_about_111_km():
    assert haversine_m((0.0, 0.0), (1.0, 0.0)) == pytest.approx(111_195, rel=1e-3)


def test_pairwise_haversine_agrees_with_the_scalar_version():
    pts = np.array([TASHKENT, SAMARKAND, (41.30, 69.24)])
    table = pairwise_haversine_m(pts, pts)
    for i, a in enumerate(pts):
        for j, b in enumerate(pts):
            assert table[i, j] == pytest.approx(haversine_m(a, b), abs=1e-6)


@pytest.mark.parametrize("bad", [(91.0, 0.0), (0.0, 181.0), (math.nan, 1.0), (1.0, math.inf)])
def test_invalid_points_are_refused_with_their_index(bad):
    with pytest.raises(InvalidPoint) as info:
        as_latlon_array([TASHKENT, bad], role="sources")
    assert info.value.code == "invalid_point"
    assert info.value.details["index"] == 1


def test_points_must_be_pairs():
    with pytest.raises(InvalidPoint):
        as_latlon_array([(1.0, 2.0, 3.0)])


def test_straight_line_matrix_uses_detour_and_speed():
    model = StraightLineModel.for_profile("bicycle", detour_factor=1.3)
    assert model.kind == "straight_line"
    m = model.matrix([TASHKENT, SAMARKAND], [SAMARKAND])
    expected_m = haversine_m(TASHKENT, SAMARKAND) * 1.3
    assert m.distances_m.shape == (2, 1) and m.durations_s.dtype == np.float64
    assert m.distances_m[0, 0] == pytest.approx(expected_m)
    assert m.durations_s[0, 0] == pytest.approx(expected_m / STRAIGHT_LINE_SPEED_MPS["bicycle"])
    assert m.distances_m[1, 0] == 0.0
    assert m.reachable.all()


def test_straight_line_square_matrix_is_symmetric_with_zero_diagonal():
    pts = [TASHKENT, SAMARKAND, LatLon(41.30, 69.24)]
    m = StraightLineModel.for_profile("car").matrix(pts)
    np.testing.assert_allclose(m.durations_s, m.durations_s.T)
    np.testing.assert_array_equal(np.diag(m.distances_m), 0.0)


def test_vehicle_speeds_are_ordered():
    speeds = [STRAIGHT_LINE_SPEED_MPS[p] for p in ("foot", "bicycle", "scooter", "car")]
    assert speeds == sorted(speeds)


def test_straight_line_route_and_snap():
    model = StraightLineModel.for_profile("foot")
    route = model.route([TASHKENT, LatLon(41.30, 69.24), SAMARKAND])
    assert len(route.legs) == 2
    assert route.geometry["type"] == "LineString"
    assert route.geometry["coordinates"][0] == [TASHKENT.lon, TASHKENT.lat]  # GeoJSON order
    assert route.distance_m == pytest.approx(sum(leg.distance_m for leg in route.legs))
    assert model.snap(TASHKENT).distance_m == 0.0
    with pytest.raises(InvalidInput):
        model.route([TASHKENT])


def test_unknown_profile_is_refused():
    with pytest.raises(UnknownProfile) as info:
        StraightLineModel.for_profile("rocket")
    assert info.value.code == "unknown_profile"


def test_empty_matrix_has_the_right_shape():
    m = StraightLineModel.for_profile("car").matrix([], [TASHKENT])
    assert m.durations_s.shape == (0, 1)


def test_plane_model_is_euclidean_with_unit_speed():
    model = PlaneModel()
    m = model.matrix([(0.0, 0.0), (3.0, 4.0)])
    assert m.distances_m[0, 1] == 5.0 and m.durations_s[0, 1] == 5.0
    route = model.route([(0.0, 0.0), (3.0, 4.0), (3.0, 0.0)])
    assert [leg.distance_m for leg in route.legs] == [5.0, 4.0]
    fast = PlaneModel(speed=2.0).matrix([(0.0, 0.0)], [(0.0, 10.0)])
    assert fast.durations_s[0, 0] == 5.0


def test_matrix_json_uses_null_for_unreachable():
    from geodata.travel_types import TravelMatrix

    m = TravelMatrix(np.array([[0.0, np.nan]]), np.array([[0.0, np.nan]]))
    assert m.to_json() == {"durations_s": [[0.0, None]], "distances_m": [[0.0, None]]}
    assert m.reachable.tolist() == [[True, False]]
