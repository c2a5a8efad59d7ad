"""`/couriers`: registration by dispatchers, shifts started and ended by couriers."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Literal

from fastapi import APIRouter, Request

from api import schemas
from api.deps import CurrentUser, DispatcherUser, SessionDep
from api.errors import ApiError
from api.ids import IdPath
from api.pagination import CursorQuery, LimitQuery, decode_cursor, page_of
from api.presenters import courier_out
from dispatch import audit
from dispatch.availability import Availability, courier_availability
from dispatch.couriers import (
    change_shift,
    courier_of_user,
    get_courier,
    list_couriers,
    register_courier,
)
from dispatch.exceptions import NotFound
from dispatch.tables import Courier

router = APIRouter(prefix="/couriers", tags=["couriers"])
errors = schemas.error_responses


async def availability_of(request: Request, couriers: list[Courier]) -> dict[int, Availability]:
    """Each courier's availability for new work (`dispatch.availability`), judged like the
    planner judges it: live positions and connections from Redis, the stored position else."""
    runtime = request.app.state.dispatch
    ids = [c.id for c in couriers]
    live, connected = await asyncio.gather(runtime.positions.latest(ids),
                                           runtime.positions.connected(ids))
    now_s = time.time()
    out = {}
    for courier in couriers:
        seen_s = courier.last_seen_at.timestamp() if courier.last_seen_at else None
        if courier.id in live and (seen_s is None or live[courier.id][2] >= seen_s):
            seen_s = live[courier.id][2]
        out[courier.id] = courier_availability(
            shift_state=courier.shift_state,
            located=courier.last_location is not None or courier.id in live,
            last_seen_s=seen_s, connected=courier.id in connected, now_s=now_s,
            online_window_s=runtime.online_window_s)
    return out


@router.post("", status_code=201, response_model=schemas.CourierOut,
             responses=errors(403, 404, 409))
async def add_courier(body: schemas.CourierIn, request: Request, session: SessionDep,
                      user: DispatcherUser) -> schemas.CourierOut:
    courier = await register_courier(session, user_id=body.user_id, name=body.name,
                                     vehicle=body.vehicle, capacity=body.capacity,
                                     zone_ids=body.zone_ids)
    audit.record(session, user, "courier.create", target_type="courier", target_id=courier.id,
                 details={"user_id": body.user_id, "vehicle": body.vehicle,
                          "capacity": body.capacity})
    await session.commit()
    return courier_out(courier, (await availability_of(request, [courier]))[courier.id])


@router.get("", response_model=schemas.CourierPage, responses=errors(403))
async def get_couriers(request: Request, session: SessionDep, user: CurrentUser,
                       shift_state: Literal["on", "off", "break"] | None = None,
                       vehicle: schemas.Vehicle | None = None, cursor: CursorQuery = None,
                       limit: LimitQuery = 100) -> dict:
    """Dispatchers and admins see every courier (in id order); a courier sees itself."""
    next_cursor = None
    if user.role in ("admin", "dispatcher"):
        couriers = await list_couriers(session, shift_state=shift_state, vehicle=vehicle,
                                       after_id=decode_cursor("courier", cursor),
                                       limit=limit + 1)
        couriers, next_cursor = page_of("courier", couriers, limit)
    elif user.role == "courier":
        own = await courier_of_user(session, user.id)
        couriers = [c for c in [own] if c is not None
                    and (shift_state is None or c.shift_state == shift_state)
                    and (vehicle is None or c.vehicle == vehicle)]
    else:
        raise ApiError(403, "forbidden", "You are not allowed to do this.")
    availability = await availability_of(request, couriers)
    return {"items": [courier_out(c, availability[c.id]) for c in couriers],
            "next_cursor": next_cursor}


@router.get("/{courier_id}", response_model=schemas.CourierOut, responses=errors(404))
async def get_one_courier(courier_id: IdPath, request: Request, session: SessionDep,
                          user: CurrentUser) -> schemas.CourierOut:
    courier = await get_courier(session, courier_id)
    if user.role not in ("admin", "dispatcher") and courier.user_id != user.id:
        raise NotFound(f"courier {courier_id} not found", details={"courier_id": courier_id})
    return courier_out(courier, (await availability_of(request, [courier]))[courier.id])


@router.post("/{courier_id}/shift", response_model=schemas.CourierOut,
             responses=errors(403, 404, 409))
async def shift(courier_id: IdPath, body: schemas.ShiftIn, request: Request, session: SessionDep,
                user: CurrentUser) -> schemas.CourierOut:
    """The courier itself, or a dispatcher for it, starts or ends a shift (`start`, `end`),
    or takes and ends a break (`break`, `resume`): on a break the courier keeps the work it
    accepted or carries and is offered nothing new."""
    if user.role not in ("admin", "dispatcher", "courier"):
        raise ApiError(403, "forbidden", "You are not allowed to do this.")
    courier = await get_courier(session, courier_id, for_update=True)
    if user.role == "courier" and courier.user_id != user.id:
        raise ApiError(403, "forbidden", "A courier can only change its own shift.")
    await change_shift(session, courier, action=body.action, now=datetime.now(UTC),
                       lat=body.lat, lon=body.lon, ends_at=body.ends_at)
    await session.commit()
    return courier_out(courier, (await availability_of(request, [courier]))[courier.id])
