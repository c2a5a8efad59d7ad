"""End-to-end runs across processes (slow): a courier on one `courier serve` process seen by
a dispatcher on another, a killed service that loses no acknowledged point, and Redis
restarting mid-stream without the service falling over."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import time

import pytest
from sqlalchemy import text
from tracking_support import (
    InProcessServer,
    ServeProcess,
    free_port,
    quick_actor,
    recv_json,
    send_points,
    wait_for_position,
    ws_connect,
)
from websockets.exceptions import ConnectionClosed

from api.app import create_app

pytestmark = pytest.mark.slow


async def stored_seqs(app, courier_id: int) -> set[int]:
    async with app.state.engine.connect() as conn:
        rows = await conn.execute(text("SELECT seq FROM positions WHERE courier_id = :c"),
                                  {"c": courier_id})
        return {r[0] for r in rows}


@pytest.fixture(scope="module")
async def two_services(settings):
    services = [ServeProcess(settings).start(), ServeProcess(settings).start()]
    try:
        await asyncio.gather(*(s.ready() for s in services))
        yield services
    finally:
        for service in services:
            service.stop()


async def test_courier_on_one_process_is_seen_by_a_dispatcher_on_another(two_services, app):
    worker_a, worker_b = two_services
    courier = await quick_actor(app, "courier")
    dispatcher = await quick_actor(app, "dispatcher")
    t0 = time.time() - 30
    async with ws_connect(f"{worker_b.ws_url}/ws/dispatch", dispatcher.token) as feed:
        assert (await recv_json(feed, timeout=10))["type"] == "snapshot"
        async with ws_connect(f"{worker_a.ws_url}/ws/courier", courier.token) as ws:
            await send_points(ws, [1, 2, 3], t0=t0)
            assert (await recv_json(ws, timeout=10))["seq"] == 3
            seen = await wait_for_position(feed, courier.courier_id,
                                           lambda c: c["ts"] == t0 + 3, timeout=10)
    assert seen["lat"] == pytest.approx(41.30003)


async def test_killing_the_service_loses_no_acknowledged_point(two_services, app):
    worker_a = two_services[0]
    courier = await quick_actor(app, "courier")
    t0 = time.time() - 3000
    acked = 0
    sent = 0

    async def stream() -> None:
        nonlocal acked, sent
        async with ws_connect(f"{worker_a.ws_url}/ws/courier", courier.token) as ws:
            while True:
                await send_points(ws, range(sent + 1, sent + 6), t0=t0)
                sent += 5
                acked = max(acked, (await recv_json(ws, timeout=10)).get("seq", 0))

    streaming = asyncio.create_task(stream())
    while acked < 200:
        await asyncio.sleep(0.01)
        assert not streaming.done(), streaming
    worker_a.kill()  # SIGKILL mid-stream: no graceful shutdown at all
    with pytest.raises((ConnectionClosed, OSError, TimeoutError)):
        await streaming
    assert await stored_seqs(app, courier.courier_id) >= set(range(1, acked + 1))

    worker_a.start()  # same port, same database
    await worker_a.ready()
    async with ws_connect(f"{worker_a.ws_url}/ws/courier", courier.token) as ws:
        # The app re-sends everything not acknowledged, plus what was: all acked once.
        await send_points(ws, range(max(1, acked - 4), sent + 6), t0=t0)
        assert (await recv_json(ws, timeout=10))["seq"] == sent + 5
    stored = await stored_seqs(app, courier.courier_id)
    assert stored == set(range(1, sent + 6))


def _redis_server(port: int, workdir) -> subprocess.Popen:
    return subprocess.Popen(
        [shutil.which("redis-server") or "redis-server", "--port", str(port), "--bind",
         "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(workdir)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


async def _wait_redis(port: int) -> None:
    from redis.asyncio import Redis

    client = Redis(port=port)
    try:
        for _ in range(200):
            try:
                await client.ping()
                return
            except Exception:
                await asyncio.sleep(0.02)
        raise TimeoutError("private redis did not start")
    finally:
        await client.aclose()


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="redis-server not installed")
async def test_redis_restarting_mid_stream_is_survived(settings, tmp_path):
    port = free_port()
    redis = _redis_server(port, tmp_path)
    private = create_app(settings.model_copy(update={"redis_url": f"redis://127.0.0.1:{port}/0"}))
    try:
        await _wait_redis(port)
        async with private.router.lifespan_context(private), InProcessServer(private) as server:
            courier = await quick_actor(private, "courier")
            dispatcher = await quick_actor(private, "dispatcher")
            t0 = time.time() - 100
            async with ws_connect(f"{server.ws_url}/ws/dispatch", dispatcher.token) as feed, \
                    ws_connect(f"{server.ws_url}/ws/courier", courier.token) as ws:
                await recv_json(feed)
                await send_points(ws, [1], t0=t0)
                assert (await recv_json(ws))["seq"] == 1
                await wait_for_position(feed, courier.courier_id, lambda c: c["ts"] == t0 + 1)

                redis.kill()
                redis.wait(10)
                # Redis is gone: points are still stored and acknowledged, and this
                # worker's dispatchers still see them.
                for seq in (2, 3):
                    await send_points(ws, [seq], t0=t0)
                    assert (await recv_json(ws))["seq"] == seq
                await wait_for_position(feed, courier.courier_id, lambda c: c["ts"] == t0 + 3)
                assert not private.state.tracking.updater.redis_ok
                assert await stored_seqs(private, courier.courier_id) == {1, 2, 3}

                redis = _redis_server(port, tmp_path)
                await _wait_redis(port)
                await asyncio.wait_for(private.state.tracking.subscriber.connected.wait(), 10)
                seq = 3
                while seq < 50 and not private.state.tracking.updater.redis_ok:
                    seq += 1
                    await send_points(ws, [seq], t0=t0)
                    assert (await recv_json(ws))["seq"] == seq
                    await wait_for_position(feed, courier.courier_id,
                                            lambda c, seq=seq: c["ts"] == t0 + seq)
                assert private.state.tracking.updater.redis_ok
                snapshot = await private.state.tracking.live.snapshot()
                assert [c["ts"] for c in snapshot if c["id"] == courier.courier_id] == [t0 + seq]
                assert await stored_seqs(private, courier.courier_id) == set(range(1, seq + 1))
    finally:
        redis.kill()
        redis.wait(10)




@pytest.mark.skipif(shutil.which("redis-server") is None, reason="redis-server not installed")
async def test_redis_paused_is_reported_by_readiness_and_loses_nothing(settings, tmp_path):
    """A Redis that stops answering (SIGSTOP: a stalled host, a long fork) rather than refusing
    connections: readiness says so within its probe timeout, points are still acknowledged and
    stored, and everything recovers when it resumes, without a restart of the service."""
    import signal

    import httpx

    port = free_port()
    redis = _redis_server(port, tmp_path)
    private = create_app(settings.model_copy(update={"redis_url": f"redis://127.0.0.1:{port}/0"}))
    try:
        await _wait_redis(port)
        async with private.router.lifespan_context(private), InProcessServer(private) as server, \
                httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}") as http:
            courier = await quick_actor(private, "courier")
            t0 = time.time() - 100
            assert (await http.get("/readyz")).status_code == 200
            async with ws_connect(f"{server.ws_url}/ws/courier", courier.token) as ws:
                await send_points(ws, [1], t0=t0)
                assert (await recv_json(ws))["seq"] == 1
                redis.send_signal(signal.SIGSTOP)
                try:
                    ready = await http.get("/readyz", timeout=30)
                    assert ready.status_code == 503
                    assert ready.json()["checks"]["redis"].startswith("error")
                    assert ready.json()["checks"]["database"] == "ok"
                    for seq in (2, 3):
                        await send_points(ws, [seq], t0=t0)
                        assert (await recv_json(ws, timeout=30))["seq"] == seq
                finally:
                    redis.send_signal(signal.SIGCONT)
                for _ in range(100):
                    if (await http.get("/readyz", timeout=30)).status_code == 200:
                        break
                    await asyncio.sleep(0.2)
                assert (await http.get("/readyz")).status_code == 200
                await send_points(ws, [4], t0=t0)
                assert (await recv_json(ws, timeout=30))["seq"] == 4
            assert await stored_seqs(private, courier.courier_id) == {1, 2, 3, 4}
    finally:
        redis.kill()
        redis.wait(10)
