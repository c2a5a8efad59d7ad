"""Keyset pagination shared by every list: `{"items": [...], "next_cursor"}`.

A cursor is opaque to clients: base64url of `<kind>:<last id>`. Lists run in id order (orders
newest first); `next_cursor` is null on the last page. A cursor of another list, or garbage,
answers 422 `invalid_cursor`.
"""

from __future__ import annotations

import base64
from typing import Annotated

from fastapi import Query

from api.errors import ApiError

__all__ = ["encode_cursor", "decode_cursor", "CursorQuery", "LimitQuery", "page_of"]

CursorQuery = Annotated[str | None, Query(max_length=200, description="`next_cursor` of the "
                                          "previous page; leave out for the first page")]
LimitQuery = Annotated[int, Query(ge=1, le=500, description="items per page")]


def encode_cursor(kind: str, last_id: int) -> str:
    return base64.urlsafe_b64encode(f"{kind}:{last_id}".encode()).decode().rstrip("=")


def decode_cursor(kind: str, cursor: str | None) -> int | None:
    """The id to continue after, or None for the first page."""
    if not cursor:
        return None
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        prefix, _, value = text.partition(":")
        if prefix != kind:
            raise ValueError(prefix)
        return int(value)
    except (ValueError, UnicodeDecodeError):
        raise ApiError(422, "invalid_cursor", "The pagination cursor is invalid.",
                       {"cursor": cursor}) from None


def page_of(kind: str, rows: list, limit: int, *,
            key=lambda row: row.id) -> tuple[list, str | None]:
    """`rows` fetched with `limit + 1`: the page and the cursor of the next one."""
    if len(rows) > limit:
        rows = rows[:limit]
        return rows, encode_cursor(kind, key(rows[-1]))
    return rows, None
