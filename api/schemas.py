"""Request and response bodies of the HTTP API (Pydantic). Coordinates are `lat, lon`."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    WithJsonSchema,
    model_validator,
)

from api.ids import Id
from dispatch.times import rfc3339

Latitude = Annotated[float, Field(ge=-90, le=90, allow_inf_nan=False)]
Longitude = Annotated[float, Field(ge=-180, le=180, allow_inf_nan=False)]
#: A time in an answer: RFC 3339 in UTC with `Z` (`2024-05-01T09:30:00Z`), whatever zone it was
#: stored or written in.
UtcDateTime = Annotated[
    datetime,
    PlainSerializer(rfc3339, return_type=str, when_used="json-unless-none"),
    WithJsonSchema({"type": "string", "format": "date-time",
                    "description": "RFC 3339, UTC (`Z`)",
                    "examples": ["2024-05-01T09:30:00Z"]}, mode="serialization"),
]
Role = Literal["admin", "dispatcher", "seller", "courier", "buyer"]
OrderStatusName = Literal["pending", "offered", "assigned", "at_pickup", "picked_up",
                          "at_dropoff", "delivered", "failed", "cancelled", "returning",
                          "returned"]
Vehicle = Literal["foot", "bicycle", "scooter", "car"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ErrorDetail(BaseModel):
    code: str = Field(description="stable snake_case reason clients branch on")
    message: str = Field(description="in the language `Accept-Language` asks for (en, ru, uz)")
    details: Any = None


class ErrorOut(BaseModel):
    """The body of every error answer."""

    error: ErrorDetail


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route: the error envelope documented for each status."""
    return {status: {"model": ErrorOut} for status in statuses}


class Point(Strict):
    lat: Latitude
    lon: Longitude


class Place(Point):
    address: str | None = Field(default=None, max_length=500)


class Window(Strict):
    start: AwareDatetime
    end: AwareDatetime

    @model_validator(mode="after")
    def _ends_after_start(self) -> Window:
        if self.end <= self.start:
            raise ValueError("the window must end after it starts")
        return self


class TokenOut(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_at: UtcDateTime = Field(description="when the access token stops working")
    expires_at_s: float = Field(description="the same moment in Unix seconds")


class UserIn(Strict):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"name": "rustam", "role": "courier", "password": "a-long-passphrase"}]})

    name: str = Field(min_length=1, max_length=80, pattern=r"^[\w.@+-]+$")
    role: Role
    password: str = Field(min_length=8, max_length=200)


class PasswordChangeIn(Strict):
    current_password: str = Field(min_length=1, max_length=200)
    new_password: str = Field(min_length=8, max_length=200)


class UserPatchIn(Strict):
    is_active: bool = Field(description="false disables the account and revokes its tokens")


class UserOut(BaseModel):
    id: int
    name: str
    role: Role
    is_active: bool
    created_at: UtcDateTime
    courier_id: int | None = None


class CourierIn(Strict):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"user_id": 5, "name": "Rustam", "vehicle": "bicycle", "capacity": 6}]})

    user_id: Id
    name: str = Field(min_length=1, max_length=80)
    vehicle: Vehicle
    capacity: int = Field(gt=0, le=10_000)
    zone_ids: list[Id] = Field(default_factory=list, max_length=100)


class CourierAvailabilityOut(BaseModel):
    """Whether the planner offers this courier new work now, and why not."""

    state: Literal["available", "offline", "on_break", "no_position", "off_shift"] = Field(
        description="`available`: on shift, online and located; `offline`: on shift without a "
        "live connection or a position for `COURIER_DISPATCH_ONLINE_WINDOW_S` (offered "
        "nothing new); `on_break`; `no_position`: never located; `off_shift`")
    online: bool = Field(description="a courier WebSocket is open, or a position is recent")
    connected: bool = Field(description="a courier WebSocket is open")
    last_seen_at: UtcDateTime | None = Field(description="time of the newest position")
    age_s: float | None = Field(description="seconds since that position")
    takes_new_work: bool


class CourierOut(BaseModel):
    id: int
    user_id: int
    name: str
    vehicle: Vehicle
    capacity: int
    shift_state: Literal["off", "on", "break"] = Field(
        description="off, on shift, or on a break (keeps its work, gets no new offers)")
    shift_started_at: UtcDateTime | None
    shift_ends_at: UtcDateTime | None
    zone_ids: list[int]
    last_location: Point | None
    last_seen_at: UtcDateTime | None
    availability: CourierAvailabilityOut | None = None


class ShiftIn(Strict):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"action": "start", "lat": 41.3111, "lon": 69.2797},
        {"action": "break"}, {"action": "resume"}, {"action": "end"}]})

    action: Literal["start", "end", "break", "resume"]
    lat: Latitude | None = None
    lon: Longitude | None = None
    ends_at: AwareDatetime | None = None

    @model_validator(mode="after")
    def _both_or_neither(self) -> ShiftIn:
        if (self.lat is None) != (self.lon is None):
            raise ValueError("give both lat and lon, or neither")
        return self


class OrderIn(Strict):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "external_id": "shop-1042",
        "pickup": {"lat": 41.3111, "lon": 69.2797, "address": "Amir Temur 1"},
        "dropoff": {"lat": 41.3000, "lon": 69.2400, "address": "Navoi 10"},
        "dropoff_window": {"start": "2030-05-01T09:00:00Z", "end": "2030-05-01T11:00:00Z"},
        "size": 1, "cod_amount": "125000.00", "buyer_id": 4}]})

    external_id: str | None = Field(default=None, min_length=1, max_length=120)
    pickup: Place | None = Field(default=None, description="or give pickup_place_id")
    pickup_place_id: Id | None = Field(default=None)
    dropoff: Place
    pickup_window: Window | None = None
    dropoff_window: Window | None = None
    size: int = Field(default=1, gt=0, le=1000)
    cod_amount: Decimal | None = Field(default=None, ge=0, max_digits=14, decimal_places=2)
    buyer_id: Id | None = Field(default=None)
    seller_id: Id | None = Field(default=None, description="admins and dispatchers only")

    @model_validator(mode="after")
    def _pickup_given(self) -> OrderIn:
        if self.pickup is None and self.pickup_place_id is None:
            raise ValueError("give pickup, or pickup_place_id of one of the seller's places")
        return self


class EventOut(BaseModel):
    id: int
    type: str = Field(description="what happened: `created`, an action (`offer`, `accept`, "
                      "`assign`, `arrive_pickup`, ...), `handoff_pickup`, `handoff_dropoff`, "
                      "`handoff_return`, `offer_expired`, ...")
    from_status: OrderStatusName | None
    to_status: OrderStatusName | None
    actor_id: int | None
    courier_id: int | None
    at: UtcDateTime
    location: Point | None
    details: dict[str, Any] | None


class WindowOut(BaseModel):
    start: UtcDateTime
    end: UtcDateTime


class OrderOut(BaseModel):
    id: int
    external_id: str | None
    status: OrderStatusName
    seller_id: int
    buyer_id: int | None
    courier_id: int | None
    pickup: Place
    dropoff: Place
    pickup_window: WindowOut | None
    dropoff_window: WindowOut | None
    size: int
    cod_amount: Decimal | None
    pickup_eta: UtcDateTime | None
    dropoff_eta: UtcDateTime | None
    unservable_reason: str | None
    created_at: UtcDateTime
    updated_at: UtcDateTime
    events: list[EventOut] | None = None


class OrderPage(BaseModel):
    items: list[OrderOut]
    next_cursor: str | None


class AssignIn(Strict):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"courier_id": 3}]})

    courier_id: Id


class CancelIn(Strict):
    reason: str | None = Field(default=None, max_length=500)


class StatusIn(Strict):
    """A courier's report of progress along the order (scans record pickups and deliveries)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"action": "arrive_pickup", "lat": 41.3111, "lon": 69.2797},
        {"action": "fail", "lat": 41.3, "lon": 69.24, "reason": "nobody at home"}]})

    action: Literal["arrive_pickup", "arrive_dropoff", "fail", "start_return", "complete_return",
                    "pick_up", "deliver"]
    lat: Latitude | None = None
    lon: Longitude | None = None
    reason: str | None = Field(default=None, max_length=500)


class PickupPlaceIn(Strict):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"name": "Chorsu shop", "lat": 41.3263, "lon": 69.2286, "address": "Chorsu 5"}]})

    name: str = Field(min_length=1, max_length=120)
    lat: Latitude
    lon: Longitude
    address: str | None = Field(default=None, max_length=500)


class PickupPlaceOut(BaseModel):
    id: int
    seller_id: int
    name: str
    lat: float
    lon: float
    address: str | None


class ZoneIn(Strict):
    name: str = Field(min_length=1, max_length=120)
    geometry: dict[str, Any]
    active: bool = True


class ZoneOut(BaseModel):
    id: int
    name: str
    active: bool
    geometry: dict[str, Any]


class VectorLayer(BaseModel):
    id: str
    fields: dict[str, str]
    minzoom: int
    maxzoom: int


class TileJSON(BaseModel):
    """TileJSON 3.0.0 (https://github.com/mapbox/tilejson-spec/tree/master/3.0.0)."""

    tilejson: Literal["3.0.0"] = "3.0.0"
    name: str
    attribution: str
    scheme: Literal["xyz"] = "xyz"
    tiles: list[str]
    minzoom: int
    maxzoom: int
    bounds: list[float] = Field(description="[min_lon, min_lat, max_lon, max_lat]")
    center: list[float] = Field(description="[lon, lat, zoom]")
    vector_layers: list[VectorLayer]


class TrackingLinkOut(BaseModel):
    url: str = Field(description="the buyer's tracking page: `<base>/t/<token>`")
    token: str
    expires_at: UtcDateTime = Field(description="RFC 3339, UTC (`Z`)")


class TrackPlace(BaseModel):
    lat: float
    lon: float
    address: str | None


class TrackOrder(BaseModel):
    id: int
    external_id: str | None
    status: OrderStatusName
    pickup_eta: UtcDateTime | None
    dropoff_eta: UtcDateTime | None
    dropoff: TrackPlace
    updated_at: UtcDateTime


class TrackCourier(BaseModel):
    lat: float
    lon: float
    heading: float | None = Field(description="degrees clockwise from north")
    speed: float | None = Field(description="metres per second")
    ts: float | None = Field(description="time of the fix, Unix seconds")
    vehicle: Vehicle


class TrackOut(BaseModel):
    """What a buyer's tracking link shows. `courier` is null except while the courier is on
    the way to this buyer (the parcel is on board and this drop-off is its next stop)."""

    order: TrackOrder
    courier: TrackCourier | None
    expires_at: UtcDateTime


# --- lists ----------------------------------------------------------------------------------

class Page[T](BaseModel):
    """Every list answers one shape: a page of `items` and the cursor of the next page (null
    on the last one); pass it back as `?cursor=`."""

    items: list[T]
    next_cursor: str | None = None


class CourierPage(Page[CourierOut]):
    pass


class PickupPlacePage(Page[PickupPlaceOut]):
    pass


class ZonePage(Page[ZoneOut]):
    pass


# --- dispatch: offers, routes, cycles, settings ------------------------------------------------

OfferState = Literal["pending", "accepted", "declined", "expired", "withdrawn"]
Policy = Literal["batch", "nearest", "cascade"]
TravelModelName = Literal["osrm", "straight_line"]


class OfferOut(BaseModel):
    """An offer of one order to one courier; `pickup`, `dropoff` and `size` describe the order
    (null only when it is no longer readable)."""

    id: int
    order_id: int
    courier_id: int
    state: OfferState
    expires_at: UtcDateTime
    pickup: Place | None = None
    dropoff: Place | None = None
    size: int | None = None


class OfferPage(Page[OfferOut]):
    pass


class OfferOrderOut(BaseModel):
    id: int
    status: OrderStatusName
    courier_id: int | None


class OfferAnswerOut(BaseModel):
    """What accepting or declining did: the offer and the order's new status."""

    offer: OfferOut
    order: OfferOrderOut


class LineString(BaseModel):
    """A GeoJSON LineString, coordinates `[lon, lat]` (WGS84)."""

    type: Literal["LineString"] = "LineString"
    coordinates: list[list[float]]


class RouteStopOut(BaseModel):
    order_id: int
    kind: Literal["pickup", "dropoff"]
    lat: float
    lon: float
    eta: UtcDateTime | None


class CourierRouteOut(BaseModel):
    """A courier's planned stops in order, with ETAs from where it is now, the road geometry
    through them and the travel model that produced both."""

    courier_id: int
    stops: list[RouteStopOut]
    geometry: LineString
    model: TravelModelName = Field(description="`osrm` (road network) or `straight_line`")


class CycleOfferOut(BaseModel):
    id: int
    order_id: int
    courier_id: int
    state: OfferState


class UnservableOut(BaseModel):
    order_id: int
    reason: str


class SkippedCourierOut(BaseModel):
    """A courier on shift that this cycle offered nothing new, and why."""

    courier_id: int
    reason: Literal["offline", "on_break", "no_position"] = Field(
        description="`offline`: no live connection and no position for "
        "`COURIER_DISPATCH_ONLINE_WINDOW_S`; `on_break`; `no_position`: never located")
    last_seen_at: UtcDateTime | None = None
    age_s: float | None = Field(default=None, description="seconds since its last position")


class CycleSummaryOut(BaseModel):
    """What one planning cycle did."""

    policy: Policy
    couriers: int
    open_orders: int
    offers: list[CycleOfferOut]
    offers_made: int
    assigned: int
    reassigned: int
    unservable: list[UnservableOut]
    expired_offers: int
    skipped_changed: list[int] = Field(description="orders left alone: they changed while "
                                       "the cycle planned")
    released_off_shift: list[int]
    skipped_couriers: list[SkippedCourierOut] = Field(default_factory=list)
    routes_pushed: int
    timings_s: dict[str, float]
    cpu_s: dict[str, float]
    leader_epoch: int | None
    started_at: UtcDateTime | None


class FleetSettingsIn(Strict):
    auto_accept: bool | None = None
    policy: Policy | None = None


class FleetSettingsOut(BaseModel):
    auto_accept: bool
    policy: Policy
    offer_timeout_s: float


class RunIn(Strict):
    policy: Policy | None = Field(default=None, description="this cycle only; the fleet's "
                                  "policy otherwise")


class WebhookIn(BaseModel):
    url: str = Field(min_length=8, max_length=2000)
    secret: str | None = Field(default=None, min_length=16, max_length=200)
    event_types: list[str] = Field(default_factory=list, max_length=32,
                                   description="order event types to send; empty: all")
    seller_id: Id | None = None


class WebhookOut(BaseModel):
    id: int
    url: str
    seller_id: int | None
    event_types: list[str]
    active: bool


class WebhookCreatedOut(WebhookOut):
    """The registration answer: the only place the signing secret is ever shown."""
    secret: str


class WebhookPage(Page[WebhookOut]):
    pass


class WebhookDeliveryOut(BaseModel):
    id: int
    event_id: int
    attempt: int
    at: UtcDateTime
    status_code: int | None
    error: str | None
    duration_ms: float | None
    state: Literal["pending", "delivered", "failed"]
    event_type: str | None


class WebhookDeliveryPage(Page[WebhookDeliveryOut]):
    pass


# --- tracking ---------------------------------------------------------------------------------

class PositionIn(BaseModel):
    """One GPS fix of a batch. Unreadable points are refused one by one in the `ack`
    (`malformed_point`), never the whole batch."""

    seq: int = Field(ge=0, description="increases per courier; the ack names the highest kept")
    lat: Latitude
    lon: Longitude
    ts: float | str = Field(description="time of the fix: Unix seconds, or RFC 3339")
    acc: float | None = Field(default=None, description="accuracy, metres")
    speed: float | None = Field(default=None, description="metres per second")
    heading: float | None = Field(default=None, description="degrees clockwise from north")
    batt: float | None = Field(default=None, description="battery, percent")


class PositionsIn(BaseModel):
    """A batch of points, the same message as on `/ws/courier`."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "type": "positions",
        "points": [{"seq": 41, "lat": 41.3111, "lon": 69.2797, "ts": 1764581400.0,
                    "acc": 6.0, "speed": 4.2, "heading": 90.0}]}]})

    type: Literal["positions"] = "positions"
    points: list[PositionIn] = Field(max_length=1000)


class RejectedPointOut(BaseModel):
    seq: int | None
    reason: Literal["malformed_point", "invalid_coordinates", "zero_coordinates",
                    "future_timestamp", "past_timestamp", "poor_accuracy", "duplicate",
                    "out_of_order", "impossible_speed", "far_outside_service_area"]
    details: dict[str, Any] | None = Field(
        default=None, description="`{\"field\", \"value\", \"limit\", ...}`: what broke which "
        "limit (`problem` instead of `limit` for an unreadable point)")


class AckOut(BaseModel):
    """The answer to a batch, once its points are stored: `seq` is the highest seq now
    durably kept or refused (the app may drop its buffer up to it)."""

    type: Literal["ack"] = "ack"
    seq: int
    rejected: list[RejectedPointOut]
    accepted: int
    duplicates: int


class NearbyCourierOut(BaseModel):
    courier_id: int
    distance_m: float


class NearbyPage(Page[NearbyCourierOut]):
    pass


class HistoryCourierOut(BaseModel):
    id: int
    points: list[list[float | None]] = Field(
        description="`[ts, lat, lon, heading, speed]` rows in time order (ts Unix seconds)")


class HistoryOut(BaseModel):
    from_: UtcDateTime = Field(alias="from")
    to: UtcDateTime
    from_s: float
    to_s: float
    step_s: float
    points: int
    truncated: bool
    couriers: list[HistoryCourierOut]


class GeoJsonGeometry(BaseModel):
    type: Literal["Point", "LineString"]
    coordinates: list[Any]


class GeoJsonFeature(BaseModel):
    type: Literal["Feature"] = "Feature"
    geometry: GeoJsonGeometry
    properties: dict[str, Any]


class TrackGeoJson(BaseModel):
    """The stored track: one LineString feature (`kind: track`) and a Point per fix
    (`seq`, `ts` Unix seconds, `acc`, `speed`, `heading`)."""

    type: Literal["FeatureCollection"] = "FeatureCollection"
    features: list[GeoJsonFeature]
    properties: dict[str, Any]


# --- health and keys ---------------------------------------------------------------------------

class HealthOut(BaseModel):
    status: Literal["ok"] = "ok"


class ReadyOut(BaseModel):
    status: Literal["ready", "not_ready"]
    checks: dict[str, str] = Field(description="`ok`, or `error: <kind>` per backing service")


class JwkOut(BaseModel):
    kty: Literal["OKP"]
    crv: Literal["Ed25519"]
    x: str
    kid: str
    alg: Literal["EdDSA"]
    use: Literal["sig"]


class JwksOut(BaseModel):
    """Public handoff verification keys (RFC 7517)."""

    keys: list[JwkOut]


class RotatedKeysOut(JwksOut):
    signing_kid: str


# --- audit ------------------------------------------------------------------------------------

class AuditEntryOut(BaseModel):
    id: int
    at: UtcDateTime
    actor_id: int
    actor_role: Role
    action: str = Field(description="order.assign, order.unassign, order.cancel, "
                        "dispatch.settings, user.create, user.disable, user.enable, "
                        "courier.create, zone.create")
    target_type: str
    target_id: int | None
    details: dict[str, Any] | None


class AuditPage(Page[AuditEntryOut]):
    pass
