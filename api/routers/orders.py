"""`/orders`: create (idempotent), read, list, cancel, assign and report progress."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime
from typing import Annotated

import orjson
from fastapi import APIRouter, Header, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError

from api import schemas
from api.deps import CurrentUser, DispatcherUser, SessionDep, SettingsDep
from api.errors import ApiError
from api.ids import IdPath, IdQuery
from api.presenters import order_out
from api.routers.handoffs import scan_policy
from api.track_lookup import PositionsTrackLookup
from custody.service import check_arrival
from dispatch import audit
from dispatch.couriers import courier_of_user
from dispatch.exceptions import DuplicateObject, NotFound
from dispatch.lifecycle import Action
from dispatch.locations import to_lat_lon
from dispatch.orders import (
    NewOrder,
    OrderFilters,
    apply_action,
    assign_order,
    cancel_order,
    create_order,
    get_visible_order,
    list_visible_orders,
    order_events,
)
from dispatch.pickup_places import get_pickup_place
from dispatch.tables import IdempotencyRecord, User

router = APIRouter(prefix="/orders", tags=["orders"])
errors = schemas.error_responses

#: Progress a courier reports by hand; pickups and deliveries are proven by a handoff scan.
SCAN_ONLY_ACTIONS = {Action.PICK_UP, Action.DELIVER, Action.COMPLETE_RETURN}


def _request_hash(body: schemas.OrderIn) -> str:
    return hashlib.sha256(orjson.dumps(body.model_dump(mode="json"),
                                       option=orjson.OPT_SORT_KEYS)).hexdigest()


async def _replay(session, user_id: int, key: str, request_hash: str) -> JSONResponse | None:
    record = await session.get(IdempotencyRecord, (user_id, key))
    if record is None:
        return None
    if record.request_hash != request_hash:
        raise ApiError(422, "idempotency_key_reused",
                       "This Idempotency-Key was already used with a different request.",
                       {"idempotency_key": key})
    return JSONResponse(status_code=record.status_code, content=record.response,
                        headers={"Idempotent-Replayed": "true"})


def _utc_window(window: schemas.Window | None) -> tuple[datetime, datetime] | None:
    """Times are stored and answered in UTC, whatever zone the client wrote them in."""
    return None if window is None else (window.start.astimezone(UTC), window.end.astimezone(UTC))


@router.post("", status_code=201, response_model=schemas.OrderOut,
             responses=errors(403, 404, 409))
async def add_order(
    body: schemas.OrderIn, request: Request, session: SessionDep, user: CurrentUser,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
):
    """Creates a pending order. A retry with the same `Idempotency-Key` gets the first answer."""
    if user.role == "seller":
        if body.seller_id not in (None, user.id):
            raise ApiError(403, "forbidden", "A seller creates orders only for itself.")
        seller = user
    elif user.role in ("admin", "dispatcher"):
        if body.seller_id is None:
            raise ApiError(422, "seller_required", "Give seller_id when creating for a seller.")
        seller = await session.get(User, body.seller_id)
        if seller is None:
            raise NotFound(f"user {body.seller_id} not found", details={"user_id": body.seller_id})
    else:
        raise ApiError(403, "forbidden", "You are not allowed to do this.")

    request_hash = _request_hash(body)
    user_id = user.id  # kept: a rollback below expires the ORM objects
    if idempotency_key:
        replay = await _replay(session, user_id, idempotency_key, request_hash)
        if replay is not None:
            return replay

    if body.pickup is not None and body.pickup_place_id is not None:
        raise ApiError(422, "contradictory_pickup",
                       "Give either pickup or pickup_place_id, not both.",
                       {"fields": ["pickup", "pickup_place_id"]})
    pickup = body.pickup
    if body.pickup_place_id is not None:
        place = await get_pickup_place(session, place_id=body.pickup_place_id,
                                       seller_id=seller.id)
        if pickup is None:
            point = to_lat_lon(place.location)
            pickup = schemas.Place(lat=point.lat, lon=point.lon, address=place.address)
    new = NewOrder(
        pickup_lat=pickup.lat, pickup_lon=pickup.lon, pickup_address=pickup.address,
        pickup_place_id=body.pickup_place_id,
        dropoff_lat=body.dropoff.lat, dropoff_lon=body.dropoff.lon,
        dropoff_address=body.dropoff.address, external_id=body.external_id,
        pickup_window=_utc_window(body.pickup_window),
        dropoff_window=_utc_window(body.dropoff_window),
        size=body.size, cod_amount=body.cod_amount, buyer_id=body.buyer_id,
    )
    try:
        order = await create_order(session, seller=seller, new=new,
                                   service_area=request.app.state.service_area, actor=user,
                                   now=datetime.now(UTC))
    except DuplicateObject:
        # Same key and external id racing: the winner has committed; answer what it stored.
        if idempotency_key:
            await session.rollback()
            replay = await _replay(session, user_id, idempotency_key, request_hash)
            if replay is not None:
                return replay
        raise
    out = order_out(order)
    if idempotency_key:
        session.add(IdempotencyRecord(user_id=user.id, key=idempotency_key,
                                      request_hash=request_hash, status_code=201,
                                      response=jsonable_encoder(out)))
    try:
        await session.commit()
    except IntegrityError:
        # A concurrent request with the same key won the race: answer what it stored.
        await session.rollback()
        replay = await _replay(session, user_id, idempotency_key or "", request_hash)
        if replay is None:
            raise
        return replay
    await request.app.state.dispatch.poke("order_created")
    return out


def _encode_cursor(order_id: int) -> str:
    return base64.urlsafe_b64encode(f"o:{order_id}".encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        prefix, _, value = text.partition(":")
        if prefix != "o":
            raise ValueError(prefix)
        return int(value)
    except (ValueError, UnicodeDecodeError):
        raise ApiError(422, "invalid_cursor", "The pagination cursor is invalid.") from None


@router.get("", response_model=schemas.OrderPage)
async def get_orders(
    session: SessionDep, user: CurrentUser,
    status: Annotated[list[schemas.OrderStatusName] | None, Query()] = None,
    courier_id: IdQuery | None = None, seller_id: IdQuery | None = None,
    buyer_id: IdQuery | None = None,
    created_from: datetime | None = None, created_to: datetime | None = None,
    cursor: str | None = None, limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> schemas.OrderPage:
    """Orders the caller may see, newest first; follow `next_cursor` for the next page."""
    statuses = tuple(status or ())
    filters = OrderFilters(status=statuses, courier_id=courier_id, seller_id=seller_id,
                           buyer_id=buyer_id, created_from=created_from, created_to=created_to)
    after_id = _decode_cursor(cursor) if cursor else None
    orders, next_id = await list_visible_orders(session, user, filters=filters,
                                                after_id=after_id, limit=limit)
    return schemas.OrderPage(items=[order_out(o) for o in orders],
                             next_cursor=_encode_cursor(next_id) if next_id else None)


@router.get("/{order_id}", response_model=schemas.OrderOut, responses=errors(404))
async def get_one_order(order_id: IdPath, session: SessionDep,
                        user: CurrentUser) -> schemas.OrderOut:
    order = await get_visible_order(session, order_id, user)
    return order_out(order, await order_events(session, order.id))


@router.post("/{order_id}/cancel", response_model=schemas.OrderOut,
             responses=errors(403, 404, 409))
async def cancel(order_id: IdPath, session: SessionDep, user: CurrentUser,
                 body: schemas.CancelIn | None = None) -> schemas.OrderOut:
    if user.role not in ("admin", "dispatcher", "seller"):
        raise ApiError(403, "forbidden", "You are not allowed to do this.")
    order = await cancel_order(session, order_id=order_id, actor=user, now=datetime.now(UTC),
                               reason=body.reason if body else None)
    audit.record(session, user, "order.cancel", target_type="order", target_id=order.id,
                 details={"reason": body.reason if body else None})
    await session.commit()
    return order_out(order, await order_events(session, order.id))


@router.post("/{order_id}/assign", response_model=schemas.OrderOut,
             responses=errors(403, 404, 409))
async def assign(order_id: IdPath, body: schemas.AssignIn, session: SessionDep,
                 user: DispatcherUser) -> schemas.OrderOut:
    order = await assign_order(session, order_id=order_id, courier_id=body.courier_id,
                               actor=user, now=datetime.now(UTC))
    audit.record(session, user, "order.assign", target_type="order", target_id=order.id,
                 details={"courier_id": body.courier_id})
    await session.commit()
    return order_out(order, await order_events(session, order.id))


@router.post("/{order_id}/unassign", response_model=schemas.OrderOut,
             responses=errors(403, 404, 409))
async def unassign(order_id: IdPath, session: SessionDep, user: DispatcherUser) -> schemas.OrderOut:
    order = await get_visible_order(session, order_id, user, for_update=True)
    previous = order.courier_id
    await apply_action(session, order, Action.UNASSIGN, actor=user, now=datetime.now(UTC),
                       details={"previous_courier_id": previous})
    order.courier_id = None
    audit.record(session, user, "order.unassign", target_type="order", target_id=order.id,
                 details={"previous_courier_id": previous})
    await session.commit()
    return order_out(order, await order_events(session, order.id))


@router.post("/{order_id}/status", response_model=schemas.OrderOut,
             responses=errors(403, 404, 409))
async def report_status(order_id: IdPath, body: schemas.StatusIn, session: SessionDep,
                        user: CurrentUser, settings: SettingsDep) -> schemas.OrderOut:
    """The assigned courier (or a dispatcher) reports arrival, failure or a return.

    A courier's arrival is checked against its tracked GPS like an online scan
    (`arrival_track_far` when a recent fix puts it elsewhere)."""
    if user.role not in ("admin", "dispatcher", "courier"):
        raise ApiError(403, "forbidden", "You are not allowed to do this.")
    action = Action(body.action)
    if action in SCAN_ONLY_ACTIONS:
        raise ApiError(409, "handoff_scan_required",
                       "This step is recorded by scanning the handoff code.",
                       {"endpoint": "/api/v1/handoffs/scan"})
    order = await get_visible_order(session, order_id, user, for_update=True)
    now = datetime.now(UTC)
    if user.role == "courier":
        courier = await courier_of_user(session, user.id)
        if courier is None or order.courier_id != courier.id:
            raise NotFound(f"order {order_id} not found", details={"order_id": order_id})
        await check_arrival(order=order, action=action, courier_id=courier.id, now=now,
                            policy=scan_policy(settings), track=PositionsTrackLookup(session))
    await apply_action(session, order, action, actor=user, now=now,
                       lat=body.lat, lon=body.lon,
                       details={"reason": body.reason} if body.reason else None)
    await session.commit()
    return order_out(order, await order_events(session, order.id))


