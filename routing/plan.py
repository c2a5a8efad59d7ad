"""A solution: per vehicle the ordered stops with times and loads, and what was left out.

Plans come out of ``solve`` and out of the peers' adapters; the validator judges them all the same
way. ``schedule_routes`` turns bare stop sequences into a plan (earliest-start schedule), which is
how peers' answers and warm starts become plans.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from routing.problem import Problem, Stop

__all__ = [
    "Plan",
    "Route",
    "StopKind",
    "StopRef",
    "Unassigned",
    "Visit",
    "schedule_routes",
    "stop_of",
]


class StopKind(enum.StrEnum):
    PICKUP = "pickup"
    DELIVERY = "delivery"


@dataclass(frozen=True, slots=True)
class StopRef:
    """Which stop: a shipment's pickup or delivery, or an on-board parcel's delivery."""

    shipment_id: str
    kind: StopKind


@dataclass(frozen=True, slots=True)
class Visit:
    """A stop on a route. ``start_s`` is when service begins (after any wait for the window)."""

    shipment_id: str
    kind: StopKind
    location: int
    arrival_s: float
    start_s: float
    departure_s: float
    load: int

    @property
    def ref(self) -> StopRef:
        return StopRef(self.shipment_id, self.kind)


@dataclass(frozen=True, slots=True)
class Route:
    """One vehicle's route; ``end_s`` is the arrival at the end (the last departure if open)."""

    vehicle: int
    visits: tuple[Visit, ...]
    start_s: float
    end_s: float
    distance_m: float
    duration_s: float

    @property
    def used(self) -> bool:
        return bool(self.visits)


@dataclass(frozen=True, slots=True)
class Unassigned:
    shipment_id: str
    reason: str


@dataclass(frozen=True)
class Plan:
    """Routes for every vehicle (empty when unused) and the shipments left out, with why."""

    routes: tuple[Route, ...]
    unassigned: tuple[Unassigned, ...] = ()
    solver: str = ""
    #: Opaque solver state (node matrices) that makes re-planning from this plan cheaper.
    warm_state: object = field(default=None, repr=False, compare=False)

    @property
    def vehicles_used(self) -> int:
        return sum(r.used for r in self.routes)

    @property
    def distance_m(self) -> float:
        return sum(r.distance_m for r in self.routes)

    def sequences(self) -> list[list[StopRef]]:
        """The bare stop order per vehicle, e.g. to warm-start the next solve."""
        return [[v.ref for v in r.visits] for r in self.routes]


def stop_of(problem: Problem) -> dict[StopRef, tuple[Stop, int]]:
    """Every stop of the problem with its load change (+size at pickups, -size at deliveries)."""
    stops: dict[StopRef, tuple[Stop, int]] = {}
    for s in problem.shipments:
        stops[StopRef(s.id, StopKind.PICKUP)] = (s.pickup, s.size)
        stops[StopRef(s.id, StopKind.DELIVERY)] = (s.delivery, -s.size)
    for p in problem.onboard:
        stops[StopRef(p.id, StopKind.DELIVERY)] = (p.delivery, -p.size)
    return stops


def schedule_routes(
    problem: Problem,
    sequences: list[list[StopRef]],
    *,
    unassigned: tuple[Unassigned, ...] | None = None,
    solver: str = "",
) -> Plan:
    """Give stop sequences (one per vehicle) the earliest-start schedule and loads.

    Nothing is checked here; that is the validator's job. Shipments in no sequence are reported
    unassigned (reason "not planned") unless ``unassigned`` is given.
    """
    stops = stop_of(problem)
    routes = []
    planned: set[str] = set()
    for k, vehicle in enumerate(problem.vehicles):
        seq = sequences[k] if k < len(sequences) else []
        dur = problem.durations_s[vehicle.profile]
        dist = problem.distances_m[vehicle.profile]
        t = vehicle.start_s
        load = problem.initial_load(k)
        here = vehicle.start_location
        distance = 0.0
        visits = []
        for ref in seq:
            stop, delta = stops[ref]
            arrival = t + float(dur[here, stop.location])
            distance += float(dist[here, stop.location])
            start = max(arrival, stop.earliest_s)
            t = start + stop.service_s
            load += delta
            here = stop.location
            visits.append(Visit(ref.shipment_id, ref.kind, here, arrival, start, t, load))
            planned.add(ref.shipment_id)
        if seq and vehicle.end_location is not None:
            end = t + float(dur[here, vehicle.end_location])
            distance += float(dist[here, vehicle.end_location])
        else:
            end = t
        duration = end - vehicle.start_s if seq else 0.0
        routes.append(Route(k, tuple(visits), vehicle.start_s, end, distance, duration))
    if unassigned is None:
        unassigned = tuple(
            Unassigned(s.id, "not planned") for s in problem.shipments if s.id not in planned
        )
    return Plan(tuple(routes), unassigned, solver)
