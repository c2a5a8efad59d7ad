"""The travel-time interface every other package codes against, and its result types.

Conventions (they hold for every implementation):

* Points go in as ``(lat, lon)`` (:class:`~geodata.points.LatLon` or any pair in that
  order); geometry comes out as GeoJSON, i.e. ``[lon, lat]``.
* Units are in the names: seconds (``_s``), metres (``_m``).
* **Unreachable is NaN.** ``TravelMatrix.durations_s[i, j]`` and ``distances_m[i, j]`` are
  ``nan`` when no path leads from source ``i`` to destination ``j`` (never a large
  sentinel). ``TravelMatrix.reachable`` is the boolean mask of the finite entries.
* A point too far from any road raises :class:`~geodata.exceptions.PointOffNetwork`
  instead of silently snapping kilometres away.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

import numpy as np
from numpy.typing import NDArray

from geodata.points import LatLon

__all__ = [
    "ModelKind",
    "TravelMatrix",
    "RouteLeg",
    "Route",
    "Snapped",
    "TravelModel",
]

ModelKind = Literal["osrm", "straight_line", "plane"]


@dataclass(frozen=True, eq=False)
class TravelMatrix:
    """Many-to-many travel costs; row ``i`` is source ``i``, column ``j`` destination ``j``.

    Both arrays are ``float64`` of shape ``(len(sources), len(destinations))``, with
    ``nan`` where the destination cannot be reached from the source.
    """

    durations_s: NDArray[np.float64]
    distances_m: NDArray[np.float64]

    @property
    def shape(self) -> tuple[int, int]:
        return self.durations_s.shape  # type: ignore[return-value]

    @property
    def reachable(self) -> NDArray[np.bool_]:
        """``True`` where a path exists (the finite entries)."""
        return np.isfinite(self.durations_s)

    def to_json(self) -> dict[str, list[list[float | None]]]:
        """Nested lists with ``None`` (JSON ``null``) for unreachable pairs."""
        return {
            "durations_s": _nan_to_none(self.durations_s),
            "distances_m": _nan_to_none(self.distances_m),
        }


def _nan_to_none(values: NDArray[np.float64]) -> list[list[float | None]]:
    rows = values.tolist()
    if np.isnan(values).any():
        rows = [[None if v != v else v for v in row] for row in rows]
    return rows


@dataclass(frozen=True)
class RouteLeg:
    """One leg of a route: from ``points[k]`` to ``points[k + 1]``."""

    duration_s: float
    distance_m: float


@dataclass(frozen=True)
class Route:
    """A path through the given points in order.

    ``geometry`` is a GeoJSON LineString (``[lon, lat]`` pairs, WGS84) covering all legs;
    ``waypoints`` are the snapped input points, ``(lat, lon)``.
    """

    legs: tuple[RouteLeg, ...]
    geometry: dict[str, Any]
    waypoints: tuple[LatLon, ...] = field(default=())

    @property
    def duration_s(self) -> float:
        return float(sum(leg.duration_s for leg in self.legs))

    @property
    def distance_m(self) -> float:
        return float(sum(leg.distance_m for leg in self.legs))


@dataclass(frozen=True)
class Snapped:
    """Where a point lands on the network: ``point`` (lat, lon) and how far it moved."""

    point: LatLon
    distance_m: float
    #: Street name from OSM (may be empty); handy in logs and UIs.
    name: str = ""


@runtime_checkable
class TravelModel(Protocol):
    """What routing, dispatch and simulations need from a road network.

    Implementations: :class:`geodata.osrm_travel.OsrmTravelModel` (real roads) and
    :class:`geodata.straight_line.StraightLineModel` (haversine x detour factor).
    """

    #: ``"osrm"`` or ``"straight_line"`` -- say which one is answering.
    kind: ModelKind
    #: The travel profile this model serves (``foot|bicycle|scooter|car``).
    profile: str

    def matrix(
        self,
        sources: Sequence[LatLon] | NDArray[np.float64],
        destinations: Sequence[LatLon] | NDArray[np.float64] | None = None,
    ) -> TravelMatrix:
        """Durations and distances from every source to every destination.

        ``destinations=None`` means the same points as ``sources`` (square matrix).
        """
        ...

    def route(self, points: Sequence[LatLon]) -> Route:
        """The fastest path visiting ``points`` in order (at least two)."""
        ...

    def snap(self, point: LatLon) -> Snapped:
        """The nearest routable location to ``point``."""
        ...
