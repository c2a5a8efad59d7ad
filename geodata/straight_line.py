"""Travel costs without a road network: distance as the crow flies times a detour factor.

Two flavours:

* :class:`StraightLineModel` -- WGS84 ``(lat, lon)`` points, great-circle (haversine)
  distance. Used when no road network is loaded (``COURIER_NETWORK`` unset or not built).
* :class:`PlaneModel` -- ``(x, y)`` points on a plane, Euclidean distance. For benchmark
  instances such as Li & Lim, where "travel time equals distance" (speed 1, detour 1).

Everything is reachable, every point is on the "network" (snapping is the identity), and
the whole matrix is one numpy broadcast -- no Python loop per pair.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from geodata.exceptions import InvalidInput, InvalidPoint
from geodata.points import LatLon, PlanePoint, as_latlon_array, haversine_m, pairwise_haversine_m
from geodata.profiles import DEFAULT_DETOUR_FACTOR, STRAIGHT_LINE_SPEED_MPS, check_profile
from geodata.travel_types import ModelKind, Route, RouteLeg, Snapped, TravelMatrix

__all__ = ["StraightLineModel", "PlaneModel"]


@dataclass(frozen=True)
class StraightLineModel:
    """Haversine distance x ``detour_factor``, at a constant ``speed_mps``."""

    profile: str
    speed_mps: float
    detour_factor: float = DEFAULT_DETOUR_FACTOR
    kind: ModelKind = "straight_line"

    @classmethod
    def for_profile(
        cls, profile: str, *, detour_factor: float = DEFAULT_DETOUR_FACTOR
    ) -> StraightLineModel:
        """The model with the default city speed of ``profile`` (see ``profiles``)."""
        checked = check_profile(profile)
        return cls(checked, STRAIGHT_LINE_SPEED_MPS[checked], detour_factor)

    def __post_init__(self) -> None:
        if not (self.speed_mps > 0 and self.detour_factor >= 1.0):
            raise InvalidInput("speed_mps must be > 0 and detour_factor >= 1")

    def matrix(
        self,
        sources: Sequence[LatLon] | NDArray[np.float64],
        destinations: Sequence[LatLon] | NDArray[np.float64] | None = None,
    ) -> TravelMatrix:
        src = as_latlon_array(sources, role="sources")
        dst = src if destinations is None else as_latlon_array(destinations, role="destinations")
        distances_m = pairwise_haversine_m(src, dst) * self.detour_factor
        return TravelMatrix(distances_m / self.speed_mps, distances_m)

    def route(self, points: Sequence[LatLon]) -> Route:
        pts = as_latlon_array(points, role="points")
        if len(pts) < 2:
            raise InvalidInput("a route needs at least two points", details={"points": len(pts)})
        legs = []
        for a, b in zip(pts[:-1], pts[1:], strict=True):
            distance_m = haversine_m(a, b) * self.detour_factor
            legs.append(RouteLeg(distance_m / self.speed_mps, distance_m))
        geometry = {
            "type": "LineString",
            "coordinates": [[float(lon), float(lat)] for lat, lon in pts],
        }
        waypoints = tuple(LatLon(float(lat), float(lon)) for lat, lon in pts)
        return Route(tuple(legs), geometry, waypoints)

    def snap(self, point: LatLon) -> Snapped:
        lat, lon = as_latlon_array([point], role="point")[0]
        return Snapped(LatLon(float(lat), float(lon)), 0.0)


@dataclass(frozen=True)
class PlaneModel:
    """Euclidean distance on ``(x, y)`` plane coordinates; duration = distance / speed.

    ``distances_m`` is in the instance's own length unit (the name is kept for a uniform
    :class:`TravelMatrix`). Defaults match Li & Lim: speed 1, no detour.
    """

    profile: str = "plane"
    speed: float = 1.0
    detour_factor: float = 1.0
    kind: ModelKind = "plane"

    def matrix(
        self,
        sources: Sequence[PlanePoint] | NDArray[np.float64],
        destinations: Sequence[PlanePoint] | NDArray[np.float64] | None = None,
    ) -> TravelMatrix:
        src = _as_plane_array(sources)
        dst = src if destinations is None else _as_plane_array(destinations)
        diff = src[:, None, :] - dst[None, :, :]
        distances = np.sqrt((diff * diff).sum(axis=2)) * self.detour_factor
        return TravelMatrix(distances / self.speed, distances)

    def route(self, points: Sequence[PlanePoint]) -> Route:
        pts = _as_plane_array(points)
        if len(pts) < 2:
            raise InvalidInput("a route needs at least two points", details={"points": len(pts)})
        steps = np.sqrt(((pts[1:] - pts[:-1]) ** 2).sum(axis=1)) * self.detour_factor
        legs = tuple(RouteLeg(float(d / self.speed), float(d)) for d in steps)
        # Plane coordinates, not WGS84: the LineString is in the instance's own (x, y) frame.
        geometry = {"type": "LineString", "coordinates": pts.tolist()}
        return Route(legs, geometry)

    def snap(self, point: PlanePoint) -> Snapped:
        x, y = _as_plane_array([point])[0]
        return Snapped(PlanePoint(float(x), float(y)), 0.0)  # type: ignore[arg-type]


def _as_plane_array(points: Sequence[PlanePoint] | NDArray[np.float64]) -> NDArray[np.float64]:
    arr = np.asarray(points if isinstance(points, np.ndarray) else list(points), dtype=np.float64)
    if arr.size == 0:
        return arr.reshape(0, 2)
    if arr.ndim != 2 or arr.shape[1] != 2 or not np.isfinite(arr).all():
        raise InvalidPoint(
            "plane points must be finite (x, y) pairs", details={"shape": list(arr.shape)}
        )
    return arr
