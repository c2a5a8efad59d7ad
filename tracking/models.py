"""Tables of the tracking domain: position history, per-courier cursors, devices.

`positions` is range-partitioned on `recorded_at` (one partition per UTC day, created ahead of
time by `courier_ensure_position_partitions`, plus a default partition so no accepted point is
ever refused for want of a partition). Indexes serve the track query
(`courier_id, recorded_at` range) and de-duplication (`courier_id, seq`).

`tracking_cursors` holds each courier's sequence high-water mark and last accepted fix; it is
locked in the same transaction that inserts the points, which is what makes a re-sent `seq`
stored once (see `tracking.ingest`). `tracking_devices` maps the device keys that OsmAnd and
OwnTracks apps carry to couriers; only a SHA-256 of each key is stored.
"""

from __future__ import annotations

from datetime import datetime

from geoalchemy2 import Geography
from sqlalchemy import BigInteger, DateTime, Float, String, func
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = ["TrackingBase", "Position", "TrackCursor", "Device"]


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
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                  server_default=func.now())


class TrackCursor(TrackingBase):
    __tablename__ = "tracking_cursors"

    courier_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    last_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    last_ts_s: Mapped[float | None] = mapped_column(Float)
    last_lat: Mapped[float | None] = mapped_column(Float)
    last_lon: Mapped[float | None] = mapped_column(Float)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                 server_default=func.now())


class Device(TrackingBase):
    __tablename__ = "tracking_devices"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    courier_id: Mapped[int] = mapped_column(BigInteger, index=True)
    name: Mapped[str] = mapped_column(String(80))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    key_hint: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                 server_default=func.now())
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


