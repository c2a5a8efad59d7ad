"""Malformed problems are refused early, with a ProblemError."""

import numpy as np
import pytest
from routing_cases import make_problem

from routing.errors import ProblemError
from routing.problem import OnboardParcel, Problem, Shipment, Stop, Vehicle


def test_duplicate_ids():
    with pytest.raises(ProblemError, match="unique"):
        make_problem([Shipment("x", Stop(1), Stop(2)), Shipment("x", Stop(3), Stop(4))])


def test_location_out_of_range():
    with pytest.raises(ProblemError, match="out of range"):
        make_problem([Shipment("x", Stop(1), Stop(99))])


def test_unknown_profile():
    with pytest.raises(ProblemError, match="profile"):
        make_problem([], vehicles=[Vehicle("a", 0, 5, profile="boat")])


def test_matrices_must_agree():
    with pytest.raises(ProblemError):
        Problem(
            vehicles=(Vehicle("a", 0, 5),),
            shipments=(),
            durations_s={"default": np.zeros((3, 3))},
            distances_m={"default": np.zeros((4, 4))},
        )


def test_onboard_over_capacity():
    with pytest.raises(ProblemError, match="capacity"):
        make_problem([], onboard=[OnboardParcel("p", 0, Stop(1), size=11)])
