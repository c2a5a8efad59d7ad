"""A believable synthetic city, as pure data: streets, a river, bridges, a pedestrian core.

No I/O here -- :func:`generate_city` returns nodes and ways; :mod:`geodata.synth_osm`
writes them as OSM and imports them. Everything comes from one ``numpy`` generator seeded
by ``seed``, and iteration orders are fixed, so the same arguments give the same city
(and the same bytes on disk).

The layout, in a local plane (x east, y north, metres, centred on ``center``):

* a **street grid** with irregular block sizes (90-150 m), jittered intersections and
  ~8 % of residential blocks merged (segments dropped), so routes are not all equal;
* **arterials** every sixth line (``highway=primary``, ``maxspeed=60``), ``tertiary``
  collectors between them and a ``secondary`` ring on the edge -- the stock OSRM car
  profile drives these faster than ``residential`` (25 km/h); traffic signals where two
  of them cross;
* **one-way streets**: every fourth residential line, directions alternating;
* a **river** meandering north-south east of the centre, crossed only by three bridges
  on arterials and one footbridge (``highway=footway``) -- other streets end at the bank;
* a **pedestrian core** around the centre (``highway=pedestrian`` / ``footway``): foot
  and bicycles (pushed) pass, cars go around.

A final repair pass keeps only what is reachable: the car graph is made strongly
connected (a one-way segment leaving it becomes two-way, unreachable leftovers are
removed) and the all-ways graph is one component, so every point is reachable from every
other point by every profile.
"""

from __future__ import annotations

import math
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

import numpy as np

from geodata.exceptions import InvalidInput

__all__ = [
    "DEFAULT_CENTER",
    "DEFAULT_SEED",
    "DEFAULT_SIZE_KM",
    "GENERATOR_VERSION",
    "SynthNode",
    "SynthWay",
    "SynthCity",
    "generate_city",
]

#: Tashkent, (lat, lon).
DEFAULT_CENTER: Final[tuple[float, float]] = (41.311, 69.279)
DEFAULT_SIZE_KM: Final = 4.0
DEFAULT_SEED: Final = 1
#: Bump whenever the layout changes, so stored synthetic networks are regenerated.
GENERATOR_VERSION: Final = 2

_EARTH_RADIUS_M: Final = 6_371_008.8
_BLOCK_MIN_M, _BLOCK_MAX_M = 90.0, 150.0
_JITTER_M: Final = 12.0
_DROP_SHARE: Final = 0.08
_RIVER_WIDTH_M: Final = 70.0
_RIVER_CLEARANCE_M: Final = 12.0
_CAR_CLASSES: Final = frozenset({"primary", "secondary", "tertiary", "residential"})


@dataclass(frozen=True)
class SynthNode:
    id: int
    lat: float
    lon: float
    tags: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class SynthWay:
    id: int
    node_ids: tuple[int, ...]
    tags: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class SynthCity:
    """The generated city: OSM-ready nodes and ways, plus facts tests can check."""

    nodes: tuple[SynthNode, ...]
    ways: tuple[SynthWay, ...]
    center: tuple[float, float]
    size_km: float
    seed: int
    stats: dict[str, int] = field(default_factory=dict)


@dataclass
class _Segment:
    a: tuple[int, int]  # grid key of the start intersection
    b: tuple[int, int]
    line: tuple[str, int]  # ("h", j) or ("v", i): the street it belongs to
    highway: str
    oneway: int = 0  # 0 two-way, +1 a->b, -1 b->a
    bridge: bool = False
    name: str = ""


def generate_city(
    *,
    size_km: float = DEFAULT_SIZE_KM,
    seed: int = DEFAULT_SEED,
    center: tuple[float, float] = DEFAULT_CENTER,
) -> SynthCity:
    """Generate the city (see the module docstring); ``center`` is ``(lat, lon)``."""
    if not 0.5 <= size_km <= 30:
        raise InvalidInput(
            f"size_km must be between 0.5 and 30, not {size_km}", details={"size_km": size_km}
        )
    rng = np.random.default_rng(seed)
    half_m = size_km * 500.0
    xs = _line_positions(rng, half_m)
    ys = _line_positions(rng, half_m)
    nx, ny = len(xs), len(ys)

    def line_class(index: int, count: int) -> str:
        if index in (0, count - 1):
            return "secondary"
        if index % 6 == 3:
            return "primary"
        if index % 6 == 0:
            return "tertiary"
        return "residential"

    v_class = [line_class(i, nx) for i in range(nx)]
    h_class = [line_class(j, ny) for j in range(ny)]

    # Intersections, jittered across residential lines only (arterials stay straight).
    pos: dict[tuple[int, int], tuple[float, float]] = {}
    for i in range(nx):
        for j in range(ny):
            jx, jy = rng.uniform(-_JITTER_M, _JITTER_M, size=2)
            x = xs[i] + (jx if v_class[i] == "residential" else 0.0)
            y = ys[j] + (jy if h_class[j] == "residential" else 0.0)
            pos[(i, j)] = (x, y)

    # The river: a meander east of the centre, x = f(y).
    river_x0 = half_m * 0.35
    amplitude = min(150.0, half_m * 0.1)
    wavelength = half_m * 1.3
    phase = float(rng.uniform(0, 2 * math.pi))

    def river_x(y: float) -> float:
        return river_x0 + amplitude * math.sin(2 * math.pi * y / wavelength + phase)

    def in_river(x: float, y: float) -> bool:
        return abs(x - river_x(y)) < _RIVER_WIDTH_M / 2 + _RIVER_CLEARANCE_M

    # Bridges: three arterial rows spread north-south, plus a footbridge near the centre.
    arterial_rows = [j for j in range(ny) if h_class[j] == "primary"]
    picks = np.linspace(0, len(arterial_rows) - 1, num=min(3, len(arterial_rows)))
    bridge_rows = {arterial_rows[int(round(p))] for p in picks} if arterial_rows else set()
    residential_rows = [
        j for j in range(ny) if h_class[j] == "residential" and j not in bridge_rows
    ]
    centre_row = min(residential_rows, key=lambda j: abs(ys[j])) if residential_rows else None
    footbridge_rows = {centre_row} if centre_row is not None else set()

    core_half_m = min(350.0, half_m * 0.2)

    def in_core(key: tuple[int, int]) -> bool:
        x, y = pos[key]
        return abs(x) <= core_half_m and abs(y) <= core_half_m

    # Segments along every line, before the river and the repairs.
    segments: list[_Segment] = []
    for j in range(ny):
        for i in range(nx - 1):
            segments.append(_Segment((i, j), (i + 1, j), ("h", j), h_class[j]))
    for i in range(nx):
        for j in range(ny - 1):
            segments.append(_Segment((i, j), (i, j + 1), ("v", i), v_class[i]))

    oneway_lines = {
        (kind, k): (1 if (k // 4) % 2 == 0 else -1)
        for kind, classes in (("h", h_class), ("v", v_class))
        for k, cls in enumerate(classes)
        if cls == "residential" and k % 4 == 2
    }

    kept: list[_Segment] = []
    dropped = 0
    for seg in segments:
        (ax, ay), (bx, by) = pos[seg.a], pos[seg.b]
        row = seg.line[1] if seg.line[0] == "h" else None
        crosses = seg.line[0] == "h" and _spans_river(ax, bx, (ay + by) / 2, river_x)
        touches = in_river(ax, ay) or in_river(bx, by)
        if crosses or touches:
            if row in bridge_rows:
                seg.bridge = crosses or touches
            elif row in footbridge_rows:
                seg.bridge = True
                seg.highway = "footway"
            else:
                continue  # streets end at the bank
        if seg.line in oneway_lines and not seg.bridge:
            seg.oneway = oneway_lines[seg.line]
        if in_core(seg.a) and in_core(seg.b):
            seg.highway = "footway" if rng.random() < 0.25 else "pedestrian"
            seg.oneway = 0
        elif (
            seg.highway == "residential"
            and not seg.oneway
            and not seg.bridge
            and rng.random() < _DROP_SHARE
        ):
            dropped += 1
            continue
        kept.append(seg)

    # Nodes inside the river band survive only as bridge nodes.
    bridge_keys = {k for s in kept if s.bridge for k in (s.a, s.b)}
    kept = [
        s
        for s in kept
        if s.bridge or not any(in_river(*pos[k]) and k not in bridge_keys for k in (s.a, s.b))
    ]
    kept = [s for s in kept if s.bridge or not (in_river(*pos[s.a]) or in_river(*pos[s.b]))]

    kept, repaired = _repair_connectivity(kept)

    for seg in kept:
        kind, k = seg.line
        seg.name = _street_name(kind, k, seg.highway)

    return _to_osm(
        kept,
        pos,
        center=center,
        size_km=size_km,
        seed=seed,
        river=(river_x, half_m),
        stats={
            "grid_lines": nx + ny,
            "segments": len(kept),
            "dropped_segments": dropped,
            "oneway_segments": sum(1 for s in kept if s.oneway),
            "bridges": len({s.line for s in kept if s.bridge}),
            "pedestrian_segments": sum(1 for s in kept if s.highway in ("pedestrian", "footway")),
            "repaired_oneways": repaired,
        },
    )


def _line_positions(rng: np.random.Generator, half_m: float) -> list[float]:
    positions = [-half_m]
    while True:
        nxt = positions[-1] + float(rng.uniform(_BLOCK_MIN_M, _BLOCK_MAX_M))
        if nxt > half_m:
            break
        positions.append(nxt)
    return positions


def _spans_river(xa: float, xb: float, y: float, river_x: Callable[[float], float]) -> bool:
    lo, hi = min(xa, xb), max(xa, xb)
    centre = river_x(y)
    return lo < centre + _RIVER_WIDTH_M / 2 and hi > centre - _RIVER_WIDTH_M / 2


def _repair_connectivity(segments: list[_Segment]) -> tuple[list[_Segment], int]:
    """Make the car graph strongly connected and the whole graph one component."""
    repaired = 0
    for _ in range(10):
        car = [s for s in segments if s.highway in _CAR_CLASSES]
        if not car:
            break
        forward: dict[tuple[int, int], list[tuple[int, int]]] = defaultdict(list)
        backward: dict[tuple[int, int], list[tuple[int, int]]] = defaultdict(list)
        for s in car:
            if s.oneway >= 0:
                forward[s.a].append(s.b)
                backward[s.b].append(s.a)
            if s.oneway <= 0:
                forward[s.b].append(s.a)
                backward[s.a].append(s.b)
        root = _largest_undirected_component_root(car)
        strong = _reach(root, forward) & _reach(root, backward)
        leaking = [s for s in car if s.oneway and not (s.a in strong and s.b in strong)]
        if not leaking:
            break
        for s in leaking:
            s.oneway = 0
            repaired += 1
    # Car segments still outside the strong component, then all-ways leftovers, go.
    car = [s for s in segments if s.highway in _CAR_CLASSES]
    if car:
        adjacency: dict[tuple[int, int], list[tuple[int, int]]] = defaultdict(list)
        for s in car:
            adjacency[s.a].append(s.b)
            adjacency[s.b].append(s.a)
        main = _reach(_largest_undirected_component_root(car), adjacency)
        segments = [s for s in segments if s.highway not in _CAR_CLASSES or s.a in main]
    adjacency = defaultdict(list)
    for s in segments:
        adjacency[s.a].append(s.b)
        adjacency[s.b].append(s.a)
    main = _reach(_largest_undirected_component_root(segments), adjacency)
    return [s for s in segments if s.a in main], repaired


def _largest_undirected_component_root(segments: list[_Segment]) -> tuple[int, int]:
    adjacency: dict[tuple[int, int], list[tuple[int, int]]] = defaultdict(list)
    for s in segments:
        adjacency[s.a].append(s.b)
        adjacency[s.b].append(s.a)
    seen: set[tuple[int, int]] = set()
    best_root, best_size = segments[0].a, 0
    for node in sorted(adjacency):
        if node in seen:
            continue
        component = _reach(node, adjacency)
        seen |= component
        if len(component) > best_size:
            best_root, best_size = node, len(component)
    return best_root


def _reach(
    root: tuple[int, int], adjacency: dict[tuple[int, int], list[tuple[int, int]]]
) -> set[tuple[int, int]]:
    seen = {root}
    queue = deque([root])
    while queue:
        for nxt in adjacency.get(queue.popleft(), ()):
            if nxt not in seen:
                seen.add(nxt)
                queue.append(nxt)
    return seen


_ORDINAL_SUFFIX = {1: "st", 2: "nd", 3: "rd"}


def _street_name(kind: str, index: int, highway: str) -> str:
    n = index + 1
    suffix = "th" if 10 <= n % 100 <= 20 else _ORDINAL_SUFFIX.get(n % 10, "th")
    if highway in ("pedestrian", "footway"):
        return f"{n}{suffix} {'Walk' if kind == 'h' else 'Passage'}"
    if highway == "secondary":
        return "Ring Road"
    return f"{n}{suffix} {'Street' if kind == 'h' else 'Avenue'}"


def _to_osm(
    segments: list[_Segment],
    pos: dict[tuple[int, int], tuple[float, float]],
    *,
    center: tuple[float, float],
    size_km: float,
    seed: int,
    river: tuple[Callable[[float], float], float],
    stats: dict[str, int],
) -> SynthCity:
    lat0, lon0 = center
    cos_lat0 = math.cos(math.radians(lat0))

    def to_latlon(x: float, y: float) -> tuple[float, float]:
        lat = lat0 + math.degrees(y / _EARTH_RADIUS_M)
        lon = lon0 + math.degrees(x / (_EARTH_RADIUS_M * cos_lat0))
        return round(lat, 7), round(lon, 7)

    # Traffic signals where two main roads (primary/secondary/tertiary) cross.
    main_roads = {"primary", "secondary", "tertiary"}
    main_directions_at: dict[tuple[int, int], set[str]] = defaultdict(set)
    for s in segments:
        if s.highway in main_roads:
            for k in (s.a, s.b):
                main_directions_at[k].add(s.line[0])

    used = sorted({k for s in segments for k in (s.a, s.b)})
    node_id = {key: n + 1 for n, key in enumerate(used)}
    nodes = []
    for key in used:
        lat, lon = to_latlon(*pos[key])
        tags: tuple[tuple[str, str], ...] = ()
        if main_directions_at[key] == {"h", "v"}:
            tags = (("highway", "traffic_signals"),)
        nodes.append(SynthNode(node_id[key], lat, lon, tags))

    # Merge consecutive segments of a line with identical tags into one way.
    ways: list[SynthWay] = []
    by_line: dict[tuple[str, int], list[_Segment]] = defaultdict(list)
    for s in segments:
        by_line[s.line].append(s)
    next_way = 1
    for line in sorted(by_line):
        run: list[_Segment] = []
        for s in sorted(by_line[line], key=lambda s: s.a):
            if run and (run[-1].b != s.a or _way_tags(run[-1]) != _way_tags(s)):
                ways.append(_make_way(next_way, run, node_id))
                next_way += 1
                run = []
            run.append(s)
        if run:
            ways.append(_make_way(next_way, run, node_id))
            next_way += 1

    # The river as an area (for maps) and a centre line; no roads use these nodes.
    river_x, half_m = river
    ys = np.linspace(-half_m - 50, half_m + 50, 60)
    next_node = len(nodes) + 1
    centre_ids, west_ids, east_ids = [], [], []
    for y in ys:
        for offset, bucket in (
            (0.0, centre_ids),
            (-_RIVER_WIDTH_M / 2, west_ids),
            (_RIVER_WIDTH_M / 2, east_ids),
        ):
            lat, lon = to_latlon(river_x(float(y)) + offset, float(y))
            nodes.append(SynthNode(next_node, lat, lon))
            bucket.append(next_node)
            next_node += 1
    ways.append(
        SynthWay(next_way, tuple(centre_ids), (("name", "Synth River"), ("waterway", "river")))
    )
    ring = tuple(west_ids + east_ids[::-1] + west_ids[:1])
    ways.append(
        SynthWay(
            next_way + 1, ring, (("name", "Synth River"), ("natural", "water"), ("water", "river"))
        )
    )
    return SynthCity(tuple(nodes), tuple(ways), center, size_km, seed, stats)


def _way_tags(s: _Segment) -> tuple[tuple[str, str], ...]:
    tags = [("highway", s.highway), ("name", s.name)]
    if s.highway == "primary":
        tags += [("maxspeed", "60"), ("lanes", "4")]
    elif s.highway == "secondary":
        tags += [("maxspeed", "50")]
    elif s.highway == "tertiary":
        tags += [("maxspeed", "40")]
    elif s.highway in ("pedestrian", "footway"):
        tags += [("surface", "paving_stones")]
    if s.highway in _CAR_CLASSES and s.highway != "residential":
        tags.append(("surface", "asphalt"))
    if s.oneway:
        tags.append(("oneway", "yes"))
    if s.bridge:
        tags += [("bridge", "yes"), ("layer", "1")]
    return tuple(sorted(tags))


def _make_way(way_id: int, run: list[_Segment], node_id: dict[tuple[int, int], int]) -> SynthWay:
    keys = [run[0].a] + [s.b for s in run]
    if run[0].oneway < 0:  # one-way against the grid direction: OSM order is travel order
        keys.reverse()
    return SynthWay(way_id, tuple(node_id[k] for k in keys), _way_tags(run[0]))
