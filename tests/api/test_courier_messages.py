"""Courier-bound messages reach the courier's sockets through the Redis relay."""

import asyncio

import pytest

from api.courier_messages import MAX_PENDING, CourierMessageRelay


def test_deliver_goes_to_every_socket_of_that_courier_only():
    relay = CourierMessageRelay(redis=None, prefix="p:")  # type: ignore[arg-type]
    first, second, other = relay.connect(7), relay.connect(7), relay.connect(8)
    relay.deliver(7, b'{"type": "offer"}')
    assert first.get_nowait() == second.get_nowait() == b'{"type": "offer"}'
    assert other.empty()
    relay.disconnect(7, first)
    relay.deliver(7, b"x")
    assert first.empty() and second.get_nowait() == b"x"


def test_a_slow_socket_keeps_the_newest_messages():
    relay = CourierMessageRelay(redis=None, prefix="p:")  # type: ignore[arg-type]
    queue = relay.connect(1)
    for index in range(MAX_PENDING + 5):
        relay.deliver(1, str(index).encode())
    assert queue.qsize() == MAX_PENDING
    assert queue.get_nowait() == b"5"


@pytest.mark.parametrize("prefix", ["test-relay:"])
async def test_published_messages_reach_a_connected_courier(app, prefix):
    relay = CourierMessageRelay(app.state.redis, prefix)
    relay.start()
    try:
        await asyncio.wait_for(relay.subscription.connected.wait(), 5)
        queue = relay.connect(42)
        await app.state.redis.publish(f"{prefix}courier-messages:42", b'{"type": "route"}')
        await app.state.redis.publish(f"{prefix}courier-messages:43", b'{"type": "other"}')
        assert await asyncio.wait_for(queue.get(), 5) == b'{"type": "route"}'
        await asyncio.sleep(0.1)
        assert queue.empty()
    finally:
        await relay.stop()


async def test_an_offer_reaches_the_couriers_websocket(app):
    from api.dispatch_runtime import courier_channel
    from tests.api.tracking_support import InProcessServer, quick_actor, recv_json, ws_connect

    courier = await quick_actor(app, "courier")
    other = await quick_actor(app, "courier")
    await asyncio.wait_for(app.state.courier_messages.subscription.connected.wait(), 5)
    async with InProcessServer(app) as server, \
            ws_connect(f"{server.ws_url}/ws/courier", courier.token) as mine, \
            ws_connect(f"{server.ws_url}/ws/courier", other.token) as theirs:
        await asyncio.sleep(0.2)  # both sockets registered with the relay
        channel = courier_channel(app.state.settings, courier.courier_id)
        await app.state.redis.publish(channel, b'{"type": "offer", "offer": {"id": 5}}')
        assert await recv_json(mine) == {"type": "offer", "offer": {"id": 5}}
        with pytest.raises(TimeoutError):
            await recv_json(theirs, timeout=0.5)
