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
from typing import Annotated, Any

from fastapi import APIRouter, Body, Request
from sqlalchemy import select

from api import schemas
from api.deps import CurrentUser, DispatcherUser, SessionDep
from api.dispatch_runtime import DispatchRuntime, travel_models
from api.errors import ApiError
from api.ids import IdPath
from api.offer_answers import answer_offer, my_courier
from api.pagination import CursorQuery, LimitQuery, decode_cursor, page_of
from dispatch import audit
from dispatch.couriers import courier_of_user, get_courier
from dispatch.exceptions import NotFound
from dispatch.locations import to_lat_lon
from dispatch.offers import offer_wire, pending_offers
from dispatch.route_store import RouteStop, read_route, stop_wire
from dispatch.tables import (
    FleetSettings,
    Order,
    User,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookOutbox,
)
from dispatch.webhooks import endpoint_wire, register_endpoint

__all__ = ["router"]

router = APIRouter(tags=["dispatch"])
errors = schemas.error_responses


def _runtime(request: Request) -> DispatchRuntime:
    return request.app.state.dispatch


@router.post("/dispatch/run", response_model=schemas.CycleSummaryOut,
             responses=errors(403, 409))
async def run_dispatch(request: Request, user: DispatcherUser,
                       body: Annotated[schemas.RunIn | None, Body()] = None) -> dict[str, Any]:
    """Runs one planning cycle now (serialised with the background planner) and answers what
    it did: offers, reassignments, unservable orders, the couriers on shift it offered nothing
    new and why (`skipped_couriers`: offline, on a break, never located) and the time spent
    per phase. 409 `dispatch_busy` when another cycle holds the lock too long."""
    summary = await _runtime(request).run_once(policy=body.policy if body else None)
    return summary.to_json()


async def _fleet(session) -> FleetSettings | None:
    return await session.get(FleetSettings, "default")


@router.get("/dispatch/settings", response_model=schemas.FleetSettingsOut,
            responses=errors(403))
async def get_fleet_settings(request: Request, session: SessionDep,
                             user: DispatcherUser) -> dict[str, Any]:
    fleet = await _fleet(session)
    runtime = _runtime(request)
    return {"auto_accept": fleet.auto_accept if fleet else runtime.config.auto_accept,
            "policy": (fleet.policy if fleet and fleet.policy else runtime.config.policy),
            "offer_timeout_s": runtime.config.offer_timeout_s}


@router.put("/dispatch/settings", response_model=schemas.FleetSettingsOut,
            responses=errors(403))
async def put_fleet_settings(body: schemas.FleetSettingsIn, request: Request,
                             session: SessionDep, user: DispatcherUser) -> dict[str, Any]:
    fleet = await _fleet(session)
    if fleet is None:
        fleet = FleetSettings(fleet="default", auto_accept=_runtime(request).config.auto_accept)
        session.add(fleet)
    if body.auto_accept is not None:
        fleet.auto_accept = body.auto_accept
    if body.policy is not None:
        fleet.policy = body.policy
    fleet.updated_at = datetime.now(UTC)
    audit.record(session, user, "dispatch.settings", target_type="fleet", target_id=None,
                 details=body.model_dump(exclude_none=True))
    await session.commit()
    return await get_fleet_settings(request, session, user)


@router.get("/offers", response_model=schemas.OfferPage, responses=errors(403))
async def list_offers(session: SessionDep, user: CurrentUser, cursor: CursorQuery = None,
                      limit: LimitQuery = 100) -> dict[str, Any]:
    """The offers waiting for the calling courier's answer, oldest first."""
    courier = await my_courier(session, user)
    offers = await pending_offers(session, courier_id=courier.id, now=datetime.now(UTC),
                                  after_id=decode_cursor("offer", cursor), limit=limit + 1)
    offers, next_cursor = page_of("offer", offers, limit)
    orders = {o.id: o for o in (await session.scalars(
        select(Order).where(Order.id.in_([x.order_id for x in offers])))).all()}
    return {"items": [offer_wire(o, orders.get(o.order_id)) for o in offers],
            "next_cursor": next_cursor}


@router.post("/offers/{offer_id}/accept", response_model=schemas.OfferAnswerOut,
             responses=errors(403, 404, 409, 410))
async def accept(offer_id: IdPath, request: Request, session: SessionDep,
                 user: CurrentUser) -> dict[str, Any]:
    """Takes the offered order (also possible over `/ws/courier`:
    `{"type": "accept", "offer_id"}`). 404 `offer_not_found`, 409 `offer_closed`, 410
    `offer_expired`."""
    return await answer_offer(session, _runtime(request), user, offer_id, "accept")


@router.post("/offers/{offer_id}/decline", response_model=schemas.OfferAnswerOut,
             responses=errors(403, 404, 409, 410))
async def decline(offer_id: IdPath, request: Request, session: SessionDep,
                  user: CurrentUser) -> dict[str, Any]:
    """Turns the offer down; the planner offers the order to someone else (also over
    `/ws/courier`: `{"type": "decline", "offer_id"}`)."""
    return await answer_offer(session, _runtime(request), user, offer_id, "decline")


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


@router.get("/couriers/{courier_id}/route", response_model=schemas.CourierRouteOut,
            responses=errors(404))
async def courier_route(courier_id: IdPath, request: Request, session: SessionDep,
                        user: CurrentUser) -> dict[str, Any]:
    """The courier's planned stops in order with ETAs, and the road geometry through them
    (GeoJSON LineString, `[lon, lat]`) from where the courier is now; `model` names the
    travel model behind both (`osrm`, or `straight_line` where no road path is known)."""
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
    model = travel_models(request.app.state, runtime.settings).for_vehicle(courier.vehicle)
    kind = "osrm" if model.kind == "osrm" else "straight_line"
    points = ([tuple(position)] if position else []) + [(s.lat, s.lon) for s in stops]
    if stops and len(points) >= 2:
        options = runtime.config.options
        try:
            route = await asyncio.to_thread(model.route, points)
            geometry = route.geometry
            if position:
                stops = _refresh(stops, [leg.duration_s for leg in route.legs],
                                 datetime.now(UTC),
                                 {"pickup": options.pickup_service_s,
                                  "dropoff": options.dropoff_service_s})
        except Exception:  # no road path: show the straight legs, keep the planned ETAs
            kind = "straight_line"
            geometry = {"type": "LineString",
                        "coordinates": [[float(lon), float(lat)] for lat, lon in points]}
    return {"courier_id": courier_id, "stops": [stop_wire(s) for s in stops],
            "geometry": geometry, "model": kind}


@router.post("/webhooks", status_code=201, response_model=schemas.WebhookCreatedOut,
             responses=errors(403))
async def add_webhook(body: schemas.WebhookIn, session: SessionDep,
                      user: CurrentUser) -> dict[str, Any]:
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


def _visible_endpoints_query(user: User):
    query = select(WebhookEndpoint).order_by(WebhookEndpoint.id)
    if user.role == "seller":
        query = query.where(WebhookEndpoint.seller_id == user.id)
    elif user.role not in ("admin", "dispatcher"):
        raise ApiError(403, "forbidden", "You are not allowed to do this.")
    return query


@router.get("/webhooks", response_model=schemas.WebhookPage, responses=errors(403))
async def list_webhooks(session: SessionDep, user: CurrentUser, cursor: CursorQuery = None,
                        limit: LimitQuery = 100) -> dict[str, Any]:
    query = _visible_endpoints_query(user)
    after_id = decode_cursor("webhook", cursor)
    if after_id is not None:
        query = query.where(WebhookEndpoint.id > after_id)
    rows = list((await session.scalars(query.limit(limit + 1))).all())
    rows, next_cursor = page_of("webhook", rows, limit)
    return {"items": [endpoint_wire(e) for e in rows], "next_cursor": next_cursor}


@router.get("/webhooks/{endpoint_id}/deliveries", response_model=schemas.WebhookDeliveryPage,
            responses=errors(403, 404))
async def webhook_deliveries(endpoint_id: IdPath, session: SessionDep, user: CurrentUser,
                             cursor: CursorQuery = None,
                             limit: LimitQuery = 100) -> dict[str, Any]:
    """The delivery log of one endpoint, newest first."""
    visible = await session.scalar(_visible_endpoints_query(user).where(
        WebhookEndpoint.id == endpoint_id))
    if visible is None:
        raise NotFound(f"webhook {endpoint_id} not found", details={"webhook_id": endpoint_id})
    query = (select(WebhookDelivery, WebhookOutbox)
             .join(WebhookOutbox, WebhookOutbox.id == WebhookDelivery.outbox_id)
             .where(WebhookOutbox.endpoint_id == endpoint_id)
             .order_by(WebhookDelivery.id.desc()).limit(limit + 1))
    before_id = decode_cursor("delivery", cursor)
    if before_id is not None:
        query = query.where(WebhookDelivery.id < before_id)
    rows, next_cursor = page_of("delivery", list((await session.execute(query)).all()), limit,
                                key=lambda row: row[0].id)
    return {"items": [{"id": d.id, "event_id": o.order_event_id, "attempt": d.attempt,
                       "at": d.at, "status_code": d.status_code, "error": d.error,
                       "duration_ms": d.duration_ms, "state": o.state,
                       "event_type": o.payload.get("type")} for d, o in rows],
            "next_cursor": next_cursor}
