"""``courier bench lilim``: our solver and the peers on the Li & Lim benchmark.

Every plan, ours or a peer's, is judged by ``routing.validator``; distances are the validator's
(unrounded Euclidean). Rows are printed as they finish and written as a JSON list::

    {"instance", "feasible", "vehicles", "distance", "seconds", "solver", "time_limit_s",
     "bks_vehicles", "bks_distance", "gap_pct", "violations"}

``gap_pct`` is the distance gap to the best-known solution, given only when the vehicle count
matches it (the benchmark ranks vehicles first, so other gaps compare unlike things).

    python -m routing.bench lilim ../shared/data/lilim100 --time-limit 10 --solver ortools \\
        --json benchmarks/results/lilim_ortools_10s.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

from routing import lilim
from routing.plan import Plan
from routing.problem import Problem
from routing.validator import validate

__all__ = ["SOLVERS", "main", "run_instance"]


def _ortools(warm_start: str) -> Callable[[Problem, float, int], Plan]:
    def run(problem: Problem, time_limit_s: float, seed: int) -> Plan:
        from routing.solver import solve

        return solve(problem, time_limit_s=time_limit_s, seed=seed, warm_start=warm_start)

    return run


def _pyvrp(problem: Problem, time_limit_s: float, seed: int) -> Plan:
    from routing.peers import solve_pyvrp

    return solve_pyvrp(problem, time_limit_s=time_limit_s, seed=seed)


def _vroom(problem: Problem, time_limit_s: float, seed: int) -> Plan:
    # VROOM runs to its own end (about 0.5-1.5 s here); the limit only caps it.
    from routing.peers import solve_vroom

    return solve_vroom(problem, time_limit_s=time_limit_s, seed=seed)


SOLVERS: dict[str, Callable[[Problem, float, int], Plan]] = {
    "ortools": _ortools("vroom"),
    "ortools-cold": _ortools("none"),
    "pyvrp": _pyvrp,
    "vroom": _vroom,
}


def run_instance(
    path: Path,
    *,
    solver: str,
    time_limit_s: float,
    seed: int,
    bks: dict[str, lilim.BestKnown],
) -> dict:
    """Solve one instance and return its JSON row."""
    problem = lilim.read(path)
    started = time.perf_counter()
    plan = SOLVERS[solver](problem, time_limit_s, seed)
    seconds = time.perf_counter() - started
    report = validate(problem, plan)
    best = bks.get(problem.name)
    row = {
        "instance": problem.name,
        "feasible": report.feasible,
        "vehicles": report.vehicles_used,
        "distance": round(report.distance_m, 4),
        "seconds": round(seconds, 3),
        "solver": solver,
        "time_limit_s": time_limit_s,
        "seed": seed,
        "bks_vehicles": best.vehicles if best else None,
        "bks_distance": best.distance if best else None,
        "gap_pct": None,
        "violations": sorted(report.kinds()),
    }
    if best and report.feasible and report.vehicles_used == best.vehicles:
        row["gap_pct"] = round(100 * (report.distance_m - best.distance) / best.distance, 4)
    return row


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="courier bench", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="benchmark", required=True)
    p = sub.add_parser("lilim", help="Li & Lim pickup-and-delivery instances")
    p.add_argument("directory", type=Path, help="directory with *.txt instances and bks.csv")
    p.add_argument("--time-limit", type=float, required=True, help="seconds per instance")
    p.add_argument("--solver", choices=sorted(SOLVERS), default="ortools")
    p.add_argument("--json", type=Path, help="write the rows here as a JSON list")
    p.add_argument("--instances", help="comma-separated names, e.g. lc101,lr201 (default: all)")
    p.add_argument("--seed", type=int, default=0)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; ``argv`` is everything after ``courier bench``."""
    args = _parser().parse_args(argv)
    paths = lilim.list_instances(args.directory)
    if args.instances:
        wanted = [name.strip() for name in args.instances.split(",") if name.strip()]
        by_name = {p.stem: p for p in paths}
        missing = [name for name in wanted if name not in by_name]
        if missing:
            print(f"unknown instances: {', '.join(missing)}", file=sys.stderr)
            return 2
        paths = [by_name[name] for name in wanted]
    if not paths:
        print(f"no instances in {args.directory}", file=sys.stderr)
        return 2
    bks_path = args.directory / "bks.csv"
    bks = lilim.read_bks(bks_path) if bks_path.exists() else {}
    if args.solver.startswith("ortools"):
        from routing.solver import warm_up

        print(f"compiled route minimisation in {warm_up():.1f} s (not timed)")
    rows = []
    print(f"{'instance':<8} {'feasible':>8} {'veh':>4} {'bks':>4} {'distance':>10} "
          f"{'gap%':>7} {'seconds':>8}")
    for path in paths:
        row = run_instance(
            path, solver=args.solver, time_limit_s=args.time_limit, seed=args.seed, bks=bks
        )
        rows.append(row)
        gap = "" if row["gap_pct"] is None else f"{row['gap_pct']:.2f}"
        print(
            f"{row['instance']:<8} {row['feasible']!s:>8} {row['vehicles']:>4} "
            f"{row['bks_vehicles'] or '':>4} {row['distance']:>10.2f} {gap:>7} "
            f"{row['seconds']:>8.2f}",
            flush=True,
        )
        if args.json:
            _write(args.json, rows)
    if args.json:
        _write(args.json, rows)
    return 0 if all(r["feasible"] for r in rows) else 1


def _write(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(rows, indent=1) + "\n")
    tmp.replace(path)


if __name__ == "__main__":
    sys.exit(main())
