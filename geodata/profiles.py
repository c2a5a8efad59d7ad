"""Travel profiles: which OSRM profile serves which courier vehicle, and at what speed.

=========  ====================  ==========================================================
vehicle    OSRM profile          notes
=========  ====================  ==========================================================
foot       stock ``foot.lua``    footways, pedestrian zones, steps; ~5 km/h
bicycle    stock ``bicycle.lua`` cycleways and roads (no motorways/trunks), one-ways
                                 respected, pushed at 4 km/h through pedestrian zones
scooter    ``lua/scooter.lua``   bicycle access rules with scooter speeds (20 km/h cruise,
                                 25 km/h cap): courier e-scooters and 25 km/h e-mopeds ride
                                 under cycle rules, and their speed is set by the limiter,
                                 not the road class -- the car profile would send them onto
                                 motorways and keep them off cycleways
car        stock ``car.lua``     cars and vans
=========  ====================  ==========================================================

The straight-line fallback uses :data:`STRAIGHT_LINE_SPEED_MPS` (door-to-door averages in a
city, including stops) and a detour factor over the great-circle distance.
"""

from __future__ import annotations

import hashlib
import importlib.resources
import importlib.util
from importlib import metadata
from pathlib import Path
from typing import Final, Literal, get_args

from geodata.exceptions import UnknownProfile, UnknownVehicle

__all__ = [
    "Profile",
    "PROFILES",
    "VEHICLE_PROFILE",
    "STRAIGHT_LINE_SPEED_MPS",
    "DEFAULT_DETOUR_FACTOR",
    "check_profile",
    "profile_for_vehicle",
    "osrm_package_dir",
    "osrm_tool",
    "osrm_version",
    "profile_fingerprint",
    "render_profile",
]

Profile = Literal["foot", "bicycle", "scooter", "car"]

#: Every profile the fleet uses, in the order ``import`` builds them.
PROFILES: Final[tuple[Profile, ...]] = get_args(Profile)

#: Vehicle type (as in ``POST /couriers``) -> travel profile. One to one today; kept as a
#: table so a new vehicle (e.g. ``cargo_bike``) can reuse an existing profile.
VEHICLE_PROFILE: Final[dict[str, Profile]] = {
    "foot": "foot",
    "bicycle": "bicycle",
    "scooter": "scooter",
    "car": "car",
}

#: Average door-to-door speeds for the straight-line model, metres per second.
STRAIGHT_LINE_SPEED_MPS: Final[dict[Profile, float]] = {
    "foot": 5.0 / 3.6,
    "bicycle": 14.0 / 3.6,
    "scooter": 18.0 / 3.6,
    "car": 25.0 / 3.6,
}

#: Road distance / great-circle distance in a typical city grid (about sqrt(2) for a
#: Manhattan grid at random headings, less where diagonals exist).
DEFAULT_DETOUR_FACTOR: Final[float] = 1.3


def check_profile(profile: str) -> Profile:
    """Return ``profile`` typed as :data:`Profile`, or raise :class:`UnknownProfile`."""
    if profile not in PROFILES:
        raise UnknownProfile(
            f"unknown travel profile {profile!r}; expected one of {', '.join(PROFILES)}",
            details={"profile": profile, "allowed": list(PROFILES)},
        )
    return profile


def profile_for_vehicle(vehicle: str) -> Profile:
    """The travel profile serving a courier vehicle type."""
    try:
        return VEHICLE_PROFILE[vehicle]
    except KeyError:
        raise UnknownVehicle(
            f"unknown vehicle type {vehicle!r}; expected one of {', '.join(VEHICLE_PROFILE)}",
            details={"vehicle": vehicle, "allowed": list(VEHICLE_PROFILE)},
        ) from None


def osrm_package_dir() -> Path:
    """Folder of the installed ``osrm`` package (holds ``bin/`` and ``share/profiles/``).

    Found through the import system without importing the extension module, so the
    import CLI stays light.
    """
    spec = importlib.util.find_spec("osrm")
    if spec is None or spec.origin is None:  # pragma: no cover - dependency missing
        raise RuntimeError("the osrm-bindings package is not installed")
    return Path(spec.origin).parent


def osrm_tool(name: str) -> Path:
    """Path of an OSRM preprocessing binary shipped in the wheel, e.g. ``osrm-extract``."""
    return osrm_package_dir() / "bin" / name


def osrm_version() -> str:
    """Version of osrm-bindings; part of every build fingerprint (data formats change)."""
    return metadata.version("osrm-bindings")


def render_profile(profile: Profile) -> str:
    """The Lua source OSRM should run for ``profile``, with paths filled in.

    Stock profiles are returned as they ship; ``scooter`` is ours and wraps bicycle.lua.
    The text is hashed into the build fingerprint, so a profile edit triggers a rebuild.
    """
    stock_dir = osrm_package_dir() / "share" / "profiles"
    if profile == "scooter":
        template = (importlib.resources.files("geodata") / "lua" / "scooter.lua").read_text()
        return template.replace("@OSRM_PROFILES_DIR@", str(stock_dir))
    return (stock_dir / f"{profile}.lua").read_text()


def profile_fingerprint(profile: Profile) -> str:
    """Hash of what decides a profile's OSRM output apart from the input file."""
    digest = hashlib.sha256()
    digest.update(render_profile(profile).encode())
    if profile == "scooter":  # the wrapper runs bicycle.lua; its edits matter too
        digest.update(render_profile("bicycle").encode())
    digest.update(osrm_version().encode())
    return digest.hexdigest()
