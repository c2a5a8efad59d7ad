"""The dispatch package's tables: people, couriers, pickup places, orders and their log, offers,
planned stops, fleet settings, leadership, buyer tracking links and webhooks.

Geometries are PostGIS `geography` in WGS84 (SRID 4326). The schema itself is created by the
Alembic migrations in `api/migrations`; these mappings must match them (a test checks).
Packages above dispatch may map their tables on the same `DispatchBase` when their rows point
at orders or users.

* `dispatch_offers` — one row per (order, courier) ever offered. The unique constraint on the
  pair is what makes "a declined order is never offered to that courier again" hold, even
  across planner restarts and concurrent workers.
* `planned_stops` — each on-shift courier's current stop sequence with ETAs (the planner
  replaces a courier's rows in the same transaction that changes its orders).
* `fleet_settings` — per-fleet switches the dispatcher changes at run time (auto-accept).
* `dispatch_leadership` — one row whose `epoch` grows at every election: the fencing token a
  planner checks before it writes, so a deposed leader cannot apply a stale plan.
* `tracking_links` — buyer tracking links handed out, so they can be revoked (migration
  `0007_tracking_links`).
* `webhook_endpoints`, `webhook_outbox`, `webhook_deliveries`, `webhook_cursor` — order status
  webhooks: endpoints, the per-endpoint outbox, the delivery log, and how far the order event
  log has been fanned out.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from geoalchemy2 import Geography
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = [
    "DispatchBase",
    "User",
    "Courier",
    "PickupPlace",
    "Order",
    "OrderEvent",
    "IdempotencyRecord",
    "ROLES",
    "VEHICLES",
    "OFFER_STATES",
    "DispatchOffer",
    "PlannedStop",
    "TrackingLink",
    "FleetSettings",
    "DispatchLeadership",
    "WebhookEndpoint",
    "WebhookOutbox",
    "WebhookDelivery",
    "WebhookCursor",
]

ROLES = ("admin", "dispatcher", "seller", "courier", "buyer")
VEHICLES = ("foot", "bicycle", "scooter", "car")
SHIFT_STATES = ("off", "on", "break")
OFFER_STATES = ("pending", "accepted", "declined", "expired", "withdrawn")


def _point() -> Geography:
    return Geography(geometry_type="POINT", srid=4326, spatial_index=False)


class DispatchBase(DeclarativeBase):
    pass


class User(DispatchBase):
    __tablename__ = "users"
    __table_args__ = (CheckConstraint(f"role IN {ROLES}", name="users_role_check"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(Text)
    is_active: Mapped[bool] = mapped_column(default=True)
    #: Access tokens name the version they were issued at; raising it (sign-out, a new
    #: password, disabling the account) revokes every token issued before.
    token_version: Mapped[int] = mapped_column(default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Courier(DispatchBase):
    __tablename__ = "couriers"
    __table_args__ = (
        CheckConstraint(f"vehicle IN {VEHICLES}", name="couriers_vehicle_check"),
        CheckConstraint(f"shift_state IN {SHIFT_STATES}", name="couriers_shift_state_check"),
        CheckConstraint("capacity > 0", name="couriers_capacity_check"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), unique=True)
    name: Mapped[str] = mapped_column(String(80))
    vehicle: Mapped[str] = mapped_column(String(16))
    capacity: Mapped[int] = mapped_column(Integer)
    shift_state: Mapped[str] = mapped_column(String(8), default="off")
    shift_started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    shift_ends_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    #: Zones this courier works in; empty means every zone.
    zone_ids: Mapped[list[int]] = mapped_column(ARRAY(BigInteger), default=list)
    last_location = mapped_column(_point(), nullable=True)
    last_seen_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class PickupPlace(DispatchBase):
    """A seller's shop or warehouse where couriers collect parcels."""

    __tablename__ = "pickup_places"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    seller_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    address: Mapped[str | None] = mapped_column(Text)
    location = mapped_column(_point(), nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Order(DispatchBase):
    __tablename__ = "orders"
    __table_args__ = (
        UniqueConstraint("seller_id", "external_id", name="orders_seller_external_id_key"),
        CheckConstraint("size > 0", name="orders_size_check"),
        CheckConstraint("cod_amount IS NULL OR cod_amount >= 0", name="orders_cod_check"),
        CheckConstraint(
            "pickup_window_start IS NULL OR pickup_window_end IS NULL "
            "OR pickup_window_start < pickup_window_end",
            name="orders_pickup_window_check",
        ),
        CheckConstraint(
            "dropoff_window_start IS NULL OR dropoff_window_end IS NULL "
            "OR dropoff_window_start < dropoff_window_end",
            name="orders_dropoff_window_check",
        ),
        Index("orders_status_idx", "status"),
        Index("orders_courier_idx", "courier_id"),
        Index("orders_buyer_idx", "buyer_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    seller_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    external_id: Mapped[str | None] = mapped_column(String(120))
    buyer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    pickup_place_id: Mapped[int | None] = mapped_column(ForeignKey("pickup_places.id"))
    pickup_location = mapped_column(_point(), nullable=False)
    pickup_address: Mapped[str | None] = mapped_column(Text)
    dropoff_location = mapped_column(_point(), nullable=False)
    dropoff_address: Mapped[str | None] = mapped_column(Text)
    pickup_window_start: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    pickup_window_end: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    dropoff_window_start: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    dropoff_window_end: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    size: Mapped[int] = mapped_column(Integer, default=1)
    cod_amount: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    courier_id: Mapped[int | None] = mapped_column(ForeignKey("couriers.id"))
    pickup_eta: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    dropoff_eta: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    #: Why the planner could not serve the order (e.g. window impossible); null when servable.
    unservable_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class OrderEvent(DispatchBase):
    """Append-only log of everything that happened to an order (a trigger forbids edits)."""

    __tablename__ = "order_events"
    __table_args__ = (Index("order_events_order_idx", "order_id", "id"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"))
    type: Mapped[str] = mapped_column(String(32))
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str | None] = mapped_column(String(16))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    courier_id: Mapped[int | None] = mapped_column(BigInteger)
    location = mapped_column(_point(), nullable=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    details: Mapped[dict[str, Any] | None] = mapped_column(JSONB)


class IdempotencyRecord(DispatchBase):
    """The first answer to a request carrying an `Idempotency-Key`, replayed on retries."""

    __tablename__ = "idempotency_keys"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    response: Mapped[dict[str, Any]] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class AuditEntry(DispatchBase):
    """One staff action (a dispatcher's or admin's): who did what to which object, and when.

    Written in the same transaction as the action itself, so the log never shows an action that
    did not happen, nor misses one that did. Append-only from the service's side.
    """

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_target", "target_type", "target_id"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    actor_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    actor_role: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(40))
    target_type: Mapped[str] = mapped_column(String(20))
    target_id: Mapped[int | None] = mapped_column(BigInteger)
    details: Mapped[dict[str, Any] | None] = mapped_column(JSONB)



class DispatchOffer(DispatchBase):
    __tablename__ = "dispatch_offers"
    __table_args__ = (
        UniqueConstraint("order_id", "courier_id", name="dispatch_offers_order_courier_key"),
        CheckConstraint(f"state IN {OFFER_STATES}", name="dispatch_offers_state_check"),
        Index("dispatch_offers_courier_state_idx", "courier_id", "state"),
        Index("dispatch_offers_pending_expiry_idx", "expires_at",
              postgresql_where="state = 'pending'"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"))
    courier_id: Mapped[int] = mapped_column(ForeignKey("couriers.id"))
    state: Mapped[str] = mapped_column(String(16), default="pending")
    policy: Mapped[str] = mapped_column(String(16), default="batch")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    responded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class PlannedStop(DispatchBase):
    __tablename__ = "planned_stops"
    __table_args__ = (
        CheckConstraint("kind IN ('pickup', 'dropoff')", name="planned_stops_kind_check"),
        Index("planned_stops_order_idx", "order_id"),
    )

    courier_id: Mapped[int] = mapped_column(ForeignKey("couriers.id"), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"))
    kind: Mapped[str] = mapped_column(String(8))
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    eta: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    planned_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class FleetSettings(DispatchBase):
    __tablename__ = "fleet_settings"

    fleet: Mapped[str] = mapped_column(String(40), primary_key=True)
    auto_accept: Mapped[bool] = mapped_column(Boolean, default=False)
    policy: Mapped[str | None] = mapped_column(String(16))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class DispatchLeadership(DispatchBase):
    __tablename__ = "dispatch_leadership"
    __table_args__ = (CheckConstraint("id = 1", name="dispatch_leadership_single_row"),)

    id: Mapped[int] = mapped_column(SmallInteger, primary_key=True, default=1)
    epoch: Mapped[int] = mapped_column(BigInteger, default=0)
    holder: Mapped[str | None] = mapped_column(Text)
    elected_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class WebhookEndpoint(DispatchBase):
    __tablename__ = "webhook_endpoints"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    #: Only this seller's orders are sent; null sends every order (registered by staff).
    seller_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    url: Mapped[str] = mapped_column(Text)
    secret: Mapped[str] = mapped_column(Text)
    #: Event types to send (order event `type`s); empty sends all.
    event_types: Mapped[list[str]] = mapped_column(ARRAY(String(32)), default=list)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class WebhookOutbox(DispatchBase):
    __tablename__ = "webhook_outbox"
    __table_args__ = (
        UniqueConstraint("endpoint_id", "order_event_id", name="webhook_outbox_endpoint_event_key"),
        CheckConstraint("state IN ('pending', 'delivered', 'failed')",
                        name="webhook_outbox_state_check"),
        Index("webhook_outbox_due_idx", "next_attempt_at", postgresql_where="state = 'pending'"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("webhook_endpoints.id"))
    order_event_id: Mapped[int] = mapped_column(BigInteger)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
    state: Mapped[str] = mapped_column(String(12), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class WebhookDelivery(DispatchBase):
    """The delivery log: one row per HTTP attempt, successful or not."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (Index("webhook_deliveries_outbox_idx", "outbox_id"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    outbox_id: Mapped[int] = mapped_column(ForeignKey("webhook_outbox.id"))
    attempt: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    duration_ms: Mapped[float] = mapped_column(Float)


class WebhookCursor(DispatchBase):
    """How far `order_events` has been fanned out into the outbox (a single row)."""

    __tablename__ = "webhook_cursor"
    __table_args__ = (CheckConstraint("id = 1", name="webhook_cursor_single_row"),)

    id: Mapped[int] = mapped_column(SmallInteger, primary_key=True, default=1)
    last_event_id: Mapped[int] = mapped_column(BigInteger, default=0)


class TrackingLink(DispatchBase):
    """A buyer tracking link handed out for an order (migration `0007_tracking_links`)."""

    __tablename__ = "tracking_links"
    __table_args__ = (Index("tracking_links_order_idx", "order_id"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
