"""A live run's settings and the state its agents share."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path

from simulations.live.behaviour import GpsSensor, OfferPolicy
from simulations.live.cast import Cast
from simulations.live.client import Actor, ApiClient
from simulations.live.geo import Area
from simulations.live.summary import Summary

__all__ = ["LiveConfig", "World"]


@dataclass(frozen=True)
class LiveConfig:
    base_url: str = "http://127.0.0.1:8000"
    couriers: int = 10
    orders_per_hour: float = 60.0
    #: Seconds to run; None runs until stopped.
    duration_s: float | None = None
    seed: int = 1
    admin_user: str = "admin"
    admin_password: str = "admin-demo-pass"
    prefix: str = "sim"
    #: Default: one seller per five couriers (at least two).
    sellers: int | None = None
    #: Default: as many as couriers (at least five).
    buyers: int | None = None
    offers: OfferPolicy = field(default_factory=OfferPolicy)
    gps: GpsSensor = field(default_factory=GpsSensor)
    #: Minutes within which a seller promises delivery (the order's dropoff window);
    #: None: orders without windows.
    promise_min: float | None = 45.0
    #: Share of deliveries that fail at the door (the parcel goes back to the seller).
    fail_probability: float = 0.02
    #: Seconds a courier spends at a pickup or a door (uniform between the two).
    dwell_s: tuple[float, float] = (20.0, 60.0)
    fix_interval_s: float = 1.0
    #: Multiplies every travel speed (for quick tests); keep under the service's speed filter.
    speed_factor: float = 1.0
    max_speed_mps: float = 40.0
    #: Keep the cast within this many metres of the area's centre (None: the whole area).
    radius_m: float | None = None
    #: After the duration, seconds to let couriers finish the parcels they hold.
    drain_s: float = 0.0
    offer_poll_s: float = 5.0
    #: A courier with nothing to do asks for its orders this often (pushes wake it sooner).
    idle_poll_s: float = 10.0
    ack_timeout_s: float = 15.0
    json_out: Path | None = None

    @property
    def seller_count(self) -> int:
        return self.sellers if self.sellers is not None else max(2, self.couriers // 5)

    @property
    def buyer_count(self) -> int:
        return self.buyers if self.buyers is not None else max(5, self.couriers)


@dataclass
class World:
    config: LiveConfig
    api: ApiClient
    admin: Actor
    summary: Summary
    area: Area
    cast: Cast
    #: Set when the run ends: agents stop where they are.
    stopping: asyncio.Event = field(default_factory=asyncio.Event)
    #: Set after the duration: no new orders or offers; couriers finish what they hold.
    draining: asyncio.Event = field(default_factory=asyncio.Event)
    #: Ids of the orders this run created.
    created_orders: list[int] = field(default_factory=list)
