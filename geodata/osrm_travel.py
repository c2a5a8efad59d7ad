"""Road travel costs from OSRM, run in process through ``osrm-bindings``.

One :class:`OsrmTravelModel` per (network, profile), built once per process and reused:
it owns one ``osrm.OSRM`` engine (data memory-mapped, so several worker processes share
the page cache). The engine is thread-safe, but the bindings hold the GIL during a query.

The matrix path is one ``Table`` call: input points are de-duplicated first (an order's
pickup at a busy depot appears once), the result rows are converted with
``np.fromiter`` (no per-pair Python objects beyond the bindings' own), and duplicates are
re-expanded with one fancy index. Measured figures are in BENCHMARKS.md.

Snapping: every query passes a search radius of ``max_snap_distance_m``, so OSRM never
"snaps" a point in the sea to a road 15 km away; such points raise
:class:`~geodata.exceptions.PointOffNetwork` listing every offending point. ``snap()``
results (hits and misses) are cached per process, keyed by the point at OSRM's own
precision (1e-6 degrees). OSRM's hint mechanism (handing a previous snap back to the
engine) is not used: osrm-bindings 26.10 returns all-zero hints, which OSRM rejects and
re-snaps anyway (measured), so the R-tree lookup happens inside each C++ call -- a few
microseconds per point, negligible next to the search.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

from geodata.exceptions import InvalidInput, NoRoute, PointOffNetwork
from geodata.heap import retain_freed_memory
from geodata.osrm_table_workers import TableWorkers
from geodata.points import LatLon, as_latlon_array
from geodata.travel_types import ModelKind, Route, RouteLeg, Snapped, TravelMatrix

__all__ = ["DEFAULT_MAX_SNAP_DISTANCE_M", "OsrmTravelModel"]

#: A courier stands on or near a street; 500 m covers large plazas, parks and malls.
DEFAULT_MAX_SNAP_DISTANCE_M: Final = 500.0
#: OSRM stores coordinates as fixed-point micro-degrees.
_OSRM_PRECISION_DEG: Final = 1e-6
_METRES_PER_DEGREE_LAT: Final = 111_320.0


class OsrmTravelModel:
    """:class:`~geodata.travel_types.TravelModel` backed by one OSRM dataset."""

    kind: ModelKind = "osrm"

    def __init__(
        self,
        osrm_path: Path,
        *,
        profile: str,
        algorithm: str = "ch",
        max_snap_distance_m: float = DEFAULT_MAX_SNAP_DISTANCE_M,
        bbox: tuple[float, float, float, float] | None = None,
        snap_cache_size: int = 100_000,
        matrix_workers: int = 0,
        parallel_min_pairs: int = 250_000,
    ) -> None:
        """Open the OSRM dataset at ``osrm_path`` (``.../<profile>/network.osrm``).

        ``matrix_workers > 0`` lets matrices of at least ``parallel_min_pairs`` pairs be
        split over that many extra processes (see :mod:`geodata.osrm_table_workers`);
        worth it only when spare cores exist.
        """
        import osrm  # the extension loads here, not when geodata is imported

        retain_freed_memory()  # big tables would otherwise re-fault their memory each time
        self._osrm = osrm
        self.profile = profile
        self.algorithm = algorithm.lower()
        self.osrm_path = Path(osrm_path)
        self.max_snap_distance_m = float(max_snap_distance_m)
        #: ``(min_lon, min_lat, max_lon, max_lat)`` of the network, for a cheap pre-check.
        self.bbox = bbox
        self._engine = osrm.OSRM(
            algorithm=self.algorithm.upper(),
            storage_config=str(self.osrm_path),
            use_shared_memory=False,
            use_mmap=True,
        )
        self._snap_cache: OrderedDict[tuple[float, float], Snapped | PointOffNetwork] = (
            OrderedDict()
        )
        self._snap_cache_size = snap_cache_size
        self._lock = threading.Lock()
        self.matrix_workers = matrix_workers
        self.parallel_min_pairs = parallel_min_pairs
        self._workers: TableWorkers | None = None

    def __repr__(self) -> str:
        return (
            f"OsrmTravelModel(profile={self.profile!r}, algorithm={self.algorithm!r}, "
            f"path={str(self.osrm_path)!r})"
        )

    # -- matrix -----------------------------------------------------------------------

    def matrix(
        self,
        sources: Sequence[LatLon] | NDArray[np.float64],
        destinations: Sequence[LatLon] | NDArray[np.float64] | None = None,
    ) -> TravelMatrix:
        """Durations (s) and distances (m), ``nan`` where unreachable; one OSRM Table call."""
        src = as_latlon_array(sources, role="sources")
        dst = src if destinations is None else as_latlon_array(destinations, role="destinations")
        n, m = len(src), len(dst)
        if n == 0 or m == 0:
            empty = np.empty((n, m), dtype=np.float64)
            return TravelMatrix(empty, empty.copy())

        # De-duplicate at OSRM precision: each distinct point is snapped and searched once.
        if destinations is None:  # square: check and report each point once
            given, roles = src, ["sources"] * n
        else:
            given, roles = np.vstack([src, dst]), ["sources"] * n + ["destinations"] * m
        self._precheck_bbox(given, roles)
        both = np.vstack([src, dst])
        both = np.round(both / _OSRM_PRECISION_DEG) * _OSRM_PRECISION_DEG
        unique, first, inverse = np.unique(both, axis=0, return_index=True, return_inverse=True)
        # Number the distinct points in order of first appearance, not sorted order, so
        # that without duplicates the result needs no re-indexing (no 2nd copy).
        order = np.argsort(first, kind="stable")
        rank = np.empty_like(order)
        rank[order] = np.arange(len(order))
        unique, inverse = unique[order], rank[inverse.reshape(-1)]
        src_unique = np.unique(inverse[:n])
        dst_unique = np.unique(inverse[n:])

        coordinates = [(lon, lat) for lat, lon in unique.tolist()]
        rows, cols = len(src_unique), len(dst_unique)
        if self.matrix_workers > 0 and rows * cols >= self.parallel_min_pairs:
            try:
                durations_s, distances_m = self._table_workers().table(
                    self._engine,
                    coordinates,
                    src_unique.tolist(),
                    dst_unique.tolist(),
                    self.max_snap_distance_m,
                )
            except RuntimeError as exc:
                raise self._translate(exc, given, roles) from None
        else:
            params = self._osrm.TableParameters(
                coordinates=coordinates,
                sources=src_unique.tolist(),
                destinations=dst_unique.tolist(),
                annotations=["duration", "distance"],
                radiuses=[self.max_snap_distance_m] * len(unique),
            )
            result = self._call("Table", params, given, roles)
            durations_s = _table_to_array(result["durations"], rows, cols)
            distances_m = _table_to_array(result["distances"], rows, cols)
            del result  # OSRM's JSON-like result is ~10x the arrays' size: free it now

        row_of = np.searchsorted(src_unique, inverse[:n])
        col_of = np.searchsorted(dst_unique, inverse[n:])
        # Back to the caller's shape where points repeated (identity otherwise: no copy).
        same_rows = rows == n and bool((row_of == np.arange(n)).all())
        same_cols = cols == m and bool((col_of == np.arange(m)).all())
        if not (same_rows and same_cols):
            index = np.ix_(row_of, col_of)
            durations_s, distances_m = durations_s[index], distances_m[index]
        return TravelMatrix(durations_s, distances_m)

    # -- route --------------------------------------------------------------------------

    def route(self, points: Sequence[LatLon]) -> Route:
        """Fastest path through ``points`` in order; GeoJSON geometry in ``[lon, lat]``."""
        pts = as_latlon_array(points, role="points")
        if len(pts) < 2:
            raise InvalidInput("a route needs at least two points", details={"points": len(pts)})
        roles = ["points"] * len(pts)
        self._precheck_bbox(pts, roles)
        params = self._osrm.RouteParameters(
            coordinates=[(lon, lat) for lat, lon in pts.tolist()],
            geometries="geojson",
            overview="full",
            radiuses=[self.max_snap_distance_m] * len(pts),
        )
        result = self._call("Route", params, pts, roles)
        best = result["routes"][0]
        legs = tuple(
            RouteLeg(float(leg["duration"]), float(leg["distance"])) for leg in best["legs"]
        )
        coordinates = [[float(lon), float(lat)] for lon, lat in best["geometry"]["coordinates"]]
        waypoints = tuple(
            LatLon(float(wp["location"][1]), float(wp["location"][0])) for wp in result["waypoints"]
        )
        return Route(legs, {"type": "LineString", "coordinates": coordinates}, waypoints)

    # -- snap ---------------------------------------------------------------------------

    def snap(self, point: LatLon) -> Snapped:
        """Nearest routable location within ``max_snap_distance_m`` (cached per point)."""
        lat, lon = as_latlon_array([point], role="point")[0]
        cached = self._snap_cached(float(lat), float(lon))
        if isinstance(cached, PointOffNetwork):
            raise PointOffNetwork(cached.message, details=cached.details)
        return cached

    def _snap_cached(self, lat: float, lon: float) -> Snapped | PointOffNetwork:
        """Snap result for a point, from the per-process LRU cache when seen before."""
        key = (round(lat, 6), round(lon, 6))
        with self._lock:
            cached = self._snap_cache.get(key)
            if cached is not None:
                self._snap_cache.move_to_end(key)
                return cached
        cached = self._nearest(key[0], key[1])
        with self._lock:
            self._snap_cache[key] = cached
            if len(self._snap_cache) > self._snap_cache_size:
                self._snap_cache.popitem(last=False)
        return cached

    def _nearest(self, lat: float, lon: float) -> Snapped | PointOffNetwork:
        params = self._osrm.NearestParameters(coordinates=[(lon, lat)])
        params.number_of_results = 1
        try:
            waypoint = self._engine.Nearest(params)["waypoints"][0]
        except RuntimeError as exc:  # empty dataset
            return _off_network([("point", 0, lat, lon, None)], self.max_snap_distance_m, str(exc))
        distance_m = float(waypoint["distance"])
        if distance_m > self.max_snap_distance_m:
            return _off_network([("point", 0, lat, lon, distance_m)], self.max_snap_distance_m)
        location = waypoint["location"]
        return Snapped(
            LatLon(float(location[1]), float(location[0])), distance_m, str(waypoint["name"])
        )

    # -- shared plumbing ------------------------------------------------------------------

    def _call(
        self, service: str, params: Any, points: NDArray[np.float64], roles: list[str]
    ) -> Any:
        """Run an OSRM service and turn its error codes into our exceptions."""
        try:
            return getattr(self._engine, service)(params)
        except RuntimeError as exc:
            raise self._translate(exc, points, roles) from None

    def _translate(
        self, exc: RuntimeError, points: NDArray[np.float64], roles: list[str]
    ) -> Exception:
        """OSRM reports errors as ``RuntimeError("<Code> - <message>")``."""
        text = str(exc)
        if text.startswith("NoSegment"):
            return self._off_network_error(points, roles)
        if text.startswith("NoRoute"):
            return NoRoute(
                "no path joins these points on the road network",
                details={"profile": self.profile},
            )
        return exc

    def _table_workers(self) -> TableWorkers:
        with self._lock:
            if self._workers is None:
                self._workers = TableWorkers(
                    str(self.osrm_path), self.algorithm, self.matrix_workers
                )
            return self._workers

    def close(self) -> None:
        """Stop matrix worker processes, if any were started."""
        with self._lock:
            if self._workers is not None:
                self._workers.close()
                self._workers = None

    def _off_network_error(self, points: NDArray[np.float64], roles: list[str]) -> PointOffNetwork:
        """Find every point without a road within the radius (slow path, errors only).

        Goes through the snap cache, so a caller that retries without the offenders (and
        snaps points to find them) pays for each Nearest lookup once.
        """
        offenders = []
        per_role_index: dict[str, int] = {}
        for (lat, lon), role in zip(points.tolist(), roles, strict=True):
            index = per_role_index.get(role, 0)
            per_role_index[role] = index + 1
            snapped = self._snap_cached(lat, lon)
            if isinstance(snapped, PointOffNetwork):
                offenders.append(
                    (role, index, lat, lon, snapped.details["points"][0]["distance_m"])
                )
        return _off_network(offenders, self.max_snap_distance_m)

    def _precheck_bbox(self, points: NDArray[np.float64], roles: list[str]) -> None:
        """Refuse points far outside the network's extent without touching OSRM."""
        if self.bbox is None:
            return
        min_lon, min_lat, max_lon, max_lat = self.bbox
        margin_lat = self.max_snap_distance_m / _METRES_PER_DEGREE_LAT
        cos_lat = max(0.01, float(np.cos(np.radians((min_lat + max_lat) / 2))))
        margin_lon = margin_lat / cos_lat
        lat, lon = points[:, 0], points[:, 1]
        outside = (
            (lat < min_lat - margin_lat)
            | (lat > max_lat + margin_lat)
            | (lon < min_lon - margin_lon)
            | (lon > max_lon + margin_lon)
        )
        if outside.any():
            counters: dict[str, int] = {}
            offenders = []
            for i, role in enumerate(roles):
                index = counters.get(role, 0)
                counters[role] = index + 1
                if outside[i]:
                    offenders.append((role, index, float(lat[i]), float(lon[i]), None))
            raise _off_network(offenders, self.max_snap_distance_m, "outside the network's extent")


def _table_to_array(table: Any, rows: int, cols: int) -> NDArray[np.float64]:
    """OSRM's nested Table result -> float64 array, ``null`` (unreachable) -> ``nan``."""
    out = np.empty((rows, cols), dtype=np.float64)
    for i, row in enumerate(table):
        try:
            out[i] = np.fromiter(row, dtype=np.float64, count=cols)
        except TypeError:  # a None in this row: no path to some destination
            out[i] = [np.nan if v is None else v for v in row]
    return out


def _off_network(
    offenders: list[tuple[str, int, float, float, float | None]],
    max_snap_distance_m: float,
    reason: str = "",
) -> PointOffNetwork:
    points = [
        {
            "role": role,
            "index": index,
            "lat": lat,
            "lon": lon,
            "distance_m": None if d is None else round(d, 1),
        }
        for role, index, lat, lon, d in offenders
    ]
    first = points[0] if points else {"role": "points", "index": 0}
    count = f" and {len(points) - 1} more" if len(points) > 1 else ""
    message = (
        f"{first['role']}[{first['index']}]{count} not within {max_snap_distance_m:.0f} m "
        f"of a road usable by this profile"
    )
    return PointOffNetwork(
        message + (f" ({reason})" if reason else ""),
        details={"points": points, "max_snap_distance_m": max_snap_distance_m},
    )
