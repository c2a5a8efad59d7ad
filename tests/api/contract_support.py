"""Validating live answers against the service's own OpenAPI document (openapi-core).

`contract_client(app)` is an `httpx.AsyncClient` over the app (ASGI, like the other API tests)
that checks every answer against `/openapi.json` as it arrives: the status must be declared
for the operation, with the declared media type, and the body must match its schema. Failures
are collected on `client.contract_failures` (and raised at the end by `assert_contract_kept`).
"""

from __future__ import annotations

from contextlib import asynccontextmanager

import httpx
import orjson
from openapi_core import Config, OpenAPI
from openapi_core.datatypes import RequestParameters
from werkzeug.datastructures import Headers, ImmutableMultiDict


class HttpxOpenAPIRequest:
    def __init__(self, request: httpx.Request) -> None:
        self.request = request
        self.parameters = RequestParameters(
            query=ImmutableMultiDict(list(request.url.params.multi_items())),
            header=Headers(list(request.headers.items())), cookie=ImmutableMultiDict())

    @property
    def host_url(self) -> str:
        url = self.request.url
        return f"{url.scheme}://{url.netloc.decode()}"

    @property
    def path(self) -> str:
        return self.request.url.path

    @property
    def method(self) -> str:
        return self.request.method.lower()

    @property
    def body(self) -> bytes | None:
        return self.request.content or None

    @property
    def content_type(self) -> str:
        return self.request.headers.get("content-type", "application/octet-stream").lower()


class HttpxOpenAPIResponse:
    def __init__(self, response: httpx.Response) -> None:
        self.response = response

    @property
    def data(self) -> bytes:
        return self.response.content

    @property
    def status_code(self) -> int:
        return self.response.status_code

    @property
    def content_type(self) -> str:
        return self.response.headers.get("content-type", "")

    @property
    def headers(self) -> Headers:
        return Headers(list(self.response.headers.items()))


@asynccontextmanager
async def contract_client(app):
    config = Config(extra_media_type_deserializers={
        "application/geo+json": orjson.loads,  # JSON by another name
        "image/svg+xml": lambda data: data.decode() if isinstance(data, bytes) else data})
    spec = OpenAPI.from_dict(app.openapi(), config=config)
    failures: list[str] = []
    checked: list[tuple[str, str, int]] = []

    async def check(response: httpx.Response) -> None:
        await response.aread()
        request = response.request
        try:
            spec.validate_response(HttpxOpenAPIRequest(request), HttpxOpenAPIResponse(response))
        except Exception as exc:  # each broken promise, with what was sent back
            detail = "; ".join(str(e) for e in getattr(exc, "schema_errors", ()) or ())
            failures.append(f"{request.method} {request.url.path} -> {response.status_code}: "
                            f"{type(exc).__name__}: {str(exc)[:300]} {detail[:600]} "
                            f"{response.text[:300]}")
        checked.append((request.method, request.url.path, response.status_code))

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test",
                                 event_hooks={"response": [check]}) as client:
        client.contract_failures = failures  # type: ignore[attr-defined]
        client.contract_checked = checked  # type: ignore[attr-defined]
        yield client


def assert_contract_kept(client) -> None:
    assert not client.contract_failures, "\n".join(client.contract_failures)
