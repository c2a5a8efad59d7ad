"""`/tiles`: vector tiles of the map and their TileJSON. Public: the buyer page has no account.

Tiles are rendered by PostGIS (`geodata.map_tiles`) and kept in an in-process LRU keyed by the
map version. HTTP caching:

* every tile answer carries an `ETag` (the map version, z, x, y); `If-None-Match` with it
  answers 304 without touching the tile;
* a tile asked for with `?v=` equal to the current version tag (the URL template TileJSON
  hands out carries it) may be kept a day (`immutable`): a new import or zone change makes a
  new tag, hence new URLs; without it, or with an old tag, `max-age` is
  `COURIER_TILE_MAX_AGE_S` (60 s);
* a tile with nothing in it answers **204 No Content** (MapLibre and Mapbox GL draw nothing
  for it), with the same caching headers.
"""

from __future__ import annotations

import json
import math
from typing import Annotated

from fastapi import APIRouter, Header, Path, Query, Request, Response
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from api import schemas
from api.deps import SessionDep, SettingsDep
from api.links import public_base
from api.settings import Settings
from geodata.map_tiles import (
    LAYERS,
    MAX_ZOOM,
    MapVersion,
    MapVersionCache,
    TileAddress,
    TileCache,
    map_version,
    network_bounds,
    render_tile,
)

__all__ = ["router", "MVT_MEDIA_TYPE", "TILEJSON_MAX_ZOOM"]

router = APIRouter(prefix="/tiles", tags=["map"])

MVT_MEDIA_TYPE = "application/vnd.mapbox-vector-tile"
#: Deepest zoom TileJSON announces; clients overzoom past it (z14 already has every road).
TILEJSON_MAX_ZOOM = 16
ATTRIBUTION = "© OpenStreetMap contributors"
#: Central Tashkent, the demo city's default place, when nothing better is known.
_DEFAULT_BOUNDS = (69.22, 41.27, 69.34, 41.35)
_LONG_MAX_AGE_S = 86_400


def tile_cache(request: Request) -> TileCache:
    state = request.app.state
    cache = getattr(state, "tile_cache", None)
    if cache is None:
        cache = state.tile_cache = TileCache(max_bytes=state.settings.tile_cache_bytes)
    return cache


async def current_version(request: Request) -> MapVersion:
    """The map version, read at most every `COURIER_TILE_VERSION_TTL_S` per worker."""
    state = request.app.state
    versions = getattr(state, "map_versions", None)
    if versions is None:
        versions = state.map_versions = MapVersionCache(
            ttl_s=state.settings.tile_version_ttl_s)

    async def load() -> MapVersion:
        async with state.sessionmaker() as session:
            return await map_version(session)

    return await versions.get(load)


@router.get(
    "/{z}/{x}/{y}.mvt",
    response_class=Response,
    summary="A vector tile (layers roads, water, parks, zones)",
    responses={
        200: {"content": {MVT_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}}},
              "description": "Mapbox Vector Tile 2.1, extent 4096, buffer 64"},
        204: {"description": "Nothing lies in this tile"},
        304: {"description": "The tile has not changed (`If-None-Match`)"},
        **schemas.error_responses(422),
    },
)
async def tile(
    request: Request,
    settings: SettingsDep,
    z: Annotated[int, Path(ge=0, le=MAX_ZOOM)],
    x: Annotated[int, Path(ge=0, le=(1 << MAX_ZOOM) - 1, description="0 .. 2^z - 1")],
    y: Annotated[int, Path(ge=0, le=(1 << MAX_ZOOM) - 1, description="0 .. 2^z - 1")],
    v: Annotated[str | None, Query(max_length=64,
                                   description="the version tag from tiles.json")] = None,
    if_none_match: Annotated[str | None, Header()] = None,
) -> Response:
    address = TileAddress.checked(z, x, y)
    version = await current_version(request)
    max_age = _LONG_MAX_AGE_S if v == version.tag else settings.tile_max_age_s
    headers = {"ETag": version.etag(address),
               "Cache-Control": f"public, max-age={max_age}"
               + (", immutable" if max_age == _LONG_MAX_AGE_S else ""),
               "Access-Control-Allow-Origin": "*"}
    if if_none_match and version.etag(address) in {t.strip() for t in if_none_match.split(",")}:
        return Response(status_code=304, headers=headers)

    async def render() -> bytes:
        async with request.app.state.sessionmaker() as render_session:
            return await render_tile(render_session, address)

    body, _ = await tile_cache(request).get_or_render((version.tag, z, x, y), render)
    if not body:
        return Response(status_code=204, headers=headers)
    return Response(content=body, media_type=MVT_MEDIA_TYPE, headers=headers)


@router.get(".json", response_model=schemas.TileJSON,
            summary="TileJSON 3.0.0 of the vector tiles")
async def tilejson(request: Request, session: SessionDep,
                   settings: SettingsDep) -> schemas.TileJSON:
    """`tiles` is an absolute URL template (with the current version tag); `bounds` and
    `center` are those of the configured road network (`COURIER_NETWORK`), else of the
    active service zones."""
    version = await current_version(request)
    bounds = await _bounds(session, settings)
    min_lon, min_lat, max_lon, max_lat = bounds
    center = [round((min_lon + max_lon) / 2, 6), round((min_lat + max_lat) / 2, 6),
              _zoom_to_fit(bounds)]
    base = public_base(request, settings)
    return schemas.TileJSON(
        name=f"courier map ({settings.network or 'zones'})",
        attribution=ATTRIBUTION,
        tiles=[f"{base}/api/v1/tiles/{{z}}/{{x}}/{{y}}.mvt?v={version.tag}"],
        minzoom=0, maxzoom=TILEJSON_MAX_ZOOM,
        bounds=[round(v, 6) for v in bounds], center=center,
        vector_layers=[schemas.VectorLayer(id=name, fields=fields, minzoom=0,
                                           maxzoom=TILEJSON_MAX_ZOOM)
                       for name, fields in LAYERS.items()],
    )


async def _bounds(session: AsyncSession, settings: Settings) -> tuple[float, float, float, float]:
    if settings.network:
        meta = settings.networks_dir / settings.network / "network.json"
        if meta.is_file():
            bbox = json.loads(meta.read_text())["bbox"]
            return tuple(float(v) for v in bbox)  # type: ignore[return-value]
        loaded = await network_bounds(session, settings.network)
        if loaded is not None:
            return loaded
    row = (await session.execute(text(
        "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT ST_Extent("
        "area::geometry) AS e FROM zones WHERE active) s"))).one()
    if row[0] is not None:
        return (float(row[0]), float(row[1]), float(row[2]), float(row[3]))
    return _DEFAULT_BOUNDS


def _zoom_to_fit(bounds: tuple[float, float, float, float]) -> int:
    """The deepest zoom at which the box fits a 1024-pixel-wide view (at least 10)."""
    span = max(bounds[2] - bounds[0], 1e-6)
    zoom = int(math.floor(math.log2(360.0 * 1024 / 256 / span)))
    return max(10, min(TILEJSON_MAX_ZOOM, zoom))


