"""`/zones`: service areas as GeoJSON polygons (dispatchers and admins)."""

from __future__ import annotations

from fastapi import APIRouter

from api import schemas
from api.deps import CurrentUser, DispatcherUser, SessionDep
from api.pagination import CursorQuery, LimitQuery, decode_cursor, page_of
from dispatch import audit
from geodata.zones import create_zone, list_zones

router = APIRouter(prefix="/zones", tags=["zones"])


@router.post("", status_code=201, response_model=schemas.ZoneOut,
             responses=schemas.error_responses(403, 409))
async def add_zone(body: schemas.ZoneIn, session: SessionDep,
                   user: DispatcherUser) -> schemas.ZoneOut:
    zone = await create_zone(session, name=body.name, geometry=body.geometry, active=body.active)
    audit.record(session, user, "zone.create", target_type="zone", target_id=zone.id,
                 details={"name": zone.name, "active": zone.active})
    await session.commit()
    return schemas.ZoneOut(id=zone.id, name=zone.name, active=zone.active, geometry=zone.geometry)


@router.get("", response_model=schemas.ZonePage)
async def get_zones(session: SessionDep, user: CurrentUser, active_only: bool = False,
                    cursor: CursorQuery = None, limit: LimitQuery = 100) -> dict:
    """Service areas in id order."""
    zones = await list_zones(session, active_only=active_only,
                             after_id=decode_cursor("zone", cursor), limit=limit + 1)
    zones, next_cursor = page_of("zone", zones, limit)
    return {"items": [schemas.ZoneOut(id=z.id, name=z.name, active=z.active, geometry=z.geometry)
                      for z in zones], "next_cursor": next_cursor}
