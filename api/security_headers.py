"""Security headers on every HTTP answer, and the service's CORS policy.

Every answer says `X-Content-Type-Options: nosniff`, `Referrer-Policy: no-referrer` and
`X-Frame-Options: DENY` (nothing of ours is meant to be framed). API answers (`/api/...`) also
carry `Cache-Control: no-store` (they are per user and often personal) and a content security
policy that allows nothing, since they are data, never pages. The console and the docs set no
CSP here: MapLibre needs blob workers and WebGL, and the docs inline their bootstrap.

CORS is closed by default: browsers may call the API only from the service's own origin (the
console is served by it). `COURIER_CORS_ORIGINS` (comma-separated origins) opens it to named
front ends; there is no wildcard, so credentials never go to an unknown site.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["SecurityHeaders", "COMMON_HEADERS", "API_HEADERS"]

COMMON_HEADERS = ((b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"no-referrer"),
                  (b"x-frame-options", b"DENY"))
API_HEADERS = ((b"cache-control", b"no-store"),
               (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'"))


class SecurityHeaders:
    """Pure ASGI (no per-request task or body buffering): adds headers to the response start."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = COMMON_HEADERS + (API_HEADERS if scope["path"].startswith("/api/") else ())

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                message["headers"] = [*message.get("headers", []),
                                      *(h for h in extra if h[0] not in present)]
            await send(message)

        await self.app(scope, receive, send_with_headers)
