"""Questions about a courier's stored track, answered from tracking's own `positions` table.

Was the courier near a point around a time (offline handoff scans), and which stored fix lies
nearest in time (online scans and arrival reports)? One PostGIS query each: partition pruning
on `recorded_at`, and the primary key `(courier_id, recorded_at)` narrows to one courier's few
minutes of points. Dispatch asks through its `TrackLookup` port; the API adapts the answers.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from tracking.fixes import Fix

__all__ = ["StoredTrack"]

_WAS_NEAR = text("""
SELECT EXISTS (
    SELECT 1 FROM positions
    WHERE courier_id = :courier_id
      AND recorded_at BETWEEN :from_time AND :to_time
      AND ST_DWithin(location, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)::geography, :radius_m)
)
""")


# The last fix at or before the instant and the first after it, each one index probe on
# `(courier_id, recorded_at)`; the caller keeps the closer of the two.
_NEAREST_FIX = text("""
(SELECT recorded_at, ST_Y(location::geometry) AS lat, ST_X(location::geometry) AS lon,
        accuracy_m
 FROM positions
 WHERE courier_id = :courier_id AND recorded_at BETWEEN :from_time AND :around
 ORDER BY recorded_at DESC LIMIT 1)
UNION ALL
(SELECT recorded_at, ST_Y(location::geometry), ST_X(location::geometry), accuracy_m
 FROM positions
 WHERE courier_id = :courier_id AND recorded_at > :around AND recorded_at <= :to_time
 ORDER BY recorded_at ASC LIMIT 1)
""")


class StoredTrack:
    """Answers from the caller's session (inside its transaction)."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def was_near(self, *, courier_id: int, lat: float, lon: float, radius_m: float,
                       around: datetime, window_s: float) -> bool:
        window = timedelta(seconds=window_s)
        found = await self._session.scalar(_WAS_NEAR, {
            "courier_id": courier_id, "lat": lat, "lon": lon, "radius_m": radius_m,
            "from_time": around - window, "to_time": around + window,
        })
        return bool(found)

    async def nearest_fix(self, *, courier_id: int, around: datetime,
                          window_s: float) -> Fix | None:
        """The stored fix closest in time to `around`, within `window_s` either side."""
        window = timedelta(seconds=window_s)
        rows = (await self._session.execute(_NEAREST_FIX, {
            "courier_id": courier_id, "around": around, "from_time": around - window,
            "to_time": around + window,
        })).all()
        if not rows:
            return None
        row = min(rows, key=lambda r: abs((r.recorded_at - around).total_seconds()))
        return Fix(lat=float(row.lat), lon=float(row.lon), ts_s=row.recorded_at.timestamp(),
                   accuracy_m=row.accuracy_m)
