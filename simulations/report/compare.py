"""`compare.md` and `compare.png`: policies side by side, one row per policy.

Rows average each policy's runs over every instance simulated (and, for the Grubhub instances,
per instance family as the paper groups them); the chart shows mean click-to-door and orders not
delivered per policy.
"""

from __future__ import annotations

import base64
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from simulations.report.html import plt, png

__all__ = ["COMPARE_COLUMNS", "compare_rows", "write_comparison"]

#: (kpi, column header) of the comparison table.
COMPARE_COLUMNS = (
    ("orders_undelivered_pct", "not delivered %"),
    ("click_to_door_mean_min", "click-to-door mean"),
    ("click_to_door_p90_min", "p90"),
    ("click_to_door_overage_mean_min", "overage"),
    ("ready_to_pickup_mean_min", "ready-to-pickup"),
    ("courier_utilization_mean", "utilisation"),
    ("orders_per_bundle_mean", "orders/bundle"),
    ("cost_per_order", "cost/order"),
    ("wall_s", "wall s"),
)


def _mean(values: list[Any]) -> float | None:
    numbers = [v for v in values if isinstance(v, (int, float))]
    return float(np.mean(numbers)) if numbers else None


def compare_rows(results: Sequence[dict[str, Any]], *, group: str | None = None
                 ) -> list[dict[str, Any]]:
    """Mean of every compared KPI per policy (and per `group` value when given)."""
    buckets: dict[tuple, list[dict[str, Any]]] = defaultdict(list)
    for r in results:
        buckets[(r.get(group) if group else None, r["policy"])].append(r)
    rows = []
    for (g, policy), runs in sorted(buckets.items(), key=lambda kv: (str(kv[0][0]), kv[0][1])):
        row = {"policy": policy, "runs": len(runs)}
        if group:
            row[group] = g
        for key, _ in COMPARE_COLUMNS:
            row[key] = _mean([r.get(key) for r in runs])
        row["orders"] = sum(r.get("orders", 0) for r in runs)
        row["orders_undelivered"] = sum(r.get("orders_undelivered", 0) for r in runs)
        # Undelivered over all orders (not the mean of per-instance shares).
        if row["orders"]:
            row["orders_undelivered_pct"] = 100.0 * row["orders_undelivered"] / row["orders"]
        rows.append(row)
    return rows


def _fmt(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


def _table(rows: list[dict[str, Any]], first: list[tuple[str, str]]) -> str:
    headers = [h for _, h in first] + ["runs"] + [h for _, h in COMPARE_COLUMNS]
    lines = ["| " + " | ".join(headers) + " |", "|" + " --- |" * len(headers)]
    for row in rows:
        cells = [_fmt(row.get(k)) for k, _ in first] + [str(row["runs"])]
        cells += [_fmt(row.get(k)) for k, _ in COMPARE_COLUMNS]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def write_comparison(results: Sequence[dict[str, Any]], out: Path, *, title: str,
                     families: bool = False, notes: Sequence[str] = ()) -> list[Path]:
    """Writes `compare.md` and `compare.png` into `out`."""
    out.mkdir(parents=True, exist_ok=True)
    overall = compare_rows(results)
    parts = [f"# {title}", "", "Means over the runs of each policy (not delivered: over all "
             "orders). Times in minutes.", "", _table(overall, [("policy", "policy")])]
    if families:
        by_family = compare_rows(results, group="family")
        parts += ["", "## By instance family", "",
                  _table(by_family, [("family", "family"), ("policy", "policy")])]
    parts += ["", "## Every run", "",
              _table([{**r, "runs": 1} for r in sorted(results, key=lambda r: (
                  r.get("instance", ""), r["policy"]))],
                     [("instance", "instance"), ("policy", "policy")])]
    if notes:
        parts += ["", *notes]
    md = out / "compare.md"
    md.write_text("\n".join(parts) + "\n")

    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.2))
    names = [r["policy"] for r in overall]
    left.bar(names, [r["click_to_door_mean_min"] or 0 for r in overall], color="#3b7dd8")
    left.set_title("click-to-door mean (min)")
    right.bar(names, [r["orders_undelivered_pct"] or 0 for r in overall], color="#c0392b")
    right.set_title("orders not delivered (%)")
    for axes in (left, right):  # bars start at zero; an all-zero chart still reads 0..1
        axes.set_ylim(bottom=0, top=max(1.0, axes.get_ylim()[1]))
    chart = out / "compare.png"
    chart.write_bytes(base64.b64decode(png(fig)))
    return [md, chart]
