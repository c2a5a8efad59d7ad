"""One trip at a time: meal-delivery dispatch on top of any policy.

Meal-delivery platforms (and the Grubhub benchmark's rules) work differently from parcel
routes: a courier gets one *trip* at a time — go to one pickup place, collect a bundle of its
orders, deliver them in a given order — and nothing new until that trip is done; a courier on
its way is never diverted. The service's policies plan multi-stop routes over every courier;
`OneTripPolicy` keeps what they are good at (which courier, which bundle, in what order) and
commits only what these rules allow:

1. **Busy couriers are planned from the end of their trip.** A courier with work in progress
   (offered, accepted, at the pickup or carrying parcels) is shown to the inner policy as
   free at its last drop-off, at the time its trip ends (computed from its route's order with
   the same travel matrices), and its trip's orders are left out of the problem. So the inner
   policy may plan a pending order on a courier who will be free nearby in five minutes —
   a rolling-horizon look-ahead — but that order stays pending until then.
2. **Only idle couriers get offers,** and only the first trip of their planned route: the
   leading pickups at one place (a bundle) and their drop-offs in planned order.
3. **A trip is committed only when it must start:** when the courier would have to leave
   within `commit_s` of now to be at the pickup as planned. Until then the order stays
   pending and later cycles may give it to a better courier or bundle it with newer orders.
4. **A bundle may grow at the counter** (the one update the meal-delivery rules allow): while a
   courier waits at a pickup place, a pending order of that place that is ready by the time
   the bundle is collected joins it when its drop-off, inserted where it delays the bundle
   least, makes the total click-to-door smaller than the inner plan's way of serving it.

Busy couriers' routes are repeated as they were, with fresh ETAs, so a cycle never reorders a
trip under way.

Two economies keep a cycle cheap when it runs every few seconds:

* **Candidates.** Only couriers among the `candidates_per_order` who could reach some pending
  pickup first are planned; a courier free in an hour across town changes no decision now.
* **An unchanged problem is not solved again.** Busy couriers are planned from fixed trip ends
  and idle ones from where they wait, so between events (an order placed, a trip committed or
  finished, a shift starting or ending) the inner problem stands still in absolute time; with a
  `PlanMemo` the last inner plan is reused, only the commitment rule is applied again.

Pure apart from the memo the caller may hand in: plain values in, a `Decision` out.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace

import numpy as np

from dispatch.planning import (
    HELD_STATUSES,
    PROMISED_STATUSES,
    CourierState,
    Decision,
    OrderState,
    PlannedStopOut,
    PlanningOptions,
    Snapshot,
    outside_zone_orders,
    snapshot_points,
)
from dispatch.policies import Matrices, Policy

__all__ = ["OneTripPolicy", "PlanMemo", "trip_schedule", "first_trip"]

#: Statuses of an order that is part of a courier's trip in progress.
TRIP_STATUSES = PROMISED_STATUSES | HELD_STATUSES


@dataclass(frozen=True)
class _Trip:
    stops: tuple[PlannedStopOut, ...]
    end: tuple[float, float]
    end_s: float


def trip_schedule(courier: CourierState, orders: list[OrderState],
                  order_of_stops: tuple[tuple[int, str], ...], matrices: Matrices,
                  index: Mapping[tuple[float, float], int],
                  options: PlanningOptions) -> _Trip:
    """The courier's trip in progress, timed from where and when it is next free.

    Stops follow `order_of_stops` (the route it was given); stops it lacks are appended,
    pickups before drop-offs. Parcels already collected need only their drop-off; orders being
    committed now (still pending) and accepted ones need their pickup too.
    """
    by_id = {o.id: o for o in orders}
    needed: list[tuple[int, str]] = []
    for o in orders:
        if o.status in PROMISED_STATUSES or o.status in ("pending", "at_pickup"):
            needed.append((o.id, "pickup"))
        needed.append((o.id, "dropoff"))
    wanted = set(needed)
    sequence = [s for s in order_of_stops if s in wanted]
    sequence += [s for s in needed if s not in set(sequence) and s[1] == "pickup"]
    sequence += [s for s in needed if s not in set(sequence)]
    durations = matrices[options.vehicle_profile[courier.vehicle]][0]
    t, here = courier.available_in_s, index[(courier.lat, courier.lon)]
    stops = []
    for order_id, kind in sequence:
        o = by_id[order_id]
        place = (o.pickup_lat, o.pickup_lon) if kind == "pickup" else (o.dropoff_lat,
                                                                       o.dropoff_lon)
        there = index[place]
        t += _finite(float(durations[here, there]), options.unreachable_s)
        stops.append(PlannedStopOut(order_id, kind, place[0], place[1], t))
        if kind == "pickup":
            window = o.pickup_window_s
            t = max(t, window[0] if window else t) + options.pickup_service_s
        else:
            t += options.dropoff_service_s
        here = there
    end = (stops[-1].lat, stops[-1].lon) if stops else (courier.lat, courier.lon)
    return _Trip(tuple(stops), end, t)


def first_trip(stops: tuple[PlannedStopOut, ...]) -> tuple[PlannedStopOut, ...]:
    """The leading pickups at one place and their drop-offs, in planned order; () when the
    route does not start with a pickup."""
    if not stops or stops[0].kind != "pickup":
        return ()
    place = (stops[0].lat, stops[0].lon)
    bundle: list[PlannedStopOut] = []
    for s in stops:
        if s.kind != "pickup" or (s.lat, s.lon) != place:
            break
        bundle.append(s)
    ids = {s.order_id for s in bundle}
    return tuple(bundle) + tuple(s for s in stops if s.kind == "dropoff" and s.order_id in ids)


def _finite(value: float, fill: float) -> float:
    return value if math.isfinite(value) else fill


def _sub_matrices(matrices: Matrices, points: tuple, sub_points: tuple) -> Matrices:
    position = {p: i for i, p in enumerate(points)}
    idx = np.array([position[p] for p in sub_points], dtype=np.int64)
    return {profile: (d[np.ix_(idx, idx)], m[np.ix_(idx, idx)])
            for profile, (d, m) in matrices.items()}


class PlanMemo:
    """The last inner plan of `OneTripPolicy`, keyed by its inputs in absolute time."""

    def __init__(self) -> None:
        self.key: tuple | None = None
        self.at_s = 0.0
        self.decision: Decision | None = None
        self.hits = 0
        self.misses = 0

    def recall(self, key: tuple, at_s: float) -> Decision | None:
        if key != self.key or self.decision is None:
            self.misses += 1
            return None
        self.hits += 1
        shift_s = self.at_s - at_s
        old = self.decision
        routes = {c: tuple(replace(s, eta_s=s.eta_s + shift_s) for s in stops)
                  for c, stops in old.routes.items()}
        return Decision(routes=routes, unservable=dict(old.unservable),
                        planned_orders=set(old.planned_orders),
                        broadcasts={o: list(c) for o, c in old.broadcasts.items()},
                        stats=dict(old.stats))

    def remember(self, key: tuple, at_s: float, decision: Decision) -> None:
        self.key, self.at_s, self.decision = key, at_s, decision


def _key(snapshot: Snapshot, at_s: float, options: PlanningOptions, time_limit_s: float,
         seed: int) -> tuple:
    """The inner problem in absolute time (priorities as the batch policy grades waiting)."""
    def absolute(value: float) -> float:
        return round(value + at_s, 3) if math.isfinite(value) else value

    def window(w: tuple[float, float] | None) -> tuple | None:
        return None if w is None else (absolute(w[0]), absolute(w[1]))

    # A courier free now stays "free now" from one cycle to the next.
    couriers = tuple((c.id, c.vehicle, c.capacity, c.lat, c.lon,
                      absolute(c.available_in_s) if c.available_in_s > 0 else "now",
                      absolute(c.last_pickup_s), absolute(c.shift_end_s), c.zone_ids,
                      c.takes_new_work) for c in snapshot.couriers)
    orders = tuple((o.id, o.pickup_lat, o.pickup_lon, o.dropoff_lat, o.dropoff_lon, o.size,
                    window(o.pickup_window_s), window(o.dropoff_window_s), o.zone_ids,
                    min(5, int(o.waiting_s // options.priority_step_s)))
                   for o in snapshot.orders)
    routes = tuple(sorted(snapshot.previous_routes.items()))
    return (couriers, orders, routes, snapshot.excluded, time_limit_s, seed)


def _candidates(couriers: list[CourierState], pending: tuple[OrderState, ...],
                matrices: Matrices, index: Mapping[tuple[float, float], int],
                options: PlanningOptions, per_order: int) -> list[CourierState]:
    """The couriers among the `per_order` first to reach some pending pickup."""
    if len(couriers) <= per_order:
        return couriers
    keep: set[int] = set()
    pickups = np.array([index[(o.pickup_lat, o.pickup_lon)] for o in pending], dtype=np.int64)
    reach = np.empty((len(couriers), len(pending)))
    for k, c in enumerate(couriers):
        durations = matrices[options.vehicle_profile[c.vehicle]][0]
        row = durations[index[(c.lat, c.lon)], pickups]
        reach[k] = c.available_in_s + np.where(np.isfinite(row), row, options.unreachable_s)
    for j in range(len(pending)):
        keep.update(int(k) for k in np.argsort(reach[:, j], kind="stable")[:per_order])
    return [c for k, c in enumerate(couriers) if k in keep]


@dataclass(frozen=True)
class OneTripPolicy:
    inner: Policy
    options: PlanningOptions = PlanningOptions()
    #: Commit a trip once its courier would have to leave within this many seconds.
    commit_s: float = 60.0
    #: Plan only the couriers among this many first to reach each pending pickup (None: all).
    candidates_per_order: int | None = 6
    memo: PlanMemo | None = None

    @property
    def name(self) -> str:
        return self.inner.name

    def decide(self, snapshot: Snapshot, matrices: Matrices, *, time_limit_s: float,
               seed: int = 0) -> Decision:
        points = snapshot_points(snapshot)
        index = {p: i for i, p in enumerate(points)}
        trip_orders: dict[int, list[OrderState]] = {}
        for o in snapshot.orders:
            if o.status in TRIP_STATUSES and o.courier_id is not None:
                trip_orders.setdefault(o.courier_id, []).append(o)

        decision = Decision()
        couriers: list[CourierState] = []
        idle: dict[int, CourierState] = {}
        for c in snapshot.couriers:
            mine = trip_orders.get(c.id)
            if not mine:
                couriers.append(c)
                idle[c.id] = c
                continue
            trip = trip_schedule(c, mine, snapshot.previous_routes.get(c.id, ()), matrices,
                                 index, self.options)
            decision.routes[c.id] = trip.stops
            decision.planned_orders |= {o.id for o in mine}
            couriers.append(replace(c, lat=trip.end[0], lon=trip.end[1],
                                    available_in_s=max(c.available_in_s, trip.end_s)))
        for idle_id in idle:
            decision.routes[idle_id] = ()

        pending = tuple(o for o in snapshot.orders if o.status == "pending")
        decision.unservable.update(outside_zone_orders(snapshot))
        if not pending or not couriers:
            decision.stats.update(policy=self.name, committed_trips=0)
            return decision

        if self.candidates_per_order is not None:
            couriers = _candidates(couriers, pending, matrices, index, self.options,
                                   self.candidates_per_order)
        planned = Snapshot(tuple(couriers), pending,
                           {c.id: snapshot.previous_routes[c.id] for c in couriers
                            if c.id in idle and c.id in snapshot.previous_routes},
                           frozenset(p for p in snapshot.excluded
                                     if p[0] in {o.id for o in pending}),
                           snapshot.zones_defined, snapshot.at_s)
        memo, at_s = self.memo, snapshot.at_s
        key = (_key(planned, at_s, self.options, time_limit_s, seed)
               if memo is not None and at_s is not None else None)
        inner = memo.recall(key, at_s) if key is not None and memo and at_s is not None else None
        if inner is None:
            inner = self.inner.decide(planned, _sub_matrices(matrices, points,
                                                             snapshot_points(planned)),
                                      time_limit_s=time_limit_s, seed=seed)
            if key is not None and memo is not None and at_s is not None:
                memo.remember(key, at_s, inner)
        decision.unservable.update(inner.unservable)
        decision.planned_orders |= inner.planned_orders
        committed = 0
        for courier_id, courier in idle.items():
            first = first_trip(inner.routes.get(courier_id, ()))
            if not first or not self._must_start(courier, first, pending, matrices, index):
                continue
            retimed = trip_schedule(courier, [o for o in pending if o.id in
                                              {s.order_id for s in first}],
                                    tuple((s.order_id, s.kind) for s in first), matrices,
                                    index, self.options)
            decision.routes[courier_id] = retimed.stops
            decision.offers += [(s.order_id, courier_id) for s in first if s.kind == "pickup"]
            committed += 1
        decision.offers += self._join_at_counter(snapshot, decision, inner, trip_orders,
                                                 pending, matrices, index)
        for order_id, courier_ids in inner.broadcasts.items():
            free = [c for c in courier_ids if c in idle]
            if free:
                decision.broadcasts[order_id] = free
        decision.stats.update(inner.stats)
        decision.stats.update(policy=self.name, committed_trips=committed)
        return decision

    def _join_at_counter(self, snapshot: Snapshot, decision: Decision, inner: Decision,
                         trip_orders: dict[int, list[OrderState]],
                         pending: tuple[OrderState, ...], matrices: Matrices,
                         index: Mapping[tuple[float, float], int]) -> list[tuple[int, int]]:
        """Pending orders that join the bundle of a courier waiting at their pickup place."""
        taken = {o for o, _ in decision.offers}
        planned_dropoff = {s.order_id: s.eta_s for stops in inner.routes.values()
                           for s in stops if s.kind == "dropoff"}
        joins: list[tuple[int, int]] = []
        for c in snapshot.couriers:
            mine = trip_orders.get(c.id)
            if not mine or c.available_in_s > 0 or any(o.status != "at_pickup" for o in mine):
                continue
            place = (mine[0].pickup_lat, mine[0].pickup_lon)
            if any((o.pickup_lat, o.pickup_lon) != place for o in mine) or \
                    (c.lat, c.lon) != place:
                continue
            collect_s = max([0.0, *[(o.pickup_window_s or (0.0,))[0] for o in mine]])
            load = sum(o.size for o in mine)
            for o in sorted(pending, key=lambda o: (o.pickup_window_s or (0.0,))[0]):
                ready_s = (o.pickup_window_s or (0.0,))[0]
                if (o.id in taken or (o.pickup_lat, o.pickup_lon) != place or ready_s > collect_s
                        or load + o.size > c.capacity or (o.id, c.id) in snapshot.excluded):
                    continue
                joined = self._best_insertion(c, mine, o, decision.routes[c.id], matrices,
                                              index)
                if joined is None:
                    continue
                stops, added_s = joined
                if added_s < planned_dropoff.get(o.id, math.inf):
                    decision.routes[c.id] = stops
                    mine = [*mine, replace(o, status="at_pickup", courier_id=c.id)]
                    load += o.size
                    taken.add(o.id)
                    joins.append((o.id, c.id))
        return joins

    def _best_insertion(self, courier: CourierState, mine: list[OrderState], new: OrderState,
                        stops: tuple[PlannedStopOut, ...], matrices: Matrices,
                        index: Mapping[tuple[float, float], int]
                        ) -> tuple[tuple[PlannedStopOut, ...], float] | None:
        """The new order's drop-off inserted where the bundle's drop-offs end soonest in
        total: `(stops, the new drop-off's time + the delay it causes the others)`."""
        before = {s.order_id: s.eta_s for s in stops if s.kind == "dropoff"}
        order = [(s.order_id, s.kind) for s in stops]
        dropoffs = [i for i, (_, kind) in enumerate(order) if kind == "dropoff"]
        first = dropoffs[0] if dropoffs else len(order)
        best: tuple[float, tuple[PlannedStopOut, ...], float] | None = None
        members = [*mine, replace(new, status="at_pickup", courier_id=courier.id)]
        for at in range(first, len(order) + 1):
            sequence = [*order[:first], (new.id, "pickup"), *order[first:at], (new.id, "dropoff"),
                        *order[at:]]
            trip = trip_schedule(courier, members, tuple(sequence), matrices, index,
                                 self.options)
            etas = {s.order_id: s.eta_s for s in trip.stops if s.kind == "dropoff"}
            added = etas[new.id] + sum(etas[o] - t for o, t in before.items())
            if best is None or added < best[0]:
                best = (added, trip.stops, added)
        return None if best is None else (best[1], best[2])

    def _must_start(self, courier: CourierState, trip: tuple[PlannedStopOut, ...],
                    pending: tuple[OrderState, ...], matrices: Matrices,
                    index: Mapping[tuple[float, float], int]) -> bool:
        """Whether the courier has to leave within `commit_s` to collect the bundle as
        planned: when its latest-ready order is ready, minus the way there."""
        ids = {s.order_id for s in trip if s.kind == "pickup"}
        ready_s = max((o.pickup_window_s[0] if o.pickup_window_s else 0.0)
                      for o in pending if o.id in ids)
        durations = matrices[self.options.vehicle_profile[courier.vehicle]][0]
        first = trip[0]
        travel_s = _finite(float(durations[index[(courier.lat, courier.lon)],
                                           index[(first.lat, first.lon)]]),
                           self.options.unreachable_s)
        leave_by_s = ready_s - travel_s
        return leave_by_s <= courier.available_in_s + self.commit_s
