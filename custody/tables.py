"""The custody ledger's table: `custody_entries`, append-only, one hash-chained row per entry.

It shares the dispatch metadata (`DispatchBase`) because its rows point at orders and users;
migration 0003 creates it with the trigger that refuses UPDATE and DELETE.
"""

from __future__ import annotations

from datetime import datetime
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
)
from sqlalchemy.orm import Mapped, mapped_column

from custody.chain import CustodyEntry, CustodyKind
from dispatch.tables import DispatchBase

__all__ = ["CustodyRow"]


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
