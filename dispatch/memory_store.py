"""Dispatch state in memory: the simulator's `dispatch.cycle.DispatchStore`.

It holds what the PostgreSQL tables hold — orders with their event log, couriers, offers,
planned routes, the fleet settings — and changes them by the same rules: every status change
through the pure state machine (`dispatch.lifecycle.next_status`), offers answered by
`dispatch.offers`' pure rules (`offer_outcome`, `accept_possible`, `release_reopens_order`),
decisions applied through `dispatch.effects.resolve_effects`, routes and pushes through
`dispatch.cycle`. What the service's routers do on a request (create an order, start a shift,
accept an offer, report an arrival, record a handoff) are methods here, so a simulated courier
and seller act on this store as their apps act on the service.

Times are the caller's (a simulation's virtual clock); nothing here reads a clock. Single
threaded: one simulation drives one store.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from dispatch.cycle import (
    ETA_WRITE_THRESHOLD_S,
    AppliedCycle,
    LoadedState,
    route_messages,
    routes_with_etas,
)
from dispatch.effects import OrderVersion, resolve_effects, touched_orders
from dispatch.exceptions import Conflict, NotFound
from dispatch.lifecycle import PLANNED_STATUSES, Action, OrderStatus, next_status
from dispatch.offers import (
    OfferClosed,
    OfferExpired,
    OfferNotFound,
    accept_possible,
    offer_body,
    offer_outcome,
    release_reopens_order,
)
from dispatch.planning import CourierState, Decision, OrderState, Snapshot
from dispatch.routes import LIVE_STATUSES, RouteStop
from dispatch.times import rfc3339

__all__ = ["MemoryDispatchStore", "MemOrder", "MemCourier", "MemOffer", "MemEvent",
           "OPEN_STATUSES"]

#: Orders the planner looks at (as `dispatch.state_store` loads them).
OPEN_STATUSES = PLANNED_STATUSES


@dataclass(frozen=True, slots=True)
class MemEvent:
    type: str
    from_status: str | None
    to_status: str
    courier_id: int | None
    at: datetime
    details: dict[str, Any] | None = None


@dataclass
class MemOrder:
    id: int
    pickup: tuple[float, float]  # (lat, lon)
    dropoff: tuple[float, float]
    created_at: datetime
    size: int = 1
    pickup_window: tuple[datetime | None, datetime | None] | None = None
    dropoff_window: tuple[datetime | None, datetime | None] | None = None
    status: str = OrderStatus.PENDING.value
    courier_id: int | None = None
    updated_at: datetime | None = None
    unservable_reason: str | None = None
    pickup_eta: datetime | None = None
    dropoff_eta: datetime | None = None
    events: list[MemEvent] = field(default_factory=list)

    @property
    def version(self) -> OrderVersion:
        return OrderVersion(self.status, self.courier_id, self.updated_at or self.created_at)


@dataclass
class MemCourier:
    id: int
    vehicle: str
    capacity: int
    shift_state: Literal["on", "off"] = "off"
    lat: float | None = None
    lon: float | None = None
    #: When the courier reaches (lat, lon), if it may not be diverted on its way there.
    available_at: datetime | None = None
    shift_ends_at: datetime | None = None
    last_pickup_at: datetime | None = None


@dataclass
class MemOffer:
    id: int
    order_id: int
    courier_id: int
    created_at: datetime
    expires_at: datetime
    policy: str
    state: str = "pending"
    responded_at: datetime | None = None


def _window(window: tuple[datetime | None, datetime | None] | None,
            now: datetime) -> tuple[float, float] | None:
    if window is None:
        return None
    start, end = window
    return ((start - now).total_seconds() if start else -math.inf,
            (end - now).total_seconds() if end else math.inf)


class MemoryDispatchStore:
    """Orders, couriers, offers and routes as objects; see the module docstring."""

    def __init__(self, *, auto_accept: bool | None = None, policy: str | None = None) -> None:
        self.orders: dict[int, MemOrder] = {}
        self.couriers: dict[int, MemCourier] = {}
        self.offers: dict[int, MemOffer] = {}
        self.routes: dict[int, list[RouteStop]] = {}
        #: The fleet settings row (`fleet_settings`): None defers to the planner's config.
        self.auto_accept = auto_accept
        self.policy = policy
        self._next_order = 1
        self._next_offer = 1

    # --- what the apps do ------------------------------------------------------------------

    def add_courier(self, courier_id: int, *, vehicle: str, capacity: int) -> MemCourier:
        courier = MemCourier(courier_id, vehicle, capacity)
        self.couriers[courier_id] = courier
        return courier

    def start_shift(self, courier_id: int, *, lat: float, lon: float,
                    ends_at: datetime | None = None,
                    last_pickup_at: datetime | None = None) -> None:
        courier = self.couriers[courier_id]
        courier.shift_state, courier.lat, courier.lon = "on", lat, lon
        courier.shift_ends_at, courier.last_pickup_at = ends_at, last_pickup_at
        courier.available_at = None

    def end_shift(self, courier_id: int) -> None:
        self.couriers[courier_id].shift_state = "off"

    def set_position(self, courier_id: int, *, lat: float, lon: float,
                     available_at: datetime | None = None) -> None:
        """Where the courier is (or, with `available_at`, where it will next be free)."""
        courier = self.couriers[courier_id]
        courier.lat, courier.lon, courier.available_at = lat, lon, available_at

    def create_order(self, *, pickup: tuple[float, float], dropoff: tuple[float, float],
                     now: datetime, size: int = 1,
                     pickup_window: tuple[datetime | None, datetime | None] | None = None,
                     dropoff_window: tuple[datetime | None, datetime | None] | None = None,
                     order_id: int | None = None) -> MemOrder:
        order_id = self._next_order if order_id is None else order_id
        if order_id in self.orders:
            raise Conflict(f"order {order_id} exists", code="duplicate_order")
        self._next_order = max(self._next_order, order_id + 1)
        order = MemOrder(order_id, pickup, dropoff, now, size, pickup_window, dropoff_window,
                         updated_at=now)
        order.events.append(MemEvent("created", None, order.status, None, now))
        self.orders[order_id] = order
        return order

    def apply_action(self, order_id: int, action: Action, *, now: datetime,
                     courier_id: int | None = None, details: dict[str, Any] | None = None,
                     event_type: str | None = None) -> MemOrder:
        """Moves the order by `action` through the state machine and logs the event."""
        order = self._order(order_id)
        before = order.status
        order.status = next_status(before, action).value
        order.updated_at = now
        order.events.append(MemEvent(event_type or action.value, before, order.status,
                                     courier_id if courier_id is not None else order.courier_id,
                                     now, details))
        return order

    def report(self, order_id: int, action: Action, *, courier_id: int,
               now: datetime) -> MemOrder:
        """The assigned courier reports progress (arrivals, and the handoffs its scans prove)."""
        order = self._order(order_id)
        if order.courier_id != courier_id:
            raise NotFound(f"order {order_id} not found", details={"order_id": order_id})
        return self.apply_action(order_id, action, now=now, courier_id=courier_id)

    def cancel(self, order_id: int, *, now: datetime) -> MemOrder:
        return self.apply_action(order_id, Action.CANCEL, now=now)

    def pending_offers(self, courier_id: int, *, now: datetime) -> list[MemOffer]:
        return [o for o in self.offers.values()
                if o.courier_id == courier_id and o.state == "pending" and o.expires_at > now
                and self.orders[o.order_id].status == OrderStatus.OFFERED]

    def accept_offer(self, offer_id: int, *, courier_id: int, now: datetime) -> MemOrder:
        """As `dispatch.offers.accept_offer`: a late answer expires the offer."""
        offer = self._offer(offer_id, courier_id)
        order = self.orders[offer.order_id]
        outcome = offer_outcome(state=offer.state, expires_at=offer.expires_at, now=now,
                                response="accept")
        if outcome == "closed":
            raise OfferClosed(f"offer {offer_id} is {offer.state}",
                              details={"offer_id": offer_id, "state": offer.state})
        if outcome == "expire":
            self._release(offer, order, now=now, state="expired")
            raise OfferExpired(f"offer {offer_id} expired", details={"offer_id": offer_id})
        self._accept(offer, order, now=now)
        return order

    def decline_offer(self, offer_id: int, *, courier_id: int, now: datetime) -> MemOrder:
        offer = self._offer(offer_id, courier_id)
        order = self.orders[offer.order_id]
        outcome = offer_outcome(state=offer.state, expires_at=offer.expires_at, now=now,
                                response="decline")
        if outcome == "closed":
            raise OfferClosed(f"offer {offer_id} is {offer.state}",
                              details={"offer_id": offer_id, "state": offer.state})
        self._release(offer, order, now=now,
                      state="expired" if outcome == "expire" else "declined")
        return order

    def route(self, courier_id: int) -> list[RouteStop]:
        """The courier's planned stops, without finished or cancelled orders."""
        return [s for s in self.routes.get(courier_id, ())
                if self.orders[s.order_id].status in LIVE_STATUSES]

    # --- the dispatch cycle's port ---------------------------------------------------------

    async def prepare(self, *, now: datetime, fence_epoch: int | None
                      ) -> tuple[int, list[int]]:
        expired = 0
        for offer in sorted(self.offers.values(), key=lambda o: o.id):
            if offer.state == "pending" and offer.expires_at <= now:
                self._release(offer, self.orders[offer.order_id], now=now, state="expired")
                expired += 1
        return expired, self._release_off_shift(now=now)

    async def load(self, *, now: datetime) -> LoadedState:
        couriers = []
        for c in sorted(self.couriers.values(), key=lambda c: c.id):
            if c.shift_state != "on" or c.lat is None or c.lon is None:
                continue
            couriers.append(CourierState(
                c.id, c.vehicle, c.capacity, c.lat, c.lon,
                (c.shift_ends_at - now).total_seconds() if c.shift_ends_at else math.inf,
                available_in_s=(c.available_at - now).total_seconds()
                if c.available_at else 0.0,
                last_pickup_s=(c.last_pickup_at - now).total_seconds()
                if c.last_pickup_at else math.inf))
        orders, versions = [], {}
        for o in sorted(self.orders.values(), key=lambda o: o.id):
            if o.status not in OPEN_STATUSES:
                continue
            orders.append(OrderState(
                o.id, o.status, o.courier_id, o.pickup[0], o.pickup[1], o.dropoff[0],
                o.dropoff[1], o.size, _window(o.pickup_window, now),
                _window(o.dropoff_window, now), frozenset(),
                max(0.0, (now - o.created_at).total_seconds())))
            versions[o.id] = o.version
        open_ids = set(versions)
        excluded = frozenset((o.order_id, o.courier_id) for o in self.offers.values()
                             if o.order_id in open_ids)
        previous = {c: tuple((s.order_id, s.kind) for s in stops)
                    for c, stops in self.routes.items() if stops}
        etas = {c: tuple(s.eta for s in stops) for c, stops in self.routes.items() if stops}
        snapshot = Snapshot(tuple(couriers), tuple(orders), previous, excluded,
                            zones_defined=False, at_s=now.timestamp())
        return LoadedState(snapshot, now, versions, etas, self.auto_accept, self.policy)

    async def apply(self, *, loaded: LoadedState, decision: Decision, policy: str,
                    auto_accept: bool, offer_timeout_s: float,
                    fence_epoch: int | None) -> AppliedCycle:
        now = loaded.now
        touched = touched_orders(decision)
        effects = resolve_effects(
            decision, loaded_versions=loaded.versions, auto_accept=auto_accept,
            current={oid: self.orders[oid].version for oid in touched if oid in self.orders})
        applied = AppliedCycle(skipped_changed=effects.skipped_changed)

        def offer(order: MemOrder, courier_id: int, *, broadcast: bool = False) -> None:
            made = self._create_offer(order, courier_id, now=now, timeout_s=offer_timeout_s,
                                      policy=policy, auto_accept=auto_accept,
                                      broadcast=broadcast)
            applied.offers.append({"id": made.id, "order_id": order.id,
                                   "courier_id": courier_id, "state": made.state})
            applied.assigned += made.state == "accepted"
            applied.messages.append((courier_id, {"type": "offer",
                                                  "offer": self.offer_wire(made)}))

        for order_id, from_courier, to_courier in effects.reassignments:
            order = self.orders[order_id]
            order.courier_id = None
            self.apply_action(order_id, Action.UNASSIGN, now=now, courier_id=from_courier,
                              details={"reason": "replanned", "next_courier_id": to_courier})
            offer(order, to_courier)
            applied.reassigned += 1
            applied.messages.append((from_courier, {"type": "withdrawn",
                                                    "order_id": order_id}))
        for order_id, courier_id in effects.offers:
            offer(self.orders[order_id], courier_id)
        for order_id, couriers, broadcast in effects.broadcasts:
            for courier_id in couriers:
                offer(self.orders[order_id], courier_id, broadcast=broadcast)
        for order_id, reason in effects.unservable.items():
            self.orders[order_id].unservable_reason = reason
            applied.unservable[order_id] = reason
        for order_id in effects.planned:
            self.orders[order_id].unservable_reason = None

        routes = routes_with_etas(effects.routes, now=now)
        for stops in routes.values():
            for stop in stops:
                order = self.orders[stop.order_id]
                name = "pickup_eta" if stop.kind == "pickup" else "dropoff_eta"
                before = getattr(order, name)
                if before is None or abs((before - stop.eta).total_seconds()) > \
                        ETA_WRITE_THRESHOLD_S:
                    setattr(order, name, stop.eta)
        for courier in loaded.snapshot.couriers:
            self.routes[courier.id] = routes.get(courier.id, [])
        pushes = route_messages(loaded, routes)
        applied.messages.extend(pushes)
        applied.routes_pushed = len(pushes)
        return applied

    async def next_expiry(self) -> datetime | None:
        pending = [o.expires_at for o in self.offers.values() if o.state == "pending"]
        return min(pending) if pending else None

    # --- offers, by the rules of `dispatch.offers` ------------------------------------------

    def offer_wire(self, offer: MemOffer) -> dict:
        order = self.orders[offer.order_id]
        return offer_body(
            offer_id=offer.id, order_id=offer.order_id, courier_id=offer.courier_id,
            state=offer.state, expires_at=offer.expires_at,
            pickup={"lat": order.pickup[0], "lon": order.pickup[1], "address": None},
            dropoff={"lat": order.dropoff[0], "lon": order.dropoff[1], "address": None},
            size=order.size)

    def _create_offer(self, order: MemOrder, courier_id: int, *, now: datetime,
                      timeout_s: float, policy: str, auto_accept: bool,
                      broadcast: bool) -> MemOffer:
        offer = MemOffer(self._next_offer, order.id, courier_id, now,
                         now + timedelta(seconds=timeout_s), policy)
        self._next_offer += 1
        self.offers[offer.id] = offer
        if order.status == OrderStatus.PENDING:
            if not broadcast:
                order.courier_id = courier_id
            self.apply_action(order.id, Action.OFFER, now=now, courier_id=courier_id,
                              details={"offer_id": offer.id, "policy": policy,
                                       "expires_at": rfc3339(offer.expires_at)})
        if auto_accept:
            self._accept(offer, order, now=now, auto=True)
        return offer

    def _accept(self, offer: MemOffer, order: MemOrder, *, now: datetime,
                auto: bool = False) -> None:
        if not accept_possible(order_status=order.status, order_courier_id=order.courier_id,
                               offer_courier_id=offer.courier_id):
            offer.state, offer.responded_at = "withdrawn", now
            raise OfferClosed("the order is no longer on offer",
                              details={"offer_id": offer.id, "order_status": order.status})
        offer.state, offer.responded_at = "accepted", now
        order.courier_id = offer.courier_id
        self.apply_action(order.id, Action.ACCEPT, now=now, courier_id=offer.courier_id,
                          details={"offer_id": offer.id, "auto_accept": auto})
        for other in self.offers.values():
            if other.order_id == order.id and other.state == "pending" and other.id != offer.id:
                other.state, other.responded_at = "withdrawn", now

    def _release(self, offer: MemOffer, order: MemOrder, *, now: datetime,
                 state: Literal["declined", "expired"]) -> None:
        offer.state, offer.responded_at = state, now
        others = any(o.order_id == order.id and o.state == "pending" and o.id != offer.id
                     for o in self.offers.values())
        if release_reopens_order(order_status=order.status, order_courier_id=order.courier_id,
                                 offer_courier_id=offer.courier_id,
                                 other_pending_offers=others):
            order.courier_id = None
            self.apply_action(order.id, Action.EXPIRE if state == "expired" else Action.DECLINE,
                              now=now, courier_id=offer.courier_id,
                              details={"offer_id": offer.id},
                              event_type="offer_expired" if state == "expired" else "declined")
        self._drop_stops(offer.courier_id, [order.id])

    def _release_off_shift(self, *, now: datetime) -> list[int]:
        released = []
        for order in sorted(self.orders.values(), key=lambda o: o.id):
            if order.status not in (OrderStatus.OFFERED, OrderStatus.ASSIGNED):
                continue
            courier = self.couriers.get(order.courier_id) if order.courier_id else None
            if courier is None or courier.shift_state != "off":
                continue
            courier_id = order.courier_id
            for offer in self.offers.values():
                if offer.order_id == order.id and offer.state == "pending":
                    offer.state, offer.responded_at = "withdrawn", now
            order.courier_id = None
            if order.status == OrderStatus.OFFERED:
                self.apply_action(order.id, Action.EXPIRE, now=now, courier_id=courier_id,
                                  event_type="offer_withdrawn",
                                  details={"reason": "courier_off_shift"})
            else:
                self.apply_action(order.id, Action.UNASSIGN, now=now, courier_id=courier_id,
                                  details={"reason": "courier_off_shift"})
            self._drop_stops(courier_id, [order.id])
            released.append(order.id)
        return released

    def _drop_stops(self, courier_id: int | None, order_ids: Iterable[int]) -> None:
        if courier_id is None or courier_id not in self.routes:
            return
        gone = set(order_ids)
        self.routes[courier_id] = [s for s in self.routes[courier_id] if s.order_id not in gone]

    def _order(self, order_id: int) -> MemOrder:
        try:
            return self.orders[order_id]
        except KeyError:
            raise NotFound(f"order {order_id} not found",
                           details={"order_id": order_id}) from None

    def _offer(self, offer_id: int, courier_id: int) -> MemOffer:
        offer = self.offers.get(offer_id)
        if offer is None or offer.courier_id != courier_id:
            raise OfferNotFound(f"offer {offer_id} not found", details={"offer_id": offer_id})
        return offer
