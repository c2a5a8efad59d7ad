"""Offers: a planned assignment the courier still has to accept.

Rules (the pure part is `offer_outcome`, `accept_possible` and `release_reopens_order`, which
the simulator's in-memory store applies as well; the rest applies them to the tables):

* an offer waits `offer_timeout_s`; an offer not answered by then counts as a decline
  (`expired`), and the order goes back to pending for the next cycle;
* a declined or expired order is never offered to that courier again — every offer keeps its
  row, and `(order_id, courier_id)` is unique in `dispatch_offers`;
* with a broadcast several couriers hold an offer for one order; the first accept wins and the
  other offers are withdrawn;
* a fleet with auto-accept gets its offers accepted on creation (the event log still shows
  the offer and the acceptance).

Service functions take the caller's session and flush; the caller commits the unit of work.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.exceptions import Conflict, NotFound
from dispatch.lifecycle import Action, OrderStatus, next_status
from dispatch.orders import apply_action
from dispatch.tables import Courier, DispatchOffer, Order, OrderEvent, PlannedStop, User
from dispatch.times import rfc3339

__all__ = [
    "OfferNotFound",
    "OfferClosed",
    "OfferExpired",
    "OfferOutcome",
    "offer_outcome",
    "accept_possible",
    "release_reopens_order",
    "offer_body",
    "offer_wire",
    "create_offer",
    "offer_orders",
    "accept_offer",
    "decline_offer",
    "expire_due_offers",
    "release_off_shift",
    "pending_offers",
    "offered_pairs",
    "next_expiry",
]


class OfferNotFound(NotFound):
    code = "offer_not_found"


class OfferClosed(Conflict):
    """The offer was already answered, withdrawn, or its order moved on."""

    code = "offer_closed"


class OfferExpired(Conflict):
    code = "offer_expired"


OfferOutcome = Literal["accept", "decline", "expire", "closed"]


def offer_outcome(*, state: str, expires_at: datetime, now: datetime,
                  response: Literal["accept", "decline"]) -> OfferOutcome:
    """What a courier's answer does: late answers count as expiry, answered offers are closed."""
    if state != "pending":
        return "closed"
    if now >= expires_at:
        return "expire"
    return response


def accept_possible(*, order_status: str, order_courier_id: int | None,
                    offer_courier_id: int) -> bool:
    """An accept takes the order only while it is on offer, and not promised to someone else
    (a broadcast leaves the courier empty until the first accept)."""
    return (order_status == OrderStatus.OFFERED
            and order_courier_id in (None, offer_courier_id))


def release_reopens_order(*, order_status: str, order_courier_id: int | None,
                          offer_courier_id: int, other_pending_offers: bool) -> bool:
    """After a decline or an expiry the order goes back to pending only when it was on offer to
    this courier alone (other couriers of a broadcast may still take it)."""
    return (order_status == OrderStatus.OFFERED
            and order_courier_id in (None, offer_courier_id) and not other_pending_offers)


def offer_body(*, offer_id: int, order_id: int, courier_id: int, state: str,
               expires_at: datetime, pickup: dict | None = None, dropoff: dict | None = None,
               size: int | None = None) -> dict:
    """An offer as `GET /offers` and the courier push show it."""
    body: dict = {"id": offer_id, "order_id": order_id, "courier_id": courier_id,
                  "state": state, "expires_at": rfc3339(expires_at)}
    if pickup is not None:
        body["pickup"], body["dropoff"], body["size"] = pickup, dropoff, size
    return body


def offer_wire(offer: DispatchOffer, order: Order | None = None) -> dict:
    """`offer_body` of a stored offer (and its order's places)."""
    from dispatch.locations import to_lat_lon

    if order is None:
        return offer_body(offer_id=offer.id, order_id=offer.order_id,
                          courier_id=offer.courier_id, state=offer.state,
                          expires_at=offer.expires_at)
    pickup, dropoff = to_lat_lon(order.pickup_location), to_lat_lon(order.dropoff_location)
    return offer_body(
        offer_id=offer.id, order_id=offer.order_id, courier_id=offer.courier_id,
        state=offer.state, expires_at=offer.expires_at,
        pickup={"lat": pickup.lat, "lon": pickup.lon, "address": order.pickup_address},
        dropoff={"lat": dropoff.lat, "lon": dropoff.lon, "address": order.dropoff_address},
        size=order.size)


@dataclass(frozen=True, slots=True)
class OfferResult:
    offer: DispatchOffer
    order: Order


async def offered_pairs(session: AsyncSession, *, order_ids: list[int] | None = None
                        ) -> frozenset[tuple[int, int]]:
    """Every `(order_id, courier_id)` ever offered: the planner must not offer them again."""
    query = select(DispatchOffer.order_id, DispatchOffer.courier_id)
    if order_ids is not None:
        query = query.where(DispatchOffer.order_id.in_(order_ids))
    return frozenset((o, c) for o, c in (await session.execute(query)).all())


async def create_offer(session: AsyncSession, *, order: Order, courier_id: int, now: datetime,
                       timeout_s: float, policy: str, auto_accept: bool = False,
                       broadcast: bool = False) -> DispatchOffer:
    """Offers a pending (or, for a broadcast, already offered) order to a courier.

    The order row must be locked by the caller. A broadcast leaves `order.courier_id` empty
    until someone accepts.
    """
    offer = DispatchOffer(order_id=order.id, courier_id=courier_id, state="pending",
                          policy=policy, created_at=now,
                          expires_at=now + timedelta(seconds=timeout_s))
    session.add(offer)
    await session.flush()
    if order.status == OrderStatus.PENDING:
        if not broadcast:
            order.courier_id = courier_id
        await apply_action(session, order, Action.OFFER, actor=None, now=now,
                           courier_id=courier_id,
                           details={"offer_id": offer.id, "policy": policy,
                                    "expires_at": rfc3339(offer.expires_at)})
    if auto_accept:
        await _accept(session, offer, order, now=now, actor=None, auto=True)
    return offer


async def offer_orders(session: AsyncSession, *, offers: list[tuple[Order, int]], now: datetime,
                       timeout_s: float, policy: str, auto_accept: bool = False
                       ) -> list[DispatchOffer]:
    """The planner's bulk path: offers many pending orders (rows locked by the caller) in two
    round trips instead of several per order; same rows and events as `create_offer`."""
    made = [DispatchOffer(order_id=order.id, courier_id=courier_id, state="pending",
                          policy=policy, created_at=now,
                          expires_at=now + timedelta(seconds=timeout_s))
            for order, courier_id in offers]
    session.add_all(made)
    await session.flush()
    for offer, (order, courier_id) in zip(made, offers, strict=True):
        steps = [(Action.OFFER, {"offer_id": offer.id, "policy": policy,
                                 "expires_at": rfc3339(offer.expires_at)})]
        if auto_accept:
            steps.append((Action.ACCEPT, {"offer_id": offer.id, "auto_accept": True}))
            offer.state, offer.responded_at = "accepted", now
        order.courier_id = courier_id
        for action, details in steps:
            before = order.status
            order.status = next_status(before, action).value
            session.add(OrderEvent(order_id=order.id, type=action.value, from_status=before,
                                   to_status=order.status, courier_id=courier_id, at=now,
                                   details=details))
        order.updated_at = now
    await session.flush()
    return made


async def _lock(session: AsyncSession, *, offer_id: int, courier_id: int
                ) -> tuple[DispatchOffer, Order]:
    offer = await session.scalar(select(DispatchOffer).where(
        DispatchOffer.id == offer_id, DispatchOffer.courier_id == courier_id).with_for_update())
    if offer is None:
        raise OfferNotFound(f"offer {offer_id} not found", details={"offer_id": offer_id})
    order = await session.scalar(select(Order).where(Order.id == offer.order_id)
                                 .with_for_update())
    return offer, order


async def _accept(session: AsyncSession, offer: DispatchOffer, order: Order, *, now: datetime,
                  actor: User | None, auto: bool = False) -> None:
    if not accept_possible(order_status=order.status, order_courier_id=order.courier_id,
                           offer_courier_id=offer.courier_id):
        offer.state, offer.responded_at = "withdrawn", now
        await session.flush()
        raise OfferClosed("the order is no longer on offer",
                          details={"offer_id": offer.id, "order_status": order.status})
    offer.state, offer.responded_at = "accepted", now
    order.courier_id = offer.courier_id
    await apply_action(session, order, Action.ACCEPT, actor=actor, now=now,
                       courier_id=offer.courier_id,
                       details={"offer_id": offer.id, "auto_accept": auto})
    await session.execute(
        update(DispatchOffer)
        .where(DispatchOffer.order_id == order.id, DispatchOffer.state == "pending",
               DispatchOffer.id != offer.id)
        .values(state="withdrawn", responded_at=now))
    await session.flush()


async def accept_offer(session: AsyncSession, *, offer_id: int, courier_id: int, now: datetime,
                       actor: User) -> OfferResult:
    """The courier takes the order. A late answer expires the offer (`OfferExpired`, after the
    expiry is flushed so the caller can commit it)."""
    offer, order = await _lock(session, offer_id=offer_id, courier_id=courier_id)
    outcome = offer_outcome(state=offer.state, expires_at=offer.expires_at, now=now,
                            response="accept")
    if outcome == "closed":
        raise OfferClosed(f"offer {offer_id} is {offer.state}",
                          details={"offer_id": offer_id, "state": offer.state})
    if outcome == "expire":
        await _release(session, offer, order, now=now, state="expired", actor=None)
        raise OfferExpired(f"offer {offer_id} expired", details={"offer_id": offer_id})
    await _accept(session, offer, order, now=now, actor=actor)
    return OfferResult(offer, order)


async def decline_offer(session: AsyncSession, *, offer_id: int, courier_id: int, now: datetime,
                        actor: User) -> OfferResult:
    """The courier says no; the order goes back to the planner, never to this courier again."""
    offer, order = await _lock(session, offer_id=offer_id, courier_id=courier_id)
    outcome = offer_outcome(state=offer.state, expires_at=offer.expires_at, now=now,
                            response="decline")
    if outcome == "closed":
        raise OfferClosed(f"offer {offer_id} is {offer.state}",
                          details={"offer_id": offer_id, "state": offer.state})
    await _release(session, offer, order, now=now,
                   state="expired" if outcome == "expire" else "declined", actor=actor)
    return OfferResult(offer, order)


async def _release(session: AsyncSession, offer: DispatchOffer, order: Order, *, now: datetime,
                   state: Literal["declined", "expired"], actor: User | None) -> None:
    offer.state, offer.responded_at = state, now
    others = await session.scalar(select(DispatchOffer.id).where(
        DispatchOffer.order_id == order.id, DispatchOffer.state == "pending",
        DispatchOffer.id != offer.id).limit(1))
    if release_reopens_order(order_status=order.status, order_courier_id=order.courier_id,
                             offer_courier_id=offer.courier_id,
                             other_pending_offers=others is not None):
        order.courier_id = None
        action = Action.EXPIRE if state == "expired" else Action.DECLINE
        await apply_action(session, order, action, actor=actor, now=now,
                           courier_id=offer.courier_id,
                           details={"offer_id": offer.id},
                           event_type="offer_expired" if state == "expired" else "declined")
    await session.execute(delete(PlannedStop).where(
        PlannedStop.courier_id == offer.courier_id, PlannedStop.order_id == order.id))
    await session.flush()


async def expire_due_offers(session: AsyncSession, *, now: datetime) -> list[DispatchOffer]:
    """Expires every pending offer past its deadline (counts as a decline)."""
    due = list((await session.scalars(
        select(DispatchOffer).where(DispatchOffer.state == "pending",
                                    DispatchOffer.expires_at <= now)
        .order_by(DispatchOffer.id).with_for_update(skip_locked=True))).all())
    for offer in due:
        order = await session.scalar(select(Order).where(Order.id == offer.order_id)
                                     .with_for_update())
        await _release(session, offer, order, now=now, state="expired", actor=None)
    return due


async def release_off_shift(session: AsyncSession, *, now: datetime) -> list[int]:
    """Work promised to couriers who went off shift goes back to the planner: their open
    offers are withdrawn and accepted orders not yet picked up are unassigned. Parcels they
    carry stay theirs. A courier on a break only loses the offers it has not answered; what
    it accepted stays its own. Returns the released order ids."""
    off_shift = (Courier.shift_state == "off") & Order.status.in_(
        [OrderStatus.OFFERED.value, OrderStatus.ASSIGNED.value])
    on_break = (Courier.shift_state == "break") & (Order.status == OrderStatus.OFFERED.value)
    orders = list((await session.scalars(
        select(Order).join(Courier, Courier.id == Order.courier_id)
        .where(off_shift | on_break)
        .order_by(Order.id).with_for_update(of=Order, skip_locked=True))).all())
    resting = set((await session.scalars(select(Courier.id).where(
        Courier.id.in_({o.courier_id for o in orders}), Courier.shift_state == "break"))).all())
    reasons = {courier_id: "courier_on_break" for courier_id in resting}
    for order in orders:
        courier_id = order.courier_id
        await session.execute(
            update(DispatchOffer)
            .where(DispatchOffer.order_id == order.id, DispatchOffer.state == "pending")
            .values(state="withdrawn", responded_at=now))
        order.courier_id = None
        if order.status == OrderStatus.OFFERED:
            await apply_action(session, order, Action.EXPIRE, actor=None, now=now,
                               courier_id=courier_id, event_type="offer_withdrawn",
                               details={"reason": reasons.get(courier_id,
                                                              "courier_off_shift")})
        else:
            await apply_action(session, order, Action.UNASSIGN, actor=None, now=now,
                               courier_id=courier_id, details={"reason": "courier_off_shift"})
        await session.execute(delete(PlannedStop).where(PlannedStop.courier_id == courier_id,
                                                        PlannedStop.order_id == order.id))
    await session.flush()
    return [o.id for o in orders]


async def pending_offers(session: AsyncSession, *, courier_id: int, now: datetime,
                         after_id: int | None = None, limit: int | None = None
                         ) -> list[DispatchOffer]:
    """The offers waiting for this courier's answer, oldest first (not those whose order a
    dispatcher has meanwhile assigned or cancelled)."""
    query = (select(DispatchOffer).join(Order, Order.id == DispatchOffer.order_id).where(
        DispatchOffer.courier_id == courier_id, DispatchOffer.state == "pending",
        DispatchOffer.expires_at > now, Order.status == OrderStatus.OFFERED.value)
        .order_by(DispatchOffer.id))
    if after_id is not None:
        query = query.where(DispatchOffer.id > after_id)
    if limit is not None:
        query = query.limit(limit)
    return list((await session.scalars(query)).all())


async def next_expiry(session: AsyncSession) -> datetime | None:
    """When the next pending offer runs out (the leader wakes up then)."""
    return await session.scalar(select(DispatchOffer.expires_at)
                                .where(DispatchOffer.state == "pending")
                                .order_by(DispatchOffer.expires_at).limit(1))
