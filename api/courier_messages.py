"""Delivers courier-bound messages (offers, routes) to that courier's open WebSockets.

The dispatch engine publishes each message on `{prefix}courier-messages:{courier_id}`
(`api.dispatch_runtime.courier_channel`). Every worker runs one pattern subscription and hands
each message to the local sockets of that courier, so a courier connected to any worker gets
it. The subscription survives Redis restarts. Delivery is best-effort: a courier that was
offline reads its offers with `GET /api/v1/offers` and its route with
`GET /api/v1/couriers/{id}/route`, which are the record.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict

from redis.asyncio import Redis

from tracking.subscription import RedisSubscription

__all__ = ["CourierMessageRelay", "MAX_PENDING"]

#: Messages waiting for one slow socket; the oldest go first when it overflows.
MAX_PENDING = 64


class CourierMessageRelay:
    def __init__(self, redis: Redis, prefix: str) -> None:
        pattern = f"{prefix}courier-messages:*"
        self._prefix_len = len(pattern) - 1
        self._queues: dict[int, set[asyncio.Queue[bytes]]] = defaultdict(set)
        self.subscription = RedisSubscription(redis, patterns=[pattern], on_message=self._route,
                                              name="courier-message-relay")

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
        self.subscription.start()

    async def stop(self) -> None:
        await self.subscription.stop()

    def _route(self, channel: str, data: bytes) -> None:
        try:
            courier_id = int(channel[self._prefix_len:])
        except ValueError:
            return
        self.deliver(courier_id, data)
