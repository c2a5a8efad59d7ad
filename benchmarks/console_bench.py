"""The dispatcher console under a live fleet, measured in the browser.

Starts `courier serve` on a scratch database, creates N on-shift couriers (2,000 by default)
and M open orders (500), then feeds one fix per courier per second over `/ws/courier` with
`benchmarks/tracking_loadgen.c` (`ts` = wall clock at sending). Debian's Chromium (headless,
SwiftShader WebGL) opens `/console/` and the figures come from the page itself:

* first paint (with no fixes flowing, three page loads, and again under the fleet's load):
  the `orders-rendered` performance mark, the first frame that draws the open
  orders, in ms after navigation start (the couriers' snapshot arrives with them);
* frames per second: `requestAnimationFrame` callbacks counted over the window;
* fix → marker latency: for every fix of a `positions` message, the wall-clock time of the
  first frame drawn after the couriers' source took it in, minus the fix's `ts`
  (`couriers-rendered` marks);

each at two views: the city zoomed out (couriers clustered) and a street zoom (each courier's
own icon, most of the fleet in view). Also reports the built bundle's size, raw and gzip.

    .venv/bin/python benchmarks/console_bench.py --json benchmarks/results/console.json
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from scratch import conninfo, drop_database, free_port, scratch_database  # noqa: E402
from tracking_bench import make_people, wait_http  # noqa: E402

from api.security import issue_access_token  # noqa: E402
from api.settings import DEMO_SECRET_KEY  # noqa: E402

CHROMIUM = os.environ.get("COURIER_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--use-gl=angle",
                 "--use-angle=swiftshader", "--enable-unsafe-swiftshader"]
#: The load generator's couriers lie on a grid: 100 rows 0.001° apart from 41.25 N, columns
#: 0.001° apart from 69.21 E.
AREA = {"south": 41.245, "north": 41.355, "west": 69.205, "east": 69.245}
VIEWS = {"city (clustered, zoom 12)": {"center": [69.225, 41.30], "zoom": 12},
         "district (dots, zoom 13)": {"center": [69.225, 41.30], "zoom": 13},
         "street (icons, zoom 14)": {"center": [69.225, 41.29], "zoom": 14}}


def quantile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def bundle_size(dist: Path) -> dict:
    files = [p for p in (dist / "assets").iterdir() if p.suffix in (".js", ".css")]
    raw = {p.name: p.stat().st_size for p in files}
    zipped = {p.name: len(gzip.compress(p.read_bytes(), 9)) for p in files}
    console = [n for n in raw if not n.startswith("buyer-")]
    return {"files": {n: {"raw": raw[n], "gzip": zipped[n]} for n in sorted(raw)},
            "console_raw_bytes": sum(raw[n] for n in console),
            "console_gzip_bytes": sum(zipped[n] for n in console),
            "total_raw_bytes": sum(raw.values()), "total_gzip_bytes": sum(zipped.values())}


def make_orders(base: str, dispatcher_token: str, seller_token: str, count: int) -> None:
    rng = random.Random(7)
    with httpx.Client(base_url=base, timeout=30) as http:
        zone = {"type": "Polygon", "coordinates": [[
            [AREA["west"], AREA["south"]], [AREA["east"], AREA["south"]],
            [AREA["east"], AREA["north"]], [AREA["west"], AREA["north"]],
            [AREA["west"], AREA["south"]]]]}
        answer = http.post("/api/v1/zones", json={"name": "bench", "geometry": zone},
                           headers={"Authorization": f"Bearer {dispatcher_token}"})
        answer.raise_for_status()

        def place() -> dict:
            return {"lat": rng.uniform(AREA["south"] + 0.005, AREA["north"] - 0.005),
                    "lon": rng.uniform(AREA["west"] + 0.005, AREA["east"] - 0.005)}

        for i in range(count):
            answer = http.post("/api/v1/orders", headers={
                "Authorization": f"Bearer {seller_token}"}, json={
                "external_id": f"bench-{i}", "pickup": place(), "dropoff": place(), "size": 1})
            answer.raise_for_status()


def make_seller(dbname: str) -> str:
    with psycopg.connect(conninfo(dbname)) as conn:
        seller = conn.execute(
            "INSERT INTO users (name, role, password_hash) VALUES (%s, 'seller', 'x') "
            "RETURNING id", (f"bench-seller-{uuid.uuid4().hex[:6]}",)).fetchone()[0]
        conn.commit()
    return issue_access_token(user_id=seller, role="seller", secret_key=DEMO_SECRET_KEY,
                              ttl_s=3600)[0]


async def measure_view(page, view: dict, settle_s: float, measure_s: float) -> dict:
    await page.evaluate("(v) => window.__consoleMap.jumpTo(v)", view)
    await asyncio.sleep(settle_s)
    await page.evaluate("window.__console.fixLatenciesMs.length = 0")
    frames0 = await page.evaluate("window.__console.frames")
    t0 = time.monotonic()
    await asyncio.sleep(measure_s)
    frames1, latencies = await page.evaluate(
        "[window.__console.frames, window.__console.fixLatenciesMs.slice()]")
    wall = time.monotonic() - t0
    visible = await page.evaluate(
        "window.__consoleMap.queryRenderedFeatures({layers: ['couriers', 'courier-dots', "
        "'clusters']})"
        ".reduce((n, f) => n + (f.properties.point_count || 1), 0)")
    icons = await page.evaluate(
        "window.__consoleMap.queryRenderedFeatures({layers: ['couriers']}).length")
    return {"fps": round((frames1 - frames0) / wall, 1), "fixes_measured": len(latencies),
            "latency_p50_ms": round(statistics.median(latencies), 1) if latencies else None,
            "latency_p99_ms": round(quantile(latencies, 0.99), 1) if latencies else None,
            "latency_max_ms": round(max(latencies), 1) if latencies else None,
            "couriers_in_view": visible, "courier_icons_drawn": icons}


async def quiet_first_paint(base: str, token: str, args) -> dict:
    """First paint with the open orders and the idle fleet, before any fix flows."""
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS,
                                           headless=True)
        runs = []
        for _ in range(3):
            page = await browser.new_page(viewport={"width": args.width, "height": args.height})
            await page.add_init_script(
                f"sessionStorage.setItem('courier.console.token', {json.dumps(token)});")
            await page.goto(f"{base}/console/")
            await page.wait_for_function(
                "window.__console && window.__console.ordersRenderedMs", timeout=60_000)
            runs.append(await page.evaluate(
                "performance.getEntriesByName('orders-rendered')[0].startTime"))
            await page.close()
        await browser.close()
    return {"first_paint_ms_runs": [round(r, 1) for r in runs],
            "first_paint_ms_median": round(statistics.median(runs), 1)}


async def drive_browser(base: str, token: str, args) -> dict:
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS,
                                           headless=True)
        page = await browser.new_page(viewport={"width": args.width, "height": args.height})
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        await page.add_init_script(
            f"sessionStorage.setItem('courier.console.token', {json.dumps(token)});"
            "localStorage.setItem('courier.console.view', JSON.stringify("
            f"{json.dumps(VIEWS['city (clustered, zoom 12)'])}));")
        started = time.monotonic()
        await page.goto(f"{base}/console/")
        await page.wait_for_function("window.__console && window.__console.ordersRenderedMs",
                                     timeout=60_000)
        first = await page.evaluate(
            "[performance.getEntriesByName('orders-rendered')[0].startTime,"
            " window.__console.orders, window.__console.couriers]")
        result = {"first_paint_ms": round(first[0], 1), "orders_drawn": first[1],
                  "couriers_drawn_at_first_paint": first[2],
                  "wall_to_first_paint_s": round(time.monotonic() - started, 2), "views": {}}
        for name, view in VIEWS.items():
            result["views"][name] = await measure_view(page, view, args.settle_s,
                                                       args.measure_s)
            print(name, json.dumps(result["views"][name]), flush=True)
        result["page_errors"] = errors
        await page.screenshot(path=str(Path(args.build_dir) / "console-bench.png"))
        await browser.close()
        return result


async def main_async(args) -> dict:
    build = Path(args.build_dir)
    build.mkdir(parents=True, exist_ok=True)
    loadgen = build / "tracking_loadgen"
    subprocess.run(["gcc", "-O2", "-o", str(loadgen), str(ROOT / "benchmarks/tracking_loadgen.c"),
                    "-lm"], check=True)
    dbname, url = scratch_database()
    server = load = None
    try:
        tokens, dispatcher_token = make_people(dbname, args.couriers)
        tokens_file = build / "tokens.txt"
        tokens_file.write_text("\n".join(tokens) + "\n")
        port = free_port()
        env = {**os.environ, "COURIER_MODE": "demo", "DATABASE_URL": url,
               "COURIER_REDIS_PREFIX": f"bench-{uuid.uuid4().hex[:6]}:",
               "COURIER_NETWORK": "none", "COURIER_DATA_DIR": str(build),
               "COURIER_DISPATCH_LOOP": "false"}
        server = subprocess.Popen(
            [str(ROOT / ".venv/bin/courier"), "serve", "--port", str(port), "--workers",
             str(args.workers), "--log-level", "warning"], env=env, cwd=ROOT)
        await wait_http(port)
        base = f"http://127.0.0.1:{port}"
        t = time.monotonic()
        make_orders(base, dispatcher_token, make_seller(dbname), args.orders)
        print(f"{args.orders} orders in {time.monotonic() - t:.1f} s", flush=True)
        quiet = await quiet_first_paint(base, dispatcher_token, args)
        print("first paint, no fixes flowing:", json.dumps(quiet), flush=True)
        total_s = args.warmup_s + len(VIEWS) * (args.settle_s + args.measure_s) + 40
        load = await asyncio.create_subprocess_exec(
            str(loadgen), "127.0.0.1", str(port), "/ws/courier", str(tokens_file),
            str(args.couriers), "1", "1", str(args.warmup_s), str(total_s),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        await load.stderr.readline()  # "connected N"
        await asyncio.sleep(args.warmup_s)
        browser = await drive_browser(base, dispatcher_token, args)
        browser["quiet"] = quiet
        load.terminate()
        out, _ = await load.communicate()
        loadgen_summary = json.loads(out) if out.strip().startswith(b"{") else None
    finally:
        if load is not None and load.returncode is None:
            load.kill()
        if server is not None:
            server.terminate()
            try:
                server.wait(15)
            except subprocess.TimeoutExpired:
                server.kill()
        drop_database(dbname)
    return {"couriers": args.couriers, "fix_rate_hz": 1, "open_orders": args.orders,
            "workers": args.workers, "viewport": [args.width, args.height], **browser,
            "loadgen": loadgen_summary, "bundle": bundle_size(ROOT / "console" / "dist"),
            "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                        "python": platform.python_version(),
                        "load_average_after": round(os.getloadavg()[0], 2)},
            "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--couriers", type=int, default=2000)
    parser.add_argument("--orders", type=int, default=500)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--warmup-s", type=float, default=8.0)
    parser.add_argument("--settle-s", type=float, default=4.0)
    parser.add_argument("--measure-s", type=float, default=20.0)
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=800)
    parser.add_argument("--build-dir", default=str(ROOT / "var" / "console-bench"))
    parser.add_argument("--json", help="write the figures here")
    args = parser.parse_args()
    result = asyncio.run(main_async(args))
    text = json.dumps(result, indent=2)
    print(text)
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(text + "\n")


if __name__ == "__main__":
    main()
