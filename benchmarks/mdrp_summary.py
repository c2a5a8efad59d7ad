"""Summarise `courier simulate mdrp` runs against the published Grubhub figures.

    .venv/bin/python benchmarks/mdrp_summary.py OUT [--json SUMMARY.json]

Reads every `OUT/<instance>/<policy>/kpis.json` (runs may come from several processes) and
prints, and writes as `OUT/summary.md`:

* per policy, over all runs: orders not delivered (share of all orders), click-to-door mean,
  p90 and overage, ready-to-pickup, utilisation, orders per bundle, cost per order, feasibility;
* per instance family as the paper varies them (size o100/o50/r50, travel t100/t75, shifts
  s1/s2, preparation p100/p125) for each policy;
* the 16 small seed-0 instances (o50 and r50 of seed 0), where an exact clairvoyant solver
  reaches 30.67 min and the paper's heuristic 31.88 min;
* speed of the o100 days: wall and CPU seconds, simulated minutes per wall second.
"""

from __future__ import annotations

import argparse
import json
import statistics
from collections import defaultdict
from pathlib import Path

PUBLISHED = {"orders_undelivered_pct": 0.25, "click_to_door_mean_min": 32.74,
             "click_to_door_p90_min": 49.3, "click_to_door_overage_mean_min": 2.77,
             "ready_to_pickup_mean_min": 1.93, "courier_utilization_mean": 0.63,
             "cost_per_order": 11.42, "orders_per_bundle_mean": 1.09}
COLUMNS = ("orders_undelivered_pct", "click_to_door_mean_min", "click_to_door_p90_min",
           "click_to_door_overage_mean_min", "ready_to_pickup_mean_min",
           "courier_utilization_mean", "orders_per_bundle_mean", "cost_per_order")
HEADERS = ("not delivered %", "click-to-door", "p90", "overage", "ready-to-pickup",
           "utilisation", "orders/bundle", "cost/order")


def load(out: Path) -> list[dict]:
    runs = []
    for path in sorted(out.glob("*/*/kpis.json")):
        runs.append(json.loads(path.read_text()))
    if not runs:
        raise SystemExit(f"no kpis.json under {out}")
    return runs


def aggregate(runs: list[dict]) -> dict:
    orders = sum(r["orders"] for r in runs)
    undelivered = sum(r["orders_undelivered"] for r in runs)
    row = {"runs": len(runs), "feasible": sum(bool(r["feasible"]) for r in runs),
           "orders_undelivered_pct": 100.0 * undelivered / orders if orders else 0.0}
    for key in COLUMNS[1:]:
        values = [r[key] for r in runs if r.get(key) is not None]
        row[key] = statistics.mean(values) if values else None
    return row


def table(rows: list[tuple[str, dict]], first: str) -> list[str]:
    lines = [f"| {first} | runs | feasible | " + " | ".join(HEADERS) + " |",
             "|" + " --- |" * (3 + len(HEADERS))]
    for label, row in rows:
        cells = [f"{row[k]:.2f}" if isinstance(row[k], float) else "–" for k in COLUMNS]
        lines.append(f"| {label} | {row['runs']} | {row['feasible']} | " + " | ".join(cells)
                     + " |")
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    runs = load(args.out)
    policies = sorted({r["policy"] for r in runs})
    by_policy = {p: [r for r in runs if r["policy"] == p] for p in policies}
    lines = [f"# Grubhub instances: {len({r['instance'] for r in runs})} instances, "
             f"{len(runs)} runs", "", "## All runs", ""]
    lines += table([(p, aggregate(by_policy[p])) for p in policies]
                   + [("published (Reyes et al.)", {**PUBLISHED, "runs": 240,
                                                     "feasible": 240})], "policy")
    lines += ["", "## By instance family", ""]
    family_rows = []
    for position, name in ((0, "size"), (1, "travel"), (2, "shifts"), (3, "preparation")):
        groups: dict[tuple[str, str], list[dict]] = defaultdict(list)
        for r in runs:
            groups[(r["family"].split()[position], r["policy"])].append(r)
        for (value, policy), members in sorted(groups.items()):
            family_rows.append((f"{name} {value} · {policy}", aggregate(members)))
    lines += table(family_rows, "family · policy")
    small = [r for r in runs if r["instance"].startswith(("0o50", "0r50"))]
    if small:
        lines += ["", "## The 16 small seed-0 instances (o50, r50)", "",
                  "Exact clairvoyant solver: click-to-door 30.67 min; the paper's heuristic "
                  "31.88 min.", ""]
        lines += table([(p, aggregate([r for r in small if r["policy"] == p]))
                        for p in policies], "policy")
    big = [r for r in runs if r["family"].startswith("o100")]
    if big:
        lines += ["", "## Speed of the o100 days (505-708 orders)", "",
                  "| policy | days | wall s median / max | CPU s median / max | "
                  "simulated min per wall s (median) |", "| --- | --- | --- | --- | --- |"]
        for p in policies:
            members = [r for r in big if r["policy"] == p]
            if members:
                wall = [r["wall_s"] for r in members]
                cpu = [r["cpu_s"] for r in members]
                rate = [r["simulated_min_per_wall_s"] for r in members]
                lines.append(f"| {p} | {len(members)} | {statistics.median(wall):.1f} / "
                             f"{max(wall):.1f} | {statistics.median(cpu):.1f} / {max(cpu):.1f} "
                             f"| {statistics.median(rate):.1f} |")
    text = "\n".join(lines) + "\n"
    print(text)
    (args.out / "summary.md").write_text(text)
    if args.json:
        args.json.write_text(json.dumps({p: aggregate(by_policy[p]) for p in policies},
                                        indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
