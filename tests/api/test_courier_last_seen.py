"""Dispatch keeps couriers' last known places, reported by tracking (one statement, never
moved back by an older report)."""

from __future__ import annotations

import time

import pytest

from dispatch.couriers import get_courier, record_last_seen
from dispatch.locations import to_lat_lon


async def test_last_seen_moves_forward_only(app, actors):
    a, b = await actors.make("courier"), await actors.make("courier")
    now = time.time()
    async with app.state.sessionmaker() as session:
        await record_last_seen(session, {a.courier_id: (41.30, 69.20, now),
                                         b.courier_id: (41.31, 69.21, now)})
        await record_last_seen(session, {a.courier_id: (41.50, 69.50, now - 60)})  # older
        await record_last_seen(session, {b.courier_id: (41.32, 69.22, now + 1)})
        await record_last_seen(session, {})
        await session.commit()
    async with app.state.sessionmaker() as session:
        first, second = (await get_courier(session, a.courier_id),
                         await get_courier(session, b.courier_id))
        assert tuple(to_lat_lon(first.last_location)) == pytest.approx((41.30, 69.20))
        assert first.last_seen_at.timestamp() == pytest.approx(now, abs=1e-3)
        assert tuple(to_lat_lon(second.last_location)) == pytest.approx((41.32, 69.22))
