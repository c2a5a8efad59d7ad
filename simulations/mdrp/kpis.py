"""The figures of MDRPInstances.pdf, section 1.1, computed from the solution files.

Like the checker, this reads the instance and the files only, so the figures describe what the
files say happened. Percentiles interpolate linearly (numpy's default). Time figures are in
minutes, money in the instance's currency.

* click-to-door: drop-off − placement; its overage: max(0, click-to-door − target), averaged
  over delivered orders;
* ready-to-door: drop-off − ready; ready-to-pickup: pickup − ready;
* courier utilisation: time spent driving, picking up (the whole pickup service per visit) and
  dropping off, over the courier's duty time (off − on), averaged over couriers;
* courier pay: max(pay per order × orders delivered, guaranteed pay per hour × duty hours);
  cost per order: total pay / orders delivered; the share of couriers paid the guarantee
  (guarantee above their delivery earnings).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

import numpy as np

from simulations.mdrp.instance import Instance
from simulations.mdrp.solution import Solution
from simulations.mdrp.travel import minutes

__all__ = ["mdrp_kpis", "summary_stats", "courier_utilisation"]


def summary_stats(values: list[float], prefix: str) -> dict[str, float | None]:
    """mean, std, min, p10, p50, p90, max of `values` (None when there are none)."""
    keys = ("mean", "std", "min", "p10", "p50", "p90", "max")
    if not values:
        return {f"{prefix}_{k}_min": None for k in keys}
    a = np.asarray(values, dtype=float)
    stats = (a.mean(), a.std(), a.min(), *np.percentile(a, [10, 50, 90]), a.max())
    return {f"{prefix}_{k}_min": round(float(v), 4) for k, v in zip(keys, stats, strict=True)}


def mdrp_kpis(instance: Instance, solution: Solution) -> dict[str, Any]:
    p = instance.parameters
    orders = {o.id: o for o in instance.orders}
    delivered = [line for line in solution.orders if line.order in orders]
    c2d = [line.dropoff_min - orders[line.order].placement_min for line in delivered]
    r2d = [line.dropoff_min - orders[line.order].ready_min for line in delivered]
    r2p = [line.pickup_min - orders[line.order].ready_min for line in delivered]
    overage = [max(0.0, v - p.target_click_to_door_min) for v in c2d]

    per_courier = Counter(line.courier for line in delivered)
    utilisation = courier_utilisation(instance, solution)
    pay, guaranteed = [], 0
    for c in instance.couriers:
        earned = p.pay_per_order * per_courier.get(c.id, 0)
        floor = p.guaranteed_pay_per_hour * (c.off_min - c.on_min) / 60.0
        pay.append(max(earned, floor))
        guaranteed += floor > earned
    total = len(instance.orders)
    n = len(delivered)
    kpis: dict[str, Any] = {
        "instance": instance.name,
        "family": instance.family,
        "orders": total,
        "orders_delivered": n,
        "orders_undelivered": total - n,
        "orders_undelivered_pct": round(100.0 * (total - n) / total, 4),
        **summary_stats(c2d, "click_to_door"),
        "click_to_door_overage_mean_min": round(float(np.mean(overage)), 4) if overage else None,
        "orders_late_share": round(sum(v > p.target_click_to_door_min for v in c2d) / n, 4)
        if n else None,
        "orders_over_max_share": round(sum(v > p.max_click_to_door_min for v in c2d) / n, 4)
        if n else None,
        **summary_stats(r2d, "ready_to_door"),
        **summary_stats(r2p, "ready_to_pickup"),
        "courier_utilization_mean": round(float(np.mean(utilisation)), 4),
        "orders_per_bundle_mean": round(n / len(solution.assignments), 4)
        if solution.assignments else None,
        "bundles": len(solution.assignments),
        "courier_pay_total": round(float(sum(pay)), 2),
        "cost_per_order": round(float(sum(pay)) / n, 4) if n else None,
        "couriers_on_guaranteed_pay_share": round(guaranteed / len(instance.couriers), 4),
        "couriers": len(instance.couriers),
    }
    return kpis


def courier_utilisation(instance: Instance, solution: Solution) -> list[float]:
    """Per courier (instance order): minutes driving, picking up (one whole service per
    bundle) and dropping off, over its duty minutes."""
    p = instance.parameters
    orders = {o.id: o for o in instance.orders}
    couriers = {c.id: c for c in instance.couriers}

    def place(courier: str, label: str) -> tuple[float, float]:
        if label == "0":
            return couriers[courier].x, couriers[courier].y
        if label in instance.restaurants:
            r = instance.restaurants[label]
            return r.x, r.y
        o = orders[label]
        return o.x, o.y

    busy: dict[str, float] = defaultdict(float)
    for m in solution.moves:
        if m.courier not in couriers:
            continue
        (x1, y1), (x2, y2) = place(m.courier, m.origin), place(m.courier, m.destination)
        busy[m.courier] += minutes(x1, y1, x2, y2, p.meters_per_minute)
    for a in solution.assignments:
        busy[a.courier] += p.pickup_service_min
    for line in solution.orders:
        if line.order in orders:
            busy[line.courier] += p.dropoff_service_min
    return [busy.get(c.id, 0.0) / (c.off_min - c.on_min) for c in instance.couriers]
