"""Map tile latency over HTTP: `GET /api/v1/tiles/{z}/{x}/{y}.mvt` on a running `courier serve`,
uncached (first request of each tile: PostGIS renders it) and cached (the in-process LRU).

Loads the map features of the synthetic demo city (`courier geodata synth` defaults: 4 km,
seed 1) and of the Porto extract into a scratch database, starts `courier serve` on a free
loopback port against it, then for each city and each zoom from 12 to 16 samples up to
`--tiles` tiles inside the city's bounding box and requests each once (uncached), then
`--repeats` more times (cached). Requests go one at a time over one keep-alive connection,
so the figures are latencies, not throughput. Empty tiles (204) are counted like the rest.

    .venv/bin/python benchmarks/tiles_bench.py --json benchmarks/results/tiles.json

Bounded by the number of tiles and repeats; the scratch database is dropped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scratch import drop_database, free_port, scratch_database  # noqa: E402

from geodata.map_store import load_map_features  # noqa: E402
from geodata.map_tiles import TileAddress  # noqa: E402
from geodata.osm_inspect import inspect_osm  # noqa: E402
from geodata.synth_city import generate_city  # noqa: E402
from geodata.synth_osm import write_osm  # noqa: E402

PORTO = ROOT.parent / "shared" / "data" / "osm" / "porto.osm.pbf"


def tile_range(bbox: tuple[float, float, float, float], z: int) -> list[TileAddress]:
    """Every tile of zoom `z` meeting `(min_lon, min_lat, max_lon, max_lat)`."""
    def xy(lon: float, lat: float) -> tuple[int, int]:
        n = 1 << z
        x = int((lon + 180.0) / 360.0 * n)
        y = int((1.0 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2.0 * n)
        return min(max(x, 0), n - 1), min(max(y, 0), n - 1)

    x0, y1 = xy(bbox[0], bbox[1])
    x1, y0 = xy(bbox[2], bbox[3])
    return [TileAddress(z, x, y) for x in range(x0, x1 + 1) for y in range(y0, y1 + 1)]


def percentiles(samples_ms: list[float]) -> dict:
    ordered = sorted(samples_ms)

    def pick(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(math.ceil(q * len(ordered))) - 1)], 2)

    return {"n": len(ordered), "p50_ms": pick(0.50), "p99_ms": pick(0.99),
            "max_ms": round(ordered[-1], 2), "mean_ms": round(statistics.fmean(ordered), 2)}


async def measure_city(http: httpx.AsyncClient, name: str, bbox, *, tiles: int, repeats: int,
                       rng: random.Random) -> dict:
    uncached: list[float] = []
    cached: list[float] = []
    per_zoom = {}
    sizes: list[int] = []
    empty = 0
    for z in range(12, 17):
        addresses = tile_range(bbox, z)
        chosen = rng.sample(addresses, min(tiles, len(addresses)))
        zoom_uncached, zoom_cached = [], []
        for address in chosen:
            path = f"/api/v1/tiles/{address.z}/{address.x}/{address.y}.mvt"
            started = time.perf_counter()
            response = await http.get(path)
            zoom_uncached.append((time.perf_counter() - started) * 1000)
            if response.status_code not in (200, 204):
                raise RuntimeError(f"{path}: {response.status_code} {response.text[:200]}")
            sizes.append(len(response.content))
            empty += response.status_code == 204
        for _ in range(repeats):
            for address in chosen:
                path = f"/api/v1/tiles/{address.z}/{address.x}/{address.y}.mvt"
                started = time.perf_counter()
                response = await http.get(path)
                zoom_cached.append((time.perf_counter() - started) * 1000)
        uncached += zoom_uncached
        cached += zoom_cached
        per_zoom[z] = {"tiles": len(chosen), "of": len(addresses),
                       "uncached": percentiles(zoom_uncached),
                       "cached": percentiles(zoom_cached)}
        print(f"{name:<6} z{z}: {len(chosen):>3} of {len(addresses):>5} tiles  "
              f"uncached p50 {per_zoom[z]['uncached']['p50_ms']:>7} ms "
              f"p99 {per_zoom[z]['uncached']['p99_ms']:>7} ms   "
              f"cached p50 {per_zoom[z]['cached']['p50_ms']:>6} ms "
              f"p99 {per_zoom[z]['cached']['p99_ms']:>6} ms", flush=True)
    result = {"city": name, "bbox": list(bbox), "uncached": percentiles(uncached),
              "cached": percentiles(cached), "per_zoom": per_zoom, "empty_tiles": empty,
              "tile_bytes": {"median": int(statistics.median(sizes)), "max": max(sizes)}}
    print(f"{name:<6} z12-16: uncached p50 {result['uncached']['p50_ms']} ms "
          f"p99 {result['uncached']['p99_ms']} ms; cached p50 {result['cached']['p50_ms']} ms "
          f"p99 {result['cached']['p99_ms']} ms; median tile {result['tile_bytes']['median']} B",
          flush=True)
    return result


async def main_async(args: argparse.Namespace) -> dict:
    dbname, url = scratch_database()
    server = None
    data_dir = Path(tempfile.mkdtemp(prefix="courier-bench-"))
    try:
        cities = []
        demo = write_osm(generate_city(), data_dir / "osm" / "demo.osm.pbf")
        for name, source in (("demo", demo), ("porto", args.porto)):
            loaded = load_map_features(source, name=name, database_url=url)
            bbox = inspect_osm(source).bbox
            print(f"loaded {name}: {loaded.roads} roads, {loaded.water} water, {loaded.parks} "
                  f"parks in {loaded.seconds:.2f} s", flush=True)
            cities.append((name, bbox, loaded))
        port = free_port()
        env = {**os.environ, "COURIER_MODE": "demo", "DATABASE_URL": url,
               "COURIER_REDIS_PREFIX": f"bench-{uuid.uuid4().hex[:6]}:",
               "COURIER_NETWORK": "none", "COURIER_DATA_DIR": str(data_dir),
               "COURIER_DISPATCH_LOOP": "false"}
        server = subprocess.Popen(
            [str(ROOT / ".venv/bin/courier"), "serve", "--host", "127.0.0.1", "--port",
             str(port), "--workers", "1", "--log-level", "warning"], env=env, cwd=ROOT)
        rng = random.Random(args.seed)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30.0) as http:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if (await http.get("/api/v1/readyz")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise TimeoutError("courier serve did not become ready")
                await asyncio.sleep(0.3)
            results = []
            for name, bbox, loaded in cities:
                row = await measure_city(http, name, bbox, tiles=args.tiles,
                                         repeats=args.repeats, rng=rng)
                row["load_s"] = round(loaded.seconds, 3)
                row["roads"] = loaded.roads
                results.append(row)
    finally:
        if server is not None:
            server.terminate()
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()
        drop_database(dbname)
    return {"benchmark": "tiles", "transport": "HTTP/1.1 over loopback to `courier serve` "
            "(1 worker), one request at a time", "tiles_per_zoom": args.tiles,
            "repeats": args.repeats, "seed": args.seed,
            "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                        "platform": platform.platform()},
            "cities": results}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tiles", type=int, default=60, help="tiles sampled per zoom and city")
    parser.add_argument("--repeats", type=int, default=3, help="cached requests per tile")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--porto", type=Path, default=PORTO)
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args()
    result = asyncio.run(main_async(args))
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2) + "\n")
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
