"""Tracking over HTTP: batches uploaded after being offline, the OsmAnd (Traccar Client) and
OwnTracks protocols, device keys for those apps, couriers near a point, and stored tracks.

Every ingest path ends in the same `IngestPipeline.submit`, so filters, de-duplication and
"answer only after the commit" are the same as on `/ws/courier`.
"""

from __future__ import annotations

import base64
import time
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from pydantic import BaseModel, Field

from api.deps import CurrentUser, DispatcherUser, SessionDep, own_courier
from api.errors import ApiError
from api.ids import Id, IdPath
from api.pagination import CursorQuery, LimitQuery, decode_cursor, page_of
from api.schemas import (
    AckOut,
    HistoryOut,
    NearbyPage,
    Page,
    UtcDateTime,
    error_responses,
)
from dispatch.couriers import get_courier
from dispatch.exceptions import NotFound
from dispatch.tables import User
from dispatch.times import rfc3339
from tracking.batches import parse_batch
from tracking.devices import courier_for_device_key, list_devices, register_device, revoke_device
from tracking.fixes import Fix
from tracking.ingest import IngestVerdict
from tracking.osmand import parse_osmand_fields, parse_osmand_json
from tracking.owntracks import owntracks_device_hints, parse_owntracks
from tracking.pipeline import IngestUnavailable
from tracking.position_store import track_geojson
from tracking.timestamps import parse_timestamp_s

__all__ = ["router", "ack_message", "courier_id_of"]

router = APIRouter(tags=["tracking"])
errors = error_responses

MAX_TRACK_POINTS = 50_000


def ack_message(decision: IngestVerdict, parse_rejections: list | None = None) -> dict:
    """The `ack` body shared by the WebSocket and HTTP ingest."""
    rejected = [r.as_wire() for r in (parse_rejections or [])]
    rejected.extend(r.as_wire() for r in decision.rejected)
    return {"type": "ack", "seq": decision.ack_seq, "rejected": rejected,
            "accepted": len(decision.accepted), "duplicates": decision.duplicates}


async def courier_id_of(session: Any, user: User) -> int:
    refusal = ApiError(403, "courier_required", "Only a courier can send positions.")
    return (await own_courier(session, user, refusal)).id


async def _submit(request: Request, courier_id: int, fixes: list[Fix]) -> IngestVerdict:
    try:
        return await request.app.state.tracking.pipeline.submit(courier_id, fixes)
    except IngestUnavailable:
        raise ApiError(503, "service_unavailable",
                       "A backing service is unavailable; try again shortly.") from None


async def _json_body(request: Request) -> Any:
    raw = await request.body()
    try:
        return orjson.loads(raw) if raw.strip() else None
    except orjson.JSONDecodeError:
        raise ApiError(400, "malformed_json", "The request body is not valid JSON.") from None


@router.post("/tracking/positions", summary="Upload a batch of points (same shape as "
             "the `/ws/courier` message); answers with the `ack`", response_model=AckOut,
             responses=errors(403),
             openapi_extra={"requestBody": {"required": True, "content": {
                 "application/json": {"schema": {"$ref": "#/components/schemas/PositionsIn"}}}}})
async def post_positions(request: Request, session: SessionDep, user: CurrentUser) -> dict:
    """Points that cannot be read or that a GPS filter refuses come back in `rejected` with
    their reason and `details`; the rest are stored before the answer. 422
    `malformed_message` when the body is not a batch at all."""
    courier_id = await courier_id_of(session, user)
    await session.close()  # the pipeline has its own connection; free this one while waiting
    fixes, rejections = parse_batch(await _json_body(request))
    decision = await _submit(request, courier_id, fixes)
    return ack_message(decision, rejections)


_OSMAND = {200: {"description": "`OK` once the point is stored or refused by a filter "
                                "(`X-Tracking-Rejected` names the reason)",
                 "content": {"text/plain": {"schema": {"type": "string"}}}},
           **errors(400, 401, 422)}


async def _osmand_fields(request: Request) -> tuple[dict[str, str], Any]:
    fields = dict(request.query_params)
    body_json = None
    if request.method == "POST":
        content_type = request.headers.get("content-type", "")
        if "json" in content_type:
            body_json = await _json_body(request)
        elif "form" in content_type:
            form = await request.form()
            fields.update({k: str(v) for k, v in form.items()})
        else:
            raw = (await request.body()).strip()
            if raw.startswith(b"{"):
                try:
                    body_json = orjson.loads(raw)
                except orjson.JSONDecodeError:
                    raise ApiError(400, "malformed_json",
                                   "The request body is not valid JSON.") from None
    return fields, body_json


@router.get("/tracking/osmand", response_class=PlainTextResponse, operation_id="osmand_get",
            summary="OsmAnd protocol (Traccar Client): query string", responses=_OSMAND)
@router.post("/tracking/osmand", response_class=PlainTextResponse, operation_id="osmand_post",
             summary="OsmAnd protocol (Traccar Client): query string, form or JSON",
             responses=_OSMAND)
async def osmand(request: Request, session: SessionDep) -> Response:
    """Answers 200 once the point is stored or refused by a filter (the app would otherwise
    retry a point that will never pass); 401 for an unknown device id, 503 when the database
    is down so the app keeps the point and retries."""
    settings = request.app.state.settings
    fields, body_json = await _osmand_fields(request)
    now_s = time.time()
    if body_json is not None:
        device_fix = parse_osmand_json(body_json, now_s=now_s)
    else:
        device_fix = parse_osmand_fields(fields, now_s=now_s,
                                         speed_unit=settings.tracking_osmand_speed_unit)
    courier_id = await courier_for_device_key(session, [device_fix.device_key],
                                              now=datetime.now(UTC))
    await session.commit()
    if device_fix.fix is None or device_fix.invalid:
        return PlainTextResponse("OK")
    decision = await _submit(request, courier_id, [device_fix.fix])
    headers = ({"X-Tracking-Rejected": decision.rejected[0].reason.value}
               if decision.rejected else None)
    return PlainTextResponse("OK", headers=headers)


def _basic_credentials(request: Request) -> list[str]:
    header = request.headers.get("authorization", "")
    if not header.lower().startswith("basic "):
        return []
    try:
        user, _, password = base64.b64decode(header[6:]).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        return []
    return [password, user]


@router.post("/tracking/owntracks", summary="OwnTracks HTTP mode",
             responses={200: {"description": "always an empty array (OwnTracks expects one)",
                              "content": {"application/json": {"schema": {
                                  "type": "array", "items": {}, "maxItems": 0}}}},
                        **errors(400, 401, 422)})
async def owntracks(request: Request, session: SessionDep,
                    d: str | None = None, id: str | None = None) -> JSONResponse:
    """The device key may come as Basic-auth password or user, `X-Limit-D`, `?d=`, `?id=`,
    or the last part of `topic`. OwnTracks expects a JSON array in return."""
    body = await _json_body(request)
    fix = parse_owntracks(body)
    keys = [*_basic_credentials(request), request.headers.get("x-limit-d", ""), d or "",
            id or "", *owntracks_device_hints(body)]
    courier_id = await courier_for_device_key(session, keys, now=datetime.now(UTC))
    await session.commit()
    if fix is not None:
        await _submit(request, courier_id, [fix])
    return JSONResponse([])


class DeviceIn(BaseModel):
    name: str = Field(min_length=1, max_length=80)


class DeviceOut(BaseModel):
    id: int
    name: str
    key_hint: str
    created_at: UtcDateTime | None = None
    last_used_at: UtcDateTime | None = None
    device_key: str | None = Field(default=None, description="shown once, at registration")


@router.post("/tracking/devices", status_code=201, response_model=DeviceOut,
             responses=errors(403),
             summary="Register a phone app (OsmAnd/Traccar Client, OwnTracks); returns its key")
async def add_device(body: DeviceIn, session: SessionDep, user: CurrentUser) -> DeviceOut:
    courier_id = await courier_id_of(session, user)
    device, key = await register_device(session, courier_id=courier_id, name=body.name)
    await session.commit()
    return DeviceOut(id=device.id, name=device.name, key_hint=device.key_hint,
                     created_at=device.created_at, device_key=key)


class DevicePage(Page[DeviceOut]):
    pass


@router.get("/tracking/devices", response_model=DevicePage, responses=errors(403))
async def get_devices(session: SessionDep, user: CurrentUser, cursor: CursorQuery = None,
                      limit: LimitQuery = 100) -> dict:
    courier_id = await courier_id_of(session, user)
    devices = await list_devices(session, courier_id=courier_id,
                                 after_id=decode_cursor("device", cursor), limit=limit + 1)
    devices, next_cursor = page_of("device", devices, limit)
    return {"items": [DeviceOut(id=d.id, name=d.name, key_hint=d.key_hint,
                                created_at=d.created_at, last_used_at=d.last_used_at)
                      for d in devices], "next_cursor": next_cursor}


@router.delete("/tracking/devices/{device_id}", status_code=204, response_class=Response,
               responses=errors(403, 404))
async def delete_device(device_id: IdPath, session: SessionDep, user: CurrentUser) -> Response:
    courier_id = await courier_id_of(session, user)
    await revoke_device(session, courier_id=courier_id, device_id=device_id,
                        now=datetime.now(UTC))
    await session.commit()
    return Response(status_code=204)


@router.get("/tracking/nearby", summary="Couriers whose last position is near a point",
            response_model=NearbyPage, responses=errors(403))
async def nearby(request: Request, user: DispatcherUser,
                 lat: Annotated[float, Query(ge=-90, le=90)],
                 lon: Annotated[float, Query(ge=-180, le=180)],
                 radius_m: Annotated[float, Query(gt=0, le=100_000)] = 2000.0,
                 limit: Annotated[int, Query(ge=1, le=500)] = 50) -> dict:
    rows = await request.app.state.tracking.live.nearby(lat=lat, lon=lon, radius_m=radius_m,
                                                        limit=limit)
    return {"items": [{"courier_id": cid, "distance_m": round(d, 1)} for cid, d in rows],
            "next_cursor": None}


def _moment(value: str | None, default: datetime, name: str) -> datetime:
    if value is None or value == "":
        return default
    try:
        return datetime.fromtimestamp(parse_timestamp_s(value), UTC)
    except (ValueError, OverflowError, OSError):
        raise ApiError(422, "invalid_time_range", "The time range is invalid.",
                       {"param": name, "value": value}) from None


@router.get("/couriers/{courier_id}/track",
            summary="Stored breadcrumbs in [from, to) as a GeoJSON FeatureCollection",
            response_class=Response, responses={
                200: {"content": {"application/geo+json": {"schema": {
                    "$ref": "#/components/schemas/TrackGeoJson"}}},
                      "description": "the track"},
                **errors(404)})
async def courier_track(
    courier_id: IdPath, request: Request, session: SessionDep, user: CurrentUser,
    from_: Annotated[str | None, Query(alias="from", description="ISO 8601 or Unix seconds; "
                                       "default 24 h before `to`")] = None,
    to: Annotated[str | None, Query(description="ISO 8601 or Unix seconds; default now")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_TRACK_POINTS)] = 10_000,
) -> JSONResponse:
    courier = await get_courier(session, courier_id)
    if user.role not in ("admin", "dispatcher") and courier.user_id != user.id:
        raise NotFound(f"courier {courier_id} not found", details={"courier_id": courier_id})
    await session.close()
    end = _moment(to, datetime.now(UTC), "to")
    start = _moment(from_, end - timedelta(hours=24), "from")
    if start >= end:
        raise ApiError(422, "invalid_time_range", "The time range is invalid.",
                       {"from": rfc3339(start), "to": rfc3339(end)})
    rows = await request.app.state.tracking.store.track(courier_id, start=start, end=end,
                                                        limit=limit)
    return JSONResponse(track_geojson(courier_id, rows),
                        media_type="application/geo+json")


#: The longest time range `GET /tracking/history` answers for, and its most rows.
MAX_HISTORY_RANGE_S = 24 * 3600
MAX_HISTORY_POINTS = 200_000


@router.get("/tracking/history", response_model=HistoryOut, responses=errors(403),
            summary="The fleet's stored tracks over a time range, thinned, for replay")
async def tracking_history(
    request: Request, user: DispatcherUser,
    from_: Annotated[str | None, Query(alias="from", description="ISO 8601 or Unix seconds; "
                                       "default one hour before `to`")] = None,
    to: Annotated[str | None, Query(description="ISO 8601 or Unix seconds; default now")] = None,
    courier_id: Annotated[list[Id] | None, Query(description="only these couriers "
                                                  "(repeat the parameter); default all")] = None,
    step_s: Annotated[float, Query(ge=1, le=3600, description="at most one fix per courier "
                                   "this often (the last in each step)")] = 5.0,
    limit: Annotated[int, Query(ge=1, le=MAX_HISTORY_POINTS)] = 100_000,
) -> JSONResponse:
    """Every courier's stored fixes in `[from, to)` (at most 24 hours), one per `step_s`, as
    compact rows for replaying a courier's day or the whole fleet:

        {"from": <RFC 3339>, "to": <RFC 3339>, "from_s", "to_s", "step_s", "points": N,
         "truncated": bool,
         "couriers": [{"id", "points": [[ts, lat, lon, heading, speed], ...]}]}

    Points run in time order per courier. When more than `limit` rows match, the answer stops
    at `limit` (whole couriers first, in id order) and says `truncated`: ask for a shorter
    range, fewer couriers or a longer `step_s`.
    """
    end = _moment(to, datetime.now(UTC), "to")
    start = _moment(from_, end - timedelta(hours=1), "from")
    if start >= end or (end - start).total_seconds() > MAX_HISTORY_RANGE_S:
        raise ApiError(422, "invalid_time_range", "The time range is invalid.",
                       {"from": rfc3339(start), "to": rfc3339(end),
                        "max_range_s": MAX_HISTORY_RANGE_S})
    rows = await request.app.state.tracking.store.history(
        start=start, end=end, step_s=step_s, limit=limit + 1, courier_ids=courier_id)
    truncated = len(rows) > limit
    rows = rows[:limit]
    couriers: list[dict] = []
    for cid, ts_s, lat, lon, heading, speed in rows:
        if not couriers or couriers[-1]["id"] != cid:
            couriers.append({"id": cid, "points": []})
        couriers[-1]["points"].append([ts_s, lat, lon, heading, speed])
    return JSONResponse({"from": rfc3339(start), "to": rfc3339(end),
                         "from_s": start.timestamp(), "to_s": end.timestamp(), "step_s": step_s,
                         "points": len(rows), "truncated": truncated, "couriers": couriers})
