"""Mapbox Vector Tiles of the loaded map features and the service zones, made by PostGIS.

One query per tile builds four layers with ``ST_AsMVT`` (extent 4096, buffer 64; geometries
clipped and quantised by ``ST_AsMVTGeom`` against ``ST_TileEnvelope``) and concatenates them:

* ``roads`` -- ``class``, ``name`` (absent when unnamed), ``oneway``; generalised by zoom:
  below z12 motorway, trunk and primary only, simplified to about a pixel; z12-13 add
  secondary and tertiary; z14 and up everything. Minor roads come first in the layer, so
  major ones are drawn over them.
* ``water`` -- ``kind``, ``name``; polygons and lines. Below z12 polygons smaller than a few
  pixels and lines other than rivers and canals are left out.
* ``parks`` -- ``kind``, ``name``; polygons, same size rule.
* ``zones`` -- ``id``, ``name``, ``active``: the service areas.

Every loaded network is drawn (networks are separate cities; a tile away from all of them
is empty). `MapVersion` names what a tile is made of -- the newest map generation and a
digest of the zones -- so a cache keyed by it never serves a tile from before an import or
a zone change. `TileCache` is a small in-process LRU bounded in bytes, with one render per
tile at a time however many requests ask for it.

The address checks and the generalisation rules are pure; `render_tile` and `map_version`
take the caller's SQLAlchemy session.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Final

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from geodata.exceptions import InvalidInput

__all__ = [
    "EXTENT",
    "BUFFER",
    "MAX_ZOOM",
    "LAYERS",
    "InvalidTile",
    "TileAddress",
    "Generalisation",
    "generalisation",
    "MapVersion",
    "map_version",
    "render_tile",
    "TileCache",
    "MapVersionCache",
    "network_bounds",
]

EXTENT: Final = 4096
BUFFER: Final = 64
#: Deepest zoom a tile may be asked for (clients overzoom the deepest one they were told of).
MAX_ZOOM: Final = 22
#: Layer name -> field name -> type, as TileJSON's `vector_layers` describes them.
LAYERS: Final[dict[str, dict[str, str]]] = {
    "roads": {"class": "String", "name": "String", "oneway": "Boolean"},
    "water": {"kind": "String", "name": "String"},
    "parks": {"kind": "String", "name": "String"},
    "zones": {"id": "Number", "name": "String", "active": "Boolean"},
}
#: Half the equator in Web Mercator metres.
_HALF_WORLD_M: Final = 20037508.342789244


class InvalidTile(InvalidInput):
    """z, x or y out of range for a tile address."""

    code = "invalid_tile"


@dataclass(frozen=True, slots=True)
class TileAddress:
    z: int
    x: int
    y: int

    @classmethod
    def checked(cls, z: int, x: int, y: int) -> TileAddress:
        """The address, or `InvalidTile` if z is not 0..22 or x, y not 0..2^z-1."""
        if not 0 <= z <= MAX_ZOOM:
            raise InvalidTile(f"zoom must be between 0 and {MAX_ZOOM}", details={"z": z})
        last = (1 << z) - 1
        if not (0 <= x <= last and 0 <= y <= last):
            raise InvalidTile(f"at zoom {z}, x and y must be between 0 and {last}",
                              details={"z": z, "x": x, "y": y, "max": last})
        return cls(z, x, y)

    @property
    def unit_m(self) -> float:
        """Web Mercator metres per tile unit (1/4096 of the tile's side)."""
        return 2 * _HALF_WORLD_M / (1 << self.z) / EXTENT


@dataclass(frozen=True, slots=True)
class Generalisation:
    """What a zoom level shows."""

    #: Roads of rank up to this (1 motorway .. 8 path).
    max_road_rank: int
    #: `ST_Simplify` tolerance in metres (0: none).
    simplify_m: float
    #: Polygons smaller than this (Web Mercator m²) are left out.
    min_area_3857: float
    #: Water lines of only these kinds (None: all).
    water_line_kinds: tuple[str, ...] | None


def generalisation(address: TileAddress) -> Generalisation:
    """The rules of the module docstring, for one tile."""
    unit_m = address.unit_m
    pixel_m = unit_m * EXTENT / 256  # a 256-pixel tile on screen
    if address.z < 12:
        return Generalisation(3, pixel_m, (4 * pixel_m) ** 2, ("river", "canal"))
    if address.z < 14:
        return Generalisation(5, 0.0, 0.0, None)
    return Generalisation(8, 0.0, 0.0, None)


@dataclass(frozen=True, slots=True)
class MapVersion:
    """What every tile is made of right now: the map generation and the zones' digest."""

    generation: int
    zones_digest: str

    @property
    def tag(self) -> str:
        """A short token for URLs (`?v=`) and cache keys."""
        return f"{self.generation}-{self.zones_digest[:10]}"

    def etag(self, address: TileAddress) -> str:
        digest = hashlib.sha1(f"{self.tag}/{address.z}/{address.x}/{address.y}".encode())
        return f'"{digest.hexdigest()[:20]}"'


_VERSION_SQL = text("""
SELECT (SELECT coalesce(max(generation), 0) FROM map_networks) AS generation,
       (SELECT md5(coalesce(string_agg(id::text || ':' || active::text || ':' || name
                                       || ':' || md5(ST_AsEWKB(area::geometry)), ',' ORDER BY id),
                            ''))
        FROM zones) AS zones_digest
""")


async def map_version(session: AsyncSession) -> MapVersion:
    row = (await session.execute(_VERSION_SQL)).one()
    return MapVersion(int(row.generation), str(row.zones_digest))


_TILE_SQL = text("""
WITH bounds AS (
    SELECT ST_TileEnvelope(:z, :x, :y) AS env,
           ST_TileEnvelope(:z, :x, :y, margin => :margin) AS area
),
roads AS (
    SELECT r.class, r.name, r.oneway,
           ST_AsMVTGeom(CASE WHEN :simplify_m > 0 THEN ST_Simplify(r.geom_3857, :simplify_m)
                             ELSE r.geom_3857 END,
                        b.env, :extent, :buffer, true) AS geom
    FROM map_roads r, bounds b
    WHERE r.geom_3857 && b.area AND r.rank <= :max_rank
    ORDER BY r.rank DESC, r.id
),
water AS (
    SELECT w.kind, w.name,
           ST_AsMVTGeom(CASE WHEN :simplify_m > 0 THEN ST_Simplify(w.geom_3857, :simplify_m)
                             ELSE w.geom_3857 END,
                        b.env, :extent, :buffer, true) AS geom
    FROM map_water w, bounds b
    WHERE w.geom_3857 && b.area
      AND (CASE WHEN ST_Dimension(w.geom_3857) = 2 THEN w.area_3857 >= :min_area
                ELSE (:all_lines OR w.kind = ANY(:line_kinds)) END)
    ORDER BY w.id
),
parks AS (
    SELECT p.kind, p.name,
           ST_AsMVTGeom(CASE WHEN :simplify_m > 0 THEN ST_Simplify(p.geom_3857, :simplify_m)
                             ELSE p.geom_3857 END,
                        b.env, :extent, :buffer, true) AS geom
    FROM map_parks p, bounds b
    WHERE p.geom_3857 && b.area AND p.area_3857 >= :min_area
    ORDER BY p.id
),
zones_3857 AS (
    SELECT z.id, z.name, z.active, ST_Transform(z.area::geometry, 3857) AS g FROM zones z
),
zone_rows AS (
    SELECT z.id, z.name, z.active, ST_AsMVTGeom(z.g, b.env, :extent, :buffer, true) AS geom
    FROM zones_3857 z, bounds b
    WHERE z.g && b.area
    ORDER BY z.id
)
SELECT (SELECT coalesce(ST_AsMVT(t, 'roads', :extent, 'geom'), '')
        FROM (SELECT * FROM roads WHERE geom IS NOT NULL) t)
    || (SELECT coalesce(ST_AsMVT(t, 'water', :extent, 'geom'), '')
        FROM (SELECT * FROM water WHERE geom IS NOT NULL) t)
    || (SELECT coalesce(ST_AsMVT(t, 'parks', :extent, 'geom'), '')
        FROM (SELECT * FROM parks WHERE geom IS NOT NULL) t)
    || (SELECT coalesce(ST_AsMVT(t, 'zones', :extent, 'geom'), '')
        FROM (SELECT * FROM zone_rows WHERE geom IS NOT NULL) t)
""")


async def render_tile(session: AsyncSession, address: TileAddress) -> bytes:
    """The tile's MVT bytes (empty when nothing lies in it)."""
    rules = generalisation(address)
    value = await session.scalar(_TILE_SQL, {
        "z": address.z, "x": address.x, "y": address.y, "margin": BUFFER / EXTENT,
        "extent": EXTENT, "buffer": BUFFER, "max_rank": rules.max_road_rank,
        "simplify_m": rules.simplify_m, "min_area": rules.min_area_3857,
        "all_lines": rules.water_line_kinds is None,
        "line_kinds": list(rules.water_line_kinds or ()),
    })
    return bytes(value or b"")


_BOUNDS_SQL = text("""
SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e)
FROM (SELECT ST_Transform(ST_SetSRID(ST_Extent(geom_3857), 3857), 4326) AS e
      FROM map_roads WHERE network = :name) s
""")


async def network_bounds(session: AsyncSession,
                         name: str) -> tuple[float, float, float, float] | None:
    """`(min_lon, min_lat, max_lon, max_lat)` of a loaded network's roads, or None."""
    row = (await session.execute(_BOUNDS_SQL, {"name": name})).one_or_none()
    if row is None or row[0] is None:
        return None
    return (float(row[0]), float(row[1]), float(row[2]), float(row[3]))


class MapVersionCache:
    """The map version, asked of the database at most every `ttl_s` (0: every time), so a
    cached tile costs no database round trip. A new import shows within `ttl_s`."""

    def __init__(self, *, ttl_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl_s = ttl_s
        self.clock = clock
        self._value: MapVersion | None = None
        self._fetched_at = -math.inf

    async def get(self, load: Callable[[], Awaitable[MapVersion]]) -> MapVersion:
        if self._value is None or self.clock() - self._fetched_at >= self.ttl_s:
            self._value = await load()
            self._fetched_at = self.clock()
        return self._value


class TileCache:
    """LRU of rendered tiles keyed by `(version tag, z, x, y)`, at most `max_bytes` of tiles.

    `get_or_render` renders a missing tile once even when many requests ask for it at the
    same moment: the others wait for the first one's result.
    """

    def __init__(self, *, max_bytes: int = 64 * 1024 * 1024) -> None:
        self.max_bytes = max_bytes
        self._tiles: OrderedDict[tuple[str, int, int, int], bytes] = OrderedDict()
        self._bytes = 0
        self._rendering: dict[tuple[str, int, int, int], asyncio.Future[bytes]] = {}
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._tiles)

    @property
    def size_bytes(self) -> int:
        return self._bytes

    def get(self, key: tuple[str, int, int, int]) -> bytes | None:
        tile = self._tiles.get(key)
        if tile is not None:
            self._tiles.move_to_end(key)
        return tile

    def put(self, key: tuple[str, int, int, int], tile: bytes) -> None:
        if len(tile) > self.max_bytes:
            return
        old = self._tiles.pop(key, None)
        if old is not None:
            self._bytes -= len(old)
        self._tiles[key] = tile
        self._bytes += len(tile)
        while self._bytes > self.max_bytes:
            _, dropped = self._tiles.popitem(last=False)
            self._bytes -= len(dropped)

    def clear(self) -> None:
        self._tiles.clear()
        self._bytes = 0

    async def get_or_render(self, key: tuple[str, int, int, int],
                            render: Callable[[], Awaitable[bytes]]) -> tuple[bytes, bool]:
        """`(tile, was_cached)`."""
        tile = self.get(key)
        if tile is not None:
            self.hits += 1
            return tile, True
        pending = self._rendering.get(key)
        if pending is not None:
            self.hits += 1
            return await asyncio.shield(pending), True
        self.misses += 1
        future: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self._rendering[key] = future
        try:
            tile = await render()
        except BaseException as exc:
            if isinstance(exc, asyncio.CancelledError):
                future.cancel()
            else:
                future.set_exception(exc)
                future.exception()  # retrieved: waiters re-raise it, nobody logs it as lost
            raise
        finally:
            self._rendering.pop(key, None)
        future.set_result(tile)
        self.put(key, tile)
        return tile, False
