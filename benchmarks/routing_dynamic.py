"""The live courier instance: a mixed fleet mid-shift, open orders, parcels already on board.

A deterministic, plausible city (no road network needed): 150 couriers on foot, bicycle,
scooter and car scattered over a 12 x 12 km centre, 400 open orders (pickup at a shop, drop at a
buyer), 60 parcels already on board, 40 orders already accepted by a courier (pinned). Distances
are haversine great-circle metres times a detour factor of 1.3 (a common road/straight-line
ratio in cities); durations divide them by a per-profile speed. It is a road-like matrix, not a
routed one: good enough to measure the solver, not a claim about a real city.

It reports
  1. the time to a first feasible plan (first solution only), and the plan after a 2 s budget;
  2. the warm-started re-solve after 10 new orders arrive, with a 1 s budget;
  3. the plan after a longer budget (20 s), to show what OR-Tools' local search adds.

    .venv/bin/python benchmarks/routing_dynamic.py --json benchmarks/results/routing_dynamic.json
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from routing.plan import Plan  # noqa: E402
from routing.problem import OnboardParcel, Problem, Shipment, Stop, Vehicle, Weights  # noqa: E402
from routing.solver import solve  # noqa: E402
from routing.validator import validate  # noqa: E402

#: Porto's centre; only the shape of the city matters.
CENTRE_LAT, CENTRE_LON = 41.1496, -8.6110
HALF_SIZE_M = 6000.0
DETOUR = 1.3
#: Typical urban door-to-door speeds (m/s) and capacities (parcels) per vehicle profile.
PROFILES = {
    "foot": (1.3, 2),
    "bicycle": (4.0, 4),
    "scooter": (6.5, 6),
    "car": (7.5, 12),
}
FLEET_SHARE = {"foot": 0.2, "bicycle": 0.35, "scooter": 0.3, "car": 0.15}


def haversine_m(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Great-circle metres between every pair of points (WGS84 degrees, spherical Earth)."""
    phi, lam = np.radians(lat), np.radians(lon)
    dphi = phi[:, None] - phi[None, :]
    dlam = lam[:, None] - lam[None, :]
    a = np.sin(dphi / 2) ** 2 + np.cos(phi)[:, None] * np.cos(phi)[None, :] * np.sin(dlam / 2) ** 2
    return 2 * 6_371_000.0 * np.arcsin(np.sqrt(np.clip(a, 0, 1)))


def random_points(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Points denser towards the centre, as shops and buyers are."""
    r = HALF_SIZE_M * np.sqrt(rng.uniform(0, 1, n)) * rng.uniform(0.3, 1.0, n)
    theta = rng.uniform(0, 2 * math.pi, n)
    north, east = r * np.sin(theta), r * np.cos(theta)
    lat = CENTRE_LAT + north / 111_320.0
    lon = CENTRE_LON + east / (111_320.0 * math.cos(math.radians(CENTRE_LAT)))
    return lat, lon


def build(
    *, seed: int = 7, couriers: int = 150, orders: int = 400, onboard: int = 60, pinned: int = 40,
    extra_orders: int = 10,
) -> tuple[Problem, Problem]:
    """The instance now, and the same instance once ``extra_orders`` more orders arrived."""
    rng = np.random.default_rng(seed)
    n_loc = couriers + 2 * (orders + extra_orders) + onboard
    lat, lon = random_points(rng, n_loc)
    distance_m = haversine_m(lat, lon) * DETOUR
    durations = {p: distance_m / speed for p, (speed, _) in PROFILES.items()}
    distances = dict.fromkeys(PROFILES, distance_m)

    names = list(PROFILES)
    kinds = rng.choice(names, size=couriers, p=[FLEET_SHARE[n] for n in names])
    vehicles = [
        Vehicle(
            id=f"c{k}",
            start_location=k,
            capacity=PROFILES[kinds[k]][1],
            start_s=0.0,
            shift_end_s=float(rng.uniform(2, 6) * 3600),
            end_location=None,
            profile=str(kinds[k]),
        )
        for k in range(couriers)
    ]

    def order(i: int) -> Shipment:
        base = couriers + 2 * i
        ready_s = float(rng.uniform(0, 1800))
        promise_s = ready_s + float(rng.uniform(3600, 5400))
        return Shipment(
            id=f"o{i}",
            pickup=Stop(base, earliest_s=ready_s, latest_s=ready_s + 3600, service_s=120),
            delivery=Stop(base + 1, latest_s=promise_s, service_s=90, soft_latest=True),
            size=1,
            required=False,
        )

    shipments = [order(i) for i in range(orders)]
    extra = [order(orders + i) for i in range(extra_orders)]
    for i in range(pinned):  # accepted by the nearest courier: pinned to them
        s = shipments[i]
        k = int(np.argmin(distance_m[:couriers, s.pickup.location]))
        shipments[i] = Shipment(s.id, s.pickup, s.delivery, s.size, required=True,
                                assigned_vehicle=k)
    first_drop = couriers + 2 * (orders + extra_orders)
    carriers = rng.choice(couriers, size=onboard, replace=False)
    parcels = [
        OnboardParcel(
            id=f"p{j}",
            vehicle=int(carriers[j]),
            delivery=Stop(first_drop + j, latest_s=float(rng.uniform(1200, 3600)),
                          service_s=90, soft_latest=True),
        )
        for j in range(onboard)
    ]
    weights = Weights(per_m=1.0, per_late_s=5.0, per_unassigned=100_000.0)

    def problem(ships: list[Shipment], name: str) -> Problem:
        return Problem(
            vehicles=tuple(vehicles), shipments=tuple(ships), onboard=tuple(parcels),
            durations_s=durations, distances_m=distances, weights=weights, name=name,
        )

    return problem(shipments, "dynamic"), problem(shipments + extra, "dynamic+10")


def summary(problem: Problem, plan: Plan, seconds: float) -> dict:
    report = validate(problem, plan)
    return {
        "seconds": round(seconds, 3),
        "feasible": report.feasible,
        "violations": sorted(report.kinds()),
        "couriers_used": report.vehicles_used,
        "assigned_orders": len(problem.shipments) - report.unassigned,
        "unassigned_orders": report.unassigned,
        "distance_km": round(report.distance_m / 1000, 3),
        "lateness_min": round(report.lateness_s / 60, 1),
        "objective": round(report.objective, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--budget", type=float, default=2.0, help="first plan budget, s")
    parser.add_argument("--resolve-budget", type=float, default=1.0, help="re-solve budget, s")
    parser.add_argument(
        "--long-budget", type=float, default=20.0,
        help="a longer budget, to show what OR-Tools' search adds (0: skip), s",
    )
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)

    now, later = build(seed=args.seed)
    started = time.perf_counter()
    first_only = solve(now, time_limit_s=30.0, seed=args.seed, solution_limit=1)
    first = summary(now, first_only, time.perf_counter() - started)

    started = time.perf_counter()
    plan = solve(now, time_limit_s=args.budget, seed=args.seed)
    budgeted = summary(now, plan, time.perf_counter() - started)

    started = time.perf_counter()
    again = solve(later, time_limit_s=args.resolve_budget, seed=args.seed, initial=plan)
    resolved = summary(later, again, time.perf_counter() - started)
    new_ids = {s.id for s in later.shipments} - {s.id for s in now.shipments}
    served = {v.shipment_id for r in again.routes for v in r.visits}
    resolved["new_orders_assigned"] = len(new_ids & served)

    long_run = None
    if args.long_budget > 0:
        started = time.perf_counter()
        longer = solve(now, time_limit_s=args.long_budget, seed=args.seed)
        long_run = summary(now, longer, time.perf_counter() - started)

    result = {
        "instance": {
            "couriers": len(now.vehicles),
            "orders": len(now.shipments),
            "pinned_orders": sum(s.pinned_vehicle is not None for s in now.shipments),
            "parcels_on_board": len(now.onboard),
            "new_orders": len(new_ids),
            "seed": args.seed,
        },
        "first_solution": first,
        f"plan_{args.budget:g}s": budgeted,
        f"resolve_{args.resolve_budget:g}s_after_new_orders": resolved,
    }
    if long_run is not None:
        result[f"plan_{args.long_budget:g}s"] = long_run
    print(json.dumps(result, indent=1))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
