"""Converting between our `(lat, lon)` API order and PostGIS points (`lon lat`, SRID 4326)."""

from __future__ import annotations

from typing import Any

import shapely.wkt
from geoalchemy2.shape import to_shape

from geodata.points import LatLon

__all__ = ["LatLon", "point_ewkt", "to_lat_lon"]




def point_ewkt(lat: float, lon: float) -> str:
    """EWKT for a WGS84 point; note PostGIS wants longitude first."""
    return f"SRID=4326;POINT({float(lon)!r} {float(lat)!r})"


def to_lat_lon(value: Any) -> LatLon | None:
    """A stored geography point (WKB element) as `LatLon`, or None."""
    if value is None:
        return None
    if isinstance(value, str):  # an EWKT we assigned ourselves, not yet reloaded
        point = shapely.wkt.loads(value.split(";", 1)[-1])
    else:
        point = to_shape(value)
    return LatLon(point.y, point.x)
