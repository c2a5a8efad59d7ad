"""Build OSRM road data for a network: ``courier geodata import FILE --name NAME``.

Per profile the recipe is ``osrm-extract`` then, on the same files,

* ``osrm-partition`` + ``osrm-customize`` (MLD) -- always, and
* ``osrm-contract`` (CH) -- by default for imports, not for the synthetic demo city.

Why both, measured on Porto (bicycle, 2 shared cores): a 2000x2000 table takes ~33 s on
MLD and ~2.7 s on CH, so dispatch-sized matrices need CH. But CH preprocessing is slow on
grid-like street networks (Porto 30 s per profile, central Portland 80 s, the synthetic
grid city 15 s against 0.2 s for MLD), while MLD builds in seconds, is what the OSRM
project recommends for routes and can take live traffic later (``osrm-customize``
re-runs in seconds). The travel model loads CH when it was built.

Guarantees:

* **Nothing half-built.** Everything is built in ``networks/.tmp-<name>-*/`` and moved
  into place with a rename; ``network.json`` is written before that move, so a network
  folder either has a complete ``network.json`` or does not exist. A crash leaves only
  dot-folders, which the next import of that name cleans up (restoring the previous
  network if the crash came mid-swap).
* **Idempotent.** A profile whose fingerprint (source SHA-256, Lua profile text, OSRM
  version, recipe version) matches the built one is reused (hard-linked), not rebuilt;
  if every requested profile matches, the import is a no-op.
* **One importer per name** at a time (``flock`` on ``networks/.<name>.lock``).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from geodata.exceptions import InvalidInput, NetworkBuildFailed
from geodata.network_store import (
    BUILD_JSON,
    FORMAT_VERSION,
    NETWORK_JSON,
    OSRM_BASENAME,
    NetworkInfo,
    check_network_name,
    find_network,
    write_json_atomic,
)
from geodata.osm_inspect import inspect_osm, sha256_file
from geodata.osm_renumber import renumber_negative_ids
from geodata.profiles import (
    PROFILES,
    Profile,
    check_profile,
    osrm_package_dir,
    osrm_tool,
    osrm_version,
    profile_fingerprint,
    render_profile,
)

__all__ = ["OSM_ATTRIBUTION", "ALGORITHMS", "DEFAULT_ALGORITHMS", "ImportResult", "import_network"]

OSM_ATTRIBUTION: Final = "© OpenStreetMap contributors"
#: OSRM algorithms we know how to build (see the module docstring for why both).
ALGORITHMS: Final[tuple[str, ...]] = ("ch", "mld")
DEFAULT_ALGORITHMS: Final[tuple[str, ...]] = ("ch", "mld")
#: osrm-extract's complaint about negative OSM ids (see geodata.osm_renumber).
_NEGATIVE_ID_ERROR: Final = "exceeds the 40-bit packed storage limit"

Progress = Callable[[str], None]


@dataclass(frozen=True)
class ImportResult:
    """What an import did: the network now in place and which profiles were (re)built."""

    info: NetworkInfo
    built: tuple[Profile, ...]
    reused: tuple[Profile, ...]
    #: True when nothing needed doing (same source, same profiles, same recipe).
    unchanged: bool
    seconds: float


def import_network(
    source: Path,
    *,
    name: str,
    networks_dir: Path,
    profiles: Sequence[str] | None = None,
    threads: int | None = None,
    algorithms: Sequence[str] = DEFAULT_ALGORITHMS,
    progress: Progress | None = None,
    attribution: str = OSM_ATTRIBUTION,
    extra: dict[str, Any] | None = None,
) -> ImportResult:
    """Build (or reuse) OSRM data for ``profiles`` of ``source`` as network ``name``.

    ``profiles=None`` means every fleet profile (:data:`geodata.profiles.PROFILES`).
    ``algorithms`` is a subset of ``("ch", "mld")``; MLD is always included.
    Profiles already built from the same source are kept even when not requested, so
    importing ``--profile car`` after ``--profile bicycle`` gives a network with both.
    ``extra`` is stored verbatim in ``network.json`` (the synthetic city puts its seed there).
    """
    started = time.perf_counter()
    say = progress or (lambda _msg: None)
    check_network_name(name)
    wanted = _normalise_profiles(profiles)
    algos = _normalise_algorithms(algorithms)
    source = Path(source)
    networks_dir = Path(networks_dir)

    say(f"checking {source}")
    summary = inspect_osm(source)  # refuses missing / non-OSM / roadless files
    source_sha256 = sha256_file(source)
    fingerprints = {p: _build_fingerprint(p, source_sha256, algos) for p in PROFILES}

    networks_dir.mkdir(parents=True, exist_ok=True)
    with _name_lock(networks_dir, name):
        _remove_stale_builds(networks_dir, name)
        existing = find_network(networks_dir, name)
        reusable = _reusable_profiles(existing, fingerprints) if existing else {}
        if existing and set(wanted) <= set(reusable) and existing.source_sha256 == source_sha256:
            say(f"network {name!r} is up to date ({', '.join(existing.profiles)})")
            return ImportResult(existing, (), tuple(wanted), True, time.perf_counter() - started)

        keep = [p for p in PROFILES if p in wanted or p in reusable]
        tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{name}-", dir=networks_dir))
        try:
            tmp.chmod(0o755)  # mkdtemp makes it owner-only; the service may run as another user
            built: list[Profile] = []
            reused: list[Profile] = []
            extract_input = source
            for profile in keep:
                target = tmp / profile
                if profile in reusable:
                    say(f"{profile}: unchanged, reusing the existing build")
                    _link_tree(reusable[profile], target)
                    reused.append(profile)
                    continue
                try:
                    _build_profile(
                        extract_input, profile, target, fingerprints[profile], algos, threads, say
                    )
                except NetworkBuildFailed as exc:
                    if extract_input != source or not _is_negative_id_failure(exc):
                        raise
                    say("the file has negative OSM ids, which OSRM rejects: renumbering")
                    extract_input = tmp / "renumbered.osm.pbf"
                    renumber_negative_ids(source, extract_input)
                    shutil.rmtree(target)
                    _build_profile(
                        extract_input, profile, target, fingerprints[profile], algos, threads, say
                    )
                built.append(profile)
            if extract_input != source:
                extract_input.unlink()
            meta: dict[str, Any] = {
                "name": name,
                "source": str(source.resolve()),
                "source_sha256": source_sha256,
                "source_bytes": source.stat().st_size,
                "profiles": keep,
                "bbox": list(summary.bbox),
                "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "algorithms": list(algos),
                "attribution": attribution,
                "format_version": FORMAT_VERSION,
                "osrm_version": osrm_version(),
                "profile_fingerprints": {p: fingerprints[p] for p in keep},
                "highway_ways": summary.highway_ways,
                "highway_nodes": summary.highway_nodes,
                **(extra or {}),
            }
            write_json_atomic(tmp / NETWORK_JSON, meta)
            final = _swap_into_place(tmp, networks_dir / name)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    info = NetworkInfo.from_json(final, meta)
    seconds = time.perf_counter() - started
    say(f"network {name!r} ready in {seconds:.1f} s: {', '.join(keep)} -> {final}")
    return ImportResult(info, tuple(built), tuple(reused), False, seconds)


def _normalise_profiles(profiles: Sequence[str] | None) -> list[Profile]:
    if not profiles:
        return list(PROFILES)
    checked = {check_profile(p) for p in profiles}
    return [p for p in PROFILES if p in checked]


def _normalise_algorithms(algorithms: Sequence[str]) -> tuple[str, ...]:
    chosen = {a.lower() for a in algorithms} | {"mld"}
    unknown = chosen - set(ALGORITHMS)
    if unknown:
        raise InvalidInput(
            f"unknown OSRM algorithm(s): {', '.join(sorted(unknown))}; expected ch and/or mld",
            details={"algorithms": sorted(unknown)},
        )
    return tuple(a for a in ALGORITHMS if a in chosen)


def _is_negative_id_failure(exc: NetworkBuildFailed) -> bool:
    return exc.details.get("step") == "extract" and any(
        _NEGATIVE_ID_ERROR in line for line in exc.details.get("log_tail", [])
    )


def _build_fingerprint(profile: Profile, source_sha256: str, algorithms: tuple[str, ...]) -> str:
    digest = hashlib.sha256()
    for part in (source_sha256, profile_fingerprint(profile), ",".join(algorithms)):
        digest.update(part.encode())
    digest.update(str(FORMAT_VERSION).encode())
    return digest.hexdigest()


def _reusable_profiles(
    existing: NetworkInfo, fingerprints: dict[Profile, str]
) -> dict[Profile, Path]:
    """Profiles of ``existing`` whose recorded build fingerprint matches today's recipe."""
    reusable: dict[Profile, Path] = {}
    for profile in existing.profiles:
        folder = existing.path / profile
        try:
            recorded = json.loads((folder / BUILD_JSON).read_text())["fingerprint"]
        except (OSError, ValueError, KeyError):
            continue
        if recorded == fingerprints.get(profile):
            reusable[profile] = folder
    return reusable


def _build_profile(
    source: Path,
    profile: Profile,
    target: Path,
    fingerprint: str,
    algorithms: tuple[str, ...],
    threads: int | None,
    say: Progress,
) -> None:
    target.mkdir(parents=True)
    lua_text = render_profile(profile)
    (target / "profile.lua").write_text(lua_text)
    # Stock profiles must run from the osrm package folder: OSRM resolves their
    # `require('lib/...')` relative to the profile file. Ours sets its own package.path.
    stock = osrm_package_dir() / "share" / "profiles" / f"{profile}.lua"
    lua_path = target / "profile.lua" if profile == "scooter" else stock
    base = target / OSRM_BASENAME
    thread_args = ["-t", str(threads or os.cpu_count() or 1)]
    steps: list[tuple[str, list[str]]] = [
        (
            "extract",
            [
                str(osrm_tool("osrm-extract")),
                "-p",
                str(lua_path),
                str(source.resolve()),
                "-o",
                str(base),
                *thread_args,
            ],
        ),
        ("partition", [str(osrm_tool("osrm-partition")), str(base), *thread_args]),
        ("customize", [str(osrm_tool("osrm-customize")), str(base), *thread_args]),
    ]
    if "ch" in algorithms:
        steps.append(("contract", [str(osrm_tool("osrm-contract")), str(base), *thread_args]))
    log_path = target / "build.log"
    timings: dict[str, float] = {}
    with open(log_path, "w") as log:
        for step, argv in steps:
            say(f"{profile}: {step} ...")
            t0 = time.perf_counter()
            completed = subprocess.run(
                [*argv, "-l", "WARNING"], stdout=log, stderr=subprocess.STDOUT, cwd=target
            )
            timings[step] = round(time.perf_counter() - t0, 3)
            if completed.returncode != 0:
                log.flush()
                tail = log_path.read_text(errors="replace").splitlines()[-15:]
                raise NetworkBuildFailed(
                    f"osrm-{step} failed for profile {profile!r} (exit {completed.returncode})",
                    details={"profile": profile, "step": step, "log_tail": tail},
                )
            say(f"{profile}: {step} done in {timings[step]:.1f} s")
    write_json_atomic(
        target / BUILD_JSON,
        {
            "profile": profile,
            "fingerprint": fingerprint,
            "seconds": timings,
            "algorithms": list(algorithms),
        },
    )


def _link_tree(src: Path, dst: Path) -> None:
    """Copy a built profile folder cheaply: hard links, falling back to real copies."""

    def link_or_copy(s: str, d: str) -> None:
        try:
            os.link(s, d)
        except OSError:
            shutil.copy2(s, d)

    shutil.copytree(src, dst, copy_function=link_or_copy)


def _swap_into_place(tmp: Path, final: Path) -> Path:
    """Move the finished build ``tmp`` to ``final``, replacing an older build if any."""
    if final.exists():
        old = Path(tempfile.mkdtemp(prefix=f".old-{final.name}-", dir=final.parent))
        os.replace(final, old / "build")
        try:
            os.replace(tmp, final)
        except BaseException:
            os.replace(old / "build", final)  # put the previous network back
            raise
        finally:
            shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(tmp, final)
    return final


def _remove_stale_builds(networks_dir: Path, name: str) -> None:
    """Clean up after interrupted imports of ``name`` (we hold its lock).

    A crash between the two renames of :func:`_swap_into_place` leaves the previous
    network in ``.old-<name>-*/build`` and nothing at ``<name>``: put it back first.
    """
    final = networks_dir / name
    if not final.exists():
        for old in sorted(networks_dir.glob(f".old-{name}-*")):
            if (old / "build" / NETWORK_JSON).is_file():
                os.replace(old / "build", final)
                break
    for pattern in (f".tmp-{name}-*", f".old-{name}-*"):
        for leftover in networks_dir.glob(pattern):
            shutil.rmtree(leftover, ignore_errors=True)


@contextlib.contextmanager
def _name_lock(networks_dir: Path, name: str) -> Iterator[None]:
    lock_path = networks_dir / f".{name}.lock"
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
