"""Access tokens and tracking-link keys never reach the logs."""

from __future__ import annotations

import logging

from tracking_support import InProcessServer, quick_actor, recv_json, ws_connect

from api.log_redaction import redact

SECRET = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl"


def test_query_tokens_and_link_keys_are_redacted():
    assert redact(f'127.0.0.1:5 - "WebSocket /ws/courier?token={SECRET}" [accepted]') == (
        '127.0.0.1:5 - "WebSocket /ws/courier?token=[redacted]" [accepted]')
    assert redact(f"/ws/dispatch?bbox=1,2,3,4&token={SECRET}&x=1") == (
        "/ws/dispatch?bbox=1,2,3,4&token=[redacted]&x=1")
    assert redact(f"GET /t/{SECRET} HTTP/1.1") == "GET /t/[redacted] HTTP/1.1"
    assert redact(f"/api/v1/public/track/{SECRET}?x=1") == "/api/v1/public/track/[redacted]?x=1"
    assert redact(f"/ws/track/{SECRET}") == "/ws/track/[redacted]"
    assert redact("/api/v1/orders?courier_id=5") == "/api/v1/orders?courier_id=5"


async def test_a_socket_opened_with_a_query_token_logs_no_token(app, caplog):
    courier = await quick_actor(app, "courier")
    uvicorn_log = logging.getLogger("uvicorn.error")  # uvicorn's loggers do not propagate
    async with InProcessServer(app) as server:
        level = uvicorn_log.level
        uvicorn_log.setLevel(logging.INFO)
        uvicorn_log.addHandler(caplog.handler)
        try:
            async with ws_connect(f"{server.ws_url}/ws/courier?token={courier.token}") as ws:
                await ws.send('{"type": "ping"}')
                assert (await recv_json(ws))["type"] == "pong"
        finally:
            uvicorn_log.removeHandler(caplog.handler)
            uvicorn_log.setLevel(level)
    lines = [record.getMessage() for record in caplog.records]
    assert any("/ws/courier?token=[redacted]" in line for line in lines), lines
    assert not any(courier.token in line for line in lines)
