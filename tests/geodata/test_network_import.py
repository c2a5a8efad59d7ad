"""Importing OSM extracts into OSRM networks: layout, idempotency, refusals, no leftovers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from geodata.cli import main as geodata_cli
from geodata.exceptions import (
    InvalidNetworkName,
    InvalidOsmFile,
    NetworkNotFound,
    OsmFileNotFound,
    ProfileNotBuilt,
    UnknownProfile,
)
from geodata.network_import import import_network
from geodata.network_store import list_networks, read_network
from tests.geodata.networks import TEST_NETWORKS_DIR, shared_osm


def _leftovers(networks_dir: Path) -> list[str]:
    if not networks_dir.exists():
        return []
    return sorted(p.name for p in networks_dir.iterdir() if not p.name.endswith(".lock"))


def test_portland_import_has_the_documented_layout(portland_network):
    info = portland_network
    meta = json.loads((info.path / "network.json").read_text())
    for key in ("name", "source", "profiles", "bbox", "built_at", "source_sha256", "attribution"):
        assert key in meta
    assert meta["attribution"] == "© OpenStreetMap contributors"
    assert {"car", "bicycle"} <= set(info.profiles)
    min_lon, min_lat, max_lon, max_lat = info.bbox
    # Pioneer Courthouse Square, downtown Portland, lies inside the network's extent.
    assert min_lon < -122.679 < max_lon and min_lat < 45.519 < max_lat
    for profile in info.profiles:
        assert (info.path / profile / "network.osrm.partition").is_file()
        assert json.loads((info.path / profile / "build.json").read_text())["profile"] == profile


def test_import_is_idempotent(portland_network):
    again = import_network(
        shared_osm("portland-central.osm.pbf"),
        name="portland",
        networks_dir=TEST_NETWORKS_DIR,
        profiles=["car"],
        algorithms=["mld"],
    )
    assert again.unchanged
    assert again.info.built_at == portland_network.built_at


def test_missing_file_is_refused_and_nothing_is_left(tmp_path):
    networks = tmp_path / "networks"
    with pytest.raises(OsmFileNotFound) as info:
        import_network(tmp_path / "nope.osm.pbf", name="nope", networks_dir=networks)
    assert info.value.code == "osm_file_not_found"
    assert _leftovers(networks) == []


def test_non_osm_file_is_refused_and_nothing_is_left(tmp_path):
    junk = tmp_path / "junk.osm.pbf"
    junk.write_bytes(bytes(range(256)) * 40)
    networks = tmp_path / "networks"
    with pytest.raises(InvalidOsmFile) as info:
        import_network(junk, name="junk", networks_dir=networks)
    assert info.value.code == "invalid_osm_file"
    assert "junk.osm.pbf" in info.value.message
    assert _leftovers(networks) == []


def test_wrong_extension_is_refused(tmp_path):
    text = tmp_path / "roads.csv"
    text.write_text("lat,lon\n")
    with pytest.raises(InvalidOsmFile):
        import_network(text, name="csv", networks_dir=tmp_path / "networks")


def test_osm_file_without_roads_is_refused(tmp_path):
    empty = tmp_path / "empty.osm"
    empty.write_text(
        '<?xml version="1.0"?>\n<osm version="0.6">'
        '<node id="1" lat="41.3" lon="69.2"/><node id="2" lat="41.31" lon="69.21"/>'
        '<way id="1"><nd ref="1"/><nd ref="2"/><tag k="natural" v="tree_row"/></way></osm>\n'
    )
    with pytest.raises(InvalidOsmFile, match="no roads"):
        import_network(empty, name="empty", networks_dir=tmp_path / "networks")
    assert _leftovers(tmp_path / "networks") == []


def test_bad_names_and_profiles_are_refused(tmp_path):
    osm = shared_osm("monaco.osm.pbf")
    with pytest.raises(InvalidNetworkName):
        import_network(osm, name="../etc", networks_dir=tmp_path)
    with pytest.raises(UnknownProfile):
        import_network(osm, name="monaco", networks_dir=tmp_path, profiles=["hovercraft"])


def test_reading_networks(portland_network, tmp_path):
    again = read_network(TEST_NETWORKS_DIR, "portland")
    assert again.source_sha256 == portland_network.source_sha256
    assert "portland" in [n.name for n in list_networks(TEST_NETWORKS_DIR)]
    with pytest.raises(NetworkNotFound):
        read_network(tmp_path, "portland")
    with pytest.raises(ProfileNotBuilt) as info:
        portland_network.osrm_path("scooter")  # the tests build car and bicycle only
    assert info.value.code == "profile_not_built"


def test_a_folder_without_network_json_is_not_a_network(tmp_path):
    (tmp_path / "half").mkdir()
    (tmp_path / "half" / "car").mkdir()
    assert list_networks(tmp_path) == []
    with pytest.raises(NetworkNotFound):
        read_network(tmp_path, "half")


def test_cli_exit_codes_and_messages(tmp_path, capsys):
    missing = str(tmp_path / "missing.osm.pbf")
    assert geodata_cli(["import", missing, "--name", "x"], data_dir=tmp_path) == 2
    assert "not found" in capsys.readouterr().err
    junk = tmp_path / "junk.osm.pbf"
    junk.write_bytes(b"\x00\x00\x00\x0dnot a pbf at all")
    assert geodata_cli(["import", str(junk), "--name", "x"], data_dir=tmp_path) == 2
    assert _leftovers(tmp_path / "networks") == []
    with pytest.raises(SystemExit):
        geodata_cli(["import", str(junk), "--name", "x", "--profile", "tank"], data_dir=tmp_path)


def test_cli_synth_builds_then_reports_up_to_date(tmp_path, capsys):
    argv = ["synth", "--name", "tiny", "--size-km", "1", "--seed", "3", "--profile", "car"]
    assert geodata_cli(argv, data_dir=tmp_path) == 0
    assert "built" in capsys.readouterr().out
    assert (tmp_path / "networks" / "tiny" / "network.json").is_file()
    assert geodata_cli(argv, data_dir=tmp_path) == 0
    assert "already up to date" in capsys.readouterr().out
    assert geodata_cli(["list"], data_dir=tmp_path) == 0
    assert capsys.readouterr().out.startswith("tiny\tcar")


def test_adding_a_profile_keeps_the_built_ones(tmp_path):
    from geodata.synth_osm import synthesize_network

    first = synthesize_network(name="grow", data_dir=tmp_path, size_km=1, profiles=["car"])
    second = synthesize_network(name="grow", data_dir=tmp_path, size_km=1, profiles=["foot"])
    assert first.built == ("car",)
    assert second.built == ("foot",) and second.reused == ("car",)
    assert set(read_network(tmp_path / "networks", "grow").profiles) == {"car", "foot"}
    assert _leftovers(tmp_path / "networks") == ["grow"]


def test_a_failed_build_leaves_the_previous_network_intact(tmp_path, monkeypatch):
    from geodata import network_import
    from geodata.exceptions import NetworkBuildFailed
    from geodata.synth_osm import synthesize_network

    first = synthesize_network(name="keep", data_dir=tmp_path, size_km=1, profiles=["car"])
    before = (first.info.path / "network.json").read_text()
    (tmp_path / "networks" / ".tmp-keep-crashed").mkdir()  # an interrupted earlier build

    real_tool = network_import.osrm_tool
    monkeypatch.setattr(
        network_import,
        "osrm_tool",
        lambda name: Path("/bin/false") if name == "osrm-partition" else real_tool(name),
    )
    with pytest.raises(NetworkBuildFailed) as info:
        synthesize_network(name="keep", data_dir=tmp_path, size_km=1, seed=2, profiles=["car"])
    assert info.value.code == "network_build_failed"
    assert info.value.details["step"] == "partition"
    assert (first.info.path / "network.json").read_text() == before
    assert _leftovers(tmp_path / "networks") == ["keep"]


def test_a_network_moved_aside_by_a_crashed_swap_is_restored(tmp_path):
    from geodata.synth_osm import synthesize_network

    networks = tmp_path / "networks"
    synthesize_network(name="swap", data_dir=tmp_path, size_km=1, profiles=["car"])
    aside = networks / ".old-swap-crash"
    aside.mkdir()
    (networks / "swap").rename(aside / "build")  # as if killed between the two renames
    again = synthesize_network(name="swap", data_dir=tmp_path, size_km=1, profiles=["car"])
    assert again.unchanged  # the old build came back; nothing was rebuilt
    assert _leftovers(networks) == ["swap"]
