"""Sellers' pickup places: the shops and warehouses couriers collect parcels from."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.exceptions import InvalidInput, NotFound
from dispatch.locations import point_ewkt
from dispatch.service_area import ServiceArea
from dispatch.tables import PickupPlace, User

__all__ = ["add_pickup_place", "list_pickup_places", "get_pickup_place"]


async def add_pickup_place(session: AsyncSession, *, seller: User, name: str, lat: float,
                           lon: float, address: str | None,
                           service_area: ServiceArea) -> PickupPlace:
    if seller.role != "seller":
        raise InvalidInput("pickup places belong to a seller", code="seller_required")
    await service_area.require_inside(session, lat=lat, lon=lon, leg="pickup")
    place = PickupPlace(seller_id=seller.id, name=name, address=address,
                        location=point_ewkt(lat, lon))
    session.add(place)
    await session.flush()
    return place


async def list_pickup_places(session: AsyncSession, *, seller_id: int | None,
                             after_id: int | None = None,
                             limit: int | None = None) -> list[PickupPlace]:
    """Places in id order (one seller's, or all); `after_id` and `limit` page through them."""
    query = select(PickupPlace).order_by(PickupPlace.id)
    if seller_id is not None:
        query = query.where(PickupPlace.seller_id == seller_id)
    if after_id is not None:
        query = query.where(PickupPlace.id > after_id)
    if limit is not None:
        query = query.limit(limit)
    return list((await session.scalars(query)).all())


async def get_pickup_place(session: AsyncSession, *, place_id: int,
                           seller_id: int) -> PickupPlace:
    """The seller's own place; another seller's place is reported as not found."""
    place = await session.get(PickupPlace, place_id)
    if place is None or place.seller_id != seller_id:
        raise NotFound(f"pickup place {place_id} not found", details={"pickup_place_id": place_id})
    return place
