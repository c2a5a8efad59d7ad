"""Every error the road-network and travel-time code raises, in one hierarchy.

Callers catch :class:`GeodataError` (or one branch of it) and read two attributes:
``code`` -- a short, stable snake_case name the HTTP layer puts in
``{"error": {"code", "message", "details"}}`` -- and ``details`` -- a JSON-ready dict
with the specifics (which point, which file, ...). The message is for humans.

::

    GeodataError                      code
    ├── InvalidInput                  invalid_input
    │   ├── InvalidPoint              invalid_point         (lat/lon not finite or out of range)
    │   ├── UnknownProfile            unknown_profile       (not foot|bicycle|scooter|car)
    │   ├── UnknownVehicle            unknown_vehicle
    │   ├── TooManyPoints             too_many_points       (request larger than a set limit)
    │   └── InvalidNetworkName        invalid_network_name
    ├── InvalidOsmFile                invalid_osm_file      (unreadable, not OSM, no roads)
    │   └── OsmFileNotFound           osm_file_not_found
    ├── NetworkNotFound               network_not_found     (no built network of that name)
    ├── ProfileNotBuilt               profile_not_built     (network lacks that profile)
    ├── NetworkBuildFailed            network_build_failed  (an OSRM tool failed)
    ├── PointOffNetwork               point_off_network     (nothing routable near a point)
    └── NoRoute                       no_route              (points on separate islands)
"""

from __future__ import annotations

from typing import Any, ClassVar

__all__ = [
    "GeodataError",
    "InvalidInput",
    "InvalidPoint",
    "UnknownProfile",
    "UnknownVehicle",
    "TooManyPoints",
    "InvalidNetworkName",
    "InvalidOsmFile",
    "OsmFileNotFound",
    "NetworkNotFound",
    "ProfileNotBuilt",
    "NetworkBuildFailed",
    "PointOffNetwork",
    "NoRoute",
]


class GeodataError(Exception):
    """Base of every error raised by ``geodata``; carries ``code`` and ``details``."""

    code: ClassVar[str] = "geodata_error"

    def __init__(self, message: str, *, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details: dict[str, Any] = details or {}

    def to_dict(self) -> dict[str, Any]:
        """The error as the API's ``error`` object."""
        return {"code": self.code, "message": self.message, "details": self.details}


class InvalidInput(GeodataError):
    """The caller passed something malformed; fix the request, not the server."""

    code = "invalid_input"


class InvalidPoint(InvalidInput):
    """A coordinate is not finite or outside -90..90 latitude / -180..180 longitude."""

    code = "invalid_point"


class UnknownProfile(InvalidInput):
    """A travel profile name that is not one of ``foot|bicycle|scooter|car``."""

    code = "unknown_profile"


class UnknownVehicle(InvalidInput):
    """A vehicle type with no travel profile mapped to it."""

    code = "unknown_vehicle"


class TooManyPoints(InvalidInput):
    """A matrix or route request over the configured size limit."""

    code = "too_many_points"


class InvalidNetworkName(InvalidInput):
    """Network names become folder names, so only ``[a-z0-9_-]`` is allowed."""

    code = "invalid_network_name"


class InvalidOsmFile(GeodataError):
    """The import input is not a readable OSM file, or holds nothing routable."""

    code = "invalid_osm_file"


class OsmFileNotFound(InvalidOsmFile):
    """The import input path does not exist."""

    code = "osm_file_not_found"


class NetworkNotFound(GeodataError):
    """No built network (one with a ``network.json``) goes by that name."""

    code = "network_not_found"


class ProfileNotBuilt(GeodataError):
    """The network exists but was imported without this profile."""

    code = "profile_not_built"


class NetworkBuildFailed(GeodataError):
    """An OSRM preprocessing tool exited with an error; ``details`` has its log tail."""

    code = "network_build_failed"


class PointOffNetwork(GeodataError):
    """A point lies farther from any routable way than the snapping limit allows.

    ``details`` holds ``points``: a list of ``{"role", "index", "lat", "lon",
    "distance_m"}`` (``distance_m`` is null when nothing was found at all).
    """

    code = "point_off_network"


class NoRoute(GeodataError):
    """Both points snap, but no path joins them (e.g. an island with no bridge)."""

    code = "no_route"
