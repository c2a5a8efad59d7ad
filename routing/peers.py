"""Adapters to the open peers we measure against: PyVRP (0.14, ``Model.add_shipment``) and VROOM
(pyvroom, shipments).

Each adapter feeds the peer the same problem (integer matrices at the problem's tick resolution,
as our solver gets them) and turns its answer into a ``Plan`` of bare stop sequences, scheduled by
``schedule_routes`` and judged by our validator like any other plan. The peers' packages are
imported here, lazily, and nowhere else in ``routing``.

Scope: vehicles with fixed ends or (VROOM only) open ends, shipments with hard windows, service
times, sizes and capacities, and a fixed cost per vehicle. On-board parcels, pinned shipments and
soft windows are ours only; the adapters refuse them rather than quietly solve something else.
"""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import timedelta

import numpy as np

from routing.errors import PeerUnavailable, ProblemError
from routing.plan import Plan, StopKind, StopRef, schedule_routes
from routing.problem import Problem

__all__ = ["solve_pyvrp", "solve_vroom", "supports"]

#: Integer cost units per unit of objective weight, as in the solver.
COST_SCALE = 1000
#: Largest integer the peers take as "no limit" (VROOM's durations are 32-bit).
_VROOM_MAX = 2**31 - 1


def supports(problem: Problem) -> bool:
    """Whether the peers can take this problem as it is (see the module docstring)."""
    return not problem.onboard and not any(
        s.assigned_vehicle is not None or s.pickup.soft_latest or s.delivery.soft_latest
        for s in problem.shipments
    ) and not any(math.isfinite(v.last_pickup_s) for v in problem.vehicles)


def _check(problem: Problem) -> None:
    if not supports(problem):
        raise ProblemError("peers take no on-board parcels, pinned shipments, soft windows or "
                           "last-pickup times")


def _ceil_ticks(problem: Problem, seconds: np.ndarray | float) -> np.ndarray | int:
    ticks = np.ceil(np.asarray(seconds, dtype=float) * problem.ticks_per_s - 1e-6)
    return ticks.astype(np.int64) if ticks.ndim else int(ticks)


def _floor_ticks(problem: Problem, seconds: float, limit: int) -> int:
    if not math.isfinite(seconds):
        return limit
    return min(limit, int(math.floor(seconds * problem.ticks_per_s + 1e-6)))


def _cost_matrix(problem: Problem, profile: str) -> np.ndarray:
    w = problem.weights
    cost = w.per_m * problem.distances_m[profile].astype(float)
    if w.per_travel_s:
        cost = cost + w.per_travel_s * problem.durations_s[profile]
    return np.rint(cost * COST_SCALE).astype(np.int64)


def solve_vroom(
    problem: Problem,
    *,
    time_limit_s: float | None = None,
    seed: int = 0,
    exploration_level: int = 5,
) -> Plan:
    """Solve with VROOM on one thread. VROOM has no seed; ``seed`` is accepted for symmetry."""
    del seed
    _check(problem)
    try:
        import vroom
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise PeerUnavailable("pyvroom is not installed") from e

    inp = vroom.Input()
    for profile in sorted({v.profile for v in problem.vehicles}):
        durations = _ceil_ticks(problem, problem.durations_s[profile])
        inp.set_durations_matrix(profile=profile, matrix_input=durations)
        inp.set_costs_matrix(profile=profile, matrix_input=_cost_matrix(problem, profile))
    fixed = int(round(problem.weights.per_vehicle * COST_SCALE))
    for k, v in enumerate(problem.vehicles):
        inp.add_vehicle(
            vroom.Vehicle(
                id=k,
                start=v.start_location,
                end=v.end_location,
                profile=v.profile,
                capacity=[v.capacity],
                time_window=vroom.TimeWindow(
                    _ceil_ticks(problem, v.start_s),
                    _floor_ticks(problem, v.shift_end_s, _VROOM_MAX),
                ),
                costs=vroom.VehicleCosts(fixed=fixed),
            )
        )
    for i, s in enumerate(problem.shipments):
        steps = []
        for stop, step_id in ((s.pickup, 2 * i), (s.delivery, 2 * i + 1)):
            steps.append(
                vroom.ShipmentStep(
                    id=step_id,
                    location=stop.location,
                    default_service=_ceil_ticks(problem, stop.service_s),
                    time_windows=[
                        vroom.TimeWindow(
                            _ceil_ticks(problem, stop.earliest_s),
                            _floor_ticks(problem, stop.latest_s, _VROOM_MAX),
                        )
                    ],
                )
            )
        inp.add_shipment(
            steps[0], steps[1], amount=vroom.Amount([s.size]), priority=min(100, s.priority)
        )
    timeout = timedelta(seconds=time_limit_s) if time_limit_s is not None else None
    solution = inp.solve(exploration_level=exploration_level, nb_threads=1, timeout=timeout)
    sequences: list[list[StopRef]] = [[] for _ in problem.vehicles]
    frame = solution.routes
    for vehicle_id, kind, step_id in zip(
        frame["vehicle_id"], frame["type"], frame["id"], strict=True
    ):
        if kind not in ("pickup", "delivery"):
            continue
        s = problem.shipments[int(step_id) // 2]
        sequences[int(vehicle_id)].append(
            StopRef(s.id, StopKind.PICKUP if kind == "pickup" else StopKind.DELIVERY)
        )
    return schedule_routes(problem, sequences, solver="vroom")


def solve_pyvrp(problem: Problem, *, time_limit_s: float | None = None,
                max_iterations: int | None = None, seed: int = 0) -> Plan:
    """Solve with PyVRP's iterated local search for ``time_limit_s`` seconds or
    ``max_iterations`` iterations, whichever ends first (at least one must be given)."""
    if time_limit_s is None and max_iterations is None:
        raise ValueError("give time_limit_s or max_iterations")
    _check(problem)
    if any(v.end_location is None for v in problem.vehicles):
        raise ProblemError("the PyVRP adapter needs a fixed end for every vehicle")
    try:
        import pyvrp
        from pyvrp.stop import MaxIterations, MaxRuntime, MultipleCriteria
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise PeerUnavailable("pyvrp is not installed") from e

    model = pyvrp.Model()
    n = problem.num_locations
    locations = [model.add_location(x=0, y=0) for _ in range(n)]
    depots = {}
    for v in problem.vehicles:
        for loc in (v.start_location, v.end_location):
            if loc not in depots:
                depots[loc] = model.add_depot(locations[loc])
    profiles = {name: model.add_profile(name=name) for name in sorted(problem.durations_s)}
    horizon = 2**40
    groups: dict[tuple, list[int]] = defaultdict(list)
    for k, v in enumerate(problem.vehicles):
        key = (v.start_location, v.end_location, v.capacity, v.start_s, v.shift_end_s, v.profile)
        groups[key].append(k)
    type_vehicles = []
    fixed = int(round(problem.weights.per_vehicle * COST_SCALE))
    for (start, end, capacity, start_s, shift_end_s, profile), members in groups.items():
        model.add_vehicle_type(
            num_available=len(members),
            capacity=[capacity],
            start_depot=depots[start],
            end_depot=depots[end],
            fixed_cost=fixed,
            tw_early=_ceil_ticks(problem, start_s),
            tw_late=_floor_ticks(problem, shift_end_s, horizon),
            profile=profiles[profile],
        )
        type_vehicles.append(members)
    for name, profile in profiles.items():
        durations = _ceil_ticks(problem, problem.durations_s[name]).tolist()
        costs = _cost_matrix(problem, name).tolist()
        for i in range(n):
            for j in range(n):
                model.add_edge(
                    locations[i], locations[j], costs[i][j], durations[i][j], profile=profile
                )
    for s in problem.shipments:
        model.add_shipment(
            locations[s.pickup.location],
            locations[s.delivery.location],
            pickup_tw_early=_ceil_ticks(problem, s.pickup.earliest_s),
            pickup_tw_late=_floor_ticks(problem, s.pickup.latest_s, horizon),
            pickup_service_duration=_ceil_ticks(problem, s.pickup.service_s),
            delivery_tw_early=_ceil_ticks(problem, s.delivery.earliest_s),
            delivery_tw_late=_floor_ticks(problem, s.delivery.latest_s, horizon),
            delivery_service_duration=_ceil_ticks(problem, s.delivery.service_s),
            amount=[s.size],
            required=s.required,
            prize=0 if s.required else int(
                round(problem.weights.per_unassigned * (1 + s.priority) * COST_SCALE)
            ),
            name=s.id,
        )
    stops = [] if time_limit_s is None else [MaxRuntime(time_limit_s)]
    stops += [] if max_iterations is None else [MaxIterations(max_iterations)]
    result = model.solve(MultipleCriteria(stops), seed=seed, display=False)
    sequences: list[list[StopRef]] = [[] for _ in problem.vehicles]
    next_free = [0] * len(type_vehicles)
    for route in result.best.routes():
        t = route.vehicle_type()
        k = type_vehicles[t][next_free[t]]
        next_free[t] += 1
        for activity in route.schedule():
            if not activity.is_shipment():
                continue
            s = problem.shipments[activity.idx]
            kind = StopKind.PICKUP if activity.is_pickup() else StopKind.DELIVERY
            sequences[k].append(StopRef(s.id, kind))
    return schedule_routes(problem, sequences, solver="pyvrp")
