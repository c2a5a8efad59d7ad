"""The order state machine, with plain values and with random action sequences."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dispatch.exceptions import IllegalTransition
from dispatch.lifecycle import (
    ACTIVE_STATUSES,
    TERMINAL_STATUSES,
    TRANSITIONS,
    Action,
    OrderStatus,
    allowed_actions,
    next_status,
)


def test_happy_path_from_pending_to_delivered():
    status = OrderStatus.PENDING
    for action in (Action.OFFER, Action.ACCEPT, Action.ARRIVE_PICKUP, Action.PICK_UP,
                   Action.ARRIVE_DROPOFF, Action.DELIVER):
        status = next_status(status, action)
    assert status is OrderStatus.DELIVERED


def test_failed_delivery_returns_to_seller():
    status = OrderStatus.PICKED_UP
    for action in (Action.FAIL, Action.START_RETURN, Action.COMPLETE_RETURN):
        status = next_status(status, action)
    assert status is OrderStatus.RETURNED


def test_decline_and_expiry_put_the_order_back_to_pending():
    assert next_status("offered", "decline") is OrderStatus.PENDING
    assert next_status("offered", "expire") is OrderStatus.PENDING


@pytest.mark.parametrize("status", ["picked_up", "at_dropoff", "delivered", "returned"])
def test_cannot_cancel_once_the_parcel_left_the_seller(status):
    with pytest.raises(IllegalTransition) as raised:
        next_status(status, "cancel")
    assert raised.value.code == "illegal_transition"
    assert raised.value.details["status"] == status


def test_illegal_transition_lists_what_is_allowed():
    with pytest.raises(IllegalTransition) as raised:
        next_status("pending", "deliver")
    assert raised.value.details["allowed"] == ["assign", "cancel", "offer"]


def test_unknown_names_are_illegal_not_crashes():
    with pytest.raises(IllegalTransition):
        next_status("pending", "teleport")
    with pytest.raises(IllegalTransition):
        next_status("lost", "cancel")


def test_terminal_statuses_have_no_way_out():
    for status in TERMINAL_STATUSES:
        assert allowed_actions(status) == frozenset()


def test_every_status_is_reachable_from_pending():
    reached, frontier = {OrderStatus.PENDING}, [OrderStatus.PENDING]
    while frontier:
        status = frontier.pop()
        for action in allowed_actions(status):
            target = TRANSITIONS[(status, action)]
            if target not in reached:
                reached.add(target)
                frontier.append(target)
    assert reached == set(OrderStatus)


@given(st.lists(st.sampled_from(list(Action)), max_size=40))
def test_random_sequences_follow_the_table_exactly(actions):
    status = OrderStatus.PENDING
    for action in actions:
        expected = TRANSITIONS.get((status, action))
        if expected is None:
            with pytest.raises(IllegalTransition):
                next_status(status, action)
        else:
            status = next_status(status, action)
            assert status is expected
    assert status in set(OrderStatus)


@given(st.lists(st.sampled_from(list(Action)), max_size=40))
def test_nothing_leaves_a_terminal_status(actions):
    status = OrderStatus.PENDING
    seen_terminal = None
    for action in actions:
        try:
            status = next_status(status, action)
        except IllegalTransition:
            continue
        if seen_terminal is not None:
            pytest.fail(f"left terminal status {seen_terminal} by {action}")
        if status in TERMINAL_STATUSES:
            seen_terminal = status


def test_active_statuses_are_neither_pending_nor_terminal():
    assert not ACTIVE_STATUSES & TERMINAL_STATUSES
    assert OrderStatus.PENDING not in ACTIVE_STATUSES
