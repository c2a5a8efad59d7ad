"""The values that flow through tracking: a GPS fix, a refused fix and its reason code.

A `Fix` is what any protocol (our WebSocket/HTTP batches, OsmAnd, OwnTracks) turns into, in SI
units with the unit in each name, so filters and storage never care where a point came from.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

__all__ = ["Fix", "Rejection", "Reason", "KNOTS_TO_MPS", "KMH_TO_MPS"]

KNOTS_TO_MPS = 1852.0 / 3600.0
KMH_TO_MPS = 1000.0 / 3600.0


class Reason(StrEnum):
    """Why a point was refused; sent to the client as `rejected[].reason`."""

    MALFORMED = "malformed_point"
    INVALID_COORDINATES = "invalid_coordinates"
    ZERO_COORDINATES = "zero_coordinates"
    FUTURE_TIMESTAMP = "future_timestamp"
    PAST_TIMESTAMP = "past_timestamp"
    POOR_ACCURACY = "poor_accuracy"
    DUPLICATE = "duplicate"
    OUT_OF_ORDER = "out_of_order"
    IMPOSSIBLE_SPEED = "impossible_speed"
    FAR_OUTSIDE_SERVICE_AREA = "far_outside_service_area"


@dataclass(slots=True)
class Fix:
    """One GPS fix. `seq` is the courier's own sequence number (None for protocols without one).

    Not frozen: a frozen dataclass pays for `object.__setattr__` per field, and ingest builds
    one of these per point. Treat it as immutable all the same.
    """

    lat: float
    lon: float
    ts_s: float
    seq: int | None = None
    accuracy_m: float | None = None
    speed_mps: float | None = None
    heading_deg: float | None = None
    battery_pct: float | None = None


@dataclass(frozen=True, slots=True)
class Rejection:
    """A refused point: its `seq`, the reason and what the reason is about — `details` names the
    `field`, the `value` found and the `limit` it broke (plus what else explains it)."""

    seq: int | None
    reason: Reason
    details: dict | None = None

    def as_wire(self) -> dict:
        return {"seq": self.seq, "reason": self.reason.value, "details": self.details}
