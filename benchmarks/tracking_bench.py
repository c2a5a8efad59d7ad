"""Live-tracking load test: N courier WebSockets against `courier serve --workers 2`, with a
dispatcher feed attached, and the same load against the bare relay (the ceiling).

The courier side is `benchmarks/tracking_loadgen.c` (compiled here with gcc; one epoll loop,
pre-built frames), so the client is not what saturates. The dispatcher side is one Python
WebSocket client that records, for every courier entry in the feed, `now - ts` (the fix's
send time): the courier-to-dispatcher latency. After the run, the points in PostGIS are
counted against the points acknowledged (zero loss means stored >= acked).

    .venv/bin/python benchmarks/tracking_bench.py --couriers 1000 --rates 1 --points 5,10 \
        --measure-s 20 --json benchmarks/results/tracking.json

Everything runs on 127.0.0.1, in a scratch database and a private Redis key prefix.
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
import time
import uuid
from pathlib import Path

import orjson
import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scratch import conninfo, drop_database, free_port, scratch_database  # noqa: E402

from api.security import issue_access_token  # noqa: E402
from api.settings import DEMO_SECRET_KEY  # noqa: E402


def make_people(dbname: str, couriers: int) -> tuple[list[str], str]:
    """Courier users and couriers in bulk (no password hashing), their tokens, a dispatcher."""
    with psycopg.connect(conninfo(dbname)) as conn:
        tag = uuid.uuid4().hex[:6]
        rows = conn.execute(
            "INSERT INTO users (name, role, password_hash) SELECT 'bench-' || %s || '-' || g, "
            "'courier', 'x' FROM generate_series(1, %s) g RETURNING id", (tag, couriers)).fetchall()
        user_ids = [r[0] for r in rows]
        conn.execute(
            "INSERT INTO couriers (user_id, name, vehicle, capacity, shift_state) "
            "SELECT u, 'bench', 'bicycle', 5, 'on' FROM unnest(%s::bigint[]) u", (user_ids,))
        dispatcher = conn.execute(
            "INSERT INTO users (name, role, password_hash) VALUES (%s, 'dispatcher', 'x') "
            "RETURNING id", (f"bench-dispatcher-{tag}",)).fetchone()[0]
        conn.commit()
    tokens = [issue_access_token(user_id=u, role="courier", secret_key=DEMO_SECRET_KEY,
                                 ttl_s=3600)[0] for u in user_ids]
    dispatcher_token = issue_access_token(user_id=dispatcher, role="dispatcher",
                                          secret_key=DEMO_SECRET_KEY, ttl_s=3600)[0]
    return tokens, dispatcher_token


def count_points(dbname: str) -> int:
    with psycopg.connect(conninfo(dbname)) as conn:
        return conn.execute("SELECT count(*) FROM positions").fetchone()[0]


async def wait_http(port: int, timeout: float = 60.0) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient() as http:
        while time.monotonic() < deadline:
            try:
                await http.get(f"http://127.0.0.1:{port}/healthz")
                return
            except httpx.TransportError:
                await asyncio.sleep(0.2)
    raise TimeoutError("server did not start")


async def wait_ws(port: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        except OSError:
            await asyncio.sleep(0.2)
    raise TimeoutError("relay did not start")


class FeedProbe:
    """A dispatcher on `/ws/dispatch` measuring courier-to-dispatcher latency."""

    def __init__(self, url: str, token: str) -> None:
        self.url = url
        self.token = token
        self.latencies_s: list[float] = []
        self.entries = 0
        self.messages = 0
        self.recording = False

    async def run(self) -> None:
        from websockets.asyncio.client import connect

        async with connect(self.url, additional_headers={"Authorization": f"Bearer {self.token}"},
                           max_size=None, open_timeout=30) as ws:
            async for raw in ws:
                now = time.time()
                message = orjson.loads(raw)
                if message.get("type") != "positions":
                    continue
                self.messages += 1
                if not self.recording:
                    continue
                for courier in message["couriers"]:
                    if courier.get("stale"):
                        continue
                    self.entries += 1
                    self.latencies_s.append(now - courier["ts"])


def process_tree_cpu_s(pid: int) -> float:
    """User + system CPU seconds of `pid` and its children (Linux /proc)."""
    tick = os.sysconf("SC_CLK_TCK")
    total, stack = 0.0, [pid]
    while stack:
        current = stack.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
            for task in Path(f"/proc/{current}/task").iterdir():
                children = (task / "children").read_text().split()
                stack.extend(int(c) for c in children)
        except (OSError, IndexError, ValueError):
            continue
    return total


def database_cpu_s(dbname: str) -> float:
    """CPU seconds of the PostgreSQL backends serving the benchmark's database."""
    with psycopg.connect(conninfo(dbname)) as conn:
        pids = [r[0] for r in conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            (dbname,))]
    return sum(process_tree_cpu_s(pid) for pid in pids)


def quantile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


async def run_load(loadgen: Path, port: int, path: str, tokens_file: Path, couriers: int,
                   rate: float, points: int, warmup_s: float, measure_s: float,
                   probe: FeedProbe | None, server_pid: int, dbname: str | None = None) -> dict:
    process = await asyncio.create_subprocess_exec(
        str(loadgen), "127.0.0.1", str(port), path, str(tokens_file), str(couriers), str(rate),
        str(points), str(warmup_s), str(measure_s), stdout=subprocess.PIPE,
        stderr=subprocess.PIPE)
    await process.stderr.readline()  # "connected N": sending starts half a second later
    if probe is not None:
        probe.latencies_s.clear()
        probe.entries = 0
    await asyncio.sleep(warmup_s + 0.5)
    if probe is not None:
        probe.recording = True
    db_before = database_cpu_s(dbname) if dbname else 0.0
    cpu_before, wall_before = process_tree_cpu_s(server_pid), time.monotonic()
    await asyncio.sleep(measure_s * 0.9)
    wall = time.monotonic() - wall_before
    server_cpu_cores = (process_tree_cpu_s(server_pid) - cpu_before) / wall
    db_cpu_cores = ((database_cpu_s(dbname) - db_before) / wall) if dbname else None
    load_average = os.getloadavg()[0]
    out, err = await process.communicate()
    if probe is not None:
        probe.recording = False
    result = json.loads(out)
    result["server_cpu_cores"] = round(server_cpu_cores, 2)
    if db_cpu_cores is not None:
        result["postgres_cpu_cores"] = round(db_cpu_cores, 2)
    result["machine_load_average"] = round(load_average, 1)
    for line in err.decode().splitlines():
        if line.startswith("worst_ack_ms_per_second:"):
            result["worst_ack_ms_per_second"] = [float(x) for x in line.split(":")[1].split()]
    if probe is not None:
        lat = probe.latencies_s
        result.update({
            "feed_entries": probe.entries,
            "feed_p50_ms": None if not lat else round(statistics.median(lat) * 1e3, 2),
            "feed_p99_ms": None if not lat else round(quantile(lat, 0.99) * 1e3, 2),
            "feed_max_ms": None if not lat else round(max(lat) * 1e3, 2),
        })
    return result


async def main_async(args: argparse.Namespace) -> list[dict]:
    loadgen = Path(args.build_dir) / "tracking_loadgen"
    subprocess.run(["gcc", "-O2", "-o", str(loadgen), str(ROOT / "benchmarks/tracking_loadgen.c"),
                    "-lm"], check=True)
    rows: list[dict] = []
    dbname, url = scratch_database()
    server = relay = None
    try:
        tokens, dispatcher_token = make_people(dbname, args.couriers)
        tokens_file = Path(args.build_dir) / "tokens.txt"
        tokens_file.write_text("\n".join(tokens) + "\n")
        loads = [(rate, points) for rate in args.rates for points in args.points]
        if "service" in args.targets:
            port = free_port()
            env = {**os.environ, "COURIER_MODE": "demo", "DATABASE_URL": url,
                   "COURIER_REDIS_PREFIX": f"bench-{uuid.uuid4().hex[:6]}:",
                   "COURIER_NETWORK": "none", "COURIER_DATA_DIR": args.build_dir}
            server = subprocess.Popen(
                [str(ROOT / ".venv/bin/courier"), "serve", "--port", str(port), "--workers",
                 str(args.workers), "--log-level", "warning"], env=env, cwd=ROOT)
            await wait_http(port)
            probe = FeedProbe(f"ws://127.0.0.1:{port}/ws/dispatch", dispatcher_token)
            probe_task = asyncio.create_task(probe.run())
            for rate, points in loads:
                before = count_points(dbname)
                row = await run_load(loadgen, port, "/ws/courier", tokens_file, args.couriers,
                                     rate, points, args.warmup_s, args.measure_s, probe,
                                     server.pid, dbname)
                await asyncio.sleep(1.0)
                stored = count_points(dbname) - before
                row.update({"target": f"courier serve --workers {args.workers}",
                            "stored_points": stored,
                            # every seq up to an ack is stored or reported rejected
                            "lost_acked_points": max(0, row["acked_points_total"]
                                                     - row["rejected_points"] - stored)})
                rows.append(row)
                print(json.dumps(row), flush=True)
                # The next load starts from fresh seqs: new couriers would be cleaner, but the
                # cursors only need seqs to keep growing, so shift them by re-creating tokens.
                tokens, _ = make_people(dbname, args.couriers)
                tokens_file.write_text("\n".join(tokens) + "\n")
            probe_task.cancel()
        if "relay" in args.targets:
            port = free_port()
            relay = subprocess.Popen([sys.executable, str(ROOT / "benchmarks/tracking_relay.py"),
                                      "--port", str(port), "--workers", str(args.workers)],
                                     cwd=ROOT)
            await wait_ws(port)
            await asyncio.sleep(1.0)
            for rate, points in loads:
                row = await run_load(loadgen, port, "/ws/courier", tokens_file, args.couriers,
                                     rate, points, args.warmup_s, args.measure_s, None,
                                     relay.pid)
                row.update({"target": f"bare relay --workers {args.workers}"})
                rows.append(row)
                print(json.dumps(row), flush=True)
    finally:
        for process in (server, relay):
            if process is not None:
                process.terminate()
                try:
                    process.wait(15)
                except subprocess.TimeoutExpired:
                    process.kill()
        drop_database(dbname)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--couriers", type=int, default=1000)
    parser.add_argument("--rates", type=lambda s: [float(x) for x in s.split(",")],
                        default=[1.0], help="messages per second per courier")
    parser.add_argument("--points", type=lambda s: [int(x) for x in s.split(",")],
                        default=[5, 10], help="points per message")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--warmup-s", type=float, default=5.0)
    parser.add_argument("--measure-s", type=float, default=20.0)
    parser.add_argument("--targets", default="service,relay")
    parser.add_argument("--build-dir", default="/tmp/courier-tracking-bench")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    Path(args.build_dir).mkdir(parents=True, exist_ok=True)
    rows = asyncio.run(main_async(args))
    machine = {"cpus": os.cpu_count(), "platform": platform.platform(),
               "python": platform.python_version(),
               "cpu": next((line.split(":", 1)[1].strip() for line in
                            Path("/proc/cpuinfo").read_text().splitlines()
                            if line.startswith("model name")), None)}
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"machine": machine, "command": " ".join(sys.argv),
                                         "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
