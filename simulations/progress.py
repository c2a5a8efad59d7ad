"""A progress bar for long simulations: the simulated clock and orders done, on a terminal only.

Off when standard error is not a terminal (CI logs, pipes), so files and logs stay clean.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from tqdm import tqdm

__all__ = ["day_progress"]


def day_progress(label: str, *, end_s: float, orders: int,
                 enabled: bool | None = None) -> tuple[Callable[[float, int, int], None],
                                                       Callable[[], None]]:
    """`(update, close)`: `update(now_s, delivered, total)` moves the bar to the simulated time."""
    if enabled is None:
        enabled = sys.stderr.isatty()
    if not enabled:
        return (lambda now_s, delivered, total: None), (lambda: None)
    bar = tqdm(total=round(end_s / 60), desc=label, unit="sim-min", leave=False,
               dynamic_ncols=True, file=sys.stderr)
    state = {"at": 0, "delivered": -1}

    def update(now_s: float, delivered: int, total: int) -> None:
        minute = min(bar.total, int(now_s // 60))
        if minute > state["at"] or delivered != state["delivered"]:
            bar.update(minute - state["at"])
            state["at"], state["delivered"] = minute, delivered
            bar.set_postfix_str(f"{delivered}/{orders} delivered", refresh=False)

    return update, bar.close
