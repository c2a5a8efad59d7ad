"""Couriers: registration, shifts (with breaks) and the last known position.

A shift is `off`, `on` or on a `break`:

    off --start--> on --break--> break --resume--> on
     ^              |              |
     +-----end------+------end-----+

A courier on a break keeps what it has accepted and what it carries, and gets no new work:
the planner still plans its route with that work only (so parcels on board are never lost
and the buyer's ETA stays honest, if optimistic: it assumes the courier moves on now), it
offers the courier nothing new and moves nothing to it, its offers still waiting for an
answer are withdrawn at the next cycle (`dispatch.offers.release_off_shift`), and a
dispatcher cannot assign it an order until it resumes.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

import orjson
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.exceptions import Conflict, DuplicateObject, InvalidInput, NotFound
from dispatch.locations import point_ewkt
from dispatch.tables import VEHICLES, Courier, User

__all__ = ["register_courier", "get_courier", "courier_of_user", "list_couriers", "change_shift",
           "record_last_seen"]

#: One statement for many couriers; a fix older than the stored one never moves a courier back.
_LAST_SEEN = text("""
UPDATE couriers AS k
SET last_location = ST_SetSRID(ST_MakePoint(u.lo, u.la), 4326)::geography,
    last_seen_at = to_timestamp(u.t)
FROM json_to_recordset(CAST(:rows AS json)) AS u(c bigint, la float8, lo float8, t float8)
WHERE k.id = u.c AND (k.last_seen_at IS NULL OR k.last_seen_at < to_timestamp(u.t))
""")


async def record_last_seen(session: AsyncSession,
                           seen: Mapping[int, tuple[float, float, float]]) -> None:
    """Where and when each courier was last seen, `{courier_id: (lat, lon, unix_s)}` — the
    planner's fallback when the live view has nothing. Tracking reports it; the courier row is
    dispatch's to write. The caller commits."""
    if not seen:
        return
    rows = [{"c": c, "la": lat, "lo": lon, "t": t} for c, (lat, lon, t) in sorted(seen.items())]
    await session.execute(_LAST_SEEN, {"rows": orjson.dumps(rows).decode()})


async def register_courier(session: AsyncSession, *, user_id: int, name: str, vehicle: str,
                           capacity: int, zone_ids: list[int] | None = None) -> Courier:
    if vehicle not in VEHICLES:
        raise InvalidInput(f"unknown vehicle {vehicle!r}", details={"allowed": list(VEHICLES)})
    user = await session.get(User, user_id)
    if user is None:
        raise NotFound(f"user {user_id} not found", details={"user_id": user_id})
    if user.role != "courier":
        raise InvalidInput("only a user with the courier role can be a courier",
                           code="user_not_courier", details={"role": user.role})
    if await courier_of_user(session, user_id) is not None:
        raise DuplicateObject(f"user {user_id} is already a courier", details={"user_id": user_id})
    courier = Courier(user_id=user_id, name=name, vehicle=vehicle, capacity=capacity,
                      shift_state="off", zone_ids=list(zone_ids or []))
    session.add(courier)
    await session.flush()
    return courier


async def get_courier(session: AsyncSession, courier_id: int, *,
                      for_update: bool = False) -> Courier:
    query = select(Courier).where(Courier.id == courier_id)
    if for_update:
        query = query.with_for_update()
    courier = await session.scalar(query)
    if courier is None:
        raise NotFound(f"courier {courier_id} not found", details={"courier_id": courier_id})
    return courier


async def courier_of_user(session: AsyncSession, user_id: int) -> Courier | None:
    return await session.scalar(select(Courier).where(Courier.user_id == user_id))


async def list_couriers(session: AsyncSession, *, shift_state: str | None = None,
                        vehicle: str | None = None, after_id: int | None = None,
                        limit: int | None = None) -> list[Courier]:
    """Couriers in id order; `after_id` and `limit` page through them."""
    query = select(Courier).order_by(Courier.id)
    if after_id is not None:
        query = query.where(Courier.id > after_id)
    if limit is not None:
        query = query.limit(limit)
    if shift_state is not None:
        query = query.where(Courier.shift_state == shift_state)
    if vehicle is not None:
        query = query.where(Courier.vehicle == vehicle)
    return list((await session.scalars(query)).all())


async def change_shift(session: AsyncSession, courier: Courier, *, action: str, now: datetime,
                       lat: float | None, lon: float | None,
                       ends_at: datetime | None = None) -> Courier:
    """Starts or ends a shift, or takes or ends a break (see the module docstring).

    Starting needs a position (where dispatch plans from); the others take one if given.
    """
    if action == "start":
        if courier.shift_state in ("on", "break"):
            raise Conflict("the shift has already started", code="shift_already_started")
        if lat is None or lon is None:
            raise InvalidInput("a shift starts at a position: give lat and lon",
                               code="position_required")
        if ends_at is not None and ends_at <= now:
            raise InvalidInput("the shift must end in the future", code="invalid_shift_end")
        courier.shift_state = "on"
        courier.shift_started_at = now
        courier.shift_ends_at = ends_at
    elif action == "end":
        if courier.shift_state == "off":
            raise Conflict("no shift is running", code="shift_not_started")
        courier.shift_state = "off"
        courier.shift_ends_at = now
    elif action == "break":
        if courier.shift_state == "off":
            raise Conflict("no shift is running", code="shift_not_started")
        if courier.shift_state == "break":
            raise Conflict("the courier is already on a break", code="already_on_break")
        courier.shift_state = "break"
    elif action == "resume":
        if courier.shift_state != "break":
            raise Conflict("the courier is not on a break", code="not_on_break")
        courier.shift_state = "on"
    else:
        raise InvalidInput(f"unknown shift action {action!r}",
                           details={"allowed": ["start", "end", "break", "resume"]})
    if lat is not None and lon is not None:
        courier.last_location = point_ewkt(lat, lon)
        courier.last_seen_at = now
    await session.flush()
    return courier
