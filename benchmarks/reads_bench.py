"""Authenticated reads under load, beside `/healthz`, with wrk.

    .venv/bin/python benchmarks/reads_bench.py [--workers 2] [--seconds 10] [--connections 16]
        [--json benchmarks/results/reads.json]

Starts `courier serve --workers N` (straight-line travel model, planner loop off) on a scratch
database with 200 couriers on shift and 500 orders (100 of them assigned, so routes have
stops), signs in a dispatcher, and runs `wrk` (one thread, pinned to the last core with
`taskset` when there is more than one) against each endpoint in turn: `/healthz` (no auth, no
database), `GET /api/v1/users/me`, `/api/v1/couriers?limit=50`, `/api/v1/orders?limit=50` and
`/api/v1/couriers/{id}/route`. Prints requests/s and latency percentiles per endpoint and the
ratio to `/healthz` measured in the same run; `--json` writes them.

Needs `wrk` (`apt-get install wrk`).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scratch import drop_database, free_port, scratch_database  # noqa: E402

PROJECT_ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "bench-passphrase"
CENTRE = (41.311, 69.279)
ZONE = {"type": "Polygon", "coordinates": [[[69.20, 41.25], [69.36, 41.25], [69.36, 41.36],
                                            [69.20, 41.36], [69.20, 41.25]]]}


def _cli(env: dict, *args: str) -> None:
    subprocess.run([sys.executable, "-m", "api.cli", *args], cwd=PROJECT_ROOT, env=env,
                   check=True, capture_output=True, timeout=300)


def _wait_ready(base: str, process: subprocess.Popen) -> None:
    for _ in range(300):
        if process.poll() is not None:
            raise RuntimeError("courier serve exited")
        try:
            if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise TimeoutError("courier serve did not become ready")


def _seed(base: str, env: dict, couriers: int, orders: int) -> tuple[str, int]:
    _cli(env, "users", "add", "bench-admin", "--role", "admin", "--password", PASSWORD)
    with httpx.Client(base_url=f"{base}/api/v1", timeout=60) as http:
        def login(name: str) -> dict:
            answer = http.post("/auth/token", data={"username": name, "password": PASSWORD})
            answer.raise_for_status()
            return {"Authorization": f"Bearer {answer.json()['access_token']}"}

        admin = login("bench-admin")
        http.post("/zones", headers=admin, json={"name": "bench", "geometry": ZONE}
                  ).raise_for_status()
        for role in ("dispatcher", "seller", "buyer"):
            http.post("/users", headers=admin, json={"name": f"bench-{role}", "role": role,
                                                      "password": PASSWORD}).raise_for_status()
        dispatcher, seller = login("bench-dispatcher"), login("bench-seller")
        courier_ids = []
        for i in range(couriers):
            name = f"bench-courier-{i}"
            user = http.post("/users", headers=admin, json={"name": name, "role": "courier",
                                                             "password": PASSWORD})
            user.raise_for_status()
            made = http.post("/couriers", headers=dispatcher, json={
                "user_id": user.json()["id"], "name": name, "vehicle": "bicycle", "capacity": 8})
            made.raise_for_status()
            courier_ids.append(made.json()["id"])
            lat, lon = CENTRE[0] + (i % 20) * 0.002, CENTRE[1] + (i // 20) * 0.002
            if i < 20:  # the couriers that get orders assigned start their shift with a place
                http.post(f"/couriers/{made.json()['id']}/shift", headers=login(name),
                          json={"action": "start", "lat": lat, "lon": lon}).raise_for_status()
        for i in range(orders):
            lat, lon = CENTRE[0] + (i % 25) * 0.001, CENTRE[1] + (i // 25) * 0.001
            made = http.post("/orders", headers=seller, json={
                "pickup": {"lat": lat, "lon": lon}, "dropoff": {"lat": lat + 0.01, "lon": lon},
                "size": 1, "external_id": f"bench-{uuid.uuid4().hex[:10]}"})
            made.raise_for_status()
            if i < 100:
                http.post(f"/orders/{made.json()['id']}/assign", headers=dispatcher,
                          json={"courier_id": courier_ids[i % 20]}).raise_for_status()
        return dispatcher["Authorization"], courier_ids[0]


LATENCY = re.compile(r"^\s+(50|90|99)%\s+([\d.]+)(us|ms|s)\s*$", re.M)


def _wrk(url: str, token: str | None, seconds: int, connections: int) -> dict:
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", url]
    if token:
        command[1:1] = ["-H", f"Authorization: {token}"]
    if (os.cpu_count() or 1) > 1 and shutil.which("taskset"):
        command = ["taskset", "-c", str((os.cpu_count() or 1) - 1), *command]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}
    latency = {f"p{p}_ms": round(float(v) * scale[u], 2) for p, v, u in LATENCY.findall(out)}
    return {"requests_per_s": rps, "non_2xx": int(errors.group(1)) if errors else 0, **latency}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--couriers", type=int, default=200)
    parser.add_argument("--orders", type=int, default=500)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed (apt-get install wrk)")
    name, url = scratch_database()
    port = free_port()
    env = {**os.environ, "DATABASE_URL": url, "COURIER_MODE": "demo",
           "COURIER_REDIS_PREFIX": f"bench-{uuid.uuid4().hex[:8]}:", "COURIER_NETWORK": "none",
           "COURIER_DISPATCH_LOOP": "false", "COURIER_DATA_DIR": f"/tmp/{name}"}
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [sys.executable, "-m", "api.cli", "serve", "--port", str(port), "--workers",
         str(args.workers), "--log-level", "warning", "--no-access-log"],
        cwd=PROJECT_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_ready(base, server)
        token, courier_id = _seed(base, env, args.couriers, args.orders)
        targets = [("/healthz", None), ("/api/v1/users/me", token),
                   ("/api/v1/couriers?limit=50", token), ("/api/v1/orders?limit=50", token),
                   (f"/api/v1/couriers/{courier_id}/route", token)]
        results = {}
        for path, auth in targets:
            _wrk(base + path, auth, 2, args.connections)  # warm-up
            results[path] = _wrk(base + path, auth, args.seconds, args.connections)
        health = results["/healthz"]["requests_per_s"]
        print(f"courier serve --workers {args.workers}; wrk -t1 -c{args.connections} "
              f"-d{args.seconds}s")
        print(f"{'endpoint':40} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'vs healthz':>10}")
        for path, r in results.items():
            print(f"{path:40} {r['requests_per_s']:9.0f} {r.get('p50_ms', 0):8.2f} "
                  f"{r.get('p99_ms', 0):8.2f} {r['requests_per_s'] / health:10.2f}"
                  + (f"  ({r['non_2xx']} non-2xx!)" if r["non_2xx"] else ""))
        if args.json:
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(json.dumps({"workers": args.workers, "seconds": args.seconds,
                                             "connections": args.connections,
                                             "results": results}, indent=2))
    finally:
        server.terminate()
        try:
            server.wait(15)
        except subprocess.TimeoutExpired:
            server.kill()
        drop_database(name)


if __name__ == "__main__":
    main()
