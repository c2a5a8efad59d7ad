"""`/ws/track/{token}`: the buyer's tracking page, live. No login; the link is the key.

The socket first sends `{"type": "track", ...}` with the body of `GET /public/track/{token}`,
then a new `track` message whenever that body changes -- the order's status or ETAs, or the
courier's position while it may be shown -- at most one a second
(`MIN_INTERVAL_S`). When the link expires or is revoked it sends
`{"type": "error", "code": "tracking_link_expired"|"tracking_link_revoked", "message"}` and
closes with 4410; a token that was never valid gets `tracking_link_invalid` and 4404.

What drives it is Redis, through one `TrackHub` per worker (one subscription, however many
buyers watch):

* the tracking feed channel (`{prefix}tracking:feed`): `positions` messages move the courier
  of a watched order (applied without a database read while the courier is shown), and
  `order` messages (published after any commit that changed an order) make the watchers of
  that order, or of another order of the same courier, read the view again -- another drop-off
  done first changes who is next;
* courier messages (`{prefix}courier-messages:{id}`): a re-planned route changes the next stop;
* `{prefix}tracking-links`: an order whose links were revoked.

Every `REFRESH_S` each socket also re-reads its view, so a message lost while Redis was away
costs at most that much delay. The client may send `{"type": "ping"}` (answered `pong`);
anything else it sends is ignored.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

import orjson
from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from redis.asyncio import Redis

from api.buyer_tracking import LinkCheck, check_link, links_channel, track_view
from api.i18n import pick_language, translate
from api.settings import Settings
from dispatch.tracking_links import TrackingLinkError, TrackingLinkExpired, TrackingLinkGone
from tracking.live_store import feed_channel
from tracking.subscription import RedisSubscription

__all__ = ["router", "TrackHub", "MIN_INTERVAL_S", "REFRESH_S", "CLOSE_GONE", "CLOSE_INVALID"]

log = logging.getLogger(__name__)
router = APIRouter()

#: At most one `track` message a second per socket.
MIN_INTERVAL_S = 1.0
#: A socket re-reads its view at least this often, whatever Redis says.
REFRESH_S = 15.0
CLOSE_GONE = 4410
CLOSE_INVALID = 4404


class Watcher:
    """One socket's interest: an order, and the courier currently carrying it."""

    def __init__(self, order_id: int) -> None:
        self.order_id = order_id
        self.courier_id: int | None = None
        self.changed = asyncio.Event()
        #: Read the whole view again (order, route or link changed).
        self.reload = True
        #: The courier's newest position from the feed, when only that changed.
        self.position: dict[str, Any] | None = None

    def poke(self) -> None:
        self.reload = True
        self.changed.set()

    def moved(self, position: dict[str, Any]) -> None:
        self.position = position
        self.changed.set()


class TrackHub:
    """Routes the Redis messages a buyer page cares about to the watchers of this worker."""

    def __init__(self, redis: Redis, settings: Settings) -> None:
        prefix = settings.redis_prefix
        self.feed_channel = feed_channel(prefix)
        self.links_channel = links_channel(settings)
        self._courier_prefix = f"{prefix}courier-messages:"
        self._by_order: dict[int, set[Watcher]] = defaultdict(set)
        self._by_courier: dict[int, set[Watcher]] = defaultdict(set)
        self.subscription = RedisSubscription(
            redis, channels=[self.feed_channel, self.links_channel],
            patterns=[f"{self._courier_prefix}*"], on_message=self._route,
            name="buyer-tracking")

    def start(self) -> None:
        self.subscription.start()

    async def stop(self) -> None:
        await self.subscription.stop()

    def __len__(self) -> int:
        return sum(len(w) for w in self._by_order.values())

    def watch(self, order_id: int) -> Watcher:
        watcher = Watcher(order_id)
        self._by_order[order_id].add(watcher)
        return watcher

    def unwatch(self, watcher: Watcher) -> None:
        self._discard(self._by_order, watcher.order_id, watcher)
        if watcher.courier_id is not None:
            self._discard(self._by_courier, watcher.courier_id, watcher)

    def follow(self, watcher: Watcher, courier_id: int | None) -> None:
        """The order is now with `courier_id` (or nobody)."""
        if watcher.courier_id == courier_id:
            return
        if watcher.courier_id is not None:
            self._discard(self._by_courier, watcher.courier_id, watcher)
        watcher.courier_id = courier_id
        if courier_id is not None:
            self._by_courier[courier_id].add(watcher)

    @staticmethod
    def _discard(index: dict[int, set[Watcher]], key: int, watcher: Watcher) -> None:
        watchers = index.get(key)
        if watchers is not None:
            watchers.discard(watcher)
            if not watchers:
                del index[key]

    def _route(self, channel: str, data: bytes) -> None:
        if not self._by_order:
            return
        if channel == self.feed_channel:
            message = orjson.loads(data)
            kind = message.get("type")
            if kind == "positions" and self._by_courier:
                for courier in message.get("couriers", ()):
                    for watcher in self._by_courier.get(courier.get("id"), ()):
                        watcher.moved(courier)
            elif kind == "order":
                order = message.get("order") or {}
                for watcher in (*self._by_order.get(order.get("id"), ()),
                                *self._by_courier.get(order.get("courier_id"), ())):
                    watcher.poke()
        elif channel == self.links_channel:
            with contextlib.suppress(ValueError):
                for watcher in self._by_order.get(int(data), ()):
                    watcher.poke()
        elif channel.startswith(self._courier_prefix):
            with contextlib.suppress(ValueError):
                courier_id = int(channel[len(self._courier_prefix):])
                for watcher in self._by_courier.get(courier_id, ()):
                    watcher.poke()


async def _send(websocket: WebSocket, message: dict) -> None:
    await websocket.send_text(orjson.dumps(message).decode())


def _error(websocket: WebSocket, exc: TrackingLinkError) -> dict:
    language = pick_language(websocket.headers.get("accept-language"))
    code = exc.code  # type: ignore[attr-defined]
    return {"type": "error", "code": code,
            "message": translate(code, language, exc.message)}  # type: ignore[attr-defined]


async def _view(websocket: WebSocket, token: str) -> tuple[LinkCheck, dict, int | None]:
    """The link (checked again) and the view as JSON, with the order's courier id."""
    state = websocket.app.state
    async with state.sessionmaker() as session:
        check = await check_link(session, token, settings=state.settings,
                                 now=datetime.now(UTC))
        view = await track_view(session, check, redis=state.redis, settings=state.settings)
    return check, view.body.model_dump(mode="json"), view.courier_id


@router.websocket("/ws/track/{token}")
async def track_socket(websocket: WebSocket, token: str) -> None:
    try:
        check, body, courier_id = await _view(websocket, token)
    except TrackingLinkError as exc:
        await websocket.accept()
        await _send(websocket, _error(websocket, exc))
        await websocket.close(code=CLOSE_GONE if isinstance(exc, TrackingLinkGone)
                              else CLOSE_INVALID)
        return
    await websocket.accept()
    hub: TrackHub = websocket.app.state.track_hub
    watcher = hub.watch(check.claims.order_id)
    hub.follow(watcher, courier_id)
    outgoing: asyncio.Queue[dict] = asyncio.Queue(maxsize=8)

    async def push() -> None:
        nonlocal body
        await _send(websocket, {"type": "track", **body})
        sent_at = time.monotonic()
        expires_at_s = check.expires_at.timestamp()
        while True:
            if not outgoing.empty():
                await _send(websocket, outgoing.get_nowait())
            timeout = min(REFRESH_S, max(0.0, expires_at_s - time.time()))
            try:
                await asyncio.wait_for(watcher.changed.wait(), timeout=timeout)
            except TimeoutError:
                watcher.reload = True
            wait_s = MIN_INTERVAL_S - (time.monotonic() - sent_at)
            if wait_s > 0:
                await asyncio.sleep(wait_s)
            watcher.changed.clear()
            reload, watcher.reload = watcher.reload, False
            position, watcher.position = watcher.position, None
            if time.time() >= expires_at_s:
                raise TrackingLinkExpired()
            if reload:
                _, fresh, courier_id = await _view(websocket, token)
                hub.follow(watcher, courier_id)
            elif position is not None and body["courier"] is not None:
                fresh = {**body, "courier": {**body["courier"], **{
                    k: position.get(k) for k in ("lat", "lon", "heading", "speed", "ts")}}}
            else:
                continue
            if fresh != body:
                body = fresh
                await _send(websocket, {"type": "track", **body})
                sent_at = time.monotonic()

    async def listen() -> None:
        while True:
            raw = await websocket.receive()
            if raw["type"] == "websocket.disconnect":
                raise WebSocketDisconnect(raw.get("code", 1000))
            with contextlib.suppress(orjson.JSONDecodeError, TypeError):
                message = orjson.loads(raw.get("text") or raw.get("bytes") or b"")
                if isinstance(message, dict) and message.get("type") == "ping":
                    with contextlib.suppress(asyncio.QueueFull):
                        outgoing.put_nowait({"type": "pong"})
                    watcher.changed.set()

    tasks = [asyncio.create_task(push()), asyncio.create_task(listen())]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            exc = task.exception()
            if isinstance(exc, TrackingLinkError):
                with contextlib.suppress(Exception):
                    await _send(websocket, _error(websocket, exc))
                    await websocket.close(code=CLOSE_GONE if isinstance(exc, TrackingLinkGone)
                                          else CLOSE_INVALID)
            elif exc is not None and not isinstance(exc, WebSocketDisconnect | RuntimeError):
                log.warning("tracking socket ended with %r", exc)
    finally:
        hub.unwatch(watcher)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(BaseException):
                await task
        with contextlib.suppress(Exception):
            await websocket.close()
