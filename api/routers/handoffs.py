"""Handoff endpoints: issue a leg's signed QR token, scan it, the fallback code, custody, JWKS.

    POST /orders/{id}/handoff-tokens          {"leg"} -> {"token", "expires_at", ...}
    GET  /orders/{id}/handoff-tokens/{leg}.svg|.png   the QR of the live token
    POST /handoffs/scan                       {"token", "lat", "lon", "scanned_at"} (courier)
    POST /handoffs/code                       {"order_id", "leg", "code", "lat", "lon", ...}
    GET  /orders/{id}/custody                 hash-chained entries and their verification
    GET  /handoffs/keys                       public keys as JWKS (no authentication)
    POST /handoffs/keys/rotate                (admin) new signing key, old ones keep verifying
"""

from __future__ import annotations

import io
import time
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Literal

import segno
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from api.deps import AdminUser, CurrentUser, RedisDep, SessionDep, SettingsDep
from api.handoff_refusals import reporting_refusals
from api.ids import Id, IdPath
from api.presenters import order_out
from api.schemas import (
    JwksOut,
    Latitude,
    Longitude,
    OrderOut,
    OrderStatusName,
    RotatedKeysOut,
    UtcDateTime,
    error_responses,
)
from api.settings import Settings
from api.track_lookup import PositionsTrackLookup
from custody.chain import ChainVerdict, CustodyEntry
from custody.errors import TOKEN_VERIFICATION_ERRORS
from custody.keys import HandoffKeyStore
from custody.service import (
    ISSUABLE_STATUSES,
    IssuedToken,
    ScanPolicy,
    ScanResult,
    issue_handoff_token,
    may_show_leg,
    scan_fallback_code,
    scan_handoff,
    token_courier,
)
from custody.state_store import RedisHandoffState
from custody.store import verify_order_chain
from custody.tokens import (
    KeyRing,
    Leg,
    fallback_code,
    public_jwks,
    verify_handoff_token,
)
from dispatch.lifecycle import OrderStatus
from dispatch.orders import get_visible_order, order_events

__all__ = ["router", "scan_policy", "QR_ERROR_LEVEL"]

router = APIRouter(tags=["handoffs"])

#: Error correction level of the rendered QR codes (M restores about 15 % damage).
QR_ERROR_LEVEL = "m"
#: A live token is shown again as a QR only while it has at least this long to live.
_REUSE_MIN_REMAINING_S = 60

LegName = Literal["pickup", "dropoff", "return"]


# --- bodies ------------------------------------------------------------------------------------

class HandoffTokenIn(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"leg": "pickup"},
                                                              {"leg": "dropoff"}]})

    leg: LegName


class HandoffTokenOut(BaseModel):
    token: str
    expires_at: UtcDateTime = Field(description="when the token stops scanning")
    expires_at_s: float = Field(description="the same moment in Unix seconds (the token's "
                                "`exp`, and the `X-Handoff-Expires-At` header of the QR)")
    order_id: int
    leg: LegName
    token_id: str
    #: The numeric code to read out when the courier's camera fails.
    fallback_code: str


class ScanIn(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"token": "eyJhbGciOiJFZERTQSIsImtpZCI6IjRmUTJ4WWJrIn0.eyJvIjo0MiwibCI6InAi...",
         "lat": 41.3111, "lon": 69.2797, "order_id": 42, "leg": "pickup"}]})

    token: str = Field(min_length=1, max_length=2048)
    lat: Latitude
    lon: Longitude
    #: When the courier scanned (ISO 8601 with zone, or Unix seconds); now if left out.
    scanned_at: AwareDatetime | None = None
    #: The order the courier app believes it is handling; a token of another order is refused.
    order_id: Id | None = Field(default=None)
    leg: LegName | None = None


class CodeIn(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"order_id": 42, "leg": "pickup", "code": "493027", "lat": 41.3111, "lon": 69.2797}]})

    order_id: Id
    leg: LegName
    code: str = Field(pattern=r"^\s*\d{4,10}\s*$")
    lat: Latitude
    lon: Longitude
    scanned_at: AwareDatetime | None = None


class CustodyEntryOut(BaseModel):
    seq: int
    kind: Literal["created", "picked_up", "delivered", "failed", "returned", "cancelled"]
    at: UtcDateTime
    recorded_at: UtcDateTime
    actor_id: int | None
    courier_id: int | None
    counterparty_id: int | None
    lat: float | None
    lon: float | None
    token_id: str | None
    method: str = Field(description="`qr`, `offline_qr`, `code`, or `system` for entries the "
                        "service writes itself")
    cod_amount: Decimal | None
    prev_hash: str
    hash: str


class ChainVerificationOut(BaseModel):
    valid: bool
    length: int
    head_hash: str
    first_bad_seq: int | None
    problem: str | None


class CustodyOut(BaseModel):
    order_id: int
    entries: list[CustodyEntryOut]
    verification: ChainVerificationOut


class ScanOut(BaseModel):
    order_id: int
    status: OrderStatusName
    leg: LegName
    offline: bool
    custody_entry: CustodyEntryOut
    order: OrderOut


# --- dependencies ------------------------------------------------------------------------------

def scan_policy(settings: Settings) -> ScanPolicy:
    return ScanPolicy(
        radius_m=settings.handoff_scan_radius_m,
        online_skew_s=settings.handoff_online_skew_s,
        offline_window_s=settings.handoff_offline_window_s,
        track_window_s=settings.handoff_track_window_s,
        fallback_max_attempts=settings.handoff_fallback_max_attempts,
        fallback_max_courier_failures=settings.handoff_fallback_max_courier_failures,
        fix_max_age_s=settings.handoff_fix_max_age_s,
        max_speed_mps=settings.handoff_max_speed_mps,
    )


async def get_key_ring(request: Request) -> KeyRing:
    store: HandoffKeyStore = request.app.state.handoff_keys
    return store.ring(now_s=int(time.time()))


KeyRingDep = Annotated[KeyRing, Depends(get_key_ring)]


async def get_handoff_state(redis: RedisDep, settings: SettingsDep) -> RedisHandoffState:
    return RedisHandoffState(redis, settings.redis_prefix)


HandoffStateDep = Annotated[RedisHandoffState, Depends(get_handoff_state)]


def _entry_out(entry: CustodyEntry) -> CustodyEntryOut:
    return CustodyEntryOut(
        seq=entry.seq, kind=entry.kind.value, at=entry.at, recorded_at=entry.recorded_at,
        actor_id=entry.actor_id, courier_id=entry.courier_id,
        counterparty_id=entry.counterparty_id, lat=entry.lat, lon=entry.lon,
        token_id=entry.token_id, method=entry.method, cod_amount=entry.cod_amount,
        prev_hash=entry.prev_hash, hash=entry.hash)


def _verdict_out(verdict: ChainVerdict) -> ChainVerificationOut:
    return ChainVerificationOut(valid=verdict.valid, length=verdict.length,
                                head_hash=verdict.head_hash,
                                first_bad_seq=verdict.first_bad_seq, problem=verdict.problem)


def _token_out(issued: IssuedToken) -> HandoffTokenOut:
    return HandoffTokenOut(token=issued.token, expires_at=issued.expires_at,
                           expires_at_s=float(issued.claims.expires_at_s),
                           order_id=issued.claims.order_id, leg=issued.claims.leg.value,
                           token_id=issued.claims.token_id, fallback_code=issued.fallback_code)


async def _scan_out(session, result: ScanResult) -> ScanOut:
    order = result.order
    return ScanOut(order_id=order.id, status=order.status,
                   leg=result.leg.value,
                   offline=result.offline, custody_entry=_entry_out(result.entry),
                   order=order_out(order, await order_events(session, order.id)))


# --- endpoints ---------------------------------------------------------------------------------

@router.post("/orders/{order_id}/handoff-tokens", status_code=201,
             response_model=HandoffTokenOut, responses=error_responses(403, 404, 409))
async def issue_token(order_id: IdPath, body: HandoffTokenIn, session: SessionDep,
                      user: CurrentUser, settings: SettingsDep, ring: KeyRingDep,
                      state: HandoffStateDep) -> HandoffTokenOut:
    """A new single-use token for a leg: the seller (or an admin) shows the pickup code, the
    buyer (or the seller, to pass it on) the dropoff code, and the seller the return code when
    a parcel that could not be delivered comes back.

    Pickup and drop-off codes can be minted from the moment the order exists (a seller labels
    the parcel while packing it): a token minted before a courier accepted the order names no
    courier and serves whoever is assigned when it is scanned; one minted later names the
    assigned courier and is refused after a reassignment. The scan still needs the assigned
    courier, the right leg and a status due for it (409 `handoff_leg_mismatch` with
    `details.due_statuses` otherwise)."""
    issued = await issue_handoff_token(session, order_id=order_id, leg=Leg(body.leg), user=user,
                                       ring=ring, now=datetime.now(UTC),
                                       ttl_s=settings.handoff_token_ttl_s, state=state)
    return _token_out(issued)


async def _live_or_new_token(order_id: int, leg: Leg, session, user, settings: Settings,
                             ring: KeyRing, state: RedisHandoffState) -> IssuedToken:
    """The leg's live token if it still has a while to live for the same courier, else a new one.

    Reloading the QR therefore shows the same code instead of invalidating the one on screen.
    """
    order = await get_visible_order(session, order_id, user)
    current = await state.current(order.id, leg.value)
    if current is not None:
        try:
            claims = verify_handoff_token(current, ring)
        except TOKEN_VERIFICATION_ERRORS:
            claims = None
        if (claims is not None and claims.courier_id in (None, token_courier(order))
                and claims.expires_at_s - time.time() >= _REUSE_MIN_REMAINING_S
                and OrderStatus(order.status) in ISSUABLE_STATUSES[leg]
                and may_show_leg(user, order, leg)):
            return IssuedToken(token=current, claims=claims, fallback_code=fallback_code(current))
    return await issue_handoff_token(session, order_id=order_id, leg=leg, user=user, ring=ring,
                                     now=datetime.now(UTC), ttl_s=settings.handoff_token_ttl_s,
                                     state=state)


def _qr_headers(issued: IssuedToken) -> dict[str, str]:
    return {"Cache-Control": "no-store",
            "X-Handoff-Expires-At": str(issued.claims.expires_at_s),
            "X-Handoff-Token-Id": issued.claims.token_id,
            "X-Handoff-Fallback-Code": issued.fallback_code}


def _qr_image(issued, *, kind: str, media_type: str, scale: int) -> Response:
    """The token as a QR image (segno), with its expiry, id and fallback code in headers."""
    buffer = io.BytesIO()
    segno.make(issued.token, error=QR_ERROR_LEVEL, micro=False).save(
        buffer, kind=kind, scale=scale, border=4)
    return Response(buffer.getvalue(), media_type=media_type, headers=_qr_headers(issued))


@router.get("/orders/{order_id}/handoff-tokens/{leg}.svg", response_class=Response,
            responses={200: {"content": {"image/svg+xml": {"schema": {"type": "string"}}},
                             "description": "the live token as a QR code"},
                       **error_responses(403, 404, 409)})
async def token_svg(order_id: IdPath, leg: LegName, session: SessionDep, user: CurrentUser,
                    settings: SettingsDep, ring: KeyRingDep, state: HandoffStateDep,
                    scale: Annotated[int, Query(ge=1, le=40)] = 6) -> Response:
    issued = await _live_or_new_token(order_id, Leg(leg), session, user, settings, ring, state)
    return _qr_image(issued, kind="svg", media_type="image/svg+xml", scale=scale)


@router.get("/orders/{order_id}/handoff-tokens/{leg}.png", response_class=Response,
            responses={200: {"content": {"image/png": {"schema": {"type": "string",
                                                                   "format": "binary"}}},
                             "description": "the live token as a QR code"},
                       **error_responses(403, 404, 409)})
async def token_png(order_id: IdPath, leg: LegName, session: SessionDep, user: CurrentUser,
                    settings: SettingsDep, ring: KeyRingDep, state: HandoffStateDep,
                    scale: Annotated[int, Query(ge=1, le=40)] = 6) -> Response:
    issued = await _live_or_new_token(order_id, Leg(leg), session, user, settings, ring, state)
    return _qr_image(issued, kind="png", media_type="image/png", scale=scale)


@router.post("/handoffs/scan", response_model=ScanOut,
             responses=error_responses(403, 404, 409, 410))
async def scan(body: ScanIn, request: Request, session: SessionDep, user: CurrentUser,
               settings: SettingsDep, ring: KeyRingDep, state: HandoffStateDep) -> ScanOut:
    """The courier's scan of a handoff QR (live, or uploaded later after an offline scan).
    A refusal is also told to the dispatchers' feed (`handoff_refused`)."""
    async with reporting_refusals(request, user, endpoint="scan", order_id=body.order_id,
                                  leg=body.leg, token=body.token):
        return await _scan(body, session, user, settings, ring, state)


async def _scan(body: ScanIn, session, user, settings: Settings, ring: KeyRing,
                state: RedisHandoffState) -> ScanOut:
    now = datetime.now(UTC)
    result = await scan_handoff(
        session, token=body.token, user=user, lat=body.lat, lon=body.lon,
        scanned_at=body.scanned_at or now, now=now, ring=ring, policy=scan_policy(settings),
        track=PositionsTrackLookup(session), state=state, expected_order_id=body.order_id,
        expected_leg=Leg(body.leg) if body.leg else None)
    return await _scan_out(session, result)


@router.post("/handoffs/code", response_model=ScanOut,
             responses=error_responses(403, 404, 409, 410, 429))
async def scan_code(body: CodeIn, request: Request, session: SessionDep, user: CurrentUser,
                    settings: SettingsDep, ring: KeyRingDep,
                    state: HandoffStateDep) -> ScanOut:
    """The numeric fallback code typed in by the courier (limited attempts per issued code).
    A refusal is also told to the dispatchers' feed (`handoff_refused`)."""
    async with reporting_refusals(request, user, endpoint="code", order_id=body.order_id,
                                  leg=body.leg):
        return await _scan_code(body, session, user, settings, ring, state)


async def _scan_code(body: CodeIn, session, user, settings: Settings, ring: KeyRing,
                     state: RedisHandoffState) -> ScanOut:
    now = datetime.now(UTC)
    result = await scan_fallback_code(
        session, order_id=body.order_id, leg=Leg(body.leg), code=body.code, user=user,
        lat=body.lat, lon=body.lon, scanned_at=body.scanned_at or now, now=now, ring=ring,
        policy=scan_policy(settings), track=PositionsTrackLookup(session), state=state)
    return await _scan_out(session, result)


@router.get("/orders/{order_id}/custody", response_model=CustodyOut,
            responses=error_responses(404))
async def custody(order_id: IdPath, session: SessionDep, user: CurrentUser) -> CustodyOut:
    """The order's custody ledger and whether its hash chain still holds."""
    await get_visible_order(session, order_id, user)
    entries, verdict = await verify_order_chain(session, order_id)
    return CustodyOut(order_id=order_id, entries=[_entry_out(e) for e in entries],
                      verification=_verdict_out(verdict))


@router.get("/handoffs/keys", response_model=JwksOut)
async def keys(ring: KeyRingDep) -> JSONResponse:
    """The public handoff verification keys as a JWKS (RFC 7517), for offline verification."""
    return JSONResponse(public_jwks(ring), headers={"Cache-Control": "public, max-age=300"})


@router.post("/handoffs/keys/rotate", response_model=RotatedKeysOut,
             responses=error_responses(403, 409))
async def rotate_keys(request: Request, user: AdminUser) -> JSONResponse:
    """Starts signing with a new key; older keys keep verifying until their tokens expire."""
    store: HandoffKeyStore = request.app.state.handoff_keys
    ring = store.rotate(now_s=int(time.time()))
    return JSONResponse({"signing_kid": ring.signing_key.kid, **public_jwks(ring)})

