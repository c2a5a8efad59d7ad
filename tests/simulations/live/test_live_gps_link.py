"""The courier app's GPS channel (`simulations.live.gps_link`) against a scripted WebSocket
server on a free port: it continues above the service's mark, keeps points until an ack
covers them, and re-sends them after the connection drops."""

from __future__ import annotations

import asyncio

import orjson
import pytest
from websockets.asyncio.server import serve

from simulations.live.client import Actor
from simulations.live.gps_link import GpsLink
from simulations.live.summary import Summary


class ScriptedService:
    """Answers the empty batch with mark 41. The first connection swallows points and then
    drops; later ones ack every batch (refusing seq 43 as `poor_accuracy`)."""

    def __init__(self) -> None:
        self.connections = 0
        self.received: list[list[int]] = []
        self.auth: list[str | None] = []
        self.mark = 41
        self.dropped = asyncio.Event()

    async def handler(self, ws) -> None:
        self.connections += 1
        first = self.connections == 1
        self.auth.append(ws.request.headers.get("Authorization"))
        swallowed = 0
        async for raw in ws:
            message = orjson.loads(raw)
            seqs = [p["seq"] for p in message["points"]]
            self.received.append(seqs)
            if first and seqs:
                swallowed += len(seqs)
                if swallowed >= 3:
                    self.dropped.set()
                    await ws.close()
                    return
                continue
            self.mark = max([self.mark, *seqs])
            rejected = [{"seq": 43, "reason": "poor_accuracy"}] if 43 in seqs else []
            await ws.send(orjson.dumps({"type": "ack", "seq": self.mark,
                                        "rejected": rejected}).decode())
            if not seqs:
                await ws.send(orjson.dumps({"type": "offer", "offer": {"id": 9}}).decode())


async def test_points_are_kept_until_acked_and_resent_after_a_drop():
    service = ScriptedService()
    messages: list[dict] = []
    summary = Summary()
    async with serve(service.handler, "127.0.0.1", 0) as server:
        port = server.sockets[0].getsockname()[1]
        link = GpsLink(url=f"ws://127.0.0.1:{port}/ws/courier",
                       actor=Actor("c", "courier", "pw", token="t0k"), summary=summary,
                       on_message=messages.append, ack_timeout_s=5.0)
        await link.start(timeout_s=5)
        assert link.first_mark == 41 and link.next_seq == 42
        seqs = [link.send(lat=41.3, lon=69.2 + i * 1e-4, ts=1000.0 + i, acc_m=5.0,
                          speed_mps=3.0, heading_deg=90.0) for i in range(3)]
        assert seqs == [42, 43, 44]
        await asyncio.wait_for(service.dropped.wait(), 5)
        assert await link.flush(timeout_s=10)
        later = link.send(lat=41.3, lon=69.21, ts=1004.0, acc_m=5.0, speed_mps=0.0,
                          heading_deg=None)
        assert await link.flush(timeout_s=5)
        await link.close()
    assert service.connections >= 2
    assert service.auth[0] == "Bearer t0k"
    # The probe, three points swallowed, then the second connection re-sends them in one batch.
    assert service.received == [[], [42], [43], [44], [42, 43, 44], [later]]
    assert link.stored_seqs == [42, 44, later] and link.rejected == {43: "poor_accuracy"}
    assert summary.points_sent == 4 and summary.points_acked == 3
    assert summary.points_rejected == {"poor_accuracy": 1} and summary.points_unacked == 0
    assert summary.ws_reconnects >= 1 and summary.ack_rtt.count == 3
    assert messages and messages[0]["type"] == "offer"


async def test_closing_counts_what_was_never_acknowledged():
    async def silent(ws) -> None:
        async for raw in ws:
            if not orjson.loads(raw)["points"]:
                await ws.send('{"type": "ack", "seq": 0, "rejected": []}')

    summary = Summary()
    async with serve(silent, "127.0.0.1", 0) as server:
        port = server.sockets[0].getsockname()[1]
        link = GpsLink(url=f"ws://127.0.0.1:{port}/", actor=Actor("c", "courier", "pw"),
                       summary=summary, on_message=lambda m: None)
        await link.start(timeout_s=5)
        assert link.send(lat=1, lon=2, ts=3, acc_m=4, speed_mps=0, heading_deg=None) == 1
        assert not await link.flush(timeout_s=0.3)
        await link.close(flush_timeout_s=0.2)
    assert summary.points_unacked == 1 and summary.points_acked == 0


async def test_a_service_that_never_answers_fails_the_start():
    from simulations.live.gps_link import LinkClosed

    link = GpsLink(url="ws://127.0.0.1:9/", actor=Actor("c", "courier", "pw"),
                   summary=Summary(), on_message=lambda m: None)
    with pytest.raises(LinkClosed):
        await link.start(timeout_s=1.0)
