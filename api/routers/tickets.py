"""Problem tickets on orders (`tickets.service` says who may do what)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from api.deps import CurrentUser, SessionDep
from api.ids import Id, IdPath, IdQuery
from api.pagination import CursorQuery, LimitQuery, decode_cursor, page_of
from api.schemas import Strict, error_responses
from api.track_lookup import StoredTrackAround
from dispatch.times import rfc3339
from tickets.service import (
    TicketFilters,
    assign_ticket,
    comment_on_ticket,
    get_ticket,
    list_tickets,
    open_ticket,
    resolve_ticket,
    ticket_comments,
)
from tickets.tables import Ticket, TicketComment

router = APIRouter(tags=["tickets"])
errors = error_responses

TicketKind = Literal["not_delivered", "damaged", "wrong_item", "cash_mismatch", "late"]
Resolution = Literal["refund", "redeliver", "return_to_seller", "reject"]


class TicketIn(Strict):
    kind: TicketKind
    message: str = Field(min_length=1, max_length=4000)


class AssignTicketIn(Strict):
    assignee_id: Id


class CommentIn(Strict):
    body: str = Field(min_length=1, max_length=4000)


class ResolveIn(Strict):
    resolution: Resolution
    note: str | None = Field(default=None, max_length=4000)


class CommentOut(BaseModel):
    id: int
    author_id: int
    body: str
    at: str


class TicketOut(BaseModel):
    id: int
    order_id: int
    opened_by: int
    kind: str
    status: Literal["open", "assigned", "resolved"]
    assignee_id: int | None
    resolution: str | None
    resolution_note: str | None
    created_at: str
    updated_at: str
    resolved_at: str | None
    #: Gathered when the ticket was opened: `order`, `custody` (each entry with the courier's
    #: `track` around it), `custody_verdict` and the order's `events`. Only in single reads.
    evidence: dict[str, Any] | None = None
    comments: list[CommentOut] | None = None


class TicketPage(BaseModel):
    items: list[TicketOut]
    next_cursor: str | None


def _comment_out(comment: TicketComment) -> CommentOut:
    return CommentOut(id=comment.id, author_id=comment.author_id, body=comment.body,
                      at=rfc3339(comment.at) or "")


def _ticket_out(ticket: Ticket, comments: list[TicketComment] | None = None) -> TicketOut:
    return TicketOut(
        id=ticket.id, order_id=ticket.order_id, opened_by=ticket.opened_by, kind=ticket.kind,
        status=ticket.status, assignee_id=ticket.assignee_id, resolution=ticket.resolution,
        resolution_note=ticket.resolution_note, created_at=rfc3339(ticket.created_at) or "",
        updated_at=rfc3339(ticket.updated_at) or "", resolved_at=rfc3339(ticket.resolved_at),
        evidence=None if comments is None else ticket.evidence,
        comments=None if comments is None else [_comment_out(c) for c in comments])


async def _full(session, ticket: Ticket) -> TicketOut:
    return _ticket_out(ticket, await ticket_comments(session, ticket.id))


@router.post("/orders/{order_id}/tickets", status_code=201, response_model=TicketOut,
             responses=errors(404, 422))
async def open_one(order_id: IdPath, body: TicketIn, request: Request, session: SessionDep,
                   user: CurrentUser) -> TicketOut:
    """Reports a problem with an order the caller may see; the ticket keeps the evidence of
    that moment (custody chain and its verdict, the courier's track around each handoff, the
    order's log) and the order's log gets a `ticket_opened` event."""
    ticket = await open_ticket(session, order_id=order_id, user=user, kind=body.kind,
                               message=body.message,
                               track=StoredTrackAround(request.app.state.tracking.store),
                               now=datetime.now(UTC))
    await session.commit()
    return await _full(session, ticket)


@router.get("/tickets", response_model=TicketPage, responses=errors(422))
async def list_some(session: SessionDep, user: CurrentUser,
                    status: Literal["open", "assigned", "resolved"] | None = None,
                    order_id: IdQuery | None = None, cursor: CursorQuery = None,
                    limit: LimitQuery = 50) -> TicketPage:
    """Admins and dispatchers see every ticket, others the ones they opened; newest first."""
    rows = await list_tickets(session, user, filters=TicketFilters(status, order_id),
                              after_id=decode_cursor("ticket", cursor), limit=limit + 1)
    page, next_cursor = page_of("ticket", rows, limit)
    return TicketPage(items=[_ticket_out(t) for t in page], next_cursor=next_cursor)


@router.get("/tickets/{ticket_id}", response_model=TicketOut, responses=errors(404))
async def read_one(ticket_id: IdPath, session: SessionDep, user: CurrentUser) -> TicketOut:
    return await _full(session, await get_ticket(session, ticket_id, user))


@router.post("/tickets/{ticket_id}/assign", response_model=TicketOut,
             responses=errors(403, 404, 409, 422))
async def assign_one(ticket_id: IdPath, body: AssignTicketIn, session: SessionDep,
                     user: CurrentUser) -> TicketOut:
    """An admin hands the ticket to an admin or dispatcher."""
    ticket = await assign_ticket(session, ticket_id=ticket_id, user=user,
                                 assignee_id=body.assignee_id, now=datetime.now(UTC))
    await session.commit()
    return await _full(session, ticket)


@router.post("/tickets/{ticket_id}/comments", status_code=201, response_model=CommentOut,
             responses=errors(404, 409))
async def comment_one(ticket_id: IdPath, body: CommentIn, session: SessionDep,
                      user: CurrentUser) -> CommentOut:
    comment = await comment_on_ticket(session, ticket_id=ticket_id, user=user, body=body.body,
                                      now=datetime.now(UTC))
    await session.commit()
    return _comment_out(comment)


@router.post("/tickets/{ticket_id}/resolve", response_model=TicketOut,
             responses=errors(403, 404, 409))
async def resolve_one(ticket_id: IdPath, body: ResolveIn, session: SessionDep,
                      user: CurrentUser) -> TicketOut:
    """An admin closes the ticket with a resolution; the order's log gets `ticket_resolved`,
    which the order webhooks deliver with the ticket and its resolution."""
    ticket = await resolve_ticket(session, ticket_id=ticket_id, user=user,
                                  resolution=body.resolution, note=body.note,
                                  now=datetime.now(UTC))
    await session.commit()
    return await _full(session, ticket)


__all__ = ["router", "TicketOut", "TicketPage"]
