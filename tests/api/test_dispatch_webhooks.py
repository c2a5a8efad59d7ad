"""Order status webhooks: signed deliveries to a local HTTP server, retries, giving up,
refused connections and time-outs (real sockets on 127.0.0.1), event filters, two workers,
the log."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import orjson
import pytest
from sqlalchemy import text

from dispatch.webhooks import (
    SIGNATURE_HEADER,
    WebhookSender,
    deliver_due,
    fan_out_events,
    verify_signature,
)

SECRET = "marketplace-shared-secret-0123456789"


@pytest.fixture(autouse=True)
async def _only_this_tests_endpoints(app):
    """Every test starts and ends with no active endpoint, nothing pending in the outbox and
    the fan-out cursor past every event so far: what a test counts is its own."""

    async def settle() -> None:
        async with app.state.sessionmaker() as session:
            await session.execute(text("UPDATE webhook_endpoints SET active = false"))
            await session.execute(text(
                "UPDATE webhook_outbox SET state = 'failed' WHERE state = 'pending'"))
            await session.execute(text(
                "UPDATE webhook_cursor SET last_event_id = "
                "(SELECT coalesce(max(id), 0) FROM order_events) WHERE id = 1"))
            await session.commit()

    await settle()
    yield
    await settle()


class Receiver:
    """A marketplace backend on 127.0.0.1 that answers `status` (after `delay_s`) and records
    every call as (path, headers, body)."""

    def __init__(self, status: int = 200, delay_s: float = 0.0) -> None:
        self.status, self.delay_s = status, delay_s
        self.calls: list[tuple[str, dict[str, str], bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's naming)
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.calls.append((self.path, dict(self.headers), body))
                time.sleep(receiver.delay_s)
                self.send_response(receiver.status)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str = "/hooks") -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def bodies(self, path: str | None = None) -> list[dict]:
        return [orjson.loads(b) for p, _, b in self.calls if path is None or p == path]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def make_receiver():
    made: list[Receiver] = []

    def make(**kwargs) -> Receiver:
        made.append(Receiver(**kwargs))
        return made[-1]

    yield make
    for receiver in made:
        receiver.close()


async def _register(client, actor, url: str, **extra) -> dict:
    response = await client.post("/api/v1/webhooks", json={"url": url, **extra},
                                 headers=actor.headers)
    assert response.status_code == 201, response.text
    return response.json()


async def _log(client, actor, endpoint_id: int) -> list[dict]:
    response = await client.get(f"/api/v1/webhooks/{endpoint_id}/deliveries",
                                headers=actor.headers)
    assert response.status_code == 200, response.text
    return sorted(response.json()["items"], key=lambda d: (d["event_id"], d["attempt"]))


@pytest.fixture
def receiver():
    """A marketplace backend on 127.0.0.1: answers 500 first, then 200; records every call."""
    calls: list[tuple[dict[str, str], bytes]] = []
    statuses = [500]

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 (http.server's naming)
            body = self.rfile.read(int(self.headers["Content-Length"]))
            calls.append((dict(self.headers), body))
            self.send_response(statuses.pop(0) if statuses else 200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hooks", calls
    finally:
        server.shutdown()
        server.server_close()


async def test_signed_deliveries_retry_and_are_logged(app, client, actors, make_order, receiver):
    url, calls = receiver
    seller = await actors.make("seller")
    other_seller = await actors.make("seller")
    response = await client.post("/api/v1/webhooks", json={"url": url, "secret": SECRET},
                                 headers=seller.headers)
    assert response.status_code == 201, response.text
    endpoint = response.json()
    assert endpoint["secret"] == SECRET and endpoint["seller_id"] == seller.id

    order = await make_order(seller)
    await make_order(other_seller)  # not this endpoint's business
    cancel = await client.post(f"/api/v1/orders/{order['id']}/cancel", json={},
                               headers=seller.headers)
    assert cancel.status_code == 200

    runtime = app.state.dispatch
    assert await runtime.deliver_webhooks_once() == 1  # created got a 500, cancelled went
    assert await runtime.deliver_webhooks_once() == 0  # the retry waits for its backoff
    assert await runtime.deliver_webhooks_once(
        now=datetime.now(UTC) + timedelta(seconds=30)) == 1
    bodies = [orjson.loads(body) for _, body in calls]
    assert {b["order_id"] for b in bodies} == {order["id"]}
    assert [b["status"] for b in bodies] == ["pending", "cancelled", "pending"]
    assert calls[2][0]["Courier-Delivery-Attempt"] == "2"
    for headers, body in calls:
        assert verify_signature(SECRET, header=headers[SIGNATURE_HEADER], body=body,
                                now_s=time.time())
        assert not verify_signature("wrong-secret-wrong-secret", header=headers[SIGNATURE_HEADER],
                                    body=body, now_s=time.time())

    log = (await client.get(f"/api/v1/webhooks/{endpoint['id']}/deliveries",
                            headers=seller.headers)).json()["items"]
    assert sorted((d["attempt"], d["status_code"]) for d in log) == [(1, 200), (1, 500), (2, 200)]
    hidden = await client.get(f"/api/v1/webhooks/{endpoint['id']}/deliveries",
                              headers=other_seller.headers)
    assert hidden.status_code == 404


async def test_bad_webhook_urls_are_refused(client, actors):
    seller = await actors.make("seller")
    response = await client.post("/api/v1/webhooks", json={"url": "ftp://example.org/x"},
                                 headers=seller.headers)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_webhook_url"
    courier = await actors.make("courier")
    response = await client.post("/api/v1/webhooks", json={"url": "http://127.0.0.1:9/x"},
                                 headers=courier.headers)
    assert response.status_code == 403


async def test_a_delivery_gives_up_after_the_maximum_attempts(
        app, client, actors, make_order, make_receiver):
    receiver = make_receiver(status=503)
    seller = await actors.make("seller")
    endpoint = await _register(client, seller, receiver.url())
    await make_order(seller)  # one event: created
    runtime = app.state.dispatch
    max_attempts = app.state.settings.webhook_max_attempts
    now = datetime.now(UTC)
    for _ in range(max_attempts + 3):
        assert await runtime.deliver_webhooks_once(now=now) == 0
        now += timedelta(hours=2)  # past any backoff (capped at an hour)
    assert len(receiver.calls) == max_attempts
    log = await _log(client, seller, endpoint["id"])
    assert [(d["attempt"], d["status_code"], d["state"]) for d in log] == [
        (n, 503, "failed") for n in range(1, max_attempts + 1)]
    assert [c[1]["Courier-Delivery-Attempt"] for c in receiver.calls] == [
        str(n) for n in range(1, max_attempts + 1)]


async def test_refused_connections_and_time_outs_are_failed_attempts_retried_later(
        app, client, actors, make_order, monkeypatch):
    # A port nobody listens on (bound, then closed) and one that accepts and never answers.
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    refused_port = closed.getsockname()[1]
    closed.close()
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)
    try:
        seller = await actors.make("seller")
        refused = await _register(client, seller, f"http://127.0.0.1:{refused_port}/hooks")
        hanging = await _register(client, seller,
                                  f"http://127.0.0.1:{silent.getsockname()[1]}/hooks")
        await make_order(seller)
        runtime = app.state.dispatch
        monkeypatch.setattr(runtime, "webhooks", WebhookSender(timeout_s=0.5))
        now = datetime.now(UTC)
        assert await runtime.deliver_webhooks_once(now=now) == 0
        first = {e["id"]: await _log(client, seller, e["id"]) for e in (refused, hanging)}
        assert [(d["attempt"], d["status_code"], d["state"]) for d in first[refused["id"]]] \
            == [(1, None, "pending")]
        assert "ConnectError" in first[refused["id"]][0]["error"]
        assert [(d["attempt"], d["status_code"], d["state"]) for d in first[hanging["id"]]] \
            == [(1, None, "pending")]
        assert "Timeout" in first[hanging["id"]][0]["error"]
        # Not again at once: the retry waits for its backoff (5 s), then both are tried again.
        await runtime.deliver_webhooks_once(now=now + timedelta(seconds=1))
        for endpoint in (refused, hanging):
            assert len(await _log(client, seller, endpoint["id"])) == 1
        await runtime.deliver_webhooks_once(now=now + timedelta(seconds=6))
        for endpoint in (refused, hanging):
            log = await _log(client, seller, endpoint["id"])
            assert [d["attempt"] for d in log] == [1, 2]
    finally:
        silent.close()


async def test_event_type_filters_pick_what_an_endpoint_receives(
        app, client, actors, make_order, make_receiver):
    receiver = make_receiver()
    seller = await actors.make("seller")
    await _register(client, seller, receiver.url("/cancellations"), event_types=["cancel"])
    await _register(client, seller, receiver.url("/everything"))
    order = await make_order(seller)
    cancelled = await client.post(f"/api/v1/orders/{order['id']}/cancel", json={},
                                  headers=seller.headers)
    assert cancelled.status_code == 200
    assert await app.state.dispatch.deliver_webhooks_once() == 3
    assert [(b["type"], b["status"]) for b in receiver.bodies("/cancellations")] == [
        ("cancel", "cancelled")]
    assert sorted((b["type"], b["status"]) for b in receiver.bodies("/everything")) == [
        ("cancel", "cancelled"), ("created", "pending")]


async def test_two_workers_never_send_one_delivery_twice(
        app, client, actors, make_order, make_receiver):
    """Two delivery rounds at once, as two workers' leaders-to-be would run them, each on its
    own connection: rows one has claimed are skipped by the other."""
    receiver = make_receiver(delay_s=0.2)  # slow enough for the rounds to overlap
    seller = await actors.make("seller")
    await _register(client, seller, receiver.url())
    orders = [await make_order(seller) for _ in range(6)]
    now = datetime.now(UTC)
    async with app.state.sessionmaker() as session:
        await fan_out_events(session, now=now)
        await session.commit()
    sender = WebhookSender(timeout_s=5.0)
    rounds = await asyncio.gather(*(
        deliver_due(app.state.sessionmaker, sender=sender, now=now, limit=3) for _ in range(2)))
    assert sorted(rounds) == [3, 3]
    assert await deliver_due(app.state.sessionmaker, sender=sender, now=now) == 0
    sent = [b["order_id"] for b in receiver.bodies()]
    assert sorted(sent) == sorted(o["id"] for o in orders)  # each exactly once


async def test_the_secret_is_answered_once_and_hidden_from_the_list(client, actors):
    seller = await actors.make("seller")
    dispatcher = await actors.make("dispatcher")
    created = await _register(client, seller, "http://127.0.0.1:9/hooks", secret=SECRET)
    assert created["secret"] == SECRET
    generated = await _register(client, seller, "http://127.0.0.1:9/other")
    assert len(generated["secret"]) >= 16
    for actor in (seller, dispatcher):
        listed = await client.get("/api/v1/webhooks", headers=actor.headers)
        assert listed.status_code == 200
        mine = [e for e in listed.json()["items"] if e["id"] in (created["id"],
                                                                  generated["id"])]
        assert len(mine) == 2
        assert all("secret" not in e for e in mine)
        assert SECRET not in listed.text and generated["secret"] not in listed.text


async def test_a_resolved_ticket_reaches_the_marketplace_once_with_its_resolution(
        app, client, actors, make_order, make_receiver):
    receiver = make_receiver()
    seller, admin = await actors.make("seller"), await actors.make("admin")
    await _register(client, seller, receiver.url("/tickets"),
                    event_types=["ticket_opened", "ticket_resolved"])
    order = await make_order(seller)
    opened = await client.post(f"/api/v1/orders/{order['id']}/tickets",
                               json={"kind": "damaged", "message": "the box was crushed"},
                               headers=seller.headers)
    assert opened.status_code == 201, opened.text
    ticket_id = opened.json()["id"]
    resolved = await client.post(f"/api/v1/tickets/{ticket_id}/resolve",
                                 json={"resolution": "refund", "note": "photos attached"},
                                 headers=admin.headers)
    assert resolved.status_code == 200, resolved.text
    assert await app.state.dispatch.deliver_webhooks_once() == 2
    assert await app.state.dispatch.deliver_webhooks_once() == 0   # exactly once each
    bodies = receiver.bodies("/tickets")
    assert [(b["type"], b["status"], b["ticket"]) for b in bodies] == [
        ("ticket_opened", "pending", {"ticket_id": ticket_id, "kind": "damaged",
                                      "resolution": None}),
        ("ticket_resolved", "pending", {"ticket_id": ticket_id, "kind": "damaged",
                                        "resolution": "refund"})]
