"""Recently authenticated accounts, kept per process for a moment.

Every authenticated request used to read its user row from PostgreSQL: a connection checkout,
an ORM load and a rollback on return, several times the cost of the request itself for the
common reads (`/users/me`, lists). An access token's signature already proves who sent it; the
row is read only to see that the account is still active, its role, and its token version.
Those change rarely, so each worker keeps the row for `ttl_s` (`COURIER_AUTH_CACHE_S`, 2 s by
default; 0 turns the cache off).

What that costs: a change made on another worker (sign-out, a new password, a disabled account)
takes effect here within `ttl_s`. On the worker that made the change it is immediate (`forget`).

Views get a *transient* `User` (built from the cached columns, attached to no session): it
reads like the row. A view that changes the account loads it through its own session first.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable

from sqlalchemy import inspect as sa_inspect

from dispatch.tables import User

__all__ = ["PrincipalCache"]

_COLUMNS = tuple(c.key for c in sa_inspect(User).mapper.column_attrs)


class PrincipalCache:
    def __init__(self, ttl_s: float, *, max_entries: int = 20_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self.clock = clock
        self._rows: OrderedDict[int, tuple[float, dict]] = OrderedDict()

    def get(self, user_id: int) -> User | None:
        if self.ttl_s <= 0:
            return None
        entry = self._rows.get(user_id)
        if entry is None:
            return None
        stored_at, row = entry
        if self.clock() - stored_at > self.ttl_s:
            del self._rows[user_id]
            return None
        return User(**row)

    def put(self, user: User) -> None:
        if self.ttl_s <= 0:
            return
        self._rows[user.id] = (self.clock(), {c: getattr(user, c) for c in _COLUMNS})
        self._rows.move_to_end(user.id)
        while len(self._rows) > self.max_entries:
            self._rows.popitem(last=False)

    def forget(self, user_id: int) -> None:
        self._rows.pop(user_id, None)
