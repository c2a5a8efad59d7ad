"""A fast greedy first solution for large live problems, in numpy.

OR-Tools' insertion heuristics evaluate every insertion position for every pair, which takes tens
of seconds on a city-sized problem (150 couriers, 800+ stops). Dispatch needs a plan in a second
or two, so for large problems we build one greedily and let local search improve it:

1. each courier first delivers what is on board (nearest next), then serves its pinned orders;
2. the remaining orders, by pickup deadline, go to the courier that can append the pickup and
   the drop at the end of its route most cheaply (added distance plus lateness), if any can
   within hard windows, capacity and shift.

Appending pickup and drop back to back keeps the load check trivial; the local search is there to
interleave them. Orders nobody can take are left out (the solver reports why).
"""

from __future__ import annotations

import math

import numpy as np

from routing.plan import StopKind, StopRef, stop_of
from routing.problem import Problem, Stop

__all__ = ["greedy_sequences"]


class _Courier:
    def __init__(self, problem: Problem, k: int) -> None:
        v = problem.vehicles[k]
        self.k = k
        self.here = v.start_location
        self.t = v.start_s
        self.load = problem.initial_load(k)
        self.seq: list[StopRef] = []
        self.dur = problem.durations_s[v.profile]
        self.dist = problem.distances_m[v.profile]

    def visit(self, ref: StopRef, stop: Stop, delta: int) -> None:
        self.t = max(self.t + float(self.dur[self.here, stop.location]), stop.earliest_s)
        self.t += stop.service_s
        self.here = stop.location
        self.load += delta
        self.seq.append(ref)


def greedy_sequences(
    problem: Problem, base: list[list[StopRef]] | None = None
) -> list[list[StopRef]]:
    """Stop sequences per vehicle (see the module docstring); not guaranteed feasible for pinned
    or on-board stops, which the solver's repair step then drops for the search to place.

    With ``base`` (a previous plan's sequences) the couriers first follow their old routes, and
    only the shipments missing from it are appended: how new orders join a running plan.
    """
    couriers = [_Courier(problem, k) for k in range(len(problem.vehicles))]
    stops = stop_of(problem)
    planned: set[str] = set()
    for k, seq in enumerate((base or [])[: len(couriers)]):
        whole = {r.shipment_id for r in seq if r.kind == StopKind.PICKUP} | {
            p.id for p in problem.onboard
        }
        for ref in seq:
            if ref in stops and ref.shipment_id in whole and ref.shipment_id not in planned:
                stop, delta = stops[ref]
                couriers[k].visit(ref, stop, delta)
        planned.update(r.shipment_id for r in couriers[k].seq)
    for k, c in enumerate(couriers):
        parcels = [p for p in problem.onboard if p.vehicle == k and p.id not in planned]
        while parcels:
            nxt = min(parcels, key=lambda p: c.dur[c.here, p.delivery.location])
            parcels.remove(nxt)
            c.visit(StopRef(nxt.id, StopKind.DELIVERY), nxt.delivery, -nxt.size)
    free = []
    for s in problem.shipments:
        if s.id in planned:
            continue
        if s.pinned_vehicle is not None:
            c = couriers[s.pinned_vehicle]
            c.visit(StopRef(s.id, StopKind.PICKUP), s.pickup, s.size)
            c.visit(StopRef(s.id, StopKind.DELIVERY), s.delivery, -s.size)
        else:
            free.append(s)
    free.sort(key=lambda s: (s.pickup.latest_s, s.delivery.latest_s, s.id))

    vehicles = problem.vehicles
    profiles = sorted({v.profile for v in vehicles})
    members = {
        pr: np.array([k for k, v in enumerate(vehicles) if v.profile == pr]) for pr in profiles
    }
    capacity = np.array([v.capacity for v in vehicles], dtype=float)
    shift_end = np.array([v.shift_end_s for v in vehicles], dtype=float)
    last_pickup = np.array([v.last_pickup_s for v in vehicles], dtype=float)
    end_loc = np.array(
        [v.end_location if v.end_location is not None else -1 for v in vehicles], dtype=np.int64
    )
    w = problem.weights
    for s in free:
        here = np.array([c.here for c in couriers], dtype=np.int64)
        t = np.array([c.t for c in couriers], dtype=float)
        load = np.array([c.load for c in couriers], dtype=float)
        to_p = np.empty(len(vehicles))
        p_to_d = np.empty(len(vehicles))
        d_to_end = np.zeros(len(vehicles))
        cost = np.empty(len(vehicles))
        for pr in profiles:
            ks = members[pr]
            dur = problem.durations_s[pr]
            dist = problem.distances_m[pr]
            to_p[ks] = dur[here[ks], s.pickup.location]
            p_to_d[ks] = dur[s.pickup.location, s.delivery.location]
            cost[ks] = w.per_m * (
                dist[here[ks], s.pickup.location] + dist[s.pickup.location, s.delivery.location]
            )
            closed = ks[end_loc[ks] >= 0]
            d_to_end[closed] = dur[s.delivery.location, end_loc[closed]]
        at_p = np.maximum(t + to_p, s.pickup.earliest_s)
        at_d = np.maximum(at_p + s.pickup.service_s + p_to_d, s.delivery.earliest_s)
        done = at_d + s.delivery.service_s + d_to_end
        ok = (load + s.size <= capacity) & (done <= shift_end) & (at_p <= last_pickup)
        if not s.pickup.soft_latest:
            ok &= at_p <= s.pickup.latest_s
        if not s.delivery.soft_latest:
            ok &= at_d <= s.delivery.latest_s
        late = np.zeros(len(vehicles))
        for stop, at in ((s.pickup, at_p), (s.delivery, at_d)):
            if stop.soft_latest and math.isfinite(stop.latest_s):
                late += np.maximum(0.0, at - stop.latest_s)
        cost = cost + w.per_late_s * late + w.per_travel_s * (done - t)
        if not ok.any():
            continue
        k = int(np.argmin(np.where(ok, cost, np.inf)))
        c = couriers[k]
        c.visit(StopRef(s.id, StopKind.PICKUP), s.pickup, s.size)
        c.visit(StopRef(s.id, StopKind.DELIVERY), s.delivery, -s.size)
    return [c.seq for c in couriers]
