"""The Grubhub instances' travel model: ceil(euclidean metres / meters_per_minute) minutes.

A travel model of its own, beside OSRM and straight lines: the instances' coordinates are metres
in a plane (perturbed and projected, the zone dropped), so they cannot be turned into latitude
and longitude. The dispatch code keys places by `(lat, lon)`; here a planar point `(x, y)`
is carried as the pseudo-coordinates `(y / 111_320, x / 111_320)` — only a key, never used as
a real position — and every time and distance is computed from the exact planar metres.

The distance is `sqrt(dx*dx + dy*dy)` with integer coordinates (exact squares, a correctly
rounded root), so the planner, the simulated couriers and the checker get the same minutes.

For the planner, `PlanarMatrices` charges a pickup place's service time on the arcs that leave
it for another place: a courier collecting a bundle of three orders at one counter pays the
service once, as the instances' rules say, while the routing model counts service per stop.
With the planner's pickup service set to 0 and each order's earliest pickup at `ready − half
the service`, a planned pickup starts (and leaves) exactly when the rules say it does.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

__all__ = ["DEGREE_M", "to_place", "minutes", "PlanarWorld", "PlanarMatrices"]

#: Pseudo-degrees: planar metres divided by this become `(lat, lon)` keys.
DEGREE_M = 111_320.0

Place = tuple[float, float]


def to_place(x: float, y: float) -> Place:
    """The key under which the planner knows planar point `(x, y)`."""
    return (y / DEGREE_M, x / DEGREE_M)


def minutes(x1: float, y1: float, x2: float, y2: float, meters_per_minute: float) -> int:
    """Travel minutes between two planar points, as the instances define them."""
    dx, dy = x2 - x1, y2 - y1
    return math.ceil(math.sqrt(dx * dx + dy * dy) / meters_per_minute)


class PlanarWorld:
    """Couriers' travel in the plane (a `simulations.day.World`)."""

    def __init__(self, meters_per_minute: float) -> None:
        self.meters_per_minute = meters_per_minute
        self.points: dict[Place, tuple[float, float]] = {}

    def add(self, x: float, y: float) -> Place:
        place = to_place(x, y)
        self.points[place] = (x, y)
        return place

    def xy(self, place: Place) -> tuple[float, float]:
        known = self.points.get(place)
        return known if known is not None else (place[1] * DEGREE_M, place[0] * DEGREE_M)

    def travel_s(self, profile: str, origin: Place, destination: Place) -> float:
        (x1, y1), (x2, y2) = self.xy(origin), self.xy(destination)
        return 60.0 * minutes(x1, y1, x2, y2, self.meters_per_minute)

    def position_at(self, profile: str, origin: Place, destination: Place,
                    fraction: float) -> Place:
        (x1, y1), (x2, y2) = self.xy(origin), self.xy(destination)
        return to_place(x1 + (x2 - x1) * fraction, y1 + (y2 - y1) * fraction)


class PlanarMatrices:
    """The planner's `MatrixSource`: one matrix for every profile (all couriers drive alike)."""

    def __init__(self, world: PlanarWorld, *, pickup_places: set[Place],
                 pickup_service_s: float) -> None:
        self.world = world
        self.pickup_places = pickup_places
        self.pickup_service_s = pickup_service_s

    def matrix(self, profile: str, points: Sequence[Place]) -> tuple[np.ndarray, np.ndarray]:
        xy = np.array([self.world.xy(p) for p in points], dtype=float).reshape(-1, 2)
        dx = xy[:, 0][:, None] - xy[:, 0][None, :]
        dy = xy[:, 1][:, None] - xy[:, 1][None, :]
        distances = np.sqrt(dx * dx + dy * dy)
        durations = 60.0 * np.ceil(distances / self.world.meters_per_minute)
        leaving = np.array([p in self.pickup_places for p in points], dtype=bool)
        moving = distances > 0
        durations += np.where(leaving[:, None] & moving, self.pickup_service_s, 0.0)
        return durations, distances
