"""Reader for the Li & Lim pickup-and-delivery benchmark (100-task set) and its best-knowns.

Format (see ``../shared/data/README.md``): a first line ``K Q speed``, then one row per node
``id x y demand earliest latest service pickup_id delivery_id``; row 0 is the depot. Travel time
equals the unrounded Euclidean distance (the speed field is ignored; it is 0 in some files).
The benchmark ranks solutions by vehicles, then total distance.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from routing.problem import Problem, Shipment, Stop, Vehicle, Weights

__all__ = ["BestKnown", "PER_VEHICLE", "TICKS_PER_S", "list_instances", "read", "read_bks"]

#: Cost of one vehicle, far above any route length, so plans rank vehicles first.
PER_VEHICLE = 100_000.0
#: Integer clock resolution for the solver: travel times are unrounded distances.
TICKS_PER_S = 1000


@dataclass(frozen=True, slots=True)
class BestKnown:
    vehicles: int
    distance: float


def read(path: str | Path) -> Problem:
    """Read one instance file into a problem with ``K`` identical vehicles at the depot."""
    path = Path(path)
    rows = [line.split() for line in path.read_text().splitlines() if line.strip()]
    num_vehicles, capacity = int(rows[0][0]), int(rows[0][1])
    nodes = [[float(x) for x in row] for row in rows[1:]]
    xy = np.array([[n[1], n[2]] for n in nodes])
    diff = xy[:, None, :] - xy[None, :, :]
    distance = np.sqrt((diff**2).sum(axis=2))
    depot = nodes[0]
    shipments = []
    for n in nodes[1:]:
        node_id, demand, delivery_id = int(n[0]), int(n[3]), int(n[8])
        if delivery_id <= 0:
            continue
        d = nodes[delivery_id]
        assert int(d[7]) == node_id, f"{path.name}: delivery {delivery_id} does not point back"
        shipments.append(
            Shipment(
                id=str(node_id),
                pickup=Stop(node_id, n[4], n[5], n[6]),
                delivery=Stop(delivery_id, d[4], d[5], d[6]),
                size=demand,
            )
        )
    vehicles = tuple(
        Vehicle(
            id=f"v{k}",
            start_location=0,
            end_location=0,
            capacity=capacity,
            start_s=depot[4],
            shift_end_s=depot[5],
        )
        for k in range(num_vehicles)
    )
    return Problem(
        vehicles=vehicles,
        shipments=tuple(shipments),
        durations_s={"default": distance},
        distances_m={"default": distance},
        weights=Weights(per_vehicle=PER_VEHICLE, per_m=1.0, per_late_s=0.0),
        ticks_per_s=TICKS_PER_S,
        name=path.stem,
    )


def read_bks(path: str | Path) -> dict[str, BestKnown]:
    """Read ``bks.csv`` (``instance,routes,distance``)."""
    with open(path, newline="") as f:
        return {
            row["instance"]: BestKnown(int(row["routes"]), float(row["distance"]))
            for row in csv.DictReader(f)
        }


def list_instances(directory: str | Path) -> list[Path]:
    """The instance files of a directory, in name order."""
    return sorted(p for p in Path(directory).glob("*.txt") if p.is_file())
