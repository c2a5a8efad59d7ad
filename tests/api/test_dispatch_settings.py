"""`GET`/`PUT /dispatch/settings`: the fleet's policy and auto-accept, who may read and change
them, and the planner following what was stored."""

from __future__ import annotations

import pytest
from sqlalchemy import text

URL = "/api/v1/dispatch/settings"


@pytest.fixture
async def default_fleet(app):
    """No stored fleet settings during the test (the planner's configuration applies); the
    row as it was afterwards."""
    async with app.state.sessionmaker() as session:
        saved = (await session.execute(text(
            "SELECT auto_accept, policy FROM fleet_settings WHERE fleet = 'default'"))).first()
        await session.execute(text("DELETE FROM fleet_settings WHERE fleet = 'default'"))
        await session.commit()
    yield app.state.dispatch.config
    async with app.state.sessionmaker() as session:
        await session.execute(text("DELETE FROM fleet_settings WHERE fleet = 'default'"))
        if saved is not None:
            await session.execute(text(
                "INSERT INTO fleet_settings (fleet, auto_accept, policy, updated_at) "
                "VALUES ('default', :a, :p, now())"), {"a": saved[0], "p": saved[1]})
        await session.commit()


async def test_dispatchers_and_admins_read_and_change_the_fleet_settings(
        client, actors, default_fleet, quiet_city):
    dispatcher, admin = await actors.make("dispatcher"), await actors.make("admin")
    config = default_fleet
    got = await client.get(URL, headers=dispatcher.headers)
    assert got.status_code == 200, got.text
    assert got.json() == {"auto_accept": config.auto_accept, "policy": config.policy,
                          "offer_timeout_s": config.offer_timeout_s}
    other = "nearest" if config.policy != "nearest" else "cascade"

    put = await client.put(URL, json={"policy": other}, headers=dispatcher.headers)
    assert put.status_code == 200, put.text
    assert put.json()["policy"] == other and put.json()["auto_accept"] == config.auto_accept
    seen = (await client.get(URL, headers=admin.headers)).json()
    assert seen["policy"] == other
    put = await client.put(URL, json={"auto_accept": not config.auto_accept},
                           headers=admin.headers)
    assert put.json() == {**seen, "auto_accept": not config.auto_accept}  # policy kept

    bad = await client.put(URL, json={"policy": "random"}, headers=dispatcher.headers)
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "validation_error"
    assert (await client.get(URL, headers=dispatcher.headers)).json()["policy"] == other
    # A cycle told no policy runs the stored one.
    ran = await client.post("/api/v1/dispatch/run", json={}, headers=dispatcher.headers)
    assert ran.status_code == 200, ran.text
    assert ran.json()["policy"].split(":")[0] == other


@pytest.mark.parametrize("role", ["seller", "courier", "buyer"])
async def test_other_roles_may_neither_read_nor_change_them(client, actors, default_fleet, role):
    actor = await actors.make(role)
    before = (await client.get(URL, headers=(await actors.make("dispatcher")).headers)).json()
    read = await client.get(URL, headers=actor.headers)
    assert read.status_code == 403 and read.json()["error"]["code"] == "forbidden"
    for body in ({"policy": "nearest"}, {"auto_accept": True}):
        write = await client.put(URL, json=body, headers=actor.headers)
        assert write.status_code == 403 and write.json()["error"]["code"] == "forbidden"
    after = (await client.get(URL, headers=(await actors.make("dispatcher")).headers)).json()
    assert after == before


async def test_without_a_token_the_settings_answer_401(client, default_fleet):
    assert (await client.get(URL)).status_code == 401
    refused = await client.put(URL, json={"auto_accept": True})
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "not_authenticated"
