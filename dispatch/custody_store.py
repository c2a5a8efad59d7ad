"""The custody ledger in PostgreSQL: the `custody_entries` table and its two operations.

The table is append-only (a trigger refuses UPDATE and DELETE), `(order_id, seq)` is unique
so two writers cannot fork an order's chain, and `token_id` is unique so a handoff token is
spent at most once even if the Redis single-use marker is lost. Callers hold the order row
locked (`SELECT ... FOR UPDATE`) while appending and commit the unit of work themselves.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    DateTime,
    Double,
    ForeignKey,
    Integer,
    Numeric,
    String,
    UniqueConstraint,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from dispatch.custody import ChainVerdict, CustodyEntry, CustodyKind, chain_next, verify_chain
from dispatch.models import DispatchBase, Order, OrderEvent

__all__ = ["CustodyRow", "append_entry", "append_system_entry", "load_chain", "load_anchors",
           "anchor_details", "verify_order_chain", "token_spent"]

#: Keys of an order event's `details` that anchor the custody entry written with it.
ANCHOR_SEQ_KEY = "custody_seq"
ANCHOR_HASH_KEY = "custody_hash"


class CustodyRow(DispatchBase):
    __tablename__ = "custody_entries"
    __table_args__ = (
        UniqueConstraint("order_id", "seq", name="custody_entries_order_seq_key"),
        UniqueConstraint("token_id", name="custody_entries_token_id_key"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"))
    seq: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    courier_id: Mapped[int | None] = mapped_column(BigInteger)
    counterparty_id: Mapped[int | None] = mapped_column(BigInteger)
    lat: Mapped[float | None] = mapped_column(Double)
    lon: Mapped[float | None] = mapped_column(Double)
    token_id: Mapped[str | None] = mapped_column(String(64))
    method: Mapped[str] = mapped_column(String(16))
    cod_amount: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))

    def to_entry(self) -> CustodyEntry:
        return CustodyEntry(
            order_id=self.order_id, seq=self.seq, kind=CustodyKind(self.kind), at=self.at,
            recorded_at=self.recorded_at, actor_id=self.actor_id, courier_id=self.courier_id,
            counterparty_id=self.counterparty_id, lat=self.lat, lon=self.lon,
            token_id=self.token_id, method=self.method, cod_amount=self.cod_amount,
            prev_hash=self.prev_hash, hash=self.hash,
        )


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
    rows = await session.scalars(select(OrderEvent.details).where(
        OrderEvent.order_id == order_id, OrderEvent.details.has_key(ANCHOR_HASH_KEY)))
    anchors: dict[int, str] = {}
    for details in rows:
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
