"""Alembic environment: the database URL comes from `Settings` (or the caller's config)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool

from custody.tables import CustodyRow  # noqa: F401  (its table joins the metadata)
from dispatch.tables import DispatchBase
from geodata.models import GeodataBase
from tickets.tables import Ticket  # noqa: F401
from tracking.models import TrackingBase

target_metadata = [DispatchBase.metadata, GeodataBase.metadata, TrackingBase.metadata]


def _url() -> str:
    url = context.config.get_main_option("sqlalchemy.url")
    if url:
        return url
    from api.settings import Settings

    return Settings().database_url


def run_migrations_offline() -> None:
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = create_engine(_url(), poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
