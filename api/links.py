"""Absolute URLs of what we hand out (tracking links, tile templates)."""

from __future__ import annotations

from fastapi import Request

from api.settings import Settings

__all__ = ["public_base"]


def public_base(request: Request, settings: Settings) -> str:
    """`COURIER_PUBLIC_BASE_URL`, else the scheme and host the request came in on (behind a
    proxy, `courier serve` honours its forwarded headers), without a trailing slash."""
    if settings.public_base_url:
        return settings.public_base_url
    return str(request.base_url).rstrip("/")
