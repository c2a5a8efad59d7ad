"""The routing problem on OR-Tools' routing solver: node layout, matrices, model, one search.

``Layout`` numbers the nodes (one per vehicle start, vehicle end and stop, so several stops may
share a location); ``NodeMatrices`` holds the travel-time and cost matrices in integer ticks,
registered with ``RegisterTransitMatrix`` so no Python callback runs in the search's hot loop;
``Model`` builds the dimensions, disjunctions and the "owner" dimension that holds pinned and
on-board stops on their vehicle; ``search`` runs OR-Tools once (from a warm start or from
scratch) and returns node routes. Reading routes back (``routes_from_plan``,
``routes_from_sequences``, ``plan_from_routes``) and explaining left-out shipments
(``unassigned_reason``) live here too, since they speak the same node numbering.

The phase schedule that calls these is ``routing.solver``.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import time

import numpy as np
from ortools.constraint_solver import pywrapcp, routing_enums_pb2

from routing.plan import Plan, StopKind, StopRef, Unassigned, schedule_routes
from routing.problem import Problem, Stop

__all__ = ["Layout", "NodeMatrices", "Model", "search", "search_parameters", "walk",
           "routes_from_plan", "routes_from_sequences", "repair_route", "unassigned_reason",
           "plan_from_routes", "floor_ticks", "drop_penalty", "horizon_s_of", "COST_SCALE",
           "REQUIRED_ARCS", "OPEN_HORIZON_S"]

log = logging.getLogger(__name__)

#: Integer cost units per unit of objective weight (1/1000 of a metre at ``per_m`` = 1).
COST_SCALE = 1000
#: A required shipment left out costs this many times the dearest arc: more than any detour
#: to insert it (at most four arcs), yet not so much that it swamps guided local search, whose
#: penalty step grows with the objective.
REQUIRED_ARCS = 40
#: Time horizon beyond the last finite window or shift end, for open-ended problems.
OPEN_HORIZON_S = 48 * 3600


class Layout:
    """The OR-Tools node numbering of a problem: vehicle starts, vehicle ends, parcels on board,
    then shipments (pickup, delivery) in problem order.

    Stops come last and in problem order so that a re-plan with a few new orders appended has
    the previous layout as a prefix, and its node matrices can be extended, not rebuilt.
    ``refs``, ``stops`` and ``demand`` are indexed by node (``None``/0 for starts and ends).
    """

    def __init__(self, problem: Problem) -> None:
        self.problem = p = problem
        n_vehicles = len(p.vehicles)
        self.starts = list(range(n_vehicles))
        self.ends = [n_vehicles + k for k in range(n_vehicles)]
        self.first_stop = 2 * n_vehicles
        self.refs: list[StopRef | None] = [None] * self.first_stop
        self.stops: list[Stop | None] = [None] * self.first_stop
        self.demand: list[int] = [0] * self.first_stop
        self.node_of: dict[StopRef, int] = {}
        for o in p.onboard:
            self._add(StopRef(o.id, StopKind.DELIVERY), o.delivery, -o.size)
        for s in p.shipments:
            self._add(StopRef(s.id, StopKind.PICKUP), s.pickup, s.size)
            self._add(StopRef(s.id, StopKind.DELIVERY), s.delivery, -s.size)
        self.num_nodes = len(self.refs)
        self.n_stops = self.num_nodes - self.first_stop
        # An open end is reached from anywhere at no cost; its location is a placeholder.
        loc = [v.start_location for v in p.vehicles]
        loc += [v.end_location if v.end_location is not None else 0 for v in p.vehicles]
        loc += [stop.location for stop in self.stops[self.first_stop :]]
        self.location = np.array(loc, dtype=np.int64)
        self.service_s = np.array(
            [0.0] * self.first_stop + [stop.service_s for stop in self.stops[self.first_stop :]]
        )
        self.open_end_nodes = np.array(
            [self.ends[k] for k, v in enumerate(p.vehicles) if v.end_location is None],
            dtype=np.int64,
        )
        self.profiles = sorted({v.profile for v in p.vehicles})
        self.horizon_s = horizon_s_of(p)

    def _add(self, ref: StopRef, stop: Stop, demand: int) -> None:
        self.node_of[ref] = len(self.refs)
        self.refs.append(ref)
        self.stops.append(stop)
        self.demand.append(demand)

    def stop_nodes(self) -> range:
        return range(self.first_stop, self.num_nodes)

    def ticks(self, seconds: float) -> int:
        return int(math.ceil(seconds * self.problem.ticks_per_s - 1e-6))

    def time_ticks(self, profile: str, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """Ticks from node to node: travel, plus the service at the origin, rounded up."""
        tps = self.problem.ticks_per_s
        src = self.problem.durations_s[profile]
        ticks = src[np.ix_(self.location[rows], self.location[cols])] * tps
        np.ceil(ticks - 1e-6, out=ticks)
        ticks += np.ceil(self.service_s[rows] * tps - 1e-6)[:, None]
        return self._fix(ticks, rows, cols)

    def cost_units(self, profile: str, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        w = self.problem.weights
        ix = np.ix_(self.location[rows], self.location[cols])
        cost = self.problem.distances_m[profile][ix] * (w.per_m * COST_SCALE)
        if w.per_travel_s:
            cost += self.problem.durations_s[profile][ix] * (w.per_travel_s * COST_SCALE)
        return self._fix(np.rint(cost), rows, cols)

    def _fix(self, block: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        block[:, np.isin(cols, self.open_end_nodes)] = 0.0
        block[rows[:, None] == cols[None, :]] = 0.0
        return block.astype(np.int64)

    def matrices(self, previous: NodeMatrices | None = None) -> NodeMatrices:
        """Node matrices as the lists OR-Tools takes.

        Computed once per distinct source matrix (profiles often share distances), and extended
        rather than rebuilt when ``previous`` came from a prefix of this layout: converting a
        city-sized matrix to lists costs about a second, most of a re-plan's budget.
        """
        p = self.problem
        top_priority = max((s.priority for s in p.shipments if not s.required), default=None)
        top_optional = 0 if top_priority is None else int(
            round(p.weights.per_unassigned * (1 + top_priority) * COST_SCALE)
        )
        started = time.monotonic()
        out = NodeMatrices(self, top_optional)
        base = previous if previous is not None and previous.is_prefix_of(out) else None
        if base is not None and len(base.lists) < len(set(k for _, _, k in out.matrix_keys())):
            base = None  # already spent by an earlier re-plan
        n_old = base.num_nodes if base else 0
        all_nodes = np.arange(self.num_nodes)
        new_nodes = all_nodes[n_old:]
        old_nodes = all_nodes[:n_old]
        for kind, pr, key in out.matrix_keys():
            if key in out.lists:
                out.by_profile[kind, pr] = out.lists[key]
                continue
            block = self.time_ticks if kind == "time" else self.cost_units
            if base is not None and key in base.lists:
                # Taken over and grown in place (copying would cost what we are saving);
                # the previous plan's state is spent and a second re-plan from it rebuilds.
                lists = base.lists.pop(key)
                right = block(pr, old_nodes, new_nodes).tolist()
                for row, extra in zip(lists, right, strict=True):
                    row.extend(extra)
                lists += block(pr, new_nodes, all_nodes).tolist()
                if kind == "cost":
                    top = max(base.max_cost, max(max(r) for r in right) if right else 0)
                    bottom = max((max(r) for r in lists[n_old:]), default=0)
                    out.max_cost = max(out.max_cost, top, bottom)
            else:
                values = block(pr, all_nodes, all_nodes)
                if kind == "cost":
                    out.max_cost = max(out.max_cost, int(values.max(initial=0)))
                lists = values.tolist()
            out.lists[key] = lists
            out.by_profile[kind, pr] = lists
        if base is not None:
            out.max_cost = max(out.max_cost, base.max_cost)
            out.build_s = base.build_s
        else:
            out.build_s = time.monotonic() - started
        return out


class NodeMatrices:
    """The node matrices of one layout, and what is needed to reuse them for the next."""

    def __init__(self, layout: Layout, top_optional: int) -> None:
        p = layout.problem
        self.num_nodes = layout.num_nodes
        self.location = layout.location
        self.service_s = layout.service_s
        self.open_end_nodes = layout.open_end_nodes
        self.first_stop = layout.first_stop
        self.ticks_per_s = p.ticks_per_s
        self.weights = p.weights
        self.profiles = layout.profiles
        # Keep the source arrays themselves: their ids are only meaningful while they live.
        self.sources = {pr: (p.durations_s[pr], p.distances_m[pr]) for pr in layout.profiles}
        self.top_optional = top_optional
        self.max_cost = 1
        #: Seconds a full build of these matrices took: a yardstick for the model's own cost.
        self.build_s = 0.0
        self.lists: dict[tuple, list[list[int]]] = {}
        self.by_profile: dict[tuple[str, str], list[list[int]]] = {}

    def matrix_keys(self) -> list[tuple[str, str, tuple]]:
        out = []
        for pr in self.profiles:
            durations, distances = self.sources[pr]
            out.append(("time", pr, ("time", id(durations))))
            with_time = id(durations) if self.weights.per_travel_s else None
            out.append(("cost", pr, ("cost", id(distances), with_time)))
        return out

    def __getitem__(self, key: tuple[str, str] | str):
        if key == "max_cost":
            return self.max_cost
        if key == "top_optional":
            return self.top_optional
        return self.by_profile[key]

    def is_prefix_of(self, other: NodeMatrices) -> bool:
        n = self.num_nodes
        return (
            n <= other.num_nodes
            and self.first_stop == other.first_stop
            and self.ticks_per_s == other.ticks_per_s
            and self.weights == other.weights
            and self.profiles == other.profiles
            and all(
                self.sources[pr][0] is other.sources[pr][0]
                and self.sources[pr][1] is other.sources[pr][1]
                for pr in self.profiles
            )
            and np.array_equal(self.location, other.location[:n])
            and np.array_equal(self.service_s, other.service_s[:n])
            and np.array_equal(self.open_end_nodes, other.open_end_nodes)
        )


def horizon_s_of(p: Problem) -> float:
    finite = [v.start_s for v in p.vehicles]
    finite += [v.shift_end_s for v in p.vehicles if math.isfinite(v.shift_end_s)]
    for s in p.shipments:
        finite += [x.latest_s for x in (s.pickup, s.delivery) if math.isfinite(x.latest_s)]
        finite += [x.earliest_s for x in (s.pickup, s.delivery)]
    finite += [o.delivery.latest_s for o in p.onboard if math.isfinite(o.delivery.latest_s)]
    if all(math.isfinite(v.shift_end_s) for v in p.vehicles) and all(
        math.isfinite(x.latest_s) or x.soft_latest
        for s in p.shipments
        for x in (s.pickup, s.delivery)
    ):
        return max(finite)
    return max(finite) + OPEN_HORIZON_S


class Model:
    """One OR-Tools model of the problem, with some vehicles possibly banned (kept empty)."""

    def __init__(
        self,
        layout: Layout,
        matrices: NodeMatrices,
        banned: frozenset[int],
        *,
        fixed_costs: bool,
    ) -> None:
        p = layout.problem
        self.layout = layout
        n_vehicles = len(p.vehicles)
        self.manager = pywrapcp.RoutingIndexManager(
            layout.num_nodes, n_vehicles, layout.starts, layout.ends
        )
        routing = pywrapcp.RoutingModel(self.manager)
        self.routing = routing
        registered: dict[int, int] = {}

        def register(values: list[list[int]]) -> int:
            if id(values) not in registered:
                registered[id(values)] = routing.RegisterTransitMatrix(values)
            return registered[id(values)]

        time_cb = {pr: register(matrices["time", pr]) for pr in layout.profiles}
        cost_cb = {pr: register(matrices["cost", pr]) for pr in layout.profiles}
        for k, v in enumerate(p.vehicles):
            routing.SetArcCostEvaluatorOfVehicle(cost_cb[v.profile], k)
        if fixed_costs and p.weights.per_vehicle:
            routing.SetFixedCostOfAllVehicles(int(round(p.weights.per_vehicle * COST_SCALE)))

        horizon = layout.ticks(layout.horizon_s)
        routing.AddDimensionWithVehicleTransits(
            [time_cb[v.profile] for v in p.vehicles], horizon, horizon, False, "time"
        )
        self.time = routing.GetDimensionOrDie("time")
        demand_cb = routing.RegisterUnaryTransitVector(layout.demand)
        routing.AddDimensionWithVehicleCapacity(
            demand_cb, 0, [v.capacity for v in p.vehicles], False, "load"
        )
        self.load = routing.GetDimensionOrDie("load")
        self.owner: pywrapcp.RoutingDimension | None = None

        late_per_tick = p.weights.per_late_s * COST_SCALE / p.ticks_per_s
        late_cost = max(1, int(round(late_per_tick))) if late_per_tick > 0 else 0
        for k, v in enumerate(p.vehicles):
            start, end = routing.Start(k), routing.End(k)
            self.time.CumulVar(start).SetValue(layout.ticks(v.start_s))
            if math.isfinite(v.shift_end_s):
                shift_end = max(layout.ticks(v.start_s), floor_ticks(layout, v.shift_end_s))
                self.time.CumulVar(end).SetMax(shift_end)
            self.load.CumulVar(start).SetValue(p.initial_load(k))
            self.time.SetSpanCostCoefficientForVehicle(0, k)
            if k in banned:
                routing.NextVar(start).SetValue(end)
            routing.AddVariableMinimizedByFinalizer(self.time.CumulVar(end))

        for node in layout.stop_nodes():
            stop = layout.stops[node]
            index = self.manager.NodeToIndex(node)
            cumul = self.time.CumulVar(index)
            earliest = min(layout.ticks(stop.earliest_s), horizon)
            if math.isfinite(stop.latest_s) and not stop.soft_latest:
                cumul.SetRange(earliest, max(0, min(horizon, floor_ticks(layout, stop.latest_s))))
            else:
                cumul.SetMin(earliest)
                if math.isfinite(stop.latest_s) and late_cost:
                    latest = max(0, floor_ticks(layout, stop.latest_s))
                    self.time.SetCumulVarSoftUpperBound(index, latest, late_cost)

        last_pickup = [v.last_pickup_s for v in p.vehicles]
        bounded = any(math.isfinite(t) for t in last_pickup)
        if bounded:
            # Index 0 stands for "not performed" (VehicleVar -1).
            bounds = [horizon] + [
                min(horizon, max(0, floor_ticks(layout, t))) if math.isfinite(t) else horizon
                for t in last_pickup]
        for s in p.shipments:
            pi = self.manager.NodeToIndex(layout.node_of[StopRef(s.id, StopKind.PICKUP)])
            di = self.manager.NodeToIndex(layout.node_of[StopRef(s.id, StopKind.DELIVERY)])
            if bounded:
                # A CP constraint the local-search filters do not see (slower moves), so it is
                # only added when some courier has a last-pickup time.
                solver = routing.solver()
                vehicle = (routing.VehicleVar(pi) + 1).Var()
                solver.Add(self.time.CumulVar(pi) <= solver.Element(bounds, vehicle))
            # Same vehicle, pickup first: enforced by the model's own pickup-and-delivery
            # constraint and its local-search filters; extra CP constraints would only slow it.
            routing.AddPickupAndDelivery(pi, di)
            penalty = drop_penalty(p, matrices, s.required, s.priority, fixed_costs=fixed_costs)
            routing.AddDisjunction([pi, di], penalty, 2)
            if s.pinned_vehicle is not None:
                self._pin(pi, s.pinned_vehicle)
                self._pin(di, s.pinned_vehicle)
        for o in p.onboard:
            di = self.manager.NodeToIndex(layout.node_of[StopRef(o.id, StopKind.DELIVERY)])
            penalty = drop_penalty(p, matrices, True, 0, fixed_costs=fixed_costs)
            routing.AddDisjunction([di], penalty)
            self._pin(di, o.vehicle)

    def _pin(self, index: int, vehicle: int) -> None:
        """Keep a stop on one vehicle, the way local search can check cheaply.

        Restricting ``VehicleVar`` works but is a CP constraint that the search's filters do not
        see, so every candidate move needs full propagation (tens of times slower on a city-sized
        problem). Instead an "owner" dimension carries the vehicle's number unchanged along its
        route (zero transits, zero slack), and a pinned stop's owner value is fixed: a dimension
        bound, which the filters do check.
        """
        if self.owner is None:
            routing = self.routing
            zeros = routing.RegisterUnaryTransitVector([0] * self.layout.num_nodes)
            n = routing.vehicles()
            routing.AddDimensionWithVehicleCapacity(zeros, 0, [n] * n, False, "owner")
            self.owner = routing.GetDimensionOrDie("owner")
            for k in range(n):
                self.owner.CumulVar(routing.Start(k)).SetValue(k)
                self.owner.CumulVar(routing.End(k)).SetValue(k)
        self.owner.CumulVar(index).SetValue(vehicle)

    def read_routes(self, node_routes: list[list[int]]) -> pywrapcp.Assignment | None:
        index_routes = [[self.manager.NodeToIndex(n) for n in r] for r in node_routes]
        return self.routing.ReadAssignmentFromRoutes(index_routes, True)

    def node_routes(self, assignment: pywrapcp.Assignment) -> list[list[int]]:
        routes = []
        routing = self.routing
        for k in range(routing.vehicles()):
            index = assignment.Value(routing.NextVar(routing.Start(k)))
            route = []
            while not routing.IsEnd(index):
                route.append(self.manager.IndexToNode(index))
                index = assignment.Value(routing.NextVar(index))
            routes.append(route)
        return routes


def floor_ticks(layout: Layout, seconds: float) -> int:
    return int(math.floor(seconds * layout.problem.ticks_per_s + 1e-6))


def drop_penalty(
    p: Problem, matrices: NodeMatrices, required: bool, priority: int, *, fixed_costs: bool
) -> int:
    """The cost of leaving a shipment out; a required one outweighs any other choice."""
    if not required:
        return int(round(p.weights.per_unassigned * (1 + priority) * COST_SCALE))
    penalty = max(REQUIRED_ARCS * matrices["max_cost"], 10 * matrices["top_optional"], 1)
    if fixed_costs:
        penalty = max(penalty, 2 * int(round(p.weights.per_vehicle * COST_SCALE)))
    return penalty


def search_parameters(
    time_limit_s: float, *, solution_limit: int | None
) -> pywrapcp.DefaultRoutingSearchParameters:
    """Parallel cheapest insertion (the pickup-and-delivery-aware constructive heuristic), then
    guided local search, which escapes local optima far better than greedy descent on PDPTW."""
    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = (
        routing_enums_pb2.FirstSolutionStrategy.PARALLEL_CHEAPEST_INSERTION
    )
    params.local_search_metaheuristic = (
        routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
    )
    params.time_limit.FromMilliseconds(max(1, int(time_limit_s * 1000)))
    if solution_limit is not None:
        params.solution_limit = solution_limit
    params.use_full_propagation = False
    return params


def search(
    layout: Layout,
    matrices: NodeMatrices,
    *,
    routes: list[list[int]] | None,
    banned: frozenset[int],
    time_limit_s: float,
    solution_limit: int | None,
    stop_when_complete: bool = False,
    fixed_costs: bool = True,
) -> list[list[int]] | None:
    """One OR-Tools run; returns node routes of the best solution, or None if none was found.

    With ``stop_when_complete`` it stops at the first solution that routes every stop, and
    returns that one (or None).
    """
    started = time.monotonic()
    model = Model(layout, matrices, banned, fixed_costs=fixed_costs)
    routing = model.routing
    # Reading a warm start runs a small search under the closing parameters' time limit: give it
    # room, so a nearly spent budget still returns the warm start rather than nothing.
    routing.CloseModelWithParameters(
        search_parameters(max(time_limit_s, 60.0), solution_limit=None))
    if stop_when_complete:
        # Stop as soon as every stop is routed: in route minimisation that is all we need to know.
        done = [False]
        complete_routes: list[list[list[int]]] = []
        n_stops = layout.n_stops
        manager = model.manager

        def at_solution() -> None:
            routes_now = [
                [manager.IndexToNode(i) for i in walk(routing, k)]
                for k in range(routing.vehicles())
            ]
            if sum(map(len, routes_now)) != n_stops:
                return
            complete_routes.append(routes_now)
            done[0] = True

        routing.AddAtSolutionCallback(at_solution)
        routing.AddSearchMonitor(routing.solver().CustomLimit(lambda: done[0]))

    def search_params() -> pywrapcp.DefaultRoutingSearchParameters:
        # Building the model and reading the start count against this phase's time limit.
        left_s = max(0.01, time_limit_s - (time.monotonic() - started))
        return search_parameters(left_s, solution_limit=solution_limit)

    assignment = None
    if routes is not None:
        initial = model.read_routes(routes)
        if initial is not None:
            assignment = routing.SolveFromAssignmentWithParameters(initial, search_params())
            if assignment is None:  # out of time before the first step: keep the start
                assignment = initial
    else:
        assignment = routing.SolveWithParameters(search_params())
    if stop_when_complete:
        log.debug("search %.2fs: complete: %s", time_limit_s, bool(complete_routes))
        return complete_routes[-1] if complete_routes else None
    if assignment is None:
        log.debug("search: no solution (warm start read: %s)", routes is not None)
        return None
    found = model.node_routes(assignment)
    log.debug(
        "search %.2fs: %d routes, %d/%d stops, cost %d",
        time_limit_s,
        sum(1 for r in found if r),
        sum(len(r) for r in found),
        layout.n_stops,
        assignment.ObjectiveValue(),
    )
    return found


def walk(routing: pywrapcp.RoutingModel, vehicle: int):
    index = routing.NextVar(routing.Start(vehicle)).Value()
    while not routing.IsEnd(index):
        yield index
        index = routing.NextVar(index).Value()


def routes_from_plan(layout: Layout, matrices: NodeMatrices, plan: Plan) -> list[list[int]]:
    """A previous plan as node routes of this problem, repaired to be feasible.

    Stops no longer in the problem (delivered, cancelled) are dropped; a shipment whose stops no
    longer fit where they were (the courier is late, a window moved) is taken out of the route so
    the search can place it again. Shipments only hinted (``assigned_vehicle``) are added nowhere.
    """
    sequences: list[list[StopRef]] = [[] for _ in layout.problem.vehicles]
    for route in plan.routes:
        if 0 <= route.vehicle < len(sequences):
            sequences[route.vehicle] = [v.ref for v in route.visits]
    return routes_from_sequences(layout, matrices, sequences)


def routes_from_sequences(
    layout: Layout, matrices: NodeMatrices, sequences: list[list[StopRef]]
) -> list[list[int]]:
    routes: list[list[int]] = [[] for _ in layout.problem.vehicles]
    taken: set[str] = set()
    for k, seq in enumerate(sequences[: len(routes)]):
        refs = [r for r in seq if r in layout.node_of and r.shipment_id not in taken]
        routes[k] = repair_route(layout, matrices, k, refs)
        taken.update(layout.refs[n].shipment_id for n in routes[k])
    return routes


def repair_route(layout: Layout, matrices: NodeMatrices, k: int, refs: list[StopRef]) -> list[int]:
    """Drop shipments from a route until it is feasible in the model's own integer ticks."""
    p = layout.problem
    vehicle = p.vehicles[k]
    shipments = {s.id: s for s in p.shipments}
    onboard_ids = {o.id for o in p.onboard if o.vehicle == k}
    # Keep whole shipments only (both stops, pickup first) and onboard parcels of this vehicle.
    kinds: dict[str, list[StopKind]] = {}
    for r in refs:
        kinds.setdefault(r.shipment_id, []).append(r.kind)
    keep = []
    for r in refs:
        if r.shipment_id in onboard_ids:
            keep.append(r)
        elif r.shipment_id in shipments:
            pinned = shipments[r.shipment_id].pinned_vehicle
            if kinds[r.shipment_id] == [StopKind.PICKUP, StopKind.DELIVERY] and (
                pinned is None or pinned == k
            ):
                keep.append(r)
    ticks = matrices["time", vehicle.profile]
    shift_end = floor_ticks(layout, vehicle.shift_end_s) if math.isfinite(
        vehicle.shift_end_s) else None
    last_pickup = floor_ticks(layout, vehicle.last_pickup_s) if math.isfinite(
        vehicle.last_pickup_s) else None
    while True:
        t = layout.ticks(vehicle.start_s)
        prev = layout.starts[k]
        load = p.initial_load(k)
        culprit = None
        for r in keep:
            node = layout.node_of[r]
            stop = layout.stops[node]
            t = max(t + ticks[prev][node], layout.ticks(stop.earliest_s))
            load += layout.demand[node]
            prev = node
            late = (
                math.isfinite(stop.latest_s)
                and not stop.soft_latest
                and t > floor_ticks(layout, stop.latest_s)
            ) or (last_pickup is not None and r.kind == StopKind.PICKUP and t > last_pickup)
            if (late or load > vehicle.capacity) and r.shipment_id not in onboard_ids:
                culprit = r.shipment_id
                break
        if culprit is None and shift_end is not None:
            t += ticks[prev][layout.ends[k]]
            if t > shift_end:
                movable = [r.shipment_id for r in keep if r.shipment_id not in onboard_ids]
                culprit = movable[-1] if movable else None
        if culprit is None:
            break
        keep = [r for r in keep if r.shipment_id != culprit]
    return [layout.node_of[r] for r in keep]


def unassigned_reason(layout: Layout, shipment_id: str) -> str:
    """Why a shipment was left out: a direct check of each vehicle serving it alone."""
    p = layout.problem
    s = next(x for x in p.shipments if x.id == shipment_id)
    vehicles = range(len(p.vehicles))
    if s.pinned_vehicle is not None:
        vehicles = [s.pinned_vehicle]
    if all(s.size + p.initial_load(k) > p.vehicles[k].capacity for k in vehicles):
        return "too large for the vehicle" if s.pinned_vehicle is not None else (
            "too large for every vehicle")
    for k in vehicles:
        v = p.vehicles[k]
        dur = p.durations_s[v.profile]
        t = max(v.start_s + float(dur[v.start_location, s.pickup.location]), s.pickup.earliest_s)
        if t > s.pickup.latest_s and not s.pickup.soft_latest:
            continue
        if t > v.last_pickup_s:
            continue
        t = t + s.pickup.service_s + float(dur[s.pickup.location, s.delivery.location])
        t = max(t, s.delivery.earliest_s)
        if t > s.delivery.latest_s and not s.delivery.soft_latest:
            continue
        t += s.delivery.service_s
        if v.end_location is not None:
            t += float(dur[s.delivery.location, v.end_location])
        if t > v.shift_end_s:
            continue
        return "no room in any route found within the time limit"
    return "no vehicle can reach its time windows"


def plan_from_routes(layout: Layout, matrices: NodeMatrices, node_routes: list[list[int]]) -> Plan:
    p = layout.problem
    sequences = [[layout.refs[n] for n in r] for r in node_routes]
    planned = {ref.shipment_id for seq in sequences for ref in seq}
    unassigned = tuple(
        Unassigned(s.id, unassigned_reason(layout, s.id))
        for s in p.shipments if s.id not in planned
    )
    plan = schedule_routes(p, sequences, unassigned=unassigned, solver="ortools")
    return dataclasses.replace(plan, warm_state=matrices)
