#!/usr/bin/env python3
"""Makes sure PostgreSQL with PostGIS and Redis answer at DATABASE_URL and REDIS_URL.

For each service, in order: if something answers, use it; else if the server binaries exist,
start the machine's own instance or a private one under `var/`; else if we are root and
`apt-get` works, install the Debian packages and start them; else print what to install.
PostGIS is installed from Debian (`postgresql-<major>-postgis-3`) when the server lacks it.

Standard library only: this runs before the project's virtual environment is complete.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parents[1]
VAR = Path(os.environ.get("COURIER_DATA_DIR", ROOT / "var")).resolve()
DATABASE_URL = os.environ.get("DATABASE_URL",
                              "postgresql+psycopg://postgres@127.0.0.1:5432/courier")
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


def say(message: str) -> None:
    print(f"[services] {message}", flush=True)


def fail(message: str) -> None:
    print(f"[services] ERROR: {message}", file=sys.stderr, flush=True)
    raise SystemExit(1)


def answers(host: str, port: int, timeout_s: float = 1.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return True
    except OSError:
        return False


def wait_for(host: str, port: int, what: str, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if answers(host, port):
            return
        time.sleep(0.3)
    fail(f"{what} did not start listening on {host}:{port}")


def run(*args: str, check: bool = True, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(list(args), check=check, text=True, capture_output=True, **kwargs)


_apt_updated = False


def apt_install(*packages: str) -> bool:
    global _apt_updated
    if not (IS_ROOT and shutil.which("apt-get")):
        return False
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    if not _apt_updated:
        say("apt-get update")
        subprocess.run(["apt-get", "update", "-qq"], env=env, check=False)
        _apt_updated = True
    say(f"apt-get install {' '.join(packages)}")
    result = subprocess.run(["apt-get", "install", "-y", "-qq", *packages], env=env)
    return result.returncode == 0


# --- PostgreSQL -------------------------------------------------------------------------------

def pg_target() -> tuple[str, int, str, str | None]:
    url = urlparse(DATABASE_URL.replace("postgresql+psycopg", "postgresql"))
    return url.hostname or "127.0.0.1", url.port or 5432, url.username or "postgres", url.password


def pg_bin_dirs() -> list[str]:
    return sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)


def psql(sql: str, database: str = "postgres") -> str:
    host, port, user, password = pg_target()
    env = {**os.environ}
    if password:
        env["PGPASSWORD"] = password
    result = run("psql", "-h", host, "-p", str(port), "-U", user, "-d", database, "-tAc", sql,
                 env=env)
    return result.stdout.strip()


def start_postgres() -> None:
    host, port, _, _ = pg_target()
    if shutil.which("pg_ctlcluster") and IS_ROOT:
        for conf in glob.glob("/etc/postgresql/*/*/postgresql.conf"):
            version, cluster = Path(conf).parts[-3], Path(conf).parts[-2]
            say(f"starting the machine's PostgreSQL cluster {version}/{cluster}")
            subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, cluster,
                            "start"], check=False)
            if answers(host, port, 3.0):
                wait_for(host, port, "PostgreSQL")
                return
    bins = pg_bin_dirs()
    if not bins:
        return
    data = VAR / "postgres"
    initdb, pg_ctl = f"{bins[0]}/initdb", f"{bins[0]}/pg_ctl"
    as_user: list[str] = []
    if IS_ROOT:  # PostgreSQL refuses to run as root
        data.parent.mkdir(parents=True, exist_ok=True)
        as_user = ["runuser", "-u", "postgres", "--"]
    if not (data / "PG_VERSION").exists():
        data.mkdir(parents=True, exist_ok=True)
        if IS_ROOT:
            shutil.chown(data, "postgres", "postgres")
        say(f"initialising a private PostgreSQL in {data}")
        subprocess.run([*as_user, initdb, "-D", str(data), "-U", "postgres", "--auth=trust"],
                       check=True)
    say(f"starting a private PostgreSQL on port {port}")
    subprocess.run([*as_user, pg_ctl, "-D", str(data), "-l", str(data / "server.log"), "-o",
                    f"-p {port} -k /tmp -c listen_addresses={host}", "start"], check=True)
    wait_for(host, port, "PostgreSQL")


def ensure_postgres() -> None:
    host, port, _, _ = pg_target()
    if not answers(host, port):
        start_postgres()
    if not answers(host, port) and not pg_bin_dirs() and apt_install("postgresql",
                                                                     "postgresql-contrib"):
        start_postgres()
    if not answers(host, port):
        fail(f"PostgreSQL does not answer at {host}:{port}. Install PostgreSQL 15+ with "
             "PostGIS 3 (Debian: apt-get install postgresql postgresql-15-postgis-3) or set "
             "DATABASE_URL.")
    if not shutil.which("psql"):
        apt_install("postgresql-client") or fail("psql is missing: install postgresql-client")
    for _ in range(30):
        try:
            psql("SELECT 1")
            break
        except subprocess.CalledProcessError:
            time.sleep(0.5)
    if psql("SELECT count(*) FROM pg_available_extensions WHERE name = 'postgis'") == "0":
        major = psql("SHOW server_version_num")[:2]
        if not apt_install(f"postgresql-{major}-postgis-3"):
            fail(f"PostGIS is not installed for PostgreSQL {major}: install "
                 f"postgresql-{major}-postgis-3 (Debian) or your platform's PostGIS package.")
    say(f"PostgreSQL + PostGIS ready at {host}:{port}")


# --- Redis ------------------------------------------------------------------------------------

def redis_target() -> tuple[str, int]:
    url = urlparse(REDIS_URL)
    return url.hostname or "127.0.0.1", url.port or 6379


def start_redis() -> None:
    host, port = redis_target()
    server = shutil.which("redis-server")
    if not server:
        return
    data = VAR / "redis"
    data.mkdir(parents=True, exist_ok=True)
    say(f"starting a private Redis on port {port} (append-only file in {data})")
    subprocess.run([server, "--daemonize", "yes", "--bind", host, "--port", str(port),
                    "--dir", str(data), "--appendonly", "yes",
                    "--logfile", str(data / "redis.log")], check=True)
    wait_for(host, port, "Redis")


def ensure_redis() -> None:
    host, port = redis_target()
    if not answers(host, port):
        start_redis()
    if not answers(host, port) and not shutil.which("redis-server") and apt_install(
            "redis-server"):
        start_redis()
    if not answers(host, port):
        fail(f"Redis does not answer at {host}:{port}. Install Redis 6.2+ "
             "(Debian: apt-get install redis-server) or set REDIS_URL.")
    say(f"Redis ready at {host}:{port}")


if __name__ == "__main__":
    ensure_postgres()
    ensure_redis()
