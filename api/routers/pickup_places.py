"""`/pickup-places`: a seller's shops and warehouses, reusable as order pickups."""

from __future__ import annotations

from fastapi import APIRouter, Request

from api import schemas
from api.deps import CurrentUser, SessionDep
from api.errors import ApiError
from api.pagination import CursorQuery, LimitQuery, decode_cursor, page_of
from dispatch.locations import to_lat_lon
from dispatch.pickup_places import add_pickup_place, list_pickup_places
from dispatch.tables import PickupPlace

router = APIRouter(prefix="/pickup-places", tags=["pickup places"])
errors = schemas.error_responses


def _out(place: PickupPlace) -> schemas.PickupPlaceOut:
    point = to_lat_lon(place.location)
    return schemas.PickupPlaceOut(id=place.id, seller_id=place.seller_id, name=place.name,
                                  lat=point.lat, lon=point.lon, address=place.address)


@router.post("", status_code=201, response_model=schemas.PickupPlaceOut,
             responses=errors(403))
async def add_place(body: schemas.PickupPlaceIn, request: Request, session: SessionDep,
                    user: CurrentUser) -> schemas.PickupPlaceOut:
    if user.role != "seller":
        raise ApiError(403, "forbidden", "Only sellers register pickup places.")
    place = await add_pickup_place(session, seller=user, name=body.name, lat=body.lat,
                                   lon=body.lon, address=body.address,
                                   service_area=request.app.state.service_area)
    await session.commit()
    return _out(place)


@router.get("", response_model=schemas.PickupPlacePage, responses=errors(403))
async def get_places(session: SessionDep, user: CurrentUser, cursor: CursorQuery = None,
                     limit: LimitQuery = 100) -> dict:
    """A seller sees its own places; dispatchers and admins see all (in id order)."""
    if user.role == "seller":
        seller_id = user.id
    elif user.role in ("admin", "dispatcher"):
        seller_id = None
    else:
        raise ApiError(403, "forbidden", "You are not allowed to do this.")
    places = await list_pickup_places(session, seller_id=seller_id,
                                      after_id=decode_cursor("place", cursor), limit=limit + 1)
    places, next_cursor = page_of("place", places, limit)
    return {"items": [_out(p) for p in places], "next_cursor": next_cursor}
