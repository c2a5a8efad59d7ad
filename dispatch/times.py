"""Times on the wire: RFC 3339 in UTC with a `Z` suffix, one format for every body we send.

`2024-05-01T09:30:00Z`, or with microseconds when the value has them
(`2024-05-01T09:30:00.250000Z`). A naive value is taken to be UTC already. Fields that carry
Unix seconds instead say so in their name (`ts`, `*_s`).
"""

from __future__ import annotations

from datetime import UTC, datetime

__all__ = ["rfc3339", "rfc3339_from_s"]


def rfc3339(value: datetime | None) -> str | None:
    """`value` in UTC as RFC 3339 with `Z`; None stays None."""
    if value is None:
        return None
    value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return value.replace(tzinfo=None).isoformat() + "Z"


def rfc3339_from_s(ts_s: float | None) -> str | None:
    """Unix seconds as RFC 3339 with `Z`; None stays None."""
    return None if ts_s is None else rfc3339(datetime.fromtimestamp(ts_s, UTC))
