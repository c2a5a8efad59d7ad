"""Turning stored rows into API bodies (one place, so every endpoint shows the same shape)."""

from __future__ import annotations

from datetime import UTC, datetime

from api import schemas
from dispatch.availability import Availability
from dispatch.locations import to_lat_lon
from dispatch.tables import Courier, Order, OrderEvent, User

__all__ = ["user_out", "courier_out", "order_out", "event_out"]


def _point(value: object) -> schemas.Point | None:
    lat_lon = to_lat_lon(value)
    return None if lat_lon is None else schemas.Point(lat=lat_lon.lat, lon=lat_lon.lon)


def user_out(user: User, *, courier_id: int | None = None) -> schemas.UserOut:
    return schemas.UserOut(id=user.id, name=user.name, role=user.role, is_active=user.is_active,
                           created_at=user.created_at, courier_id=courier_id)


def courier_out(courier: Courier, availability: Availability | None = None
                ) -> schemas.CourierOut:
    return schemas.CourierOut(
        id=courier.id, user_id=courier.user_id, name=courier.name, vehicle=courier.vehicle,
        capacity=courier.capacity, shift_state=courier.shift_state,
        shift_started_at=courier.shift_started_at, shift_ends_at=courier.shift_ends_at,
        zone_ids=list(courier.zone_ids or []), last_location=_point(courier.last_location),
        last_seen_at=courier.last_seen_at,
        availability=None if availability is None else schemas.CourierAvailabilityOut(
            state=availability.state, online=availability.online,
            connected=availability.connected,
            last_seen_at=(None if availability.last_seen_s is None
                          else datetime.fromtimestamp(availability.last_seen_s, UTC)),
            age_s=availability.age_s, takes_new_work=availability.takes_new_work),
    )


def event_out(event: OrderEvent) -> schemas.EventOut:
    return schemas.EventOut(
        id=event.id, type=event.type, from_status=event.from_status, to_status=event.to_status,
        actor_id=event.actor_id, courier_id=event.courier_id, at=event.at,
        location=_point(event.location), details=event.details,
    )


def _window(start, end) -> schemas.WindowOut | None:
    return None if start is None or end is None else schemas.WindowOut(start=start, end=end)


def order_out(order: Order, events: list[OrderEvent] | None = None) -> schemas.OrderOut:
    pickup = to_lat_lon(order.pickup_location)
    dropoff = to_lat_lon(order.dropoff_location)
    return schemas.OrderOut(
        id=order.id, external_id=order.external_id, status=order.status,
        seller_id=order.seller_id, buyer_id=order.buyer_id, courier_id=order.courier_id,
        pickup=schemas.Place(lat=pickup.lat, lon=pickup.lon, address=order.pickup_address),
        dropoff=schemas.Place(lat=dropoff.lat, lon=dropoff.lon, address=order.dropoff_address),
        pickup_window=_window(order.pickup_window_start, order.pickup_window_end),
        dropoff_window=_window(order.dropoff_window_start, order.dropoff_window_end),
        size=order.size, cod_amount=order.cod_amount, pickup_eta=order.pickup_eta,
        dropoff_eta=order.dropoff_eta, unservable_reason=order.unservable_reason,
        created_at=order.created_at, updated_at=order.updated_at,
        events=None if events is None else [event_out(e) for e in events],
    )
