"""Service-area zones in PostGIS: create from GeoJSON, point-in-zone and nearest-zone queries.

Zones are stored as `geography(MULTIPOLYGON, 4326)`; GeoJSON input is `[lon, lat]` as the
GeoJSON spec says. A Polygon is stored as a one-part MultiPolygon.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import shapely
from shapely.geometry import MultiPolygon, Polygon, mapping, shape
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from geodata.models import Zone

__all__ = [
    "ZoneError",
    "DuplicateZone",
    "ZoneView",
    "parse_zone_geometry",
    "create_zone",
    "list_zones",
    "active_zone_boxes",
    "zones_containing",
    "active_zones_covering",
    "any_active_zone",
    "nearest_zone",
    "import_zones_geojson",
]


class ZoneError(ValueError):
    """Refused zone input; `code` is what the API reports."""

    code = "invalid_geometry"

    def __init__(self, message: str, *, code: str | None = None, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.details = details


class DuplicateZone(ZoneError):
    code = "duplicate"


@dataclass(frozen=True, slots=True)
class ZoneView:
    id: int
    name: str
    active: bool
    geometry: dict[str, Any]


def parse_zone_geometry(geojson: dict[str, Any]) -> MultiPolygon:
    """A valid WGS84 MultiPolygon from a GeoJSON Polygon, MultiPolygon or Feature of one."""
    if not isinstance(geojson, dict):
        raise ZoneError("geometry must be a GeoJSON object")
    if geojson.get("type") == "Feature":
        geojson = geojson.get("geometry") or {}
    if geojson.get("type") not in ("Polygon", "MultiPolygon"):
        raise ZoneError("a zone must be a GeoJSON Polygon or MultiPolygon",
                        details={"type": geojson.get("type")})
    try:
        geometry = shape(geojson)
    except Exception as exc:  # shapely raises several types for malformed coordinates
        raise ZoneError(f"malformed GeoJSON coordinates: {exc}") from None
    if geometry.is_empty:
        raise ZoneError("the zone is empty")
    min_lon, min_lat, max_lon, max_lat = geometry.bounds
    if not (-180 <= min_lon <= max_lon <= 180 and -90 <= min_lat <= max_lat <= 90):
        raise ZoneError("coordinates must be [lon, lat] within WGS84 bounds",
                        details={"bounds": [min_lon, min_lat, max_lon, max_lat]})
    if not geometry.is_valid:
        raise ZoneError("the polygon is not valid (self-intersecting or badly closed)",
                        details={"reason": shapely.is_valid_reason(geometry)})
    if isinstance(geometry, Polygon):
        geometry = MultiPolygon([geometry])
    return geometry


def _view(zone: Zone, geometry_json: str) -> ZoneView:
    return ZoneView(zone.id, zone.name, zone.active, json.loads(geometry_json))


async def create_zone(session: AsyncSession, *, name: str, geometry: dict[str, Any],
                      active: bool = True) -> ZoneView:
    area = parse_zone_geometry(geometry)
    existing = await session.scalar(select(Zone.id).where(Zone.name == name))
    if existing is not None:
        raise DuplicateZone(f"a zone named {name!r} already exists",
                            details={"zone_id": existing})
    zone = Zone(name=name, area=f"SRID=4326;{area.wkt}", active=active)
    session.add(zone)
    await session.flush()
    return ZoneView(zone.id, zone.name, zone.active, mapping(area))


async def list_zones(session: AsyncSession, *, active_only: bool = False,
                     after_id: int | None = None, limit: int | None = None) -> list[ZoneView]:
    """Zones in id order; `after_id` and `limit` page through them."""
    query = select(Zone, func.ST_AsGeoJSON(Zone.area)).order_by(Zone.id)
    if active_only:
        query = query.where(Zone.active.is_(True))
    if after_id is not None:
        query = query.where(Zone.id > after_id)
    if limit is not None:
        query = query.limit(limit)
    return [_view(zone, geometry) for zone, geometry in (await session.execute(query)).all()]


async def active_zone_boxes(session: AsyncSession) -> list[tuple[float, float, float, float]]:
    """`(min_lat, min_lon, max_lat, max_lon)` of every active zone."""
    rows = (await session.execute(text(
        "SELECT ST_YMin(b), ST_XMin(b), ST_YMax(b), ST_XMax(b) "
        "FROM (SELECT Box2D(area::geometry) AS b FROM zones WHERE active) s"))).all()
    return [(float(a), float(b), float(c), float(d)) for a, b, c, d in rows]


def _point(lat: float, lon: float) -> Any:
    return func.ST_GeogFromText(f"SRID=4326;POINT({float(lon)!r} {float(lat)!r})")


async def zones_containing(session: AsyncSession, *, lat: float, lon: float,
                           active_only: bool = True) -> list[int]:
    """Ids of the zones that cover the point (boundary included)."""
    query = select(Zone.id).where(func.ST_Covers(Zone.area, _point(lat, lon))).order_by(Zone.id)
    if active_only:
        query = query.where(Zone.active.is_(True))
    return list((await session.scalars(query)).all())


ZONES_COVERING_SQL = text("""
SELECT p.n, ARRAY(SELECT z.id FROM zones z
                  WHERE z.active
                    AND ST_Covers(z.area, ST_SetSRID(ST_MakePoint(p.lon, p.lat), 4326)::geography)
                  ORDER BY z.id) AS zone_ids
FROM unnest(CAST(:lats AS double precision[]), CAST(:lons AS double precision[]))
     WITH ORDINALITY AS p(lat, lon, n)
""")


async def active_zones_covering(session: AsyncSession, points: list[tuple[float, float]]
                                ) -> list[frozenset[int]]:
    """For each `(lat, lon)`, the ids of the active zones covering it (boundary included),
    in one query: the planner asks this for every open order's pickup each cycle."""
    if not points:
        return []
    rows = (await session.execute(ZONES_COVERING_SQL, {
        "lats": [float(lat) for lat, _ in points], "lons": [float(lon) for _, lon in points],
    })).all()
    covering = {int(r.n): frozenset(r.zone_ids or ()) for r in rows}
    return [covering[n] for n in range(1, len(points) + 1)]


async def any_active_zone(session: AsyncSession) -> bool:
    """Whether any zone is active (without one, the whole map is served)."""
    return bool(await session.scalar(text("SELECT EXISTS (SELECT 1 FROM zones WHERE active)")))


async def nearest_zone(session: AsyncSession, *, lat: float, lon: float,
                       active_only: bool = True) -> tuple[int, float] | None:
    """The nearest zone's id and distance in metres (0 inside), or None without zones."""
    distance_m = func.ST_Distance(Zone.area, _point(lat, lon))
    query = select(Zone.id, distance_m).order_by(distance_m, Zone.id).limit(1)
    if active_only:
        query = query.where(Zone.active.is_(True))
    row = (await session.execute(query)).first()
    return None if row is None else (int(row[0]), float(row[1]))


async def import_zones_geojson(session: AsyncSession, path: Path) -> list[ZoneView]:
    """Creates one zone per Feature of a FeatureCollection (name from `properties.name`).

    All or nothing: the caller commits only if every feature was accepted.
    """
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ZoneError(f"cannot read GeoJSON from {path}: {exc}", code="invalid_file") from None
    features = document.get("features") if document.get("type") == "FeatureCollection" else [
        document]
    created = []
    for index, feature in enumerate(features or []):
        properties = feature.get("properties") or {}
        name = properties.get("name") or f"{Path(path).stem}-{index + 1}"
        created.append(await create_zone(session, name=str(name), geometry=feature,
                                         active=bool(properties.get("active", True))))
    if not created:
        raise ZoneError(f"{path} holds no features", code="invalid_file")
    return created
