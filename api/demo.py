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


#: Where each demo courier starts, as a fraction of the area's half-span from its centre
#: (`(north, east)`): all well inside the zone whatever the city's size.
DEMO_SPOTS = {"courier1": (0.10, -0.10), "courier2": (-0.15, 0.20), "courier3": (0.25, 0.15)}


async def seed_demo(session: AsyncSession, settings: Settings) -> list[str]:
    """Creates what is missing and returns lines describing the demo set-up: the accounts
    with their ids (a seller needs the buyer's id for `buyer_id`), the couriers and where they
    stand, and the service area with its centre. Every courier stands inside the area."""
    hasher = PasswordHasher(cheap=settings.mode == "test")
    lines = ["demo accounts:"]
    min_lon, min_lat, max_lon, max_lat = demo_bbox(settings)
    zones = {z.name: z for z in await list_zones(session)}
    if "demo-city" not in zones:
        ring = [[min_lon, min_lat], [max_lon, min_lat], [max_lon, max_lat], [min_lon, max_lat],
                [min_lon, min_lat]]
        await create_zone(session, name="demo-city",
                          geometry={"type": "Polygon", "coordinates": [ring]})
        zones = {z.name: z for z in await list_zones(session)}
    centre_lat, centre_lon = (min_lat + max_lat) / 2, (min_lon + max_lon) / 2
    half_lat, half_lon = (max_lat - min_lat) / 2, (max_lon - min_lon) / 2
    couriers = []
    for name, role, password in DEMO_USERS:
        user = await find_user_by_name(session, name)
        if user is None:
            user = await create_user(session, name=name, role=role,
                                     password_hash=hasher.hash(password))
        lines.append(f"  {role:<10} {name:<12} password: {password:<22} user id {user.id}")
        if role == "courier":
            courier = await courier_of_user(session, user.id)
            north, east = DEMO_SPOTS[name]
            lat, lon = centre_lat + north * half_lat, centre_lon + east * half_lon
            if courier is None:
                vehicle, capacity = DEMO_VEHICLES[name]
                courier = await register_courier(session, user_id=user.id, name=name.title(),
                                                 vehicle=vehicle, capacity=capacity)
                await change_shift(session, courier, action="start", now=datetime.now(UTC),
                                   lat=lat, lon=lon)
            couriers.append(f"  courier id {courier.id:<4} {name:<10} {courier.vehicle:<8} "
                            f"capacity {courier.capacity:<3} starts at lat {lat:.5f}, "
                            f"lon {lon:.5f}")
    lines.append("demo couriers (on shift; offered work while their app is connected or "
                 "sends positions):")
    lines.extend(couriers)
    zone = zones["demo-city"]
    lines.append(f"service area: zone id {zone.id} \"demo-city\", lon {min_lon:.5f}..{max_lon:.5f}"
                 f", lat {min_lat:.5f}..{max_lat:.5f}")
    lines.append(f"city centre: lat {centre_lat:.5f}, lon {centre_lon:.5f}")
    return lines
