"""Plane-free geometry for the live driver: distances, bearings, offsets and service areas.

Pure functions of plain values (WGS84 degrees, `lat, lon` order unless a name says GeoJSON,
whose coordinates are `[lon, lat]`). Nothing here reads a clock or a socket.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from geodata.points import EARTH_RADIUS_M, haversine_m

__all__ = ["EARTH_RADIUS_M", "distance_m", "bearing_deg", "offset", "ring_contains", "Area"]



def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres (`geodata.points.haversine_m`, four plain floats)."""
    return haversine_m((lat1, lon1), (lat2, lon2))


def bearing_deg(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Initial bearing from the first point to the second, degrees clockwise from north
    in [0, 360)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dlon = math.radians(lon2 - lon1)
    y = math.sin(dlon) * math.cos(p2)
    x = math.cos(p1) * math.sin(p2) - math.sin(p1) * math.cos(p2) * math.cos(dlon)
    return math.degrees(math.atan2(y, x)) % 360.0


def offset(lat: float, lon: float, *, east_m: float, north_m: float) -> tuple[float, float]:
    """The point `east_m` east and `north_m` north of `(lat, lon)` (small distances)."""
    dlat = math.degrees(north_m / EARTH_RADIUS_M)
    dlon = math.degrees(east_m / (EARTH_RADIUS_M * max(1e-9, math.cos(math.radians(lat)))))
    return lat + dlat, lon + dlon


def ring_contains(ring: Sequence[Sequence[float]], lat: float, lon: float) -> bool:
    """Even-odd test of a point against a GeoJSON ring (`[[lon, lat], ...]`)."""
    inside = False
    n = len(ring)
    for i in range(n):
        x1, y1 = ring[i][0], ring[i][1]
        x2, y2 = ring[(i + 1) % n][0], ring[(i + 1) % n][1]
        if (y1 > lat) != (y2 > lat):
            x_cross = x1 + (lat - y1) * (x2 - x1) / (y2 - y1)
            if lon < x_cross:
                inside = not inside
    return inside


@dataclass(frozen=True)
class Area:
    """Where the cast lives: the active service zones (GeoJSON polygons), optionally narrowed
    to a box (the road network's) and to a disc around a centre.

    `polygons` holds each polygon as a list of rings (outer first, then holes), GeoJSON order.
    """

    polygons: tuple[tuple[tuple[tuple[float, float], ...], ...], ...]
    #: `(min_lon, min_lat, max_lon, max_lat)` every point must also lie in.
    bbox: tuple[float, float, float, float]
    centre: tuple[float, float] | None = None
    radius_m: float | None = None

    @classmethod
    def from_zones(cls, geometries: Sequence[dict[str, Any]], *,
                   within_bbox: Sequence[float] | None = None, inset: float = 0.03,
                   radius_m: float | None = None) -> Area:
        """From the zones' GeoJSON (Polygon or MultiPolygon). The box is the zones' own,
        intersected with `within_bbox`, shrunk by `inset` of its size on each side (the edge
        of a road network has few streets to stand on). With `radius_m`, points keep within
        that distance of the box's centre."""
        polygons: list[tuple[tuple[tuple[float, float], ...], ...]] = []
        for geometry in geometries:
            kind, coordinates = geometry.get("type"), geometry.get("coordinates") or []
            parts = [coordinates] if kind == "Polygon" else coordinates if kind == "MultiPolygon" \
                else []
            for part in parts:
                polygons.append(tuple(tuple((float(x), float(y)) for x, y, *_ in ring)
                                      for ring in part))
        if not polygons:
            raise ValueError("no polygon to place the cast in")
        xs = [x for poly in polygons for x, _ in poly[0]]
        ys = [y for poly in polygons for _, y in poly[0]]
        box = [min(xs), min(ys), max(xs), max(ys)]
        if within_bbox is not None:
            box = [max(box[0], within_bbox[0]), max(box[1], within_bbox[1]),
                   min(box[2], within_bbox[2]), min(box[3], within_bbox[3])]
        if box[0] >= box[2] or box[1] >= box[3]:
            raise ValueError("the service zones and the road network do not overlap")
        dx, dy = (box[2] - box[0]) * inset, (box[3] - box[1]) * inset
        box = [box[0] + dx, box[1] + dy, box[2] - dx, box[3] - dy]
        centre = ((box[1] + box[3]) / 2, (box[0] + box[2]) / 2)
        return cls(tuple(polygons), (box[0], box[1], box[2], box[3]),
                   centre=centre if radius_m else None, radius_m=radius_m)

    def contains(self, lat: float, lon: float) -> bool:
        min_lon, min_lat, max_lon, max_lat = self.bbox
        if not (min_lon <= lon <= max_lon and min_lat <= lat <= max_lat):
            return False
        if self.centre is not None and self.radius_m is not None and \
                distance_m(lat, lon, *self.centre) > self.radius_m:
            return False
        for rings in self.polygons:
            if ring_contains(rings[0], lat, lon) and \
                    not any(ring_contains(hole, lat, lon) for hole in rings[1:]):
                return True
        return False

    def sample(self, rng: random.Random, *, tries: int = 10_000) -> tuple[float, float]:
        """A uniformly random `(lat, lon)` inside the area (rejection sampling)."""
        min_lon, min_lat, max_lon, max_lat = self.bbox
        if self.centre is not None and self.radius_m is not None:
            # Sample the disc's box, not the whole area's: a small disc in a big zone.
            lat_c, lon_c = self.centre
            south = offset(lat_c, lon_c, east_m=-self.radius_m, north_m=-self.radius_m)
            north = offset(lat_c, lon_c, east_m=self.radius_m, north_m=self.radius_m)
            min_lat, min_lon = max(min_lat, south[0]), max(min_lon, south[1])
            max_lat, max_lon = min(max_lat, north[0]), min(max_lon, north[1])
        for _ in range(tries):
            lat, lon = rng.uniform(min_lat, max_lat), rng.uniform(min_lon, max_lon)
            if self.contains(lat, lon):
                return lat, lon
        raise ValueError("could not find a point inside the area")
