"""What of an OSM extract goes on the map, and how it is classed: roads, water, parks.

The classification is pure (tags in, class out) and tested with plain dicts. `extract_features`
reads an OSM file once with pyosmium -- node locations cached, closed ways and multipolygon
relations assembled into areas -- and yields one `MapFeature` per drawable object, its geometry
as WKB in WGS84 (SRID 4326, `lon, lat` order as in OSM). `geodata.map_store` loads them.

Road classes (the `class` property of the `roads` tile layer)::

    motorway, trunk, primary, secondary, tertiary   their `*_link` ramps go with them
    residential      residential, unclassified, living_street, road
    service          service
    path             footway, cycleway, pedestrian, steps, track, path, bridleway

Other `highway` values (construction, proposed, platform, corridor, ...) are not drawn.
A one-way street (`oneway=yes|true|1|-1`, motorways, roundabouts) has `oneway` true, and a
`oneway=-1` line is stored reversed, so its geometry always runs in the direction of travel.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Final

import osmium

from geodata.exceptions import InvalidOsmFile, OsmFileNotFound

__all__ = [
    "ROAD_CLASSES",
    "Layer",
    "MapFeature",
    "road_class",
    "road_rank",
    "oneway_of",
    "water_area_kind",
    "waterway_line_kind",
    "park_kind",
    "extract_features",
]

#: Road classes from the most to the least important; `road_rank` is the 1-based position.
ROAD_CLASSES: Final[tuple[str, ...]] = (
    "motorway", "trunk", "primary", "secondary", "tertiary", "residential", "service", "path",
)
_RANK = {name: rank for rank, name in enumerate(ROAD_CLASSES, start=1)}

_HIGHWAY_CLASS: Final[dict[str, str]] = {
    **{name: name for name in ("motorway", "trunk", "primary", "secondary", "tertiary",
                               "residential", "service")},
    "unclassified": "residential",
    "living_street": "residential",
    "road": "residential",
    **{name: "path" for name in ("footway", "cycleway", "pedestrian", "steps", "track", "path",
                                 "bridleway")},
}
_LINKS: Final = frozenset({"motorway", "trunk", "primary", "secondary", "tertiary"})
_YES: Final = frozenset({"yes", "true", "1"})

_WATER_KIND: Final[dict[str, str]] = {
    "river": "river", "oxbow": "river", "stream": "river", "canal": "canal", "ditch": "canal",
    "lake": "lake", "pond": "lake", "reservoir": "lake", "basin": "lake", "lagoon": "lake",
}
_WATERWAY_AREA_KIND: Final[dict[str, str]] = {"riverbank": "river", "dock": "water"}
_WATERWAY_LINE_KIND: Final[dict[str, str]] = {
    "river": "river", "canal": "canal", "stream": "stream", "ditch": "ditch", "drain": "ditch",
}
_PARK_KIND: Final[tuple[tuple[str, str, str], ...]] = (
    ("leisure", "park", "park"),
    ("leisure", "garden", "garden"),
    ("leisure", "nature_reserve", "nature_reserve"),
    ("landuse", "recreation_ground", "recreation_ground"),
    ("landuse", "village_green", "grass"),
    ("landuse", "grass", "grass"),
    ("landuse", "meadow", "meadow"),
    ("landuse", "forest", "forest"),
    ("natural", "wood", "forest"),
    ("landuse", "cemetery", "cemetery"),
)


class Layer(StrEnum):
    ROADS = "roads"
    WATER = "water"
    PARKS = "parks"


@dataclass(frozen=True, slots=True)
class MapFeature:
    """One drawable object. `kind` is the road class for roads; `rank` is 0 for non-roads."""

    layer: Layer
    osm_id: int
    kind: str
    name: str | None
    oneway: bool
    rank: int
    #: Hex-encoded WKB in WGS84; a LineString for roads and waterways, a MultiPolygon for areas.
    wkb_hex: str


def road_class(highway: str | None) -> str | None:
    """The map class of a `highway=*` value, or None when it is not drawn."""
    if not highway:
        return None
    if highway.endswith("_link") and highway[:-5] in _LINKS:
        return highway[:-5]
    return _HIGHWAY_CLASS.get(highway)


def road_rank(road_class_name: str) -> int:
    """1 for motorways up to 8 for paths."""
    return _RANK[road_class_name]


def oneway_of(tags: Mapping[str, str]) -> tuple[bool, bool]:
    """`(oneway, reversed)`: whether traffic goes one way, and whether against the way's order."""
    value = (tags.get("oneway") or "").lower()
    if value == "-1":
        return True, True
    if value in _YES:
        return True, False
    if value == "no":
        return False, False
    implied = tags.get("highway") in ("motorway", "motorway_link") or tags.get("junction") in (
        "roundabout", "circular")
    return implied, False


def water_area_kind(tags: Mapping[str, str]) -> str | None:
    """The kind of a water area (`natural=water`, `waterway=riverbank|dock`,
    `landuse=reservoir|basin`), or None."""
    if tags.get("natural") == "water":
        return _WATER_KIND.get(tags.get("water") or "", "water")
    waterway = tags.get("waterway")
    if waterway in _WATERWAY_AREA_KIND:
        return _WATERWAY_AREA_KIND[waterway]
    if tags.get("landuse") in ("reservoir", "basin"):
        return "lake"
    return None


def waterway_line_kind(tags: Mapping[str, str]) -> str | None:
    """The kind of a waterway line (river, canal, stream, ditch), or None."""
    return _WATERWAY_LINE_KIND.get(tags.get("waterway") or "")


def park_kind(tags: Mapping[str, str]) -> str | None:
    """The kind of a green area (park, garden, grass, meadow, forest, ...), or None."""
    for key, value, kind in _PARK_KIND:
        if tags.get(key) == value:
            return kind
    return None


def _tags(obj: osmium.osm.OSMObject) -> dict[str, str]:
    return {tag.k: tag.v for tag in obj.tags}


def _reverse_linestring_wkb(wkb_hex: str) -> str:
    """The same LineString with its points in the opposite order (hex WKB, 2D)."""
    raw = bytes.fromhex(wkb_hex)
    little = raw[0] == 1
    order = "little" if little else "big"
    count = int.from_bytes(raw[5:9], order)
    points = [raw[9 + 16 * i: 25 + 16 * i] for i in range(count)]
    return (raw[:9] + b"".join(reversed(points))).hex()


_KEYS: Final = ("highway", "waterway", "natural", "leisure", "landuse")


def extract_features(source: Path) -> Iterator[MapFeature]:
    """Every road, water body and park of an OSM file, in file order (ways, then areas).

    Objects whose geometry cannot be built (missing nodes at the extract's edge, broken
    multipolygons) are skipped, as every renderer does.
    """
    source = Path(source)
    if not source.is_file():
        raise OsmFileNotFound(f"no such file: {source}", details={"path": str(source)})
    factory = osmium.geom.WKBFactory()
    processor = (osmium.FileProcessor(str(source))
                 .with_locations()
                 .with_areas(osmium.filter.KeyFilter(*_KEYS))
                 .with_filter(osmium.filter.KeyFilter(*_KEYS)))
    try:
        for obj in processor:
            if obj.is_way():
                feature = _way_feature(obj, factory)
            elif obj.is_area():
                feature = _area_feature(obj, factory)
            else:
                continue
            if feature is not None:
                yield feature
    except RuntimeError as exc:  # libosmium's "unknown file format" and friends
        raise InvalidOsmFile(f"cannot read {source} as OSM: {exc}",
                             details={"path": str(source)}) from None


def _way_feature(way: osmium.osm.Way, factory: osmium.geom.WKBFactory) -> MapFeature | None:
    tags = _tags(way)
    name = tags.get("name") or None
    road = road_class(tags.get("highway"))
    if road is not None:
        wkb = _linestring(way, factory)
        if wkb is None:
            return None
        oneway, backwards = oneway_of(tags)
        if backwards:
            wkb = _reverse_linestring_wkb(wkb)
        return MapFeature(Layer.ROADS, way.id, road, name, oneway, road_rank(road), wkb)
    kind = waterway_line_kind(tags)
    if kind is not None:
        wkb = _linestring(way, factory)
        return None if wkb is None else MapFeature(Layer.WATER, way.id, kind, name, False, 0, wkb)
    return None


def _area_feature(area: osmium.osm.Area, factory: osmium.geom.WKBFactory) -> MapFeature | None:
    tags = _tags(area)
    if "highway" in tags:  # pedestrian squares and the like are drawn as their outline road
        return None
    layer, kind = Layer.WATER, water_area_kind(tags)
    if kind is None:
        layer, kind = Layer.PARKS, park_kind(tags)
    if kind is None:
        return None
    try:
        wkb = factory.create_multipolygon(area)
    except (RuntimeError, osmium.InvalidLocationError):
        return None
    return MapFeature(layer, area.orig_id(), kind, tags.get("name") or None, False, 0, wkb)


def _linestring(way: osmium.osm.Way, factory: osmium.geom.WKBFactory) -> str | None:
    try:
        return factory.create_linestring(way)
    except (RuntimeError, osmium.InvalidLocationError):
        return None
