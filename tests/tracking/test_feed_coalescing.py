"""Dispatcher outboxes: a slow consumer gets the latest position per courier, bounded."""

from __future__ import annotations

import pytest

from tracking.coalescing import CoalescingOutbox, parse_bbox
from tracking.feed import FeedHub


def pos(courier_id: int, lat: float, ts: float) -> dict:
    return {"id": courier_id, "lat": lat, "lon": 69.2, "ts": ts}


def test_latest_position_per_courier_replaces_unsent_ones():
    outbox = CoalescingOutbox()
    for ts in range(1000):
        outbox.offer_positions([pos(1, 41.3, ts), pos(2, 41.4, ts)])
    assert outbox.pending() == 2 and outbox.replaced == 1998
    assert outbox.ready.is_set()
    (message,) = outbox.take()
    assert message["type"] == "positions"
    assert sorted((c["id"], c["ts"]) for c in message["couriers"]) == [(1, 999), (2, 999)]
    assert outbox.pending() == 0 and not outbox.ready.is_set()


def test_orders_coalesce_by_id_and_events_are_a_bounded_ring():
    outbox = CoalescingOutbox(max_events=3)
    outbox.offer_order({"id": 5, "status": "assigned"})
    outbox.offer_order({"id": 5, "status": "picked_up"})
    for i in range(10):
        outbox.offer_event({"type": "geofence", "n": i})
    messages = outbox.take()
    assert messages[0] == {"type": "order", "order": {"id": 5, "status": "picked_up"}}
    assert [m["n"] for m in messages[1:]] == [7, 8, 9]


def test_bbox_filter_keeps_couriers_inside_and_stale_marks():
    outbox = CoalescingOutbox(parse_bbox("69.0,41.0,69.5,41.5"))
    outbox.offer_positions([pos(1, 41.3, 1), pos(2, 45.0, 1),
                            {**pos(3, 45.0, 1), "stale": True}])
    (message,) = outbox.take()
    assert sorted(c["id"] for c in message["couriers"]) == [1, 3]


@pytest.mark.parametrize("text", ["1,2,3", "a,b,c,d", "10,0,5,1", "0,50,1,40", "0,0,200,1"])
def test_bad_bboxes(text):
    with pytest.raises(ValueError):
        parse_bbox(text)


def test_hub_routes_message_types_to_every_outbox():
    hub = FeedHub()
    first, second = hub.connect(), hub.connect(parse_bbox([60, 40, 61, 41]))
    hub.deliver({"type": "positions", "couriers": [pos(1, 41.3, 1)]})
    hub.deliver({"type": "order", "order": {"id": 9}})
    hub.deliver({"type": "geofence", "courier_id": 1})
    assert [m["type"] for m in first.take()] == ["positions", "order", "geofence"]
    assert [m["type"] for m in second.take()] == ["order", "geofence"]
    hub.disconnect(first)
    assert len(hub) == 1
