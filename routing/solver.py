"""``solve``: the phase schedule over OR-Tools' routing solver and our compiled searches.

How it searches, and why:

1. **Model.** One OR-Tools node per vehicle start, per vehicle end and per stop, so several
   stops may share a location. Travel times and arc costs are registered as *matrices*
   (``RegisterTransitMatrix``), one per distinct source matrix: no Python callback runs in the
   search's hot loop. Times are integer ticks (``Problem.ticks_per_s``), rounded up so that any
   plan the model accepts is also feasible on the float matrices. Every shipment sits in a
   disjunction (a required one with a penalty above any detour), so an impossible order comes
   back unassigned with a reason instead of making the whole model infeasible. Pinned and
   on-board stops are held on their vehicle by an "owner" dimension the search's filters check.
2. **First solution.** A warm start if given (the previous plan, repaired where the world moved
   on, with new orders appended greedily), else VROOM's plan if asked for and installed, else
   for city-sized problems our numpy greedy construction (``construct``), else OR-Tools'
   parallel cheapest insertion. If building the OR-Tools model would overrun the budget, that
   first plan is returned as it is.
3. **Route minimisation** (only when ``Weights.per_vehicle`` > 0). OR-Tools' local search rarely
   empties a route by itself, because every step towards it costs distance. For a fleet of
   identical vehicles with hard windows (Li & Lim's benchmark, a depot's vans) our guided
   ejection search (``routing.ejection``) removes routes, and ruin and recreate
   (``routing.lns``) shortens what is left; both are compiled with numba and keep every plan
   feasible. Otherwise, while a share of the budget remains: ban the route with the fewest
   stops, keep the others as they are, and let guided local search put the orphaned stops
   back elsewhere; keep the smaller fleet if it does.
4. **Improvement.** Guided local search on distance with the fleet fixed, for the time left
   (without the per-vehicle cost, which would swamp guided local search's penalty step).

OR-Tools' routing search is single-threaded and has no random seed; for a given problem, budget
and ``solution_limit`` it is deterministic. ``seed`` drives our own choices (ties in route
removal order), so the same seed gives the same plan when the run is bounded by
``solution_limit`` rather than by a wall clock.
"""

from __future__ import annotations

import logging
import random
import time

import numpy as np

from routing.budget import Budget
from routing.construct import greedy_sequences
from routing.ejection import EjectionInstance
from routing.ejection import minimise_routes as eject_routes
from routing.fleet_minimisation import complete, eject, ejection_instance, minimise_routes
from routing.lns import shorten_routes
from routing.ortools_model import (
    Layout,
    plan_from_routes,
    routes_from_plan,
    routes_from_sequences,
    search,
)
from routing.plan import Plan, Unassigned, schedule_routes
from routing.problem import Problem

__all__ = ["solve", "warm_up"]

log = logging.getLogger(__name__)

#: From this many stops on, the first solution is our greedy construction (``construct``):
#: OR-Tools' insertion heuristics take tens of seconds on city-sized problems.
GREEDY_FROM_STOPS = 300
#: Below this many seconds left, a constructed or warm-start plan is returned without a search.
MIN_SEARCH_S = 0.3
#: Share of the budget VROOM may take when it provides the warm start.
VROOM_SHARE = 0.6
#: Time kept back at the end of the budget, per second that a full build of the node matrices
#: took (see ``solve``).
FINISH_PER_BUILD = 0.35


def solve(
    problem: Problem,
    *,
    time_limit_s: float,
    seed: int = 0,
    initial: Plan | None = None,
    warm_start: str = "none",
    solution_limit: int | None = None,
    route_minimisation: bool | None = None,
) -> Plan:
    """Plan routes for ``problem`` within ``time_limit_s`` seconds of wall time.

    ``initial`` is a previous plan to start from (re-planning after new orders); stops it names
    that are gone are ignored and new shipments are inserted by the search. ``warm_start="vroom"``
    starts from VROOM's plan when no ``initial`` is given (needs ``pyvroom``; its time counts in
    the budget). ``solution_limit`` bounds each search phase by solutions found, for
    reproducible runs. ``route_minimisation`` defaults to on when vehicles cost something.

    Identical fleets use compiled code (``routing.ejection``, ``routing.lns``): on a machine
    whose numba cache is cold the first such solve compiles it for ~12 s, past its budget;
    call :func:`warm_up` at start-up where that matters.
    """
    budget = Budget(time_limit_s)
    rng = random.Random(seed)
    layout = Layout(problem)
    matrices = layout.matrices(previous=initial.warm_state if initial is not None else None)
    # Reading the plan back, scheduling it and freeing the OR-Tools model take about a third
    # of what building the node matrices did (measured on the 1,160-node courier instance).
    budget.keep_back(FINISH_PER_BUILD * matrices.build_s + 0.01)
    if route_minimisation is None:
        route_minimisation = problem.weights.per_vehicle > 0

    routes: list[list[int]] | None = None
    if initial is not None:
        # New orders are appended greedily first, so that even a spent budget places them.
        sequences = greedy_sequences(problem, base=initial.sequences())
        routes = routes_from_sequences(layout, matrices, sequences)
    elif warm_start == "vroom" and vroom_can_take(problem):
        from routing.peers import solve_vroom

        # VROOM usually ends on its own in 1-2 s; the cap only matters on a starved CPU, where a
        # cut-short VROOM costs more than the OR-Tools phases can win back.
        vroom_plan = solve_vroom(problem, time_limit_s=budget.left_s() * VROOM_SHARE, seed=seed)
        routes = routes_from_plan(layout, matrices, vroom_plan)
    elif warm_start not in ("none", "vroom"):
        raise ValueError(f"unknown warm start {warm_start!r}")
    elif layout.n_stops > GREEDY_FROM_STOPS:
        routes = routes_from_sequences(layout, matrices, greedy_sequences(problem))

    # Not the time spent so far, which may be VROOM's: the matrices' cost predicts the model's.
    overhead_s = matrices.build_s
    if routes is not None and budget.left_s() < max(MIN_SEARCH_S, 2 * overhead_s):
        # Building and reading the model costs about what preparing the matrices did, and the
        # first search steps as much again: that would overrun the budget, so the constructed
        # or warm-start plan is the answer.
        log.debug("no time left for a search; returning the constructed plan")
        return plan_from_routes(layout, matrices, routes)

    # Phase 1: a complete first solution, unless the warm start is one.
    best = routes
    if routes is None or not complete(layout, routes) or not route_minimisation:
        share = 0.25 if route_minimisation else 1.0
        best = search(
            layout,
            matrices,
            routes=routes,
            banned=frozenset(),
            time_limit_s=budget.left_s() * share,
            solution_limit=solution_limit,
        )
        if best is None and routes is not None:
            best = search(
                layout,
                matrices,
                routes=None,
                banned=frozenset(),
                time_limit_s=budget.left_s() * share,
                solution_limit=solution_limit,
            )
    if best is None:
        return schedule_routes(
            problem,
            [],
            unassigned=tuple(Unassigned(s.id, "no solution found") for s in problem.shipments),
            solver="ortools",
        )

    # Phases 2 and 3: fewer routes, then shorter ones with the fleet fixed.
    if route_minimisation and complete(layout, best):
        instance = ejection_instance(layout)
        if instance is not None:
            best = eject(layout, instance, best, budget=budget, seed=seed,
                          solution_limit=solution_limit)
        else:
            best = minimise_routes(
                layout, matrices, best, budget=budget, rng=rng, solution_limit=solution_limit
            )
        used = {k for k, r in enumerate(best) if r}
        banned = frozenset(k for k in range(len(problem.vehicles)) if k not in used)
        if budget.left_s() > 0.05:
            improved = search(
                layout,
                matrices,
                routes=best,
                banned=banned,
                time_limit_s=budget.left_s(),
                solution_limit=solution_limit,
                fixed_costs=False,
            )
            if improved is not None and complete(layout, improved):
                best = improved

    return plan_from_routes(layout, matrices, best)


def warm_up() -> float:
    """Compile (or load from numba's cache) the route minimisation code; returns seconds.

    The first call in a process otherwise spends a first ``solve``'s budget on it: about 12 s
    to compile on a fresh machine, 0.2 s to load once cached.
    """
    started = time.monotonic()
    # Two shipments on a line, one vehicle each: one route can take both.
    n = 6  # start, end, then pickup/delivery nodes of two shipments
    x = np.array([0, 0, 1, 2, 1, 2], dtype=np.int64)
    dist = np.abs(x[:, None] - x[None, :])
    instance = EjectionInstance(
        time=dist,
        cost=dist,
        earliest=np.zeros(n, dtype=np.int64),
        latest=np.full(n, 100, dtype=np.int64),
        demand=np.array([0, 0, 1, -1, 1, -1], dtype=np.int64),
        pickups=np.array([2, 4], dtype=np.int64),
        deliveries=np.array([3, 5], dtype=np.int64),
        start=0,
        end=1,
        start_time=0,
        capacity=2,
    )
    routes = eject_routes(instance, [[2, 3], [4, 5]], deadline=time.monotonic() + 5,
                          max_iterations=10)
    shorten_routes(instance, routes, deadline=time.monotonic() + 5, max_iterations=10)
    return time.monotonic() - started


def vroom_can_take(problem: Problem) -> bool:
    from routing import peers

    if not peers.supports(problem):
        return False
    try:
        import vroom  # noqa: F401
    except ImportError:
        return False
    return True
