"""Helpers for the tracking API tests: actors without password hashing, an in-process
uvicorn server (port 0) for WebSockets, and `courier serve` processes for multi-worker tests."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx
import orjson
import uvicorn
from websockets.asyncio.client import connect

from api.security import issue_access_token
from dispatch.couriers import change_shift, register_courier
from dispatch.users import create_user

PROJECT_ROOT = Path(__file__).resolve().parents[2]


@dataclass
class QuickActor:
    id: int
    role: str
    token: str
    courier_id: int | None = None

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


async def quick_actor(app, role: str) -> QuickActor:
    """A user (and, for couriers, an on-shift courier) with a token, minus the argon2 cost."""
    from datetime import UTC, datetime

    settings = app.state.settings
    async with app.state.sessionmaker() as session:
        user = await create_user(session, name=f"{role}-{uuid.uuid4().hex[:10]}", role=role,
                                 password_hash="unused")
        courier_id = None
        if role == "courier":
            courier = await register_courier(session, user_id=user.id, name=user.name,
                                             vehicle="bicycle", capacity=5)
            await change_shift(session, courier, action="start", now=datetime.now(UTC),
                               lat=41.311, lon=69.279)
            courier_id = courier.id
        await session.commit()
    token, _ = issue_access_token(user_id=user.id, role=role, secret_key=settings.secret_key,
                                  ttl_s=3600)
    return QuickActor(user.id, role, token, courier_id)


class InProcessServer:
    """The already-started test app served by uvicorn on a free port (lifespan off)."""

    def __init__(self, app) -> None:
        config = uvicorn.Config(app, host="127.0.0.1", port=0, lifespan="off",
                                ws="websockets-sansio", log_level="warning",
                                timeout_graceful_shutdown=1)
        self.server = uvicorn.Server(config)
        self.task: asyncio.Task | None = None
        self.port = 0

    async def __aenter__(self) -> InProcessServer:
        self.task = asyncio.create_task(self.server.serve())
        while not self.server.started:
            await asyncio.sleep(0.01)
        self.port = self.server.servers[0].sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc) -> None:
        self.server.should_exit = True
        await self.task

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"


async def recv_json(ws, timeout: float = 5.0) -> dict:
    return orjson.loads(await asyncio.wait_for(ws.recv(), timeout))


async def send_points(ws, seqs, *, t0: float, lat0: float = 41.30) -> None:
    await ws.send(orjson.dumps({"type": "positions", "points": [
        {"seq": s, "lat": lat0 + s * 1e-5, "lon": 69.24, "ts": t0 + s, "acc": 5}
        for s in seqs]}).decode())


async def wait_for_position(ws, courier_id: int, predicate=lambda c: True,
                            timeout: float = 5.0, seen: set[int] | None = None) -> dict:
    """The first feed entry for `courier_id` satisfying `predicate` (ids met go to `seen`)."""
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"no position for courier {courier_id}")
        message = await recv_json(ws, timeout=left)
        if message["type"] in ("positions", "snapshot"):
            for courier in message["couriers"]:
                if seen is not None:
                    seen.add(courier["id"])
                if courier["id"] == courier_id and predicate(courier):
                    return courier


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ServeProcess:
    """`courier serve` in a child process, against the test session's database and Redis."""

    def __init__(self, settings, *, port: int | None = None, workers: int = 1,
                 redis_url: str | None = None) -> None:
        self.port = port or free_port()
        self.env = {**os.environ, "COURIER_MODE": "test", "DATABASE_URL": settings.database_url,
                    "REDIS_URL": redis_url or settings.redis_url,
                    "COURIER_REDIS_PREFIX": settings.redis_prefix,
                    "COURIER_DATA_DIR": str(settings.data_dir), "COURIER_NETWORK": "none"}
        self.workers = workers
        self.process: subprocess.Popen | None = None

    def start(self) -> ServeProcess:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "api.cli", "serve", "--port", str(self.port),
             "--workers", str(self.workers), "--log-level", "warning"],
            cwd=PROJECT_ROOT, env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        return self

    async def ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient() as http:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise RuntimeError(self.process.stderr.read().decode()[-3000:])
                try:
                    if (await http.get(f"http://127.0.0.1:{self.port}/healthz")).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)
        raise TimeoutError("courier serve did not start")

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"


def ws_connect(url: str, token: str | None = None, **kw):
    headers = {"Authorization": f"Bearer {token}"} if token else None
    return connect(url, additional_headers=headers, open_timeout=10, **kw)
