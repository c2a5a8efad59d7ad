"""The OsmAnd protocol as Traccar Client speaks it (https://www.traccar.org/osmand/).

Two shapes reach the same endpoint:

* query string or form fields: `id` (or `deviceid`), `lat`, `lon` (or `location=lat,lon`),
  `timestamp` (Unix seconds, milliseconds or ISO), `speed` in **knots** by default,
  `bearing` or `heading`, `altitude`, `accuracy`, `hdop`, `batt`, `valid`;
* JSON (Traccar Client 9+): `{"device_id", "location": {"timestamp": ISO, "coords":
  {"latitude", "longitude", "accuracy", "speed" (m/s), "heading", "altitude"},
  "battery": {"level": 0..1}, "is_moving", ...}}`.

Each request carries one fix. The device id is our device key; the caller resolves it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tracking.exceptions import MalformedMessage
from tracking.fixes import KMH_TO_MPS, KNOTS_TO_MPS, Fix
from tracking.timestamps import parse_timestamp_s

__all__ = ["DeviceFix", "parse_osmand_fields", "parse_osmand_json", "SPEED_UNITS"]

#: Factors from the speed unit a deployment configures to metres per second.
SPEED_UNITS = {"kn": KNOTS_TO_MPS, "mps": 1.0, "kmh": KMH_TO_MPS}


@dataclass(frozen=True, slots=True)
class DeviceFix:
    """A fix and the device key it came with (not yet tied to a courier)."""

    device_key: str
    fix: Fix | None
    invalid: bool = False


def _float(value: Any) -> float | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise MalformedMessage("a boolean is not a number")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise MalformedMessage(f"not a number: {value!r}") from None
    if not math.isfinite(number):
        raise MalformedMessage("a number is not finite")
    return number


def _timestamp(value: Any, now_s: float) -> float:
    if value is None or value == "":
        return now_s  # OsmAnd treats a missing time as "now"
    try:
        return parse_timestamp_s(value)
    except ValueError:
        raise MalformedMessage(f"unreadable timestamp {value!r}",
                               code="invalid_timestamp") from None


def parse_osmand_fields(fields: Mapping[str, str], *, now_s: float,
                        speed_unit: str = "kn") -> DeviceFix:
    """A query-string or form request. `now_s` stands in for a missing timestamp."""
    device_key = (fields.get("id") or fields.get("deviceid") or "").strip()
    if not device_key:
        raise MalformedMessage("the device id (`id` or `deviceid`) is missing",
                               code="device_id_missing")
    lat, lon = _float(fields.get("lat")), _float(fields.get("lon"))
    if (lat is None or lon is None) and fields.get("location"):
        parts = fields["location"].split(",")
        if len(parts) != 2:
            raise MalformedMessage("`location` must be `lat,lon`")
        lat, lon = _float(parts[0]), _float(parts[1])
    if lat is None or lon is None:
        # Traccar accepts location-less reports (battery only); there is nothing to store.
        return DeviceFix(device_key, None)
    speed = _float(fields.get("speed"))
    heading = _float(fields.get("bearing"))
    if heading is None:
        heading = _float(fields.get("heading"))
    accuracy = _float(fields.get("accuracy"))
    if accuracy is None and fields.get("hdop"):
        accuracy = _float(fields.get("hdop"))
    battery = _float(fields.get("batt"))
    valid = (fields.get("valid") or "true").strip().lower() not in ("false", "0")
    fix = Fix(
        lat=lat, lon=lon, ts_s=_timestamp(fields.get("timestamp"), now_s),
        speed_mps=None if speed is None else speed * SPEED_UNITS[speed_unit],
        heading_deg=heading, accuracy_m=accuracy, battery_pct=battery,
    )
    return DeviceFix(device_key, fix, invalid=not valid)


def parse_osmand_json(body: Any, *, now_s: float) -> DeviceFix:
    """The JSON variant; its speed is already in metres per second."""
    if not isinstance(body, dict):
        raise MalformedMessage("the OsmAnd JSON body must be an object")
    device_key = str(body.get("device_id") or body.get("id") or "").strip()
    if not device_key:
        raise MalformedMessage("`device_id` is missing", code="device_id_missing")
    location = body.get("location")
    if isinstance(location, list):  # batched uploads send the newest last
        location = location[-1] if location else None
    if not isinstance(location, dict):
        return DeviceFix(device_key, None)
    coords = location.get("coords")
    if not isinstance(coords, dict):
        raise MalformedMessage("`location.coords` is missing")
    lat, lon = _float(coords.get("latitude")), _float(coords.get("longitude"))
    if lat is None or lon is None:
        raise MalformedMessage("`coords.latitude` and `coords.longitude` are required")
    battery = location.get("battery")
    level = _float(battery.get("level")) if isinstance(battery, dict) else None
    speed = _float(coords.get("speed"))
    heading = _float(coords.get("heading"))
    fix = Fix(
        lat=lat, lon=lon, ts_s=_timestamp(location.get("timestamp"), now_s),
        # The SDK reports -1 for "unknown" speed and heading.
        speed_mps=None if speed is None or speed < 0 else speed,
        heading_deg=None if heading is None or heading < 0 else heading,
        accuracy_m=_float(coords.get("accuracy")),
        battery_pct=None if level is None or level < 0 else level * 100.0,
    )
    return DeviceFix(device_key, fix)
