"""Security headers on every answer; CORS closed unless origins are named."""

from __future__ import annotations

import httpx

from api.app import create_app

PREFLIGHT = {"Origin": "https://shop.example", "Access-Control-Request-Method": "POST",
             "Access-Control-Request-Headers": "Authorization, Content-Type"}


async def test_api_answers_carry_security_headers(client, actors):
    seller = await actors.make("seller")
    for response in (await client.get("/api/v1/users/me", headers=seller.headers),
                     await client.get("/api/v1/orders/987654321", headers=seller.headers)):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["referrer-policy"] == "no-referrer"
        assert response.headers["cache-control"] == "no-store"
        assert response.headers["content-security-policy"].startswith("default-src 'none'")
    health = await client.get("/healthz")
    assert health.headers["x-content-type-options"] == "nosniff"
    assert "content-security-policy" not in health.headers  # not an API answer


async def test_cors_is_closed_by_default(client):
    preflight = await client.options("/api/v1/orders", headers=PREFLIGHT)
    assert "access-control-allow-origin" not in preflight.headers


async def test_named_origins_may_call_the_api(settings):
    app = create_app(settings.model_copy(update={"cors_origins": ["https://shop.example"]}))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://test") as open_client:
        allowed = await open_client.options("/api/v1/orders", headers=PREFLIGHT)
        assert allowed.status_code == 200
        assert allowed.headers["access-control-allow-origin"] == "https://shop.example"
        assert "Authorization" in allowed.headers["access-control-allow-headers"]
        other = await open_client.options("/api/v1/orders",
                                          headers={**PREFLIGHT, "Origin": "https://evil.example"})
        assert other.headers.get("access-control-allow-origin") != "https://evil.example"
