"""One planning cycle, the same in the service and in the simulator.

    prepare ─> load ─> matrix (per profile) ─> decide (policy) ─> apply (one unit of work) ─> push

The cycle talks to the world through three small ports, so that one loop runs in two worlds:

* a `DispatchStore` — where orders, couriers, offers and routes live: PostgreSQL in the
  service (`dispatch.sql_store`), plain objects in a simulation (`dispatch.memory_store`).
  *Prepare* expires offers past their deadline and takes work back from couriers gone off
  shift; *load* reads a `Snapshot` and each open order's version; *apply* executes the
  decision's effects (`dispatch.effects`) in one unit of work and returns the messages to send;
* a `MatrixSource` — travel times and distances among the snapshot's places (OSRM or straight
  lines in the service, the Grubhub benchmark's planar model in a simulation);
* a `Publish` callback — sends each courier its offers and changed routes after the apply
  (Redis in the service, the simulated couriers' inboxes in a simulation).

The clock is the caller's: `now` is passed in (wall clock in the service, virtual time in a
simulation); `dispatch.cadence` says when the next cycle is due. The summary splits the wall
time and this process's CPU time into the phases (the benchmark reports the same split).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal, Protocol

import numpy as np

from dispatch.planning import (
    Decision,
    PlanningOptions,
    Snapshot,
    outside_zone_orders,
    profiles_needed,
    snapshot_points,
)
from dispatch.policies import Matrices, Policy, make_policy
from dispatch.routes import RouteStop, stop_wire
from dispatch.times import rfc3339, rfc3339_from_s

__all__ = [
    "PlannerConfig",
    "LoadedState",
    "SkippedCourier",
    "AppliedCycle",
    "CycleSummary",
    "DispatchStore",
    "MatrixSource",
    "Publish",
    "compute_matrices",
    "run_cycle",
    "routes_with_etas",
    "route_messages",
    "ETA_PUSH_THRESHOLD_S",
    "ETA_WRITE_THRESHOLD_S",
]

log = logging.getLogger(__name__)

#: `publish(courier_id, message)`: sends one JSON-able message to a courier.
Publish = Callable[[int, dict[str, Any]], Awaitable[None]]
#: A route is pushed again when its first ETA moves by more than this.
ETA_PUSH_THRESHOLD_S = 120.0
#: An order's stored ETA is rewritten only when it moves by more than this (fewer writes).
ETA_WRITE_THRESHOLD_S = 30.0


@dataclass(frozen=True)
class PlannerConfig:
    policy: str = "batch"
    solver_time_s: float = 1.0
    #: Bounds each solver phase by solutions found instead of only by time: with it (and a
    #: time limit that is not reached) a cycle's decision is reproducible.
    solver_solution_limit: int | None = None
    offer_timeout_s: float = 30.0
    auto_accept: bool = False
    reassign_gain: float | None = 0.2
    reassign_every_s: float = 60.0
    cascade_radius_m: float = 3000.0
    cascade_mode: Literal["one_by_one", "broadcast"] = "one_by_one"
    #: One trip at a time (meal-delivery style, `dispatch.trips`): a courier gets new work only
    #: when idle, one pickup place per trip, and only once it must leave within this many
    #: seconds of the plan. None: off (multi-stop routes, work offered as soon as planned).
    one_trip_commit_s: float | None = None
    #: One-trip mode plans only the couriers among this many first to reach each pickup.
    one_trip_candidates: int | None = 6
    seed: int = 0
    options: PlanningOptions = field(default_factory=PlanningOptions)
    #: One-trip mode's memory of its last plan (`dispatch.trips.PlanMemo`), kept across the
    #: cycles that share this config; None: every cycle solves afresh.
    plan_memo: Any = field(default=None, compare=False, repr=False)

    def policy_for(self, name: str, *, allow_reassign: bool) -> Policy:
        """The policy called `name`, wrapped for one-trip dispatch when that mode is on."""
        policy = make_policy(name, options=self.options,
                             reassign_gain=self.reassign_gain if allow_reassign else None,
                             cascade_radius_m=self.cascade_radius_m,
                             cascade_mode=self.cascade_mode,
                             solution_limit=self.solver_solution_limit)
        if self.one_trip_commit_s is None:
            return policy
        from dispatch.trips import OneTripPolicy

        return OneTripPolicy(policy, options=self.options, commit_s=self.one_trip_commit_s,
                             candidates_per_order=self.one_trip_candidates,
                             memo=self.plan_memo)


@dataclass(frozen=True, slots=True)
class SkippedCourier:
    """A courier on shift that a cycle offers nothing new (`dispatch.availability`)."""

    courier_id: int
    reason: str
    last_seen_s: float | None = None
    age_s: float | None = None

    def to_json(self) -> dict[str, Any]:
        return {"courier_id": self.courier_id, "reason": self.reason,
                "last_seen_at": rfc3339_from_s(self.last_seen_s), "age_s": self.age_s}


@dataclass(frozen=True)
class LoadedState:
    snapshot: Snapshot
    now: datetime
    #: order id -> (status, courier_id, updated_at): the apply step re-checks these.
    versions: Mapping[int, Any]
    #: courier id -> the ETAs of its current planned stops (to tell what changed).
    previous_etas: Mapping[int, tuple[datetime | None, ...]]
    auto_accept: bool | None = None
    policy: str | None = None
    #: Couriers on shift given no new work this cycle, and why (the service's store fills it).
    skipped_couriers: tuple[SkippedCourier, ...] = ()


@dataclass
class AppliedCycle:
    """What the apply step did, and the messages to send once it is committed."""

    offers: list[dict[str, Any]] = field(default_factory=list)
    assigned: int = 0
    reassigned: int = 0
    unservable: dict[int, str] = field(default_factory=dict)
    skipped_changed: list[int] = field(default_factory=list)
    routes_pushed: int = 0
    messages: list[tuple[int, dict[str, Any]]] = field(default_factory=list)


class DispatchStore(Protocol):
    async def prepare(self, *, now: datetime, fence_epoch: int | None
                      ) -> tuple[int, list[int]]:
        """Expires due offers and releases work of couriers gone off shift, committed at once;
        returns how many offers expired and the released order ids."""
        ...

    async def load(self, *, now: datetime) -> LoadedState:
        ...

    async def apply(self, *, loaded: LoadedState, decision: Decision, policy: str,
                    auto_accept: bool, offer_timeout_s: float,
                    fence_epoch: int | None) -> AppliedCycle:
        """Executes `dispatch.effects.resolve_effects` of the decision in one unit of work."""
        ...

    async def next_expiry(self) -> datetime | None:
        """When the next pending offer runs out."""
        ...


class MatrixSource(Protocol):
    def matrix(self, profile: str, points: Sequence[tuple[float, float]]
               ) -> tuple[np.ndarray, np.ndarray]:
        """`(durations_s, distances_m)` among `points` for a travel profile (NaN: no path)."""
        ...


@dataclass
class CycleSummary:
    policy: str
    couriers: int = 0
    open_orders: int = 0
    offers: list[dict[str, Any]] = field(default_factory=list)
    assigned: int = 0
    reassigned: int = 0
    unservable: dict[int, str] = field(default_factory=dict)
    expired_offers: int = 0
    #: Orders taken back from couriers who went off shift.
    released_off_shift: list[int] = field(default_factory=list)
    #: Couriers on shift offered nothing new, and why (offline, on a break, never located).
    skipped_couriers: list[SkippedCourier] = field(default_factory=list)
    skipped_changed: list[int] = field(default_factory=list)
    routes_pushed: int = 0
    timings_s: dict[str, float] = field(default_factory=dict)
    #: CPU seconds of this process per phase (wall time minus waiting for a busy machine).
    cpu_s: dict[str, float] = field(default_factory=dict)
    leader_epoch: int | None = None
    started_at: datetime | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "policy": self.policy, "couriers": self.couriers, "open_orders": self.open_orders,
            "offers": self.offers, "offers_made": len(self.offers), "assigned": self.assigned,
            "reassigned": self.reassigned,
            "unservable": [{"order_id": k, "reason": v} for k, v in self.unservable.items()],
            "expired_offers": self.expired_offers, "skipped_changed": self.skipped_changed,
            "released_off_shift": self.released_off_shift,
            "skipped_couriers": [c.to_json() for c in self.skipped_couriers],
            "routes_pushed": self.routes_pushed, "timings_s": self.timings_s,
            "cpu_s": self.cpu_s,
            "leader_epoch": self.leader_epoch,
            "started_at": rfc3339(self.started_at),
        }


def compute_matrices(snapshot: Snapshot, travel: MatrixSource,
                     options: PlanningOptions) -> Matrices:
    points = snapshot_points(snapshot)
    if not points:
        return {}
    return {profile: travel.matrix(profile, points)
            for profile in profiles_needed(snapshot, options)}


async def run_cycle(
    *,
    store: DispatchStore,
    travel: MatrixSource,
    config: PlannerConfig,
    now: datetime,
    fence_epoch: int | None = None,
    publish: Publish | None = None,
    policy: str | None = None,
    allow_reassign: bool = True,
    offload: bool = True,
) -> CycleSummary:
    """Runs one cycle end to end (the caller serialises cycles). With `allow_reassign` off,
    accepted orders stay where they are whatever a re-plan would gain. With `offload` the
    matrix and solve phases run in a worker thread, so an event loop keeps serving requests
    (the service); a simulation runs them inline."""
    started, cpu = time.perf_counter(), [time.process_time()]
    expired, released = await store.prepare(now=now, fence_epoch=fence_epoch)
    loaded = await store.load(now=now)
    policy_name = policy or loaded.policy or config.policy
    auto_accept = config.auto_accept if loaded.auto_accept is None else loaded.auto_accept
    snapshot = loaded.snapshot
    summary = CycleSummary(policy_name, len(snapshot.couriers), len(snapshot.orders),
                           expired_offers=expired, released_off_shift=released,
                           skipped_couriers=list(loaded.skipped_couriers),
                           leader_epoch=fence_epoch, started_at=now)
    t_load = time.perf_counter()
    cpu.append(time.process_time())

    async def inline_or_thread(fn, *args, **kwargs):
        if offload:
            return await asyncio.to_thread(fn, *args, **kwargs)
        return fn(*args, **kwargs)

    matrices = await inline_or_thread(compute_matrices, snapshot, travel, config.options)
    t_matrix = time.perf_counter()
    cpu.append(time.process_time())

    decider = config.policy_for(policy_name, allow_reassign=allow_reassign)
    if snapshot.couriers and snapshot.orders:
        decision = await inline_or_thread(decider.decide, snapshot, matrices,
                                          time_limit_s=config.solver_time_s, seed=config.seed)
    else:
        decision = Decision()
        decision.unservable.update(outside_zone_orders(snapshot))
    t_solve = time.perf_counter()
    cpu.append(time.process_time())

    applied = await store.apply(loaded=loaded, decision=decision, policy=policy_name,
                                auto_accept=auto_accept, offer_timeout_s=config.offer_timeout_s,
                                fence_epoch=fence_epoch)
    summary.offers, summary.assigned = applied.offers, applied.assigned
    summary.reassigned, summary.unservable = applied.reassigned, applied.unservable
    summary.skipped_changed, summary.routes_pushed = applied.skipped_changed, applied.routes_pushed
    t_apply = time.perf_counter()
    cpu.append(time.process_time())
    if publish is not None:
        for courier_id, message in applied.messages:
            try:
                await publish(courier_id, message)
            except Exception:  # pushes are best effort; GET /offers and the route stay right
                log.warning("could not push a %s message to courier %s", message.get("type"),
                            courier_id, exc_info=True)
    summary.timings_s = {
        "load": round(t_load - started, 4), "matrix": round(t_matrix - t_load, 4),
        "solve": round(t_solve - t_matrix, 4), "apply": round(t_apply - t_solve, 4),
        "total": round(time.perf_counter() - started, 4),
    }
    summary.cpu_s = {phase: round(cpu[i + 1] - cpu[i], 4)
                     for i, phase in enumerate(("load", "matrix", "solve", "apply"))}
    summary.cpu_s["total"] = round(cpu[-1] - cpu[0], 4)
    return summary


def routes_with_etas(routes: Mapping[int, Sequence[Any]], *, now: datetime
                     ) -> dict[int, list[RouteStop]]:
    """Planned stops (`PlannedStopOut`, ETAs relative to `now`) as stored route stops."""
    return {courier_id: [RouteStop(s.order_id, s.kind, s.lat, s.lon,
                                   now + timedelta(seconds=s.eta_s)) for s in stops]
            for courier_id, stops in routes.items()}


def route_messages(loaded: LoadedState, routes: Mapping[int, list[RouteStop]]
                   ) -> list[tuple[int, dict[str, Any]]]:
    """A `route` message for each courier whose stops changed, or whose next ETA moved by more
    than `ETA_PUSH_THRESHOLD_S` (every courier of the snapshot gets its route replaced)."""
    messages = []
    for courier in loaded.snapshot.couriers:
        route = routes.get(courier.id, [])
        if _route_changed(loaded, courier.id, route):
            messages.append((courier.id, {"type": "route", "courier_id": courier.id,
                                          "stops": [stop_wire(s) for s in route]}))
    return messages


def _route_changed(loaded: LoadedState, courier_id: int, route: list[RouteStop]) -> bool:
    before = loaded.snapshot.previous_routes.get(courier_id, ())
    if tuple((s.order_id, s.kind) for s in route) != tuple(before):
        return True
    if not route:
        return False
    old_eta = (loaded.previous_etas.get(courier_id) or (None,))[0]
    new_eta = route[0].eta
    if old_eta is None or new_eta is None:
        return old_eta is not new_eta
    return abs((new_eta - old_eta).total_seconds()) > ETA_PUSH_THRESHOLD_S
