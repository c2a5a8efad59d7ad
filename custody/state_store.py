"""Short-lived handoff state in Redis: single-use token markers, live codes, code attempts.

Keys (all under the service's Redis prefix):

    handoff:used:<jti>                   "1", set with NX when a scan spends the token
    handoff:current:<order_id>:<leg>     the latest token issued for that leg (fallback code)
    handoff:code-attempts:<order_id>:<leg>  wrong-or-right numeric code tries since issue
    handoff:code-failures:<user_id>      wrong codes one courier typed, over all orders

Redis gives the fast, atomic single-use check (`SET NX`); the database's unique constraint on
`custody_entries.token_id` holds it durably if Redis loses the marker.
"""

from __future__ import annotations

from redis.asyncio import Redis

__all__ = ["RedisHandoffState"]


class RedisHandoffState:
    def __init__(self, redis: Redis, prefix: str) -> None:
        self._redis = redis
        self._prefix = f"{prefix}handoff:"

    def _used(self, token_id: str) -> str:
        return f"{self._prefix}used:{token_id}"

    def _current(self, order_id: int, leg: str) -> str:
        return f"{self._prefix}current:{order_id}:{leg}"

    def _attempts(self, order_id: int, leg: str) -> str:
        return f"{self._prefix}code-attempts:{order_id}:{leg}"

    def _failures(self, user_id: int) -> str:
        return f"{self._prefix}code-failures:{user_id}"

    async def courier_code_failures(self, user_id: int) -> int:
        """Wrong codes this courier typed within the current window, over all its orders."""
        value = await self._redis.get(self._failures(user_id))
        return int(value) if value is not None else 0

    async def count_courier_code_failure(self, user_id: int, *, window_s: int) -> int:
        key = self._failures(user_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.incr(key)
            pipe.expire(key, max(1, int(window_s)), nx=True)
            count, _ = await pipe.execute()
        return int(count)

    async def claim_token(self, token_id: str, *, ttl_s: int) -> bool:
        """True for exactly one caller per token id (until `ttl_s` passes)."""
        return bool(await self._redis.set(self._used(token_id), b"1", nx=True,
                                          ex=max(1, int(ttl_s))))

    async def release_token(self, token_id: str) -> None:
        """Undoes a claim whose database write did not commit."""
        await self._redis.delete(self._used(token_id))

    async def token_claimed(self, token_id: str) -> bool:
        return bool(await self._redis.exists(self._used(token_id)))

    async def remember_current(self, order_id: int, leg: str, token: str, *, ttl_s: int) -> None:
        """Keeps the newest token of a leg for the numeric fallback; resets its attempts."""
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.set(self._current(order_id, leg), token.encode("ascii"), ex=max(1, int(ttl_s)))
            pipe.delete(self._attempts(order_id, leg))
            await pipe.execute()

    async def current(self, order_id: int, leg: str) -> str | None:
        value = await self._redis.get(self._current(order_id, leg))
        if value is None:
            return None
        return value.decode("ascii") if isinstance(value, bytes) else str(value)

    async def count_code_attempt(self, order_id: int, leg: str, *, ttl_s: int) -> int:
        """Counts one fallback code try and returns the count so far."""
        key = self._attempts(order_id, leg)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.incr(key)
            pipe.expire(key, max(1, int(ttl_s)), nx=True)
            count, _ = await pipe.execute()
        return int(count)
