"""The ledger's follower of order life: the entries no scan proves.

An order's chain starts when it is created, and ends without a handoff when it is cancelled or
a handoff fails; those entries are written here, in the order's own transaction, when
`dispatch.orders` tells its followers (`dispatch.order_followers`). The composition root adds
`record_order_step` as a follower at start-up.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from custody.chain import CustodyKind
from custody.store import append_system_entry
from dispatch.order_followers import OrderMoment

__all__ = ["record_order_step", "KIND_OF_STEP"]

#: The order steps that go on the ledger, and the entry each writes.
KIND_OF_STEP = {
    "created": CustodyKind.CREATED,
    "cancel": CustodyKind.CANCELLED,
    "fail": CustodyKind.FAILED,
}


async def record_order_step(session: AsyncSession, moment: OrderMoment) -> None:
    kind = KIND_OF_STEP.get(moment.event_type)
    if kind is None:
        return
    await append_system_entry(session, order=moment.order, kind=kind, actor_id=moment.actor_id,
                              at=moment.at, lat=moment.lat, lon=moment.lon)
