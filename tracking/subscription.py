"""A Redis pub/sub subscription that outlives Redis restarts.

Worker processes meet through Redis channels (the dispatcher feed, courier-bound messages).
When Redis goes away the subscription logs once, waits with exponential back-off and
subscribes again; `connected` tells whether it is currently subscribed. Each message is handed
to a plain callback; a callback that raises is logged and the subscription carries on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence

from redis.asyncio import Redis

from tracking.background import BackgroundTask

__all__ = ["RedisSubscription"]

log = logging.getLogger(__name__)


class RedisSubscription:
    def __init__(self, redis: Redis, *, on_message: Callable[[str, bytes], None],
                 channels: Sequence[str] = (), patterns: Sequence[str] = (),
                 name: str = "redis-subscription", max_backoff_s: float = 2.0) -> None:
        if not channels and not patterns:
            raise ValueError("subscribe to at least one channel or pattern")
        self.redis = redis
        self.on_message = on_message
        self.channels = tuple(channels)
        self.patterns = tuple(patterns)
        self.name = name
        self.max_backoff_s = max_backoff_s
        self.connected = asyncio.Event()
        self._task = BackgroundTask(self._run, self.name)

    def start(self) -> None:
        self._task.start()

    async def stop(self) -> None:
        await self._task.stop()

    async def _run(self) -> None:
        backoff_s = 0.05
        while True:
            pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
            try:
                if self.channels:
                    await pubsub.subscribe(*self.channels)
                if self.patterns:
                    await pubsub.psubscribe(*self.patterns)
                self.connected.set()
                backoff_s = 0.05
                while True:
                    message = await pubsub.get_message(timeout=1.0)
                    if message is not None:
                        self._hand_over(message)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if self.connected.is_set():
                    log.warning("%s lost its Redis subscription: %s", self.name, exc)
                self.connected.clear()
                await asyncio.sleep(backoff_s)
                backoff_s = min(self.max_backoff_s, backoff_s * 2)
            finally:
                with contextlib.suppress(Exception):
                    await asyncio.shield(pubsub.aclose())

    def _hand_over(self, message: dict) -> None:
        channel, data = message["channel"], message["data"]
        if isinstance(channel, bytes):
            channel = channel.decode()
        if isinstance(data, str):
            data = data.encode()
        try:
            self.on_message(channel, data)
        except Exception:
            log.exception("%s: a message handler failed on %s", self.name, channel)
