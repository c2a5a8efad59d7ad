"""Reading stored PostGIS points back as (lat, lon): the direct (E)WKB path and shapely's."""

from __future__ import annotations

import shapely.wkb
from geoalchemy2.elements import WKBElement
from geoalchemy2.shape import from_shape
from shapely.geometry import LineString, Point

from dispatch.locations import LatLon, point_ewkt, to_lat_lon


def _element(geometry, **dump) -> WKBElement:
    return WKBElement(shapely.wkb.dumps(geometry, **dump), srid=4326, extended=True)


def test_points_read_back_in_lat_lon_order_from_every_encoding():
    expected = LatLon(41.311, 69.279)
    point = Point(69.279, 41.311)
    assert to_lat_lon(from_shape(point, srid=4326, extended=True)) == expected   # EWKB, LE
    assert to_lat_lon(from_shape(point, srid=4326, extended=False)) == expected  # plain WKB
    assert to_lat_lon(_element(point, big_endian=True, srid=4326)) == expected
    assert to_lat_lon(_element(point, hex=True, srid=4326)) == expected
    assert to_lat_lon(point_ewkt(41.311, 69.279)) == expected


def test_other_shapes_fall_back_to_shapely():
    with_z = _element(Point(1.5, -2.25, 3.0), srid=4326)
    assert to_lat_lon(with_z) == LatLon(-2.25, 1.5)
    line = from_shape(LineString([(0, 0), (1, 1)]), srid=4326, extended=True)
    try:
        to_lat_lon(line)
    except AttributeError:  # a line has no single y/x: shapely says so, we never guess
        pass
    else:
        raise AssertionError("a line read as a point")


def test_nothing_stored_is_none():
    assert to_lat_lon(None) is None
