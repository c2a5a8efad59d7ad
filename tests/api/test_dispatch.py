"""The dispatch engine over the real app, PostGIS and Redis, in central Portland.

Travel times come from OSRM on `portland-central.osm.pbf` (car and bicycle profiles), built
once into the geodata tests' cache under `var/test-networks` and reused while its source and
recipe are unchanged. Each test starts with no open order and no courier on shift but its own
(other modules' leftovers would be planned alongside); one test puts a courier and an order in
Tashkent, far off this network, to prove that off-network places are planned around, not fatal.
"""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from datetime import UTC, datetime, timedelta

import orjson
import pytest
from sqlalchemy import select, update

from dispatch.locations import point_ewkt
from dispatch.planning import build_problem
from dispatch.state_store import NoLivePositions, load_snapshot
from dispatch.tables import Courier, DispatchOffer, Order, PlannedStop
from routing.plan import StopKind, StopRef, schedule_routes
from routing.validator import validate
from tests.conftest import INSIDE, INSIDE_2, withdraw_open_work
from tests.geodata.networks import TEST_NETWORKS_DIR, shared_osm

PORTLAND = {"type": "Polygon", "coordinates": [[[-122.71, 45.475], [-122.565, 45.475],
                                                [-122.565, 45.56], [-122.71, 45.56],
                                                [-122.71, 45.475]]]}
#: Places in central Portland on both sides of the Willamette, (lat, lon).
PIONEER_SQUARE = (45.5189, -122.6793)
PEARL = (45.5265, -122.6840)
OLD_TOWN = (45.5240, -122.6710)
LLOYD = (45.5315, -122.6610)
BUCKMAN = (45.5180, -122.6450)
HOSFORD = (45.5050, -122.6330)
GOOSE_HOLLOW = (45.5180, -122.6930)
SOUTH_WATERFRONT = (45.4990, -122.6720)


@pytest.fixture(scope="module")
async def portland(app):
    """A Portland zone, OSRM travel times if built, a quick solver budget; restored after."""
    from geodata.zones import create_zone

    async with app.state.sessionmaker() as session:
        zone = await create_zone(session, name=f"portland-{uuid.uuid4().hex[:6]}",
                                 geometry=PORTLAND)
        await session.commit()
    runtime = app.state.dispatch
    saved_config, saved_travel = runtime.config, getattr(app.state, "travel", None)
    runtime.config = dataclasses.replace(runtime.config, solver_time_s=0.3, reassign_gain=None)
    from geodata.network_import import import_network
    from geodata.travel import load_travel_models

    await asyncio.to_thread(import_network, shared_osm("portland-central.osm.pbf"),
                            name="portland", networks_dir=TEST_NETWORKS_DIR,
                            profiles=["car", "bicycle"], algorithms=["mld"])
    app.state.travel = load_travel_models(TEST_NETWORKS_DIR, "portland", strict=True)
    try:
        yield zone.id
    finally:
        runtime.config = saved_config
        app.state.travel = saved_travel


@pytest.fixture(autouse=True)
async def _fresh_fleet(app, portland):
    """Each test plans with its own couriers and orders only: every open order is withdrawn
    and every courier goes home before it (and after it, for the next module)."""
    await withdraw_open_work(app)
    yield
    await withdraw_open_work(app)


async def _courier(app, actors, zone_id: int, at: tuple[float, float], *, capacity: int = 3,
                   vehicle: str = "bicycle"):
    actor = await actors.make("courier", vehicle=vehicle, capacity=capacity)
    async with app.state.sessionmaker() as session:
        await session.execute(update(Courier).where(Courier.id == actor.courier_id).values(
            last_location=point_ewkt(*at), zone_ids=[zone_id]))
        await session.commit()
    return actor


async def _order(make_order, seller, pickup, dropoff, **extra) -> dict:
    return await make_order(seller, pickup={"lat": pickup[0], "lon": pickup[1]},
                            dropoff={"lat": dropoff[0], "lon": dropoff[1]}, **extra)


async def _run(client, dispatcher, **body) -> dict:
    response = await client.post("/api/v1/dispatch/run", json=body or None,
                                 headers=dispatcher.headers)
    assert response.status_code == 200, response.text
    return response.json()


def _offer_of(summary: dict, order_id: int) -> dict | None:
    return next((o for o in summary["offers"] if o["order_id"] == order_id), None)


async def _validate_plan(app, order_ids: set[int]):
    """Replays the stored routes of these orders against their hard windows and capacities
    with the routing validator (orders taken as pending, so windows are hard)."""
    async with app.state.sessionmaker() as session:
        loaded = await load_snapshot(session, now=datetime.now(UTC), positions=NoLivePositions())
        stops = (await session.scalars(select(PlannedStop).order_by(
            PlannedStop.courier_id, PlannedStop.seq))).all()
    snapshot = loaded.snapshot
    mine = {s.courier_id for s in stops if s.order_id in order_ids}
    couriers = tuple(c for c in snapshot.couriers if c.id in mine)
    orders = tuple(dataclasses.replace(o, status="pending", courier_id=None)
                   if o.status in ("offered", "assigned") else o
                   for o in snapshot.orders if o.id in order_ids)
    snapshot = dataclasses.replace(snapshot, couriers=couriers, orders=orders,
                                   previous_routes={}, excluded=frozenset())
    from dispatch.cycle import compute_matrices

    runtime = app.state.dispatch
    matrices = compute_matrices(snapshot, runtime.travel, runtime.config.options)
    built = build_problem(snapshot, matrices, options=runtime.config.options)
    sequences = []
    for c in couriers:
        seq = [StopRef(f"o{s.order_id}", StopKind.PICKUP if s.kind == "pickup" else
                       StopKind.DELIVERY) for s in stops if s.courier_id == c.id
               and s.order_id in order_ids]
        sequences.append(seq)
    plan = schedule_routes(built.problem, sequences)
    return validate(built.problem, plan), plan


async def test_only_dispatchers_run_a_cycle(client, actors):
    courier = await actors.make("courier")
    response = await client.post("/api/v1/dispatch/run", headers=courier.headers)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"


async def test_a_cycle_offers_every_order_feasibly_within_windows_and_capacity(
        app, client, actors, make_order, portland):
    dispatcher = await actors.make("dispatcher")
    seller = await actors.make("seller")
    couriers = [await _courier(app, actors, portland, at, capacity=2)
                for at in (PIONEER_SQUARE, LLOYD, SOUTH_WATERFRONT)]
    now = datetime.now(UTC)
    window = {"start": now.isoformat(), "end": (now + timedelta(hours=2)).isoformat()}
    legs = [(PEARL, OLD_TOWN), (GOOSE_HOLLOW, PIONEER_SQUARE), (BUCKMAN, HOSFORD),
            (LLOYD, BUCKMAN), (SOUTH_WATERFRONT, PIONEER_SQUARE), (OLD_TOWN, LLOYD)]
    orders = [await _order(make_order, seller, p, d, dropoff_window=window) for p, d in legs]
    ids = {o["id"] for o in orders}

    summary = await _run(client, dispatcher)
    assert set(summary["timings_s"]) == {"load", "matrix", "solve", "apply", "total"}
    offered = {o["order_id"]: o["courier_id"] for o in summary["offers"] if o["order_id"] in ids}
    assert set(offered) == ids
    assert set(offered.values()) <= {c.courier_id for c in couriers}
    report, plan = await _validate_plan(app, ids)
    assert report.feasible, report.violations
    assert report.unassigned == 0
    assert max((v.load for r in plan.routes for v in r.visits), default=0) <= 2

    for order in orders:
        body = (await client.get(f"/api/v1/orders/{order['id']}",
                                 headers=dispatcher.headers)).json()
        assert body["status"] == "offered" and body["courier_id"] == offered[order["id"]]
        assert body["pickup_eta"] is not None and body["dropoff_eta"] is not None
        assert body["events"][-1]["type"] == "offer"

    courier = next(c for c in couriers if c.courier_id in offered.values())
    listed = (await client.get("/api/v1/offers", headers=courier.headers)).json()["items"]
    assert {o["order_id"] for o in listed} == {k for k, v in offered.items()
                                               if v == courier.courier_id}
    assert all({"id", "order_id", "expires_at"} <= set(o) for o in listed)


async def test_accepting_puts_the_stops_on_the_route_with_geometry(
        app, client, actors, make_order, portland):
    dispatcher = await actors.make("dispatcher")
    courier = await _courier(app, actors, portland, GOOSE_HOLLOW)
    order = await _order(make_order, None, GOOSE_HOLLOW, PEARL)
    offer = _offer_of(await _run(client, dispatcher), order["id"])
    assert offer["courier_id"] == courier.courier_id

    response = await client.post(f"/api/v1/offers/{offer['id']}/accept",
                                 headers=courier.headers)
    assert response.status_code == 200, response.text
    assert response.json()["order"] == {"id": order["id"], "status": "assigned",
                                        "courier_id": courier.courier_id}
    again = await client.post(f"/api/v1/offers/{offer['id']}/accept", headers=courier.headers)
    assert again.status_code == 409 and again.json()["error"]["code"] == "offer_closed"

    route = (await client.get(f"/api/v1/couriers/{courier.courier_id}/route",
                              headers=courier.headers)).json()
    assert route["courier_id"] == courier.courier_id
    assert [(s["order_id"], s["kind"]) for s in route["stops"]] == [
        (order["id"], "pickup"), (order["id"], "dropoff")]
    assert all(s["eta"] for s in route["stops"])
    assert route["stops"][0]["eta"] <= route["stops"][1]["eta"]
    assert route["geometry"]["type"] == "LineString"
    assert len(route["geometry"]["coordinates"]) >= 3
    assert all(-122.8 < lon < -122.5 for lon, _ in route["geometry"]["coordinates"])

    stranger = await actors.make("courier")
    hidden = await client.get(f"/api/v1/couriers/{courier.courier_id}/route",
                              headers=stranger.headers)
    assert hidden.status_code == 404
    # The accepted order stays with its courier on the next cycle.
    summary = await _run(client, dispatcher)
    assert _offer_of(summary, order["id"]) is None
    async with app.state.sessionmaker() as session:
        assert (await session.get(Order, order["id"])).courier_id == courier.courier_id


async def test_a_decline_moves_the_order_and_it_never_comes_back(
        app, client, actors, make_order, portland):
    dispatcher = await actors.make("dispatcher")
    near = await _courier(app, actors, portland, OLD_TOWN)
    far = await _courier(app, actors, portland, HOSFORD)
    order = await _order(make_order, None, OLD_TOWN, PEARL)
    first = _offer_of(await _run(client, dispatcher), order["id"])
    assert first["courier_id"] == near.courier_id

    response = await client.post(f"/api/v1/offers/{first['id']}/decline", headers=near.headers)
    assert response.status_code == 200, response.text
    assert response.json()["order"]["status"] == "pending"
    second = _offer_of(await _run(client, dispatcher), order["id"])
    assert second["courier_id"] == far.courier_id
    assert (await client.get("/api/v1/offers", headers=near.headers)).json()["items"] == []

    await client.post(f"/api/v1/offers/{second['id']}/decline", headers=far.headers)
    assert _offer_of(await _run(client, dispatcher), order["id"]) is None
    async with app.state.sessionmaker() as session:
        pairs = (await session.execute(select(DispatchOffer.courier_id, DispatchOffer.state)
                                       .where(DispatchOffer.order_id == order["id"]))).all()
    assert sorted(pairs) == sorted([(near.courier_id, "declined"), (far.courier_id, "declined")])


async def test_an_unanswered_offer_expires_and_moves(app, client, actors, make_order, portland):
    runtime = app.state.dispatch
    dispatcher = await actors.make("dispatcher")
    near = await _courier(app, actors, portland, BUCKMAN)
    far = await _courier(app, actors, portland, GOOSE_HOLLOW)
    order = await _order(make_order, None, BUCKMAN, HOSFORD)
    saved = runtime.config
    runtime.config = dataclasses.replace(saved, offer_timeout_s=1.0)
    try:
        first = _offer_of(await _run(client, dispatcher), order["id"])
        assert first["courier_id"] == near.courier_id
        await asyncio.sleep(1.1)
        late = await client.post(f"/api/v1/offers/{first['id']}/accept", headers=near.headers)
        assert late.status_code == 409 and late.json()["error"]["code"] == "offer_expired"
        summary = await _run(client, dispatcher)
    finally:
        runtime.config = saved
    second = _offer_of(summary, order["id"])
    assert second is not None and second["courier_id"] == far.courier_id
    events = (await client.get(f"/api/v1/orders/{order['id']}",
                               headers=dispatcher.headers)).json()["events"]
    assert [e["type"] for e in events][-3:] == ["offer", "offer_expired", "offer"]


async def test_cancelling_removes_the_stops(app, client, actors, make_order, portland):
    dispatcher = await actors.make("dispatcher")
    seller = await actors.make("seller")
    courier = await _courier(app, actors, portland, LLOYD)
    order = await _order(make_order, seller, LLOYD, BUCKMAN)
    offer = _offer_of(await _run(client, dispatcher), order["id"])
    await client.post(f"/api/v1/offers/{offer['id']}/accept", headers=courier.headers)
    route_url = f"/api/v1/couriers/{courier.courier_id}/route"
    assert len((await client.get(route_url, headers=dispatcher.headers)).json()["stops"]) == 2

    cancelled = await client.post(f"/api/v1/orders/{order['id']}/cancel", json={},
                                  headers=seller.headers)
    assert cancelled.status_code == 200, cancelled.text
    assert (await client.get(route_url, headers=dispatcher.headers)).json()["stops"] == []
    await _run(client, dispatcher)
    async with app.state.sessionmaker() as session:
        rows = (await session.scalars(select(PlannedStop).where(
            PlannedStop.order_id == order["id"]))).all()
    assert rows == []


async def test_an_impossible_window_is_flagged_with_the_reason(
        app, client, actors, make_order, portland):
    dispatcher = await actors.make("dispatcher")
    await _courier(app, actors, portland, HOSFORD)
    now = datetime.now(UTC)
    order = await _order(make_order, None, GOOSE_HOLLOW, PEARL, pickup_window={
        "start": (now - timedelta(minutes=30)).isoformat(),
        "end": (now + timedelta(seconds=60)).isoformat()})
    summary = await _run(client, dispatcher)
    assert _offer_of(summary, order["id"]) is None
    flagged = {u["order_id"]: u["reason"] for u in summary["unservable"]}
    assert flagged[order["id"]] == "no vehicle can reach its time windows"
    body = (await client.get(f"/api/v1/orders/{order['id']}", headers=dispatcher.headers)).json()
    assert body["status"] == "pending"
    assert body["unservable_reason"] == "no vehicle can reach its time windows"


async def test_offers_and_routes_are_pushed_on_the_courier_channel(
        app, client, actors, make_order, portland, settings):
    dispatcher = await actors.make("dispatcher")
    courier = await _courier(app, actors, portland, SOUTH_WATERFRONT)
    order = await _order(make_order, None, SOUTH_WATERFRONT, PIONEER_SQUARE)
    pubsub = app.state.redis.pubsub()
    await pubsub.subscribe(f"{settings.redis_prefix}courier-messages:{courier.courier_id}")
    try:
        await _run(client, dispatcher)
        messages = []
        for _ in range(20):
            message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=0.2)
            if message is not None:
                messages.append(orjson.loads(message["data"]))
            if len(messages) >= 2:
                break
    finally:
        await pubsub.aclose()
    by_type = {m["type"]: m for m in messages}
    assert by_type["offer"]["offer"]["order_id"] == order["id"]
    assert by_type["offer"]["offer"]["pickup"]["lat"] == pytest.approx(SOUTH_WATERFRONT[0])
    assert [s["order_id"] for s in by_type["route"]["stops"]] == [order["id"]] * 2


async def test_auto_accept_assigns_at_once_and_policies_can_be_chosen(
        app, client, actors, make_order, portland):
    dispatcher = await actors.make("dispatcher")
    courier = await _courier(app, actors, portland, PEARL)
    put = await client.put("/api/v1/dispatch/settings", json={"auto_accept": True},
                           headers=dispatcher.headers)
    assert put.status_code == 200 and put.json()["auto_accept"] is True
    try:
        order = await _order(make_order, None, PEARL, OLD_TOWN)
        summary = await _run(client, dispatcher, policy="nearest")
    finally:
        await client.put("/api/v1/dispatch/settings", json={"auto_accept": False},
                         headers=dispatcher.headers)
    assert summary["policy"] == "nearest"
    offer = _offer_of(summary, order["id"])
    assert offer["courier_id"] == courier.courier_id and offer["state"] == "accepted"
    body = (await client.get(f"/api/v1/orders/{order['id']}", headers=dispatcher.headers)).json()
    assert body["status"] == "assigned"
    assert [e["type"] for e in body["events"]][-2:] == ["offer", "accept"]


async def test_every_order_state_the_planner_writes_is_consistent(
        app, client, actors, make_order, portland):
    """After a batch cycle, an accept and a broadcast cycle, the planned stops joined to the
    orders agree: an offered order names the courier of its one pending offer (a broadcast
    names none until someone accepts, and is planned for nobody yet), an assigned order its
    courier with no offer pending, and every planned stop belongs to a live order of the
    courier it is planned for, its pickup before its drop-off."""
    runtime = app.state.dispatch
    dispatcher = await actors.make("dispatcher")
    seller = await actors.make("seller")
    couriers = [await _courier(app, actors, portland, at, capacity=2)
                for at in (PIONEER_SQUARE, LLOYD, BUCKMAN)]
    legs = [(PEARL, OLD_TOWN), (LLOYD, BUCKMAN), (BUCKMAN, HOSFORD), (GOOSE_HOLLOW, PEARL)]
    orders = [await _order(make_order, seller, p, d) for p, d in legs]
    first = _offer_of(await _run(client, dispatcher), orders[0]["id"])
    taker = next(c for c in couriers if c.courier_id == first["courier_id"])
    accepted = await client.post(f"/api/v1/offers/{first['id']}/accept", headers=taker.headers)
    assert accepted.status_code == 200, accepted.text
    shared = await _order(make_order, seller, OLD_TOWN, LLOYD)
    saved = runtime.config
    runtime.config = dataclasses.replace(saved, cascade_mode="broadcast", cascade_radius_m=5000)
    try:
        await _run(client, dispatcher, policy="cascade")
    finally:
        runtime.config = saved
    ids = {o["id"] for o in orders} | {shared["id"]}

    async with app.state.sessionmaker() as session:
        stops = (await session.scalars(select(PlannedStop).order_by(
            PlannedStop.courier_id, PlannedStop.seq))).all()
        stored = {o.id: o for o in await session.scalars(select(Order).where(
            Order.id.in_(ids | {s.order_id for s in stops})))}
        pending = (await session.execute(select(DispatchOffer.order_id, DispatchOffer.courier_id)
                                         .where(DispatchOffer.order_id.in_(ids),
                                                DispatchOffer.state == "pending"))).all()
    offers_of = {i: sorted(c for o, c in pending if o == i) for i in ids}
    stops_of = {i: [(s.courier_id, s.kind) for s in stops if s.order_id == i] for i in ids}

    assert stored[orders[0]["id"]].status == "assigned"
    assert stored[orders[0]["id"]].courier_id == taker.courier_id
    assert offers_of[orders[0]["id"]] == []
    assert stored[shared["id"]].status == "offered" and stored[shared["id"]].courier_id is None
    assert len(offers_of[shared["id"]]) >= 2
    assert stops_of[shared["id"]] == []
    for order_id in ids - {shared["id"]}:
        order = stored[order_id]
        assert order.status in ("offered", "assigned"), (order_id, order.status)
        if order.status == "offered":
            assert offers_of[order_id] == [order.courier_id], order_id
        assert stops_of[order_id] == [(order.courier_id, "pickup"),
                                      (order.courier_id, "dropoff")], order_id
    for stop in stops:  # everyone's, not only this test's
        order = stored[stop.order_id]
        assert order.status in ("offered", "assigned", "at_pickup", "picked_up", "at_dropoff",
                                "returning"), (stop.order_id, order.status)
        assert order.courier_id == stop.courier_id, stop.order_id


async def test_off_network_couriers_and_orders_are_planned_around(
        app, client, actors, make_order, portland):
    """A courier and an order in Tashkent, far off the Portland network, do not stop the
    Portland order from being offered."""
    dispatcher = await actors.make("dispatcher")
    courier = await _courier(app, actors, portland, PEARL)
    stranger = await actors.make("courier")  # on shift in Tashkent
    far_away = await make_order(None, pickup={**INSIDE, "address": "Amir Temur 1"},
                                dropoff={**INSIDE_2, "address": "Navoi 10"})
    order = await _order(make_order, None, PEARL, OLD_TOWN)
    summary = await _run(client, dispatcher)
    assert _offer_of(summary, order["id"])["courier_id"] == courier.courier_id
    offered = _offer_of(summary, far_away["id"])
    assert offered is None or offered["courier_id"] == stranger.courier_id


async def test_a_broadcast_goes_to_the_first_courier_who_accepts(
        app, client, actors, make_order, portland):
    runtime = app.state.dispatch
    dispatcher = await actors.make("dispatcher")
    first = await _courier(app, actors, portland, OLD_TOWN)
    second = await _courier(app, actors, portland, PEARL)
    order = await _order(make_order, None, OLD_TOWN, LLOYD)
    saved = runtime.config
    runtime.config = dataclasses.replace(saved, cascade_mode="broadcast",
                                         cascade_radius_m=5000)
    try:
        summary = await _run(client, dispatcher, policy="cascade")
    finally:
        runtime.config = saved
    offers = {o["courier_id"]: o for o in summary["offers"] if o["order_id"] == order["id"]}
    assert set(offers) == {first.courier_id, second.courier_id}
    taken = await client.post(f"/api/v1/offers/{offers[second.courier_id]['id']}/accept",
                              headers=second.headers)
    assert taken.json()["order"] == {"id": order["id"], "status": "assigned",
                                     "courier_id": second.courier_id}
    late = await client.post(f"/api/v1/offers/{offers[first.courier_id]['id']}/accept",
                             headers=first.headers)
    assert late.status_code == 409 and late.json()["error"]["code"] == "offer_closed"


async def test_accepted_work_moves_when_a_replan_gains_enough(
        app, client, actors, make_order, portland):
    runtime = app.state.dispatch
    dispatcher = await actors.make("dispatcher")
    far = await _courier(app, actors, portland, HOSFORD)
    near = await _courier(app, actors, portland, GOOSE_HOLLOW)
    order = await _order(make_order, None, GOOSE_HOLLOW, PEARL)
    assigned = await client.post(f"/api/v1/orders/{order['id']}/assign",
                                 json={"courier_id": far.courier_id}, headers=dispatcher.headers)
    assert assigned.status_code == 200, assigned.text
    saved = runtime.config
    runtime.config = dataclasses.replace(saved, reassign_gain=0.2)
    runtime.scheduler.reassign_next()
    try:
        summary = await _run(client, dispatcher)
    finally:
        runtime.config = saved
    assert summary["reassigned"] >= 1
    assert _offer_of(summary, order["id"])["courier_id"] == near.courier_id
    events = (await client.get(f"/api/v1/orders/{order['id']}",
                               headers=dispatcher.headers)).json()["events"]
    assert [e["type"] for e in events][-3:] == ["assign", "unassign", "offer"]
    assert events[-2]["details"]["reason"] == "replanned"


async def test_a_failure_while_applying_leaves_nothing_half_done(
        app, client, actors, make_order, portland, monkeypatch):
    dispatcher = await actors.make("dispatcher")
    await _courier(app, actors, portland, PIONEER_SQUARE)
    order = await _order(make_order, None, PIONEER_SQUARE, PEARL)
    import dispatch.sql_store

    async def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(dispatch.sql_store, "replace_routes", broken)
    with pytest.raises(RuntimeError):
        await app.state.dispatch.run_once()
    monkeypatch.undo()
    async with app.state.sessionmaker() as session:
        stored = await session.get(Order, order["id"])
        offers = (await session.scalars(select(DispatchOffer).where(
            DispatchOffer.order_id == order["id"]))).all()
    assert stored.status == "pending" and stored.courier_id is None and offers == []
    assert _offer_of(await _run(client, dispatcher), order["id"]) is not None


async def test_live_positions_from_the_tracking_store_are_planned_from(
        app, client, actors, make_order, portland, settings):
    """The tracking live store's last fix (newer than the stored position) is where planning
    and the route's geometry start."""
    dispatcher = await actors.make("dispatcher")
    courier = await _courier(app, actors, portland, HOSFORD)  # stored position: Hosford
    fix = {"id": courier.courier_id, "lat": PEARL[0], "lon": PEARL[1],
           "ts": datetime.now(UTC).timestamp() + 1, "speed": 0, "heading": 0, "acc": 5}
    key = f"{settings.redis_prefix}tracking:last"
    await app.state.redis.hset(key, str(courier.courier_id), orjson.dumps(fix))
    try:
        live = await app.state.dispatch.positions.latest([courier.courier_id])
        assert live[courier.courier_id][:2] == PEARL
        order = await _order(make_order, None, PEARL, OLD_TOWN)
        offer = _offer_of(await _run(client, dispatcher), order["id"])
        await client.post(f"/api/v1/offers/{offer['id']}/accept", headers=courier.headers)
        route = (await client.get(f"/api/v1/couriers/{courier.courier_id}/route",
                                  headers=courier.headers)).json()
    finally:
        await app.state.redis.hdel(key, str(courier.courier_id))
    start_lon, start_lat = route["geometry"]["coordinates"][0]
    assert abs(start_lat - PEARL[0]) < 0.003 and abs(start_lon - PEARL[1]) < 0.003


async def test_work_of_a_courier_who_goes_off_shift_goes_back_to_the_planner(
        app, client, actors, make_order, portland):
    dispatcher = await actors.make("dispatcher")
    leaving = await _courier(app, actors, portland, BUCKMAN)
    order = await _order(make_order, None, BUCKMAN, LLOYD)
    offer = _offer_of(await _run(client, dispatcher), order["id"])
    await client.post(f"/api/v1/offers/{offer['id']}/accept", headers=leaving.headers)
    ended = await client.post(f"/api/v1/couriers/{leaving.courier_id}/shift",
                              json={"action": "end"}, headers=leaving.headers)
    assert ended.status_code == 200, ended.text
    staying = await _courier(app, actors, portland, HOSFORD)
    summary = await _run(client, dispatcher)
    assert order["id"] in summary["released_off_shift"]
    assert _offer_of(summary, order["id"])["courier_id"] == staying.courier_id
    events = (await client.get(f"/api/v1/orders/{order['id']}",
                               headers=dispatcher.headers)).json()["events"]
    assert [e["type"] for e in events][-2:] == ["unassign", "offer"]
    assert events[-2]["details"] == {"reason": "courier_off_shift"}
