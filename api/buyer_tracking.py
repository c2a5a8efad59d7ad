"""What a buyer's tracking link shows, read from the order, the courier's planned stops and
the live positions: shared by `GET /api/v1/public/track/{token}` and `/ws/track/{token}`.

The privacy rule is `dispatch.tracking_links.courier_visible`. The courier's position comes
from tracking's live store (`LiveStore.position`), or from `couriers.last_location` when that
is newer or Redis has none.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession

from api import schemas
from api.settings import Settings
from dispatch.lifecycle import CARRIED_STATUSES
from dispatch.locations import to_lat_lon
from dispatch.route_store import read_route
from dispatch.tables import Courier, Order, TrackingLink
from dispatch.times import rfc3339
from dispatch.tracking_links import (
    TrackingLinkClaims,
    TrackingLinkExpired,
    TrackingLinkInvalid,
    TrackingLinkRevoked,
    courier_visible,
    read_tracking_token,
    tracking_link_key,
)
from tracking.live_store import LiveStore

__all__ = ["LinkCheck", "TrackView", "check_link", "track_view", "live_position",
           "links_channel"]

log = logging.getLogger(__name__)


def links_channel(settings: Settings) -> str:
    """Redis channel told the order id whenever an order's links are revoked."""
    return f"{settings.redis_prefix}tracking-links"


class LinkCheck:
    """A verified token and its row, still live at `now`."""

    def __init__(self, claims: TrackingLinkClaims, link: TrackingLink) -> None:
        self.claims = claims
        self.link = link

    @property
    def expires_at(self) -> datetime:
        return self.link.expires_at


async def check_link(session: AsyncSession, token: str, *, settings: Settings,
                     now: datetime) -> LinkCheck:
    """The live link a token names, or `TrackingLinkInvalid|Expired|Revoked`."""
    claims = read_tracking_token(token, key=tracking_link_key(settings.require_secret_key()),
                                 now_s=now.timestamp())
    link = await session.get(TrackingLink, claims.link_id, populate_existing=True)
    if link is None or link.order_id != claims.order_id:
        raise TrackingLinkInvalid()
    if link.revoked_at is not None:
        raise TrackingLinkRevoked(details={"revoked_at": rfc3339(link.revoked_at)})
    if link.expires_at <= now:
        raise TrackingLinkExpired()
    return LinkCheck(claims, link)


@dataclass(frozen=True, slots=True)
class TrackView:
    body: schemas.TrackOut
    #: Who carries the order now (not shown to the buyer; the live socket follows it).
    courier_id: int | None


async def live_position(redis: Redis, settings: Settings, courier: Courier) -> dict | None:
    """The courier's newest known fix: `{"lat", "lon", "heading", "speed", "ts"}`."""
    stored = to_lat_lon(courier.last_location)
    stored_ts = courier.last_seen_at.timestamp() if courier.last_seen_at else None
    live = None
    try:
        live = await LiveStore(redis, settings.redis_prefix).position(courier.id)
    except Exception as exc:  # the live view lagging is no reason to fail the page
        log.warning("live position of courier %s unavailable: %s", courier.id, exc)
    if live is not None and (stored_ts is None or live["ts"] >= stored_ts):
        return live
    if stored is None:
        return live
    return {"lat": stored.lat, "lon": stored.lon, "heading": None, "speed": None,
            "ts": stored_ts}


async def track_view(session: AsyncSession, check: LinkCheck, *, redis: Redis,
                     settings: Settings) -> TrackView:
    order = await session.get(Order, check.claims.order_id, populate_existing=True)
    if order is None:
        raise TrackingLinkInvalid()
    dropoff = to_lat_lon(order.dropoff_location)
    courier_body = None
    if order.courier_id is not None and order.status in CARRIED_STATUSES:
        route = await read_route(session, courier_id=order.courier_id)
        next_stop = (route[0].order_id, route[0].kind) if route else None
        if courier_visible(order_id=order.id, status=order.status,
                           courier_id=order.courier_id, next_stop=next_stop):
            courier = await session.get(Courier, order.courier_id, populate_existing=True)
            position = None if courier is None else await live_position(redis, settings,
                                                                        courier)
            if position is not None:
                courier_body = schemas.TrackCourier(vehicle=courier.vehicle, **position)
    return TrackView(schemas.TrackOut(
        order=schemas.TrackOrder(
            id=order.id, external_id=order.external_id, status=order.status,
            pickup_eta=_utc(order.pickup_eta), dropoff_eta=_utc(order.dropoff_eta),
            dropoff=schemas.TrackPlace(lat=dropoff.lat, lon=dropoff.lon,
                                       address=order.dropoff_address),
            updated_at=_utc(order.updated_at)),
        courier=courier_body,
        expires_at=_utc(check.expires_at),
    ), order.courier_id)


def _utc(value: datetime | None) -> datetime | None:
    return None if value is None else value.astimezone(UTC)
