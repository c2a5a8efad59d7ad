"""An independent check of any plan against its problem, in plain Python.

It shares no code with the solver or its OR-Tools model: it replays each route from the vehicle's
start with the problem's own (float) matrices, waits for windows, and checks every constraint.
It also computes the true objective (unscaled, unrounded), which is what benchmarks report.
Plans from our solver and from the peers are judged by this same code.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from routing.plan import Plan, StopKind, StopRef, stop_of
from routing.problem import Problem

__all__ = ["Report", "Violation", "validate"]

#: Slack for float comparisons (times and distances are sums of float matrix entries).
EPS = 1e-6


@dataclass(frozen=True, slots=True)
class Violation:
    """One broken rule. ``kind`` is one of: unknown, duplicate, pairing, precedence, pinned,
    onboard, capacity, time_window, shift, unserved, vehicle."""

    kind: str
    message: str


@dataclass
class Report:
    violations: list[Violation] = field(default_factory=list)
    vehicles_used: int = 0
    distance_m: float = 0.0
    travel_s: float = 0.0
    lateness_s: float = 0.0
    unassigned: int = 0
    unassigned_penalty: float = 0.0
    objective: float = 0.0

    @property
    def feasible(self) -> bool:
        return not self.violations

    def kinds(self) -> set[str]:
        return {v.kind for v in self.violations}


def validate(problem: Problem, plan: Plan) -> Report:
    """Check ``plan`` against ``problem``; the report lists every violation and the objective."""
    report = Report()
    bad = report.violations.append
    stops = stop_of(problem)
    shipments = {s.id: s for s in problem.shipments}
    onboard = {p.id: p for p in problem.onboard}
    w = problem.weights

    if len(plan.routes) > len(problem.vehicles):
        bad(Violation("vehicle", f"{len(plan.routes)} routes for {len(problem.vehicles)} vehicles"))
    seen: Counter[StopRef] = Counter()
    where: dict[StopRef, tuple[int, int]] = {}  # stop -> (vehicle, position)
    for route in plan.routes:
        k = route.vehicle
        if not 0 <= k < len(problem.vehicles):
            bad(Violation("vehicle", f"route for unknown vehicle {k}"))
            continue
        vehicle = problem.vehicles[k]
        dur = problem.durations_s[vehicle.profile]
        dist = problem.distances_m[vehicle.profile]
        if not route.visits:
            continue
        report.vehicles_used += 1
        t = vehicle.start_s
        here = vehicle.start_location
        load = problem.initial_load(k)
        for pos, visit in enumerate(route.visits):
            ref = visit.ref
            if ref not in stops:
                bad(Violation("unknown", f"vehicle {k}: unknown stop {ref}"))
                continue
            seen[ref] += 1
            where[ref] = (k, pos)
            stop, delta = stops[ref]
            t += float(dur[here, stop.location])
            report.travel_s += float(dur[here, stop.location])
            report.distance_m += float(dist[here, stop.location])
            here = stop.location
            start = max(t, stop.earliest_s)
            if ref.kind == StopKind.PICKUP and start > vehicle.last_pickup_s + EPS:
                bad(Violation("last_pickup", f"vehicle {k}: pickup of {ref.shipment_id} starts "
                              f"at {start:.3f} after {vehicle.last_pickup_s:.3f}"))
            if start > stop.latest_s + EPS:
                if stop.soft_latest:
                    report.lateness_s += start - stop.latest_s
                else:
                    bad(
                        Violation(
                            "time_window",
                            f"vehicle {k}: {ref.kind} of {ref.shipment_id} starts at {start:.3f}"
                            f" after {stop.latest_s:.3f}",
                        )
                    )
            t = start + stop.service_s
            load += delta
            if load > vehicle.capacity:
                bad(
                    Violation(
                        "capacity",
                        f"vehicle {k}: load {load} > {vehicle.capacity} after {ref.shipment_id}",
                    )
                )
        if vehicle.end_location is not None:
            t += float(dur[here, vehicle.end_location])
            report.travel_s += float(dur[here, vehicle.end_location])
            report.distance_m += float(dist[here, vehicle.end_location])
        if t > vehicle.shift_end_s + EPS:
            bad(Violation("shift", f"vehicle {k}: ends at {t:.3f} after {vehicle.shift_end_s:.3f}"))

    for ref, count in seen.items():
        if count > 1:
            bad(Violation("duplicate", f"{ref.kind} of {ref.shipment_id} visited {count} times"))

    for s in problem.shipments:
        p = where.get(StopRef(s.id, StopKind.PICKUP))
        d = where.get(StopRef(s.id, StopKind.DELIVERY))
        if p is None and d is None:
            report.unassigned += 1
            if s.required:
                bad(Violation("unserved", f"required shipment {s.id} is not served"))
            report.unassigned_penalty += w.per_unassigned * (1 + s.priority)
            continue
        if p is None or d is None or p[0] != d[0]:
            bad(Violation("pairing", f"shipment {s.id}: pickup and delivery not on one route"))
            continue
        if p[1] > d[1]:
            bad(Violation("precedence", f"shipment {s.id}: delivered before it is picked up"))
        if s.pinned_vehicle is not None and p[0] != s.pinned_vehicle:
            bad(Violation("pinned", f"shipment {s.id} left its vehicle {s.pinned_vehicle}"))
    for parcel in onboard.values():
        d = where.get(StopRef(parcel.id, StopKind.DELIVERY))
        if d is None:
            bad(Violation("unserved", f"parcel {parcel.id} on board is not delivered"))
        elif d[0] != parcel.vehicle:
            bad(Violation("onboard", f"parcel {parcel.id} delivered by another vehicle"))
    for u in plan.unassigned:
        if u.shipment_id not in shipments:
            bad(Violation("unknown", f"unknown shipment {u.shipment_id} reported unassigned"))

    report.objective = (
        w.per_vehicle * report.vehicles_used
        + w.per_m * report.distance_m
        + w.per_travel_s * report.travel_s
        + w.per_late_s * report.lateness_s
        + report.unassigned_penalty
    )
    return report
