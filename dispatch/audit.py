"""The audit log: staff actions recorded beside the change they make.

`record` adds an entry to the caller's session, so the entry commits (or rolls back) with the
action. Only staff actions are recorded (dispatchers and admins: assigning, cancelling, settings,
accounts); what couriers, sellers and buyers do is already in the order log and the handoff ledger.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.tables import AuditEntry, User

__all__ = ["STAFF_ROLES", "record", "list_entries"]

STAFF_ROLES = ("admin", "dispatcher")


def record(session: AsyncSession, actor: User, action: str, *, target_type: str,
           target_id: int | None, details: dict[str, Any] | None = None) -> AuditEntry | None:
    """Adds an entry if `actor` is staff (a seller cancelling its own order is not audited
    here: the order log has it)."""
    if actor.role not in STAFF_ROLES:
        return None
    entry = AuditEntry(actor_id=actor.id, actor_role=actor.role, action=action,
                       target_type=target_type, target_id=target_id, details=details)
    session.add(entry)
    return entry


async def list_entries(session: AsyncSession, *, before_id: int | None, limit: int,
                       actor_id: int | None = None, target_type: str | None = None,
                       target_id: int | None = None) -> list[AuditEntry]:
    """Newest first."""
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if before_id is not None:
        query = query.where(AuditEntry.id < before_id)
    if actor_id is not None:
        query = query.where(AuditEntry.actor_id == actor_id)
    if target_type is not None:
        query = query.where(AuditEntry.target_type == target_type)
    if target_id is not None:
        query = query.where(AuditEntry.target_id == target_id)
    return list(await session.scalars(query))
