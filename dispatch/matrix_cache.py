"""Travel matrices reused across planning cycles: only new places are routed.

From one cycle to the next most places stay the same (open orders' pickups and dropoffs); what
changes is a few new orders and the couriers who moved. Computing the whole many-to-many
matrix again each cycle would spend most of the cycle's budget on answers already known, so the
cache keeps the last matrix per profile and asks the road network only for the rows and
columns of places it has not seen (two rectangular table queries). Places no longer needed are
dropped with each cycle, so the cache never outgrows the live state.

Not thread safe: one cycle at a time (the planner's cycle lock guarantees it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

__all__ = ["RectMatrixSource", "MatrixCache"]

Place = tuple[float, float]


class RectMatrixSource(Protocol):
    def matrix(self, profile: str, sources: Sequence[Place], destinations: Sequence[Place]
               ) -> tuple[np.ndarray, np.ndarray]:
        """`(durations_s, distances_m)` from every source to every destination (NaN: no path)."""
        ...

    @property
    def generation(self) -> object:
        """Changes when the road network behind the source changes (the cache then empties)."""
        ...


@dataclass
class _Entry:
    index: dict[Place, int]
    durations_s: np.ndarray
    distances_m: np.ndarray


class MatrixCache:
    """A square-matrix `MatrixSource` for the planner over a rectangular one.

    When more than `recompute_share` of the places are new, one full query is cheaper than two
    rectangular ones and is made instead.
    """

    def __init__(self, source: RectMatrixSource, *, recompute_share: float = 0.5) -> None:
        self.source = source
        self.recompute_share = recompute_share
        self._entries: dict[str, _Entry] = {}
        self.stats = {"full": 0, "incremental": 0, "new_places": 0}
        self._generation: object = None

    def clear(self) -> None:
        self._entries.clear()

    def matrix(self, profile: str, points: Sequence[Place]) -> tuple[np.ndarray, np.ndarray]:
        generation = getattr(self.source, "generation", None)
        if generation is not self._generation:
            self._entries.clear()
            self._generation = generation
        places = list(dict.fromkeys(points))
        if len(places) != len(points):
            raise ValueError("places must be distinct")
        entry = self._entries.get(profile)
        known = [p for p in places if entry is not None and p in entry.index]
        missing = [p for p in places if entry is None or p not in entry.index]
        if entry is None or len(missing) > self.recompute_share * len(places):
            durations, distances = self.source.matrix(profile, places, places)
            self.stats["full"] += 1
        else:
            n = len(places)
            pos = {p: i for i, p in enumerate(places)}
            durations, distances = np.empty((n, n)), np.empty((n, n))
            kpos = np.array([pos[p] for p in known], dtype=np.int64)
            kold = np.array([entry.index[p] for p in known], dtype=np.int64)
            durations[np.ix_(kpos, kpos)] = entry.durations_s[np.ix_(kold, kold)]
            distances[np.ix_(kpos, kpos)] = entry.distances_m[np.ix_(kold, kold)]
            if missing:
                mpos = np.array([pos[p] for p in missing], dtype=np.int64)
                rows_d, rows_m = self.source.matrix(profile, missing, places)
                durations[mpos, :], distances[mpos, :] = rows_d, rows_m
                if known:
                    cols_d, cols_m = self.source.matrix(profile, known, missing)
                    durations[np.ix_(kpos, mpos)] = cols_d
                    distances[np.ix_(kpos, mpos)] = cols_m
            self.stats["incremental"] += 1
            self.stats["new_places"] += len(missing)
        self._entries[profile] = _Entry({p: i for i, p in enumerate(places)}, durations,
                                        distances)
        return durations.copy(), distances.copy()
