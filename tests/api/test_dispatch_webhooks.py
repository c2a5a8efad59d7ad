"""Order status webhooks: signed deliveries to a local HTTP server, retries, the log."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import orjson
import pytest

from dispatch.webhooks import SIGNATURE_HEADER, verify_signature

SECRET = "marketplace-shared-secret-0123456789"


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
