"""Tables of the dispatch engine: offers, planned stops, fleet settings, leadership, webhooks.

They sit on `DispatchBase` next to orders and couriers; the schema is created by the Alembic
migration `0004_dispatch`, which these mappings must match.

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
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from dispatch.models import DispatchBase

__all__ = [
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

OFFER_STATES = ("pending", "accepted", "declined", "expired", "withdrawn")


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
