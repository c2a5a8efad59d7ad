"""A courier's answer to an offer, the same over REST (`POST /offers/{id}/accept|decline`) and
over the courier WebSocket (`{"type": "accept"|"decline", "offer_id"}`)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncSession

from api.deps import own_courier
from api.errors import ApiError
from dispatch.offers import OfferExpired, accept_offer, decline_offer, offer_wire
from dispatch.tables import Courier, User

__all__ = ["answer_offer", "my_courier"]


async def my_courier(session: AsyncSession, user: User) -> Courier:
    return await own_courier(session, user,
                             ApiError(403, "forbidden", "Only couriers answer offers."))


async def answer_offer(session: AsyncSession, runtime: Any, user: User, offer_id: int,
                       answer: Literal["accept", "decline"]) -> dict[str, Any]:
    """Accepts or declines, commits, wakes the planner when the order is free again, and
    answers `{"offer", "order": {"id", "status", "courier_id"}}`."""
    courier = await my_courier(session, user)
    now = datetime.now(UTC)
    try:
        if answer == "accept":
            result = await accept_offer(session, offer_id=offer_id, courier_id=courier.id,
                                        now=now, actor=user)
        else:
            result = await decline_offer(session, offer_id=offer_id, courier_id=courier.id,
                                         now=now, actor=user)
    except OfferExpired:
        await session.commit()  # the expiry itself is recorded
        await runtime.poke("offer_expired")
        raise
    await session.commit()
    if answer == "decline" or result.offer.state == "expired":
        await runtime.poke("offer_declined")
    return {"offer": offer_wire(result.offer, result.order),
            "order": {"id": result.order.id, "status": result.order.status,
                      "courier_id": result.order.courier_id}}
