"""`/audit`: the log of staff actions, newest first (admins only)."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter

from api import schemas
from api.deps import AdminUser, SessionDep
from api.ids import IdQuery
from api.pagination import CursorQuery, LimitQuery, decode_cursor, page_of
from dispatch.audit import list_entries

router = APIRouter(prefix="/audit", tags=["audit"])


@router.get("", response_model=schemas.AuditPage, responses=schemas.error_responses(403))
async def audit_log(session: SessionDep, admin: AdminUser, actor_id: IdQuery | None = None,
                    target_type: Literal["order", "fleet", "user", "courier", "zone"] | None = None,
                    target_id: IdQuery | None = None, cursor: CursorQuery = None,
                    limit: LimitQuery = 100) -> dict:
    """Who assigned, cancelled, changed settings or accounts, and when; filter by actor or
    target."""
    entries = await list_entries(session, before_id=decode_cursor("audit", cursor),
                                 limit=limit + 1, actor_id=actor_id, target_type=target_type,
                                 target_id=target_id)
    entries, next_cursor = page_of("audit", entries, limit)
    return {"items": [schemas.AuditEntryOut.model_validate(e, from_attributes=True)
                      for e in entries], "next_cursor": next_cursor}
