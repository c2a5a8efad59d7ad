"""Geofence detection: entering and leaving the circle around a courier's next stops, and the
service-area zones. Pure: the caller keeps the set of fences a courier is inside and passes it
back in with each new fix.

A circle is left only beyond `radius_m * exit_factor` (hysteresis), so GPS jitter on the edge
does not produce a storm of enter/exit pairs in the order log.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from tracking.geo import distance_m, point_in_multipolygon

__all__ = [
    "CircleFence",
    "ZoneFence",
    "Fence",
    "GeofenceEvent",
    "detect_transitions",
    "GeofenceTargets",
    "GeofenceSink",
]


@dataclass(frozen=True, slots=True)
class CircleFence:
    """The radius around a stop; `kind` is `pickup` or `dropoff`."""

    order_id: int
    kind: str
    lat: float
    lon: float
    radius_m: float

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.order_id}"


@dataclass(frozen=True, slots=True)
class ZoneFence:
    """A service-area zone as GeoJSON MultiPolygon coordinates (`[[[lon, lat], ...]]]`)."""

    zone_id: int
    polygons: Sequence[Sequence[Sequence[Sequence[float]]]]

    @property
    def key(self) -> str:
        return f"zone:{self.zone_id}"

    kind = "zone"


Fence = CircleFence | ZoneFence


@dataclass(frozen=True, slots=True)
class GeofenceEvent:
    courier_id: int
    transition: Literal["enter", "exit"]
    fence: Fence
    lat: float
    lon: float
    ts_s: float

    @property
    def order_id(self) -> int | None:
        return self.fence.order_id if isinstance(self.fence, CircleFence) else None

    def as_wire(self) -> dict:
        body: dict = {"type": "geofence", "courier_id": self.courier_id,
                      "event": self.transition, "kind": self.fence.kind,
                      "lat": self.lat, "lon": self.lon, "ts": self.ts_s}
        if isinstance(self.fence, CircleFence):
            body["order_id"] = self.fence.order_id
        else:
            body["zone_id"] = self.fence.zone_id
        return body


def _inside(fence: Fence, lat: float, lon: float, *, was_inside: bool,
            exit_factor: float) -> bool:
    if isinstance(fence, CircleFence):
        limit = fence.radius_m * (exit_factor if was_inside else 1.0)
        return distance_m(fence.lat, fence.lon, lat, lon) <= limit
    return point_in_multipolygon(lat, lon, fence.polygons)


def detect_transitions(
    courier_id: int, inside: frozenset[str], lat: float, lon: float, ts_s: float,
    fences: Iterable[Fence], *, exit_factor: float = 1.2,
) -> tuple[list[GeofenceEvent], frozenset[str]]:
    """Events caused by moving to (`lat`, `lon`) and the new set of fence keys inside.

    Fences no longer in `fences` (an order delivered, a zone removed) are dropped silently:
    that is not the courier leaving.
    """
    events: list[GeofenceEvent] = []
    now_inside: set[str] = set()
    for fence in fences:
        was = fence.key in inside
        is_in = _inside(fence, lat, lon, was_inside=was, exit_factor=exit_factor)
        if is_in:
            now_inside.add(fence.key)
        if is_in != was:
            events.append(GeofenceEvent(courier_id, "enter" if is_in else "exit", fence,
                                        lat, lon, ts_s))
    return events, frozenset(now_inside)


class GeofenceTargets(Protocol):
    """Where the fences come from (implemented by the API with dispatch's data)."""

    async def fences_for(self, courier_ids: Sequence[int]) -> dict[int, list[Fence]]: ...


class GeofenceSink(Protocol):
    """Where the events go (the order log, implemented by the API)."""

    async def record(self, events: Sequence[GeofenceEvent]) -> None: ...


class LastSeenSink(Protocol):
    """Who keeps couriers' last known places, `{courier_id: (lat, lon, unix_s)}` (the courier
    rows, dispatch's; wired by the API)."""

    async def record(self, seen: dict[int, tuple[float, float, float]]) -> None: ...
