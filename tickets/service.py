"""Tickets: opening one on an order with its evidence, and the admin's work on it.

Who may do what:

* **open** — anyone who may see the order (its seller, its buyer, the courier it is assigned
  to, dispatchers, admins); anyone else gets `not_found`, as for the order itself.
* **read, comment** — the person who opened it, dispatchers and admins.
* **assign, resolve** — admins. A resolved ticket is closed: no more comments, assignment or
  resolution (`ticket_resolved`).

Evidence is gathered once, when the ticket is opened, and kept with it: what the ledger, the
track and the log said then is what the dispute is about, even if the order moves on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from custody.store import verify_order_chain
from dispatch.exceptions import Conflict, InvalidInput, NotFound, PermissionDenied
from dispatch.orders import get_visible_order, lock_order, order_events, record_event
from dispatch.tables import Order, User
from dispatch.times import rfc3339
from tickets.tables import KINDS, RESOLUTIONS, Ticket, TicketComment

__all__ = ["TrackAround", "TicketFilters", "open_ticket", "get_ticket", "list_tickets",
           "assign_ticket", "comment_on_ticket", "resolve_ticket", "ticket_comments",
           "gather_evidence", "TRACK_WINDOW_S", "TRACK_POINTS_PER_HANDOFF"]

#: The courier's track is kept from this long before to this long after each handoff.
TRACK_WINDOW_S = 300.0
TRACK_POINTS_PER_HANDOFF = 200
STAFF = ("admin", "dispatcher")


class TrackAround(Protocol):
    async def fixes(self, courier_id: int, *, start: datetime, end: datetime,
                    limit: int) -> list[dict[str, Any]]:
        """The courier's stored fixes in [start, end): `{"ts", "lat", "lon", "accuracy_m"}`."""
        ...


@dataclass(frozen=True, slots=True)
class TicketFilters:
    status: str | None = None
    order_id: int | None = None


async def gather_evidence(session: AsyncSession, order: Order, track: TrackAround
                          ) -> dict[str, Any]:
    """The custody chain (with its verdict), the track around each handoff and the log."""
    entries, verdict = await verify_order_chain(session, order.id)
    custody = []
    for entry in entries:
        item: dict[str, Any] = {
            "seq": entry.seq, "kind": entry.kind.value, "at": rfc3339(entry.at),
            "recorded_at": rfc3339(entry.recorded_at), "actor_id": entry.actor_id,
            "courier_id": entry.courier_id, "counterparty_id": entry.counterparty_id,
            "lat": entry.lat, "lon": entry.lon, "method": entry.method,
            "cod_amount": None if entry.cod_amount is None else str(entry.cod_amount),
            "hash": entry.hash, "track": None}
        if entry.courier_id is not None and entry.method != "system":
            window = timedelta(seconds=TRACK_WINDOW_S)
            item["track"] = await track.fixes(entry.courier_id, start=entry.at - window,
                                              end=entry.at + window,
                                              limit=TRACK_POINTS_PER_HANDOFF)
        custody.append(item)
    events = [{"id": e.id, "type": e.type, "from_status": e.from_status,
               "to_status": e.to_status, "actor_id": e.actor_id, "courier_id": e.courier_id,
               "at": rfc3339(e.at)} for e in await order_events(session, order.id)]
    return {"order": {"id": order.id, "status": order.status, "courier_id": order.courier_id,
                      "seller_id": order.seller_id, "buyer_id": order.buyer_id,
                      "cod_amount": None if order.cod_amount is None else str(order.cod_amount)},
            "custody": custody,
            "custody_verdict": {"valid": verdict.valid, "length": verdict.length,
                                "first_bad_seq": verdict.first_bad_seq,
                                "problem": verdict.problem},
            "events": events}


async def open_ticket(session: AsyncSession, *, order_id: int, user: User, kind: str,
                      message: str, track: TrackAround, now: datetime) -> Ticket:
    if kind not in KINDS:
        raise InvalidInput(f"a ticket is one of {', '.join(KINDS)}", code="invalid_ticket_kind",
                           details={"kind": kind, "kinds": list(KINDS)})
    order = await get_visible_order(session, order_id, user, for_update=True)
    ticket = Ticket(order_id=order.id, opened_by=user.id, kind=kind, status="open",
                    evidence=await gather_evidence(session, order, track),
                    created_at=now, updated_at=now)
    session.add(ticket)
    await session.flush()
    session.add(TicketComment(ticket_id=ticket.id, author_id=user.id, body=message, at=now))
    await record_event(session, order, "ticket_opened", actor=user, now=now,
                       details={"ticket_id": ticket.id, "kind": kind})
    await session.flush()
    return ticket


async def get_ticket(session: AsyncSession, ticket_id: int, user: User, *,
                     for_update: bool = False) -> Ticket:
    """The ticket if `user` may read it; otherwise `ticket_not_found`."""
    query = select(Ticket).where(Ticket.id == ticket_id)
    if for_update:
        query = query.with_for_update()
    ticket = await session.scalar(query)
    if ticket is None or (user.role not in STAFF and ticket.opened_by != user.id):
        raise NotFound(f"ticket {ticket_id} not found", code="ticket_not_found",
                       details={"ticket_id": ticket_id})
    return ticket


async def list_tickets(session: AsyncSession, user: User, *, filters: TicketFilters,
                       after_id: int | None, limit: int) -> list[Ticket]:
    """Up to `limit` tickets, newest first (below `after_id`); staff see every ticket, others
    those they opened."""
    query = select(Ticket)
    if user.role not in STAFF:
        query = query.where(Ticket.opened_by == user.id)
    if filters.status is not None:
        query = query.where(Ticket.status == filters.status)
    if filters.order_id is not None:
        query = query.where(Ticket.order_id == filters.order_id)
    if after_id is not None:
        query = query.where(Ticket.id < after_id)
    return list((await session.scalars(query.order_by(Ticket.id.desc()).limit(limit))).all())


async def ticket_comments(session: AsyncSession, ticket_id: int) -> list[TicketComment]:
    return list((await session.scalars(select(TicketComment).where(
        TicketComment.ticket_id == ticket_id).order_by(TicketComment.id))).all())


def _still_open(ticket: Ticket) -> None:
    if ticket.status == "resolved":
        raise Conflict("the ticket is resolved", code="ticket_resolved",
                       details={"ticket_id": ticket.id, "resolution": ticket.resolution})


def _admin(user: User) -> None:
    if user.role != "admin":
        raise PermissionDenied("only admins manage tickets", code="forbidden")


async def assign_ticket(session: AsyncSession, *, ticket_id: int, user: User, assignee_id: int,
                        now: datetime) -> Ticket:
    _admin(user)
    ticket = await get_ticket(session, ticket_id, user, for_update=True)
    _still_open(ticket)
    assignee = await session.get(User, assignee_id)
    if assignee is None or assignee.role not in STAFF or not assignee.is_active:
        raise InvalidInput("tickets are assigned to an active admin or dispatcher",
                           code="invalid_ticket_assignee", details={"user_id": assignee_id})
    ticket.assignee_id, ticket.status, ticket.updated_at = assignee_id, "assigned", now
    await session.flush()
    return ticket


async def comment_on_ticket(session: AsyncSession, *, ticket_id: int, user: User, body: str,
                            now: datetime) -> TicketComment:
    ticket = await get_ticket(session, ticket_id, user, for_update=True)
    _still_open(ticket)
    comment = TicketComment(ticket_id=ticket.id, author_id=user.id, body=body, at=now)
    session.add(comment)
    ticket.updated_at = now
    await session.flush()
    return comment


async def resolve_ticket(session: AsyncSession, *, ticket_id: int, user: User, resolution: str,
                         note: str | None, now: datetime) -> Ticket:
    """Closes the ticket; the `ticket_resolved` event in the order's log carries the
    resolution to the order webhooks (refund, re-delivery or return are the marketplace's to
    carry out)."""
    _admin(user)
    if resolution not in RESOLUTIONS:
        raise InvalidInput(f"a resolution is one of {', '.join(RESOLUTIONS)}",
                           code="invalid_ticket_resolution",
                           details={"resolution": resolution, "resolutions": list(RESOLUTIONS)})
    ticket = await get_ticket(session, ticket_id, user, for_update=True)
    _still_open(ticket)
    order = await lock_order(session, ticket.order_id)
    assert order is not None  # the foreign key holds it
    ticket.status, ticket.resolution, ticket.resolution_note = "resolved", resolution, note
    ticket.resolved_at = ticket.updated_at = now
    if ticket.assignee_id is None:
        ticket.assignee_id = user.id
    await record_event(session, order, "ticket_resolved", actor=user, now=now,
                       details={"ticket_id": ticket.id, "kind": ticket.kind,
                                "resolution": resolution})
    await session.flush()
    return ticket
