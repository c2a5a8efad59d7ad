"""Coordinates and great-circle distance.

Axis order is the classic trap, so it is spelled out everywhere:

* our API, this package's public functions and :class:`LatLon` take ``(lat, lon)``;
* OSRM, GeoJSON and OSM take ``[lon, lat]`` -- conversion happens only at those edges.

All coordinates are WGS84 degrees (EPSG:4326).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray

from geodata.exceptions import InvalidPoint

__all__ = [
    "EARTH_RADIUS_M",
    "LatLon",
    "PlanePoint",
    "as_latlon_array",
    "haversine_m",
    "pairwise_haversine_m",
]

#: Mean Earth radius (IUGG), the usual choice for haversine distances.
EARTH_RADIUS_M = 6_371_008.8


class LatLon(NamedTuple):
    """A WGS84 point in our API order: latitude first, then longitude (degrees)."""

    lat: float
    lon: float


class PlanePoint(NamedTuple):
    """A point on a plane (benchmark instances such as Li & Lim), arbitrary units."""

    x: float
    y: float


def as_latlon_array(
    points: Iterable[Sequence[float]] | NDArray[np.float64], *, role: str = "points"
) -> NDArray[np.float64]:
    """Return ``points`` as an ``(n, 2)`` float64 array of ``(lat, lon)`` rows, validated.

    Accepts :class:`LatLon` tuples, plain ``(lat, lon)`` pairs or an existing array.
    Raises :class:`InvalidPoint` naming the first bad row.
    """
    arr = np.asarray(points if isinstance(points, np.ndarray) else list(points), dtype=np.float64)
    if arr.size == 0:
        return arr.reshape(0, 2)
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise InvalidPoint(
            f"{role} must be (lat, lon) pairs", details={"role": role, "shape": list(arr.shape)}
        )
    bad = ~(
        np.isfinite(arr).all(axis=1) & (np.abs(arr[:, 0]) <= 90.0) & (np.abs(arr[:, 1]) <= 180.0)
    )
    if bad.any():
        index = int(np.flatnonzero(bad)[0])
        lat, lon = (float(v) for v in arr[index])
        raise InvalidPoint(
            f"{role}[{index}] = ({lat}, {lon}) is not a valid (lat, lon) in degrees",
            details={"role": role, "index": index, "lat": lat, "lon": lon},
        )
    return arr


def haversine_m(a: LatLon | Sequence[float], b: LatLon | Sequence[float]) -> float:
    """Great-circle distance in metres between two ``(lat, lon)`` points."""
    lat1, lon1 = math.radians(a[0]), math.radians(a[1])
    lat2, lon2 = math.radians(b[0]), math.radians(b[1])
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def pairwise_haversine_m(
    sources: NDArray[np.float64], destinations: NDArray[np.float64]
) -> NDArray[np.float64]:
    """Great-circle distances (m) from every ``(lat, lon)`` source row to every destination.

    Vectorised with broadcasting: an ``(n, 2)`` and an ``(m, 2)`` array give ``(n, m)``.
    """
    lat1 = np.radians(sources[:, 0])[:, None]
    lon1 = np.radians(sources[:, 1])[:, None]
    lat2 = np.radians(destinations[:, 0])[None, :]
    lon2 = np.radians(destinations[:, 1])[None, :]
    h = (
        np.sin((lat2 - lat1) / 2) ** 2
        + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_M * np.arcsin(np.minimum(1.0, np.sqrt(h)))
