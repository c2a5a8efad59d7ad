"""Small spherical geometry in WGS84 (haversine distance, point in polygon)."""

from __future__ import annotations

from collections.abc import Sequence

from geodata.points import EARTH_RADIUS_M, haversine_m

__all__ = ["EARTH_RADIUS_M", "distance_m", "point_in_polygon", "point_in_multipolygon"]



def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres (`geodata.points.haversine_m`, four plain floats)."""
    return haversine_m((lat1, lon1), (lat2, lon2))


Ring = Sequence[Sequence[float]]  # [[lon, lat], ...] as in GeoJSON


def _in_ring(lon: float, lat: float, ring: Ring) -> bool:
    inside = False
    n = len(ring)
    j = n - 1
    for i in range(n):
        xi, yi = ring[i][0], ring[i][1]
        xj, yj = ring[j][0], ring[j][1]
        if (yi > lat) != (yj > lat) and lon < (xj - xi) * (lat - yi) / (yj - yi) + xi:
            inside = not inside
        j = i
    return inside


def point_in_polygon(lat: float, lon: float, rings: Sequence[Ring]) -> bool:
    """GeoJSON polygon rings (outer first, then holes), planar even-odd test on lon/lat."""
    if not rings or not _in_ring(lon, lat, rings[0]):
        return False
    return not any(_in_ring(lon, lat, hole) for hole in rings[1:])


def point_in_multipolygon(lat: float, lon: float, polygons: Sequence[Sequence[Ring]]) -> bool:
    return any(point_in_polygon(lat, lon, rings) for rings in polygons)
