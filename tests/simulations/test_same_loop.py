"""The simulator runs the loop the service runs: one scenario, two stores, the same decisions.

The scenario is played twice through `dispatch.cycle.run_cycle`: once on the service's path
(`dispatch.sql_store` on a real PostGIS database of its own, offers answered with the
service's `dispatch.offers` functions) and once on the simulator's (`dispatch.memory_store`).
After every step — a cycle, answers to offers, a cycle after offers time out — the offers made,
the routes written and every order's status and courier must be identical.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from sqlalchemy import select, text

from api.database import make_engine, make_sessionmaker, upgrade
from dispatch.couriers import change_shift, register_courier
from dispatch.cycle import PlannerConfig, run_cycle
from dispatch.memory_store import MemoryDispatchStore
from dispatch.offers import accept_offer, decline_offer
from dispatch.orders import NewOrder, create_order
from dispatch.service_area import ZoneServiceArea
from dispatch.sql_store import SqlDispatchStore
from dispatch.state_store import NoLivePositions
from dispatch.tables import Order
from dispatch.users import create_user
from geodata.points import LatLon
from geodata.straight_line import StraightLineModel
from geodata.zones import create_zone
from tests.conftest import TEST_ZONE, create_scratch_database, drop_database

T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
COURIERS = [((41.300, 69.250), "bicycle", 4), ((41.320, 69.300), "scooter", 6),
            ((41.290, 69.310), "car", 20)]
ORDERS = [((41.305, 69.255), (41.315, 69.270)), ((41.318, 69.296), (41.300, 69.300)),
          ((41.295, 69.305), (41.330, 69.320)), ((41.301, 69.262), (41.290, 69.240)),
          ((41.322, 69.290), (41.310, 69.280)), ((41.299, 69.312), (41.280, 69.300))]
CONFIG = PlannerConfig(policy="batch", solver_time_s=10.0, solver_solution_limit=25,
                       offer_timeout_s=30.0, reassign_gain=None)


class StraightLines:
    """The same travel source for both worlds (haversine × detour, per vehicle profile)."""

    def matrix(self, profile, points):
        model = StraightLineModel.for_profile(profile)
        result = model.matrix([LatLon(*p) for p in points])
        return np.asarray(result.durations_s), np.asarray(result.distances_m)


@pytest.fixture(scope="module")
async def service():
    """A database of the scenario's own: a zone, a seller, three couriers, six orders."""
    url = create_scratch_database("courier_sameloop")
    upgrade(url)
    engine = make_engine(url, pool_size=2)
    sessionmaker = make_sessionmaker(engine)
    users = {}
    async with sessionmaker() as session:
        await create_zone(session, name="scenario", geometry=TEST_ZONE)
        seller = await create_user(session, name="seller", role="seller", password_hash="x")
        for k, (place, vehicle, capacity) in enumerate(COURIERS):
            user = await create_user(session, name=f"courier{k}", role="courier",
                                     password_hash="x")
            courier = await register_courier(session, user_id=user.id, name=f"c{k}",
                                             vehicle=vehicle, capacity=capacity)
            await change_shift(session, courier, action="start", now=T0 - timedelta(hours=1),
                               lat=place[0], lon=place[1])
            users[courier.id] = user
        for pickup, dropoff in ORDERS:
            await create_order(session, seller=seller, actor=seller,
                               service_area=ZoneServiceArea(),
                               new=NewOrder(*pickup, *dropoff, size=1))
        await session.execute(text("UPDATE orders SET created_at = :t, updated_at = :t"),
                              {"t": T0 - timedelta(minutes=5)})
        await session.commit()
    try:
        yield sessionmaker, users
    finally:
        await engine.dispose()
        drop_database(url)


async def mirror(sessionmaker) -> MemoryDispatchStore:
    """The simulator's store holding what the database holds (read through the service's own
    snapshot, so both start from identical values)."""
    store = SqlDispatchStore(sessionmaker, NoLivePositions())
    loaded = await store.load(now=T0)
    memory = MemoryDispatchStore()
    for c in loaded.snapshot.couriers:
        memory.add_courier(c.id, vehicle=c.vehicle, capacity=c.capacity)
        memory.start_shift(c.id, lat=c.lat, lon=c.lon)
    for o in loaded.snapshot.orders:
        memory.create_order(pickup=(o.pickup_lat, o.pickup_lon),
                            dropoff=(o.dropoff_lat, o.dropoff_lon), now=T0 - timedelta(minutes=5),
                            size=o.size, order_id=o.id)
    return memory


async def sql_state(sessionmaker) -> dict[int, tuple[str, int | None]]:
    async with sessionmaker() as session:
        rows = (await session.execute(select(Order.id, Order.status, Order.courier_id))).all()
    return {r.id: (r.status, r.courier_id) for r in rows}


def memory_state(store: MemoryDispatchStore) -> dict[int, tuple[str, int | None]]:
    return {o.id: (o.status, o.courier_id) for o in store.orders.values()}


def offers_of(summary) -> set[tuple[int, int, str]]:
    return {(o["order_id"], o["courier_id"], o["state"]) for o in summary.offers}


async def sql_routes(sessionmaker) -> dict[int, list[tuple[int, str]]]:
    async with sessionmaker() as session:
        rows = (await session.execute(text(
            "SELECT courier_id, order_id, kind FROM planned_stops ORDER BY courier_id, seq"))).all()
    routes: dict[int, list[tuple[int, str]]] = {}
    for r in rows:
        routes.setdefault(r.courier_id, []).append((r.order_id, r.kind))
    return routes


def memory_routes(store: MemoryDispatchStore) -> dict[int, list[tuple[int, str]]]:
    return {c: [(s.order_id, s.kind) for s in stops] for c, stops in store.routes.items() if stops}


async def both_cycles(sessionmaker, memory, now):
    sql = await run_cycle(store=SqlDispatchStore(sessionmaker, NoLivePositions()),
                          travel=StraightLines(), config=CONFIG, now=now, offload=False)
    mem = await run_cycle(store=memory, travel=StraightLines(), config=CONFIG, now=now,
                          offload=False)
    return sql, mem


async def test_the_service_and_the_simulator_decide_alike_step_by_step(service):
    sessionmaker, users = service
    memory = await mirror(sessionmaker)
    assert memory_state(memory) == await sql_state(sessionmaker)

    # 1. A cycle offers every order.
    sql, mem = await both_cycles(sessionmaker, memory, T0)
    assert offers_of(sql) and offers_of(sql) == offers_of(mem)
    assert {o for o, _, _ in offers_of(sql)} == set(memory.orders)
    assert await sql_routes(sessionmaker) == memory_routes(memory)
    assert await sql_state(sessionmaker) == memory_state(memory)

    # 2. The first courier declines its offers, the second accepts, the third stays silent.
    couriers = sorted(users)
    answered_at = T0 + timedelta(seconds=10)
    sql_offers = {(o["order_id"], o["courier_id"]): o["id"] for o in sql.offers}
    mem_offers = {(o["order_id"], o["courier_id"]): o["id"] for o in mem.offers}
    for (order_id, courier_id), offer_id in sorted(sql_offers.items()):
        if courier_id == couriers[2]:
            continue
        respond = decline_offer if courier_id == couriers[0] else accept_offer
        async with sessionmaker() as session:
            await respond(session, offer_id=offer_id, courier_id=courier_id, now=answered_at,
                          actor=users[courier_id])
            await session.commit()
        mem_id = mem_offers[(order_id, courier_id)]
        if courier_id == couriers[0]:
            memory.decline_offer(mem_id, courier_id=courier_id, now=answered_at)
        else:
            memory.accept_offer(mem_id, courier_id=courier_id, now=answered_at)
    assert await sql_state(sessionmaker) == memory_state(memory)

    # 3. The next cycle moves the declined orders to others, never back to the decliner.
    sql, mem = await both_cycles(sessionmaker, memory, T0 + timedelta(seconds=12))
    assert offers_of(sql) == offers_of(mem)
    assert all(c != couriers[0] for _, c, _ in offers_of(sql))
    assert await sql_routes(sessionmaker) == memory_routes(memory)
    assert await sql_state(sessionmaker) == memory_state(memory)

    # 4. Unanswered offers run out; the cycle then offers those orders elsewhere.
    sql, mem = await both_cycles(sessionmaker, memory, T0 + timedelta(seconds=45))
    assert sql.expired_offers == mem.expired_offers > 0
    assert offers_of(sql) == offers_of(mem)
    assert await sql_routes(sessionmaker) == memory_routes(memory)
    assert await sql_state(sessionmaker) == memory_state(memory)
