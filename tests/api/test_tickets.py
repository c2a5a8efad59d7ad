"""Problem tickets over the wire: opened with the evidence of that moment (custody chain,
the courier's track around each handoff, the order's log), read and worked on by the right
people, resolved once; bad input and strangers change nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from order_support import add_track_point
from sqlalchemy import text

from tests.conftest import INSIDE, order_body

API = "/api/v1"


async def _counts(app) -> tuple[int, int, int]:
    async with app.state.sessionmaker() as session:
        return tuple([await session.scalar(text(f"SELECT count(*) FROM {table}"))
                      for table in ("tickets", "ticket_comments", "order_events")])


@pytest.fixture
async def picked_up(app, client, actors):
    """An order of a seller for a buyer, collected by a courier with a tracked pickup scan."""
    seller, buyer = await actors.make("seller"), await actors.make("buyer")
    courier, dispatcher = await actors.make("courier"), await actors.make("dispatcher")
    made = await client.post(f"{API}/orders", json=order_body(buyer_id=buyer.id),
                             headers=seller.headers)
    order_id = made.json()["id"]
    assigned = await client.post(f"{API}/orders/{order_id}/assign",
                                 json={"courier_id": courier.courier_id},
                                 headers=dispatcher.headers)
    assert assigned.status_code == 200, assigned.text
    now = datetime.now(UTC)
    for seconds in (-120, -60, -10):
        await add_track_point(app, courier.courier_id, INSIDE, now + timedelta(seconds=seconds))
    await add_track_point(app, courier.courier_id, INSIDE, now - timedelta(minutes=30))  # too early
    token = await client.post(f"{API}/orders/{order_id}/handoff-tokens", json={"leg": "pickup"},
                              headers=seller.headers)
    scanned = await client.post(f"{API}/handoffs/scan",
                                json={"token": token.json()["token"], **INSIDE},
                                headers=courier.headers)
    assert scanned.status_code == 200, scanned.text
    return {"order_id": order_id, "seller": seller, "buyer": buyer, "courier": courier,
            "dispatcher": dispatcher}


async def test_a_buyer_opens_a_ticket_that_carries_its_evidence(client, picked_up):
    buyer, courier = picked_up["buyer"], picked_up["courier"]
    opened = await client.post(f"{API}/orders/{picked_up['order_id']}/tickets",
                               json={"kind": "not_delivered", "message": "nothing arrived"},
                               headers=buyer.headers)
    assert opened.status_code == 201, opened.text
    ticket = opened.json()
    assert (ticket["status"], ticket["kind"], ticket["opened_by"]) == (
        "open", "not_delivered", buyer.id)
    assert [c["body"] for c in ticket["comments"]] == ["nothing arrived"]
    evidence = ticket["evidence"]
    assert evidence["order"]["status"] == "picked_up"
    assert evidence["custody_verdict"]["valid"] is True
    kinds = [e["kind"] for e in evidence["custody"]]
    assert kinds == ["created", "picked_up"]
    created, pickup = evidence["custody"]
    assert created["track"] is None  # no courier held it yet
    assert pickup["courier_id"] == courier.courier_id and pickup["method"] == "qr"
    assert pickup["lat"] == pytest.approx(INSIDE["lat"])
    # the three fixes of the last two minutes, not the one half an hour before
    assert len(pickup["track"]) == 3
    assert all(f["lat"] == pytest.approx(INSIDE["lat"]) for f in pickup["track"])
    assert [e["type"] for e in evidence["events"]][:1] == ["created"]
    assert [e["type"] for e in evidence["events"]] == ["created", "assign", "handoff_pickup"]

    again = await client.get(f"{API}/tickets/{ticket['id']}", headers=buyer.headers)
    assert again.status_code == 200 and again.json()["evidence"] == evidence
    events = await client.get(f"{API}/orders/{picked_up['order_id']}", headers=buyer.headers)
    assert events.json()["status"] == "picked_up"   # a ticket moves nothing


async def test_strangers_and_bad_input_change_nothing(app, client, actors, picked_up):
    stranger = await actors.make("buyer")
    before = await _counts(app)
    foreign = await client.post(f"{API}/orders/{picked_up['order_id']}/tickets",
                                json={"kind": "late", "message": "not my order"},
                                headers=stranger.headers)
    assert foreign.status_code == 404 and foreign.json()["error"]["code"] == "not_found"
    bad_kind = await client.post(f"{API}/orders/{picked_up['order_id']}/tickets",
                                 json={"kind": "lost_in_space", "message": "?"},
                                 headers=picked_up["buyer"].headers)
    assert bad_kind.status_code == 422
    empty = await client.post(f"{API}/orders/{picked_up['order_id']}/tickets",
                              json={"kind": "late", "message": ""},
                              headers=picked_up["buyer"].headers)
    assert empty.status_code == 422
    assert await _counts(app) == before

    opened = await client.post(f"{API}/orders/{picked_up['order_id']}/tickets",
                               json={"kind": "late", "message": "an hour late"},
                               headers=picked_up["seller"].headers)
    ticket_id = opened.json()["id"]
    hidden = await client.get(f"{API}/tickets/{ticket_id}", headers=stranger.headers)
    assert hidden.status_code == 404
    assert hidden.json()["error"]["code"] == "ticket_not_found"
    assert (await client.get(f"{API}/tickets/{ticket_id}", headers={
        **picked_up["buyer"].headers, "Accept-Language": "ru"})).json()["error"]["message"] \
        == "Обращение не найдено."
    mine = await client.get(f"{API}/tickets", headers=stranger.headers)
    assert mine.status_code == 200 and mine.json()["items"] == []


async def test_an_admin_assigns_comments_and_resolves_once(app, client, actors, picked_up):
    admin = await actors.make("admin")
    seller, dispatcher = picked_up["seller"], picked_up["dispatcher"]
    opened = await client.post(f"{API}/orders/{picked_up['order_id']}/tickets",
                               json={"kind": "wrong_item", "message": "sent the blue one"},
                               headers=seller.headers)
    ticket_id = opened.json()["id"]

    not_admin = await client.post(f"{API}/tickets/{ticket_id}/resolve",
                                  json={"resolution": "refund"}, headers=dispatcher.headers)
    assert not_admin.status_code == 403
    to_seller = await client.post(f"{API}/tickets/{ticket_id}/assign",
                                  json={"assignee_id": seller.id}, headers=admin.headers)
    assert to_seller.status_code == 422
    assert to_seller.json()["error"]["code"] == "invalid_ticket_assignee"
    assigned = await client.post(f"{API}/tickets/{ticket_id}/assign",
                                 json={"assignee_id": dispatcher.id}, headers=admin.headers)
    assert assigned.status_code == 200
    assert (assigned.json()["status"], assigned.json()["assignee_id"]) == (
        "assigned", dispatcher.id)
    said = await client.post(f"{API}/tickets/{ticket_id}/comments",
                             json={"body": "the courier took what the shop handed over"},
                             headers=dispatcher.headers)
    assert said.status_code == 201
    listed = await client.get(f"{API}/tickets", params={"status": "assigned"},
                              headers=dispatcher.headers)
    assert ticket_id in [t["id"] for t in listed.json()["items"]]

    resolved = await client.post(f"{API}/tickets/{ticket_id}/resolve",
                                 json={"resolution": "return_to_seller", "note": "swap it"},
                                 headers=admin.headers)
    assert resolved.status_code == 200, resolved.text
    body = resolved.json()
    assert (body["status"], body["resolution"], body["resolution_note"]) == (
        "resolved", "return_to_seller", "swap it")
    assert [c["body"] for c in body["comments"]] == [
        "sent the blue one", "the courier took what the shop handed over"]
    before = await _counts(app)
    twice = await client.post(f"{API}/tickets/{ticket_id}/resolve",
                              json={"resolution": "refund"}, headers=admin.headers)
    assert twice.status_code == 409 and twice.json()["error"]["code"] == "ticket_resolved"
    late = await client.post(f"{API}/tickets/{ticket_id}/comments", json={"body": "and?"},
                             headers=seller.headers)
    assert late.status_code == 409
    assert await _counts(app) == before
    async with app.state.sessionmaker() as session:
        logged = (await session.execute(text(
            "SELECT type, to_status, details->>'resolution' FROM order_events "
            "WHERE order_id = :o AND type LIKE 'ticket_%' ORDER BY id"),
            {"o": picked_up["order_id"]})).all()
    assert [tuple(r) for r in logged] == [("ticket_opened", "picked_up", None),
                                          ("ticket_resolved", "picked_up", "return_to_seller")]
