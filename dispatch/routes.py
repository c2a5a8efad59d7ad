"""A courier's planned stops as the service stores, shows and pushes them (pure values).

Kept apart from `dispatch.route_store` (their PostgreSQL table) so that the simulator's
in-memory store shows routes in exactly the shape the service does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from dispatch.times import rfc3339

__all__ = ["RouteStop", "stop_wire", "LIVE_STATUSES"]

#: Orders whose stops are still to be visited.
LIVE_STATUSES = ("offered", "assigned", "at_pickup", "picked_up", "at_dropoff")


@dataclass(frozen=True, slots=True)
class RouteStop:
    order_id: int
    kind: str
    lat: float
    lon: float
    eta: datetime | None


def stop_wire(stop: RouteStop) -> dict:
    """A stop as the API and the courier push show it (CONTRACT.md)."""
    return {"order_id": stop.order_id, "kind": stop.kind, "lat": stop.lat, "lon": stop.lon,
            "eta": rfc3339(stop.eta)}
