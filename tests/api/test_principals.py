"""The per-worker cache of authenticated accounts: fresh for `ttl_s`, then read again."""

from __future__ import annotations

from sqlalchemy import text

from api.principals import PrincipalCache
from dispatch.tables import User


class Clock:
    def __init__(self) -> None:
        self.now_s = 1000.0

    def __call__(self) -> float:
        return self.now_s


def test_entries_expire_and_are_copies():
    clock = Clock()
    cache = PrincipalCache(2.0, clock=clock, max_entries=2)
    user = User(id=7, name="a", role="seller", password_hash="h", is_active=True,
                token_version=3)
    cache.put(user)
    first = cache.get(7)
    assert (first.id, first.role, first.token_version) == (7, "seller", 3)
    assert first is not user and cache.get(7) is not first  # each request its own object
    clock.now_s += 2.5
    assert cache.get(7) is None
    cache.put(user)
    cache.forget(7)
    assert cache.get(7) is None
    for i in (1, 2, 3):
        cache.put(User(id=i, name=str(i), role="buyer", password_hash="h", is_active=True,
                       token_version=0))
    assert cache.get(1) is None and cache.get(3) is not None  # oldest dropped
    assert PrincipalCache(0).get(3) is None


async def test_a_change_made_elsewhere_counts_once_the_entry_is_stale(app, client, actors):
    """Another worker revoking tokens (here: the row changed directly) is seen here within the
    cache's lifetime, not necessarily at once."""
    buyer = await actors.make("buyer")
    cache: PrincipalCache = app.state.principals
    clock, real_clock = Clock(), cache.clock
    cache.clock = clock
    try:
        assert (await client.get("/api/v1/users/me", headers=buyer.headers)).status_code == 200
        async with app.state.engine.begin() as conn:
            await conn.execute(text("UPDATE users SET token_version = token_version + 1 "
                                    "WHERE id = :id"), {"id": buyer.id})
        clock.now_s += cache.ttl_s / 2
        assert (await client.get("/api/v1/users/me", headers=buyer.headers)).status_code == 200
        clock.now_s += cache.ttl_s
        assert (await client.get("/api/v1/users/me", headers=buyer.headers)).status_code == 401
    finally:
        cache.clock = real_clock
