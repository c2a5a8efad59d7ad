"""Benchmark: how far past their deadline the compiled searches end, on full-size instances.

    .venv/bin/python benchmarks/search_deadline.py                       # lrc201, 0.5 1 2 s
    .venv/bin/python benchmarks/search_deadline.py --instances lrc201 lr202 --budgets 0.5 --runs 5

Route minimisation (`routing.ejection.minimise_routes`) and ruin and recreate
(`routing.lns.shorten_routes`) size their compiled runs with a `Pacer` so that none goes on
past the deadline; the unit tests check that logic on a fake clock. This measures it on the
wall clock: for each instance and budget, `--runs` searches of each kind from one route per
shipment, after `warm_up()` (compiling is not part of a search). Reports the median and worst
overrun (seconds past the deadline) and the routes found. Prints a table and writes
``benchmarks/results/search_deadline.json``. Needs the shared Li & Lim data
(``../shared/data/lilim100``, or ``COURIER_SHARED_DATA``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from routing import lilim  # noqa: E402
from routing.ejection import minimise_routes  # noqa: E402
from routing.fleet_minimisation import ejection_instance  # noqa: E402
from routing.lns import shorten_routes  # noqa: E402
from routing.ortools_model import Layout  # noqa: E402
from routing.plan import StopKind, StopRef  # noqa: E402
from routing.solver import warm_up  # noqa: E402

SHARED = Path(os.environ.get("COURIER_SHARED_DATA", ROOT.parent / "shared" / "data"))


def measure(name: str, budget_s: float, runs: int) -> dict:
    problem = lilim.read(SHARED / "lilim100" / f"{name}.txt")
    layout = Layout(problem)
    instance = ejection_instance(layout)
    start = [[layout.node_of[StopRef(s.id, StopKind.PICKUP)],
              layout.node_of[StopRef(s.id, StopKind.DELIVERY)]] for s in problem.shipments]
    rows = {"minimise_routes": [], "shorten_routes": []}
    routes = {"minimise_routes": [], "shorten_routes": []}
    for seed in range(runs):
        deadline = time.monotonic() + budget_s
        fewer = minimise_routes(instance, start, deadline=deadline, seed=seed)
        rows["minimise_routes"].append(time.monotonic() - deadline)
        routes["minimise_routes"].append(len(fewer))
        deadline = time.monotonic() + budget_s
        shorter = shorten_routes(instance, fewer, deadline=deadline, seed=seed)
        rows["shorten_routes"].append(time.monotonic() - deadline)
        routes["shorten_routes"].append(len(shorter))
    return {search: {"instance": name, "budget_s": budget_s, "runs": runs,
                     "overrun_median_s": round(statistics.median(over), 4),
                     "overrun_max_s": round(max(over), 4),
                     "routes": routes[search]} for search, over in rows.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", nargs="+", default=["lrc201"])
    parser.add_argument("--budgets", nargs="+", type=float, default=[0.5, 1.0, 2.0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", type=Path,
                        default=ROOT / "benchmarks" / "results" / "search_deadline.json")
    args = parser.parse_args()
    warm_up()
    results = []
    print(f"{'instance':10} {'search':16} {'budget s':>8} {'median over s':>14} "
          f"{'max over s':>11}  routes")
    for name in args.instances:
        for budget_s in args.budgets:
            for search, row in measure(name, budget_s, args.runs).items():
                results.append({"search": search, **row})
                print(f"{name:10} {search:16} {budget_s:8.2f} {row['overrun_median_s']:14.4f} "
                      f"{row['overrun_max_s']:11.4f}  {row['routes']}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"machine": platform.platform(), "cpus": os.cpu_count(),
                                     "results": results}, indent=1))
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
