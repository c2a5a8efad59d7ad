"""Where the geodata tests find reference extracts and keep their cached networks."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SHARED_DATA = Path(os.environ.get("COURIER_SHARED_DATA", PROJECT_ROOT.parent / "shared" / "data"))
OSM_DIR = SHARED_DATA / "osm"
#: The cache: ``var/`` is git-ignored.
TEST_DATA_DIR = PROJECT_ROOT / "var" / "test-networks"
TEST_NETWORKS_DIR = TEST_DATA_DIR / "networks"

#: Synthetic city used by the tests: small, so cold builds stay quick.
SYNTH_NAME, SYNTH_SIZE_KM, SYNTH_SEED = "synth-test", 2.5, 7


def shared_osm(name: str) -> Path:
    path = OSM_DIR / name
    if not path.is_file():
        pytest.fail(f"reference extract missing: {path} (expected ../shared/data beside the repo)")
    return path
