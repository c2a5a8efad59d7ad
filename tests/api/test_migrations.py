"""The migrations build the whole schema on an empty database and take it down again."""

from sqlalchemy import create_engine, inspect

from api.database import downgrade, upgrade
from dispatch.models import DispatchBase
from geodata.models import GeodataBase
from tests.conftest import create_scratch_database, drop_database
from tracking.models import TrackingBase

MODELS = (DispatchBase, GeodataBase, TrackingBase)


def _tables(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        return set(inspect(engine).get_table_names()) - {"spatial_ref_sys", "alembic_version"}
    finally:
        engine.dispose()


def test_upgrade_then_downgrade_an_empty_database():
    url = create_scratch_database("courier_migration")
    try:
        upgrade(url)
        created = _tables(url)
        for base in MODELS:
            assert set(base.metadata.tables) <= created
        downgrade(url, "base")
        assert _tables(url) == set()
        upgrade(url)
        assert _tables(url) == created
    finally:
        drop_database(url)


def test_mapped_columns_exist_in_the_migrated_schema(database_url):
    engine = create_engine(database_url)
    try:
        inspector = inspect(engine)
        for base in MODELS:
            for table in base.metadata.sorted_tables:
                stored = {c["name"] for c in inspector.get_columns(table.name)}
                assert set(table.columns.keys()) <= stored, table.name
    finally:
        engine.dispose()


def test_positions_are_partitioned_by_day(database_url):
    import psycopg

    with psycopg.connect(database_url.replace("postgresql+psycopg", "postgresql")) as conn:
        parts = [r[0] for r in conn.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = 'positions'")]
        assert "positions_default" in parts
        assert sum(1 for p in parts if p.startswith("positions_2")) >= 7
        created = conn.execute("SELECT courier_ensure_position_partitions("
                               "DATE '2031-01-01', 2)").fetchone()[0]
        assert created == 2
        again = conn.execute("SELECT courier_ensure_position_partitions("
                             "DATE '2031-01-01', 2)").fetchone()[0]
        assert again == 0
        conn.rollback()


def test_one_head():
    from alembic.script import ScriptDirectory

    from api.database import alembic_config

    heads = ScriptDirectory.from_config(alembic_config("postgresql://unused")).get_heads()
    assert heads == ["0008"]
