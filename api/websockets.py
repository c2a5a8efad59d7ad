"""The two WebSockets of live tracking, mounted at the root (`/ws/courier`, `/ws/dispatch`).

`/ws/courier` reads position batches and answers each with an `ack` once its points are
committed. Reading and acknowledging are two tasks joined by a small bounded queue, so a
courier may send its next batch before the previous ack (its batches then share a
transaction with other couriers'), acks still leave in order, and a client that floods is
slowed by TCP back-pressure rather than buffered without end.

`/ws/dispatch` sends a snapshot, then whatever its coalescing outbox holds (the latest
position per courier, order changes, geofence events), at most every
`tracking_feed_interval_s`. A slow dispatcher only ever has one pending position per courier.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import orjson
from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from api.deps import authenticate_token
from api.errors import ApiError
from api.presenters import order_out
from api.routers.tracking import ack_message, courier_id_of
from dispatch.couriers import list_couriers
from dispatch.locations import to_lat_lon
from dispatch.models import User
from dispatch.orders import OrderFilters, list_visible_orders
from tracking.batches import parse_batch
from tracking.coalescing import BBox, parse_bbox
from tracking.exceptions import TrackingError
from tracking.pipeline import IngestUnavailable

__all__ = ["router"]

log = logging.getLogger(__name__)
router = APIRouter()

#: Batches a courier may have in flight before we stop reading its socket.
MAX_IN_FLIGHT = 32
SNAPSHOT_ORDER_STATUSES = ("pending", "offered", "assigned", "at_pickup", "picked_up",
                           "at_dropoff", "returning")


def _token(websocket: WebSocket) -> str | None:
    header = websocket.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return websocket.query_params.get("token")


async def _send(websocket: WebSocket, message: dict) -> None:
    await websocket.send_text(orjson.dumps(message).decode())


async def _refuse(websocket: WebSocket, code: str, message: str) -> None:
    """Accepts only to say why, then closes (4401 unauthenticated, 4403 forbidden)."""
    await websocket.accept()
    await _send(websocket, {"type": "error", "code": code, "message": message})
    await websocket.close(code=4401 if code in ("not_authenticated", "invalid_token") else 4403)


async def _authenticate(websocket: WebSocket, roles: tuple[str, ...]) -> tuple[User, int | None]:
    state = websocket.app.state
    async with state.sessionmaker() as session:
        user = await authenticate_token(_token(websocket), settings=state.settings,
                                        session=session)
        if user.role not in roles:
            raise ApiError(403, "forbidden", "You are not allowed to do this.")
        courier_id = await courier_id_of(session, user) if "courier" in roles else None
    return user, courier_id


@router.websocket("/ws/courier")
async def courier_socket(websocket: WebSocket) -> None:
    try:
        _, courier_id = await _authenticate(websocket, ("courier",))
    except ApiError as exc:
        await _refuse(websocket, exc.code, exc.message)
        return
    assert courier_id is not None
    await websocket.accept()
    pipeline = websocket.app.state.tracking.pipeline
    in_flight: asyncio.Queue[Any] = asyncio.Queue(maxsize=MAX_IN_FLIGHT)

    async def read() -> None:
        while True:
            raw = await websocket.receive()
            if raw["type"] == "websocket.disconnect":
                raise WebSocketDisconnect(raw.get("code", 1000))
            data = raw.get("text") if raw.get("text") is not None else raw.get("bytes")
            try:
                message = orjson.loads(data or b"")
                if isinstance(message, dict) and message.get("type") == "ping":
                    await in_flight.put({"type": "pong"})
                    continue
                fixes, rejections = parse_batch(message)
            except orjson.JSONDecodeError:
                await in_flight.put({"type": "error", "code": "malformed_json",
                                     "message": "The message is not valid JSON."})
                continue
            except TrackingError as exc:
                await in_flight.put({"type": "error", "code": exc.code,
                                     "message": exc.message, "details": exc.details})
                continue
            future = asyncio.ensure_future(pipeline.submit(courier_id, fixes))
            await in_flight.put((future, rejections))

    async def acknowledge() -> None:
        while True:
            item = await in_flight.get()
            if isinstance(item, dict):
                await _send(websocket, item)
                continue
            if isinstance(item, bytes):  # an already-encoded courier message
                await websocket.send_text(item.decode())
                continue
            future, rejections = item
            try:
                decision = await future
            except IngestUnavailable:
                await _send(websocket, {"type": "error", "code": "service_unavailable",
                                        "message": "Positions could not be stored; "
                                        "send them again."})
                continue
            await _send(websocket, ack_message(decision, rejections))

    async def forward() -> None:
        """Offers and route updates the dispatch engine publishes for this courier."""
        relay = websocket.app.state.courier_messages
        queue = relay.connect(courier_id)
        try:
            while True:  # through the ack queue: one writer per socket
                await in_flight.put(await queue.get())
        finally:
            relay.disconnect(courier_id, queue)

    await _run_both(websocket, read(), acknowledge(), forward())


async def _run_both(websocket: WebSocket, *jobs: Any) -> None:
    """Runs the socket's tasks until one ends (normally a disconnect), then stops the rest."""
    tasks = [asyncio.create_task(job) for job in jobs]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            exc = task.exception()
            if exc is not None and not isinstance(exc, WebSocketDisconnect | RuntimeError):
                log.warning("websocket task ended with %r", exc)
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(BaseException):
                await task
        with contextlib.suppress(Exception):
            await websocket.close()


async def _snapshot(websocket: WebSocket, user: User, bbox: BBox | None) -> dict:
    tracking = websocket.app.state.tracking
    try:
        couriers = await tracking.live.snapshot()
    except Exception as exc:  # Redis down: fall back to the positions the database keeps
        log.warning("snapshot from the database (Redis unavailable: %s)", exc)
        couriers = []
        async with websocket.app.state.sessionmaker() as session:
            for courier in await list_couriers(session, shift_state="on"):
                point = to_lat_lon(courier.last_location)
                if point is not None:
                    couriers.append({"id": courier.id, "lat": point.lat, "lon": point.lon,
                                     "ts": courier.last_seen_at.timestamp()
                                     if courier.last_seen_at else None,
                                     "speed": None, "heading": None, "acc": None})
    if bbox is not None:
        couriers = [c for c in couriers if bbox.contains(c["lat"], c["lon"])]
    async with websocket.app.state.sessionmaker() as session:
        orders, _ = await list_visible_orders(
            session, user, filters=OrderFilters(status=SNAPSHOT_ORDER_STATUSES),
            after_id=None, limit=1000)
        order_bodies = [order_out(o).model_dump(mode="json") for o in orders]
    return {"type": "snapshot", "couriers": couriers, "orders": order_bodies}


@router.websocket("/ws/dispatch")
async def dispatch_socket(websocket: WebSocket) -> None:
    try:
        user, _ = await _authenticate(websocket, ("admin", "dispatcher"))
        bbox = parse_bbox(websocket.query_params.get("bbox"))
    except ApiError as exc:
        await _refuse(websocket, exc.code, exc.message)
        return
    except ValueError as exc:
        await _refuse(websocket, "invalid_bbox", str(exc))
        return
    await websocket.accept()
    state = websocket.app.state
    hub = state.tracking.hub
    interval_s = state.settings.tracking_feed_interval_s
    outbox = hub.connect(bbox)  # before the snapshot, so nothing falls between the two
    try:
        await _send(websocket, await _snapshot(websocket, user, bbox))

        async def push() -> None:
            while True:
                await outbox.ready.wait()
                for message in outbox.take():
                    await _send(websocket, message)
                if interval_s:
                    await asyncio.sleep(interval_s)

        async def listen() -> None:
            while True:
                raw = await websocket.receive()
                if raw["type"] == "websocket.disconnect":
                    raise WebSocketDisconnect(raw.get("code", 1000))
                try:
                    message = orjson.loads(raw.get("text") or raw.get("bytes") or b"")
                    if isinstance(message, dict) and message.get("type") == "subscribe":
                        outbox.bbox = parse_bbox(message.get("bbox"))
                        await _send(websocket, {"type": "subscribed",
                                                "bbox": message.get("bbox")})
                    elif isinstance(message, dict) and message.get("type") == "ping":
                        await _send(websocket, {"type": "pong"})
                except (orjson.JSONDecodeError, ValueError, TypeError) as exc:
                    await _send(websocket, {"type": "error", "code": "malformed_message",
                                            "message": str(exc)})

        await _run_both(websocket, push(), listen())
    finally:
        hub.disconnect(outbox)
