"""A generated marketplace day: sellers' pickup places, buyers, orders over a rush-hour profile,
a mixed fleet in shifts, and how couriers answer offers. Pure: one seeded generator, plain
values out, so the same seed gives the same day.

* **Pickup places**: `places` sellers' shops and warehouses, drawn towards the centre of the
  service area (half of them within its middle third).
* **Orders**: a non-homogeneous Poisson process at `orders_per_hour` on average, shaped by a
  lunch peak and a larger evening peak (`rush_profile`); each order from a random pickup place
  to a buyer anywhere in the area; ready 5–20 minutes after it is placed; promised within
  `promise_min`; size 1 (70 %), 2 (20 %) or 3 (10 %).
* **Fleet**: foot 15 %, bicycle 35 %, scooter 30 %, car 20 %, capacities as the demo's; shifts
  of 4–8 hours, half of the fleet from the start, the rest staggered so the evening is covered;
  every shift that would end in the day's last hour runs one hour past the last order instead,
  so the day's last orders have someone to deliver them.
* **Behaviour** (`AnswerOffers`): a courier accepts with probability `accept_p`, declines
  otherwise, answers after 5–30 seconds, and now and then (`ignore_p`) lets the offer expire.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from simulations.day import CourierPlan, OrderPlan, Place

__all__ = ["CityDemand", "generate_day", "rush_profile", "AnswerOffers", "VEHICLE_MIX",
           "CAPACITY"]

VEHICLE_MIX = (("foot", 0.15), ("bicycle", 0.35), ("scooter", 0.30), ("car", 0.20))
CAPACITY = {"foot": 2, "bicycle": 6, "scooter": 10, "car": 30}


@dataclass(frozen=True)
class CityDemand:
    places: tuple[Place, ...]
    orders: tuple[OrderPlan, ...]
    couriers: tuple[CourierPlan, ...]


def rush_profile(hour: float, hours: float) -> float:
    """Relative order rate at `hour` of a day of `hours` (mean about 1 over the day): a lunch
    peak a quarter into the day and a larger evening peak at two thirds."""
    lunch = 0.9 * math.exp(-(((hour - 0.25 * hours) / (0.06 * hours + 0.3)) ** 2))
    evening = 1.4 * math.exp(-(((hour - 0.67 * hours) / (0.08 * hours + 0.3)) ** 2))
    return 0.55 + lunch + evening


def _mean_profile(hours: float) -> float:
    steps = 400
    return sum(rush_profile(hours * (i + 0.5) / steps, hours) for i in range(steps)) / steps


def generate_day(*, bbox: tuple[float, float, float, float], couriers: int,
                 orders_per_hour: float, hours: float, seed: int,
                 snap: Callable[[Place], Place] = lambda p: p, places: int | None = None,
                 promise_min: float = 60.0) -> CityDemand:
    """The day's demand and fleet inside `bbox` = (min_lon, min_lat, max_lon, max_lat); `snap`
    puts a drawn point on the road network (and must be deterministic)."""
    if couriers < 1 or orders_per_hour <= 0 or hours <= 0:
        raise ValueError("couriers, orders per hour and hours must be positive")
    rng = random.Random(seed)
    min_lon, min_lat, max_lon, max_lat = bbox

    def anywhere(margin: float = 0.05) -> Place:
        lat = rng.uniform(min_lat + margin * (max_lat - min_lat),
                          max_lat - margin * (max_lat - min_lat))
        lon = rng.uniform(min_lon + margin * (max_lon - min_lon),
                          max_lon - margin * (max_lon - min_lon))
        return snap((lat, lon))

    n_places = places or max(4, min(40, couriers // 2))
    shops = tuple(anywhere(1 / 3) if i % 2 == 0 else anywhere() for i in range(n_places))

    mean = _mean_profile(hours)
    peak = max(rush_profile(hours * i / 200, hours) for i in range(201)) / mean
    rate_max_per_s = orders_per_hour * peak / 3600.0
    plans: list[OrderPlan] = []
    t = 0.0
    while True:
        t += rng.expovariate(rate_max_per_s)
        if t >= hours * 3600:
            break
        if rng.random() > rush_profile(t / 3600, hours) / mean / peak:
            continue  # thinning: the rate follows the profile
        placed = round(t)
        ready = placed + rng.randint(5, 20) * 60
        size = rng.choices((1, 2, 3), weights=(70, 20, 10))[0]
        plans.append(OrderPlan(
            len(plans) + 1, rng.choice(shops), anywhere(), float(placed), float(ready), size,
            pickup_window_s=(float(ready), None),
            dropoff_window_s=(None, placed + promise_min * 60.0)))

    fleet: list[CourierPlan] = []
    vehicles = [v for v, _ in VEHICLE_MIX]
    weights = [w for _, w in VEHICLE_MIX]
    for k in range(couriers):
        vehicle = rng.choices(vehicles, weights=weights)[0]
        length_s = rng.uniform(4, 8) * 3600
        start_s = 0.0 if k < (couriers + 1) // 2 else rng.uniform(0, max(0.0, hours * 3600
                                                                            - length_s))
        off_s = start_s + length_s
        if off_s > (hours - 1) * 3600:
            off_s = (hours + 1) * 3600
        fleet.append(CourierPlan(k + 1, vehicle, CAPACITY[vehicle], anywhere(), start_s, off_s))
    return CityDemand(shops, tuple(plans), tuple(fleet))


@dataclass(frozen=True)
class AnswerOffers:
    """How simulated couriers answer offers (a `simulations.day.CourierBehaviour`)."""

    accept_p: float = 0.85
    ignore_p: float = 0.03
    min_delay_s: float = 5.0
    max_delay_s: float = 30.0

    def answer(self, courier_id: int, offer: dict[str, Any], rng: random.Random
               ) -> tuple[Literal["accept", "decline", "ignore"], float]:
        draw = rng.random()
        delay_s = rng.uniform(self.min_delay_s, self.max_delay_s)
        if draw < self.ignore_p:
            return "ignore", 0.0
        return ("accept" if draw < self.ignore_p + self.accept_p else "decline"), delay_s
