"""A simulated delivery day: the service's dispatch cycle on virtual time, couriers that act.

What is the service's own code and what is simulated:

* **The service's code:** the planning cycle (`dispatch.cycle.run_cycle`) with the chosen
  policy, on the in-memory store (`dispatch.memory_store`), which applies decisions, offers,
  accepts, declines, expiries and status changes by the service's rules; the cadence
  (`dispatch.cadence`): a cycle after each change (debounced), every interval, at each offer
  expiry; accepted work moved at most every `reassign_every_s`.
* **Simulated:** time (an event queue), the couriers (they follow the route the planner gives
  them, answer offers as a `CourierBehaviour` says, wait at pickups until the parcel is ready,
  hand over) and the geography (a `World`: travel times and where a courier is mid-way).

A courier that may be diverted (`diversion=True`, the service's behaviour) is planned from
where it is now; one that may not (meal-delivery rules) is planned from its next stop, at its
arrival time there. The day ends when no event is left and nothing more can happen.

Everything that happens is written to a `DayLog` (orders' times, couriers' moves, bundles
picked up, cycle timings), from which the modes write their files and figures.
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, Protocol

from dispatch.cadence import Cadence, CycleScheduler
from dispatch.cycle import MatrixSource, PlannerConfig, run_cycle
from dispatch.exceptions import Conflict, NotFound
from dispatch.lifecycle import Action, OrderStatus
from dispatch.memory_store import MemoryDispatchStore
from simulations.events import EventQueue

__all__ = ["Place", "OrderPlan", "CourierPlan", "HandoffTimes", "World", "CourierBehaviour",
           "FollowEveryInstruction", "DayConfig", "DayLog", "Move", "Bundle", "simulate_day",
           "DAY_START"]

#: (lat, lon) as the planner keys places.
Place = tuple[float, float]
#: Virtual time 0.
DAY_START = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class OrderPlan:
    id: int
    pickup: Place
    dropoff: Place
    placed_s: float
    #: When the parcel is ready at the pickup (no pickup before).
    ready_s: float
    size: int = 1
    #: Absolute windows the planner sees, (start_s, end_s) on the day's clock (None: open).
    pickup_window_s: tuple[float | None, float | None] | None = None
    dropoff_window_s: tuple[float | None, float | None] | None = None


@dataclass(frozen=True)
class CourierPlan:
    id: int
    vehicle: str
    capacity: int
    start: Place
    on_s: float
    off_s: float
    #: No pickup may start after this (None: the shift end bounds the whole route).
    last_pickup_s: float | None = None
    #: Whether the whole route must end by `off_s` (parcel fleets) or only pickups matter.
    route_ends_by_off: bool = True


@dataclass(frozen=True)
class HandoffTimes:
    """How long a stop takes: the handoff happens `before_s` after arriving (not before the
    parcel is ready, for pickups) and the courier leaves `after_s` after it."""

    pickup_before_s: float = 60.0
    pickup_after_s: float = 60.0
    dropoff_before_s: float = 30.0
    dropoff_after_s: float = 30.0


class World(Protocol):
    def travel_s(self, profile: str, origin: Place, destination: Place) -> float:
        """Seconds to drive from `origin` to `destination`."""
        ...

    def position_at(self, profile: str, origin: Place, destination: Place,
                    fraction: float) -> Place:
        """Where a courier is after `fraction` (0..1) of that leg's time."""
        ...


class CourierBehaviour(Protocol):
    def answer(self, courier_id: int, offer: dict[str, Any], rng: random.Random
               ) -> tuple[Literal["accept", "decline", "ignore"], float]:
        """What the courier does with an offer, and after how many seconds."""
        ...


class FollowEveryInstruction:
    """Couriers who never decline (with auto-accept they are never asked)."""

    def answer(self, courier_id, offer, rng):
        return "accept", 0.0


@dataclass(frozen=True)
class DayConfig:
    planner: PlannerConfig
    cadence: Cadence = Cadence()
    handoff: HandoffTimes = HandoffTimes()
    #: May a courier on its way be sent elsewhere (the service), or not (meal delivery)?
    diversion: bool = True
    #: The fleet's auto-accept setting (couriers follow every instruction).
    auto_accept: bool = False
    seed: int = 0
    #: Stop the day at this time even if work remains (None: when nothing can happen).
    end_s: float | None = None
    #: Couriers set off only on multiples of this (the Grubhub instances' whole minutes);
    #: None: at once.
    time_step_s: float | None = None


@dataclass(frozen=True)
class Move:
    courier_id: int
    depart_s: float
    arrive_s: float
    #: ("start", None) | ("pickup", order_id) | ("dropoff", order_id) | ("en_route", None)
    origin: tuple[str, int | None]
    destination: tuple[str, int]
    origin_place: Place
    destination_place: Place
    #: Set when the courier was sent elsewhere before arriving.
    diverted_s: float | None = None


@dataclass(frozen=True)
class Bundle:
    courier_id: int
    assigned_s: float
    pickup_s: float
    order_ids: tuple[int, ...]


@dataclass
class DayLog:
    orders: dict[int, OrderPlan] = field(default_factory=dict)
    couriers: dict[int, CourierPlan] = field(default_factory=dict)
    assigned_s: dict[int, float] = field(default_factory=dict)
    pickup_s: dict[int, float] = field(default_factory=dict)
    dropoff_s: dict[int, float] = field(default_factory=dict)
    courier_of: dict[int, int] = field(default_factory=dict)
    moves: list[Move] = field(default_factory=list)
    bundles: list[Bundle] = field(default_factory=list)
    #: Per cycle: (virtual time, wall seconds, open orders, offers made).
    cycles: list[tuple[float, float, int, int]] = field(default_factory=list)
    offers_declined: int = 0
    offers_expired: int = 0
    offers_accepted: int = 0
    #: (virtual time, open orders, couriers on shift, couriers busy), sampled each minute.
    samples: list[tuple[float, int, int, int]] = field(default_factory=list)
    end_s: float = 0.0
    wall_s: float = 0.0
    cpu_s: float = 0.0


@dataclass
class _Agent:
    plan: CourierPlan
    place: Place
    on_shift: bool = False
    #: The leg under way: (origin, destination, stop, depart_s, arrive_s, token).
    leg: tuple[Place, Place, tuple[str, int], float, float, int] | None = None
    #: The stop the courier is at (busy handing over), if any.
    at_stop: tuple[str, int] | None = None
    last_stop: tuple[str, int | None] = ("start", None)
    token: int = 0

    @property
    def busy(self) -> bool:
        return self.leg is not None or self.at_stop is not None


def _t(dt: datetime) -> float:
    return (dt - DAY_START).total_seconds()


def _dt(t_s: float) -> datetime:
    return DAY_START + timedelta(seconds=t_s)


class _Day:
    def __init__(self, orders: list[OrderPlan], couriers: list[CourierPlan], *,
                 world: World, travel: MatrixSource, config: DayConfig,
                 behaviour: CourierBehaviour,
                 progress: Callable[[float, int, int], None] | None) -> None:
        self.world, self.travel, self.config = world, travel, config
        self.behaviour = behaviour
        self.progress = progress
        self.rng = random.Random(config.seed)
        self.store = MemoryDispatchStore(auto_accept=config.auto_accept)
        self.queue = EventQueue()
        self.scheduler = CycleScheduler(config.cadence, now_s=0.0)
        self.log = DayLog(orders={o.id: o for o in orders},
                          couriers={c.id: c for c in couriers})
        self.agents: dict[int, _Agent] = {}
        self.now = 0.0
        self.open_orders = 0
        self.to_place = len(orders)
        self.profile = config.planner.options.vehicle_profile
        for o in orders:
            self.queue.at(o.placed_s, self.place_order, o)
        for c in couriers:
            self.store.add_courier(c.id, vehicle=c.vehicle, capacity=c.capacity)
            self.agents[c.id] = _Agent(c, c.start)
            self.queue.at(c.on_s, self.shift_on, c.id)
            self.queue.at(c.off_s, self.shift_off, c.id)

    # --- the loop ---------------------------------------------------------------------------

    async def run(self) -> DayLog:
        started, cpu = time.perf_counter(), time.process_time()
        next_sample = 0.0
        while True:
            event_s = self.queue.next_time()
            due_s = self._cycle_due()
            if event_s is None and due_s is None:
                break
            cycle_first = due_s is not None and (event_s is None or due_s <= event_s)
            t = due_s if cycle_first else event_s
            if self.config.end_s is not None and t > self.config.end_s:
                break
            while next_sample <= t:
                self._sample(next_sample)
                next_sample += 60.0
            self.now = t
            if cycle_first:
                await self.cycle()
            else:
                _, action, args = self.queue.pop()
                action(*args)
            if self.progress is not None:
                self.progress(self.now, len(self.log.dropoff_s), len(self.log.orders))
        self.log.end_s = self.now
        self.log.wall_s = time.perf_counter() - started
        self.log.cpu_s = time.process_time() - cpu
        return self.log

    def _cycle_due(self) -> float | None:
        """When the next cycle runs, or None when a cycle could change nothing: no open
        order and no courier that could take one is waiting."""
        if self.open_orders == 0 and not self.scheduler.triggered:
            return None
        if not any(a.on_shift for a in self.agents.values()) and self.open_orders and \
                not self._anyone_busy() and not self._shift_ahead():
            return None  # orders are left that nobody will ever serve
        expiry = self._next_expiry()
        return max(self.now, self.scheduler.due_at(next_expiry_s=expiry))

    def _next_expiry(self) -> float | None:
        pending = [o.expires_at for o in self.store.offers.values() if o.state == "pending"]
        return _t(min(pending)) if pending else None

    def _anyone_busy(self) -> bool:
        return any(a.busy for a in self.agents.values())

    def _shift_ahead(self) -> bool:
        return any(c.on_s > self.now for c in self.log.couriers.values())

    def changed(self) -> None:
        """Something the planner reacts to happened (the service's triggers)."""
        self.scheduler.trigger(self.now)

    async def cycle(self) -> None:
        now = _dt(self.now)
        self._update_positions()
        allow = self.scheduler.start_cycle(self.now)
        started = time.perf_counter()
        summary = await run_cycle(store=self.store, travel=self.travel,
                                  config=self.config.planner, now=now, publish=self.publish,
                                  allow_reassign=allow, offload=False)
        self.scheduler.end_cycle(self.now)
        self.log.offers_expired += summary.expired_offers
        self.log.cycles.append((self.now, time.perf_counter() - started, summary.open_orders,
                                len(summary.offers)))
        for offer in summary.offers:
            if offer["state"] == "accepted":
                self._accepted(offer["order_id"])

    async def publish(self, courier_id: int, message: dict[str, Any]) -> None:
        agent = self.agents[courier_id]
        kind = message.get("type")
        if kind == "offer" and message["offer"]["state"] == "pending":
            answer, delay_s = self.behaviour.answer(courier_id, message["offer"], self.rng)
            if answer != "ignore":
                self.queue.at(self.now + max(0.0, delay_s), self.answer_offer, courier_id,
                              message["offer"]["id"], answer)
        elif kind in ("route", "withdrawn", "offer"):
            if agent.leg is None and agent.at_stop is None:
                self.queue.at(self.now, self.go_on, courier_id)
            elif agent.leg is not None and self.config.diversion:
                self.queue.at(self.now, self.maybe_divert, courier_id)

    # --- the people -------------------------------------------------------------------------

    def place_order(self, o: OrderPlan) -> None:
        def window(w: tuple[float | None, float | None] | None):
            if w is None:
                return None
            return (_dt(w[0]) if w[0] is not None else None,
                    _dt(w[1]) if w[1] is not None else None)

        self.store.create_order(pickup=o.pickup, dropoff=o.dropoff, now=_dt(self.now),
                                size=o.size, pickup_window=window(o.pickup_window_s),
                                dropoff_window=window(o.dropoff_window_s), order_id=o.id)
        self.open_orders += 1
        self.to_place -= 1
        self.changed()

    def shift_on(self, courier_id: int) -> None:
        agent = self.agents[courier_id]
        plan = agent.plan
        agent.on_shift = True
        self.store.start_shift(
            courier_id, lat=agent.place[0], lon=agent.place[1],
            ends_at=_dt(plan.off_s) if plan.route_ends_by_off else None,
            last_pickup_at=_dt(plan.last_pickup_s) if plan.last_pickup_s is not None else None)
        self.changed()

    def shift_off(self, courier_id: int) -> None:
        self.agents[courier_id].on_shift = False
        self.store.end_shift(courier_id)
        self.changed()

    def answer_offer(self, courier_id: int, offer_id: int, answer: str) -> None:
        now = _dt(self.now)
        try:
            if answer == "accept":
                order = self.store.accept_offer(offer_id, courier_id=courier_id, now=now)
                self.log.offers_accepted += 1
                self._accepted(order.id)
                self.queue.at(self.now, self.go_on, courier_id)
            else:
                self.store.decline_offer(offer_id, courier_id=courier_id, now=now)
                self.log.offers_declined += 1
        except Conflict:
            return  # expired, withdrawn or taken meanwhile: the app shows it and moves on
        self.changed()

    def _accepted(self, order_id: int) -> None:
        self.log.assigned_s[order_id] = self.now
        self.log.courier_of[order_id] = self.store.orders[order_id].courier_id

    def _actionable(self, courier_id: int) -> list[tuple[str, int, Place]]:
        """The courier's route as it can act on it: accepted pickups, parcels it carries."""
        stops = []
        for s in self.store.route(courier_id):
            order = self.store.orders[s.order_id]
            if order.courier_id != courier_id:
                continue
            if s.kind == "pickup" and order.status in (OrderStatus.ASSIGNED,
                                                       OrderStatus.AT_PICKUP):
                stops.append(("pickup", s.order_id, (s.lat, s.lon)))
            elif s.kind == "dropoff" and order.status in (OrderStatus.PICKED_UP,
                                                          OrderStatus.AT_DROPOFF):
                stops.append(("dropoff", s.order_id, (s.lat, s.lon)))
        return stops

    def go_on(self, courier_id: int) -> None:
        """The courier is free (at a place, no handoff under way): head for the next stop."""
        agent = self.agents[courier_id]
        if agent.leg is not None or agent.at_stop is not None:
            return
        step = self.config.time_step_s
        if step and self.now % step:
            self.queue.at(math.ceil(self.now / step) * step, self.go_on, courier_id)
            return
        stops = self._actionable(courier_id)
        if not stops:
            if agent.on_shift:
                self.store.set_position(courier_id, lat=agent.place[0], lon=agent.place[1])
            return
        kind, order_id, place = stops[0]
        self._drive(agent, (kind, order_id), place, origin=agent.place,
                    origin_stop=agent.last_stop)

    def _drive(self, agent: _Agent, stop: tuple[str, int], destination: Place, *,
               origin: Place, origin_stop: tuple[str, int | None]) -> None:
        profile = self.profile[agent.plan.vehicle]
        duration_s = self.world.travel_s(profile, origin, destination)
        agent.token += 1
        arrive_s = self.now + duration_s
        agent.leg = (origin, destination, stop, self.now, arrive_s, agent.token)
        self.log.moves.append(Move(agent.plan.id, self.now, arrive_s, origin_stop, stop,
                                   origin, destination))
        if not self.config.diversion:
            # Not to be diverted: planned from its next stop, when it gets there.
            self.store.set_position(agent.plan.id, lat=destination[0], lon=destination[1],
                                    available_at=_dt(arrive_s))
        self.queue.at(arrive_s, self.arrive, agent.plan.id, agent.token)

    def _update_positions(self) -> None:
        """The couriers' GPS as the planner reads it (couriers that may be diverted)."""
        if not self.config.diversion:
            return
        for agent in self.agents.values():
            if agent.leg is None or not agent.on_shift:
                continue
            place = self._position(agent)
            self.store.set_position(agent.plan.id, lat=place[0], lon=place[1])

    def _position(self, agent: _Agent) -> Place:
        origin, destination, _, depart_s, arrive_s, _ = agent.leg
        span = arrive_s - depart_s
        fraction = 1.0 if span <= 0 else min(1.0, max(0.0, (self.now - depart_s) / span))
        return self.world.position_at(self.profile[agent.plan.vehicle], origin, destination,
                                      fraction)

    def maybe_divert(self, courier_id: int) -> None:
        """A new route while driving: turn towards its first stop if that changed."""
        agent = self.agents[courier_id]
        if agent.leg is None:
            return
        stops = self._actionable(courier_id)
        heading = agent.leg[2]
        if stops and (stops[0][0], stops[0][1]) == heading:
            return
        here = self._position(agent)
        last = self.log.moves[-1]
        for i in range(len(self.log.moves) - 1, -1, -1):
            if self.log.moves[i].courier_id == courier_id:
                last = self.log.moves[i]
                self.log.moves[i] = Move(last.courier_id, last.depart_s, self.now, last.origin,
                                         last.destination, last.origin_place, here, self.now)
                break
        agent.leg = None
        agent.place = here
        if not stops:
            self.store.set_position(courier_id, lat=here[0], lon=here[1])
            return
        kind, order_id, place = stops[0]
        self._drive(agent, (kind, order_id), place, origin=here, origin_stop=("en_route", None))

    def arrive(self, courier_id: int, token: int) -> None:
        agent = self.agents[courier_id]
        if agent.leg is None or agent.leg[5] != token:
            return  # diverted meanwhile
        _, destination, stop, _, _, _ = agent.leg
        agent.leg, agent.place, agent.at_stop = None, destination, stop
        # Handing over from now on; a courier that may not be diverted is timed from here.
        self.store.set_position(courier_id, lat=destination[0], lon=destination[1],
                                available_at=None if self.config.diversion else _dt(self.now))
        kind, order_id = stop
        handoff = self.config.handoff
        if kind == "pickup":
            for oid in self._bundle(courier_id, destination):
                if self.store.orders[oid].status == OrderStatus.ASSIGNED:
                    self.store.report(oid, Action.ARRIVE_PICKUP, courier_id=courier_id,
                                      now=_dt(self.now))
            self.queue.at(self._pickup_time(courier_id, destination,
                                            self.now + handoff.pickup_before_s),
                          self.pick_up, courier_id, destination, self.now)
        else:
            self.store.report(order_id, Action.ARRIVE_DROPOFF, courier_id=courier_id,
                              now=_dt(self.now))
            self.queue.at(self.now + handoff.dropoff_before_s, self.drop_off, courier_id,
                          order_id)
        self.changed()

    def _bundle(self, courier_id: int, place: Place) -> list[int]:
        """The courier's accepted orders to collect at this place."""
        return [oid for kind, oid, p in self._actionable(courier_id)
                if kind == "pickup" and p == place]

    def _pickup_time(self, courier_id: int, place: Place, earliest_s: float) -> float:
        ready = [self.log.orders[oid].ready_s for oid in self._bundle(courier_id, place)]
        return max([earliest_s, *ready])

    def pick_up(self, courier_id: int, place: Place, arrived_s: float) -> None:
        # Orders may have joined the bundle while the courier waited (the one update the
        # meal-delivery rules allow): the pickup then waits for the latest of them too.
        when = self._pickup_time(courier_id, place,
                                 arrived_s + self.config.handoff.pickup_before_s)
        if when > self.now:
            self.queue.at(when, self.pick_up, courier_id, place, arrived_s)
            return
        bundle = self._bundle(courier_id, place)
        agent = self.agents[courier_id]
        for oid in bundle:
            self.store.report(oid, Action.PICK_UP, courier_id=courier_id, now=_dt(self.now))
            self.log.pickup_s[oid] = self.now
        if bundle:
            self.log.bundles.append(Bundle(courier_id, max(self.log.assigned_s[o] for o in
                                                           bundle), self.now, tuple(bundle)))
            agent.last_stop = ("pickup", bundle[0])
        self.queue.at(self.now + self.config.handoff.pickup_after_s, self.leave, courier_id)
        self.changed()

    def drop_off(self, courier_id: int, order_id: int) -> None:
        try:
            self.store.report(order_id, Action.DELIVER, courier_id=courier_id,
                              now=_dt(self.now))
        except (NotFound, Conflict):
            pass  # taken off this courier meanwhile (cancelled): nothing to hand over
        else:
            self.log.dropoff_s[order_id] = self.now
            self.open_orders -= 1
        self.agents[courier_id].last_stop = ("dropoff", order_id)
        self.queue.at(self.now + self.config.handoff.dropoff_after_s, self.leave, courier_id)
        self.changed()

    def leave(self, courier_id: int) -> None:
        agent = self.agents[courier_id]
        agent.at_stop = None
        self.go_on(courier_id)
        if not agent.busy and not agent.on_shift:
            return
        self.changed()

    def _sample(self, t_s: float) -> None:
        on = sum(a.on_shift for a in self.agents.values())
        busy = sum(a.busy for a in self.agents.values())
        self.log.samples.append((t_s, self.open_orders, on, busy))


def simulate_day(orders: list[OrderPlan], couriers: list[CourierPlan], *, world: World,
                 travel: MatrixSource, config: DayConfig,
                 behaviour: CourierBehaviour | None = None,
                 progress: Callable[[float, int, int], None] | None = None) -> DayLog:
    """Runs the day and returns its log (see the module docstring)."""
    day = _Day(orders, couriers, world=world, travel=travel, config=config,
               behaviour=behaviour or FollowEveryInstruction(), progress=progress)
    return asyncio.run(day.run())

