"""`courier simulate city --network NAME --couriers N --orders-per-hour R --hours H --policy P
--seed S --out OUT`

Generates a day of orders on an imported road network (`courier geodata import|synth`) and
simulates it with the service's dispatch code as it ships. `OUT/<policy>/` receives `kpis.json`
and `report.html` (figures and a map of the day on the roads); with `--policy all`,
`OUT/compare.md` and `OUT/compare.png`.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from dispatch.policies import POLICY_NAMES
from geodata.travel import NetworkNotFound, load_travel_models
from simulations.city.run import CitySettings, city_kpis, courier_utilisation, draw_city, run_city
from simulations.progress import day_progress
from simulations.report.compare import write_comparison
from simulations.report.html import DayReport, write_report

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    d = CitySettings()
    parser.add_argument("--network", required=True,
                        help="road network built with `courier geodata import|synth`")
    parser.add_argument("--couriers", type=int, default=d.couriers,
                        help=f"fleet size (default: {d.couriers})")
    parser.add_argument("--orders-per-hour", type=float, default=d.orders_per_hour,
                        help=f"mean order rate over the day (default: {d.orders_per_hour:g})")
    parser.add_argument("--hours", type=float, default=d.hours,
                        help=f"length of the day (default: {d.hours:g})")
    parser.add_argument("--policy", choices=[*POLICY_NAMES, "all"], default=d.policy,
                        help="dispatch policy, or all three (default: batch)")
    parser.add_argument("--seed", type=int, default=d.seed, help="seed of the day (default: 0)")
    parser.add_argument("--promise-min", type=float, default=d.promise_min,
                        help=f"promised delivery time in minutes (default: {d.promise_min:g})")
    parser.add_argument("--accept", type=float, default=d.accept_p,
                        help=f"probability that a courier accepts an offer "
                        f"(default: {d.accept_p:g})")
    parser.add_argument("--out", required=True, type=Path, help="output directory")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def _positive(args: argparse.Namespace) -> str | None:
    if args.couriers < 1:
        return "--couriers must be at least 1"
    if args.orders_per_hour <= 0 or args.hours <= 0 or args.promise_min <= 0:
        return "--orders-per-hour, --hours and --promise-min must be positive"
    if not 0 <= args.accept <= 1:
        return "--accept must be between 0 and 1"
    return None


def run(args: argparse.Namespace, *, data_dir: Path) -> int:
    problem = _positive(args)
    if problem:
        print(f"courier simulate city: {problem}", file=sys.stderr)
        return 2
    try:
        models = load_travel_models(data_dir / "networks", args.network, strict=True)
    except NetworkNotFound as exc:
        print(f"courier simulate city: {exc.message} (build it with `courier geodata synth "
              f"--name {args.network}` or `courier geodata import`)", file=sys.stderr)
        return 2
    policies = list(POLICY_NAMES) if args.policy == "all" else [args.policy]
    results: list[dict[str, Any]] = []
    try:
        for policy in policies:
            settings = CitySettings(couriers=args.couriers, orders_per_hour=args.orders_per_hour,
                                    hours=args.hours, policy=policy, seed=args.seed,
                                    promise_min=args.promise_min, accept_p=args.accept)
            update, close = day_progress(f"{args.network} {policy}",
                                         end_s=args.hours * 3600, orders=0,
                                         enabled=False if args.quiet else None)
            try:
                result = run_city(models, settings, progress=update)
            finally:
                close()
            kpis = city_kpis(result)
            directory = args.out / policy
            directory.mkdir(parents=True, exist_ok=True)
            (directory / "kpis.json").write_text(json.dumps(kpis, indent=2, sort_keys=True)
                                                 + "\n")
            source = models.network.source if models.network else None
            orders = result.log.orders
            write_report(DayReport(
                title=f"{args.network} — {policy}",
                subtitle=f"{args.couriers} couriers, {args.orders_per_hour:g} orders/hour over "
                         f"{args.hours:g} h, seed {args.seed}",
                kpis=kpis,
                click_to_door_min=[(t - orders[o].placed_s) / 60
                                   for o, t in result.log.dropoff_s.items()],
                samples=result.log.samples, utilisation=courier_utilisation(result),
                draw_map=draw_city(result, Path(source) if source else None),
                target_min=args.promise_min, max_min=90.0,
                notes=[models.attribution or "© OpenStreetMap contributors"]),
                directory / "report.html")
            results.append(kpis)
            print(f"{args.network} {policy:8s} delivered {kpis['orders_delivered']}/"
                  f"{kpis['orders']} click-to-door {kpis['click_to_door_mean_min'] or 0:.1f} min"
                  f" (p90 {kpis['click_to_door_p90_min'] or 0:.1f}), offers declined "
                  f"{kpis['offers_declined']}, expired {kpis['offers_expired']}, "
                  f"{kpis['wall_s']:.1f} s", flush=True)
    finally:
        models.close()
    if len(results) > 1:
        paths = write_comparison(results, args.out, title=f"{args.network}: policies compared")
        print(f"comparison: {paths[0]}")
    return 0
