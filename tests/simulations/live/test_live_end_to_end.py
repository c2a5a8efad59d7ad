"""`courier simulate live` against a real service (slow): a `courier serve` process on a scratch
database, routing on a synthetic city built into a temporary data directory, with its dispatch
loop on. A short run with a few couriers and a high order rate must carry orders from created
to delivered through real QR scans, have every acknowledged point in the stored track, and
report counts that agree with the service's own records."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest

from api.database import upgrade
from tests.conftest import PROJECT_ROOT, REDIS_URL, create_scratch_database, drop_database

pytestmark = pytest.mark.slow

ADMIN = ("boss", "boss-password-123")


def courier_cli(*args: str, env: dict[str, str], timeout: float = 150
                ) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "api.cli", *args], cwd=PROJECT_ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def _admin_and_zone(url: str, bbox: list[float]) -> None:
    """The admin account and one service zone over the network's box."""
    from api.database import make_engine, make_sessionmaker
    from api.security import PasswordHasher
    from dispatch.users import create_user
    from geodata.zones import create_zone

    x0, y0, x1, y1 = bbox
    engine = make_engine(url, pool_size=1)
    try:
        async with make_sessionmaker(engine)() as session:
            await create_zone(session, name="city", geometry={
                "type": "Polygon",
                "coordinates": [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]})
            await create_user(session, name=ADMIN[0], role="admin",
                              password_hash=PasswordHasher(cheap=True).hash(ADMIN[1]))
            await session.commit()
    finally:
        await engine.dispose()


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    """A served synthetic city: admin `boss`, one zone over the network, dispatch loop on."""
    from geodata.synth_osm import synthesize_network

    data_dir = tmp_path_factory.mktemp("live-data")
    url = create_scratch_database("courier_live")
    prefix = f"live-{uuid.uuid4().hex[:8]}:"
    env = {**os.environ, "DATABASE_URL": url, "REDIS_URL": REDIS_URL, "COURIER_MODE": "test",
           "COURIER_REDIS_PREFIX": prefix,
           "COURIER_DATA_DIR": str(data_dir), "COURIER_NETWORK": "city",
           "COURIER_DISPATCH_LOOP": "true", "COURIER_DISPATCH_INTERVAL_S": "2",
           "COURIER_DISPATCH_DEBOUNCE_S": "0.2"}
    process = None
    try:
        upgrade(url)
        # What `courier geodata synth --name city --size-km 2.5 --seed 7` builds.
        info = synthesize_network(name="city", data_dir=data_dir, size_km=2.5, seed=7).info
        asyncio.run(_admin_and_zone(url, list(info.bbox)))
        port = free_port()
        process = subprocess.Popen(
            [sys.executable, "-m", "api.cli", "serve", "--port", str(port), "--log-level",
             "warning"], cwd=PROJECT_ROOT, env=env, stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE)
        base_url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, process.stderr.read().decode()[-3000:]
            try:
                if httpx.get(f"{base_url}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "courier serve did not become ready"
            time.sleep(0.2)
        yield base_url, env
    finally:
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)
        drop_database(url)
        _forget_redis_keys(prefix)


def _forget_redis_keys(prefix: str) -> None:
    from redis import Redis

    client = Redis.from_url(REDIS_URL)
    try:
        keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


def _admin(base_url: str) -> httpx.Client:
    http = httpx.Client(base_url=f"{base_url}/api/v1", timeout=30)
    token = http.post("/auth/token", data={"username": ADMIN[0], "password": ADMIN[1]})
    http.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
    return http


def _expand(ranges: list[list[int]]) -> set[int]:
    return {seq for low, high in ranges for seq in range(low, high + 1)}


def test_a_short_live_run_delivers_through_real_scans(service, tmp_path: Path):
    base_url, env = service
    out = tmp_path / "live.json"
    run = courier_cli(
        "simulate", "live", "--base-url", base_url, "--couriers", "3",
        "--orders-per-hour", "900", "--duration-s", "6", "--drain-s", "60", "--seed", "30",
        "--admin-user", ADMIN[0], "--admin-password", ADMIN[1], "--json", str(out),
        "--speed-factor", "20", "--radius-m", "200", "--dwell-s", "1", "2",
        "--answer-delay-s", "0.3", "1", "--accept-probability", "1", "--fail-probability", "0",
        "--progress-s", "0", "--strict", env=env)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "findings  none" in run.stdout
    summary = json.loads(out.read_text())
    orders = summary["orders"]
    assert orders["created"] >= 2 and orders["delivered"] >= 1, run.stdout

    admin = _admin(base_url)
    # Orders: what the run says it created and delivered is what the service holds.
    ids = summary["created_order_ids"]
    assert len(ids) == orders["created"]
    listed = admin.get("/orders", params={"limit": 200}).json()["items"]
    assert sorted(o["id"] for o in listed) == sorted(ids)
    statuses: dict[str, int] = {}
    handoffs = {"picked_up": 0, "delivered": 0}
    for order_id in ids:
        order = admin.get(f"/orders/{order_id}").json()
        statuses[order["status"]] = statuses.get(order["status"], 0) + 1
        custody = admin.get(f"/orders/{order_id}/custody").json()
        assert custody["verification"]["valid"]
        for entry in custody["entries"]:
            if entry["kind"] in handoffs:
                assert entry["method"] == "qr" and entry["token_id"]
                handoffs[entry["kind"]] += 1
        if order["status"] == "delivered":
            kinds = [e["kind"] for e in custody["entries"]]
            assert "picked_up" in kinds and kinds[-1] == "delivered"
            events = [e["type"] for e in order["events"]]
            assert "handoff_pickup" in events and "handoff_dropoff" in events
    assert statuses == orders["final_status"]
    assert statuses.get("delivered", 0) == orders["delivered"]
    assert handoffs["delivered"] == orders["delivered"] == summary["scans"]["ok"]["dropoff"]
    assert handoffs["picked_up"] == orders["picked_up"] == summary["scans"]["ok"]["pickup"]
    assert summary["scans"]["refused"] == {} and summary["arrivals"]["refused"] == {}

    # GPS: every acknowledged point is in the stored track, and nothing else is.
    started, ended = summary["run"]["started_at"], summary["run"]["ended_at"]
    stored_total = 0
    for courier in summary["couriers"]:
        track = admin.get(f"/couriers/{courier['courier_id']}/track",
                          params={"from": started, "to": ended}).json()
        seqs = [f["properties"]["seq"] for f in track["features"]
                if f["geometry"]["type"] == "Point"]
        assert set(seqs) == _expand(courier["stored_seq_ranges"]), courier["name"]
        assert len(seqs) == courier["points_stored"]
        stored_total += len(seqs)
        me = admin.get(f"/couriers/{courier['courier_id']}").json()
        assert me["shift_state"] == "off"
    points = summary["points"]
    assert stored_total == points["acknowledged"] == points["sent"]
    assert points["rejected"] == {} and points["unacknowledged"] == 0
    assert summary["http"]["errors"] == {}
    assert summary["latency"]["ack_rtt"]["count"] == points["acknowledged"]
    assert summary["latency"]["order_create"]["count"] == orders["created"]
