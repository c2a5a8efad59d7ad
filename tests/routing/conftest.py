"""Fixtures for the routing tests: tiny named problems, no database."""

from pathlib import Path

import pytest
from routing_cases import DATA, make_problem

from routing.problem import OnboardParcel, Problem, Shipment, Stop, Vehicle


@pytest.fixture(scope="session", autouse=True)
def compiled_route_minimisation() -> None:
    """Compile (or load) the numba route-minimisation code before any test's clock starts:
    on a cold cache that takes ~12 s, which would otherwise land inside some solve's budget."""
    from routing.solver import warm_up

    warm_up()


@pytest.fixture
def tiny_lilim_path() -> Path:
    return DATA / "routing_lilim_tiny.txt"


@pytest.fixture
def two_couriers_problem() -> Problem:
    """Two couriers at opposite ends of the line, four orders, one parcel already on board."""
    shipments = [
        Shipment("near_a", Stop(1), Stop(2)),
        Shipment("near_b", Stop(9), Stop(8)),
        Shipment("middle", Stop(4), Stop(6), size=2),
        Shipment("long", Stop(3), Stop(7)),
    ]
    vehicles = [
        Vehicle("a", start_location=0, capacity=5),
        Vehicle("b", start_location=10, capacity=5),
    ]
    onboard = [OnboardParcel("carried_by_b", vehicle=1, delivery=Stop(1))]
    return make_problem(shipments, vehicles=vehicles, onboard=onboard)
