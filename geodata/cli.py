"""``courier geodata import|synth|list``: build road networks from the command line.

``api/cli.py`` calls :func:`main` with what follows ``courier geodata``, the data dir and the
database URL; for working on this package alone, ``python -m geodata.cli import ...`` does the
same with the data dir taken from ``COURIER_DATA_DIR`` (default ``./var``) and the database
from ``DATABASE_URL``.

``import`` and ``synth`` build the OSRM data, then load the same file's roads, water and
parks into PostGIS for the map tiles (``geodata.map_store``); ``--no-map`` skips that, and
without a database URL it is skipped too.

Exit codes: 0 done (or already up to date), 2 bad input (missing / non-OSM file, bad
name or profile), 1 a build step failed.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from geodata.exceptions import GeodataError, InvalidInput, InvalidOsmFile
from geodata.map_store import load_map_features
from geodata.network_import import import_network
from geodata.network_store import list_networks
from geodata.profiles import PROFILES
from geodata.synth_city import DEFAULT_CENTER, DEFAULT_SEED, DEFAULT_SIZE_KM
from geodata.synth_osm import synthesize_network

__all__ = ["main", "build_parser"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="courier geodata", description="Road networks for travel times (OSRM)."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    imp = sub.add_parser("import", help="build OSRM data from an OSM extract")
    imp.add_argument("file", type=Path, help="an .osm.pbf (or .osm / .osm.bz2) extract")
    imp.add_argument("--name", required=True, help="network name, e.g. porto")
    _add_profile_option(imp)
    _add_algorithm_option(imp, default="both")
    imp.add_argument("--threads", type=int, default=None, help="threads for the OSRM tools")
    _add_map_options(imp)

    synth = sub.add_parser("synth", help="generate a synthetic city and import it")
    synth.add_argument("--name", required=True, help="network name, e.g. demo")
    synth.add_argument(
        "--size-km",
        type=float,
        default=DEFAULT_SIZE_KM,
        help="side of the square city, km (default %(default)s)",
    )
    synth.add_argument(
        "--seed", type=int, default=DEFAULT_SEED, help="same seed, same city (default %(default)s)"
    )
    synth.add_argument(
        "--center",
        type=_parse_center,
        default=DEFAULT_CENTER,
        metavar="LAT,LON",
        help="city centre (default Tashkent: %(default)s)",
    )
    _add_profile_option(synth)
    _add_algorithm_option(synth, default="mld")
    synth.add_argument("--threads", type=int, default=None, help="threads for the OSRM tools")
    _add_map_options(synth)

    sub.add_parser("list", help="list built networks")
    return parser


def main(argv: Sequence[str], *, data_dir: Path, database_url: str | None = None) -> int:
    """Run one ``courier geodata`` command; returns the process exit code.

    With ``database_url``, ``import`` and ``synth`` also load the map features there.
    """
    args = build_parser().parse_args(list(argv))
    networks_dir = Path(data_dir) / "networks"
    progress = _Progress()
    try:
        if args.command == "import":
            result = import_network(
                args.file,
                name=args.name,
                networks_dir=networks_dir,
                profiles=args.profile,
                threads=args.threads,
                algorithms=_ALGORITHM_CHOICES[args.algorithm],
                progress=progress,
            )
            _print_summary(result.info.path, result.info.profiles, result.unchanged)
            _load_map(args, Path(result.info.source), database_url, progress)
        elif args.command == "synth":
            result = synthesize_network(
                name=args.name,
                data_dir=Path(data_dir),
                size_km=args.size_km,
                seed=args.seed,
                center=args.center,
                profiles=args.profile,
                threads=args.threads,
                algorithms=_ALGORITHM_CHOICES[args.algorithm],
                progress=progress,
            )
            _print_summary(result.info.path, result.info.profiles, result.unchanged)
            _load_map(args, Path(result.info.source), database_url, progress)
        elif args.command == "list":
            for info in list_networks(networks_dir):
                print(f"{info.name}\t{','.join(info.profiles)}\t{info.built_at}\t{info.source}")
    except (InvalidInput, InvalidOsmFile) as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 2
    except GeodataError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        for line in exc.details.get("log_tail", []):
            print(f"  | {line}", file=sys.stderr)
        return 1
    return 0


class _Progress:
    """Prints each step with the time since the command started."""

    def __init__(self) -> None:
        self._t0 = time.perf_counter()

    def __call__(self, message: str) -> None:
        print(f"[{time.perf_counter() - self._t0:6.1f}s] {message}", flush=True)


def _print_summary(path: Path, profiles: Sequence[str], unchanged: bool) -> None:
    state = "already up to date" if unchanged else "built"
    print(f"{path} ({', '.join(profiles)}): {state}")


def _load_map(args: argparse.Namespace, source: Path, database_url: str | None,
              progress: _Progress) -> None:
    if args.no_map:
        return
    if not database_url:
        print("map features not loaded: no database configured", file=sys.stderr)
        return
    result = load_map_features(source, name=args.name, database_url=database_url,
                               force=args.reload_map, progress=progress)
    state = "already up to date" if result.unchanged else "loaded"
    print(f"map features of {result.name!r}: {result.roads} roads, {result.water} water, "
          f"{result.parks} parks: {state}")


def _add_map_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--no-map", action="store_true",
                        help="do not load roads, water and parks into the database for the map")
    parser.add_argument("--reload-map", action="store_true",
                        help="load the map features even when this file was loaded already")


def _add_profile_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--profile",
        action="append",
        choices=PROFILES,
        help="build only this profile (repeatable); default: all of " + ", ".join(PROFILES),
    )


_ALGORITHM_CHOICES = {"mld": ("mld",), "ch": ("ch", "mld"), "both": ("ch", "mld")}


def _add_algorithm_option(parser: argparse.ArgumentParser, *, default: str) -> None:
    parser.add_argument(
        "--algorithm",
        choices=sorted(_ALGORITHM_CHOICES),
        default=default,
        help="OSRM data to build: mld (fast to build), ch/both (adds CH: ~10x faster "
        "matrices, slow to build on grid-like maps); default %(default)s",
    )


def _parse_center(text: str) -> tuple[float, float]:
    try:
        lat, lon = (float(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError("expected LAT,LON, e.g. 41.311,69.279") from None
    return lat, lon


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:], data_dir=Path(os.environ.get("COURIER_DATA_DIR", "./var")),
                  database_url=os.environ.get("DATABASE_URL")))
