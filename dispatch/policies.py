"""Dispatch policies behind one interface: `batch`, `nearest` and `cascade`.

A policy looks at a `Snapshot` and the travel matrices and says what to do (`Decision`):
which courier gets offered which order, in what order each courier visits its stops, what
cannot be served. It does no I/O, so simulations can run every policy on the same day and
compare them, and the service switches policy with one setting.

* `batch` — the OR-Tools planner over the whole open state (default). Accepted work stays
  with its courier unless a free re-plan gains more than `reassign_gain`.
* `nearest` — the baseline most platforms ship: oldest order first, to the nearest courier
  with room, appended at the end of that courier's route.
* `cascade` — offers by radius: `one_by_one` offers each order to the nearest courier within
  `radius_m` (on decline or expiry the next nearest gets it next cycle); `broadcast` offers it
  to every courier within the radius at once and the first to accept wins.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, Protocol

import numpy as np

from dispatch.planning import (
    BuiltProblem,
    Decision,
    PlanningOptions,
    Snapshot,
    build_problem,
    courier_may_serve,
    decision_from_plan,
    enforce_exclusions,
    keep_promised,
    outside_zone_orders,
    plan_objective,
    shipment_id,
    simulate_route,
    stop_table,
    worth_reassigning,
)
from routing.plan import Plan, StopKind, StopRef, schedule_routes
from routing.solver import solve

__all__ = ["Policy", "BatchPolicy", "NearestPolicy", "CascadePolicy", "make_policy",
           "POLICY_NAMES", "Matrices"]

POLICY_NAMES = ("batch", "nearest", "cascade")

#: profile -> (durations_s, distances_m) over `snapshot_points(snapshot)`.
Matrices = Mapping[str, tuple[np.ndarray, np.ndarray]]


class Policy(Protocol):
    @property
    def name(self) -> str: ...

    def decide(self, snapshot: Snapshot, matrices: Matrices, *, time_limit_s: float,
               seed: int = 0) -> Decision:
        """What to do now; must not touch the world."""
        ...


@dataclass(frozen=True)
class BatchPolicy:
    options: PlanningOptions = PlanningOptions()
    #: Share of the objective a free re-plan must save before accepted work moves; None: never.
    reassign_gain: float | None = 0.2
    #: Share of the solver budget spent on the free re-plan when it is tried.
    reassign_budget_share: float = 0.3
    #: Bounds each solver phase by solutions found (reproducible decisions); None: time only.
    solution_limit: int | None = None
    name: str = "batch"

    def decide(self, snapshot: Snapshot, matrices: Matrices, *, time_limit_s: float,
               seed: int = 0) -> Decision:
        started = time.perf_counter()
        built = build_problem(snapshot, matrices, options=self.options)
        has_accepted = any(o.status == "assigned" for o in built.orders.values())
        try_free = self.reassign_gain is not None and has_accepted and len(snapshot.couriers) > 1
        # The budget covers the whole decision, building the problem included, so that a cycle's
        # solve phase ends on time however large the snapshot.
        left_s = time_limit_s - (time.perf_counter() - started)
        kept_budget = left_s * (1 - self.reassign_budget_share if try_free else 1.0)
        plan = _solve(built, kept_budget, seed, self.solution_limit)
        reassigned = False
        if try_free:
            free = build_problem(snapshot, matrices, options=self.options, reassignable=True)
            left_s = max(0.05, time_limit_s - (time.perf_counter() - started))
            # A cold start: warm-started from the kept plan, local search seldom moves a
            # whole pickup-and-delivery pair to another courier, which is the point here.
            free_plan = keep_promised(free, enforce_exclusions(
                free, solve(free.problem, time_limit_s=left_s, seed=seed,
                            solution_limit=self.solution_limit)))
            if worth_reassigning(plan_objective(built.problem, plan),
                                 plan_objective(free.problem, free_plan),
                                 min_gain=self.reassign_gain or 0.0):
                built, plan, reassigned = free, free_plan, True
        decision = decision_from_plan(built, plan)
        decision.unservable.update(outside_zone_orders(snapshot))
        decision.stats.update(policy=self.name, reassign_adopted=int(reassigned),
                              solve_s=round(time.perf_counter() - started, 4))
        return decision


def _solve(built: BuiltProblem, time_limit_s: float, seed: int,
           solution_limit: int | None = None) -> Plan:
    if not built.problem.shipments and not built.problem.onboard:
        return schedule_routes(built.problem, [], unassigned=())
    plan = solve(built.problem, time_limit_s=max(0.05, time_limit_s), seed=seed,
                 initial=built.initial, solution_limit=solution_limit)
    return keep_promised(built, enforce_exclusions(built, plan))


def current_sequences(built: BuiltProblem) -> list[list[StopRef]]:
    """Each courier's current stops: the previous plan's order, then anything it lacks
    (accepted or offered shipments and parcels on board not yet planned)."""
    problem = built.problem
    sequences = [[] for _ in problem.vehicles] if built.initial is None else [
        [v.ref for v in r.visits] for r in built.initial.routes]
    present = {ref for seq in sequences for ref in seq}
    for p in problem.onboard:
        ref = StopRef(p.id, StopKind.DELIVERY)
        if ref not in present:
            sequences[p.vehicle].append(ref)
    for s in problem.shipments:
        if s.assigned_vehicle is None:
            continue
        k = s.assigned_vehicle
        pickup, delivery = StopRef(s.id, StopKind.PICKUP), StopRef(s.id, StopKind.DELIVERY)
        if pickup not in present:
            sequences[k] = [r for r in sequences[k] if r != delivery] + [pickup, delivery]
    return sequences


def _append_if_feasible(built: BuiltProblem, sequences: list[list[StopRef]], sid: str,
                        k: int) -> bool:
    """Puts the shipment at the end of courier `k`'s route if that route stays feasible."""
    trial = sequences[k] + [StopRef(sid, StopKind.PICKUP), StopRef(sid, StopKind.DELIVERY)]
    if simulate_route(built.problem, k, trial, stop_table(built.problem)) is None:
        return False
    sequences[k] = trial
    return True


def _pending_by_age(built: BuiltProblem, snapshot: Snapshot) -> list[int]:
    pending = [o for o in snapshot.orders if o.status == "pending" and o.id in built.orders]
    pending.sort(key=lambda o: (-o.waiting_s, o.id))
    return [o.id for o in pending]


def _pickup_location(built: BuiltProblem, order_id: int) -> int:
    sid = shipment_id(order_id)
    return next(s.pickup.location for s in built.problem.shipments if s.id == sid)


def _by_nearness(built: BuiltProblem, snapshot: Snapshot, order_id: int,
                 *, radius_m: float | None = None) -> list[int]:
    """Vehicle indices allowed to take the order, nearest first: by when each could be at the
    pickup (a courier busy until later starts later)."""
    order = built.orders[order_id]
    loc = _pickup_location(built, order_id)
    problem = built.problem
    ranked = []
    for k, courier in enumerate(built.couriers):
        if not courier_may_serve(order, courier, snapshot.excluded):
            continue
        v = problem.vehicles[k]
        distance_m = float(problem.distances_m[v.profile][v.start_location, loc])
        if radius_m is not None and distance_m > radius_m:
            continue
        ranked.append((v.start_s + float(problem.durations_s[v.profile][v.start_location, loc]),
                       k))
    ranked.sort()
    return [k for _, k in ranked]


@dataclass(frozen=True)
class NearestPolicy:
    options: PlanningOptions = PlanningOptions()
    max_tries: int = 20
    name: str = "nearest"

    def decide(self, snapshot: Snapshot, matrices: Matrices, *, time_limit_s: float,
               seed: int = 0) -> Decision:
        started = time.perf_counter()
        built = build_problem(snapshot, matrices, options=self.options)
        sequences = current_sequences(built)
        for order_id in _pending_by_age(built, snapshot):
            for k in _by_nearness(built, snapshot, order_id)[: self.max_tries]:
                if _append_if_feasible(built, sequences, shipment_id(order_id), k):
                    break
        plan = schedule_routes(built.problem, sequences)
        decision = decision_from_plan(built, plan)
        decision.unservable.update(outside_zone_orders(snapshot))
        decision.stats.update(policy=self.name, solve_s=round(time.perf_counter() - started, 4))
        return decision


@dataclass(frozen=True)
class CascadePolicy:
    options: PlanningOptions = PlanningOptions()
    radius_m: float = 3000.0
    mode: Literal["one_by_one", "broadcast"] = "one_by_one"
    max_broadcast: int = 5
    name: str = "cascade"

    def decide(self, snapshot: Snapshot, matrices: Matrices, *, time_limit_s: float,
               seed: int = 0) -> Decision:
        started = time.perf_counter()
        built = build_problem(snapshot, matrices, options=self.options)
        sequences = current_sequences(built)
        broadcasts: dict[int, list[int]] = {}
        for order_id in _pending_by_age(built, snapshot):
            near = _by_nearness(built, snapshot, order_id, radius_m=self.radius_m)
            if self.mode == "broadcast":
                sid = shipment_id(order_id)
                fits = [k for k in near if _fits(built, sequences, sid, k)][: self.max_broadcast]
                if fits:
                    broadcasts[order_id] = [built.couriers[k].id for k in fits]
                continue
            for k in near:
                if _append_if_feasible(built, sequences, shipment_id(order_id), k):
                    break
        decision = decision_from_plan(built, schedule_routes(built.problem, sequences))
        decision.broadcasts = broadcasts
        decision.planned_orders |= set(broadcasts)
        decision.unservable.update(outside_zone_orders(snapshot))
        decision.stats.update(policy=f"{self.name}:{self.mode}",
                              solve_s=round(time.perf_counter() - started, 4))
        return decision


def _fits(built: BuiltProblem, sequences: list[list[StopRef]], sid: str, k: int) -> bool:
    probe = [list(s) for s in sequences]
    return _append_if_feasible(built, probe, sid, k)


def make_policy(name: str, *, options: PlanningOptions | None = None,
                reassign_gain: float | None = 0.2, cascade_radius_m: float = 3000.0,
                cascade_mode: Literal["one_by_one", "broadcast"] = "one_by_one",
                solution_limit: int | None = None) -> Policy:
    """The policy called `name` (one of `POLICY_NAMES`)."""
    options = options or PlanningOptions()
    if name == "batch":
        return BatchPolicy(options, reassign_gain=reassign_gain, solution_limit=solution_limit)
    if name == "nearest":
        return NearestPolicy(options)
    if name == "cascade":
        return CascadePolicy(options, radius_m=cascade_radius_m, mode=cascade_mode)
    raise ValueError(f"unknown dispatch policy {name!r}; expected one of {POLICY_NAMES}")
