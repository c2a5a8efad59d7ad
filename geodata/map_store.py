"""Loading a network's map features into PostGIS (`map_roads`, `map_water`, `map_parks`).

``courier geodata import|synth`` call :func:`load_map_features` after the OSRM build. The
load is one transaction: the features stream through ``COPY`` into a temporary staging table,
then the network's old rows are deleted and the new ones inserted (reprojected to Web
Mercator), and ``map_networks`` gets a new ``generation``. Readers see the old map or the new
one, never a mix, and a failure leaves the old one in place. Two loads of one name are
serialised by an advisory lock. Loading the same file again (same SHA-256, same loader
version) does nothing unless ``force`` is given.

Plain psycopg (synchronous), since the CLI is synchronous and ``COPY`` is the fast path.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import psycopg
from sqlalchemy.engine import make_url

from geodata.exceptions import GeodataError
from geodata.map_features import Layer, extract_features
from geodata.network_store import check_network_name
from geodata.osm_inspect import sha256_file

__all__ = ["LOADER_VERSION", "MapLoadResult", "MapStoreUnavailable", "load_map_features",
           "libpq_url"]

#: Bumped when the classification or the tables change, so the next import reloads.
LOADER_VERSION: Final = 1

Progress = Callable[[str], None]


class MapStoreUnavailable(GeodataError):
    """The database that keeps the map features cannot be reached or is not migrated."""

    code = "map_store_unavailable"


@dataclass(frozen=True)
class MapLoadResult:
    name: str
    roads: int
    water: int
    parks: int
    generation: int
    #: True when the same file was already loaded and nothing was done.
    unchanged: bool
    seconds: float


def libpq_url(database_url: str) -> str:
    """A SQLAlchemy URL (``postgresql+psycopg://...``) as psycopg wants it."""
    return make_url(database_url).set(drivername="postgresql").render_as_string(
        hide_password=False)


_STAGE_SQL = """
CREATE TEMPORARY TABLE map_stage (
    layer TEXT NOT NULL, osm_id BIGINT NOT NULL, kind TEXT NOT NULL, name TEXT,
    oneway BOOLEAN NOT NULL, rank SMALLINT NOT NULL, wkb BYTEA NOT NULL
) ON COMMIT DROP
"""

_REPLACE_SQL = (
    "DELETE FROM map_roads WHERE network = %(name)s",
    "DELETE FROM map_water WHERE network = %(name)s",
    "DELETE FROM map_parks WHERE network = %(name)s",
    """
    INSERT INTO map_roads (network, osm_id, class, rank, name, oneway, geom_3857)
    SELECT %(name)s, osm_id, kind, rank, name, oneway,
           ST_Transform(ST_GeomFromWKB(wkb, 4326), 3857)
    FROM map_stage WHERE layer = 'roads'
    """,
    """
    INSERT INTO map_water (network, osm_id, kind, name, geom_3857, area_3857)
    SELECT %(name)s, osm_id, kind, name, g, ST_Area(g)
    FROM (SELECT osm_id, kind, name, ST_Transform(ST_GeomFromWKB(wkb, 4326), 3857) AS g
          FROM map_stage WHERE layer = 'water') s
    """,
    """
    INSERT INTO map_parks (network, osm_id, kind, name, geom_3857, area_3857)
    SELECT %(name)s, osm_id, kind, name, g, ST_Area(g)
    FROM (SELECT osm_id, kind, name, ST_Multi(ST_Transform(ST_GeomFromWKB(wkb, 4326), 3857)) AS g
          FROM map_stage WHERE layer = 'parks') s
    """,
)

_UPSERT_SQL = """
INSERT INTO map_networks (name, source_sha256, loader_version, roads, water, parks, loaded_at)
VALUES (%(name)s, %(sha)s, %(version)s, %(roads)s, %(water)s, %(parks)s, now())
ON CONFLICT (name) DO UPDATE SET
    generation = nextval('map_generation_seq'), source_sha256 = EXCLUDED.source_sha256,
    loader_version = EXCLUDED.loader_version, roads = EXCLUDED.roads, water = EXCLUDED.water,
    parks = EXCLUDED.parks, loaded_at = EXCLUDED.loaded_at
RETURNING generation
"""


def load_map_features(source: Path, *, name: str, database_url: str, force: bool = False,
                      progress: Progress | None = None) -> MapLoadResult:
    """Replace network ``name``'s roads, water and parks with those of ``source``."""
    started = time.perf_counter()
    say = progress or (lambda _msg: None)
    check_network_name(name)
    source = Path(source)
    sha = sha256_file(source) if source.is_file() else ""
    try:
        conn = psycopg.connect(libpq_url(database_url))
    except psycopg.OperationalError as exc:
        raise MapStoreUnavailable(f"cannot reach the database for the map features: {exc}",
                                  details={"network": name}) from None
    with conn:
        try:
            with conn.transaction():
                # One loader per name at a time; a second one waits, then sees the first's rows.
                conn.execute("SELECT pg_advisory_xact_lock(hashtext('map-features:' || %s))",
                             (name,))
                row = conn.execute("SELECT source_sha256, loader_version, roads, water, parks, "
                                   "generation FROM map_networks WHERE name = %s",
                                   (name,)).fetchone()
                if (row is not None and not force and row[0] == sha
                        and row[1] == LOADER_VERSION):
                    say(f"map features of {name!r} are up to date")
                    return MapLoadResult(name, row[2], row[3], row[4], row[5], True,
                                         time.perf_counter() - started)
                say(f"map features: reading {source}")
                conn.execute(_STAGE_SQL)
                counts: Counter[str] = Counter()
                with conn.cursor().copy(
                        "COPY map_stage (layer, osm_id, kind, name, oneway, rank, wkb) "
                        "FROM STDIN") as copy:
                    for feature in extract_features(source):
                        copy.write_row((feature.layer.value, feature.osm_id, feature.kind,
                                        feature.name, feature.oneway, feature.rank,
                                        bytes.fromhex(feature.wkb_hex)))
                        counts[feature.layer] += 1
                say(f"map features: {counts[Layer.ROADS]} roads, {counts[Layer.WATER]} water, "
                    f"{counts[Layer.PARKS]} parks read; replacing {name!r}")
                params = {"name": name}
                for statement in _REPLACE_SQL:
                    conn.execute(statement, params)
                generation = conn.execute(_UPSERT_SQL, {
                    "name": name, "sha": sha, "version": LOADER_VERSION,
                    "roads": counts[Layer.ROADS], "water": counts[Layer.WATER],
                    "parks": counts[Layer.PARKS]}).fetchone()[0]
        except psycopg.errors.UndefinedTable as exc:
            raise MapStoreUnavailable(
                "the map tables are missing: run `courier db upgrade` first",
                details={"network": name, "error": str(exc).splitlines()[0]}) from None
        except psycopg.OperationalError as exc:
            raise MapStoreUnavailable(f"the database failed while loading the map: {exc}",
                                      details={"network": name}) from None
    seconds = time.perf_counter() - started
    say(f"map features of {name!r} loaded in {seconds:.1f} s (generation {generation})")
    return MapLoadResult(name, counts[Layer.ROADS], counts[Layer.WATER], counts[Layer.PARKS],
                         int(generation), False, seconds)
