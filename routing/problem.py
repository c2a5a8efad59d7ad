"""The routing problem as plain data.

A problem is a value, in the spirit of PyVRP's ``ProblemData``: vehicles, shipments, parcels
already on board, travel matrices per vehicle profile and objective weights. Nothing here knows
OR-Tools, so the dispatch engine can build problems from live state, tests can build them by hand,
and peers' solvers can be fed the same data.

Locations are indices into the travel matrices. Each vehicle names a profile (``"car"``,
``"bicycle"``, ...) and travels on that profile's matrices, so couriers on foot and in cars share
one problem. Times are seconds on one clock (for live dispatch: Unix seconds or seconds since the
start of the planning horizon); the solver turns them into integer ticks of ``1 / ticks_per_s``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from routing.errors import ProblemError

__all__ = [
    "OnboardParcel",
    "Problem",
    "Shipment",
    "Stop",
    "Vehicle",
    "Weights",
]


@dataclass(frozen=True, slots=True)
class Stop:
    """A place to be at, within a window, for a while.

    ``latest_s`` bounds the start of service. With ``soft_latest`` the bound may be broken at a
    cost of ``Weights.per_late_s`` per second late (a promised delivery time); otherwise it is hard
    (a shop that closes).
    """

    location: int
    earliest_s: float = 0.0
    latest_s: float = math.inf
    service_s: float = 0.0
    soft_latest: bool = False


@dataclass(frozen=True, slots=True)
class Shipment:
    """One order: picked up at ``pickup``, carried by one vehicle, dropped at ``delivery``.

    ``required`` shipments must be served; a plan that leaves one out reports it unassigned with a
    reason (the solver never fails on an impossible order, it says why). Optional shipments cost
    ``Weights.per_unassigned * (1 + priority)`` when left out, so higher priority is served first.

    ``assigned_vehicle`` is the index of the vehicle whose courier already accepted the order:
    the order stays with that vehicle unless ``reassignable`` is set, in which case it is only a
    hint for the first solution.
    """

    id: str
    pickup: Stop
    delivery: Stop
    size: int = 1
    priority: int = 0
    required: bool = True
    assigned_vehicle: int | None = None
    reassignable: bool = False

    @property
    def pinned_vehicle(self) -> int | None:
        """The vehicle this shipment must stay on, if any."""
        return None if self.reassignable else self.assigned_vehicle


@dataclass(frozen=True, slots=True)
class OnboardParcel:
    """A parcel already in a vehicle: only its delivery is left, and only that vehicle can do it."""

    id: str
    vehicle: int
    delivery: Stop
    size: int = 1


@dataclass(frozen=True, slots=True)
class Vehicle:
    """A courier and their vehicle, from where and when they are free next.

    ``end_location`` is where the route must finish (a depot or home); ``None`` leaves the route
    open, ending at its last stop. ``shift_end_s`` bounds the arrival at the end (at the last stop
    for an open route). ``last_pickup_s`` bounds the start of every pickup: a courier who may
    finish deliveries after going off duty but may not collect anything new (meal delivery
    platforms work this way).
    """

    id: str
    start_location: int
    capacity: int
    start_s: float = 0.0
    shift_end_s: float = math.inf
    end_location: int | None = None
    profile: str = "default"
    last_pickup_s: float = math.inf


@dataclass(frozen=True, slots=True)
class Weights:
    """Objective weights, all in the same money-like unit.

    The defaults rank plans the way couriers are paid: distance, then lateness. Benchmarks that
    rank by fleet size first (Li & Lim) set ``per_vehicle`` far above any route length.
    """

    per_vehicle: float = 0.0
    per_m: float = 1.0
    per_travel_s: float = 0.0
    per_late_s: float = 1.0
    per_unassigned: float = 1e6


@dataclass(frozen=True)
class Problem:
    """Everything the solver and the validator need, and nothing about how to solve it.

    ``durations_s[profile]`` and ``distances_m[profile]`` are square matrices over the same
    locations, one pair per vehicle profile. ``ticks_per_s`` is the resolution of the solver's
    integer clock: 1 is right for road travel times in seconds; the Li & Lim reader uses 1000
    because its travel times are unrounded Euclidean distances.
    """

    vehicles: tuple[Vehicle, ...]
    shipments: tuple[Shipment, ...]
    durations_s: Mapping[str, np.ndarray]
    distances_m: Mapping[str, np.ndarray]
    onboard: tuple[OnboardParcel, ...] = ()
    weights: Weights = field(default_factory=Weights)
    ticks_per_s: int = 1
    name: str = ""

    def __post_init__(self) -> None:
        self.check()

    @property
    def num_locations(self) -> int:
        return int(next(iter(self.durations_s.values())).shape[0])

    def initial_load(self, vehicle: int) -> int:
        """What the vehicle carries at its start: the sizes of the parcels already on board."""
        return self._initial_loads[vehicle]

    @cached_property
    def _initial_loads(self) -> tuple[int, ...]:
        # Asked for once per vehicle by the solver, the scheduler and the validator: summing
        # the on-board parcels each time made that quadratic (50 ms on 150 couriers).
        loads = [0] * len(self.vehicles)
        for p in self.onboard:
            if 0 <= p.vehicle < len(loads):
                loads[p.vehicle] += p.size
        return tuple(loads)

    def check(self) -> None:
        """Reject data the solver cannot make sense of (not merely infeasible data)."""
        if not self.durations_s:
            raise ProblemError("no travel matrices")
        n = next(iter(self.durations_s.values())).shape[0]
        named = (("durations_s", self.durations_s), ("distances_m", self.distances_m))
        for name, matrices in named:
            for profile, m in matrices.items():
                if m.ndim != 2 or m.shape[0] != m.shape[1]:
                    raise ProblemError(f"{name}[{profile!r}] is not a square matrix")
                if m.shape[0] != n:
                    raise ProblemError(f"{name}[{profile!r}] has {m.shape[0]} locations, not {n}")
        ids = [s.id for s in self.shipments] + [p.id for p in self.onboard]
        if len(set(ids)) != len(ids):
            raise ProblemError("shipment and parcel ids must be unique")
        for k, v in enumerate(self.vehicles):
            if v.profile not in self.durations_s or v.profile not in self.distances_m:
                raise ProblemError(f"vehicle {v.id!r}: no matrices for profile {v.profile!r}")
            for loc in (v.start_location, v.end_location):
                if loc is not None and not 0 <= loc < n:
                    raise ProblemError(f"vehicle {v.id!r}: location {loc} out of range")
            if self.initial_load(k) > v.capacity:
                raise ProblemError(f"vehicle {v.id!r} carries more than its capacity")
        for s in self.shipments:
            for stop in (s.pickup, s.delivery):
                if not 0 <= stop.location < n:
                    raise ProblemError(f"shipment {s.id!r}: location {stop.location} out of range")
            if s.size < 0:
                raise ProblemError(f"shipment {s.id!r}: negative size")
            if s.assigned_vehicle is not None and not 0 <= s.assigned_vehicle < len(self.vehicles):
                raise ProblemError(f"shipment {s.id!r}: no vehicle {s.assigned_vehicle}")
        for p in self.onboard:
            if not 0 <= p.vehicle < len(self.vehicles):
                raise ProblemError(f"parcel {p.id!r}: no vehicle {p.vehicle}")
            if not 0 <= p.delivery.location < n:
                raise ProblemError(f"parcel {p.id!r}: location out of range")
