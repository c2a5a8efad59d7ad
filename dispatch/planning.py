"""From a snapshot of live dispatch state to a routing problem, and from a plan to decisions.

Pure: no database, no clock, no network. The planner (`dispatch.planner`) loads a `Snapshot`,
asks the travel models for one matrix per profile over `snapshot_points`, and calls
`build_problem`; policies turn the solved plan into a `Decision` that the planner applies.

Times are seconds relative to the snapshot instant (t = 0 is "now"), which keeps the solver's
integer clock small. How live state maps onto the routing model:

* parcels on board (`picked_up`, `at_dropoff`) are `OnboardParcel`s pinned to their courier;
* an order whose courier is already at the pickup (`at_pickup`) is treated the same way: it is
  never moved to someone else, and its pickup is shown as the courier's first stop;
* accepted (`assigned`) and offered orders are shipments pinned to their courier; their windows
  are hard while the courier can still make them (so new work never makes a promise late),
  and dropped once it cannot (a late promise is still a promise: `keep_promised` puts any such
  order back on its courier's route). A re-plan may move accepted ones only when the
  caller builds the problem with `reassignable=True` and adopts the result because it gains
  more than a threshold (`worth_reassigning`);
* pending orders are optional shipments with hard windows and a penalty that grows with their
  wait, so an impossible order comes back unassigned with a reason instead of failing the plan.

What the routing model cannot say — "not this courier" (a courier declined the order, or works
other zones) — is enforced after solving by `enforce_exclusions`, which moves such shipments to
an allowed courier by cheapest feasible insertion or leaves them for the next cycle.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from dispatch.lifecycle import HELD_STATUSES
from geodata.profiles import VEHICLE_PROFILE
from routing.plan import Plan, StopKind, StopRef, Unassigned, schedule_routes
from routing.problem import OnboardParcel, Problem, Shipment, Stop, Vehicle, Weights

__all__ = [
    "CourierState",
    "OrderState",
    "Snapshot",
    "PlanningOptions",
    "PlannedStopOut",
    "Decision",
    "BuiltProblem",
    "snapshot_points",
    "profiles_needed",
    "build_problem",
    "enforce_exclusions",
    "decision_from_plan",
    "worth_reassigning",
    "shipment_id",
    "simulate_route",
    "stop_table",
    "cheapest_insertion",
    "courier_may_serve",
    "outside_zone_orders",
    "plan_objective",
    "keep_promised",
    "order_of",
    "HARD_UNSERVABLE_REASONS",
]

#: Statuses in which the order is promised to one courier but not yet picked up.
PROMISED_STATUSES = frozenset({"assigned", "offered"})
#: Solver reasons that mean "this order cannot be served as it stands" (flagged on the order).
HARD_UNSERVABLE_REASONS = ("too large for every vehicle", "no vehicle can reach its time windows")


@dataclass(frozen=True, slots=True)
class CourierState:
    """An on-shift courier as the planner sees it; times are seconds relative to now.

    `available_in_s` > 0 says the courier reaches `(lat, lon)` only then and is routed from
    there: a courier who may not be diverted on its way (the service plans from the live GPS
    position, 0; a simulation of meal delivery rules uses the next stop); < 0 says it arrived
    there that long ago and is still handing over. `last_pickup_s`
    bounds every new pickup (a courier going off duty may finish deliveries after it).
    """

    id: int
    vehicle: str
    capacity: int
    lat: float
    lon: float
    shift_end_s: float = math.inf
    zone_ids: frozenset[int] = frozenset()
    available_in_s: float = 0.0
    last_pickup_s: float = math.inf
    #: False on a break: the courier is planned with the work it holds or accepted only.
    takes_new_work: bool = True


@dataclass(frozen=True, slots=True)
class OrderState:
    """An open order; windows are `(earliest_s, latest_s)` relative to now, or None."""

    id: int
    status: str
    courier_id: int | None
    pickup_lat: float
    pickup_lon: float
    dropoff_lat: float
    dropoff_lon: float
    size: int = 1
    pickup_window_s: tuple[float, float] | None = None
    dropoff_window_s: tuple[float, float] | None = None
    #: Active zones containing the pickup; empty means outside every zone.
    zone_ids: frozenset[int] = frozenset()
    waiting_s: float = 0.0


@dataclass(frozen=True)
class Snapshot:
    """Everything one planning cycle decides from."""

    couriers: tuple[CourierState, ...]
    orders: tuple[OrderState, ...]
    #: The current plan: courier id -> its stops as `(order_id, "pickup"|"dropoff")`.
    previous_routes: Mapping[int, tuple[tuple[int, str], ...]] = field(default_factory=dict)
    #: `(order_id, courier_id)` pairs that must never be offered (declined, expired, offered).
    excluded: frozenset[tuple[int, int]] = frozenset()
    #: Whether zones exist at all (without zones, no order is "outside every zone").
    zones_defined: bool = True
    #: The instant t = 0 stands for (Unix seconds), for policies that remember across cycles.
    at_s: float | None = None


@dataclass(frozen=True)
class PlanningOptions:
    pickup_service_s: float = 120.0
    dropoff_service_s: float = 60.0
    #: Travel time used where the road network has no path (the solver then avoids the arc).
    unreachable_s: float = 10 * 3600.0
    unreachable_m: float = 1_000_000.0
    #: Leaving a pending order out costs this (in metres of driving) per priority step.
    unassigned_penalty_m: float = 100_000.0
    #: Every this many seconds of waiting raises a pending order's priority by one (max 5).
    priority_step_s: float = 600.0
    per_late_s: float = 5.0
    #: Drop-off windows as promises priced by lateness (`per_late_s`) rather than hard bounds;
    #: a window ending at the order's creation then prices every second to the door.
    soft_dropoff_windows: bool = False
    vehicle_profile: Mapping[str, str] = field(default_factory=lambda: dict(VEHICLE_PROFILE))


@dataclass(frozen=True, slots=True)
class PlannedStopOut:
    """One stop of a courier's new route; `eta_s` is relative to the snapshot instant."""

    order_id: int
    kind: str  # "pickup" | "dropoff"
    lat: float
    lon: float
    eta_s: float


@dataclass
class Decision:
    """What a policy wants done; the planner applies all of it in one transaction."""

    routes: dict[int, tuple[PlannedStopOut, ...]] = field(default_factory=dict)
    #: New offers `(order_id, courier_id)` for pending orders.
    offers: list[tuple[int, int]] = field(default_factory=list)
    #: Accepted orders moved: `(order_id, from_courier_id, to_courier_id)`.
    reassignments: list[tuple[int, int, int]] = field(default_factory=list)
    #: Orders that cannot be served as they stand, with the reason.
    unservable: dict[int, str] = field(default_factory=dict)
    #: Orders that are planned (their `unservable_reason` is cleared).
    planned_orders: set[int] = field(default_factory=set)
    #: Broadcast offers: order -> couriers offered at once (first accept wins).
    broadcasts: dict[int, list[int]] = field(default_factory=dict)
    stats: dict[str, float | int | str] = field(default_factory=dict)
    #: The routing problem and plan behind the decision (for validation and warm starts).
    problem: Problem | None = None
    plan: Plan | None = None


@dataclass(frozen=True)
class BuiltProblem:
    """A routing problem plus the maps back to couriers, orders and places."""

    problem: Problem
    couriers: tuple[CourierState, ...]
    orders: Mapping[int, OrderState]
    points: tuple[tuple[float, float], ...]
    #: Shipment id -> vehicle indices it must not go to.
    forbidden: Mapping[str, frozenset[int]]
    #: Order ids treated as held (at pickup or on board), per vehicle index.
    held: Mapping[int, tuple[int, ...]]
    initial: Plan | None = None


def shipment_id(order_id: int) -> str:
    return f"o{order_id}"


def order_of(shipment: str) -> int:
    return int(shipment[1:])


def snapshot_points(snapshot: Snapshot) -> tuple[tuple[float, float], ...]:
    """The distinct `(lat, lon)` places of a snapshot: courier positions, pickups, dropoffs.

    One matrix per profile over these points serves the whole problem.
    """
    seen: dict[tuple[float, float], int] = {}
    for c in snapshot.couriers:
        seen.setdefault((c.lat, c.lon), len(seen))
    for o in snapshot.orders:
        seen.setdefault((o.pickup_lat, o.pickup_lon), len(seen))
        seen.setdefault((o.dropoff_lat, o.dropoff_lon), len(seen))
    return tuple(seen)


def profiles_needed(snapshot: Snapshot, options: PlanningOptions) -> tuple[str, ...]:
    return tuple(sorted({options.vehicle_profile[c.vehicle] for c in snapshot.couriers}))


def _clean(matrix: np.ndarray, fill: float) -> np.ndarray:
    """Unreachable pairs (NaN) become a long but finite cost; the diagonal is zero."""
    out = np.where(np.isfinite(matrix), matrix, fill).astype(float)
    np.fill_diagonal(out, 0.0)
    return out


def _stop(location: int, window: tuple[float, float] | None, service_s: float, *,
          soft: bool) -> Stop:
    if window is None:
        return Stop(location, 0.0, math.inf, service_s, False)
    earliest, latest = window
    return Stop(location, max(0.0, earliest), latest, service_s, soft)


def _keepable(window: tuple[float, float] | None,
              direct_s: float) -> tuple[float, float] | None:
    """A promised order's window as a hard bound, unless the courier cannot make it even going
    straight there: then its end is dropped (the order is late; the plan still serves it)."""
    if window is None or window[1] >= direct_s:
        return window
    return (window[0], math.inf)


def courier_may_serve(order: OrderState, courier: CourierState,
                      excluded: frozenset[tuple[int, int]]) -> bool:
    """Breaks, zones and past offers: the rules the routing model itself cannot express."""
    if not courier.takes_new_work and order.courier_id != courier.id:
        return False
    if (order.id, courier.id) in excluded:
        return False
    return not courier.zone_ids or bool(courier.zone_ids & order.zone_ids)


def build_problem(
    snapshot: Snapshot,
    matrices: Mapping[str, tuple[np.ndarray, np.ndarray]],
    *,
    options: PlanningOptions | None = None,
    reassignable: bool = False,
) -> BuiltProblem:
    """The routing problem for `snapshot`; `matrices[profile] = (durations_s, distances_m)`
    over `snapshot_points(snapshot)`.

    Orders outside every zone, and orders of couriers not in the snapshot, are left out (the
    planner flags the former; the latter wait for a dispatcher).
    """
    options = options or PlanningOptions()
    points = snapshot_points(snapshot)
    index = {p: i for i, p in enumerate(points)}
    durations = {pr: _clean(d, options.unreachable_s) for pr, (d, _) in matrices.items()}
    distances = {pr: _clean(m, options.unreachable_m) for pr, (_, m) in matrices.items()}

    vehicle_of = {c.id: k for k, c in enumerate(snapshot.couriers)}
    onboard: list[OnboardParcel] = []
    shipments: list[Shipment] = []
    held: dict[int, list[int]] = {}
    load: dict[int, int] = {}
    forbidden: dict[str, frozenset[int]] = {}
    orders: dict[int, OrderState] = {}
    pickup_s, dropoff_s = options.pickup_service_s, options.dropoff_service_s
    # Who may not serve what (see `courier_may_serve`), indexed once rather than pair by pair.
    zoned = [k for k, c in enumerate(snapshot.couriers) if c.zone_ids]
    # A courier on a break gets nothing new; what it accepted stays with it.
    resting = {k for k, c in enumerate(snapshot.couriers) if not c.takes_new_work}
    excluded_by_order: dict[int, list[int]] = {}
    for order_id, courier_id in snapshot.excluded:
        excluded_by_order.setdefault(order_id, []).append(courier_id)
    for o in snapshot.orders:
        pickup_loc = index[(o.pickup_lat, o.pickup_lon)]
        dropoff_loc = index[(o.dropoff_lat, o.dropoff_lon)]
        sid = shipment_id(o.id)
        k = vehicle_of.get(o.courier_id) if o.courier_id is not None else None
        if o.status in HELD_STATUSES:
            if k is None:
                continue
            courier = snapshot.couriers[k]
            dur = durations[options.vehicle_profile[courier.vehicle]]
            start = index[(courier.lat, courier.lon)]
            reach_s = max(0.0, courier.available_in_s) + float(dur[start, dropoff_loc])
            onboard.append(OnboardParcel(
                sid, k, _stop(dropoff_loc, _keepable(o.dropoff_window_s, reach_s), dropoff_s,
                              soft=options.soft_dropoff_windows), o.size))
            held.setdefault(k, []).append(o.id)
            load[k] = load.get(k, 0) + o.size
        elif o.status in PROMISED_STATUSES:
            if k is None:
                continue
            courier = snapshot.couriers[k]
            dur = durations[options.vehicle_profile[courier.vehicle]]
            start = index[(courier.lat, courier.lon)]
            to_pickup_s = max(0.0, courier.available_in_s) + float(dur[start, pickup_loc])
            pickup_window = _keepable(o.pickup_window_s, to_pickup_s)
            at_pickup_s = max(to_pickup_s, pickup_window[0] if pickup_window else 0.0)
            dropoff_window = _keepable(o.dropoff_window_s, at_pickup_s + pickup_s
                                       + float(dur[pickup_loc, dropoff_loc]))
            shipments.append(Shipment(
                sid,
                _stop(pickup_loc, pickup_window, pickup_s, soft=False),
                _stop(dropoff_loc, dropoff_window, dropoff_s,
                      soft=options.soft_dropoff_windows),
                size=o.size, priority=5, required=True, assigned_vehicle=k,
                reassignable=(reassignable and o.status == "assigned"
                              and snapshot.couriers[k].takes_new_work),
            ))
        elif o.status == "pending":
            if snapshot.zones_defined and not o.zone_ids:
                continue
            priority = min(5, int(o.waiting_s // options.priority_step_s))
            shipments.append(Shipment(
                sid,
                _stop(pickup_loc, o.pickup_window_s, pickup_s, soft=False),
                _stop(dropoff_loc, o.dropoff_window_s, dropoff_s,
                      soft=options.soft_dropoff_windows),
                size=o.size, priority=priority, required=False,
            ))
        else:
            continue
        orders[o.id] = o
        if o.status not in HELD_STATUSES:
            banned = {k for k in zoned if not snapshot.couriers[k].zone_ids & o.zone_ids}
            banned |= resting
            banned |= {vehicle_of[c] for c in excluded_by_order.get(o.id, ()) if c in vehicle_of}
            if o.status in PROMISED_STATUSES:
                banned.discard(vehicle_of.get(o.courier_id, -1) if o.courier_id is not None
                               else -1)
            if banned:
                forbidden[sid] = frozenset(banned)

    vehicles = tuple(
        Vehicle(
            id=str(c.id),
            start_location=index[(c.lat, c.lon)],
            capacity=max(c.capacity, load.get(k, 0)),
            start_s=max(0.0, c.available_in_s),
            shift_end_s=max(c.shift_end_s, max(0.0, c.available_in_s)),
            end_location=None,
            profile=options.vehicle_profile[c.vehicle],
            last_pickup_s=c.last_pickup_s,
        )
        for k, c in enumerate(snapshot.couriers)
    )
    weights = Weights(per_m=1.0, per_late_s=options.per_late_s,
                      per_unassigned=options.unassigned_penalty_m)
    problem = Problem(vehicles, tuple(shipments), durations, distances, tuple(onboard), weights,
                      name="dispatch")
    built = BuiltProblem(problem, snapshot.couriers, orders, points, forbidden,
                         {k: tuple(v) for k, v in held.items()})
    return BuiltProblem(**{**built.__dict__, "initial": _warm_start(built, snapshot)})


def _warm_start(built: BuiltProblem, snapshot: Snapshot) -> Plan | None:
    """The previous plan as a plan of this problem (the solver repairs what moved on)."""
    if not snapshot.previous_routes:
        return None
    known = stop_table(built.problem)
    sequences: list[list[StopRef]] = []
    for c in built.couriers:
        refs = []
        for order_id, kind in snapshot.previous_routes.get(c.id, ()):
            ref = StopRef(shipment_id(order_id),
                          StopKind.PICKUP if kind == "pickup" else StopKind.DELIVERY)
            if ref in known:  # a picked-up order keeps only its dropoff
                refs.append(ref)
        sequences.append(refs)
    if not any(sequences):
        return None
    return schedule_routes(built.problem, sequences, unassigned=())


# -- after solving -------------------------------------------------------------------------


def simulate_route(problem: Problem, k: int, refs: Sequence[StopRef],
              stops: Mapping[StopRef, tuple[Stop, int]]) -> float | None:
    """Distance of vehicle `k` serving `refs` in order, or None if a hard rule breaks."""
    v = problem.vehicles[k]
    dur = problem.durations_s[v.profile]
    dist = problem.distances_m[v.profile]
    t, here, load, distance = v.start_s, v.start_location, problem.initial_load(k), 0.0
    for ref in refs:
        stop, delta = stops[ref]
        t = max(t + float(dur[here, stop.location]), stop.earliest_s)
        if t > stop.latest_s + 1e-6 and not stop.soft_latest:
            return None
        if ref.kind == StopKind.PICKUP and t > v.last_pickup_s + 1e-6:
            return None
        distance += float(dist[here, stop.location])
        load += delta
        if load > v.capacity:
            return None
        t += stop.service_s
        here = stop.location
    if t > v.shift_end_s + 1e-6:
        return None
    return distance


def stop_table(problem: Problem) -> dict[StopRef, tuple[Stop, int]]:
    table: dict[StopRef, tuple[Stop, int]] = {}
    for s in problem.shipments:
        table[StopRef(s.id, StopKind.PICKUP)] = (s.pickup, s.size)
        table[StopRef(s.id, StopKind.DELIVERY)] = (s.delivery, -s.size)
    for p in problem.onboard:
        table[StopRef(p.id, StopKind.DELIVERY)] = (p.delivery, -p.size)
    return table


def cheapest_insertion(problem: Problem, sequences: list[list[StopRef]], sid: str,
                       candidates: Sequence[int],
                       stops: Mapping[StopRef, tuple[Stop, int]] | None = None,
                       max_added_m: float = math.inf,
                       ) -> tuple[int, list[StopRef]] | None:
    """The cheapest feasible place for shipment `sid` on one of `candidates` (vehicle indices):
    `(vehicle, new sequence)`, or None when it fits nowhere for less than `max_added_m`."""
    stops = stops or stop_table(problem)
    pickup, delivery = StopRef(sid, StopKind.PICKUP), StopRef(sid, StopKind.DELIVERY)
    best: tuple[float, int, list[StopRef]] | None = None
    for k in candidates:
        seq = sequences[k]
        base = simulate_route(problem, k, seq, stops)
        if base is None:
            continue
        for i in range(len(seq) + 1):
            for j in range(i, len(seq) + 1):
                trial = seq[:i] + [pickup] + seq[i:j] + [delivery] + seq[j:]
                cost = simulate_route(problem, k, trial, stops)
                if cost is None or cost - base > max_added_m:
                    continue
                if best is None or cost - base < best[0]:
                    best = (cost - base, k, trial)
    return None if best is None else (best[1], best[2])


def enforce_exclusions(built: BuiltProblem, plan: Plan, *, max_candidates: int = 8) -> Plan:
    """Moves shipments off couriers they must not go to (declined, wrong zone).

    Each such shipment is taken out of its route (the rest of the route stays as it was) and
    put on the nearest allowed couriers by cheapest feasible insertion; if none has room it is
    left unassigned for the next cycle.
    """
    problem = built.problem
    sequences = [list(r.visits and [v.ref for v in r.visits] or []) for r in plan.routes]
    misplaced = [
        (k, ref.shipment_id) for k, seq in enumerate(sequences) for ref in seq
        if ref.kind == StopKind.PICKUP and k in built.forbidden.get(ref.shipment_id, ())
    ]
    if not misplaced:
        return plan
    stops = stop_table(problem)
    by_id = {s.id: s for s in problem.shipments}
    unassigned = list(plan.unassigned)
    for k, sid in misplaced:
        sequences[k] = [r for r in sequences[k] if r.shipment_id != sid]
    for _, sid in misplaced:
        banned = built.forbidden[sid]
        pickup_loc = by_id[sid].pickup.location
        allowed = [k for k in range(len(problem.vehicles)) if k not in banned]
        allowed.sort(key=lambda k: float(problem.durations_s[problem.vehicles[k].profile][
            problem.vehicles[k].start_location, pickup_loc]))
        shipment = by_id[sid]
        worth_m = (math.inf if shipment.required else
                   problem.weights.per_unassigned * (1 + shipment.priority)
                   / max(problem.weights.per_m, 1e-9))
        placed = cheapest_insertion(problem, sequences, sid, allowed[:max_candidates], stops,
                                    max_added_m=worth_m)
        if placed is None:
            unassigned.append(Unassigned(sid, "no allowed courier has room"))
        else:
            sequences[placed[0]] = placed[1]
    return schedule_routes(problem, sequences, unassigned=tuple(unassigned),
                           solver=plan.solver)


def keep_promised(built: BuiltProblem, plan: Plan) -> Plan:
    """Accepted, offered and carried orders never fall off their courier's route: any the
    solver left out (their windows clash) go at the end of it, late but visible."""
    problem = built.problem
    left = {u.shipment_id for u in plan.unassigned}
    sequences = [[v.ref for v in r.visits] for r in plan.routes]
    sequences += [[] for _ in range(len(problem.vehicles) - len(sequences))]
    changed = False
    for s in problem.shipments:
        if s.id in left and s.assigned_vehicle is not None and s.pinned_vehicle is not None:
            sequences[s.pinned_vehicle] += [StopRef(s.id, StopKind.PICKUP),
                                            StopRef(s.id, StopKind.DELIVERY)]
            changed = True
    for p in problem.onboard:
        ref = StopRef(p.id, StopKind.DELIVERY)
        if not any(ref in seq for seq in sequences):
            sequences[p.vehicle].append(ref)
            changed = True
    if not changed:
        return plan
    placed = {ref.shipment_id for seq in sequences for ref in seq}
    return schedule_routes(problem, sequences, solver=plan.solver, unassigned=tuple(
        u for u in plan.unassigned if u.shipment_id not in placed))


def plan_objective(problem: Problem, plan: Plan) -> float:
    """The plan's cost as the routing validator counts it (distance, lateness, left out)."""
    from routing.validator import validate

    return validate(problem, plan).objective


def worth_reassigning(kept_objective: float, free_objective: float, *, min_gain: float) -> bool:
    """Accepted work moves only when the re-plan is better by more than `min_gain` (a share).

    Couriers lose trust in an app that keeps taking back what they accepted, so small gains
    are not worth it.
    """
    if kept_objective <= 0:
        return False
    return (kept_objective - free_objective) / kept_objective > min_gain


def decision_from_plan(built: BuiltProblem, plan: Plan) -> Decision:
    """Routes with ETAs, new offers, reassignments and unservable orders from a solved plan."""
    problem = built.problem
    decision = Decision(problem=problem, plan=plan)
    for route in plan.routes:
        courier = built.couriers[route.vehicle]
        stops: list[PlannedStopOut] = []
        for order_id in built.held.get(route.vehicle, ()):
            o = built.orders[order_id]
            if o.status == "at_pickup":
                stops.append(PlannedStopOut(order_id, "pickup", o.pickup_lat, o.pickup_lon, 0.0))
        for visit in route.visits:
            order_id = order_of(visit.shipment_id)
            o = built.orders[order_id]
            if visit.kind == StopKind.PICKUP:
                stops.append(PlannedStopOut(order_id, "pickup", o.pickup_lat, o.pickup_lon,
                                            visit.arrival_s))
                if o.status == "pending":
                    decision.offers.append((order_id, courier.id))
                elif o.status == "assigned" and o.courier_id != courier.id:
                    decision.reassignments.append((order_id, o.courier_id or 0, courier.id))
            else:
                stops.append(PlannedStopOut(order_id, "dropoff", o.dropoff_lat, o.dropoff_lon,
                                            visit.arrival_s))
            decision.planned_orders.add(order_id)
        decision.routes[courier.id] = tuple(stops)
    for u in plan.unassigned:
        if u.reason in HARD_UNSERVABLE_REASONS:
            decision.unservable[order_of(u.shipment_id)] = u.reason
    decision.stats["planned_shipments"] = len(problem.shipments) - len(plan.unassigned)
    decision.stats["unassigned"] = len(plan.unassigned)
    return decision


def outside_zone_orders(snapshot: Snapshot) -> dict[int, str]:
    """Pending orders no active zone contains: flagged, never planned."""
    if not snapshot.zones_defined:
        return {}
    return {o.id: "outside every active service zone" for o in snapshot.orders
            if o.status == "pending" and not o.zone_ids}


MatrixFn = Callable[[str, Sequence[tuple[float, float]]], tuple[np.ndarray, np.ndarray]]
