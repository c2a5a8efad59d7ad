"""Loading a planning `Snapshot` from PostGIS (and live positions from wherever they live).

Live positions come through the small `PositionSource` protocol, so dispatch does not import
`tracking/`: the API wires an adapter over the tracking engineer's Redis live store, and
`couriers.last_location` is the fallback for anyone the live store does not know.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Protocol

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.availability import courier_availability
from dispatch.cycle import LoadedState, SkippedCourier
from dispatch.effects import OrderVersion
from dispatch.lifecycle import PLANNED_STATUSES
from dispatch.offers import offered_pairs
from dispatch.planning import CourierState, OrderState, Snapshot
from geodata.zones import active_zones_covering, any_active_zone

__all__ = ["PositionSource", "NoLivePositions", "LoadedState", "load_snapshot", "OPEN_STATUSES"]

#: Orders the planner looks at: not yet served and not failed.
OPEN_STATUSES = PLANNED_STATUSES


class PositionSource(Protocol):
    async def latest(self, courier_ids: list[int]) -> dict[int, tuple[float, float, float]]:
        """The newest known `(lat, lon, ts_s)` for each courier it knows (Unix seconds)."""
        ...

    async def connected(self, courier_ids: list[int]) -> set[int]:
        """The couriers with a live connection (the courier WebSocket) now."""
        ...


class NoLivePositions:
    """A position source that knows nothing: the stored `last_location` is used."""

    async def latest(self, courier_ids: list[int]) -> dict[int, tuple[float, float, float]]:
        return {}

    async def connected(self, courier_ids: list[int]) -> set[int]:
        return set()


COURIERS_SQL = text("""
SELECT c.id, c.vehicle, c.capacity, c.shift_ends_at, c.zone_ids, c.shift_state,
       ST_Y(c.last_location::geometry) AS lat, ST_X(c.last_location::geometry) AS lon,
       c.last_seen_at
FROM couriers c
WHERE c.shift_state IN ('on', 'break')
ORDER BY c.id
""")

ORDERS_SQL = text("""
SELECT o.id, o.status, o.courier_id, o.size, o.updated_at, o.created_at,
       ST_Y(o.pickup_location::geometry) AS p_lat, ST_X(o.pickup_location::geometry) AS p_lon,
       ST_Y(o.dropoff_location::geometry) AS d_lat, ST_X(o.dropoff_location::geometry) AS d_lon,
       o.pickup_window_start, o.pickup_window_end, o.dropoff_window_start, o.dropoff_window_end
FROM orders o
WHERE o.status = ANY(:statuses)
ORDER BY o.id
""")

ROUTES_SQL = text("""
SELECT courier_id, order_id, kind, eta FROM planned_stops ORDER BY courier_id, seq
""")

FLEET_SQL = text("SELECT auto_accept, policy FROM fleet_settings WHERE fleet = 'default'")


def _rel(at: datetime | None, now: datetime) -> float | None:
    return None if at is None else (at - now).total_seconds()


def _window(start: datetime | None, end: datetime | None,
            now: datetime) -> tuple[float, float] | None:
    if start is None and end is None:
        return None
    return (_rel(start, now) if start else -math.inf, _rel(end, now) if end else math.inf)


async def load_snapshot(session: AsyncSession, *, now: datetime, positions: PositionSource,
                        online_window_s: float | None = None) -> LoadedState:
    """Everything a cycle plans from, read in one transaction (the caller's).

    With `online_window_s`, a courier on shift takes new work only while online
    (`dispatch.availability`); the couriers given nothing new, and why, are in
    `LoadedState.skipped_couriers`."""
    courier_rows = (await session.execute(COURIERS_SQL)).all()
    ids = [r.id for r in courier_rows]
    live = await positions.latest(ids)
    connected = await positions.connected(ids) if online_window_s is not None else set()
    couriers, skipped = [], []
    now_s = now.timestamp()
    for r in courier_rows:
        lat, lon = r.lat, r.lon
        seen_s = r.last_seen_at.timestamp() if r.last_seen_at else None
        if r.id in live and live[r.id][2] >= (seen_s if seen_s is not None else -math.inf):
            lat, lon = live[r.id][0], live[r.id][1]
            seen_s = live[r.id][2]
        availability = courier_availability(
            shift_state=r.shift_state, located=lat is not None and lon is not None,
            last_seen_s=seen_s, connected=r.id in connected, now_s=now_s,
            online_window_s=online_window_s)
        if not availability.takes_new_work:
            skipped.append(SkippedCourier(r.id, availability.state, availability.last_seen_s,
                                          availability.age_s))
        if lat is None or lon is None:
            continue  # nowhere to plan from
        shift_end = _rel(r.shift_ends_at, now)
        couriers.append(CourierState(
            r.id, r.vehicle, r.capacity, float(lat), float(lon),
            math.inf if shift_end is None else shift_end, frozenset(r.zone_ids or ()),
            takes_new_work=availability.takes_new_work))

    statuses = sorted(s.value for s in OPEN_STATUSES)
    order_rows = (await session.execute(ORDERS_SQL, {"statuses": statuses})).all()
    # geodata owns the zones: it says which active zones cover each pickup
    zone_ids = await active_zones_covering(session, [(r.p_lat, r.p_lon) for r in order_rows])
    orders = []
    versions: dict[int, OrderVersion] = {}
    for r, zones in zip(order_rows, zone_ids, strict=True):
        orders.append(OrderState(
            r.id, r.status, r.courier_id, float(r.p_lat), float(r.p_lon), float(r.d_lat),
            float(r.d_lon), r.size,
            _window(r.pickup_window_start, r.pickup_window_end, now),
            _window(r.dropoff_window_start, r.dropoff_window_end, now),
            zones, max(0.0, (now - r.created_at).total_seconds())))
        versions[r.id] = OrderVersion(r.status, r.courier_id, r.updated_at)

    previous: dict[int, list[tuple[int, str]]] = {}
    etas: dict[int, list[datetime | None]] = {}
    for r in (await session.execute(ROUTES_SQL)).all():
        previous.setdefault(r.courier_id, []).append((r.order_id, r.kind))
        etas.setdefault(r.courier_id, []).append(r.eta)
    zones_defined = await any_active_zone(session)
    excluded = await offered_pairs(session, order_ids=[o.id for o in orders])
    fleet = (await session.execute(FLEET_SQL)).first()
    snapshot = Snapshot(tuple(couriers), tuple(orders),
                        {c: tuple(s) for c, s in previous.items()}, excluded, zones_defined,
                        at_s=now.timestamp())
    return LoadedState(snapshot, now, versions, {c: tuple(e) for c, e in etas.items()},
                       fleet.auto_accept if fleet else None, fleet.policy if fleet else None,
                       skipped_couriers=tuple(skipped))
