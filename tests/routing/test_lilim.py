"""The Li & Lim reader: pairs, fleet, depot horizon, best-knowns."""

from pathlib import Path

import pytest

from routing import lilim

DATA_DIR = Path(__file__).resolve().parents[3] / "shared" / "data" / "lilim100"


def test_tiny_instance_is_read(tiny_lilim_path):
    problem = lilim.read(tiny_lilim_path)
    assert problem.name == "routing_lilim_tiny"
    assert len(problem.vehicles) == 4
    assert len(problem.shipments) == 6
    assert {v.capacity for v in problem.vehicles} == {30}
    assert {v.shift_end_s for v in problem.vehicles} == {400.0}
    first = problem.shipments[0]
    assert (first.id, first.pickup.location, first.delivery.location, first.size) == ("1", 1, 2, 5)
    assert first.pickup.service_s == 5
    d = problem.distances_m["default"]
    assert d[0, 1] == pytest.approx((10**2 + 30**2) ** 0.5)  # unrounded Euclidean
    assert problem.durations_s["default"] is d


def test_best_knowns_are_read(tmp_path):
    path = tmp_path / "bks.csv"
    path.write_text("instance,routes,distance\nlc101,10,828.9369\n")
    assert lilim.read_bks(path) == {"lc101": lilim.BestKnown(10, 828.9369)}


@pytest.mark.skipif(not DATA_DIR.exists(), reason="shared Li & Lim data not present")
def test_the_shared_set_has_56_instances_with_best_knowns():
    paths = lilim.list_instances(DATA_DIR)
    bks = lilim.read_bks(DATA_DIR / "bks.csv")
    assert len(paths) == 56
    assert {p.stem for p in paths} == set(bks)
    problem = lilim.read(DATA_DIR / "lc104.txt")  # speed field 0: ignored
    assert problem.durations_s["default"][0, 1] > 0


@pytest.mark.slow
@pytest.mark.skipif(not DATA_DIR.exists(), reason="shared Li & Lim data not present")
def test_lc101_is_solved_at_best_known_vehicles():
    from routing.solver import solve
    from routing.validator import validate

    problem = lilim.read(DATA_DIR / "lc101.txt")
    report = validate(problem, solve(problem, time_limit_s=3.0, seed=0))
    assert report.feasible, report.violations
    assert report.vehicles_used == 10
    assert report.distance_m == pytest.approx(828.94, rel=0.02)
