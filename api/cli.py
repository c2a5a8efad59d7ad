"""The `courier` command: serve, migrate, manage users, import road data, run benchmarks.

    courier serve [--host H] [--port P] [--workers N]
    courier db upgrade | downgrade [REVISION]
    courier users add NAME --role ROLE --password PW
    courier geodata import FILE.osm.pbf --name NAME [--profile ...] [--no-map]
    courier geodata synth --name NAME [--size-km KM] [--seed S] [--no-map]
    courier geodata zones FILE.geojson
    courier demo seed
    courier bench lilim DIR --time-limit S [--solver ortools|pyvrp|vroom] [--json OUT]
    courier simulate mdrp|city|live ...   (see `courier simulate -h`)
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable
from typing import Any

from api.settings import Settings

__all__ = ["main"]


def _settings() -> Settings:
    try:
        return Settings()
    except ValueError as exc:
        raise SystemExit(f"courier: configuration error: {exc}") from None


def _with_session(work: Callable[[Any, Settings], Awaitable[Any]]) -> Any:
    """Runs `work(session, settings)` in one transaction, committed only if it succeeds."""
    from api.database import make_engine, make_sessionmaker

    settings = _settings()

    async def run() -> Any:
        engine = make_engine(settings.database_url, pool_size=1)
        try:
            async with make_sessionmaker(engine)() as session:
                result = await work(session, settings)
                await session.commit()
                return result
        finally:
            await engine.dispose()

    return asyncio.run(run())


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    try:  # fail fast on bad configuration, before forking workers
        settings = _settings()
        settings.require_secret_key()
    except ValueError as exc:
        raise SystemExit(f"courier: configuration error: {exc}") from None
    # uvicorn refuses WebSocket frames over the courier socket's message limit before reading
    # them whole (its default would buffer 16 MiB per frame); the app checks the same limit.
    uvicorn.run("api.app:create_app", factory=True, host=args.host, port=args.port,
                workers=args.workers, ws="websockets-sansio", loop="uvloop",
                log_level=args.log_level, proxy_headers=True, access_log=args.access_log,
                ws_max_size=settings.ws_max_message_bytes + 1024)
    return 0


def _db(args: argparse.Namespace) -> int:
    from api.database import downgrade, ensure_database, upgrade

    settings = _settings()
    if args.action == "upgrade":
        if ensure_database(settings.database_url):
            print("created database")
        upgrade(settings.database_url, args.revision or "heads")
    else:
        downgrade(settings.database_url, args.revision or "base")
    print(f"database {args.action} done")
    return 0


def _users_add(args: argparse.Namespace) -> int:
    from api.security import PasswordHasher
    from dispatch.users import create_user

    async def work(session: Any, settings: Settings) -> Any:
        return await create_user(session, name=args.name, role=args.role,
                                 password_hash=PasswordHasher(
                                     cheap=settings.mode == "test").hash(args.password))

    user = _with_session(work)
    print(f"user {user.id} {user.name} ({user.role})")
    return 0


def _zones(path: str) -> int:
    from pathlib import Path

    from geodata.zones import import_zones_geojson

    async def work(session: Any, settings: Settings) -> Any:
        return await import_zones_geojson(session, Path(path))

    for zone in _with_session(work):
        print(f"zone {zone.id} {zone.name}")
    return 0


def _geodata(argv: list[str]) -> int:
    if argv[:1] == ["zones"]:
        parser = argparse.ArgumentParser(prog="courier geodata zones")
        parser.add_argument("file")
        return _zones(parser.parse_args(argv[1:]).file)
    from geodata.cli import main as geodata_main

    settings = _settings()
    return geodata_main(argv, data_dir=settings.data_dir, database_url=settings.database_url)


def _demo_seed() -> int:
    from api.demo import seed_demo

    for line in _with_session(seed_demo):
        print(line)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Runs one command; a domain error (anything with a `code`) prints a line and exits 2."""
    try:
        return _dispatch(list(sys.argv[1:] if argv is None else argv))
    except Exception as exc:
        code = getattr(exc, "code", None)
        if not isinstance(code, str):
            raise
        print(f"courier: {code}: {getattr(exc, 'message', exc)}", file=sys.stderr)
        return 2


def _dispatch(argv: list[str]) -> int:
    # Sub-tools with their own argument parsers get the rest of the line untouched.
    if argv[:1] == ["bench"]:
        from routing.bench import main as bench_main

        return bench_main(argv[1:])
    if argv[:1] == ["geodata"]:
        return _geodata(argv[1:])
    if argv[:1] == ["simulate"]:
        from simulations.cli import main as simulate_main

        return simulate_main(argv[1:], data_dir=_settings().data_dir)

    parser = argparse.ArgumentParser(prog="courier", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the HTTP and WebSocket service")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.add_argument("--log-level", default="info")
    serve.add_argument("--no-access-log", dest="access_log", action="store_false",
                       help="do not log every request (warnings and errors still are)")

    db = commands.add_parser("db", help="database migrations")
    db.add_argument("action", choices=["upgrade", "downgrade"])
    db.add_argument("revision", nargs="?")

    users = commands.add_parser("users", help="manage users")
    users_commands = users.add_subparsers(dest="users_command", required=True)
    add = users_commands.add_parser("add")
    add.add_argument("name")
    add.add_argument("--role", required=True,
                     choices=["admin", "dispatcher", "seller", "courier", "buyer"])
    add.add_argument("--password", required=True)

    commands.add_parser("geodata", help="road networks and zones (see `courier geodata -h`)")
    commands.add_parser("bench", help="benchmarks (see `courier bench -h`)")
    commands.add_parser("simulate", help="delivery-day simulations (see `courier simulate -h`)")
    demo = commands.add_parser("demo", help="demo data")
    demo.add_argument("action", choices=["seed"])

    args = parser.parse_args(argv)
    if args.command == "serve":
        return _serve(args)
    if args.command == "db":
        return _db(args)
    if args.command == "users":
        return _users_add(args)
    if args.command == "demo":
        return _demo_seed()
    parser.error(f"unknown command {args.command}")
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
