"""Tables owned by geodata: service-area zones (WGS84) and the map features behind the vector
tiles (Web Mercator, SRID 3857, as the `_3857` column names say)."""

from __future__ import annotations

from datetime import datetime

from geoalchemy2 import Geography, Geometry
from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    Float,
    Integer,
    SmallInteger,
    String,
    Text,
    func,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = ["GeodataBase", "Zone", "MapNetwork", "MapRoad", "MapWater", "MapPark"]


class GeodataBase(DeclarativeBase):
    pass


class Zone(GeodataBase):
    __tablename__ = "zones"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    area = mapped_column(
        Geography(geometry_type="MULTIPOLYGON", srid=4326, spatial_index=False), nullable=False
    )
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class MapNetwork(GeodataBase):
    """One loaded network's map features; `generation` changes with every load."""

    __tablename__ = "map_networks"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    generation: Mapped[int] = mapped_column(BigInteger)
    source_sha256: Mapped[str] = mapped_column(String(64))
    loader_version: Mapped[int] = mapped_column(Integer)
    roads: Mapped[int] = mapped_column(Integer, default=0)
    water: Mapped[int] = mapped_column(Integer, default=0)
    parks: Mapped[int] = mapped_column(Integer, default=0)
    loaded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class MapRoad(GeodataBase):
    """A road, street or path for the map (Web Mercator, see `geom_3857`)."""

    __tablename__ = "map_roads"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    network: Mapped[str] = mapped_column(String(64))
    osm_id: Mapped[int] = mapped_column(BigInteger)
    road_class: Mapped[str] = mapped_column("class", String(16))
    rank: Mapped[int] = mapped_column(SmallInteger)
    name: Mapped[str | None] = mapped_column(Text)
    oneway: Mapped[bool] = mapped_column(Boolean, default=False)
    geom_3857 = mapped_column(
        Geometry(geometry_type="LINESTRING", srid=3857, spatial_index=False), nullable=False)


class MapWater(GeodataBase):
    """Water for the map: polygons (lakes, river areas) and lines (river centre lines)."""

    __tablename__ = "map_water"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    network: Mapped[str] = mapped_column(String(64))
    osm_id: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(24))
    name: Mapped[str | None] = mapped_column(Text)
    geom_3857 = mapped_column(
        Geometry(geometry_type="GEOMETRY", srid=3857, spatial_index=False), nullable=False)
    area_3857: Mapped[float] = mapped_column(Float, default=0.0)


class MapPark(GeodataBase):
    """Parks, grass and woods for the map."""

    __tablename__ = "map_parks"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    network: Mapped[str] = mapped_column(String(64))
    osm_id: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(24))
    name: Mapped[str | None] = mapped_column(Text)
    geom_3857 = mapped_column(
        Geometry(geometry_type="MULTIPOLYGON", srid=3857, spatial_index=False), nullable=False)
    area_3857: Mapped[float] = mapped_column(Float, default=0.0)
