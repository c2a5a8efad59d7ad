"""The order lifecycle as a pure state machine.

An order moves through statuses by named actions; `next_status` is the single source of
truth for what is allowed. It reads no clock and touches no database, so it is tested with
plain values (including property-based tests over random action sequences).

    pending ──offer──> offered ──accept──> assigned ──arrive_pickup──> at_pickup
       ^  \\              |  decline/expire    |  ^                          |
       |   \\─assign───────┼──────────────────>|  | reassign                 | pick_up
       |                  v                    v                             v
       └──────── unassign / decline ──── (back to pending)              picked_up
                                                                  arrive_dropoff |
    at_dropoff ──deliver──> delivered                                            v
    picked_up / at_dropoff ──fail──> failed ──start_return──> returning
    returning ──complete_return──> returned;   failed ──retry──> pending
    pending / offered / assigned / at_pickup ──cancel──> cancelled
    and the shortcuts: assigned ──pick_up──> picked_up and picked_up ──deliver──> delivered
    (a handoff scan without an arrival report), at_pickup ──fail──> failed,
    offered ──assign──> assigned
"""

from __future__ import annotations

from enum import StrEnum

from dispatch.exceptions import IllegalTransition

__all__ = [
    "OrderStatus",
    "Action",
    "TRANSITIONS",
    "TERMINAL_STATUSES",
    "ACTIVE_STATUSES",
    "PLANNED_STATUSES",
    "HELD_STATUSES",
    "CARRIED_STATUSES",
    "next_status",
    "allowed_actions",
]


class OrderStatus(StrEnum):
    PENDING = "pending"
    OFFERED = "offered"
    ASSIGNED = "assigned"
    AT_PICKUP = "at_pickup"
    PICKED_UP = "picked_up"
    AT_DROPOFF = "at_dropoff"
    DELIVERED = "delivered"
    FAILED = "failed"
    CANCELLED = "cancelled"
    RETURNING = "returning"
    RETURNED = "returned"


class Action(StrEnum):
    OFFER = "offer"
    ACCEPT = "accept"
    DECLINE = "decline"
    EXPIRE = "expire"
    ASSIGN = "assign"
    REASSIGN = "reassign"
    UNASSIGN = "unassign"
    ARRIVE_PICKUP = "arrive_pickup"
    PICK_UP = "pick_up"
    ARRIVE_DROPOFF = "arrive_dropoff"
    DELIVER = "deliver"
    FAIL = "fail"
    START_RETURN = "start_return"
    COMPLETE_RETURN = "complete_return"
    CANCEL = "cancel"
    RETRY = "retry"


S, A = OrderStatus, Action

#: (status, action) -> next status. Anything absent is illegal.
TRANSITIONS: dict[tuple[OrderStatus, Action], OrderStatus] = {
    (S.PENDING, A.OFFER): S.OFFERED,
    (S.PENDING, A.ASSIGN): S.ASSIGNED,
    (S.PENDING, A.CANCEL): S.CANCELLED,
    (S.OFFERED, A.ACCEPT): S.ASSIGNED,
    (S.OFFERED, A.DECLINE): S.PENDING,
    (S.OFFERED, A.EXPIRE): S.PENDING,
    (S.OFFERED, A.ASSIGN): S.ASSIGNED,
    (S.OFFERED, A.CANCEL): S.CANCELLED,
    (S.ASSIGNED, A.REASSIGN): S.ASSIGNED,
    (S.ASSIGNED, A.UNASSIGN): S.PENDING,
    (S.ASSIGNED, A.ARRIVE_PICKUP): S.AT_PICKUP,
    (S.ASSIGNED, A.PICK_UP): S.PICKED_UP,
    (S.ASSIGNED, A.CANCEL): S.CANCELLED,
    (S.AT_PICKUP, A.PICK_UP): S.PICKED_UP,
    (S.AT_PICKUP, A.FAIL): S.FAILED,
    (S.AT_PICKUP, A.CANCEL): S.CANCELLED,
    (S.PICKED_UP, A.ARRIVE_DROPOFF): S.AT_DROPOFF,
    (S.PICKED_UP, A.DELIVER): S.DELIVERED,
    (S.PICKED_UP, A.FAIL): S.FAILED,
    (S.AT_DROPOFF, A.DELIVER): S.DELIVERED,
    (S.AT_DROPOFF, A.FAIL): S.FAILED,
    (S.FAILED, A.START_RETURN): S.RETURNING,
    (S.FAILED, A.RETRY): S.PENDING,
    (S.RETURNING, A.COMPLETE_RETURN): S.RETURNED,
}

TERMINAL_STATUSES = frozenset({S.DELIVERED, S.CANCELLED, S.RETURNED})

#: Statuses in which a courier holds or is heading for the order.
ACTIVE_STATUSES = frozenset(
    {S.ASSIGNED, S.AT_PICKUP, S.PICKED_UP, S.AT_DROPOFF, S.RETURNING}
)

#: Open orders the planner plans: not yet given, given, or on their way (a failed order on its
#: way back to the seller is not planned).
PLANNED_STATUSES = frozenset(
    {S.PENDING, S.OFFERED, S.ASSIGNED, S.AT_PICKUP, S.PICKED_UP, S.AT_DROPOFF}
)

#: The courier stands at the pickup or carries the parcel: the order never moves to another
#: courier.
HELD_STATUSES = frozenset({S.AT_PICKUP, S.PICKED_UP, S.AT_DROPOFF})

#: The parcel is in the courier's hands on its way to the buyer.
CARRIED_STATUSES = frozenset({S.PICKED_UP, S.AT_DROPOFF})


def next_status(status: OrderStatus | str, action: Action | str) -> OrderStatus:
    """The status after `action`, or `IllegalTransition` (409 `illegal_transition`)."""
    try:
        status, action = OrderStatus(status), Action(action)
    except ValueError as exc:
        raise IllegalTransition(str(exc), details={"status": status, "action": action}) from exc
    try:
        return TRANSITIONS[(status, action)]
    except KeyError:
        raise IllegalTransition(
            f"cannot {action.value} an order that is {status.value}",
            details={"status": status.value, "action": action.value,
                     "allowed": sorted(a.value for a in allowed_actions(status))},
        ) from None


def allowed_actions(status: OrderStatus | str) -> frozenset[Action]:
    status = OrderStatus(status)
    return frozenset(a for (s, a) in TRANSITIONS if s == status)
