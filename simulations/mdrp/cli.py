"""`courier simulate mdrp DIR [DIR ...] --policy batch|nearest|cascade|all --out OUT [--seed N]`

Each instance directory is simulated as an online day with each policy asked for. For every
run, `OUT/<instance>/<policy>/` receives the evaluator's three solution files, `kpis.json`
(the paper's figures computed from those files, plus wall time, CPU time and simulated minutes
per wall second), `check.txt` (our independent checker's verdict) and `report.html`. With
`--policy all` (or several instances) `OUT/compare.md` and `OUT/compare.png` put the policies
side by side. The exit status is 1 if any solution breaks a rule, 2 on unreadable input.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

from simulations.mdrp.checker import check_solution
from simulations.mdrp.instance import Instance, InstanceError, read_instance
from simulations.mdrp.kpis import courier_utilisation, mdrp_kpis
from simulations.mdrp.run import POLICIES, MdrpRun, MdrpSettings, run_instance
from simulations.mdrp.solution import read_solution, solution_of, write_solution
from simulations.progress import day_progress
from simulations.report.compare import write_comparison
from simulations.report.html import DayReport, write_report

__all__ = ["add_arguments", "run", "simulate_instance", "PUBLISHED"]

#: Reyes et al. 2018, rolling-horizon heuristic, averages over all 240 instances.
PUBLISHED = ("Published (Reyes et al. 2018, rolling-horizon heuristic, all 240 instances): "
             "not delivered 0.25 %, click-to-door mean 32.74 min (p90 49.3), overage 2.77 min, "
             "ready-to-pickup 1.93 min, utilisation 0.63, cost per order 11.42, orders per "
             "bundle 1.09.")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("instances", nargs="+", metavar="DIR",
                        help="instance directories (restaurants.txt, orders.txt, couriers.txt, "
                        "instance_parameters.txt)")
    parser.add_argument("--policy", choices=[*POLICIES, "all"], default="batch",
                        help="dispatch policy, or all three (default: batch)")
    parser.add_argument("--out", required=True, type=Path, help="output directory")
    parser.add_argument("--seed", type=int, default=0, help="seed of the run (default: 0)")
    defaults = MdrpSettings()
    parser.add_argument("--commit-s", type=float, default=defaults.commit_s,
                        help="commit a courier's next trip once it must leave within this many "
                        f"seconds (default: {defaults.commit_s:g})")
    parser.add_argument("--solution-limit", type=int, default=defaults.solution_limit,
                        help="solutions per solver phase and cycle; keeps runs reproducible "
                        f"(default: {defaults.solution_limit})")
    parser.add_argument("--no-report", action="store_true", help="skip report.html")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def _draw_map(run: MdrpRun):
    """The day on the plane: restaurants, diners and every courier move (metres)."""
    from simulations.mdrp.travel import DEGREE_M

    log, inst = run.log, run.instance

    def draw(ax) -> None:
        for m in log.moves:  # moves keep the planner's keys: back to metres
            (y1, x1), (y2, x2) = m.origin_place, m.destination_place
            ax.plot([x1 * DEGREE_M, x2 * DEGREE_M], [y1 * DEGREE_M, y2 * DEGREE_M],
                    color="#3b7dd8", alpha=0.12, linewidth=0.6)
        ax.scatter([o.x for o in inst.orders], [o.y for o in inst.orders], s=4,
                   color="#27ae60", label="diners", alpha=0.6)
        ax.scatter([r.x for r in inst.restaurants.values()],
                   [r.y for r in inst.restaurants.values()], s=12, marker="s",
                   color="#c0392b", label="restaurants")
        ax.legend(frameon=False, loc="upper right")
        ax.set_title("planar coordinates (metres); lines: courier moves", fontsize=9)

    return draw


def simulate_instance(instance: Instance, policy: str, out: Path, *, seed: int = 0,
                      settings: MdrpSettings | None = None, report: bool = True,
                      progress: bool | None = None) -> dict[str, Any]:
    """Runs one instance with one policy and writes its directory; returns its KPIs."""
    settings = settings or MdrpSettings()
    end_s = 60.0 * max(max(c.off_min for c in instance.couriers),
                       max(o.ready_min for o in instance.orders))
    update, close = day_progress(f"{instance.name} {policy}", end_s=end_s,
                                 orders=len(instance.orders), enabled=progress)
    try:
        result = run_instance(instance, policy, seed=seed, settings=settings, progress=update)
    finally:
        close()
    directory = out / instance.name / policy
    write_solution(solution_of(result), directory)
    solution = read_solution(directory)  # judge the files, as the evaluator would
    violations = check_solution(instance, solution)
    (directory / "check.txt").write_text(
        "feasible: every rule holds\n" if not violations else
        f"infeasible: {len(violations)} violations\n" + "".join(f"{v}\n" for v in violations))
    log = result.log
    kpis = mdrp_kpis(instance, solution)
    kpis.update({
        "policy": policy, "seed": seed, "feasible": not violations,
        "violations": len(violations),
        "offers_declined": log.offers_declined, "offers_expired": log.offers_expired,
        "cycles": len(log.cycles),
        "wall_s": round(log.wall_s, 3), "cpu_s": round(log.cpu_s, 3),
        "simulated_min": round(log.end_s / 60, 1),
        "simulated_min_per_wall_s": round(log.end_s / 60 / max(log.wall_s, 1e-9), 2),
        "settings": {k: v for k, v in asdict(settings).items() if k != "cadence"},
        "cadence": asdict(settings.cadence),
    })
    (directory / "kpis.json").write_text(json.dumps(kpis, indent=2, sort_keys=True) + "\n")
    if report:
        orders = {o.id: o for o in instance.orders}
        c2d = [line.dropoff_min - orders[line.order].placement_min for line in solution.orders]
        busy = courier_utilisation(instance, solution)
        write_report(DayReport(
            title=f"{instance.name} — {policy}",
            subtitle=f"Grubhub meal-delivery instance ({instance.family}); {len(instance.orders)}"
                     f" orders, {len(instance.couriers)} couriers; seed {seed}",
            kpis=kpis, click_to_door_min=c2d, samples=log.samples, utilisation=busy,
            draw_map=_draw_map(result),
            target_min=instance.parameters.target_click_to_door_min,
            max_min=instance.parameters.max_click_to_door_min,
            notes=[PUBLISHED, "Checker: " + ("every rule holds." if not violations else
                                            f"{len(violations)} violations, see check.txt.")]),
            directory / "report.html")
    return kpis


def run(args: argparse.Namespace, *, data_dir: Path) -> int:
    try:
        instances = [read_instance(d) for d in args.instances]
    except InstanceError as exc:
        print(f"courier simulate mdrp: {exc}", file=sys.stderr)
        return 2
    policies = list(POLICIES) if args.policy == "all" else [args.policy]
    settings = MdrpSettings(commit_s=args.commit_s, solution_limit=args.solution_limit)
    results, infeasible = [], 0
    for instance in instances:
        for policy in policies:
            kpis = simulate_instance(instance, policy, args.out, seed=args.seed,
                                     settings=settings, report=not args.no_report,
                                     progress=False if args.quiet else None)
            results.append(kpis)
            infeasible += not kpis["feasible"]
            print(f"{instance.name:18s} {policy:8s} delivered {kpis['orders_delivered']:4d}/"
                  f"{kpis['orders']:<4d} click-to-door {kpis['click_to_door_mean_min']:6.2f} min"
                  f" (p90 {kpis['click_to_door_p90_min']:5.1f})  "
                  f"{'feasible' if kpis['feasible'] else 'INFEASIBLE'}  "
                  f"{kpis['wall_s']:7.1f} s", flush=True)
    if len(results) > 1:
        paths = write_comparison(results, args.out, title="Grubhub instances: policies compared",
                                 families=True, notes=[PUBLISHED])
        print(f"comparison: {paths[0]}")
    return 1 if infeasible else 0
