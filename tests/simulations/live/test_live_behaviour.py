"""The agents' choices (`simulations.live.behaviour`): offers, Poisson orders, GPS readings,
the next stop, the fleet's vehicles; and the summary's arithmetic."""

from __future__ import annotations

import random
import statistics
from collections import Counter

import pytest

from simulations.live.behaviour import (
    GpsSensor,
    OfferPolicy,
    PoissonArrivals,
    decide_offer,
    fleet_vehicles,
    next_stop,
    stop_due,
)
from simulations.live.cast import member_password, member_rng
from simulations.live.geo import distance_m
from simulations.live.runner import seq_ranges
from simulations.live.summary import Latency, Summary, percentile


def test_offer_answers_follow_the_policy_shares():
    policy = OfferPolicy(accept_probability=0.7, ignore_probability=0.25, min_delay_s=1,
                         max_delay_s=4)
    rng = random.Random(11)
    decisions = [decide_offer(policy, rng) for _ in range(20_000)]
    answers = Counter(d.answer for d in decisions)
    assert answers["accept"] / 20_000 == pytest.approx(0.7, abs=0.015)
    assert answers["ignore"] / 20_000 == pytest.approx(0.3 * 0.25, abs=0.01)
    assert all(1 <= d.delay_s <= 4 for d in decisions)


def test_offer_answers_replay_from_the_seed():
    policy = OfferPolicy()
    first = [decide_offer(policy, random.Random(5)) for _ in range(3)]
    again = [decide_offer(policy, random.Random(5)) for _ in range(3)]
    assert first == again
    rng_a, rng_b = random.Random(5), random.Random(6)
    assert [decide_offer(policy, rng_a) for _ in range(50)] != \
        [decide_offer(policy, rng_b) for _ in range(50)]


def test_always_and_never():
    rng = random.Random(1)
    assert {decide_offer(OfferPolicy(accept_probability=1.0), rng).answer
            for _ in range(100)} == {"accept"}
    assert {decide_offer(OfferPolicy(accept_probability=0.0, ignore_probability=0.0),
                         rng).answer for _ in range(100)} == {"decline"}
    with pytest.raises(ValueError):
        OfferPolicy(accept_probability=1.5)
    with pytest.raises(ValueError):
        OfferPolicy(min_delay_s=5, max_delay_s=1)


def test_poisson_arrivals_have_the_asked_rate_and_exponential_gaps():
    arrivals = PoissonArrivals(120.0, random.Random(7))
    gaps = [arrivals.next_gap_s() for _ in range(20_000)]
    assert statistics.fmean(gaps) == pytest.approx(30.0, rel=0.03)
    assert statistics.pstdev(gaps) == pytest.approx(30.0, rel=0.05)  # exponential: sd = mean
    counts = [len(PoissonArrivals(120.0, random.Random(s)).times_within(3600.0))
              for s in range(300)]
    assert statistics.fmean(counts) == pytest.approx(120, rel=0.03)
    assert statistics.pvariance(counts) == pytest.approx(120, rel=0.25)  # Poisson: var = mean


def test_poisson_arrivals_are_seeded_and_a_zero_rate_never_arrives():
    assert PoissonArrivals(60, random.Random(3)).times_within(600) == \
        PoissonArrivals(60, random.Random(3)).times_within(600)
    assert PoissonArrivals(0, random.Random(3)).times_within(1e9) == []
    with pytest.raises(ValueError):
        PoissonArrivals(-1, random.Random(3))


def test_gps_readings_stay_within_their_accuracy():
    sensor = GpsSensor(min_acc_m=4, max_acc_m=12)
    rng = random.Random(2)
    for _ in range(2000):
        reading = sensor.read(41.3, 69.25, speed_mps=5.0, heading_deg=90.0, rng=rng)
        assert 4 <= reading.acc_m <= 12
        assert distance_m(41.3, 69.25, reading.lat, reading.lon) <= reading.acc_m + 0.1
        assert reading.speed_mps >= 0 and reading.heading_deg == 90.0
    standing = sensor.read(41.3, 69.25, speed_mps=0.0, heading_deg=None, rng=rng)
    assert standing.speed_mps == 0.0 and standing.heading_deg is None


def order(order_id, status, pickup=(41.30, 69.25), dropoff=(41.31, 69.26)):
    return {"id": order_id, "status": status, "courier_id": 7,
            "pickup": {"lat": pickup[0], "lon": pickup[1]},
            "dropoff": {"lat": dropoff[0], "lon": dropoff[1]}}


def test_each_held_status_is_due_for_its_stop():
    assert stop_due(order(1, "assigned")).kind == "pickup"
    assert stop_due(order(1, "at_pickup")).kind == "pickup"
    picked = stop_due(order(1, "picked_up"))
    assert picked.kind == "dropoff" and (picked.lat, picked.lon) == (41.31, 69.26)
    back = stop_due(order(1, "returning"))
    assert back.kind == "return" and (back.lat, back.lon) == (41.30, 69.25)
    assert stop_due(order(1, "offered")) is None and stop_due(order(1, "delivered")) is None


def test_the_planned_route_decides_the_next_stop():
    held = [order(1, "assigned"), order(2, "picked_up")]
    planned = [{"order_id": 3, "kind": "pickup"}, {"order_id": 1, "kind": "pickup"},
               {"order_id": 2, "kind": "dropoff"}]
    stop = next_stop(held, planned, position=(41.31, 69.26))
    assert (stop.order_id, stop.kind) == (1, "pickup")
    # A planned stop of the wrong kind (the plan is older than the pickup) does not count.
    stop = next_stop([order(1, "picked_up")], [{"order_id": 1, "kind": "pickup"}],
                     position=(41.30, 69.25))
    assert (stop.order_id, stop.kind) == (1, "dropoff")


def test_without_a_plan_parcels_on_board_go_first_then_the_nearest():
    held = [order(1, "assigned", pickup=(41.300, 69.250)),
            order(2, "picked_up", dropoff=(41.350, 69.300)),
            order(3, "assigned", pickup=(41.301, 69.251))]
    assert next_stop(held, [], position=(41.30, 69.25)).order_id == 2
    pickups = [held[0], held[2]]
    assert next_stop(pickups, [], position=(41.3011, 69.2511)).order_id == 3
    assert next_stop(pickups, [], position=(41.3011, 69.2511), skip=[3]).order_id == 1
    assert next_stop([], [{"order_id": 1, "kind": "pickup"}], position=(41.3, 69.2)) is None


def test_a_return_follows_a_planned_pickup_stop():
    stop = next_stop([order(4, "returning"), order(5, "picked_up")],
                     [{"order_id": 4, "kind": "pickup"}], position=(41.31, 69.26))
    assert (stop.order_id, stop.kind) == (4, "return")


@pytest.mark.parametrize("count", [1, 2, 3, 7, 10, 30, 31])
def test_the_fleet_mixes_vehicles_in_their_shares(count):
    vehicles = fleet_vehicles(count)
    assert len(vehicles) == count
    tally = Counter(vehicles)
    if count >= 10:
        assert tally["bicycle"] == round(0.4 * count) or abs(tally["bicycle"] - 0.4 * count) < 1
        assert set(tally) == {"bicycle", "scooter", "car", "foot"}
    assert vehicles == fleet_vehicles(count)
    if count >= 3:
        assert len(set(vehicles[:3])) == 3  # a small prefix is mixed too


def test_members_get_stable_passwords_and_generators():
    assert member_password("admin-pass", "sim-courier-1") == \
        member_password("admin-pass", "sim-courier-1")
    assert member_password("admin-pass", "sim-courier-1") != \
        member_password("other-pass", "sim-courier-1")
    assert len(member_password("x", "y")) >= 12
    assert member_rng(1, "a").random() == member_rng(1, "a").random() != member_rng(2, "a").random()


def test_percentiles_and_latency_reservoir():
    assert percentile([], 50) is None
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50 and percentile(values, 99) == 99
    assert percentile(values, 100) == 100 and percentile([3.0], 99) == 3.0
    latency = Latency(capacity=100)
    for v in range(1000):
        latency.add(v / 1000)
    assert latency.count == 1000 and len(latency.samples) == 100 and latency.max_s == 0.999
    out = latency.to_json()
    assert out["count"] == 1000 and 0 < out["p50_ms"] < out["p99_ms"] <= 999


def test_findings_name_what_an_honest_fleet_should_never_meet():
    summary = Summary()
    summary.http_error("POST /orders", 409)
    assert summary.findings() == []
    summary.http_error("POST /handoffs/scan", 500)
    summary.http_error("GET /offers", "transport")
    summary.points_unacked = 3
    summary.points_rejected["impossible_speed"] += 2
    summary.scans_refused["handoff_track_far"] += 1
    summary.arrivals_refused["arrival_track_far"] += 1
    findings = summary.findings()
    assert "1 x POST /handoffs/scan 500" in findings and "1 x GET /offers transport" in findings
    assert "3 points never acknowledged" in findings
    assert "2 points rejected: impossible_speed" in findings
    assert "1 scans refused: handoff_track_far" in findings
    assert "1 arrivals refused: arrival_track_far" in findings
    summary.offers_received, summary.offers_accepted, summary.offers_expired = 5, 2, 1
    data = summary.to_json()
    assert data["offers"]["unanswered"] == 2
    assert data["http"]["errors"]["POST /orders"] == {"409": 1}
    text = summary.render({"couriers": 3})
    assert "live run: couriers 3" in text and "handoff_track_far" in text


def test_seq_ranges_compress_stored_seqs():
    assert seq_ranges([]) == []
    assert seq_ranges([5, 1, 2, 3, 7, 8, 3]) == [[1, 3], [5, 5], [7, 8]]
