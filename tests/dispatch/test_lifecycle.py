"""The order state machine, with plain values and with random action sequences."""

from pathlib import Path

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


#: The lifecycle written out by hand from the README ("pending → offered → assigned →
#: at_pickup → picked_up → at_dropoff → delivered, with failed → returning → returned and
#: cancelled on the side") and the diagram in `dispatch/lifecycle.py`, not read from
#: `TRANSITIONS`: (status, action) -> next status; every other pair is illegal.
EXPECTED = {
    # the main line
    ("pending", "offer"): "offered",
    ("offered", "accept"): "assigned",
    ("assigned", "arrive_pickup"): "at_pickup",
    ("at_pickup", "pick_up"): "picked_up",
    ("picked_up", "arrive_dropoff"): "at_dropoff",
    ("at_dropoff", "deliver"): "delivered",
    # a handoff scan records the pickup or delivery without an arrival report first
    ("assigned", "pick_up"): "picked_up",
    ("picked_up", "deliver"): "delivered",
    # offers answered or not, a dispatcher's hand
    ("offered", "decline"): "pending",
    ("offered", "expire"): "pending",
    ("pending", "assign"): "assigned",
    ("offered", "assign"): "assigned",
    ("assigned", "reassign"): "assigned",
    ("assigned", "unassign"): "pending",
    # failure and the way back to the seller
    ("at_pickup", "fail"): "failed",
    ("picked_up", "fail"): "failed",
    ("at_dropoff", "fail"): "failed",
    ("failed", "start_return"): "returning",
    ("returning", "complete_return"): "returned",
    ("failed", "retry"): "pending",
    # cancelled on the side: only while the parcel is still with the seller
    ("pending", "cancel"): "cancelled",
    ("offered", "cancel"): "cancelled",
    ("assigned", "cancel"): "cancelled",
    ("at_pickup", "cancel"): "cancelled",
}
STATUSES = ("pending", "offered", "assigned", "at_pickup", "picked_up", "at_dropoff",
            "delivered", "failed", "cancelled", "returning", "returned")
ACTIONS = ("offer", "accept", "decline", "expire", "assign", "reassign", "unassign",
           "arrive_pickup", "pick_up", "arrive_dropoff", "deliver", "fail", "start_return",
           "complete_return", "cancel", "retry")


def test_the_statuses_and_actions_are_the_ones_written_out():
    assert {s.value for s in OrderStatus} == set(STATUSES)
    assert {a.value for a in Action} == set(ACTIONS)


@pytest.mark.parametrize("status", STATUSES)
def test_every_status_and_action_does_what_the_lifecycle_says(status):
    for action in ACTIONS:
        expected = EXPECTED.get((status, action))
        if expected is None:
            with pytest.raises(IllegalTransition):
                next_status(status, action)
        else:
            assert next_status(status, action) == expected, (status, action)
    assert {a.value for a in allowed_actions(status)} == {
        a for (s, a) in EXPECTED if s == status}


def test_the_readme_main_line_is_one_action_a_step():
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text("utf-8")
    sentence = " ".join(readme[readme.index("The order lifecycle is a pure state machine"):]
                        .split("Every change")[0].split())
    main_line = sentence.split(": ", 1)[1].split(", with")[0]
    side = sentence.split(", with ", 1)[1].split(" and cancelled")[0]
    for line in (main_line, side):
        steps = [s.strip() for s in line.split("→")]
        assert len(steps) >= 3, line
        for here, there in zip(steps, steps[1:], strict=False):
            assert any(EXPECTED.get((here, a)) == there for a in ACTIONS), (here, there)


@given(st.lists(st.sampled_from(ACTIONS), max_size=40))
def test_random_sequences_follow_the_written_lifecycle(actions):
    status = "pending"
    for action in actions:
        expected = EXPECTED.get((status, action))
        if expected is None:
            with pytest.raises(IllegalTransition):
                next_status(status, action)
        else:
            status = next_status(status, action)
            assert status == expected


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
