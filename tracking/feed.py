"""The dispatcher feed inside one worker: a hub of outboxes fed from the Redis channel.

Every worker subscribes to the same channel, so a courier connected to worker A reaches a
dispatcher connected to worker B. The subscriber survives Redis going away: it logs, waits
with back-off and subscribes again; meanwhile the live updater delivers to the local hub
directly, so dispatchers on the same worker keep seeing their couriers.
"""

from __future__ import annotations

import logging

import orjson
from redis.asyncio import Redis

from tracking.coalescing import BBox, CoalescingOutbox
from tracking.subscription import RedisSubscription

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


class FeedSubscriber(RedisSubscription):
    """Relays the Redis feed channel into a `FeedHub`, reconnecting when Redis returns."""

    def __init__(self, redis: Redis, channel: str, hub: FeedHub, *,
                 max_backoff_s: float = 2.0) -> None:
        super().__init__(redis, channels=[channel], on_message=self._deliver,
                         name="tracking-feed-subscriber", max_backoff_s=max_backoff_s)
        self.channel = channel
        self.hub = hub

    def _deliver(self, channel: str, data: bytes) -> None:
        try:
            self.hub.deliver(orjson.loads(data))
        except (orjson.JSONDecodeError, KeyError, TypeError):
            log.warning("ignoring a malformed feed message")
