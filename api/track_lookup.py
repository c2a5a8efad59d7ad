"""The handoff checks' `custody.service.TrackLookup`, answered by tracking's stored track.

Dispatch and tracking do not know each other: tracking answers in its own terms
(`tracking.stored_track.StoredTrack`, a `Fix`), and this adapter turns that into the
`TrackedFix` dispatch asked for.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from custody.service import TrackedFix
from tracking.stored_track import StoredTrack

__all__ = ["PositionsTrackLookup"]


class PositionsTrackLookup:
    """Answers from the request's own session, inside the scan's transaction."""

    def __init__(self, session: AsyncSession) -> None:
        self._track = StoredTrack(session)

    async def was_near(self, *, courier_id: int, lat: float, lon: float, radius_m: float,
                       around: datetime, window_s: float) -> bool:
        return await self._track.was_near(courier_id=courier_id, lat=lat, lon=lon,
                                          radius_m=radius_m, around=around, window_s=window_s)

    async def nearest_fix(self, *, courier_id: int, around: datetime,
                          window_s: float) -> TrackedFix | None:
        fix = await self._track.nearest_fix(courier_id=courier_id, around=around,
                                            window_s=window_s)
        return None if fix is None else TrackedFix(lat=fix.lat, lon=fix.lon, at_s=fix.ts_s,
                                                   accuracy_m=fix.accuracy_m)
