"""Handoffs: issuing a leg's token and accepting the courier's scan of it.

A scan is checked in a fixed order, and the first check that fails decides the error code:

1. signature and algorithm (`verify_handoff_token`),
2. time: the scan time is not in the future, an offline scan (one uploaded later than
   `online_skew_s` after it happened) arrives within `offline_window_s`, and the token was
   valid at the scan time,
3. the order and leg: the token names the order the app says it is handling, and the order's
   status is due for this leg (a token already spent reports `handoff_token_used` here),
4. the scanning courier is the one assigned to the order and, when the token names a courier,
   the one it names (a token minted before anyone accepted the order names nobody and serves
   whoever is assigned at scan time; one naming a previous courier is refused after a
   reassignment),
5. the position is within `radius_m` of the leg's point (pickup, dropoff; a return goes back
   to the pickup point), and the app's word is checked against the courier's tracked GPS: an
   offline scan needs the stored track near that point around the scan time
   (`handoff_track_not_near`); an online scan is compared with the tracked fix nearest in time,
   when one lies within `fix_max_age_s` of the scan, and refused when that fix is farther from
   the point than the courier could have covered since (`handoff_track_far`),
6. the token was never used: claimed atomically in Redis (`SET NX`) and held durably by the
   unique `token_id` of the custody ledger.

Only when all pass does the order move (picked_up, delivered or returned, through the state
machine, with its event) and a custody entry get appended, in one transaction that this use
case commits. A failure before that changes nothing; a failure while writing releases the Redis
claim so an honest retry can succeed.
"""

from __future__ import annotations

import hmac
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from custody.chain import CustodyEntry, CustodyKind
from custody.errors import (
    ArrivalTrackFar,
    HandoffCodeInvalid,
    HandoffCodeLocked,
    HandoffCodeUnavailable,
    HandoffLegMismatch,
    HandoffNotAllowed,
    HandoffOfflineWindowExceeded,
    HandoffOrderMismatch,
    HandoffScanTimeInvalid,
    HandoffTokenUsed,
    HandoffTooFar,
    HandoffTrackFar,
    HandoffTrackNotNear,
    HandoffWrongCourier,
)
from custody.store import anchor_details, append_entry, token_spent
from custody.tokens import (
    HandoffClaims,
    KeyRing,
    Leg,
    check_token_time,
    fallback_code,
    new_token_id,
    sign_handoff_token,
    verify_handoff_token,
)
from dispatch.couriers import courier_of_user
from dispatch.exceptions import NotFound
from dispatch.lifecycle import Action, OrderStatus
from dispatch.locations import LatLon, to_lat_lon
from dispatch.orders import apply_action, get_visible_order, lock_order
from dispatch.tables import Order, User
from dispatch.times import rfc3339, rfc3339_from_s
from geodata.points import haversine_m

__all__ = [
    "ScanPolicy",
    "TrackLookup",
    "HandoffState",
    "IssuedToken",
    "ScanResult",
    "TrackedFix",
    "track_allowance_m",
    "check_tracked_fix",
    "check_arrival",
    "LEG_DUE_STATUSES",
    "ISSUABLE_STATUSES",
    "may_show_leg",
    "scan_is_offline",
    "check_scan_time",
    "check_leg_due",
    "token_courier",
    "UNASSIGNED_STATUSES",
    "issue_handoff_token",
    "scan_handoff",
    "scan_fallback_code",
]


#: Statuses in which the order is waiting for this leg's handoff.
LEG_DUE_STATUSES: dict[Leg, frozenset[OrderStatus]] = {
    Leg.PICKUP: frozenset({OrderStatus.ASSIGNED, OrderStatus.AT_PICKUP}),
    Leg.DROPOFF: frozenset({OrderStatus.PICKED_UP, OrderStatus.AT_DROPOFF}),
    Leg.RETURN: frozenset({OrderStatus.RETURNING}),
}
#: Statuses before any courier has taken the order.
UNASSIGNED_STATUSES = frozenset({OrderStatus.PENDING, OrderStatus.OFFERED})
#: Statuses in which a leg's token may be issued: from the moment the order exists, so a seller
#: can label a parcel while packing it and a buyer can hold the drop-off code early.
ISSUABLE_STATUSES: dict[Leg, frozenset[OrderStatus]] = {
    Leg.PICKUP: UNASSIGNED_STATUSES | LEG_DUE_STATUSES[Leg.PICKUP],
    Leg.DROPOFF: UNASSIGNED_STATUSES | LEG_DUE_STATUSES[Leg.PICKUP]
    | LEG_DUE_STATUSES[Leg.DROPOFF],
    Leg.RETURN: frozenset({OrderStatus.FAILED, OrderStatus.RETURNING}),
}
_TOKEN_UNIQUE_CONSTRAINT = "custody_entries_token_id_key"
_ACTION = {Leg.PICKUP: Action.PICK_UP, Leg.DROPOFF: Action.DELIVER,
           Leg.RETURN: Action.COMPLETE_RETURN}
_CUSTODY_KIND = {Leg.PICKUP: CustodyKind.PICKED_UP, Leg.DROPOFF: CustodyKind.DELIVERED,
                 Leg.RETURN: CustodyKind.RETURNED}


@dataclass(frozen=True, slots=True)
class ScanPolicy:
    """How strict a scan is; filled from `Settings` by the API."""

    radius_m: float = 150.0
    #: A scan uploaded more than this after it happened counts as offline; also the clock skew
    #: tolerated for scan times slightly in the future.
    online_skew_s: float = 120.0
    #: How long after an offline scan its upload is still accepted.
    offline_window_s: float = 6 * 3600.0
    #: The stored track must pass within `radius_m` of the point within this of the scan time.
    track_window_s: float = 300.0
    fallback_max_attempts: int = 5
    #: Wrong codes one courier may type over all its orders within `fallback_courier_window_s`
    #: (the per-code limit alone would let a courier guess across many orders).
    fallback_max_courier_failures: int = 20
    fallback_courier_window_s: float = 3600.0
    #: An online scan or an arrival is compared with the courier's tracked fix nearest in time
    #: when one lies within this of it; without such a fix there is nothing to compare.
    fix_max_age_s: float = 120.0
    #: How fast a courier may have moved between that fix and the scan (72 km/h: a car in town).
    max_speed_mps: float = 20.0
    #: A fix's reported accuracy widens the allowance by at most this much (a fix claiming 5 km
    #: accuracy must not excuse any distance).
    max_fix_accuracy_m: float = 100.0


@dataclass(frozen=True, slots=True)
class TrackedFix:
    """One stored GPS fix of a courier (from the tracking pipeline, already filtered)."""

    lat: float
    lon: float
    at_s: float
    accuracy_m: float | None = None


class TrackLookup(Protocol):
    """Answers from the stored courier track (implemented at the edge, over `positions`)."""

    async def was_near(self, *, courier_id: int, lat: float, lon: float, radius_m: float,
                       around: datetime, window_s: float) -> bool: ...

    async def nearest_fix(self, *, courier_id: int, around: datetime,
                          window_s: float) -> TrackedFix | None:
        """The stored fix closest in time to `around`, within `window_s` either side."""
        ...


class HandoffState(Protocol):
    """Short-lived shared state (Redis in production: `custody.state_store`)."""

    async def claim_token(self, token_id: str, *, ttl_s: int) -> bool: ...

    async def release_token(self, token_id: str) -> None: ...

    async def token_claimed(self, token_id: str) -> bool: ...

    async def remember_current(self, order_id: int, leg: str, token: str, *,
                               ttl_s: int) -> None: ...

    async def current(self, order_id: int, leg: str) -> str | None: ...

    async def count_code_attempt(self, order_id: int, leg: str, *, ttl_s: int) -> int: ...

    async def courier_code_failures(self, user_id: int) -> int: ...

    async def count_courier_code_failure(self, user_id: int, *, window_s: int) -> int: ...


@dataclass(frozen=True, slots=True)
class IssuedToken:
    token: str
    claims: HandoffClaims
    fallback_code: str

    @property
    def expires_at(self) -> datetime:
        return datetime.fromtimestamp(self.claims.expires_at_s, UTC)


@dataclass(frozen=True, slots=True)
class ScanResult:
    order: Order
    leg: Leg
    entry: CustodyEntry
    offline: bool


# --- pure checks -------------------------------------------------------------------------------

def scan_is_offline(*, scanned_at_s: float, now_s: float, policy: ScanPolicy) -> bool:
    return now_s - scanned_at_s > policy.online_skew_s


def check_scan_time(claims: HandoffClaims, *, scanned_at_s: float, now_s: float,
                    policy: ScanPolicy) -> bool:
    """Step 2. Returns whether the scan is offline; raises when the timing is unacceptable."""
    if scanned_at_s > now_s + policy.online_skew_s:
        raise HandoffScanTimeInvalid("the scan time lies in the future",
                                     details={"scanned_at": scanned_at_s, "now": now_s})
    offline = scan_is_offline(scanned_at_s=scanned_at_s, now_s=now_s, policy=policy)
    if offline and now_s - scanned_at_s > policy.offline_window_s:
        raise HandoffOfflineWindowExceeded(
            "the offline scan was uploaded too late",
            details={"scanned_at": scanned_at_s, "offline_window_s": policy.offline_window_s})
    check_token_time(claims, at_s=scanned_at_s, leeway_s=policy.online_skew_s)
    return offline


def track_allowance_m(fix: TrackedFix, *, at_s: float, policy: ScanPolicy) -> float:
    """How far from the leg's point the tracked fix may lie and still agree with a claim made
    at `at_s`: the scan radius, the fix's own accuracy (capped) and the distance a courier
    could cover at `max_speed_mps` between the fix and the claim."""
    accuracy_m = min(max(fix.accuracy_m or 0.0, 0.0), policy.max_fix_accuracy_m)
    return policy.radius_m + accuracy_m + policy.max_speed_mps * abs(at_s - fix.at_s)


def check_tracked_fix(fix: TrackedFix | None, point: LatLon, *, at_s: float, policy: ScanPolicy,
                      what: str, error: type[HandoffTrackFar] | type[ArrivalTrackFar]
                      = HandoffTrackFar) -> None:
    """Step 5 for online claims: the courier's tracked GPS must not contradict being at `point`
    at `at_s`. No recent fix (`fix` None) is no evidence either way and passes."""
    if fix is None:
        return
    away_m = haversine_m(LatLon(fix.lat, fix.lon), point)
    allowed_m = track_allowance_m(fix, at_s=at_s, policy=policy)
    if away_m > allowed_m:
        raise error(
            f"the courier's tracked position {abs(at_s - fix.at_s):.0f} s from the {what} was "
            f"{away_m:.0f} m from the point",
            details={"distance_m": round(away_m, 1), "allowed_m": round(allowed_m, 1),
                     "fix_age_s": round(at_s - fix.at_s, 1),
                     "fix_at": rfc3339_from_s(fix.at_s),
                     "max_speed_mps": policy.max_speed_mps})


def _status_order(statuses: frozenset[OrderStatus]) -> list[str]:
    """Statuses in lifecycle order (as `OrderStatus` lists them)."""
    return [s.value for s in OrderStatus if s in statuses]


def check_leg_due(status: str, leg: Leg) -> None:
    """Step 3: the order's status must be waiting for this leg; the refusal names the statuses
    it waits for (`details.due_statuses`)."""
    if OrderStatus(status) not in LEG_DUE_STATUSES[leg]:
        due = _status_order(LEG_DUE_STATUSES[leg])
        raise HandoffLegMismatch(
            f"the order is {status}; its {leg.value} handoff waits for status "
            f"{' or '.join(due)}",
            details={"status": status, "leg": leg.value, "due_statuses": due})


def _leg_point(order: Order, leg: Leg) -> LatLon:
    # A returned parcel goes back to where it was picked up.
    point = to_lat_lon(order.dropoff_location if leg is Leg.DROPOFF else order.pickup_location)
    assert point is not None  # both columns are NOT NULL
    return point


def token_courier(order: Order) -> int | None:
    """The courier a new token names: the assigned one, or None before anyone has accepted
    the order (such a token lets whoever is assigned at scan time take the parcel)."""
    if OrderStatus(order.status) in UNASSIGNED_STATUSES:
        return None
    return order.courier_id


def may_show_leg(user: User, order: Order, leg: Leg) -> bool:
    """Who shows a leg's code: pickup and return the seller (or an admin), dropoff the buyer or
    the seller."""
    if leg is not Leg.DROPOFF:
        return user.role == "admin" or (user.role == "seller" and order.seller_id == user.id)
    return ((user.role == "buyer" and order.buyer_id == user.id)
            or (user.role == "seller" and order.seller_id == user.id))


def _replay_ttl_s(claims: HandoffClaims, *, now_s: float, policy: ScanPolicy) -> int:
    """The single-use marker must outlive every moment at which the token could be accepted."""
    return max(1, math.ceil(claims.expires_at_s + policy.offline_window_s - now_s) + 60)


# --- use cases ---------------------------------------------------------------------------------

async def issue_handoff_token(session: AsyncSession, *, order_id: int, leg: Leg, user: User,
                              ring: KeyRing, now: datetime, ttl_s: int,
                              state: HandoffState) -> IssuedToken:
    """A fresh signed token for `leg` of the order, for the party who shows it to the courier."""
    order = await get_visible_order(session, order_id, user)
    if not may_show_leg(user, order, leg):
        raise HandoffNotAllowed(
            f"you may not show the {leg.value} code of this order",
            details={"leg": leg.value, "allowed": "buyer or seller" if leg is Leg.DROPOFF
                     else "seller or admin"})
    if OrderStatus(order.status) not in ISSUABLE_STATUSES[leg]:
        issuable = _status_order(ISSUABLE_STATUSES[leg])
        raise HandoffLegMismatch(
            f"the order is {order.status}; a {leg.value} code can be issued while it is "
            f"{' or '.join(issuable)}",
            details={"status": order.status, "leg": leg.value, "issuable_statuses": issuable})
    issued_at_s = int(now.timestamp())
    claims = HandoffClaims(order_id=order.id, leg=leg, courier_id=token_courier(order),
                           token_id=new_token_id(), issued_at_s=issued_at_s,
                           expires_at_s=issued_at_s + ttl_s)
    token = sign_handoff_token(claims, ring)
    await state.remember_current(order.id, leg.value, token, ttl_s=ttl_s)
    return IssuedToken(token=token, claims=claims, fallback_code=fallback_code(token))


async def scan_handoff(
    session: AsyncSession, *, token: str, user: User, lat: float, lon: float,
    scanned_at: datetime, now: datetime, ring: KeyRing, policy: ScanPolicy,
    track: TrackLookup, state: HandoffState, expected_order_id: int | None = None,
    expected_leg: Leg | None = None, method: str = "qr",
) -> ScanResult:
    """Verifies a courier's scan in the documented order, then records the handoff and commits."""
    claims = verify_handoff_token(token, ring)                                    # 1
    now_s, scanned_at_s = now.timestamp(), scanned_at.timestamp()
    offline = check_scan_time(claims, scanned_at_s=scanned_at_s, now_s=now_s,     # 2
                              policy=policy)
    if expected_order_id is not None and expected_order_id != claims.order_id:    # 3
        raise HandoffOrderMismatch("this code belongs to another order",
                                   details={"order_id": expected_order_id})
    if expected_leg is not None and expected_leg is not claims.leg:
        raise HandoffLegMismatch(f"this is the {claims.leg.value} code, not the "
                                 f"{expected_leg.value} code",
                                 details={"leg": claims.leg.value})
    order = await lock_order(session, claims.order_id)
    if order is None:
        raise NotFound(f"order {claims.order_id} not found",
                       details={"order_id": claims.order_id})
    try:
        check_leg_due(order.status, claims.leg)
    except HandoffLegMismatch:
        if await token_spent(session, claims.token_id):
            raise HandoffTokenUsed("this handoff code was already used") from None
        raise
    courier = await courier_of_user(session, user.id) if user.role == "courier" else None  # 4
    if (courier is None or courier.id != order.courier_id
            or claims.courier_id not in (None, courier.id)):
        raise HandoffWrongCourier("only the courier assigned to this order may scan its code",
                                  details={"named_courier_id": claims.courier_id})
    point = _leg_point(order, claims.leg)                                          # 5
    away_m = haversine_m(LatLon(lat, lon), point)
    if away_m > policy.radius_m:
        raise HandoffTooFar(f"the scan is {away_m:.0f} m from the {claims.leg.value} point",
                            details={"distance_m": round(away_m, 1),
                                     "radius_m": policy.radius_m})
    if offline and not await track.was_near(
            courier_id=courier.id, lat=point.lat, lon=point.lon, radius_m=policy.radius_m,
            around=scanned_at, window_s=policy.track_window_s):
        raise HandoffTrackNotNear("the courier's stored track was not near the point then",
                                  details={"radius_m": policy.radius_m,
                                           "window_s": policy.track_window_s})
    if not offline:
        fix = await track.nearest_fix(courier_id=courier.id, around=scanned_at,
                                      window_s=policy.fix_max_age_s)
        check_tracked_fix(fix, point, at_s=scanned_at_s, policy=policy,
                          what=f"{claims.leg.value} scan")
    if not await state.claim_token(claims.token_id,                                # 6
                                   ttl_s=_replay_ttl_s(claims, now_s=now_s, policy=policy)):
        raise HandoffTokenUsed("this handoff code was already used")
    try:
        entry = await _record(session, order=order, claims=claims, user=user,
                              courier_id=courier.id, lat=lat, lon=lon, scanned_at=scanned_at,
                              now=now, method="offline_qr" if offline else method,
                              offline=offline)
        await session.commit()
    except IntegrityError as exc:
        await session.rollback()
        if _TOKEN_UNIQUE_CONSTRAINT in str(exc.orig):
            raise HandoffTokenUsed("this handoff code was already used") from None
        await state.release_token(claims.token_id)
        raise
    except BaseException:
        await session.rollback()
        await state.release_token(claims.token_id)
        raise
    return ScanResult(order=order, leg=claims.leg, entry=entry, offline=offline)


async def _record(session: AsyncSession, *, order: Order, claims: HandoffClaims, user: User,
                  courier_id: int, lat: float, lon: float, scanned_at: datetime, now: datetime,
                  method: str, offline: bool) -> CustodyEntry:
    """Appends the custody entry, then moves the order with an event that anchors its hash."""
    leg = claims.leg
    entry = await append_entry(session, CustodyEntry(
        order_id=order.id, seq=0, kind=_CUSTODY_KIND[leg], at=scanned_at, recorded_at=now,
        actor_id=user.id, courier_id=courier_id,
        counterparty_id=order.buyer_id if leg is Leg.DROPOFF else order.seller_id,
        lat=lat, lon=lon, token_id=claims.token_id, method=method,
        cod_amount=order.cod_amount if leg is Leg.DROPOFF else None,
    ))
    await apply_action(session, order, _ACTION[leg], actor=user, now=now, lat=lat, lon=lon,
                       courier_id=courier_id, event_type=f"handoff_{leg.value}",
                       details={"token_id": claims.token_id, "method": method,
                                "scanned_at": rfc3339(scanned_at), "offline": offline,
                                **anchor_details(entry)})
    return entry


#: Arrival actions and the point the courier says it reached.
_ARRIVAL_LEG = {Action.ARRIVE_PICKUP: Leg.PICKUP, Action.ARRIVE_DROPOFF: Leg.DROPOFF}


async def check_arrival(*, order: Order, action: Action, courier_id: int, now: datetime,
                        policy: ScanPolicy, track: TrackLookup) -> None:
    """A courier's arrival report is checked like an online scan: when a recent tracked fix
    exists, it must not put the courier farther from the point than it could have come."""
    leg = _ARRIVAL_LEG.get(action)
    if leg is None:
        return
    fix = await track.nearest_fix(courier_id=courier_id, around=now,
                                  window_s=policy.fix_max_age_s)
    check_tracked_fix(fix, _leg_point(order, leg), at_s=now.timestamp(), policy=policy,
                      what=f"{action.value} report", error=ArrivalTrackFar)


async def scan_fallback_code(
    session: AsyncSession, *, order_id: int, leg: Leg, code: str, user: User, lat: float,
    lon: float, scanned_at: datetime, now: datetime, ring: KeyRing, policy: ScanPolicy,
    track: TrackLookup, state: HandoffState,
) -> ScanResult:
    """The numeric code typed in when the camera fails; then the same checks as a scan.

    Only the order's assigned courier can try (others do not see the order), and only
    `fallback_max_attempts` times per issued code: the holder must issue a new code after that.
    Wrong codes also count against the courier, over all its orders: past
    `fallback_max_courier_failures` within the window, its codes are refused for a while.
    """
    order = await get_visible_order(session, order_id, user)
    if user.role != "courier":
        raise HandoffWrongCourier("only the courier assigned to this order may enter its code")
    token = await state.current(order.id, leg.value)
    if token is None:
        raise HandoffCodeUnavailable(f"no live {leg.value} code for this order; ask for one",
                                     details={"order_id": order_id, "leg": leg.value})
    if await state.courier_code_failures(user.id) >= policy.fallback_max_courier_failures:
        raise HandoffCodeLocked(
            "too many wrong codes from this courier; scan the QR code or wait",
            details={"scope": "courier", "max_failures": policy.fallback_max_courier_failures,
                     "window_s": policy.fallback_courier_window_s})
    attempts = await state.count_code_attempt(order.id, leg.value,
                                              ttl_s=max(60, int(policy.offline_window_s)))
    if attempts > policy.fallback_max_attempts:
        raise HandoffCodeLocked("too many wrong codes; ask for a new code",
                                details={"max_attempts": policy.fallback_max_attempts})
    if not hmac.compare_digest(fallback_code(token).encode(), code.strip().encode()):
        await state.count_courier_code_failure(user.id,
                                                window_s=int(policy.fallback_courier_window_s))
        raise HandoffCodeInvalid(
            "the code is wrong",
            details={"attempts_left": policy.fallback_max_attempts - attempts})
    return await scan_handoff(session, token=token, user=user, lat=lat, lon=lon,
                              scanned_at=scanned_at, now=now, ring=ring, policy=policy,
                              track=track, state=state, expected_order_id=order_id,
                              expected_leg=leg, method="code")
