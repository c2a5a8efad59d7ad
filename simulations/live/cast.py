"""Setting up the cast through the API as the admin: sellers with a pickup place, buyers with a
home, couriers of mixed vehicles, all inside the service area.

Names carry a prefix (`sim-courier-17`, `sim-seller-2`, `sim-buyer-5`) and passwords are
derived from the admin's password and the name, so a second run logs the same accounts in
again instead of piling up new ones, and nobody without the admin password can.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from simulations.live.behaviour import VEHICLE_CAPACITY, fleet_vehicles
from simulations.live.client import Actor, ApiClient, CallFailed
from simulations.live.geo import Area

__all__ = ["CastCourier", "CastSeller", "CastBuyer", "Cast", "SetupError", "member_password",
           "member_rng", "build_cast"]


class SetupError(Exception):
    """The cast could not be set up (wrong admin password, a name taken, no service area)."""


@dataclass
class CastCourier:
    actor: Actor
    courier_id: int
    vehicle: str
    capacity: int
    #: `(lat, lon)` where its shift starts.
    start: tuple[float, float]


@dataclass
class CastSeller:
    actor: Actor
    place_id: int
    place: tuple[float, float]
    address: str


@dataclass
class CastBuyer:
    actor: Actor
    home: tuple[float, float]
    address: str


@dataclass
class Cast:
    couriers: list[CastCourier]
    sellers: list[CastSeller]
    buyers: list[CastBuyer]

    @property
    def sellers_by_user(self) -> dict[int, CastSeller]:
        return {s.actor.user_id: s for s in self.sellers if s.actor.user_id is not None}

    @property
    def buyers_by_user(self) -> dict[int, CastBuyer]:
        return {b.actor.user_id: b for b in self.buyers if b.actor.user_id is not None}


def member_password(admin_password: str, name: str) -> str:
    """A cast member's password: reproducible from the admin's, not guessable without it."""
    digest = hmac.new(admin_password.encode(), f"courier-sim:{name}".encode(), hashlib.sha256)
    return "sim-" + digest.hexdigest()[:28]


def member_rng(seed: int, name: str) -> random.Random:
    """The random generator of one member (stable across runs for the same seed)."""
    return random.Random(f"{seed}:{name}")


async def _ensure_user(api: ApiClient, admin: Actor, name: str, role: str) -> Actor:
    """Logs the member in, creating its account first when it does not exist yet."""
    actor = Actor(name, role, member_password(admin.password, name))
    try:
        await api.login(actor, expected={"invalid_credentials"})
    except CallFailed as exc:
        if exc.code != "invalid_credentials":
            raise
        try:
            await api.call("POST", "/users", actor=admin,
                           json={"name": name, "role": role, "password": actor.password},
                           expected={"duplicate"})
        except CallFailed as created:
            if created.code == "duplicate":
                raise SetupError(f"a user named {name!r} exists but does not take the "
                                 f"simulator's password; choose another --prefix") from None
            raise
        await api.login(actor)
    me = await api.call("GET", "/users/me", actor=actor)
    if me["role"] != role:
        raise SetupError(f"user {name!r} is a {me['role']}, not a {role}; "
                         f"choose another --prefix")
    actor.user_id = int(me["id"])
    actor.courier_id = me.get("courier_id")
    return actor


async def _courier(api: ApiClient, admin: Actor, *, name: str, vehicle: str, area: Area,
                   rng: random.Random) -> CastCourier:
    actor = await _ensure_user(api, admin, name, "courier")
    if actor.courier_id is None:
        body = await api.call("POST", "/couriers", actor=admin, json={
            "user_id": actor.user_id, "name": name, "vehicle": vehicle,
            "capacity": VEHICLE_CAPACITY[vehicle]})
    else:
        body = await api.call("GET", "/couriers/{id}", actor=actor, path={"id": actor.courier_id})
    start = area.sample(rng)
    last = body.get("last_location")
    if last and area.contains(float(last["lat"]), float(last["lon"])):
        start = (float(last["lat"]), float(last["lon"]))  # go on from where it stopped
    actor.courier_id = int(body["id"])
    return CastCourier(actor, actor.courier_id, body["vehicle"], int(body["capacity"]), start)


async def _seller(api: ApiClient, admin: Actor, *, name: str, area: Area,
                  rng: random.Random) -> CastSeller:
    actor = await _ensure_user(api, admin, name, "seller")
    places = (await api.call("GET", "/pickup-places", actor=actor))["items"]
    for place in places:
        if area.contains(float(place["lat"]), float(place["lon"])):
            break
    else:
        lat, lon = area.sample(rng)
        place = await api.call("POST", "/pickup-places", actor=actor, json={
            "name": f"{name} shop", "lat": lat, "lon": lon,
            "address": f"{name} shop, {lat:.5f} {lon:.5f}"})
    return CastSeller(actor, int(place["id"]), (float(place["lat"]), float(place["lon"])),
                      place.get("address") or place["name"])


async def _buyer(api: ApiClient, admin: Actor, *, name: str, area: Area,
                 rng: random.Random) -> CastBuyer:
    actor = await _ensure_user(api, admin, name, "buyer")
    lat, lon = area.sample(rng)
    return CastBuyer(actor, (lat, lon), f"{name} home, {lat:.5f} {lon:.5f}")


async def _gather_limited(jobs: list[Callable[[], Awaitable[Any]]], limit: int) -> list[Any]:
    gate = asyncio.Semaphore(limit)

    async def run(job: Callable[[], Awaitable[Any]]) -> Any:
        async with gate:
            return await job()

    return await asyncio.gather(*(run(job) for job in jobs))


async def build_cast(api: ApiClient, admin: Actor, *, area: Area, prefix: str, seed: int,
                     couriers: int, sellers: int, buyers: int,
                     concurrency: int = 4) -> Cast:
    """Creates what is missing, logs everybody in, and answers the cast."""
    vehicles = fleet_vehicles(couriers)
    jobs: list[Callable[[], Awaitable[Any]]] = []
    for i in range(sellers):
        name = f"{prefix}-seller-{i + 1}"
        jobs.append(lambda name=name: _seller(api, admin, name=name, area=area,
                                              rng=member_rng(seed, name)))
    for i in range(buyers):
        name = f"{prefix}-buyer-{i + 1}"
        jobs.append(lambda name=name: _buyer(api, admin, name=name, area=area,
                                             rng=member_rng(seed, name)))
    for i, vehicle in enumerate(vehicles):
        name = f"{prefix}-courier-{i + 1}"
        jobs.append(lambda name=name, vehicle=vehicle: _courier(
            api, admin, name=name, vehicle=vehicle, area=area, rng=member_rng(seed, name)))
    members = await _gather_limited(jobs, concurrency)
    return Cast(couriers=[m for m in members if isinstance(m, CastCourier)],
                sellers=[m for m in members if isinstance(m, CastSeller)],
                buyers=[m for m in members if isinstance(m, CastBuyer)])
