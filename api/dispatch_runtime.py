"""Wiring of the dispatch engine into the service: adapters, triggers, the leader loop.

* `TravelMatrices` adapts the app's `geodata.travel.TravelModels` to the planner's
  `MatrixSource`; `RedisPositions` reads the tracking live store's last positions (the
  `tracking:last` hash, JSON `{"lat", "lon", "ts", ...}`) without importing `tracking/`.
* `DispatchRuntime.poke(reason)` publishes on the `dispatch-trigger` Redis channel, so an event
  on any worker (new order, cancellation, decline, shift change) wakes the leader. When a cycle
  is due is `dispatch.cadence`'s call (after a short debounce, every `dispatch_interval_s`, at
  the next offer expiry), and the cycle itself is `dispatch.cycle.run_cycle` on the PostgreSQL
  store (`dispatch.sql_store`): the very code the simulator runs on virtual time.
* Leadership (`dispatch.leader.AdvisoryLeader`) is tried by every worker with the loop on; only
  the leader runs cycles and the webhook deliveries. `run_once` (behind `POST /dispatch/run`)
  works on any worker: the cycle lock serialises it with the leader's.
* Courier-bound messages go to `{prefix}courier-messages:{courier_id}` as JSON.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np
import orjson
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from api.settings import Settings
from dispatch.cadence import Cadence, CycleScheduler
from dispatch.cycle import CycleSummary, PlannerConfig, run_cycle
from dispatch.leader import AdvisoryLeader, NotLeader, cycle_lock
from dispatch.matrix_cache import MatrixCache
from dispatch.planning import PlanningOptions
from dispatch.sql_store import SqlDispatchStore
from dispatch.webhooks import WebhookSender, deliver_due, fan_out_events
from tracking.live_store import LiveStore

__all__ = ["TravelMatrices", "RedisPositions", "CourierPresence", "DispatchRuntime",
           "courier_channel", "travel_models", "PRESENCE_HEARTBEAT_S", "PRESENCE_TTL_S"]

log = logging.getLogger(__name__)
_travel_lock = threading.Lock()


WATCH_SQL = text(
    "SELECT (SELECT coalesce(max(id), 0) FROM order_events), "
    "(SELECT md5(coalesce(string_agg(id::text || shift_state, ',' ORDER BY id), '')) "
    "FROM couriers WHERE shift_state <> 'off')")


def courier_channel(settings: Settings, courier_id: int) -> str:
    """The Redis channel the courier WebSocket forwards to courier `courier_id`."""
    return f"{settings.redis_prefix}courier-messages:{courier_id}"


def travel_models(state: Any, settings: Settings):
    """The app's travel models (`app.state.travel`, loaded once by the app lifespan)."""
    return state.travel


class TravelMatrices:
    """Rectangular matrices over the travel models (wrapped in a `MatrixCache` for the planner).

    A place off the road network does not sink the cycle: it becomes unreachable (NaN) and
    the rest is planned.
    """

    def __init__(self, state: Any, settings: Settings) -> None:
        self.state, self.settings = state, settings

    @property
    def generation(self) -> object:
        return travel_models(self.state, self.settings)

    def matrix(self, profile: str, sources: Sequence[tuple[float, float]],
               destinations: Sequence[tuple[float, float]]) -> tuple[np.ndarray, np.ndarray]:
        from geodata.travel import PointOffNetwork

        model = travel_models(self.state, self.settings).for_profile(profile)
        try:
            result = model.matrix(list(sources), list(destinations))
            return result.durations_s, result.distances_m
        except PointOffNetwork:
            pass
        on_network: dict[tuple[float, float], bool] = {}
        for point in [*sources, *destinations]:
            if point not in on_network:
                try:
                    model.snap(point)
                    on_network[point] = True
                except PointOffNetwork:
                    on_network[point] = False
        rows = [i for i, p in enumerate(sources) if on_network[p]]
        cols = [j for j, p in enumerate(destinations) if on_network[p]]
        durations = np.full((len(sources), len(destinations)), np.nan)
        distances = np.full((len(sources), len(destinations)), np.nan)
        for i, p in enumerate(sources):  # staying put costs nothing, on a road or not
            for j, q in enumerate(destinations):
                if p == q:
                    durations[i, j] = distances[i, j] = 0.0
        if rows and cols:
            sub = model.matrix([sources[i] for i in rows], [destinations[j] for j in cols])
            ix = np.ix_(rows, cols)
            durations[ix], distances[ix] = sub.durations_s, sub.distances_m
        return durations, distances


#: How often a courier WebSocket renews its presence, and how long a renewal counts.
PRESENCE_HEARTBEAT_S = 15.0
PRESENCE_TTL_S = 45.0


class CourierPresence:
    """Which couriers have a courier WebSocket open, across every worker: a sorted set of
    `<courier_id>:<connection>` scored by the last heartbeat (a worker that dies stops
    renewing, and its entries age out after `PRESENCE_TTL_S`)."""

    def __init__(self, redis: Redis, prefix: str) -> None:
        self.redis = redis
        self.key = f"{prefix}couriers:connected"

    async def beat(self, courier_id: int, connection: str) -> None:
        now = time.time()
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.zadd(self.key, {f"{courier_id}:{connection}": now})
            pipe.zremrangebyscore(self.key, "-inf", now - PRESENCE_TTL_S)
            await pipe.execute()

    async def leave(self, courier_id: int, connection: str) -> None:
        await self.redis.zrem(self.key, f"{courier_id}:{connection}")

    async def connected(self, courier_ids: list[int] | None = None) -> set[int]:
        members = await self.redis.zrangebyscore(self.key, time.time() - PRESENCE_TTL_S, "+inf")
        found = set()
        for member in members:
            text = member.decode() if isinstance(member, bytes) else str(member)
            head = text.partition(":")[0]
            if head.isdigit():
                found.add(int(head))
        return found if courier_ids is None else found & set(courier_ids)


class RedisPositions:
    """Live positions from the tracking live store's `tracking:last` hash, and presence."""

    def __init__(self, redis: Redis, prefix: str) -> None:
        self.live = LiveStore(redis, prefix)  # tracking owns the hash and its format
        self.presence = CourierPresence(redis, prefix)

    async def connected(self, courier_ids: list[int]) -> set[int]:
        if not courier_ids:
            return set()
        try:
            return await self.presence.connected(courier_ids)
        except Exception:  # presence lagging is not an outage: judge by positions alone
            log.warning("courier presence unavailable; judging availability by positions")
            return set()

    async def latest(self, courier_ids: list[int]) -> dict[int, tuple[float, float, float]]:
        try:
            return await self.live.latest(courier_ids)
        except Exception:  # the live view lagging is not an outage: fall back to the DB
            log.warning("live positions unavailable; planning from stored positions")
            return {}


def planner_config(settings: Settings) -> PlannerConfig:
    return PlannerConfig(
        policy=settings.dispatch_policy,
        solver_time_s=settings.dispatch_solver_time_s,
        offer_timeout_s=settings.offer_timeout_s,
        auto_accept=settings.dispatch_auto_accept,
        reassign_gain=settings.dispatch_reassign_gain,
        reassign_every_s=settings.dispatch_reassign_every_s,
        cascade_radius_m=settings.dispatch_cascade_radius_m,
        cascade_mode=settings.dispatch_cascade_mode,
        options=PlanningOptions(pickup_service_s=settings.dispatch_pickup_service_s,
                                dropoff_service_s=settings.dispatch_dropoff_service_s),
    )


class DispatchRuntime:
    def __init__(self, settings: Settings, *, state: Any, engine: AsyncEngine,
                 sessionmaker: async_sessionmaker, redis: Redis) -> None:
        self.settings = settings
        self.state = state
        self.engine = engine
        self.sessionmaker = sessionmaker
        self.redis = redis
        self.config = planner_config(settings)
        self.positions = RedisPositions(redis, settings.redis_prefix)
        self.online_window_s = settings.dispatch_online_window_s or None
        self.store = SqlDispatchStore(sessionmaker, self.positions,
                                      online_window_s=self.online_window_s)
        self.scheduler = CycleScheduler(
            Cadence(interval_s=settings.dispatch_interval_s,
                    debounce_s=settings.dispatch_debounce_s,
                    reassign_every_s=settings.dispatch_reassign_every_s), now_s=time.time())
        self.travel = MatrixCache(TravelMatrices(state, settings))
        self.leader = AdvisoryLeader(engine)
        self.trigger_channel = f"{settings.redis_prefix}dispatch-trigger"
        self.webhooks = WebhookSender(timeout_s=settings.webhook_timeout_s)
        self.last_summary: CycleSummary | None = None
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task] = []
        self._stopping = False
        self._seen: tuple | None = None

    @property
    def loop_enabled(self) -> bool:
        enabled = self.settings.dispatch_loop
        return self.settings.mode != "test" if enabled is None else enabled

    async def start(self) -> None:
        if not self.loop_enabled:
            return
        self._tasks = [asyncio.create_task(self._listen(), name="dispatch-triggers"),
                       asyncio.create_task(self._lead(), name="dispatch-leader"),
                       asyncio.create_task(self._watch(), name="dispatch-watch")]

    async def stop(self) -> None:
        self._stopping = True
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks = []
        with contextlib.suppress(Exception):
            await self.leader.release()

    async def poke(self, reason: str) -> None:
        """Something changed: wake the leader (on whichever worker it runs). Best effort."""
        try:
            await self.redis.publish(self.trigger_channel, reason.encode())
        except Exception:
            log.warning("could not publish a dispatch trigger (%s)", reason)
        self._wake.set()

    async def publish(self, courier_id: int, message: dict[str, Any]) -> None:
        await self.redis.publish(courier_channel(self.settings, courier_id),
                                 orjson.dumps(message))

    async def run_once(self, *, policy: str | None = None,
                       fence_epoch: int | None = None) -> CycleSummary:
        """One cycle now, serialised with every other cycle in the service."""
        async with cycle_lock(self.engine, timeout_s=self.settings.dispatch_busy_wait_s):
            now = datetime.now(UTC)
            allow_reassign = self.scheduler.start_cycle(now.timestamp())
            try:
                summary = await run_cycle(
                    store=self.store, travel=self.travel, config=self.config, now=now,
                    fence_epoch=fence_epoch, publish=self.publish, policy=policy,
                    allow_reassign=allow_reassign)
            finally:
                self.scheduler.end_cycle(time.time())
        self.last_summary = summary
        log.info("dispatch cycle: %s", summary.to_json())
        return summary

    async def _listen(self) -> None:
        """Relays trigger messages from every worker into this worker's wake-up event."""
        while not self._stopping:
            pubsub = self.redis.pubsub()
            try:
                await pubsub.subscribe(self.trigger_channel)
                async for message in pubsub.listen():
                    if message.get("type") == "message":
                        self._wake.set()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("dispatch trigger listener lost Redis; retrying", exc_info=True)
                await asyncio.sleep(1.0)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()

    async def _lead(self) -> None:
        """Try to lead; while leading, run cycles on triggers, on a timer and on expiries."""
        settings = self.settings
        while not self._stopping:
            try:
                was_leading = self.leader.leading
                if not await self.leader.try_acquire():
                    self._wake.clear()
                    await asyncio.sleep(settings.dispatch_leader_retry_s)
                    continue
                if not was_leading:
                    self._wake.set()  # a new leader plans at once: the old one may have died
                await self._wait_until_due()
                if not await self.leader.check():
                    continue
                self._seen = await self._fingerprint()
                await self.run_once(fence_epoch=self.leader.epoch)
                self._seen = await self._fingerprint()
                await self._deliver_webhooks()
            except asyncio.CancelledError:
                raise
            except NotLeader:
                log.warning("dispatch: deposed while planning; stepping down")
                await self.leader.release()
            except Exception:
                log.exception("dispatch cycle failed; retrying")
                await asyncio.sleep(settings.dispatch_leader_retry_s)

    async def _fingerprint(self) -> tuple | None:
        """What the planner reacts to without being told: any order event (created, cancelled,
        picked up, ... by any module) and any shift start, end, break or resume."""
        try:
            async with self.sessionmaker() as session:
                row = (await session.execute(WATCH_SQL)).one()
            return tuple(row)
        except Exception:
            return None

    async def _watch(self) -> None:
        """On the leader: wakes the planner when orders or shifts changed since its last cycle
        (cancellations and shift changes need no call from the routers that make them)."""
        while not self._stopping:
            await asyncio.sleep(self.settings.dispatch_watch_s)
            if not self.leader.leading:
                continue
            current = await self._fingerprint()
            if current is not None and self._seen is not None and current != self._seen:
                self._seen = current
                self._wake.set()
            elif self._seen is None:
                self._seen = current

    async def _wait_until_due(self) -> None:
        """Sleeps until the scheduler says a cycle is due; wake-ups count as triggers."""
        while not self._stopping:
            if self._wake.is_set():
                self._wake.clear()
                self.scheduler.trigger(time.time())
            expiry = None
            with contextlib.suppress(Exception):
                expiry = await self.store.next_expiry()
            due = self.scheduler.due_at(next_expiry_s=expiry.timestamp() if expiry else None)
            wait_s = due - time.time()
            if wait_s <= 0:
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=wait_s)

    async def _deliver_webhooks(self) -> None:
        started = time.perf_counter()
        try:
            await self.deliver_webhooks_once()
        except Exception:
            log.warning("webhook delivery round failed", exc_info=True)
        log.debug("webhooks round in %.3fs", time.perf_counter() - started)

    async def deliver_webhooks_once(self, *, now: datetime | None = None) -> int:
        """Fans new order events out to the outbox, then sends what is due; returns how many
        were delivered."""
        limit = 1000
        while True:
            async with self.sessionmaker() as session:
                read = await fan_out_events(session, now=now or datetime.now(UTC), limit=limit)
                await session.commit()
            if read < limit:
                break
        return await deliver_due(self.sessionmaker, sender=self.webhooks,
                                 now=now or datetime.now(UTC),
                                 max_attempts=self.settings.webhook_max_attempts)
