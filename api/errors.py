"""One error shape for every failure: `{"error": {"code", "message", "details"}}`.

Domain packages raise their own typed errors (each with a `code`); this module maps them to
HTTP statuses and renders the message in the caller's language. Nothing else in the API
builds an error body.
"""

from __future__ import annotations

import logging
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy.exc import DataError, InterfaceError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.i18n import pick_language, translate, translate_validation
from dispatch import exceptions as dispatch_errors

__all__ = ["ApiError", "error_response", "install_error_handlers", "register_error",
           "BodySizeLimit", "STATUS_BY_ERROR"]

log = logging.getLogger(__name__)


class ApiError(Exception):
    """An error that belongs to the HTTP layer itself (authentication, malformed requests)."""

    def __init__(
        self, status_code: int, code: str, message: str, details: Any = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.code = code
        self.message = message
        self.details = details
        self.headers = headers


#: Domain error base classes of the dispatch package and their HTTP statuses. Other packages'
#: errors are added per app with `register_error` (most specific class wins, as Starlette
#: looks handlers up along the exception's MRO).
STATUS_BY_ERROR: list[tuple[type[Exception], int]] = [
    (dispatch_errors.NotFound, 404),
    (dispatch_errors.PermissionDenied, 403),
    (dispatch_errors.InvalidInput, 422),
    (dispatch_errors.Conflict, 409),
    (dispatch_errors.DispatchError, 400),
]


def register_error(app: FastAPI, error_class: type[Exception], status_code: int) -> None:
    """Answers `error_class` (anything with `code`, `message`, `details`) with `status_code`."""

    async def handle(request: Request, exc: Exception) -> JSONResponse:
        return error_response(request, status_code, getattr(exc, "code", "error"),
                              getattr(exc, "message", str(exc)),
                              _jsonable(getattr(exc, "details", None)))

    app.add_exception_handler(error_class, handle)


def error_response(
    request: Request | None, status_code: int, code: str, message: str, details: Any = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    language = pick_language(request.headers.get("accept-language") if request else None)
    body = {"error": {"code": code, "message": translate(code, language, message, details),
                      "details": details}}
    return JSONResponse(status_code=status_code, content=body, headers=headers)


def _jsonable(value: Any) -> Any:
    return orjson.loads(orjson.dumps(value, default=str))


def _ctx(error: dict) -> dict:
    """The values a validation message names (`expected` of a literal as its choices)."""
    ctx = dict(error.get("ctx") or {})
    if "error" in ctx:
        ctx["error"] = str(ctx["error"])
    return ctx


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        return error_response(request, exc.status_code, exc.code, exc.message, exc.details,
                              exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        if any(e.get("type") == "json_invalid" for e in errors):
            return error_response(request, 400, "malformed_json",
                                  "The request body is not valid JSON.")
        language = pick_language(request.headers.get("accept-language"))
        details = [
            {"loc": list(e.get("loc", ())),
             "msg": translate_validation(e.get("type"), _ctx(e), language, e.get("msg", "")),
             "type": e.get("type")}
            for e in errors
        ]
        return error_response(request, 422, "validation_error", "The request is invalid.",
                              _jsonable(details))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed", 401: "not_authenticated",
                403: "forbidden"}.get(exc.status_code, "http_error")
        return error_response(request, exc.status_code, code, str(exc.detail),
                              headers=getattr(exc, "headers", None))

    for error_class, status_code in STATUS_BY_ERROR:
        register_error(app, error_class, status_code)

    @app.exception_handler(OperationalError)
    @app.exception_handler(InterfaceError)
    @app.exception_handler(RedisConnectionError)
    @app.exception_handler(RedisTimeoutError)
    async def _unavailable(request: Request, exc: Exception) -> JSONResponse:
        log.warning("backing service unavailable: %s", exc)
        return error_response(request, 503, "service_unavailable",
                              "A backing service is unavailable; try again shortly.")

    @app.exception_handler(DataError)
    async def _bad_data(request: Request, exc: DataError) -> JSONResponse:
        # PostgreSQL's class 22 "data exception": a value the database cannot hold (a NUL
        # character in text, a number out of range). The input is at fault, not the service;
        # the edge should have refused it (log it, so the check can move there).
        log.warning("database refused a value from %s %s: %s", request.method,
                    request.url.path, str(exc.orig).splitlines()[0] if exc.orig else exc)
        return error_response(request, 422, "invalid_value",
                              "A value in the request cannot be stored.")

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        # Starlette still re-raises after this answer, so the server logs the traceback.
        return error_response(request, 500, "internal_error", "Something went wrong on our side.")


class BodySizeLimit:
    """Refuses request bodies over `max_bytes` with 413, by header or while streaming."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(scope, receive, send)
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise ApiError(413, "body_too_large", "The request body is too large.",
                                   {"max_bytes": self.max_bytes})
            return message

        await self.app(scope, limited_receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope)
        response = error_response(request, 413, "body_too_large",
                                  "The request body is too large.", {"max_bytes": self.max_bytes})
        await response(scope, receive, send)
