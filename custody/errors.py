"""Why a handoff token, scan or fallback code was refused: one class, one stable code each.

Every refusal leaves the order, its event log and its custody ledger untouched. The classes
extend the dispatch hierarchy, so the API maps most of them by their base class; the two
statuses that base classes do not carry (410, 429) are registered by the composition root.

    HandoffError (mixin; every class below also extends a dispatch error)
    ├── HandoffTokenMalformed        422 handoff_token_malformed         not a JWS we issue
    ├── HandoffAlgorithmRefused      422 handoff_token_algorithm_refused alg none, HS256, ...
    ├── HandoffUnknownKey            422 handoff_token_unknown_key       kid not in the key ring
    ├── HandoffBadSignature          422 handoff_token_bad_signature     tampered or swapped
    ├── HandoffTokenExpired          410 handoff_token_expired           past `exp` at scan time
    ├── HandoffTokenNotYetValid      422 handoff_token_not_yet_valid     scanned before `iat`
    ├── HandoffScanTimeInvalid       422 handoff_scan_time_in_future     clock far ahead
    ├── HandoffOfflineWindowExceeded 422 handoff_offline_window_exceeded uploaded too late
    ├── HandoffOrderMismatch         409 handoff_order_mismatch          token names another order
    ├── HandoffLegMismatch           409 handoff_leg_mismatch            order is not due this leg
    ├── HandoffWrongCourier          403 handoff_wrong_courier           not the assigned courier
    ├── HandoffTooFar                422 handoff_too_far                 scan far from the point
    ├── HandoffTrackNotNear          422 handoff_track_not_near          offline: stored track away
    ├── HandoffTrackFar              422 handoff_track_far               online: tracked fix away
    ├── ArrivalTrackFar              422 arrival_track_far               arrival: tracked fix away
    ├── HandoffTokenUsed             409 handoff_token_used              single use already spent
    ├── HandoffNotAllowed            403 handoff_not_allowed             may not issue this leg
    ├── HandoffCodeUnavailable       404 handoff_code_unavailable        no live code for the leg
    ├── HandoffCodeInvalid           422 handoff_code_invalid            wrong numeric code
    ├── HandoffCodeLocked            429 handoff_code_locked             too many wrong codes
    └── HandoffKeysManaged           409 handoff_keys_managed_by_configuration
"""

from __future__ import annotations

from typing import Any

from dispatch.exceptions import Conflict, InvalidInput, NotFound, PermissionDenied

__all__ = [
    "HandoffError",
    "HandoffTokenMalformed",
    "HandoffAlgorithmRefused",
    "HandoffUnknownKey",
    "HandoffBadSignature",
    "HandoffTokenExpired",
    "HandoffTokenNotYetValid",
    "HandoffScanTimeInvalid",
    "HandoffOfflineWindowExceeded",
    "HandoffOrderMismatch",
    "HandoffLegMismatch",
    "HandoffWrongCourier",
    "HandoffTooFar",
    "HandoffTrackNotNear",
    "HandoffTrackFar",
    "ArrivalTrackFar",
    "HandoffTokenUsed",
    "HandoffNotAllowed",
    "HandoffCodeUnavailable",
    "HandoffCodeInvalid",
    "HandoffCodeLocked",
    "HandoffKeysManaged",
    "TOKEN_VERIFICATION_ERRORS",
]


class HandoffError(Exception):
    """Marker for every handoff refusal (catch this to handle them all)."""

    code = "handoff_error"

    def __init__(self, message: str, *, details: Any = None) -> None:
        # The dispatch base classes take `code` too; ours are fixed per class.
        super().__init__(message, details=details)  # type: ignore[call-arg]


class HandoffTokenMalformed(HandoffError, InvalidInput):
    code = "handoff_token_malformed"


class HandoffAlgorithmRefused(HandoffError, InvalidInput):
    code = "handoff_token_algorithm_refused"


class HandoffUnknownKey(HandoffError, InvalidInput):
    code = "handoff_token_unknown_key"


class HandoffBadSignature(HandoffError, InvalidInput):
    code = "handoff_token_bad_signature"


class HandoffTokenExpired(HandoffError, InvalidInput):
    code = "handoff_token_expired"


class HandoffTokenNotYetValid(HandoffError, InvalidInput):
    code = "handoff_token_not_yet_valid"


class HandoffScanTimeInvalid(HandoffError, InvalidInput):
    code = "handoff_scan_time_in_future"


class HandoffOfflineWindowExceeded(HandoffError, InvalidInput):
    code = "handoff_offline_window_exceeded"


class HandoffOrderMismatch(HandoffError, Conflict):
    code = "handoff_order_mismatch"


class HandoffLegMismatch(HandoffError, Conflict):
    code = "handoff_leg_mismatch"


class HandoffWrongCourier(HandoffError, PermissionDenied):
    code = "handoff_wrong_courier"


class HandoffTooFar(HandoffError, InvalidInput):
    code = "handoff_too_far"


class HandoffTrackNotNear(HandoffError, InvalidInput):
    code = "handoff_track_not_near"


class HandoffTrackFar(HandoffError, InvalidInput):
    """An online scan whose claimed place the courier's own tracked GPS contradicts."""

    code = "handoff_track_far"


class ArrivalTrackFar(HandoffError, InvalidInput):
    """An arrival report that the courier's own tracked GPS contradicts."""

    code = "arrival_track_far"


class HandoffTokenUsed(HandoffError, Conflict):
    code = "handoff_token_used"


class HandoffNotAllowed(HandoffError, PermissionDenied):
    code = "handoff_not_allowed"


class HandoffCodeUnavailable(HandoffError, NotFound):
    code = "handoff_code_unavailable"


class HandoffCodeInvalid(HandoffError, InvalidInput):
    code = "handoff_code_invalid"


class HandoffCodeLocked(HandoffError, Conflict):
    code = "handoff_code_locked"


class HandoffKeysManaged(HandoffError, Conflict):
    code = "handoff_keys_managed_by_configuration"


#: What `verify_handoff_token` may raise (signature and algorithm step).
TOKEN_VERIFICATION_ERRORS = (HandoffTokenMalformed, HandoffAlgorithmRefused, HandoffUnknownKey,
                             HandoffBadSignature)
