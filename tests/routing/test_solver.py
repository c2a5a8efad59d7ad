"""``solve`` on tiny problems: feasibility, on-board and pinned stops, reasons, determinism."""

import numpy as np
import pytest
from routing_cases import make_problem

from routing import lilim
from routing.plan import StopKind, StopRef, schedule_routes
from routing.problem import Problem, Shipment, Stop, Vehicle, Weights
from routing.solver import solve
from routing.validator import validate

#: Searches end on solutions found, not on the clock: the time limit is only a backstop far
#: above what these tiny problems take, so a loaded machine gives the same plans.
BOUNDED = {"time_limit_s": 60.0, "solution_limit": 50}


def served_by(plan, shipment_id: str) -> int | None:
    for route in plan.routes:
        if any(v.shipment_id == shipment_id for v in route.visits):
            return route.vehicle
    return None


def test_tiny_lilim_instance_is_solved_feasibly(tiny_lilim_path):
    problem = lilim.read(tiny_lilim_path)
    plan = solve(problem, seed=1, **BOUNDED)
    report = validate(problem, plan)
    assert report.feasible, report.violations
    assert not plan.unassigned
    assert report.vehicles_used == 2


def test_plan_times_and_loads_are_reported(two_couriers_problem: Problem):
    plan = solve(two_couriers_problem, **BOUNDED)
    assert validate(two_couriers_problem, plan).feasible
    for route in plan.routes:
        for visit in route.visits:
            assert visit.arrival_s <= visit.start_s <= visit.departure_s
            assert 0 <= visit.load <= two_couriers_problem.vehicles[route.vehicle].capacity


def test_onboard_parcel_stays_with_its_courier(two_couriers_problem: Problem):
    # The parcel's address is next to courier a's start, yet only b can deliver it.
    plan = solve(two_couriers_problem, **BOUNDED)
    assert served_by(plan, "carried_by_b") == 1
    assert validate(two_couriers_problem, plan).feasible


def test_pinned_shipment_stays_with_its_courier():
    vehicles = [Vehicle("a", 0, capacity=5), Vehicle("b", 10, capacity=5)]
    shipments = [
        Shipment("accepted_by_b", Stop(1), Stop(2), assigned_vehicle=1),
        Shipment("free", Stop(9), Stop(8)),
    ]
    problem = make_problem(shipments, vehicles=vehicles)
    plan = solve(problem, **BOUNDED)
    assert served_by(plan, "accepted_by_b") == 1  # though a, at 0, is far nearer
    assert validate(problem, plan).feasible


def test_reassignable_shipment_moves_to_the_better_courier():
    vehicles = [Vehicle("a", 0, capacity=5), Vehicle("b", 10, capacity=5)]
    shipments = [Shipment("x", Stop(1), Stop(2), assigned_vehicle=1, reassignable=True)]
    problem = make_problem(shipments, vehicles=vehicles)
    plan = solve(problem, **BOUNDED)
    assert served_by(plan, "x") == 0


def test_impossible_window_leaves_the_order_unassigned_with_a_reason():
    shipments = [
        Shipment("ok", Stop(1), Stop(2)),
        Shipment("too_early", Stop(9, latest_s=5), Stop(10)),  # 90 s away, closes at 5 s
    ]
    problem = make_problem(shipments)
    plan = solve(problem, **BOUNDED)
    assert [u.shipment_id for u in plan.unassigned] == ["too_early"]
    assert "time window" in plan.unassigned[0].reason
    assert served_by(plan, "ok") == 0
    report = validate(problem, plan)
    assert report.kinds() == {"unserved"}  # reported, not hidden


def test_too_large_order_is_unassigned_with_a_reason():
    problem = make_problem([Shipment("big", Stop(1), Stop(2), size=99)])
    plan = solve(problem, **BOUNDED)
    assert plan.unassigned[0].reason == "too large for every vehicle"


def test_optional_order_is_dropped_when_not_worth_it():
    weights = Weights(per_unassigned=5)
    problem = make_problem([Shipment("far", Stop(10), Stop(9), required=False)], weights=weights)
    plan = solve(problem, **BOUNDED)
    assert served_by(plan, "far") is None
    report = validate(problem, plan)
    assert report.feasible and report.objective == pytest.approx(5.0)


def test_soft_window_is_kept_at_a_cost():
    late = Stop(5, latest_s=10, soft_latest=True)
    problem = make_problem([Shipment("x", late, Stop(6))], weights=Weights(per_late_s=1))
    plan = solve(problem, **BOUNDED)
    report = validate(problem, plan)
    assert served_by(plan, "x") == 0
    assert report.feasible and report.lateness_s == pytest.approx(40.0)


def test_each_vehicle_travels_on_its_own_profile():
    # The same two locations: slow on foot, fast by car; only the car makes the window.
    slow = np.array([[0.0, 600.0, 600.0], [600.0, 0.0, 600.0], [600.0, 600.0, 0.0]])
    problem = Problem(
        vehicles=(Vehicle("walker", 0, 5, profile="foot"), Vehicle("driver", 0, 5, profile="car")),
        shipments=(Shipment("x", Stop(1, latest_s=100), Stop(2)),),
        durations_s={"foot": slow, "car": slow / 10},
        distances_m={"foot": slow, "car": slow},
    )
    plan = solve(problem, **BOUNDED)
    assert served_by(plan, "x") == 1
    assert validate(problem, plan).feasible


def test_same_seed_same_plan(tiny_lilim_path):
    problem = lilim.read(tiny_lilim_path)
    plans = [solve(problem, seed=3, **BOUNDED) for _ in range(2)]
    assert plans[0].sequences() == plans[1].sequences()


def _kept(plan, shipment_ids) -> list[list[tuple[str, StopKind]]]:
    """Each route's visits of these shipments, in order."""
    return [[(v.shipment_id, v.kind) for v in r.visits if v.shipment_id in shipment_ids]
            for r in plan.routes]


def test_warm_start_keeps_the_plan_and_inserts_new_orders(two_couriers_problem: Problem):
    first = solve(two_couriers_problem, **BOUNDED)
    grown = make_problem(
        list(two_couriers_problem.shipments) + [Shipment("new", Stop(5), Stop(3))],
        vehicles=list(two_couriers_problem.vehicles),
        onboard=list(two_couriers_problem.onboard),
    )
    again = solve(grown, **BOUNDED, initial=first)
    assert served_by(again, "new") is not None
    assert validate(grown, again).feasible
    old = {v.shipment_id for r in first.routes for v in r.visits}
    assert _kept(again, old) == _kept(first, old)  # same couriers, same order


def test_warm_start_keeps_an_accepted_plan_a_fresh_solve_would_not_make():
    # Twin couriers at the same place: left to itself the solver gives the order to the first;
    # the plan already accepted has the second, and a re-plan keeps it there.
    vehicles = [Vehicle("a", 0, 5), Vehicle("b", 0, 5)]
    problem = make_problem([Shipment("s", Stop(1), Stop(2))], vehicles=vehicles)
    assert served_by(solve(problem, **BOUNDED), "s") == 0
    accepted = schedule_routes(problem, [[], [StopRef("s", StopKind.PICKUP),
                                              StopRef("s", StopKind.DELIVERY)]])
    grown = make_problem([Shipment("s", Stop(1), Stop(2)), Shipment("new", Stop(5), Stop(3))],
                         vehicles=vehicles)
    again = solve(grown, **BOUNDED, initial=accepted)
    assert _kept(again, {"s"}) == [[], [("s", StopKind.PICKUP), ("s", StopKind.DELIVERY)]]
    assert served_by(again, "new") is not None and validate(grown, again).feasible


def test_warm_start_drops_stops_that_are_gone(two_couriers_problem: Problem):
    first = solve(two_couriers_problem, **BOUNDED)
    shrunk = make_problem(
        [s for s in two_couriers_problem.shipments if s.id != "middle"],
        vehicles=list(two_couriers_problem.vehicles),
        onboard=[],
    )
    again = solve(shrunk, **BOUNDED, initial=first)
    report = validate(shrunk, again)
    assert report.feasible and not again.unassigned


def test_route_minimisation_empties_a_needless_route():
    # Two vehicles cost more than the detour of serving everything with one.
    vehicles = [Vehicle(f"v{k}", 0, 10, end_location=0) for k in range(3)]
    shipments = [Shipment(f"s{i}", Stop(i), Stop(i + 1)) for i in range(1, 8)]
    problem = make_problem(shipments, vehicles=vehicles, weights=Weights(per_vehicle=1000))
    plan = solve(problem, **BOUNDED)
    report = validate(problem, plan)
    assert report.feasible and report.vehicles_used == 1


def test_pickup_precedes_delivery_in_every_route(tiny_lilim_path):
    problem = lilim.read(tiny_lilim_path)
    plan = solve(problem, **BOUNDED)
    for route in plan.routes:
        kinds = {}
        for v in route.visits:
            kinds.setdefault(v.shipment_id, []).append(v.kind)
        assert all(k == [StopKind.PICKUP, StopKind.DELIVERY] for k in kinds.values())


def test_node_matrices_are_extended_for_appended_orders(two_couriers_problem: Problem):
    from routing.ortools_model import Layout

    before = Layout(two_couriers_problem).matrices()
    grown = make_problem(
        list(two_couriers_problem.shipments) + [Shipment("new", Stop(5), Stop(3))],
        vehicles=list(two_couriers_problem.vehicles),
        onboard=list(two_couriers_problem.onboard),
    )
    # Same source arrays, so the old node matrices are a prefix of the new ones.
    grown = Problem(
        vehicles=grown.vehicles,
        shipments=grown.shipments,
        onboard=grown.onboard,
        durations_s=two_couriers_problem.durations_s,
        distances_m=two_couriers_problem.distances_m,
    )
    layout = Layout(grown)
    assert before.is_prefix_of(layout.matrices())
    extended, rebuilt = layout.matrices(previous=before), layout.matrices()
    for key in (("time", "default"), ("cost", "default")):
        assert extended[key] == rebuilt[key]
    assert extended["max_cost"] == rebuilt["max_cost"]


def test_no_pickup_after_a_couriers_last_pickup_time_but_deliveries_may_follow():
    # Courier "a" starts next to the pickup but collects nothing after t = 30; "b" is far away
    # and has no such limit. The parcel is ready at t = 50, so only "b" may take it.
    vehicles = [Vehicle("a", 1, capacity=5, last_pickup_s=30.0),
                Vehicle("b", 10, capacity=5)]
    problem = make_problem([Shipment("x", Stop(1, earliest_s=50.0), Stop(2))],
                           vehicles=vehicles)
    plan = solve(problem, **BOUNDED)
    assert served_by(plan, "x") == 1
    assert validate(problem, plan).feasible
    # A pickup before the limit with its delivery after it is fine.
    vehicles = [Vehicle("a", 1, capacity=5, last_pickup_s=30.0)]
    problem = make_problem([Shipment("y", Stop(1, earliest_s=20.0), Stop(10))],
                           vehicles=vehicles)
    plan = solve(problem, **BOUNDED)
    assert served_by(plan, "y") == 0
    assert plan.routes[0].visits[1].start_s > 30.0


def test_validator_flags_a_pickup_after_the_last_pickup_time():
    from routing.plan import StopRef, schedule_routes

    vehicles = [Vehicle("a", 1, capacity=5, last_pickup_s=30.0)]
    problem = make_problem([Shipment("x", Stop(1, earliest_s=50.0), Stop(2))],
                           vehicles=vehicles)
    plan = schedule_routes(problem, [[StopRef("x", StopKind.PICKUP),
                                      StopRef("x", StopKind.DELIVERY)]])
    assert validate(problem, plan).kinds() == {"last_pickup"}
    plan = solve(problem, **BOUNDED)
    assert [u.shipment_id for u in plan.unassigned] == ["x"]
