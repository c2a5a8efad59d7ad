"""Dispatch: run a planning cycle, offers for couriers, planned routes, fleet settings, webhooks.

* `POST /dispatch/run` (dispatcher, admin) — one planning cycle now; answers its summary.
* `GET|PUT /dispatch/settings` — the fleet's auto-accept switch and policy.
* `GET /offers`, `POST /offers/{id}/accept|decline` (courier).
* `GET /couriers/{id}/route` — the courier's stops with ETAs and the road geometry.
* `POST|GET /webhooks`, `GET /webhooks/{id}/deliveries` — order status callbacks.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Request
from pydantic import BaseModel, Field
from sqlalchemy import select

from api.deps import CurrentUser, DispatcherUser, SessionDep
from api.dispatch_runtime import DispatchRuntime, travel_models
from api.errors import ApiError
from dispatch.couriers import courier_of_user, get_courier
from dispatch.dispatch_models import (
    FleetSettings,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookOutbox,
)
from dispatch.exceptions import NotFound
from dispatch.locations import to_lat_lon
from dispatch.models import Courier, Order, User
from dispatch.offers import OfferExpired, accept_offer, decline_offer, offer_wire, pending_offers
from dispatch.route_store import RouteStop, read_route, stop_wire
from dispatch.webhooks import endpoint_wire, register_endpoint

__all__ = ["router"]

router = APIRouter(tags=["dispatch"])

Policy = Literal["batch", "nearest", "cascade"]


def _runtime(request: Request) -> DispatchRuntime:
    return request.app.state.dispatch


class RunIn(BaseModel):
    policy: Policy | None = None


@router.post("/dispatch/run")
async def run_dispatch(request: Request, user: DispatcherUser,
                       body: Annotated[RunIn | None, Body()] = None) -> dict[str, Any]:
    """Runs one planning cycle now (serialised with the background planner) and answers what
    it did: offers, reassignments, unservable orders and the time spent per phase."""
    summary = await _runtime(request).run_once(policy=body.policy if body else None)
    return summary.to_json()


class FleetSettingsIn(BaseModel):
    auto_accept: bool | None = None
    policy: Policy | None = None


async def _fleet(session) -> FleetSettings | None:
    return await session.get(FleetSettings, "default")


@router.get("/dispatch/settings")
async def get_fleet_settings(request: Request, session: SessionDep,
                             user: DispatcherUser) -> dict[str, Any]:
    fleet = await _fleet(session)
    runtime = _runtime(request)
    return {"auto_accept": fleet.auto_accept if fleet else runtime.config.auto_accept,
            "policy": (fleet.policy if fleet and fleet.policy else runtime.config.policy),
            "offer_timeout_s": runtime.config.offer_timeout_s}


@router.put("/dispatch/settings")
async def put_fleet_settings(body: FleetSettingsIn, request: Request, session: SessionDep,
                             user: DispatcherUser) -> dict[str, Any]:
    fleet = await _fleet(session)
    if fleet is None:
        fleet = FleetSettings(fleet="default", auto_accept=_runtime(request).config.auto_accept)
        session.add(fleet)
    if body.auto_accept is not None:
        fleet.auto_accept = body.auto_accept
    if body.policy is not None:
        fleet.policy = body.policy
    fleet.updated_at = datetime.now(UTC)
    await session.commit()
    return await get_fleet_settings(request, session, user)


async def _my_courier(session, user: User) -> Courier:
    if user.role != "courier":
        raise ApiError(403, "forbidden", "Only couriers answer offers.")
    courier = await courier_of_user(session, user.id)
    if courier is None:
        raise ApiError(403, "forbidden", "This user has no courier record.")
    return courier


@router.get("/offers")
async def list_offers(session: SessionDep, user: CurrentUser) -> dict[str, Any]:
    """The offers waiting for the calling courier's answer."""
    courier = await _my_courier(session, user)
    offers = await pending_offers(session, courier_id=courier.id, now=datetime.now(UTC))
    orders = {o.id: o for o in (await session.scalars(
        select(Order).where(Order.id.in_([x.order_id for x in offers])))).all()}
    return {"items": [offer_wire(o, orders.get(o.order_id)) for o in offers]}


async def _answer(request: Request, session, user: User, offer_id: int,
                  answer: Literal["accept", "decline"]) -> dict[str, Any]:
    courier = await _my_courier(session, user)
    now = datetime.now(UTC)
    runtime = _runtime(request)
    try:
        if answer == "accept":
            result = await accept_offer(session, offer_id=offer_id, courier_id=courier.id,
                                        now=now, actor=user)
        else:
            result = await decline_offer(session, offer_id=offer_id, courier_id=courier.id,
                                         now=now, actor=user)
    except OfferExpired:
        await session.commit()  # the expiry itself is recorded
        await runtime.poke("offer_expired")
        raise
    await session.commit()
    if answer == "decline" or result.offer.state == "expired":
        await runtime.poke("offer_declined")
    return {"offer": offer_wire(result.offer, result.order),
            "order": {"id": result.order.id, "status": result.order.status,
                      "courier_id": result.order.courier_id}}


@router.post("/offers/{offer_id}/accept")
async def accept(offer_id: int, request: Request, session: SessionDep,
                 user: CurrentUser) -> dict[str, Any]:
    return await _answer(request, session, user, offer_id, "accept")


@router.post("/offers/{offer_id}/decline")
async def decline(offer_id: int, request: Request, session: SessionDep,
                  user: CurrentUser) -> dict[str, Any]:
    return await _answer(request, session, user, offer_id, "decline")


def _refresh(stops: list[RouteStop], legs_s: list[float], now: datetime,
             service_s: dict[str, float]) -> list[RouteStop]:
    """ETAs from the courier's current position: travel so far plus service at each stop,
    never earlier than planned (the plan waits for windows that open later)."""
    out, t = [], 0.0
    for stop, leg_s in zip(stops, legs_s, strict=False):
        t += leg_s
        eta = now + timedelta(seconds=t)
        if stop.eta is not None and stop.eta > eta:
            eta = stop.eta
            t = (eta - now).total_seconds()
        out.append(RouteStop(stop.order_id, stop.kind, stop.lat, stop.lon, eta))
        t += service_s.get(stop.kind, 0.0)
    return out


@router.get("/couriers/{courier_id}/route")
async def courier_route(courier_id: int, request: Request, session: SessionDep,
                        user: CurrentUser) -> dict[str, Any]:
    """The courier's planned stops in order with ETAs, and the road geometry through them
    (GeoJSON LineString, `[lon, lat]`) from where the courier is now."""
    if user.role not in ("admin", "dispatcher"):
        mine = await courier_of_user(session, user.id) if user.role == "courier" else None
        if mine is None or mine.id != courier_id:
            raise NotFound(f"courier {courier_id} not found", details={"courier_id": courier_id})
    courier = await get_courier(session, courier_id)
    stops = await read_route(session, courier_id=courier_id)
    runtime = _runtime(request)
    position = to_lat_lon(courier.last_location)
    live = await runtime.positions.latest([courier_id])
    if courier_id in live:
        position = live[courier_id][:2]
    geometry: dict[str, Any] = {"type": "LineString", "coordinates": []}
    points = ([tuple(position)] if position else []) + [(s.lat, s.lon) for s in stops]
    if stops and len(points) >= 2:
        options = runtime.config.options
        try:
            model = travel_models(request.app.state, runtime.settings).for_vehicle(
                courier.vehicle)
            route = await asyncio.to_thread(model.route, points)
            geometry = route.geometry
            if position:
                stops = _refresh(stops, [leg.duration_s for leg in route.legs],
                                 datetime.now(UTC),
                                 {"pickup": options.pickup_service_s,
                                  "dropoff": options.dropoff_service_s})
        except Exception:  # no road path: show the straight legs, keep the planned ETAs
            geometry = {"type": "LineString",
                        "coordinates": [[float(lon), float(lat)] for lat, lon in points]}
    return {"courier_id": courier_id, "stops": [stop_wire(s) for s in stops],
            "geometry": geometry}


class WebhookIn(BaseModel):
    url: str = Field(min_length=8, max_length=2000)
    secret: str | None = Field(default=None, min_length=16, max_length=200)
    event_types: list[str] = Field(default_factory=list, max_length=32)
    seller_id: int | None = None


@router.post("/webhooks", status_code=201)
async def add_webhook(body: WebhookIn, session: SessionDep, user: CurrentUser) -> dict[str, Any]:
    """Registers a URL for order status callbacks. A seller's endpoint receives only its own
    orders; staff may register one for a seller or for every order. The secret signing the
    deliveries is answered once, here."""
    if user.role == "seller":
        if body.seller_id not in (None, user.id):
            raise ApiError(403, "forbidden", "A seller registers webhooks only for itself.")
        seller_id = user.id
    elif user.role in ("admin", "dispatcher"):
        seller_id = body.seller_id
    else:
        raise ApiError(403, "forbidden", "You are not allowed to do this.")
    endpoint = await register_endpoint(session, owner_id=user.id, seller_id=seller_id,
                                       url=body.url, secret=body.secret,
                                       event_types=body.event_types)
    await session.commit()
    return endpoint_wire(endpoint, with_secret=True)


async def _visible_endpoints(session, user: User):
    query = select(WebhookEndpoint).order_by(WebhookEndpoint.id)
    if user.role == "seller":
        query = query.where(WebhookEndpoint.seller_id == user.id)
    elif user.role not in ("admin", "dispatcher"):
        raise ApiError(403, "forbidden", "You are not allowed to do this.")
    return list((await session.scalars(query)).all())


@router.get("/webhooks")
async def list_webhooks(session: SessionDep, user: CurrentUser) -> dict[str, Any]:
    return {"items": [endpoint_wire(e) for e in await _visible_endpoints(session, user)]}


@router.get("/webhooks/{endpoint_id}/deliveries")
async def webhook_deliveries(endpoint_id: int, session: SessionDep, user: CurrentUser,
                             limit: int = 100) -> dict[str, Any]:
    """The delivery log of one endpoint, newest first."""
    if endpoint_id not in {e.id for e in await _visible_endpoints(session, user)}:
        raise NotFound(f"webhook {endpoint_id} not found", details={"webhook_id": endpoint_id})
    rows = (await session.execute(
        select(WebhookDelivery, WebhookOutbox)
        .join(WebhookOutbox, WebhookOutbox.id == WebhookDelivery.outbox_id)
        .where(WebhookOutbox.endpoint_id == endpoint_id)
        .order_by(WebhookDelivery.id.desc()).limit(max(1, min(limit, 500))))).all()
    return {"items": [{"id": d.id, "event_id": o.order_event_id, "attempt": d.attempt,
                       "at": d.at.isoformat(), "status_code": d.status_code, "error": d.error,
                       "duration_ms": d.duration_ms, "state": o.state,
                       "event_type": o.payload.get("type")} for d, o in rows]}

