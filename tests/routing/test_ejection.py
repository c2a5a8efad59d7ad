"""Route minimisation (guided ejection search) and ruin-and-recreate on plain instances."""

from __future__ import annotations

import math
import time
from pathlib import Path

import pytest
from routing_cases import make_problem, shared_lilim

from routing import lilim
from routing.ejection import EjectionInstance, Pacer, check_routes, minimise_routes, plan_cost
from routing.fleet_minimisation import ejection_instance
from routing.lns import shorten_routes
from routing.ortools_model import Layout, routes_from_plan
from routing.plan import StopKind, StopRef
from routing.problem import Problem, Shipment, Stop, Vehicle, Weights


def _instance(problem: Problem) -> tuple[EjectionInstance, Layout]:
    layout = Layout(problem)
    instance = ejection_instance(layout)
    assert instance is not None
    return instance, layout


def _nodes(layout: Layout, shipment_id: str) -> list[int]:
    return [
        layout.node_of[StopRef(shipment_id, StopKind.PICKUP)],
        layout.node_of[StopRef(shipment_id, StopKind.DELIVERY)],
    ]


def _assert_complete_plan(instance: EjectionInstance, routes: list[list[int]]) -> None:
    assert check_routes(instance, routes)
    seen = [n for r in routes for n in r]
    expected = set(instance.pickups.tolist()) | set(instance.deliveries.tolist())
    assert sorted(seen) == sorted(expected)  # every stop exactly once
    for r in routes:
        for p, d in zip(instance.pickups.tolist(), instance.deliveries.tolist(), strict=True):
            if p in r or d in r:
                assert p in r and d in r and r.index(p) < r.index(d)


def test_merges_routes_when_one_vehicle_can_serve_them_all():
    vehicles = [Vehicle(f"v{k}", 0, 10, end_location=0) for k in range(3)]
    shipments = [Shipment(f"s{i}", Stop(2 * i + 1), Stop(2 * i + 2)) for i in range(3)]
    instance, layout = _instance(
        make_problem(shipments, vehicles=vehicles, weights=Weights(per_vehicle=1000))
    )
    start = [_nodes(layout, s.id) for s in shipments]
    routes = minimise_routes(instance, start, deadline=math.inf, max_iterations=500)
    assert len(routes) == 1
    _assert_complete_plan(instance, routes)


def test_shipments_that_cannot_share_a_vehicle_keep_their_routes():
    # From the middle, each end is 50 s away and both pickups close at 50 s.
    vehicles = [Vehicle(f"v{k}", 5, 10) for k in range(2)]
    shipments = [
        Shipment("west", Stop(0, latest_s=50), Stop(1)),
        Shipment("east", Stop(10, latest_s=50), Stop(9)),
    ]
    instance, layout = _instance(make_problem(shipments, vehicles=vehicles))
    start = [_nodes(layout, "west"), _nodes(layout, "east")]
    routes = minimise_routes(instance, start, deadline=math.inf, max_iterations=500)
    assert len(routes) == 2
    _assert_complete_plan(instance, routes)


def test_capacity_limits_what_one_route_can_take():
    # Capacity 1 and every delivery window opens after all pickups close: no sharing.
    vehicles = [Vehicle(f"v{k}", 0, 1) for k in range(3)]
    shipments = [
        Shipment(f"s{i}", Stop(i + 1, latest_s=40), Stop(i + 2, earliest_s=50)) for i in range(3)
    ]
    instance, layout = _instance(make_problem(shipments, vehicles=vehicles))
    start = [_nodes(layout, s.id) for s in shipments]
    routes = minimise_routes(instance, start, deadline=math.inf, max_iterations=500)
    assert len(routes) == 3
    _assert_complete_plan(instance, routes)


def test_an_infeasible_start_is_refused():
    vehicles = [Vehicle("v", 0, 10)]
    shipments = [Shipment("s", Stop(5, latest_s=10), Stop(6))]  # 50 s away, window closes at 10
    instance, layout = _instance(make_problem(shipments, vehicles=vehicles))
    with pytest.raises(ValueError, match="not feasible"):
        minimise_routes(instance, [_nodes(layout, "s")], deadline=time.monotonic() + 1)


def test_same_seed_same_routes():
    problem = lilim.read(Path(__file__).resolve().parents[1] / "data" / "routing_lilim_tiny.txt")
    instance, layout = _instance(problem)
    start = [_nodes(layout, s.id) for s in problem.shipments]  # one route per shipment
    runs = [
        minimise_routes(instance, start, deadline=math.inf, seed=5, max_iterations=300)
        for _ in range(2)
    ]
    assert runs[0] == runs[1]
    assert len(runs[0]) < len(start)
    _assert_complete_plan(instance, runs[0])


def test_ruin_and_recreate_straightens_a_zigzag_route():
    # One vehicle, shipments along the line served in a zigzag order; the best order is
    # left to right (cost 2 x 100 m: out and back).
    vehicles = [Vehicle("v", 0, 10, end_location=0)]
    shipments = [Shipment(f"s{i}", Stop(i), Stop(i + 1)) for i in (1, 3, 5, 7, 9)]
    instance, layout = _instance(make_problem(shipments, vehicles=vehicles))
    zigzag = [n for i in (9, 1, 7, 3, 5) for n in _nodes(layout, f"s{i}")]
    assert check_routes(instance, [zigzag])
    routes = shorten_routes(instance, [zigzag], deadline=math.inf, max_iterations=2000)
    _assert_complete_plan(instance, routes)
    best, given = plan_cost(instance, [sorted(zigzag)]), plan_cost(instance, [zigzag])
    assert plan_cost(instance, routes) == best < given


def test_ruin_and_recreate_never_lengthens_the_plan():
    problem = lilim.read(Path(__file__).resolve().parents[1] / "data" / "routing_lilim_tiny.txt")
    instance, layout = _instance(problem)
    start = [_nodes(layout, s.id) for s in problem.shipments]
    for seed in range(3):
        routes = shorten_routes(
            instance, start, deadline=math.inf, seed=seed, max_iterations=200
        )
        _assert_complete_plan(instance, routes)
        assert len(routes) <= len(start)
        assert plan_cost(instance, routes) <= plan_cost(instance, start)


def test_only_identical_fleets_with_hard_windows_take_this_path():
    shipments = [Shipment("s", Stop(1), Stop(2))]
    mixed = [Vehicle("a", 0, 10), Vehicle("b", 0, 5)]
    assert ejection_instance(Layout(make_problem(shipments, vehicles=mixed))) is None
    pinned = [Shipment("s", Stop(1), Stop(2), assigned_vehicle=0)]
    same = [Vehicle("a", 0, 10), Vehicle("b", 0, 10)]
    assert ejection_instance(Layout(make_problem(pinned, vehicles=same))) is None
    soft = [Shipment("s", Stop(1), Stop(2, latest_s=30, soft_latest=True))]
    assert ejection_instance(Layout(make_problem(soft, vehicles=same))) is None
    assert ejection_instance(Layout(make_problem(shipments, vehicles=same))) is not None


def test_lr202_needs_one_route_fewer_than_vrooms_plan():
    from routing.peers import solve_vroom

    problem = lilim.read(shared_lilim("lr202.txt"))
    instance, layout = _instance(problem)
    start = routes_from_plan(layout, layout.matrices(), solve_vroom(problem))
    start = [r for r in start if r]
    assert len(start) == 4  # the best-known solution has 3
    routes = minimise_routes(
        instance, start, deadline=math.inf, seed=0, max_iterations=20_000
    )
    assert len(routes) == 3
    _assert_complete_plan(instance, routes)


class FakeClock:
    """A clock the test moves: by hand, or by ``tick_s`` at every reading."""

    def __init__(self, now: float = 1000.0, tick_s: float = 0.0) -> None:
        self.now, self.tick_s, self.reads = now, tick_s, 0

    def __call__(self) -> float:
        self.reads += 1
        self.now += self.tick_s
        return self.now


def test_pacer_sizes_runs_by_the_last_one_and_stops_at_the_cap():
    clock = FakeClock()
    pacer = Pacer(deadline=clock.now + 60, max_iterations=1000, slice_s=0.5, clock=clock)
    assert pacer.next() == 1  # nothing measured yet
    clock.now += 0.01  # that step took 10 ms
    pacer.ran()
    assert pacer.next() == 50  # 0.5 s at 10 ms a step
    clock.now += 50 * 0.02  # and then they slowed down to 20 ms a step
    pacer.ran()
    assert pacer.next() == 25
    pacer.ran()
    while count := pacer.next():
        pacer.ran()
        assert count >= 1
    assert pacer.steps == 1000


def test_pacer_stops_at_the_deadline():
    clock = FakeClock()
    assert Pacer(deadline=clock.now - 1, max_iterations=None, clock=clock).next() == 0
    assert Pacer(deadline=clock.now, max_iterations=None, clock=clock).next() == 0


def test_pacer_never_sizes_a_run_past_the_deadline():
    """Whatever a step costs, a run it sizes ends by the deadline (one step is the least run);
    with no iteration cap it stops only because the clock says so."""
    for step_s in (0.0001, 0.003, 0.07, 0.4):
        clock = FakeClock()
        deadline = clock.now + 1.0
        pacer = Pacer(deadline, max_iterations=None, slice_s=0.05, clock=clock)
        runs = []
        while count := pacer.next():
            before = clock.now
            clock.now += count * step_s
            pacer.ran()
            runs.append(count)
            assert clock.now <= max(deadline, before + step_s) + 1e-9, (step_s, runs)
        assert clock.now >= deadline
        assert pacer.steps == sum(runs) >= int(0.99 / step_s)


def test_searches_read_their_deadline_on_the_clock_they_are_given(tiny_lilim_path):
    """No iteration cap: only the given clock ends the searches (one that jumps a second at
    each reading ends them within a few steps, whatever the machine's speed)."""
    problem = lilim.read(tiny_lilim_path)
    instance, layout = _instance(problem)
    start = [_nodes(layout, s.id) for s in problem.shipments]
    clock = FakeClock(tick_s=1.0)
    fewer = minimise_routes(instance, start, deadline=clock.now + 6, clock=clock)
    assert clock.reads <= 12
    _assert_complete_plan(instance, fewer)
    clock = FakeClock(tick_s=1.0)
    routes = shorten_routes(instance, fewer, deadline=clock.now + 6, clock=clock)
    assert clock.reads <= 12
    _assert_complete_plan(instance, routes)
