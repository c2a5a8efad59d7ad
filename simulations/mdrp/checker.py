"""An independent feasibility check of MDRP solution files, written from the rules.

It reads only the instance and the three files (never the simulator's memory) and checks what
the official evaluator checks (MDRPInstances.pdf, section 2.1), each violation with the rule it
breaks:

1. `assigned_once` — each order is in at most one assignment and delivered at most once; a
   delivered order was assigned, an assigned order was delivered;
2. `assigned_after_placement` — no assignment before its orders are placed;
3. `pickup_after_off_time` — every pickup at or before its courier's off-time;
4. `pickup_before_ready` — a bundle is picked up at or after its latest ready time;
5. `delivery_sequence` — orders are delivered in the sequence the assignment lists;
6. `moves` — each courier's moves chain up from its on-location, never leave a place before
   arriving there, never before the courier's on-time, and take the instance's travel time
   (ceil(euclidean metres / meters_per_minute) minutes);
7. `not_at_restaurant` — at pickup the courier has been at the restaurant for half the pickup
   service and stays half a service more;
8. `not_at_diner` — an order is dropped off half a drop-off service after the courier arrives
   at the diner, and the courier stays half a service more;
plus `order_record` — the orders file agrees with the instance and the assignment (placement
and ready times, pickup time, courier).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass

from simulations.mdrp.instance import Instance
from simulations.mdrp.solution import Solution
from simulations.mdrp.travel import minutes

__all__ = ["Violation", "check_solution"]

EPS = 1e-6


@dataclass(frozen=True)
class Violation:
    rule: str
    message: str

    def __str__(self) -> str:
        return f"{self.rule}: {self.message}"


@dataclass(frozen=True)
class _Visit:
    place: str
    arrival_min: float
    departure_min: float | None


def check_solution(instance: Instance, solution: Solution) -> list[Violation]:
    """Every rule the solution breaks (an empty list: feasible)."""
    out: list[Violation] = []
    p = instance.parameters
    half_pickup, half_dropoff = p.pickup_service_min / 2, p.dropoff_service_min / 2
    orders = {o.id: o for o in instance.orders}
    couriers = {c.id: c for c in instance.couriers}

    def bad(rule: str, message: str) -> None:
        out.append(Violation(rule, message))

    def xy(courier: str, label: str) -> tuple[float, float] | None:
        if label == "0":
            c = couriers.get(courier)
            return (c.x, c.y) if c else None
        if label in instance.restaurants:
            r = instance.restaurants[label]
            return (r.x, r.y)
        if label in orders:
            return (orders[label].x, orders[label].y)
        return None

    # 1, 2, 3, 4
    assigned_in: dict[str, int] = {}
    for n, a in enumerate(solution.assignments):
        if a.courier not in couriers:
            bad("assigned_once", f"assignment {n + 1}: unknown courier {a.courier}")
            continue
        restaurants = set()
        for o in a.orders:
            if o not in orders:
                bad("assigned_once", f"assignment {n + 1}: unknown order {o}")
                continue
            if o in assigned_in:
                bad("assigned_once", f"order {o} is in assignments {assigned_in[o] + 1} and "
                    f"{n + 1}")
            assigned_in[o] = n
            restaurants.add(orders[o].restaurant)
            if a.assignment_min < orders[o].placement_min - EPS:
                bad("assigned_after_placement", f"order {o} assigned at {a.assignment_min} "
                    f"before its placement at {orders[o].placement_min}")
        if len(restaurants) > 1:
            bad("assigned_once", f"assignment {n + 1} mixes restaurants {sorted(restaurants)}")
        if a.pickup_min > couriers[a.courier].off_min + EPS:
            bad("pickup_after_off_time", f"courier {a.courier} picks up at {a.pickup_min} after "
                f"its off-time {couriers[a.courier].off_min}")
        known = [orders[o] for o in a.orders if o in orders]
        if known and a.pickup_min < max(o.ready_min for o in known) - EPS:
            bad("pickup_before_ready", f"assignment {n + 1} picked up at {a.pickup_min} before "
                f"its latest ready time {max(o.ready_min for o in known)}")
        if a.pickup_min < a.assignment_min - EPS:
            bad("assigned_after_placement", f"assignment {n + 1} picked up at {a.pickup_min} "
                f"before it was made at {a.assignment_min}")

    delivered = Counter(line.order for line in solution.orders)
    for o, count in delivered.items():
        if count > 1:
            bad("assigned_once", f"order {o} is delivered {count} times")
    by_order = {line.order: line for line in solution.orders}
    for o in assigned_in:
        if o not in by_order:
            bad("assigned_once", f"order {o} is picked up but never delivered")
    for line in solution.orders:
        if line.order not in orders:
            bad("order_record", f"unknown order {line.order}")
            continue
        if line.order not in assigned_in:
            bad("assigned_once", f"order {line.order} is delivered but never assigned")
            continue
        a = solution.assignments[assigned_in[line.order]]
        o = orders[line.order]
        if (abs(line.placement_min - o.placement_min) > EPS
                or abs(line.ready_min - o.ready_min) > EPS):
            bad("order_record", f"order {o.id}: placement/ready times differ from the instance")
        if abs(line.pickup_min - a.pickup_min) > EPS or line.courier != a.courier:
            bad("order_record", f"order {o.id}: pickup time or courier differ from its "
                "assignment")
        if line.dropoff_min < line.pickup_min - EPS:
            bad("delivery_sequence", f"order {o.id} dropped off before it was picked up")

    # 5
    for n, a in enumerate(solution.assignments):
        times = [by_order[o].dropoff_min for o in a.orders if o in by_order]
        if any(t2 < t1 - EPS for t1, t2 in zip(times, times[1:], strict=False)):
            bad("delivery_sequence", f"assignment {n + 1}: orders not delivered in the listed "
                "sequence")

    # 6: replay each courier's moves into visits.
    visits: dict[str, list[_Visit]] = defaultdict(list)
    moves_of: dict[str, list] = defaultdict(list)
    for m in solution.moves:
        moves_of[m.courier].append(m)
    for courier, moves in moves_of.items():
        if courier not in couriers:
            bad("moves", f"moves of unknown courier {courier}")
            continue
        c = couriers[courier]
        here, ready_at = "0", float(c.on_min)
        for i, m in enumerate(moves):
            if m.origin != here:
                bad("moves", f"courier {courier} move {i + 1} leaves {m.origin} but is at {here}")
            if m.departure_min < ready_at - EPS:
                bad("moves", f"courier {courier} leaves {m.origin} at {m.departure_min} before "
                    f"arriving there / coming on duty ({ready_at})")
            a, b = xy(courier, m.origin), xy(courier, m.destination)
            if a is None or b is None:
                bad("moves", f"courier {courier} move {i + 1}: unknown place")
                break
            arrival = m.departure_min + minutes(a[0], a[1], b[0], b[1], p.meters_per_minute)
            if visits[courier]:
                last = visits[courier][-1]
                visits[courier][-1] = _Visit(last.place, last.arrival_min, m.departure_min)
            visits[courier].append(_Visit(m.destination, arrival, None))
            here, ready_at = m.destination, arrival

    def present(courier: str, place: str, at_min: float, before: float, after: float) -> bool:
        return any(v.place == place and v.arrival_min + before <= at_min + EPS
                   and (v.departure_min is None or v.departure_min >= at_min + after - EPS)
                   for v in visits.get(courier, ()))

    # 7, 8
    for n, a in enumerate(solution.assignments):
        known = [orders[o] for o in a.orders if o in orders]
        if known and not present(a.courier, known[0].restaurant, a.pickup_min, half_pickup,
                                 half_pickup):
            bad("not_at_restaurant", f"assignment {n + 1}: courier {a.courier} is not at "
                f"{known[0].restaurant} at {a.pickup_min}")
    for line in solution.orders:
        if line.order not in orders:
            continue
        ok = any(v.place == line.order and abs(v.arrival_min + half_dropoff - line.dropoff_min)
                 <= EPS and (v.departure_min is None
                             or v.departure_min >= line.dropoff_min + half_dropoff - EPS)
                 for v in visits.get(line.courier, ()))
        if not ok:
            bad("not_at_diner", f"order {line.order}: courier {line.courier} is not at the "
                f"diner at {line.dropoff_min}")
    return out
