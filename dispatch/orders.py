"""Orders: creation, visibility, listing and every status change (with its event).

Service functions take the caller's session and flush; the caller commits the unit of work.
Every status change goes through `apply_action`, which asks the pure state machine
(`dispatch.lifecycle`) and appends to the order log in the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.couriers import courier_of_user, get_courier
from dispatch.exceptions import Conflict, DuplicateObject, InvalidInput, NotFound
from dispatch.lifecycle import ACTIVE_STATUSES, Action, OrderStatus, next_status
from dispatch.locations import point_ewkt
from dispatch.order_followers import OrderMoment, tell_followers
from dispatch.service_area import ServiceArea
from dispatch.tables import Courier, DispatchOffer, Order, OrderEvent, User
from dispatch.times import rfc3339

__all__ = [
    "NewOrder",
    "OrderFilters",
    "create_order",
    "get_visible_order",
    "list_visible_orders",
    "order_events",
    "event_details_with",
    "record_event",
    "lock_order",
    "apply_action",
    "assign_order",
    "cancel_order",
]


@dataclass(frozen=True, slots=True)
class NewOrder:
    pickup_lat: float
    pickup_lon: float
    dropoff_lat: float
    dropoff_lon: float
    pickup_address: str | None = None
    dropoff_address: str | None = None
    external_id: str | None = None
    pickup_window: tuple[datetime, datetime] | None = None
    dropoff_window: tuple[datetime, datetime] | None = None
    size: int = 1
    cod_amount: Decimal | None = None
    buyer_id: int | None = None
    pickup_place_id: int | None = None


@dataclass(frozen=True, slots=True)
class OrderFilters:
    status: tuple[str, ...] = ()
    courier_id: int | None = None
    seller_id: int | None = None
    buyer_id: int | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None


async def create_order(session: AsyncSession, *, seller: User, new: NewOrder,
                       service_area: ServiceArea, actor: User,
                       now: datetime | None = None) -> Order:
    """Stores a pending order after checking the seller, buyer, windows, size and service area.

    Refused at once rather than found unservable later: a window that has already ended (when
    `now` is given; `window_passed`) and a size above the largest capacity of any registered
    courier (`order_too_large`; not checked while the fleet is empty)."""
    if seller.role != "seller":
        raise InvalidInput("orders belong to a seller", code="seller_required",
                           details={"seller_id": seller.id, "role": seller.role})
    for window in (new.pickup_window, new.dropoff_window):
        if window is not None and window[0] >= window[1]:
            raise InvalidInput("a time window must end after it starts", code="invalid_window")
    if new.pickup_window and new.dropoff_window and new.dropoff_window[1] <= new.pickup_window[0]:
        raise InvalidInput("the dropoff window closes before the pickup window opens",
                           code="invalid_window")
    if now is not None:
        for name, window in (("pickup_window", new.pickup_window),
                             ("dropoff_window", new.dropoff_window)):
            if window is not None and window[1] <= now:
                raise InvalidInput(f"the {name} ended at {rfc3339(window[1])}",
                                   code="window_passed",
                                   details={"window": name, "end": rfc3339(window[1]),
                                            "now": rfc3339(now)})
    largest = await session.scalar(select(func.max(Courier.capacity)))
    if largest is not None and new.size > largest:
        raise InvalidInput(f"no courier can carry size {new.size} (the largest capacity is "
                           f"{largest})", code="order_too_large",
                           details={"size": new.size, "largest_capacity": int(largest),
                                    "field": "size", "limit": int(largest)})
    if new.buyer_id is not None:
        buyer = await session.get(User, new.buyer_id)
        if buyer is None or buyer.role != "buyer":
            raise InvalidInput("buyer_id must name a user with the buyer role",
                               code="invalid_buyer", details={"buyer_id": new.buyer_id})
    for leg, lat, lon in (("pickup", new.pickup_lat, new.pickup_lon),
                          ("dropoff", new.dropoff_lat, new.dropoff_lon)):
        await service_area.require_inside(session, lat=lat, lon=lon, leg=leg)
    if new.external_id is not None:
        existing = await session.scalar(select(Order.id).where(
            Order.seller_id == seller.id, Order.external_id == new.external_id))
        if existing is not None:
            raise DuplicateObject("this seller already has an order with that external_id",
                                  code="duplicate_external_id",
                                  details={"order_id": existing, "external_id": new.external_id})
    order = Order(
        seller_id=seller.id,
        external_id=new.external_id,
        buyer_id=new.buyer_id,
        pickup_place_id=new.pickup_place_id,
        pickup_location=point_ewkt(new.pickup_lat, new.pickup_lon),
        pickup_address=new.pickup_address,
        dropoff_location=point_ewkt(new.dropoff_lat, new.dropoff_lon),
        dropoff_address=new.dropoff_address,
        pickup_window_start=new.pickup_window[0] if new.pickup_window else None,
        pickup_window_end=new.pickup_window[1] if new.pickup_window else None,
        dropoff_window_start=new.dropoff_window[0] if new.dropoff_window else None,
        dropoff_window_end=new.dropoff_window[1] if new.dropoff_window else None,
        size=new.size,
        cod_amount=new.cod_amount,
        status=OrderStatus.PENDING.value,
    )
    try:
        # A savepoint contains a concurrent duplicate to this insert, not the whole transaction.
        async with session.begin_nested():
            session.add(order)
            await session.flush()
    except IntegrityError as exc:
        if "orders_seller_external_id_key" not in str(exc.orig):
            raise
        raise DuplicateObject("this seller already has an order with that external_id",
                              code="duplicate_external_id",
                              details={"external_id": new.external_id}) from None
    session.add(OrderEvent(order_id=order.id, type="created", from_status=None,
                           to_status=order.status, actor_id=actor.id))
    await session.flush()
    await tell_followers(session, OrderMoment(order, "created", actor.id, None,
                                              new.pickup_lat, new.pickup_lon))
    await session.flush()
    return order


async def _visibility(session: AsyncSession, user: User, query: Select) -> Select | None:
    """Restricts an order query to what `user` may see; None when it may see nothing."""
    if user.role in ("admin", "dispatcher"):
        return query
    if user.role == "seller":
        return query.where(Order.seller_id == user.id)
    if user.role == "buyer":
        return query.where(Order.buyer_id == user.id)
    if user.role == "courier":
        courier = await courier_of_user(session, user.id)
        if courier is None:
            return None
        offered = select(DispatchOffer.order_id).where(
            DispatchOffer.courier_id == courier.id, DispatchOffer.state == "pending")
        return query.where(or_(Order.courier_id == courier.id, Order.id.in_(offered)))
    return None


async def get_visible_order(session: AsyncSession, order_id: int, user: User, *,
                            for_update: bool = False) -> Order:
    """The order if `user` may see it; otherwise `NotFound` (existence is not leaked)."""
    query = await _visibility(session, user, select(Order).where(Order.id == order_id))
    if query is not None and for_update:
        query = query.with_for_update()
    order = None if query is None else await session.scalar(query)
    if order is None:
        raise NotFound(f"order {order_id} not found", details={"order_id": order_id})
    return order


async def list_visible_orders(session: AsyncSession, user: User, *, filters: OrderFilters,
                              after_id: int | None, limit: int) -> tuple[list[Order], int | None]:
    """A page of orders, newest first, and the id to continue after (keyset pagination)."""
    query = await _visibility(session, user, select(Order))
    if query is None:
        return [], None
    if filters.status:
        query = query.where(Order.status.in_(filters.status))
    if filters.courier_id is not None:
        query = query.where(Order.courier_id == filters.courier_id)
    if filters.seller_id is not None:
        query = query.where(Order.seller_id == filters.seller_id)
    if filters.buyer_id is not None:
        query = query.where(Order.buyer_id == filters.buyer_id)
    if filters.created_from is not None:
        query = query.where(Order.created_at >= filters.created_from)
    if filters.created_to is not None:
        query = query.where(Order.created_at < filters.created_to)
    if after_id is not None:
        query = query.where(Order.id < after_id)
    rows = list((await session.scalars(query.order_by(Order.id.desc()).limit(limit + 1))).all())
    if len(rows) > limit:
        return rows[:limit], rows[limit - 1].id
    return rows, None


async def order_events(session: AsyncSession, order_id: int) -> list[OrderEvent]:
    query = select(OrderEvent).where(OrderEvent.order_id == order_id).order_by(OrderEvent.id)
    return list((await session.scalars(query)).all())


async def lock_order(session: AsyncSession, order_id: int) -> Order | None:
    """The order row, locked for the rest of the transaction (`SELECT ... FOR UPDATE`), with
    no visibility rule: for callers that prove their right otherwise (a signed handoff token)."""
    return await session.scalar(select(Order).where(Order.id == order_id).with_for_update())


async def event_details_with(session: AsyncSession, order_id: int, key: str
                             ) -> list[dict[str, Any]]:
    """The `details` of the order's events that carry `key`, oldest first (for packages that
    record their own facts in the log, such as the hash of each handoff's ledger entry)."""
    rows = await session.scalars(select(OrderEvent.details).where(
        OrderEvent.order_id == order_id, OrderEvent.details.has_key(key)).order_by(OrderEvent.id))
    return [dict(details) for details in rows]


async def record_event(session: AsyncSession, order: Order, event_type: str, *,
                       actor: User | None, now: datetime,
                       details: dict[str, Any] | None = None) -> OrderEvent:
    """Logs something that happened to the order without moving it (a ticket opened or
    resolved): the event keeps the status as it is, so the log still ends in the order's
    status and the webhooks carry the event like any other."""
    event = OrderEvent(order_id=order.id, type=event_type, from_status=order.status,
                       to_status=order.status, actor_id=actor.id if actor else None,
                       courier_id=order.courier_id, at=now, details=details)
    session.add(event)
    await session.flush()
    return event


async def apply_action(session: AsyncSession, order: Order, action: Action, *, actor: User | None,
                       now: datetime, lat: float | None = None, lon: float | None = None,
                       courier_id: int | None = None, details: dict[str, Any] | None = None,
                       event_type: str | None = None) -> OrderEvent:
    """Moves `order` by `action` (or raises `IllegalTransition`) and logs the event."""
    before = order.status
    order.status = next_status(before, action).value
    order.updated_at = now
    event = OrderEvent(
        order_id=order.id, type=event_type or action.value, from_status=before,
        to_status=order.status, actor_id=actor.id if actor else None,
        courier_id=courier_id if courier_id is not None else order.courier_id,
        location=point_ewkt(lat, lon) if lat is not None and lon is not None else None,
        at=now, details=details,
    )
    session.add(event)
    await session.flush()
    await tell_followers(session, OrderMoment(order, action.value, actor.id if actor else None,
                                              now, lat, lon))
    return event


async def assign_order(session: AsyncSession, *, order_id: int, courier_id: int, actor: User,
                       now: datetime) -> Order:
    """A dispatcher's manual assignment (or reassignment) of an order to an on-shift courier."""
    order = await get_visible_order(session, order_id, actor, for_update=True)
    courier = await get_courier(session, courier_id)
    if courier.shift_state == "break":
        raise Conflict("the courier is on a break", code="courier_on_break",
                       details={"courier_id": courier_id})
    if courier.shift_state != "on":
        raise Conflict("the courier is not on shift", code="courier_off_shift",
                       details={"courier_id": courier_id})
    load = await session.scalar(select(func.coalesce(func.sum(Order.size), 0)).where(
        Order.courier_id == courier_id, Order.status.in_([s.value for s in ACTIVE_STATUSES]),
        Order.id != order.id))
    if int(load or 0) + order.size > courier.capacity:
        raise Conflict("the courier has no room for this order", code="courier_over_capacity",
                       details={"courier_id": courier_id, "capacity": courier.capacity,
                                "load": int(load or 0), "size": order.size})
    if order.status == OrderStatus.ASSIGNED and order.courier_id == courier_id:
        return order
    action = Action.REASSIGN if order.status == OrderStatus.ASSIGNED else Action.ASSIGN
    previous = order.courier_id
    order.courier_id = courier_id
    await apply_action(session, order, action, actor=actor, now=now, courier_id=courier_id,
                       details={"previous_courier_id": previous} if previous else None)
    return order


async def cancel_order(session: AsyncSession, *, order_id: int, actor: User, now: datetime,
                       reason: str | None) -> Order:
    order = await get_visible_order(session, order_id, actor, for_update=True)
    if actor.role not in ("admin", "dispatcher", "seller"):
        raise NotFound(f"order {order_id} not found", details={"order_id": order_id})
    await apply_action(session, order, Action.CANCEL, actor=actor, now=now,
                       details={"reason": reason} if reason else None)
    return order
