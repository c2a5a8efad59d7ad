"""Map feature classification, tile addresses, generalisation rules and the tile cache: pure."""

from __future__ import annotations

import asyncio

import pytest

from geodata.map_features import (
    ROAD_CLASSES,
    _reverse_linestring_wkb,
    oneway_of,
    park_kind,
    road_class,
    road_rank,
    water_area_kind,
    waterway_line_kind,
)
from geodata.map_tiles import InvalidTile, TileAddress, TileCache, generalisation


@pytest.mark.parametrize(("highway", "expected"), [
    ("motorway", "motorway"), ("motorway_link", "motorway"), ("trunk_link", "trunk"),
    ("primary", "primary"), ("secondary_link", "secondary"), ("tertiary", "tertiary"),
    ("residential", "residential"), ("unclassified", "residential"),
    ("living_street", "residential"), ("service", "service"), ("footway", "path"),
    ("cycleway", "path"), ("pedestrian", "path"), ("steps", "path"), ("track", "path"),
    ("construction", None), ("proposed", None), ("platform", None), ("service_link", None),
    (None, None), ("", None),
])
def test_road_classes(highway, expected):
    assert road_class(highway) == expected


def test_ranks_follow_importance():
    assert [road_rank(c) for c in ROAD_CLASSES] == list(range(1, 9))


@pytest.mark.parametrize(("tags", "expected"), [
    ({"highway": "residential", "oneway": "yes"}, (True, False)),
    ({"highway": "residential", "oneway": "1"}, (True, False)),
    ({"highway": "residential", "oneway": "-1"}, (True, True)),
    ({"highway": "residential"}, (False, False)),
    ({"highway": "motorway"}, (True, False)),
    ({"highway": "motorway", "oneway": "no"}, (False, False)),
    ({"highway": "primary", "junction": "roundabout"}, (True, False)),
])
def test_oneway(tags, expected):
    assert oneway_of(tags) == expected


def test_water_and_park_kinds():
    assert water_area_kind({"natural": "water", "water": "river"}) == "river"
    assert water_area_kind({"natural": "water", "water": "pond"}) == "lake"
    assert water_area_kind({"natural": "water"}) == "water"
    assert water_area_kind({"waterway": "riverbank"}) == "river"
    assert water_area_kind({"landuse": "reservoir"}) == "lake"
    assert water_area_kind({"landuse": "grass"}) is None
    assert waterway_line_kind({"waterway": "canal"}) == "canal"
    assert waterway_line_kind({"waterway": "riverbank"}) is None
    assert park_kind({"leisure": "park"}) == "park"
    assert park_kind({"natural": "wood"}) == "forest"
    assert park_kind({"landuse": "grass"}) == "grass"
    assert park_kind({"landuse": "residential"}) is None


def test_reversing_a_linestring_keeps_its_points():
    import struct

    points = [(1.0, 2.0), (3.0, 4.0), (5.0, 6.0)]
    wkb = struct.pack("<BII", 1, 2, 3) + b"".join(struct.pack("<dd", *p) for p in points)
    reversed_wkb = bytes.fromhex(_reverse_linestring_wkb(wkb.hex()))
    assert reversed_wkb[:9] == wkb[:9]
    got = [struct.unpack("<dd", reversed_wkb[9 + 16 * i: 25 + 16 * i]) for i in range(3)]
    assert got == points[::-1]


@pytest.mark.parametrize(("z", "x", "y"), [(-1, 0, 0), (23, 0, 0), (0, 1, 0), (3, 0, 8),
                                           (3, -1, 0)])
def test_tile_addresses_out_of_range(z, x, y):
    with pytest.raises(InvalidTile):
        TileAddress.checked(z, x, y)


def test_generalisation_by_zoom():
    assert generalisation(TileAddress(11, 0, 0)).max_road_rank == 3
    assert generalisation(TileAddress(11, 0, 0)).simplify_m > 0
    assert generalisation(TileAddress(12, 0, 0)).max_road_rank == 5
    assert generalisation(TileAddress(13, 0, 0)).max_road_rank == 5
    assert generalisation(TileAddress(14, 0, 0)).max_road_rank == 8
    assert generalisation(TileAddress(16, 0, 0)).simplify_m == 0


def test_tile_cache_is_bounded_in_bytes_and_renders_once():
    cache = TileCache(max_bytes=10)
    cache.put(("v", 0, 0, 0), b"12345")
    cache.put(("v", 0, 0, 1), b"12345")
    assert cache.get(("v", 0, 0, 0)) == b"12345"  # now the most recently used
    cache.put(("v", 0, 0, 2), b"123")
    assert cache.get(("v", 0, 0, 1)) is None and cache.size_bytes == 8

    renders = 0

    async def render() -> bytes:
        nonlocal renders
        renders += 1
        await asyncio.sleep(0.01)
        return b"tile"

    async def many():
        return await asyncio.gather(*(cache.get_or_render(("v", 1, 0, 0), render)
                                      for _ in range(5)))

    results = asyncio.run(many())
    assert renders == 1
    assert [tile for tile, _ in results] == [b"tile"] * 5
    assert sum(not cached for _, cached in results) == 1
