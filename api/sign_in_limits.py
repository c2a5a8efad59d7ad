"""How many failed sign-ins an account, and an address, may have in a window.

Each password check costs argon2's deliberate work, so unlimited guesses are both a brute-force
attack on one account and a denial of service on the whole service. Failures are counted in
Redis (shared by every worker) in a fixed window per account name and per client address; once
either count reaches its limit, sign-in answers 429 `too_many_sign_in_attempts` with
`Retry-After` *before* the password is checked. A successful sign-in clears the account's count.

If Redis is unreachable the limit is not enforced (sign-in keeps working; the warning is
logged): refusing every sign-in because the counter store is down would be worse.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from redis.asyncio import Redis
from redis.exceptions import RedisError

__all__ = ["SignInLimits", "SignInBlocked"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SignInBlocked:
    """Sign-in refused for now: which key reached its limit, and for how long."""
    scope: str  # "account" | "address"
    retry_after_s: int


class SignInLimits:
    def __init__(self, redis: Redis, prefix: str, *, per_account: int, per_address: int,
                 window_s: int) -> None:
        self.redis = redis
        self.prefix = f"{prefix}sign-in:"
        self.per_account = per_account
        self.per_address = per_address
        self.window_s = window_s

    def _keys(self, account: str, address: str) -> dict[str, str]:
        return {"account": f"{self.prefix}account:{account.casefold()[:200]}",
                "address": f"{self.prefix}address:{address}"}

    async def blocked(self, *, account: str, address: str) -> SignInBlocked | None:
        keys = self._keys(account, address)
        limits = {"account": self.per_account, "address": self.per_address}
        try:
            pipe = self.redis.pipeline(transaction=False)
            for key in keys.values():
                pipe.get(key)
                pipe.ttl(key)
            answers = await pipe.execute()
        except RedisError as exc:
            log.warning("sign-in limits unavailable: %s", exc)
            return None
        for i, scope in enumerate(keys):
            count, ttl = answers[2 * i], answers[2 * i + 1]
            if count is not None and int(count) >= limits[scope]:
                return SignInBlocked(scope, max(1, int(ttl)) if ttl and ttl > 0 else
                                     self.window_s)
        return None

    async def failed(self, *, account: str, address: str) -> None:
        try:
            pipe = self.redis.pipeline(transaction=False)
            for key in self._keys(account, address).values():
                pipe.incr(key)
                pipe.expire(key, self.window_s, nx=True)
            await pipe.execute()
        except RedisError as exc:
            log.warning("sign-in limits unavailable: %s", exc)

    async def succeeded(self, *, account: str, address: str) -> None:
        try:
            await self.redis.delete(self._keys(account, address)["account"])
        except RedisError as exc:
            log.warning("sign-in limits unavailable: %s", exc)
