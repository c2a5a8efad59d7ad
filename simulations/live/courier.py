"""One simulated courier: a shift, a GPS stream, offers answered, stops served.

The courier works like its app would:

1. starts its shift where it stands and opens `/ws/courier`;
2. answers offers (pushed on the socket, and polled with `GET /offers` since pushes are best
   effort) after a human delay: mostly accepts, sometimes declines, now and then lets one
   run out (`behaviour.decide_offer`);
3. asks which orders it holds (`GET /orders?courier_id=`) and its planned route
   (`GET /couriers/{id}/route`), picks the next stop (`behaviour.next_stop`), gets the road
   path there from `POST /travel/route` and moves along it at its vehicle's road speed, one
   GPS fix a second;
4. at the stop waits until its fix there is stored, reports the arrival, spends a while at
   the counter or door, then scans the QR token the seller (pickup, return) or the buyer
   (dropoff) just minted, with its own position and the scan time;
5. at the end flushes its GPS buffer and ends its shift.

Everything the service refuses is counted in the run's summary; an honest courier should
see no refused scan, arrival or point.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from datetime import UTC, datetime
from typing import Any

from simulations.live.behaviour import HELD_STATUSES, GpsReading, Stop, decide_offer, next_stop
from simulations.live.cast import CastCourier
from simulations.live.client import CallFailed
from simulations.live.gps_link import GpsLink
from simulations.live.movement import Path, Trip, path_from_geojson, trip_speed_mps
from simulations.live.world import World

__all__ = ["CourierAgent"]

log = logging.getLogger(__name__)

#: Codes that mean "this order is no longer yours to handle" (reassigned, released).
_GONE = {"not_found", "illegal_transition", "handoff_leg_mismatch", "handoff_wrong_courier"}
#: Leg of the handoff token for each kind of stop.
_LEG = {"pickup": "pickup", "dropoff": "dropoff", "return": "return"}
#: How often a travelling courier checks that its order is still its own.
_RECHECK_S = 15.0
#: Scan attempts before a courier gives an order up (and reports it).
_SCAN_ATTEMPTS = 3


class CourierAgent:
    def __init__(self, world: World, member: CastCourier, rng: random.Random) -> None:
        self.world = world
        self.member = member
        self.actor = member.actor
        self.courier_id = member.courier_id
        self.vehicle = member.vehicle
        self.rng = rng
        self.position: tuple[float, float] = member.start
        self.heading: float | None = None
        self.reading: GpsReading | None = None
        #: A personal pace: couriers are not all equally quick.
        self.pace = rng.uniform(0.9, 1.1)
        self.link = GpsLink(url=f"{world.api.ws_base}/ws/courier", actor=self.actor,
                            summary=world.summary, on_message=self._on_message,
                            relogin=self._relogin, ack_timeout_s=world.config.ack_timeout_s,
                            name=self.actor.name)
        self.wake = asyncio.Event()
        self.offers: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.seen_offers: set[int] = set()
        self.withdrawn: set[int] = set()
        #: Orders this courier gave up on (scans kept failing); reported, not retried.
        self.given_up: set[int] = set()
        self.holding = False
        self.on_shift = False
        self._answers: set[asyncio.Task] = set()

    @property
    def summary(self):
        return self.world.summary

    @property
    def api(self):
        return self.world.api

    # --- the shift -------------------------------------------------------------------------------

    async def run(self) -> None:
        """The whole shift; returns when the run stops (or, while draining, when idle)."""
        try:
            await self._start_shift()
            await self.link.start()
        except Exception as exc:
            self.summary.note(f"{self.actor.name}: could not start: {exc}")
            await self._end_shift()
            await self.link.close(flush_timeout_s=0)
            return
        offers = asyncio.create_task(self._offer_loop(), name=f"offers-{self.actor.name}")
        cancelled = False
        try:
            await self._work_loop()
        except asyncio.CancelledError:  # stopped at once: no waiting for acks
            cancelled = True
            raise
        except Exception as exc:  # a bug or an outage: report it, end the shift cleanly
            log.exception("%s stopped", self.actor.name)
            self.summary.note(f"{self.actor.name}: stopped by {exc!r}")
        finally:
            for task in [offers, *self._answers]:
                task.cancel()
                with contextlib.suppress(BaseException):
                    await task
            await self.link.close(flush_timeout_s=0.0 if cancelled else 10.0)
            await self._end_shift()

    async def _start_shift(self) -> None:
        lat, lon = self.position
        try:
            await self.api.call("POST", "/couriers/{id}/shift", actor=self.actor,
                                 path={"id": self.courier_id},
                                 json={"action": "start", "lat": lat, "lon": lon},
                                 expected={"shift_already_started"})
        except CallFailed as exc:
            if exc.code != "shift_already_started":
                raise
        self.on_shift = True

    async def _end_shift(self) -> None:
        if not self.on_shift:
            return
        lat, lon = self.position
        with contextlib.suppress(CallFailed):
            await self.api.call("POST", "/couriers/{id}/shift", actor=self.actor,
                                path={"id": self.courier_id},
                                json={"action": "end", "lat": lat, "lon": lon},
                                expected={"shift_not_started"}, retries=2)
        self.on_shift = False

    async def _relogin(self) -> None:
        await self.api.login(self.actor)

    # --- GPS -------------------------------------------------------------------------------------

    def _emit(self, *, speed_mps: float = 0.0) -> None:
        """One fix of where the courier is now, as its phone would read it."""
        lat, lon = self.position
        self.reading = self.world.config.gps.read(lat, lon, speed_mps=speed_mps,
                                                  heading_deg=self.heading, rng=self.rng)
        r = self.reading
        self.link.send(lat=r.lat, lon=r.lon, ts=time.time(), acc_m=r.acc_m,
                       speed_mps=r.speed_mps, heading_deg=r.heading_deg)

    async def _stand(self, seconds: float, *, until: asyncio.Event | None = None) -> None:
        """Stays where it is for `seconds` (or until `until` is set), a fix per interval."""
        interval = self.world.config.fix_interval_s
        deadline = asyncio.get_running_loop().time() + seconds
        while not self.world.stopping.is_set():
            self._emit()
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0 or (until is not None and until.is_set()):
                return
            waits = [asyncio.create_task(self.world.stopping.wait())]
            if until is not None:
                waits.append(asyncio.create_task(until.wait()))
            try:
                await asyncio.wait(waits, timeout=min(interval, left))
            finally:
                for task in waits:
                    task.cancel()

    async def _settle(self) -> bool:
        """A fix where it stands, stored (acknowledged) before the service is told anything."""
        self._emit()
        return await self.link.flush(timeout_s=30.0)

    # --- messages and offers ---------------------------------------------------------------------

    def _on_message(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        if kind == "offer" and isinstance(message.get("offer"), dict):
            self.offers.put_nowait(message["offer"])
        elif kind == "withdrawn":
            order_id = message.get("order_id")
            if isinstance(order_id, int):
                self.withdrawn.add(order_id)
                self.summary.orders_withdrawn += 1
            self.wake.set()
        elif kind == "route":
            self.wake.set()

    async def _offer_loop(self) -> None:
        poll_s = self.world.config.offer_poll_s
        loop = asyncio.get_running_loop()
        next_poll = loop.time()
        while not self.world.stopping.is_set():
            batch: list[dict[str, Any]] = []
            with contextlib.suppress(TimeoutError):
                batch.append(await asyncio.wait_for(self.offers.get(),
                                                    max(0.05, next_poll - loop.time())))
            if loop.time() >= next_poll:
                next_poll = loop.time() + poll_s
                with contextlib.suppress(CallFailed):
                    batch += (await self.api.call("GET", "/offers", actor=self.actor))["items"]
            for offer in batch:
                offer_id = offer.get("id")
                if not isinstance(offer_id, int) or offer_id in self.seen_offers:
                    continue
                self.seen_offers.add(offer_id)
                self.summary.offers_received += 1
                task = asyncio.create_task(self._answer(offer))
                self._answers.add(task)
                task.add_done_callback(self._answers.discard)

    async def _answer(self, offer: dict[str, Any]) -> None:
        config = self.world.config
        decision = decide_offer(config.offers, self.rng)
        answer = decision.answer
        if self.world.draining.is_set():
            answer = "decline"  # the shift is ending: no new work
        elif answer == "accept" and not await self._ours(int(offer["order_id"])):
            answer = "decline"  # a parcel the simulator cannot hand over (not its seller's)
        if answer == "ignore":
            self.summary.offers_expired += 1  # the service expires it
            return
        await asyncio.sleep(decision.delay_s)
        try:
            await self.api.call("POST", f"/offers/{{id}}/{answer}", actor=self.actor,
                                path={"id": offer["id"]},
                                expected={"offer_expired", "offer_closed", "offer_not_found"})
        except CallFailed as exc:
            if exc.code == "offer_expired":
                self.summary.offers_expired += 1
            elif exc.code in ("offer_closed", "offer_not_found"):
                self.summary.offers_closed += 1
            return
        if answer == "accept":
            self.summary.offers_accepted += 1
            self.withdrawn.discard(int(offer["order_id"]))
            self.wake.set()
        else:
            self.summary.offers_declined += 1

    async def _ours(self, order_id: int) -> bool:
        """Whether the order's seller (and buyer, if any) belong to this run's cast."""
        try:
            order = await self.api.call("GET", "/orders/{id}", actor=self.actor,
                                        path={"id": order_id}, expected={"not_found"})
        except CallFailed:
            return False
        cast = self.world.cast
        return order["seller_id"] in cast.sellers_by_user and (
            order.get("buyer_id") is None or order["buyer_id"] in cast.buyers_by_user)

    # --- work ------------------------------------------------------------------------------------

    async def _work_loop(self) -> None:
        config = self.world.config
        while not self.world.stopping.is_set():
            self.wake.clear()  # a push while choosing below wakes the idle wait at once
            stop = await self._choose()
            self.holding = stop is not None
            if stop is None:
                if self.world.draining.is_set():
                    return
                await self._stand(config.idle_poll_s, until=self.wake)
                continue
            if await self._travel(stop):
                await self._serve(stop)

    async def _held(self) -> list[dict[str, Any]]:
        page = await self.api.call("GET", "/orders", actor=self.actor, params=[
            ("courier_id", self.courier_id), ("limit", 200),
            *(("status", s) for s in HELD_STATUSES)])
        return [o for o in page["items"] if o.get("courier_id") == self.courier_id]

    async def _choose(self) -> Stop | None:
        try:
            held = await self._held()
        except CallFailed:
            return None
        held = [o for o in held if o["id"] not in self.given_up]
        self.withdrawn -= {o["id"] for o in held}
        if not held:
            return None
        planned: list[dict[str, Any]] = []
        with contextlib.suppress(CallFailed):
            route = await self.api.call("GET", "/couriers/{id}/route", actor=self.actor,
                                        path={"id": self.courier_id})
            planned = route.get("stops") or []
        return next_stop(held, planned, position=self.position, skip=self.given_up)

    async def _road_path(self, stop: Stop) -> tuple[Path, float]:
        """The road path from here to the stop, and the speed to ride it at."""
        config = self.world.config
        here, there = self.position, (stop.lat, stop.lon)
        try:
            route = await self.api.call(
                "POST", "/travel/route", actor=self.world.admin,
                json={"profile": self.vehicle, "points": [
                    {"lat": here[0], "lon": here[1]}, {"lat": there[0], "lon": there[1]}]},
                expected={"point_off_network", "no_route"})
            road = path_from_geojson(route["geometry"])
            speed = trip_speed_mps(vehicle=self.vehicle, distance_m=route.get("distance_m"),
                                   duration_s=route.get("duration_s"),
                                   factor=config.speed_factor * self.pace,
                                   cap_mps=config.max_speed_mps)
            # From the kerb onto the road, along it, and off it to the door.
            return Path([here, *road.points, there]), speed
        except CallFailed as exc:
            self.summary.note(f"{self.actor.name}: no road path to order {stop.order_id} "
                              f"({exc.code}); going straight")
            speed = trip_speed_mps(vehicle=self.vehicle, distance_m=None, duration_s=None,
                                   factor=config.speed_factor * self.pace,
                                   cap_mps=config.max_speed_mps)
            return Path([here, there]), speed

    async def _still_mine(self, order_id: int) -> bool:
        try:
            order = await self.api.call("GET", "/orders/{id}", actor=self.actor,
                                        path={"id": order_id}, expected={"not_found"})
        except CallFailed as exc:
            return exc.code != "not_found"  # an outage is not a reason to turn round
        return order.get("courier_id") == self.courier_id and order["status"] in HELD_STATUSES

    async def _travel(self, stop: Stop) -> bool:
        """Moves to the stop, a fix per interval; False when the order went elsewhere or the
        run stopped on the way."""
        path, speed = await self._road_path(stop)
        trip = Trip(path, speed)
        loop = asyncio.get_running_loop()
        interval = self.world.config.fix_interval_s
        last = loop.time()
        recheck = last + _RECHECK_S
        while not trip.done:
            if self.world.stopping.is_set():
                return False
            if stop.order_id in self.withdrawn:
                return False
            await asyncio.sleep(min(interval, max(0.05, trip.eta_s)))
            now = loop.time()
            pose = trip.advance(now - last)
            last = now
            self.position = (pose.lat, pose.lon)
            if pose.heading_deg is not None:
                self.heading = pose.heading_deg
            self._emit(speed_mps=pose.speed_mps)
            if now >= recheck:
                recheck = now + _RECHECK_S
                if not await self._still_mine(stop.order_id):
                    self.withdrawn.add(stop.order_id)
                    return False
        self.position = (stop.lat, stop.lon)
        return not self.world.stopping.is_set()

    async def _serve(self, stop: Stop) -> None:
        """At the stop: arrival, time at the counter or door, then the handoff scan."""
        config = self.world.config
        try:
            order = await self.api.call("GET", "/orders/{id}", actor=self.actor,
                                        path={"id": stop.order_id}, expected={"not_found"})
        except CallFailed:
            return
        if order.get("courier_id") != self.courier_id or \
                HELD_STATUSES.get(order["status"]) != stop.kind:
            return
        if not await self._settle():
            self.summary.note(f"{self.actor.name}: fix at order {stop.order_id} not "
                              f"acknowledged within 30 s")
        if order["status"] in ("assigned", "picked_up"):
            action = "arrive_pickup" if stop.kind == "pickup" else "arrive_dropoff"
            if not await self._report(stop.order_id, action):
                return
        await self._stand(self.rng.uniform(*config.dwell_s))
        if self.world.stopping.is_set():
            return
        if stop.kind == "dropoff" and self.rng.random() < config.fail_probability:
            await self._fail(stop.order_id)
            return
        await self._handoff(stop, order)

    async def _report(self, order_id: int, action: str, reason: str | None = None) -> bool:
        """A status report by the courier; False when the order is no longer its own."""
        lat, lon = self._reported_position()
        body: dict[str, Any] = {"action": action, "lat": lat, "lon": lon}
        if reason:
            body["reason"] = reason
        try:
            await self.api.call("POST", "/orders/{id}/status", actor=self.actor,
                                path={"id": order_id}, json=body,
                                expected={"arrival_track_far", *_GONE})
        except CallFailed as exc:
            if exc.code in _GONE:
                return False
            if action.startswith("arrive"):
                self.summary.arrivals_refused[exc.code] += 1
                self.summary.note(f"{self.actor.name}: {action} of order {order_id} refused: "
                                  f"{exc.code} {exc.details}")
                return True  # the scan can still record the handoff
            raise
        if action.startswith("arrive"):
            self.summary.arrivals_ok += 1
        return True

    async def _fail(self, order_id: int) -> None:
        """Nobody at the door: the delivery fails and the parcel goes back to the seller."""
        if not await self._report(order_id, "fail", reason="buyer not at home"):
            return
        self.summary.orders_failed += 1
        await self._report(order_id, "start_return")

    def _reported_position(self) -> tuple[float, float]:
        """What the app reports: its latest GPS reading."""
        if self.reading is None:
            return self.position
        return self.reading.lat, self.reading.lon

    async def _mint(self, order: dict[str, Any], leg: str) -> str | None:
        """The token the seller (pickup, return) or the buyer (dropoff) shows."""
        cast = self.world.cast
        seller = cast.sellers_by_user.get(order["seller_id"])
        buyer = cast.buyers_by_user.get(order.get("buyer_id") or -1)
        holder = (buyer or seller) if leg == "dropoff" else seller
        if holder is None:
            self.summary.note(f"order {order['id']}: no cast member can show its {leg} code")
            return None
        try:
            issued = await self.api.call("POST", "/orders/{id}/handoff-tokens",
                                         actor=holder.actor, path={"id": order["id"]},
                                         json={"leg": leg}, expected=_GONE)
        except CallFailed:
            return None
        return issued["token"]

    async def _order(self, order_id: int) -> dict[str, Any] | None:
        """The order as this courier sees it, or None when it is no longer visible."""
        try:
            return await self.api.call("GET", "/orders/{id}", actor=self.actor,
                                       path={"id": order_id}, expected={"not_found"})
        except CallFailed:
            return None

    def _count_scan(self, leg: str, status: str | None) -> None:
        self.summary.scans_ok[leg] += 1
        if status == "picked_up":
            self.summary.orders_picked_up += 1
        elif status == "delivered":
            self.summary.orders_delivered += 1
        elif status == "returned":
            self.summary.orders_returned += 1

    async def _handoff(self, stop: Stop, order: dict[str, Any]) -> None:
        """Scans the freshly minted token; a refusal is counted, and retried with a new token
        while the order is still this courier's and still due for this leg."""
        leg = _LEG[stop.kind]
        for attempt in range(1, _SCAN_ATTEMPTS + 1):
            token = await self._mint(order, leg)
            if token is None:
                return
            if not await self._settle():
                self.summary.note(f"{self.actor.name}: fix before scanning order "
                                  f"{stop.order_id} not acknowledged within 30 s")
            lat, lon = self._reported_position()
            try:
                result = await self.api.call(
                    "POST", "/handoffs/scan", actor=self.actor,
                    json={"token": token, "lat": lat, "lon": lon,
                          "scanned_at": datetime.now(UTC).isoformat(),
                          "order_id": stop.order_id, "leg": leg},
                    latency=self.summary.scan, expected={"handoff_*", "not_found"})
            except CallFailed as exc:
                now = await self._order(stop.order_id)
                if now is None or now.get("courier_id") != self.courier_id:
                    return  # the order went to someone else meanwhile
                if HELD_STATUSES.get(now["status"]) != stop.kind:
                    if exc.server_error:  # the scan was recorded; only the answer was lost
                        self._count_scan(leg, now["status"])
                    return
                self.summary.scans_refused[exc.code] += 1
                self.summary.note(f"{self.actor.name}: {leg} scan of order {stop.order_id} "
                                  f"refused ({attempt}/{_SCAN_ATTEMPTS}): {exc.status} "
                                  f"{exc.code} {exc.details}")
                await self._stand(3.0)
                continue
            self._count_scan(leg, result.get("status"))
            return
        self.given_up.add(stop.order_id)
        self.summary.note(f"{self.actor.name}: gave up order {stop.order_id} after "
                          f"{_SCAN_ATTEMPTS} refused scans")
