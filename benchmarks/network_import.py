"""Benchmark: import an OSM extract into OSRM data (time per step, peak memory).

    .venv/bin/python benchmarks/network_import.py                       # Porto, bicycle, CH+MLD
    .venv/bin/python benchmarks/network_import.py --profile bicycle --profile car --algorithm mld

Every run builds from scratch into a fresh temporary folder (no reuse), prints one line
per profile and writes JSON to ``benchmarks/results/network_import.json``. Peak memory
is the largest resident set of any OSRM tool process (``getrusage(RUSAGE_CHILDREN)``)
and of this Python process. Data © OpenStreetMap contributors.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT_ROOT))

from geodata.network_import import import_network  # noqa: E402
from geodata.profiles import PROFILES, osrm_version  # noqa: E402

DEFAULT_OSM = PROJECT_ROOT.parent / "shared" / "data" / "osm" / "porto.osm.pbf"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--osm", type=Path, default=DEFAULT_OSM)
    parser.add_argument("--profile", action="append", choices=PROFILES)
    parser.add_argument("--algorithm", choices=["mld", "both"], default="both")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument(
        "--json", type=Path, default=PROJECT_ROOT / "benchmarks" / "results" / "network_import.json"
    )
    args = parser.parse_args()
    profiles = args.profile or ["bicycle"]
    algorithms = ["mld"] if args.algorithm == "mld" else ["ch", "mld"]

    workdir = Path(tempfile.mkdtemp(prefix="network-import-bench-", dir=PROJECT_ROOT / "var"))
    try:
        started = time.perf_counter()
        result = import_network(
            args.osm,
            name="bench",
            networks_dir=workdir,
            profiles=profiles,
            algorithms=algorithms,
            threads=args.threads,
            progress=lambda msg: print(f"  {msg}", flush=True),
        )
        total_s = time.perf_counter() - started
        rows = []
        for profile in result.info.profiles:
            build = json.loads((result.info.path / profile / "build.json").read_text())
            size_mb = sum(f.stat().st_size for f in (result.info.path / profile).iterdir()) / 1e6
            rows.append(
                {
                    "profile": profile,
                    "seconds": build["seconds"],
                    "total_s": round(sum(build["seconds"].values()), 2),
                    "disk_mb": round(size_mb, 1),
                }
            )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    children_peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    self_peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    report = {
        "benchmark": "network_import",
        "osm": str(args.osm),
        "osm_mb": round(args.osm.stat().st_size / 1e6, 2),
        "algorithms": algorithms,
        "profiles": rows,
        "total_s": round(total_s, 2),
        "peak_rss_mb_osrm_tools": round(children_peak_mb, 1),
        "peak_rss_mb_python": round(self_peak_mb, 1),
        "osrm_version": osrm_version(),
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
        },
    }
    for row in rows:
        steps = ", ".join(f"{k} {v:.1f}s" for k, v in row["seconds"].items())
        print(
            f"{row['profile']:8s} {row['total_s']:7.1f} s  ({steps})  {row['disk_mb']} MB on disk"
        )
    print(
        f"total {report['total_s']} s (incl. OSM check and hashing); peak RSS: OSRM tools "
        f"{report['peak_rss_mb_osrm_tools']} MB, Python {report['peak_rss_mb_python']} MB"
    )
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
