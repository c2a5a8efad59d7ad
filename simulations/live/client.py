"""The HTTP edge of the live driver: one `httpx.AsyncClient`, actors with bearer tokens, and
every call counted in the run's `Summary`.

A call answers the decoded JSON body of a 2xx, or raises `CallFailed` with the service's
error `code` (`{"error": {"code", "message", "details"}}`), the status, or `transport` when no
answer came. Unexpected failures are counted per endpoint template (`POST /orders/{id}/status`)
and status; the caller names the codes it expects (an expired offer, a shift already
started), which are outcomes, not errors.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

import httpx

from simulations.live.summary import Latency, Summary

__all__ = ["Actor", "CallFailed", "ApiClient", "API_PREFIX"]

API_PREFIX = "/api/v1"


@dataclass
class Actor:
    """A user of the service the driver acts as."""

    name: str
    role: str
    password: str
    user_id: int | None = None
    token: str | None = None
    #: A courier's own courier record.
    courier_id: int | None = None

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}


class CallFailed(Exception):
    """A call that got no 2xx answer."""

    def __init__(self, endpoint: str, status: int | None, code: str, message: str = "",
                 details: Any = None) -> None:
        super().__init__(f"{endpoint}: {status or 'transport'} {code}: {message}")
        self.endpoint = endpoint
        self.status = status
        self.code = code
        self.message = message
        self.details = details

    @property
    def server_error(self) -> bool:
        return self.status is None or self.status >= 500


class ApiClient:
    def __init__(self, base_url: str, summary: Summary, *, timeout_s: float = 30.0,
                 max_connections: int = 64) -> None:
        self.base_url = base_url.rstrip("/")
        self.summary = summary
        self.http = httpx.AsyncClient(
            base_url=self.base_url, timeout=timeout_s,
            # Idle connections are dropped before the server's keep-alive timeout (uvicorn:
            # 5 s) could close one under a request about to be sent on it.
            limits=httpx.Limits(max_connections=max_connections,
                                max_keepalive_connections=max_connections,
                                keepalive_expiry=2.0))

    @property
    def ws_base(self) -> str:
        if self.base_url.startswith("https://"):
            return "wss://" + self.base_url[len("https://"):]
        return "ws://" + self.base_url.removeprefix("http://")

    async def aclose(self) -> None:
        await self.http.aclose()

    async def login(self, actor: Actor, *, expected: Collection[str] = ()) -> Actor:
        body = await self.call("POST", "/auth/token", data={"username": actor.name,
                                                            "password": actor.password},
                               expected=expected)
        actor.token = body["access_token"]
        return actor

    async def call(self, method: str, template: str, *, actor: Actor | None = None,
                   path: dict[str, Any] | None = None, json: Any = None,
                   data: dict[str, str] | None = None, params: Any = None,
                   headers: dict[str, str] | None = None, expected: Collection[str] = (),
                   latency: Latency | None = None, retries: int = 0) -> Any:
        """One API call (`template` below `/api/v1`, `{name}` filled from `path`).

        `expected` lists error codes (or `prefix_*`) that are outcomes for this caller: not
        counted as errors (a 5xx always is). `retries` re-sends after a transport failure or
        a 5xx (only for calls that are safe to repeat: reads, or writes with an
        `Idempotency-Key`).
        """
        endpoint = f"{method} {template}"
        if method == "GET":
            retries = max(retries, 1)
        url = API_PREFIX + (template.format(**path) if path else template)
        all_headers = {**(actor.headers if actor else {}), **(headers or {})}
        attempt = 0
        while True:
            attempt += 1
            self.summary.http_requests += 1
            started = time.perf_counter()
            try:
                response = await self.http.request(method, url, json=json, data=data,
                                                   params=params, headers=all_headers)
            except httpx.TransportError as exc:
                if attempt <= retries:
                    self.summary.http_retries += 1
                    await asyncio.sleep(0.5 * attempt)
                    continue
                self.summary.http_error(endpoint, "transport")
                self.summary.note(f"{endpoint}: no answer: {exc!r}")
                raise CallFailed(endpoint, None, "transport", repr(exc)) from exc
            if response.is_success:
                if latency is not None:
                    latency.add(time.perf_counter() - started)
                return response.json() if response.content else None
            code, message, details = _error_of(response)
            if response.status_code >= 500 or not _is_expected(code, expected):
                self.summary.http_error(endpoint, response.status_code)
                if response.status_code >= 500:
                    self.summary.note(f"{endpoint} answered {response.status_code} {code}: "
                                      f"{message}")
            if response.status_code >= 500 and attempt <= retries:
                self.summary.http_retries += 1
                await asyncio.sleep(0.5 * attempt)
                continue
            raise CallFailed(endpoint, response.status_code, code, message, details)


def _is_expected(code: str, expected: Collection[str]) -> bool:
    """`expected` holds codes, or prefixes ending in `*` (`handoff_*`)."""
    return code in expected or any(p.endswith("*") and code.startswith(p[:-1])
                                   for p in expected)


def _error_of(response: httpx.Response) -> tuple[str, str, Any]:
    try:
        body = response.json()
        error = body["error"]
        return str(error.get("code")), str(error.get("message", "")), error.get("details")
    except Exception:
        return f"http_{response.status_code}", response.text[:200], None
