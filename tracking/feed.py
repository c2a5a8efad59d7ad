"""The dispatcher feed inside one worker: a hub of outboxes fed from the Redis channel.

Every worker subscribes to the same channel, so a courier connected to worker A reaches a
dispatcher connected to worker B. The subscriber survives Redis going away: it logs, waits
with back-off and subscribes again; meanwhile the live updater delivers to the local hub
directly, so dispatchers on the same worker keep seeing their couriers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import orjson
from redis.asyncio import Redis

from tracking.coalescing import BBox, CoalescingOutbox

__all__ = ["FeedHub", "FeedSubscriber"]

log = logging.getLogger(__name__)


class FeedHub:
    """The outboxes of this worker's dispatcher connections."""

    def __init__(self) -> None:
        self._outboxes: set[CoalescingOutbox] = set()
        self.delivered = 0

    def connect(self, bbox: BBox | None = None) -> CoalescingOutbox:
        outbox = CoalescingOutbox(bbox)
        self._outboxes.add(outbox)
        return outbox

    def disconnect(self, outbox: CoalescingOutbox) -> None:
        self._outboxes.discard(outbox)

    def __len__(self) -> int:
        return len(self._outboxes)

    def deliver(self, message: dict) -> None:
        kind = message.get("type")
        self.delivered += 1
        for outbox in self._outboxes:
            if kind == "positions":
                outbox.offer_positions(message["couriers"])
            elif kind == "order":
                outbox.offer_order(message["order"])
            else:
                outbox.offer_event(message)


class FeedSubscriber:
    """Relays the Redis feed channel into a `FeedHub`, reconnecting when Redis returns."""

    def __init__(self, redis: Redis, channel: str, hub: FeedHub, *,
                 max_backoff_s: float = 2.0) -> None:
        self.redis = redis
        self.channel = channel
        self.hub = hub
        self.max_backoff_s = max_backoff_s
        self.connected = asyncio.Event()
        self._task: asyncio.Task | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="tracking-feed-subscriber")

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
                await pubsub.subscribe(self.channel)
                self.connected.set()
                backoff_s = 0.05
                while True:
                    message = await pubsub.get_message(timeout=1.0)
                    if message is None:
                        continue
                    try:
                        self.hub.deliver(orjson.loads(message["data"]))
                    except (orjson.JSONDecodeError, KeyError, TypeError):
                        log.warning("ignoring a malformed feed message")
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if self.connected.is_set():
                    log.warning("tracking feed lost its Redis subscription: %s", exc)
                self.connected.clear()
                await asyncio.sleep(backoff_s)
                backoff_s = min(self.max_backoff_s, backoff_s * 2)
            finally:
                with contextlib.suppress(Exception):
                    await asyncio.shield(pubsub.aclose())
