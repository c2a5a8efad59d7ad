"""OwnTracks HTTP mode (https://owntracks.org/booklet/tech/json/).

The app POSTs one JSON object per request. Only `_type: "location"` carries a fix: `lat`,
`lon`, `tst` (Unix seconds), `acc` (m), `vel` (**km/h**), `cog` (degrees), `batt` (%).
Other types (`lwt`, `transition`, `status`, ...) and zero-length bodies are acknowledged and
ignored. The app expects a JSON array back (commands for it; we send `[]`).

The device is named by HTTP Basic auth, the `X-Limit-D` header, `?d=` or `?id=`, or the last
part of `topic`; the API layer picks whichever carries a registered key.
"""

from __future__ import annotations

import math
from typing import Any

from tracking.exceptions import MalformedMessage
from tracking.fixes import KMH_TO_MPS, Fix
from tracking.timestamps import parse_timestamp_s

__all__ = ["parse_owntracks", "owntracks_device_hints"]


def _float(body: dict, key: str) -> float | None:
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise MalformedMessage(f"`{key}` is not a number")
    try:
        number = float(value)
    except ValueError:
        raise MalformedMessage(f"`{key}` is not a number") from None
    if not math.isfinite(number):
        raise MalformedMessage(f"`{key}` is not finite")
    return number


def parse_owntracks(body: Any) -> Fix | None:
    """The fix in an OwnTracks message, or None for message types without one."""
    if body is None or body == b"" or body == {}:
        return None
    if not isinstance(body, dict):
        raise MalformedMessage("an OwnTracks message must be a JSON object")
    if body.get("_type") != "location":
        return None
    lat, lon = _float(body, "lat"), _float(body, "lon")
    if lat is None or lon is None:
        raise MalformedMessage("`lat` and `lon` are required")
    if body.get("tst") is None:
        raise MalformedMessage("`tst` is required", code="invalid_timestamp")
    try:
        ts_s = parse_timestamp_s(body["tst"])
    except ValueError:
        raise MalformedMessage("`tst` is not a timestamp", code="invalid_timestamp") from None
    velocity_kmh = _float(body, "vel")
    return Fix(lat=lat, lon=lon, ts_s=ts_s, accuracy_m=_float(body, "acc"),
               speed_mps=None if velocity_kmh is None else velocity_kmh * KMH_TO_MPS,
               heading_deg=_float(body, "cog"), battery_pct=_float(body, "batt"))


def owntracks_device_hints(body: Any) -> list[str]:
    """Device names found inside the message itself (`topic`'s last part, then `tid`)."""
    hints: list[str] = []
    if isinstance(body, dict):
        topic = body.get("topic")
        if isinstance(topic, str) and topic.strip("/"):
            hints.append(topic.strip("/").rsplit("/", 1)[-1])
    return hints
