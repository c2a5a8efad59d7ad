"""Tiny hand-made problems for the routing tests (no database, no network)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from routing.problem import OnboardParcel, Problem, Shipment, Vehicle, Weights

DATA = Path(__file__).resolve().parents[1] / "data"
SHARED_DATA = Path(os.environ.get("COURIER_SHARED_DATA",
                                  Path(__file__).resolve().parents[3] / "shared" / "data"))
LILIM_DIR = SHARED_DATA / "lilim100"


def shared_lilim(name: str | None = None) -> Path:
    """A Li & Lim instance of the shared data (the folder without `name`). A missing one fails
    the test, as a missing OSM extract does: the strongest solver tests never skip silently."""
    path = LILIM_DIR if name is None else LILIM_DIR / name
    if not path.exists():
        pytest.fail(f"Li & Lim data missing: {path} (expected ../shared/data beside the repo)")
    return path


def line_matrix(positions: list[float]) -> np.ndarray:
    """Travel on a straight road: |x_i - x_j| seconds (and metres)."""
    x = np.asarray(positions, dtype=float)
    return np.abs(x[:, None] - x[None, :])


def make_problem(
    shipments: list[Shipment],
    *,
    vehicles: list[Vehicle] | None = None,
    onboard: list[OnboardParcel] | None = None,
    positions: list[float] | None = None,
    weights: Weights | None = None,
) -> Problem:
    """A problem on a line of locations 0..10 (location i at x = 10 * i) unless told otherwise."""
    positions = positions if positions is not None else [10.0 * i for i in range(11)]
    m = line_matrix(positions)
    vehicles = vehicles or [Vehicle("a", start_location=0, end_location=0, capacity=10)]
    return Problem(
        vehicles=tuple(vehicles),
        shipments=tuple(shipments),
        onboard=tuple(onboard or ()),
        durations_s={"default": m},
        distances_m={"default": m},
        weights=weights or Weights(),
    )
