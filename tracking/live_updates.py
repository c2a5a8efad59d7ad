"""After the commit: keep the live view moving without ever holding up an `ack`.

The writer hands every committed fix to `LiveUpdater.offer`, which only records the latest fix
per courier and wakes a background task. Each round of that task then does, for all couriers
that moved since the last round:

1. one Redis pipeline: GEO set, last-position hash, seen times, and a `positions` message on
   the feed channel (or, with Redis down or our subscription lost, straight to this worker's
   dispatchers);
2. geofence detection against each courier's next stops and the zones, with the events going
   to the order log (`GeofenceSink`) and to the feed;
3. on a timer, at most every `last_seen_interval_s` per courier,
   `couriers.last_location/last_seen_at` (the planner's fallback when Redis is empty), in one
   statement for all couriers due.

Coalescing to the latest fix keeps this bounded by the number of couriers, however far it
falls behind.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence

from redis.exceptions import ConnectionError as RedisConnectionError

from tracking.background import BackgroundTask
from tracking.feed import FeedHub, FeedSubscriber
from tracking.fixes import Fix
from tracking.geofence import (
    Fence,
    GeofenceEvent,
    GeofenceSink,
    GeofenceTargets,
    LastSeenSink,
    ZoneFence,
    detect_transitions,
)
from tracking.live_store import LiveStore, position_wire

__all__ = ["LiveUpdater"]

log = logging.getLogger(__name__)


class LiveUpdater:
    def __init__(
        self, live: LiveStore, hub: FeedHub, *,
        subscriber: FeedSubscriber | None = None,
        targets: GeofenceTargets | None = None, sink: GeofenceSink | None = None,
        last_seen: LastSeenSink | None = None,
        last_seen_interval_s: float = 10.0, targets_ttl_s: float = 5.0,
        min_round_interval_s: float = 0.01, refresh_every_s: float = 0.5,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.live = live
        self.hub = hub
        self.subscriber = subscriber
        self.targets = targets
        self.sink = sink
        self.last_seen = last_seen
        self.last_seen_interval_s = last_seen_interval_s
        self.targets_ttl_s = targets_ttl_s
        self.clock = clock
        self.min_round_interval_s = min_round_interval_s
        #: Geofence targets and `couriers.last_seen_at` are refreshed at most this often
        #: (in bulk), not on every round: a round may come every few milliseconds.
        self.refresh_every_s = refresh_every_s
        self._next_targets_refresh = 0.0
        self._latest: dict[int, Fix] = {}
        self._wakeup = asyncio.Event()
        self._task = BackgroundTask(self._run, "tracking-live-updater")
        self._flusher = BackgroundTask(self._flush_last_seen_forever, "tracking-last-seen")
        self._inside: dict[int, frozenset[str]] = {}
        self._fences: dict[int, tuple[float, list[Fence]]] = {}
        self._last_seen_written: dict[int, float] = {}
        self._last_seen_due: dict[int, Fix] = {}
        self.redis_ok = True
        self.rounds = 0

    def offer(self, accepted: list[tuple[int, Fix]]) -> None:
        for courier_id, fix in accepted:
            current = self._latest.get(courier_id)
            if current is None or fix.ts_s >= current.ts_s:
                self._latest[courier_id] = fix
        self._wakeup.set()
        if not self._task.running:
            log.debug("live updater not started; %d couriers waiting", len(self._latest))

    def start(self) -> None:
        self._task.start()
        self._flusher.start()

    async def stop(self) -> None:
        await self._task.stop()
        await self._flusher.stop()

    async def _flush_last_seen_forever(self) -> None:
        """Writes due last positions on a timer, so a courier's final fix is written even
        when no other fix arrives after it."""
        while True:
            await asyncio.sleep(self.refresh_every_s)
            await self.flush_last_seen()

    async def _run(self) -> None:
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            if not self._latest:
                continue
            latest, self._latest = self._latest, {}
            started = self.clock()
            await self.run_round(latest)
            # A short pause lets the next round carry more couriers per Redis round trip.
            pause_s = self.min_round_interval_s - (self.clock() - started)
            if pause_s > 0:
                await asyncio.sleep(pause_s)

    async def run_round(self, latest: dict[int, Fix]) -> None:
        self.rounds += 1
        events = await self._geofences(latest)
        await self._publish(latest, [e.as_wire() for e in events])
        if events and self.sink is not None:
            try:
                await self.sink.record(events)
            except Exception:
                log.exception("geofence events not recorded")
        self._last_seen_due.update(latest)

    async def publish(self, message: dict) -> None:
        """Sends one message to every dispatcher of every worker (locally if Redis is down)."""
        await self._publish({}, [message])

    async def _publish(self, latest: dict[int, Fix], messages: list[dict]) -> None:
        try:
            try:
                published = await self.live.apply(latest, messages=messages)
            except (ConnectionError, OSError, RedisConnectionError):
                # A pooled connection from before a Redis restart fails once; a fresh one
                # may well work, so try again right away before degrading.
                published = await self.live.apply(latest, messages=messages)
            if not self.redis_ok:
                log.warning("Redis is back; live view resumed")
            self.redis_ok = True
        except Exception as exc:
            if self.redis_ok:
                log.warning("Redis unavailable, live view degraded to this worker: %s", exc)
            self.redis_ok = False
            published = []
            if latest:
                published.append({"type": "positions",
                                  "couriers": [position_wire(c, f) for c, f in latest.items()]})
            published.extend(messages)
            for message in published:
                self.hub.deliver(message)
            return
        if self.subscriber is not None and not self.subscriber.connected.is_set():
            for message in published:  # our subscription is down: nobody relays these here
                self.hub.deliver(message)

    async def _geofences(self, latest: dict[int, Fix]) -> list[GeofenceEvent]:
        if self.targets is None:
            return []
        now = self.clock()
        stale_ids = [c for c in latest if c not in self._fences]  # first sighting: at once
        if now >= self._next_targets_refresh:
            stale_ids.extend(c for c, (fetched, _) in self._fences.items()
                             if now - fetched > self.targets_ttl_s)
            self._next_targets_refresh = now + self.refresh_every_s
        if stale_ids:
            try:
                fresh = await self.targets.fences_for(stale_ids)
            except Exception:
                log.exception("geofence targets unavailable")
                fresh = None
            if fresh is not None:
                for courier_id in stale_ids:
                    self._fences[courier_id] = (now, fresh.get(courier_id, []))
        events: list[GeofenceEvent] = []
        for courier_id, fix in latest.items():
            fences: Sequence[Fence] = self._fences.get(courier_id, (now, []))[1]
            first_sighting = courier_id not in self._inside
            inside = self._inside.get(courier_id, frozenset())
            found, self._inside[courier_id] = detect_transitions(
                courier_id, inside, fix.lat, fix.lon, fix.ts_s, fences)
            if first_sighting:  # zones we start inside are not news; arriving at a stop is
                found = [e for e in found if not isinstance(e.fence, ZoneFence)]
            events.extend(found)
        return events

    async def flush_last_seen(self) -> None:
        """Couriers' last known places to the `last_seen` sink (dispatch's courier rows) for
        couriers not reported for `last_seen_interval_s`, in one call."""
        now = self.clock()
        due = {c: f for c, f in self._last_seen_due.items()
               if now - self._last_seen_written.get(c, -1e18) >= self.last_seen_interval_s}
        if not due or self.last_seen is None:
            return
        try:
            await self.last_seen.record({c: (f.lat, f.lon, f.ts_s) for c, f in due.items()})
        except Exception as exc:
            log.warning("couriers' last positions not updated: %s", exc)
            return
        for courier_id, fix in due.items():
            self._last_seen_written[courier_id] = now
            if self._last_seen_due.get(courier_id) is fix:
                del self._last_seen_due[courier_id]
