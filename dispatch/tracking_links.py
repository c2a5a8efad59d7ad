"""Buyer tracking links: signed, order-scoped, expiring, revocable. Pure: no clock, no I/O.

A link is `<base>/t/<token>`. The token is a JWT (HS256) like the service's access tokens,
signed with a key derived from the service secret for this one purpose (so neither kind of
token is ever accepted as the other), with three short claims:

    {"o": order_id, "l": link_id, "exp": unix_seconds}

`l` names the link's row in `tracking_links`, which records revocation; the signature alone
cannot be taken back. Rotating `COURIER_SECRET_KEY` invalidates every link.

What a link shows (`courier_visible`): the order's status and its own ETAs always; where the
courier is only while the courier is on the way to this buyer -- the parcel is picked up (or
the courier is at the drop-off) and this order's drop-off is the courier's next planned stop.
Before that the courier may be collecting or delivering other people's parcels, and its
position would tell where they live.

    TrackingLinkError (a DispatchError)
    ├── TrackingLinkInvalid   404 tracking_link_invalid   garbage, bad signature, unknown link
    ├── TrackingLinkExpired   410 tracking_link_expired   past its `exp`
    └── TrackingLinkRevoked   410 tracking_link_revoked   revoked by the seller, buyer or staff
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import Any, Final

import jwt

from dispatch.exceptions import DispatchError, NotFound

__all__ = [
    "TrackingLinkError",
    "TrackingLinkInvalid",
    "TrackingLinkGone",
    "TrackingLinkExpired",
    "TrackingLinkRevoked",
    "TrackingLinkClaims",
    "tracking_link_key",
    "sign_tracking_token",
    "read_tracking_token",
    "courier_visible",
    "VISIBLE_STATUSES",
    "MAX_TOKEN_CHARS",
]

_ALGORITHM: Final = "HS256"
_KEY_PURPOSE: Final = b"courier-dispatch/tracking-link/v1"
#: Ours are about 120 characters; anything much longer is refused unread.
MAX_TOKEN_CHARS: Final = 512
#: Order statuses in which the courier carries this order's parcel toward the buyer.
VISIBLE_STATUSES: Final = frozenset({"picked_up", "at_dropoff"})


class TrackingLinkError(DispatchError):
    """Base of the refusals of a tracking link."""


class TrackingLinkInvalid(TrackingLinkError, NotFound):
    code = "tracking_link_invalid"

    def __init__(self, message: str = "This tracking link is not valid.", **kw: Any) -> None:
        super().__init__(message, **kw)


class TrackingLinkGone(TrackingLinkError):
    """The link was good once (410)."""


class TrackingLinkExpired(TrackingLinkGone):
    code = "tracking_link_expired"

    def __init__(self, message: str = "This tracking link has expired.", **kw: Any) -> None:
        super().__init__(message, **kw)


class TrackingLinkRevoked(TrackingLinkGone):
    code = "tracking_link_revoked"

    def __init__(self, message: str = "This tracking link was revoked.", **kw: Any) -> None:
        super().__init__(message, **kw)


@dataclass(frozen=True, slots=True)
class TrackingLinkClaims:
    order_id: int
    link_id: int
    expires_at_s: int


def tracking_link_key(secret_key: str) -> bytes:
    """The signing key of tracking links, derived from the service secret."""
    return hmac.new(secret_key.encode(), _KEY_PURPOSE, hashlib.sha256).digest()


def sign_tracking_token(claims: TrackingLinkClaims, *, key: bytes) -> str:
    payload = {"o": claims.order_id, "l": claims.link_id, "exp": claims.expires_at_s}
    return jwt.encode(payload, key, algorithm=_ALGORITHM)


def read_tracking_token(token: str, *, key: bytes, now_s: float) -> TrackingLinkClaims:
    """The claims of a token we signed, or `TrackingLinkInvalid`; `TrackingLinkExpired` when
    `now_s` is at or past its expiry (checked after the signature, so only for real links)."""
    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_CHARS:
        raise TrackingLinkInvalid()
    try:
        payload = jwt.decode(token, key, algorithms=[_ALGORITHM],
                             options={"verify_exp": False, "require": ["o", "l", "exp"]})
        claims = TrackingLinkClaims(int(payload["o"]), int(payload["l"]), int(payload["exp"]))
    except (jwt.PyJWTError, ValueError, TypeError, KeyError):
        raise TrackingLinkInvalid() from None
    if claims.order_id <= 0 or claims.link_id <= 0:
        raise TrackingLinkInvalid()
    if now_s >= claims.expires_at_s:
        raise TrackingLinkExpired(details={"expired_at_s": claims.expires_at_s})
    return claims


def courier_visible(*, order_id: int, status: str, courier_id: int | None,
                    next_stop: tuple[int, str] | None) -> bool:
    """Whether the buyer of `order_id` may see its courier: the parcel is on board (or at the
    door) and the courier's next planned stop, `(order_id, kind)`, is this drop-off."""
    return (courier_id is not None and status in VISIBLE_STATUSES
            and next_stop == (order_id, "dropoff"))
