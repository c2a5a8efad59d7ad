"""Request and response bodies of the HTTP API (Pydantic). Coordinates are `lat, lon`."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

Latitude = Annotated[float, Field(ge=-90, le=90, allow_inf_nan=False)]
Longitude = Annotated[float, Field(ge=-180, le=180, allow_inf_nan=False)]
Role = Literal["admin", "dispatcher", "seller", "courier", "buyer"]
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
    expires_at: float


class UserIn(Strict):
    name: str = Field(min_length=1, max_length=80, pattern=r"^[\w.@+-]+$")
    role: Role
    password: str = Field(min_length=8, max_length=200)


class UserOut(BaseModel):
    id: int
    name: str
    role: Role
    is_active: bool
    created_at: datetime
    courier_id: int | None = None


class CourierIn(Strict):
    user_id: int = Field(gt=0)
    name: str = Field(min_length=1, max_length=80)
    vehicle: Vehicle
    capacity: int = Field(gt=0, le=10_000)
    zone_ids: list[int] = Field(default_factory=list, max_length=100)


class CourierOut(BaseModel):
    id: int
    user_id: int
    name: str
    vehicle: Vehicle
    capacity: int
    shift_state: Literal["off", "on", "break"] = Field(
        description="off, on shift, or on a break (keeps its work, gets no new offers)")
    shift_started_at: datetime | None
    shift_ends_at: datetime | None
    zone_ids: list[int]
    last_location: Point | None
    last_seen_at: datetime | None


class ShiftIn(Strict):
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
    external_id: str | None = Field(default=None, min_length=1, max_length=120)
    pickup: Place | None = Field(default=None, description="or give pickup_place_id")
    pickup_place_id: int | None = Field(default=None, gt=0)
    dropoff: Place
    pickup_window: Window | None = None
    dropoff_window: Window | None = None
    size: int = Field(default=1, gt=0, le=1000)
    cod_amount: Decimal | None = Field(default=None, ge=0, max_digits=14, decimal_places=2)
    buyer_id: int | None = Field(default=None, gt=0)
    seller_id: int | None = Field(default=None, gt=0, description="admins and dispatchers only")

    @model_validator(mode="after")
    def _pickup_given(self) -> OrderIn:
        if self.pickup is None and self.pickup_place_id is None:
            raise ValueError("give pickup, or pickup_place_id of one of the seller's places")
        return self


class EventOut(BaseModel):
    id: int
    type: str
    from_status: str | None
    to_status: str | None
    actor_id: int | None
    courier_id: int | None
    at: datetime
    location: Point | None
    details: dict[str, Any] | None


class WindowOut(BaseModel):
    start: datetime
    end: datetime


class OrderOut(BaseModel):
    id: int
    external_id: str | None
    status: str
    seller_id: int
    buyer_id: int | None
    courier_id: int | None
    pickup: Place
    dropoff: Place
    pickup_window: WindowOut | None
    dropoff_window: WindowOut | None
    size: int
    cod_amount: Decimal | None
    pickup_eta: datetime | None
    dropoff_eta: datetime | None
    unservable_reason: str | None
    created_at: datetime
    updated_at: datetime
    events: list[EventOut] | None = None


class OrderPage(BaseModel):
    items: list[OrderOut]
    next_cursor: str | None


class AssignIn(Strict):
    courier_id: int = Field(gt=0)


class CancelIn(Strict):
    reason: str | None = Field(default=None, max_length=500)


class StatusIn(Strict):
    """A courier's report of progress along the order (scans record pickups and deliveries)."""

    action: Literal["arrive_pickup", "arrive_dropoff", "fail", "start_return", "complete_return",
                    "pick_up", "deliver"]
    lat: Latitude | None = None
    lon: Longitude | None = None
    reason: str | None = Field(default=None, max_length=500)


class PickupPlaceIn(Strict):
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
    expires_at: datetime = Field(description="RFC 3339, UTC (`Z`)")


class TrackPlace(BaseModel):
    lat: float
    lon: float
    address: str | None


class TrackOrder(BaseModel):
    id: int
    external_id: str | None
    status: str
    pickup_eta: datetime | None
    dropoff_eta: datetime | None
    dropoff: TrackPlace
    updated_at: datetime


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
    expires_at: datetime
