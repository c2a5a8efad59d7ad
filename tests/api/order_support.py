"""Helpers shared by the tests that check orders survive faults and handoffs see a track:
the consistency check of orders against their log, a worker process running the dispatch
loop, and storing one fix of a courier's track as the tracking pipeline would."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import text

#: A worker process with the dispatch loop: prints "leader <epoch>" or "follower" every 0.2 s.
LEADER_WORKER = """
import asyncio
from api.app import create_app
from api.settings import Settings

async def main():
    app = create_app(Settings())
    async with app.router.lifespan_context(app):
        while True:
            leader = app.state.dispatch.leader
            print(f"leader {leader.epoch}" if leader.leading else "follower", flush=True)
            await asyncio.sleep(0.2)

asyncio.run(main())
"""


async def consistency_problems(engine) -> list[str]:
    """What breaks 'each order is what its log says', as readable lines (empty: consistent)."""
    async with engine.connect() as conn:
        rows = (await conn.execute(text("""
            SELECT o.id, o.status, o.courier_id,
                   (SELECT e.to_status FROM order_events e WHERE e.order_id = o.id
                     AND e.to_status IS NOT NULL ORDER BY e.id DESC LIMIT 1) AS logged,
                   (SELECT count(*) FROM dispatch_offers f WHERE f.order_id = o.id
                     AND f.state = 'pending') AS offers
            FROM orders o"""))).all()
    problems = []
    for order_id, status, courier_id, logged, offers in rows:
        if status != (logged or "pending"):
            problems.append(f"order {order_id}: status {status}, log says {logged}")
        if status == "offered" and offers == 0:
            problems.append(f"order {order_id}: offered without a pending offer")
        if status == "pending" and offers:
            problems.append(f"order {order_id}: pending with {offers} pending offers")
        if (status in ("assigned", "at_pickup", "picked_up", "at_dropoff")) != (
                courier_id is not None) and status not in ("offered", "delivered"):
            problems.append(f"order {order_id}: {status} with courier {courier_id}")
    return problems


async def add_track_point(app, courier_id: int, point: dict, at: datetime) -> None:
    """Stores one fix of the courier's track, as the tracking pipeline would."""
    async with app.state.sessionmaker() as session:
        await session.execute(text(
            "INSERT INTO positions (courier_id, recorded_at, location) VALUES "
            "(:c, :t, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)::geography)"),
            {"c": courier_id, "t": at, "lat": point["lat"], "lon": point["lon"]})
        await session.commit()
