"""The Li & Lim reader: pairs, fleet, depot horizon, best-knowns."""


import pytest
from routing_cases import shared_lilim

from routing import lilim


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


def test_the_shared_set_has_56_instances_with_best_knowns():
    paths = lilim.list_instances(shared_lilim())
    bks = lilim.read_bks(shared_lilim("bks.csv"))
    assert len(paths) == 56
    assert {p.stem for p in paths} == set(bks)
    problem = lilim.read(shared_lilim("lc104.txt"))  # speed field 0: ignored
    assert problem.durations_s["default"][0, 1] > 0


@pytest.mark.slow
def test_lc101_is_solved_at_best_known_vehicles():
    from routing.solver import solve
    from routing.validator import validate

    problem = lilim.read(shared_lilim("lc101.txt"))
    # Bounded by solutions found (the time limit is a backstop), not by a 3 s budget.
    report = validate(problem, solve(problem, time_limit_s=300, seed=0, solution_limit=10))
    assert report.feasible, report.violations
    assert report.vehicles_used == 10
    assert report.distance_m == pytest.approx(828.94, rel=0.02)
