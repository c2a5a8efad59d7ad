"""Moving along a road: a polyline walked at a speed, one pose per tick.

Pure: a `Trip` is advanced by the seconds that passed (the caller reads the clock) and
answers where the courier is, which way it faces and how fast it goes.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from simulations.live.geo import bearing_deg, distance_m

__all__ = ["Pose", "Path", "Trip", "path_from_geojson", "VEHICLE_SPEED_MPS", "trip_speed_mps"]

#: Typical urban speeds per vehicle, used when a route gives no duration (straight lines).
VEHICLE_SPEED_MPS = {"foot": 1.4, "bicycle": 4.5, "scooter": 6.0, "car": 8.0}


@dataclass(frozen=True, slots=True)
class Pose:
    lat: float
    lon: float
    #: Degrees clockwise from north, or None when never moved.
    heading_deg: float | None
    speed_mps: float


class Path:
    """A polyline of `(lat, lon)` vertices with its cumulative length."""

    def __init__(self, points: Sequence[tuple[float, float]]) -> None:
        if not points:
            raise ValueError("a path needs at least one point")
        cleaned = [tuple(points[0])]
        for point in points[1:]:  # repeated vertices would make zero-length segments
            if distance_m(*cleaned[-1], *point) > 0.01:
                cleaned.append(tuple(point))
        self.points: list[tuple[float, float]] = cleaned  # type: ignore[assignment]
        self.cumulative_m = [0.0]
        for a, b in zip(cleaned, cleaned[1:], strict=False):
            self.cumulative_m.append(self.cumulative_m[-1] + distance_m(*a, *b))

    @property
    def length_m(self) -> float:
        return self.cumulative_m[-1]

    @property
    def end(self) -> tuple[float, float]:
        return self.points[-1]

    def extended_to(self, point: tuple[float, float]) -> Path:
        """This path and then straight on to `point` (from a road to a door)."""
        return Path([*self.points, point])

    def at(self, along_m: float) -> tuple[float, float, float | None]:
        """`(lat, lon, heading_deg)` at `along_m` metres from the start (clamped)."""
        if len(self.points) == 1:
            return self.points[0][0], self.points[0][1], None
        along_m = min(max(along_m, 0.0), self.length_m)
        i = min(bisect.bisect_right(self.cumulative_m, along_m) - 1, len(self.points) - 2)
        (lat1, lon1), (lat2, lon2) = self.points[i], self.points[i + 1]
        seg = self.cumulative_m[i + 1] - self.cumulative_m[i]
        f = 0.0 if seg <= 0 else (along_m - self.cumulative_m[i]) / seg
        return (lat1 + (lat2 - lat1) * f, lon1 + (lon2 - lon1) * f,
                bearing_deg(lat1, lon1, lat2, lon2))


def path_from_geojson(geometry: dict[str, Any]) -> Path:
    """A GeoJSON LineString (`[lon, lat]`) as a `Path`."""
    coordinates = geometry.get("coordinates") or []
    return Path([(float(lat), float(lon)) for lon, lat, *_ in coordinates])


def trip_speed_mps(*, vehicle: str, distance_m: float | None, duration_s: float | None,
                   factor: float = 1.0, cap_mps: float = 40.0) -> float:
    """The speed to move at along a leg: the route's own average (the road network's speed
    for this vehicle) or the vehicle's typical speed, times `factor`, at most `cap_mps`."""
    if distance_m and duration_s and duration_s > 0:
        base = distance_m / duration_s
    else:
        base = VEHICLE_SPEED_MPS.get(vehicle, 5.0)
    return max(0.3, min(cap_mps, base * factor))


class Trip:
    """Progress along a `Path` at a constant speed."""

    def __init__(self, path: Path, speed_mps: float) -> None:
        if speed_mps <= 0:
            raise ValueError("speed must be positive")
        self.path = path
        self.speed_mps = speed_mps
        self.along_m = 0.0
        self._heading: float | None = path.at(0.0)[2]

    @property
    def done(self) -> bool:
        return self.along_m >= self.path.length_m

    @property
    def remaining_m(self) -> float:
        return max(0.0, self.path.length_m - self.along_m)

    @property
    def eta_s(self) -> float:
        return self.remaining_m / self.speed_mps

    def advance(self, dt_s: float) -> Pose:
        """Moves on by `dt_s` seconds; at the end the courier stands still there."""
        moving = not self.done and dt_s > 0
        self.along_m = min(self.path.length_m, self.along_m + self.speed_mps * max(dt_s, 0.0))
        lat, lon, heading = self.path.at(self.along_m)
        if heading is not None:
            self._heading = heading
        return Pose(lat, lon, self._heading, self.speed_mps if moving else 0.0)
