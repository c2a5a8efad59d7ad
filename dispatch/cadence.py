"""When the planner runs: triggers, debounce, the interval timer, offer expiries, re-plans.

Pure: times are seconds on whatever clock the caller keeps (the wall clock in the service, the
virtual clock of a simulation), so both run cycles at the same moments for the same events.

* Something changed (a new order, a decline, a pickup, a shift starting): a cycle runs
  `debounce_s` later, so a burst of changes is planned once.
* Nothing changed: a cycle runs `interval_s` after the previous one ended (ETAs move on,
  pending orders age and gain priority).
* An offer runs out: a cycle runs at its expiry, to offer the order to someone else.
* Moving accepted work to other couriers is considered at most every `reassign_every_s`: it
  costs a second solve, and couriers should not see their work shuffled often.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["Cadence", "CycleScheduler"]


@dataclass(frozen=True)
class Cadence:
    interval_s: float = 10.0
    debounce_s: float = 0.5
    reassign_every_s: float = 60.0


class CycleScheduler:
    """Keeps the last cycle's end and the pending trigger; says when the next cycle is due."""

    def __init__(self, cadence: Cadence, *, now_s: float) -> None:
        self.cadence = cadence
        self._last_end_s = now_s
        self._triggered_at_s: float | None = None
        self._last_reassign_s = -math.inf

    @property
    def triggered(self) -> bool:
        return self._triggered_at_s is not None

    def trigger(self, now_s: float) -> None:
        """Something changed at `now_s` (the first trigger of a burst counts)."""
        if self._triggered_at_s is None:
            self._triggered_at_s = now_s

    def due_at(self, *, next_expiry_s: float | None = None) -> float:
        """The time at which the next cycle should start."""
        due = self._last_end_s + self.cadence.interval_s
        if self._triggered_at_s is not None:
            # A trigger that arrived during a cycle waits for it to end, then the debounce.
            settle_from = max(self._triggered_at_s, self._last_end_s)
            due = min(due, settle_from + self.cadence.debounce_s)
        if next_expiry_s is not None:
            due = min(due, next_expiry_s)
        return due

    def start_cycle(self, now_s: float) -> bool:
        """A cycle starts now; returns whether it may move accepted work (`allow_reassign`).
        Triggers from before this instant are consumed: the cycle reads the state they made."""
        self._triggered_at_s = None
        allow = now_s - self._last_reassign_s >= self.cadence.reassign_every_s
        if allow:
            self._last_reassign_s = now_s
        return allow

    def reassign_next(self) -> None:
        """The next cycle may move accepted work whenever the last one did (a full re-plan)."""
        self._last_reassign_s = -math.inf

    def end_cycle(self, now_s: float) -> None:
        self._last_end_s = now_s
