"""Per-consumer outboxes for the dispatcher feed that never grow without bound.

A dispatcher that reads slowly must not slow the ingest or hoard memory. Its outbox keeps the
*latest* position per courier (a newer one replaces the older unsent one) and the latest state
per order; geofence events go to a short ring buffer. Memory is bounded by the number of
couriers and orders, whatever the consumer's speed. Pure apart from an `asyncio.Event` that
wakes the sender.
"""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass
from typing import Any

__all__ = ["BBox", "CoalescingOutbox", "parse_bbox"]


@dataclass(frozen=True, slots=True)
class BBox:
    """A lon/lat box (GeoJSON order: west, south, east, north); no antimeridian wrap."""

    min_lon: float
    min_lat: float
    max_lon: float
    max_lat: float

    def contains(self, lat: float, lon: float) -> bool:
        return self.min_lat <= lat <= self.max_lat and self.min_lon <= lon <= self.max_lon


def parse_bbox(value: Any) -> BBox | None:
    """`"w,s,e,n"` or `[w, s, e, n]` → `BBox`; None for no filter; `ValueError` if wrong."""
    if value is None or value == "":
        return None
    parts = value.split(",") if isinstance(value, str) else list(value)
    if len(parts) != 4:
        raise ValueError("bbox needs four numbers: west,south,east,north")
    west, south, east, north = (float(p) for p in parts)
    if not (-180 <= west <= east <= 180 and -90 <= south <= north <= 90):
        raise ValueError("bbox must be west,south,east,north within WGS84 ranges")
    return BBox(west, south, east, north)


class CoalescingOutbox:
    """What one dispatcher has yet to receive."""

    def __init__(self, bbox: BBox | None = None, *, max_events: int = 256) -> None:
        self.bbox = bbox
        self._positions: dict[int, dict] = {}
        self._orders: dict[int, dict] = {}
        self._events: deque[dict] = deque(maxlen=max_events)
        self.ready = asyncio.Event()
        self.replaced = 0  # positions overwritten before being sent (a slow consumer)

    def offer_positions(self, couriers: list[dict]) -> None:
        box = self.bbox
        added = False
        for courier in couriers:
            if box is not None and not courier.get("stale") and not box.contains(
                    courier["lat"], courier["lon"]):
                continue
            if courier["id"] in self._positions:
                self.replaced += 1
            self._positions[courier["id"]] = courier
            added = True
        if added:
            self.ready.set()

    def offer_order(self, order: dict) -> None:
        self._orders[order["id"]] = order
        self.ready.set()

    def offer_event(self, event: dict) -> None:
        self._events.append(event)
        self.ready.set()

    def pending(self) -> int:
        return len(self._positions) + len(self._orders) + len(self._events)

    def take(self) -> list[dict]:
        """Everything pending as wire messages (positions first), and empties the outbox."""
        messages: list[dict] = []
        if self._positions:
            messages.append({"type": "positions", "couriers": list(self._positions.values())})
            self._positions = {}
        for order in self._orders.values():
            messages.append({"type": "order", "order": order})
        self._orders = {}
        messages.extend(self._events)
        self._events.clear()
        self.ready.clear()
        return messages
