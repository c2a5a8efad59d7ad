"""Our own point batches: `{"type": "positions", "points": [{"seq", "lat", "lon", "ts", ...}]}`.

The same shape arrives over `/ws/courier` and `POST /tracking/positions`. A body that is not a
batch at all raises `MalformedMessage`; a single unreadable point becomes a `Rejection` with
reason `malformed_point`, so it never costs the good points beside it. Range checks
(coordinates, times) are the filters' job, not the parser's.
"""

from __future__ import annotations

import math
from typing import Any

from tracking.exceptions import MalformedMessage
from tracking.fixes import Fix, Reason, Rejection
from tracking.timestamps import parse_timestamp_s

__all__ = ["parse_batch", "MAX_POINTS_PER_BATCH"]

MAX_POINTS_PER_BATCH = 1000


def _number(value: Any, *, required: bool) -> float | None:
    if value is None:
        if required:
            raise ValueError("missing")
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("not a number")
    number = float(value)
    if not math.isfinite(number):
        raise ValueError("not finite")
    return number


def _seq(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return None
    return value


_NUMBER_TYPES = (float, int)
_OPTIONAL_TYPES = (float, int, type(None))


def parse_point(raw: Any) -> Fix | Rejection:
    """One point of a batch, or the rejection that names why it cannot be read."""
    # Fast path for the well-formed points that make up nearly all traffic (JSON numbers
    # are finite by construction, and `bool` is not exactly `int`).
    if type(raw) is dict:
        seq, lat, lon, ts = raw.get("seq"), raw.get("lat"), raw.get("lon"), raw.get("ts")
        acc, speed, heading = raw.get("acc"), raw.get("speed"), raw.get("heading")
        if (type(seq) is int and seq >= 0 and type(lat) in _NUMBER_TYPES
                and type(lon) in _NUMBER_TYPES and type(ts) in _NUMBER_TYPES
                and type(acc) in _OPTIONAL_TYPES and type(speed) in _OPTIONAL_TYPES
                and type(heading) in _OPTIONAL_TYPES and "batt" not in raw
                and abs(ts) < 1e11 and math.isfinite(lat + lon + ts)):
            return Fix(lat=float(lat), lon=float(lon), ts_s=float(ts), seq=seq,
                       accuracy_m=None if acc is None else float(acc),
                       speed_mps=None if speed is None else float(speed),
                       heading_deg=None if heading is None else float(heading))
    if not isinstance(raw, dict):
        return Rejection(None, Reason.MALFORMED,
                         {"field": None, "value": _shown(raw), "problem": "not an object"})
    seq = _seq(raw.get("seq"))
    if seq is None:
        return Rejection(raw.get("seq") if isinstance(raw.get("seq"), int) else None,
                         Reason.MALFORMED, {"field": "seq", "value": _shown(raw.get("seq")),
                                            "problem": "missing" if "seq" not in raw
                                            else "not a non-negative integer"})
    field = "lat"
    try:
        lat = _number(raw.get("lat"), required=True)
        field = "lon"
        lon = _number(raw.get("lon"), required=True)
        field = "ts"
        ts_s = parse_timestamp_s(raw["ts"]) if "ts" in raw else None
        if ts_s is None:
            raise ValueError("missing")
        values = {}
        for key in ("acc", "speed", "heading", "batt"):
            field = key  # named in the rejection if this one cannot be read
            values[key] = _number(raw.get(key), required=False)
        return Fix(lat=lat, lon=lon, ts_s=ts_s, seq=seq,  # type: ignore[arg-type]
                   accuracy_m=values["acc"], speed_mps=values["speed"],
                   heading_deg=values["heading"], battery_pct=values["batt"])
    except (ValueError, TypeError, OverflowError) as exc:
        problem = str(exc) if str(exc) in ("missing", "not a number", "not finite") \
            else "unreadable"
        return Rejection(seq, Reason.MALFORMED, {"field": field, "value": _shown(raw.get(field)),
                                                 "problem": problem})


def _shown(value: Any) -> Any:
    """A refused value as it may be echoed back: JSON scalars as they are, others abridged."""
    if value is None or isinstance(value, bool | int | float):
        return value if not isinstance(value, float) or math.isfinite(value) else str(value)
    text = str(value)
    return text if len(text) <= 40 else text[:40] + "..."


def parse_batch(message: Any, *, max_points: int = MAX_POINTS_PER_BATCH,
                ) -> tuple[list[Fix], list[Rejection]]:
    """The fixes and the unreadable points of one `positions` message."""
    if not isinstance(message, dict):
        raise MalformedMessage("a positions message must be a JSON object")
    kind = message.get("type", "positions")
    if kind != "positions":
        raise MalformedMessage(f"unknown message type {kind!r}", code="unknown_message_type",
                               details={"type": kind})
    points = message.get("points")
    if not isinstance(points, list):
        raise MalformedMessage("`points` must be a list")
    if len(points) > max_points:
        raise MalformedMessage("too many points in one message", code="batch_too_large",
                               details={"max_points": max_points})
    fixes: list[Fix] = []
    rejections: list[Rejection] = []
    for raw in points:
        parsed = parse_point(raw)
        if isinstance(parsed, Fix):
            fixes.append(parsed)
        else:
            rejections.append(parsed)
    return fixes, rejections
