"""The courier socket closes a connection that sends too much: too big, or too fast."""

from __future__ import annotations

import pytest
from tracking_support import InProcessServer, quick_actor, recv_json, ws_connect
from websockets.exceptions import ConnectionClosed

from api.socket_limits import CLOSE_POLICY, CLOSE_TOO_BIG, MessageBudget, SocketLimits


def test_the_budget_allows_a_burst_then_the_average_rate():
    budget = MessageBudget(SocketLimits(max_message_bytes=100, messages_per_s=2, burst=3),
                           now_s=0.0)
    assert [budget.admit(10, now_s=0.0) for _ in range(3)] == [None, None, None]
    assert budget.admit(10, now_s=0.0)[0] == CLOSE_POLICY
    budget = MessageBudget(SocketLimits(max_message_bytes=100, messages_per_s=2, burst=3),
                           now_s=0.0)
    for i in range(20):  # exactly the average rate, forever
        assert budget.admit(10, now_s=i * 0.5) is None
    assert budget.admit(101, now_s=20.0)[0] == CLOSE_TOO_BIG


@pytest.fixture(scope="module")
async def server(app):
    async with InProcessServer(app) as running:
        yield running


async def test_a_too_big_message_closes_the_socket_with_1009(server, app):
    courier = await quick_actor(app, "courier")
    limit = app.state.settings.ws_max_message_bytes
    async with ws_connect(f"{server.ws_url}/ws/courier", courier.token) as ws:
        await ws.send('{"type": "ping"}')
        assert (await recv_json(ws))["type"] == "pong"
        await ws.send('{"type": "ping", "pad": "' + "x" * limit + '"}')
        with pytest.raises(ConnectionClosed) as closed:
            await recv_json(ws)
    assert closed.value.rcvd.code == 1009
    assert closed.value.rcvd.reason.startswith("message_too_big")


async def test_a_flood_of_messages_closes_the_socket_with_1008(server, app):
    courier = await quick_actor(app, "courier")
    burst = app.state.settings.ws_message_burst
    async with ws_connect(f"{server.ws_url}/ws/courier", courier.token) as ws:
        for _ in range(burst * 3):
            try:
                await ws.send('{"type": "ping"}')
            except ConnectionClosed:
                break
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                await recv_json(ws)
    assert closed.value.rcvd.code == 1008
    assert closed.value.rcvd.reason.startswith("rate_limited")


@pytest.mark.slow
async def test_courier_serve_refuses_a_huge_frame_before_buffering_it(settings, app):
    """Through `courier serve`: uvicorn's own frame limit follows the setting (its default
    would read 16 MiB into memory first)."""
    from tracking_support import ServeProcess

    server = ServeProcess(settings).start()
    try:
        await server.ready()
        courier = await quick_actor(app, "courier")
        async with ws_connect(f"{server.ws_url}/ws/courier", courier.token) as ws:
            await ws.send('{"type": "ping"}')
            assert (await recv_json(ws))["type"] == "pong"
            with pytest.raises(ConnectionClosed) as closed:
                await ws.send("x" * (4 * 1024 * 1024))
                await recv_json(ws, timeout=10)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009
        # refused by the server's frame limit, before the app read the message
        assert not closed.value.rcvd.reason.startswith("message_too_big"), closed.value.rcvd
    finally:
        server.stop()
