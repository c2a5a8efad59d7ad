"""Database plumbing: engines, sessions and migrations. Built only by the composition root."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

__all__ = ["make_engine", "make_sessionmaker", "alembic_config", "upgrade", "downgrade",
           "ensure_database"]

MIGRATIONS_DIR = Path(__file__).with_name("migrations")


def make_engine(database_url: str, *, pool_size: int = 10) -> AsyncEngine:
    return create_async_engine(
        database_url, pool_size=pool_size, max_overflow=20, pool_pre_ping=True
    )


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker:
    return async_sessionmaker(engine, expire_on_commit=False)


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # ConfigParser interpolation would choke on a '%' in a password.
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(database_url: str, revision: str = "heads") -> None:
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str = "base") -> None:
    command.downgrade(alembic_config(database_url), revision)


def ensure_database(database_url: str) -> bool:
    """Creates the database named in the URL if it does not exist yet; True if it created it."""
    import psycopg
    from psycopg import sql
    from sqlalchemy.engine import make_url

    url = make_url(database_url)
    conninfo = dict(host=url.host or "127.0.0.1", port=url.port or 5432,
                    user=url.username or "postgres", dbname="postgres")
    if url.password:
        conninfo["password"] = url.password
    with psycopg.connect(**conninfo, autocommit=True) as connection:
        exists = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                                    (url.database,)).fetchone()
        if exists:
            return False
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(url.database)))
        return True
