"""The ledger follows order life through dispatch's follower port, inside the order's
transaction, on real PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from custody.chain import CustodyKind
from custody.order_entries import record_order_step
from custody.store import load_chain
from dispatch.lifecycle import Action
from dispatch.order_followers import (
    OrderMoment,
    follow_orders,
    tell_followers,
    unfollow_orders,
)
from dispatch.orders import NewOrder, apply_action, cancel_order, create_order, lock_order
from dispatch.service_area import ZoneServiceArea
from dispatch.tables import Order
from dispatch.users import get_user
from tests.conftest import INSIDE


def _new_order() -> NewOrder:
    return NewOrder(INSIDE["lat"], INSIDE["lon"], INSIDE["lat"] + 0.004, INSIDE["lon"] + 0.004)


async def _create(app, seller_id: int) -> int:
    async with app.state.sessionmaker() as session:
        seller = await get_user(session, seller_id)
        order = await create_order(session, seller=seller, actor=seller, new=_new_order(),
                                   service_area=ZoneServiceArea())
        await session.commit()
        return order.id


async def test_created_cancelled_and_failed_orders_go_on_the_ledger(app, actors):
    seller = await actors.make("seller")
    order_id = await _create(app, seller.id)
    async with app.state.sessionmaker() as session:
        user = await get_user(session, seller.id)
        await cancel_order(session, order_id=order_id, actor=user, now=datetime.now(UTC),
                           reason="changed my mind")
        await session.commit()
        chain = await load_chain(session, order_id)
    assert [e.kind for e in chain] == [CustodyKind.CREATED, CustodyKind.CANCELLED]
    assert chain[0].lat == pytest.approx(INSIDE["lat"]) and chain[0].method == "system"
    assert chain[1].actor_id == seller.id
    assert chain[1].prev_hash == chain[0].hash


async def test_steps_the_ledger_does_not_record_write_nothing(app, actors):
    seller = await actors.make("seller")
    courier = await actors.make("courier")
    order_id = await _create(app, seller.id)
    async with app.state.sessionmaker() as session:
        order = await lock_order(session, order_id)
        order.courier_id = courier.courier_id
        await apply_action(session, order, Action.ASSIGN, actor=None, now=datetime.now(UTC))
        await session.commit()
        assert [e.kind for e in await load_chain(session, order_id)] == [CustodyKind.CREATED]


async def test_without_the_follower_orders_know_nothing_of_the_ledger(app, actors):
    seller = await actors.make("seller")
    unfollow_orders(record_order_step)
    try:
        order_id = await _create(app, seller.id)
    finally:
        follow_orders(record_order_step)
    async with app.state.sessionmaker() as session:
        assert await load_chain(session, order_id) == []


async def test_a_failing_follower_rolls_the_order_back_with_it(app, actors):
    seller = await actors.make("seller")

    async def broken(session, moment: OrderMoment) -> None:
        raise RuntimeError("follower down")

    async with app.state.sessionmaker() as session:
        before = await session.scalar(select(func.count()).select_from(Order))
    follow_orders(broken)
    try:
        with pytest.raises(RuntimeError, match="follower down"):
            await _create(app, seller.id)
    finally:
        unfollow_orders(broken)
    async with app.state.sessionmaker() as session:
        # nothing of the half-made order remains: not the order, not its ledger entry
        assert await session.scalar(select(func.count()).select_from(Order)) == before


async def test_followers_are_told_in_order_and_once_each():
    heard: list[tuple[str, str]] = []

    async def first(session, moment):
        heard.append(("first", moment.event_type))

    async def second(session, moment):
        heard.append(("second", moment.event_type))

    follow_orders(first)
    follow_orders(second)
    follow_orders(first)  # a second add is ignored
    try:
        await tell_followers(None, OrderMoment(order=None, event_type="assign",  # type: ignore[arg-type]
                                               actor_id=None, at=None))
    finally:
        unfollow_orders(first)
        unfollow_orders(second)
    assert heard == [("first", "assign"), ("second", "assign")]
