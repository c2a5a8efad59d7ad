"""Order status webhooks for marketplace backends: outbox, signed deliveries, retries, a log.

Flow (transactional outbox, so no status change is lost and none is sent before it commits):

1. every status change is already an `order_events` row, written in the transaction that made
   the change (whichever module made it);
2. `fan_out_events` copies new events into `webhook_outbox`, one row per matching endpoint
   (a seller's endpoint sees only its orders), and advances `webhook_cursor`;
3. `deliver_due` POSTs due outbox rows, signed, logs each attempt in `webhook_deliveries`,
   and reschedules failures with exponential backoff until `max_attempts`.

Signature (the Stripe scheme, which receivers already know how to check): header
`Courier-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`.
The timestamp lets receivers refuse replays (`verify_signature`'s `tolerance_s`).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlparse

import httpx
import orjson
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dispatch.exceptions import InvalidInput
from dispatch.tables import WebhookDelivery, WebhookEndpoint, WebhookOutbox
from dispatch.times import rfc3339

__all__ = [
    "SIGNATURE_HEADER",
    "sign_payload",
    "verify_signature",
    "backoff_s",
    "register_endpoint",
    "fan_out_events",
    "deliver_due",
    "WebhookSender",
    "endpoint_wire",
]

SIGNATURE_HEADER = "Courier-Signature"


def sign_payload(secret: str, *, timestamp_s: int, body: bytes) -> str:
    """The `Courier-Signature` header value for `body` sent at `timestamp_s`."""
    mac = hmac.new(secret.encode(), f"{timestamp_s}.".encode() + body, hashlib.sha256)
    return f"t={timestamp_s},v1={mac.hexdigest()}"


def verify_signature(secret: str, *, header: str, body: bytes, now_s: float,
                     tolerance_s: float = 300.0) -> bool:
    """What a receiver does: recompute the HMAC, compare in constant time, check freshness."""
    try:
        parts = dict(item.split("=", 1) for item in header.split(","))
        timestamp_s = int(parts["t"])
        given = parts["v1"]
    except (KeyError, ValueError):
        return False
    if abs(now_s - timestamp_s) > tolerance_s:
        return False
    expected = sign_payload(secret, timestamp_s=timestamp_s, body=body).split("v1=", 1)[1]
    return hmac.compare_digest(expected, given)


def backoff_s(attempt: int, *, base_s: float = 5.0, cap_s: float = 3600.0) -> float:
    """Delay before retry number `attempt` (1-based): 5 s, 10 s, 20 s, ... capped at an hour."""
    return min(cap_s, base_s * 2 ** max(0, attempt - 1))


def endpoint_wire(endpoint: WebhookEndpoint, *, with_secret: bool = False) -> dict[str, Any]:
    body = {"id": endpoint.id, "url": endpoint.url, "seller_id": endpoint.seller_id,
            "event_types": list(endpoint.event_types or []), "active": endpoint.active}
    if with_secret:
        body["secret"] = endpoint.secret
    return body


async def register_endpoint(session: AsyncSession, *, owner_id: int, seller_id: int | None,
                            url: str, secret: str | None, event_types: list[str]
                            ) -> WebhookEndpoint:
    """A marketplace's URL for order status callbacks; a secret is generated if none is given."""
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise InvalidInput("a webhook URL must be an absolute http(s) URL",
                           code="invalid_webhook_url", details={"url": url})
    if secret is not None and len(secret) < 16:
        raise InvalidInput("a webhook secret needs at least 16 characters",
                           code="invalid_webhook_secret")
    endpoint = WebhookEndpoint(owner_id=owner_id, seller_id=seller_id, url=url,
                               secret=secret or secrets.token_urlsafe(32),
                               event_types=list(event_types), active=True)
    session.add(endpoint)
    await session.flush()
    return endpoint


#: Order events about a problem ticket; their payload also names the ticket, its kind and (when
#: resolved) its resolution.
TICKET_EVENTS = ("ticket_opened", "ticket_resolved")

FAN_OUT_SQL = text("""
SELECT e.id, e.order_id, e.type, e.from_status, e.to_status, e.courier_id, e.at, e.details,
       o.seller_id, o.external_id, o.status
FROM order_events e JOIN orders o ON o.id = e.order_id
WHERE e.id > :after
ORDER BY e.id
LIMIT :limit
""")


async def fan_out_events(session: AsyncSession, *, now: datetime, limit: int = 1000) -> int:
    """Copies up to `limit` new order events into the outbox (one row per matching endpoint);
    returns how many events it read (call again while it returns `limit`)."""
    after = await session.scalar(text(
        "SELECT last_event_id FROM webhook_cursor WHERE id = 1 FOR UPDATE"))
    if after is None:
        return 0
    rows = (await session.execute(FAN_OUT_SQL, {"after": after, "limit": limit})).all()
    if not rows:
        return 0
    endpoints = list((await session.scalars(
        select(WebhookEndpoint).where(WebhookEndpoint.active))).all())
    for r in rows:
        payload = {"event_id": r.id, "type": r.type, "order_id": r.order_id,
                   "external_id": r.external_id, "from_status": r.from_status,
                   "status": r.to_status, "courier_id": r.courier_id, "at": rfc3339(r.at)}
        if r.type in TICKET_EVENTS and isinstance(r.details, dict):
            payload["ticket"] = {key: r.details.get(key)
                                 for key in ("ticket_id", "kind", "resolution")}
        for ep in endpoints:
            if ep.seller_id is not None and ep.seller_id != r.seller_id:
                continue
            if ep.event_types and r.type not in ep.event_types:
                continue
            await session.execute(text(
                "INSERT INTO webhook_outbox (endpoint_id, order_event_id, payload, state, "
                "attempts, next_attempt_at) VALUES (:ep, :ev, CAST(:payload AS JSONB), "
                "'pending', 0, :now) ON CONFLICT DO NOTHING"),
                {"ep": ep.id, "ev": r.id, "payload": orjson.dumps(payload).decode(), "now": now})
    await session.execute(text("UPDATE webhook_cursor SET last_event_id = :last WHERE id = 1"),
                          {"last": rows[-1].id})
    return len(rows)


@dataclass(frozen=True, slots=True)
class SendResult:
    status_code: int | None
    error: str | None
    duration_ms: float

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class WebhookSender:
    """Sends one signed POST; never raises (failures are results, logged and retried)."""

    def __init__(self, *, timeout_s: float = 5.0) -> None:
        self.timeout_s = timeout_s

    async def send(self, url: str, *, body: bytes, headers: dict[str, str]) -> SendResult:
        started = time.perf_counter()
        try:
            async with httpx.AsyncClient(timeout=self.timeout_s) as client:
                response = await client.post(url, content=body, headers=headers)
            return SendResult(response.status_code, None if response.is_success else
                              f"HTTP {response.status_code}",
                              (time.perf_counter() - started) * 1000)
        except httpx.HTTPError as exc:
            return SendResult(None, f"{type(exc).__name__}: {exc}"[:500],
                              (time.perf_counter() - started) * 1000)


async def deliver_due(sessionmaker: async_sessionmaker, *, sender: WebhookSender, now: datetime,
                      max_attempts: int = 8, limit: int = 50) -> int:
    """Sends every due outbox row once; returns how many were delivered.

    Rows are claimed with `FOR UPDATE SKIP LOCKED`, so several workers never send the same
    row at once; the attempt and its outcome are written in the same transaction.
    """
    delivered = 0
    async with sessionmaker() as session:
        rows = list((await session.execute(
            select(WebhookOutbox, WebhookEndpoint)
            .join(WebhookEndpoint, WebhookEndpoint.id == WebhookOutbox.endpoint_id)
            .where(WebhookOutbox.state == "pending", WebhookOutbox.next_attempt_at <= now)
            .order_by(WebhookOutbox.id).limit(limit)
            .with_for_update(of=WebhookOutbox, skip_locked=True))).all())
        for outbox, endpoint in rows:
            body = orjson.dumps(outbox.payload)
            timestamp_s = int(time.time())
            headers = {"Content-Type": "application/json",
                       SIGNATURE_HEADER: sign_payload(endpoint.secret, timestamp_s=timestamp_s,
                                                      body=body),
                       "Courier-Event-Id": str(outbox.order_event_id),
                       "Courier-Delivery-Attempt": str(outbox.attempts + 1)}
            result = await sender.send(endpoint.url, body=body, headers=headers)
            outbox.attempts += 1
            session.add(WebhookDelivery(outbox_id=outbox.id, attempt=outbox.attempts, at=now,
                                        status_code=result.status_code, error=result.error,
                                        duration_ms=result.duration_ms))
            if result.ok:
                outbox.state, outbox.delivered_at = "delivered", now
                delivered += 1
            elif outbox.attempts >= max_attempts:
                outbox.state = "failed"
            else:
                outbox.next_attempt_at = now + timedelta(seconds=backoff_s(outbox.attempts))
        await session.commit()
    return delivered
