"""Travel on a real road network for simulated couriers and for the planner.

`RoadWorld` answers the simulated day's questions (how long a leg takes, where a courier is
part-way) from the same OSRM models the service routes on (`geodata.travel`): legs take OSRM's
time for the courier's profile, and a courier part-way along a leg is placed on the road
geometry, as its GPS would report it. `RoadMatrices` is the planner's matrix source over the
same models, the way the service builds it: rectangular tables behind `dispatch.matrix_cache`.
Answers are cached per leg, so a day costs each distinct leg one OSRM call.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from geodata.points import LatLon
from geodata.travel import PointOffNetwork, TravelModels

__all__ = ["RoadWorld", "RoadMatrices"]

Place = tuple[float, float]


class RoadWorld:
    def __init__(self, models: TravelModels) -> None:
        self.models = models
        self._legs: dict[tuple[str, Place, Place], tuple[float, float, list[Place]]] = {}

    def leg(self, profile: str, origin: Place, destination: Place
            ) -> tuple[float, float, list[Place]]:
        """`(duration_s, distance_m, path)`, the path as `(lat, lon)` points along the roads."""
        key = (profile, origin, destination)
        known = self._legs.get(key)
        if known is not None:
            return known
        if origin == destination:
            result = (0.0, 0.0, [origin, destination])
        else:
            route = self.models.for_profile(profile).route(
                [LatLon(*origin), LatLon(*destination)])
            path = [(lat, lon) for lon, lat in route.geometry["coordinates"]] or [
                origin, destination]
            result = (route.duration_s, route.distance_m, path)
        self._legs[key] = result
        return result

    def travel_s(self, profile: str, origin: Place, destination: Place) -> float:
        return self.leg(profile, origin, destination)[0]

    def distance_m(self, profile: str, origin: Place, destination: Place) -> float:
        return self.leg(profile, origin, destination)[1]

    def position_at(self, profile: str, origin: Place, destination: Place,
                    fraction: float) -> Place:
        """The point `fraction` of the way along the leg's road path (by length)."""
        path = self.leg(profile, origin, destination)[2]
        if fraction <= 0 or len(path) < 2:
            return origin
        if fraction >= 1:
            return destination
        lengths = [_metres(a, b) for a, b in zip(path, path[1:], strict=False)]
        target = fraction * sum(lengths)
        for (a, b), length in zip(zip(path, path[1:], strict=False), lengths, strict=True):
            if target <= length and length > 0:
                f = target / length
                return (a[0] + (b[0] - a[0]) * f, a[1] + (b[1] - a[1]) * f)
            target -= length
        return destination


def _metres(a: Place, b: Place) -> float:
    mean_lat = math.radians((a[0] + b[0]) / 2)
    dy = (b[0] - a[0]) * 111_195.0
    dx = (b[1] - a[1]) * 111_195.0 * math.cos(mean_lat)
    return math.hypot(dx, dy)


class RoadMatrices:
    """Rectangular OSRM tables for `dispatch.matrix_cache.MatrixCache` (as the service wires
    it); a place off the network becomes unreachable (NaN) rather than failing the cycle."""

    def __init__(self, models: TravelModels) -> None:
        self.models = models

    @property
    def generation(self) -> object:
        return self.models

    def matrix(self, profile: str, sources: Sequence[Place], destinations: Sequence[Place]
               ) -> tuple[np.ndarray, np.ndarray]:
        model = self.models.for_profile(profile)
        try:
            result = model.matrix([LatLon(*p) for p in sources],
                                  [LatLon(*p) for p in destinations])
        except PointOffNetwork:
            nan = np.full((len(sources), len(destinations)), np.nan)
            return nan, nan.copy()
        return result.durations_s, result.distances_m
