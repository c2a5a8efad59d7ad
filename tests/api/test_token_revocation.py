"""Access tokens can be revoked: sign-out, a new password, a disabled account."""

from __future__ import annotations


async def _sign_in(client, name: str, password: str) -> dict:
    answer = await client.post("/api/v1/auth/token", data={"username": name, "password": password})
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


async def _me(client, headers) -> int:
    return (await client.get("/api/v1/users/me", headers=headers)).status_code


async def test_sign_out_revokes_every_token_issued_before(client, actors):
    seller = await actors.make("seller")
    phone = await _sign_in(client, seller.name, seller.password)
    assert await _me(client, seller.headers) == await _me(client, phone) == 200
    signed_out = await client.post("/api/v1/auth/sign-out", headers=phone)
    assert signed_out.status_code == 204
    assert await _me(client, phone) == 401
    assert await _me(client, seller.headers) == 401  # signed out everywhere
    again = await _sign_in(client, seller.name, seller.password)
    assert await _me(client, again) == 200


async def test_a_new_password_revokes_older_tokens(client, actors):
    courier = await actors.make("courier")
    wrong = await client.post("/api/v1/users/me/password", headers=courier.headers,
                              json={"current_password": "not-it", "new_password": "new-passphrase"})
    assert wrong.status_code == 403 and wrong.json()["error"]["code"] == "wrong_password"
    assert await _me(client, courier.headers) == 200  # a wrong attempt changes nothing
    changed = await client.post("/api/v1/users/me/password", headers=courier.headers, json={
        "current_password": courier.password, "new_password": "new-passphrase"})
    assert changed.status_code == 204
    assert await _me(client, courier.headers) == 401
    old = await client.post("/api/v1/auth/token",
                            data={"username": courier.name, "password": courier.password})
    assert old.status_code == 401
    assert await _me(client, await _sign_in(client, courier.name, "new-passphrase")) == 200


async def test_an_admin_disables_an_account(client, actors):
    admin, dispatcher, buyer = (await actors.make("admin"), await actors.make("dispatcher"),
                                await actors.make("buyer"))
    assert (await client.patch(f"/api/v1/users/{buyer.id}", headers=dispatcher.headers,
                               json={"is_active": False})).status_code == 403
    disabled = await client.patch(f"/api/v1/users/{buyer.id}", headers=admin.headers,
                                  json={"is_active": False})
    assert disabled.status_code == 200 and disabled.json()["is_active"] is False
    assert await _me(client, buyer.headers) == 401
    assert (await client.post("/api/v1/auth/token", data={
        "username": buyer.name, "password": buyer.password})).status_code == 401
    enabled = await client.patch(f"/api/v1/users/{buyer.id}", headers=admin.headers,
                                 json={"is_active": True})
    assert enabled.status_code == 200
    assert await _me(client, buyer.headers) == 401  # old tokens stay revoked
    assert await _me(client, await _sign_in(client, buyer.name, buyer.password)) == 200
    selfish = await client.patch(f"/api/v1/users/{admin.id}", headers=admin.headers,
                                 json={"is_active": False})
    assert selfish.status_code == 409
    assert (await client.patch("/api/v1/users/987654321", headers=admin.headers,
                               json={"is_active": False})).status_code == 404
