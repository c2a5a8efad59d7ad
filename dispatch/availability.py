"""Whether a courier on shift can be offered new work now (pure).

A courier is **online** while it has a live connection (the courier WebSocket) or sent a
position within `online_window_s` (a GPS fix over any channel, or the position given when its
shift started). A courier merely on shift is not enough: an offer to a courier whose app is
not running can only expire, and plans made from a position nobody has confirmed for minutes
are fiction. So the planner offers new work to online couriers only — never, not even as a
last resort, to one on shift but offline: the order waits for the next cycle instead (the
offer timeout it would have wasted is longer than the cadence), and a dispatcher can still
assign it by hand. An offline courier keeps the work it has accepted or carries, and its route
is still planned.

    state          offered new work   why
    available      yes                on shift, online, located
    offline        no                 on shift, no connection, no position for the window
    on_break       no                 on a break (keeps its work)
    no_position    no                 on shift but never located
    off_shift      no
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["Availability", "AvailabilityState", "courier_availability"]

AvailabilityState = Literal["available", "offline", "on_break", "no_position", "off_shift"]


@dataclass(frozen=True, slots=True)
class Availability:
    state: AvailabilityState
    online: bool
    connected: bool
    #: The newest position's time (Unix seconds), None if never located.
    last_seen_s: float | None
    age_s: float | None

    @property
    def takes_new_work(self) -> bool:
        return self.state == "available"


def courier_availability(*, shift_state: str, located: bool, last_seen_s: float | None,
                         connected: bool, now_s: float,
                         online_window_s: float | None) -> Availability:
    """`online_window_s` None: presence is not judged (every located courier counts online)."""
    age_s = None if last_seen_s is None else max(0.0, now_s - last_seen_s)
    online = connected or online_window_s is None or (
        age_s is not None and age_s <= online_window_s)
    if shift_state == "off":
        state: AvailabilityState = "off_shift"
    elif shift_state == "break":
        state = "on_break"
    elif not located:
        state = "no_position"
    elif not online:
        state = "offline"
    else:
        state = "available"
    return Availability(state, online, connected, last_seen_s,
                        None if age_s is None else round(age_s, 3))
