"""Tiny named dispatch snapshots and straight-line matrices for the pure planning tests.

Places are on a line of latitudes near Tashkent, about 1.1 km apart, so who is nearest to
what is obvious by reading the numbers.
"""

from __future__ import annotations

from dispatch.planning import (
    CourierState,
    OrderState,
    PlanningOptions,
    Snapshot,
    profiles_needed,
    snapshot_points,
)
from geodata.straight_line import StraightLineModel

LON = 69.25
OPTIONS = PlanningOptions()


def lat(km: float) -> float:
    """A latitude `km` kilometres north of the base line."""
    return 41.25 + km / 111.2


def courier(cid: int, at_km: float, *, vehicle: str = "bicycle", capacity: int = 5,
            zones: frozenset[int] = frozenset(), shift_end_s: float = float("inf")) -> CourierState:
    return CourierState(cid, vehicle, capacity, lat(at_km), LON, shift_end_s, zones)


def order(oid: int, pickup_km: float, dropoff_km: float, *, status: str = "pending",
          courier_id: int | None = None, size: int = 1, zones: frozenset[int] = frozenset({1}),
          pickup_window_s=None, dropoff_window_s=None, waiting_s: float = 0.0) -> OrderState:
    return OrderState(oid, status, courier_id, lat(pickup_km), LON, lat(dropoff_km), LON, size,
                      pickup_window_s, dropoff_window_s, zones, waiting_s)


def matrices(snapshot: Snapshot, options: PlanningOptions = OPTIONS):
    points = snapshot_points(snapshot)
    out = {}
    for profile in profiles_needed(snapshot, options):
        m = StraightLineModel.for_profile(profile).matrix(points)
        out[profile] = (m.durations_s, m.distances_m)
    return out
