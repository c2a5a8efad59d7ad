"""Road networks for the geodata tests, built once and cached under ``var/test-networks``.

Building OSRM data takes seconds to minutes, so the networks are not rebuilt per session:
:func:`geodata.network_import.import_network` is idempotent and keyed by the source's
SHA-256, the Lua profile, the OSRM version and the build recipe, so a changed input or
changed code rebuilds, and an unchanged one is reused in milliseconds. Only the profiles
a test needs are built (MLD only, plus CH on Monaco where it is cheap).
"""

from __future__ import annotations

import pytest

from geodata.network_import import import_network
from geodata.network_store import NetworkInfo
from geodata.synth_osm import synthesize_network
from geodata.travel import TravelModels, load_travel_models
from tests.geodata.networks import (
    SYNTH_NAME,
    SYNTH_SEED,
    SYNTH_SIZE_KM,
    TEST_DATA_DIR,
    TEST_NETWORKS_DIR,
    shared_osm,
)


@pytest.fixture(scope="session")
def portland_network() -> NetworkInfo:
    """Central Portland (dense grid, many one-way streets): car and bicycle, MLD."""
    return import_network(
        shared_osm("portland-central.osm.pbf"),
        name="portland",
        networks_dir=TEST_NETWORKS_DIR,
        profiles=["car", "bicycle"],
        algorithms=["mld"],
    ).info


@pytest.fixture(scope="session")
def monaco_network() -> NetworkInfo:
    """Monaco (coast, tunnels, stairs): car, bicycle, foot with CH and MLD."""
    return import_network(
        shared_osm("monaco.osm.pbf"),
        name="monaco",
        networks_dir=TEST_NETWORKS_DIR,
        profiles=["car", "bicycle", "foot"],
        algorithms=["ch", "mld"],
    ).info


@pytest.fixture(scope="session")
def synth_network() -> NetworkInfo:
    """The synthetic city with every profile (MLD)."""
    return synthesize_network(
        name=SYNTH_NAME, data_dir=TEST_DATA_DIR, size_km=SYNTH_SIZE_KM, seed=SYNTH_SEED
    ).info


@pytest.fixture(scope="session")
def portland_models(portland_network: NetworkInfo) -> TravelModels:
    return load_travel_models(TEST_NETWORKS_DIR, portland_network.name)


@pytest.fixture(scope="session")
def monaco_models(monaco_network: NetworkInfo) -> TravelModels:
    return load_travel_models(TEST_NETWORKS_DIR, monaco_network.name)


@pytest.fixture(scope="session")
def synth_models(synth_network: NetworkInfo) -> TravelModels:
    return load_travel_models(TEST_NETWORKS_DIR, synth_network.name)
