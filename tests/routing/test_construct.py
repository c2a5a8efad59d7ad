"""The greedy construction: feasible plans, on-board first, pinned kept, new orders appended."""

from routing_cases import make_problem

from routing.construct import greedy_sequences
from routing.plan import StopKind, StopRef, schedule_routes
from routing.problem import OnboardParcel, Shipment, Stop, Vehicle
from routing.validator import validate


def test_greedy_plan_is_feasible_and_keeps_onboard_and_pinned(two_couriers_problem):
    sequences = greedy_sequences(two_couriers_problem)
    report = validate(two_couriers_problem, schedule_routes(two_couriers_problem, sequences))
    assert report.feasible, report.violations
    assert sequences[1][0] == StopRef("carried_by_b", StopKind.DELIVERY)


def test_greedy_leaves_out_what_nobody_can_do():
    problem = make_problem(
        [Shipment("ok", Stop(1), Stop(2)), Shipment("late", Stop(9, latest_s=5), Stop(10))],
        vehicles=[Vehicle("a", 0, 5)],
    )
    sequences = greedy_sequences(problem)
    assert {r.shipment_id for r in sequences[0]} == {"ok"}


def test_greedy_appends_new_orders_to_a_previous_plan():
    vehicles = [Vehicle("a", 0, 5), Vehicle("b", 10, 5)]
    onboard = [OnboardParcel("p", vehicle=0, delivery=Stop(2))]
    old = [Shipment("x", Stop(1), Stop(3))]
    base = [[StopRef("p", StopKind.DELIVERY), StopRef("x", StopKind.PICKUP),
             StopRef("x", StopKind.DELIVERY)], []]
    problem = make_problem(old + [Shipment("new", Stop(9), Stop(8))], vehicles=vehicles,
                           onboard=onboard)
    sequences = greedy_sequences(problem, base=base)
    assert sequences[0] == base[0]
    assert [r.shipment_id for r in sequences[1]] == ["new", "new"]
    assert validate(problem, schedule_routes(problem, sequences)).feasible
