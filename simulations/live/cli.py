"""`courier simulate live`: a simulated fleet, sellers and buyers driving a running service.

    courier simulate live --base-url URL --couriers N --orders-per-hour R [--duration-s S]
                          [--seed S] [--json OUT] [--admin-user NAME --admin-password PW]

Runs until `--duration-s` passes or SIGINT/SIGTERM (a second signal stops at once), then
ends every shift and prints a summary (`--json OUT` writes it). Exit status: 0, or 2 when
the cast cannot be set up; with `--strict`, 1 when the run met any finding (a 5xx, a lost
acknowledgement, a refused point, scan or arrival).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import sys
from pathlib import Path

from simulations.live.behaviour import OfferPolicy
from simulations.live.cast import SetupError
from simulations.live.client import CallFailed
from simulations.live.runner import LiveResult, run_live
from simulations.live.world import LiveConfig

__all__ = ["add_arguments", "run", "config_from_args"]

#: The demo admin account that `courier demo seed` creates (see `api/demo.py`).
DEMO_ADMIN = ("admin", "admin-demo-pass")


def _positive(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError("must be positive")
    return value


def _share(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError("must lie in [0, 1]")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = __doc__
    parser.add_argument("--base-url", default="http://127.0.0.1:8000",
                        help="the service (default %(default)s)")
    parser.add_argument("--couriers", type=int, default=10, help="fleet size (default 10)")
    parser.add_argument("--orders-per-hour", type=float, default=60.0,
                        help="Poisson rate of new orders over all sellers (default 60)")
    parser.add_argument("--duration-s", type=_positive, default=None,
                        help="seconds to run (default: until Ctrl-C)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", type=Path, default=None, metavar="OUT",
                        help="write the summary as JSON")
    parser.add_argument("--admin-user", default=DEMO_ADMIN[0])
    parser.add_argument("--admin-password", default=DEMO_ADMIN[1])
    parser.add_argument("--prefix", default="sim",
                        help="name prefix of the simulated accounts (default %(default)s)")
    parser.add_argument("--sellers", type=int, default=None,
                        help="default: one per five couriers, at least 2")
    parser.add_argument("--buyers", type=int, default=None,
                        help="default: as many as couriers, at least 5")
    parser.add_argument("--accept-probability", type=_share, default=0.85)
    parser.add_argument("--ignore-probability", type=_share, default=0.1,
                        help="of the offers not accepted, the share left to expire")
    parser.add_argument("--answer-delay-s", type=float, nargs=2, default=(2.0, 10.0),
                        metavar=("MIN", "MAX"), help="how long couriers take to answer")
    parser.add_argument("--promise-min", type=float, default=45.0,
                        help="delivery promised within this many minutes (the dropoff "
                        "window; 0: no windows)")
    parser.add_argument("--fail-probability", type=_share, default=0.02,
                        help="share of deliveries failing at the door (returned to seller)")
    parser.add_argument("--dwell-s", type=float, nargs=2, default=(20.0, 60.0),
                        metavar=("MIN", "MAX"), help="time at a pickup counter or a door")
    parser.add_argument("--speed-factor", type=_positive, default=1.0,
                        help="multiplies travel speeds (quick tests; capped at 40 m/s)")
    parser.add_argument("--radius-m", type=_positive, default=None,
                        help="keep the cast within this distance of the area's centre")
    parser.add_argument("--drain-s", type=float, default=0.0,
                        help="after the duration, let couriers finish their parcels this long")
    parser.add_argument("--progress-s", type=float, default=60.0,
                        help="print a progress line this often (0: never)")
    parser.add_argument("--strict", action="store_true",
                        help="exit 1 when the run met any finding")


def config_from_args(args: argparse.Namespace) -> LiveConfig:
    if args.couriers < 1:
        raise SystemExit("courier simulate live: --couriers must be at least 1")
    if args.orders_per_hour < 0:
        raise SystemExit("courier simulate live: --orders-per-hour cannot be negative")
    low, high = args.answer_delay_s
    dwell = tuple(args.dwell_s)
    if not (0 <= dwell[0] <= dwell[1]):
        raise SystemExit("courier simulate live: --dwell-s needs 0 <= MIN <= MAX")
    try:
        offers = OfferPolicy(accept_probability=args.accept_probability,
                             ignore_probability=args.ignore_probability,
                             min_delay_s=low, max_delay_s=high)
    except ValueError as exc:
        raise SystemExit(f"courier simulate live: {exc}") from None
    return LiveConfig(
        base_url=args.base_url, couriers=args.couriers, orders_per_hour=args.orders_per_hour,
        duration_s=args.duration_s, seed=args.seed, admin_user=args.admin_user,
        admin_password=args.admin_password, prefix=args.prefix, sellers=args.sellers,
        buyers=args.buyers, offers=offers, promise_min=args.promise_min or None,
        fail_probability=args.fail_probability,
        dwell_s=(float(dwell[0]), float(dwell[1])), speed_factor=args.speed_factor,
        radius_m=args.radius_m, drain_s=max(0.0, args.drain_s), json_out=args.json)


def _say(line: str) -> None:
    print(line, flush=True)


async def _main(config: LiveConfig, progress_s: float) -> LiveResult:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    main_task = asyncio.current_task()

    def on_signal(name: str) -> None:
        if not stop.is_set():
            _say(f"{name}: finishing (ending shifts); send it again to stop at once")
            stop.set()
        elif main_task is not None:
            main_task.cancel()

    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, on_signal, sig.name)
    return await run_live(config, stop=stop, say=_say, progress_s=progress_s)


def run(args: argparse.Namespace, *, data_dir: Path) -> int:
    config = config_from_args(args)
    _say(f"courier simulate live: {config.couriers} couriers, {config.orders_per_hour:g} "
         f"orders/hour against {config.base_url}"
         + (f" for {config.duration_s:g} s" if config.duration_s else " until stopped"))
    try:
        result = asyncio.run(_main(config, args.progress_s))
    except (SetupError, CallFailed) as exc:
        print(f"courier simulate live: {exc}", file=sys.stderr)
        return 2
    except asyncio.CancelledError:
        print("courier simulate live: stopped at once", file=sys.stderr)
        return 130
    _say(result.render())
    if config.json_out is not None:
        config.json_out.parent.mkdir(parents=True, exist_ok=True)
        config.json_out.write_text(json.dumps(result.to_json(), indent=2) + "\n")
        _say(f"summary written to {config.json_out}")
    if args.strict and result.summary.findings():
        return 1
    return 0
