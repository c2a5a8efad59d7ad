"""GPS filters, modelled on Traccar's `filter.*` set, as pure functions of plain values.

Each filter looks at a new fix, the last *accepted* fix of the same courier and the server's
clock, and either passes it or names a `Reason`. Order matters and follows Traccar: cheap
sanity checks first (invalid, zero), then time (future, past), quality (accuracy), then the
checks against the previous fix (duplicate, out of order, impossible speed).

The speed check compares with the last accepted fix only while that fix is recent
(`speed_window_s`): after a long gap a courier may really be far away, and a single bad
accepted fix must not lock the courier out for ever.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from tracking.fixes import Fix, Reason
from tracking.geo import distance_m

__all__ = ["FilterConfig", "check_fix"]

#: 0.0003 degrees is at most ~33 m of latitude or of longitude; both under it stay < 50 m.
_SMALL_DEG = 0.0003


@dataclass(frozen=True, slots=True)
class FilterConfig:
    """Thresholds; a `None` threshold or a False flag switches that filter off."""

    reject_invalid: bool = True
    reject_zero: bool = True
    max_future_s: float | None = 300.0
    max_past_s: float | None = 7 * 86_400.0
    max_accuracy_m: float | None = 200.0
    reject_duplicate: bool = True
    reject_out_of_order: bool = True
    max_speed_mps: float | None = 70.0
    speed_window_s: float = 600.0
    #: Jumps shorter than this are never "impossible" (GPS jitter at walking pace).
    speed_min_distance_m: float = 50.0


def check_fix(fix: Fix, last: Fix | None, config: FilterConfig, now_s: float) -> Reason | None:
    """The reason to refuse `fix`, or None to accept it."""
    if config.reject_invalid and not (
        math.isfinite(fix.lat) and math.isfinite(fix.lon)
        and -90.0 <= fix.lat <= 90.0 and -180.0 <= fix.lon <= 180.0
    ):
        return Reason.INVALID_COORDINATES
    if config.reject_zero and fix.lat == 0.0 and fix.lon == 0.0:
        return Reason.ZERO_COORDINATES
    if config.max_future_s is not None and fix.ts_s > now_s + config.max_future_s:
        return Reason.FUTURE_TIMESTAMP
    if config.max_past_s is not None and fix.ts_s < now_s - config.max_past_s:
        return Reason.PAST_TIMESTAMP
    if (config.max_accuracy_m is not None and fix.accuracy_m is not None
            and fix.accuracy_m > config.max_accuracy_m):
        return Reason.POOR_ACCURACY
    if last is None:
        return None
    if config.reject_duplicate and fix.ts_s == last.ts_s:
        return Reason.DUPLICATE
    if config.reject_out_of_order and fix.ts_s < last.ts_s:
        return Reason.OUT_OF_ORDER
    if config.max_speed_mps is not None:
        dt_s = fix.ts_s - last.ts_s
        # Under ~35 m along each axis the jump is below any sensible minimum: skip the trig.
        small = (abs(fix.lat - last.lat) < _SMALL_DEG and abs(fix.lon - last.lon) < _SMALL_DEG
                 and config.speed_min_distance_m >= 50.0)
        if 0 < dt_s <= config.speed_window_s and not small:
            jump_m = distance_m(last.lat, last.lon, fix.lat, fix.lon)
            if jump_m > config.speed_min_distance_m and jump_m / dt_s > config.max_speed_mps:
                return Reason.IMPOSSIBLE_SPEED
    return None
