"""The three solution files the Grubhub evaluator reads (MDRPInstances.pdf, section 2.1).

* `solution_info_assignments.txt` — `assignment_time pickup_time courier order [order ...]`, one
  line per bundle picked up, its orders in the sequence they are delivered;
* `solution_info_orders.txt` — `order placement_time ready_time pickup_time dropoff_time
  courier`, one line per delivered order;
* `solution_info_couriers.txt` — `courier departure_time origin destination`, one line per
  move, grouped by courier in execution order; origin `0` is the courier's on-location.

Whitespace-separated with a header line; times in minutes from the start of the day (whole
minutes in this simulator: couriers act on whole minutes, and an assignment made during a
minute counts from the start of the next one, when the courier acts on it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from simulations.mdrp.run import MdrpRun

__all__ = ["AssignmentLine", "OrderLine", "MoveLine", "Solution", "solution_of", "write_solution",
           "read_solution", "SolutionError", "FILES"]

FILES = ("solution_info_assignments.txt", "solution_info_orders.txt",
         "solution_info_couriers.txt")


class SolutionError(ValueError):
    code = "mdrp_solution_invalid"


@dataclass(frozen=True)
class AssignmentLine:
    assignment_min: float
    pickup_min: float
    courier: str
    orders: tuple[str, ...]


@dataclass(frozen=True)
class OrderLine:
    order: str
    placement_min: float
    ready_min: float
    pickup_min: float
    dropoff_min: float
    courier: str


@dataclass(frozen=True)
class MoveLine:
    courier: str
    departure_min: float
    origin: str
    destination: str


@dataclass(frozen=True)
class Solution:
    assignments: tuple[AssignmentLine, ...]
    orders: tuple[OrderLine, ...]
    moves: tuple[MoveLine, ...]


def _minutes(seconds: float) -> float:
    value = seconds / 60.0
    return float(round(value)) if abs(value - round(value)) < 1e-6 else value


def solution_of(run: MdrpRun) -> Solution:
    """The run's decisions and movements in the evaluator's terms."""
    log, inst = run.log, run.instance
    oid, cid = run.order_ids, run.courier_ids
    restaurant = {number: o.restaurant for number, o in zip(oid, inst.orders, strict=True)}

    assignments = []
    for b in log.bundles:
        delivered_first = sorted(b.order_ids, key=lambda o: (log.dropoff_s.get(o, math.inf), o))
        assignments.append(AssignmentLine(
            float(math.ceil(_minutes(b.assigned_s) - 1e-9)), _minutes(b.pickup_s),
            cid[b.courier_id], tuple(oid[o] for o in delivered_first)))
    orders = []
    for number in sorted(log.dropoff_s, key=lambda o: (log.dropoff_s[o], o)):
        plan = log.orders[number]
        orders.append(OrderLine(oid[number], _minutes(plan.placed_s), _minutes(plan.ready_s),
                                _minutes(log.pickup_s[number]), _minutes(log.dropoff_s[number]),
                                cid[log.courier_of[number]]))

    def label(stop: tuple[str, int | None]) -> str:
        kind, number = stop
        if kind == "start":
            return "0"
        if kind == "pickup":
            return restaurant[number]
        if kind == "dropoff":
            return oid[number]
        raise SolutionError(f"a move from {kind!r} has no place in the evaluator's format")

    moves = [MoveLine(cid[m.courier_id], _minutes(m.depart_s), label(m.origin),
                      label(m.destination))
             for m in sorted(log.moves, key=lambda m: (m.courier_id, m.depart_s))]
    return Solution(tuple(assignments), tuple(orders), tuple(moves))


def _fmt(value: float) -> str:
    return str(int(value)) if value == int(value) else f"{value:.4f}"


def write_solution(solution: Solution, directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    paths = [directory / name for name in FILES]
    lines = ["assignment_time\tpickup_time\tcourier\torders"]
    lines += ["\t".join([_fmt(a.assignment_min), _fmt(a.pickup_min), a.courier, *a.orders])
              for a in solution.assignments]
    paths[0].write_text("\n".join(lines) + "\n")
    lines = ["order\tplacement_time\tready_time\tpickup_time\tdropoff_time\tcourier"]
    lines += ["\t".join([o.order, _fmt(o.placement_min), _fmt(o.ready_min), _fmt(o.pickup_min),
                         _fmt(o.dropoff_min), o.courier]) for o in solution.orders]
    paths[1].write_text("\n".join(lines) + "\n")
    lines = ["courier\tdeparture_time\torigin\tdestination"]
    lines += ["\t".join([m.courier, _fmt(m.departure_min), m.origin, m.destination])
              for m in solution.moves]
    paths[2].write_text("\n".join(lines) + "\n")
    return paths


def _read(path: Path, min_columns: int, exact: bool) -> list[tuple[int, list[str]]]:
    if not path.is_file():
        raise SolutionError(f"{path}: file missing")
    rows = []
    for number, line in enumerate(path.read_text().splitlines()[1:], start=2):
        fields = line.split()
        if not fields:
            continue
        if len(fields) < min_columns or (exact and len(fields) != min_columns):
            raise SolutionError(f"{path}:{number}: {len(fields)} columns, expected "
                                f"{min_columns}{'' if exact else ' or more'}")
        rows.append((number, fields))
    return rows


def _num(path: Path, line: int, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise SolutionError(f"{path}:{line}: {text!r} is not a number") from None
    if not math.isfinite(value):
        raise SolutionError(f"{path}:{line}: {text!r} is not a finite number")
    return value


def read_solution(directory: Path) -> Solution:
    """Reads the three files back (the checker judges files, not the simulator's memory)."""
    paths = [directory / name for name in FILES]
    assignments = tuple(
        AssignmentLine(_num(paths[0], n, f[0]), _num(paths[0], n, f[1]), f[2], tuple(f[3:]))
        for n, f in _read(paths[0], 4, exact=False))
    orders = tuple(
        OrderLine(f[0], _num(paths[1], n, f[1]), _num(paths[1], n, f[2]),
                  _num(paths[1], n, f[3]), _num(paths[1], n, f[4]), f[5])
        for n, f in _read(paths[1], 6, exact=True))
    moves = tuple(MoveLine(f[0], _num(paths[2], n, f[1]), f[2], f[3])
                  for n, f in _read(paths[2], 4, exact=True))
    return Solution(assignments, orders, moves)
