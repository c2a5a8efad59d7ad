"""The couriers' planned stops (`planned_stops`): written by the planner, read by the API.

A courier's rows are replaced as a whole inside the planner's transaction; readers only ever
see a complete sequence. Stops of orders that are finished or cancelled since the last cycle
are filtered out on read, so a cancellation disappears from the route at once.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.routes import LIVE_STATUSES, RouteStop, stop_wire
from dispatch.tables import Order, PlannedStop

__all__ = ["RouteStop", "replace_routes", "read_route", "stop_wire"]


async def replace_routes(session: AsyncSession, *, routes: dict[int, list[RouteStop]],
                         couriers: Iterable[int], now: datetime) -> None:
    """Every courier in `couriers` gets exactly the stops in `routes` (none if absent)."""
    ids = list(couriers)
    if not ids:
        return
    await session.execute(delete(PlannedStop).where(PlannedStop.courier_id.in_(ids)))
    rows = [{"courier_id": courier_id, "seq": seq, "order_id": stop.order_id,
             "kind": stop.kind, "lat": stop.lat, "lon": stop.lon, "eta": stop.eta,
             "planned_at": now}
            for courier_id in ids for seq, stop in enumerate(routes.get(courier_id, ()))]
    if rows:
        await session.execute(insert(PlannedStop), rows)


async def read_route(session: AsyncSession, *, courier_id: int) -> list[RouteStop]:
    """The courier's planned stops in visiting order, without finished or cancelled orders."""
    query = (select(PlannedStop).join(Order, Order.id == PlannedStop.order_id)
             .where(PlannedStop.courier_id == courier_id, Order.status.in_(LIVE_STATUSES))
             .order_by(PlannedStop.seq))
    rows = (await session.scalars(query)).all()
    return [RouteStop(r.order_id, r.kind, r.lat, r.lon, r.eta) for r in rows]
