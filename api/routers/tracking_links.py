"""Buyer tracking links: handed out by the order's seller or buyer (or staff), revoked by the
same people, and read without an account through `GET /public/track/{token}`.

The live version of the same view is the WebSocket `/ws/track/{token}` (`api.track_socket`).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from fastapi import APIRouter, Request, Response
from sqlalchemy import update

from api import schemas
from api.buyer_tracking import check_link, links_channel, track_view
from api.deps import CurrentUser, RedisDep, SessionDep, SettingsDep
from api.errors import ApiError
from api.ids import IdPath
from api.links import public_base
from dispatch.orders import get_visible_order
from dispatch.tables import TrackingLink, User
from dispatch.tracking_links import TrackingLinkClaims, sign_tracking_token, tracking_link_key

__all__ = ["router"]

log = logging.getLogger(__name__)
router = APIRouter(tags=["tracking links"])

#: Who may hand out and revoke an order's links (sellers and buyers only their own orders).
LINK_ROLES = ("admin", "dispatcher", "seller", "buyer")


def _check_role(user: User) -> None:
    if user.role not in LINK_ROLES:
        raise ApiError(403, "forbidden", "You are not allowed to do this.",
                       {"required_roles": list(LINK_ROLES)})


@router.post("/orders/{order_id}/tracking-link", status_code=201,
             response_model=schemas.TrackingLinkOut,
             responses=schemas.error_responses(401, 403, 404, 422))
async def create_tracking_link(order_id: IdPath, request: Request, session: SessionDep,
                               settings: SettingsDep, user: CurrentUser
                               ) -> schemas.TrackingLinkOut:
    """A link for the buyer to follow the order without an account, valid for
    `COURIER_TRACKING_LINK_TTL_S` (two days by default) unless revoked. The order's seller or
    buyer, a dispatcher or an admin may ask; each call makes a new link."""
    _check_role(user)
    order = await get_visible_order(session, order_id, user)
    now = datetime.now(UTC).replace(microsecond=0)
    link = TrackingLink(order_id=order.id, created_by=user.id, created_at=now,
                        expires_at=now + timedelta(seconds=settings.tracking_link_ttl_s))
    session.add(link)
    await session.flush()
    token = sign_tracking_token(
        TrackingLinkClaims(order.id, link.id, int(link.expires_at.timestamp())),
        key=tracking_link_key(settings.require_secret_key()))
    await session.commit()
    return schemas.TrackingLinkOut(url=f"{public_base(request, settings)}/t/{token}",
                                   token=token, expires_at=link.expires_at)


@router.delete("/orders/{order_id}/tracking-links", status_code=204,
               response_class=Response, responses=schemas.error_responses(401, 403, 404, 422))
async def revoke_tracking_links(order_id: IdPath, session: SessionDep, settings: SettingsDep,
                                redis: RedisDep, user: CurrentUser) -> Response:
    """Revokes every live link of the order; open tracking pages are told at once."""
    _check_role(user)
    order = await get_visible_order(session, order_id, user)
    now = datetime.now(UTC)
    await session.execute(
        update(TrackingLink)
        .where(TrackingLink.order_id == order.id, TrackingLink.revoked_at.is_(None),
               TrackingLink.expires_at > now)
        .values(revoked_at=now, revoked_by=user.id))
    await session.commit()
    try:
        await redis.publish(links_channel(settings), str(order.id).encode())
    except Exception as exc:  # sockets re-check their link on a timer anyway
        log.warning("revocation of order %s's links not published: %s", order.id, exc)
    return Response(status_code=204)


@router.get("/public/track/{token}", response_model=schemas.TrackOut,
            responses=schemas.error_responses(404, 410, 422))
async def public_track(token: str, response: Response, session: SessionDep,
                       settings: SettingsDep, redis: RedisDep) -> schemas.TrackOut:
    """The order as its buyer may see it; no login. 404 `tracking_link_invalid`, 410
    `tracking_link_expired` or `tracking_link_revoked` otherwise."""
    response.headers["Cache-Control"] = "no-store"
    check = await check_link(session, token, settings=settings, now=datetime.now(UTC))
    return (await track_view(session, check, redis=redis, settings=settings)).body
