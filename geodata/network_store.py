"""Where built road networks live on disk and how to read their metadata.

Layout under ``<data_dir>/networks/``::

    <name>/
        network.json            written last, atomically; no network.json = not built
        <profile>/              one folder per OSRM profile (foot, bicycle, scooter, car)
            network.osrm.*      OSRM data: CH (``.hsgr``) and MLD (``.partition``, ...)
            build.json          what this profile was built from (fingerprints)
            profile.lua         the exact Lua profile used, for provenance
    .tmp-<name>-<random>/       a build in progress (removed on success or failure)

``network.json`` holds at least ``name``, ``source``, ``profiles``, ``bbox`` as
``[min_lon, min_lat, max_lon, max_lat]`` (GeoJSON order), ``built_at`` (ISO 8601, UTC),
plus ``source_sha256``, ``algorithms``, ``attribution`` and ``format_version``.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from geodata.exceptions import InvalidNetworkName, NetworkNotFound, ProfileNotBuilt
from geodata.profiles import Profile

__all__ = [
    "NETWORK_JSON",
    "BUILD_JSON",
    "OSRM_BASENAME",
    "FORMAT_VERSION",
    "NetworkInfo",
    "check_network_name",
    "network_dir",
    "find_network",
    "read_network",
    "list_networks",
    "write_json_atomic",
]

NETWORK_JSON: Final = "network.json"
BUILD_JSON: Final = "build.json"
OSRM_BASENAME: Final = "network.osrm"
#: Bumped when the layout or the build recipe changes, so old builds are redone.
FORMAT_VERSION: Final = 1

_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


@dataclass(frozen=True)
class NetworkInfo:
    """A built network as described by its ``network.json``."""

    name: str
    path: Path
    source: str
    source_sha256: str
    profiles: tuple[Profile, ...]
    #: ``(min_lon, min_lat, max_lon, max_lat)`` in degrees, GeoJSON axis order.
    bbox: tuple[float, float, float, float]
    built_at: str
    algorithms: tuple[str, ...]
    attribution: str
    raw: dict[str, Any] = field(repr=False, compare=False)

    def osrm_path(self, profile: Profile) -> Path:
        """Base path OSRM opens for ``profile`` (``.../<profile>/network.osrm``)."""
        if profile not in self.profiles:
            raise ProfileNotBuilt(
                f"network {self.name!r} was built without the {profile!r} profile",
                details={"network": self.name, "profile": profile, "built": list(self.profiles)},
            )
        return self.path / profile / OSRM_BASENAME

    @classmethod
    def from_json(cls, path: Path, data: dict[str, Any]) -> NetworkInfo:
        return cls(
            name=data["name"],
            path=path,
            source=data["source"],
            source_sha256=data.get("source_sha256", ""),
            profiles=tuple(data["profiles"]),
            bbox=tuple(float(v) for v in data["bbox"]),  # type: ignore[arg-type]
            built_at=data["built_at"],
            algorithms=tuple(data.get("algorithms", ("mld",))),
            attribution=data.get("attribution", ""),
            raw=data,
        )


def check_network_name(name: str) -> str:
    """Return ``name`` if it is a safe folder name (``[a-z0-9][a-z0-9_-]*``, <= 64 chars)."""
    if not isinstance(name, str) or not _NAME_RE.fullmatch(name):
        raise InvalidNetworkName(
            f"invalid network name {name!r}: use lowercase letters, digits, '-' and '_'",
            details={"name": name},
        )
    return name


def network_dir(networks_dir: Path, name: str) -> Path:
    return Path(networks_dir) / check_network_name(name)


def find_network(networks_dir: Path, name: str) -> NetworkInfo | None:
    """The built network called ``name``, or ``None`` when it is missing or unfinished."""
    path = network_dir(networks_dir, name)
    try:
        data = json.loads((path / NETWORK_JSON).read_text())
    except FileNotFoundError:
        return None
    return NetworkInfo.from_json(path, data)


def read_network(networks_dir: Path, name: str) -> NetworkInfo:
    """Like :func:`find_network` but raises :class:`NetworkNotFound`."""
    info = find_network(networks_dir, name)
    if info is None:
        raise NetworkNotFound(
            f"no built road network named {name!r} in {networks_dir}",
            details={"network": name},
        )
    return info


def list_networks(networks_dir: Path) -> list[NetworkInfo]:
    """All built networks, by name; folders without ``network.json`` are skipped."""
    base = Path(networks_dir)
    if not base.is_dir():
        return []
    found = []
    for child in sorted(base.iterdir()):
        if child.is_dir() and not child.name.startswith(".") and _NAME_RE.fullmatch(child.name):
            info = find_network(base, child.name)
            if info is not None:
                found.append(info)
    return found


def write_json_atomic(path: Path, data: dict[str, Any]) -> None:
    """Write JSON to a temp file beside ``path``, fsync it, then rename over ``path``."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(data, f, indent=2, sort_keys=True)
            f.write("\n")
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes it owner-only
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
