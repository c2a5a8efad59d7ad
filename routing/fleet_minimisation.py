"""Fleet minimisation: fewer routes, before the final distance search.

For a fleet of identical vehicles with hard windows (Li & Lim's benchmark, a depot's vans),
``eject`` runs our guided ejection search (``routing.ejection``) and ruin and recreate
(``routing.lns``), both compiled with numba and feasible at every step; ``ejection_instance``
says when a problem fits them. Otherwise ``minimise_routes`` bans the route with the fewest
stops and lets OR-Tools' guided local search put its stops elsewhere, keeping the smaller fleet
when it does.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import random
import time

import numpy as np

from routing.budget import Budget
from routing.ejection import EjectionInstance, plan_cost
from routing.ejection import minimise_routes as eject_routes
from routing.lns import shorten_routes
from routing.ortools_model import Layout, NodeMatrices, floor_ticks, search
from routing.plan import StopKind, StopRef

__all__ = ["complete", "minimise_routes", "ejection_instance", "eject"]

log = logging.getLogger(__name__)

#: Share of the budget left after the first solution that guided ejection search may spend
#: removing routes (identical fleets only; see ``routing.ejection``). The rest shortens them.
EJECTION_SHARE = 0.4
#: Share of the budget left after that for our ruin-and-recreate (``routing.lns``) and
#: restarts of the ejection search, before OR-Tools' guided local search takes the rest.
LNS_SHARE = 0.7
#: Each restart (ejection search, then ruin and recreate) gets this share of that time, and at
#: least ``LNS_SLICE_MIN_S``.
LNS_SLICE_SHARE = 0.1
LNS_SLICE_MIN_S = 0.4


def complete(layout: Layout, routes: list[list[int]]) -> bool:
    return sum(len(r) for r in routes) == layout.n_stops


def minimise_routes(
    layout: Layout,
    matrices: NodeMatrices,
    routes: list[list[int]],
    *,
    budget: Budget,
    rng: random.Random,
    solution_limit: int | None,
) -> list[list[int]]:
    """Empty routes one at a time while the stops fit elsewhere (see the module docstring)."""
    p = layout.problem
    if not complete(layout, routes):
        return routes
    fixed = {o.vehicle for o in p.onboard}
    fixed |= {s.pinned_vehicle for s in p.shipments if s.pinned_vehicle is not None}
    reserve_s = budget.left_s() * 0.35  # kept for the final distance phase
    failures: set[tuple[int, ...]] = set()
    while budget.left_s() > reserve_s + 0.05:
        candidates = [k for k, r in enumerate(routes) if r and k not in fixed]
        candidates = [k for k in candidates if tuple(sorted(routes[k])) not in failures]
        if len(candidates) <= 1:
            break
        rng.shuffle(candidates)
        candidates.sort(key=lambda k: len(routes[k]))
        victim = candidates[0]
        used = {k for k, r in enumerate(routes) if r}
        banned = frozenset(k for k in range(len(p.vehicles)) if k not in used or k == victim)
        trial = [[] if k == victim else r for k, r in enumerate(routes)]
        attempt_s = min(budget.left_s() - reserve_s, max(0.5, budget.left_s() * 0.25))
        result = search(
            layout,
            matrices,
            routes=trial,
            banned=banned,
            time_limit_s=attempt_s,
            solution_limit=solution_limit,
            stop_when_complete=True,
            fixed_costs=False,
        )
        if result is not None and complete(layout, result):
            routes = result
            failures.clear()
        else:
            failures.add(tuple(sorted(routes[victim])))
    return routes


def ejection_instance(layout: Layout) -> EjectionInstance | None:
    """The problem as guided ejection search takes it, when it fits: identical vehicles, hard
    windows, every shipment required and none pinned, nothing on board."""
    p = layout.problem
    first = p.vehicles[0] if p.vehicles else None
    if first is None or p.onboard or math.isfinite(first.last_pickup_s):
        return None
    same = dataclasses.replace(first, id="")
    if any(dataclasses.replace(v, id="") != same for v in p.vehicles):
        return None
    for s in p.shipments:
        if not s.required or s.pinned_vehicle is not None:
            return None
        if s.pickup.soft_latest or s.delivery.soft_latest:
            return None
    horizon = layout.ticks(layout.horizon_s)
    nodes = np.arange(layout.num_nodes)
    earliest = np.zeros(layout.num_nodes, dtype=np.int64)
    latest = np.full(layout.num_nodes, horizon, dtype=np.int64)
    for node in layout.stop_nodes():
        stop = layout.stops[node]
        earliest[node] = min(layout.ticks(stop.earliest_s), horizon)
        if math.isfinite(stop.latest_s):
            latest[node] = max(0, min(horizon, floor_ticks(layout, stop.latest_s)))
    start, end = layout.starts[0], layout.ends[0]
    start_time = layout.ticks(first.start_s)
    earliest[start] = start_time
    if math.isfinite(first.shift_end_s):
        latest[end] = max(start_time, floor_ticks(layout, first.shift_end_s))
    pickups = [layout.node_of[StopRef(s.id, StopKind.PICKUP)] for s in p.shipments]
    deliveries = [layout.node_of[StopRef(s.id, StopKind.DELIVERY)] for s in p.shipments]
    return EjectionInstance(
        time=layout.time_ticks(first.profile, nodes, nodes),
        cost=layout.cost_units(first.profile, nodes, nodes),
        earliest=earliest,
        latest=latest,
        demand=np.asarray(layout.demand, dtype=np.int64),
        pickups=np.asarray(pickups, dtype=np.int64),
        deliveries=np.asarray(deliveries, dtype=np.int64),
        start=start,
        end=end,
        start_time=start_time,
        capacity=first.capacity,
    )


def eject(
    layout: Layout,
    instance: EjectionInstance,
    routes: list[list[int]],
    *,
    budget: Budget,
    seed: int,
    solution_limit: int | None,
) -> list[list[int]]:
    """Fewest routes by guided ejection search, then the shortest of several such plans.

    Ejection search first takes up to ``EJECTION_SHARE`` of the time left. Then, for up to
    ``LNS_SHARE`` of what remains, in slices: shorten the best plan by ruin and recreate, and
    restart ejection search from ``routes`` with another seed down to the same fleet, since
    where it ends decides which plans ruin and recreate can reach (on lrc206 two seeds in six
    lead to the best-known distance, the others stay 22-40 % above it). Identical vehicles
    take the routes in order.
    """
    max_iterations = None if solution_limit is None else 20 * solution_limit
    deadline = time.monotonic() + budget.left_s() * EJECTION_SHARE
    fewer = eject_routes(
        instance, routes, deadline=deadline, seed=seed, max_iterations=max_iterations
    )
    lns_deadline = time.monotonic() + budget.left_s() * LNS_SHARE
    slice_s = max(LNS_SLICE_MIN_S, LNS_SLICE_SHARE * (lns_deadline - time.monotonic()))
    best = shorten_routes(
        instance,
        fewer,
        deadline=min(lns_deadline, time.monotonic() + slice_s),
        seed=seed,
        max_iterations=max_iterations,
    )
    best_cost = plan_cost(instance, best)
    restart = 0
    while time.monotonic() + slice_s / 2 < lns_deadline and solution_limit is None:
        restart += 1
        slice_end = min(lns_deadline, time.monotonic() + slice_s)
        other = eject_routes(
            instance,
            routes,
            deadline=slice_end,
            seed=seed + restart,
            target_routes=len(best),
        )
        if len(other) > len(best):
            continue
        other = shorten_routes(instance, other, deadline=slice_end, seed=seed + restart)
        other_cost = plan_cost(instance, other)
        if len(other) < len(best) or other_cost < best_cost:
            best, best_cost = other, other_cost
    log.debug("ejection: %d routes, cost %d after %d restarts", len(best), best_cost, restart)
    out: list[list[int]] = [[] for _ in layout.problem.vehicles]
    out[: len(best)] = best
    return out
