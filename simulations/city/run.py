"""A generated city day on a road network, through the service's dispatch code as it ships.

Unlike the Grubhub mode, nothing is adapted: the chosen policy plans multi-stop routes with the
service's defaults (hard windows, offers that couriers accept or decline within the offer
timeout, accepted work moved only for a 20 % gain, couriers re-routed on their way), on the
road network's OSRM travel times. What is simulated is the demand (`simulations.city.demand`),
the couriers' answers and their walking time at handoffs, and their driving along the roads
(`simulations.city.world`). The KPIs come from the day's log.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from dispatch.cadence import Cadence
from dispatch.cycle import PlannerConfig
from dispatch.matrix_cache import MatrixCache
from dispatch.planning import PlanningOptions
from geodata.points import LatLon
from geodata.profiles import VEHICLE_PROFILE
from geodata.travel import PointOffNetwork, TravelModels
from simulations.city.demand import AnswerOffers, CityDemand, generate_day
from simulations.city.world import RoadMatrices, RoadWorld
from simulations.day import DayConfig, DayLog, HandoffTimes, simulate_day
from simulations.mdrp.kpis import summary_stats

__all__ = ["CitySettings", "CityRun", "run_city", "city_kpis"]


@dataclass(frozen=True)
class CitySettings:
    couriers: int = 30
    orders_per_hour: float = 60.0
    hours: float = 4.0
    policy: str = "batch"
    seed: int = 0
    #: Promised delivery within this many minutes of the order (the report's target line).
    promise_min: float = 60.0
    accept_p: float = 0.85
    #: Solver budget per cycle, and the solution limit that makes decisions reproducible.
    solver_time_s: float = 1.0
    solution_limit: int | None = 30


@dataclass
class CityRun:
    settings: CitySettings
    demand: CityDemand
    log: DayLog
    world: RoadWorld
    handoff: HandoffTimes


def _snapper(models: TravelModels):
    model = models.for_profile("car")

    def snap(place: tuple[float, float]) -> tuple[float, float]:
        try:
            point = model.snap(LatLon(*place)).point
        except PointOffNetwork:
            return place
        return (round(point[0], 6), round(point[1], 6))

    return snap


def run_city(models: TravelModels, settings: CitySettings, *, progress=None) -> CityRun:
    """Generates the day on the network's bounding box and simulates it."""
    if models.network is None:
        raise ValueError("a city day needs a road network (courier geodata import/synth)")
    demand = generate_day(bbox=models.network.bbox, couriers=settings.couriers,
                          orders_per_hour=settings.orders_per_hour, hours=settings.hours,
                          seed=settings.seed, snap=_snapper(models),
                          promise_min=settings.promise_min)
    options = PlanningOptions()
    planner = PlannerConfig(policy=settings.policy, solver_time_s=settings.solver_time_s,
                            solver_solution_limit=settings.solution_limit, seed=settings.seed,
                            options=options)
    handoff = HandoffTimes(pickup_before_s=options.pickup_service_s / 2,
                           pickup_after_s=options.pickup_service_s / 2,
                           dropoff_before_s=options.dropoff_service_s / 2,
                           dropoff_after_s=options.dropoff_service_s / 2)
    config = DayConfig(planner=planner, cadence=Cadence(), handoff=handoff, diversion=True,
                       auto_accept=False, seed=settings.seed,
                       end_s=settings.hours * 3600 + 3 * 3600)
    world = RoadWorld(models)
    log = simulate_day(list(demand.orders), list(demand.couriers), world=world,
                       travel=MatrixCache(RoadMatrices(models)), config=config,
                       behaviour=AnswerOffers(accept_p=settings.accept_p), progress=progress)
    return CityRun(settings, demand, log, world, handoff)


def courier_utilisation(run: CityRun) -> list[float]:
    """Per courier: time driving and handing over, over its shift."""
    log = run.log
    busy: dict[int, float] = {}
    for m in log.moves:
        busy[m.courier_id] = busy.get(m.courier_id, 0.0) + (m.arrive_s - m.depart_s)
    handoff = run.handoff
    pickup_s = handoff.pickup_before_s + handoff.pickup_after_s
    dropoff_s = handoff.dropoff_before_s + handoff.dropoff_after_s
    for b in log.bundles:
        busy[b.courier_id] = busy.get(b.courier_id, 0.0) + pickup_s
    for order_id in log.dropoff_s:
        courier = log.courier_of[order_id]
        busy[courier] = busy.get(courier, 0.0) + dropoff_s
    return [busy.get(c.id, 0.0) / max(1.0, c.off_s - c.on_s) for c in run.demand.couriers]


def city_kpis(run: CityRun) -> dict[str, Any]:
    log, s = run.log, run.settings
    orders = log.orders
    delivered = sorted(log.dropoff_s)
    c2d = [(log.dropoff_s[o] - orders[o].placed_s) / 60 for o in delivered]
    r2d = [(log.dropoff_s[o] - orders[o].ready_s) / 60 for o in delivered]
    r2p = [(log.pickup_s[o] - orders[o].ready_s) / 60 for o in delivered if o in log.pickup_s]
    late = [v for v in c2d if v > s.promise_min]
    profile = {c.id: c.vehicle for c in run.demand.couriers}
    distance_m = sum(run.world.distance_m(VEHICLE_PROFILE[profile[m.courier_id]],
                                          m.origin_place, m.destination_place)
                     for m in log.moves if m.diverted_s is None)
    n, total = len(delivered), len(orders)
    utilisation = courier_utilisation(run)
    return {
        "network": run.world.models.network.name if run.world.models.network else None,
        "policy": s.policy, "seed": s.seed, "couriers": s.couriers,
        "orders_per_hour": s.orders_per_hour, "hours": s.hours,
        "orders": total, "orders_delivered": n, "orders_undelivered": total - n,
        "orders_undelivered_pct": round(100.0 * (total - n) / total, 4) if total else 0.0,
        **summary_stats(c2d, "click_to_door"),
        "click_to_door_overage_mean_min": round(float(np.mean(
            [max(0.0, v - s.promise_min) for v in c2d])), 4) if c2d else None,
        "orders_late_share": round(len(late) / n, 4) if n else None,
        **summary_stats(r2d, "ready_to_door"),
        **summary_stats(r2p, "ready_to_pickup"),
        "courier_utilization_mean": round(float(np.mean(utilisation)), 4),
        "orders_per_bundle_mean": round(n / len(log.bundles), 4) if log.bundles else None,
        "offers_accepted": log.offers_accepted, "offers_declined": log.offers_declined,
        "offers_expired": log.offers_expired,
        "diversions": sum(m.diverted_s is not None for m in log.moves),
        "distance_km": round(distance_m / 1000, 3),
        "cycles": len(log.cycles),
        "wall_s": round(log.wall_s, 3), "cpu_s": round(log.cpu_s, 3),
        "simulated_min": round(log.end_s / 60, 1),
        "simulated_min_per_wall_s": round(log.end_s / 60 / max(log.wall_s, 1e-9), 2),
    }


def draw_city(run: CityRun, osm_source: Path | None):
    """The day on the road network: streets (and water) from the network's OSM file, each
    courier leg along its road path, pickup places and buyers."""
    from shapely import wkb

    def draw(ax) -> None:
        if osm_source is not None and osm_source.is_file():
            from geodata.map_features import Layer, extract_features

            for feature in extract_features(osm_source):
                geometry = wkb.loads(bytes.fromhex(feature.wkb_hex))
                lines = getattr(geometry, "geoms", [geometry])
                for line in lines:
                    if feature.layer == Layer.ROADS and line.geom_type == "LineString":
                        xs, ys = line.xy
                        ax.plot(xs, ys, color="#cccccc", linewidth=0.5 + 0.2 * feature.rank,
                                zorder=1)
                    elif feature.layer == Layer.WATER:
                        outline = line.exterior if line.geom_type == "Polygon" else line
                        xs, ys = outline.xy
                        ax.plot(xs, ys, color="#9cc3e6", linewidth=1.5, zorder=1)
        vehicle = {c.id: c.vehicle for c in run.demand.couriers}
        for m in run.log.moves:
            if m.diverted_s is not None:
                continue
            path = run.world.leg(VEHICLE_PROFILE[vehicle[m.courier_id]], m.origin_place,
                                 m.destination_place)[2]
            ax.plot([p[1] for p in path], [p[0] for p in path], color="#3b7dd8", alpha=0.15,
                    linewidth=0.8, zorder=2)
        ax.scatter([o.dropoff[1] for o in run.demand.orders],
                   [o.dropoff[0] for o in run.demand.orders], s=4, color="#27ae60", zorder=3,
                   label="buyers")
        ax.scatter([p[1] for p in run.demand.places], [p[0] for p in run.demand.places], s=18,
                   marker="s", color="#c0392b", zorder=4, label="pickup places")
        ax.legend(frameon=False, loc="upper right")
        ax.set_title("© OpenStreetMap contributors (road network); lines: courier legs",
                     fontsize=9)

    return draw
