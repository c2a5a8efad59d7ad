"""Shorter routes for a fixed fleet of identical vehicles: ruin and recreate.

Why this exists: after guided ejection search (``routing.ejection``) has emptied routes, the
remaining ones carry the marks of its ejections and random moves, and OR-Tools' guided local
search, whose moves each shift one or two stops, takes minutes to straighten long routes of
class-2 Li & Lim instances (measured: lrc206 stayed 38 % above the best-known distance after
5 s). Large neighbourhood search in the manner of Ropke & Pisinger (2006) makes bigger
steps: take out a handful of shipments -- related ones (close to a random seed shipment) or
random ones -- put them back one by one at their cheapest feasible places, and keep the
result when it is no longer than the current plan. Everything stays feasible throughout.

It uses the compiled primitives of ``routing.ejection`` and the same plain-array instance.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
from numba import njit

from routing.ejection import (
    _INF,
    EjectionInstance,
    Pacer,
    _as_arrays,
    _as_lists,
    _fit,
    _insert,
    _route_cost,
    _seed,
    check_routes,
)

__all__ = ["shorten_routes"]


@njit(cache=True)
def _plan_cost(routes, lens, n_routes, net):
    total = 0
    for r in range(n_routes):
        if lens[r]:
            total += _route_cost(routes[r], lens[r], net)
    return total


@njit(cache=True)
def _recreate(routes, lens, n_routes, removed, k, regret, net, pairs, st, lz, ld):
    """Insert shipments ``removed[:k]`` at feasible places; False when one fits nowhere.

    With ``regret`` the next shipment is the one whose best place beats its best place in
    another route by most (one that fits in a single route goes first): it leaves the
    easy ones for last. Otherwise they go in the given order, each to its cheapest place.
    Best places per (shipment, route) are cached and only the changed route is re-scanned.
    Empty routes stay empty.
    """
    pickups, deliveries, _, _ = pairs
    best_d = np.full((k, n_routes), _INF, dtype=np.int64)
    best_i = np.full((k, n_routes), -1, dtype=np.int64)
    best_j = np.full((k, n_routes), -1, dtype=np.int64)
    pending = removed[:k].copy()
    for r in range(n_routes):
        if lens[r] == 0:
            continue
        for a in range(k):
            u = pending[a]
            best_d[a, r], best_i[a, r], best_j[a, r] = _fit(
                routes[r], lens[r], pickups[u], deliveries[u], net, st, lz, ld
            )
    left = k
    while left > 0:
        pick, pick_r = -1, -1
        top = -1.0
        for a in range(left if regret else 1):
            first, second, first_r = _INF, _INF, -1
            for r in range(n_routes):
                if best_i[a, r] < 0:
                    continue
                d = best_d[a, r]
                if d < first:
                    second, first, first_r = first, d, r
                elif d < second:
                    second = d
            if first_r < 0:
                return False
            score = 1e18 - first if second == _INF else float(second - first)
            if score > top:
                top, pick, pick_r = score, a, first_r
        u = pending[pick]
        i, j = best_i[pick, pick_r], best_j[pick, pick_r]
        _insert(routes, lens, pick_r, pickups[u], deliveries[u], i, j)
        # drop row ``pick``, keeping the order of the rest (cheapest-first relies on it)
        for a in range(pick, left - 1):
            pending[a] = pending[a + 1]
            best_d[a] = best_d[a + 1]
            best_i[a] = best_i[a + 1]
            best_j[a] = best_j[a + 1]
        left -= 1
        for a in range(left):
            u = pending[a]
            best_d[a, pick_r], best_i[a, pick_r], best_j[a, pick_r] = _fit(
                routes[pick_r], lens[pick_r], pickups[u], deliveries[u], net, st, lz, ld
            )
    return True


@njit(cache=True)
def _lns(
    routes,
    lens,
    n_routes,
    best_routes,
    best_lens,
    iterations,
    max_removed,
    deviation,
    regret_odds,
    net,
    pairs,
):
    """``iterations`` ruin-and-recreate steps from ``routes`` (the current plan, in place);
    the best plan seen is kept in ``best_routes``. Record-to-record travel: a plan is taken
    as the current one when it is within ``deviation`` (a fraction) of the best."""
    pickups, deliveries, pair_of, _ = pairs
    cost = net[1]
    n_pairs = len(pickups)
    width = routes.shape[1] + 2
    st = np.empty(width + 2, dtype=np.int64)
    lz = np.empty(width + 2, dtype=np.int64)
    ld = np.empty(width + 2, dtype=np.int64)
    tmp = np.empty(width, dtype=np.int64)
    removed = np.empty(n_pairs, dtype=np.int64)
    is_removed = np.zeros(n_pairs, dtype=np.bool_)
    related = np.empty(n_pairs, dtype=np.int64)
    saved = routes[:n_routes].copy()
    saved_lens = lens[:n_routes].copy()
    record = _plan_cost(best_routes, best_lens, n_routes, net)
    for _ in range(iterations):
        k = 2 + np.random.randint(max(1, max_removed - 1))
        if k > n_pairs:
            k = n_pairs
        # ruin: shipments related to a random seed (near its pickup and delivery), or random ones
        seed = np.random.randint(n_pairs)
        if np.random.random() < 0.7:
            ps, ds = pickups[seed], deliveries[seed]
            for u in range(n_pairs):
                related[u] = cost[ps, pickups[u]] + cost[ds, deliveries[u]]
            order = np.argsort(related)
            # a little noise: pick k among the 2k most related
            take = min(n_pairs, 2 * k)
            chosen = order[:take].copy()
            np.random.shuffle(chosen)
            removed[:k] = chosen[:k]
            if not np.any(chosen[:k] == seed):
                removed[0] = seed
        else:
            perm = np.random.permutation(n_pairs)
            removed[:k] = perm[:k]
        for a in range(k):
            is_removed[removed[a]] = True
        for r in range(n_routes):
            m = 0
            for q in range(lens[r]):
                node = routes[r, q]
                if not is_removed[pair_of[node]]:
                    tmp[m] = node
                    m += 1
            routes[r, :m] = tmp[:m]
            lens[r] = m
        for a in range(k):
            is_removed[removed[a]] = False
        # recreate: regret-2 or cheapest-first in random order
        np.random.shuffle(removed[:k])
        regret = np.random.random() < regret_odds
        ok = _recreate(routes, lens, n_routes, removed, k, regret, net, pairs, st, lz, ld)
        new_cost = _plan_cost(routes, lens, n_routes, net) if ok else _INF
        if ok and new_cost < record:
            record = new_cost
            best_routes[:n_routes] = routes[:n_routes]
            best_lens[:n_routes] = lens[:n_routes]
        if ok and new_cost <= record * (1.0 + deviation):
            saved[:, :] = routes[:n_routes]
            saved_lens[:] = lens[:n_routes]
        else:
            routes[:n_routes] = saved
            lens[:n_routes] = saved_lens
    return record


def shorten_routes(
    inst: EjectionInstance,
    routes: list[list[int]],
    *,
    deadline: float,
    seed: int = 0,
    max_removed: int = 12,
    deviation: float = 0.02,
    regret_odds: float = 0.5,
    max_iterations: int | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> list[list[int]]:
    """The same shipments on no more routes, shortened by ruin and recreate until ``deadline``
    (on ``clock``) or ``max_iterations`` steps."""
    kept = [list(r) for r in routes if r]
    if not kept:
        return kept
    if not check_routes(inst, kept):
        raise ValueError("the starting routes are not feasible")
    arr, lens = _as_arrays(inst, kept)
    best_arr, best_lens = arr.copy(), lens.copy()
    net, pairs = inst.net(), inst.pairs()
    _seed(seed)
    pacer = Pacer(deadline, max_iterations, clock=clock)
    while run := pacer.next():
        _lns(
            arr,
            lens,
            len(kept),
            best_arr,
            best_lens,
            run,
            max_removed,
            deviation,
            regret_odds,
            net,
            pairs,
        )
        pacer.ran()
    return _as_lists(best_arr, best_lens)
