"""Custody handoff load test: throughput and latency of `POST /handoffs/scan` against a running
`courier serve`, plus the pure verifier's throughput and the QR version of real tokens.

For each concurrency level it prepares fresh orders through the API (create, assign, issue the
pickup token), then fires every order's scan with that many requests in flight: each accepted
scan verifies the Ed25519 signature, locks the order, checks courier and place, claims the
token in Redis, moves the order and appends a hash-chained custody entry in one transaction.
The same tokens are then replayed, measuring the refusal path (`handoff_token_used`), and the
same number of `GET /users/me` gives the floor every authenticated request pays on the machine.

    .venv/bin/python benchmarks/handoff_scan.py --orders 300 --concurrency 1,8,32 \
        --workers 2 --json benchmarks/results/handoff_scan.json

Everything runs on 127.0.0.1, in a scratch database and a private Redis key prefix; the run is
bounded by the number of orders (no open-ended loops).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scratch import conninfo, drop_database, free_port, scratch_database  # noqa: E402

from api.security import issue_access_token  # noqa: E402
from api.settings import DEMO_SECRET_KEY  # noqa: E402

PICKUP = {"lat": 41.311, "lon": 69.279, "address": "Amir Temur 1"}
DROPOFF = {"lat": 41.300, "lon": 69.240, "address": "Navoi 10"}
ZONE = {"type": "Polygon", "coordinates": [[[69.20, 41.25], [69.36, 41.25], [69.36, 41.36],
                                            [69.20, 41.36], [69.20, 41.25]]]}


def _token(user_id: int, role: str) -> dict[str, str]:
    token = issue_access_token(user_id=user_id, role=role, secret_key=DEMO_SECRET_KEY,
                               ttl_s=3600)[0]
    return {"Authorization": f"Bearer {token}"}


def make_people(dbname: str, couriers: int) -> dict:
    """Seller, dispatcher and couriers in bulk (no password hashing), plus the service zone."""
    tag = uuid.uuid4().hex[:6]
    with psycopg.connect(conninfo(dbname)) as conn:
        def user(role: str) -> int:
            return conn.execute("INSERT INTO users (name, role, password_hash) VALUES "
                                "(%s, %s, 'x') RETURNING id",
                                (f"bench-{role}-{tag}", role)).fetchone()[0]

        seller, dispatcher = user("seller"), user("dispatcher")
        courier_users = [r[0] for r in conn.execute(
            "INSERT INTO users (name, role, password_hash) SELECT 'bench-c-' || %s || '-' || g, "
            "'courier', 'x' FROM generate_series(1, %s) g RETURNING id", (tag, couriers))]
        courier_ids = [r[0] for r in conn.execute(
            "INSERT INTO couriers (user_id, name, vehicle, capacity, shift_state) "
            "SELECT u, 'bench', 'bicycle', 100000, 'on' FROM unnest(%s::bigint[]) u "
            "RETURNING id", (courier_users,))]
        conn.execute("INSERT INTO zones (name, area) VALUES (%s, ST_Multi(ST_SetSRID("
                     "ST_GeomFromGeoJSON(%s), 4326))::geography)",
                     (f"bench-{tag}", json.dumps(ZONE)))
        conn.commit()
    return {"seller": _token(seller, "seller"), "dispatcher": _token(dispatcher, "dispatcher"),
            "couriers": [(cid, _token(uid, "courier"))
                         for cid, uid in zip(courier_ids, courier_users, strict=True)]}


async def bounded(concurrency: int, jobs):
    semaphore = asyncio.Semaphore(concurrency)

    async def run(job):
        async with semaphore:
            return await job()

    return await asyncio.gather(*[run(job) for job in jobs])


async def prepare(http: httpx.AsyncClient, people: dict, orders: int) -> list[tuple[dict, str]]:
    """`orders` assigned orders with a live pickup token: [(courier headers, token)]."""

    async def one(index: int):
        created = await http.post("/api/v1/orders", headers=people["seller"], json={
            "external_id": f"bench-{uuid.uuid4().hex[:12]}", "pickup": PICKUP,
            "dropoff": DROPOFF, "size": 1, "cod_amount": "50000.00"})
        created.raise_for_status()
        order_id = created.json()["id"]
        courier_id, headers = people["couriers"][index % len(people["couriers"])]
        (await http.post(f"/api/v1/orders/{order_id}/assign", headers=people["dispatcher"],
                         json={"courier_id": courier_id})).raise_for_status()
        issued = await http.post(f"/api/v1/orders/{order_id}/handoff-tokens",
                                 headers=people["seller"], json={"leg": "pickup"})
        issued.raise_for_status()
        return headers, issued.json()["token"]

    return await bounded(16, [lambda i=i: one(i) for i in range(orders)])


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))]


async def fire(http: httpx.AsyncClient, scans: list[tuple[dict, str]], concurrency: int,
               expected_status: int, *, baseline: bool = False) -> dict:
    """Sends every scan with `concurrency` in flight; `baseline` sends `GET /users/me` instead
    (the cheapest authenticated request: what the framework, auth and machine cost alone)."""
    latencies_ms: list[float] = []
    unexpected: list[str] = []

    async def one(headers: dict, token: str):
        started = time.perf_counter()
        if baseline:
            response = await http.get("/api/v1/users/me", headers=headers)
        else:
            response = await http.post("/api/v1/handoffs/scan", headers=headers,
                                       json={"token": token, "lat": PICKUP["lat"],
                                             "lon": PICKUP["lon"]})
        latencies_ms.append((time.perf_counter() - started) * 1000)
        if response.status_code != expected_status:
            unexpected.append(response.text[:200])

    started = time.perf_counter()
    await bounded(concurrency, [lambda h=h, t=t: one(h, t) for h, t in scans])
    wall_s = time.perf_counter() - started
    return {"requests": len(scans), "unexpected": len(unexpected),
            "unexpected_sample": unexpected[:3], "wall_s": round(wall_s, 3),
            "throughput_rps": round(len(scans) / wall_s, 1),
            "p50_ms": round(statistics.median(latencies_ms), 2),
            "p99_ms": round(percentile(latencies_ms, 99), 2),
            "max_ms": round(max(latencies_ms), 2)}


def pure_verification(seconds: float) -> dict:
    """Signature and claims verification only, in this process (no HTTP, no database)."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from custody.tokens import (
        HandoffClaims,
        KeyRing,
        Leg,
        SigningKey,
        new_token_id,
        sign_handoff_token,
        verify_handoff_token,
    )

    ring = KeyRing((SigningKey.from_private(Ed25519PrivateKey.generate()),))
    now_s = int(time.time())
    tokens = [sign_handoff_token(HandoffClaims(order_id=100_000 + i, leg=Leg.PICKUP,
                                               courier_id=1_000 + i, token_id=new_token_id(),
                                               issued_at_s=now_s, expires_at_s=now_s + 900),
                                 ring) for i in range(256)]
    count, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        for token in tokens:
            verify_handoff_token(token, ring)
        count += len(tokens)
    elapsed = time.perf_counter() - started
    return {"verifications": count, "seconds": round(elapsed, 3),
            "verifications_per_s": round(count / elapsed),
            "mean_us": round(elapsed / count * 1e6, 1)}


def qr_versions(tokens: list[str]) -> dict:
    import segno

    versions = [segno.make(t, error="m", micro=False).version for t in tokens]
    lengths = [len(t) for t in tokens]
    return {"error_level": "M", "max_version": max(versions), "min_version": min(versions),
            "max_token_chars": max(lengths), "min_token_chars": min(lengths)}


async def main_async(args: argparse.Namespace) -> dict:
    dbname, url = scratch_database()
    server = None
    data_dir = tempfile.mkdtemp(prefix="courier-bench-")
    try:
        people = make_people(dbname, args.couriers)
        port = free_port()
        env = {**os.environ, "COURIER_MODE": "demo", "DATABASE_URL": url,
               "COURIER_REDIS_PREFIX": f"bench-{uuid.uuid4().hex[:6]}:",
               "COURIER_NETWORK": "none", "COURIER_DATA_DIR": data_dir}
        server = subprocess.Popen(
            [str(ROOT / ".venv/bin/courier"), "serve", "--host", "127.0.0.1", "--port",
             str(port), "--workers", str(args.workers), "--log-level", "warning"],
            env=env, cwd=ROOT)
        limits = httpx.Limits(max_connections=max(args.concurrency) + 16)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", limits=limits,
                                     timeout=30.0) as http:
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
            rows, all_tokens = [], []
            for concurrency in args.concurrency:
                scans = await prepare(http, people, args.orders)
                all_tokens.extend(token for _, token in scans)
                baseline = await fire(http, scans, concurrency, expected_status=200,
                                      baseline=True)
                accepted = await fire(http, scans, concurrency, expected_status=200)
                replayed = await fire(http, scans, concurrency, expected_status=409)
                row = {"concurrency": concurrency, "accepted": accepted, "replayed": replayed,
                       "baseline_users_me": baseline}
                rows.append(row)
                for name, figures in (("scan accepted", accepted), ("scan replayed", replayed),
                                      ("GET /users/me", baseline)):
                    print(f"concurrency {concurrency:>3} {name:<14} "
                          f"{figures['throughput_rps']:>7} req/s  p50 {figures['p50_ms']:>8} ms"
                          f"  p99 {figures['p99_ms']:>8} ms  unexpected {figures['unexpected']}",
                          flush=True)
    finally:
        if server is not None:
            server.terminate()
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()
        drop_database(dbname)
    verification = pure_verification(args.verify_seconds)
    print(f"pure verifier: {verification['verifications_per_s']} tokens/s "
          f"({verification['mean_us']} us each)")
    qr = qr_versions(all_tokens)
    print(f"QR at level M: version {qr['min_version']}..{qr['max_version']} for tokens of "
          f"{qr['min_token_chars']}..{qr['max_token_chars']} characters")
    return {"benchmark": "handoff_scan", "workers": args.workers, "orders": args.orders,
            "couriers": args.couriers, "machine": {"cpus": os.cpu_count(),
                                                   "python": platform.python_version(),
                                                   "platform": platform.platform()},
            "scan": rows, "pure_verification": verification, "qr": qr}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=300, help="orders per concurrency level")
    parser.add_argument("--concurrency", default="1,8,32",
                        help="comma-separated numbers of requests in flight")
    parser.add_argument("--couriers", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--verify-seconds", type=float, default=2.0)
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args()
    args.concurrency = [int(c) for c in args.concurrency.split(",")]
    if args.orders < 1 or args.orders > 20_000 or max(args.concurrency) > 512:
        parser.error("keep the run bounded: 1..20000 orders, at most 512 in flight")
    result = asyncio.run(main_async(args))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2) + "\n")
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
