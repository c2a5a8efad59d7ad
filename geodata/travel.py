"""The travel-time entry point: ``load_travel_models`` and the types it hands out.

Other packages import from here only::

    from geodata.travel import LatLon, TravelModels, load_travel_models

    models = load_travel_models(settings.networks_dir, settings.network)   # once per process
    m = models.for_vehicle("bicycle")
    m.matrix(sources, destinations).durations_s      # float64, nan = unreachable

Which model answers:

* ``network`` names a built network (its ``network.json`` exists) -> ``kind == "osrm"``;
  every profile built into it gets an :class:`OsrmTravelModel` (CH data when present).
  A profile the network lacks falls back to a straight-line model for that profile and
  is listed in ``fallback_profiles``.
* ``network`` is ``None``, or not built -> ``kind == "straight_line"`` for every profile,
  with ``reason`` saying why (also logged at WARNING).

Vehicle -> profile: ``foot -> foot``, ``bicycle -> bicycle``, ``scooter -> scooter``
(bicycle rules, scooter speeds; see :mod:`geodata.profiles`), ``car -> car``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from geodata.exceptions import (
    GeodataError,
    NetworkNotFound,
    NoRoute,
    PointOffNetwork,
    UnknownProfile,
    UnknownVehicle,
)
from geodata.network_store import NetworkInfo, find_network
from geodata.osrm_travel import DEFAULT_MAX_SNAP_DISTANCE_M, OsrmTravelModel
from geodata.points import LatLon, PlanePoint
from geodata.profiles import (
    DEFAULT_DETOUR_FACTOR,
    PROFILES,
    VEHICLE_PROFILE,
    Profile,
    check_profile,
    profile_for_vehicle,
)
from geodata.straight_line import PlaneModel, StraightLineModel
from geodata.travel_types import Route, RouteLeg, Snapped, TravelMatrix, TravelModel

__all__ = [
    "LatLon",
    "PlanePoint",
    "TravelMatrix",
    "Route",
    "RouteLeg",
    "Snapped",
    "TravelModel",
    "TravelModels",
    "OsrmTravelModel",
    "StraightLineModel",
    "PlaneModel",
    "load_travel_models",
    "PROFILES",
    "VEHICLE_PROFILE",
    "GeodataError",
    "NetworkNotFound",
    "PointOffNetwork",
    "NoRoute",
    "UnknownProfile",
    "UnknownVehicle",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TravelModels:
    """One travel model per profile, chosen once per process (see the module docstring)."""

    kind: Literal["osrm", "straight_line"]
    models: Mapping[Profile, TravelModel]
    #: The loaded network, or ``None`` for straight-line.
    network: NetworkInfo | None = None
    #: Why this kind was chosen, in words (for logs and ``/readyz``-style reports).
    reason: str = ""
    #: Profiles answered by a straight-line model although ``kind == "osrm"``.
    fallback_profiles: tuple[Profile, ...] = field(default=())

    def for_profile(self, profile: str) -> TravelModel:
        """The model for a travel profile (``foot|bicycle|scooter|car``)."""
        return self.models[check_profile(profile)]

    def for_vehicle(self, vehicle: str) -> TravelModel:
        """The model for a courier vehicle type (``foot|bicycle|scooter|car``)."""
        return self.models[profile_for_vehicle(vehicle)]

    @property
    def attribution(self) -> str:
        """Credit line to show with results derived from the network (may be empty)."""
        return self.network.attribution if self.network else ""

    def close(self) -> None:
        """Stop matrix worker processes (only started with ``matrix_workers > 0``)."""
        for model in self.models.values():
            close = getattr(model, "close", None)
            if close is not None:
                close()

    def describe(self) -> dict[str, Any]:
        """A JSON-ready summary: kind, network, per-profile model kinds, reason."""
        return {
            "kind": self.kind,
            "network": self.network.name if self.network else None,
            "profiles": {p: m.kind for p, m in self.models.items()},
            "reason": self.reason,
            "attribution": self.attribution,
        }


def load_travel_models(
    networks_dir: Path,
    network: str | None,
    *,
    algorithm: str | None = None,
    max_snap_distance_m: float = DEFAULT_MAX_SNAP_DISTANCE_M,
    detour_factor: float = DEFAULT_DETOUR_FACTOR,
    strict: bool = False,
    matrix_workers: int = 0,
) -> TravelModels:
    """Load the travel models for ``network`` from ``networks_dir`` (call once per process).

    ``algorithm`` forces ``"ch"`` or ``"mld"``; by default CH is used when built (it is
    ~10x faster for matrices). ``strict=True`` raises :class:`NetworkNotFound` instead of
    falling back to straight lines when the network is not built. ``matrix_workers``
    extra processes per profile may share very large matrices (0: never; see
    :mod:`geodata.osrm_table_workers`).
    """
    straight = {p: StraightLineModel.for_profile(p, detour_factor=detour_factor) for p in PROFILES}
    if network is None:
        reason = "no road network configured (COURIER_NETWORK unset): straight-line travel model"
        log.warning(reason)
        return TravelModels("straight_line", straight, None, reason)

    info = find_network(Path(networks_dir), network)
    if info is None:
        if strict:
            raise NetworkNotFound(
                f"road network {network!r} is not built in {networks_dir}",
                details={"network": network},
            )
        reason = (
            f"road network {network!r} is not built in {networks_dir} "
            f"(run `courier geodata import` or `synth`): straight-line travel model"
        )
        log.warning(reason)
        return TravelModels("straight_line", straight, None, reason)

    chosen = (algorithm or ("ch" if "ch" in info.algorithms else info.algorithms[0])).lower()
    models: dict[Profile, TravelModel] = {}
    fallback: list[Profile] = []
    for profile in PROFILES:
        if profile in info.profiles:
            models[profile] = OsrmTravelModel(
                info.osrm_path(profile),
                profile=profile,
                algorithm=chosen,
                max_snap_distance_m=max_snap_distance_m,
                bbox=info.bbox,
                matrix_workers=matrix_workers,
            )
        else:
            models[profile] = straight[profile]
            fallback.append(profile)
    reason = f"OSRM ({chosen.upper()}) on network {info.name!r}"
    if fallback:
        reason += f"; straight-line for profiles not built: {', '.join(fallback)}"
        log.warning(reason)
    else:
        log.info(reason)
    return TravelModels("osrm", models, info, reason, tuple(fallback))
