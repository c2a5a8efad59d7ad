"""Converting between our `(lat, lon)` API order and PostGIS points (`lon lat`, SRID 4326)."""

from __future__ import annotations

import struct
from typing import Any

import shapely.wkt
from geoalchemy2.shape import to_shape

from geodata.points import LatLon

__all__ = ["LatLon", "point_ewkt", "to_lat_lon"]

#: (E)WKB geometry type of a 2D point, and the EWKB flag that says an SRID follows the type.
_WKB_POINT = 1
_EWKB_SRID_FLAG = 0x20000000


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
        fast = _wkb_point(getattr(value, "data", None))
        if fast is not None:
            return fast
        point = to_shape(value)
    return LatLon(point.y, point.x)


def _wkb_point(data: Any) -> LatLon | None:
    """A 2D (E)WKB point read directly (six times cheaper than through shapely, and a list
    page reads two per order); None for anything else, which shapely then reads."""
    if isinstance(data, str):
        try:
            data = bytes.fromhex(data)
        except ValueError:
            return None
    if not isinstance(data, (bytes, bytearray, memoryview)) or len(data) < 21:
        return None
    raw = bytes(data)
    order = "<" if raw[0] == 1 else ">"
    (kind,) = struct.unpack_from(order + "I", raw, 1)
    offset = 9 if kind & _EWKB_SRID_FLAG else 5
    if kind & 0xFFFF != _WKB_POINT or kind & ~(_EWKB_SRID_FLAG | 0xFFFF) \
            or len(raw) != offset + 16:
        return None
    lon, lat = struct.unpack_from(order + "dd", raw, offset)
    return LatLon(lat, lon)
