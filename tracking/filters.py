"""GPS filters, modelled on Traccar's `filter.*` set, as pure functions of plain values.

Each filter looks at a new fix, the last *accepted* fix of the same courier and the server's
clock, and either passes it or names a `Reason`. Order matters and follows Traccar: cheap
sanity checks first (invalid, zero), then time (future, past), quality (accuracy), then the
checks against the previous fix (duplicate, out of order, impossible speed).

The speed check compares with the last accepted fix only while that fix is recent
(`speed_window_s`): after a long gap a courier may really be far away, and a single bad
accepted fix must not lock the courier out for ever.

A fix with no recent accepted fix before it (the first of a courier, or the first after such a
gap) has nothing to be compared with, so it is held against the service area instead: lying
farther than `first_fix_max_distance_m` from every active zone, it is refused
(`far_outside_service_area`) rather than taken as the courier's position.

`explain_fix` says why a fix is refused with `details` naming the `field`, its `value` and the
`limit` it broke; `check_fix` gives only the reason.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from tracking.fixes import Fix, Reason
from tracking.geo import distance_m

__all__ = ["FilterConfig", "ServiceBounds", "check_fix", "explain_fix"]

#: 0.0003 degrees is at most ~33 m of latitude or of longitude; both under it stay < 50 m.
_SMALL_DEG = 0.0003


@dataclass(frozen=True, slots=True)
class ServiceBounds:
    """The active service zones as bounding boxes `(min_lat, min_lon, max_lat, max_lon)`."""

    boxes: tuple[tuple[float, float, float, float], ...]

    def distance_m(self, lat: float, lon: float) -> float:
        """Metres from the point to the nearest box (0 inside one)."""
        best = math.inf
        for min_lat, min_lon, max_lat, max_lon in self.boxes:
            near_lat = min(max(lat, min_lat), max_lat)
            near_lon = min(max(lon, min_lon), max_lon)
            best = min(best, 0.0 if (near_lat, near_lon) == (lat, lon)
                       else distance_m(lat, lon, near_lat, near_lon))
        return best


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
    #: Where couriers work; None (or no boxes): anywhere.
    service_area: ServiceBounds | None = None
    #: A fix without a recent predecessor may lie at most this far from the service area.
    first_fix_max_distance_m: float | None = 50_000.0


def check_fix(fix: Fix, last: Fix | None, config: FilterConfig, now_s: float) -> Reason | None:
    """The reason to refuse `fix`, or None to accept it."""
    refused = explain_fix(fix, last, config, now_s)
    return None if refused is None else refused[0]


def explain_fix(fix: Fix, last: Fix | None, config: FilterConfig, now_s: float
                ) -> tuple[Reason, dict] | None:
    """Why `fix` is refused — the reason and `{"field", "value", "limit", ...}` — or None."""
    if config.reject_invalid and not (
        math.isfinite(fix.lat) and math.isfinite(fix.lon)
        and -90.0 <= fix.lat <= 90.0 and -180.0 <= fix.lon <= 180.0
    ):
        bad_lat = not (math.isfinite(fix.lat) and -90.0 <= fix.lat <= 90.0)
        return Reason.INVALID_COORDINATES, {
            "field": "lat" if bad_lat else "lon", "value": fix.lat if bad_lat else fix.lon,
            "limit": 90.0 if bad_lat else 180.0}
    if config.reject_zero and fix.lat == 0.0 and fix.lon == 0.0:
        return Reason.ZERO_COORDINATES, {"field": "lat,lon", "value": [0.0, 0.0], "limit": None}
    if config.max_future_s is not None and fix.ts_s > now_s + config.max_future_s:
        return Reason.FUTURE_TIMESTAMP, {"field": "ts", "value": fix.ts_s,
                                         "limit": now_s + config.max_future_s,
                                         "max_future_s": config.max_future_s}
    if config.max_past_s is not None and fix.ts_s < now_s - config.max_past_s:
        return Reason.PAST_TIMESTAMP, {"field": "ts", "value": fix.ts_s,
                                       "limit": now_s - config.max_past_s,
                                       "max_past_s": config.max_past_s}
    if (config.max_accuracy_m is not None and fix.accuracy_m is not None
            and fix.accuracy_m > config.max_accuracy_m):
        return Reason.POOR_ACCURACY, {"field": "acc", "value": fix.accuracy_m,
                                      "limit": config.max_accuracy_m}
    recent = last is not None and 0 <= fix.ts_s - last.ts_s <= config.speed_window_s
    if not recent and config.service_area is not None and config.service_area.boxes \
            and config.first_fix_max_distance_m is not None:
        away_m = config.service_area.distance_m(fix.lat, fix.lon)
        if away_m > config.first_fix_max_distance_m:
            return Reason.FAR_OUTSIDE_SERVICE_AREA, {
                "field": "lat,lon", "value": [fix.lat, fix.lon],
                "limit": config.first_fix_max_distance_m, "distance_m": round(away_m, 1)}
    if last is None:
        return None
    if config.reject_duplicate and fix.ts_s == last.ts_s:
        return Reason.DUPLICATE, {"field": "ts", "value": fix.ts_s, "limit": last.ts_s}
    if config.reject_out_of_order and fix.ts_s < last.ts_s:
        return Reason.OUT_OF_ORDER, {"field": "ts", "value": fix.ts_s, "limit": last.ts_s}
    if config.max_speed_mps is not None:
        dt_s = fix.ts_s - last.ts_s
        # Under ~35 m along each axis the jump is below any sensible minimum: skip the trig.
        small = (abs(fix.lat - last.lat) < _SMALL_DEG and abs(fix.lon - last.lon) < _SMALL_DEG
                 and config.speed_min_distance_m >= 50.0)
        if 0 < dt_s <= config.speed_window_s and not small:
            jump_m = distance_m(last.lat, last.lon, fix.lat, fix.lon)
            if jump_m > config.speed_min_distance_m and jump_m / dt_s > config.max_speed_mps:
                return Reason.IMPOSSIBLE_SPEED, {
                    "field": "speed", "value": round(jump_m / dt_s, 2),
                    "limit": config.max_speed_mps, "distance_m": round(jump_m, 1),
                    "dt_s": round(dt_s, 3)}
    return None
