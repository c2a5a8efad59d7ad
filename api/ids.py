"""Row ids at the edge: every id a client sends is bounded before it reaches SQL.

Ids are PostgreSQL `bigint`s. An id beyond 64 bits, or below 1, can name no row; bounding it in
the request model answers 422 with the error envelope, where an unbounded `int` would reach the
database and fail there as a 500 ("integer out of range").
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query
from pydantic import Field

__all__ = ["MAX_ID", "Id", "IdPath", "IdQuery"]

#: The largest PostgreSQL bigint.
MAX_ID = 2**63 - 1

#: An id in a request body.
Id = Annotated[int, Field(ge=1, le=MAX_ID)]
#: An id in the path.
IdPath = Annotated[int, Path(ge=1, le=MAX_ID)]
#: An id in the query string.
IdQuery = Annotated[int, Query(ge=1, le=MAX_ID)]
