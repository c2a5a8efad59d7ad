"""The two WebSockets of live tracking, mounted at the root (`/ws/courier`, `/ws/dispatch`).

`/ws/courier` reads position batches and answers each with an `ack` once its points are
committed. Reading and acknowledging are two tasks joined by a small bounded queue, so a
courier may send its next batch before the previous ack (its batches then share a
transaction with other couriers'), acks still leave in order, and a client that floods is
slowed by TCP back-pressure rather than buffered without end.

`/ws/dispatch` sends a snapshot, then whatever its coalescing outbox holds (the latest
position per courier, order changes, events), at most every `tracking_feed_interval_s`. A slow
dispatcher only ever has one pending position per courier. Each message type has one shape:

Times are RFC 3339 UTC (`Z`) strings, except the GPS fix times `ts` and the fields named
`*_s`, which are Unix seconds.

* `snapshot` — `{"couriers": [...], "orders": [<order>...], "server_time", "server_time_s"}`:
  every courier on
  shift (`on` or `break`) with `{"id", "name", "vehicle", "shift_state", "lat", "lon", "ts",
  "speed", "heading", "acc", "stale", "age_s"}` (position fields null when none is known), and
  the open orders as `GET /orders/{id}` shows them (without events);
* `positions` — `{"couriers": [{"id", "lat", "lon", "ts", "speed", "heading", "acc",
  "stale"}]}`;
* `order` — `{"order": <order>}`, always the full order body;
* `courier` — `{"courier": {"id", "name", "vehicle", "shift_state"}}` when a shift changes;
* `order_event` — `{"event": {"order_id", "type", "at", "courier_id", "details"}}` for offers
  declined or expired (`declined`, `offer_expired`);
* `handoff_refused` — `{"code", "order_id", "leg", "courier_id", "at", "at_s", "endpoint"}` when a
  handoff scan or code is refused (best effort);
* `geofence` — as `tracking.geofence.GeofenceEvent.as_wire` gives it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from typing import Any

import orjson
from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from api.deps import authenticate_token
from api.dispatch_runtime import PRESENCE_HEARTBEAT_S
from api.errors import ApiError
from api.i18n import pick_language, translate
from api.offer_answers import answer_offer
from api.presenters import order_out
from api.routers.tracking import ack_message, courier_id_of
from api.socket_limits import MessageBudget
from dispatch.couriers import list_couriers
from dispatch.lifecycle import PLANNED_STATUSES, OrderStatus
from dispatch.locations import to_lat_lon
from dispatch.orders import OrderFilters, list_visible_orders
from dispatch.tables import User
from dispatch.times import rfc3339_from_s
from tracking.batches import parse_batch
from tracking.coalescing import BBox, parse_bbox
from tracking.exceptions import TrackingError
from tracking.pipeline import IngestUnavailable

__all__ = ["router"]

log = logging.getLogger(__name__)
router = APIRouter()

#: Batches a courier may have in flight before we stop reading its socket.
MAX_IN_FLIGHT = 32
SNAPSHOT_ORDER_STATUSES = tuple(sorted(s.value for s in PLANNED_STATUSES | {OrderStatus.RETURNING}))
#: Open orders a snapshot carries at most (the newest; any change to another sends it).
SNAPSHOT_MAX_ORDERS = 5000


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
                                        session=session, principals=state.principals)
        if user.role not in roles:
            raise ApiError(403, "forbidden", "You are not allowed to do this.")
        courier_id = await courier_id_of(session, user) if "courier" in roles else None
    return user, courier_id


#: What the courier socket accepts from the app (an unknown `type` is answered with this list).
COURIER_MESSAGE_TYPES = ("positions", "ping", "accept", "decline")


async def _answer_offer(websocket: WebSocket, user_id: int, message: dict) -> dict:
    """`{"type": "accept"|"decline", "offer_id"}` → `{"type": "offer_answer", "answer",
    "offer", "order"}`, or `{"type": "error", "code", "message", "details", "offer_id"}` with
    the codes of `POST /offers/{id}/accept|decline`."""
    state = websocket.app.state
    kind, offer_id = message["type"], message.get("offer_id")
    language = pick_language(websocket.headers.get("accept-language"))
    if isinstance(offer_id, bool) or not isinstance(offer_id, int) or offer_id <= 0:
        return {"type": "error", "code": "validation_error",
                "message": translate("validation_error", language, "The request is invalid."),
                "details": {"field": "offer_id", "value": offer_id,
                            "problem": "a positive integer is required"},
                "offer_id": None}
    try:
        async with state.sessionmaker() as session:
            user = await session.get(User, user_id)
            answer = await answer_offer(session, state.dispatch, user, offer_id, kind)
    except Exception as exc:
        code = getattr(exc, "code", None)
        if not isinstance(code, str):
            raise
        return {"type": "error", "code": code,
                "message": translate(code, language, getattr(exc, "message", str(exc))),
                "details": getattr(exc, "details", None), "offer_id": offer_id}
    return {"type": "offer_answer", "answer": kind, **answer}


def _unknown_type(kind: Any, language: str) -> dict:
    return {"type": "error", "code": "unknown_message_type",
            "message": translate("unknown_message_type", language, "Unknown message type."),
            "details": {"type": kind if isinstance(kind, str | int | float | None) else None,
                        "accepted": list(COURIER_MESSAGE_TYPES)}}


@router.websocket("/ws/courier")
async def courier_socket(websocket: WebSocket) -> None:
    """The courier app's socket. The app sends `positions` batches (answered with an `ack`
    once stored), `ping` (→ `pong`), and `{"type": "accept"|"decline", "offer_id"}` to answer
    an offer (→ `offer_answer`, or an `error` with the REST codes). The server pushes `offer`,
    `withdrawn` and `route` messages. While the socket is open the courier counts as online
    for dispatch (`dispatch.availability`)."""
    try:
        user, courier_id = await _authenticate(websocket, ("courier",))
    except ApiError as exc:
        await _refuse(websocket, exc.code, exc.message)
        return
    assert courier_id is not None
    await websocket.accept()
    pipeline = websocket.app.state.tracking.pipeline
    in_flight: asyncio.Queue[Any] = asyncio.Queue(maxsize=MAX_IN_FLIGHT)
    language = pick_language(websocket.headers.get("accept-language"))
    user_id = user.id
    budget = MessageBudget(websocket.app.state.socket_limits, now_s=time.monotonic())

    async def read() -> None:
        while True:
            raw = await websocket.receive()
            if raw["type"] == "websocket.disconnect":
                raise WebSocketDisconnect(raw.get("code", 1000))
            data = raw.get("text") if raw.get("text") is not None else raw.get("bytes")
            size = len(data.encode() if isinstance(data, str) else data or b"")
            refusal = budget.admit(size, now_s=time.monotonic())
            if refusal is not None:
                code, reason = refusal
                log.warning("courier %s socket closed: %s", courier_id, reason)
                await websocket.close(code=code, reason=reason)
                raise WebSocketDisconnect(code)
            try:
                message = orjson.loads(data or b"")
                kind = message.get("type", "positions") if isinstance(message, dict) else None
                if kind == "ping":
                    await in_flight.put({"type": "pong"})
                    continue
                if kind in ("accept", "decline"):
                    await in_flight.put(("reply", asyncio.ensure_future(
                        _answer_offer(websocket, user_id, message))))
                    continue
                if isinstance(message, dict) and kind not in COURIER_MESSAGE_TYPES:
                    await in_flight.put(_unknown_type(kind, language))
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
            if item[0] == "reply":
                await _send(websocket, await item[1])
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

    async def presence() -> None:
        """Keeps this connection counted as online while it is open (every worker sees it)."""
        registry = websocket.app.state.dispatch.positions.presence
        connection = uuid.uuid4().hex[:12]
        try:
            while True:
                try:
                    await registry.beat(courier_id, connection)
                except Exception as exc:  # presence is best effort: positions still count
                    log.debug("courier presence not recorded: %r", exc)
                await asyncio.sleep(PRESENCE_HEARTBEAT_S)
        finally:
            with contextlib.suppress(Exception):
                await registry.leave(courier_id, connection)

    await _run_both(websocket, read(), acknowledge(), forward(), presence())


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


#: Keys of every courier in a `positions` message (`stale` is always there, true or false).
POSITION_KEYS = ("id", "lat", "lon", "ts", "speed", "heading", "acc")


def position_entry(courier: dict) -> dict:
    """One courier of a `positions` message in its one shape:
    `{"id", "lat", "lon", "ts", "speed", "heading", "acc", "stale"}`."""
    body = {key: courier.get(key) for key in POSITION_KEYS}
    body["stale"] = bool(courier.get("stale"))
    return body


def feed_message(message: dict) -> dict:
    """A feed message as the dispatcher receives it: `positions` entries in one shape."""
    if message.get("type") == "positions":
        return {"type": "positions",
                "couriers": [position_entry(c) for c in message.get("couriers", ())]}
    if message.get("type") == "geofence":  # an order's stop or a zone: both keys, one null
        return {"order_id": None, "zone_id": None, **message}
    return message


async def snapshot_couriers(state: Any, *, now_s: float) -> list[dict]:
    """Every courier on shift (`on` or `break`), with its last known position and its age.

    The position is the newer of the live view's last fix (Redis) and the courier's stored
    `last_location` (written at shift start and from fixes), so a courier on shift is listed
    even before its first fix, or after Redis lost its live view. Each entry:
    `{"id", "name", "vehicle", "shift_state", "lat", "lon", "ts", "speed", "heading", "acc",
    "stale", "age_s"}`; `lat`/`lon`/`ts`/`age_s` are null when no position was ever known.
    """
    async with state.sessionmaker() as session:
        couriers = [c for c in await list_couriers(session) if c.shift_state != "off"]
    try:
        live = {c["id"]: c for c in await state.tracking.live.snapshot()}
    except Exception as exc:  # Redis down: the positions the database keeps
        log.warning("snapshot positions from the database only (Redis unavailable: %s)", exc)
        live = {}
    stale_after_s = state.settings.tracking_stale_after_s
    entries = []
    for courier in couriers:
        fix = live.get(courier.id)
        stored_ts = courier.last_seen_at.timestamp() if courier.last_seen_at else None
        if fix is not None and fix.get("ts") is not None and (
                stored_ts is None or fix["ts"] >= stored_ts):
            entry = position_entry(fix)
        else:
            point = to_lat_lon(courier.last_location)
            entry = position_entry({
                "id": courier.id, "lat": point.lat if point else None,
                "lon": point.lon if point else None, "ts": stored_ts})
        age_s = None if entry["ts"] is None else max(0.0, now_s - entry["ts"])
        entry["stale"] = entry["stale"] or age_s is None or age_s > stale_after_s
        entries.append({"id": courier.id, "name": courier.name, "vehicle": courier.vehicle,
                        "shift_state": courier.shift_state, **entry,
                        "age_s": None if age_s is None else round(age_s, 3)})
    return entries


async def _snapshot(websocket: WebSocket, user: User, bbox: BBox | None) -> dict:
    state = websocket.app.state
    now_s = time.time()
    couriers = await snapshot_couriers(state, now_s=now_s)
    if bbox is not None:  # couriers whose position is unknown stay listed
        couriers = [c for c in couriers
                    if c["lat"] is None or bbox.contains(c["lat"], c["lon"])]
    async with state.sessionmaker() as session:
        orders, _ = await list_visible_orders(
            session, user, filters=OrderFilters(status=SNAPSHOT_ORDER_STATUSES),
            after_id=None, limit=SNAPSHOT_MAX_ORDERS)
        order_bodies = [order_out(o).model_dump(mode="json") for o in orders]
    return {"type": "snapshot", "couriers": couriers, "orders": order_bodies,
            "server_time": rfc3339_from_s(now_s), "server_time_s": now_s}


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
                    await _send(websocket, feed_message(message))
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
