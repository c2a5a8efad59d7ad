"""A quick, read-only look into an OSM file before spending minutes on OSRM.

Refusing bad input here gives a clear message (``invalid_osm_file``) instead of a
C++ stack trace from ``osrm-extract`` halfway through a build.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import osmium

from geodata.exceptions import InvalidOsmFile, OsmFileNotFound

__all__ = ["OSM_SUFFIXES", "OsmSummary", "inspect_osm", "sha256_file"]

#: Input formats osrm-extract reads.
OSM_SUFFIXES = (".osm.pbf", ".pbf", ".osm", ".osm.bz2")


@dataclass(frozen=True)
class OsmSummary:
    """What an OSM file holds, as far as routing cares."""

    highway_ways: int
    highway_nodes: int
    #: Extent of the highway nodes: ``(min_lon, min_lat, max_lon, max_lat)``.
    bbox: tuple[float, float, float, float]


def sha256_file(path: Path, *, chunk_bytes: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(chunk_bytes):
            digest.update(chunk)
    return digest.hexdigest()


def inspect_osm(path: Path) -> OsmSummary:
    """Read ``path`` once and summarise its ``highway=*`` ways.

    Raises :class:`OsmFileNotFound` for a missing path and :class:`InvalidOsmFile` for a
    file osmium cannot parse or one without a single highway (nothing to route on).
    """
    path = Path(path)
    if not path.is_file():
        raise OsmFileNotFound(f"OSM file not found: {path}", details={"path": str(path)})
    if not path.name.endswith(OSM_SUFFIXES):
        raise InvalidOsmFile(
            f"{path.name}: expected an OSM extract ({', '.join(OSM_SUFFIXES)})",
            details={"path": str(path)},
        )
    ways = 0
    lons: list[float] = []
    lats: list[float] = []
    try:
        processor = (
            osmium.FileProcessor(str(path), osmium.osm.NODE | osmium.osm.WAY)
            .with_locations()
            .with_filter(osmium.filter.KeyFilter("highway"))
            .with_filter(osmium.filter.EntityFilter(osmium.osm.WAY))
        )
        for way in processor:
            ways += 1
            for node in way.nodes:
                if node.location.valid():
                    lons.append(node.lon)
                    lats.append(node.lat)
    except (RuntimeError, ValueError, osmium.InvalidLocationError) as exc:
        raise InvalidOsmFile(
            f"{path.name} is not a readable OSM file: {exc}",
            details={"path": str(path), "reason": str(exc)},
        ) from exc
    if not lons:
        raise InvalidOsmFile(
            f"{path.name} contains no roads (no highway=* ways with node locations)",
            details={"path": str(path)},
        )
    return OsmSummary(
        highway_ways=ways,
        highway_nodes=len(lons),
        bbox=(min(lons), min(lats), max(lons), max(lats)),
    )
