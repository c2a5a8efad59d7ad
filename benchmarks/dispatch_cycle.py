"""Benchmark: one dispatch planning cycle, 200 couriers and 500 open orders on the Porto network.

    .venv/bin/python benchmarks/dispatch_cycle.py                      # 1 s solver, 10 cycles
    .venv/bin/python benchmarks/dispatch_cycle.py --cycles 3 --solver-time 0.5

What runs is the service's own cycle (`dispatch.cycle.run_cycle` on `dispatch.sql_store`)
against a scratch PostgreSQL database (created, migrated and dropped here) with OSRM bicycle
travel times on Porto: expire offers, load state, one matrix over every courier and order place,
the batch policy with a warm start, and the atomic apply. Every figure is split into ``load``,
``matrix``, ``solve`` and ``apply``.

The day is simulated between cycles so each cycle sees a live state, not a replay: auto-accept
is on (offers become assignments), a share of assigned orders is picked up and a share of
parcels on board is delivered, couriers move to their next stop, and new orders top the open
set back up to ``--orders``. The first (cold) cycle plans every order from scratch and is
reported apart; p50 and p99 are over the warm cycles that follow.

Couriers ride bicycles (the profile built for Porto), capacity 4. Orders have a pickup and a
dropoff within a 12 x 12 km square of central Porto (places with a road within 500 m), a third
of them with a two-hour delivery window. Needs the Porto network (``courier geodata import
../shared/data/osm/porto.osm.pbf --name porto --profile bicycle``); looked up in
``var/networks`` then ``var/bench-networks/networks``. Prints a table and writes
``benchmarks/results/dispatch_cycle.json``. Map data © OpenStreetMap contributors.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

PROJECT_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT_ROOT))

from scratch import drop_database, scratch_database  # noqa: E402
from sqlalchemy import text  # noqa: E402

from api.database import make_engine, make_sessionmaker  # noqa: E402
from dispatch.cycle import PlannerConfig, run_cycle  # noqa: E402
from dispatch.matrix_cache import MatrixCache  # noqa: E402
from dispatch.sql_store import SqlDispatchStore  # noqa: E402
from dispatch.state_store import NoLivePositions  # noqa: E402
from geodata.exceptions import PointOffNetwork  # noqa: E402
from geodata.points import LatLon  # noqa: E402
from geodata.travel import load_travel_models  # noqa: E402

PORTO_CENTRE = (41.1496, -8.6110)
HALF_SIDE_DEG = (0.054, 0.072)  # ~6 km either way at 41 N


class Matrices:
    """Rectangular matrices over the loaded OSRM models (the service wraps the same kind of
    source in `MatrixCache`)."""

    def __init__(self, models) -> None:
        self.models = models

    def matrix(self, profile, sources, destinations):
        result = self.models.for_profile(profile).matrix(list(sources), list(destinations))
        return result.durations_s, result.distances_m


def sample_places(model, count: int, rng: random.Random) -> list[tuple[float, float]]:
    places: list[tuple[float, float]] = []
    while len(places) < count:
        lat = PORTO_CENTRE[0] + rng.uniform(-HALF_SIDE_DEG[0], HALF_SIDE_DEG[0])
        lon = PORTO_CENTRE[1] + rng.uniform(-HALF_SIDE_DEG[1], HALF_SIDE_DEG[1])
        try:
            model.snap(LatLon(lat, lon))
        except PointOffNetwork:
            continue
        places.append((round(lat, 6), round(lon, 6)))
    return places


def _point(lat: float, lon: float) -> str:
    return f"SRID=4326;POINT({lon} {lat})"


ORDER_SQL = text("""
INSERT INTO orders (seller_id, pickup_location, dropoff_location, size, status,
                    dropoff_window_start, dropoff_window_end, created_at, updated_at)
VALUES (:seller, CAST(:p AS geography), CAST(:d AS geography), 1, 'pending', :ws, :we,
        :now, :now)
""")


async def seed(session, *, couriers: int, places, rng: random.Random) -> int:
    now = datetime.now(UTC)
    seller = await session.scalar(text(
        "INSERT INTO users (name, role, password_hash) VALUES ('bench-seller', 'seller', 'x') "
        "RETURNING id"))
    for i in range(couriers):
        user = await session.scalar(text(
            "INSERT INTO users (name, role, password_hash) VALUES (:n, 'courier', 'x') "
            "RETURNING id"), {"n": f"bench-courier-{i}"})
        lat, lon = rng.choice(places)
        await session.execute(text(
            "INSERT INTO couriers (user_id, name, vehicle, capacity, shift_state, "
            "shift_started_at, shift_ends_at, last_location, last_seen_at) VALUES "
            "(:u, :n, 'bicycle', 4, 'on', :now, :end, CAST(:loc AS geography), :now)"),
            {"u": user, "n": f"courier {i}", "now": now, "end": now + timedelta(hours=8),
             "loc": _point(lat, lon)})
    await session.execute(text(
        "INSERT INTO fleet_settings (fleet, auto_accept) VALUES ('default', TRUE)"))
    await session.commit()
    return seller


async def add_orders(session, *, seller: int, count: int, places, rng: random.Random) -> None:
    now = datetime.now(UTC)
    rows = []
    for _ in range(count):
        (plat, plon), (dlat, dlon) = rng.sample(places, 2)
        windowed = rng.random() < 1 / 3
        rows.append({"seller": seller, "p": _point(plat, plon), "d": _point(dlat, dlon),
                     "ws": now if windowed else None,
                     "we": now + timedelta(hours=2) if windowed else None, "now": now})
    if rows:
        await session.execute(ORDER_SQL, rows)


async def advance_the_day(session, *, seller: int, target_open: int, new_per_cycle: int,
                          places, rng: random.Random) -> dict[str, int]:
    """Between cycles: pickups, deliveries, couriers moving, new orders."""
    now = datetime.now(UTC)
    picked = await session.execute(text(
        "UPDATE orders SET status = 'picked_up', updated_at = :now WHERE id IN ("
        " SELECT order_id FROM planned_stops s JOIN orders o ON o.id = s.order_id"
        " WHERE s.seq = 0 AND s.kind = 'pickup' AND o.status = 'assigned'"
        " AND random() < 0.5)"), {"now": now})
    delivered = await session.execute(text(
        "UPDATE orders SET status = 'delivered', updated_at = :now WHERE id IN ("
        " SELECT order_id FROM planned_stops s JOIN orders o ON o.id = s.order_id"
        " WHERE s.seq = 0 AND s.kind = 'dropoff' AND o.status = 'picked_up'"
        " AND random() < 0.7)"), {"now": now})
    await session.execute(text(
        "UPDATE couriers c SET last_location = CAST(ST_SetSRID(ST_MakePoint(s.lon, s.lat), 4326)"
        " AS geography), last_seen_at = :now FROM planned_stops s"
        " WHERE s.courier_id = c.id AND s.seq = 0 AND random() < 0.3"), {"now": now})
    open_now = await session.scalar(text(
        "SELECT count(*) FROM orders WHERE status IN "
        "('pending', 'offered', 'assigned', 'at_pickup', 'picked_up', 'at_dropoff')"))
    # Orders finished off the plan's front (handed over, failed, ...) make room for new ones.
    surplus = int(open_now) + new_per_cycle - target_open
    if surplus > 0:
        await session.execute(text(
            "UPDATE orders SET status = 'delivered', updated_at = :now WHERE id IN ("
            " SELECT id FROM orders WHERE status IN ('assigned', 'picked_up')"
            " ORDER BY id LIMIT :n)"), {"now": now, "n": surplus})
        open_now = int(open_now) - surplus
    new = max(0, target_open - int(open_now))
    await add_orders(session, seller=seller, count=new, places=places, rng=rng)
    await session.commit()
    return {"picked_up": picked.rowcount, "delivered": delivered.rowcount, "new_orders": new}


def _pct(values: list[float], q: float) -> float:
    return float(np.percentile(np.array(values), q)) if values else float("nan")


async def bench(args) -> dict:
    networks_dir = next((d for d in (PROJECT_ROOT / "var" / "networks",
                                     PROJECT_ROOT / "var" / "bench-networks" / "networks")
                         if (d / args.network / "network.json").exists()), None)
    if networks_dir is None:
        raise SystemExit(f"network {args.network!r} is not built; see the module docstring")
    models = load_travel_models(networks_dir, args.network, strict=True)
    rng = random.Random(args.seed)
    places = sample_places(models.for_profile("bicycle"), args.places, rng)
    name, url = scratch_database()
    try:
        engine = make_engine(url)
        sessionmaker = make_sessionmaker(engine)
        async with sessionmaker() as session:
            seller = await seed(session, couriers=args.couriers, places=places, rng=rng)
            await add_orders(session, seller=seller, count=args.orders, places=places, rng=rng)
            await session.commit()
        config = PlannerConfig(solver_time_s=args.solver_time, offer_timeout_s=60,
                               seed=args.seed)
        travel = MatrixCache(Matrices(models))
        cycles = []
        for n in range(args.cycles + 1):
            reassign = args.reassign_every > 0 and n % args.reassign_every == 0
            summary = await run_cycle(store=SqlDispatchStore(sessionmaker, NoLivePositions()),
                                      travel=travel, config=config, now=datetime.now(UTC),
                                      allow_reassign=reassign)
            row = {"cycle": n, "reassign_considered": reassign, "couriers": summary.couriers,
                   "open_orders": summary.open_orders,
                   "offers": len(summary.offers), "assigned": summary.assigned,
                   "unservable": len(summary.unservable), **summary.timings_s,
                   "cpu": summary.cpu_s}
            cycles.append(row)
            print(f"  cycle {n:2d}: {summary.open_orders:3d} open, {len(summary.offers):3d} "
                  f"offers | load {row['load']:.3f} matrix {row['matrix']:.3f} solve "
                  f"{row['solve']:.3f} apply {row['apply']:.3f} total {row['total']:.3f} s",
                  flush=True)
            async with sessionmaker() as session:
                await advance_the_day(session, seller=seller, target_open=args.orders,
                                      new_per_cycle=args.new_per_cycle, places=places, rng=rng)
        await engine.dispose()
    finally:
        drop_database(name)
    warm = cycles[1:]
    phases = ("load", "matrix", "solve", "apply", "total")
    return {
        "benchmark": "dispatch_cycle",
        "network": args.network, "travel_model": models.describe()["profiles"]["bicycle"],
        "couriers": args.couriers, "open_orders": args.orders,
        "solver_time_s": args.solver_time, "warm_cycles": len(warm),
        "cold": {p: cycles[0][p] for p in phases},
        "p50_s": {p: round(statistics.median([c[p] for c in warm]), 4) for p in phases},
        "p99_s": {p: round(_pct([c[p] for c in warm], 99), 4) for p in phases},
        "cpu_p50_s": {p: round(statistics.median([c["cpu"][p] for c in warm]), 4)
                      for p in phases},
        "cpu_p99_s": {p: round(_pct([c["cpu"][p] for c in warm], 99), 4) for p in phases},
        "load_average": os.getloadavg(),
        "cycles": cycles,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "platform": platform.platform()},
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--network", default="porto")
    parser.add_argument("--couriers", type=int, default=200)
    parser.add_argument("--orders", type=int, default=500)
    parser.add_argument("--cycles", type=int, default=10, help="warm cycles after the cold one")
    parser.add_argument("--solver-time", type=float, default=1.0)
    parser.add_argument("--new-per-cycle", type=int, default=25,
                        help="orders arriving between two cycles")
    parser.add_argument("--reassign-every", type=int, default=6,
                        help="consider moving accepted orders every N cycles (the service: "
                        "every 60 s, i.e. every 6th cycle at its 10 s interval); 0: never")
    parser.add_argument("--places", type=int, default=1500, help="distinct addresses sampled")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", type=Path,
                        default=PROJECT_ROOT / "benchmarks" / "results" / "dispatch_cycle.json")
    args = parser.parse_args()
    started = time.perf_counter()
    result = asyncio.run(bench(args))
    print(f"\n{args.couriers} couriers, {args.orders} open orders, solver budget "
          f"{args.solver_time} s, {result['warm_cycles']} warm cycles "
          f"({time.perf_counter() - started:.0f} s wall)")
    print(f"{'phase':8s} {'cold':>8s} {'p50':>8s} {'p99':>8s} {'cpu p50':>8s} {'cpu p99':>8s}")
    for phase in ("load", "matrix", "solve", "apply", "total"):
        print(f"{phase:8s} {result['cold'][phase]:8.3f} {result['p50_s'][phase]:8.3f} "
              f"{result['p99_s'][phase]:8.3f} {result['cpu_p50_s'][phase]:8.3f} "
              f"{result['cpu_p99_s'][phase]:8.3f}")
    print(f"load average (1, 5, 15 min) at the end: {result['load_average']}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2))
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
