"""`courier simulate ...`: delivery days run through the service's own dispatch code.

    courier simulate mdrp DIR [DIR ...] --policy batch|nearest|cascade|all --out OUT [--seed N]
    courier simulate city --network NAME --couriers N --orders-per-hour R --hours H
                          --policy P --seed S --out OUT
    courier simulate live --base-url URL --couriers N --orders-per-hour R [--duration-s S]

Each mode lives in its own module (`simulations.mdrp`, `simulations.city`, `simulations.live`)
and adds its own arguments; this module only routes to them, importing a mode when it is used.
`api/cli.py` hands everything after `simulate` to `main`, with the service's data directory
(road networks live there); nothing here imports `api/`.
"""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Sequence
from pathlib import Path

__all__ = ["main", "MODES"]

#: mode -> (module with `add_arguments(parser)` and `run(args, data_dir) -> int`, help)
MODES: dict[str, tuple[str, str]] = {
    "mdrp": ("simulations.mdrp.cli", "the Grubhub meal-delivery instances, online, one policy "
             "or all"),
    "city": ("simulations.city.cli", "a generated day of orders on a road network"),
    "live": ("simulations.live.cli", "drive simulated couriers, sellers and buyers through a "
             "running service's public API"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="courier simulate", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    modes = parser.add_subparsers(dest="mode", required=True, metavar="MODE")
    for name, (module, help_text) in MODES.items():
        try:
            mode = importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name is None or not module.startswith(exc.name):
                raise  # a dependency of a built mode is missing: say so
            mode = None  # this mode is not built yet
        sub = modes.add_parser(name, help=help_text if mode else f"{help_text} (not built yet)",
                               description=help_text,
                               formatter_class=argparse.RawDescriptionHelpFormatter)
        sub.set_defaults(module=module)
        if mode is not None:
            mode.add_arguments(sub)
        else:
            sub.set_defaults(missing=True)
            sub.add_argument("rest", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    return parser


def main(argv: Sequence[str], *, data_dir: Path) -> int:
    parser = build_parser()
    args = parser.parse_args(list(argv))
    if getattr(args, "missing", False):
        parser.error(f"`courier simulate {args.mode}` is not built yet")
    return int(importlib.import_module(args.module).run(args, data_dir=data_dir))
