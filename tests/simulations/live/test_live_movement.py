"""Moving along a polyline at a speed (`simulations.live.movement`), and the geometry under it."""

from __future__ import annotations

import math
import random

import pytest

from simulations.live.geo import Area, bearing_deg, distance_m, offset, ring_contains
from simulations.live.movement import Path, Trip, path_from_geojson, trip_speed_mps

ORIGIN = (41.30, 69.25)


def east_then_north(east_m: float, north_m: float) -> Path:
    corner = offset(*ORIGIN, east_m=east_m, north_m=0)
    end = offset(*corner, east_m=0, north_m=north_m)
    return Path([ORIGIN, corner, end])


def test_offset_and_distance_agree():
    moved = offset(*ORIGIN, east_m=300, north_m=400)
    assert distance_m(*ORIGIN, *moved) == pytest.approx(500, abs=0.5)


@pytest.mark.parametrize(("east", "north", "expected"),
                         [(0, 100, 0), (100, 0, 90), (0, -100, 180), (-100, 0, 270)])
def test_bearing_points_the_compass_way(east, north, expected):
    there = offset(*ORIGIN, east_m=east, north_m=north)
    assert bearing_deg(*ORIGIN, *there) == pytest.approx(expected, abs=0.1)


def test_path_length_and_positions_along_it():
    path = east_then_north(300, 400)
    assert path.length_m == pytest.approx(700, abs=0.5)
    lat, lon, heading = path.at(150)
    assert distance_m(*ORIGIN, lat, lon) == pytest.approx(150, abs=0.5)
    assert heading == pytest.approx(90, abs=0.1)
    lat, lon, heading = path.at(500)  # 200 m up the second leg
    assert heading == pytest.approx(0, abs=0.1)
    assert distance_m(lat, lon, *path.end) == pytest.approx(200, abs=0.5)
    assert path.at(-5)[:2] == ORIGIN and path.at(10_000)[:2] == path.end


def test_repeated_vertices_are_dropped_and_a_point_path_stands_still():
    path = Path([ORIGIN, ORIGIN, offset(*ORIGIN, east_m=10, north_m=0)])
    assert len(path.points) == 2
    still = Path([ORIGIN])
    assert still.length_m == 0 and still.at(3) == (*ORIGIN, None)


def test_trip_moves_at_its_speed_one_tick_at_a_time():
    trip = Trip(east_then_north(300, 400), speed_mps=5.0)
    poses = [trip.advance(1.0) for _ in range(60)]
    assert distance_m(*ORIGIN, poses[59].lat, poses[59].lon) == pytest.approx(300, abs=0.5)
    steps = [distance_m(a.lat, a.lon, b.lat, b.lon) for a, b in zip(poses, poses[1:], strict=False)]
    assert all(s == pytest.approx(5.0, abs=0.01) for s in steps)
    assert all(p.speed_mps == 5.0 for p in poses) and poses[10].heading_deg == pytest.approx(90,
                                                                                          abs=0.1)
    assert trip.eta_s == pytest.approx(80, abs=0.1)


def test_trip_ends_at_the_end_and_then_stands_still():
    trip = Trip(east_then_north(30, 40), speed_mps=10.0)  # 70 m: done in the 7th second
    for _ in range(7):
        pose = trip.advance(1.0)
    assert trip.done and trip.remaining_m == 0
    assert (pose.lat, pose.lon) == pytest.approx(trip.path.end)
    rest = trip.advance(1.0)
    assert rest.speed_mps == 0.0 and rest.heading_deg == pytest.approx(0, abs=0.1)


def test_a_late_tick_covers_the_time_that_passed():
    trip = Trip(east_then_north(300, 400), speed_mps=4.0)
    trip.advance(2.5)
    assert trip.along_m == pytest.approx(10.0)
    with pytest.raises(ValueError):
        Trip(trip.path, speed_mps=0)


def test_geojson_linestrings_are_lon_lat():
    path = path_from_geojson({"type": "LineString",
                              "coordinates": [[69.25, 41.30], [69.26, 41.30]]})
    assert path.points[0] == (41.30, 69.25)
    assert path.length_m == pytest.approx(distance_m(41.30, 69.25, 41.30, 69.26))


def test_trip_speed_follows_the_route_and_is_capped():
    assert trip_speed_mps(vehicle="car", distance_m=1000, duration_s=125) == 8.0
    assert trip_speed_mps(vehicle="bicycle", distance_m=None, duration_s=None) == 4.5
    assert trip_speed_mps(vehicle="car", distance_m=1000, duration_s=50, factor=4,
                          cap_mps=40) == 40.0
    assert trip_speed_mps(vehicle="foot", distance_m=1000, duration_s=0) == 1.4


SQUARE = {"type": "Polygon", "coordinates": [[[69.20, 41.25], [69.36, 41.25], [69.36, 41.36],
                                              [69.20, 41.36], [69.20, 41.25]]]}


def test_rings_and_areas_contain_what_they_should():
    ring = SQUARE["coordinates"][0]
    assert ring_contains(ring, 41.30, 69.30) and not ring_contains(ring, 41.40, 69.30)
    area = Area.from_zones([SQUARE], inset=0.0)
    assert area.contains(41.30, 69.30) and not area.contains(41.30, 69.40)


def test_areas_keep_to_the_network_box_the_inset_and_the_radius():
    area = Area.from_zones([SQUARE], within_bbox=[69.25, 41.28, 69.40, 41.40], inset=0.1)
    min_lon, min_lat, max_lon, max_lat = area.bbox
    assert min_lon == pytest.approx(69.25 + 0.011) and max_lat == pytest.approx(41.36 - 0.008)
    rng = random.Random(3)
    points = [area.sample(rng) for _ in range(200)]
    assert all(area.contains(*p) for p in points)
    disc = Area.from_zones([SQUARE], radius_m=500)
    near = [disc.sample(rng) for _ in range(200)]
    assert all(distance_m(*p, *disc.centre) <= 500 for p in near)
    with pytest.raises(ValueError):
        Area.from_zones([SQUARE], within_bbox=[70, 42, 71, 43])
    with pytest.raises(ValueError):
        Area.from_zones([])


def test_holes_are_outside():
    outer = [[0, 0], [10, 0], [10, 10], [0, 10], [0, 0]]
    hole = [[4, 4], [6, 4], [6, 6], [4, 6], [4, 4]]
    area = Area.from_zones([{"type": "MultiPolygon", "coordinates": [[outer, hole]]}],
                           inset=0.0)
    assert area.contains(2, 2) and not area.contains(5, 5)
    assert math.isclose(area.bbox[2], 10)
