"""The custody ledger in PostgreSQL: appending entries and reading an order's chain.

The table (`custody.tables`) is append-only (a trigger refuses UPDATE and DELETE),
`(order_id, seq)` is unique so two writers cannot fork an order's chain, and `token_id` is
unique so a handoff token is spent at most once even if the Redis single-use marker is lost.
Callers hold the order row locked (`SELECT ... FOR UPDATE`) while appending and commit the
unit of work themselves. The anchors (each handoff's hash in the order's event log) are read
through `dispatch.orders.event_details_with`.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from custody.chain import ChainVerdict, CustodyEntry, CustodyKind, chain_next, verify_chain
from custody.tables import CustodyRow
from dispatch.orders import event_details_with
from dispatch.tables import Order

__all__ = ["append_entry", "append_system_entry", "load_chain", "load_anchors",
           "anchor_details", "verify_order_chain", "token_spent"]

#: Keys of an order event's `details` that anchor the custody entry written with it.
ANCHOR_SEQ_KEY = "custody_seq"
ANCHOR_HASH_KEY = "custody_hash"


async def load_chain(session: AsyncSession, order_id: int) -> list[CustodyEntry]:
    rows = await session.scalars(
        select(CustodyRow).where(CustodyRow.order_id == order_id).order_by(CustodyRow.seq))
    return [row.to_entry() for row in rows]


async def _head(session: AsyncSession, order_id: int) -> CustodyEntry | None:
    row = await session.scalar(select(CustodyRow).where(CustodyRow.order_id == order_id)
                               .order_by(CustodyRow.seq.desc()).limit(1))
    return None if row is None else row.to_entry()


async def append_entry(session: AsyncSession, entry: CustodyEntry) -> CustodyEntry:
    """Links `entry` after the order's last one and adds it to the session (flushed)."""
    linked = chain_next(await _head(session, entry.order_id), entry)
    session.add(CustodyRow(
        order_id=linked.order_id, seq=linked.seq, kind=linked.kind.value, at=linked.at,
        recorded_at=linked.recorded_at, actor_id=linked.actor_id, courier_id=linked.courier_id,
        counterparty_id=linked.counterparty_id, lat=linked.lat, lon=linked.lon,
        token_id=linked.token_id, method=linked.method, cod_amount=linked.cod_amount,
        prev_hash=linked.prev_hash, hash=linked.hash,
    ))
    await session.flush()
    return linked


async def append_system_entry(session: AsyncSession, *, order: Order, kind: CustodyKind,
                              actor_id: int | None, at: datetime | None = None,
                              lat: float | None = None, lon: float | None = None) -> CustodyEntry:
    """An entry that no scan proves (created, cancelled): who did it, when, and where."""
    recorded_at = datetime.now(UTC)
    return await append_entry(session, CustodyEntry(
        order_id=order.id, seq=0, kind=kind, at=at or recorded_at, recorded_at=recorded_at,
        actor_id=actor_id, courier_id=order.courier_id, lat=lat, lon=lon, method="system"))


async def load_anchors(session: AsyncSession, order_id: int) -> dict[int, str]:
    """`seq -> hash` of custody entries as the order's event log recorded them."""
    anchors: dict[int, str] = {}
    for details in await event_details_with(session, order_id, ANCHOR_HASH_KEY):
        seq, digest = details.get(ANCHOR_SEQ_KEY), details.get(ANCHOR_HASH_KEY)
        if isinstance(seq, int) and isinstance(digest, str):
            anchors[seq] = digest
    return anchors


def anchor_details(entry: CustodyEntry) -> dict[str, object]:
    """What an order event records about the custody entry written with it."""
    return {ANCHOR_SEQ_KEY: entry.seq, ANCHOR_HASH_KEY: entry.hash}


async def verify_order_chain(session: AsyncSession, order_id: int
                             ) -> tuple[list[CustodyEntry], ChainVerdict]:
    entries = await load_chain(session, order_id)
    anchors = await load_anchors(session, order_id)
    return entries, verify_chain(entries, order_id=order_id, anchors=anchors)


async def token_spent(session: AsyncSession, token_id: str) -> bool:
    """Whether a custody entry already records this handoff token."""
    found = await session.scalar(select(CustodyRow.id).where(CustodyRow.token_id == token_id))
    return found is not None
