"""Benchmark: many-to-many travel matrices on a real city, including conversion to numpy.

    .venv/bin/python benchmarks/travel_matrix.py           # Porto, bicycle, CH, 1000 and 2000
    .venv/bin/python benchmarks/travel_matrix.py --algorithm mld --sizes 250 1000 --runs 1

Imports Porto first if needed (cached in ``var/bench-networks``; idempotent). Points are
uniform in a 16 x 16 km square around central Porto -- a city-sized dispatch area --
keeping only points with a road within 500 m (the model's snapping limit), so no run
fails on a point in the river or the sea. Each size is timed ``--runs`` times after one
warm-up; the median is reported for

* ``matrix_s``: ``OsrmTravelModel.matrix()`` end to end -- validation, de-duplication,
  one OSRM Table call, conversion of both tables to float64 numpy arrays;
* ``table_call_s``: the bare ``osrm.OSRM.Table`` call on the same points (no conversion),
  so ``matrix_s - table_call_s`` is the Python-side overhead (with ``--workers 0``).

``--heap default`` leaves glibc's malloc trimming as it is, to show what
:mod:`geodata.heap` (freed memory kept mapped, the service's setting) saves.

``--workers N`` splits each matrix over N extra processes (``matrix_workers``); the
first call, which starts them, is the warm-up and is not timed.

Prints a table and writes ``benchmarks/results/travel_matrix.json``. Data © OpenStreetMap
contributors.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import sys
import time
from pathlib import Path

import numpy as np

PROJECT_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT_ROOT))

from geodata.exceptions import PointOffNetwork  # noqa: E402
from geodata.network_import import import_network  # noqa: E402
from geodata.points import LatLon  # noqa: E402
from geodata.profiles import PROFILES, osrm_version  # noqa: E402
from geodata.travel import OsrmTravelModel, load_travel_models  # noqa: E402

DEFAULT_OSM = PROJECT_ROOT.parent / "shared" / "data" / "osm" / "porto.osm.pbf"
PORTO_CENTRE = (41.1496, -8.6110)
HALF_SIDE_DEG = (0.072, 0.096)  # ~8 km in latitude and longitude at 41 N


def sample_points(model: OsrmTravelModel, count: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    chosen: list[tuple[float, float]] = []
    while len(chosen) < count:
        lat = PORTO_CENTRE[0] + rng.uniform(-HALF_SIDE_DEG[0], HALF_SIDE_DEG[0])
        lon = PORTO_CENTRE[1] + rng.uniform(-HALF_SIDE_DEG[1], HALF_SIDE_DEG[1])
        try:
            model.snap(LatLon(lat, lon))
        except PointOffNetwork:
            continue
        chosen.append((lat, lon))
    return np.array(chosen)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--osm", type=Path, default=DEFAULT_OSM)
    parser.add_argument("--profile", choices=PROFILES, default="bicycle")
    parser.add_argument("--algorithm", choices=["ch", "mld"], default="ch")
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 2000])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--workers", type=int, default=0, help="extra processes per matrix (matrix_workers)"
    )
    parser.add_argument(
        "--heap",
        choices=["retain", "default"],
        default="retain",
        help="retain: keep freed memory mapped, as the service does; default: glibc's trimming",
    )
    parser.add_argument("--data-dir", type=Path, default=PROJECT_ROOT / "var" / "bench-networks")
    parser.add_argument(
        "--json", type=Path, default=PROJECT_ROOT / "benchmarks" / "results" / "travel_matrix.json"
    )
    args = parser.parse_args()

    if args.heap == "default":
        import geodata.osrm_travel

        geodata.osrm_travel.retain_freed_memory = lambda: False  # type: ignore[assignment]

    networks_dir = args.data_dir / "networks"
    imported = import_network(
        args.osm,
        name="porto",
        networks_dir=networks_dir,
        profiles=[args.profile],
        algorithms=["ch", "mld"],
        progress=lambda msg: print(f"  {msg}", flush=True),
    )
    models = load_travel_models(
        networks_dir, imported.info.name, algorithm=args.algorithm, matrix_workers=args.workers
    )
    model = models.for_profile(args.profile)
    assert isinstance(model, OsrmTravelModel)
    import osrm

    points = sample_points(model, max(args.sizes), args.seed)
    rows = []
    for size in args.sizes:
        pts = points[:size]
        model.matrix(pts)  # warm-up: page in the data the searches touch
        matrix_s, table_s = [], []
        unreachable = 0
        for _ in range(args.runs):
            t0 = time.perf_counter()
            result = model.matrix(pts)
            matrix_s.append(time.perf_counter() - t0)
            unreachable = int((~result.reachable).sum())
            params = osrm.TableParameters(
                coordinates=[(lon, lat) for lat, lon in pts.tolist()],
                annotations=["duration", "distance"],
                radiuses=[model.max_snap_distance_m] * size,
            )
            t0 = time.perf_counter()
            model._engine.Table(params)  # noqa: SLF001 - the bare engine call, for comparison
            table_s.append(time.perf_counter() - t0)
        row = {
            "size": f"{size}x{size}",
            "runs": args.runs,
            "matrix_s_median": round(statistics.median(matrix_s), 3),
            "matrix_s_all": [round(v, 3) for v in matrix_s],
            "table_call_s_median": round(statistics.median(table_s), 3),
            "python_overhead_s": round(statistics.median(matrix_s) - statistics.median(table_s), 3),
            "unreachable_pairs": unreachable,
        }
        rows.append(row)
        print(
            f"{row['size']:>10s}  matrix {row['matrix_s_median']:6.2f} s (median of "
            f"{args.runs}: {row['matrix_s_all']})  bare Table {row['table_call_s_median']:6.2f} s  "
            f"unreachable pairs {unreachable}",
            flush=True,
        )

    report = {
        "benchmark": "travel_matrix",
        "network": "porto",
        "profile": args.profile,
        "algorithm": args.algorithm,
        "matrix_workers": args.workers,
        "heap": args.heap,
        "load_average_at_end": list(os.getloadavg()),
        "points": "uniform in 16x16 km around central Porto, within 500 m of a road",
        "results": rows,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "osrm_version": osrm_version(),
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
        },
    }
    print(f"peak RSS {report['peak_rss_mb']} MB")
    if args.json.name == "travel_matrix.json" and (
        args.workers or args.algorithm != "ch" or args.heap != "retain"
    ):
        args.json = args.json.with_name(
            f"travel_matrix_{args.algorithm}_w{args.workers}_{args.heap}.json"
        )
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
