"""Building routing problems from live dispatch state, and reading decisions back (pure)."""

from __future__ import annotations

import math

from dispatch_cases import courier, matrices, order

from dispatch.planning import (
    Snapshot,
    build_problem,
    decision_from_plan,
    enforce_exclusions,
    outside_zone_orders,
    shipment_id,
    snapshot_points,
    worth_reassigning,
)
from dispatch.policies import BatchPolicy
from routing.plan import schedule_routes
from routing.validator import validate


def _decide(snapshot: Snapshot, *, time_limit_s: float = 60.0, **kwargs):
    """The batch policy bounded by solutions found; the time limit is only a backstop."""
    kwargs.setdefault("solution_limit", 50)
    return BatchPolicy(**kwargs).decide(snapshot, matrices(snapshot), time_limit_s=time_limit_s)


def test_points_are_shared_between_couriers_and_orders():
    snap = Snapshot((courier(1, 0), courier(2, 0)), (order(10, 0, 1), order(11, 1, 2)))
    assert len(snapshot_points(snap)) == 3  # 0 km, 1 km, 2 km


def test_every_pending_order_is_offered_and_the_plan_is_feasible():
    snap = Snapshot(
        (courier(1, 0), courier(2, 10)),
        tuple(order(10 + i, km, km + 1) for i, km in enumerate((0.5, 1, 9, 9.5))),
    )
    decision = _decide(snap)
    assert validate(decision.problem, decision.plan).feasible
    assert sorted(o for o, _ in decision.offers) == [10, 11, 12, 13]
    by_order = dict(decision.offers)
    assert by_order[10] == by_order[11] == 1 and by_order[12] == by_order[13] == 2
    route = decision.routes[1]
    assert [s.kind for s in route].count("pickup") == 2
    assert all(a.eta_s <= b.eta_s for a, b in zip(route, route[1:], strict=False))


def test_capacity_is_respected():
    snap = Snapshot((courier(1, 0, capacity=2),),
                    tuple(order(10 + i, 0.2 * i, 3) for i in range(4)))
    decision = _decide(snap)
    report = validate(decision.problem, decision.plan)
    assert report.feasible
    assert max(v.load for r in decision.plan.routes for v in r.visits) <= 2


def test_parcels_on_board_and_at_pickup_stay_with_their_courier():
    snap = Snapshot(
        (courier(1, 0), courier(2, 5)),
        (order(10, 5, 5.5, status="picked_up", courier_id=1),
         order(11, 0, 5, status="at_pickup", courier_id=1),
         order(12, 4.9, 5.2)),
    )
    decision = _decide(snap)
    assert {p.id for p in decision.problem.onboard} == {shipment_id(10), shipment_id(11)}
    stops = decision.routes[1]
    assert (stops[0].order_id, stops[0].kind, stops[0].eta_s) == (11, "pickup", 0.0)
    assert {(s.order_id, s.kind) for s in stops} >= {(10, "dropoff"), (11, "dropoff")}
    assert [o for o, _ in decision.offers] == [12]


def test_accepted_orders_are_pinned_and_keep_their_windows_while_they_can_be_met():
    snap = Snapshot((courier(1, 0), courier(2, 10)),
                    (order(10, 10, 10.5, status="assigned", courier_id=1,
                           dropoff_window_s=(0, 60)),
                     order(11, 0.5, 1, status="assigned", courier_id=1,
                           dropoff_window_s=(0, 3600))))
    built = build_problem(snap, matrices(snap))
    late, on_time = built.problem.shipments
    assert late.pinned_vehicle == 0 and late.required
    # 10 km in a minute is impossible: the bound goes, the order stays with its courier.
    assert late.delivery.latest_s == math.inf and not late.delivery.soft_latest
    assert on_time.delivery.latest_s == 3600 and not on_time.delivery.soft_latest
    decision = _decide(snap, reassign_gain=None)
    assert sorted(s.order_id for s in decision.routes[1]) == [10, 10, 11, 11]
    assert decision.reassignments == [] and decision.offers == []


def test_promised_orders_whose_windows_clash_stay_on_the_route():
    snap = Snapshot((courier(1, 0),),
                    (order(10, 3, 3.2, status="assigned", courier_id=1,
                           dropoff_window_s=(0, 900)),
                     order(11, -3, -3.2, status="assigned", courier_id=1,
                           dropoff_window_s=(0, 900))))
    decision = _decide(snap, reassign_gain=None)
    assert sorted(s.order_id for s in decision.routes[1]) == [10, 10, 11, 11]


def test_accepted_orders_move_only_for_a_large_gain():
    snap = Snapshot((courier(1, 0), courier(2, 10)),
                    (order(10, 10, 10.5, status="assigned", courier_id=1),))
    moved = _decide(snap, reassign_gain=0.2)
    assert moved.reassignments == [(10, 1, 2)]
    kept = _decide(snap, reassign_gain=0.99)
    assert kept.reassignments == []
    assert worth_reassigning(100.0, 70.0, min_gain=0.2)
    assert not worth_reassigning(100.0, 90.0, min_gain=0.2)
    assert not worth_reassigning(0.0, 0.0, min_gain=0.2)


def test_an_impossible_window_is_flagged_not_planned():
    snap = Snapshot((courier(1, 0),), (order(10, 20, 21, pickup_window_s=(0, 60)),))
    # Nothing can be routed, so no search ever counts a solution: the clock ends it,
    # and what is checked does not depend on how long it searched.
    decision = _decide(snap, time_limit_s=0.3)
    assert decision.offers == []
    assert decision.unservable == {10: "no vehicle can reach its time windows"}


def test_an_order_outside_every_zone_is_flagged():
    snap = Snapshot((courier(1, 0),), (order(10, 1, 2, zones=frozenset()),))
    assert outside_zone_orders(snap) == {10: "outside every active service zone"}
    decision = _decide(snap)
    assert decision.offers == [] and 10 in decision.unservable


def test_a_declined_courier_is_never_offered_the_order_again():
    snap = Snapshot((courier(1, 0), courier(2, 8)), (order(10, 0.1, 0.5),),
                    excluded=frozenset({(10, 1)}))
    decision = _decide(snap)
    assert decision.offers == [(10, 2)]
    assert validate(decision.problem, decision.plan).feasible


def test_zones_limit_who_may_serve():
    snap = Snapshot((courier(1, 0, zones=frozenset({2})), courier(2, 8)), (order(10, 0.1, 0.5),))
    assert _decide(snap).offers == [(10, 2)]


def test_exclusions_move_misplaced_shipments_by_insertion():
    snap = Snapshot((courier(1, 0), courier(2, 3)), (order(10, 0.1, 0.5), order(11, 3, 4)),
                    excluded=frozenset({(10, 1)}))
    built = build_problem(snap, matrices(snap))
    ids = [s.id for s in built.problem.shipments]
    from routing.plan import StopKind, StopRef

    bad = schedule_routes(built.problem, [[StopRef(ids[0], StopKind.PICKUP),
                                           StopRef(ids[0], StopKind.DELIVERY)],
                                          [StopRef(ids[1], StopKind.PICKUP),
                                           StopRef(ids[1], StopKind.DELIVERY)]])
    fixed = enforce_exclusions(built, bad)
    assert [v.shipment_id for v in fixed.routes[0].visits] == []
    assert {v.shipment_id for v in fixed.routes[1].visits} == set(ids)
    assert sorted(decision_from_plan(built, fixed).offers) == [(10, 2), (11, 2)]


def test_a_shift_end_bounds_the_route():
    snap = Snapshot((courier(1, 0, shift_end_s=60),), (order(10, 5, 6),))
    # Nothing can be routed, so no search ever counts a solution: the clock ends it,
    # and what is checked does not depend on how long it searched.
    decision = _decide(snap, time_limit_s=0.3)
    assert decision.offers == []
    assert math.isfinite(decision.problem.vehicles[0].shift_end_s)


def test_the_previous_plan_warm_starts_the_next():
    snap = Snapshot((courier(1, 0),), (order(10, 1, 2, status="assigned", courier_id=1),
                                       order(11, 0.5, 3)),
                    previous_routes={1: ((10, "pickup"), (10, "dropoff"))})
    built = build_problem(snap, matrices(snap))
    assert built.initial is not None
    assert [v.shipment_id for v in built.initial.routes[0].visits] == ["o10", "o10"]
