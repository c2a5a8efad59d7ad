"""Wiring of live tracking: builds the pipeline, live view and feed from `Settings`, and
implements tracking's small interfaces (geofence targets, the order-log sink, order updates
for the dispatcher feed) with dispatch's data. `api.app` starts and stops it in the lifespan.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import orjson
from redis.asyncio import Redis
from sqlalchemy import event, func, inspect, select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlalchemy.orm import Session

from api.settings import Settings
from dispatch.couriers import record_last_seen
from dispatch.locations import point_ewkt, to_lat_lon
from dispatch.tables import Courier, Order, OrderEvent
from dispatch.times import rfc3339
from geodata.models import Zone
from geodata.zones import active_zone_boxes
from tracking.feed import FeedHub, FeedSubscriber
from tracking.filters import FilterConfig, ServiceBounds
from tracking.geofence import CircleFence, Fence, GeofenceEvent, ZoneFence
from tracking.live_store import LiveStore
from tracking.live_updates import LiveUpdater
from tracking.maintenance import Periodic, ensure_partitions, mark_stale
from tracking.pipeline import IngestPipeline
from tracking.position_store import PositionStore, WriterConnections

__all__ = ["TrackingRuntime", "filter_config"]

log = logging.getLogger(__name__)

#: Which stop a courier heads for, by order status.
_NEXT_STOP = {"assigned": "pickup", "at_pickup": "pickup", "picked_up": "dropoff",
              "at_dropoff": "dropoff", "returning": "pickup"}


def filter_config(settings: Settings) -> FilterConfig:
    def positive(value: float) -> float | None:
        return value if value > 0 else None

    return FilterConfig(
        reject_invalid=True,
        reject_zero=settings.tracking_filter_zero,
        max_future_s=positive(settings.tracking_max_future_s),
        max_past_s=positive(settings.tracking_max_past_s),
        max_accuracy_m=positive(settings.tracking_max_accuracy_m),
        reject_duplicate=settings.tracking_filter_duplicate,
        reject_out_of_order=settings.tracking_filter_out_of_order,
        max_speed_mps=positive(settings.tracking_max_speed_mps),
        speed_window_s=settings.tracking_speed_window_s,
        first_fix_max_distance_m=positive(settings.tracking_first_fix_max_distance_m),
    )


class DispatchGeofenceTargets:
    """Next pickup/dropoff of each courier's active orders, plus the active zones."""

    def __init__(self, sessionmaker: async_sessionmaker, *, radius_m: float,
                 zones_ttl_s: float = 60.0) -> None:
        self.sessionmaker = sessionmaker
        self.radius_m = radius_m
        self.zones_ttl_s = zones_ttl_s
        self._zones: tuple[float, list[ZoneFence]] | None = None

    async def _zone_fences(self, session: Any) -> list[ZoneFence]:
        now = asyncio.get_running_loop().time()
        if self._zones is None or now - self._zones[0] > self.zones_ttl_s:
            rows = (await session.execute(select(
                Zone.id, func.ST_AsGeoJSON(func.geometry(Zone.area))).where(Zone.active))).all()
            fences = []
            for zone_id, geojson in rows:
                shape = orjson.loads(geojson)
                polygons = (shape["coordinates"] if shape["type"] == "MultiPolygon"
                            else [shape["coordinates"]])
                fences.append(ZoneFence(zone_id, polygons))
            self._zones = (now, fences)
        return self._zones[1]

    async def fences_for(self, courier_ids: Sequence[int]) -> dict[int, list[Fence]]:
        async with self.sessionmaker() as session:
            zones = await self._zone_fences(session)
            orders = (await session.execute(
                select(Order.id, Order.courier_id, Order.status, Order.pickup_location,
                       Order.dropoff_location)
                .where(Order.courier_id.in_(list(courier_ids)),
                       Order.status.in_(list(_NEXT_STOP))))).all()
        fences: dict[int, list[Fence]] = {cid: list(zones) for cid in courier_ids}
        for order_id, courier_id, status, pickup, dropoff in orders:
            kind = _NEXT_STOP[status]
            point = to_lat_lon(pickup if kind == "pickup" else dropoff)
            if point is not None:
                fences[courier_id].append(
                    CircleFence(order_id, kind, point.lat, point.lon, self.radius_m))
        return fences


class CourierLastSeen:
    """Tracking's reports of where couriers were last seen, written to dispatch's courier rows
    (`dispatch.couriers.record_last_seen`)."""

    def __init__(self, sessionmaker: async_sessionmaker) -> None:
        self.sessionmaker = sessionmaker

    async def record(self, seen: dict[int, tuple[float, float, float]]) -> None:
        async with self.sessionmaker() as session:
            await record_last_seen(session, seen)
            await session.commit()


class OrderLogSink:
    """Geofence events on orders become `geofence_enter`/`geofence_exit` entries in the log
    (no status change: arriving is still confirmed by the courier or a handoff scan)."""

    def __init__(self, sessionmaker: async_sessionmaker) -> None:
        self.sessionmaker = sessionmaker

    async def record(self, events: Sequence[GeofenceEvent]) -> None:
        rows = [e for e in events if e.order_id is not None]
        if not rows:
            return
        async with self.sessionmaker() as session:
            for e in rows:
                session.add(OrderEvent(
                    order_id=e.order_id, type=f"geofence_{e.transition}", from_status=None,
                    to_status=None, actor_id=None, courier_id=e.courier_id,
                    location=point_ewkt(e.lat, e.lon),
                    at=datetime.fromtimestamp(e.ts_s, UTC),
                    details={"kind": e.fence.kind,
                             "radius_m": getattr(e.fence, "radius_m", None)}))
            await session.commit()


#: Order events the dispatcher feed hears of as `order_event` messages (offers that failed).
FEED_EVENT_TYPES = frozenset({"declined", "offer_expired"})


class OrderChangeRelay:
    """Tells the dispatcher feed what a commit changed, by listening to the sessions of this
    app's engine (dispatch stays unaware of the feed):

    * `{"type": "order", "order": {...}}` for every changed order, always the full body of
      `GET /orders/{id}` without events (an order not fully loaded in the committing session
      is read again in a session of its own, never from inside the commit hook);
    * `{"type": "courier", "courier": {"id", "name", "vehicle", "shift_state"}}` when a
      courier's shift state changed;
    * `{"type": "order_event", "event": {"order_id", "type", "at", "courier_id", "details"}}`
      for new events in `FEED_EVENT_TYPES`.
    """

    def __init__(self, engine: AsyncEngine, updater: LiveUpdater,
                 sessionmaker: async_sessionmaker | None = None) -> None:
        self.sync_engine = engine.sync_engine
        self.updater = updater
        self.sessionmaker = sessionmaker
        self._installed = False

    def install(self) -> None:
        event.listen(Session, "after_flush", self._after_flush)
        event.listen(Session, "after_commit", self._after_commit)
        event.listen(Session, "after_rollback", self._after_rollback)
        self._installed = True

    def uninstall(self) -> None:
        if self._installed:
            event.remove(Session, "after_flush", self._after_flush)
            event.remove(Session, "after_commit", self._after_commit)
            event.remove(Session, "after_rollback", self._after_rollback)
            self._installed = False

    def _mine(self, session: Session) -> bool:
        bind = session.bind
        return bind is self.sync_engine or getattr(bind, "engine", None) is self.sync_engine

    def _after_flush(self, session: Session, flush_context: Any) -> None:
        if not self._mine(session):
            return
        pending = session.info.setdefault("tracking_feed", {"orders": {}, "couriers": {},
                                                            "events": []})
        for obj in (*session.new, *session.dirty):
            if isinstance(obj, Order):
                pending["orders"][id(obj)] = obj
            elif isinstance(obj, Courier) and (
                    obj in session.new or inspect(obj).attrs.shift_state.history.has_changes()):
                pending["couriers"][id(obj)] = obj
            elif isinstance(obj, OrderEvent) and obj.type in FEED_EVENT_TYPES:
                pending["events"].append(obj)

    def _after_rollback(self, session: Session) -> None:
        session.info.pop("tracking_feed", None)  # what was flushed never happened

    def _after_commit(self, session: Session) -> None:
        if session.in_nested_transaction():  # a SAVEPOINT released: wait for the real commit
            return
        pending = session.info.pop("tracking_feed", None)
        if not pending or not self._mine(session):
            return
        from api.presenters import order_out

        messages: list[dict] = []
        reload_ids: list[int] = []
        for order in pending["orders"].values():
            state = inspect(order)
            if state.detached or state.deleted:
                continue
            if state.unloaded:  # never emit SQL from a commit hook: read it again afterwards
                if order.id is not None and "id" not in state.unloaded:
                    reload_ids.append(order.id)
                continue
            try:
                body = order_out(order).model_dump(mode="json")
            except Exception:  # never break the caller's commit over the live feed
                log.debug("order %s not relayed", getattr(order, "id", None))
                continue
            messages.append({"type": "order", "order": body})
        for courier in pending["couriers"].values():
            try:
                messages.append({"type": "courier", "courier": {
                    "id": courier.id, "name": courier.name, "vehicle": courier.vehicle,
                    "shift_state": courier.shift_state}})
            except Exception:
                log.debug("courier change not relayed")
        for row in pending["events"]:
            try:
                messages.append({"type": "order_event", "event": orjson.loads(orjson.dumps({
                    "order_id": row.order_id, "type": row.type, "at": rfc3339(row.at),
                    "courier_id": row.courier_id, "details": row.details}, default=str))})
            except Exception:
                log.debug("order event not relayed")
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        for message in messages:
            loop.create_task(self.updater.publish(message))
        if reload_ids and self.sessionmaker is not None:
            loop.create_task(self._publish_reloaded(reload_ids))

    async def _publish_reloaded(self, order_ids: list[int]) -> None:
        from api.presenters import order_out

        try:
            async with self.sessionmaker() as session:
                orders = (await session.scalars(
                    select(Order).where(Order.id.in_(order_ids)))).all()
                bodies = [order_out(o).model_dump(mode="json") for o in orders]
        except Exception as exc:
            log.warning("orders %s not relayed: %r", order_ids, exc)
            return
        for body in bodies:
            await self.updater.publish({"type": "order", "order": body})


class TrackingRuntime:
    """Everything tracking runs in one worker process."""

    def __init__(self, settings: Settings, *, engine: AsyncEngine,
                 sessionmaker: async_sessionmaker, redis: Redis) -> None:
        self.settings = settings
        self.sessionmaker = sessionmaker
        # The batch writer talks to PostgreSQL through its own few psycopg connections.
        self.writer = WriterConnections(
            make_url(settings.database_url).set(drivername="postgresql")
            .render_as_string(hide_password=False),
            size=settings.tracking_writer_concurrency)
        self.store = PositionStore(engine, filter_config(settings), writer=self.writer)
        self.live = LiveStore(redis, settings.redis_prefix)
        self.hub = FeedHub()
        self.subscriber = FeedSubscriber(redis, self.live.channel, self.hub)
        self.updater = LiveUpdater(
            self.live, self.hub, subscriber=self.subscriber,
            targets=DispatchGeofenceTargets(sessionmaker,
                                            radius_m=settings.tracking_geofence_radius_m),
            sink=OrderLogSink(sessionmaker), last_seen=CourierLastSeen(sessionmaker),
            last_seen_interval_s=settings.tracking_last_seen_interval_s)
        self.pipeline = IngestPipeline(self.store,
                                       max_batch_points=settings.tracking_batch_max_points,
                                       concurrency=settings.tracking_writer_concurrency,
                                       on_committed=self.updater.offer)
        self.order_relay = OrderChangeRelay(engine, self.updater, sessionmaker)
        self.periodic = [
            Periodic("tracking-partitions", 3600.0, lambda: ensure_partitions(
                self.store, days_ahead=settings.tracking_partition_days_ahead)),
            Periodic("tracking-service-area", settings.tracking_service_area_refresh_s,
                     self.refresh_service_area),
            Periodic("tracking-stale", settings.tracking_stale_check_s, lambda: mark_stale(
                self.live, stale_after_s=settings.tracking_stale_after_s)),
        ]

    async def refresh_service_area(self) -> None:
        """Reloads the active zones the first-fix filter holds positions against."""
        async with self.sessionmaker() as session:
            boxes = await active_zone_boxes(session)
        self.store.config = replace(self.store.config, service_area=ServiceBounds(tuple(boxes)))

    async def start(self) -> None:
        self.subscriber.start()
        self.updater.start()
        self.pipeline.start()
        self.order_relay.install()
        for job in self.periodic:
            job.start()

    async def stop(self) -> None:
        self.order_relay.uninstall()
        for job in self.periodic:
            await job.stop()
        await self.pipeline.stop()
        await self.updater.stop()
        await self.subscriber.stop()
        await self.writer.close()
