"""The matrix cache routes only new places and answers exactly what a full query would."""

from __future__ import annotations

import numpy as np

from dispatch.matrix_cache import MatrixCache
from geodata.straight_line import StraightLineModel


class CountingSource:
    def __init__(self) -> None:
        self.model = StraightLineModel.for_profile("bicycle")
        self.cells = 0
        self.generation = "network-1"

    def matrix(self, profile, sources, destinations):
        self.cells += len(sources) * len(destinations)
        m = self.model.matrix(list(sources), list(destinations))
        return m.durations_s, m.distances_m


def _places(n: int, offset: float = 0.0):
    return [(41.15 + 0.001 * i + offset, -8.61 + 0.0007 * i) for i in range(n)]


def test_incremental_answers_equal_a_full_query():
    source = CountingSource()
    cache = MatrixCache(source)
    first = _places(40)
    cache.matrix("bicycle", first)
    assert source.cells == 40 * 40
    second = first[5:] + _places(4, offset=0.5)  # 5 places gone, 4 new, order shuffled
    second = second[::-1]
    source.cells = 0
    durations, distances = cache.matrix("bicycle", second)
    assert source.cells == 4 * 39 + 35 * 4  # rows of the new places, columns into them
    full = source.model.matrix(second)
    np.testing.assert_allclose(durations, full.durations_s)
    np.testing.assert_allclose(distances, full.distances_m)
    assert cache.stats["incremental"] == 1 and cache.stats["new_places"] == 4


def test_many_new_places_or_a_new_network_recompute_everything():
    source = CountingSource()
    cache = MatrixCache(source)
    cache.matrix("bicycle", _places(10))
    source.cells = 0
    cache.matrix("bicycle", _places(10, offset=1.0))
    assert source.cells == 100 and cache.stats["full"] == 2
    source.generation = "network-2"
    source.cells = 0
    cache.matrix("bicycle", _places(10, offset=1.0))
    assert source.cells == 100
