"""The service-area rule: pickups and dropoffs must lie in an active zone.

A small interface so that dispatch does not reach into geodata's tables itself; `api/` wires
the PostGIS-backed implementation.
"""

from __future__ import annotations

from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.exceptions import OutsideServiceArea
from geodata import zones

__all__ = ["ServiceArea", "ZoneServiceArea"]


class ServiceArea(Protocol):
    async def require_inside(self, session: AsyncSession, *, lat: float, lon: float,
                             leg: str) -> None: ...


class ZoneServiceArea:
    """Refuses points outside every active zone, naming the nearest zone and distance."""

    async def require_inside(self, session: AsyncSession, *, lat: float, lon: float,
                             leg: str) -> None:
        if await zones.zones_containing(session, lat=lat, lon=lon):
            return
        nearest = await zones.nearest_zone(session, lat=lat, lon=lon)
        details = {"leg": leg, "lat": lat, "lon": lon}
        if nearest is not None:
            details |= {"nearest_zone_id": nearest[0], "distance_m": round(nearest[1], 1)}
        raise OutsideServiceArea(f"the {leg} point is outside every active service area",
                                 details=details)
