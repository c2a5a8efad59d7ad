"""Shared fixtures: a private PostGIS database and Redis key prefix per test session.

Tests talk to the real PostgreSQL+PostGIS and Redis named by `DATABASE_URL` / `REDIS_URL`
(the defaults of the service). Each session creates its own database `courier_test_<hex>`,
migrates it to the newest schema and drops it at the end, so parallel runs don't collide.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg
import pytest
from psycopg import sql
from sqlalchemy.engine import make_url

from api.app import create_app
from api.database import upgrade
from api.security import PasswordHasher
from api.settings import Settings
from dispatch.couriers import change_shift, register_courier
from dispatch.users import create_user

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("COURIER_SHARED_DATA", PROJECT_ROOT.parent / "shared" / "data"))

BASE_DATABASE_URL = os.environ.get(
    "DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/courier")
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")

#: The service area used by API tests: central Tashkent.
TEST_ZONE = {"type": "Polygon", "coordinates": [[[69.20, 41.25], [69.36, 41.25], [69.36, 41.36],
                                                 [69.20, 41.36], [69.20, 41.25]]]}
INSIDE = {"lat": 41.311, "lon": 69.279}
INSIDE_2 = {"lat": 41.300, "lon": 69.240}
OUTSIDE = {"lat": 40.0, "lon": 60.0}


def _admin_conninfo(url: str) -> dict:
    parsed = make_url(url)
    info = dict(host=parsed.host or "127.0.0.1", port=parsed.port or 5432,
                user=parsed.username or "postgres", dbname="postgres")
    if parsed.password:
        info["password"] = parsed.password
    return info


def create_scratch_database(prefix: str = "courier_test") -> str:
    """Creates an empty database and returns its URL (drop it with `drop_database`)."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(**_admin_conninfo(BASE_DATABASE_URL), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return make_url(BASE_DATABASE_URL).set(database=name).render_as_string(hide_password=False)


def drop_database(url: str) -> None:
    name = make_url(url).database
    with psycopg.connect(**_admin_conninfo(BASE_DATABASE_URL), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
            sql.Identifier(name)))


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    url = create_scratch_database()
    try:
        upgrade(url)
        yield url
    finally:
        drop_database(url)


@pytest.fixture(scope="session")
def settings(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return Settings(
        COURIER_MODE="test",
        DATABASE_URL=database_url,
        REDIS_URL=REDIS_URL,
        COURIER_REDIS_PREFIX=f"test-{uuid.uuid4().hex[:8]}:",
        COURIER_DATA_DIR=tmp_path_factory.mktemp("data"),
        COURIER_NETWORK="none",
    )


@pytest.fixture(scope="session")
async def app(settings: Settings):
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        async with application.state.sessionmaker() as session:
            from geodata.zones import create_zone

            await create_zone(session, name="test-city", geometry=TEST_ZONE)
            await session.commit()
        yield application


@pytest.fixture(scope="session")
async def client(app) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http


@dataclass
class Actor:
    """A user of the API with a valid bearer token."""

    id: int
    name: str
    role: str
    password: str
    headers: dict[str, str]
    courier_id: int | None = None


@dataclass
class Actors:
    app: object
    client: httpx.AsyncClient
    hasher: PasswordHasher

    async def make(self, role: str, *, vehicle: str = "bicycle", capacity: int = 10,
                   on_shift: bool = True) -> Actor:
        """A fresh user of `role` (a courier also gets its courier record, on shift)."""
        name = f"{role}-{uuid.uuid4().hex[:8]}"
        password = "correct-horse-battery"
        courier_id = None
        async with self.app.state.sessionmaker() as session:
            user = await create_user(session, name=name, role=role,
                                     password_hash=self.hasher.hash(password))
            if role == "courier":
                courier = await register_courier(session, user_id=user.id, name=name,
                                                 vehicle=vehicle, capacity=capacity)
                if on_shift:
                    from datetime import UTC, datetime

                    await change_shift(session, courier, action="start", now=datetime.now(UTC),
                                       lat=INSIDE["lat"], lon=INSIDE["lon"])
                courier_id = courier.id
            await session.commit()
        response = await self.client.post("/api/v1/auth/token",
                                          data={"username": name, "password": password})
        assert response.status_code == 200, response.text
        token = response.json()["access_token"]
        return Actor(user.id, name, role, password, {"Authorization": f"Bearer {token}"},
                     courier_id)


@pytest.fixture(scope="session")
def actors(app, client) -> Actors:
    return Actors(app, client, PasswordHasher(cheap=True))


async def every_item(client: httpx.AsyncClient, path: str, headers: dict,
                     **params) -> list[dict]:
    """All items of a paginated list, following `next_cursor` (the suite shares one database, so
    a row made by this test may sit past the first page)."""
    items: list[dict] = []
    cursor = None
    while True:
        query = {**params, "limit": 500, **({"cursor": cursor} if cursor else {})}
        response = await client.get(f"/api/v1{path}", params=query, headers=headers)
        assert response.status_code == 200, response.text
        page = response.json()
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return items


def order_body(**overrides) -> dict:
    body = {
        "external_id": f"ext-{uuid.uuid4().hex[:10]}",
        "pickup": {**INSIDE, "address": "Amir Temur 1"},
        "dropoff": {**INSIDE_2, "address": "Navoi 10"},
        "size": 1,
    }
    body.update(overrides)
    return body


async def withdraw_open_work(app) -> None:
    """Cancels every open order and sends every courier off shift, so that a planning cycle
    sees only what the calling test makes: other tests' leftovers would otherwise be planned
    alongside (and win work, or weigh on a re-plan's gain, by where they happen to be)."""
    from sqlalchemy import text

    async with app.state.sessionmaker() as session:
        await session.execute(text(
            "UPDATE orders SET status = 'cancelled' "
            "WHERE status IN ('pending', 'offered', 'assigned')"))
        await session.execute(text(
            "UPDATE dispatch_offers SET state = 'withdrawn' WHERE state = 'pending'"))
        await session.execute(text("DELETE FROM planned_stops"))
        await session.execute(text(
            "UPDATE couriers SET shift_state = 'off' WHERE shift_state <> 'off'"))
        await session.commit()


@pytest.fixture
async def quiet_city(app) -> None:
    """Nobody else's open orders or couriers on shift when the test starts."""
    await withdraw_open_work(app)


@pytest.fixture
def make_order(client, actors):
    """Creates an order through the API (as a fresh seller unless one is given)."""

    async def make(seller: Actor | None = None, **overrides) -> dict:
        seller = seller or await actors.make("seller")
        response = await client.post("/api/v1/orders", json=order_body(**overrides),
                                     headers=seller.headers)
        assert response.status_code == 201, response.text
        return response.json()

    return make
