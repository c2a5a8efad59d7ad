"""`/travel`: road travel times and routes for dispatchers and admins.

`POST /travel/matrix` and `POST /travel/route` answer from the process's travel models
(`app.state.travel`, a `geodata.travel.TravelModels`, loaded once in the app lifespan):
OSRM when `COURIER_NETWORK` names a built network, straight lines otherwise -- the
`model` field of every answer says which.

Request limits (so one request cannot pin the engine): a matrix has at most
`MAX_MATRIX_SIDE` sources and as many destinations (100 x 100 = 10,000 pairs, ~0.1 s on
OSRM CH); a route has at most `MAX_ROUTE_POINTS` points. Larger needs go through the
`geodata.travel` library in process, not HTTP.

Errors (`{"error": {"code", "message", "details"}}`):
* 422 `too_many_points`, `invalid_point`, `unknown_profile`, `validation_error`;
* 422 `point_off_network` -- `details.points` lists each point with no road within the
  snapping radius (`role`, `index`, `lat`, `lon`, `distance_m`);
* 422 `no_route` -- the points are on parts of the network that do not connect;
* 503 `travel_unavailable` -- the configured network cannot be used.

`GET /travel/network` (any signed-in user) says which model answers, per profile, and
the attribution to show with anything drawn from the network ("© OpenStreetMap
contributors" for imported extracts).

The views are plain `def`: FastAPI runs them in its thread pool, so a long OSRM call does
not stall the event loop.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field

from api.deps import CurrentUser, DispatcherUser
from api.errors import ApiError
from api.schemas import error_responses
from geodata.exceptions import GeodataError, InvalidInput, NoRoute, PointOffNetwork
from geodata.travel import LatLon, TravelModels

__all__ = ["router", "MAX_MATRIX_SIDE", "MAX_ROUTE_POINTS"]

MAX_MATRIX_SIDE = 100
MAX_ROUTE_POINTS = 50

router = APIRouter(prefix="/travel", tags=["travel"])

Profile = Literal["foot", "bicycle", "scooter", "car"]


class Point(BaseModel):
    """A WGS84 point, latitude first (our API order)."""

    model_config = ConfigDict(extra="forbid")
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)


class MatrixIn(BaseModel):
    profile: Profile
    sources: list[Point] = Field(min_length=1)
    destinations: list[Point] = Field(min_length=1)


class MatrixOut(BaseModel):
    #: `durations_s[i][j]`: seconds from `sources[i]` to `destinations[j]`; null = unreachable.
    durations_s: list[list[float | None]]
    distances_m: list[list[float | None]]
    model: Literal["osrm", "straight_line"]
    attribution: str = ""


class RouteIn(BaseModel):
    profile: Profile
    points: list[Point] = Field(min_length=2)


class LegOut(BaseModel):
    duration_s: float
    distance_m: float


class RouteOut(BaseModel):
    legs: list[LegOut]
    #: GeoJSON LineString, coordinates `[lon, lat]`.
    geometry: dict[str, Any]
    duration_s: float
    distance_m: float
    model: Literal["osrm", "straight_line"]
    attribution: str = ""


async def get_travel_models(request: Request) -> TravelModels:
    """The process's travel models, loaded once by the app lifespan."""
    return request.app.state.travel


TravelDep = Annotated[TravelModels, Depends(get_travel_models)]


class NetworkOut(BaseModel):
    kind: Literal["osrm", "straight_line"]
    network: str | None
    #: Profile -> the model answering it (`osrm` or `straight_line`).
    profiles: dict[str, str]
    reason: str
    attribution: str
    #: `[min_lon, min_lat, max_lon, max_lat]` of the loaded network, if any.
    bbox: list[float] | None = None


@router.get("/network", response_model=NetworkOut)
def travel_network(travel: TravelDep, user: CurrentUser) -> NetworkOut:
    """Which road network and travel models this service uses."""
    info = travel.describe()
    bbox = list(travel.network.bbox) if travel.network else None
    return NetworkOut(**info, bbox=bbox)


@router.post("/matrix", response_model=MatrixOut,
             responses=error_responses(403))
def travel_matrix(body: MatrixIn, travel: TravelDep, user: DispatcherUser) -> MatrixOut:
    """Durations (s) and distances (m) from every source to every destination."""
    for role, points in (("sources", body.sources), ("destinations", body.destinations)):
        if len(points) > MAX_MATRIX_SIDE:
            raise ApiError(
                422,
                "too_many_points",
                f"At most {MAX_MATRIX_SIDE} {role} per request.",
                {"role": role, "max": MAX_MATRIX_SIDE, "given": len(points)},
            )
    model = travel.for_profile(body.profile)
    sources = [LatLon(p.lat, p.lon) for p in body.sources]
    destinations = [LatLon(p.lat, p.lon) for p in body.destinations]
    with _as_api_errors():
        result = model.matrix(sources, destinations)
    return MatrixOut(
        **result.to_json(), model=_kind(model.kind), attribution=_attribution(travel, model.kind)
    )


@router.post("/route", response_model=RouteOut,
             responses=error_responses(403))
def travel_route(body: RouteIn, travel: TravelDep, user: DispatcherUser) -> RouteOut:
    """The fastest path through `points` in order, with one leg per consecutive pair."""
    if len(body.points) > MAX_ROUTE_POINTS:
        raise ApiError(
            422,
            "too_many_points",
            f"At most {MAX_ROUTE_POINTS} points per route.",
            {"role": "points", "max": MAX_ROUTE_POINTS, "given": len(body.points)},
        )
    model = travel.for_profile(body.profile)
    with _as_api_errors():
        route = model.route([LatLon(p.lat, p.lon) for p in body.points])
    return RouteOut(
        legs=[LegOut(duration_s=leg.duration_s, distance_m=leg.distance_m) for leg in route.legs],
        geometry=route.geometry,
        duration_s=route.duration_s,
        distance_m=route.distance_m,
        model=_kind(model.kind),
        attribution=_attribution(travel, model.kind),
    )


class _as_api_errors:
    """Turns geodata errors into API errors with a fitting status (a context manager)."""

    def __enter__(self) -> None:
        return None

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: object
    ) -> bool:
        if isinstance(exc, InvalidInput | PointOffNetwork | NoRoute):
            raise ApiError(422, exc.code, exc.message, exc.details) from exc
        if isinstance(exc, GeodataError):
            raise ApiError(
                503, "travel_unavailable", exc.message, {"cause": exc.code, **exc.details}
            ) from exc
        return False


def _kind(kind: str) -> Literal["osrm", "straight_line"]:
    return "osrm" if kind == "osrm" else "straight_line"


def _attribution(travel: TravelModels, kind: str) -> str:
    return travel.attribution if kind == "osrm" else ""
