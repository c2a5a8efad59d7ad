"""Summarise ``courier bench lilim`` JSON rows per instance class, solvers side by side.

    .venv/bin/python benchmarks/lilim_summary.py benchmarks/results/lilim_*_10s.json

Per class (lc1, lc2, lr1, lr2, lrc1, lrc2) and in total: instances feasible, vehicles against
best-known, instances at the best-known vehicle count, and the mean distance gap over those.
Prints a Markdown table for BENCHMARKS.md.
"""

from __future__ import annotations

import json
import re
import sys
from collections import defaultdict
from pathlib import Path

CLASSES = ["lc1", "lc2", "lr1", "lr2", "lrc1", "lrc2"]


def instance_class(name: str) -> str:
    m = re.match(r"([a-z]+)(\d)", name)
    return f"{m.group(1)}{m.group(2)}" if m else name


def summarise(rows: list[dict]) -> dict[str, dict]:
    groups: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        groups[instance_class(row["instance"])].append(row)
        groups["all"].append(row)
    out = {}
    for name, members in groups.items():
        at_bks = [r for r in members if r["gap_pct"] is not None]
        out[name] = {
            "n": len(members),
            "feasible": sum(r["feasible"] for r in members),
            "vehicles": sum(r["vehicles"] for r in members),
            "bks_vehicles": sum(r["bks_vehicles"] or 0 for r in members),
            "at_bks": len(at_bks),
            "mean_gap_pct": (sum(r["gap_pct"] for r in at_bks) / len(at_bks)) if at_bks else None,
            "mean_seconds": sum(r["seconds"] for r in members) / len(members),
        }
    return out


def main(argv: list[str]) -> int:
    runs = {}
    for arg in argv:
        rows = json.loads(Path(arg).read_text())
        label = f"{rows[0]['solver']} {rows[0]['time_limit_s']:g}s" if rows else arg
        runs[label] = summarise(rows)
    labels = list(runs)
    header = "| class | best-known veh. | " + " | ".join(
        f"{label}: veh. / at BKS veh. / mean gap / feasible" for label in labels
    ) + " |"
    print(header)
    print("|" + " --- |" * (2 + len(labels)))
    for cls in [*CLASSES, "all"]:
        first = next((runs[label][cls] for label in labels if cls in runs[label]), None)
        if first is None:
            continue
        cells = []
        for label in labels:
            s = runs[label].get(cls)
            if s is None:
                cells.append("-")
                continue
            gap = "-" if s["mean_gap_pct"] is None else f"{s['mean_gap_pct']:.2f} %"
            cells.append(f"{s['vehicles']} / {s['at_bks']} of {s['n']} / {gap} / "
                         f"{s['feasible']} of {s['n']}")
        name = f"**{cls}**" if cls == "all" else cls
        print(f"| {name} | {first['bks_vehicles']} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
