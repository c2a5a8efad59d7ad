"""Failed sign-ins are limited per account and per address (argon2 makes each guess costly)."""

from __future__ import annotations

import uuid

from api.sign_in_limits import SignInLimits


async def _sign_in(client, name: str, password: str):
    return await client.post("/api/v1/auth/token", data={"username": name, "password": password})


async def test_an_account_is_locked_after_its_failures_and_a_success_clears_the_count(
        client, actors, settings):
    victim, bystander = await actors.make("seller"), await actors.make("seller")
    limit = settings.sign_in_max_failures_per_account
    for _ in range(limit - 1):
        assert (await _sign_in(client, victim.name, "wrong-password")).status_code == 401
    # a success before the limit clears the account's count
    assert (await _sign_in(client, victim.name, victim.password)).status_code == 200
    for _ in range(limit):
        assert (await _sign_in(client, victim.name, "wrong-password")).status_code == 401
    locked = await _sign_in(client, victim.name, victim.password)
    assert locked.status_code == 429, locked.text
    body = locked.json()["error"]
    assert body["code"] == "too_many_sign_in_attempts" and body["details"]["scope"] == "account"
    assert 0 < int(locked.headers["Retry-After"]) <= settings.sign_in_window_s
    ru = await client.post("/api/v1/auth/token", headers={"Accept-Language": "ru"},
                           data={"username": victim.name, "password": victim.password})
    assert ru.status_code == 429 and "попыток" in ru.json()["error"]["message"]
    # another account is not affected; the locked one's tokens issued before still work
    assert (await _sign_in(client, bystander.name, bystander.password)).status_code == 200
    assert (await client.get("/api/v1/users/me", headers=victim.headers)).status_code == 200


async def test_the_address_limit_counts_failures_across_accounts(app):
    limits = SignInLimits(app.state.redis, f"test-{uuid.uuid4().hex[:8]}:", per_account=100,
                          per_address=3, window_s=60)
    address = "198.51.100.7"
    for account in ("a", "b", "c"):
        assert await limits.blocked(account=account, address=address) is None
        await limits.failed(account=account, address=address)
    blocked = await limits.blocked(account="d", address=address)
    assert blocked is not None and blocked.scope == "address"
    assert 0 < blocked.retry_after_s <= 60
    assert await limits.blocked(account="d", address="198.51.100.8") is None
    await limits.succeeded(account="a", address=address)  # clears the account, not the address
    assert (await limits.blocked(account="a", address=address)).scope == "address"
