"""A deterministic event queue on virtual time (seconds since the start of the day).

Events at the same instant run in the order they were scheduled, so a run depends only on its
inputs and seed, never on dictionary order or the machine's speed.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable
from typing import Any

__all__ = ["EventQueue"]


class EventQueue:
    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Callable[..., Any], tuple[Any, ...]]] = []
        self._counter = itertools.count()

    def __len__(self) -> int:
        return len(self._heap)

    def at(self, t_s: float, action: Callable[..., Any], *args: Any) -> None:
        """Runs `action(*args)` at `t_s`."""
        heapq.heappush(self._heap, (t_s, next(self._counter), action, args))

    def next_time(self) -> float | None:
        return self._heap[0][0] if self._heap else None

    def pop(self) -> tuple[float, Callable[..., Any], tuple[Any, ...]]:
        t_s, _, action, args = heapq.heappop(self._heap)
        return t_s, action, args
