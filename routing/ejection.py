"""Route minimisation by guided ejection search, for a fleet of identical vehicles.

Why this exists: OR-Tools' local search only moves between feasible plans, and emptying a
route of a pickup-and-delivery problem with tight windows needs the receiving routes
reshuffled first; on Li & Lim's instances it removed one route in 56 (BENCHMARKS.md,
"Routing"). Guided ejection search (Nagata & Kobayashi, "A memetic algorithm for the pickup
and delivery problem with time windows using selective route exchange crossover and a
guided ejection search", 2010) is the standard way to do it:

1. take a route out and put its shipments in an *ejection pool*;
2. pop a shipment; insert it at its cheapest feasible place if there is one;
3. otherwise count one more failure for it and insert it anyway, *ejecting* up to
   ``max_ejected`` shipments from the receiving route -- the set whose failure counts sum
   least, so shipments that are hard to place are not pushed out again and again;
   ejected shipments go back into the pool;
4. shake the plan with random feasible relocations and exchanges of shipments, so the
   next insertion finds different room;
5. once the pool is empty the smaller fleet is kept and the next route is taken out.

Every plan the search holds is feasible: hard time windows, capacity, pickup before
delivery on the same vehicle, and the vehicles' shift ends. Distance is ignored except to
choose between feasible insertions and to make the random moves mostly improving ones;
``routing.lns`` and then OR-Tools shorten the routes with the fleet fixed.

The core is compiled with numba: plain loops over integer arrays, which run 63 times slower
as Python on the same arrays (measured: scheduling lr202's three routes and scanning every
fifth shipment's insertions, 0.07 ms against 4.3 ms), and the search needs tens of thousands
of iterations. It works on plain arrays so that it can be tested with plain values:

* ``time[a, b]``: integer time from node ``a`` to node ``b``, service at ``a`` included;
* ``cost[a, b]``: integer arc cost (distance);
* ``earliest[n]``, ``latest[n]``: window on the start of service at node ``n``;
* ``demand[n]``: load change at ``n`` (positive at a pickup, its negative at the delivery);
* ``pickups[s]``, ``deliveries[s]``: the two nodes of shipment ``s``;
* ``start``, ``end``: the (shared) start and end nodes; ``start_time``, ``capacity``.

A route is the list of its stop nodes, without start and end.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numba import njit
from numpy.typing import NDArray

__all__ = ["EjectionInstance", "Pacer", "check_routes", "minimise_routes", "plan_cost"]

log = logging.getLogger(__name__)

_INF = np.iinfo(np.int64).max


@dataclass(frozen=True)
class EjectionInstance:
    """A pickup-and-delivery problem with identical vehicles, in node numbers."""

    time: NDArray[np.int64]
    cost: NDArray[np.int64]
    earliest: NDArray[np.int64]
    latest: NDArray[np.int64]
    demand: NDArray[np.int64]
    pickups: NDArray[np.int64]
    deliveries: NDArray[np.int64]
    start: int
    end: int
    start_time: int
    capacity: int

    def __post_init__(self) -> None:
        n = self.time.shape[0]
        if self.time.shape != (n, n) or self.cost.shape != (n, n):
            raise ValueError("time and cost must be square matrices over the same nodes")
        for name in ("earliest", "latest", "demand"):
            if getattr(self, name).shape != (n,):
                raise ValueError(f"{name} must have one entry per node")
        if self.pickups.shape != self.deliveries.shape:
            raise ValueError("pickups and deliveries must pair up")

    def net(self) -> tuple:
        """The instance as the compiled code takes it (see "compiled core" below)."""
        return (
            self.time,
            self.cost,
            self.earliest,
            self.latest,
            self.demand,
            self.capacity,
            self.start,
            self.end,
            self.start_time,
        )

    def pairs(self) -> tuple:
        """(pickups, deliveries, shipment of each node, whether each node is a pickup)."""
        pair_of = np.full(self.time.shape[0], -1, dtype=np.int64)
        pair_of[self.pickups] = np.arange(len(self.pickups))
        pair_of[self.deliveries] = np.arange(len(self.deliveries))
        pickup_flag = np.zeros(self.time.shape[0], dtype=np.bool_)
        pickup_flag[self.pickups] = True
        return self.pickups, self.deliveries, pair_of, pickup_flag


# -- compiled core ---------------------------------------------------------------------------
# ``net`` is the instance as one tuple: (time, cost, earliest, latest, demand, capacity, start,
# end, start_time); ``pairs`` is (pickups, deliveries, pair_of, pickup_flag), where
# ``pair_of[node]`` is the node's shipment and ``pickup_flag[node]`` whether it is a pickup.
# Positions in a route: 0 is the start, 1..n the stops route[0..n-1], n + 1 the end.
# ``st[k]`` is the start of service at position k, ``lz[k]`` the latest start at k that keeps
# the rest of the route feasible, ``ld[k]`` the load after serving position k.


@njit(cache=True)
def _schedule(route, n, net, st, lz, ld):
    """Fill ``st``, ``lz`` and ``ld`` for a route; False when the route is infeasible."""
    time_, _, earliest, latest, demand, capacity, start, end, start_time = net
    t = start_time
    st[0] = t
    ld[0] = 0
    prev = start
    load = 0
    for k in range(n):
        node = route[k]
        t = max(earliest[node], t + time_[prev, node])
        if t > latest[node]:
            return False
        load += demand[node]
        if load > capacity:
            return False
        st[k + 1] = t
        ld[k + 1] = load
        prev = node
    t = max(earliest[end], t + time_[prev, end])
    if t > latest[end]:
        return False
    st[n + 1] = t
    ld[n + 1] = load
    lz[n + 1] = latest[end]
    nxt = end
    for k in range(n, 0, -1):
        node = route[k - 1]
        lz[k] = min(latest[node], lz[k + 1] - time_[node, nxt])
        nxt = node
    lz[0] = lz[1] - time_[start, nxt]
    return True


@njit(cache=True)
def _best_insertion(route, n, p, d, net, st, lz, ld):
    """Cheapest feasible (i, j): pickup after position i, delivery after position j (j >= i).

    Needs ``_schedule`` of the route in ``st``, ``lz``, ``ld``. Returns (delta, i, j), with
    i = -1 when the shipment fits nowhere.
    """
    time_, cost, earliest, latest, demand, capacity, start, end, _ = net
    best = _INF
    bi = -1
    bj = -1
    qp = demand[p]
    for i in range(n + 1):
        a = start if i == 0 else route[i - 1]
        if ld[i] + qp > capacity:
            continue
        tp = max(earliest[p], st[i] + time_[a, p])
        if tp > latest[p]:
            continue
        b = end if i == n else route[i]
        td = max(earliest[d], tp + time_[p, d])
        if td <= latest[d] and td + time_[d, b] <= lz[i + 1]:
            delta = cost[a, p] + cost[p, d] + cost[d, b] - cost[a, b]
            if delta < best:
                best, bi, bj = delta, i, i
        if i == n:
            continue
        t = max(earliest[b], tp + time_[p, b])
        if t > lz[i + 1]:
            continue
        base = cost[a, p] + cost[p, b] - cost[a, b]
        for j in range(i + 1, n + 1):
            if ld[j] + qp > capacity:
                break
            nj = route[j - 1]
            nxt = end if j == n else route[j]
            td = max(earliest[d], t + time_[nj, d])
            if td <= latest[d] and td + time_[d, nxt] <= lz[j + 1]:
                delta = base + cost[nj, d] + cost[d, nxt] - cost[nj, nxt]
                if delta < best:
                    best, bi, bj = delta, i, j
            if j == n:
                break
            t = max(earliest[nxt], t + time_[nj, nxt])
            if t > lz[j + 1]:
                break
    return best, bi, bj


@njit(cache=True)
def _fit(route, n, p, d, net, st, lz, ld):
    """Cheapest feasible place for shipment (p, d) in a route: (delta, i, j), i = -1 if none."""
    if not _schedule(route, n, net, st, lz, ld):
        return _INF, -1, -1
    return _best_insertion(route, n, p, d, net, st, lz, ld)


@njit(cache=True)
def _insert(routes, lens, r, p, d, i, j):
    """Route r becomes row[:i] + [p] + row[i:j] + [d] + row[j:n]."""
    n = lens[r]
    row = routes[r]
    for k in range(n - 1, j - 1, -1):
        row[k + 2] = row[k]
    row[j + 1] = d
    for k in range(j - 1, i - 1, -1):
        row[k + 1] = row[k]
    row[i] = p
    lens[r] = n + 2


@njit(cache=True)
def _without(src, n, pair_of, skip_a, skip_b, skip_c, out):
    """Copy a route without the stops of up to three pairs (-1 = none); returns the length."""
    m = 0
    for k in range(n):
        s = pair_of[src[k]]
        if s in (skip_a, skip_b, skip_c):
            continue
        out[m] = src[k]
        m += 1
    return m


@njit(cache=True)
def _route_pairs(route, n, pairs, out):
    """The shipments of a route, in the order of their pickups; returns how many."""
    _, _, pair_of, pickup_flag = pairs
    m = 0
    for k in range(n):
        if pickup_flag[route[k]]:
            out[m] = pair_of[route[k]]
            m += 1
    return m


@njit(cache=True)
def _route_cost(route, n, net):
    cost, start, end = net[1], net[6], net[7]
    total = 0
    prev = start
    for k in range(n):
        total += cost[prev, route[k]]
        prev = route[k]
    return total + cost[prev, end]


@njit(cache=True)
def _seed(seed):
    np.random.seed(seed)


@njit(cache=True)
def _perturb(routes, lens, n_routes, moves, worse_odds, net, pairs, st, lz, ld, tmp, tmp2, buf):
    """Random feasible relocations and exchanges of shipments between routes; a move that
    lengthens the plan is taken with probability ``worse_odds`` only."""
    pickups, deliveries, pair_of, _ = pairs
    for _ in range(moves):
        if n_routes < 2:
            return
        r1 = np.random.randint(n_routes)
        if lens[r1] == 0:
            continue
        r2 = np.random.randint(n_routes - 1)
        if r2 >= r1:
            r2 += 1
        u = buf[np.random.randint(_route_pairs(routes[r1], lens[r1], pairs, buf))]
        pu, du = pickups[u], deliveries[u]
        if np.random.random() < 0.5 or lens[r2] == 0:
            # relocate u from r1 to r2
            delta, i, j = _fit(routes[r2], lens[r2], pu, du, net, st, lz, ld)
            if i < 0:
                continue
            m = _without(routes[r1], lens[r1], pair_of, u, -1, -1, tmp)
            gain = _route_cost(routes[r1], lens[r1], net) - _route_cost(tmp, m, net)
            if delta > gain and np.random.random() >= worse_odds:
                continue
            routes[r1, :m] = tmp[:m]
            lens[r1] = m
            _insert(routes, lens, r2, pu, du, i, j)
        else:
            # exchange u (in r1) with w (in r2)
            w = buf[np.random.randint(_route_pairs(routes[r2], lens[r2], pairs, buf))]
            pw, dw = pickups[w], deliveries[w]
            m1 = _without(routes[r1], lens[r1], pair_of, u, -1, -1, tmp)
            m2 = _without(routes[r2], lens[r2], pair_of, w, -1, -1, tmp2)
            d2, i2, j2 = _fit(tmp2, m2, pu, du, net, st, lz, ld)
            if i2 < 0:
                continue
            d1, i1, j1 = _fit(tmp, m1, pw, dw, net, st, lz, ld)
            if i1 < 0:
                continue
            gain = (
                _route_cost(routes[r1], lens[r1], net)
                + _route_cost(routes[r2], lens[r2], net)
                - _route_cost(tmp, m1, net)
                - _route_cost(tmp2, m2, net)
            )
            if d1 + d2 > gain and np.random.random() >= worse_odds:
                continue
            routes[r1, :m1] = tmp[:m1]
            lens[r1] = m1
            routes[r2, :m2] = tmp2[:m2]
            lens[r2] = m2
            _insert(routes, lens, r1, pw, dw, i1, j1)
            _insert(routes, lens, r2, pu, du, i2, j2)


@njit(cache=True)
def _ges(
    routes,
    lens,
    n_routes,
    pool,
    pool_n,
    counter,
    iterations,
    max_ejected,
    perturb_moves,
    worse_odds,
    net,
    pairs,
):
    """Run up to ``iterations`` pool steps; returns how many shipments are left in the pool."""
    pickups, deliveries, pair_of, _ = pairs
    width = routes.shape[1] + 2
    st = np.empty(width + 2, dtype=np.int64)
    lz = np.empty(width + 2, dtype=np.int64)
    ld = np.empty(width + 2, dtype=np.int64)
    tmp = np.empty(width, dtype=np.int64)
    tmp2 = np.empty(width, dtype=np.int64)
    buf = np.empty(width, dtype=np.int64)
    n_pool = pool_n[0]
    for _ in range(iterations):
        if n_pool == 0:
            break
        n_pool -= 1
        v = pool[n_pool]
        pv, dv = pickups[v], deliveries[v]

        # 1. the cheapest feasible insertion anywhere
        best = _INF
        br, bi, bj = -1, -1, -1
        for r in range(n_routes):
            delta, i, j = _fit(routes[r], lens[r], pv, dv, net, st, lz, ld)
            if i >= 0 and delta < best:
                best, br, bi, bj = delta, r, i, j
        if br >= 0:
            _insert(routes, lens, br, pv, dv, bi, bj)
            continue

        # 2. insert with ejection: the ejected set with the least failure count wins
        counter[v] += 1
        best_sum = _INF
        ties = 0
        er, e1, e2, ei, ej = -1, -1, -1, -1, -1
        for r in range(n_routes):
            npairs = _route_pairs(routes[r], lens[r], pairs, buf)
            for a in range(npairs):
                ua = buf[a]
                for b in range(a, npairs if max_ejected >= 2 else a + 1):
                    ub = buf[b] if b > a else -1
                    psum = counter[ua] + (counter[ub] if ub >= 0 else 0)
                    if psum > best_sum:
                        continue
                    m = _without(routes[r], lens[r], pair_of, ua, ub, -1, tmp)
                    _, i, j = _fit(tmp, m, pv, dv, net, st, lz, ld)
                    if i < 0:
                        continue
                    if psum < best_sum:
                        best_sum = psum
                        ties = 1
                    else:
                        ties += 1
                        if np.random.randint(ties) != 0:
                            continue
                    er, e1, e2, ei, ej = r, ua, ub, i, j
        if er >= 0:
            m = _without(routes[er], lens[er], pair_of, e1, e2, -1, tmp)
            routes[er, :m] = tmp[:m]
            lens[er] = m
            _insert(routes, lens, er, pv, dv, ei, ej)
            pool[n_pool] = e1
            n_pool += 1
            if e2 >= 0:
                pool[n_pool] = e2
                n_pool += 1
        else:
            # Fits nowhere even with ejections: back to the bottom of the pool.
            for k in range(n_pool, 0, -1):
                pool[k] = pool[k - 1]
            pool[0] = v
            n_pool += 1

        # 3. shake
        _perturb(
            routes,
            lens,
            n_routes,
            perturb_moves,
            worse_odds,
            net,
            pairs,
            st,
            lz,
            ld,
            tmp,
            tmp2,
            buf,
        )
    pool_n[0] = n_pool
    return n_pool


# -- Python side -----------------------------------------------------------------------------


class Pacer:
    """How many compiled iterations to run before the clock is read again.

    About ``slice_s`` worth, judged by the previous run, and never past the deadline or the
    iteration cap: a fixed count would overrun the budget by seconds on a large problem,
    where one ejection step costs tens of milliseconds. The compiled loops keep no state
    between runs that the count could change, so the same seed and cap give the same result.
    ``clock`` (``time.monotonic`` unless a test gives its own) is what ``deadline`` is read on.
    """

    def __init__(self, deadline: float, max_iterations: int | None, slice_s: float = 0.02,
                 *, clock: Callable[[], float] = time.monotonic):
        self.clock = clock
        self.deadline = deadline
        self.left = max_iterations
        self.slice_s = slice_s
        self.steps = 0
        self._per_step_s: float | None = None
        self._started = 0.0
        self._count = 0

    def next(self) -> int:
        """Iterations for the next run; 0 when the time or the cap is spent."""
        now = self.clock()
        if now >= self.deadline or self.left == 0:
            return 0
        count = 1
        if self._per_step_s is not None:
            count = max(1, int(min(self.slice_s, self.deadline - now) / self._per_step_s))
        if self.left is not None:
            count = min(count, self.left)
        self._started, self._count = now, count
        return count

    def ran(self) -> None:
        """Record that the run :meth:`next` sized has finished."""
        elapsed = self.clock() - self._started
        self._per_step_s = max(elapsed / self._count, 1e-7)
        self.steps += self._count
        if self.left is not None:
            self.left -= self._count


def plan_cost(inst: EjectionInstance, routes: list[list[int]]) -> int:
    """Total arc cost of the routes, from the start node through their stops to the end."""
    total = 0
    for r in routes:
        path = [inst.start, *r, inst.end]
        total += int(inst.cost[path[:-1], path[1:]].sum())
    return total


def _as_arrays(inst: EjectionInstance, routes: list[list[int]]):
    """Routes as the compiled code holds them: one row per route, room for every stop."""
    arr = np.zeros((len(routes), 2 * len(inst.pickups) + 2), dtype=np.int64)
    lens = np.zeros(len(routes), dtype=np.int64)
    for k, r in enumerate(routes):
        arr[k, : len(r)] = r
        lens[k] = len(r)
    return arr, lens


def _as_lists(arr: NDArray[np.int64], lens: NDArray[np.int64]) -> list[list[int]]:
    """The non-empty routes held in ``arr``."""
    return [arr[k, : lens[k]].tolist() for k in range(len(lens)) if lens[k]]


def check_routes(inst: EjectionInstance, routes: list[list[int]]) -> bool:
    """Whether every route is feasible on its own (windows, capacity, shift end)."""
    width = max((len(r) for r in routes), default=0) + 2
    st = np.empty(width, dtype=np.int64)
    lz = np.empty(width, dtype=np.int64)
    ld = np.empty(width, dtype=np.int64)
    for r in routes:
        arr = np.asarray(r, dtype=np.int64)
        if not _schedule(arr, len(arr), inst.net(), st, lz, ld):
            return False
    return True


def minimise_routes(
    inst: EjectionInstance,
    routes: list[list[int]],
    *,
    deadline: float,
    seed: int = 0,
    max_ejected: int = 2,
    perturb_moves: int = 10,
    worse_odds: float = 0.02,
    max_iterations: int | None = None,
    target_routes: int = 1,
    clock: Callable[[], float] = time.monotonic,
) -> list[list[int]]:
    """Fewer routes serving the same shipments, found before ``deadline`` (on ``clock``);
    it stops early at ``target_routes``.

    ``routes`` must be a complete feasible plan (every shipment's pickup before its delivery
    on one route). Returns the smallest complete plan found; ``routes`` itself when no route
    could be removed. ``max_iterations`` bounds the pool steps per removed route instead of
    the clock alone, for reproducible runs.
    """
    if not check_routes(inst, routes):
        raise ValueError("the starting routes are not feasible")
    net, pairs = inst.net(), inst.pairs()
    pair_of, pickup_flag = pairs[2], pairs[3]
    n_pairs = len(inst.pickups)
    best = [list(r) for r in routes if r]
    _seed(seed)
    rng = np.random.default_rng(seed)
    while len(best) > max(1, target_routes) and clock() < deadline:
        victim = int(rng.integers(len(best)))
        kept = [r for k, r in enumerate(best) if k != victim]
        arr, lens = _as_arrays(inst, kept)
        pool = np.zeros(n_pairs, dtype=np.int64)
        victims = [int(pair_of[n]) for n in best[victim] if pickup_flag[n]]
        pool[: len(victims)] = victims
        pool_n = np.array([len(victims)], dtype=np.int64)
        counter = np.ones(n_pairs, dtype=np.int64)
        pacer = Pacer(deadline, max_iterations, clock=clock)
        left = len(victims)
        while left and (run := pacer.next()):
            left = _ges(
                arr,
                lens,
                len(kept),
                pool,
                pool_n,
                counter,
                run,
                max_ejected,
                perturb_moves,
                worse_odds,
                net,
                pairs,
            )
            pacer.ran()
        if left:
            log.debug(
                "ejection search: %d routes kept; %d shipments still in the pool after %d steps",
                len(best),
                left,
                pacer.steps,
            )
            break
        log.debug("ejection search: %d routes after %d steps", len(kept), pacer.steps)
        best = _as_lists(arr, lens)
    return best
