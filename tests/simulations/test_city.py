"""A generated city day on the synthetic road network (OSRM), end to end."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from geodata.synth_osm import synthesize_network
from geodata.travel import load_travel_models
from simulations.city.demand import generate_day, rush_profile
from simulations.city.run import CitySettings, city_kpis, run_city
from simulations.cli import main as simulate
from tests.geodata.networks import SYNTH_NAME, SYNTH_SEED, SYNTH_SIZE_KM, TEST_DATA_DIR

BBOX = (69.25, 41.29, 69.31, 41.33)


def test_the_same_seed_gives_the_same_day():
    a = generate_day(bbox=BBOX, couriers=6, orders_per_hour=30, hours=3, seed=4)
    b = generate_day(bbox=BBOX, couriers=6, orders_per_hour=30, hours=3, seed=4)
    c = generate_day(bbox=BBOX, couriers=6, orders_per_hour=30, hours=3, seed=5)
    assert a == b and a != c


def test_demand_follows_the_rush_hour_profile_and_the_fleet_covers_the_day():
    hours = 8.0
    day = generate_day(bbox=BBOX, couriers=40, orders_per_hour=200, hours=hours, seed=1)
    assert 0.85 * 200 * hours < len(day.orders) < 1.15 * 200 * hours
    per_hour = [0] * int(hours)
    for o in day.orders:
        per_hour[int(o.placed_s // 3600)] += 1
        assert o.ready_s - o.placed_s in range(5 * 60, 20 * 60 + 1)
        assert all(BBOX[1] <= p[0] <= BBOX[3] and BBOX[0] <= p[1] <= BBOX[2]
                   for p in (o.pickup, o.dropoff))
    evening = per_hour[5]  # the evening peak sits at two thirds of the day
    assert evening > 1.5 * per_hour[0]
    assert rush_profile(0.67 * hours, hours) > rush_profile(0.25 * hours, hours) > \
        rush_profile(0.0, hours)
    last_order_s = max(o.placed_s for o in day.orders)
    assert any(c.off_s >= last_order_s + 3000 for c in day.couriers)
    assert {c.vehicle for c in day.couriers} == {"foot", "bicycle", "scooter", "car"}


@pytest.fixture(scope="module")
def synth_models():
    network = synthesize_network(name=SYNTH_NAME, data_dir=TEST_DATA_DIR, size_km=SYNTH_SIZE_KM,
                                 seed=SYNTH_SEED).info
    models = load_travel_models(TEST_DATA_DIR / "networks", network.name, strict=True)
    yield models
    models.close()


@pytest.mark.slow
def test_a_city_day_delivers_through_the_service_dispatch_on_real_roads(synth_models):
    settings = CitySettings(couriers=5, orders_per_hour=30, hours=0.5, policy="batch", seed=3,
                            solution_limit=10)
    run = run_city(synth_models, settings)
    log = run.log
    assert len(log.orders) >= 8, len(log.orders)
    assert len(log.dropoff_s) >= 0.8 * len(log.orders)
    for order_id, dropoff_s in log.dropoff_s.items():
        plan = log.orders[order_id]
        assert plan.ready_s <= log.pickup_s[order_id] < dropoff_s
        assert log.assigned_s[order_id] <= log.pickup_s[order_id]
    # Every leg takes the road network's time for the courier's vehicle.
    vehicle = {c.id: c.vehicle for c in run.demand.couriers}
    from geodata.profiles import VEHICLE_PROFILE

    for m in log.moves:
        if m.diverted_s is None:
            expected = run.world.travel_s(VEHICLE_PROFILE[vehicle[m.courier_id]],
                                          m.origin_place, m.destination_place)
            assert m.arrive_s - m.depart_s == pytest.approx(expected)
    kpis = city_kpis(run)
    assert kpis["orders_delivered"] == len(log.dropoff_s)
    assert kpis["offers_accepted"] > 0 and kpis["distance_km"] > 0
    assert 0 < kpis["courier_utilization_mean"] < 1


@pytest.mark.slow
def test_simulate_city_writes_kpis_and_a_report_with_a_map(synth_models, tmp_path):
    out = tmp_path / "out"
    assert simulate(["city", "--network", SYNTH_NAME, "--couriers", "3",
                     "--orders-per-hour", "12", "--hours", "0.5", "--policy", "nearest",
                     "--seed", "2", "--out", str(out), "--quiet"],
                    data_dir=TEST_DATA_DIR) == 0
    kpis = json.loads((out / "nearest" / "kpis.json").read_text())
    for key in ("orders_delivered", "orders_undelivered", "click_to_door_mean_min",
                "click_to_door_p90_min", "ready_to_pickup_mean_min", "courier_utilization_mean",
                "orders_per_bundle_mean", "wall_s", "cpu_s"):
        assert key in kpis, key
    page = (out / "nearest" / "report.html").read_text()
    assert page.count("data:image/png;base64,") == 4 and "OpenStreetMap" in page


def test_an_unknown_network_is_a_clear_error(tmp_path, capsys):
    assert simulate(["city", "--network", "nowhere", "--out", str(tmp_path)],
                    data_dir=Path(tmp_path)) == 2
    assert "road network 'nowhere' is not built" in capsys.readouterr().err
