"""A courier on a break: planned with the work it holds or accepted, offered nothing new, and
given nothing of anybody else's (pure, straight-line matrices)."""

from __future__ import annotations

import dataclasses

import pytest
from dispatch_cases import courier, matrices, order

from dispatch.planning import Snapshot, build_problem, courier_may_serve
from dispatch.policies import BatchPolicy, CascadePolicy, NearestPolicy
from routing.validator import validate


def resting(cid: int, at_km: float):
    return dataclasses.replace(courier(cid, at_km), takes_new_work=False)


def _snapshot() -> Snapshot:
    # Courier 1 rests right next to everything; courier 2 works 5 km away.
    return Snapshot(
        (resting(1, 0), courier(2, 5)),
        (order(10, 0.1, 0.3, status="picked_up", courier_id=1),
         order(11, 0.2, 0.4, status="assigned", courier_id=1),
         order(12, 0.1, 0.2),                                    # new, next to courier 1
         order(13, 4.8, 5.2, status="assigned", courier_id=2)),
    )


@pytest.mark.parametrize("policy", [BatchPolicy(reassign_gain=0.0, solution_limit=50),
                                    NearestPolicy(), CascadePolicy(radius_m=20_000),
                                    CascadePolicy(radius_m=20_000, mode="broadcast")],
                         ids=["batch", "nearest", "cascade", "broadcast"])
def test_a_resting_courier_keeps_its_work_and_gets_nothing_new(policy):
    snap = _snapshot()
    decision = policy.decide(snap, matrices(snap), time_limit_s=60.0)  # solutions bound batch
    assert validate(decision.problem, decision.plan).feasible
    # Its parcel on board and its accepted order stay on its route, in a sensible order.
    stops = [(s.order_id, s.kind) for s in decision.routes[1]]
    assert set(stops) == {(10, "dropoff"), (11, "pickup"), (11, "dropoff")}
    assert stops.index((11, "pickup")) < stops.index((11, "dropoff"))
    # The new order goes to the working courier, however far, and nothing moves.
    assert 1 not in {c for _, c in decision.offers}
    assert 1 not in {c for cs in decision.broadcasts.values() for c in cs}
    assert all(to != 1 and frm != 1 for _, frm, to in decision.reassignments)
    assert (12, 2) in decision.offers or decision.broadcasts.get(12) == [2]


def test_accepted_work_of_a_resting_courier_is_never_reassignable():
    built = build_problem(_snapshot(), matrices(_snapshot()), reassignable=True)
    by_id = {s.id: s for s in built.problem.shipments}
    assert not by_id["o11"].reassignable
    assert by_id["o13"].reassignable
    assert 0 in built.forbidden["o12"]  # vehicle 0 is the resting courier
    assert 0 in built.forbidden["o13"]


def test_courier_may_serve_only_its_own_orders_while_resting():
    courier_1 = resting(1, 0)
    assert not courier_may_serve(order(12, 0.1, 0.2), courier_1, frozenset())
    assert courier_may_serve(order(11, 0.2, 0.4, status="assigned", courier_id=1), courier_1,
                             frozenset())
    assert courier_may_serve(order(12, 0.1, 0.2), courier(2, 5), frozenset())


def test_with_only_resting_couriers_new_orders_wait():
    snap = Snapshot((resting(1, 0),), (order(12, 0.1, 0.2),
                                       order(10, 0.1, 0.3, status="picked_up", courier_id=1)))
    decision = BatchPolicy(solution_limit=50).decide(snap, matrices(snap), time_limit_s=60.0)
    assert decision.offers == []
    assert [(s.order_id, s.kind) for s in decision.routes[1]] == [(10, "dropoff")]
    assert 12 not in decision.unservable
