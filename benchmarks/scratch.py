"""What the service benchmarks share: a free loopback port and a scratch, migrated database.

Each benchmark runs against its own database `courier_bench_<hex>` on the server that
`DATABASE_URL` names (the service's default otherwise), dropped at the end.
"""

from __future__ import annotations

import os
import socket
import uuid

import psycopg
from sqlalchemy.engine import make_url

from api.database import upgrade

__all__ = ["BASE_URL", "free_port", "conninfo", "scratch_database", "drop_database"]

BASE_URL = os.environ.get("DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/courier")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def conninfo(dbname: str) -> str:
    url = make_url(BASE_URL)
    return (f"host={url.host or '127.0.0.1'} port={url.port or 5432} "
            f"user={url.username or 'postgres'} dbname={dbname}"
            + (f" password={url.password}" if url.password else ""))


def scratch_database() -> tuple[str, str]:
    """Creates and migrates a scratch database; returns its name and SQLAlchemy URL."""
    name = f"courier_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(conninfo("postgres"), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = make_url(BASE_URL).set(database=name).render_as_string(hide_password=False)
    upgrade(url)
    return name, url


def drop_database(name: str) -> None:
    with psycopg.connect(conninfo("postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
