"""Reading the timestamps GPS apps send: Unix seconds, Unix milliseconds, or ISO 8601.

OsmAnd/Traccar Client sends seconds or milliseconds as text (older versions seconds, newer
milliseconds) and the JSON variant ISO strings; OwnTracks sends integer seconds.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

__all__ = ["parse_timestamp_s", "MS_THRESHOLD"]

#: Numbers above this are milliseconds: 1e11 s is the year 5138, 1e11 ms is 1973.
MS_THRESHOLD = 1e11


def parse_timestamp_s(value: object) -> float:
    """Unix seconds (float) from seconds, milliseconds or ISO 8601; `ValueError` otherwise."""
    if isinstance(value, bool):
        raise ValueError("a boolean is not a timestamp")
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        text = value.strip()
        try:
            number = float(text)
        except ValueError:
            return _parse_iso(text)
    else:
        raise ValueError(f"not a timestamp: {value!r}")
    if not math.isfinite(number):
        raise ValueError("timestamp is not finite")
    return number / 1000.0 if abs(number) >= MS_THRESHOLD else number


def _parse_iso(text: str) -> float:
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    moment = datetime.fromisoformat(text.replace(" ", "T", 1))
    if moment.tzinfo is None:  # apps that omit the zone mean UTC
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()
