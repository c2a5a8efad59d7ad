"""The three dispatch policies on tiny named snapshots (pure, straight-line matrices)."""

from __future__ import annotations

import pytest
from dispatch_cases import courier, matrices, order

from dispatch.planning import Snapshot
from dispatch.policies import BatchPolicy, CascadePolicy, NearestPolicy, make_policy
from routing.validator import validate

#: The batch policy bounded by solutions found, not by the clock (the time limit is a backstop).
BOUNDED_BATCH = BatchPolicy(solution_limit=50)
BACKSTOP_S = 60.0


def _two_ends() -> Snapshot:
    return Snapshot((courier(1, 0), courier(2, 10)),
                    (order(10, 9.5, 9), order(11, 0.5, 1), order(12, 5, 6, waiting_s=900)))


@pytest.mark.parametrize("policy", [BOUNDED_BATCH, NearestPolicy(),
                                    CascadePolicy(radius_m=20_000)])
def test_every_policy_gives_a_feasible_plan(policy):
    snap = _two_ends()
    decision = policy.decide(snap, matrices(snap), time_limit_s=BACKSTOP_S)
    assert validate(decision.problem, decision.plan).feasible
    assert sorted(o for o, _ in decision.offers) == [10, 11, 12]
    assert dict(decision.offers)[10] == 2 and dict(decision.offers)[11] == 1


def test_nearest_appends_to_the_nearest_courier_with_room():
    snap = Snapshot((courier(1, 0, capacity=1), courier(2, 3)),
                    (order(10, 0.2, 0.4, waiting_s=60), order(11, 0.3, 0.5, size=2)))
    decision = NearestPolicy().decide(snap, matrices(snap), time_limit_s=0.1)
    # Oldest first to the nearest; the bulky one does not fit courier 1, so courier 2 takes it.
    assert decision.offers == [(10, 1), (11, 2)]


def test_nearest_keeps_accepted_work_and_respects_declines():
    snap = Snapshot((courier(1, 0), courier(2, 3)),
                    (order(10, 0.2, 0.4, status="assigned", courier_id=1), order(11, 0.3, 0.5)),
                    excluded=frozenset({(11, 1)}))
    decision = NearestPolicy().decide(snap, matrices(snap), time_limit_s=0.1)
    assert decision.offers == [(11, 2)]
    assert [s.order_id for s in decision.routes[1]] == [10, 10]


def test_cascade_one_by_one_offers_only_within_the_radius():
    snap = Snapshot((courier(1, 0), courier(2, 8)), (order(10, 0.5, 1), order(11, 4, 5)))
    decision = CascadePolicy(radius_m=2000).decide(snap, matrices(snap), time_limit_s=0.1)
    assert decision.offers == [(10, 1)]


def test_cascade_broadcast_offers_to_everyone_near():
    snap = Snapshot((courier(1, 0), courier(2, 1), courier(3, 9)), (order(10, 0.5, 1),))
    decision = CascadePolicy(radius_m=2000, mode="broadcast").decide(
        snap, matrices(snap), time_limit_s=0.1)
    assert decision.offers == []
    assert sorted(decision.broadcasts[10]) == [1, 2]


def test_batch_beats_nearest_on_distance():
    # The oldest order (10) goes from 1 to 2 km, the next (11) from 0.5 km back to the start.
    # Nearest gives both to courier 1 in age order and ends up driving 1 -> 2 -> 0.5 -> 0
    # (4 km); batch serves 11 first, then 10 (3 km), with either courier.
    snap = Snapshot((courier(1, 0), courier(2, 3)),
                    (order(10, 1, 2, waiting_s=100), order(11, 0.5, 0, waiting_s=50)))
    m = matrices(snap)
    batch = BOUNDED_BATCH.decide(snap, m, time_limit_s=BACKSTOP_S)
    nearest = NearestPolicy().decide(snap, m, time_limit_s=BACKSTOP_S)
    assert nearest.offers == [(10, 1), (11, 1)]
    batch_m = validate(batch.problem, batch.plan).distance_m
    nearest_m = validate(nearest.problem, nearest.plan).distance_m
    assert batch_m < nearest_m - 500, (batch_m, nearest_m)


def test_make_policy_knows_the_names():
    assert make_policy("batch").name == "batch"
    assert make_policy("nearest").name == "nearest"
    assert make_policy("cascade", cascade_mode="broadcast").mode == "broadcast"
    with pytest.raises(ValueError):
        make_policy("random")
