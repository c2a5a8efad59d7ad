"""The agents' choices as pure functions of a seeded `random.Random`: when sellers order,
how couriers answer offers, what their GPS reads, which stop comes next.

Every random draw goes through the generator passed in, so a seed replays the same choices
(the network's timing still differs from run to run).
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from simulations.live.geo import distance_m, offset

__all__ = [
    "OfferPolicy",
    "OfferDecision",
    "decide_offer",
    "PoissonArrivals",
    "GpsReading",
    "GpsSensor",
    "Stop",
    "HELD_STATUSES",
    "stop_due",
    "next_stop",
    "VEHICLE_MIX",
    "VEHICLE_CAPACITY",
    "fleet_vehicles",
]

#: Share of each vehicle in a simulated fleet, and how many parcels each carries.
VEHICLE_MIX: tuple[tuple[str, float], ...] = (
    ("bicycle", 0.4), ("scooter", 0.3), ("car", 0.2), ("foot", 0.1))
VEHICLE_CAPACITY = {"foot": 3, "bicycle": 6, "scooter": 10, "car": 30}


def fleet_vehicles(count: int) -> list[str]:
    """The vehicles of couriers `0..count-1`, in the `VEHICLE_MIX` shares (largest
    remainder), interleaved so that any prefix of the fleet is mixed too."""
    if count <= 0:
        return []
    quotas = {v: share * count for v, share in VEHICLE_MIX}
    counts = {v: int(q) for v, q in quotas.items()}
    for v, _ in sorted(quotas.items(), key=lambda kv: kv[1] - int(kv[1]), reverse=True):
        if sum(counts.values()) >= count:
            break
        counts[v] += 1
    out: list[str] = []
    placed = dict.fromkeys(counts, 0)
    for i in range(count):  # the vehicle furthest behind its share goes next
        vehicle = max(counts, key=lambda v: (counts[v] * (i + 1) / count - placed[v],
                                             counts[v]))
        out.append(vehicle)
        placed[vehicle] += 1
    return out


# --- offers --------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class OfferPolicy:
    """How couriers answer offers: mostly yes, sometimes no, rarely not at all."""

    accept_probability: float = 0.85
    #: Of the offers not accepted, this share goes unanswered (and expires on the service).
    ignore_probability: float = 0.1
    min_delay_s: float = 2.0
    max_delay_s: float = 10.0

    def __post_init__(self) -> None:
        for name in ("accept_probability", "ignore_probability"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must lie in [0, 1]")
        if not 0.0 <= self.min_delay_s <= self.max_delay_s:
            raise ValueError("need 0 <= min_delay_s <= max_delay_s")


@dataclass(frozen=True, slots=True)
class OfferDecision:
    answer: Literal["accept", "decline", "ignore"]
    #: How long the courier takes to answer (for `ignore`, nothing is sent).
    delay_s: float


def decide_offer(policy: OfferPolicy, rng: random.Random) -> OfferDecision:
    """One courier's answer to one offer. Draws exactly three numbers from `rng`."""
    accept, ignore = rng.random(), rng.random()
    delay_s = rng.uniform(policy.min_delay_s, policy.max_delay_s)
    if accept < policy.accept_probability:
        return OfferDecision("accept", delay_s)
    if ignore < policy.ignore_probability:
        return OfferDecision("ignore", delay_s)
    return OfferDecision("decline", delay_s)


# --- orders --------------------------------------------------------------------------------------

class PoissonArrivals:
    """A Poisson process: exponential gaps with mean `3600 / rate_per_hour` seconds."""

    def __init__(self, rate_per_hour: float, rng: random.Random) -> None:
        if rate_per_hour < 0:
            raise ValueError("the rate cannot be negative")
        self.rate_per_s = rate_per_hour / 3600.0
        self.rng = rng

    def next_gap_s(self) -> float:
        """Seconds until the next arrival (infinite at rate 0)."""
        if self.rate_per_s == 0:
            return math.inf
        return self.rng.expovariate(self.rate_per_s)

    def times_within(self, horizon_s: float) -> list[float]:
        """Arrival times in `[0, horizon_s)`."""
        out, t = [], self.next_gap_s()
        while t < horizon_s:
            out.append(t)
            t += self.next_gap_s()
        return out


# --- GPS -----------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class GpsReading:
    lat: float
    lon: float
    acc_m: float
    speed_mps: float
    heading_deg: float | None


@dataclass(frozen=True, slots=True)
class GpsSensor:
    """A phone's GPS outdoors: a reported accuracy of a few metres and an error that mostly
    stays within it (each axis normal with sigma acc/2, the error capped at the accuracy)."""

    min_acc_m: float = 4.0
    max_acc_m: float = 12.0

    def read(self, lat: float, lon: float, *, speed_mps: float, heading_deg: float | None,
             rng: random.Random) -> GpsReading:
        acc_m = rng.uniform(self.min_acc_m, self.max_acc_m)
        east, north = rng.gauss(0.0, acc_m / 2), rng.gauss(0.0, acc_m / 2)
        norm = math.hypot(east, north)
        if norm > acc_m:
            east, north = east * acc_m / norm, north * acc_m / norm
        noisy_lat, noisy_lon = offset(lat, lon, east_m=east, north_m=north)
        speed = max(0.0, speed_mps + (rng.gauss(0.0, 0.3) if speed_mps > 0 else 0.0))
        return GpsReading(noisy_lat, noisy_lon, round(acc_m, 1), round(speed, 2),
                          None if heading_deg is None else round(heading_deg, 1))


# --- the next stop -------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Stop:
    order_id: int
    #: `pickup`, `dropoff`, or `return` (a failed parcel back to its pickup point).
    kind: Literal["pickup", "dropoff", "return"]
    lat: float
    lon: float


#: Order statuses in which the courier holds the order, and the stop each one is due for.
HELD_STATUSES: Mapping[str, Literal["pickup", "dropoff", "return"]] = {
    "assigned": "pickup", "at_pickup": "pickup",
    "picked_up": "dropoff", "at_dropoff": "dropoff",
    "returning": "return",
}


def stop_due(order: Mapping) -> Stop | None:
    """The stop an order held by the courier is waiting for (from its `GET /orders` body)."""
    kind = HELD_STATUSES.get(order.get("status", ""))
    if kind is None:
        return None
    point = order["dropoff"] if kind == "dropoff" else order["pickup"]
    return Stop(int(order["id"]), kind, float(point["lat"]), float(point["lon"]))


def next_stop(held: Iterable[Mapping], planned: Sequence[Mapping], *,
              position: tuple[float, float], skip: Iterable[int] = ()) -> Stop | None:
    """Where to go next: the first stop of the planned route (`GET /couriers/{id}/route`
    stops) that one of the `held` orders is due for; when the plan names none of them (it
    lags a cycle behind an accept), the nearest due stop, parcels on board first."""
    skipped = set(skip)
    due = {s.order_id: s for s in map(stop_due, held) if s is not None
           and s.order_id not in skipped}
    if not due:
        return None
    for planned_stop in planned:
        stop = due.get(int(planned_stop.get("order_id", -1)))
        if stop is not None and (stop.kind == planned_stop.get("kind")
                                 or (stop.kind == "return" and planned_stop.get("kind")
                                     == "pickup")):
            return stop
    on_board = [s for s in due.values() if s.kind != "pickup"]
    candidates = on_board or list(due.values())
    return min(candidates, key=lambda s: (distance_m(*position, s.lat, s.lon), s.order_id))
