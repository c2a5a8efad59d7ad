"""A courier app's GPS channel: `/ws/courier`, with acknowledgements, reconnects and re-sends.

The link behaves like a careful phone app:

* on first connect it sends an empty `positions` batch; the service answers with the
  courier's durable high-water mark (`ack.seq`), and new points continue above it, so a
  courier reused from an earlier run never collides with its own history;
* every point stays in a buffer until an `ack` covers it (`ack.seq` is the highest seq the
  service has durably decided; `rejected` names the refused ones), and the ack round trip
  is measured per point;
* when the socket drops, or an ack is overdue, it reconnects with back-off and re-sends the
  whole buffer (the service stores a re-sent seq once);
* other messages (offers, routes, withdrawn orders) go to `on_message`.

`flush()` waits until everything sent so far is decided: the courier's scan and arrival
reports are checked against the stored track, so the fix at the door must be stored first.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import orjson
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

from simulations.live.client import Actor
from simulations.live.summary import Summary

__all__ = ["GpsLink", "PendingPoint", "LinkClosed"]

log = logging.getLogger(__name__)

#: Points per message when re-sending a buffer (the service takes up to 1000).
RESEND_BATCH = 500


class LinkClosed(Exception):
    """The link was closed, or never reached the service."""


@dataclass(slots=True)
class PendingPoint:
    body: dict[str, Any]
    sent_at: float | None = None


class GpsLink:
    def __init__(self, *, url: str, actor: Actor, summary: Summary,
                 on_message: Callable[[dict[str, Any]], None],
                 relogin: Callable[[], Awaitable[None]] | None = None,
                 ack_timeout_s: float = 15.0, name: str = "") -> None:
        self.url = url
        self.actor = actor
        self.summary = summary
        self.on_message = on_message
        self.relogin = relogin
        self.ack_timeout_s = ack_timeout_s
        self.name = name or actor.name
        #: The service's durable mark when the link started (None until known).
        self.first_mark: int | None = None
        self.next_seq: int | None = None
        #: Highest seq decided by the service (stored or refused).
        self.acked_seq = 0
        self.pending: dict[int, PendingPoint] = {}
        #: Seqs the service acknowledged as stored, in order.
        self.stored_seqs: list[int] = []
        self.rejected: dict[int, str] = {}
        self._ws: ClientConnection | None = None
        self._outbox: asyncio.Queue[list[int]] = asyncio.Queue()
        self._decided = asyncio.Condition()
        self._ready = asyncio.Event()
        self._closing = False
        self._task: asyncio.Task | None = None
        self._connects = 0

    # --- life cycle ------------------------------------------------------------------------------

    async def start(self, *, timeout_s: float = 60.0) -> None:
        """Connects and learns the courier's mark; `LinkClosed` if the service never answers."""
        self._task = asyncio.create_task(self._run(), name=f"gps-{self.name}")
        try:
            await asyncio.wait_for(self._ready.wait(), timeout_s)
        except TimeoutError:
            await self.close(flush_timeout_s=0)
            raise LinkClosed(f"{self.name}: no connection to {self.url}") from None

    async def close(self, *, flush_timeout_s: float = 10.0) -> None:
        """Waits up to `flush_timeout_s` for outstanding acks, then closes. What is still
        unacknowledged then is counted as such."""
        if self._ready.is_set() and flush_timeout_s > 0:
            await self.flush(timeout_s=flush_timeout_s)
        self._closing = True
        if self._ws is not None:
            with contextlib.suppress(Exception):
                await self._ws.close()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        self.summary.points_unacked += len(self.pending)
        self.pending.clear()

    # --- sending ---------------------------------------------------------------------------------

    def send(self, *, lat: float, lon: float, ts: float, acc_m: float, speed_mps: float,
             heading_deg: float | None) -> int:
        """Queues one fix (sent at once when connected); returns its seq."""
        if self.next_seq is None:
            raise LinkClosed(f"{self.name}: the link has not started")
        seq = self.next_seq
        self.next_seq += 1
        body = {"seq": seq, "lat": round(lat, 7), "lon": round(lon, 7), "ts": round(ts, 3),
                "acc": acc_m, "speed": speed_mps, "heading": heading_deg}
        self.pending[seq] = PendingPoint(body)
        self.summary.points_sent += 1
        self._outbox.put_nowait([seq])
        return seq

    @property
    def last_seq(self) -> int:
        return (self.next_seq or 1) - 1

    async def flush(self, *, timeout_s: float = 30.0) -> bool:
        """Waits until every point sent so far is decided; False on timeout."""
        target = self.last_seq
        try:
            async with asyncio.timeout(timeout_s):
                async with self._decided:
                    await self._decided.wait_for(lambda: self.acked_seq >= target)
            return True
        except TimeoutError:
            return False

    # --- the connection loop ---------------------------------------------------------------------

    async def _run(self) -> None:
        delay_s = 0.5
        while not self._closing:
            refused = False
            try:
                async with connect(self.url, additional_headers=self.actor.headers,
                                   open_timeout=15, ping_interval=20, ping_timeout=30,
                                   close_timeout=5, proxy=None) as ws:
                    self._ws = ws
                    self._connects += 1
                    self.summary.ws_connects += 1
                    if self._connects > 1:
                        self.summary.ws_reconnects += 1
                    delay_s = 0.5
                    refused = await self._serve(ws)
            except asyncio.CancelledError:
                raise
            except (ConnectionClosed, InvalidHandshake, InvalidURI, OSError,
                    TimeoutError) as exc:
                log.debug("%s: websocket dropped: %r", self.name, exc)
            finally:
                self._ws = None
            if self._closing:
                break
            if refused and self.relogin is not None:
                with contextlib.suppress(Exception):
                    await self.relogin()
            await asyncio.sleep(delay_s)
            delay_s = min(5.0, delay_s * 2)

    async def _serve(self, ws: ClientConnection) -> bool:
        """Runs one connection; True when the service refused our token."""
        while not self._outbox.empty():  # everything pending is re-sent below, in one go
            self._outbox.get_nowait()
        if self.next_seq is None:
            await ws.send(orjson.dumps({"type": "positions", "points": []}).decode())
        elif self.pending:
            self._outbox.put_nowait(sorted(self.pending))
        refused = asyncio.Event()
        tasks = [asyncio.create_task(self._read(ws, refused)),
                 asyncio.create_task(self._write(ws)),
                 asyncio.create_task(self._watch(ws))]
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                exc = task.exception()
                if exc is not None and not isinstance(exc, ConnectionClosed):
                    raise exc
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(BaseException):
                    await task
        return refused.is_set()

    async def _write(self, ws: ClientConnection) -> None:
        while True:
            seqs = await self._outbox.get()
            points = [self.pending[s] for s in seqs if s in self.pending]
            for i in range(0, len(points), RESEND_BATCH):
                chunk = points[i:i + RESEND_BATCH]
                now = time.perf_counter()
                for point in chunk:
                    point.sent_at = now
                await ws.send(orjson.dumps({"type": "positions",
                                            "points": [p.body for p in chunk]}).decode())

    async def _watch(self, ws: ClientConnection) -> None:
        """An ack overdue means the channel is stuck: drop it, reconnect and re-send."""
        while True:
            await asyncio.sleep(1.0)
            now = time.perf_counter()
            oldest = min((p.sent_at for p in self.pending.values() if p.sent_at is not None),
                         default=None)
            if oldest is not None and now - oldest > self.ack_timeout_s:
                self.summary.ack_timeouts += 1
                self.summary.note(f"{self.name}: no ack for {now - oldest:.0f} s; reconnecting")
                await ws.close()
                return

    async def _read(self, ws: ClientConnection, refused: asyncio.Event) -> None:
        async for raw in ws:
            try:
                message = orjson.loads(raw)
            except orjson.JSONDecodeError:
                self.summary.ws_errors["malformed_message"] += 1
                continue
            kind = message.get("type") if isinstance(message, dict) else None
            if kind == "ack":
                await self._on_ack(message)
            elif kind == "error":
                code = str(message.get("code"))
                self.summary.ws_errors[code] += 1
                if code in ("not_authenticated", "invalid_token", "forbidden",
                            "courier_required"):
                    refused.set()
                    self.summary.note(f"{self.name}: websocket refused: {code}")
                elif code == "service_unavailable" and self.pending:
                    # Those points were not stored: send them again shortly.
                    await asyncio.sleep(1.0)
                    self._outbox.put_nowait(sorted(self.pending))
            elif kind is not None:
                try:
                    self.on_message(message)
                except Exception:
                    log.exception("%s: handling a %s message failed", self.name, kind)

    async def _on_ack(self, message: dict[str, Any]) -> None:
        seq = message.get("seq")
        if not isinstance(seq, int):
            self.summary.ws_errors["ack_without_seq"] += 1
            return
        if self.next_seq is None:  # the answer to the empty batch: where to go on from
            self.first_mark = self.acked_seq = seq
            self.next_seq = seq + 1
            self._ready.set()
            return
        rejected = {r.get("seq"): str(r.get("reason")) for r in message.get("rejected") or []
                    if isinstance(r, dict)}
        now = time.perf_counter()
        for s in sorted(x for x in self.pending if x <= seq):
            point = self.pending.pop(s)
            if s in rejected:
                self.rejected[s] = rejected[s]
                self.summary.points_rejected[rejected[s]] += 1
                self.summary.note(f"{self.name}: point {s} rejected: {rejected[s]}")
            else:
                self.stored_seqs.append(s)
                self.summary.points_acked += 1
                if point.sent_at is not None:
                    self.summary.ack_rtt.add(now - point.sent_at)
        async with self._decided:
            self.acked_seq = max(self.acked_seq, seq)
            self._decided.notify_all()
