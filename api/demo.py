"""Demo data: users of every role, couriers on shift and a service zone over the demo city.

Idempotent: running it again leaves existing rows alone. The credentials are printed by
`make demo`; they are for a local demo only.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from api.security import PasswordHasher
from api.settings import Settings
from dispatch.couriers import change_shift, courier_of_user, register_courier
from dispatch.users import create_user, find_user_by_name
from geodata.zones import create_zone, list_zones

__all__ = ["DEMO_USERS", "seed_demo", "demo_bbox"]

#: (name, role, password)
DEMO_USERS = [
    ("admin", "admin", "admin-demo-pass"),
    ("dispatcher", "dispatcher", "dispatcher-demo-pass"),
    ("seller", "seller", "seller-demo-pass"),
    ("buyer", "buyer", "buyer-demo-pass"),
    ("courier1", "courier", "courier-demo-pass"),
    ("courier2", "courier", "courier-demo-pass"),
    ("courier3", "courier", "courier-demo-pass"),
]
DEMO_VEHICLES = {"courier1": ("bicycle", 6), "courier2": ("scooter", 10), "courier3": ("car", 30)}

#: Central Tashkent, used when no demo road network has been built.
DEFAULT_BBOX = (69.22, 41.27, 69.34, 41.35)


def demo_bbox(settings: Settings) -> tuple[float, float, float, float]:
    """`(min_lon, min_lat, max_lon, max_lat)` of the configured network, or central Tashkent."""
    if settings.network:
        meta = settings.networks_dir / settings.network / "network.json"
        if meta.is_file():
            bbox = json.loads(Path(meta).read_text())["bbox"]
            return tuple(float(v) for v in bbox)  # type: ignore[return-value]
    return DEFAULT_BBOX


async def seed_demo(session: AsyncSession, settings: Settings) -> list[str]:
    """Creates what is missing and returns lines describing the demo set-up."""
    hasher = PasswordHasher(cheap=settings.mode == "test")
    lines = []
    min_lon, min_lat, max_lon, max_lat = demo_bbox(settings)
    if not any(z.name == "demo-city" for z in await list_zones(session)):
        ring = [[min_lon, min_lat], [max_lon, min_lat], [max_lon, max_lat], [min_lon, max_lat],
                [min_lon, min_lat]]
        await create_zone(session, name="demo-city",
                          geometry={"type": "Polygon", "coordinates": [ring]})
    centre_lat, centre_lon = (min_lat + max_lat) / 2, (min_lon + max_lon) / 2
    for index, (name, role, password) in enumerate(DEMO_USERS):
        user = await find_user_by_name(session, name)
        if user is None:
            user = await create_user(session, name=name, role=role,
                                     password_hash=hasher.hash(password))
        lines.append(f"{role:<10} {name:<12} password: {password}")
        if role == "courier" and await courier_of_user(session, user.id) is None:
            vehicle, capacity = DEMO_VEHICLES[name]
            courier = await register_courier(session, user_id=user.id, name=name.title(),
                                             vehicle=vehicle, capacity=capacity)
            offset = 0.004 * index
            await change_shift(session, courier, action="start", now=datetime.now(UTC),
                               lat=centre_lat + offset, lon=centre_lon - offset)
    return lines
