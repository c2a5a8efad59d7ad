"""Courier position history: one row per accepted GPS fix, partitioned by day.

The table is range-partitioned on `recorded_at` (one partition per UTC day, created ahead of
time by `courier_ensure_position_partitions`, plus a default partition so no accepted point is
ever refused for want of a partition). Indexes serve the track query
(`courier_id, recorded_at` range) and de-duplication (`courier_id, seq`).
"""

from __future__ import annotations

from datetime import datetime

from geoalchemy2 import Geography
from sqlalchemy import BigInteger, DateTime, Float, func
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = ["TrackingBase", "Position"]


class TrackingBase(DeclarativeBase):
    pass


class Position(TrackingBase):
    __tablename__ = "positions"

    courier_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    seq: Mapped[int | None] = mapped_column(BigInteger, primary_key=False)
    location = mapped_column(
        Geography(geometry_type="POINT", srid=4326, spatial_index=False), nullable=False
    )
    accuracy_m: Mapped[float | None] = mapped_column(Float)
    speed_mps: Mapped[float | None] = mapped_column(Float)
    heading_deg: Mapped[float | None] = mapped_column(Float)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
