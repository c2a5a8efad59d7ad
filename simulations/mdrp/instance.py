"""Reading a Grubhub meal-delivery (MDRP) instance directory.

Files (tab- or space-separated, first line a header; MDRPInstances.pdf, section 2):
`restaurants.txt` (restaurant x y), `orders.txt` (order x y placement_time restaurant
ready_time), `couriers.txt` (courier x y on_time off_time), `instance_parameters.txt`
(meters_per_minute, pickup and drop-off service minutes, target and maximum click-to-door,
pay per order, guaranteed pay per hour). Times are whole minutes from the start of the day;
coordinates are metres in a plane.

Anything unreadable raises `InstanceError` naming the file and line: a missing file, a wrong
header, a wrong number of columns, a value that is not a number, an unknown restaurant, a
duplicate id, an order ready before it is placed, a courier off before it is on.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = ["InstanceError", "Restaurant", "MdrpOrder", "MdrpCourier", "Parameters", "Instance",
           "read_instance"]


class InstanceError(ValueError):
    """A file of an instance cannot be read as the format says."""

    code = "mdrp_instance_invalid"

    def __init__(self, path: Path, line: int | None, message: str) -> None:
        where = f"{path}:{line}" if line is not None else str(path)
        super().__init__(f"{where}: {message}")
        self.path, self.line = path, line


@dataclass(frozen=True)
class Restaurant:
    id: str
    x: float
    y: float


@dataclass(frozen=True)
class MdrpOrder:
    id: str
    x: float
    y: float
    placement_min: int
    restaurant: str
    ready_min: int


@dataclass(frozen=True)
class MdrpCourier:
    id: str
    x: float
    y: float
    on_min: int
    off_min: int


@dataclass(frozen=True)
class Parameters:
    meters_per_minute: float
    pickup_service_min: int
    dropoff_service_min: int
    target_click_to_door_min: int
    max_click_to_door_min: int
    pay_per_order: float
    guaranteed_pay_per_hour: float


@dataclass(frozen=True)
class Instance:
    name: str
    path: Path
    restaurants: dict[str, Restaurant]
    orders: tuple[MdrpOrder, ...]
    couriers: tuple[MdrpCourier, ...]
    parameters: Parameters

    @property
    def family(self) -> str:
        """The paper's grouping of one instance: size (o100/o50/r50), travel speed (t100/t75),
        shifts (s1/s2) and preparation times (p100/p125), e.g. `o100 t75 s1 p100`."""
        return family_of(self.name)


def family_of(name: str) -> str:
    import re

    match = re.fullmatch(r"\d+(o100|o50|r50)(t\d+)(s\d)(p\d+)", name)
    return " ".join(match.groups()) if match else name


_COLUMNS = {
    "restaurants.txt": ("restaurant", "x", "y"),
    "orders.txt": ("order", "x", "y", "placement_time", "restaurant", "ready_time"),
    "couriers.txt": ("courier", "x", "y", "on_time", "off_time"),
}


def _rows(path: Path, expected: tuple[str, ...]) -> list[tuple[int, list[str]]]:
    if not path.is_file():
        raise InstanceError(path, None, "file missing")
    lines = path.read_text().splitlines()
    if not lines:
        raise InstanceError(path, 1, "empty file (a header line is expected)")
    header = lines[0].split()
    if tuple(h.lower() for h in header) != expected:
        raise InstanceError(path, 1, f"header {header} is not {list(expected)}")
    rows = []
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        fields = line.split()
        if len(fields) != len(expected):
            raise InstanceError(path, number,
                                f"{len(fields)} columns, expected {len(expected)}")
        rows.append((number, fields))
    return rows


def _number(path: Path, line: int, column: str, text: str, *, whole: bool = False) -> float:
    try:
        value = float(text)
    except ValueError:
        raise InstanceError(path, line, f"{column} {text!r} is not a number") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise InstanceError(path, line, f"{column} {text!r} is not a finite number")
    if whole and value != int(value):
        raise InstanceError(path, line, f"{column} {text!r} is not a whole number of minutes")
    return value


def _unique(path: Path, line: int, seen: set[str], key: str) -> None:
    if key in seen:
        raise InstanceError(path, line, f"duplicate id {key!r}")
    seen.add(key)


def read_parameters(path: Path) -> Parameters:
    if not path.is_file():
        raise InstanceError(path, None, "file missing")
    lines = [line for line in path.read_text().splitlines() if line.strip()]
    if len(lines) < 2:
        raise InstanceError(path, None, "expected a header line and a line of values")
    fields = lines[1].split()
    if len(fields) != 7:
        raise InstanceError(path, 2, f"{len(fields)} values, expected 7")
    names = ("meters_per_minute", "pickup service minutes", "dropoff service minutes",
             "target click-to-door", "maximum click-to-door", "pay per order",
             "guaranteed pay per hour")
    values = [_number(path, 2, n, v) for n, v in zip(names, fields, strict=True)]
    if values[0] <= 0:
        raise InstanceError(path, 2, "meters_per_minute must be positive")
    for n, v in zip(names[1:5], values[1:5], strict=True):
        if v < 0 or v != int(v):
            raise InstanceError(path, 2, f"{n} must be a whole number of minutes ≥ 0")
    return Parameters(values[0], int(values[1]), int(values[2]), int(values[3]), int(values[4]),
                      values[5], values[6])


def read_instance(directory: Path | str) -> Instance:
    """Reads and checks one instance directory (see the module docstring)."""
    directory = Path(directory)
    if not directory.is_dir():
        raise InstanceError(directory, None, "not a directory")
    parameters = read_parameters(directory / "instance_parameters.txt")

    path = directory / "restaurants.txt"
    restaurants: dict[str, Restaurant] = {}
    seen: set[str] = set()
    for line, (rid, x, y) in _rows(path, _COLUMNS["restaurants.txt"]):
        _unique(path, line, seen, rid)
        restaurants[rid] = Restaurant(rid, _number(path, line, "x", x),
                                      _number(path, line, "y", y))

    path = directory / "orders.txt"
    orders = []
    seen = set()
    for line, (oid, x, y, placed, rid, ready) in _rows(path, _COLUMNS["orders.txt"]):
        _unique(path, line, seen, oid)
        if rid not in restaurants:
            raise InstanceError(path, line, f"order {oid}: unknown restaurant {rid!r}")
        placed_min = int(_number(path, line, "placement_time", placed, whole=True))
        ready_min = int(_number(path, line, "ready_time", ready, whole=True))
        if placed_min < 0:
            raise InstanceError(path, line, f"order {oid}: placement_time before the day")
        if ready_min < placed_min:
            raise InstanceError(path, line, f"order {oid}: ready_time {ready_min} before "
                                f"placement_time {placed_min}")
        orders.append(MdrpOrder(oid, _number(path, line, "x", x), _number(path, line, "y", y),
                                placed_min, rid, ready_min))

    path = directory / "couriers.txt"
    couriers = []
    seen = set()
    for line, (cid, x, y, on, off) in _rows(path, _COLUMNS["couriers.txt"]):
        _unique(path, line, seen, cid)
        on_min = int(_number(path, line, "on_time", on, whole=True))
        off_min = int(_number(path, line, "off_time", off, whole=True))
        if on_min < 0 or off_min <= on_min:
            raise InstanceError(path, line, f"courier {cid}: off_time {off_min} is not after "
                                f"on_time {on_min}")
        couriers.append(MdrpCourier(cid, _number(path, line, "x", x),
                                    _number(path, line, "y", y), on_min, off_min))
    if not orders:
        raise InstanceError(directory / "orders.txt", None, "no orders")
    return Instance(directory.name, directory, restaurants, tuple(orders), tuple(couriers),
                    parameters)
