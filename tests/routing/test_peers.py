"""The peers' adapters give plans our validator accepts, on the same tiny instance."""

import pytest

from routing import lilim
from routing.errors import ProblemError
from routing.peers import solve_pyvrp, solve_vroom
from routing.validator import validate


def test_vroom_plan_is_valid(tiny_lilim_path):
    pytest.importorskip("vroom")
    problem = lilim.read(tiny_lilim_path)
    report = validate(problem, solve_vroom(problem))
    assert report.feasible, report.violations
    assert report.vehicles_used == 2


def test_pyvrp_plan_is_valid(tiny_lilim_path):
    pytest.importorskip("pyvrp")
    problem = lilim.read(tiny_lilim_path)
    report = validate(problem, solve_pyvrp(problem, max_iterations=200, seed=1))
    assert report.feasible, report.violations
    assert report.vehicles_used == 2


def test_peers_refuse_what_they_cannot_model(two_couriers_problem):
    assert two_couriers_problem.onboard
    with pytest.raises(ProblemError):
        solve_vroom(two_couriers_problem)
