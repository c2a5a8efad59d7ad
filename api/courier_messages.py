"""Delivers courier-bound messages (offers, routes) to that courier's open WebSockets.

The dispatch engine publishes each message on `{prefix}courier-messages:{courier_id}`
(`api.dispatch_runtime.courier_channel`). Every worker runs one pattern subscription and hands
each message to the local sockets of that courier, so a courier connected to any worker gets
it. The subscription survives Redis restarts (reconnects with back-off). Delivery is
best-effort: a courier that was offline reads its offers with `GET /api/v1/offers` and its
route with `GET /api/v1/couriers/{id}/route`, which are the record.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict

from redis.asyncio import Redis

__all__ = ["CourierMessageRelay"]

log = logging.getLogger(__name__)

#: Messages waiting for one slow socket; the oldest go first when it overflows.
MAX_PENDING = 64


class CourierMessageRelay:
    def __init__(self, redis: Redis, prefix: str, *, max_backoff_s: float = 2.0) -> None:
        self.redis = redis
        self.pattern = f"{prefix}courier-messages:*"
        self._prefix_len = len(self.pattern) - 1
        self.max_backoff_s = max_backoff_s
        self.subscribed = asyncio.Event()
        self._queues: dict[int, set[asyncio.Queue[bytes]]] = defaultdict(set)
        self._task: asyncio.Task | None = None

    def connect(self, courier_id: int) -> asyncio.Queue[bytes]:
        queue: asyncio.Queue[bytes] = asyncio.Queue(maxsize=MAX_PENDING)
        self._queues[courier_id].add(queue)
        return queue

    def disconnect(self, courier_id: int, queue: asyncio.Queue[bytes]) -> None:
        queues = self._queues.get(courier_id)
        if queues is not None:
            queues.discard(queue)
            if not queues:
                del self._queues[courier_id]

    def deliver(self, courier_id: int, data: bytes) -> None:
        for queue in self._queues.get(courier_id, ()):
            if queue.full():
                queue.get_nowait()
            queue.put_nowait(data)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="courier-message-relay")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        backoff_s = 0.05
        while True:
            pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.psubscribe(self.pattern)
                self.subscribed.set()
                backoff_s = 0.05
                while True:
                    message = await pubsub.get_message(timeout=1.0)
                    if message is None:
                        continue
                    channel = message["channel"]
                    if isinstance(channel, bytes):
                        channel = channel.decode()
                    try:
                        courier_id = int(channel[self._prefix_len:])
                    except ValueError:
                        continue
                    data = message["data"]
                    self.deliver(courier_id, data if isinstance(data, bytes) else data.encode())
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if self.subscribed.is_set():
                    log.warning("courier message relay lost its Redis subscription: %s", exc)
                self.subscribed.clear()
                await asyncio.sleep(backoff_s)
                backoff_s = min(self.max_backoff_s, backoff_s * 2)
            finally:
                with contextlib.suppress(Exception):
                    await asyncio.shield(pubsub.aclose())
