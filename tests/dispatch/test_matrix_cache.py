"""The matrix cache routes only new places and answers exactly what a full query would.

The source is asymmetric, as real roads are (one-way streets, hills): a trip northwards costs
more than the trip back, so a cache that fills the known→new block with new→known answers
(or any block transposed) differs from a full query.
"""

from __future__ import annotations

import random

import numpy as np

from dispatch.matrix_cache import MatrixCache
from geodata.straight_line import StraightLineModel


class CountingSource:
    """Straight-line travel plus a one-way detour: going north costs extra time and distance."""

    def __init__(self) -> None:
        self.model = StraightLineModel.for_profile("bicycle")
        self.cells = 0
        self.generation = "network-1"

    def matrix(self, profile, sources, destinations):
        self.cells += len(sources) * len(destinations)
        return self.full(list(sources), list(destinations))

    def full(self, sources, destinations):
        m = self.model.matrix(list(sources), list(destinations))
        north = np.array([[max(0.0, d[0] - s[0]) for d in destinations] for s in sources])
        return m.durations_s + 5e4 * north + 7.0, m.distances_m + 3e5 * north


def _places(n: int, offset: float = 0.0):
    return [(41.15 + 0.001 * i + offset, -8.61 + 0.0007 * i) for i in range(n)]


def _assert_equals_a_full_query(source, cache_answer, places):
    durations, distances = cache_answer
    full_d, full_m = source.full(places, places)
    np.testing.assert_allclose(durations, full_d)
    np.testing.assert_allclose(distances, full_m)


def test_the_source_is_really_asymmetric():
    source = CountingSource()
    durations, distances = source.full(_places(3), _places(3))
    assert durations[0, 2] > durations[2, 0] + 100
    assert distances[0, 2] > distances[2, 0] + 100


def test_incremental_answers_equal_a_full_query():
    source = CountingSource()
    cache = MatrixCache(source)
    first = _places(40)
    cache.matrix("bicycle", first)
    assert source.cells == 40 * 40
    second = first[5:] + _places(4, offset=0.5)  # 5 places gone, 4 new, order shuffled
    second = second[::-1]
    source.cells = 0
    answer = cache.matrix("bicycle", second)
    assert source.cells == 4 * 39 + 35 * 4  # rows of the new places, columns into them
    _assert_equals_a_full_query(source, answer, second)
    assert cache.stats["incremental"] == 1 and cache.stats["new_places"] == 4


def test_every_cell_stays_exact_over_many_cycles_of_churn():
    source = CountingSource()
    cache = MatrixCache(source)
    rng = random.Random(7)
    pool = _places(60) + _places(60, offset=0.2)
    places = rng.sample(pool, 30)
    cache.matrix("bicycle", places)
    for _ in range(25):
        kept = rng.sample(places, len(places) - rng.randint(0, 4))
        fresh = [p for p in pool if p not in kept]
        places = kept + rng.sample(fresh, rng.randint(1, 5))
        rng.shuffle(places)
        _assert_equals_a_full_query(source, cache.matrix("bicycle", places), places)
    assert cache.stats["incremental"] == 25


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
