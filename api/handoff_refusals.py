"""Refused handoff scans, told to the dispatchers' live feed (best effort).

A refused scan (token expired or reused, courier too far, wrong order...) says something is
wrong at a door; dispatchers see it on `/ws/dispatch` as

    {"type": "handoff_refused", "code", "order_id", "leg", "courier_id", "at", "at_s",
     "endpoint"}

(`at` RFC 3339 UTC, `at_s` the same moment in Unix seconds)

`order_id` and `leg` come from what the app sent, else from the token's payload read
*without* verifying it (for display only: a forged token can at most name another order in
this alert). Publishing never changes the answer the courier gets: it is bounded in time and
every failure is swallowed.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

import orjson
from fastapi import Request

from dispatch.couriers import courier_of_user
from dispatch.tables import User
from dispatch.times import rfc3339_from_s

__all__ = ["reporting_refusals", "refusal_message", "PUBLISH_TIMEOUT_S"]

log = logging.getLogger(__name__)

#: The longest a refusal waits for its publication before the error answer goes out.
PUBLISH_TIMEOUT_S = 0.5
_LEGS = {"p": "pickup", "d": "dropoff", "r": "return"}


def _unverified_claims(token: str | None) -> dict[str, Any]:
    if not token or token.count(".") != 2:
        return {}
    payload = token.split(".")[1]
    try:
        claims = orjson.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (ValueError, orjson.JSONDecodeError):
        return {}
    return claims if isinstance(claims, dict) else {}


def refusal_message(*, code: str, endpoint: str, courier_id: int | None, at_s: float,
                    order_id: int | None = None, leg: str | None = None,
                    token: str | None = None) -> dict:
    """The feed message for one refusal (pure)."""
    claims = _unverified_claims(token)
    if order_id is None and isinstance(claims.get("o"), int):
        order_id = claims["o"]
    if leg is None and isinstance(claims.get("l"), str):
        leg = _LEGS.get(claims["l"])
    return {"type": "handoff_refused", "code": code, "order_id": order_id, "leg": leg,
            "courier_id": courier_id, "at": rfc3339_from_s(at_s), "at_s": at_s,
            "endpoint": endpoint}


async def _publish(request: Request, user: User, exc: Exception, *, endpoint: str,
                   order_id: int | None, leg: str | None, token: str | None) -> None:
    state = request.app.state
    courier_id = None
    if user.role == "courier":
        async with state.sessionmaker() as session:
            courier = await courier_of_user(session, user.id)
            courier_id = courier.id if courier is not None else None
    message = refusal_message(code=getattr(exc, "code", "error"), endpoint=endpoint,
                              courier_id=courier_id, at_s=time.time(), order_id=order_id,
                              leg=leg, token=token)
    await state.tracking.updater.publish(message)


@contextlib.asynccontextmanager
async def reporting_refusals(request: Request, user: User, *, endpoint: str,
                             order_id: int | None = None, leg: str | None = None,
                             token: str | None = None) -> AsyncIterator[None]:
    """Runs a scan; if it is refused with a coded error, tells the feed, then re-raises."""
    try:
        yield
    except Exception as exc:
        if getattr(exc, "code", None):
            try:
                await asyncio.wait_for(
                    _publish(request, user, exc, endpoint=endpoint, order_id=order_id,
                             leg=leg, token=token), PUBLISH_TIMEOUT_S)
            except Exception as publish_error:  # never change the courier's answer
                log.debug("handoff refusal not published: %r", publish_error)
        raise
