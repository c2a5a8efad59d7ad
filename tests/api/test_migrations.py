"""The migrations build the whole schema on an empty database and take it down again."""

import os
import time

from sqlalchemy import create_engine, inspect

from api.database import downgrade, upgrade
from dispatch.tables import DispatchBase
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
    assert heads == ["0011"]


def _versions(url: str) -> list[str]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            if "alembic_version" not in inspect(conn).get_table_names():
                return []
            return sorted(r[0] for r in conn.exec_driver_sql(
                "SELECT version_num FROM alembic_version"))
    finally:
        engine.dispose()


def _shift_states(url: str) -> list[str]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return sorted(r[0] for r in conn.exec_driver_sql("SELECT shift_state FROM couriers"))
    finally:
        engine.dispose()


def _count(url: str, table: str) -> int | None:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            if table not in inspect(conn).get_table_names():
                return None
            return conn.exec_driver_sql(f"SELECT count(*) FROM {table}").scalar()
    finally:
        engine.dispose()


async def _a_working_day(settings, tmp_path) -> None:
    """Rows in every package's tables, made through the app as its users would."""
    import httpx

    from api.app import create_app
    from api.security import PasswordHasher
    from geodata.map_store import load_map_features
    from geodata.synth_city import generate_city
    from geodata.synth_osm import write_osm
    from geodata.zones import create_zone
    from tests.conftest import INSIDE, TEST_ZONE, Actors, order_body

    load_map_features(write_osm(generate_city(size_km=1.0, seed=3), tmp_path / "city.osm.pbf"),
                      name="downgrade-city", database_url=settings.database_url)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        async with app.state.sessionmaker() as session:
            await create_zone(session, name="day", geometry=TEST_ZONE)
            await session.commit()
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            actors = Actors(app, client, PasswordHasher(cheap=True))
            seller, buyer = await actors.make("seller"), await actors.make("buyer")
            dispatcher, courier = await actors.make("dispatcher"), await actors.make("courier")
            resting = await actors.make("courier")

            async def post(path: str, body: dict, actor, expected: int = 200) -> dict:
                response = await client.post(f"/api/v1{path}", json=body, headers=actor.headers)
                assert response.status_code == expected, (path, response.text)
                return response.json()

            await post(f"/couriers/{resting.courier_id}/shift", {"action": "break"}, resting)
            await post("/webhooks", {"url": "http://127.0.0.1:9/hooks"}, seller, 201)
            offered = await post("/orders", order_body(buyer_id=buyer.id), seller, 201)
            await post("/dispatch/run", {}, dispatcher)  # offers, planned stops
            order = await post("/orders", order_body(buyer_id=buyer.id), seller, 201)
            await post(f"/orders/{order['id']}/assign", {"courier_id": courier.courier_id},
                       dispatcher)
            await post(f"/orders/{order['id']}/tracking-link", {}, buyer, 201)
            now = time.time()
            await post("/tracking/positions", {"type": "positions", "points": [
                {"seq": i, "lat": INSIDE["lat"], "lon": INSIDE["lon"], "ts": now - 5 + i,
                 "acc": 5.0} for i in range(1, 4)]}, courier)
            token = (await post(f"/orders/{order['id']}/handoff-tokens", {"leg": "pickup"},
                                seller, 201))["token"]
            await post("/handoffs/scan", {"token": token, **INSIDE}, courier)  # custody
            await post(f"/orders/{order['id']}/tickets",  # a ticket with its evidence
                       {"kind": "late", "message": "still waiting"}, buyer, 201)
            await app.state.dispatch.deliver_webhooks_once()  # outbox, a failed delivery
            assert offered["id"] != order["id"]


async def test_downgrade_one_step_at_a_time_with_data_present(tmp_path):
    """`courier db downgrade` from the newest revision to the base, one revision at a time,
    on a database holding a day's data, then back up again: no step fails on the rows it
    finds, and the data of the tables a step leaves alone stays."""
    import subprocess
    import sys
    import uuid

    from api.settings import Settings
    from tests.conftest import PROJECT_ROOT, REDIS_URL

    url = create_scratch_database("courier_downgrade")
    env = {**os.environ, "DATABASE_URL": url, "REDIS_URL": REDIS_URL, "COURIER_MODE": "test",
           "COURIER_DATA_DIR": str(tmp_path / "data"), "COURIER_NETWORK": "none"}

    def courier_db(*args: str) -> None:
        done = subprocess.run([sys.executable, "-m", "api.cli", "db", *args], cwd=PROJECT_ROOT,
                              env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, (args, _versions(url), done.stderr[-300:])

    try:
        courier_db("upgrade")
        created = _tables(url)
        settings = Settings(COURIER_MODE="test", DATABASE_URL=url, REDIS_URL=REDIS_URL,
                            COURIER_REDIS_PREFIX=f"test-{uuid.uuid4().hex[:8]}:",
                            COURIER_DATA_DIR=tmp_path / "data", COURIER_NETWORK="none")
        await _a_working_day(settings, tmp_path)
        for table in ("users", "couriers", "orders", "order_events", "positions",
                      "custody_entries", "dispatch_offers", "planned_stops", "webhook_outbox",
                      "webhook_deliveries", "tracking_links", "map_roads", "tickets",
                      "ticket_comments"):
            assert _count(url, table), table
        orders, users = _count(url, "orders"), _count(url, "users")
        assert _shift_states(url) == ["break", "on"]

        courier_db("downgrade", "-1")  # 0011: tickets and their comments go
        assert _versions(url) == ["0010"] and _count(url, "tickets") is None
        assert (_count(url, "orders"), _count(url, "users")) == (orders, users)
        courier_db("downgrade", "-1")  # 0010: the audit log goes
        assert _versions(url) == ["0009"] and _count(url, "audit_log") is None
        courier_db("downgrade", "-1")  # 0009: the token version column goes, nothing else
        assert _versions(url) == ["0008"]
        assert (_count(url, "orders"), _count(url, "users")) == (orders, users)
        assert _shift_states(url) == ["break", "on"]
        # One revision at a time down to the merge (0005): `-1` each, couriers on a break
        # coming back as on shift. Below it three branches hang off 0001 and alembic's `-1`
        # finds no single step ("Ambiguous walk"), so 0001 is named.
        for expected in (["0007"], ["0006"], ["0005"]):
            courier_db("downgrade", "-1")
            assert _versions(url) == expected
            assert (_count(url, "orders"), _count(url, "users")) == (orders, users)
            assert _count(url, "positions") and _count(url, "custody_entries")
            assert _shift_states(url) == ["on", "on"]
        assert _count(url, "map_roads") is None and _count(url, "tracking_links") is None
        courier_db("downgrade", "0001")
        assert _versions(url) == ["0001"]
        assert (_count(url, "orders"), _count(url, "users")) == (orders, users)
        assert _count(url, "dispatch_offers") is None and _count(url, "tracking_links") is None
        # Back up over the rows 0001's tables kept, then all the way down.
        courier_db("upgrade")
        assert _tables(url) == created
        assert (_count(url, "orders"), _count(url, "users")) == (orders, users)
        courier_db("downgrade", "0001")
        courier_db("downgrade", "base")
        assert _versions(url) == [] and _tables(url) == set()
    finally:
        drop_database(url)
