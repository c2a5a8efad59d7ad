"""Couriers on a break over HTTP: the shift actions, the listing, dispatchers' assignments,
and what the planner's first step and its snapshot make of a resting courier."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select, text

from dispatch.offers import create_offer, release_off_shift
from dispatch.state_store import NoLivePositions, load_snapshot
from dispatch.tables import DispatchOffer, Order
from tests.conftest import INSIDE, every_item


@pytest.fixture(autouse=True)
async def _leave_no_open_work(app):
    """Planning tests elsewhere weigh every open order: ours are closed and our couriers sent
    home after each test."""
    started = datetime.now(UTC)
    yield
    async with app.state.engine.begin() as conn:
        await conn.execute(text(
            "UPDATE orders SET status = 'cancelled', courier_id = NULL WHERE created_at >= :t "
            "AND status IN ('pending', 'offered', 'assigned')"), {"t": started})
        await conn.execute(text(
            "UPDATE couriers SET shift_state = 'off' WHERE created_at >= :t"), {"t": started})


async def shift(client, actor, action: str, **extra):
    return await client.post(f"/api/v1/couriers/{actor.courier_id}/shift",
                             json={"action": action, **extra}, headers=actor.headers)


async def test_break_and_resume(client, actors):
    courier = await actors.make("courier")
    dispatcher = await actors.make("dispatcher")
    taken = await shift(client, courier, "break")
    assert taken.status_code == 200, taken.text
    assert taken.json()["shift_state"] == "break"
    listed = await every_item(client, "/couriers", dispatcher.headers, shift_state="break")
    assert courier.courier_id in [c["id"] for c in listed]
    on = await every_item(client, "/couriers", dispatcher.headers, shift_state="on")
    assert courier.courier_id not in [c["id"] for c in on]

    again = await shift(client, courier, "break", **INSIDE)
    assert again.status_code == 409 and again.json()["error"]["code"] == "already_on_break"
    started = await shift(client, courier, "start", **INSIDE)
    assert started.status_code == 409
    assert started.json()["error"]["code"] == "shift_already_started"
    resumed = await shift(client, courier, "resume")
    assert resumed.status_code == 200 and resumed.json()["shift_state"] == "on"
    not_resting = await client.post(f"/api/v1/couriers/{courier.courier_id}/shift",
                                    json={"action": "resume"},
                                    headers={**courier.headers, "Accept-Language": "uz"})
    assert not_resting.status_code == 409
    assert not_resting.json()["error"] == {"code": "not_on_break",
                                           "message": "Kuryer tanaffusda emas.",
                                           "details": None}
    # A break can end the shift directly; off shift there is no break to take.
    assert (await shift(client, courier, "break")).status_code == 200
    ended = await shift(client, courier, "end")
    assert ended.status_code == 200 and ended.json()["shift_state"] == "off"
    off = await shift(client, courier, "break")
    assert off.status_code == 409 and off.json()["error"]["code"] == "shift_not_started"
    # A dispatcher may send a courier on a break too.
    assert (await shift(client, courier, "start", **INSIDE)).status_code == 200
    by_dispatcher = await client.post(f"/api/v1/couriers/{courier.courier_id}/shift",
                                      json={"action": "break"}, headers=dispatcher.headers)
    assert by_dispatcher.json()["shift_state"] == "break"


async def test_a_resting_courier_cannot_be_assigned_new_work(client, actors, make_order):
    courier = await actors.make("courier")
    dispatcher = await actors.make("dispatcher")
    order = await make_order()
    assert (await shift(client, courier, "break")).status_code == 200
    refused = await client.post(f"/api/v1/orders/{order['id']}/assign",
                                json={"courier_id": courier.courier_id},
                                headers={**dispatcher.headers, "Accept-Language": "ru"})
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "courier_on_break"
    assert refused.json()["error"]["message"] == "Курьер на перерыве."
    assert (await shift(client, courier, "resume")).status_code == 200
    assigned = await client.post(f"/api/v1/orders/{order['id']}/assign",
                                 json={"courier_id": courier.courier_id},
                                 headers=dispatcher.headers)
    assert assigned.status_code == 200


async def test_the_planner_withdraws_offers_but_keeps_accepted_work(app, client, actors,
                                                                     make_order):
    courier = await actors.make("courier")
    dispatcher = await actors.make("dispatcher")
    accepted, offered = await make_order(), await make_order()
    assert (await client.post(f"/api/v1/orders/{accepted['id']}/assign",
                              json={"courier_id": courier.courier_id},
                              headers=dispatcher.headers)).status_code == 200
    now = datetime.now(UTC)
    async with app.state.sessionmaker() as session:
        row = await session.get(Order, offered["id"], with_for_update=True)
        await create_offer(session, order=row, courier_id=courier.courier_id, now=now,
                           timeout_s=300, policy="batch")
        await session.commit()
    assert (await shift(client, courier, "break")).status_code == 200

    async with app.state.sessionmaker() as session:
        released = await release_off_shift(session, now=datetime.now(UTC))
        await session.commit()
        assert offered["id"] in released and accepted["id"] not in released
        statuses = dict((await session.execute(select(Order.id, Order.status).where(
            Order.id.in_([accepted["id"], offered["id"]])))).all())
        assert statuses == {accepted["id"]: "assigned", offered["id"]: "pending"}
        offer_state = await session.scalar(select(DispatchOffer.state).where(
            DispatchOffer.order_id == offered["id"]))
        assert offer_state == "withdrawn"
        loaded = await load_snapshot(session, now=datetime.now(UTC),
                                     positions=NoLivePositions())
        await session.rollback()
    mine = [c for c in loaded.snapshot.couriers if c.id == courier.courier_id]
    assert len(mine) == 1 and mine[0].takes_new_work is False
    events = (await client.get(f"/api/v1/orders/{offered['id']}",
                               headers=dispatcher.headers)).json()["events"]
    assert events[-1]["details"] == {"reason": "courier_on_break"}
