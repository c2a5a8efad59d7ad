"""Tracking's stored track, adapted to the ports of the packages that ask about it.

`PositionsTrackLookup` is the handoff checks' `custody.service.TrackLookup`; `StoredTrackAround`
is the tickets' `tickets.service.TrackAround`. Custody, tickets and tracking do not know each
other: tracking answers in its own terms (`StoredTrack`, a `Fix`, the position store's rows)
and these adapters turn that into what was asked for.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from custody.service import TrackedFix
from dispatch.times import rfc3339_from_s
from tracking.stored_track import StoredTrack

__all__ = ["PositionsTrackLookup", "StoredTrackAround"]


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


class StoredTrackAround:
    """`tickets.service.TrackAround` over tracking's position store."""

    def __init__(self, store: Any) -> None:
        self._store = store

    async def fixes(self, courier_id: int, *, start: datetime, end: datetime,
                    limit: int) -> list[dict[str, Any]]:
        rows = await self._store.track(courier_id, start=start, end=end, limit=limit)
        return [{"ts": rfc3339_from_s(ts_s), "lat": lat, "lon": lon, "accuracy_m": accuracy}
                for _seq, ts_s, lat, lon, accuracy, _speed, _heading in rows]
