"""One planning cycle: expire offers, load state, matrices, decide, apply atomically, notify.

    expire ─> load ─> matrix (per profile) ─> solve (policy) ─> apply (one transaction) ─> push

* **Load** reads a `Snapshot` and each open order's version (status, courier, updated_at).
* **Matrix** asks the travel models for one many-to-many matrix per vehicle profile over the
  snapshot's distinct places; **solve** runs the policy. Both are CPU work and run in a thread
  so the event loop keeps serving requests.
* **Apply** is one unit of work: it checks the fencing epoch, locks every order it touches,
  skips the ones that changed since the load (a courier declined, a seller cancelled), then
  writes offers, reassignments, stop sequences with ETAs, flags and order events. Any failure
  rolls all of it back.
* **Push** happens after the commit only: offers and changed routes are published to each
  courier's Redis channel through the `publish` callback.

The summary splits the wall time into load, matrix, solve and apply (the benchmark reports
the same split).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, Protocol

import numpy as np
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dispatch.dispatch_models import DispatchOffer
from dispatch.leader import check_fence
from dispatch.lifecycle import Action, OrderStatus
from dispatch.models import Order
from dispatch.offers import create_offer, expire_due_offers, offer_orders, release_off_shift
from dispatch.orders import apply_action
from dispatch.planning import Decision, PlanningOptions, profiles_needed, snapshot_points
from dispatch.policies import Matrices, make_policy
from dispatch.route_store import RouteStop, replace_routes, stop_wire
from dispatch.state_store import LoadedState, PositionSource, load_snapshot

__all__ = ["PlannerConfig", "CycleSummary", "MatrixSource", "run_cycle", "offer_wire",
           "Publish"]

log = logging.getLogger(__name__)

#: `publish(courier_id, message)`: sends one JSON-able message to a courier's channel.
Publish = Callable[[int, dict[str, Any]], Awaitable[None]]
#: A route is pushed again when its first ETA moves by more than this.
ETA_PUSH_THRESHOLD_S = 120.0
#: An order's stored ETA is rewritten only when it moves by more than this (fewer writes).
ETA_WRITE_THRESHOLD_S = 30.0


class MatrixSource(Protocol):
    def matrix(self, profile: str, points: Sequence[tuple[float, float]]
               ) -> tuple[np.ndarray, np.ndarray]:
        """`(durations_s, distances_m)` among `points` for a travel profile (NaN: no path)."""
        ...


@dataclass(frozen=True)
class PlannerConfig:
    policy: str = "batch"
    solver_time_s: float = 1.0
    offer_timeout_s: float = 30.0
    auto_accept: bool = False
    reassign_gain: float | None = 0.2
    reassign_every_s: float = 60.0
    cascade_radius_m: float = 3000.0
    cascade_mode: Literal["one_by_one", "broadcast"] = "one_by_one"
    seed: int = 0
    options: PlanningOptions = field(default_factory=PlanningOptions)


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
            "routes_pushed": self.routes_pushed, "timings_s": self.timings_s,
            "cpu_s": self.cpu_s,
            "leader_epoch": self.leader_epoch,
            "started_at": self.started_at.isoformat() if self.started_at else None,
        }


def offer_wire(offer: DispatchOffer, order: Order | None = None) -> dict[str, Any]:
    """An offer as `GET /offers` and the courier push show it."""
    from dispatch.locations import to_lat_lon

    body: dict[str, Any] = {"id": offer.id, "order_id": offer.order_id,
                            "courier_id": offer.courier_id, "state": offer.state,
                            "expires_at": offer.expires_at.isoformat()}
    if order is not None:
        pickup, dropoff = to_lat_lon(order.pickup_location), to_lat_lon(order.dropoff_location)
        body["pickup"] = {"lat": pickup.lat, "lon": pickup.lon, "address": order.pickup_address}
        body["dropoff"] = {"lat": dropoff.lat, "lon": dropoff.lon,
                           "address": order.dropoff_address}
        body["size"] = order.size
    return body


def compute_matrices(loaded: LoadedState, travel: MatrixSource,
                     options: PlanningOptions) -> Matrices:
    points = snapshot_points(loaded.snapshot)
    if not points:
        return {}
    return {profile: travel.matrix(profile, points)
            for profile in profiles_needed(loaded.snapshot, options)}


async def run_cycle(
    *,
    sessionmaker: async_sessionmaker,
    travel: MatrixSource,
    positions: PositionSource,
    config: PlannerConfig,
    fence_epoch: int | None = None,
    publish: Publish | None = None,
    policy: str | None = None,
    allow_reassign: bool = True,
) -> CycleSummary:
    """Runs one cycle end to end (the caller holds the cycle lock). With `allow_reassign`
    off, accepted orders stay where they are whatever a re-plan would gain."""
    started, cpu = time.perf_counter(), [time.process_time()]
    now = datetime.now(UTC)
    async with sessionmaker() as session:
        expired = await expire_due_offers(session, now=now)
        released = await release_off_shift(session, now=now)
        await check_fence(session, epoch=fence_epoch)
        await session.commit()
        loaded = await load_snapshot(session, now=now, positions=positions)
        await session.rollback()
    policy_name = policy or loaded.policy or config.policy
    auto_accept = config.auto_accept if loaded.auto_accept is None else loaded.auto_accept
    summary = CycleSummary(policy_name, len(loaded.snapshot.couriers),
                           len(loaded.snapshot.orders), expired_offers=len(expired),
                           released_off_shift=released,
                           leader_epoch=fence_epoch, started_at=now)
    t_load = time.perf_counter()
    cpu.append(time.process_time())

    matrices = await asyncio.to_thread(compute_matrices, loaded, travel, config.options)
    t_matrix = time.perf_counter()
    cpu.append(time.process_time())

    decider = make_policy(policy_name, options=config.options,
                          reassign_gain=config.reassign_gain if allow_reassign else None,
                          cascade_radius_m=config.cascade_radius_m,
                          cascade_mode=config.cascade_mode)
    if loaded.snapshot.couriers and loaded.snapshot.orders:
        decision = await asyncio.to_thread(decider.decide, loaded.snapshot, matrices,
                                           time_limit_s=config.solver_time_s, seed=config.seed)
    else:
        decision = Decision()
        from dispatch.planning import outside_zone_orders

        decision.unservable.update(outside_zone_orders(loaded.snapshot))
    t_solve = time.perf_counter()
    cpu.append(time.process_time())

    async with sessionmaker() as session:
        messages = await apply_decision(session, loaded=loaded, decision=decision,
                                        config=config, policy=policy_name,
                                        auto_accept=auto_accept, fence_epoch=fence_epoch,
                                        summary=summary)
        await session.commit()
    t_apply = time.perf_counter()
    cpu.append(time.process_time())
    if publish is not None:
        for courier_id, message in messages:
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


async def apply_decision(
    session: AsyncSession, *, loaded: LoadedState, decision: Decision, config: PlannerConfig,
    policy: str, auto_accept: bool, fence_epoch: int | None, summary: CycleSummary,
) -> list[tuple[int, dict[str, Any]]]:
    """Writes the decision in the caller's transaction; returns the messages to push after
    the commit. Orders that changed since the load are left alone this cycle."""
    await check_fence(session, epoch=fence_epoch)
    now = loaded.now
    touched = set(decision.unservable) | set(decision.planned_orders) | set(decision.broadcasts)
    touched |= {o for o, _ in decision.offers} | {o for o, _, _ in decision.reassignments}
    for stops in decision.routes.values():
        touched |= {s.order_id for s in stops}
    orders: dict[int, Order] = {}
    if touched:
        rows = await session.scalars(select(Order).where(Order.id.in_(sorted(touched)))
                                     .order_by(Order.id).with_for_update())
        orders = {o.id: o for o in rows}
    changed = {oid for oid, o in orders.items()
               if loaded.versions.get(oid) != (o.status, o.courier_id, o.updated_at)}
    changed |= touched - set(orders)
    summary.skipped_changed = sorted(changed)
    live = {oid: o for oid, o in orders.items() if oid not in changed}
    messages: list[tuple[int, dict[str, Any]]] = []
    timeout_s = config.offer_timeout_s

    async def offer(order: Order, courier_id: int, *, broadcast: bool = False) -> None:
        made = await create_offer(session, order=order, courier_id=courier_id, now=now,
                                  timeout_s=timeout_s, policy=policy, auto_accept=auto_accept,
                                  broadcast=broadcast)
        summary.offers.append({"id": made.id, "order_id": order.id, "courier_id": courier_id,
                               "state": made.state})
        summary.assigned += made.state == "accepted"
        messages.append((courier_id, {"type": "offer", "offer": offer_wire(made, order)}))

    for order_id, from_courier, to_courier in decision.reassignments:
        order = live.get(order_id)
        if order is None or order.status != OrderStatus.ASSIGNED:
            continue
        order.courier_id = None
        await apply_action(session, order, Action.UNASSIGN, actor=None, now=now,
                           courier_id=from_courier,
                           details={"reason": "replanned", "next_courier_id": to_courier})
        await offer(order, to_courier)
        summary.reassigned += 1
        messages.append((from_courier, {"type": "withdrawn", "order_id": order_id}))
    batch = [(live[o], c) for o, c in decision.offers
             if o in live and live[o].status == OrderStatus.PENDING]
    if batch:
        made = await offer_orders(session, offers=batch, now=now, timeout_s=timeout_s,
                                  policy=policy, auto_accept=auto_accept)
        for offer_row, (order, courier_id) in zip(made, batch, strict=True):
            summary.offers.append({"id": offer_row.id, "order_id": order.id,
                                   "courier_id": courier_id, "state": offer_row.state})
            summary.assigned += offer_row.state == "accepted"
            messages.append((courier_id, {"type": "offer",
                                          "offer": offer_wire(offer_row, order)}))
    for order_id, couriers in decision.broadcasts.items():
        order = live.get(order_id)
        if order is None or order.status != OrderStatus.PENDING:
            continue
        for courier_id in couriers[:1] if auto_accept else couriers:
            await offer(order, courier_id, broadcast=not auto_accept)

    for order_id, reason in decision.unservable.items():
        order = live.get(order_id)
        if order is not None and order.status == OrderStatus.PENDING:
            if order.unservable_reason != reason:
                order.unservable_reason = reason
            summary.unservable[order_id] = reason
    for order_id in decision.planned_orders:
        order = live.get(order_id)
        if order is not None and order.unservable_reason is not None:
            order.unservable_reason = None

    routes: dict[int, list[RouteStop]] = {}
    for courier_id, stops in decision.routes.items():
        kept = [s for s in stops if s.order_id in live]
        routes[courier_id] = [
            RouteStop(s.order_id, s.kind, s.lat, s.lon, now + timedelta(seconds=s.eta_s))
            for s in kept]
        for stop in routes[courier_id]:
            order = live[stop.order_id]
            field_name = "pickup_eta" if stop.kind == "pickup" else "dropoff_eta"
            before = getattr(order, field_name)
            if before is None or abs((before - stop.eta).total_seconds()) > ETA_WRITE_THRESHOLD_S:
                setattr(order, field_name, stop.eta)
    couriers = [c.id for c in loaded.snapshot.couriers]
    await replace_routes(session, routes=routes, couriers=couriers, now=now)
    for courier_id in couriers:
        route = routes.get(courier_id, [])
        if _route_changed(loaded, courier_id, route):
            messages.append((courier_id, {"type": "route", "courier_id": courier_id,
                                          "stops": [stop_wire(s) for s in route]}))
            summary.routes_pushed += 1
    await session.flush()
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
