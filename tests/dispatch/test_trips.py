"""One trip at a time (`dispatch.trips`): what may be offered, when, and to whom (plain values)."""

from __future__ import annotations

import dataclasses

from dispatch_cases import OPTIONS, courier, matrices, order

from dispatch.planning import PlannedStopOut, Snapshot
from dispatch.policies import make_policy
from dispatch.trips import OneTripPolicy, PlanMemo, first_trip, trip_schedule

INF = float("inf")
NEAREST = make_policy("nearest", options=OPTIONS)
BATCH = make_policy("batch", options=OPTIONS, reassign_gain=None, solution_limit=20)


def decide(snapshot: Snapshot, *, commit_s: float = 60.0, inner=NEAREST, memo=None):
    policy = OneTripPolicy(inner, options=OPTIONS, commit_s=commit_s, memo=memo)
    return policy.decide(snapshot, matrices(snapshot), time_limit_s=5.0)


def test_first_trip_is_the_leading_pickups_at_one_place_and_their_dropoffs():
    p = PlannedStopOut
    stops = (p(1, "pickup", 1.0, 1.0, 10), p(2, "pickup", 1.0, 1.0, 12),
             p(3, "pickup", 2.0, 2.0, 20), p(2, "dropoff", 5.0, 5.0, 30),
             p(1, "dropoff", 6.0, 6.0, 40), p(3, "dropoff", 7.0, 7.0, 50))
    assert [(s.order_id, s.kind) for s in first_trip(stops)] == [
        (1, "pickup"), (2, "pickup"), (2, "dropoff"), (1, "dropoff")]
    assert first_trip(stops[3:]) == ()


def test_an_idle_courier_gets_a_trip_once_it_must_leave():
    # The pickup is ready in 20 minutes, 1.1 km (about 4 minutes by bicycle) away.
    waiting = Snapshot((courier(1, 0.0),), (order(10, 1.0, 3.0, pickup_window_s=(1200, INF)),),
                       zones_defined=False)
    assert decide(waiting).offers == []
    assert decide(waiting, commit_s=1200).offers == [(10, 1)]
    due = dataclasses.replace(waiting, orders=(order(10, 1.0, 3.0, pickup_window_s=(60, INF)),))
    decision = decide(due)
    assert decision.offers == [(10, 1)]
    assert [(s.order_id, s.kind) for s in decision.routes[1]] == [(10, "pickup"), (10, "dropoff")]


def test_a_busy_courier_gets_nothing_new_and_keeps_its_trip_in_order():
    busy = courier(1, 0.0)
    snapshot = Snapshot(
        (busy, courier(2, 6.0)),
        (order(10, 1.0, 3.0, status="picked_up", courier_id=1),
         order(11, 1.0, 2.0, status="picked_up", courier_id=1),
         order(12, 0.5, 2.5)),
        previous_routes={1: ((11, "dropoff"), (10, "dropoff"))}, zones_defined=False)
    decision = decide(snapshot, commit_s=10_000)
    assert all(c != 1 for _, c in decision.offers)
    assert [(s.order_id, s.kind) for s in decision.routes[1]] == [(11, "dropoff"),
                                                                  (10, "dropoff")]
    assert decision.offers == [(12, 2)]


def test_a_busy_courier_is_planned_from_the_end_of_its_trip():
    """Courier 1 ends its trip at 2.0 km, next to the new pickup; courier 2 waits 8 km away.
    The batch plan keeps the order for courier 1 (nothing offered yet), who is not idle."""
    snapshot = Snapshot(
        (courier(1, 0.0), courier(2, 8.0)),
        (order(10, 0.0, 2.0, status="picked_up", courier_id=1),
         order(12, 2.1, 3.0, pickup_window_s=(1800, INF))),
        previous_routes={1: ((10, "dropoff"),)}, zones_defined=False)
    decision = decide(snapshot, inner=BATCH, commit_s=600)
    assert decision.offers == []
    assert 12 in decision.planned_orders


def test_trip_schedule_times_a_trip_from_where_the_courier_is_free():
    c = dataclasses.replace(courier(1, 0.0), available_in_s=100.0)
    orders = [order(10, 1.0, 3.0, status="assigned", courier_id=1, pickup_window_s=(0, INF))]
    snapshot = Snapshot((c,), tuple(orders), zones_defined=False)
    points = {p: i for i, p in enumerate([(c.lat, c.lon), (orders[0].pickup_lat, c.lon),
                                          (orders[0].dropoff_lat, c.lon)])}
    m = matrices(snapshot)
    trip = trip_schedule(c, orders, (), m, points, OPTIONS)
    durations = m["bicycle"][0]
    at_pickup = 100.0 + durations[0, 1]
    assert trip.stops[0].eta_s == at_pickup
    assert trip.stops[1].eta_s == at_pickup + OPTIONS.pickup_service_s + durations[1, 2]
    assert trip.end_s == trip.stops[1].eta_s + OPTIONS.dropoff_service_s
    assert trip.end == (orders[0].dropoff_lat, c.lon)


def test_an_unchanged_problem_is_not_solved_again():
    memo = PlanMemo()
    snapshot = Snapshot((courier(1, 0.0), courier(2, 5.0)),
                        (order(10, 1.0, 3.0, pickup_window_s=(3000, INF)),),
                        zones_defined=False, at_s=1_000_000.0)
    first = decide(snapshot, inner=BATCH, memo=memo)
    # Ten seconds later: every time shifts by 10 s, nothing else happened.
    later = dataclasses.replace(snapshot, at_s=1_000_010.0, orders=(
        order(10, 1.0, 3.0, pickup_window_s=(2990, INF), waiting_s=10.0),))
    second = decide(later, inner=BATCH, memo=memo)
    assert (memo.misses, memo.hits) == (1, 1)
    assert first.planned_orders == second.planned_orders
    # A new order changes the problem: solved again.
    newer = dataclasses.replace(later, orders=(*later.orders, order(11, 4.0, 6.0)))
    decide(newer, inner=BATCH, memo=memo)
    assert memo.misses == 2


def test_an_order_joins_the_bundle_of_a_courier_waiting_at_its_pickup_place():
    """Courier 1 waits at the counter (1.0 km) for order 10, ready in 5 minutes; order 11 of the
    same place is ready sooner and goes next door. Courier 2 would need a long ride: 11 joins."""
    waiting = dataclasses.replace(courier(1, 1.0))
    snapshot = Snapshot(
        (waiting, courier(2, 9.0)),
        (order(10, 1.0, 3.0, status="at_pickup", courier_id=1, pickup_window_s=(300, INF)),
         order(11, 1.0, 3.1, pickup_window_s=(200, INF))),
        previous_routes={1: ((10, "pickup"), (10, "dropoff"))}, zones_defined=False)
    decision = decide(snapshot, inner=BATCH)
    assert decision.offers == [(11, 1)]
    assert [(s.order_id, s.kind) for s in decision.routes[1]] == [
        (10, "pickup"), (11, "pickup"), (10, "dropoff"), (11, "dropoff")]
    # Ready only after the bundle is collected: it does not join (the courier would wait).
    later = dataclasses.replace(snapshot, orders=(
        snapshot.orders[0], order(11, 1.0, 3.1, pickup_window_s=(900, INF))))
    assert (11, 1) not in decide(later, inner=BATCH, commit_s=0).offers
