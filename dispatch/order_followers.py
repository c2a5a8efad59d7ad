"""The port through which other packages hear of an order's life, inside its transaction.

Orders know nothing of who follows them. A package that keeps its own record of an order's
life (the handoff ledger writes an entry when an order is created, cancelled or fails)
implements `OrderFollower` and the composition root adds it with `follow_orders` at start-up.
`dispatch.orders` calls every follower after it has flushed the order's event, in the caller's
session, so what a follower writes commits or rolls back with the order.

Followers are process-wide (like the mapped tables they write to) and called in the order they
were added; adding the same one twice has no effect.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.tables import Order

__all__ = ["OrderMoment", "OrderFollower", "follow_orders", "unfollow_orders", "tell_followers"]


@dataclass(frozen=True, slots=True)
class OrderMoment:
    """One step of an order's life, as its event log records it."""

    order: Order
    #: The event's type: "created", or the action taken ("cancel", "fail", "assign", ...).
    event_type: str
    actor_id: int | None
    at: datetime | None
    lat: float | None = None
    lon: float | None = None


class OrderFollower(Protocol):
    async def __call__(self, session: AsyncSession, moment: OrderMoment) -> None: ...


_followers: list[OrderFollower] = []


def follow_orders(follower: OrderFollower) -> None:
    if follower not in _followers:
        _followers.append(follower)


def unfollow_orders(follower: OrderFollower) -> None:
    if follower in _followers:
        _followers.remove(follower)


async def tell_followers(session: AsyncSession, moment: OrderMoment) -> None:
    for follower in tuple(_followers):
        await follower(session, moment)
