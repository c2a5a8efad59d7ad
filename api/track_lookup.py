"""The stored courier track, asked by the handoff checks (`dispatch.handoffs.TrackLookup`).

Dispatch does not know the tracking package; it asks this narrow question, answered here with
one PostGIS query on the `positions` table (partition pruning on `recorded_at`, the primary key
`(courier_id, recorded_at)` narrows to one courier's few minutes of points).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

__all__ = ["PositionsTrackLookup"]

_WAS_NEAR = text("""
SELECT EXISTS (
    SELECT 1 FROM positions
    WHERE courier_id = :courier_id
      AND recorded_at BETWEEN :from_time AND :to_time
      AND ST_DWithin(location, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)::geography, :radius_m)
)
""")


class PositionsTrackLookup:
    """Answers from the request's own session, inside the scan's transaction."""

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
