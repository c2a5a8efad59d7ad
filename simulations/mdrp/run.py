"""One Grubhub instance as an online day, through the service's dispatch code.

How the instance's rules map onto the service (the README's "Simulations" section says the
same for users):

* **Online.** Orders appear at their placement time, couriers come on and go off duty at their
  times; the planner sees only what has happened.
* **One trip at a time** (`dispatch.trips.OneTripPolicy` around the chosen policy): a courier
  gets an assignment only when idle, for one restaurant's bundle, and is never diverted; the
  planner looks ahead by planning pending orders on busy couriers from where and when their
  trip ends, and commits a trip once its courier would have to leave within a minute.
* **Couriers follow every instruction** (the fleet's auto-accept); they act on whole minutes.
* **Timing.** Travel = ceil(euclidean metres / meters_per_minute) minutes; a pickup happens at
  max(arrival + half the pickup service, the bundle's latest ready time) and the courier leaves
  half a service later; a drop-off happens half a service after arrival. The planner knows this
  exactly (`simulations.mdrp.travel`).
* **Off-time.** No pickup after a courier's off-time (the routing model's last-pickup time,
  a minute early because couriers act on whole minutes: one told during a minute sets off at
  the next); deliveries may finish later.
* **The one update allowed:** orders of the same restaurant may join a courier's bundle while
  it waits there (the planner decides, the courier collects them with the rest).
* **Objective.** Every drop-off is a promise due at the order's placement, priced per second
  late: the planner minimises total click-to-door time, then distance.

What changes from the service's defaults: the one-trip mode (the service offers multi-stop
routes to couriers on their way), auto-accept, no reassignment of accepted work, and the
objective above (the service keeps hard windows). The cadence and every rule of offers and
order states are the service's.
"""

from __future__ import annotations

from dataclasses import dataclass

from dispatch.cadence import Cadence
from dispatch.cycle import PlannerConfig
from dispatch.planning import PlanningOptions
from dispatch.trips import PlanMemo
from simulations.day import CourierPlan, DayConfig, DayLog, HandoffTimes, OrderPlan, simulate_day
from simulations.mdrp.instance import Instance
from simulations.mdrp.travel import PlanarMatrices, PlanarWorld

__all__ = ["MdrpRun", "MdrpSettings", "run_instance", "POLICIES"]

POLICIES = ("batch", "nearest", "cascade")
#: Bundles are unlimited in the instances.
CAPACITY = 1000
VEHICLE = "car"
#: Couriers act on whole minutes (the instances' clock).
STEP_S = 60.0


@dataclass(frozen=True)
class MdrpSettings:
    """The knobs of the MDRP mode; the defaults are what the benchmark figures use."""

    #: Commit a courier's next trip once it must leave within this many seconds.
    commit_s: float = 60.0
    #: Solver budget per cycle, and the solution limit that makes decisions reproducible.
    solver_time_s: float = 1.0
    solution_limit: int | None = 30
    #: Lateness weight per second, against 1 per metre driven (chosen by measurement: 10
    #: beat 5, 20, 30 and 100 on four o50/r50 instances; 100 lets couriers drive far).
    per_late_s: float = 10.0
    cascade_radius_m: float = 3000.0
    cadence: Cadence = Cadence()


@dataclass
class MdrpRun:
    instance: Instance
    policy: str
    seed: int
    log: DayLog
    #: Our integer ids <-> the instance's ids.
    order_ids: dict[int, str]
    courier_ids: dict[int, str]


def run_instance(instance: Instance, policy: str, *, seed: int = 0,
                 settings: MdrpSettings | None = None, progress=None) -> MdrpRun:
    """Simulates the instance's day with `policy` (one of `POLICIES`)."""
    if policy not in POLICIES:
        raise ValueError(f"unknown policy {policy!r}; expected one of {POLICIES}")
    settings = settings or MdrpSettings()
    p = instance.parameters
    half_pickup_s = 30.0 * p.pickup_service_min
    half_dropoff_s = 30.0 * p.dropoff_service_min
    world = PlanarWorld(p.meters_per_minute)
    restaurants = {rid: world.add(r.x, r.y) for rid, r in instance.restaurants.items()}
    order_ids, courier_ids = {}, {}
    orders = []
    for number, o in enumerate(instance.orders, start=1):
        order_ids[number] = o.id
        placed_s, ready_s = 60.0 * o.placement_min, 60.0 * o.ready_min
        orders.append(OrderPlan(
            number, restaurants[o.restaurant], world.add(o.x, o.y), placed_s, ready_s,
            pickup_window_s=(ready_s - half_pickup_s, None),
            dropoff_window_s=(None, placed_s)))
    couriers = []
    for number, c in enumerate(instance.couriers, start=1):
        courier_ids[number] = c.id
        couriers.append(CourierPlan(
            number, VEHICLE, CAPACITY, world.add(c.x, c.y), 60.0 * c.on_min, 60.0 * c.off_min,
            # the last pickup the planner may schedule: the off-time, less the half service,
            # less two whole-minute steps, because execution on whole minutes can put a pickup
            # later than planned (with one step, 4 of 123 simulated days picked up one minute
            # after a courier's off-time; the checker caught them)
            last_pickup_s=60.0 * c.off_min - half_pickup_s - 2 * STEP_S, route_ends_by_off=False))
    options = PlanningOptions(pickup_service_s=0.0, dropoff_service_s=2 * half_dropoff_s,
                              per_late_s=settings.per_late_s, soft_dropoff_windows=True,
                              vehicle_profile={VEHICLE: VEHICLE})
    planner = PlannerConfig(policy=policy, solver_time_s=settings.solver_time_s,
                            plan_memo=PlanMemo(),
                            solver_solution_limit=settings.solution_limit,
                            auto_accept=True, reassign_gain=None,
                            cascade_radius_m=settings.cascade_radius_m,
                            one_trip_commit_s=settings.commit_s, seed=seed, options=options)
    config = DayConfig(
        planner=planner, cadence=settings.cadence,
        handoff=HandoffTimes(half_pickup_s, half_pickup_s, half_dropoff_s, half_dropoff_s),
        diversion=False, auto_accept=True, seed=seed, time_step_s=STEP_S)
    travel = PlanarMatrices(world, pickup_places=set(restaurants.values()),
                            pickup_service_s=2 * half_pickup_s)
    log = simulate_day(orders, couriers, world=world, travel=travel, config=config,
                       progress=progress)
    return MdrpRun(instance, policy, seed, log, order_ids, courier_ids)
