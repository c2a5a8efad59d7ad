"""The OpenAPI document as the contract: what the server really sends, and nothing else.

`install_openapi(app)` replaces FastAPI's generator with one that post-processes its output:

* every error an operation can answer is declared with our envelope (`ErrorOut`,
  `{"error": {"code", "message", "details"}}`): 401 wherever a bearer token is required, 422
  wherever there are parameters or a body (FastAPI's own `{"detail": [...]}` schema, which
  this server never sends, is removed), 400 and 413 wherever a body is read, 503 (a backing
  service down) everywhere but the liveness probe, plus what each route declares itself
  (403, 404, 409, 410, 429);
* the document names the time format and the error envelope in its description.

The test `tests/api/test_openapi_contract.py` checks the document's shape and validates live
answers of the main flows against it.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from api.schemas import ErrorOut, PositionsIn, TrackGeoJson

__all__ = ["install_openapi", "ERROR_DESCRIPTIONS", "DESCRIPTION"]

REF = "#/components/schemas/ErrorOut"

#: What each error status means here (the `code` says exactly why).
ERROR_DESCRIPTIONS = {
    400: "`malformed_json`: the body is not JSON",
    401: "`not_authenticated` (no bearer token) or `invalid_token`",
    403: "`forbidden`, or a refusal of this operation for the caller's role",
    404: "`not_found` (also for what the caller may not see)",
    409: "a conflict with the current state (the `code` names it)",
    410: "gone: expired or revoked",
    413: "`body_too_large`",
    422: "`validation_error` (`details`: `[{\"loc\", \"msg\", \"type\"}]`, `msg` in the "
         "caller's language) or a refused value named by `code`",
    429: "too many attempts",
    503: "`service_unavailable`: a backing service (database, Redis) is down; retry",
}

DESCRIPTION = """\
Assigns orders to couriers, plans routes, follows couriers live and proves every handoff with
signed QR codes.

* **Errors** answer `{"error": {"code", "message", "details"}}` with a fitting 4xx status;
  clients branch on `code`; `message` follows `Accept-Language` (`en`, `ru`, `uz`).
* **Times** are RFC 3339 in UTC with `Z` (`2024-05-01T09:30:00Z`); fields named `ts` or
  ending in `_s` are Unix seconds. Times sent to us may carry any zone.
* **Lists** answer `{"items": [...], "next_cursor"}`; pass `cursor` for the next page.
* **Coordinates** are `lat, lon` in our bodies and `[lon, lat]` in GeoJSON.
* Log in with `POST /api/v1/auth/token` (an OAuth2 password *form*), then send
  `Authorization: Bearer <access_token>`.
"""

_NO_ERRORS = {("get", "/healthz"), ("get", "/api/v1/healthz")}


def _error_response(status: int, existing: dict | None) -> dict:
    description = ERROR_DESCRIPTIONS.get(status, "an error")
    defaults = (None, "", "Validation Error", "Successful Response", HTTPStatus(status).phrase)
    if existing and existing.get("description") not in defaults:
        description = existing["description"]
    return {"description": description,
            "content": {"application/json": {"schema": {"$ref": REF}}}}


def _has_body(operation: dict) -> bool:
    return "requestBody" in operation


def _json_body(operation: dict) -> bool:
    return "application/json" in operation.get("requestBody", {}).get("content", {})


def document(app: FastAPI) -> dict[str, Any]:
    spec = get_openapi(title=app.title, version=app.version, summary=app.summary,
                       description=DESCRIPTION, routes=app.routes, tags=app.openapi_tags,
                       servers=app.servers)
    components = spec.setdefault("components", {}).setdefault("schemas", {})
    for model in (ErrorOut, PositionsIn, TrackGeoJson):  # referenced by hand-written parts
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}",
                                         mode="validation" if model is PositionsIn
                                         else "serialization")
        components.update(schema.pop("$defs", {}))
        components[model.__name__] = schema
    for name in ("HTTPValidationError", "ValidationError"):
        components.pop(name, None)
    for path, item in spec.get("paths", {}).items():
        for method, operation in item.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses = operation["responses"]
            statuses = {int(s) for s in responses if str(s).isdigit() and int(s) >= 400}
            if operation.get("security"):
                statuses.add(401)
            if operation.get("parameters") or _has_body(operation):
                statuses.add(422)
            if _has_body(operation):
                statuses.add(413)
                if _json_body(operation):
                    statuses.add(400)
            if (method, path) not in _NO_ERRORS:
                statuses.add(503)
            for status in sorted(statuses):
                existing = responses.get(str(status))
                schema = (existing or {}).get("content", {}).get("application/json", {}) \
                    .get("schema", {})
                if existing and schema and schema.get("$ref") != REF \
                        and "HTTPValidationError" not in str(schema):
                    continue  # a route that answers this status with a body of its own
                responses[str(status)] = _error_response(status, existing)
    return spec


def install_openapi(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
