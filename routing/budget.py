"""The wall-clock budget that the solver's phases share."""

from __future__ import annotations

import time

__all__ = ["Budget"]


class Budget:
    def __init__(self, time_limit_s: float) -> None:
        self.time_limit_s = time_limit_s
        self.deadline = time.monotonic() + time_limit_s

    def keep_back(self, seconds: float) -> None:
        """End the phases ``seconds`` early (at most a fifth of the budget), for what comes
        after the last one: reading the plan back and freeing the model."""
        self.deadline -= min(seconds, 0.2 * self.time_limit_s)

    def left_s(self) -> float:
        return max(0.0, self.deadline - time.monotonic())
