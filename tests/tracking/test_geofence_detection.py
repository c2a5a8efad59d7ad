"""Entering and leaving stop circles (with hysteresis) and zones."""

from __future__ import annotations

from tracking.geo import distance_m, point_in_multipolygon
from tracking.geofence import CircleFence, ZoneFence, detect_transitions

PICKUP = CircleFence(order_id=11, kind="pickup", lat=41.3110, lon=69.2790, radius_m=75)
ZONE = ZoneFence(zone_id=3, polygons=[[[[69.20, 41.25], [69.36, 41.25], [69.36, 41.36],
                                        [69.20, 41.36], [69.20, 41.25]]]])


def north_of_pickup(metres: float) -> tuple[float, float]:
    return PICKUP.lat + metres / 111_195.0, PICKUP.lon


def test_distance_is_about_right():
    assert abs(distance_m(41.0, 69.0, 42.0, 69.0) - 111_195) < 100


def test_enter_then_exit_a_stop_circle():
    lat, lon = north_of_pickup(200)
    events, inside = detect_transitions(5, frozenset(), lat, lon, 1.0, [PICKUP])
    assert events == [] and inside == frozenset()
    lat, lon = north_of_pickup(50)
    events, inside = detect_transitions(5, inside, lat, lon, 2.0, [PICKUP])
    assert [(e.transition, e.order_id, e.fence.kind) for e in events] == [("enter", 11, "pickup")]
    assert events[0].as_wire()["order_id"] == 11
    lat, lon = north_of_pickup(200)
    events, inside = detect_transitions(5, inside, lat, lon, 3.0, [PICKUP])
    assert [e.transition for e in events] == ["exit"] and inside == frozenset()


def test_jitter_on_the_edge_does_not_flap():
    lat, lon = north_of_pickup(70)
    _, inside = detect_transitions(5, frozenset(), lat, lon, 1.0, [PICKUP])
    for metres in (80, 70, 85, 72):  # within radius * 1.2 = 90 m
        lat, lon = north_of_pickup(metres)
        events, inside = detect_transitions(5, inside, lat, lon, 2.0, [PICKUP])
        assert events == []
    assert inside == {PICKUP.key}


def test_zones_and_fences_that_disappear():
    events, inside = detect_transitions(5, frozenset(), 41.3, 69.25, 1.0, [ZONE])
    assert [(e.transition, e.fence.kind) for e in events] == [("enter", "zone")]
    assert events[0].order_id is None and events[0].as_wire()["zone_id"] == 3
    events, inside = detect_transitions(5, inside, 40.0, 69.25, 2.0, [ZONE])
    assert [e.transition for e in events] == ["exit"]
    # A delivered order's fence vanishes: that is not an exit.
    _, inside = detect_transitions(5, frozenset(), *north_of_pickup(10), 3.0, [PICKUP])
    events, _ = detect_transitions(5, inside, *north_of_pickup(10), 4.0, [])
    assert events == []


def test_polygon_holes():
    outer = [[0, 0], [10, 0], [10, 10], [0, 10], [0, 0]]
    hole = [[4, 4], [6, 4], [6, 6], [4, 6], [4, 4]]
    assert point_in_multipolygon(2, 2, [[outer, hole]])
    assert not point_in_multipolygon(5, 5, [[outer, hole]])
    assert not point_in_multipolygon(11, 5, [[outer, hole]])
