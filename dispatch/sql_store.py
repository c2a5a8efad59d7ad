"""The dispatch cycle's store in PostgreSQL: the service's `dispatch.cycle.DispatchStore`.

* **Prepare** expires offers past their deadline and takes work back from couriers gone off
  shift, and commits that at once (it stands whatever the cycle decides).
* **Load** reads a `Snapshot` and each open order's version (`dispatch.state_store`).
* **Apply** is one unit of work: it checks the fencing epoch (`dispatch.leader`), locks every
  order the decision touches (in id order), resolves the decision against their versions now
  (`dispatch.effects`: orders that changed since the load are left alone) and writes offers,
  reassignments, stop sequences with ETAs, flags and order events. Any failure rolls all of it
  back; the messages to push are returned for after the commit.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dispatch.cycle import (
    ETA_WRITE_THRESHOLD_S,
    AppliedCycle,
    LoadedState,
    route_messages,
    routes_with_etas,
)
from dispatch.effects import OrderVersion, resolve_effects, touched_orders
from dispatch.leader import check_fence
from dispatch.lifecycle import Action
from dispatch.offers import (
    create_offer,
    expire_due_offers,
    next_expiry,
    offer_orders,
    offer_wire,
    release_off_shift,
)
from dispatch.orders import apply_action
from dispatch.planning import Decision
from dispatch.route_store import replace_routes
from dispatch.state_store import PositionSource, load_snapshot
from dispatch.tables import Order

__all__ = ["SqlDispatchStore", "apply_decision"]


class SqlDispatchStore:
    """Dispatch state in PostgreSQL; live positions through a `PositionSource`."""

    def __init__(self, sessionmaker: async_sessionmaker, positions: PositionSource, *,
                 online_window_s: float | None = None) -> None:
        """`online_window_s`: offer new work only to couriers online within it
        (`dispatch.availability`); None offers to every located courier on shift."""
        self.sessionmaker = sessionmaker
        self.positions = positions
        self.online_window_s = online_window_s

    async def prepare(self, *, now: datetime, fence_epoch: int | None
                      ) -> tuple[int, list[int]]:
        async with self.sessionmaker() as session:
            expired = await expire_due_offers(session, now=now)
            released = await release_off_shift(session, now=now)
            await check_fence(session, epoch=fence_epoch)
            await session.commit()
        return len(expired), released

    async def load(self, *, now: datetime) -> LoadedState:
        async with self.sessionmaker() as session:
            loaded = await load_snapshot(session, now=now, positions=self.positions,
                                         online_window_s=self.online_window_s)
            await session.rollback()
        return loaded

    async def apply(self, *, loaded: LoadedState, decision: Decision, policy: str,
                    auto_accept: bool, offer_timeout_s: float,
                    fence_epoch: int | None) -> AppliedCycle:
        async with self.sessionmaker() as session:
            applied = await apply_decision(session, loaded=loaded, decision=decision,
                                           policy=policy, auto_accept=auto_accept,
                                           offer_timeout_s=offer_timeout_s,
                                           fence_epoch=fence_epoch)
            await session.commit()
        return applied

    async def next_expiry(self) -> datetime | None:
        async with self.sessionmaker() as session:
            return await next_expiry(session)


async def apply_decision(
    session: AsyncSession, *, loaded: LoadedState, decision: Decision, policy: str,
    auto_accept: bool, offer_timeout_s: float, fence_epoch: int | None,
) -> AppliedCycle:
    """Writes the decision's effects in the caller's transaction (see the module docstring)."""
    await check_fence(session, epoch=fence_epoch)
    now = loaded.now
    touched = touched_orders(decision)
    orders: dict[int, Order] = {}
    if touched:
        rows = await session.scalars(select(Order).where(Order.id.in_(sorted(touched)))
                                     .order_by(Order.id).with_for_update())
        orders = {o.id: o for o in rows}
    effects = resolve_effects(
        decision, loaded_versions=loaded.versions, auto_accept=auto_accept,
        current={oid: OrderVersion(o.status, o.courier_id, o.updated_at)
                 for oid, o in orders.items()})
    applied = AppliedCycle(skipped_changed=effects.skipped_changed)

    def offered(offer_row, order: Order, courier_id: int) -> None:
        applied.offers.append({"id": offer_row.id, "order_id": order.id,
                               "courier_id": courier_id, "state": offer_row.state})
        applied.assigned += offer_row.state == "accepted"
        applied.messages.append((courier_id, {"type": "offer",
                                              "offer": offer_wire(offer_row, order)}))

    for order_id, from_courier, to_courier in effects.reassignments:
        order = orders[order_id]
        order.courier_id = None
        await apply_action(session, order, Action.UNASSIGN, actor=None, now=now,
                           courier_id=from_courier,
                           details={"reason": "replanned", "next_courier_id": to_courier})
        made = await create_offer(session, order=order, courier_id=to_courier, now=now,
                                  timeout_s=offer_timeout_s, policy=policy,
                                  auto_accept=auto_accept)
        offered(made, order, to_courier)
        applied.reassigned += 1
        applied.messages.append((from_courier, {"type": "withdrawn", "order_id": order_id}))
    batch = [(orders[o], c) for o, c in effects.offers]
    if batch:
        made_rows = await offer_orders(session, offers=batch, now=now, timeout_s=offer_timeout_s,
                                       policy=policy, auto_accept=auto_accept)
        for offer_row, (order, courier_id) in zip(made_rows, batch, strict=True):
            offered(offer_row, order, courier_id)
    for order_id, couriers, broadcast in effects.broadcasts:
        order = orders[order_id]
        for courier_id in couriers:
            made = await create_offer(session, order=order, courier_id=courier_id, now=now,
                                      timeout_s=offer_timeout_s, policy=policy,
                                      auto_accept=auto_accept, broadcast=broadcast)
            offered(made, order, courier_id)

    for order_id, reason in effects.unservable.items():
        order = orders[order_id]
        if order.unservable_reason != reason:
            order.unservable_reason = reason
        applied.unservable[order_id] = reason
    for order_id in effects.planned:
        if orders[order_id].unservable_reason is not None:
            orders[order_id].unservable_reason = None

    routes = routes_with_etas(effects.routes, now=now)
    for stops in routes.values():
        for stop in stops:
            order = orders[stop.order_id]
            field_name = "pickup_eta" if stop.kind == "pickup" else "dropoff_eta"
            before = getattr(order, field_name)
            if before is None or abs((before - stop.eta).total_seconds()) > ETA_WRITE_THRESHOLD_S:
                setattr(order, field_name, stop.eta)
    await replace_routes(session, routes=routes, couriers=[c.id for c in loaded.snapshot.couriers],
                         now=now)
    pushes = route_messages(loaded, routes)
    applied.messages.extend(pushes)
    applied.routes_pushed = len(pushes)
    await session.flush()
    return applied

