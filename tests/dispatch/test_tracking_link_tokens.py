"""Tracking link tokens and the privacy rule (pure)."""

from __future__ import annotations

import jwt
import pytest

from dispatch.tracking_links import (
    TrackingLinkClaims,
    TrackingLinkExpired,
    TrackingLinkInvalid,
    courier_visible,
    read_tracking_token,
    sign_tracking_token,
    tracking_link_key,
)

KEY = tracking_link_key("s" * 40)
CLAIMS = TrackingLinkClaims(order_id=7, link_id=3, expires_at_s=1_000)


def test_a_token_reads_back_until_it_expires():
    token = sign_tracking_token(CLAIMS, key=KEY)
    assert len(token) < 160
    assert read_tracking_token(token, key=KEY, now_s=999.5) == CLAIMS
    with pytest.raises(TrackingLinkExpired):
        read_tracking_token(token, key=KEY, now_s=1_000)


def test_the_key_is_not_the_access_token_key():
    secret = "s" * 40
    assert tracking_link_key(secret) != secret.encode()
    access_like = jwt.encode({"o": 7, "l": 3, "exp": 1_000}, secret, algorithm="HS256")
    with pytest.raises(TrackingLinkInvalid):
        read_tracking_token(access_like, key=KEY, now_s=0)


@pytest.mark.parametrize("token", [
    "", "x", "a.b.c", "x" * 600,
    jwt.encode({"o": 7, "exp": 1_000}, KEY, algorithm="HS256"),              # no link id
    jwt.encode({"o": 0, "l": 3, "exp": 1_000}, KEY, algorithm="HS256"),      # no order
    jwt.encode({"o": 7, "l": 3, "exp": 1_000}, KEY * 2, algorithm="HS512"),  # other algorithm
    jwt.encode({"o": "seven", "l": 3, "exp": 1_000}, KEY, algorithm="HS256"),
])
def test_garbage_is_invalid(token):
    with pytest.raises(TrackingLinkInvalid):
        read_tracking_token(token, key=KEY, now_s=0)


@pytest.mark.parametrize(("status", "next_stop", "visible"), [
    ("picked_up", (7, "dropoff"), True),
    ("at_dropoff", (7, "dropoff"), True),
    ("picked_up", (8, "dropoff"), False),       # another buyer first
    ("picked_up", (8, "pickup"), False),        # another seller first
    ("picked_up", None, False),                 # no plan yet
    ("assigned", (7, "pickup"), False),         # on its way to the seller
    ("at_pickup", (7, "pickup"), False),
    ("delivered", (7, "dropoff"), False),
])
def test_the_courier_shows_only_on_the_way_to_this_buyer(status, next_stop, visible):
    assert courier_visible(order_id=7, status=status, courier_id=1,
                           next_stop=next_stop) is visible
    assert courier_visible(order_id=7, status=status, courier_id=None,
                           next_stop=next_stop) is False
