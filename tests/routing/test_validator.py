"""The validator catches each kind of violation and prices plans correctly."""

import dataclasses
import math

import pytest
from routing_cases import make_problem

from routing.plan import StopKind, StopRef, Unassigned, schedule_routes
from routing.problem import OnboardParcel, Shipment, Stop, Vehicle, Weights
from routing.validator import validate

P, D = StopKind.PICKUP, StopKind.DELIVERY


def refs(*pairs: tuple[str, StopKind]) -> list[StopRef]:
    return [StopRef(sid, kind) for sid, kind in pairs]


def test_a_good_plan_is_feasible_and_priced():
    problem = make_problem([Shipment("x", Stop(2), Stop(5))], weights=Weights(per_vehicle=100))
    plan = schedule_routes(problem, [refs(("x", P), ("x", D))])
    report = validate(problem, plan)
    assert report.feasible, report.violations
    assert report.vehicles_used == 1
    assert report.distance_m == pytest.approx(100.0)  # 0 -> 20 -> 50 -> 0
    assert report.objective == pytest.approx(200.0)


def test_capacity():
    problem = make_problem(
        [Shipment("x", Stop(1), Stop(2), size=6), Shipment("y", Stop(1), Stop(2), size=6)]
    )
    plan = schedule_routes(problem, [refs(("x", P), ("y", P), ("x", D), ("y", D))])
    assert "capacity" in validate(problem, plan).kinds()


def test_time_window():
    problem = make_problem([Shipment("x", Stop(5, latest_s=10), Stop(6))])
    plan = schedule_routes(problem, [refs(("x", P), ("x", D))])
    assert validate(problem, plan).kinds() == {"time_window"}


def test_soft_window_costs_lateness_instead():
    late = Stop(5, latest_s=10, soft_latest=True)
    problem = make_problem([Shipment("x", late, Stop(6))], weights=Weights(per_late_s=2, per_m=0))
    report = validate(problem, schedule_routes(problem, [refs(("x", P), ("x", D))]))
    assert report.feasible
    assert report.lateness_s == pytest.approx(40.0)
    assert report.objective == pytest.approx(80.0)


def test_precedence():
    problem = make_problem([Shipment("x", Stop(2), Stop(5))])
    plan = schedule_routes(problem, [refs(("x", D), ("x", P))])
    assert "precedence" in validate(problem, plan).kinds()


def test_pairing():
    vehicles = [Vehicle("a", 0, 10, end_location=0), Vehicle("b", 0, 10, end_location=0)]
    problem = make_problem([Shipment("x", Stop(2), Stop(5))], vehicles=vehicles)
    plan = schedule_routes(problem, [refs(("x", P)), refs(("x", D))])
    assert "pairing" in validate(problem, plan).kinds()


def test_pinned():
    vehicles = [Vehicle("a", 0, 10), Vehicle("b", 0, 10)]
    problem = make_problem(
        [Shipment("x", Stop(2), Stop(5), assigned_vehicle=0)], vehicles=vehicles
    )
    plan = schedule_routes(problem, [[], refs(("x", P), ("x", D))])
    assert validate(problem, plan).kinds() == {"pinned"}


def test_reassignable_shipment_may_move():
    vehicles = [Vehicle("a", 0, 10), Vehicle("b", 0, 10)]
    problem = make_problem(
        [Shipment("x", Stop(2), Stop(5), assigned_vehicle=0, reassignable=True)],
        vehicles=vehicles,
    )
    plan = schedule_routes(problem, [[], refs(("x", P), ("x", D))])
    assert validate(problem, plan).feasible


def test_onboard_parcel_with_another_courier():
    vehicles = [Vehicle("a", 0, 10), Vehicle("b", 0, 10)]
    onboard = [OnboardParcel("p", vehicle=0, delivery=Stop(3))]
    problem = make_problem([], vehicles=vehicles, onboard=onboard)
    plan = schedule_routes(problem, [[], refs(("p", D))])
    assert validate(problem, plan).kinds() == {"onboard"}


def test_onboard_parcel_counts_in_the_load():
    onboard = [OnboardParcel("p", vehicle=0, delivery=Stop(3), size=8)]
    problem = make_problem([Shipment("x", Stop(1), Stop(2), size=3)], onboard=onboard)
    plan = schedule_routes(problem, [refs(("x", P), ("x", D), ("p", D))])
    assert "capacity" in validate(problem, plan).kinds()


def test_unserved_required_and_optional():
    problem = make_problem(
        [Shipment("must", Stop(1), Stop(2)), Shipment("may", Stop(1), Stop(2), required=False)],
        onboard=[OnboardParcel("p", vehicle=0, delivery=Stop(3))],
        weights=Weights(per_unassigned=7),
    )
    report = validate(problem, schedule_routes(problem, [[]]))
    messages = [v.message for v in report.violations if v.kind == "unserved"]
    assert len(messages) == 2  # "must" and the parcel on board; "may" only costs
    assert report.unassigned == 2
    assert report.unassigned_penalty == pytest.approx(14.0)


def test_duplicate_and_unknown_stops():
    problem = make_problem([Shipment("x", Stop(2), Stop(5))])
    plan = schedule_routes(problem, [refs(("x", P), ("x", P), ("x", D))])
    assert "duplicate" in validate(problem, plan).kinds()
    assert "unknown" not in validate(problem, plan).kinds()
    # A stop of a shipment the problem does not have, in a plan otherwise complete.
    served = schedule_routes(problem, [refs(("x", P), ("x", D))])
    route = served.routes[0]
    ghost = dataclasses.replace(route, visits=(
        *route.visits, dataclasses.replace(route.visits[0], shipment_id="ghost")))
    report = validate(problem, dataclasses.replace(served, routes=(ghost,)))
    assert report.kinds() == {"unknown"}
    assert any("ghost" in v.message for v in report.violations)
    unassigned = dataclasses.replace(served, unassigned=(Unassigned("phantom", "why not"),))
    assert validate(problem, unassigned).kinds() == {"unknown"}


def test_shift_end():
    vehicles = [Vehicle("a", 0, 10, end_location=0, shift_end_s=50)]
    problem = make_problem([Shipment("x", Stop(2), Stop(5))], vehicles=vehicles)
    plan = schedule_routes(problem, [refs(("x", P), ("x", D))])
    assert validate(problem, plan).kinds() == {"shift"}


def test_open_end_stops_at_the_last_stop():
    vehicles = [Vehicle("a", 0, 10, end_location=None)]
    problem = make_problem([Shipment("x", Stop(2), Stop(5))], vehicles=vehicles)
    report = validate(problem, schedule_routes(problem, [refs(("x", P), ("x", D))]))
    assert report.feasible
    assert report.distance_m == pytest.approx(50.0)
    assert not math.isinf(report.objective)
