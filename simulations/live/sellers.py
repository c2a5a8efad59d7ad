"""Sellers placing orders: a Poisson stream over the whole run, each order from a random seller's
pickup place to a random buyer's home, sent with an `Idempotency-Key` (and re-sent with the
same key when the answer is lost, so a retry never makes a second order). Each order promises
delivery within `promise_min` minutes (its dropoff window), as a marketplace checkout would."""

from __future__ import annotations

import asyncio
import contextlib
import random
import uuid
from datetime import UTC, datetime, timedelta

from simulations.live.behaviour import PoissonArrivals
from simulations.live.client import CallFailed
from simulations.live.world import World

__all__ = ["place_orders"]


async def _place(world: World, number: int, run_id: str, rng: random.Random) -> None:
    cast = world.cast
    seller = rng.choice(cast.sellers)
    buyer = rng.choice(cast.buyers)
    lat, lon = buyer.home
    body = {
        "external_id": f"{world.config.prefix}-{run_id}-{number}",
        "pickup_place_id": seller.place_id,
        "dropoff": {"lat": lat, "lon": lon, "address": buyer.address},
        "buyer_id": buyer.actor.user_id,
        "size": 1,
    }
    if world.config.promise_min:
        now = datetime.now(UTC)
        body["dropoff_window"] = {
            "start": now.isoformat(),
            "end": (now + timedelta(minutes=world.config.promise_min)).isoformat()}
    try:
        order = await world.api.call(
            "POST", "/orders", actor=seller.actor, json=body,
            headers={"Idempotency-Key": f"{world.config.prefix}-{run_id}-{number}"},
            latency=world.summary.order_create, retries=2)
    except CallFailed as exc:
        world.summary.orders_create_failed[exc.code] += 1
        world.summary.note(f"order {number} not created: {exc.status} {exc.code} "
                           f"{exc.message}")
        return
    world.summary.orders_created += 1
    world.created_orders.append(int(order["id"]))


async def place_orders(world: World, *, arrivals_rng: random.Random,
                       choices_rng: random.Random) -> None:
    """Places orders until the run drains or stops; waits for those in flight. Arrival times
    and the choice of seller and buyer come from separate generators, so the times depend on
    the seed alone."""
    arrivals = PoissonArrivals(world.config.orders_per_hour, arrivals_rng)
    rng = choices_rng
    run_id = uuid.uuid4().hex[:8]
    in_flight: set[asyncio.Task] = set()
    number = 0
    try:
        while not (world.draining.is_set() or world.stopping.is_set()):
            gap_s = arrivals.next_gap_s()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(None if gap_s == float("inf") else gap_s):
                    waits = [asyncio.create_task(world.draining.wait()),
                             asyncio.create_task(world.stopping.wait())]
                    try:
                        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
                    finally:
                        for task in waits:
                            task.cancel()
            if world.draining.is_set() or world.stopping.is_set():
                break
            number += 1
            task = asyncio.create_task(_place(world, number, run_id, rng))
            in_flight.add(task)
            task.add_done_callback(in_flight.discard)
    finally:
        if in_flight:
            await asyncio.gather(*in_flight, return_exceptions=True)
