"""A live run end to end: log in as the admin, find the service area, set up the cast, let
couriers and sellers work for the duration (or until stopped), end every shift, and account
for the orders this run created.

    run_live(config, stop=event) -> LiveResult

The runner talks to the service only over its public API (`client`, `gps_link`).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from simulations.live.cast import SetupError, build_cast, member_rng
from simulations.live.client import Actor, ApiClient, CallFailed
from simulations.live.courier import CourierAgent
from simulations.live.geo import Area
from simulations.live.sellers import place_orders
from simulations.live.summary import Summary
from simulations.live.world import LiveConfig, World

__all__ = ["LiveResult", "run_live", "discover_area", "seq_ranges"]


def seq_ranges(seqs: list[int]) -> list[list[int]]:
    """`[1, 2, 3, 7, 8]` -> `[[1, 3], [7, 8]]` (inclusive ranges of sorted distinct seqs)."""
    out: list[list[int]] = []
    for seq in sorted(set(seqs)):
        if out and seq == out[-1][1] + 1:
            out[-1][1] = seq
        else:
            out.append([seq, seq])
    return out


@dataclass
class LiveResult:
    summary: Summary
    meta: dict[str, Any] = field(default_factory=dict)
    couriers: list[dict[str, Any]] = field(default_factory=list)
    created_orders: list[int] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"run": self.meta, **self.summary.to_json(), "couriers": self.couriers,
                "created_order_ids": self.created_orders}

    def render(self) -> str:
        return self.summary.render(self.meta)


async def discover_area(api: ApiClient, admin: Actor, *, radius_m: float | None) -> Area:
    """The active service zones, within the road network's box when one is loaded."""
    zones = (await api.call("GET", "/zones", actor=admin, params={"active_only": "true"}))
    geometries = [z["geometry"] for z in zones["items"] if z.get("active", True)]
    if not geometries:
        raise SetupError("the service has no active zone: create one (POST /api/v1/zones, "
                         "or `courier demo seed`)")
    network = await api.call("GET", "/travel/network", actor=admin)
    try:
        return Area.from_zones(geometries, within_bbox=network.get("bbox"), radius_m=radius_m)
    except ValueError as exc:
        raise SetupError(str(exc)) from None


async def _final_statuses(world: World, since: datetime) -> None:
    """Tallies the status each order of this run ended in (as the service records it)."""
    wanted = set(world.created_orders)
    cursor: str | None = None
    seen = 0
    while wanted and seen < len(world.created_orders):
        params: dict[str, Any] = {"created_from": since.isoformat(), "limit": 200}
        if cursor:
            params["cursor"] = cursor
        page = await world.api.call("GET", "/orders", actor=world.admin, params=params,
                                    retries=2)
        for order in page["items"]:
            if order["id"] in wanted:
                world.summary.orders_final_status[order["status"]] += 1
                seen += 1
        cursor = page.get("next_cursor")
        if not cursor:
            break


async def _wait_any(*events: asyncio.Event, timeout_s: float | None) -> None:
    waits = [asyncio.create_task(e.wait()) for e in events]
    try:
        await asyncio.wait(waits, timeout=timeout_s, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in waits:
            task.cancel()


async def _progress(world: World, agents: list[CourierAgent], every_s: float,
                    say: Callable[[str], None], started: float) -> None:
    s = world.summary
    while True:
        await asyncio.sleep(every_s)
        busy = sum(a.holding for a in agents)
        say(f"[{time.monotonic() - started:6.0f} s] orders created {s.orders_created}, "
            f"picked up {s.orders_picked_up}, delivered {s.orders_delivered}; couriers busy "
            f"{busy}/{len(agents)}; points sent {s.points_sent}, acked {s.points_acked}; "
            f"offers {s.offers_accepted} accepted / {s.offers_declined} declined / "
            f"{s.offers_expired} expired; findings {len(s.findings())}")


async def run_live(config: LiveConfig, *, stop: asyncio.Event | None = None,
                   say: Callable[[str], None] = print, progress_s: float = 0.0) -> LiveResult:
    """Runs the fleet until `config.duration_s` passes or `stop` is set."""
    stop = stop or asyncio.Event()
    summary = Summary()
    api = ApiClient(config.base_url, summary)
    started_at = datetime.now(UTC)
    t0 = time.monotonic()
    try:
        admin = Actor(config.admin_user, "admin", config.admin_password)
        try:
            await api.login(admin)
            me = await api.call("GET", "/users/me", actor=admin)
        except CallFailed as exc:
            raise SetupError(f"cannot log in as {config.admin_user!r} at {config.base_url}: "
                             f"{exc.status or ''} {exc.code} {exc.message}".strip()) from None
        if me["role"] != "admin":
            raise SetupError(f"{config.admin_user!r} is a {me['role']}, not an admin")
        admin.user_id = int(me["id"])
        area = await discover_area(api, admin, radius_m=config.radius_m)
        cast = await build_cast(api, admin, area=area, prefix=config.prefix, seed=config.seed,
                                couriers=config.couriers, sellers=config.seller_count,
                                buyers=config.buyer_count)
        say(f"cast ready: {len(cast.couriers)} couriers, {len(cast.sellers)} sellers, "
            f"{len(cast.buyers)} buyers ({time.monotonic() - t0:.1f} s)")
        world = World(config=config, api=api, admin=admin, summary=summary, area=area,
                      cast=cast)
        agents = [CourierAgent(world, member, member_rng(config.seed, member.actor.name
                                                         + ":behaviour"))
                  for member in cast.couriers]
        work_started = time.monotonic()
        courier_tasks = [asyncio.create_task(a.run(), name=f"courier-{a.actor.name}")
                         for a in agents]
        orders = asyncio.create_task(place_orders(
            world, arrivals_rng=member_rng(config.seed, "arrivals"),
            choices_rng=member_rng(config.seed, "orders")))
        reporter = (asyncio.create_task(_progress(world, agents, progress_s, say, work_started))
                    if progress_s > 0 else None)
        try:
            await _wait_any(stop, timeout_s=config.duration_s)
            if config.drain_s > 0 and not stop.is_set():
                world.draining.set()
                say(f"duration over: no new orders; couriers finish their parcels "
                    f"(up to {config.drain_s:.0f} s)")
                all_done = asyncio.ensure_future(asyncio.gather(*courier_tasks))
                finished = asyncio.Event()
                all_done.add_done_callback(lambda _: finished.set())
                await _wait_any(stop, finished, timeout_s=config.drain_s)
        finally:
            world.draining.set()
            world.stopping.set()
            say("stopping: flushing GPS and ending shifts")
            with contextlib.suppress(Exception):
                await orders
            await asyncio.gather(*courier_tasks, return_exceptions=True)
            if reporter is not None:
                reporter.cancel()
        ended_at = datetime.now(UTC)
        with contextlib.suppress(CallFailed):
            await _final_statuses(world, started_at)
        meta = {"base_url": config.base_url, "couriers": len(cast.couriers),
                "sellers": len(cast.sellers), "buyers": len(cast.buyers),
                "orders_per_hour": config.orders_per_hour, "seed": config.seed,
                "started_at": started_at.isoformat(), "ended_at": ended_at.isoformat(),
                "wall_s": round(time.monotonic() - t0, 1),
                "work_s": round(time.monotonic() - work_started, 1)}
        couriers = [{"courier_id": a.courier_id, "name": a.actor.name, "vehicle": a.vehicle,
                     "first_mark": a.link.first_mark,
                     "points_stored": len(a.link.stored_seqs),
                     "stored_seq_ranges": seq_ranges(a.link.stored_seqs),
                     "rejected": {str(k): v for k, v in sorted(a.link.rejected.items())}}
                    for a in agents]
        return LiveResult(summary, meta, couriers, list(world.created_orders))
    finally:
        await api.aclose()
