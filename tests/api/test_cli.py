"""The `courier` command line, run as a user runs it (a real process, a real database)."""

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import PROJECT_ROOT, REDIS_URL, create_scratch_database, drop_database


def courier(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "api.cli", *args], cwd=PROJECT_ROOT,
                          env={**os.environ, **env}, capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def cli_env(tmp_path_factory):
    url = create_scratch_database("courier_cli")
    env = {"DATABASE_URL": url, "REDIS_URL": REDIS_URL, "COURIER_MODE": "test",
           "COURIER_DATA_DIR": str(tmp_path_factory.mktemp("cli-data")),
           "COURIER_NETWORK": "none"}
    try:
        yield env
    finally:
        drop_database(url)


def test_db_upgrade_users_add_and_zones(cli_env, tmp_path):
    upgraded = courier("db", "upgrade", env=cli_env)
    assert upgraded.returncode == 0, upgraded.stderr
    added = courier("users", "add", "boss", "--role", "admin", "--password", "pw-long-enough",
                    env=cli_env)
    assert added.returncode == 0, added.stderr
    assert "boss (admin)" in added.stdout
    duplicate = courier("users", "add", "boss", "--role", "admin", "--password", "x" * 10,
                        env=cli_env)
    assert duplicate.returncode == 2 and "duplicate" in duplicate.stderr
    zones = tmp_path / "zones.geojson"
    zones.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"name": "centre"}, "geometry": {
            "type": "Polygon", "coordinates": [[[69.2, 41.2], [69.3, 41.2], [69.3, 41.3],
                                                [69.2, 41.2]]]}}]}))
    imported = courier("geodata", "zones", str(zones), env=cli_env)
    assert imported.returncode == 0, imported.stderr
    assert "centre" in imported.stdout
    again = courier("geodata", "zones", str(zones), env=cli_env)
    assert again.returncode == 2 and "duplicate" in again.stderr


def test_demo_seed_is_idempotent(cli_env):
    assert courier("db", "upgrade", env=cli_env).returncode == 0
    first = courier("demo", "seed", env=cli_env)
    second = courier("demo", "seed", env=cli_env)
    assert first.returncode == second.returncode == 0, first.stderr + second.stderr
    assert "dispatcher" in first.stdout and first.stdout == second.stdout



def test_demo_seed_prints_ids_and_the_centre_and_places_couriers_inside(cli_env):
    import re

    assert courier("db", "upgrade", env=cli_env).returncode == 0
    out = courier("demo", "seed", env=cli_env).stdout
    assert re.search(r"buyer\s+buyer\s+password: \S+\s+user id \d+", out), out
    assert re.search(r"seller\s+seller\s+password: \S+\s+user id \d+", out), out
    centre = re.search(r"city centre: lat ([\d.-]+), lon ([\d.-]+)", out)
    area = re.search(r"lon ([\d.-]+)\.\.([\d.-]+), lat ([\d.-]+)\.\.([\d.-]+)", out)
    assert centre and area, out
    min_lon, max_lon, min_lat, max_lat = map(float, area.groups())
    spots = re.findall(r"courier id (\d+) .* starts at lat ([\d.-]+), lon ([\d.-]+)", out)
    assert len(spots) == 3, out
    for _, lat, lon in spots:
        assert min_lat < float(lat) < max_lat and min_lon < float(lon) < max_lon, out


def test_production_serves_only_with_a_secret_but_migrates_without(cli_env):
    production = {**cli_env, "COURIER_MODE": "production"}
    served = courier("serve", "--port", "0", env=production)
    assert served.returncode != 0
    assert "COURIER_SECRET_KEY is required" in served.stderr
    assert courier("db", "upgrade", env=production).returncode == 0
    short = courier("db", "upgrade", env={**production, "COURIER_SECRET_KEY": "short"})
    assert short.returncode != 0 and "at least 32 characters" in short.stderr


@pytest.mark.slow
def test_geodata_synth_loads_the_map_features_too(cli_env):
    import psycopg

    from geodata.map_store import libpq_url

    assert courier("db", "upgrade", env=cli_env).returncode == 0
    args = ("geodata", "synth", "--name", "cli-map", "--size-km", "1", "--profile", "foot")
    built = courier(*args, env=cli_env)
    assert built.returncode == 0, built.stderr
    assert "map features of 'cli-map'" in built.stdout and "loaded" in built.stdout
    with psycopg.connect(libpq_url(cli_env["DATABASE_URL"])) as conn:
        roads, water = conn.execute("SELECT roads, water FROM map_networks "
                                    "WHERE name = 'cli-map'").fetchone()
    assert roads > 10 and water == 2
    again = courier(*args, env=cli_env)
    assert again.returncode == 0 and "already up to date" in again.stdout
    skipped = courier(*args, "--no-map", env=cli_env)
    assert skipped.returncode == 0 and "map features" not in skipped.stdout
